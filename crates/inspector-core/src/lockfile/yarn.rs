//! `yarn.lock`: the classic v1 format and the Berry (v2+) YAML format.
//!
//! Each entry starts with an unindented header line listing the specifiers it resolves
//! (`"lodash@^4.17.0", lodash@^4.17.19:` or `"lodash@npm:^4.17.0":`) and holds an indented
//! `version "4.17.20"` (v1) or `version: 4.17.20` (Berry) line. The name is the first specifier
//! up to its last `@` (not counting a leading scope `@`). Berry's `__metadata` block and
//! `workspace:` / `link:` / `portal:` / `file:` / `patch:` resolutions are skipped.

use std::collections::BTreeSet;

use super::Package;
use crate::Error;
use crate::version::Ecosystem;

fn spec_name(spec: &str) -> Option<&str> {
    let spec = spec.trim().trim_matches('"');
    let at = spec.get(1..)?.find('@')? + 1;
    let name = spec.get(..at)?;
    (!name.is_empty()).then_some(name)
}

fn local_spec(header: &str) -> bool {
    ["@workspace:", "@link:", "@portal:", "@file:", "@patch:"]
        .iter()
        .any(|m| header.contains(m))
}

/// Parses a `yarn.lock`.
pub fn parse(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("yarn.lock", text)?;
    let mut out = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut headers = 0usize;
    for (no, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            let Some(h) = line.strip_suffix(':') else {
                return Err(Error::InvalidLockfile(format!(
                    "yarn.lock line {}: expected an entry header ending in ':'",
                    no + 1
                )));
            };
            headers += 1;
            let first = h.split(", ").next().unwrap_or(h);
            current = if h.starts_with("__metadata") || local_spec(h) {
                None
            } else {
                Some(
                    spec_name(first)
                        .ok_or_else(|| {
                            Error::InvalidLockfile(format!(
                                "yarn.lock line {}: bad specifier {first:?}",
                                no + 1
                            ))
                        })?
                        .to_string(),
                )
            };
            continue;
        }
        let t = line.trim();
        let version = t
            .strip_prefix("version ")
            .or_else(|| t.strip_prefix("version: "))
            .map(|v| v.trim().trim_matches('"'));
        if let (Some(v), Some(name)) = (version, current.as_ref())
            && line.len() - line.trim_start().len() <= 2
        {
            out.insert((name.clone(), v.to_string()));
        }
    }
    if headers == 0 && !text.trim().is_empty() {
        return Err(Error::InvalidLockfile("yarn.lock: no entries".into()));
    }
    Ok(out
        .into_iter()
        .map(|(name, version)| Package {
            ecosystem: Ecosystem::Npm,
            name,
            version,
            source: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_berry() {
        let v1 = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"https://x\"\n  dependencies:\n    lodash \"^4.17.10\"\n\nlodash@^4.17.10:\n  version \"4.17.11\"\n";
        let got: Vec<_> = parse(v1)
            .unwrap()
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, vec!["@babel/core@7.1.2", "lodash@4.17.11"]);
        let berry = "__metadata:\n  version: 6\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n\n\"minimist@npm:^1.2.0\":\n  version: 1.2.5\n  resolution: \"minimist@npm:1.2.5\"\n";
        let got: Vec<_> = parse(berry)
            .unwrap()
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, vec!["minimist@1.2.5"]);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(
            parse("this is not a lockfile"),
            Err(Error::InvalidLockfile(_))
        ));
        assert!(matches!(
            parse("@:\n  version \"1\"\n"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
    }
}
