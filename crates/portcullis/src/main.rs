//! The `portcullis` binary: parse the command line, resolve the configuration, run.
#![allow(
    clippy::print_stdout,
    reason = "the command-line output is the interface of this crate"
)]

mod agent;
mod ca;
mod cli;
mod guard;
mod inspector;
mod serve;
mod waf;
mod waf_node;

use clap::Parser;

/// mimalloc instead of glibc's malloc: per-thread free lists suit the many small, short-lived
/// allocations of request handling (see `docs/benchmarks.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Config {
            command: cli::ConfigCommand::Check(args),
        } => serve::check_config(&args),
        cli::Command::Ca(args) => ca::run(args),
        cli::Command::Waf {
            command: cli::WafCommand::CrsTest(args),
        } => waf::crs_test(&args),
        cli::Command::Inspector { command } => inspector::run(command),
        cli::Command::Guard { command } => guard::run(command),
        cli::Command::Agent(args) => agent::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
