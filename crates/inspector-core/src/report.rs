//! Scan output: a text table, Inspector2-shaped findings JSON, SARIF 2.1.0 and CycloneDX 1.4.
//!
//! Sans-I/O: the caller passes the scan results and the current time. Vulnerabilities and
//! RustSec informational advisories (unmaintained / unsound / notice, cargo-audit's
//! "warnings") are kept apart in every format: the table prints warnings in their own section,
//! the JSON puts them under `warnings` (severity `INFORMATIONAL`), SARIF gives them level `note`,
//! CycloneDX rates them `info`.
//!
//! Inspector2 member names follow the API model (§2.1–2.3 of the reference). Decisions of ours:
//! the resource is the lockfile (`type` `CODE_REPOSITORY`, `id` its path), account
//! `000000000000`, region `local`, `source`/`vulnerabilityId` from the advisory id prefix,
//! severity from the CVSS v3 base score, `UNTRIAGED` without one; `findingArn` ends in a
//! deterministic 32-hex digest of (file, advisory, package, version).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::lockfile::{LockfileKind, Package};
use crate::osv::cvss::{CvssVersion, Rating};
use crate::scan::{Finding, FindingKind};
use crate::version::Ecosystem;

/// The scan result of one lockfile.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Path of the lockfile, as given.
    pub path: String,
    /// Its format.
    pub kind: LockfileKind,
    /// The packages scanned.
    pub packages: Vec<Package>,
    /// Findings (vulnerabilities and warnings), sorted.
    pub findings: Vec<Finding>,
}

/// The result of a scan over several lockfiles.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Per lockfile.
    pub files: Vec<FileReport>,
    /// Lockfiles that could not be read or parsed: (path, message).
    pub errors: Vec<(String, String)>,
}

impl ScanReport {
    /// Number of vulnerability findings.
    pub fn vulnerabilities(&self) -> usize {
        self.all().filter(|(_, f)| f.is_vulnerability()).count()
    }

    /// Number of warnings (informational advisories).
    pub fn warnings(&self) -> usize {
        self.all().filter(|(_, f)| !f.is_vulnerability()).count()
    }

    fn all(&self) -> impl Iterator<Item = (&FileReport, &Finding)> {
        self.files
            .iter()
            .flat_map(|file| file.findings.iter().map(move |f| (file, f)))
    }
}

/// Inspector2 severity of a finding.
pub fn severity(f: &Finding) -> &'static str {
    if !f.is_vulnerability() {
        return "INFORMATIONAL";
    }
    match f.severity.as_ref().and_then(|s| s.rating) {
        Some(Rating::Critical) => "CRITICAL",
        Some(Rating::High) => "HIGH",
        Some(Rating::Medium) => "MEDIUM",
        Some(Rating::Low) => "LOW",
        Some(Rating::None) => "INFORMATIONAL",
        None => "UNTRIAGED",
    }
}

/// The advisory database an id comes from (`RUSTSEC`, `PYSEC`, `GO`, `GHSA`, …).
pub fn source_of(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// The canonical web page of an advisory.
pub fn source_url(id: &str) -> String {
    match source_of(id) {
        "RUSTSEC" => format!("https://rustsec.org/advisories/{id}.html"),
        "GO" => format!("https://pkg.go.dev/vuln/{id}"),
        _ => format!("https://osv.dev/vulnerability/{id}"),
    }
}

/// The package URL of a package.
pub fn purl(p: &Package) -> String {
    let v = &p.version;
    match p.ecosystem {
        Ecosystem::CratesIo => format!("pkg:cargo/{}@{v}", p.name),
        Ecosystem::Npm => format!("pkg:npm/{}@{v}", p.name.replace('@', "%40")),
        Ecosystem::PyPI => format!("pkg:pypi/{}@{v}", p.ecosystem.normalize_name(&p.name)),
        Ecosystem::Go => format!("pkg:golang/{}@v{v}", p.name),
        _ => format!("pkg:generic/{}@{v}", p.name),
    }
}

/// The fixed versions of a finding (`>= X` requirements stripped to `X`).
pub fn fixed_versions(f: &Finding) -> Vec<String> {
    f.patched
        .iter()
        .map(|p| {
            p.trim_start_matches(">= ")
                .trim_start_matches("> ")
                .to_string()
        })
        .collect()
}

fn title(f: &Finding) -> String {
    f.summary
        .clone()
        .unwrap_or_else(|| format!("{} in {}", f.advisory_id, f.package.name))
}

fn kind_label(f: &Finding) -> &str {
    match &f.kind {
        FindingKind::Vulnerability => "vulnerability",
        FindingKind::Informational(i) => i.as_str(),
    }
}

fn sev_cell(f: &Finding) -> String {
    let sev = severity(f);
    match f.severity.as_ref().and_then(|s| s.score) {
        Some(score) => format!("{sev} {score:.1}"),
        None => sev.to_string(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn table(rows: &[[String; 6]], header: [&str; 6], out: &mut String) {
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let _ = write!(s, "{c:<w$}  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), out);
    }
}

/// The human-readable report.
pub fn to_table(report: &ScanReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        let vulns: Vec<&Finding> = file
            .findings
            .iter()
            .filter(|f| f.is_vulnerability())
            .collect();
        let warns: Vec<&Finding> = file
            .findings
            .iter()
            .filter(|f| !f.is_vulnerability())
            .collect();
        let _ = writeln!(
            out,
            "{} ({}, {} packages): {} vulnerabilities, {} warnings",
            file.path,
            file.kind.package_manager(),
            file.packages.len(),
            vulns.len(),
            warns.len()
        );
        if !vulns.is_empty() {
            let rows: Vec<[String; 6]> = vulns
                .iter()
                .map(|f| {
                    [
                        f.package.name.clone(),
                        f.package.version.clone(),
                        f.advisory_id.clone(),
                        sev_cell(f),
                        fixed_versions(f).join(", "),
                        truncate(&title(f), 70),
                    ]
                })
                .collect();
            out.push('\n');
            table(
                &rows,
                [
                    "PACKAGE", "VERSION", "ADVISORY", "SEVERITY", "FIXED IN", "TITLE",
                ],
                &mut out,
            );
        }
        if !warns.is_empty() {
            let rows: Vec<[String; 6]> = warns
                .iter()
                .map(|f| {
                    [
                        kind_label(f).to_string(),
                        f.package.name.clone(),
                        f.package.version.clone(),
                        f.advisory_id.clone(),
                        fixed_versions(f).join(", "),
                        truncate(&title(f), 70),
                    ]
                })
                .collect();
            out.push_str("\nwarnings:\n");
            table(
                &rows,
                [
                    "KIND", "PACKAGE", "VERSION", "ADVISORY", "FIXED IN", "TITLE",
                ],
                &mut out,
            );
        }
        out.push('\n');
    }
    for (path, e) in &report.errors {
        let _ = writeln!(out, "error: {path}: {e}");
    }
    let _ = writeln!(
        out,
        "{} vulnerabilities and {} warnings in {} lockfiles ({} packages){}",
        report.vulnerabilities(),
        report.warnings(),
        report.files.len(),
        report.files.iter().map(|f| f.packages.len()).sum::<usize>(),
        if report.errors.is_empty() {
            String::new()
        } else {
            format!("; {} lockfiles could not be read", report.errors.len())
        }
    );
    out
}

/// 64-bit FNV-1a.
fn fnv(seed: u64, parts: &[&str]) -> u64 {
    let mut h = seed;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn digest(parts: &[&str]) -> String {
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325, parts),
        fnv(0x84222325_cbf29ce4, parts)
    )
}

/// Sets `key` on a JSON object (no-op on other values).
fn set(v: &mut Value, key: &str, val: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), val);
    }
}

fn cvss_version(v: CvssVersion) -> &'static str {
    match v {
        CvssVersion::V2 => "2.0",
        CvssVersion::V3_0 => "3.0",
        CvssVersion::V3_1 => "3.1",
        CvssVersion::V4_0 => "4.0",
    }
}

fn inspector_finding(file: &FileReport, f: &Finding, now: u64) -> Value {
    let source = source_of(&f.advisory_id);
    let fixed = fixed_versions(f);
    let description = f
        .details
        .as_deref()
        .or(f.summary.as_deref())
        .unwrap_or(&f.advisory_id);
    let mut pkg = json!({
        "name": f.package.name,
        "version": f.package.version,
        "epoch": 0,
        "packageManager": file.kind.package_manager(),
        "filePath": file.path,
        "purl": purl(&f.package),
    });
    if !fixed.is_empty() {
        set(&mut pkg, "fixedInVersion", json!(fixed.join(", ")));
        set(
            &mut pkg,
            "remediation",
            json!(format!(
                "Upgrade {} to {} or later",
                f.package.name,
                fixed.join(" or ")
            )),
        );
    }
    let cvss: Vec<Value> = f
        .severity
        .iter()
        .filter_map(|s| {
            Some(json!({
                "baseScore": s.score?,
                "scoringVector": s.vector,
                "version": cvss_version(s.version),
                "source": source,
            }))
        })
        .collect();
    let mut v = json!({
        "findingArn": format!(
            "arn:aws:inspector2:local:000000000000:finding/{}",
            digest(&[&file.path, &f.advisory_id, &f.package.name, &f.package.version])
        ),
        "awsAccountId": "000000000000",
        "type": "PACKAGE_VULNERABILITY",
        "title": truncate(&format!("{} - {}", f.advisory_id, f.package.name), 1024),
        "description": truncate(description, 1024),
        "remediation": {"recommendation": {
            "text": if fixed.is_empty() {
                format!("No fixed version of {} is known; see the advisory", f.package.name)
            } else {
                format!("Upgrade {} to {} or later", f.package.name, fixed.join(" or "))
            },
            "Url": source_url(&f.advisory_id),
        }},
        "severity": severity(f),
        "status": "ACTIVE",
        "firstObservedAt": now,
        "lastObservedAt": now,
        "updatedAt": now,
        "resources": [{"type": "CODE_REPOSITORY", "id": file.path, "partition": "aws", "region": "local"}],
        "packageVulnerabilityDetails": {
            "vulnerabilityId": f.advisory_id,
            "source": source,
            "sourceUrl": source_url(&f.advisory_id),
            "vulnerablePackages": [pkg],
            "cvss": cvss,
            "relatedVulnerabilities": f.aliases,
            "referenceUrls": f.references.iter().take(100).collect::<Vec<_>>(),
        },
        "fixAvailable": if fixed.is_empty() { "NO" } else { "YES" },
        "exploitAvailable": "NO",
    });
    if let Some(s) = &f.severity
        && let Some(score) = s.score
    {
        set(&mut v, "inspectorScore", json!(score));
        set(
            &mut v,
            "inspectorScoreDetails",
            json!({"adjustedCvss": {
            "scoreSource": source, "cvssSource": source, "version": cvss_version(s.version),
            "score": score, "scoringVector": s.vector, "adjustments": []}}),
        );
    }
    if !f.is_vulnerability() {
        set(&mut v, "portcullisInformational", json!(kind_label(f)));
    }
    if f.withdrawn {
        set(&mut v, "portcullisWithdrawn", json!(true));
    }
    v
}

/// Inspector2-shaped JSON: `{"findings": [...], "warnings": [...], "summary": {...}}`.
pub fn to_inspector_json(report: &ScanReport, now: u64) -> Value {
    let (mut findings, mut warnings) = (Vec::new(), Vec::new());
    for (file, f) in report.all() {
        let v = inspector_finding(file, f, now);
        if f.is_vulnerability() {
            findings.push(v);
        } else {
            warnings.push(v);
        }
    }
    json!({
        "findings": findings,
        "warnings": warnings,
        "summary": {
            "vulnerabilities": report.vulnerabilities(),
            "warnings": report.warnings(),
            "lockfiles": report.files.iter().map(|f| json!({
                "path": f.path, "packageManager": f.kind.package_manager(),
                "packages": f.packages.len(),
                "vulnerabilities": f.findings.iter().filter(|x| x.is_vulnerability()).count(),
                "warnings": f.findings.iter().filter(|x| !x.is_vulnerability()).count(),
            })).collect::<Vec<_>>(),
            "errors": report.errors.iter().map(|(p, e)| json!({"path": p, "message": e})).collect::<Vec<_>>(),
        }
    })
}

fn sarif_level(f: &Finding) -> &'static str {
    match severity(f) {
        "CRITICAL" | "HIGH" => "error",
        "MEDIUM" | "UNTRIAGED" => "warning",
        _ => "note",
    }
}

/// SARIF 2.1.0: one rule per advisory, one result per (lockfile, package, advisory).
pub fn to_sarif(report: &ScanReport, tool_version: &str) -> Value {
    let mut rules: BTreeMap<&str, (usize, &Finding)> = BTreeMap::new();
    for (_, f) in report.all() {
        let n = rules.len();
        rules.entry(&f.advisory_id).or_insert((n, f));
    }
    let mut ordered: Vec<(&str, usize, &Finding)> =
        rules.iter().map(|(id, (i, f))| (*id, *i, *f)).collect();
    ordered.sort_by_key(|r| r.1);
    let rule_values: Vec<Value> = ordered
        .iter()
        .map(|(id, _, f)| {
            let mut props = json!({"tags": ["security", kind_label(f)]});
            if let Some(score) = f.severity.as_ref().and_then(|s| s.score) {
                set(
                    &mut props,
                    "security-severity",
                    json!(format!("{score:.1}")),
                );
            }
            json!({
                "id": id,
                "name": id.replace('-', ""),
                "shortDescription": {"text": title(f)},
                "fullDescription": {"text": f.details.as_deref().unwrap_or(&title(f))},
                "helpUri": source_url(id),
                "help": {"text": format!("{}: {}", id, source_url(id))},
                "defaultConfiguration": {"level": sarif_level(f)},
                "properties": props,
            })
        })
        .collect();
    let results: Vec<Value> = report
        .all()
        .map(|(file, f)| {
            let idx = rules.get(f.advisory_id.as_str()).map_or(0, |r| r.0);
            let fixed = fixed_versions(f);
            json!({
                "ruleId": f.advisory_id,
                "ruleIndex": idx,
                "level": sarif_level(f),
                "message": {"text": format!(
                    "{}@{} is affected by {} ({}){}",
                    f.package.name, f.package.version, f.advisory_id, title(f),
                    if fixed.is_empty() { String::new() } else { format!("; fixed in {}", fixed.join(", ")) }
                )},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file.path}}}],
                "partialFingerprints": {"portcullis/v1": digest(&[&file.path, &f.advisory_id, &f.package.name, &f.package.version])},
                "properties": {"package": f.package.name, "version": f.package.version, "purl": purl(&f.package)},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "portcullis-inspector",
                "version": tool_version,
                "informationUri": "https://github.com/portcullis",
                "rules": rule_values,
            }},
            "results": results,
        }]
    })
}

/// Formats unix seconds as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's published algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// CycloneDX 1.4 JSON: every scanned package as a component, findings as `vulnerabilities`.
pub fn to_cyclonedx(report: &ScanReport, tool_version: &str, now: u64) -> Value {
    let mut components: BTreeMap<String, &Package> = BTreeMap::new();
    for file in &report.files {
        for p in &file.packages {
            components.entry(purl(p)).or_insert(p);
        }
    }
    let mut vulns: BTreeMap<&str, (Vec<String>, &Finding)> = BTreeMap::new();
    for (_, f) in report.all() {
        let e = vulns.entry(&f.advisory_id).or_insert((Vec::new(), f));
        let r = purl(&f.package);
        if !e.0.contains(&r) {
            e.0.push(r);
        }
    }
    let d = digest(&[
        &now.to_string(),
        &components.len().to_string(),
        &vulns.len().to_string(),
    ]);
    let serial = format!(
        "urn:uuid:{}-{}-4{}-8{}-{}",
        d.get(0..8).unwrap_or(""),
        d.get(8..12).unwrap_or(""),
        d.get(13..16).unwrap_or(""),
        d.get(17..20).unwrap_or(""),
        d.get(20..32).unwrap_or("")
    );
    let vulnerabilities: Vec<Value> = vulns
        .iter()
        .map(|(id, (affects, f))| {
            let source = source_of(id);
            let mut ratings = Vec::new();
            if let Some(s) = &f.severity {
                let method = match s.version {
                    CvssVersion::V2 => "CVSSv2",
                    CvssVersion::V3_0 => "CVSSv3",
                    CvssVersion::V3_1 => "CVSSv31",
                    CvssVersion::V4_0 => "other",
                };
                let mut r = json!({"source": {"name": source}, "method": method, "vector": s.vector,
                                   "severity": severity(f).to_ascii_lowercase()});
                if let Some(score) = s.score {
                    set(&mut r, "score", json!(score));
                }
                ratings.push(r);
            } else {
                let sev = match severity(f) {
                    "INFORMATIONAL" => "info",
                    _ => "unknown",
                };
                ratings.push(json!({"source": {"name": source}, "severity": sev}));
            }
            let fixed = fixed_versions(f);
            let mut v = json!({
                "id": id,
                "source": {"name": source, "url": source_url(id)},
                "references": f.aliases.iter().map(|a| json!({"id": a, "source": {"name": source_of(a)}})).collect::<Vec<_>>(),
                "ratings": ratings,
                "description": title(f),
                "advisories": f.references.iter().take(20).map(|u| json!({"url": u})).collect::<Vec<_>>(),
                "affects": affects.iter().map(|r| json!({"ref": r})).collect::<Vec<_>>(),
            });
            if let Some(dt) = &f.details {
                set(&mut v, "detail", json!(dt));
            }
            if !fixed.is_empty() {
                set(&mut v, "recommendation", json!(format!("Upgrade {} to {} or later", f.package.name, fixed.join(" or "))));
            }
            v
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(now),
            "tools": [{"vendor": "Portcullis", "name": "portcullis-inspector", "version": tool_version}],
        },
        "components": components.iter().map(|(r, p)| json!({
            "type": "library", "bom-ref": r, "name": p.name, "version": p.version, "purl": r,
        })).collect::<Vec<_>>(),
        "vulnerabilities": vulnerabilities,
    })
}

#[cfg(test)]
mod tests;
