//! Result lines of schema `portcullis-waf-bench/1` (documented in `bench/waf/README.md`), the same schema the
//! nginx + ModSecurity peer writes, so `bench/waf/report.py` puts both in one table.

use serde_json::{Value, json};

use crate::measure::Measurement;

/// The schema id.
pub const SCHEMA: &str = "portcullis-waf-bench/1";

/// Where the CPU figure comes from.
pub const CPU_SOURCE: &str =
    "benchmark thread /proc/thread-self/schedstat run time (in-process, engine only)";

/// Provenance shared by every line of a run.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Host name.
    pub host: String,
    /// CPUs available.
    pub nproc: usize,
    /// UTC start time of the run, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// Rules loaded into the SecLang engine (0 when CRS was not run).
    pub crs_rules: usize,
}

impl Provenance {
    /// Reads the host name and CPU count and takes the current time.
    pub fn now(crs_rules: usize) -> Provenance {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        Provenance {
            host,
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            timestamp: utc_now(),
            crs_rules,
        }
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The 1-minute load average, if readable.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What one line describes besides the measurement.
#[derive(Debug, Clone)]
pub struct Cell<'a> {
    /// `portcullis-waf-core`, `portcullis-seclang` or `portcullis-waf-core+seclang`.
    pub system: &'a str,
    /// The rule configuration id.
    pub config: &'a str,
    /// The request id.
    pub request: &'a str,
    /// Request bytes on the wire.
    pub request_bytes: usize,
    /// Body bytes.
    pub body_bytes: usize,
    /// `form` / `json` for body-size sweep lines.
    pub sweep: Option<&'a str>,
    /// The verdict every iteration gave (`ALLOW`).
    pub verdict: &'a str,
    /// Rules that matched without blocking (CRS ids, counted AWS rules), for the record.
    pub matched: &'a [String],
    /// CPU µs per request of every round, sorted, when the cell was measured in rounds (the line reports the
    /// median round).
    pub rounds_cpu_us: &'a [f64],
}

/// One JSON line.
pub fn line(cell: &Cell<'_>, m: &Measurement, p: &Provenance) -> Value {
    let mut v = json!({
        "schema": SCHEMA,
        "system": cell.system,
        "config": cell.config,
        "request": cell.request,
        "request_bytes": cell.request_bytes,
        "body_bytes": cell.body_bytes,
        "cpu_us_per_req": round2(m.cpu_us()),
        "stat_cpu_us_per_req": round2(m.tick_cpu_us()),
        "wall_us_per_req": round2(m.wall_us()),
        "iterations": m.iterations,
        "duration_s": round3(m.elapsed.wall_ns as f64 / 1e9),
        "cpu_source": CPU_SOURCE,
        "verdict": cell.verdict,
        "matched": cell.matched,
        "versions": {"portcullis": env!("CARGO_PKG_VERSION"), "crs_rules_loaded": p.crs_rules},
        "host": p.host,
        "nproc": p.nproc,
        "timestamp": p.timestamp,
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(load) = loadavg() {
            obj.insert("loadavg_1m".to_owned(), json!(load));
        }
        if !cell.rounds_cpu_us.is_empty() {
            let r: Vec<f64> = cell.rounds_cpu_us.iter().map(|x| round2(*x)).collect();
            obj.insert("rounds_cpu_us".to_owned(), json!(r));
        }
        if let Some(kind) = cell.sweep {
            obj.insert("sweep".to_owned(), json!(kind));
        }
    }
    v
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Elapsed;

    #[test]
    fn line_has_the_schema_fields() {
        let m = Measurement {
            iterations: 1000,
            elapsed: Elapsed {
                run_ns: 5_000_000,
                tick_ns: 10_000_000,
                wall_ns: 6_000_000,
            },
        };
        let cell = Cell {
            system: "portcullis-seclang",
            config: "crs-3.3.4-pl1",
            request: "simple-get",
            request_bytes: 80,
            body_bytes: 0,
            sweep: None,
            verdict: "ALLOW",
            matched: &[],
            rounds_cpu_us: &[4.0, 5.0, 7.0],
        };
        let v = line(&cell, &m, &Provenance::now(921));
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["cpu_us_per_req"], 5.0);
        assert_eq!(v["stat_cpu_us_per_req"], 10.0);
        assert_eq!(v["wall_us_per_req"], 6.0);
        assert_eq!(v["versions"]["crs_rules_loaded"], 921);
        assert!(v.get("sweep").is_none());
        assert_eq!(v["rounds_cpu_us"], json!([4.0, 5.0, 7.0]));
        assert_eq!(v["timestamp"].as_str().unwrap().len(), 20);
    }
}
