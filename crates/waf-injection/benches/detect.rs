//! Per-call cost of `detect_sqli` / `detect_xss` on ~100 representative corpus lines, with libinjectionrs
//! alone measured in the same run as the baseline.
//!
//! Lines are loaded at run time from `$PORTCULLIS_CORPORA/waf/libinjection/data` (URL-decoded like
//! libinjection's test reader): 50 spread over the `sqli-*.txt` files, 25 over `xss-*.txt` and 25 from
//! `false_positives.txt`. Criterion reports elements per second; per-call time = 1 / that rate.
//! Skips with a notice when the corpus is absent.
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_waf_injection::{detect_sqli, detect_xss};

fn data_dir() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
            PathBuf::from,
        )
        .join("waf/libinjection/data")
}

fn url_decode(line: &[u8]) -> Vec<u8> {
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while let Some(&c) = line.get(i) {
        match (
            c,
            line.get(i + 1).copied().and_then(hex),
            line.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi * 16 + lo);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `want` lines spread evenly over the files of `dir` whose names start with `prefix`.
fn sample(dir: &Path, prefix: &str, want: usize) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix))
    });
    files.sort();
    let mut lines = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        lines.extend(
            bytes
                .split(|&b| b == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .filter(|l| !l.is_empty() && l.first() != Some(&b'#'))
                .map(url_decode),
        );
    }
    let step = (lines.len() / want.max(1)).max(1);
    lines.into_iter().step_by(step).take(want).collect()
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let mut lines = sample(&dir, "sqli-", 50);
    lines.extend(sample(&dir, "xss-", 25));
    lines.extend(sample(&dir, "false_positives", 25));
    if lines.is_empty() {
        eprintln!(
            "!!!!! SKIPPED detect bench: corpus {} is absent (set PORTCULLIS_CORPORA) !!!!!",
            dir.display()
        );
        return;
    }
    let mean = lines.iter().map(Vec::len).sum::<usize>() / lines.len();
    eprintln!("detect bench: {} lines, mean {mean} bytes", lines.len());
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("detect_sqli", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| detect_sqli(black_box(l)).is_some())
                .count()
        });
    });
    g.bench_function("libinjectionrs_detect_sqli (baseline)", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| libinjectionrs::detect_sqli(black_box(l)).is_injection())
                .count()
        });
    });
    g.bench_function("detect_xss", |b| {
        b.iter(|| lines.iter().filter(|l| detect_xss(black_box(l))).count());
    });
    g.bench_function("libinjectionrs_detect_xss (baseline)", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| libinjectionrs::detect_xss(black_box(l)).is_injection())
                .count()
        });
    });
    g.finish();
}

fn config() -> Criterion {
    // A shared 2-core machine: shorter runs, enough samples to see the noise.
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
