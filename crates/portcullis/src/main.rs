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

/// Turns transparent huge pages off for this process. mimalloc asks for them on its arenas, and
/// it returns memory left free for a second to the kernel; the next allocation there faults a
/// whole 2 MiB page back in, which the kernel zeroes. Under KMS `Encrypt` load that zeroing
/// (`clear_page_erms`) was a tenth of the server's CPU, for a heap of under 100 MiB that gains
/// nothing measurable from larger pages (`docs/benchmarks.md`, KMS "Ninth round").
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        // Not fatal: the process runs as before, only slower.
        eprintln!("warning: could not turn transparent huge pages off: {e}");
    }
}

fn main() -> std::process::ExitCode {
    end_quietly_when_stdout_closes();
    no_transparent_huge_pages();
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
            eprintln!("error: {}", portcullis_common::report(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Exit status of a process that wrote to a closed pipe, as a shell reports one killed by
/// `SIGPIPE` (128 + 13).
const BROKEN_PIPE_STATUS: i32 = 141;

/// `portcullis guard analyze ... | head` closes stdout early. Rust ignores `SIGPIPE`, so the next
/// `println!` panics: end quietly instead, with the status a shell would show for `SIGPIPE`.
/// Every other panic keeps the default report.
fn end_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let stdout_closed = info.payload_as_str().is_some_and(|message| {
            message.starts_with("failed printing to stdout")
                && message.to_ascii_lowercase().contains("broken pipe")
        });
        if stdout_closed {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        default(info);
    }));
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
