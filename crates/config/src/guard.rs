//! The `[guard]` section: Guard's continuous log sources (`[[guard.sources]]`) and finding exports
//! (`[[guard.exports]]`), as written ([`RawGuard`]) and checked ([`GuardConfig`]).
//!
//! Durations are strings with a unit (`"500ms"`, `"2s"`, `"1m"`). Every problem names the key it is
//! about (`guard.sources.paths`) and the source or export it is in.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::resolve::Problem;
use crate::waf::parse_duration;

/// `[guard]`: log sources that feed the detectors continuously and where findings are exported.
/// Nothing runs unless a source or an export is configured (records pushed with `PutEvents` are
/// always accepted).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawGuard {
    /// How often new and updated findings are written to the GuardDuty API's store, together with
    /// the sources' checkpoints, and exported. Default `"2s"`.
    pub flush_interval: Option<String>,
    /// Learning period of the detectors' baselines (per-identity API profiles, per-instance
    /// network profiles), in days from the first record a detector sees: during it nothing
    /// baseline-based (`*:IAMUser/AnomalousBehavior`, `Behavior:EC2/NetworkPortUnusual`,
    /// `Backdoor:EC2/Spambot`, `Behavior:EC2/TrafficVolumeUnusual`) is reported. 0 to 60;
    /// 0 means no learning period. Default 7.
    pub baseline_days: Option<u32>,
    /// Per-detector learning periods: detector ID (32 hex characters) → days, overriding
    /// `baseline_days`, e.g. `[guard.baseline_days_by_detector] "6ac4...9d10" = 14`.
    #[serde(default)]
    pub baseline_days_by_detector: std::collections::BTreeMap<String, u32>,
    /// How often the running detectors check whether a threat list or trusted IP list changed
    /// (its file was edited); changes made through the API are picked up at once.
    /// Default `"10s"`.
    pub list_reload_interval: Option<String>,
    /// A MaxMind DB city or country database (GeoLite2-City, GeoIP2-Country, ...): findings'
    /// `remoteIpDetails` get `country`, `city` and `geoLocation`. Default: none.
    pub geoip_db: Option<String>,
    /// A MaxMind DB ASN database (GeoLite2-ASN): findings' `remoteIpDetails` get
    /// `organization`, and the per-identity profiles key source networks by ASN instead of
    /// `/24`. Default: none.
    pub asn_db: Option<String>,
    /// Log sources.
    #[serde(default)]
    pub sources: Vec<RawGuardSource>,
    /// Finding exports.
    #[serde(default)]
    pub exports: Vec<RawGuardExport>,
}

/// `[[guard.sources]]`: one log source.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawGuardSource {
    /// A name, unique among the sources. Checkpoints are kept under it: renaming a source reads
    /// its input again from the start. Required; letters, digits, `-`, `_`, `.`.
    pub name: Option<String>,
    /// `"files"` (files and directories, read once or followed), `"nats"` (a NATS JetStream
    /// stream read through a durable pull consumer) or `"stdin"` (the server's standard input,
    /// read as lines until it ends; no checkpoint; at most one such source). Required.
    pub kind: Option<String>,
    /// The detector (32 hex characters) the findings go to. Default: the detector of the
    /// server's account in the server's region, created at start when there is none.
    pub detector: Option<String>,
    /// `kind = "files"`: files, directories (every file under them, recursively) and globs
    /// (`*` and `?` in any path component, e.g. `/var/log/flow/*.log`). Required, at least one.
    pub paths: Option<Vec<String>>,
    /// `kind = "files"`: keep watching for new files and appended lines (only whole lines are
    /// read; a partial last line waits), and follow rotation. `false` reads what is there once.
    /// Default true.
    pub follow: Option<bool>,
    /// `kind = "files"`: time between looks for new data. Default `"1s"`.
    pub poll_interval: Option<String>,
    /// The records' format: `"auto"` (detected per input: CloudTrail, VPC Flow Logs, Route 53
    /// Resolver query logs), `"cloudtrail"`, `"vpcflow"` or `"route53"` (for `kind = "files"`:
    /// files and chunks detected as another format are refused and counted; other kinds always
    /// detect). Default `"auto"`.
    pub format: Option<String>,
    /// The VPC flow-log format, as the flow log's `LogFormat` lists its fields (e.g.
    /// `"${version} ${account-id} ${interface-id} ..."` or the same without `${}`), for files
    /// that carry no header line. Default: the version 2 default format.
    pub flow_format: Option<String>,
    /// `kind = "nats"`: the server, `nats://HOST:PORT`. Required for nats.
    pub url: Option<String>,
    /// `kind = "nats"`: the JetStream stream holding the records. Required for nats.
    pub stream: Option<String>,
    /// `kind = "nats"`: the durable consumer's name; workers configured with the same name share
    /// the stream's messages. Default: the source's name.
    pub consumer: Option<String>,
    /// `kind = "nats"`: only messages on this subject (wildcards allowed). Default: all of the
    /// stream's subjects.
    pub subject: Option<String>,
}

/// `[[guard.exports]]`: where new and updated findings go, one GuardDuty finding JSON per line.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawGuardExport {
    /// `"file"`, `"stdout"`, `"webhook"` or `"nats"`. Required.
    pub kind: Option<String>,
    /// `kind = "file"`: the file, appended to (created if missing). Required for file.
    pub path: Option<String>,
    /// `kind = "webhook"`: `http://` or `https://` URL that receives a POST of JSON lines;
    /// `kind = "nats"`: `nats://HOST:PORT`. Required for both.
    pub url: Option<String>,
    /// `kind = "webhook"` with https: PEM file of the CA certificates to trust. Default: the
    /// system bundle `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_file: Option<String>,
    /// `kind = "webhook"`: extra request headers, e.g. `{ Authorization = "Bearer ..." }`.
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// `kind = "nats"`: the subject findings are published on. Required for nats.
    pub subject: Option<String>,
    /// Findings waiting to be sent; when the queue is full the oldest are dropped and counted.
    /// Default 10000.
    pub queue: Option<u64>,
    /// Whether findings archived by a suppression rule are exported too. Default false
    /// (GuardDuty does not export them).
    pub include_archived: Option<bool>,
}

/// The resolved `[guard]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    /// See [`RawGuard::flush_interval`].
    pub flush_interval: Duration,
    /// See [`RawGuard::baseline_days`].
    pub baseline_days: u32,
    /// See [`RawGuard::baseline_days_by_detector`].
    pub baseline_days_by_detector: std::collections::BTreeMap<String, u32>,
    /// See [`RawGuard::list_reload_interval`].
    pub list_reload_interval: Duration,
    /// See [`RawGuard::geoip_db`].
    pub geoip_db: Option<PathBuf>,
    /// See [`RawGuard::asn_db`].
    pub asn_db: Option<PathBuf>,
    /// Sources.
    pub sources: Vec<GuardSource>,
    /// Exports.
    pub exports: Vec<GuardExport>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            flush_interval: Duration::from_secs(2),
            baseline_days: DEFAULT_BASELINE_DAYS,
            baseline_days_by_detector: std::collections::BTreeMap::new(),
            list_reload_interval: Duration::from_secs(10),
            geoip_db: None,
            asn_db: None,
            sources: Vec::new(),
            exports: Vec::new(),
        }
    }
}

/// Default of `[guard] baseline_days`.
pub const DEFAULT_BASELINE_DAYS: u32 = 7;
/// Largest learning period (the profiles remember 64 days).
pub const MAX_BASELINE_DAYS: u32 = 60;

/// A resolved source.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardSource {
    /// Name.
    pub name: String,
    /// Detector ID; `None`: the server account's detector in the server region.
    pub detector: Option<String>,
    /// Format restriction; `None` is auto.
    pub format: Option<GuardFormat>,
    /// The flow-log format line, when given.
    pub flow_format: Option<String>,
    /// What to read.
    pub input: GuardInput,
}

/// A format a source may be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardFormat {
    /// CloudTrail.
    CloudTrail,
    /// VPC Flow Logs.
    VpcFlow,
    /// Route 53 Resolver query logs.
    Route53,
}

/// What a source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardInput {
    /// Files, directories and globs.
    Files {
        /// The paths.
        paths: Vec<String>,
        /// Follow new files and appended lines.
        follow: bool,
        /// Time between looks.
        poll_interval: Duration,
    },
    /// Standard input, until it ends.
    Stdin,
    /// A JetStream stream through a durable pull consumer.
    Nats {
        /// `nats://HOST:PORT`.
        url: String,
        /// Stream name.
        stream: String,
        /// Durable consumer name.
        consumer: String,
        /// Filter subject.
        subject: Option<String>,
    },
}

/// A resolved export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardExport {
    /// Where to.
    pub target: GuardExportTarget,
    /// Queue bound.
    pub queue: usize,
    /// Export suppressed findings too.
    pub include_archived: bool,
}

/// Where an export sends findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardExportTarget {
    /// Append to a file.
    File(PathBuf),
    /// Standard output.
    Stdout,
    /// POST to a URL.
    Webhook {
        /// `http(s)://...`.
        url: String,
        /// Trusted CAs for https.
        ca_file: Option<PathBuf>,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// Publish on a NATS subject.
    Nats {
        /// `nats://HOST:PORT`.
        url: String,
        /// Subject.
        subject: String,
    },
}

/// Why `url` is not a NATS server list (`nats://HOST:PORT`, several separated by commas, an
/// optional `user:password@`), or `None` when it is one.
pub(crate) fn nats_url_problem(url: &str) -> Option<String> {
    if url.is_empty() {
        return Some("is required (nats://HOST:PORT)".into());
    }
    for one in url.split(',').map(str::trim) {
        let Some(rest) = one.strip_prefix("nats://") else {
            return Some(format!("{one:?} must be nats://HOST:PORT"));
        };
        let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let hostport = hostport.strip_suffix('/').unwrap_or(hostport);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            match v6.split_once(']') {
                Some((h, p)) => (h, p.strip_prefix(':')),
                None => return Some(format!("{one:?} has an unclosed '['")),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.contains(['/', ' ', '?', '#', '@']) {
            return Some(format!("{one:?} has no valid host (nats://HOST:PORT)"));
        }
        if let Some(p) = port
            && !p.parse::<u16>().is_ok_and(|p| p > 0)
        {
            return Some(format!("{one:?}: {p:?} is not a port (1-65535)"));
        }
    }
    None
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn duration(
    problems: &mut Vec<Problem>,
    field: &'static str,
    whose: &str,
    v: Option<&str>,
    default: Duration,
) -> Duration {
    match v {
        None => default,
        Some(s) => match parse_duration(s) {
            Some(d) if d >= Duration::from_millis(10) && d <= Duration::from_secs(3600) => d,
            _ => {
                problems.push(Problem {
                    field,
                    message: format!(
                        "{whose}{s:?} is not a duration between 10ms and 1h such as \"500ms\" or \"2s\""
                    ),
                });
                default
            }
        },
    }
}

/// Checks `[guard]`, pushing every problem.
pub(crate) fn resolve_guard(raw: RawGuard, problems: &mut Vec<Problem>) -> GuardConfig {
    let flush_interval = duration(
        problems,
        "guard.flush_interval",
        "",
        raw.flush_interval.as_deref(),
        Duration::from_secs(2),
    );
    let list_reload_interval = duration(
        problems,
        "guard.list_reload_interval",
        "",
        raw.list_reload_interval.as_deref(),
        Duration::from_secs(10),
    );
    let mut baseline_days = raw.baseline_days.unwrap_or(DEFAULT_BASELINE_DAYS);
    if baseline_days > MAX_BASELINE_DAYS {
        problems.push(Problem {
            field: "guard.baseline_days",
            message: format!("{baseline_days} is more than {MAX_BASELINE_DAYS} days"),
        });
        baseline_days = DEFAULT_BASELINE_DAYS;
    }
    let mut baseline_days_by_detector = std::collections::BTreeMap::new();
    for (d, days) in raw.baseline_days_by_detector {
        if !(d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit())) {
            problems.push(Problem {
                field: "guard.baseline_days_by_detector",
                message: format!("{d:?} is not a detector ID (32 hex characters)"),
            });
        } else if days > MAX_BASELINE_DAYS {
            problems.push(Problem {
                field: "guard.baseline_days_by_detector",
                message: format!("detector {d}: {days} is more than {MAX_BASELINE_DAYS} days"),
            });
        } else {
            baseline_days_by_detector.insert(d.to_ascii_lowercase(), days);
        }
    }
    let mut names = HashSet::new();
    let sources = raw
        .sources
        .into_iter()
        .filter_map(|s| resolve_source(s, problems, &mut names))
        .collect();
    let exports = raw
        .exports
        .into_iter()
        .filter_map(|e| resolve_export(e, problems))
        .collect();
    GuardConfig {
        flush_interval,
        baseline_days,
        baseline_days_by_detector,
        list_reload_interval,
        geoip_db: raw.geoip_db.map(PathBuf::from),
        asn_db: raw.asn_db.map(PathBuf::from),
        sources,
        exports,
    }
}

fn resolve_source(
    s: RawGuardSource,
    problems: &mut Vec<Problem>,
    names: &mut HashSet<String>,
) -> Option<GuardSource> {
    let mut push = |field: &'static str, message: String| problems.push(Problem { field, message });
    let name = s.name.clone().unwrap_or_default();
    let whose = format!("source {name:?}: ");
    let mut ok = true;
    if !valid_name(&name) {
        push(
            "guard.sources.name",
            format!("{name:?} must be 1 to 64 letters, digits, '-', '_' or '.'"),
        );
        ok = false;
    } else if !names.insert(name.clone()) {
        push(
            "guard.sources.name",
            format!("{name:?} is used by another source"),
        );
        ok = false;
    }
    if let Some(d) = &s.detector
        && !(d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        push(
            "guard.sources.detector",
            format!("{whose}{d:?} is not a detector ID (32 hex characters)"),
        );
        ok = false;
    }
    let format = match s.format.as_deref() {
        None | Some("auto") => None,
        Some("cloudtrail") => Some(GuardFormat::CloudTrail),
        Some("vpcflow") => Some(GuardFormat::VpcFlow),
        Some("route53") => Some(GuardFormat::Route53),
        Some(other) => {
            push(
                "guard.sources.format",
                format!(
                    "{whose}{other:?} is not \"auto\", \"cloudtrail\", \"vpcflow\" or \"route53\""
                ),
            );
            ok = false;
            None
        }
    };
    if s.flow_format
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        push(
            "guard.sources.flow_format",
            format!("{whose}must list the flow log's fields"),
        );
        ok = false;
    }
    let files_only = [
        ("guard.sources.paths", s.paths.is_some()),
        ("guard.sources.follow", s.follow.is_some()),
        ("guard.sources.poll_interval", s.poll_interval.is_some()),
    ];
    let nats_only = [
        ("guard.sources.url", s.url.is_some()),
        ("guard.sources.stream", s.stream.is_some()),
        ("guard.sources.consumer", s.consumer.is_some()),
        ("guard.sources.subject", s.subject.is_some()),
    ];
    let input = match s.kind.as_deref() {
        Some("files") => {
            for (field, set) in nats_only {
                if set {
                    push(field, format!("{whose}is only for kind = \"nats\""));
                    ok = false;
                }
            }
            let paths = s.paths.clone().unwrap_or_default();
            if paths.is_empty() || paths.iter().any(String::is_empty) {
                push(
                    "guard.sources.paths",
                    format!("{whose}needs at least one file, directory or glob, none empty"),
                );
                ok = false;
            }
            let poll_interval = duration(
                problems,
                "guard.sources.poll_interval",
                &whose,
                s.poll_interval.as_deref(),
                Duration::from_secs(1),
            );
            GuardInput::Files {
                paths,
                follow: s.follow.unwrap_or(true),
                poll_interval,
            }
        }
        Some("stdin") => {
            for (field, set) in files_only.into_iter().chain(nats_only) {
                if set {
                    push(
                        field,
                        format!("{whose}is not an option of kind = \"stdin\""),
                    );
                    ok = false;
                }
            }
            if !names.insert("\u{0}stdin".to_owned()) {
                push(
                    "guard.sources.kind",
                    format!("{whose}only one source may read stdin"),
                );
                ok = false;
            }
            GuardInput::Stdin
        }
        Some("nats") => {
            for (field, set) in files_only {
                if set {
                    push(field, format!("{whose}is only for kind = \"files\""));
                    ok = false;
                }
            }
            let url = s.url.clone().unwrap_or_default();
            if let Some(why) = nats_url_problem(&url) {
                push("guard.sources.url", format!("{whose}{why}"));
                ok = false;
            }
            let stream = s.stream.clone().unwrap_or_default();
            if !valid_name(&stream) {
                push(
                    "guard.sources.stream",
                    format!("{whose}{stream:?} is not a stream name"),
                );
                ok = false;
            }
            let consumer = s.consumer.clone().unwrap_or_else(|| name.clone());
            if !valid_name(&consumer) || consumer.contains('.') {
                push(
                    "guard.sources.consumer",
                    format!(
                        "{whose}{consumer:?} is not a consumer name (letters, digits, '-', '_')"
                    ),
                );
                ok = false;
            }
            if s.subject
                .as_deref()
                .is_some_and(|x| x.is_empty() || x.contains(' '))
            {
                push("guard.sources.subject", format!("{whose}is not a subject"));
                ok = false;
            }
            GuardInput::Nats {
                url,
                stream,
                consumer,
                subject: s.subject.clone(),
            }
        }
        other => {
            push(
                "guard.sources.kind",
                format!(
                    "{whose}{:?} is not \"files\", \"nats\" or \"stdin\"",
                    other.unwrap_or("")
                ),
            );
            return None;
        }
    };
    ok.then_some(GuardSource {
        name,
        detector: s.detector.map(|d| d.to_ascii_lowercase()),
        format,
        flow_format: s.flow_format,
        input,
    })
}

fn resolve_export(e: RawGuardExport, problems: &mut Vec<Problem>) -> Option<GuardExport> {
    let mut push = |field: &'static str, message: String| problems.push(Problem { field, message });
    let kind = e.kind.clone().unwrap_or_default();
    let whose = format!("export {kind:?}: ");
    let queue = e.queue.unwrap_or(10_000);
    let mut ok = true;
    if !(1..=1_000_000).contains(&queue) {
        push(
            "guard.exports.queue",
            format!("{whose}{queue} is outside 1..=1000000"),
        );
        ok = false;
    }
    let mut refuse =
        |field: &'static str, set: bool, push: &mut dyn FnMut(&'static str, String)| {
            if set {
                push(field, format!("{whose}is not an option of this kind"));
                ok = false;
            }
        };
    let target = match kind.as_str() {
        "file" => {
            refuse("guard.exports.url", e.url.is_some(), &mut push);
            refuse("guard.exports.subject", e.subject.is_some(), &mut push);
            match e.path.as_deref() {
                Some(p) if !p.is_empty() => GuardExportTarget::File(PathBuf::from(p)),
                _ => {
                    push("guard.exports.path", format!("{whose}is required"));
                    return None;
                }
            }
        }
        "stdout" => {
            refuse("guard.exports.path", e.path.is_some(), &mut push);
            refuse("guard.exports.url", e.url.is_some(), &mut push);
            GuardExportTarget::Stdout
        }
        "webhook" => {
            refuse("guard.exports.path", e.path.is_some(), &mut push);
            refuse("guard.exports.subject", e.subject.is_some(), &mut push);
            let url = e.url.clone().unwrap_or_default();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                push(
                    "guard.exports.url",
                    format!("{whose}must be an http:// or https:// URL"),
                );
                return None;
            }
            GuardExportTarget::Webhook {
                url,
                ca_file: e.ca_file.clone().map(PathBuf::from),
                headers: e.headers.clone().unwrap_or_default().into_iter().collect(),
            }
        }
        "nats" => {
            refuse("guard.exports.path", e.path.is_some(), &mut push);
            let url = e.url.clone().unwrap_or_default();
            let subject = e.subject.clone().unwrap_or_default();
            if let Some(why) = nats_url_problem(&url) {
                push("guard.exports.url", format!("{whose}{why}"));
                return None;
            }
            if subject.is_empty() || subject.contains([' ', '*', '>']) {
                push(
                    "guard.exports.subject",
                    format!("{whose}needs a subject without wildcards"),
                );
                return None;
            }
            GuardExportTarget::Nats { url, subject }
        }
        _ => {
            push(
                "guard.exports.kind",
                format!("{kind:?} is not \"file\", \"stdout\", \"webhook\" or \"nats\""),
            );
            return None;
        }
    };
    ok.then(|| GuardExport {
        target,
        queue: usize::try_from(queue).unwrap_or(10_000),
        include_archived: e.include_archived.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Overrides, RawConfig};

    #[test]
    fn resolves_sources_and_exports() {
        let c = RawConfig::from_toml(
            r#"
[guard]
flush_interval = "500ms"
[[guard.sources]]
name = "flows"
kind = "files"
paths = ["/var/log/flow/*.log"]
follow = false
format = "vpcflow"
flow_format = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
[[guard.sources]]
name = "bus"
kind = "nats"
url = "nats://127.0.0.1:4222"
stream = "LOGS"
detector = "ABCDEF0123456789abcdef0123456789"
[[guard.exports]]
kind = "file"
path = "/tmp/f.jsonl"
[[guard.exports]]
kind = "webhook"
url = "https://siem.example/ingest"
headers = { Authorization = "Bearer x" }
queue = 5
"#,
        )
        .unwrap()
        .resolve(&Overrides::default())
        .unwrap();
        let g = c.guard;
        assert_eq!(g.flush_interval, Duration::from_millis(500));
        assert_eq!(g.sources.len(), 2);
        assert_eq!(g.sources[0].format, Some(GuardFormat::VpcFlow));
        assert_eq!(
            g.sources[0].input,
            GuardInput::Files {
                paths: vec!["/var/log/flow/*.log".into()],
                follow: false,
                poll_interval: Duration::from_secs(1)
            }
        );
        assert_eq!(
            g.sources[1].detector.as_deref(),
            Some("abcdef0123456789abcdef0123456789")
        );
        match &g.sources[1].input {
            GuardInput::Nats { consumer, .. } => assert_eq!(consumer, "bus"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            g.exports[0].target,
            GuardExportTarget::File("/tmp/f.jsonl".into())
        );
        assert_eq!(g.exports[1].queue, 5);
        assert!(!g.exports[1].include_archived);
    }

    #[test]
    fn problems_name_their_keys() {
        let e = RawConfig::from_toml(
            r#"
[guard]
flush_interval = "2"
[[guard.sources]]
name = "a"
kind = "files"
[[guard.sources]]
name = "a"
kind = "nats"
url = "http://x"
stream = "S"
paths = ["/x"]
[[guard.sources]]
name = "b"
kind = "tcp"
[[guard.sources]]
name = "in1"
kind = "stdin"
[[guard.sources]]
name = "in2"
kind = "stdin"
follow = true
[[guard.exports]]
kind = "webhook"
url = "ftp://x"
[[guard.exports]]
kind = "fax"
"#,
        )
        .unwrap()
        .resolve(&Overrides::default())
        .unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "guard.flush_interval",
                "guard.sources.paths",
                "guard.sources.name",
                "guard.sources.paths",
                "guard.sources.url",
                "guard.sources.kind",
                "guard.sources.follow",
                "guard.sources.kind",
                "guard.exports.url",
                "guard.exports.kind",
            ],
            "{e}"
        );
    }

    #[test]
    fn nats_urls() {
        for good in [
            "nats://127.0.0.1:4222",
            "nats://nats.internal",
            "nats://u:p@h:4222",
            "nats://[::1]:4222",
            "nats://a:4222, nats://b:4223",
        ] {
            assert_eq!(nats_url_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "http://x:4222",
            "nats://",
            "nats://:4222",
            "nats://h:port",
            "nats://h:0",
            "nats://h:70000",
            "nats://[::1:4222",
            "nats://a:4222,http://b",
        ] {
            assert!(nats_url_problem(bad).is_some(), "{bad}");
        }
        let e = RawConfig::from_toml(
            "[[guard.sources]]\nname = \"n\"\nkind = \"nats\"\nurl = \"nats://h:42x\"\nstream = \"S\"\n",
        )
        .unwrap()
        .resolve(&Overrides::default())
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("source \"n\": \"nats://h:42x\": \"42x\" is not a port"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn nats_url_check_never_panics(url in "(nats://)?\\PC{0,60}") {
            let _ = nats_url_problem(&url);
        }
    }

    #[test]
    fn unknown_guard_keys_are_refused() {
        let raw = RawConfig::from_toml(
            "[[guard.sources]]\nname = \"a\"\nkind = \"files\"\npaths = [\"/x\"]\nfollw = true\n",
        )
        .unwrap();
        let e = raw.resolve(&Overrides::default()).unwrap_err().to_string();
        assert!(e.contains("unknown field `guard.sources.0.follw`"), "{e}");
    }

    #[test]
    fn no_section_means_nothing_runs() {
        let c = RawConfig::default().resolve(&Overrides::default()).unwrap();
        assert_eq!(c.guard, GuardConfig::default());
    }
}
