//! `portcullis inspector db import|status` and `inspector scan`: exit codes, formats, and the
//! corpus lockfiles through the persisted index.

use std::path::{Path, PathBuf};

use crate::harness::{run, text};

fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

const ADV: &str = r#"{"id":"RUSTSEC-2022-0013","modified":"2022-03-08T00:00:00Z","summary":"Regex DoS",
  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected":[{"package":{"ecosystem":"crates.io","name":"regex"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.5.5"}]}]}]}"#;

fn lock(version: &str) -> String {
    format!(
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"regex\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n\n[[package]]\nname = \"local-regex\"\nversion = \"0.0.1\"\n"
    )
}

fn inspector(args: &[&str]) -> (i32, String, String) {
    let out = run(args, &[]);
    let (o, e) = text(&out);
    (out.status.code().unwrap_or(-1), o, e)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn exit_codes_and_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).unwrap();
    std::fs::write(adv.join("RUSTSEC-2022-0013.json"), ADV).unwrap();
    let vuln = tmp.path().join("vuln");
    let clean = tmp.path().join("clean");
    std::fs::create_dir_all(&vuln).unwrap();
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::write(vuln.join("Cargo.lock"), lock("1.4.2")).unwrap();
    std::fs::write(clean.join("Cargo.lock"), lock("1.5.5")).unwrap();

    // No database: exit 2 and a loud message, never "no vulnerabilities".
    let (code, out, err) = inspector(&["inspector", "scan", "--db", s(&db), s(&vuln)]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no vulnerability database at"), "{err}");
    assert!(err.contains("portcullis inspector db import"), "{err}");
    assert!(!out.contains("0 vulnerabilities"), "{out}");
    let (code, _, err) = inspector(&["inspector", "db", "status", "--db", s(&db)]);
    assert_eq!(code, 2, "{err}");

    let (code, out, err) = inspector(&["inspector", "db", "import", "--db", s(&db), s(&adv)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 advisories"), "{out}");
    let (code, out, _) = inspector(&["inspector", "db", "status", "--db", s(&db)]);
    assert_eq!(code, 0);
    assert!(
        out.contains("crates.io") && out.contains("2022-03-08T00:00:00Z"),
        "{out}"
    );

    let (code, out, err) = inspector(&["inspector", "scan", "--db", s(&db), s(&vuln)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("RUSTSEC-2022-0013") && out.contains("HIGH 7.5") && out.contains("1.5.5"),
        "{out}"
    );
    assert!(
        !out.contains("local-regex"),
        "path crates are never reported: {out}"
    );
    let (code, out, err) = inspector(&["inspector", "scan", "--db", s(&db), s(&clean)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 vulnerabilities"), "{out}");

    let (code, out, _) = inspector(&[
        "inspector",
        "scan",
        "--db",
        s(&db),
        "--format",
        "json",
        s(&vuln),
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["type"], "PACKAGE_VULNERABILITY");
    assert_eq!(
        v["findings"][0]["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"],
        "1.5.5"
    );
    let (_, out, _) = inspector(&[
        "inspector",
        "scan",
        "--db",
        s(&db),
        "--format",
        "sarif",
        s(&vuln),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "RUSTSEC-2022-0013");
    let (_, out, _) = inspector(&[
        "inspector",
        "scan",
        "--db",
        s(&db),
        "--format",
        "cyclonedx",
        s(&vuln),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["specVersion"], "1.4");
    assert_eq!(
        v["vulnerabilities"][0]["affects"][0]["ref"],
        "pkg:cargo/regex@1.4.2"
    );

    // Re-import is idempotent: the index is byte-identical apart from the timestamps in its summary.
    let index = db.join("osv-index.bin");
    let before = std::fs::metadata(&index).unwrap().len();
    let (code, out, _) = inspector(&["inspector", "db", "import", "--db", s(&db), s(&adv)]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 new"), "{out}");
    assert_eq!(std::fs::metadata(&index).unwrap().len(), before);

    // A corrupted index is refused loudly.
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[40] ^= 0x55; // inside the directory, right after the 32-byte header
    std::fs::write(&index, &bytes).unwrap();
    let (code, out, err) = inspector(&["inspector", "scan", "--db", s(&db), s(&vuln)]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("unusable"), "{err}");
    std::fs::write(&index, b"garbage").unwrap();
    let (code, _, err) = inspector(&["inspector", "db", "import", "--db", s(&db), s(&adv)]);
    assert_ne!(code, 0);
    assert!(err.contains("--replace"), "{err}");
    let (code, _, err) = inspector(&[
        "inspector",
        "db",
        "import",
        "--replace",
        "--db",
        s(&db),
        s(&adv),
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn corpus_lockfiles_match_cargo_audit() {
    let dir = corpora().join("inspector");
    if !dir.is_dir() {
        eprintln!(
            "!!!!! SKIP corpus_lockfiles_match_cargo_audit: corpus not found at {} !!!!!",
            dir.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let (code, out, err) = inspector(&[
        "inspector",
        "db",
        "import",
        "--db",
        s(&db),
        s(&dir.join("advisories/rustsec-osv")),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1206 advisories"), "{out}");
    let locks = dir.join("lockfiles");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(locks.join("EXPECTED_cargo-audit-0.22.2.json")).unwrap(),
    )
    .unwrap();
    for (file, entry) in expected["results"].as_object().unwrap() {
        let (code, out, err) = inspector(&[
            "inspector",
            "scan",
            "--db",
            s(&db),
            "--format",
            "json",
            s(&locks.join(file)),
        ]);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{file}: {e}\n{err}"));
        let mut got: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let d = &f["packageVulnerabilityDetails"];
                let p = &d["vulnerablePackages"][0];
                format!(
                    "{} {}@{}",
                    d["vulnerabilityId"].as_str().unwrap(),
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<String> = entry["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        want.sort();
        assert_eq!(got, want, "{file}");
        assert_eq!(
            code,
            if want.is_empty() { 0 } else { 1 },
            "{file}: exit code"
        );
        let want_warn: usize = entry["warnings"]
            .as_object()
            .unwrap()
            .values()
            .map(|l| l.as_array().unwrap().len())
            .sum();
        let got_warn = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| {
                matches!(
                    w["portcullisInformational"].as_str(),
                    Some("unmaintained" | "unsound")
                )
            })
            .count();
        assert_eq!(got_warn, want_warn, "{file}: warnings");
    }
}
