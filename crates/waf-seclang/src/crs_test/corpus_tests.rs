//! Runs the CRS 3.3.4 regression corpus (from `PORTCULLIS_CORPORA`) against the installed CRS.

use std::path::PathBuf;

use super::*;

fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

/// The whole corpus, or the directories named in `CRS_TEST_ONLY` (comma-separated substrings).
#[test]
fn regression_corpus() {
    let dir = corpora().join("waf/crs-3.3.4-regression");
    if !dir.is_dir() || !PathBuf::from("/usr/share/modsecurity-crs/rules").is_dir() {
        eprintln!(
            "SKIP regression_corpus: corpus ({}) or CRS (/usr/share/modsecurity-crs) missing",
            dir.display()
        );
        return;
    }
    let mut paths = vec![dir.clone()];
    if let Ok(only) = std::env::var("CRS_TEST_ONLY") {
        let mut sel: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| only.split(',').any(|o| p.to_string_lossy().contains(o)))
            .collect();
        sel.sort();
        paths = sel;
    }
    let started = std::time::Instant::now();
    let summary = run(&RunOptions::new(paths));
    for u in &summary.unsupported_rules {
        eprintln!("unsupported: {u}");
    }
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    for r in summary
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
    {
        eprintln!("FAIL {}: {}", r.id, r.reason.as_deref().unwrap_or(""));
    }
    for (cause, ids) in summary.failures_by_cause() {
        eprintln!("{} ({}): {}", cause.label(), ids.len(), ids.join(" "));
    }
    eprintln!("{} in {:.1?}", summary.final_line(), started.elapsed());
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    // Only @rbl (network I/O) may be left out; the engine settings and the suite's setup must load fully.
    assert!(
        summary.unsupported_rules.iter().all(|u| u.contains("@rbl")),
        "{:?}",
        summary.unsupported_rules
    );
    let run = summary.passed + summary.failed;
    assert!(run > 0);
    // ModSecurity 3.0.9 passes 97.6 % of the runnable tests of this corpus (reference §3.7); this engine passes
    // 1,865 of 1,869 (99.79 %) since REQUEST_BODY follows the v2 manual (URLENCODED or forced only). The floor sits
    // just below that rate, so losing a single test fails. `CRS_TEST_FLOOR` overrides the floor (e.g. 0 while
    // running a subset with CRS_TEST_ONLY).
    let default_floor = if std::env::var_os("CRS_TEST_ONLY").is_some() {
        0.0
    } else {
        0.9975
    };
    let floor = std::env::var("CRS_TEST_FLOOR")
        .ok()
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(default_floor);
    let rate = summary.passed as f64 / run as f64;
    assert!(rate >= floor, "pass rate {rate:.3} below {floor}");
}

/// Prints the request bytes and log lines of the tests named in `CRS_TEST_SHOW` (comma-separated titles).
#[test]
fn show_tests() {
    let Ok(show) = std::env::var("CRS_TEST_SHOW") else {
        return;
    };
    let dir = corpora().join("waf/crs-3.3.4-regression");
    let opts = RunOptions::new(vec![dir.clone()]);
    let (rules, _) = load_rules(&opts).unwrap_or_else(|e| panic!("{e}"));
    for f in test_files(&[dir]).unwrap_or_else(|e| panic!("{e}")) {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        let tf = yaml::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        for t in tf
            .tests
            .iter()
            .filter(|t| show.split(',').any(|s| s == t.test_title))
        {
            for s in &t.stages {
                let bytes = ftw::build(&s.stage.input).unwrap_or_else(|e| panic!("{e}"));
                eprintln!(
                    "=== {} request:\n{}",
                    t.test_title,
                    String::from_utf8_lossy(&bytes)
                );
                match observe(&rules, &bytes, 80) {
                    Observed::Response {
                        status,
                        logs,
                        front_end,
                    } => {
                        eprintln!("--- status {status} front_end {front_end:?}");
                        for l in logs {
                            eprintln!("{l}");
                        }
                    }
                    Observed::Error { reason, logs } => {
                        eprintln!("--- error {reason}, {} logs", logs.len())
                    }
                }
            }
        }
    }
}
