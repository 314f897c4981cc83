//! The server under test: `portcullis serve` started as a child process on a free loopback
//! port with a throw-away data directory, and stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The admin access key the server is started with; the load generator signs with it.
pub const ADMIN_KEY_ID: &str = "AKIALOADGEN0000000001";
/// The admin secret (any string of at least 16 characters).
pub const ADMIN_SECRET: &str = "loadgen-secret-0123456789abcdefghij";

/// What the banner line starts with; the address follows it.
const BANNER: &str = "Portcullis is listening on https://";
/// How long the server may take to print its banner (first start creates a CA and a store).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd server may take to drain its audit queue and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(300);

/// A running server.
pub struct Server {
    child: Child,
    /// The `host:port` of the API listener, from the banner.
    pub authority: String,
    /// The CA certificate that signed the listener's certificate.
    pub ca_pem: PathBuf,
    log: PathBuf,
    // Dropped last: the data directory outlives the process.
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts `bin serve` and waits for its banner.
    pub async fn start(bin: &Path) -> Result<Self> {
        let data = tempfile::Builder::new()
            .prefix("portcullis-loadgen-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let data_dir = data.path().join("data");
        let log = data.path().join("server.log");
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            // Port 0: the kernel picks a free port and the banner reports it.
            .arg("--api-listen")
            .arg("127.0.0.1:0")
            .env("PORTCULLIS_ADMIN_ACCESS_KEY_ID", ADMIN_KEY_ID)
            .env("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY", ADMIN_SECRET)
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_API_LISTEN")
            .env_remove("PORTCULLIS_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            // Never leave a server behind if we are torn down without `stop`.
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it with `cargo build --release -p portcullis`)",
                    bin.display()
                )
            })?;

        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let authority = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix(BANNER) {
                    return Ok(rest.trim().trim_end_matches('/').to_owned());
                }
            }
            bail!("the server exited before printing its banner")
        })
        .await
        .context("waiting for the server's banner")?;
        let authority = match authority {
            Ok(a) => a,
            Err(e) => bail!("{e}\n--- server log ---\n{}", tail(&log)),
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        Ok(Self {
            child,
            authority,
            ca_pem: data_dir.join("ca.pem"),
            log,
            _data: data,
        })
    }

    /// The server's resident memory in kB, if the platform reports it.
    pub fn rss_kb(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// CPU time (user + system) the server has used so far, from `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.id()?;
        stat_time_pair(&format!("/proc/{pid}/stat"), UTIME_STIME)
    }

    /// Sends SIGTERM and waits for the server to exit (it drains its audit queue first);
    /// returns how long that took and, where `/proc` tells, the CPU time the server spent
    /// after the signal: the audit records it had queued but not yet stored, which the
    /// per-request figures of the measured windows do not include.
    pub async fn stop(mut self) -> Result<(Duration, Option<Duration>)> {
        let started = Instant::now();
        let before = self.cpu_time().zip(children_cpu_time());
        if let Some(pid) = self.child.id() {
            // `kill(1)` rather than libc: the workspace forbids unsafe code.
            let status = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .context("running kill -TERM")?;
            if !status.success() {
                bail!("kill -TERM {pid} failed");
            }
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                let status = status.context("waiting for the server")?;
                if !status.success() {
                    bail!(
                        "the server exited with {status}\n--- server log ---\n{}",
                        tail(&self.log)
                    );
                }
                let took = started.elapsed();
                // Once reaped, the server's whole CPU time counts among our children's.
                let after = before.and_then(|(server, children)| {
                    let total = children_cpu_time()?.checked_sub(children)?;
                    total.checked_sub(server)
                });
                Ok((took, after))
            }
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("the server did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it")
            }
        }
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

/// CPU time (user + system) this process, the load generator, has used so far.
pub fn own_cpu_time() -> Option<Duration> {
    stat_time_pair("/proc/self/stat", UTIME_STIME)
}

/// CPU time (user + system) of this process's children that have been waited for, from
/// `/proc/self/stat` (`cutime`, `cstime`).
fn children_cpu_time() -> Option<Duration> {
    stat_time_pair("/proc/self/stat", CUTIME_CSTIME)
}

/// Fields of `/proc/<pid>/stat` after the parenthesised command name that come before
/// `utime` and `stime` (the 12th and 13th).
const UTIME_STIME: usize = 11;

/// The same for `cutime` and `cstime`, children's times (the 14th and 15th).
const CUTIME_CSTIME: usize = 13;

/// The sum of the two clock-tick fields of a `/proc/<pid>/stat` file that follow the first
/// `skip` fields after the command name.
fn stat_time_pair(path: &str, skip: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(skip);
    let first: u64 = fields.next()?.parse().ok()?;
    let second: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (first + second) as f64 / clock_ticks_per_sec(),
    ))
}

/// `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times); 100 where it cannot be read.
fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
