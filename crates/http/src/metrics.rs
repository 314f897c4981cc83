//! Prometheus metrics for the API listener.
//!
//! Metric names:
//! - `portcullis_api_requests_total{service,operation,status}`: requests answered.
//! - `portcullis_api_request_duration_seconds{service,operation}`: time to answer.
//! - `portcullis_api_auth_failures_total{reason}`: requests refused before reaching a service.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once and returns its handle. When another
/// recorder was installed first (an embedding program), `/metrics` reports nothing.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Renders the metrics in the Prometheus text format.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}

/// Counts one answered request and its latency.
pub fn request(service: &'static str, operation: &str, status: u16, elapsed: Duration) {
    let op = if operation.is_empty() {
        "unknown"
    } else {
        operation
    };
    let seconds = elapsed.as_secs_f64();
    // Our recorder's handles are shared counters: a handle kept from one call counts the
    // same series as a fresh look-up. Any other recorder is asked every time.
    if matches!(HANDLE.get(), Some(Some(_))) {
        let counted = HANDLES.with_borrow_mut(|cache| {
            let (counter, histogram) = cache.get_or_register(service, op, status)?;
            counter.increment(1);
            histogram.record(seconds);
            Some(())
        });
        if counted.is_some() {
            return;
        }
    }
    let (counter, histogram) = register(service, op, status);
    counter.increment(1);
    histogram.record(seconds);
}

/// Looks up (or creates) the request series of `service`, `op` and `status` in the recorder.
fn register(service: &'static str, op: &str, status: u16) -> Series {
    // Static labels are borrowed, not copied.
    let status_label = match status {
        200 => SharedString::const_str("200"),
        400 => SharedString::const_str("400"),
        403 => SharedString::const_str("403"),
        404 => SharedString::const_str("404"),
        500 => SharedString::const_str("500"),
        503 => SharedString::const_str("503"),
        other => SharedString::from(other.to_string()),
    };
    let op = SharedString::from(op.to_owned());
    let counter = metrics::counter!("portcullis_api_requests_total", "service" => service,
        "operation" => op.clone(), "status" => status_label);
    let histogram = metrics::histogram!("portcullis_api_request_duration_seconds",
        "service" => service, "operation" => op);
    (counter, histogram)
}

/// How many request series one thread keeps handles for; calls for series beyond it look
/// theirs up in the recorder each time, as before.
const CACHED_SERIES: usize = 512;

thread_local! {
    /// This thread's handles to the request series it has counted. The recorder hashes every
    /// label of a series' key on each look-up, which cost more than the counting itself, on
    /// every request.
    static HANDLES: RefCell<SeriesCache> = RefCell::new(SeriesCache::default());
}

/// The handles of one request series: its count and its latency histogram.
type Series = (Counter, Histogram);

/// Request series handles by service and status, then operation.
#[derive(Default)]
struct SeriesCache {
    groups: Vec<SeriesGroup>,
    /// Series in all groups.
    len: usize,
}

/// The series of one service and status, by operation.
struct SeriesGroup {
    service: &'static str,
    status: u16,
    by_operation: HashMap<Box<str>, Series>,
}

impl SeriesCache {
    /// The handles of a series, registered on first use; `None` once the cache is full and
    /// the series is not in it.
    fn get_or_register(&mut self, service: &'static str, op: &str, status: u16) -> Option<&Series> {
        let i = match self
            .groups
            .iter()
            .position(|g| g.service == service && g.status == status)
        {
            Some(i) => i,
            None => {
                if self.len >= CACHED_SERIES {
                    return None;
                }
                self.groups.push(SeriesGroup {
                    service,
                    status,
                    by_operation: HashMap::new(),
                });
                self.groups.len() - 1
            }
        };
        let ops = &mut self.groups.get_mut(i)?.by_operation;
        if !ops.contains_key(op) {
            if self.len >= CACHED_SERIES {
                return None;
            }
            ops.insert(op.into(), register(service, op, status));
            self.len += 1;
        }
        ops.get(op)
    }
}

/// Counts one authentication failure.
pub fn auth_failure(reason: &'static str) {
    metrics::counter!("portcullis_api_auth_failures_total", "reason" => reason).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the `portcullis_api_requests_total` line with these labels, if any.
    fn requests(text: &str, op: &str, status: &str) -> Option<u64> {
        let labels = format!("operation=\"{op}\"");
        text.lines()
            .filter(|l| l.starts_with("portcullis_api_requests_total{"))
            .filter(|l| l.contains(&labels) && l.contains(&format!("status=\"{status}\"")))
            .find_map(|l| l.rsplit(' ').next()?.parse().ok())
    }

    #[test]
    fn cached_handles_count_the_same_series_as_fresh_ones() {
        assert!(handle().is_some(), "our recorder is installed");
        let ms = Duration::from_millis(1);
        for _ in 0..3 {
            request("test-metrics", "CachedOp", 200, ms);
        }
        request("test-metrics", "CachedOp", 404, ms);
        // Another thread starts with an empty cache.
        std::thread::spawn(move || request("test-metrics", "CachedOp", 200, ms))
            .join()
            .ok();
        let text = render();
        assert_eq!(requests(&text, "CachedOp", "200"), Some(4), "{text}");
        assert_eq!(requests(&text, "CachedOp", "404"), Some(1), "{text}");
        let count_line = text
            .lines()
            .find(|l| {
                l.starts_with("portcullis_api_request_duration_seconds_count")
                    && l.contains("operation=\"CachedOp\"")
            })
            .unwrap_or_default();
        assert!(count_line.ends_with(" 5"), "{text}");
    }

    #[test]
    fn a_full_cache_still_counts() {
        assert!(handle().is_some(), "our recorder is installed");
        let ms = Duration::from_millis(1);
        // A thread of its own, so its cache is empty at the start and full at the end.
        std::thread::spawn(move || {
            for i in 0..=CACHED_SERIES {
                request("test-full", &format!("Op{i}"), 200, ms);
            }
            request("test-full", &format!("Op{CACHED_SERIES}"), 200, ms);
        })
        .join()
        .ok();
        let text = render();
        assert_eq!(requests(&text, "Op0", "200"), Some(1), "{text}");
        assert_eq!(
            requests(&text, &format!("Op{CACHED_SERIES}"), "200"),
            Some(2),
            "{text}"
        );
    }
}
