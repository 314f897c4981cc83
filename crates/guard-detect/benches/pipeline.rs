//! Guard's detection pipeline against the raw decode of the same input, in one run, on one thread
//! (`cargo bench -p portcullis-guard-detect --bench pipeline`):
//!
//! * CloudTrail JSON lines: `serde_json` parse of each line to a `Value` (raw) against the engine with every
//!   detector and SigmaHQ's AWS rules from `$PORTCULLIS_CORPORA/guard/sigma-aws/rules` loaded.
//! * VPC flow lines (version 2 default format): whitespace split of each line (raw) against the engine with a
//!   250,000-entry threat list loaded.
//! * One million distinct source addresses through the flow detectors: records/s and the engine's kept keys.
//!
//! `GUARD_BENCH_ONLY=cloudtrail|flow|million` runs one part (for profiling).
//!
//! Each figure is the best of five passes over the whole input (fresh engine each pass), the raw and the
//! pipeline passes interleaved so that both see the same load. The goal the issue sets is a pipeline rate of
//! at least half the raw rate.
#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use portcullis_guard_core::decode::DecodeOptions;
use portcullis_guard_core::intel::{ListFormat, ThreatIntel};
use portcullis_guard_detect::Engine;
use portcullis_guard_sigma::{LoadOptions, RuleSet};

#[path = "support/inputs.rs"]
mod inputs;
use inputs::{config, corpora, flow_lines, list_250k, trail_lines};

const TRAIL_RECORDS: usize = 50_000;
const FLOW_LINES: usize = 500_000;

fn raw_json(bytes: &[u8]) {
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap_or(serde_json::Value::Null);
        black_box(v);
    }
}

fn raw_split(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let mut fields = 0usize;
    for line in text.lines() {
        fields += line.split_ascii_whitespace().count();
    }
    black_box(fields);
}

/// Best of five for the raw decode `raw` and the pipeline `run` over the same `records`,
/// their passes interleaved (raw, pipeline, raw, ...) so that a change of load on a shared
/// machine hits both alike: (raw, pipeline) records per second.
fn rates<T>(
    records: usize,
    mut raw: impl FnMut(),
    mut setup: impl FnMut() -> T,
    mut run: impl FnMut(T),
) -> (f64, f64) {
    let (mut best_raw, mut best_run) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        raw();
        best_raw = best_raw.min(t.elapsed());
        let input = setup();
        let t = Instant::now();
        run(input);
        best_run = best_run.min(t.elapsed());
    }
    let per_sec = |d: Duration| records as f64 / d.as_secs_f64();
    (per_sec(best_raw), per_sec(best_run))
}

/// Whether the part `name` runs (`GUARD_BENCH_ONLY` unset, or naming it).
fn wanted(name: &str) -> bool {
    std::env::var("GUARD_BENCH_ONLY").map_or(true, |v| v == name)
}

fn main() {
    let opts = DecodeOptions::default();
    let sigma_dir = corpora().join("guard/sigma-aws/rules");
    let sigma = || RuleSet::load_dir(&sigma_dir, &LoadOptions::default()).ok();
    match RuleSet::load_dir(&sigma_dir, &LoadOptions::default()) {
        Ok((_, report)) => println!(
            "sigma: {} rules loaded from {}",
            report.loaded.len(),
            sigma_dir.display()
        ),
        Err(e) => eprintln!(
            "WARNING: no Sigma rules ({}: {e}); the CloudTrail row runs the built-in detectors only",
            sigma_dir.display()
        ),
    }
    let list = list_250k();
    let intel = || {
        let mut intel = ThreatIntel::new();
        let loaded = intel
            .load(&list, ListFormat::Txt, "bench-250k", "malicious")
            .map(|r| r.loaded)
            .unwrap_or(0);
        (intel, loaded)
    };
    let t = Instant::now();
    let (_, loaded) = intel();
    println!(
        "threat list: {loaded} entries loaded in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    if wanted("cloudtrail") {
        cloudtrail(&opts, &sigma);
    }
    if wanted("flow") {
        let flows = flow_lines(FLOW_LINES, 50_000, "ACCEPT");
        let (raw, piped) = rates(
            FLOW_LINES,
            || raw_split(&flows),
            || Engine::new(config(), intel().0),
            |mut e| {
                black_box(e.ingest("flows.log", &flows, &opts));
                black_box(e.findings());
            },
        );
        println!(
            "vpc-flow    raw {raw:>10.0} rec/s  pipeline {piped:>10.0} rec/s  ratio {:.2}",
            piped / raw
        );
    }
    if wanted("million") {
        let million = flow_lines(2_000_000, 1_000_000, "REJECT");
        let mut e = Engine::new(config(), intel().0);
        let t = Instant::now();
        let r = e.ingest("million.log", &million, &opts);
        let took = t.elapsed().as_secs_f64();
        println!(
            "1M sources  {} records in {took:.2} s ({:.0} rec/s); engine stats: {:?}",
            r.records,
            r.records as f64 / took,
            e.stats()
        );
    }
}

/// CloudTrail JSON lines: raw parse against the engine with every detector and the Sigma rules.
fn cloudtrail(
    opts: &DecodeOptions,
    sigma: &dyn Fn() -> Option<(RuleSet, portcullis_guard_sigma::LoadReport)>,
) {
    let trail = trail_lines(TRAIL_RECORDS);
    let (raw, piped) = rates(
        TRAIL_RECORDS,
        || raw_json(&trail),
        || {
            let e = Engine::new(config(), ThreatIntel::new());
            match sigma() {
                Some((rules, _)) => e.with_sigma(rules),
                None => e,
            }
        },
        |mut e| {
            black_box(e.ingest("trail.jsonl", &trail, opts));
            black_box(e.findings());
        },
    );
    println!(
        "cloudtrail  raw {raw:>10.0} rec/s  pipeline {piped:>10.0} rec/s  ratio {:.2}",
        piped / raw
    );
}
