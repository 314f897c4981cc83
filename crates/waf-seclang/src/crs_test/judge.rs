//! Judging one stage's observations against its `output` expectations (ftw 1.3 semantics).
//!
//! - `log_contains` / `no_log_contains` are regular expressions searched in each log line the engine wrote
//!   for this request (the `Display` form of [`crate::LogEntry`], e.g. `… [id "942100"] …`).
//! - `status` is compared with the status the client would get *if the engine were `On`*: the front end's own
//!   answer when it refuses the request ([`super::http1`]), otherwise the status of the first rule whose
//!   disruptive action would have run (`deny` → its `status`, 403 by default), otherwise 200 (the backend's
//!   answer). The engine runs in `DetectionOnly` so that every rule logs, as the suite requires; judging the
//!   would-be status is how the suite's blocking expectations stay meaningful.
//! - `expect_error: true` passes when the exchange fails (no parseable response: HTTP/0.9, a body the server
//!   waits for, a dropped connection). A failing exchange without `expect_error` is a failure, as in ftw.
//! - `response_contains` needs a real backend: such stages are skipped.

use regex::Regex;
use serde::Serialize;

use super::yaml::{Output, scalar};

/// What happened to one request.
#[derive(Debug, Clone)]
pub enum Observed {
    /// The client received a response with `status`, and the engine wrote `logs` (empty when the front end
    /// answered by itself).
    Response {
        /// The status the client gets.
        status: u16,
        /// The log lines of this request.
        logs: Vec<String>,
        /// Why the front end answered by itself, when it did.
        front_end: Option<String>,
    },
    /// No parseable response.
    Error {
        /// Why.
        reason: String,
        /// The log lines written before the exchange failed (a dropped connection still logs).
        logs: Vec<String>,
    },
}

/// Why a stage failed (for grouping failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A `log_contains` regex matched no log line.
    MissingLog,
    /// A `no_log_contains` regex matched a log line.
    UnexpectedLog,
    /// The status was not among the expected ones.
    Status,
    /// `expect_error` was set but the exchange succeeded.
    NoError,
    /// The exchange failed although no error was expected.
    Exchange,
    /// The test itself is unusable (bad regex, bad request description).
    InvalidTest,
}

impl Cause {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::MissingLog => "expected rule did not log (log_contains)",
            Self::UnexpectedLog => "rule logged but must not (no_log_contains)",
            Self::Status => "status mismatch",
            Self::NoError => "expect_error: the exchange did not fail",
            Self::Exchange => "the exchange failed unexpectedly",
            Self::InvalidTest => "invalid test",
        }
    }
}

/// The verdict on one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation holds.
    Pass,
    /// An expectation does not hold.
    Fail(Cause, String),
    /// The stage cannot be judged here.
    Skip(String),
}

fn regex_of(v: &serde_yaml::Value) -> Result<Regex, String> {
    let text = scalar(v).ok_or("the regex is not a string")?;
    Regex::new(&text).map_err(|e| format!("regex {text:?} does not compile: {e}"))
}

/// Judges `obs` against `out`.
pub fn judge(out: &Output, obs: &Observed) -> Verdict {
    if out.response_contains.is_some() {
        return Verdict::Skip("response_contains needs a real backend".into());
    }
    let (logs, status) = match obs {
        Observed::Error { reason, logs } => {
            if out.expect_error == Some(true) {
                return Verdict::Pass;
            }
            let _ = logs;
            return Verdict::Fail(Cause::Exchange, reason.clone());
        }
        Observed::Response {
            status,
            logs,
            front_end,
        } => {
            if out.expect_error == Some(true) {
                let why = front_end
                    .as_deref()
                    .map_or(String::new(), |f| format!(" (front end: {f})"));
                return Verdict::Fail(Cause::NoError, format!("got a {status} response{why}"));
            }
            (logs, *status)
        }
    };
    if let Some(expected) = out.statuses()
        && !expected.contains(&status)
    {
        let why = match obs {
            Observed::Response {
                front_end: Some(f), ..
            } => format!(" (front end: {f})"),
            _ => String::new(),
        };
        return Verdict::Fail(
            Cause::Status,
            format!("status {status}, expected one of {expected:?}{why}"),
        );
    }
    if let Some(v) = &out.log_contains {
        let re = match regex_of(v) {
            Ok(r) => r,
            Err(e) => return Verdict::Fail(Cause::InvalidTest, e),
        };
        if !logs.iter().any(|l| re.is_match(l)) {
            let ids = ids_of(logs);
            let why = match obs {
                Observed::Response {
                    front_end: Some(f), ..
                } => format!("; front end answered {status}: {f}"),
                _ => String::new(),
            };
            return Verdict::Fail(
                Cause::MissingLog,
                format!(
                    "no log line matches {:?}; logged ids: {ids}{why}",
                    re.as_str()
                ),
            );
        }
    }
    if let Some(v) = &out.no_log_contains {
        let re = match regex_of(v) {
            Ok(r) => r,
            Err(e) => return Verdict::Fail(Cause::InvalidTest, e),
        };
        if let Some(l) = logs.iter().find(|l| re.is_match(l)) {
            return Verdict::Fail(
                Cause::UnexpectedLog,
                format!("log line matches {:?}: {}", re.as_str(), shorten(l)),
            );
        }
    }
    Verdict::Pass
}

/// The `[id "…"]` values of the log lines, comma-separated (for failure messages).
pub fn ids_of(logs: &[String]) -> String {
    let ids: Vec<&str> = logs
        .iter()
        .filter_map(|l| l.split("[id \"").nth(1).and_then(|r| r.split('"').next()))
        .collect();
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(",")
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 300 {
        let mut t: String = s.chars().take(300).collect();
        t.push('…');
        t
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(y: &str) -> Output {
        serde_yaml::from_str(y).unwrap_or_else(|e| panic!("{e}"))
    }

    fn resp(status: u16, logs: &[&str]) -> Observed {
        Observed::Response {
            status,
            logs: logs.iter().map(|s| (*s).to_owned()).collect(),
            front_end: None,
        }
    }

    #[test]
    fn log_expectations() {
        let line = r#"ModSecurity: Warning. [id "942100"] [msg "x"]"#;
        assert_eq!(
            judge(&out(r#"log_contains: id "942100""#), &resp(200, &[line])),
            Verdict::Pass
        );
        assert!(matches!(
            judge(&out(r#"log_contains: id "942101""#), &resp(200, &[line])),
            Verdict::Fail(Cause::MissingLog, _)
        ));
        assert!(matches!(
            judge(&out(r#"no_log_contains: id "942100""#), &resp(200, &[line])),
            Verdict::Fail(Cause::UnexpectedLog, _)
        ));
        // never matches ModSecurity's format, so always passes
        assert_eq!(
            judge(&out(r#"no_log_contains: "id:942100""#), &resp(200, &[line])),
            Verdict::Pass
        );
    }

    #[test]
    fn status_and_errors() {
        assert_eq!(
            judge(&out("status: [403, 400]"), &resp(403, &[])),
            Verdict::Pass
        );
        assert!(matches!(
            judge(&out("status: 400"), &resp(200, &[])),
            Verdict::Fail(Cause::Status, _)
        ));
        let err = Observed::Error {
            reason: "timeout".into(),
            logs: vec![],
        };
        assert_eq!(judge(&out("expect_error: true"), &err), Verdict::Pass);
        assert!(matches!(
            judge(&out("status: 200"), &err),
            Verdict::Fail(Cause::Exchange, _)
        ));
        assert!(matches!(
            judge(&out("expect_error: true"), &resp(200, &[])),
            Verdict::Fail(Cause::NoError, _)
        ));
        assert!(matches!(
            judge(&out("response_contains: x"), &resp(200, &[])),
            Verdict::Skip(_)
        ));
    }
}
