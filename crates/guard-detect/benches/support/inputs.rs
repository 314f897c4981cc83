//! Inputs shared by the `pipeline` bench and the `pipeline_profile` example (included in both with
//! `#[path]`): a day of CloudTrail API calls, VPC flow lines, a 250,000-entry threat list.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::PathBuf;

use portcullis_guard_core::intel::is_public_v4;
use portcullis_guard_detect::Config;

/// The corpus (`PORTCULLIS_CORPORA`, default `../shared/corpora` beside the workspace).
pub fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

/// A day of an estate's API calls: reads and writes by users, roles and services from many addresses.
pub fn trail_lines(records: usize) -> Vec<u8> {
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

/// `lines` flow lines (version 2) from `sources` distinct public addresses to the VPC, all `action`.
pub fn flow_lines(lines: usize, sources: usize, action: &str) -> Vec<u8> {
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

/// 250,000 public addresses, one a line.
pub fn list_250k() -> String {
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

/// The engine configuration of both.
pub fn config() -> Config {
    Config {
        detector_id: "0123456789abcdef0123456789abcdef".into(),
        default_account: "123456789012".into(),
        default_region: "us-east-1".into(),
        ..Config::default()
    }
}
