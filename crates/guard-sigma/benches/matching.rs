//! Throughput of the SigmaHQ AWS rules over the corpus CloudTrail records (Panther samples + Stratus logs).
//!
//! `cargo bench -p portcullis-guard-sigma --bench matching`; prints records/s for evaluation alone and for
//! `serde_json` parsing + evaluation, beside parsing alone as the in-run baseline.
#![allow(clippy::print_stdout, missing_docs)]

use std::path::PathBuf;
use std::time::Instant;

use portcullis_guard_sigma::{LoadOptions, RuleSet};
use serde_json::Value;

fn main() {
    let dir = std::env::var_os("PORTCULLIS_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    let Ok((set, report)) =
        RuleSet::load_dir(&dir.join("guard/sigma-aws/rules"), &LoadOptions::default())
    else {
        eprintln!("!!! SKIPPING: corpus not found at {}", dir.display());
        return;
    };
    let t = Instant::now();
    let _ = RuleSet::load_dir(&dir.join("guard/sigma-aws/rules"), &LoadOptions::default());
    println!(
        "load+compile {} rules: {:.1} ms",
        report.rules_loaded(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut texts: Vec<String> = Vec::new();
    if let Ok(s) = std::fs::read_to_string(
        dir.join("guard/cloudtrail/panther-tests/panther_cloudtrail_rule_tests.jsonl"),
    ) {
        for l in s.lines() {
            if let Ok(v) = serde_json::from_str::<Value>(l) {
                texts.push(v["log"].to_string());
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("guard/cloudtrail/stratus-red-team")) {
        for e in rd.flatten() {
            if let Ok(Value::Array(a)) = std::fs::read_to_string(e.path())
                .map(|s| serde_json::from_str(&s).unwrap_or(Value::Null))
            {
                texts.extend(a.iter().map(Value::to_string));
            }
        }
    }
    let parsed: Vec<Value> = texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let rounds = 300;
    let n = (rounds * parsed.len()) as f64;
    let mut sink = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        for r in &parsed {
            set.for_each_match(r, |_| sink += 1);
        }
    }
    let eval = n / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..rounds {
        for s in &texts {
            sink += serde_json::from_str::<Value>(s)
                .map(|v| v.is_object() as usize)
                .unwrap_or(0);
        }
    }
    let parse = n / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..rounds {
        for s in &texts {
            if let Ok(r) = serde_json::from_str::<Value>(s) {
                set.for_each_match(&r, |_| sink += 1);
            }
        }
    }
    let both = n / t.elapsed().as_secs_f64();
    println!(
        "{} records ({} B avg), {} rules ({} unindexed): evaluate {eval:.0} rec/s; parse only {parse:.0} rec/s; \
         parse+evaluate {both:.0} rec/s ({:.0} MB/s) [sink {sink}]",
        parsed.len(),
        bytes / parsed.len().max(1),
        set.len(),
        set.unindexed(),
        both * (bytes as f64 / parsed.len().max(1) as f64) / 1e6
    );
}
