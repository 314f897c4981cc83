//! System packages: the dpkg status file (`/var/lib/dpkg/status`), apk's installed
//! database (`/lib/apk/db/installed`) and the SQLite RPM database ([`super::rpm`]).
//!
//! OSV's Debian, Ubuntu and Alpine records are keyed by the **source** package (osv-scanner
//! queries dpkg packages by their `Source:` name). [`Package::name`] is the installed
//! (binary) package and its version, what a user sees in `dpkg -l`;
//! [`InstalledPackage::source_name`] carries the source name (dpkg `Source:` without its
//! optional `(version)`, apk `o:` origin) whenever it differs, and the server matches
//! advisories under that name.

use std::collections::BTreeMap;

use portcullis_inspector_core::inventory::InstalledPackage;
use portcullis_inspector_core::lockfile::Package;
use portcullis_inspector_core::version::Ecosystem;

use super::Ctx;

/// Most packages taken from one database.
const MAX_PACKAGES: usize = 100_000;

/// dpkg states whose files are (at least partly) on disk.
const DPKG_PRESENT_STATES: [&str; 6] = [
    "installed",
    "half-installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
];

/// Parses a dpkg status file into installed packages of `ecosystem`. Stanzas whose
/// `Status:` third word is `not-installed` or `config-files` (or that lack a name, version or
/// status) are skipped.
pub fn parse_dpkg_status(text: &str, ecosystem: &Ecosystem) -> Vec<InstalledPackage> {
    let mut out = Vec::new();
    for stanza in stanzas(text) {
        if out.len() >= MAX_PACKAGES {
            break;
        }
        let mut name = None;
        let mut version = None;
        let mut source = None;
        let mut present = false;
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "Package" => name = Some(v),
                "Version" => version = Some(v),
                "Source" => source = Some(v),
                "Status" => {
                    present = v
                        .split_whitespace()
                        .nth(2)
                        .is_some_and(|s| DPKG_PRESENT_STATES.contains(&s));
                }
                _ => {}
            }
        }
        let (Some(name), Some(version), true) = (name, version, present) else {
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        // `Source: bash (5.2.15-2)`: a binNMU names its source version too.
        let src_name = match source {
            Some(s) => s.split_once('(').map_or(s, |(n, _)| n).trim(),
            None => name,
        };
        let src_name = if src_name.is_empty() { name } else { src_name };
        out.push(installed(ecosystem, src_name, version, name, "dpkg"));
    }
    finish(out)
}

/// Parses apk's installed database (`P:` name, `V:` version, `o:` origin) into installed
/// packages of `ecosystem`.
pub fn parse_apk_installed(text: &str, ecosystem: &Ecosystem) -> Vec<InstalledPackage> {
    let mut out = Vec::new();
    for stanza in stanzas(text) {
        if out.len() >= MAX_PACKAGES {
            break;
        }
        let (mut name, mut version, mut origin) = (None, None, None);
        for line in stanza.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v.trim()),
                Some(("V", v)) => version = Some(v.trim()),
                Some(("o", v)) => origin = Some(v.trim()),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        let src = origin.filter(|o| !o.is_empty()).unwrap_or(name);
        out.push(installed(ecosystem, src, version, name, "apk"));
    }
    finish(out)
}

fn installed(
    eco: &Ecosystem,
    src: &str,
    version: &str,
    bin: &str,
    manager: &str,
) -> InstalledPackage {
    InstalledPackage {
        package: Package {
            ecosystem: eco.clone(),
            name: bin.to_owned(),
            version: version.to_owned(),
            source: None,
        },
        manager: manager.to_owned(),
        source_name: (src != bin).then(|| src.to_owned()),
    }
}

fn finish(mut out: Vec<InstalledPackage>) -> Vec<InstalledPackage> {
    out.sort();
    out.dedup();
    out
}

/// Blank-line separated stanzas.
fn stanzas(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").filter(|s| !s.trim().is_empty())
}

/// The OSV ecosystem of dpkg packages on this OS.
fn dpkg_ecosystem(os: &BTreeMap<String, String>) -> Ecosystem {
    let id = os.get("ID").map(String::as_str).unwrap_or_default();
    let like = os.get("ID_LIKE").map(String::as_str).unwrap_or_default();
    if id == "ubuntu" || like.split_whitespace().any(|l| l == "ubuntu") {
        Ecosystem::Ubuntu
    } else {
        Ecosystem::Debian
    }
}

/// The OSV ecosystem of apk packages on this OS.
fn apk_ecosystem(os: &BTreeMap<String, String>) -> Ecosystem {
    match os.get("ID").map(String::as_str) {
        Some("wolfi" | "chainguard") => Ecosystem::Wolfi,
        _ => Ecosystem::Alpine,
    }
}

/// Reads every package database present.
pub(crate) fn collect(ctx: &mut Ctx<'_>, os: &BTreeMap<String, String>) -> Vec<InstalledPackage> {
    let limit = ctx.opts.max_db_bytes;
    let mut out = Vec::new();
    if let Some(text) = ctx.read_limited("/var/lib/dpkg/status", limit) {
        out.extend(parse_dpkg_status(&text, &dpkg_ecosystem(os)));
    }
    if let Some(text) = ctx.read_limited("/lib/apk/db/installed", limit) {
        out.extend(parse_apk_installed(&text, &apk_ecosystem(os)));
    }
    out.extend(super::rpm::collect(ctx, os));
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: bash\nStatus: install ok installed\nPriority: required\n\
Version: 5.2.15-2+b8\nSource: bash (5.2.15-2)\nDescription: GNU Bourne Again SHell\n Bash is an sh-compatible...\n .\n more\n\n\
Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\n\
Package: openssl\nStatus: install ok installed\nVersion: 3.0.15-1~deb12u1\n\n\
Package: sudo\nStatus: install ok installed\nVersion: 1.9.13p3-1+deb12u1\n\n\
Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
Package: gone\nStatus: purge ok not-installed\nVersion: 1.0\n\n\
Package: noversion\nStatus: install ok installed\n";

    #[test]
    fn dpkg_keeps_binary_names_with_their_source_and_skips_removed() {
        let pkgs = parse_dpkg_status(STATUS, &Ecosystem::Debian);
        let got: Vec<(&str, &str, Option<&str>)> = pkgs
            .iter()
            .map(|p| {
                (
                    p.package.name.as_str(),
                    p.package.version.as_str(),
                    p.source_name.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("bash", "5.2.15-2+b8", None),
                ("libssl3", "3.0.15-1~deb12u1", Some("openssl")),
                ("openssl", "3.0.15-1~deb12u1", None),
                ("sudo", "1.9.13p3-1+deb12u1", None),
            ]
        );
        assert!(pkgs.iter().all(|p| p.manager == "dpkg"));
    }

    #[test]
    fn apk_uses_origin() {
        let text = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\nF:lib\nR:libcrypto.so.3\n\n\
                    P:musl\nV:1.2.4-r2\no:musl\n\nP:broken\n";
        let pkgs = parse_apk_installed(text, &Ecosystem::Alpine);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].package.name, "libcrypto3");
        assert_eq!(pkgs[1].package.name, "musl");
        assert_eq!(pkgs[1].source_name, None);
        assert_eq!(pkgs[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(pkgs[0].package.version, "3.1.4-r5");
    }

    #[test]
    fn ubuntu_and_derivatives_map_to_ubuntu() {
        let os = BTreeMap::from([
            ("ID".to_owned(), "linuxmint".to_owned()),
            ("ID_LIKE".to_owned(), "ubuntu debian".to_owned()),
        ]);
        assert_eq!(dpkg_ecosystem(&os), Ecosystem::Ubuntu);
        assert_eq!(dpkg_ecosystem(&BTreeMap::new()), Ecosystem::Debian);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "(Package|Status|Version|Source|P|V|o|[a-z ()]|:|\n){0,200}") {
            let _ = parse_dpkg_status(&s, &Ecosystem::Debian);
            let _ = parse_apk_installed(&s, &Ecosystem::Alpine);
        }
    }
}
