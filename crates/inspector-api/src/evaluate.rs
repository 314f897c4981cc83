//! What a host's inventory shows: Inspector2 finding bodies for vulnerable packages (matched
//! against the advisory index) and failed best-practice checks.
//!
//! Decisions (the model leaves them open):
//! - One `PACKAGE_VULNERABILITY` finding per (host, advisory, ecosystem, package name); every
//!   place the package is installed (the OS package database, each lockfile) is one entry of
//!   `vulnerablePackages`. Upgrading to another affected version keeps the finding.
//! - Only vulnerabilities become findings; RustSec informational advisories (unmaintained,
//!   unsound, notice) and withdrawn advisories do not.
//! - OS packages are matched under their source package name (OSV's Debian/Ubuntu/Alpine
//!   records name source packages) and the release of the host's OS; they are reported under
//!   their binary name with `packageManager` `OS`.
//! - A failed check becomes a `CODE_VULNERABILITY` finding, the only non-package,
//!   non-network type the model has: `codeVulnerabilityDetails.detectorId` is the check id,
//!   `detectorName` its title, `filePath` the configuration the check reads.
//! - `NETWORK_REACHABILITY` findings need a description of the network (security groups,
//!   routes); an agent's listeners alone do not say whether a port is reachable, so they are
//!   produced by [`crate::network`] from an imported description, not here.

use std::collections::BTreeMap;

use portcullis_inspector_core::checks::{self, CheckFinding};
use portcullis_inspector_core::inventory::{InstalledPackage, Inventory};
use portcullis_inspector_core::lockfile::Package;
use portcullis_inspector_core::osv::cvss::CvssVersion;
use portcullis_inspector_core::report;
use portcullis_inspector_core::scan::{Finding as Match, ScanOptions, scan};
use serde_json::{Map, Value, json};

use crate::index::{IndexStatus, Snapshot};
use crate::state::{Host, PackageScan};

/// Longest `title`/`description` the model allows (characters).
const MAX_TEXT: usize = 1024;
/// Reference URLs kept per finding.
const MAX_REFERENCES: usize = 20;

/// One finding as observed now: its identity and its body (everything but the ARN, account,
/// status and times).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// `pkg|<advisory>|<ecosystem>|<name>` or `check|<id>`.
    pub key: String,
    /// The finding body.
    pub body: Map<String, Value>,
}

/// The outcome of evaluating one host.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Findings seen now.
    pub observed: Vec<Observed>,
    /// How packages were matched.
    pub package_scan: PackageScan,
}

impl Evaluation {
    /// Whether the absence of a package finding now means it is fixed (false when the
    /// packages could not be matched at all).
    pub fn packages_scanned(&self) -> bool {
        matches!(self.package_scan, PackageScan::Scanned { .. })
    }
}

/// Evaluates a host's inventory against the index snapshot (if any) and the checks.
pub fn evaluate(host: &Host, snapshot: Option<&Snapshot>, status: &IndexStatus) -> Evaluation {
    let resource = resource_of(host);
    let mut observed = Vec::new();
    let package_scan = match snapshot {
        Some(s) => {
            observed.extend(package_findings(&host.inventory, s, &resource));
            PackageScan::Scanned { tag: s.tag.clone() }
        }
        None => match status {
            IndexStatus::Unusable(m) => PackageScan::IndexError { message: m.clone() },
            _ => PackageScan::NoIndex,
        },
    };
    for c in checks::evaluate(&host.inventory) {
        observed.push(check_finding(&c, &resource));
    }
    Evaluation {
        observed,
        package_scan,
    }
}

/// The `resources[0]` of a host's findings.
pub fn resource_of(host: &Host) -> Value {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for l in &host.inventory.listeners {
        let a = l.address;
        if a.is_loopback() || a.is_unspecified() {
            continue;
        }
        let s = a.to_string();
        let list = if a.is_ipv4() { &mut v4 } else { &mut v6 };
        if !list.contains(&s) {
            list.push(s);
        }
    }
    let mut ec2 = Map::new();
    if let Some(p) = platform(&host.inventory) {
        ec2.insert("platform".into(), json!(p));
    }
    if !v4.is_empty() {
        ec2.insert("ipV4Addresses".into(), json!(v4));
    }
    if !v6.is_empty() {
        ec2.insert("ipV6Addresses".into(), json!(v6));
    }
    json!({
        "type": "AWS_EC2_INSTANCE",
        "id": host.agent_id,
        "partition": "aws",
        "region": host.region,
        "details": {"awsEc2Instance": ec2},
    })
}

/// `DEBIAN_12`, `UBUNTU_22_04`, ... from os-release (the model's examples are of this form).
pub fn platform(inv: &Inventory) -> Option<String> {
    if inv.os.id.is_empty() {
        return None;
    }
    let mut s = inv.os.id.to_ascii_uppercase();
    if !inv.os.version_id.is_empty() {
        s.push('_');
        s.push_str(&inv.os.version_id.replace(['.', '-'], "_"));
    }
    Some(
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    )
}

/// The OSV release suffix of the host's OS packages (`Debian:12`, `Ubuntu:22.04:LTS`,
/// `Alpine:v3.20`), or `None` to match any release.
pub fn os_release(inv: &Inventory) -> Option<String> {
    let v = inv.os.version_id.as_str();
    let mut parts = v.split('.');
    let major = parts.next().filter(|m| !m.is_empty())?;
    match inv.os.id.as_str() {
        "debian" => Some(major.to_owned()),
        "alpine" => parts.next().map(|minor| format!("v{major}.{minor}")),
        "ubuntu" => {
            let lts = parts.next() == Some("04") && major.parse::<u32>().is_ok_and(|y| y % 2 == 0);
            Some(if lts {
                format!("{v}:LTS")
            } else {
                v.to_owned()
            })
        }
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn nonempty(s: &str, fallback: &str) -> String {
    let t = s.trim();
    truncate(if t.is_empty() { fallback } else { t }, MAX_TEXT)
}

/// The package URL of an OS package.
pub fn os_purl(inv: &Inventory, p: &InstalledPackage) -> String {
    let (ty, ns) = match p.manager.as_str() {
        "dpkg" => ("deb", inv.os.id.as_str()),
        "rpm" => ("rpm", inv.os.id.as_str()),
        "apk" => ("apk", inv.os.id.as_str()),
        _ => ("generic", ""),
    };
    let mut s = if ns.is_empty() {
        format!("pkg:{ty}/{}@{}", p.package.name, p.package.version)
    } else {
        format!("pkg:{ty}/{ns}/{}@{}", p.package.name, p.package.version)
    };
    let mut q = Vec::new();
    if !inv.os.arch.is_empty() {
        q.push(format!("arch={}", inv.os.arch));
    }
    if !inv.os.id.is_empty() && !inv.os.version_id.is_empty() {
        q.push(format!("distro={}-{}", inv.os.id, inv.os.version_id));
    }
    if !q.is_empty() {
        s.push('?');
        s.push_str(&q.join("&"));
    }
    s
}

/// One place a package is installed.
struct Site {
    name: String,
    version: String,
    manager: &'static str,
    file: Option<String>,
    purl: String,
    arch: Option<String>,
}

fn package_findings(inv: &Inventory, s: &Snapshot, resource: &Value) -> Vec<Observed> {
    // (advisory, ecosystem, reported name) → (a match, the sites).
    let mut grouped: BTreeMap<(String, String, String), (Match, Vec<Site>)> = BTreeMap::new();
    let mut add = |m: &Match, site: Site| {
        let k = (
            m.advisory_id.clone(),
            m.package.ecosystem.as_str().to_owned(),
            site.name.clone(),
        );
        grouped
            .entry(k)
            .or_insert_with(|| (m.clone(), Vec::new()))
            .1
            .push(site);
    };

    // OS packages, under their source name and the OS release.
    let os_opts = ScanOptions {
        release: os_release(inv),
        ..ScanOptions::default()
    };
    let mut by_source: BTreeMap<Package, Vec<&InstalledPackage>> = BTreeMap::new();
    for p in &inv.packages {
        let mut q = p.package.clone();
        if let Some(src) = p.source_name.as_ref().filter(|s| !s.is_empty()) {
            q.name = src.clone();
        }
        q.source = None;
        by_source.entry(q).or_default().push(p);
    }
    let queries: Vec<Package> = by_source.keys().cloned().collect();
    for m in scan(&s.db, &queries, &os_opts) {
        if !m.is_vulnerability() {
            continue;
        }
        for p in by_source.get(&m.package).into_iter().flatten() {
            add(
                &m,
                Site {
                    name: p.package.name.clone(),
                    version: p.package.version.clone(),
                    manager: "OS",
                    file: None,
                    purl: os_purl(inv, p),
                    arch: (!inv.os.arch.is_empty()).then(|| inv.os.arch.clone()),
                },
            );
        }
    }

    // Lockfile packages (any release).
    for l in &inv.lockfiles {
        for m in scan(&s.db, &l.packages, &ScanOptions::default()) {
            if !m.is_vulnerability() {
                continue;
            }
            add(
                &m,
                Site {
                    name: m.package.name.clone(),
                    version: m.package.version.clone(),
                    manager: l.kind.package_manager(),
                    file: Some(l.path.clone()),
                    purl: report::purl(&m.package),
                    arch: None,
                },
            );
        }
    }

    grouped
        .into_iter()
        .map(|((id, eco, name), (m, sites))| {
            package_finding(&id, &eco, &name, &m, &sites, resource)
        })
        .collect()
}

fn cvss_version(v: CvssVersion) -> &'static str {
    match v {
        CvssVersion::V2 => "2.0",
        CvssVersion::V3_0 => "3.0",
        CvssVersion::V3_1 => "3.1",
        CvssVersion::V4_0 => "4.0",
    }
}

fn package_finding(
    id: &str,
    eco: &str,
    name: &str,
    m: &Match,
    sites: &[Site],
    resource: &Value,
) -> Observed {
    let source = report::source_of(id).to_owned();
    let fixed = report::fixed_versions(m);
    let packages: Vec<Value> = sites
        .iter()
        .map(|s| {
            let mut p = json!({
                "name": s.name, "version": s.version, "packageManager": s.manager,
                "purl": truncate(&s.purl, 2048),
                "fixedInVersion": fixed.first().cloned().unwrap_or_else(|| "NotAvailable".into()),
            });
            if let Some(o) = p.as_object_mut() {
                if let Some(f) = &s.file {
                    o.insert("filePath".into(), json!(f));
                }
                if let Some(a) = &s.arch {
                    o.insert("arch".into(), json!(a));
                }
                if !fixed.is_empty() {
                    o.insert(
                        "remediation".into(),
                        json!(format!(
                            "Upgrade {} to {} or later",
                            s.name,
                            fixed.join(" or ")
                        )),
                    );
                }
            }
            p
        })
        .collect();
    let mut details = json!({
        "vulnerabilityId": id,
        "source": source,
        "sourceUrl": report::source_url(id),
        "vulnerablePackages": packages,
    });
    let d = details.as_object_mut();
    if let Some(d) = d {
        if !m.aliases.is_empty() {
            d.insert("relatedVulnerabilities".into(), json!(m.aliases));
        }
        let refs: Vec<&String> = m.references.iter().take(MAX_REFERENCES).collect();
        if !refs.is_empty() {
            d.insert("referenceUrls".into(), json!(refs));
        }
        if let Some(sev) = &m.severity
            && let Some(score) = sev.score
        {
            d.insert(
                "cvss".into(),
                json!([{"baseScore": score, "scoringVector": sev.vector,
                        "version": cvss_version(sev.version), "source": source}]),
            );
        }
    }
    let summary = m.summary.clone().unwrap_or_default();
    let description = match (&m.summary, &m.details) {
        (_, Some(d)) if !d.trim().is_empty() => d.clone(),
        _ => summary.clone(),
    };
    let recommendation = if fixed.is_empty() {
        format!("No fixed version of {name} is known for {id}; remove or replace the package.")
    } else {
        format!("Upgrade {name} to {} or later", fixed.join(" or "))
    };
    let mut body = Map::new();
    body.insert("type".into(), json!("PACKAGE_VULNERABILITY"));
    body.insert(
        "title".into(),
        json!(truncate(&format!("{id} - {name}"), MAX_TEXT)),
    );
    body.insert(
        "description".into(),
        json!(nonempty(&description, &format!("{id} affects {name}"))),
    );
    body.insert(
        "remediation".into(),
        json!({"recommendation": {"text": recommendation, "Url": report::source_url(id)}}),
    );
    body.insert("severity".into(), json!(report::severity(m)));
    body.insert("resources".into(), json!([resource]));
    body.insert("packageVulnerabilityDetails".into(), details);
    body.insert(
        "fixAvailable".into(),
        json!(if fixed.is_empty() { "NO" } else { "YES" }),
    );
    if let Some(sev) = &m.severity
        && let Some(score) = sev.score
    {
        body.insert("inspectorScore".into(), json!(score));
        body.insert(
            "inspectorScoreDetails".into(),
            json!({"adjustedCvss": {"scoreSource": source, "cvssSource": source,
                "version": cvss_version(sev.version), "score": score,
                "scoringVector": sev.vector, "adjustments": []}}),
        );
    }
    Observed {
        key: format!("pkg|{id}|{eco}|{name}"),
        body,
    }
}

/// The file a check reads (`fileName`, `filePath`), by its id (`PCS-<AREA>-<NAME>`); `/`
/// when the check looks at the whole host.
fn check_file(id: &str) -> (&'static str, &'static str) {
    match id {
        "PCS-PASSWORD-MAX-AGE" => ("login.defs", "/etc/login.defs"),
        "PCS-PASSWORD-MIN-LENGTH" | "PCS-PASSWORD-COMPLEXITY" => {
            ("pwquality.conf", "/etc/security/pwquality.conf")
        }
        "PCS-PASSWORD-REUSE" => ("common-password", "/etc/pam.d/common-password"),
        "PCS-KERNEL-ASLR" => ("randomize_va_space", "/proc/sys/kernel/randomize_va_space"),
        "PCS-KERNEL-SUID-DUMPABLE" => ("suid_dumpable", "/proc/sys/fs/suid_dumpable"),
        "PCS-KERNEL-DEP" => ("cpuinfo", "/proc/cpuinfo"),
        "PCS-FS-ACCOUNT-FILES" => ("shadow", "/etc/shadow"),
        _ if id.starts_with("PCS-SSH-") => ("sshd_config", "/etc/ssh/sshd_config"),
        _ => ("/", "/"),
    }
}

fn check_finding(c: &CheckFinding, resource: &Value) -> Observed {
    let severity = serde_json::to_value(c.severity).unwrap_or_else(|_| json!("MEDIUM"));
    let (file_name, file_path) = check_file(&c.id);
    let description = if c.rationale.trim().is_empty() {
        c.description.clone()
    } else {
        format!("{} {}", c.description.trim(), c.rationale.trim())
    };
    let mut body = Map::new();
    body.insert("type".into(), json!("CODE_VULNERABILITY"));
    body.insert("title".into(), json!(nonempty(&c.title, &c.id)));
    body.insert(
        "description".into(),
        json!(nonempty(&description, &c.title)),
    );
    body.insert(
        "remediation".into(),
        json!({"recommendation": {"text": nonempty(&c.remediation, "See the check's rationale.")}}),
    );
    body.insert("severity".into(), severity);
    body.insert("resources".into(), json!([resource]));
    body.insert(
        "codeVulnerabilityDetails".into(),
        json!({
            "filePath": {"fileName": file_name, "filePath": file_path, "startLine": 0, "endLine": 0},
            "detectorId": c.id, "detectorName": nonempty(&c.title, &c.id),
            "detectorTags": ["portcullis-best-practice"], "cwes": [], "ruleId": c.id,
        }),
    );
    body.insert("fixAvailable".into(), json!("YES"));
    Observed {
        key: format!("check|{}", c.id),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_inspector_core::inventory::OsInfo;

    fn inv(id: &str, v: &str) -> Inventory {
        Inventory {
            os: OsInfo {
                id: id.into(),
                version_id: v.into(),
                ..OsInfo::default()
            },
            ..Inventory::default()
        }
    }

    #[test]
    fn releases_and_platforms() {
        assert_eq!(os_release(&inv("debian", "12")).as_deref(), Some("12"));
        assert_eq!(
            os_release(&inv("ubuntu", "22.04")).as_deref(),
            Some("22.04:LTS")
        );
        assert_eq!(
            os_release(&inv("ubuntu", "23.10")).as_deref(),
            Some("23.10")
        );
        assert_eq!(
            os_release(&inv("alpine", "3.20.1")).as_deref(),
            Some("v3.20")
        );
        assert_eq!(os_release(&inv("rhel", "9.3")), None);
        assert_eq!(os_release(&inv("debian", "")), None);
        assert_eq!(
            platform(&inv("ubuntu", "22.04")).as_deref(),
            Some("UBUNTU_22_04")
        );
        assert_eq!(platform(&inv("", "")), None);
    }

    #[test]
    fn check_files_by_id_words() {
        assert_eq!(check_file("PCS-SSH-ROOT-LOGIN").1, "/etc/ssh/sshd_config");
        assert_eq!(check_file("PCS-KERNEL-ASLR").0, "randomize_va_space");
        assert_eq!(check_file("PCS-HOST-FIREWALL").1, "/");
    }
}
