//! Where log records go. The request path only hands a record over: [`WriterSink`] (and the [`FileSink`] and
//! [`StdoutSink`] built on it) queue records in a bounded channel read by a background thread that serialises and
//! writes them, and count the records dropped when the queue is full, so a slow disk never slows requests.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::ProxyError;
use crate::logging::record::LogRecord;

/// Receives the log records of the web ACLs it is configured for. Implementations must not block.
pub trait LogSink: Send + Sync {
    /// Takes one record (called on the request path: queue it, do not write synchronously).
    fn write(&self, record: LogRecord);

    /// Records dropped so far because the sink could not keep up.
    fn dropped(&self) -> u64 {
        0
    }

    /// Waits (bounded) until the records handed over so far are written. Never called on the request path.
    fn flush(&self) {}
}

/// Queue length of [`FileSink`] and [`StdoutSink`] unless chosen otherwise.
pub const DEFAULT_QUEUE: usize = 16 * 1024;

enum Msg {
    Record(Box<LogRecord>),
    Flush(SyncSender<()>),
}

/// Writes JSON lines to any writer from a background thread fed through a bounded queue.
pub struct WriterSink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    name: &'static str,
}

impl std::fmt::Debug for WriterSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterSink")
            .field("name", &self.name)
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

fn writer_loop(rx: Receiver<Msg>, mut out: Box<dyn Write + Send>, name: &'static str) {
    let mut buf = std::io::BufWriter::with_capacity(64 * 1024, &mut out);
    let mut failed = false;
    let handle = |msg: Msg, buf: &mut std::io::BufWriter<_>, failed: &mut bool| match msg {
        Msg::Record(r) => {
            let res = serde_json::to_writer(&mut *buf, &*r)
                .map_err(std::io::Error::from)
                .and_then(|()| buf.write_all(b"\n"));
            if let Err(e) = res
                && !*failed
            {
                tracing::error!(sink = name, error = %e, "cannot write WAF log record");
                *failed = true;
            }
        }
        Msg::Flush(done) => {
            let _ = buf.flush();
            let _ = done.send(());
        }
    };
    while let Ok(msg) = rx.recv() {
        handle(msg, &mut buf, &mut failed);
        loop {
            match rx.try_recv() {
                Ok(msg) => handle(msg, &mut buf, &mut failed),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = buf.flush();
                    return;
                }
            }
        }
        if buf.flush().is_err() && !failed {
            tracing::error!(sink = name, "cannot flush WAF log");
            failed = true;
        }
    }
    let _ = buf.flush();
}

impl WriterSink {
    /// Starts the writer thread for `out`, queueing up to `queue` records. The thread ends when the sink is
    /// dropped, after writing what was queued.
    pub fn new(
        out: Box<dyn Write + Send>,
        queue: usize,
        name: &'static str,
    ) -> Result<Self, ProxyError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(queue.max(1));
        std::thread::Builder::new()
            .name(format!("waf-log-{name}"))
            .spawn(move || writer_loop(rx, out, name))
            .map_err(|source| ProxyError::LogSink {
                what: format!("cannot start the {name} log writer"),
                source,
            })?;
        Ok(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            name,
        })
    }
}

impl LogSink for WriterSink {
    fn write(&self, record: LogRecord) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                crate::metrics::log_dropped(self.name);
            }
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn flush(&self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(done)).is_ok() {
            match wait.recv_timeout(Duration::from_secs(5)) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(sink = self.name, "WAF log flush timed out");
                }
            }
        }
    }
}

/// Appends JSON lines to a file (created if missing).
#[derive(Debug)]
pub struct FileSink(WriterSink);

impl FileSink {
    /// Opens `path` for appending with the default queue length.
    pub fn open(path: &Path) -> Result<Self, ProxyError> {
        Self::with_queue(path, DEFAULT_QUEUE)
    }

    /// Opens `path` for appending, queueing up to `queue` records.
    pub fn with_queue(path: &Path, queue: usize) -> Result<Self, ProxyError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| ProxyError::LogSink {
                what: format!("cannot open {}", path.display()),
                source,
            })?;
        Ok(Self(WriterSink::new(Box::new(file), queue, "file")?))
    }
}

impl LogSink for FileSink {
    fn write(&self, record: LogRecord) {
        self.0.write(record);
    }
    fn dropped(&self) -> u64 {
        self.0.dropped()
    }
    fn flush(&self) {
        self.0.flush();
    }
}

/// Writes JSON lines to standard output.
#[derive(Debug)]
pub struct StdoutSink(WriterSink);

impl StdoutSink {
    /// Starts the writer with the default queue length.
    pub fn new() -> Result<Self, ProxyError> {
        Ok(Self(WriterSink::new(
            Box::new(std::io::stdout()),
            DEFAULT_QUEUE,
            "stdout",
        )?))
    }
}

impl LogSink for StdoutSink {
    fn write(&self, record: LogRecord) {
        self.0.write(record);
    }
    fn dropped(&self) -> u64 {
        self.0.dropped()
    }
    fn flush(&self) {
        self.0.flush();
    }
}

/// Keeps records in memory (tests, or an API that serves recent records), up to a bound.
#[derive(Debug)]
pub struct MemorySink {
    records: Mutex<Vec<LogRecord>>,
    max: usize,
    dropped: AtomicU64,
}

impl Default for MemorySink {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl MemorySink {
    /// Keeps up to `max` records; later ones are dropped and counted.
    pub fn new(max: usize) -> Self {
        Self {
            records: Mutex::new(Vec::new()),
            max,
            dropped: AtomicU64::new(0),
        }
    }

    /// The records so far.
    pub fn records(&self) -> Vec<LogRecord> {
        match self.records.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The records so far, as JSON values.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.records().iter().map(LogRecord::to_json).collect()
    }
}

impl LogSink for MemorySink {
    fn write(&self, record: LogRecord) {
        let mut r = match self.records.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        if r.len() < self.max {
            r.push(record);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::record::HttpRequest;
    use std::sync::mpsc::Receiver as StdReceiver;

    fn record(uri: &str) -> LogRecord {
        LogRecord {
            timestamp: 1,
            format_version: 1,
            webacl_id: "arn".into(),
            terminating_rule_id: "Default_Action".into(),
            terminating_rule_type: "REGULAR",
            action: "ALLOW",
            terminating_rule_match_details: Vec::new(),
            http_source_name: "ALB",
            http_source_id: "l".into(),
            rule_group_list: Vec::new(),
            rate_based_rule_list: Vec::new(),
            non_terminating_matching_rules: Vec::new(),
            request_headers_inserted: None,
            response_code_sent: None,
            http_request: HttpRequest {
                client_ip: "192.0.2.1".into(),
                country: "-".into(),
                headers: Vec::new(),
                uri: uri.into(),
                args: String::new(),
                http_version: "HTTP/1.1".into(),
                http_method: "GET".into(),
                request_id: "r".into(),
            },
            labels: None,
            captcha_response: None,
            challenge_response: None,
        }
    }

    /// A writer that blocks until told to go on, then forwards into a shared buffer.
    struct Gate {
        go: StdReceiver<()>,
        out: Arc<Mutex<Vec<u8>>>,
        open: bool,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if !self.open {
                let _ = self.go.recv();
                self.open = true;
            }
            self.out.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_writer_never_blocks_the_caller_and_drops_are_counted() {
        let (go, rx) = std::sync::mpsc::channel();
        let out = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate {
            go: rx,
            out: Arc::clone(&out),
            open: false,
        };
        let sink = WriterSink::new(Box::new(gate), 4, "test").unwrap();
        // A record larger than the writer's buffer reaches the stuck writer and holds the thread.
        let mut big = record("/big");
        big.http_request.args = "a".repeat(100 * 1024);
        sink.write(big);
        std::thread::sleep(Duration::from_millis(200));
        let started = std::time::Instant::now();
        for i in 0..100 {
            sink.write(record(&format!("/{i}")));
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(sink.dropped(), 96, "the queue holds 4");
        go.send(()).unwrap();
        sink.flush();
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["httpRequest"]["uri"], "/0");
    }

    #[test]
    fn memory_sink_is_bounded() {
        let m = MemorySink::new(2);
        for i in 0..5 {
            m.write(record(&format!("/{i}")));
        }
        assert_eq!(m.records().len(), 2);
        assert_eq!(m.dropped(), 3);
        assert_eq!(m.json()[1]["httpRequest"]["uri"], "/1");
    }
}
