//! `portcullis waf crs-test` on a small directory of the CRS 3.3.4 regression corpus.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::BIN;

fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

#[test]
fn crs_test_runs_the_method_enforcement_tests() {
    let dir = corpora().join("waf/crs-3.3.4-regression/REQUEST-911-METHOD-ENFORCEMENT");
    if !dir.is_dir() {
        eprintln!(
            "SKIP crs_test_runs_the_method_enforcement_tests: corpus not found at {}",
            dir.display()
        );
        return;
    }
    if !PathBuf::from("/usr/share/modsecurity-crs/rules").is_dir() {
        eprintln!(
            "SKIP crs_test_runs_the_method_enforcement_tests: CRS is not installed in /usr/share/modsecurity-crs"
        );
        return;
    }
    let json = std::env::temp_dir().join(format!("crs-test-e2e-{}.json", std::process::id()));
    let out = Command::new(BIN)
        .args(["waf", "crs-test", "--allow-failures", "--json"])
        .arg(&json)
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let re = regex_lite(last);
    assert!(
        re,
        "last line {last:?} is not `crs-test: N passed, N failed, N skipped`"
    );
    // 911100.yaml has 8 tests; every one is accounted for
    let nums: Vec<usize> = last
        .trim_start_matches("crs-test: ")
        .split(", ")
        .filter_map(|p| p.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(nums.iter().sum::<usize>(), 8, "{last}");
    let report = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["results"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["results"][0]["id"], "911100-1");
    let _ = std::fs::remove_file(&json);
}

#[test]
fn crs_test_reports_missing_paths() {
    let out = Command::new(BIN)
        .args(["waf", "crs-test", "/nonexistent/crs-tests"])
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or directory"));
}

/// `crs-test: <n> passed, <n> failed, <n> skipped`.
fn regex_lite(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("crs-test: ") else {
        return false;
    };
    let parts: Vec<&str> = rest.split(", ").collect();
    let words = ["passed", "failed", "skipped"];
    parts.len() == 3
        && parts.iter().zip(words).all(|(p, w)| {
            p.split_once(' ')
                .is_some_and(|(n, word)| n.parse::<usize>().is_ok() && word == w)
        })
}
