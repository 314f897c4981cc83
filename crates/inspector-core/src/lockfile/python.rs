//! Python lockfiles: `poetry.lock`, `Pipfile.lock` and pinned `requirements.txt`.
//!
//! * `poetry.lock`: TOML `[[package]]` tables; packages whose `source.type` is `directory`,
//!   `file`, `git` or `url` are not PyPI releases and are skipped (like Cargo path/git crates).
//! * `Pipfile.lock`: JSON sections `default` and `develop`, each `name → {"version": "==X"}`;
//!   entries without an `==` pin (git/path/editable) are skipped.
//! * `requirements.txt`: only exact pins `name==X` / `name===X` are packages (a range such as
//!   `>=1.0` says nothing about the installed version). Comments, environment markers
//!   (`; python_version < "3"`), extras (`name[extra]`), `--hash` options and line
//!   continuations are handled; option lines (`-r`, `-e`, `--index-url`) and URLs are skipped.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::Package;
use crate::Error;
use crate::version::Ecosystem;

fn to_packages(set: BTreeSet<(String, String)>) -> Vec<Package> {
    set.into_iter()
        .map(|(name, version)| Package {
            ecosystem: Ecosystem::PyPI,
            name,
            version,
            source: None,
        })
        .collect()
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parses a `poetry.lock`.
pub fn parse_poetry(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("poetry.lock", text)?;
    let lock: PoetryLock = toml::from_str(text)
        .map_err(|e| Error::InvalidLockfile(format!("poetry.lock: {}", e.message())))?;
    let set = lock
        .package
        .into_iter()
        .filter(|p| {
            !p.source
                .as_ref()
                .and_then(|s| s.kind.as_deref())
                .is_some_and(|k| matches!(k, "directory" | "file" | "git" | "url"))
        })
        .map(|p| (p.name, p.version))
        .collect();
    Ok(to_packages(set))
}

/// Parses a `Pipfile.lock`.
pub fn parse_pipfile_lock(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("Pipfile.lock", text)?;
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidLockfile(format!("Pipfile.lock: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(Error::InvalidLockfile(
            "Pipfile.lock: not a JSON object".into(),
        ));
    };
    if !obj.contains_key("default") && !obj.contains_key("develop") {
        return Err(Error::InvalidLockfile(
            "Pipfile.lock: no `default` or `develop` section".into(),
        ));
    }
    let mut set = BTreeSet::new();
    for section in ["default", "develop"] {
        let Some(deps) = obj.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, d) in deps {
            if let Some(v) = d
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.strip_prefix("=="))
            {
                set.insert((name.clone(), v.trim_start_matches('=').trim().to_string()));
            }
        }
    }
    Ok(to_packages(set))
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a pinned `requirements.txt`. Lines that are neither pins, options, URLs nor
/// unpinned requirements are errors.
pub fn parse_requirements(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("requirements.txt", text)?;
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut set = BTreeSet::new();
    for (no, raw) in joined.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line.contains("://")
        {
            continue;
        }
        let req = line.split(';').next().unwrap_or("").trim();
        let req = req.split(" --").next().unwrap_or("").trim();
        let name_end = req
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(req.len());
        let (name, rest) = req.split_at(name_end);
        if !valid_name(name) {
            return Err(Error::InvalidLockfile(format!(
                "requirements.txt line {}: not a requirement: {line:?}",
                no + 1
            )));
        }
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(r) => r.split_once(']').map_or("", |(_, r)| r).trim_start(),
            None => rest,
        };
        if let Some(v) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
            let v = v.trim();
            if v.is_empty() || v.contains('*') || v.contains(',') {
                continue;
            }
            set.insert((name.to_string(), v.to_string()));
        }
    }
    Ok(to_packages(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(p: Vec<Package>) -> Vec<String> {
        p.into_iter()
            .map(|p| format!("{}=={}", p.name, p.version))
            .collect()
    }

    #[test]
    fn poetry() {
        let t = "[[package]]\nname = \"requests\"\nversion = \"2.19.0\"\n\n[[package]]\nname = \"mylib\"\nversion = \"0.1.0\"\n[package.source]\ntype = \"directory\"\nurl = \"../mylib\"\n\n[metadata]\nlock-version = \"2.0\"\n";
        assert_eq!(pins(parse_poetry(t).unwrap()), vec!["requests==2.19.0"]);
        assert!(matches!(
            parse_poetry("[[package]]\nname = 1"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    #[test]
    fn pipfile() {
        let t = r#"{"_meta":{},"default":{"django":{"version":"==2.2.0"},"local":{"path":"."}},
                    "develop":{"pytest":{"version":"==6.0.0"}}}"#;
        assert_eq!(
            pins(parse_pipfile_lock(t).unwrap()),
            vec!["django==2.2.0", "pytest==6.0.0"]
        );
        assert!(matches!(
            parse_pipfile_lock("{}"),
            Err(Error::InvalidLockfile(_))
        ));
        assert!(matches!(
            parse_pipfile_lock("nope"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    #[test]
    fn requirements() {
        let t = "# comment\n-r base.txt\nrequests==2.19.0 \\\n    --hash=sha256:abc\nJinja2[i18n] == 2.10 ; python_version >= \"3\"\nflask>=0.12\nurllib3===1.24.1  # pinned\ngit+https://x/y.git#egg=z\nPyYAML==5.*\n";
        assert_eq!(
            pins(parse_requirements(t).unwrap()),
            vec!["Jinja2==2.10", "requests==2.19.0", "urllib3==1.24.1"]
        );
        assert!(matches!(
            parse_requirements("{\"json\": true}"),
            Err(Error::InvalidLockfile(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_poetry(&s);
            let _ = parse_pipfile_lock(&s);
            let _ = parse_requirements(&s);
        }
    }
}
