//! [`start`]: the `[guard]` configuration turned into running sources, a flusher and exports;
//! [`Running::shutdown`] stops them and writes what is left.

use std::sync::Arc;
use std::time::Duration;

use portcullis_config::{GuardConfig, GuardExportTarget, GuardFormat, GuardInput};
use portcullis_guard_api::GuardApi;
use portcullis_guard_detect::core::record::FlowFormat;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{IngestError, Result};
use crate::export::webhook::WebhookSink;
use crate::export::{Exports, FileSink, Sink, StdoutSink};
use crate::feed::{FeedSettings, Feeds};
use crate::files::{Family, FileSource, FilesConfig};
use crate::nats::{NatsConfig, NatsSink};
use crate::push::PushSink;

/// Time given to sources to stop and exports to deliver on shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Guard's running sources and exports.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    sources: Vec<JoinHandle<()>>,
    flusher: Option<JoinHandle<()>>,
    lists: Option<JoinHandle<()>>,
    feeds: Feeds,
    exports: Exports,
}

fn family(f: GuardFormat) -> Family {
    match f {
        GuardFormat::CloudTrail => Family::CloudTrail,
        GuardFormat::VpcFlow => Family::VpcFlow,
        GuardFormat::Route53 => Family::Route53,
    }
}

fn flow_format(source: &str, line: Option<&str>) -> Result<Option<FlowFormat>> {
    let Some(line) = line else {
        return Ok(None);
    };
    FlowFormat::parse_header(line).map(Some).ok_or_else(|| {
        IngestError::Config(format!(
            "guard source {source:?}: flow_format {line:?} is not a list of VPC flow-log fields"
        ))
    })
}

fn exports_of(cfg: &GuardConfig) -> Result<Exports> {
    let mut sinks: Vec<(Box<dyn Sink>, usize, bool)> = Vec::new();
    for e in &cfg.exports {
        let sink: Box<dyn Sink> = match &e.target {
            GuardExportTarget::File(p) => Box::new(FileSink::new(p.clone())),
            GuardExportTarget::Stdout => Box::new(StdoutSink),
            GuardExportTarget::Webhook {
                url,
                ca_file,
                headers,
            } => Box::new(WebhookSink::new(url, ca_file.as_deref(), headers)?),
            GuardExportTarget::Nats { url, subject } => Box::new(NatsSink::new(url, subject)),
        };
        sinks.push((sink, e.queue, e.include_archived));
    }
    Ok(Exports::start(sinks))
}

/// Starts Guard's sources and exports: installs the `PutEvents` receiver on `api`, opens one
/// feed per detector the sources name (a source without a detector uses the detector of
/// `account` in `region`, created when there is none), and commits every `flush_interval`.
pub async fn start(
    cfg: &GuardConfig,
    api: GuardApi,
    account: &str,
    region: &str,
) -> Result<Running> {
    let exports = exports_of(cfg)?;
    let feeds = Feeds::with_settings(
        api.clone(),
        exports.clone(),
        FeedSettings {
            baseline_days: cfg.baseline_days,
            baseline_days_by_detector: cfg.baseline_days_by_detector.clone(),
            geoip_db: cfg.geoip_db.clone(),
            asn_db: cfg.asn_db.clone(),
        },
    );
    api.set_event_sink(Arc::new(PushSink::new(feeds.clone())));
    let (stop, stop_rx) = watch::channel(false);
    let mut sources = Vec::new();
    for s in &cfg.sources {
        let detector = match &s.detector {
            Some(d) => d.clone(),
            None => api.ensure_detector(account, region).await?.id,
        };
        let feed = feeds.get(&detector).await?;
        let store = api.store.clone();
        match &s.input {
            GuardInput::Files {
                paths,
                follow,
                poll_interval,
            } => {
                let src = FileSource::new(
                    FilesConfig {
                        name: s.name.clone(),
                        paths: paths.clone(),
                        follow: *follow,
                        poll_interval: *poll_interval,
                        family: s.format.map(family),
                        flow_format: flow_format(&s.name, s.flow_format.as_deref())?,
                    },
                    feed,
                    store,
                );
                tracing::info!(source = %s.name, %detector, ?paths, follow, "guard files source started");
                sources.push(tokio::spawn(src.run(stop_rx.clone())));
            }
            GuardInput::Stdin => {
                let name = s.name.clone();
                let flow = flow_format(&s.name, s.flow_format.as_deref())?;
                tracing::info!(source = %s.name, %detector, "guard stdin source started");
                sources.push(tokio::spawn(async move {
                    match crate::stdin::run_reader("stdin", tokio::io::stdin(), feed, flow).await {
                        Ok(r) => tracing::info!(source = %name, lines = r.lines, "stdin ended"),
                        Err(e) => {
                            tracing::warn!(source = %name, error = %e, "reading stdin failed")
                        }
                    }
                }));
            }
            GuardInput::Nats {
                url,
                stream,
                consumer,
                subject,
            } => {
                let n = NatsConfig {
                    name: s.name.clone(),
                    url: url.clone(),
                    stream: stream.clone(),
                    consumer: consumer.clone(),
                    subject: subject.clone(),
                    ack_wait: crate::nats::ACK_WAIT,
                };
                tracing::info!(source = %s.name, %detector, %stream, %consumer, "guard NATS source started");
                sources.push(tokio::spawn(crate::nats::run(
                    n,
                    feed,
                    store,
                    stop_rx.clone(),
                )));
            }
        }
    }
    let flusher = {
        let feeds = feeds.clone();
        let mut stop_rx = stop_rx.clone();
        let every = cfg.flush_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => feeds.commit_all().await,
                    _ = stop_rx.changed() => return,
                }
            }
        })
    };
    // Threat lists: reloaded at once when the API changes one, and when a list's file changes
    // (checked every list_reload_interval). Loading happens here, off the records' path.
    let lists = {
        let feeds = feeds.clone();
        let mut changed = api.subscribe_lists();
        let mut stop_rx = stop_rx.clone();
        let every = cfg.list_reload_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = changed.changed() => {
                        if r.is_err() {
                            return;
                        }
                        feeds.reload_lists().await;
                    }
                    () = tokio::time::sleep(every) => feeds.reload_lists().await,
                    _ = stop_rx.changed() => return,
                }
            }
        })
    };
    Ok(Running {
        stop,
        sources,
        flusher: Some(flusher),
        lists: Some(lists),
        feeds,
        exports,
    })
}

impl Running {
    /// The feeds (one per detector).
    pub fn feeds(&self) -> &Feeds {
        &self.feeds
    }

    /// The exports.
    pub fn exports(&self) -> &Exports {
        &self.exports
    }

    /// Stops the sources, writes the last findings and checkpoints, lets the exports deliver.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.sources.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout(STOP_GRACE, t).await.is_err() {
                abort.abort();
            }
        }
        if let Some(f) = self.flusher.take() {
            let _ = f.await;
        }
        if let Some(l) = self.lists.take() {
            let _ = l.await;
        }
        self.feeds.commit_all().await;
        self.exports.shutdown(STOP_GRACE).await;
    }
}
