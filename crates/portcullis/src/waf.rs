//! `portcullis waf …`: WAF tooling. `crs-test` runs the OWASP CRS regression suite in-process, or over the wire
//! against a running WAF listener (`--target`), reading the matched rules from its WAF log (`--log`).

use std::collections::HashMap;
use std::io::{ErrorKind, Read as _, Seek as _, SeekFrom, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use portcullis_waf_seclang::RuleSet;
use portcullis_waf_seclang::crs_test::judge::Observed;
use portcullis_waf_seclang::crs_test::wire::{self, Exchanged, HeadError};
use portcullis_waf_seclang::crs_test::yaml::Output;
use portcullis_waf_seclang::crs_test::{self, Observer, Outcome, RunOptions};

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
    let summary = match (&args.target, &args.log) {
        (Some(target), Some(log)) => {
            let mut wire = Wire::new(target, log, args.timeout)?;
            eprintln!(
                "crs-test: reading rule phases from {} (tests of response-phase rules are skipped)",
                opts.crs_dir.display()
            );
            match crs_test::load_rules(&opts) {
                Ok((rules, _)) => wire.rules = Some(rules),
                Err(e) => {
                    eprintln!("crs-test: warning: {e}; no test is skipped for its rule's phase")
                }
            }
            eprintln!("crs-test: sending the requests to {} ({target})", wire.addr);
            crs_test::run_observed(&opts.paths, &mut wire, &mut progress)
        }
        _ => {
            eprintln!("crs-test: loading rules from {}", opts.crs_dir.display());
            crs_test::run_with(&opts, &mut progress)
        }
    };

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

/// How long to wait for the WAF log record of a request the web ACL answered (200–399, 403).
const LOG_WAIT: Duration = Duration::from_millis(1500);
/// How long to wait for the record of any other answer (usually the front end's own, which has none).
const SHORT_LOG_WAIT: Duration = Duration::from_millis(150);

/// The over-the-wire observer: one TCP connection per request, matches from the WAF log.
struct Wire {
    addr: SocketAddr,
    timeout: Duration,
    tail: LogTail,
    run: String,
    seq: u64,
    rules: Option<RuleSet>,
}

impl Wire {
    fn new(target: &str, log: &Path, timeout: f64) -> anyhow::Result<Wire> {
        let authority = target
            .strip_prefix("http://")
            .with_context(|| format!("--target {target:?}: only http://HOST:PORT is supported"))?;
        let authority = authority.split('/').next().unwrap_or_default();
        let addr = authority
            .to_socket_addrs()
            .with_context(|| format!("--target {target:?}: cannot resolve {authority:?}"))?
            .next()
            .with_context(|| format!("--target {target:?}: no address for {authority:?}"))?;
        let timeout = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .context("--timeout must be a positive number of seconds")?;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Wire {
            addr,
            timeout,
            tail: LogTail::new(log),
            run: format!("{:x}{:x}", std::process::id(), secs & 0xffff_ffff),
            seq: 0,
            rules: None,
        })
    }

    /// Sends `bytes` on a new connection and reads one response (until complete, closed, or the timeout).
    fn exchange(&self, bytes: &[u8]) -> Exchanged {
        let head_only = bytes.trim_ascii_start().starts_with(b"HEAD ");
        let mut sock = match TcpStream::connect_timeout(&self.addr, self.timeout) {
            Ok(s) => s,
            Err(e) => return Exchanged::Error(format!("connecting to {}: {e}", self.addr)),
        };
        let _ = sock.set_nodelay(true);
        let _ = sock.set_write_timeout(Some(self.timeout));
        // The server may answer (and close) before taking every byte: the response still counts.
        let _ = sock.write_all(bytes);
        let deadline = Instant::now() + self.timeout;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let mut why = "no response";
        loop {
            match wire::parse_response_head(&buf) {
                Ok(h) if wire::response_complete(&h, &buf, head_only) => break,
                Err(HeadError::Invalid(reason)) => return Exchanged::Error(reason),
                _ => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                why = "no complete response within the timeout";
                break;
            }
            let _ = sock.set_read_timeout(Some(left));
            match sock.read(&mut chunk) {
                Ok(0) => {
                    why = "the connection closed without a response";
                    break;
                }
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::Interrupted) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    why = "no complete response within the timeout";
                    break;
                }
                Err(_) => {
                    why = "the connection was reset without a response";
                    break;
                }
            }
        }
        match wire::parse_response_head(&buf) {
            Ok(h) => {
                let body = buf.get(h.head_len..).unwrap_or_default();
                let line = body.split(|&b| b == b'\n').next().unwrap_or_default();
                Exchanged::Response {
                    status: h.status,
                    body_line: String::from_utf8_lossy(line).trim().to_owned(),
                }
            }
            Err(HeadError::Invalid(reason)) => Exchanged::Error(reason),
            Err(HeadError::Incomplete) => Exchanged::Error(why.to_owned()),
        }
    }
}

impl Observer for Wire {
    fn observe(&mut self, label: &str, bytes: &[u8], _port: u16) -> Observed {
        self.seq += 1;
        let label: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
            .collect();
        let marker = format!("{}-{}-{label}", self.run, self.seq);
        let ex = self.exchange(&wire::insert_marker(bytes, &marker));
        let wait = match &ex {
            Exchanged::Response { status, .. } if (200..400).contains(status) || *status == 403 => {
                LOG_WAIT
            }
            _ => SHORT_LOG_WAIT,
        };
        let ids = self.tail.wait_for(&marker, wait);
        wire::observed(ex, ids.as_deref())
    }

    fn unjudgeable(&self, out: &Output) -> Option<String> {
        self.rules
            .as_ref()
            .and_then(|r| wire::response_phase_skip(r, out))
    }
}

/// Follows the WAF log file from its size at start, indexing records by marker.
struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    found: HashMap<String, Vec<u64>>,
}

impl LogTail {
    fn new(path: &Path) -> LogTail {
        LogTail {
            path: path.to_path_buf(),
            offset: std::fs::metadata(path).map_or(0, |m| m.len()),
            partial: Vec::new(),
            found: HashMap::new(),
        }
    }

    fn poll(&mut self) {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return;
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            // Truncated or replaced: start over.
            self.offset = 0;
            self.partial.clear();
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut new = Vec::new();
        let Ok(n) = f.take(len - self.offset).read_to_end(&mut new) else {
            return;
        };
        self.offset += n as u64;
        self.partial.extend_from_slice(&new);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            if let Some(wire::Record {
                marker: Some(m),
                rule_ids,
            }) = wire::parse_record(&String::from_utf8_lossy(&line))
            {
                self.found.insert(m, rule_ids);
            }
        }
    }

    /// The matched rule ids of the record carrying `marker`, waiting at most `wait` for it.
    fn wait_for(&mut self, marker: &str, wait: Duration) -> Option<Vec<u64>> {
        let deadline = Instant::now() + wait;
        loop {
            self.poll();
            if let Some(ids) = self.found.remove(marker) {
                return Some(ids);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(marker: &str, ids: &[u64]) -> String {
        let labels: Vec<String> = ids
            .iter()
            .map(|i| format!(r#"{{"name": "{}{i}"}}"#, wire::CRS_LABEL_PREFIX))
            .collect();
        format!(
            r#"{{"httpRequest": {{"headers": [{{"name": "x-crs-test-id", "value": "{marker}"}}]}}, "labels": [{}]}}"#,
            labels.join(",")
        )
    }

    #[test]
    fn log_tail_follows_appended_records() {
        let dir = std::env::temp_dir().join(format!("crs-wire-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("waf.log");
        // Records already in the file are not this run's.
        std::fs::write(&path, format!("{}\n", record("old", &[1]))).unwrap();
        let mut tail = LogTail::new(&path);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let line = record("a-1", &[942100, 949110]);
        let (first, rest) = line.split_at(20);
        f.write_all(first.as_bytes()).unwrap();
        assert_eq!(tail.wait_for("a-1", Duration::from_millis(10)), None);
        f.write_all(rest.as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(format!("{}\n", record("a-2", &[])).as_bytes())
            .unwrap();
        assert_eq!(
            tail.wait_for("a-1", Duration::from_millis(10)),
            Some(vec![942100, 949110])
        );
        assert_eq!(tail.wait_for("a-2", Duration::ZERO), Some(vec![]));
        assert_eq!(tail.wait_for("old", Duration::ZERO), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn targets_must_be_http() {
        let log = Path::new("/nonexistent/waf.log");
        assert!(Wire::new("https://127.0.0.1:1", log, 1.0).is_err());
        assert!(Wire::new("http://127.0.0.1:1", log, 0.0).is_err());
        let w = Wire::new("http://127.0.0.1:9/", log, 0.5).unwrap();
        assert_eq!(w.addr.port(), 9);
        // Nothing listens on the discard port: the exchange fails, which expect_error tests accept.
        assert!(matches!(
            w.exchange(b"GET / HTTP/1.1\r\n\r\n"),
            Exchanged::Error(_)
        ));
    }
}
