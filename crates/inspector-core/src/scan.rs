//! Matching packages against the advisory index.
//!
//! For each package, every advisory indexed under its ecosystem and name is evaluated with the OSV
//! algorithm ([`crate::osv::range`]) on each `affected[]` entry for that package (and, when both
//! sides carry one, the same ecosystem release, e.g. `Debian:12`). One finding is produced per
//! `(advisory, package@version)`. Findings are sorted by package name, version, then advisory id.
//! Withdrawn advisories are skipped unless [`ScanOptions::include_withdrawn`] is set. RustSec
//! informational advisories (unmaintained / unsound / notice) become [`FindingKind::Informational`]
//! findings, which cargo-audit reports as warnings.

use serde::{Deserialize, Serialize};

use crate::advisory_db::AdvisoryDb;
use crate::lockfile::Package;
use crate::osv::cvss::{CvssVersion, Rating};
use crate::osv::range::{affected_matches, patched_and_unaffected};
use crate::osv::{Advisory, Informational};
use crate::version::Ecosystem;

/// Scan options.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Also report withdrawn advisories (flagged [`Finding::withdrawn`]).
    pub include_withdrawn: bool,
    /// Only report advisories affecting this OS (RustSec `affects.os`; like cargo-audit's
    /// `--target-os`). `None` = every OS.
    pub target_os: Option<String>,
    /// Only report advisories affecting this architecture (`--target-arch`). `None` = every arch.
    pub target_arch: Option<String>,
    /// Ecosystem release of the packages (`"12"` for Debian 12); `None` matches any release.
    pub release: Option<String>,
}

/// Vulnerability or informational (warning).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FindingKind {
    /// A vulnerability.
    Vulnerability,
    /// A RustSec informational advisory.
    Informational(Informational),
}

/// Severity attached to a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSeverity {
    /// The CVSS vector.
    pub vector: String,
    /// CVSS version.
    pub version: CvssVersion,
    /// Base score (v3.x only).
    pub score: Option<f64>,
    /// Rating of the score.
    pub rating: Option<Rating>,
}

/// One advisory matching one package at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Advisory id.
    pub advisory_id: String,
    /// Aliases (CVE, GHSA, …).
    pub aliases: Vec<String>,
    /// Advisory summary.
    pub summary: Option<String>,
    /// The matched package.
    pub package: Package,
    /// Vulnerability or informational.
    pub kind: FindingKind,
    /// Patched requirements (`>= 1.2.3`).
    pub patched: Vec<String>,
    /// Unaffected requirements (`< 0.3.0`).
    pub unaffected: Vec<String>,
    /// Severity, when a CVSS vector is present.
    pub severity: Option<FindingSeverity>,
    /// Whether the advisory is withdrawn.
    pub withdrawn: bool,
    /// RustSec affected OS list (empty = all).
    pub os: Vec<String>,
    /// RustSec affected architectures (empty = all).
    pub arch: Vec<String>,
    /// RustSec affected functions.
    pub functions: Vec<String>,
    /// Advisory details (CommonMark), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Reference URLs of the advisory.
    #[serde(default)]
    pub references: Vec<String>,
}

impl Finding {
    /// Whether this is a vulnerability (not a warning).
    pub fn is_vulnerability(&self) -> bool {
        self.kind == FindingKind::Vulnerability
    }
}

pub(crate) fn release_matches(affected_release: Option<&str>, wanted: Option<&str>) -> bool {
    match (affected_release, wanted) {
        (Some(a), Some(w)) => a == w,
        _ => true,
    }
}

pub(crate) fn finding_for(adv: &Advisory, pkg: &Package, opts: &ScanOptions) -> Option<Finding> {
    if adv.is_withdrawn() && !opts.include_withdrawn {
        return None;
    }
    let want_name = pkg.ecosystem.normalize_name(&pkg.name);
    let mut matched = None;
    for aff in &adv.affected {
        let Some(p) = aff.package.as_ref() else {
            continue;
        };
        let (eco, release) = Ecosystem::parse_osv(&p.ecosystem);
        if eco != pkg.ecosystem
            || eco.normalize_name(&p.name) != want_name
            || !release_matches(release, opts.release.as_deref())
        {
            continue;
        }
        let restricted = |list: Vec<String>, want: &Option<String>| {
            want.as_ref()
                .is_some_and(|w| !list.is_empty() && !list.iter().any(|x| x == w))
        };
        if restricted(aff.os(), &opts.target_os) || restricted(aff.arch(), &opts.target_arch) {
            continue;
        }
        if affected_matches(aff, &eco, &pkg.version).is_some() {
            matched = Some(aff);
            break;
        }
    }
    let aff = matched?;
    let (patched, unaffected) = patched_and_unaffected(aff, &pkg.ecosystem);
    let kind = aff
        .informational()
        .map_or(FindingKind::Vulnerability, FindingKind::Informational);
    let severity = adv.cvss().map(|c| FindingSeverity {
        vector: c.vector.clone(),
        version: c.version,
        score: c.base_score(),
        rating: c.rating(),
    });
    Some(Finding {
        advisory_id: adv.id.clone(),
        aliases: adv.aliases.clone(),
        summary: adv.summary.clone(),
        package: pkg.clone(),
        kind,
        patched,
        unaffected,
        severity,
        withdrawn: adv.is_withdrawn(),
        os: aff.os(),
        arch: aff.arch(),
        functions: aff.functions(),
        details: adv.details.clone(),
        references: adv.references.iter().map(|r| r.url.clone()).collect(),
    })
}

/// Scans `packages` against `db`; findings sorted by (package, version, advisory id).
pub fn scan(db: &AdvisoryDb, packages: &[Package], opts: &ScanOptions) -> Vec<Finding> {
    let mut findings: Vec<Finding> = packages
        .iter()
        .flat_map(|pkg| {
            db.lookup(&pkg.ecosystem, &pkg.name)
                .filter_map(move |adv| finding_for(adv, pkg, opts))
        })
        .collect();
    sort_findings(&mut findings);
    findings
}

/// Sorts findings by (package, version, advisory id, ecosystem) and drops duplicates.
pub(crate) fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (
            &a.package.name,
            &a.package.version,
            &a.advisory_id,
            &a.package.ecosystem,
        )
            .cmp(&(
                &b.package.name,
                &b.package.version,
                &b.advisory_id,
                &b.package.ecosystem,
            ))
    });
    findings.dedup_by(|a, b| {
        a.advisory_id == b.advisory_id
            && a.package.name == b.package.name
            && a.package.version == b.package.version
            && a.package.ecosystem == b.package.ecosystem
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADV: &str = r#"{"id":"RUSTSEC-0000-0001","modified":"2020-01-01T00:00:00Z",
      "aliases":["CVE-1"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
      "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.2.0"}]}]}]}"#;
    const WD: &str = r#"{"id":"RUSTSEC-0000-0002","modified":"2020-01-01T00:00:00Z","withdrawn":"2021-01-01T00:00:00Z",
      "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#;
    const INFO: &str = r#"{"id":"RUSTSEC-0000-0003","modified":"2020-01-01T00:00:00Z",
      "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},"database_specific":{"informational":"unmaintained"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#;

    fn pkg(v: &str) -> Package {
        Package {
            ecosystem: Ecosystem::CratesIo,
            name: "foo".into(),
            version: v.into(),
            source: None,
        }
    }

    #[test]
    fn scan_classifies_and_filters() {
        let (db, errs) = AdvisoryDb::load([
            ("a.json", ADV.as_bytes()),
            ("w.json", WD.as_bytes()),
            ("i.json", INFO.as_bytes()),
        ]);
        assert!(errs.is_empty());
        let f = scan(&db, &[pkg("1.1.0"), pkg("1.2.0")], &ScanOptions::default());
        let ids: Vec<_> = f
            .iter()
            .map(|f| (f.advisory_id.as_str(), f.package.version.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("RUSTSEC-0000-0001", "1.1.0"),
                ("RUSTSEC-0000-0003", "1.1.0"),
                ("RUSTSEC-0000-0003", "1.2.0")
            ]
        );
        assert!(f[0].is_vulnerability());
        assert_eq!(f[0].severity.as_ref().unwrap().score, Some(9.8));
        assert_eq!(f[0].patched, vec![">= 1.2.0"]);
        assert_eq!(
            f[1].kind,
            FindingKind::Informational(Informational::Unmaintained)
        );
        let opts = ScanOptions {
            include_withdrawn: true,
            ..Default::default()
        };
        let f = scan(&db, &[pkg("1.2.0")], &opts);
        assert!(
            f.iter()
                .any(|f| f.withdrawn && f.advisory_id == "RUSTSEC-0000-0002")
        );
    }

    #[test]
    fn target_os_filter() {
        let adv = r#"{"id":"RUSTSEC-0000-0004","modified":"x","affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
          "ecosystem_specific":{"affects":{"os":["windows"],"arch":[],"functions":[]}},
          "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#;
        let (db, _) = AdvisoryDb::load([("a.json", adv.as_bytes())]);
        let linux = ScanOptions {
            target_os: Some("linux".into()),
            ..Default::default()
        };
        let windows = ScanOptions {
            target_os: Some("windows".into()),
            ..Default::default()
        };
        assert_eq!(scan(&db, &[pkg("1.0.0")], &ScanOptions::default()).len(), 1);
        assert_eq!(scan(&db, &[pkg("1.0.0")], &linux).len(), 0);
        assert_eq!(scan(&db, &[pkg("1.0.0")], &windows)[0].os, vec!["windows"]);
    }
}
