//! Go modules: `go.mod` `require` directives and `go.sum` lines.
//!
//! Versions lose their `v` prefix (OSV Go ranges are written without it: `introduced: "0"`,
//! `fixed: "1.2.3"`); `+incompatible` is kept (SemVer build metadata, ignored for precedence).
//! `go.sum` lists each module twice (`v1.2.3` and `v1.2.3/go.mod`); both collapse to one
//! package. `replace` directives are not applied (the module as required is reported).

use std::collections::BTreeSet;

use super::Package;
use crate::Error;
use crate::version::Ecosystem;

fn to_packages(set: BTreeSet<(String, String)>) -> Vec<Package> {
    set.into_iter()
        .map(|(name, version)| Package {
            ecosystem: Ecosystem::Go,
            name,
            version,
            source: None,
        })
        .collect()
}

fn strip_v(v: &str) -> Option<&str> {
    let v = v.strip_prefix('v')?;
    v.starts_with(|c: char| c.is_ascii_digit()).then_some(v)
}

fn require(line: &str, no: usize, set: &mut BTreeSet<(String, String)>) -> Result<(), Error> {
    let line = line.split("//").next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let (Some(path), Some(version)) = (parts.next(), parts.next()) else {
        return Err(Error::InvalidLockfile(format!(
            "go.mod line {}: bad require {line:?}",
            no + 1
        )));
    };
    let v = strip_v(version).ok_or_else(|| {
        Error::InvalidLockfile(format!("go.mod line {}: bad version {version:?}", no + 1))
    })?;
    set.insert((path.trim_matches('"').to_string(), v.to_string()));
    Ok(())
}

/// Parses a `go.mod` (its `require` directives).
pub fn parse_go_mod(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("go.mod", text)?;
    let mut set = BTreeSet::new();
    let mut in_require = false;
    let mut saw_module = false;
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if in_require {
            if line.starts_with(')') {
                in_require = false;
            } else {
                require(line, no, &mut set)?;
            }
            continue;
        }
        if line.starts_with("module ") || line == "module" {
            saw_module = true;
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_require = true;
            } else {
                require(rest, no, &mut set)?;
            }
        }
    }
    if !saw_module {
        return Err(Error::InvalidLockfile(
            "go.mod: no `module` directive".into(),
        ));
    }
    Ok(to_packages(set))
}

/// Parses a `go.sum`.
pub fn parse_go_sum(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("go.sum", text)?;
    let mut set = BTreeSet::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(path), Some(version), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidLockfile(format!(
                "go.sum line {}: expected 3 fields",
                no + 1
            )));
        };
        if !hash.starts_with("h1:") {
            return Err(Error::InvalidLockfile(format!(
                "go.sum line {}: bad hash",
                no + 1
            )));
        }
        let version = version.strip_suffix("/go.mod").unwrap_or(version);
        let v = strip_v(version).ok_or_else(|| {
            Error::InvalidLockfile(format!("go.sum line {}: bad version {version:?}", no + 1))
        })?;
        set.insert((path.to_string(), v.to_string()));
    }
    Ok(to_packages(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(p: Vec<Package>) -> Vec<String> {
        p.into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn go_mod() {
        let t = "module example.com/app\n\ngo 1.21\n\nrequire golang.org/x/net v0.7.0\n\nrequire (\n\tgithub.com/a/b v1.2.3 // indirect\n\tgithub.com/c/d v2.0.0+incompatible\n)\n";
        assert_eq!(
            mods(parse_go_mod(t).unwrap()),
            vec![
                "github.com/a/b@1.2.3",
                "github.com/c/d@2.0.0+incompatible",
                "golang.org/x/net@0.7.0"
            ]
        );
        assert!(matches!(
            parse_go_mod("hello"),
            Err(Error::InvalidLockfile(_))
        ));
        assert!(matches!(
            parse_go_mod("module x\nrequire a b\n"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    #[test]
    fn go_sum() {
        let t = "golang.org/x/net v0.7.0 h1:abc=\ngolang.org/x/net v0.7.0/go.mod h1:def=\n";
        assert_eq!(
            mods(parse_go_sum(t).unwrap()),
            vec!["golang.org/x/net@0.7.0"]
        );
        assert!(matches!(
            parse_go_sum("garbage line"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_go_mod(&s);
            let _ = parse_go_sum(&s);
        }
    }
}
