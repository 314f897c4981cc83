//! The queue and background task that store records and write log files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_common::Clock;
use portcullis_common::audit::{AuditSink, CloudTrailRecord};
use portcullis_store::{JsonText, NewEventJson, Store, StoreError};
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
    // Log files are written by a task of their own, so compressing a file never holds up
    // storing the next batch; its queue is bounded, so a stalled file writer slows the
    // store loop (and through the backlog, the API) instead of holding records without end.
    let files = cfg.files_dir.as_ref().map(|d| {
        let writer = LogFileWriter::new(d, &cfg.account, &cfg.region);
        let (ftx, frx) = mpsc::channel(FILE_QUEUE_BATCHES);
        let task = tokio::spawn(write_files(writer, clock, cfg.file_interval, frx));
        (ftx, task)
    });
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
        gather(&mut rx, &mut batch).await;
        let n = batch.len();
        let events: Vec<NewEventJson> = batch.drain(..).map(prepare).collect();
        store_events(&*store, &events).await;
        backlog.fetch_sub(n, Ordering::AcqRel);
        if let Some((ftx, _)) = &files {
            let texts = events.into_iter().map(|e| e.body.into_string()).collect();
            if ftx.send(texts).await.is_err() {
                tracing::error!("the audit log file writer stopped; records go to the store only");
            }
        }
    }
    if let Some((ftx, task)) = files {
        drop(ftx);
        if let Err(e) = task.await {
            tracing::error!(error = %e, "the audit log file writer failed");
        }
    }
}

/// How long the first record of a batch may wait for others to join it.
const AUDIT_GATHER: Duration = Duration::from_millis(50);

/// A batch this large is stored at once, without waiting for more.
const AUDIT_GATHER_ENOUGH: usize = 512;

/// How often a gathering batch takes in what has queued.
const AUDIT_GATHER_TICK: Duration = Duration::from_millis(5);

/// Lets a small batch grow for up to [`AUDIT_GATHER`]: every commit rewrites the tail pages of
/// each index and syncs the journal, so a busy API storing its records a few at a time spent
/// about 1.6 times the CPU per record that it does in batches of hundreds (64–71 µs against
/// 38–44 µs a record at 8,000 records/s, `examples/audit_writer_bench.rs`). A record becomes
/// visible to `LookupEvents` at most 50 ms later; CloudTrail itself takes minutes.
///
/// The batch takes in queued records every [`AUDIT_GATHER_TICK`] instead of waiting on the
/// channel: a waiting receiver is woken by every record sent, which on an API served by a
/// runtime per core is a thread wake-up per request.
async fn gather(
    rx: &mut mpsc::UnboundedReceiver<CloudTrailRecord>,
    batch: &mut Vec<CloudTrailRecord>,
) {
    let deadline = tokio::time::Instant::now() + AUDIT_GATHER;
    loop {
        while batch.len() < AUDIT_BATCH {
            match rx.try_recv() {
                Ok(record) => batch.push(record),
                Err(mpsc::error::TryRecvError::Empty) => break,
                // The sender is gone: store what there is; the caller's next receive ends.
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        let now = tokio::time::Instant::now();
        if batch.len() >= AUDIT_GATHER_ENOUGH || now >= deadline {
            return;
        }
        tokio::time::sleep_until((now + AUDIT_GATHER_TICK).min(deadline)).await;
    }
}

/// Batches of serialized records the log file task may hold queued.
const FILE_QUEUE_BATCHES: usize = 8;

/// Gathers serialized records and writes them as log files: at every tick, when a file's
/// worth has gathered, and at the end (when the store loop drops its sender).
async fn write_files(
    writer: LogFileWriter,
    clock: Arc<dyn Clock>,
    interval: Duration,
    mut rx: mpsc::Receiver<Vec<String>>,
) {
    let mut pending: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some(mut texts) => {
                    pending.append(&mut texts);
                    // A full file is written at once rather than at the tick, which bounds
                    // both the memory held and the size of one file.
                    if pending.len() >= FILE_MAX_RECORDS {
                        flush(&writer, &mut pending, clock.now()).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => flush(&writer, &mut pending, clock.now()).await,
        }
    }
    flush(&writer, &mut pending, clock.now()).await;
}

/// Writes the pending records as one log file, off the async workers (compressing
/// thousands of records is CPU work).
async fn flush(writer: &LogFileWriter, pending: &mut Vec<String>, now: OffsetDateTime) {
    if pending.is_empty() {
        return;
    }
    let (w, records) = (writer.clone(), std::mem::take(pending));
    let joined = tokio::task::spawn_blocking(move || {
        let result = w.write_json(&records, now);
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

/// A record as the store keeps it: serialized once (the same text goes to the log file),
/// with its look-up attributes.
fn prepare(rec: CloudTrailRecord) -> NewEventJson {
    let body = JsonText::written(rec.to_json());
    NewEventJson {
        time: OffsetDateTime::parse(&rec.event_time, &Rfc3339)
            .unwrap_or_else(|_| OffsetDateTime::now_utc()),
        attrs: lookup_attributes(&rec),
        id: rec.event_id,
        body,
    }
}

/// Stores a batch of records in one transaction: one commit per batch, not per record, is
/// what lets the trail keep pace with the API.
async fn store_events(store: &dyn Store, events: &[NewEventJson]) {
    // Retry briefly: records must not be lost to a momentary store hiccup.
    for attempt in 0..5u64 {
        match store.append_events_json(AUDIT_STREAM, events).await {
            Ok(_) => return,
            // A batch is atomic: a retry that finds its ids stored means an earlier attempt
            // committed and only its acknowledgement was lost.
            Err(StoreError::DuplicateEvent { .. }) if attempt > 0 => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, records = events.len(), "storing audit records failed");
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
        }
    }
    tracing::error!(records = events.len(), "audit records could not be stored");
}

/// The attributes `LookupEvents` filters on through the store's attribute index. `EventId`
/// needs none (the store indexes event ids) and `ReadOnly` none either (two values, each on
/// about half the records: [`LookupService`](crate::LookupService) filters a scan).
pub fn lookup_attributes(rec: &CloudTrailRecord) -> Vec<(String, String)> {
    let mut a = Vec::with_capacity(6);
    a.push(("EventName".to_owned(), rec.event_name.clone()));
    a.push(("EventSource".to_owned(), rec.event_source.to_string()));
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
