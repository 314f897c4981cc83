//! NATS: a JetStream source read through a durable pull consumer, and the NATS export.
//!
//! **Source.** Each message carries log records in any supported format (a chunk of lines or a
//! whole document, gzip or not). Workers configured with the same consumer name share the
//! stream: JetStream hands each message to one of them. A message is acknowledged (and the
//! acknowledgement confirmed by the server) only after its records' findings are committed;
//! delivery is therefore at least once, and duplicates are removed by message identity: the
//! commit that stores a message's findings also stores a marker
//! `nats/{stream}/{consumer}/{stream sequence}` in the checkpoint collection, a redelivered
//! message whose marker exists is acknowledged without being processed again, and markers are
//! removed once their acknowledgement is confirmed.
//!
//! **Export.** Each finding is published as one message (its JSON) on a subject.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_store::Store;
use serde_json::json;

use crate::checkpoint::{COLLECTION, delete_op, put_op};
use crate::error::{IngestError, Result};
use crate::export::Sink;
use crate::feed::Feed;

/// Messages fetched per pull.
pub const BATCH: usize = 64;
/// How long a pull waits for messages.
const PULL_WAIT: Duration = Duration::from_secs(1);
/// Time JetStream waits for an acknowledgement before redelivering, unless configured.
pub const ACK_WAIT: Duration = Duration::from_secs(120);
/// Delay before reconnecting after a failure.
const RECONNECT: Duration = Duration::from_secs(2);
/// Largest decompressed message.
const MAX_MESSAGE_DECOMPRESSED: usize = 64 << 20;

fn nats_err(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> IngestError {
    move |e| IngestError::Nats {
        what,
        reason: e.to_string(),
    }
}

/// What a NATS source reads.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Source name (logs).
    pub name: String,
    /// `nats://HOST:PORT`.
    pub url: String,
    /// Stream.
    pub stream: String,
    /// Durable consumer name.
    pub consumer: String,
    /// Filter subject.
    pub subject: Option<String>,
    /// Time JetStream waits for an acknowledgement before redelivering (see [`ACK_WAIT`]).
    pub ack_wait: Duration,
}

impl NatsConfig {
    fn marker(&self, seq: u64) -> String {
        format!("nats/{}/{}/{seq}", self.stream, self.consumer)
    }
}

/// Reads the stream until `stop` says so, reconnecting after failures.
pub async fn run(
    cfg: NatsConfig,
    feed: Arc<Feed>,
    store: Arc<dyn Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match session(&cfg, &feed, &*store, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(source = %cfg.name, error = %e, "NATS source failed; reconnecting")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn session(
    cfg: &NatsConfig,
    feed: &Arc<Feed>,
    store: &dyn Store,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let client = async_nats::connect(cfg.url.as_str())
        .await
        .map_err(|e| nats_err("connect")(&e))?;
    let js = jetstream::new(client);
    let stream = js
        .get_stream(&cfg.stream)
        .await
        .map_err(|e| nats_err("stream")(&e))?;
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            &cfg.consumer,
            pull::Config {
                durable_name: Some(cfg.consumer.clone()),
                filter_subject: cfg.subject.clone().unwrap_or_default(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: cfg.ack_wait,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| nats_err("consumer")(&e))?;
    tracing::info!(source = %cfg.name, stream = %cfg.stream, consumer = %cfg.consumer, "reading NATS JetStream");
    let input_name = format!("nats:{}", cfg.stream);
    let opts = DecodeOptions {
        max_decompressed: MAX_MESSAGE_DECOMPRESSED,
        ..DecodeOptions::default()
    };
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(PULL_WAIT)
            .messages()
            .await
            .map_err(|e| nats_err("fetch")(&e))?;
        let mut got = Vec::new();
        while let Some(m) = batch.next().await {
            got.push(m.map_err(|e| nats_err("fetch")(&e))?);
        }
        if got.is_empty() {
            if stop.has_changed().unwrap_or(true) && *stop.borrow() {
                return Ok(());
            }
            continue;
        }
        let mut done = Vec::with_capacity(got.len());
        for m in &got {
            let seq = m
                .info()
                .map_err(|e| nats_err("message")(&e))?
                .stream_sequence;
            let key = cfg.marker(seq);
            if store.get(COLLECTION, &key).await?.is_some() {
                tracing::info!(source = %cfg.name, seq, "message already processed; acknowledging it again");
                done.push((m, key));
                continue;
            }
            let r = {
                let mut st = feed.lock().await;
                let input = st.input(&input_name);
                let r = st.ingest(input, 1, &m.payload, &opts);
                st.checkpoint(put_op(&key, &json!({"seq": seq}))?);
                r
            };
            feed.account(&format!("{input_name}#{seq}"), &r);
            done.push((m, key));
        }
        feed.commit().await?;
        for (m, key) in done {
            match m.double_ack().await {
                Ok(()) => feed.lock().await.checkpoint(delete_op(&key)),
                Err(e) => {
                    tracing::warn!(source = %cfg.name, error = %e, "acknowledgement not confirmed; the message will come back and be skipped")
                }
            }
        }
    }
}

/// Publishes each finding as one message on a subject.
pub struct NatsSink {
    url: String,
    subject: String,
    client: Option<async_nats::Client>,
}

impl std::fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSink")
            .field("url", &self.url)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl NatsSink {
    /// An export to `subject` on the server at `url` (connected on first use).
    pub fn new(url: &str, subject: &str) -> NatsSink {
        NatsSink {
            url: url.to_owned(),
            subject: subject.to_owned(),
            client: None,
        }
    }
}

#[async_trait::async_trait]
impl Sink for NatsSink {
    async fn send(&mut self, lines: &[Arc<str>]) -> Result<()> {
        let client = match self.client.take() {
            Some(c) => c,
            None => async_nats::connect(self.url.as_str())
                .await
                .map_err(|e| nats_err("connect")(&e))?,
        };
        for l in lines {
            client
                .publish(self.subject.clone(), bytes::Bytes::from(l.to_string()))
                .await
                .map_err(|e| nats_err("publish")(&e))?;
        }
        client.flush().await.map_err(|e| nats_err("flush")(&e))?;
        self.client = Some(client);
        Ok(())
    }

    fn target(&self) -> String {
        format!("{} {}", self.url, self.subject)
    }
}
