//! Instruction-count profile of Guard's pipeline (`valgrind --tool=callgrind`) on inputs shaped
//! like the `pipeline` bench's: `pipeline_profile MODE LINES` where MODE is, for VPC flow lines,
//! `raw` (whitespace split), `decode` (decoding alone) or `pipeline` (the engine with a
//! 250,000-entry threat list), and for CloudTrail JSON lines `trail-raw` (`serde_json::Value`
//! parse) or `trail` (the engine with every detector and the corpus's Sigma rules). Count only
//! the measured part with `--toggle-collect`, e.g.
//! `valgrind --tool=callgrind --toggle-collect='*pipeline_profile::run*' target/release/examples/pipeline_profile pipeline 100000`.
#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::net::Ipv4Addr;

use portcullis_guard_core::decode::{DecodeOptions, decode_each};
use portcullis_guard_core::intel::{ListFormat, ThreatIntel, is_public_v4};
use portcullis_guard_detect::{Config, Engine};
use portcullis_guard_sigma::{LoadOptions, RuleSet};

fn flow_lines(lines: usize, sources: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..lines {
        let src = Ipv4Addr::from(0x2000_0000u32 + (i % sources) as u32);
        s.push_str(&format!(
            "2 123456789010 eni-1235b8ca123456789 {src} 172.31.{}.{} {} 443 6 20 4249 {} {} ACCEPT OK\n",
            i % 16,
            (i / 16) % 256,
            1024 + i % 60_000,
            1_418_530_010 + i / 100,
            1_418_530_070 + i / 100,
        ));
    }
    s.into_bytes()
}

fn trail_lines(records: usize) -> Vec<u8> {
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
    for i in 0..records {
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

fn intel() -> ThreatIntel {
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
    let mut intel = ThreatIntel::new();
    let _ = intel.load(&text, ListFormat::Txt, "bench-250k", "malicious");
    intel
}

#[inline(never)]
fn run(mode: &str, flows: &[u8], engine: &mut Engine) -> usize {
    let opts = DecodeOptions::default();
    match mode {
        "raw" => {
            let text = std::str::from_utf8(flows).unwrap_or("");
            text.lines()
                .map(|l| l.split_ascii_whitespace().count())
                .sum()
        }
        "trail-raw" => flows
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value =
                    serde_json::from_slice(l).unwrap_or(serde_json::Value::Null);
                usize::from(!v.is_null())
            })
            .sum(),
        "decode" => {
            let mut n = 0usize;
            let _ = decode_each(flows, &opts, |r| n += usize::from(r.is_ok()));
            n
        }
        _ => engine.ingest("flows.log", flows, &opts).records as usize,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "pipeline".into());
    let lines = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let trail = mode.starts_with("trail");
    let flows = if trail {
        trail_lines(lines)
    } else {
        flow_lines(lines, 50_000)
    };
    let engine = Engine::new(
        Config {
            detector_id: "0123456789abcdef0123456789abcdef".into(),
            default_account: "123456789012".into(),
            default_region: "us-east-1".into(),
            ..Config::default()
        },
        if mode == "pipeline" {
            intel()
        } else {
            ThreatIntel::new()
        },
    );
    let mut engine = if mode == "trail" {
        let corpora = std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
            std::path::PathBuf::from,
        );
        match RuleSet::load_dir(
            &corpora.join("guard/sigma-aws/rules"),
            &LoadOptions::default(),
        ) {
            Ok((rules, _)) => engine.with_sigma(rules),
            Err(e) => {
                eprintln!("WARNING: no Sigma rules ({e}): built-in detectors only");
                engine
            }
        }
    } else {
        engine
    };
    let n = black_box(run(&mode, &flows, &mut engine));
    println!("{mode}: {n} over {lines} lines");
}
