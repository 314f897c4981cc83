//! SBOM documents of one host: CycloneDX 1.4 and SPDX 2.3 JSON, built from the stored
//! inventory (OS packages and lockfile packages) and the host's active package findings.
//!
//! Sans-I/O: [`crate::ops::sbom`] decides where the documents go.

use std::collections::BTreeMap;

use portcullis_inspector_core::report;
use serde_json::{Value, json};

use crate::evaluate::os_purl;
use crate::state::Host;

/// One component of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Unique within the document: the purl, plus `#<path>` for lockfile packages.
    pub bom_ref: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// The lockfile it is pinned in (none for OS packages).
    pub path: Option<String>,
    /// Inspector2's `packageManager` value.
    pub manager: &'static str,
}

/// Every package of a host, OS packages first, then lockfiles in path order.
pub fn components(host: &Host) -> Vec<Component> {
    let inv = &host.inventory;
    let mut seen = BTreeMap::new();
    for p in &inv.packages {
        let purl = os_purl(inv, p);
        seen.entry(purl.clone()).or_insert(Component {
            bom_ref: purl.clone(),
            name: p.package.name.clone(),
            version: p.package.version.clone(),
            purl,
            path: None,
            manager: "OS",
        });
    }
    let mut out: Vec<Component> = seen.into_values().collect();
    for l in &inv.lockfiles {
        let mut in_file = BTreeMap::new();
        for p in &l.packages {
            let purl = report::purl(p);
            in_file.entry(purl.clone()).or_insert(Component {
                bom_ref: format!("{purl}#{}", l.path),
                name: p.name.clone(),
                version: p.version.clone(),
                purl,
                path: Some(l.path.clone()),
                manager: l.kind.package_manager(),
            });
        }
        out.extend(in_file.into_values());
    }
    out
}

/// The components a package finding affects (by purl and file path).
fn affected<'a>(finding: &Value, comps: &'a [Component]) -> Vec<&'a Component> {
    let pkgs = finding
        .pointer("/packageVulnerabilityDetails/vulnerablePackages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    comps
        .iter()
        .filter(|c| {
            pkgs.iter().any(|p| {
                p.get("purl").and_then(Value::as_str) == Some(c.purl.as_str())
                    && p.get("filePath").and_then(Value::as_str) == c.path.as_deref()
            })
        })
        .collect()
}

fn vuln_id(f: &Value) -> &str {
    f.pointer("/packageVulnerabilityDetails/vulnerabilityId")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn timestamp(now: f64) -> String {
    report::rfc3339(if now > 0.0 { now as u64 } else { 0 })
}

/// CycloneDX 1.4 JSON.
pub fn cyclonedx(host: &Host, findings: &[Value], now: f64, serial: &str) -> Value {
    let comps = components(host);
    let components: Vec<Value> = comps
        .iter()
        .map(|c| {
            let mut props =
                vec![json!({"name": "portcullis:inspector:package_manager", "value": c.manager})];
            if let Some(p) = &c.path {
                props.push(json!({"name": "portcullis:inspector:file_path", "value": p}));
            }
            json!({"type": "library", "bom-ref": c.bom_ref, "name": c.name, "version": c.version,
                   "purl": c.purl, "properties": props})
        })
        .collect();
    let vulnerabilities: Vec<Value> = findings
        .iter()
        .filter(|f| !vuln_id(f).is_empty())
        .map(|f| {
            let id = vuln_id(f);
            let source = report::source_of(id);
            let sev = f
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("UNTRIAGED")
                .to_ascii_lowercase();
            let sev = match sev.as_str() {
                "informational" => "info".to_owned(),
                "untriaged" => "unknown".to_owned(),
                s => s.to_owned(),
            };
            let mut rating = json!({"source": {"name": source}, "severity": sev});
            if let (Some(cv), Some(r)) = (f.pointer("/packageVulnerabilityDetails/cvss/0"), rating.as_object_mut()) {
                r.insert("score".into(), cv.get("baseScore").cloned().unwrap_or(Value::Null));
                r.insert("vector".into(), cv.get("scoringVector").cloned().unwrap_or(Value::Null));
                let method = match cv.get("version").and_then(Value::as_str) {
                    Some("3.1") => "CVSSv31",
                    Some("3.0") => "CVSSv3",
                    Some("2.0") => "CVSSv2",
                    _ => "other",
                };
                r.insert("method".into(), json!(method));
            }
            json!({
                "id": id,
                "source": {"name": source, "url": report::source_url(id)},
                "ratings": [rating],
                "description": f.get("title").cloned().unwrap_or(Value::Null),
                "recommendation": f.pointer("/remediation/recommendation/text").cloned().unwrap_or(Value::Null),
                "affects": affected(f, &comps).iter().map(|c| json!({"ref": c.bom_ref})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(now),
            "tools": [{"vendor": "Portcullis", "name": "portcullis-inspector", "version": env!("CARGO_PKG_VERSION")}],
            "component": {"type": "operating-system", "bom-ref": format!("host:{}", host.agent_id),
                          "name": if host.hostname.is_empty() { &host.agent_id } else { &host.hostname },
                          "version": host.inventory.os.pretty_name},
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}

/// SPDX 2.3 JSON; `namespace` must be unique per document.
pub fn spdx(host: &Host, findings: &[Value], now: f64, namespace: &str) -> Value {
    let comps = components(host);
    let mut advisories: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in findings {
        let id = vuln_id(f);
        if id.is_empty() {
            continue;
        }
        for c in affected(f, &comps) {
            advisories
                .entry(c.bom_ref.as_str())
                .or_default()
                .push(report::source_url(id));
        }
    }
    let mut packages = vec![json!({
        "name": if host.hostname.is_empty() { &host.agent_id } else { &host.hostname },
        "SPDXID": "SPDXRef-Host",
        "versionInfo": host.inventory.os.pretty_name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "OPERATING-SYSTEM",
    })];
    let mut relationships = vec![json!({"spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Host"})];
    for (i, c) in comps.iter().enumerate() {
        let spdx_id = format!("SPDXRef-Package-{}", i + 1);
        let mut refs = vec![
            json!({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                   "referenceLocator": c.purl}),
        ];
        for url in advisories.get(c.bom_ref.as_str()).into_iter().flatten() {
            refs.push(
                json!({"referenceCategory": "SECURITY", "referenceType": "advisory",
                             "referenceLocator": url}),
            );
        }
        let mut p = json!({
            "name": c.name, "SPDXID": spdx_id, "versionInfo": c.version,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION", "externalRefs": refs,
        });
        if let (Some(path), Some(o)) = (&c.path, p.as_object_mut()) {
            o.insert("sourceInfo".into(), json!(format!("pinned in {path}")));
        }
        packages.push(p);
        relationships.push(
            json!({"spdxElementId": "SPDXRef-Host", "relationshipType": "CONTAINS",
                                  "relatedSpdxElement": spdx_id}),
        );
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{} ({})", host.hostname, host.agent_id),
        "documentNamespace": namespace,
        "creationInfo": {
            "created": timestamp(now),
            "creators": [format!("Tool: portcullis-inspector-{}", env!("CARGO_PKG_VERSION")), "Organization: Portcullis".to_owned()],
        },
        "packages": packages,
        "relationships": relationships,
    })
}
