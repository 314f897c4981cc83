//! Finding exports: every finding a commit creates or updates, as GuardDuty's finding JSON (what
//! `GetFindings` returns), one per line, to a file, stdout, a webhook or a NATS subject.
//!
//! Each export has a bounded queue: when its target is slow or down the oldest findings are
//! dropped (and counted) rather than memory growing; a failed delivery is retried with
//! exponential backoff. Delivery is at least once: a batch that failed half-way is sent again.
//! Findings archived by a suppression rule are not exported unless the export asks for them
//! (GuardDuty does not export them either).

mod sinks;
pub mod webhook;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use portcullis_guard_api::Stored;
use portcullis_guard_api::wire::render_finding;
use tokio::sync::Notify;

use crate::error::Result;
pub use sinks::{FileSink, StdoutSink};

/// Findings sent in one delivery at most.
pub const MAX_BATCH: usize = 500;
/// First retry delay after a failed delivery.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where an export delivers batches of JSON lines.
#[async_trait::async_trait]
pub trait Sink: Send + 'static {
    /// Delivers the lines (each one finding's JSON, no newline); an error retries the batch.
    async fn send(&mut self, lines: &[Arc<str>]) -> Result<()>;
    /// The target, for logs.
    fn target(&self) -> String;
}

/// One export's bounded queue.
#[derive(Debug)]
pub struct Queue {
    items: std::sync::Mutex<VecDeque<Arc<str>>>,
    cap: usize,
    include_archived: bool,
    notify: Notify,
    closed: AtomicBool,
    /// Findings dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Findings delivered.
    pub sent: AtomicU64,
    /// Failed deliveries (each retried).
    pub failures: AtomicU64,
}

impl Queue {
    fn new(cap: usize, include_archived: bool) -> Queue {
        Queue {
            items: std::sync::Mutex::new(VecDeque::new()),
            cap: cap.max(1),
            include_archived,
            notify: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    fn push(&self, line: Arc<str>) {
        if let Ok(mut q) = self.items.lock() {
            if q.len() >= self.cap {
                q.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            q.push_back(line);
        }
        self.notify.notify_one();
    }

    /// Takes up to [`MAX_BATCH`] lines, waiting for some; `None` once closed and empty.
    async fn take(&self) -> Option<Vec<Arc<str>>> {
        loop {
            let notified = self.notify.notified();
            if let Ok(mut q) = self.items.lock()
                && !q.is_empty()
            {
                let n = q.len().min(MAX_BATCH);
                return Some(q.drain(..n).collect());
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }

    /// Findings waiting.
    pub fn len(&self) -> usize {
        self.items.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The process's exports; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    queues: Arc<Vec<Arc<Queue>>>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Exports {
    /// No exports.
    pub fn none() -> Exports {
        Exports::default()
    }

    /// Starts one worker per sink: `(sink, queue bound, include archived findings)`.
    pub fn start(sinks: Vec<(Box<dyn Sink>, usize, bool)>) -> Exports {
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        for (sink, cap, archived) in sinks {
            let q = Arc::new(Queue::new(cap, archived));
            tasks.push(tokio::spawn(run(sink, q.clone())));
            queues.push(q);
        }
        Exports {
            queues: Arc::new(queues),
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        }
    }

    /// The queues, in configuration order (for counters).
    pub fn queues(&self) -> &[Arc<Queue>] {
        &self.queues
    }

    /// Queues what a commit stored.
    pub fn publish(&self, stored: &[Stored]) {
        if self.queues.is_empty() {
            return;
        }
        for s in stored {
            let line: Arc<str> = render_finding(&s.doc).to_string().into();
            for q in self.queues.iter() {
                if !s.archived || q.include_archived {
                    q.push(line.clone());
                }
            }
        }
    }

    /// Lets the workers deliver what is queued (up to `grace`), then stops them.
    pub async fn shutdown(&self, grace: Duration) {
        for q in self.queues.iter() {
            q.closed.store(true, Ordering::Release);
            q.notify.notify_one();
        }
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for t in tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

async fn run(mut sink: Box<dyn Sink>, q: Arc<Queue>) {
    while let Some(batch) = q.take().await {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match sink.send(&batch).await {
                Ok(()) => {
                    q.sent
                        .fetch_add(u64::try_from(batch.len()).unwrap_or(0), Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    q.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target_ = %sink.target(), error = %e, retry_in = ?backoff, "finding export failed");
                    if q.closed.load(Ordering::Acquire) && backoff >= MAX_BACKOFF {
                        break;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Flaky {
        fail: usize,
        got: Arc<std::sync::Mutex<Vec<String>>>,
    }

    #[async_trait::async_trait]
    impl Sink for Flaky {
        async fn send(&mut self, lines: &[Arc<str>]) -> Result<()> {
            if self.fail > 0 {
                self.fail -= 1;
                return Err(crate::error::IngestError::Export {
                    target: "flaky".into(),
                    reason: "down".into(),
                });
            }
            let mut g = self.got.lock().unwrap();
            g.extend(lines.iter().map(|l| l.to_string()));
            Ok(())
        }
        fn target(&self) -> String {
            "flaky".into()
        }
    }

    fn stored(id: &str, archived: bool) -> Stored {
        Stored {
            doc: json!({"id": id, "service": {"additionalInfo": {"a": 1}}, "_portcullis": {"x": 1}}),
            created: true,
            archived,
        }
    }

    #[tokio::test]
    async fn retries_until_delivered_and_skips_archived() {
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ex = Exports::start(vec![(
            Box::new(Flaky {
                fail: 2,
                got: got.clone(),
            }) as Box<dyn Sink>,
            10,
            false,
        )]);
        ex.publish(&[stored("a", false), stored("b", true), stored("c", false)]);
        ex.shutdown(Duration::from_secs(5)).await;
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
        assert_eq!(first["id"], "a");
        assert!(first.get("_portcullis").is_none());
        assert_eq!(first["service"]["additionalInfo"]["type"], "default");
        assert_eq!(ex.queues()[0].failures.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let q = Queue::new(2, false);
        for s in ["1", "2", "3"] {
            q.push(Arc::from(s));
        }
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
        let items: Vec<String> = q
            .items
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(items, ["2", "3"]);
    }
}
