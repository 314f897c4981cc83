//! `Cargo.lock` (format v1–v4).
//!
//! * v1: `[[package]]` without checksums, plus a `[metadata]` table of
//!   `"checksum <name> <version> (<source>)" = "<sha256>"`.
//! * v2: no top-level `version`, inline `checksum`.
//! * v3 / v4: top-level `version = 3` / `4`.
//!
//! Only registry packages are scanned ([`CargoLock::registry_packages`]): `source` starting with
//! `registry+` or `sparse+`. A missing `source` is a path or workspace member, `git+…` a git
//! dependency; neither is a crates.io release, so RustSec advisories about a crates.io crate of
//! the same name do not apply to them (this is what cargo-audit does).

use serde::Deserialize;

use super::Package;
use crate::Error;
use crate::version::Ecosystem;

/// Largest accepted lockfile.
pub const MAX_LOCKFILE_BYTES: usize = 32 * 1024 * 1024;

/// One `[[package]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoPackage {
    /// Crate name.
    pub name: String,
    /// Version, verbatim.
    pub version: String,
    /// `source`, absent for path/workspace crates.
    pub source: Option<String>,
    /// SHA-256 checksum (inline in v2+, from `[metadata]` in v1).
    pub checksum: Option<String>,
}

impl CargoPackage {
    /// Whether the package comes from a registry (crates.io or another, git or sparse index).
    pub fn is_registry(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
    }
}

/// A parsed `Cargo.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoLock {
    /// Format version: the top-level `version` (3, 4, …), 2 for inline checksums without it, 1 for
    /// a `[metadata]` table or no checksums.
    pub format: u32,
    /// Every package, in file order (path, git and registry).
    pub packages: Vec<CargoPackage>,
}

#[derive(Deserialize)]
struct RawLock {
    version: Option<u32>,
    #[serde(default)]
    package: Vec<RawPackage>,
    metadata: Option<toml::Table>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// The format version: the top-level `version`, else 1 with `[metadata]` checksums, 2 with
/// inline ones, 1 without any.
fn lock_format(version: Option<u32>, metadata_checksums: bool, packages: &[CargoPackage]) -> u32 {
    match version {
        Some(v) => v,
        None if metadata_checksums => 1,
        None if packages.iter().any(|p| p.checksum.is_some()) => 2,
        None => 1,
    }
}

impl CargoLock {
    /// Parses a lockfile: Cargo's own layout with a line scanner, anything else with the TOML
    /// parser (both give the same result).
    pub fn parse(text: &str) -> Result<CargoLock, Error> {
        if text.len() > MAX_LOCKFILE_BYTES {
            return Err(Error::TooLarge {
                what: "Cargo.lock",
                size: text.len(),
                limit: MAX_LOCKFILE_BYTES,
            });
        }
        if let Some(fast) = super::cargo_fast::scan(text) {
            return Ok(Self::from_fast(&fast));
        }
        Self::parse_toml(text)
    }

    /// The lockfile read by the line scanner (Cargo's own layout).
    fn from_fast(fast: &super::cargo_fast::FastLock<'_>) -> CargoLock {
        let has_metadata_checksums = fast
            .metadata
            .as_ref()
            .is_some_and(|m| m.iter().any(|(k, _)| k.starts_with("checksum ")));
        let packages: Vec<CargoPackage> = fast
            .packages
            .iter()
            .map(|p| {
                let checksum = p.checksum.map(str::to_string).or_else(|| {
                    let source = p.source?;
                    let key = format!("checksum {} {} ({})", p.name, p.version, source);
                    fast.metadata_get(&key).map(str::to_string)
                });
                CargoPackage {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                    source: p.source.map(str::to_string),
                    checksum,
                }
            })
            .collect();
        let format = lock_format(fast.version, has_metadata_checksums, &packages);
        CargoLock { format, packages }
    }

    /// Parses with the TOML parser (any layout).
    fn parse_toml(text: &str) -> Result<CargoLock, Error> {
        let raw: RawLock =
            toml::from_str(text).map_err(|e| Error::InvalidLockfile(e.message().to_string()))?;
        let has_metadata_checksums = raw
            .metadata
            .as_ref()
            .is_some_and(|m| m.keys().any(|k| k.starts_with("checksum ")));
        let packages: Vec<CargoPackage> = raw
            .package
            .into_iter()
            .map(|p| {
                let checksum = p.checksum.or_else(|| {
                    let source = p.source.as_deref()?;
                    let key = format!("checksum {} {} ({})", p.name, p.version, source);
                    raw.metadata
                        .as_ref()?
                        .get(&key)?
                        .as_str()
                        .map(str::to_string)
                });
                CargoPackage {
                    name: p.name,
                    version: p.version,
                    source: p.source,
                    checksum,
                }
            })
            .collect();
        let format = lock_format(raw.version, has_metadata_checksums, &packages);
        Ok(CargoLock { format, packages })
    }

    /// The registry packages, as scan input.
    pub fn registry_packages(&self) -> Vec<Package> {
        self.packages
            .iter()
            .filter(|p| p.is_registry())
            .map(|p| Package {
                ecosystem: Ecosystem::CratesIo,
                name: p.name.clone(),
                version: p.version.clone(),
                source: p.source.clone(),
            })
            .collect()
    }

    /// The registry packages, as scan input, moving the strings out of the lockfile.
    pub fn into_registry_packages(self) -> Vec<Package> {
        self.packages
            .into_iter()
            .filter(CargoPackage::is_registry)
            .map(|p| Package {
                ecosystem: Ecosystem::CratesIo,
                name: p.name,
                version: p.version,
                source: p.source,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V1: &str = r#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["libc 0.2.80 (registry+https://github.com/rust-lang/crates.io-index)"]

[[package]]
name = "libc"
version = "0.2.80"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.80 (registry+https://github.com/rust-lang/crates.io-index)" = "abcd"
"#;

    const V4: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "x11-clipboard"
version = "0.9.2"
source = "git+https://github.com/x/y?rev=1#deadbeef"

[[package]]
name = "libgit2-sys"
version = "0.12.17+1.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ffff"

[[package]]
name = "s"
version = "1.0.0"
source = "sparse+https://index.crates.io/"
"#;

    #[test]
    fn v1_metadata_checksums() {
        let l = CargoLock::parse(V1).unwrap();
        assert_eq!(l.format, 1);
        assert_eq!(l.packages.len(), 2);
        assert_eq!(l.packages[1].checksum.as_deref(), Some("abcd"));
        let r = l.registry_packages();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "libc");
    }

    #[test]
    fn v4_skips_path_and_git() {
        let l = CargoLock::parse(V4).unwrap();
        assert_eq!(l.format, 4);
        let names: Vec<_> = l
            .registry_packages()
            .into_iter()
            .map(|p| p.version)
            .collect();
        assert_eq!(names, vec!["0.12.17+1.1.0", "1.0.0"]);
        assert_eq!(l.clone().into_registry_packages(), l.registry_packages());
    }

    #[test]
    fn v2_inferred_and_garbage_rejected() {
        let v2 = "[[package]]\nname='a'\nversion='1.0.0'\nsource='registry+x'\nchecksum='1'\n";
        assert_eq!(CargoLock::parse(v2).unwrap().format, 2);
        assert!(CargoLock::parse("[[package]]\nname = 1").is_err());
        assert!(CargoLock::parse("version = \"x\"").is_err());
    }

    /// Every corpus lockfile goes through the line scanner and gives what the TOML parser gives.
    #[test]
    fn corpus_lockfiles_line_scanner_equals_toml() {
        let root = std::env::var_os("PORTCULLIS_CORPORA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
            });
        let dir = root.join("inspector/lockfiles");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!(
                "!!!!! SKIPPING: inspector corpus not found at {} (set PORTCULLIS_CORPORA) !!!!!",
                dir.display()
            );
            return;
        };
        let mut n = 0;
        for e in entries {
            let path = e.unwrap().path();
            if !path.to_string_lossy().ends_with(".Cargo.lock") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let fast = super::super::cargo_fast::scan(&text);
            assert!(fast.is_some(), "{} left to the TOML parser", path.display());
            let slow = CargoLock::parse_toml(&text).unwrap();
            assert_eq!(CargoLock::parse(&text).unwrap(), slow, "{}", path.display());
            assert!(!slow.packages.is_empty());
            n += 1;
        }
        assert!(n >= 6, "only {n} corpus lockfiles");
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(s in "\\PC{0,400}") {
            let _ = CargoLock::parse(&s);
        }

        #[test]
        fn line_scanner_agrees_with_toml(s in "(\\[\\[package\\]\\]\n|\\[metadata\\]\n|name = \"[a-z]{0,3}\"\n|version = \"[0-9.]{0,5}\"\n|source = \"(registry|git|sparse)\\+[a-z]{0,3}\"\n|checksum = \"[a-f]{0,2}\"\n|\"checksum [a-z] [0-9.]{0,3} \\(registry\\+[a-z]?\\)\" = \"[a-f]{0,2}\"\n|version = [0-9]{1,3}\n|dependencies = \\[\n \"[a-z]{0,2}\",\n\\]\n|# c\n|\n|[\\[\\]\"\\\\=]){0,30}") {
            if super::super::cargo_fast::scan(&s).is_some() {
                let slow = CargoLock::parse_toml(&s);
                prop_assert_eq!(CargoLock::parse(&s).ok(), slow.ok(), "{:?}", s);
            }
        }

        #[test]
        fn line_scanner_agrees_on_cargo_layout(
            version in proptest::option::of(1u32..5),
            pkgs in proptest::collection::vec(("[a-z_-]{1,6}", "[0-9]\\.[0-9]\\.[0-9](\\+[a-z0-9.]{1,4})?",
                proptest::option::of("(registry|sparse|git)\\+[a-z:/.]{1,8}"),
                proptest::option::of("[0-9a-f]{4}"), proptest::collection::vec("[a-z ().0-9+]{1,8}", 0..3),
                proptest::bool::ANY), 0..6),
        ) {
            let mut text = String::from("# This file is automatically @generated by Cargo.\n");
            if let Some(v) = version {
                text.push_str(&format!("version = {v}\n"));
            }
            let mut metadata = String::new();
            for (name, ver, source, checksum, deps, in_metadata) in &pkgs {
                text.push_str(&format!("\n[[package]]\nname = \"{name}\"\nversion = \"{ver}\"\n"));
                if let Some(s) = source {
                    text.push_str(&format!("source = \"{s}\"\n"));
                    if let (Some(c), true) = (checksum, in_metadata) {
                        metadata.push_str(&format!("\"checksum {name} {ver} ({s})\" = \"{c}\"\n"));
                    }
                }
                if let (Some(c), false) = (checksum, in_metadata) {
                    text.push_str(&format!("checksum = \"{c}\"\n"));
                }
                if !deps.is_empty() {
                    text.push_str("dependencies = [\n");
                    for d in deps {
                        text.push_str(&format!(" \"{d}\",\n"));
                    }
                    text.push_str("]\n");
                }
            }
            if !metadata.is_empty() {
                text.push_str(&format!("\n[metadata]\n{metadata}"));
            }
            let fast = super::super::cargo_fast::scan(&text);
            let slow = CargoLock::parse_toml(&text);
            match (&fast, &slow) {
                // Duplicate metadata keys: the TOML parser rejects them, the scanner defers.
                (None, Err(_)) => {}
                _ => {
                    prop_assert!(fast.is_some(), "{:?}", text);
                    prop_assert_eq!(CargoLock::parse(&text).ok(), slow.ok(), "{:?}", text);
                }
            }
        }

        #[test]
        fn never_panics_on_tomlish(s in "(\\[\\[package\\]\\]\n|name = \"[a-z]{0,3}\"\n|version = \"[0-9.]{0,5}\"\n|source = \"(registry|git|sparse)\\+[a-z]{0,3}\"\n|\\[metadata\\]\n|version = [0-9]{1,3}\n|[\\[\\]{}=\"#\n]){0,40}") {
            if let Ok(l) = CargoLock::parse(&s) {
                prop_assert!(l.registry_packages().len() <= l.packages.len());
            }
        }
    }
}
