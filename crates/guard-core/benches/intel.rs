//! Threat-intel benchmarks: loading a 250,000-entry list and lookups per second.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_guard_core::intel::{ListFormat, ThreatIntel, is_public_v4};

/// 250k entries: 60 % IPs, 20 % /24 CIDRs, 20 % domains.
fn list_250k() -> String {
    let mut text = String::with_capacity(250_000 * 18);
    let (mut n, mut i) = (0u32, 0u32);
    while n < 250_000 {
        let a = Ipv4Addr::from(
            0x0B00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761) % 0x1000_0000),
        );
        i += 1;
        if !is_public_v4(a) {
            continue;
        }
        match n % 5 {
            0 => text.push_str(&format!("{a}/24\n")),
            1 => text.push_str(&format!("d{n}.example-{}.com\n", n % 97)),
            _ => text.push_str(&format!("{a}\n")),
        }
        n += 1;
    }
    text
}

fn probes() -> Vec<IpAddr> {
    (0..10_000u32)
        .map(|i| {
            IpAddr::V4(Ipv4Addr::from(
                0x0B00_0000u32.wrapping_add(i.wrapping_mul(40_503) % 0x1000_0000),
            ))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let text = list_250k();
    let mut g = c.benchmark_group("intel");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(250_000));
    g.bench_function("load_250k_txt", |b| {
        b.iter(|| {
            let mut t = ThreatIntel::new();
            black_box(
                t.load(&text, ListFormat::Txt, "big", "x")
                    .map(|r| r.loaded)
                    .unwrap_or(0),
            )
        })
    });
    let mut t = ThreatIntel::new();
    let _ = t.load(&text, ListFormat::Txt, "big", "x");
    let ips = probes();
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("match_ip_10k", |b| {
        b.iter(|| ips.iter().filter(|ip| t.match_ip(**ip).is_some()).count())
    });
    let private: Vec<IpAddr> = (0..10_000u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | i)))
        .collect();
    g.bench_function("match_private_ip_10k", |b| {
        b.iter(|| {
            private
                .iter()
                .filter(|ip| t.match_ip(**ip).is_some())
                .count()
        })
    });
    let names: Vec<String> = (0..10_000u32)
        .map(|i| {
            format!(
                "www.sub{}.d{}.example-{}.com.",
                i % 7,
                i * 5 + 1,
                (i * 5 + 1) % 97
            )
        })
        .collect();
    g.bench_function("match_domain_10k", |b| {
        b.iter(|| names.iter().filter(|n| t.match_domain(n).is_some()).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
