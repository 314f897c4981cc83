//! WAF log records published to a NATS subject (`waf.log = "nats://HOST:PORT/SUBJECT"`): one JSON message per
//! record, in the AWS WAF log format. Records are queued (bounded; counted when dropped) and published by a
//! background task whose client reconnects by itself, so a NATS server that is away never slows requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portcullis_waf_proxy::LogRecord;
use portcullis_waf_proxy::LogSink;
use tokio::sync::mpsc;

/// Records queued before new ones are dropped.
const QUEUE: usize = 16 * 1024;

enum Msg {
    Record(Vec<u8>),
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// A [`LogSink`] publishing to NATS.
pub struct NatsSink {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl NatsSink {
    /// Starts publishing to `subject` on the server at `url` (must run inside the Tokio runtime). The first
    /// connection is retried in the background.
    pub async fn start(url: &str, subject: &str) -> anyhow::Result<NatsSink> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .name("portcullis-waf-log")
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("waf.log: connecting to {url}: {e}"))?;
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        let subject = subject.to_owned();
        tokio::spawn(async move {
            let mut failing = false;
            while let Some(msg) = rx.recv().await {
                match msg {
                    Msg::Record(bytes) => {
                        match client.publish(subject.clone(), bytes.into()).await {
                            Ok(()) => failing = false,
                            Err(e) if !failing => {
                                failing = true;
                                tracing::error!(%subject, error = %e, "cannot publish WAF log records to NATS");
                            }
                            Err(_) => {}
                        }
                    }
                    Msg::Flush(done) => {
                        let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
                        let _ = done.send(());
                    }
                }
            }
        });
        Ok(NatsSink {
            tx,
            dropped: Arc::default(),
        })
    }
}

impl LogSink for NatsSink {
    fn write(&self, record: LogRecord) {
        let Ok(bytes) = serde_json::to_vec(&record) else {
            return;
        };
        if self.tx.try_send(Msg::Record(bytes)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn flush(&self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if self.tx.try_send(Msg::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(6));
        }
    }
}
