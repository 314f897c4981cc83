//! Decode-rate benchmarks: our decoders against the raw decode of the same input
//! (`serde_json` parse to `Value` / whitespace split of flow lines), in the same run, so
//! later pipelines can be compared with the raw rate.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_guard_core::decode::{DecodeOptions, decode_each};
use portcullis_guard_core::record::FlowFormat;

const N: usize = 20_000;

fn cloudtrail_lines() -> String {
    let mut s = String::new();
    for i in 0..N {
        s.push_str(&format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{i}","arn":"arn:aws:iam::123456789012:user/u{u}","accountId":"123456789012","accessKeyId":"AKIA{i}","userName":"u{u}"}},"eventTime":"2024-07-31T12:46:41Z","eventSource":"iam.amazonaws.com","eventName":"GetUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.{a}.{b}","userAgent":"aws-cli/2.13.5 Python/3.11.4 Linux/5.15 exe/x86_64.ubuntu.22 prompt/off command/iam.get-user","requestParameters":{{"userName":"u{u}"}},"responseElements":null,"requestID":"206c2187-a29f-45bf-86a2-{i:012}","eventID":"ee73c230-44bc-4492-8542-{i:012}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}}}"#,
            u = i % 50,
            a = i % 256,
            b = (i / 256) % 256
        ));
        s.push('\n');
    }
    s
}

fn flow_lines() -> String {
    let mut s = String::new();
    for i in 0..N * 10 {
        s.push_str(&format!(
            "2 123456789010 eni-1235b8ca123456789 172.31.{}.{} 52.{}.{}.9 {} 443 6 20 4249 1418530010 1418530070 ACCEPT OK\n",
            i % 256,
            (i / 256) % 256,
            i % 200,
            (i / 7) % 256,
            1024 + i % 60_000
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let opts = DecodeOptions::default();
    let ct = cloudtrail_lines();
    let mut g = c.benchmark_group("decode_cloudtrail");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("raw_serde_json_value", |b| {
        b.iter(|| {
            ct.lines()
                .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
                .count()
        })
    });
    g.bench_function("guard_decode", |b| {
        b.iter(|| {
            let mut n = 0usize;
            let _ = decode_each(ct.as_bytes(), &opts, |r| n += usize::from(r.is_ok()));
            black_box(n)
        })
    });
    g.finish();

    let fl = flow_lines();
    let mut g = c.benchmark_group("decode_flow");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements((N * 10) as u64));
    g.bench_function("raw_split_whitespace", |b| {
        b.iter(|| {
            fl.lines()
                .map(|l| l.split_ascii_whitespace().count())
                .sum::<usize>()
        })
    });
    let v2 = FlowFormat::default();
    g.bench_function("parse_line_only", |b| {
        b.iter(|| fl.lines().filter(|l| v2.parse_line(l).is_ok()).count())
    });
    g.bench_function("guard_decode", |b| {
        b.iter(|| {
            let mut n = 0usize;
            let _ = decode_each(fl.as_bytes(), &opts, |r| n += usize::from(r.is_ok()));
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
