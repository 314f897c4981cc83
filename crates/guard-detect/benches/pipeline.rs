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
//! Each figure is the best of five passes over the whole input (fresh engine each pass). The goal the issue
//! sets is a pipeline rate of at least half the raw rate.
#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use portcullis_guard_core::decode::DecodeOptions;
use portcullis_guard_core::intel::{ListFormat, ThreatIntel, is_public_v4};
use portcullis_guard_detect::{Config, Engine};
use portcullis_guard_sigma::{LoadOptions, RuleSet};

const TRAIL_RECORDS: usize = 50_000;
const FLOW_LINES: usize = 500_000;

fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

/// A day of an estate's API calls: reads and writes by users, roles and services from many addresses.
fn trail_lines() -> Vec<u8> {
    const EVENTS: [(&str, &str, bool); 8] = [
        ("GetUser", "iam.amazonaws.com", true),
        ("DescribeInstances", "ec2.amazonaws.com", true),
        ("GetObject", "s3.amazonaws.com", true),
        ("PutObject", "s3.amazonaws.com", false),
        ("AssumeRole", "sts.amazonaws.com", false),
        ("ListBuckets", "s3.amazonaws.com", true),
        ("GetSecretValue", "secretsmanager.amazonaws.com", true),
        ("CreateTags", "ec2.amazonaws.com", false),
    ];
    let mut s = String::new();
    for i in 0..TRAIL_RECORDS {
        let (name, source, ro) = EVENTS[i % EVENTS.len()];
        let (h, m, sec) = ((i / 3600) % 24, (i / 60) % 60, i % 60);
        s.push_str(&format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{u:08}","arn":"arn:aws:iam::123456789012:user/u{u}","accountId":"123456789012","accessKeyId":"AKIA{u:016}","userName":"u{u}"}},"eventTime":"2024-07-31T{h:02}:{m:02}:{sec:02}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.{a}.{b}","userAgent":"aws-cli/2.13.5 Python/3.11.4 Linux/5.15 exe/x86_64.ubuntu.22 prompt/off command/x","requestParameters":{{"userName":"u{u}"}},"responseElements":null,"requestID":"206c2187-a29f-45bf-86a2-{i:012}","eventID":"ee73c230-44bc-4492-8542-{i:012}","readOnly":{ro},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}}"#,
            u = i % 40,
            a = i % 200,
            b = (i / 200) % 256
        ));
        s.push('\n');
    }
    s.into_bytes()
}

fn flow_lines(lines: usize, sources: usize, action: &str) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..lines {
        let src = Ipv4Addr::from(0x2000_0000u32 + (i % sources) as u32);
        s.push_str(&format!(
            "2 123456789010 eni-1235b8ca123456789 {src} 172.31.{}.{} {} {} 6 20 4249 {} {} {action} OK\n",
            i % 16,
            (i / 16) % 256,
            1024 + i % 60_000,
            if action == "ACCEPT" { 443 } else { 1 + i % 1024 },
            1_418_530_010 + i / 100,
            1_418_530_070 + i / 100,
        ));
    }
    s.into_bytes()
}

fn list_250k() -> String {
    let mut text = String::with_capacity(250_000 * 16);
    let (mut n, mut i) = (0u32, 0u32);
    while n < 250_000 {
        let a = Ipv4Addr::from(
            0x0B00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761) % 0x1000_0000),
        );
        i += 1;
        if is_public_v4(a) {
            text.push_str(&format!("{a}\n"));
            n += 1;
        }
    }
    text
}

/// Best of five: records per second of `run` over `records` records, each pass on what `setup` made
/// (untimed).
fn rate<T>(records: usize, mut setup: impl FnMut() -> T, mut run: impl FnMut(T)) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let input = setup();
        let t = Instant::now();
        run(input);
        best = best.min(t.elapsed());
    }
    records as f64 / best.as_secs_f64()
}

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

fn config() -> Config {
    Config {
        detector_id: "0123456789abcdef0123456789abcdef".into(),
        default_account: "123456789012".into(),
        default_region: "us-east-1".into(),
        ..Config::default()
    }
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
        let raw = rate(FLOW_LINES, || (), |()| raw_split(&flows));
        let piped = rate(
            FLOW_LINES,
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
    let trail = trail_lines();
    let raw = rate(TRAIL_RECORDS, || (), |()| raw_json(&trail));
    let piped = rate(
        TRAIL_RECORDS,
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
