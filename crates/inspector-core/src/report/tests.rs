//! Unit tests of the output formats.

use super::*;
use crate::advisory_db::AdvisoryDb;
use crate::scan::{ScanOptions, scan};

const ADV: &str = r#"{"id":"RUSTSEC-2022-0013","modified":"2020-01-01T00:00:00Z","summary":"Regex DoS",
  "aliases":["CVE-2022-24713"],"references":[{"type":"WEB","url":"https://example.org/a"}],
  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected":[{"package":{"ecosystem":"crates.io","name":"regex"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.5.5"}]}]}]}"#;
const INFO: &str = r#"{"id":"RUSTSEC-2021-0145","modified":"2020-01-01T00:00:00Z","summary":"unaligned read",
  "affected":[{"package":{"ecosystem":"crates.io","name":"atty"},"database_specific":{"informational":"unsound"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#;

fn report() -> ScanReport {
    let (db, _) = AdvisoryDb::load([("a.json", ADV.as_bytes()), ("i.json", INFO.as_bytes())]);
    let packages = vec![
        Package {
            ecosystem: Ecosystem::CratesIo,
            name: "regex".into(),
            version: "1.4.2".into(),
            source: None,
        },
        Package {
            ecosystem: Ecosystem::CratesIo,
            name: "atty".into(),
            version: "0.2.14".into(),
            source: None,
        },
        Package {
            ecosystem: Ecosystem::CratesIo,
            name: "serde".into(),
            version: "1.0.0".into(),
            source: None,
        },
    ];
    let findings = scan(&db, &packages, &ScanOptions::default());
    ScanReport {
        files: vec![FileReport {
            path: "app/Cargo.lock".into(),
            kind: LockfileKind::CargoLock,
            packages,
            findings,
        }],
        errors: vec![],
    }
}

#[test]
fn table_separates_warnings() {
    let r = report();
    assert_eq!((r.vulnerabilities(), r.warnings()), (1, 1));
    let t = to_table(&r);
    let (vulns, warns) = t.split_once("warnings:").unwrap();
    assert!(
        vulns.contains("regex")
            && vulns.contains("RUSTSEC-2022-0013")
            && vulns.contains("HIGH 7.5")
    );
    assert!(vulns.contains("1.5.5"));
    assert!(warns.contains("unsound") && warns.contains("atty"));
    assert!(t.contains("1 vulnerabilities and 1 warnings in 1 lockfiles (3 packages)"));
}

#[test]
fn inspector_json_shape() {
    let v = to_inspector_json(&report(), 1_767_225_600);
    let f = &v["findings"][0];
    assert_eq!(f["type"], "PACKAGE_VULNERABILITY");
    assert_eq!(f["severity"], "HIGH");
    assert_eq!(f["inspectorScore"], 7.5);
    assert_eq!(f["fixAvailable"], "YES");
    let d = &f["packageVulnerabilityDetails"];
    assert_eq!(d["vulnerabilityId"], "RUSTSEC-2022-0013");
    assert_eq!(d["source"], "RUSTSEC");
    assert_eq!(
        d["sourceUrl"],
        "https://rustsec.org/advisories/RUSTSEC-2022-0013.html"
    );
    assert_eq!(d["vulnerablePackages"][0]["packageManager"], "CARGO");
    assert_eq!(d["vulnerablePackages"][0]["fixedInVersion"], "1.5.5");
    assert_eq!(d["vulnerablePackages"][0]["epoch"], 0);
    assert_eq!(d["cvss"][0]["baseScore"], 7.5);
    assert_eq!(d["relatedVulnerabilities"][0], "CVE-2022-24713");
    assert_eq!(d["referenceUrls"][0], "https://example.org/a");
    let arn = f["findingArn"].as_str().unwrap();
    let hex = arn.rsplit('/').next().unwrap();
    assert_eq!(hex.len(), 32);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(v["warnings"][0]["severity"], "INFORMATIONAL");
    assert_eq!(v["summary"]["vulnerabilities"], 1);
}

#[test]
fn sarif_shape() {
    let v = to_sarif(&report(), "0.1.0");
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "portcullis-inspector");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(r["message"]["text"].is_string());
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
}

#[test]
fn cyclonedx_shape() {
    let v = to_cyclonedx(&report(), "0.1.0", 0);
    assert_eq!(v["bomFormat"], "CycloneDX");
    assert_eq!(v["specVersion"], "1.4");
    assert_eq!(v["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
    let serial = v["serialNumber"].as_str().unwrap();
    assert_eq!(serial.len(), "urn:uuid:".len() + 36);
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let refs: Vec<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for vuln in v["vulnerabilities"].as_array().unwrap() {
        for a in vuln["affects"].as_array().unwrap() {
            assert!(refs.contains(&a["ref"].as_str().unwrap()));
        }
        assert!(vuln["ratings"][0]["severity"].is_string());
    }
    assert_eq!(v["vulnerabilities"][1]["ratings"][0]["score"], 7.5);
    assert_eq!(v["vulnerabilities"][1]["ratings"][0]["method"], "CVSSv31");
}

#[test]
fn dates() {
    assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(86_399), "1970-01-01T23:59:59Z");
}

#[test]
fn purls() {
    let p = |e, n: &str, v: &str| {
        purl(&Package {
            ecosystem: e,
            name: n.into(),
            version: v.into(),
            source: None,
        })
    };
    assert_eq!(
        p(Ecosystem::Npm, "@babel/core", "7.0.0"),
        "pkg:npm/%40babel/core@7.0.0"
    );
    assert_eq!(p(Ecosystem::PyPI, "Foo_Bar", "1.0"), "pkg:pypi/foo-bar@1.0");
    assert_eq!(
        p(Ecosystem::Go, "golang.org/x/net", "0.7.0"),
        "pkg:golang/golang.org/x/net@v0.7.0"
    );
}
