//! Starting and stopping the real `portcullis` binary.
//!
//! Each server runs on `127.0.0.1:0` (the kernel picks a free port, the banner names it),
//! in a data directory the test owns, with stdout and stderr captured to files so that a
//! failing test can show the server's log. Dropping a [`Server`] kills it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::client::Creds;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// The default account's admin user.
pub const ADMIN_ARN: &str = "arn:aws:iam::000000000000:user/admin";

/// Environment variables of the test process that would change how the binary behaves.
const SCRUBBED_ENV: [&str; 11] = [
    "PORTCULLIS_CONFIG",
    "PORTCULLIS_DATA_DIR",
    "PORTCULLIS_API_LISTEN",
    "PORTCULLIS_STORE",
    "PORTCULLIS_ADMIN_ACCESS_KEY_ID",
    "PORTCULLIS_ADMIN_SECRET_ACCESS_KEY",
    "PORTCULLIS_LOG",
    "PORTCULLIS_ROOT_KEY",
    "PORTCULLIS_PKCS11_PIN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

static STARTS: AtomicUsize = AtomicUsize::new(0);

/// A command line for the binary with a clean environment.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for k in SCRUBBED_ENV {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs a short-lived command (`config check`, `ca ...`) to completion.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env)
        .stdin(Stdio::null())
        .output()
        .expect("running portcullis")
}

/// Text of a command's stdout and stderr, for assertions and failure messages.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// Where the API listens.
    pub addr: SocketAddr,
    /// Everything the server printed on stdout up to and including the banner.
    pub banner: String,
    /// `ca.pem` as written at start.
    pub ca_pem: String,
    /// The admin key from the credentials file.
    pub admin: Creds,
    stderr_path: PathBuf,
}

/// Why a server did not start.
#[derive(Debug)]
pub struct StartFailure {
    /// The exit status, if it exited.
    pub status: Option<ExitStatus>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Server {
    /// Starts a server in `data_dir` (created if missing) with extra arguments and environment.
    pub fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        match Self::try_start(data_dir, args, env) {
            Ok(s) => s,
            Err(f) => panic!(
                "the server did not start (status {:?})\nstdout:\n{}\nstderr:\n{}",
                f.status, f.stdout, f.stderr
            ),
        }
    }

    /// Starts a server, or reports how it failed to start.
    pub fn try_start(
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, StartFailure> {
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let logs = data_dir
            .parent()
            .expect("the data dir has a parent")
            .to_owned();
        let stdout_path = logs.join(format!("server-{n}.stdout"));
        let stderr_path = logs.join(format!("server-{n}.stderr"));
        let data = data_dir.to_str().expect("utf-8 path");
        let mut all_args = vec!["serve", "--data-dir", data, "--api-listen", "127.0.0.1:0"];
        all_args.extend_from_slice(args);
        let mut child = command(&all_args, env)
            .env("PORTCULLIS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .spawn()
            .expect("spawning portcullis serve");
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        let banner = loop {
            let out = read(&stdout_path);
            if out.contains("export AWS_ENDPOINT_URL=") && out.ends_with("\n\n") {
                break out;
            }
            let status = child.try_wait().expect("polling the server");
            if status.is_some() || Instant::now() > deadline {
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(StartFailure {
                    status,
                    stdout: read(&stdout_path),
                    stderr: read(&stderr_path),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let url = banner
            .lines()
            .find_map(|l| l.strip_prefix("Portcullis is listening on https://"))
            .expect("the banner names the URL");
        let addr: SocketAddr = url.trim().parse().expect("the banner's address");
        let ca_pem = std::fs::read_to_string(data_dir.join("ca.pem")).expect("ca.pem");
        let admin = read_credentials(&data_dir.join("credentials"));
        Ok(Server {
            child: Some(child),
            addr,
            banner,
            ca_pem,
            admin,
            stderr_path,
        })
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit.
    pub async fn terminate(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("the server is running");
        let started = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(kill.success(), "kill -TERM failed");
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the server") {
                return (status, started.elapsed());
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not exit within {limit:?} of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            // Yield to the test's runtime so its open connections keep being served.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads the `[portcullis]` profile of a shared credentials file.
pub fn read_credentials(path: &Path) -> Creds {
    let text = std::fs::read_to_string(path).expect("the credentials file");
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{key} missing from {}", path.display()))
    };
    assert!(
        text.lines().next() == Some("[portcullis]"),
        "the credentials file starts with the portcullis profile: {text}"
    );
    Creds {
        id: value("aws_access_key_id"),
        secret: value("aws_secret_access_key"),
        token: None,
    }
}

/// A fresh temporary directory whose `data` subdirectory is the (not yet created) data dir.
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("portcullis-e2e-")
        .tempdir()
        .expect("temp dir");
    let data = tmp.path().join("data");
    (tmp, data)
}
