//! The agent loop: collect, diff against the inventory the server acknowledged, send, retry
//! with exponential backoff and jitter while the server is away, repeat on a timer or when
//! asked ([`Command::ReportNow`], which the binary sends on SIGHUP).
//!
//! Sequence numbers grow by one per report sent, across restarts (they are persisted before
//! each send). A delta names the acknowledged sequence as its base; a 409 answer means the
//! server does not hold that base, and the agent sends a full report at once.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_inspector_core::inventory::{CloudIdentity, Inventory, InventoryReport, ReportBody};
use rand::Rng as _;
use tokio::sync::mpsc;

use crate::AgentError;
use crate::client::{Client, Reply};
use crate::collect::{CollectOptions, collect};
use crate::state::{Acknowledged, AgentState, load_or_init};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// What to collect.
    pub collect: CollectOptions,
    /// Where the agent keeps its state.
    pub state_dir: PathBuf,
    /// Time between reports.
    pub interval: Duration,
    /// First retry delay; doubled per failed attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
    /// Attempts per report before giving up (`None`: keep trying).
    pub max_attempts: Option<u32>,
    /// The cloud instance the host is (`--instance-id`), sent with every report.
    pub cloud: Option<CloudIdentity>,
    /// Where to read the instance-identity document when `cloud` is not given (`None`: never
    /// look it up).
    pub identity_url: Option<String>,
}

impl AgentConfig {
    /// Defaults: one report an hour, retries from 1 s up to 60 s, state in `state_dir`.
    pub fn new(state_dir: PathBuf) -> Self {
        AgentConfig {
            collect: CollectOptions::default(),
            state_dir,
            interval: Duration::from_secs(3_600),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_attempts: None,
            cloud: None,
            identity_url: None,
        }
    }
}

/// What the running loop can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Report now (SIGHUP).
    ReportNow,
    /// Stop after the current report.
    Stop,
}

/// What one report cycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The sequence the server acknowledged.
    pub acknowledged: u64,
    /// Whether the accepted report was a full one.
    pub full: bool,
    /// Attempts it took (1 when the first try succeeded).
    pub attempts: u32,
}

/// The agent.
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    client: Client,
    state: AgentState,
    hostname: String,
}

/// The retry delay before attempt `attempt + 1`: `base · 2^attempt` capped, with jitter that
/// keeps it in `[delay/2, delay]` so agents restarted together do not retry together.
pub fn backoff_delay(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let delay = base
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(cap)
        .min(cap);
    let half = delay / 2;
    let jitter_ms = u64::try_from((delay - half).as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Agent {
    /// An agent with its state loaded from (or created in) `config.state_dir`.
    pub fn new(config: AgentConfig, client: Client) -> Agent {
        let state = load_or_init(&config.state_dir, &config.collect.root);
        let root = &config.collect.root;
        let hostname = ["proc/sys/kernel/hostname", "etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
            .map(|s| s.trim().chars().take(255).collect::<String>())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        Agent {
            config,
            client,
            state,
            hostname,
        }
    }

    /// The agent's id.
    pub fn agent_id(&self) -> &str {
        &self.state.agent_id
    }

    /// The persisted state (for tests and `--print`).
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// Collects the inventory (on a blocking thread: it walks the file system).
    pub async fn collect(&self) -> Result<Inventory, AgentError> {
        let opts = self.config.collect.clone();
        tokio::task::spawn_blocking(move || collect(&opts))
            .await
            .map_err(|e| AgentError::Collect(e.to_string()))
    }

    /// Collects and reports once, retrying until acknowledged or `max_attempts` is spent.
    pub async fn report_once(&mut self) -> Result<Outcome, AgentError> {
        let inv = self.collect().await?;
        self.report(inv).await
    }

    /// Reports `inv`: a delta against the acknowledged inventory when there is one, a full
    /// report otherwise or after a 409.
    pub async fn report(&mut self, inv: Inventory) -> Result<Outcome, AgentError> {
        if self.config.cloud.is_none()
            && let Some(url) = self.config.identity_url.clone()
        {
            match crate::identity::fetch(&url).await {
                Ok(id) => {
                    tracing::info!(instance_id = %id.instance_id, "cloud identity read");
                    self.config.cloud = Some(id);
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the instance identity"),
            }
        }
        let mut force_full = false;
        let mut attempt: u32 = 0;
        let mut failures: u32 = 0;
        loop {
            attempt += 1;
            let sequence = self.state.last_sequence + 1;
            self.state.last_sequence = sequence;
            if let Err(e) = self.state.save(&self.config.state_dir) {
                tracing::warn!(error = %e, "cannot persist the agent state");
            }
            let body = match (&self.state.acknowledged, force_full) {
                (Some(ack), false) => ReportBody::Delta {
                    base: ack.sequence,
                    delta: Box::new(inv.diff(&ack.inventory)),
                },
                _ => ReportBody::Full {
                    inventory: Box::new(inv.clone()),
                },
            };
            let full = matches!(body, ReportBody::Full { .. });
            let report = InventoryReport {
                agent_id: self.state.agent_id.clone(),
                hostname: self.hostname.clone(),
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                collected_at: now_unix(),
                sequence,
                body,
                cloud: self.config.cloud.clone(),
            };
            let err = match self.client.send(&report).await {
                Ok(Reply::Acknowledged(n)) => {
                    tracing::info!(
                        sequence,
                        acknowledged = n,
                        full,
                        "inventory report acknowledged"
                    );
                    self.state.acknowledged = Some(Acknowledged {
                        sequence: n,
                        inventory: inv,
                    });
                    self.state.last_sequence = self.state.last_sequence.max(n);
                    self.state.save(&self.config.state_dir)?;
                    return Ok(Outcome {
                        acknowledged: n,
                        full,
                        attempts: attempt,
                    });
                }
                Ok(Reply::Conflict) if !full => {
                    tracing::info!(
                        sequence,
                        "the server lacks the delta's base; sending a full report"
                    );
                    force_full = true;
                    continue;
                }
                Ok(Reply::Conflict) => AgentError::Rejected {
                    status: 409,
                    body: "a full report was refused".into(),
                },
                Err(e) => e,
            };
            if self.config.max_attempts.is_some_and(|m| attempt >= m) {
                return Err(err);
            }
            let delay = backoff_delay(self.config.backoff_base, self.config.backoff_cap, failures);
            failures += 1;
            tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "report failed");
            tokio::time::sleep(delay).await;
        }
    }

    /// Reports now, then every `interval` or on [`Command::ReportNow`], until
    /// [`Command::Stop`] or the command channel closes.
    pub async fn run(&mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            if let Err(e) = self.report_once().await {
                tracing::error!(error = %e, "giving up on this report");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.interval) => {}
                cmd = commands.recv() => match cmd {
                    Some(Command::ReportNow) => tracing::info!("report requested"),
                    Some(Command::Stop) | None => return,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(60);
        for attempt in 0..40 {
            let d = backoff_delay(base, cap, attempt);
            let full = (base * 2u32.saturating_pow(attempt.min(20))).min(cap);
            assert!(
                d <= full && d >= full / 2,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
        assert!(backoff_delay(base, cap, 35) >= Duration::from_secs(30));
    }
}
