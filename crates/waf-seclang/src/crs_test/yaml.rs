//! The CRS v3.3.4 regression-test file format (ftw 1.3 YAML): one file per rule, `meta` plus `tests`, each test
//! a list of stages with an `input` (request) and an `output` (expectations).
//!
//! Scalars are read leniently (`port: 80` and `port: "80"`, `version: 1.1` as text) because the files are
//! hand-written; anything structurally wrong is a YAML error.

use serde::Deserialize;
use serde_yaml::Value;

/// One test file.
#[derive(Debug, Deserialize)]
pub struct TestFile {
    /// File metadata.
    #[serde(default)]
    pub meta: Meta,
    /// The tests.
    #[serde(default)]
    pub tests: Vec<TestCase>,
}

/// File metadata; only `enabled` changes behaviour.
#[derive(Debug, Deserialize, Default)]
pub struct Meta {
    /// `enabled: false` disables every test of the file.
    pub enabled: Option<bool>,
    /// The file's name as written by its author.
    pub name: Option<String>,
    /// A description.
    pub description: Option<String>,
}

/// One test: a title and its stages.
#[derive(Debug, Deserialize)]
pub struct TestCase {
    /// The test id, e.g. `942100-1`.
    pub test_title: String,
    /// A description.
    pub desc: Option<String>,
    /// `enabled: false` on a single test.
    pub enabled: Option<bool>,
    /// The stages (v3.3.4 tests have one each).
    #[serde(default)]
    pub stages: Vec<StageWrapper>,
}

/// The `- stage:` wrapper.
#[derive(Debug, Deserialize)]
pub struct StageWrapper {
    /// The stage.
    pub stage: Stage,
}

/// One request and what must follow from it.
#[derive(Debug, Deserialize)]
pub struct Stage {
    /// The request.
    #[serde(default)]
    pub input: Input,
    /// The expectations.
    #[serde(default)]
    pub output: Output,
}

/// The request description; every field is optional and defaults as in ftw.
#[derive(Debug, Deserialize, Default)]
pub struct Input {
    /// The server address (ignored: the engine runs in-process).
    pub dest_addr: Option<Value>,
    /// The server port.
    pub port: Option<Value>,
    /// `http` or `https`.
    pub protocol: Option<Value>,
    /// The method (default `GET`).
    pub method: Option<Value>,
    /// The request target (default `/`).
    pub uri: Option<Value>,
    /// The protocol version (default `HTTP/1.1`).
    pub version: Option<Value>,
    /// Headers in file order.
    pub headers: Option<serde_yaml::Mapping>,
    /// The body: a string or a list of lines joined with CRLF.
    pub data: Option<Value>,
    /// Exact request text (escape sequences interpreted).
    pub raw_request: Option<String>,
    /// Base64 of the exact request bytes.
    pub encoded_request: Option<String>,
    /// Turns off ftw's request fix-ups.
    pub stop_magic: Option<bool>,
    /// Cookie tracking across stages (not needed for single-stage tests).
    pub save_cookie: Option<bool>,
}

/// The expectations of a stage.
#[derive(Debug, Deserialize, Default)]
pub struct Output {
    /// A regex that must match one log line.
    pub log_contains: Option<Value>,
    /// A regex that must match no log line.
    pub no_log_contains: Option<Value>,
    /// An acceptable status or a list of them.
    pub status: Option<Value>,
    /// A regex on the response body.
    pub response_contains: Option<Value>,
    /// The HTTP exchange itself must fail.
    pub expect_error: Option<bool>,
}

/// A scalar as text, the way Python's `str()` would print it (`80` → `"80"`, `true` → `"True"`).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

impl Output {
    /// The acceptable statuses, if the stage checks the status.
    pub fn statuses(&self) -> Option<Vec<u16>> {
        let v = self.status.as_ref()?;
        let one = |v: &Value| v.as_u64().and_then(|n| u16::try_from(n).ok());
        match v {
            Value::Sequence(items) => Some(items.iter().filter_map(one).collect()),
            v => one(v).map(|s| vec![s]),
        }
    }
}

/// Parses a test file.
pub fn parse(text: &str) -> Result<TestFile, serde_yaml::Error> {
    serde_yaml::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_v3_format() {
        let f = parse(
            r#"---
  meta: {author: "x", enabled: true, name: "942100.yaml", description: "d"}
  tests:
  - test_title: 942100-1
    desc: "Simple SQL Injection"
    stages:
    - stage:
        input: {dest_addr: 127.0.0.1, port: 80, method: POST, uri: "/", version: HTTP/1.0,
                headers: {Host: localhost, Keep-Alive: 300}, data: ["a", "b"]}
        output: {log_contains: id "942100", status: [403, 400]}
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.meta.enabled, Some(true));
        let t = f.tests.first().unwrap_or_else(|| panic!("no test"));
        assert_eq!(t.test_title, "942100-1");
        let st = &t.stages.first().unwrap_or_else(|| panic!("no stage")).stage;
        assert_eq!(st.output.statuses(), Some(vec![403, 400]));
        let h = st
            .input
            .headers
            .as_ref()
            .unwrap_or_else(|| panic!("no headers"));
        let ka = h.get("Keep-Alive").and_then(scalar);
        assert_eq!(ka.as_deref(), Some("300"));
        assert_eq!(
            st.output.log_contains.as_ref().and_then(scalar).as_deref(),
            Some("id \"942100\"")
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("tests: 5").is_err());
    }
}
