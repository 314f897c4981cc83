//! `portcullis-loadgen`: API throughput of signed STS and KMS calls against the bare HTTPS
//! endpoint `GET /health` of the same server, measured in the same run.
//!
//! Every operation goes through the same listener, TLS stack and keep-alive HTTP/1.1
//! connections; only the signed calls pay for SigV4, the IAM look-ups, policy decisions, the
//! KMS work and the audit record. The ratio of each request rate to `/health`'s at the same
//! connection count is therefore the cost of that work, on this machine, today. `sign-p256`
//! is also compared with raw aws-lc-rs signing per core. See `docs/benchmarks.md`.
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool whose output is its report"
)]

mod baseline;
mod load;
mod server;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use load::{Fixtures, Op, Outcome, Plan};
use server::Server;

/// Measures signed STS and KMS calls against GET /health of the same Portcullis server.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The `portcullis` binary to start.
    #[arg(long = "bin", default_value = "target/release/portcullis")]
    bin: PathBuf,
    /// Operations to measure, comma-separated; `health` is always measured (it is the
    /// baseline of every ratio).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "health,get-caller-identity,encrypt,decrypt,generate-data-key,sign-p256,generate-mac"
    )]
    ops: Vec<Op>,
    /// Concurrent keep-alive connections, comma-separated; every operation is measured at
    /// each count (1-1024).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,32",
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    connections: Vec<u16>,
    /// Seconds of warm-up per operation, not counted (0-60).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=60))]
    warmup_secs: u64,
    /// Seconds of measurement per operation (1-300).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    duration_secs: u64,
    /// Seconds of the in-process raw aws-lc-rs P-256 signing baseline (0 skips it).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=60))]
    raw_sign_secs: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// One operation's figures at one connection count.
struct Row {
    op: Op,
    connections: u16,
    outcome: Outcome,
    seconds: f64,
    /// Server CPU time (user + system) during the measurement window.
    server_cpu: Option<Duration>,
    /// The load generator's own CPU time during the measurement window: on a shared
    /// machine it competes with the server, so it is reported beside it.
    client_cpu: Option<Duration>,
}

impl Row {
    fn rps(&self) -> f64 {
        self.outcome.ok as f64 / self.seconds
    }

    fn p(&self, q: f64) -> Option<u32> {
        load::percentile(&self.outcome.latencies_us, q)
    }

    /// Server CPU microseconds per successful request.
    fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.outcome.ok > 0).then(|| cpu.as_secs_f64() * 1e6 / self.outcome.ok as f64)
    }

    /// Load-generator CPU microseconds per successful request.
    fn client_us_per_request(&self) -> Option<f64> {
        let cpu = self.client_cpu?;
        (self.outcome.ok > 0).then(|| cpu.as_secs_f64() * 1e6 / self.outcome.ok as f64)
    }
}

/// Everything measured.
struct Report {
    rows: Vec<Row>,
    /// Raw aws-lc-rs P-256 signatures per second on one core.
    raw_sign_per_core: Option<f64>,
}

impl Report {
    fn health_rps(&self, connections: u16) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.op == Op::Health && r.connections == connections)
            .map(Row::rps)
            .filter(|x| *x > 0.0)
    }

    fn ratio_to_health(&self, r: &Row) -> Option<f64> {
        self.health_rps(r.connections).map(|h| r.rps() / h)
    }

    /// `sign-p256` per server core against raw signing per core, two ways: throughput / 2
    /// (the server may use both cores), and requests per server CPU-second (what the server
    /// process actually spent, the client's share excluded).
    fn sign_ratios(&self, r: &Row) -> Option<(f64, Option<f64>)> {
        let raw = self.raw_sign_per_core.filter(|x| *x > 0.0)?;
        let per_cpu_second = r.cpu_us_per_request().map(|us| 1e6 / us / raw);
        Some((r.rps() / SERVER_CORES / raw, per_cpu_second))
    }
}

/// The server runs on this machine's two cores (shared with the client).
const SERVER_CORES: f64 = 2.0;

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
            eprintln!("error: {}", portcullis_common::report(&*e));
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
    let (stopped_in, stop_cpu) = server.stop().await?;
    let rows = match outcome {
        Ok(rows) => rows,
        Err(e) => bail!(
            "{}\n--- server log ---\n{log_tail}",
            portcullis_common::report(&*e)
        ),
    };
    // With the server gone, the raw baseline has both cores to itself; it uses one.
    let raw_sign_per_core = if args.raw_sign_secs > 0 && args.ops.contains(&Op::SignP256) {
        let d = Duration::from_secs(args.raw_sign_secs);
        Some(
            tokio::task::spawn_blocking(move || baseline::raw_p256_signs_per_sec(d))
                .await
                .context("the raw signing baseline panicked")??,
        )
    } else {
        None
    };
    let report = Report {
        rows,
        raw_sign_per_core,
    };
    print_report(&args, &report, rss_kb, (stopped_in, stop_cpu));
    let failed = report
        .rows
        .iter()
        .any(|r| r.outcome.errors > 0 || r.outcome.ok == 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Makes the KMS fixtures, then measures every operation at every connection count, each on
/// fresh connections, `health` first.
async fn measure(args: &Args, server: &Server) -> Result<Vec<Row>> {
    let tls = load::tls_connector(&server.ca_pem)?;
    let mut ops = vec![Op::Health];
    ops.extend(args.ops.iter().copied().filter(|o| *o != Op::Health));
    ops.dedup();
    let fixtures = Arc::new(if ops.iter().any(|o| o.needs_kms()) {
        Fixtures::create(&server.authority, &tls).await?
    } else {
        Fixtures::default()
    });
    let mut rows = Vec::new();
    for &connections in &args.connections {
        for &op in &ops {
            let plan = Plan {
                authority: server.authority.clone(),
                connections: usize::from(connections),
                warmup: Duration::from_secs(args.warmup_secs),
                measure: Duration::from_secs(args.duration_secs),
            };
            if !args.json {
                println!(
                    "{}: {connections} connections, {} s warm-up, {} s measured ...",
                    op.name(),
                    args.warmup_secs,
                    args.duration_secs
                );
            }
            let cpu_window = async {
                tokio::time::sleep(plan.warmup).await;
                let before = (server.cpu_time(), server::own_cpu_time());
                tokio::time::sleep(plan.measure).await;
                let after = (server.cpu_time(), server::own_cpu_time());
                let spent = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
                (spent(after.0, before.0), spent(after.1, before.1))
            };
            let (outcome, (server_cpu, client_cpu)) =
                tokio::join!(load::run(op, &plan, &tls, &fixtures), cpu_window);
            let mut outcome = outcome?;
            outcome.latencies_us.sort_unstable();
            for e in &outcome.error_samples {
                eprintln!("  {} error: {e}", op.name());
            }
            rows.push(Row {
                op,
                connections,
                outcome,
                seconds: plan.measure.as_secs_f64(),
                server_cpu,
                client_cpu,
            });
        }
    }
    Ok(rows)
}

fn ms(us: Option<u32>) -> String {
    us.map_or_else(
        || "-".to_owned(),
        |v| format!("{:.2}", f64::from(v) / 1000.0),
    )
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn print_report(
    args: &Args,
    report: &Report,
    rss_kb: Option<u64>,
    (stopped_in, stop_cpu): (Duration, Option<Duration>),
) {
    let sign_rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.op == Op::SignP256)
        .collect();
    if args.json {
        let rows: Vec<serde_json::Value> = report
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "op": r.op.name(),
                    "connections": r.connections,
                    "ok": r.outcome.ok,
                    "errors": r.outcome.errors,
                    "seconds": r.seconds,
                    "requests_per_second": r.rps(),
                    "p50_us": r.p(50.0),
                    "p99_us": r.p(99.0),
                    "max_us": r.outcome.latencies_us.last(),
                    "ratio_to_health": report.ratio_to_health(r),
                    "server_cpu_us_per_request": r.cpu_us_per_request(),
                    "loadgen_cpu_us_per_request": r.client_us_per_request(),
                })
            })
            .collect();
        let sign: Vec<serde_json::Value> = sign_rows
            .iter()
            .filter_map(|r| {
                let (per_core, per_cpu) = report.sign_ratios(r)?;
                Some(serde_json::json!({
                    "connections": r.connections,
                    "ratio_rps_over_2_cores": per_core,
                    "ratio_per_server_cpu_second": per_cpu,
                }))
            })
            .collect();
        let v = serde_json::json!({
            "warmup_secs": args.warmup_secs,
            "duration_secs": args.duration_secs,
            "rows": rows,
            "raw_p256_signs_per_sec_one_core": report.raw_sign_per_core,
            "sign_p256_vs_raw": sign,
            "server_rss_kb_after_load": rss_kb,
            "server_stop_secs": stopped_in.as_secs_f64(),
            "server_stop_cpu_secs": stop_cpu.map(|d| d.as_secs_f64()),
        });
        println!("{v}");
        return;
    }
    println!();
    println!(
        "{:<20} {:>5} {:>9} {:>6} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10}",
        "op",
        "conns",
        "ok",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "/ health",
        "srv µs/req",
        "gen µs/req"
    );
    for r in &report.rows {
        println!(
            "{:<20} {:>5} {:>9} {:>6} {:>10.1} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10}",
            r.op.name(),
            r.connections,
            r.outcome.ok,
            r.outcome.errors,
            r.rps(),
            ms(r.p(50.0)),
            ms(r.p(99.0)),
            ms(r.outcome.latencies_us.last().copied()),
            opt(report.ratio_to_health(r), 3),
            opt(r.cpu_us_per_request(), 0),
            opt(r.client_us_per_request(), 0),
        );
    }
    println!();
    println!("\"/ health\": req/s over health's req/s at the same connection count.");
    println!("\"srv µs/req\": server CPU (user + system) per request in the measured window.");
    println!("\"gen µs/req\": this load generator's own CPU per request in the same window.");
    if let Some(raw) = report.raw_sign_per_core {
        println!();
        println!("raw aws-lc-rs ECDSA P-256 sign (32-byte message), one core: {raw:.0}/s");
        for r in &sign_rows {
            if let Some((per_core, per_cpu)) = report.sign_ratios(r) {
                println!(
                    "sign-p256 at {} connections: req/s / {SERVER_CORES} cores / raw = {per_core:.3}; \
                     req per server CPU-second / raw = {}",
                    r.connections,
                    opt(per_cpu, 3)
                );
            }
        }
    }
    if let Some(kb) = rss_kb {
        println!("server RSS after load: {:.1} MiB", kb as f64 / 1024.0);
    }
    println!(
        "server stop after SIGTERM (drains the audit queue): {:.2} s",
        stopped_in.as_secs_f64()
    );
    if let Some(cpu) = stop_cpu {
        println!(
            "server CPU after SIGTERM (audit records not yet stored, absent from srv µs/req): {:.2} s",
            cpu.as_secs_f64()
        );
    }
}
