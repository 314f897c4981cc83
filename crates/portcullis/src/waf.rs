//! `portcullis waf …`: WAF tooling. `crs-test` runs the OWASP CRS regression suite in-process.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use portcullis_waf_seclang::crs_test::{self, Outcome, RunOptions};

use crate::cli::CrsTestArgs;

/// How often a progress line is printed on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Runs `portcullis waf crs-test`.
pub fn crs_test(args: &CrsTestArgs) -> anyhow::Result<ExitCode> {
    let opts = RunOptions {
        crs_dir: args.crs.clone(),
        setup_file: args.setup.clone(),
        paranoia: args.paranoia,
        paths: args.paths.clone(),
    };
    let started = Instant::now();
    let mut last = Instant::now();
    let quiet = args.quiet;
    let mut progress = |done: usize, total: usize, r: &crs_test::TestResult| {
        if r.outcome == Outcome::Failed && !quiet {
            println!(
                "FAIL {} [{}] ({}): {}",
                r.id,
                r.cause.map_or("unknown", |c| c.label()),
                r.file.display(),
                r.reason.as_deref().unwrap_or("")
            );
        }
        if last.elapsed() >= PROGRESS_EVERY || done == total {
            last = Instant::now();
            eprintln!(
                "crs-test: {done}/{total} tests run ({:.0?})",
                started.elapsed()
            );
        }
    };
    eprintln!("crs-test: loading rules from {}", opts.crs_dir.display());
    let summary = crs_test::run_with(&opts, &mut progress);

    if !summary.unsupported_rules.is_empty() {
        eprintln!(
            "crs-test: {} rule(s) could not be loaded and did not run:",
            summary.unsupported_rules.len()
        );
        for u in &summary.unsupported_rules {
            eprintln!("  {u}");
        }
    }
    for e in &summary.errors {
        eprintln!("crs-test: error: {e}");
    }
    let groups = summary.failures_by_cause();
    if !groups.is_empty() {
        println!("failures by cause:");
        for (cause, ids) in &groups {
            println!("  {} ({}): {}", cause.label(), ids.len(), ids.join(" "));
        }
    }
    if let Some(path) = &args.json {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, &summary).context("writing the JSON report")?;
        w.flush().context("writing the JSON report")?;
    }
    println!("{}", summary.final_line());
    Ok(
        if !summary.errors.is_empty() && summary.results.is_empty() {
            ExitCode::from(2)
        } else if summary.failed > 0 && !args.allow_failures {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}
