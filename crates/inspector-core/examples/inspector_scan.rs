//! Minimal stand-alone equivalent of `portcullis inspector scan --db DIR PATH...` (table output),
//! used to time the persisted-index scan path without building the whole server binary.
//!
//! Usage: `inspector_scan INDEX_FILE PATH...`; exit 1 when vulnerabilities are found, 2 on error.
//! When INDEX_FILE is a directory of OSV documents, they are parsed on every run instead (the
//! pre-index path, for comparison).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use portcullis_inspector_core::Error;
use portcullis_inspector_core::report::{FileReport, ScanReport, to_table};
use portcullis_inspector_core::scan::{self, Finding, ScanOptions};
use portcullis_inspector_core::{fs, lockfile};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(index) = args.next() else {
        eprintln!("usage: inspector_scan INDEX_FILE PATH...");
        return ExitCode::from(2);
    };
    if index.is_dir() {
        let Ok((db, _)) = fs::load_dir(&index) else {
            return ExitCode::from(2);
        };
        return run(args, |p| Ok(scan::scan(&db, p, &ScanOptions::default())));
    }
    let file = match fs::IndexFile::open(&index) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "no usable vulnerability database at {}: {e}",
                index.display()
            );
            return ExitCode::from(2);
        }
    };
    let view = match file.view() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    run(args, |p| view.scan(p, &ScanOptions::default()))
}

fn run(
    args: impl Iterator<Item = PathBuf>,
    scan: impl Fn(&[lockfile::Package]) -> Result<Vec<Finding>, Error>,
) -> ExitCode {
    let mut report = ScanReport::default();
    for root in args {
        let Ok(found) = fs::find_lockfiles(&root) else {
            report
                .errors
                .push((root.display().to_string(), "unreadable".into()));
            continue;
        };
        for (path, kind) in found {
            let res = fs::read_lockfile(&path)
                .and_then(|t| lockfile::parse_lockfile(kind, &t))
                .and_then(|p| Ok((scan(&p)?, p)));
            match res {
                Ok((findings, packages)) => report.files.push(FileReport {
                    path: path.display().to_string(),
                    kind,
                    packages,
                    findings,
                }),
                Err(e) => report
                    .errors
                    .push((path.display().to_string(), e.to_string())),
            }
        }
    }
    let _ = std::io::stdout().write_all(to_table(&report).as_bytes());
    if report.vulnerabilities() > 0 {
        ExitCode::FAILURE
    } else if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
