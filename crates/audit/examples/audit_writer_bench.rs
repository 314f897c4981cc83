//! Throughput of the audit writer alone: queues N KMS-`Encrypt`-shaped records into an
//! [`AuditTrail`] over a fresh SQLite store (log files on), waits for shutdown (every record
//! stored and written), and prints records/s and this process's CPU time per record.
//!
//! `cargo run --release -p portcullis-audit --example audit_writer_bench -- [N] [store-url] [rate]`
//!
//! With `rate` (records per second), records arrive in 1 ms ticks the way a busy API hands
//! them over, instead of all at once: this measures the writer at the batch sizes a server
//! sees. `store-url` `-` means a fresh SQLite file.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_audit::{AuditTrail, TrailConfig};
use portcullis_common::audit::{AuditSink, CloudTrailRecord, TlsDetails, UserIdentity};
use portcullis_common::{Clock, SystemClock, ids};

/// User + system CPU time of this process so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn record(i: usize) -> CloudTrailRecord {
    CloudTrailRecord {
        event_version: "1.08".into(),
        user_identity: UserIdentity {
            identity_type: "IAMUser".into(),
            principal_id: Some("AIDAEXAMPLEEXAMPLE01".into()),
            arn: Some("arn:aws:iam::000000000000:user/admin".into()),
            account_id: Some("000000000000".into()),
            access_key_id: Some("AKIAEXAMPLEEXAMPLE01".into()),
            user_name: Some("admin".into()),
            session_context: None,
        },
        event_time: "2026-11-30T03:40:00Z".into(),
        event_source: "kms.amazonaws.com".into(),
        event_name: if i.is_multiple_of(3) {
            "Encrypt"
        } else {
            "GenerateMac"
        }
        .into(),
        aws_region: "us-east-1".into(),
        source_ip_address: "127.0.0.1".into(),
        user_agent: "aws-sdk-rust/1.3.0 os/linux lang/rust/1.95.0".into(),
        error_code: None,
        error_message: None,
        request_parameters: serde_json::json!({
            "keyId": "arn:aws:kms:us-east-1:000000000000:key/0f2b5d3e-8c1a-4e5b-9f6d-7a8b9c0d1e2f",
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT"
        }),
        response_elements: serde_json::Value::Null,
        request_id: ids::request_id(),
        event_id: ids::event_id(),
        read_only: true,
        event_type: "AwsApiCall".into(),
        management_event: true,
        recipient_account_id: "000000000000".into(),
        event_category: "Management".into(),
        tls_details: Some(TlsDetails {
            tls_version: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
            client_provided_host_header: "127.0.0.1:8443".into(),
        }),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = args
        .next()
        .filter(|u| u != "-")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("store.db").display()));
    let rate: Option<usize> = args.next().and_then(|s| s.parse().ok());
    let store = portcullis_store::open(&url).await.expect("store");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let records: Vec<CloudTrailRecord> = (0..n).map(record).collect();
    let (cpu0, t0) = (cpu(), Instant::now());
    let trail = AuditTrail::start(
        store.clone(),
        clock,
        TrailConfig {
            files_dir: Some(dir.path().join("audit")),
            account: "000000000000".into(),
            region: "us-east-1".into(),
            file_interval: Duration::from_secs(1),
        },
    );
    let per_tick = rate.map(|r| (r / 1000).max(1));
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for (i, r) in records.into_iter().enumerate() {
        if let Some(k) = per_tick
            && i % k == 0
        {
            tick.tick().await;
        }
        trail.record(r);
        // Like the listener's back-pressure, at a lower mark so the queue stays small.
        while trail.backlog() > 20_000 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    trail.shutdown().await;
    let (wall, used) = (t0.elapsed(), cpu().saturating_sub(cpu0));
    store.close().await;
    println!(
        "{n} records in {:.2} s: {:.0} records/s, {:.1} us CPU/record",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        used.as_secs_f64() * 1e6 / n as f64
    );
}
