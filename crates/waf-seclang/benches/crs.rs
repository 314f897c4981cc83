//! CPU time per request of the CRS 3.3.4 (PL1, blocking) on the SecLang engine: a simple GET, a browser-like GET
//! and a small JSON POST — the requests whose ModSecurity cost is listed in the WAF reference (§0).
//! Needs Debian's `modsecurity-crs`; prints a notice and does nothing when it is absent.

// The criterion macros generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_waf_request::Request;
use portcullis_waf_seclang::RuleSet;

#[path = "support/crs_fixture.rs"]
mod crs_fixture;

use crs_fixture::{CRS_LOAD, run};

/// CPU time of this thread in nanoseconds (Linux `schedstat`), so the figure is not inflated by other load on a
/// shared machine the way wall-clock time is.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Prints the mean CPU time per request over `n` runs.
fn cpu_per_request(name: &str, rules: &RuleSet, req: &Request, n: u32) {
    let Some(start) = thread_cpu_ns() else { return };
    for _ in 0..n {
        black_box(run(rules, black_box(req)));
    }
    let Some(end) = thread_cpu_ns() else { return };
    let us = (end - start) as f64 / f64::from(n) / 1000.0;
    eprintln!("{name}: {us:.1} µs CPU per request (mean of {n})");
}

fn bench(c: &mut Criterion) {
    let Some(rules) = crs_fixture::load() else {
        eprintln!("SKIPPED: {CRS_LOAD} not found or CRS did not load");
        return;
    };
    let (simple, browser, json) = (
        crs_fixture::simple_get(),
        crs_fixture::browser_get(),
        crs_fixture::json_post(),
    );
    assert!(!run(&rules, &simple) && !run(&rules, &browser) && !run(&rules, &json));
    cpu_per_request("cpu crs_pl1_simple_get", &rules, &simple, 2000);
    cpu_per_request("cpu crs_pl1_browser_get", &rules, &browser, 500);
    cpu_per_request("cpu crs_pl1_json_post", &rules, &json, 500);
    c.bench_function("crs_pl1_simple_get", |b| {
        b.iter(|| run(&rules, black_box(&simple)))
    });
    c.bench_function("crs_pl1_browser_get", |b| {
        b.iter(|| run(&rules, black_box(&browser)))
    });
    c.bench_function("crs_pl1_json_post", |b| {
        b.iter(|| run(&rules, black_box(&json)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
