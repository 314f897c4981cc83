//! `portcullis inspector …`: the offline vulnerability database and lockfile scans.
//!
//! * `db import PATH...` reads OSV documents (files, directories, tar/tar.gz/zip archives),
//!   merges them into the existing index (same id replaced, newer `modified` wins; withdrawn
//!   records kept and flagged) and writes `<db>/osv-index.bin` atomically (temporary file, fsync,
//!   rename).
//! * `db status` prints what the index holds.
//! * `scan PATH...` reads the index with one read, scans every lockfile found and prints a table,
//!   Inspector2 JSON, SARIF or CycloneDX. Exit 0 = clean, 1 = vulnerable, 2 = no database or
//!   unreadable input (never a silent "no vulnerabilities").
//! * `network import|show` ([`network`]): the network description file.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use portcullis_config::Overrides;
use portcullis_inspector_core::advisory_db::AdvisoryDb;
use portcullis_inspector_core::index::{IndexMeta, IndexView, SourceInfo, encode, summarize};
use portcullis_inspector_core::report::{self, FileReport, ScanReport};
use portcullis_inspector_core::scan::ScanOptions;
use portcullis_inspector_core::{Error as InspectorError, fs as ifs, lockfile};

pub mod network;

use crate::cli::{
    InspectorCommand, InspectorDbArgs, InspectorDbCommand, InspectorImportArgs, InspectorScanArgs,
    ScanFormat,
};

/// File name of the index inside the database directory.
pub const INDEX_FILE: &str = "osv-index.bin";

/// Exit status when the database is missing or unusable, or the input could not be read.
const EXIT_NO_DB: u8 = 2;

/// Runs an `inspector` subcommand.
pub fn run(command: InspectorCommand) -> Result<ExitCode> {
    match command {
        InspectorCommand::Db {
            command: InspectorDbCommand::Import(args),
        } => import(&args),
        InspectorCommand::Db {
            command: InspectorDbCommand::Status(args),
        } => status(&args),
        InspectorCommand::Scan(args) => scan(&args),
        InspectorCommand::Network { command } => network::run(command),
    }
}

fn db_dir(args: &InspectorDbArgs) -> Result<PathBuf> {
    if let Some(dir) = &args.db {
        return Ok(dir.clone());
    }
    let cfg = crate::serve::resolve(&args.common, Overrides::default())?;
    Ok(cfg.data_dir.join("inspector").join("db"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn no_db(index: &Path) -> ExitCode {
    eprintln!(
        "error: no vulnerability database at {}: run `portcullis inspector db import <OSV files, directories or archives>` first\n\
         (nothing was scanned; this is not a clean result)",
        index.display()
    );
    ExitCode::from(EXIT_NO_DB)
}

/// A simple progress line on stderr (redrawn in place on a terminal, one final line otherwise).
struct Progress {
    tty: bool,
    last: Instant,
    label: String,
}

impl Progress {
    fn new(label: String) -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            last: Instant::now(),
            label,
        }
    }

    fn update(&mut self, done: usize, total: usize) {
        if self.tty && (self.last.elapsed() >= Duration::from_millis(100) || done == total) {
            self.last = Instant::now();
            let width = 30;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            eprint!(
                "\r{} [{}{}] {done}/{total}",
                self.label,
                "#".repeat(filled),
                "-".repeat(width - filled)
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self, msg: &str) {
        if self.tty {
            eprintln!("\r{msg}\x1b[K");
        } else {
            eprintln!("{msg}");
        }
    }
}

fn load_existing(index: &Path) -> Result<Option<(AdvisoryDb, IndexMeta)>> {
    let bytes = match std::fs::read(index) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", index.display())),
    };
    let view = IndexView::open(&bytes).with_context(|| {
        format!(
            "{} is unusable; re-run with --replace to rebuild it from scratch",
            index.display()
        )
    })?;
    Ok(Some((view.to_db()?, view.meta()?)))
}

/// Writes `path` atomically: a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map_or_else(|| INDEX_FILE.into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

fn import(args: &InspectorImportArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let index = db_dir(&args.db)?.join(INDEX_FILE);
    let existing = if args.replace {
        None
    } else {
        load_existing(&index)?
    };
    let (mut db, mut sources) = match existing {
        Some((db, meta)) => (db, meta.sources),
        None => (AdvisoryDb::new(), Vec::new()),
    };
    let before = db.len();
    let mut failed = 0usize;
    for path in &args.paths {
        let label = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string();
        let docs = ifs::read_source(path).with_context(|| format!("reading {label}"))?;
        if docs.is_empty() {
            bail!("{label}: no OSV documents (.json, .yaml, .yml) found");
        }
        let mut progress = Progress::new(format!("importing {label}"));
        let mut errors = 0usize;
        let total = docs.len();
        for (i, (name, bytes)) in docs.iter().enumerate() {
            if let Err(e) = db.insert_bytes(name, bytes) {
                if errors < 10 {
                    eprintln!("\nwarning: skipped {e}");
                }
                errors += 1;
            }
            progress.update(i + 1, total);
        }
        progress.finish(&format!(
            "{label}: {total} documents read, {} imported, {errors} failed",
            total - errors
        ));
        failed += errors;
        sources.retain(|s| s.path != label);
        sources.push(SourceInfo {
            path: label,
            imported_at: now(),
            documents: total,
            errors,
        });
    }
    let meta = summarize(&db, sources, now());
    let bytes = encode(&db, &meta)?;
    write_atomic(&index, &bytes)?;
    println!(
        "wrote {} ({} bytes): {} advisories ({} new, {} withdrawn) in {:.2?}",
        index.display(),
        bytes.len(),
        meta.total,
        meta.total.saturating_sub(before),
        meta.withdrawn,
        started.elapsed()
    );
    for (eco, s) in &meta.ecosystems {
        println!(
            "  {eco:12} {:6} advisories  {:5} withdrawn  {:6} packages",
            s.advisories, s.withdrawn, s.packages
        );
    }
    if failed > 0 {
        eprintln!("warning: {failed} documents could not be imported (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn status(args: &InspectorDbArgs) -> Result<ExitCode> {
    let index = db_dir(args)?.join(INDEX_FILE);
    let bytes = match std::fs::read(&index) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(no_db(&index)),
        Err(e) => return Err(e).with_context(|| format!("reading {}", index.display())),
    };
    let view =
        IndexView::open(&bytes).with_context(|| format!("{} is unusable", index.display()))?;
    let meta = view.meta()?;
    let file_age = std::fs::metadata(&index)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or_else(|| "unknown".to_string(), |d| age(d.as_secs()));
    println!("database   {} ({} bytes)", index.display(), bytes.len());
    println!(
        "written    {} ({file_age} ago)",
        report::rfc3339(meta.built_at)
    );
    println!(
        "advisories {} ({} withdrawn, kept and flagged)",
        meta.total, meta.withdrawn
    );
    println!(
        "newest     modified {}",
        meta.newest_modified.as_deref().unwrap_or("-")
    );
    println!("sources:");
    for s in &meta.sources {
        println!(
            "  {}  imported {}  {} documents, {} failed",
            s.path,
            report::rfc3339(s.imported_at),
            s.documents,
            s.errors
        );
    }
    println!("ecosystems:");
    for (eco, s) in &meta.ecosystems {
        println!(
            "  {eco:12} {:6} advisories  {:5} withdrawn  {:6} packages",
            s.advisories, s.withdrawn, s.packages
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn scan(args: &InspectorScanArgs) -> Result<ExitCode> {
    let index = db_dir(&args.db)?.join(INDEX_FILE);
    let unusable = |e: &dyn std::fmt::Display| {
        eprintln!(
            "error: the vulnerability database at {} is unusable: {e}\n\
             re-create it with `portcullis inspector db import --replace …` (nothing was scanned)",
            index.display()
        );
        ExitCode::from(EXIT_NO_DB)
    };
    // Header and directory only; advisory documents are read on demand.
    let file = match ifs::IndexFile::open(&index) {
        Ok(f) => f,
        Err(InspectorError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(no_db(&index));
        }
        Err(e) => return Ok(unusable(&e)),
    };
    let view = match file.view() {
        Ok(v) => v,
        Err(e) => return Ok(unusable(&e)),
    };
    if view.is_empty() {
        eprintln!(
            "error: the vulnerability database at {} holds no advisories (nothing was scanned)",
            index.display()
        );
        return Ok(ExitCode::from(EXIT_NO_DB));
    }
    let opts = ScanOptions {
        include_withdrawn: args.include_withdrawn,
        target_os: args.target_os.clone(),
        target_arch: args.target_arch.clone(),
        release: None,
    };
    let mut report = ScanReport::default();
    for root in &args.paths {
        let found = match ifs::find_lockfiles(root) {
            Ok(f) => f,
            Err(e) => {
                report
                    .errors
                    .push((root.display().to_string(), e.to_string()));
                continue;
            }
        };
        if found.is_empty() {
            report
                .errors
                .push((root.display().to_string(), "no lockfiles found".to_string()));
        }
        for (path, kind) in found {
            let label = path.display().to_string();
            let parsed = ifs::read_lockfile(&path).and_then(|t| lockfile::parse_lockfile(kind, &t));
            match parsed.and_then(|packages| {
                let findings = view.scan(&packages, &opts)?;
                Ok((packages, findings))
            }) {
                Ok((packages, findings)) => report.files.push(FileReport {
                    path: label,
                    kind,
                    packages,
                    findings,
                }),
                Err(
                    e @ (InspectorError::InvalidIndex(_)
                    | InspectorError::UnsupportedIndexVersion(_)),
                ) => return Ok(unusable(&e)),
                Err(e) => report.errors.push((label, e.to_string())),
            }
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let out = match args.format {
        ScanFormat::Table => report::to_table(&report),
        ScanFormat::Json => pretty(&report::to_inspector_json(&report, now()))?,
        ScanFormat::Sarif => pretty(&report::to_sarif(&report, version))?,
        ScanFormat::Cyclonedx => pretty(&report::to_cyclonedx(&report, version, now()))?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    if args.format != ScanFormat::Table {
        for (path, e) in &report.errors {
            eprintln!("error: {path}: {e}");
        }
    }
    Ok(if report.vulnerabilities() > 0 {
        ExitCode::FAILURE
    } else if !report.errors.is_empty() {
        eprintln!(
            "error: {} inputs could not be scanned; the result is incomplete",
            report.errors.len()
        );
        ExitCode::from(EXIT_NO_DB)
    } else {
        ExitCode::SUCCESS
    })
}

fn pretty(v: &serde_json::Value) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}
