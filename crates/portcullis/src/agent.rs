//! `portcullis agent`: the Inspector host agent (wiring only; the work is in
//! `portcullis-inspector-agent`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use portcullis_common::Secret;
use portcullis_inspector_agent::{Agent, AgentConfig, Client, CollectOptions, Command, collect};

use crate::cli::AgentArgs;

/// Where `--cert`/`--key` default to.
const DEFAULT_DIR: &str = "/etc/portcullis/agent";
/// Attempts of a `--once` report before giving up.
const ONCE_ATTEMPTS: u32 = 5;

/// Runs the agent.
pub fn run(args: AgentArgs) -> Result<ExitCode> {
    // Lockfile paths are host paths under --root; a relative one is relative to the
    // current directory.
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let lockfile_paths = args.paths.iter().map(|p| cwd.join(p)).collect();
    let collect_opts = CollectOptions {
        root: args.root.clone(),
        lockfile_paths,
        run_commands: args.root == Path::new("/"),
        ..CollectOptions::default()
    };
    if args.print {
        let inv = collect(&collect_opts);
        println!("{}", serde_json::to_string_pretty(&inv)?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(server) = args.server.as_deref() else {
        bail!("--server is required (or --print)");
    };
    let host = hostname(&args.root);
    let cert_path = args
        .cert
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR).join(format!("{host}.pem")));
    let key_path = args
        .key
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR).join(format!("{host}.key")));
    let read = |p: &Path, what: &str| {
        std::fs::read_to_string(p).with_context(|| format!("reading the {what} {}", p.display()))
    };
    let ca = read(&args.ca, "CA certificate")?;
    let cert = read(&cert_path, "client certificate")?;
    let key = Secret::new(read(&key_path, "client key")?);
    let client = Client::new(server, &ca, &cert, &key).context("setting up the TLS client")?;

    let mut config = AgentConfig::new(args.state_dir.clone());
    config.collect = collect_opts;
    config.interval = Duration::from_secs(args.interval);
    if let Some(id) = args.instance_id.as_deref() {
        config.cloud = Some(
            portcullis_inspector_core::inventory::CloudIdentity::new(id)
                .with_context(|| format!("--instance-id {id:?} is not a valid instance id"))?,
        );
    }
    config.identity_url = args.identity_url.clone();
    if args.once {
        config.max_attempts = Some(ONCE_ATTEMPTS);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let mut agent = Agent::new(config, client);
        tracing::info!(agent_id = agent.agent_id(), server, "agent starting");
        if args.once {
            let out = agent
                .report_once()
                .await
                .context("reporting the inventory")?;
            println!(
                "agent {}: report {} acknowledged ({})",
                agent.agent_id(),
                out.acknowledged,
                if out.full { "full" } else { "changes only" }
            );
            return Ok(ExitCode::SUCCESS);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(forward_sighup(tx));
        tokio::select! {
            () = agent.run(rx) => {}
            () = shutdown_signal() => tracing::info!("agent stopping"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The host name, for the default certificate file names.
fn hostname(root: &Path) -> String {
    ["proc/sys/kernel/hostname", "etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "agent".to_owned())
}

/// Turns each SIGHUP into a "report now".
async fn forward_sighup(tx: tokio::sync::mpsc::Sender<Command>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP");
        return;
    };
    while hup.recv().await.is_some() {
        if tx.send(Command::ReportNow).await.is_err() {
            return;
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
