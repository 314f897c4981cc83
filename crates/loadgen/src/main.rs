//! `portcullis-loadgen`: API throughput of STS `GetCallerIdentity` against the bare HTTPS
//! endpoint `GET /health` of the same server, measured in the same run.
//!
//! Both targets go through the same listener, TLS stack and keep-alive HTTP/1.1 connections;
//! only `GetCallerIdentity` pays for SigV4, the IAM lookups and policy decision, and the audit
//! record. The ratio of the two request rates is therefore the cost of that work, on this
//! machine, today. See `docs/benchmarks.md`.
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool whose output is its report"
)]

mod load;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;

use load::{Outcome, Plan, Target};
use server::Server;

/// Measures STS GetCallerIdentity throughput against GET /health of the same Portcullis server.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The `portcullis` binary to start.
    #[arg(long = "bin", default_value = "target/release/portcullis")]
    bin: PathBuf,
    /// Concurrent keep-alive connections per target (1-1024).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    connections: u16,
    /// Seconds of warm-up per target, not counted (0-60).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=60))]
    warmup_secs: u64,
    /// Seconds of measurement per target (1-300).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    duration_secs: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// One target's figures.
struct Row {
    target: Target,
    outcome: Outcome,
    seconds: f64,
}

impl Row {
    fn rps(&self) -> f64 {
        self.outcome.ok as f64 / self.seconds
    }

    fn p(&self, q: f64) -> Option<u32> {
        load::percentile(&self.outcome.latencies_us, q)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "target": self.target.name(),
            "ok": self.outcome.ok,
            "errors": self.outcome.errors,
            "seconds": self.seconds,
            "requests_per_second": self.rps(),
            "p50_us": self.p(50.0),
            "p99_us": self.p(99.0),
            "max_us": self.outcome.latencies_us.last(),
        })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = Server::start(&args.bin).await?;
    let outcome = tokio::select! {
        r = measure(&args, &server) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(outcome) = outcome else {
        eprintln!("interrupted; stopping the server");
        let _ = server.stop().await;
        return Ok(ExitCode::from(130));
    };
    let rss_kb = server.rss_kb();
    let log_tail = server.log_tail();
    let stopped_in = server.stop().await?;
    let rows = match outcome {
        Ok(rows) => rows,
        Err(e) => bail!("{e:#}\n--- server log ---\n{log_tail}"),
    };
    report(&args, &rows, rss_kb, stopped_in);
    let failed = rows
        .iter()
        .any(|r| r.outcome.errors > 0 || r.outcome.ok == 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the baseline first, then the signed call, on fresh connections each.
async fn measure(args: &Args, server: &Server) -> Result<Vec<Row>> {
    let tls = load::tls_connector(&server.ca_pem)?;
    let plan = Plan {
        authority: server.authority.clone(),
        connections: usize::from(args.connections),
        warmup: Duration::from_secs(args.warmup_secs),
        measure: Duration::from_secs(args.duration_secs),
    };
    let mut rows = Vec::new();
    for target in [Target::Bare, Target::GetCallerIdentity] {
        if !args.json {
            println!(
                "{}: {} connections, {} s warm-up, {} s measured ...",
                target.name(),
                plan.connections,
                args.warmup_secs,
                args.duration_secs
            );
        }
        let mut outcome = load::run(target, &plan, &tls).await?;
        outcome.latencies_us.sort_unstable();
        for e in &outcome.error_samples {
            eprintln!("  {} error: {e}", target.name());
        }
        rows.push(Row {
            target,
            outcome,
            seconds: plan.measure.as_secs_f64(),
        });
    }
    Ok(rows)
}

fn ms(us: Option<u32>) -> String {
    us.map_or_else(
        || "-".to_owned(),
        |v| format!("{:.2}", f64::from(v) / 1000.0),
    )
}

fn report(args: &Args, rows: &[Row], rss_kb: Option<u64>, stopped_in: Duration) {
    let rate = |t: Target| rows.iter().find(|r| r.target == t).map(Row::rps);
    let ratio = match (rate(Target::GetCallerIdentity), rate(Target::Bare)) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    if args.json {
        let v = serde_json::json!({
            "connections": args.connections,
            "warmup_secs": args.warmup_secs,
            "duration_secs": args.duration_secs,
            "targets": rows.iter().map(Row::json).collect::<Vec<_>>(),
            "ratio_get_caller_identity_over_bare": ratio,
            "server_rss_kb_after_load": rss_kb,
            "server_stop_secs": stopped_in.as_secs_f64(),
        });
        println!("{v}");
        return;
    }
    println!();
    println!(
        "{:<20} {:>10} {:>8} {:>11} {:>9} {:>9} {:>9}",
        "target", "ok", "errors", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    for r in rows {
        println!(
            "{:<20} {:>10} {:>8} {:>11.1} {:>9} {:>9} {:>9}",
            r.target.name(),
            r.outcome.ok,
            r.outcome.errors,
            r.rps(),
            ms(r.p(50.0)),
            ms(r.p(99.0)),
            ms(r.outcome.latencies_us.last().copied()),
        );
    }
    println!();
    match ratio {
        Some(x) => println!("ratio GetCallerIdentity / bare (req/s): {x:.3}"),
        None => println!("ratio GetCallerIdentity / bare (req/s): n/a"),
    }
    if let Some(kb) = rss_kb {
        println!("server RSS after load: {:.1} MiB", kb as f64 / 1024.0);
    }
    println!(
        "server stop after SIGTERM (drains the audit queue): {:.2} s",
        stopped_in.as_secs_f64()
    );
}
