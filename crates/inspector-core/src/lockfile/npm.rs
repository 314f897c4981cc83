//! npm `package-lock.json` (lockfileVersion 1, 2 and 3) and `npm-shrinkwrap.json`.
//!
//! * v2/v3: the `packages` map, keyed by install path (`node_modules/a/node_modules/@s/b`); the
//!   root (`""`), linked workspace entries (`link: true`) and entries without a version are
//!   skipped. The name is the `name` member, else the path after the last `node_modules/`.
//! * v1: the nested `dependencies` map (`bundled` entries included).
//!
//! Packages are de-duplicated by (name, version).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Package;
use crate::Error;
use crate::version::Ecosystem;

/// Largest nesting of v1 `dependencies` followed.
const MAX_DEPTH: usize = 64;

fn name_from_path(path: &str) -> &str {
    path.rsplit_once("node_modules/").map_or(path, |(_, n)| n)
}

fn walk_v1(deps: &Value, depth: usize, out: &mut BTreeSet<(String, String)>) {
    let Some(map) = deps.as_object() else { return };
    if depth > MAX_DEPTH {
        return;
    }
    for (name, d) in map {
        if let Some(v) = d.get("version").and_then(Value::as_str)
            && !v.starts_with("file:")
            && !v.starts_with("link:")
        {
            out.insert((name.clone(), v.to_string()));
        }
        if let Some(sub) = d.get("dependencies") {
            walk_v1(sub, depth + 1, out);
        }
    }
}

/// Parses a `package-lock.json`.
pub fn parse(text: &str) -> Result<Vec<Package>, Error> {
    super::check_size("package-lock.json", text)?;
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidLockfile(format!("package-lock.json: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(Error::InvalidLockfile(
            "package-lock.json: not a JSON object".into(),
        ));
    };
    let mut out = BTreeSet::new();
    if let Some(pkgs) = obj.get("packages").and_then(Value::as_object) {
        for (path, p) in pkgs {
            if path.is_empty() || p.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if !path.contains("node_modules/") {
                continue; // a workspace member's own folder
            }
            let Some(version) = p.get("version").and_then(Value::as_str) else {
                continue;
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_else(|| name_from_path(path));
            out.insert((name.to_string(), version.to_string()));
        }
    } else if let Some(deps) = obj.get("dependencies") {
        walk_v1(deps, 0, &mut out);
    } else if obj.get("lockfileVersion").is_none() {
        return Err(Error::InvalidLockfile(
            "package-lock.json: neither `packages` nor `dependencies` nor `lockfileVersion`".into(),
        ));
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
    fn v3_and_v1() {
        let v3 = r#"{"name":"app","lockfileVersion":3,"packages":{
          "":{"name":"app","version":"1.0.0"},
          "node_modules/lodash":{"version":"4.17.20"},
          "node_modules/a/node_modules/@scope/b":{"version":"2.0.0"},
          "node_modules/ws-link":{"resolved":"packages/x","link":true},
          "packages/x":{"name":"x","version":"0.1.0"}}}"#;
        let p = parse(v3).unwrap();
        let got: Vec<_> = p
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, vec!["@scope/b@2.0.0", "lodash@4.17.20"]);
        assert!(p.iter().all(|p| p.ecosystem == Ecosystem::Npm));
        let v1 = r#"{"lockfileVersion":1,"dependencies":{"minimist":{"version":"0.0.8",
          "dependencies":{"mkdirp":{"version":"0.5.1"}}},"local":{"version":"file:../local"}}}"#;
        let got: Vec<_> = parse(v1).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(got, vec!["minimist", "mkdirp"]);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(parse("{nope"), Err(Error::InvalidLockfile(_))));
        assert!(matches!(parse("[1,2]"), Err(Error::InvalidLockfile(_))));
        assert!(matches!(parse("{\"x\":1}"), Err(Error::InvalidLockfile(_))));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
    }
}
