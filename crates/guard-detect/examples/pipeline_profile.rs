//! Instruction-count profile of Guard's pipeline (`valgrind --tool=callgrind`) on inputs shaped
//! like the `pipeline` bench's: `pipeline_profile MODE LINES` where MODE is, for VPC flow lines,
//! `raw` (whitespace split), `decode` (decoding alone) or `pipeline` (the engine with a
//! 250,000-entry threat list), and for CloudTrail JSON lines `trail-raw` (`serde_json::Value`
//! parse) or `trail` (the engine with every detector and the corpus's Sigma rules). Count only
//! the measured part with `--toggle-collect`, e.g.
//! `valgrind --tool=callgrind --toggle-collect='*pipeline_profile::run*' target/release/examples/pipeline_profile pipeline 100000`.
#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;

use portcullis_guard_core::decode::{DecodeOptions, decode_each};
use portcullis_guard_core::intel::{ListFormat, ThreatIntel};
use portcullis_guard_detect::Engine;
use portcullis_guard_sigma::{LoadOptions, RuleSet};

#[path = "../benches/support/inputs.rs"]
mod inputs;
use inputs::{config, corpora, flow_lines, list_250k, trail_lines};

fn intel() -> ThreatIntel {
    let mut intel = ThreatIntel::new();
    let _ = intel.load(&list_250k(), ListFormat::Txt, "bench-250k", "malicious");
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
        flow_lines(lines, 50_000, "ACCEPT")
    };
    let engine = Engine::new(
        config(),
        if mode == "pipeline" {
            intel()
        } else {
            ThreatIntel::new()
        },
    );
    let mut engine = if mode == "trail" {
        match RuleSet::load_dir(
            &corpora().join("guard/sigma-aws/rules"),
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
