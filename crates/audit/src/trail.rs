//! The queue and background task that store records and write log files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_common::Clock;
use portcullis_common::audit::{AuditSink, CloudTrailRecord};
use portcullis_store::{NewEvent, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::files::LogFileWriter;

/// Records per CloudTrail log file at most.
const FILE_MAX_RECORDS: usize = 5000;

/// Records stored per transaction at most.
const AUDIT_BATCH: usize = 2048;

/// The store event stream that holds audit records.
pub const AUDIT_STREAM: &str = "audit";

/// Where and how often log files are written.
#[derive(Debug, Clone)]
pub struct TrailConfig {
    /// Root of the `AWSLogs/` tree, or `None` for no files.
    pub files_dir: Option<PathBuf>,
    /// Account id in file paths.
    pub account: String,
    /// Region in file paths.
    pub region: String,
    /// How long records gather before a file is written.
    pub file_interval: Duration,
}

/// The audit trail: a non-blocking sink and the task behind it.
pub struct AuditTrail {
    tx: Mutex<Option<mpsc::UnboundedSender<CloudTrailRecord>>>,
    backlog: Arc<AtomicUsize>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditTrail")
    }
}

impl AuditTrail {
    /// Starts the background task on the current tokio runtime.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, cfg: TrailConfig) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(run(store, clock, cfg, rx, backlog.clone()));
        Arc::new(Self {
            tx: Mutex::new(Some(tx)),
            backlog,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops taking records, stores and writes everything queued, and waits for it.
    pub async fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl AuditSink for AuditTrail {
    fn record(&self, record: CloudTrailRecord) {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(tx) if tx.send(record).is_ok() => {
                self.backlog.fetch_add(1, Ordering::AcqRel);
            }
            _ => tracing::warn!("audit record after shutdown was dropped"),
        }
    }

    fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Acquire)
    }
}

async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cfg: TrailConfig,
    mut rx: mpsc::UnboundedReceiver<CloudTrailRecord>,
    backlog: Arc<AtomicUsize>,
) {
    let writer = cfg
        .files_dir
        .as_ref()
        .map(|d| LogFileWriter::new(d, &cfg.account, &cfg.region));
    let mut pending: Vec<CloudTrailRecord> = Vec::new();
    let mut tick = tokio::time::interval(cfg.file_interval);
    tick.tick().await;
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, AUDIT_BATCH) => {
                if n == 0 {
                    break;
                }
                store_records(&*store, &batch).await;
                backlog.fetch_sub(n, Ordering::AcqRel);
                if writer.is_some() {
                    pending.append(&mut batch);
                    // A full file is written at once rather than at the tick, which bounds
                    // both the memory held and the size of one file.
                    if pending.len() >= FILE_MAX_RECORDS {
                        flush(writer.as_ref(), &mut pending, clock.now()).await;
                    }
                } else {
                    batch.clear();
                }
            }
            _ = tick.tick() => flush(writer.as_ref(), &mut pending, clock.now()).await,
        }
    }
    flush(writer.as_ref(), &mut pending, clock.now()).await;
}

/// Writes the pending records as one log file, off the async workers (serializing and
/// compressing thousands of records is CPU work).
async fn flush(
    writer: Option<&LogFileWriter>,
    pending: &mut Vec<CloudTrailRecord>,
    now: OffsetDateTime,
) {
    let Some(w) = writer else { return };
    if pending.is_empty() {
        return;
    }
    let (w, records) = (w.clone(), std::mem::take(pending));
    let joined = tokio::task::spawn_blocking(move || {
        let result = w.write(&records, now);
        (result, records)
    })
    .await;
    match joined {
        Ok((Ok(_), _)) => {}
        // Keep the records and try again at the next tick; they are already in the store.
        Ok((Err(e), records)) => {
            tracing::error!(error = %e, "writing an audit log file failed");
            *pending = records;
        }
        Err(e) => tracing::error!(error = %e, "the audit log file writer panicked"),
    }
}

/// Stores a batch of records in one transaction: one commit per batch, not per record, is
/// what lets the trail keep pace with the API.
async fn store_records(store: &dyn Store, recs: &[CloudTrailRecord]) {
    let events: Vec<NewEvent> = recs
        .iter()
        .map(|rec| NewEvent {
            id: rec.event_id.clone(),
            time: OffsetDateTime::parse(&rec.event_time, &Rfc3339)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
            attrs: lookup_attributes(rec),
            body: serde_json::to_value(rec).unwrap_or_default(),
        })
        .collect();
    // Retry briefly: records must not be lost to a momentary store hiccup.
    for attempt in 0..5u64 {
        match store.append_events(AUDIT_STREAM, &events).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, records = events.len(), "storing audit records failed");
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
        }
    }
    tracing::error!(records = events.len(), "audit records could not be stored");
}

/// The attributes `LookupEvents` can filter on.
pub fn lookup_attributes(rec: &CloudTrailRecord) -> Vec<(String, String)> {
    let mut a = vec![
        ("EventId".to_owned(), rec.event_id.clone()),
        ("EventName".to_owned(), rec.event_name.clone()),
        ("EventSource".to_owned(), rec.event_source.clone()),
        ("ReadOnly".to_owned(), rec.read_only.to_string()),
    ];
    if let Some(k) = &rec.user_identity.access_key_id {
        a.push(("AccessKeyId".into(), k.clone()));
    }
    if let Some(u) = username(rec) {
        a.push(("Username".into(), u));
    }
    for (ty, name) in resources(rec) {
        a.push(("ResourceType".into(), ty.to_owned()));
        a.push(("ResourceName".into(), name));
    }
    a
}

/// The `Username` CloudTrail reports: the user name, or the role session's name.
pub fn username(rec: &CloudTrailRecord) -> Option<String> {
    if let Some(u) = &rec.user_identity.user_name {
        return Some(u.clone());
    }
    rec.user_identity
        .arn
        .as_deref()
        .and_then(|a| a.rsplit('/').next())
        .map(str::to_owned)
}

/// Resources named by the request, as `(ResourceType, ResourceName)`.
pub fn resources(rec: &CloudTrailRecord) -> Vec<(&'static str, String)> {
    let p = &rec.request_parameters;
    let mut out = Vec::new();
    for (field, ty) in [
        ("userName", "AWS::IAM::User"),
        ("roleName", "AWS::IAM::Role"),
        ("policyArn", "AWS::IAM::Policy"),
        ("roleArn", "AWS::IAM::Role"),
        ("keyId", "AWS::KMS::Key"),
        ("accessKeyId", "AWS::IAM::AccessKey"),
    ] {
        if let Some(v) = p.get(field).and_then(|v| v.as_str()) {
            out.push((ty, v.to_owned()));
        }
    }
    out
}
