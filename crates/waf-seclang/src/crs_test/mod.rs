//! The OWASP CRS regression-test runner: reads the suite's YAML files (v3.3.4 / ftw 1.3 format), builds the
//! request bytes ftw would send, passes them through a model of the HTTP front end ([`http1`]), runs the
//! accepted ones through a [`Transaction`] and judges the expectations ([`judge`]).
//!
//! The rule set is CRS itself (`<crs>/rules/*.conf`) with the engine settings it assumes and the regression
//! README's setup ([`setup`]): `DetectionOnly`, paranoia level 4 (configurable), rule 910000 removed, the
//! argument/file size limits some tests use, UTF-8 validation on.
//!
//! Reading test files, rule files and data files is the only I/O; there is no network. The same runner judges
//! requests sent over the wire ([`run_observed`] with an [`Observer`] that owns the socket; see [`wire`]).

pub mod ftw;
pub mod http1;
pub mod judge;
pub mod setup;
pub mod wire;
pub mod yaml;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::rule::Disruptive;
use crate::{RuleSet, Transaction};
use http1::Exchange;
use judge::{Cause, Observed, Verdict};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The CRS directory (holding `rules/`), e.g. `/usr/share/modsecurity-crs`.
    pub crs_dir: PathBuf,
    /// `crs-setup.conf`; `None` picks the default (see [`setup::find_setup`]).
    pub setup_file: Option<PathBuf>,
    /// The paranoia level (the regression suite expects 4).
    pub paranoia: u8,
    /// Test files or directories (searched recursively for `*.yaml`).
    pub paths: Vec<PathBuf>,
}

impl RunOptions {
    /// Options with the Debian CRS location, paranoia 4 and the given test paths.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self {
            crs_dir: PathBuf::from("/usr/share/modsecurity-crs"),
            setup_file: None,
            paranoia: 4,
            paths,
        }
    }
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every stage met its expectations.
    Passed,
    /// A stage did not.
    Failed,
    /// Not run (disabled, or needs something this runner does not have).
    Skipped,
}

/// The result of one test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The test title, e.g. `942100-1`.
    pub id: String,
    /// The YAML file.
    pub file: PathBuf,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, for grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The results of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests skipped.
    pub skipped: usize,
    /// Every test, in file order.
    pub results: Vec<TestResult>,
    /// Rules the engine could not load (with reasons); those rules did not run.
    pub unsupported_rules: Vec<String>,
    /// Problems that prevented tests from running at all (rule set or test files unreadable).
    pub errors: Vec<String>,
}

impl Summary {
    /// `crs-test: N passed, N failed, N skipped`.
    pub fn final_line(&self) -> String {
        format!(
            "crs-test: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }

    /// The failures grouped by cause, most frequent first: `(cause, test ids)`.
    pub fn failures_by_cause(&self) -> Vec<(Cause, Vec<&str>)> {
        let mut groups: Vec<(Cause, Vec<&str>)> = Vec::new();
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Failed) {
            let cause = r.cause.unwrap_or(Cause::InvalidTest);
            match groups.iter_mut().find(|(c, _)| *c == cause) {
                Some((_, ids)) => ids.push(&r.id),
                None => groups.push((cause, vec![&r.id])),
            }
        }
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        groups
    }

    fn push(&mut self, r: TestResult) {
        match r.outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
        }
        self.results.push(r);
    }
}

/// How the requests of the tests are observed: in process through the engine ([`observe`]) or over the wire.
pub trait Observer {
    /// Sends `bytes` (as ftw would, to `port`) and reports what happened; `label` names the test stage
    /// (`942100-1`, `942100-1/2` for a second stage).
    fn observe(&mut self, label: &str, bytes: &[u8], port: u16) -> Observed;

    /// Why a stage with these expectations cannot be judged by this observer (the stage is then skipped).
    fn unjudgeable(&self, _out: &yaml::Output) -> Option<String> {
        None
    }
}

/// The in-process observer: the front-end model and the engine.
struct InProcess<'a> {
    rules: &'a RuleSet,
}

impl Observer for InProcess<'_> {
    fn observe(&mut self, _label: &str, bytes: &[u8], port: u16) -> Observed {
        observe(self.rules, bytes, port)
    }
}

/// Runs the tests; see [`run_with`] for progress reporting.
pub fn run(opts: &RunOptions) -> Summary {
    run_with(opts, &mut |_, _, _| {})
}

/// Runs the tests, calling `progress(done, total, result)` after each test.
pub fn run_with(opts: &RunOptions, progress: &mut dyn FnMut(usize, usize, &TestResult)) -> Summary {
    let mut summary = Summary::default();
    let files = match test_files(&opts.paths) {
        Ok(f) => f,
        Err(e) => {
            summary.errors.push(e);
            return summary;
        }
    };
    let rules = match load_rules(opts) {
        Ok((rules, unsupported)) => {
            summary.unsupported_rules = unsupported;
            rules
        }
        Err(e) => {
            summary.errors.push(e);
            return summary;
        }
    };
    run_files(files, &mut InProcess { rules: &rules }, progress, summary)
}

/// Runs the tests under `paths` with `observer` in place of the in-process engine (no rules are loaded here).
pub fn run_observed(
    paths: &[PathBuf],
    observer: &mut dyn Observer,
    progress: &mut dyn FnMut(usize, usize, &TestResult),
) -> Summary {
    let mut summary = Summary::default();
    match test_files(paths) {
        Ok(files) => run_files(files, observer, progress, summary),
        Err(e) => {
            summary.errors.push(e);
            summary
        }
    }
}

fn run_files(
    files: Vec<PathBuf>,
    observer: &mut dyn Observer,
    progress: &mut dyn FnMut(usize, usize, &TestResult),
    mut summary: Summary,
) -> Summary {
    let mut parsed = Vec::new();
    for f in files {
        match std::fs::read_to_string(&f)
            .map_err(|e| e.to_string())
            .and_then(|t| yaml::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(tf) => parsed.push((f, tf)),
            Err(e) => summary.errors.push(format!("{}: {e}", f.display())),
        }
    }
    let total: usize = parsed.iter().map(|(_, tf)| tf.tests.len()).sum();
    let mut done = 0;
    for (file, tf) in &parsed {
        let file_enabled = tf.meta.enabled.unwrap_or(true);
        for t in &tf.tests {
            let r = run_test(observer, file, file_enabled, t);
            done += 1;
            progress(done, total, &r);
            summary.push(r);
        }
    }
    summary
}

/// Loads the rule set; returns it with the descriptions of the rules left out.
pub fn load_rules(opts: &RunOptions) -> Result<(RuleSet, Vec<String>), String> {
    let setup_path =
        setup::find_setup(&opts.crs_dir, opts.setup_file.as_deref()).ok_or_else(|| {
            format!(
                "no crs-setup.conf found (looked in /etc/modsecurity/crs and {})",
                opts.crs_dir.display()
            )
        })?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut sources = vec![
        (
            "portcullis-engine.conf".to_owned(),
            setup::ENGINE_CONF.to_owned(),
        ),
        (setup_path.display().to_string(), read(&setup_path)?),
        (
            "portcullis-crs-test.conf".to_owned(),
            setup::test_setup(opts.paranoia),
        ),
    ];
    let rule_files = setup::rule_files(&opts.crs_dir)
        .map_err(|e| format!("{}/rules: {e}", opts.crs_dir.display()))?;
    if rule_files.is_empty() {
        return Err(format!("no rule files in {}/rules", opts.crs_dir.display()));
    }
    for f in &rule_files {
        sources.push((f.display().to_string(), read(f)?));
    }
    sources.push((
        "portcullis-crs-test-after.conf".to_owned(),
        setup::AFTER_RULES.to_owned(),
    ));
    let rules_dir = opts.crs_dir.join("rules");
    let (rules, report) =
        RuleSet::from_sources(&sources, Some(&rules_dir)).map_err(|e| e.to_string())?;
    let unsupported = report
        .unsupported
        .iter()
        .map(|u| {
            let id = u.rule_id.map_or(String::new(), |i| format!(" id {i}"));
            format!("{}:{}{id}: {}", u.file, u.line, u.reason)
        })
        .collect();
    Ok((rules, unsupported))
}

/// Every `*.yaml` under `paths` (files as given, directories recursively), sorted within each directory.
pub fn test_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, 0)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    if depth > 16 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out, depth + 1)?;
        } else if e.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(e);
        }
    }
    Ok(())
}

fn run_test(
    observer: &mut dyn Observer,
    file: &Path,
    file_enabled: bool,
    t: &yaml::TestCase,
) -> TestResult {
    let mut r = TestResult {
        id: t.test_title.clone(),
        file: file.to_path_buf(),
        outcome: Outcome::Passed,
        cause: None,
        reason: None,
    };
    if !file_enabled || t.enabled == Some(false) {
        r.outcome = Outcome::Skipped;
        r.reason = Some("disabled in the test file".into());
        return r;
    }
    if t.stages.is_empty() {
        r.outcome = Outcome::Skipped;
        r.reason = Some("no stages".into());
        return r;
    }
    for (i, s) in t.stages.iter().enumerate() {
        let label = if i == 0 {
            t.test_title.clone()
        } else {
            format!("{}/{}", t.test_title, i + 1)
        };
        if let Some(why) = observer.unjudgeable(&s.stage.output) {
            r.outcome = Outcome::Skipped;
            r.reason = Some(why);
            return r;
        }
        let obs = match ftw::build(&s.stage.input) {
            Ok(bytes) => observer.observe(&label, &bytes, port_of(&s.stage.input)),
            Err(e) => {
                r.outcome = Outcome::Failed;
                r.cause = Some(Cause::InvalidTest);
                r.reason = Some(e);
                return r;
            }
        };
        let stage = if t.stages.len() > 1 {
            format!("stage {}: ", i + 1)
        } else {
            String::new()
        };
        match judge::judge(&s.stage.output, &obs) {
            Verdict::Pass => {}
            Verdict::Fail(cause, why) => {
                r.outcome = Outcome::Failed;
                r.cause = Some(cause);
                r.reason = Some(format!("{stage}{why}"));
                return r;
            }
            Verdict::Skip(why) => {
                r.outcome = Outcome::Skipped;
                r.reason = Some(format!("{stage}{why}"));
                return r;
            }
        }
    }
    r
}

fn port_of(input: &yaml::Input) -> u16 {
    input
        .port
        .as_ref()
        .and_then(yaml::scalar)
        .and_then(|p| p.parse().ok())
        .unwrap_or(80)
}

/// Sends `bytes` through the front-end model and, when accepted, through the engine.
pub fn observe(rules: &RuleSet, bytes: &[u8], port: u16) -> Observed {
    let req = match http1::receive(bytes, port) {
        Exchange::Accepted(req) => req,
        Exchange::Rejected { status, reason } => {
            return Observed::Response {
                status,
                logs: Vec::new(),
                front_end: Some(reason),
            };
        }
        Exchange::Failed { reason } => {
            return Observed::Error {
                reason,
                logs: Vec::new(),
            };
        }
    };
    let mut tx = Transaction::new(rules, &req);
    let _ = tx.process_request();
    let _ = tx.process_response(
        200,
        &[("Content-Type".to_owned(), b"text/html".to_vec())],
        b"",
    );
    tx.finish();
    let logs: Vec<String> = tx.logs().iter().map(ToString::to_string).collect();
    // The status the client would get with the engine On: the first matched rule (logged or not) whose
    // disruptive action stops the request.
    let first = tx.matched_rule_ids().iter().find_map(|&id| {
        rules.rule(id).filter(|r| {
            matches!(
                r.disruptive,
                Disruptive::Deny | Disruptive::Drop | Disruptive::Redirect(_)
            )
        })
    });
    match first.map(|rule| (&rule.disruptive, rule.status)) {
        Some((Disruptive::Drop, _)) => Observed::Error {
            reason: "the engine would drop the connection".into(),
            logs,
        },
        Some((Disruptive::Deny, status)) => Observed::Response {
            status: status.unwrap_or(403),
            logs,
            front_end: None,
        },
        Some((Disruptive::Redirect(_), status)) => Observed::Response {
            status: status.unwrap_or(302),
            logs,
            front_end: None,
        },
        _ => Observed::Response {
            status: 200,
            logs,
            front_end: None,
        },
    }
}

#[cfg(test)]
mod corpus_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, outcome: Outcome, cause: Option<Cause>) -> TestResult {
        TestResult {
            id: id.into(),
            file: PathBuf::from("x.yaml"),
            outcome,
            cause,
            reason: None,
        }
    }

    #[test]
    fn summary_line_and_grouping() {
        let mut s = Summary::default();
        s.push(result("a-1", Outcome::Passed, None));
        s.push(result("a-2", Outcome::Failed, Some(Cause::Status)));
        s.push(result("a-3", Outcome::Failed, Some(Cause::MissingLog)));
        s.push(result("a-4", Outcome::Failed, Some(Cause::MissingLog)));
        s.push(result("a-5", Outcome::Skipped, None));
        assert_eq!(s.final_line(), "crs-test: 1 passed, 3 failed, 1 skipped");
        let g = s.failures_by_cause();
        assert_eq!(
            g,
            vec![
                (Cause::MissingLog, vec!["a-3", "a-4"]),
                (Cause::Status, vec!["a-2"])
            ]
        );
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["results"][1]["cause"], "status");
        assert_eq!(json["results"][0]["outcome"], "passed");
    }

    #[test]
    fn finds_yaml_files_recursively_in_order() {
        let dir = std::env::temp_dir().join(format!("crs-test-files-{}", std::process::id()));
        let sub = dir.join("B");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        for p in [
            dir.join("b.yaml"),
            dir.join("a.yaml"),
            sub.join("c.yaml"),
            dir.join("notes.txt"),
        ] {
            std::fs::write(p, "").unwrap_or_else(|e| panic!("{e}"));
        }
        let files = test_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = files
            .iter()
            .filter_map(|f| f.strip_prefix(&dir).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(names, vec!["B/c.yaml", "a.yaml", "b.yaml"]);
        assert!(test_files(&[dir.join("missing")]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn disabled_tests_are_skipped() {
        let tf = yaml::parse("meta: {enabled: false}\ntests:\n- test_title: t-1\n  stages: []\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let (rules, _) = RuleSet::from_sources(&[], None).unwrap_or_else(|e| panic!("{e}"));
        let t = tf.tests.first().unwrap_or_else(|| panic!("no test"));
        let r = run_test(
            &mut InProcess { rules: &rules },
            Path::new("f.yaml"),
            false,
            t,
        );
        assert_eq!(r.outcome, Outcome::Skipped);
    }

    #[test]
    fn observe_judges_the_would_be_status() {
        let conf = "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\n\
                    SecRule ARGS \"@rx attack\" \"id:1,phase:2,deny,status:406,log,msg:'x'\"\n\
                    SecRule ARGS \"@rx noted\" \"id:2,phase:2,pass,log,msg:'y'\"\n";
        let (rules, report) = RuleSet::from_sources(&[("t.conf".into(), conf.into())], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
        let get = |uri: &str| format!("GET {uri} HTTP/1.1\r\nHost: h\r\n\r\n").into_bytes();
        match observe(&rules, &get("/?q=attack"), 80) {
            Observed::Response {
                status,
                logs,
                front_end,
            } => {
                assert_eq!(status, 406);
                assert!(front_end.is_none());
                assert!(logs.iter().any(|l| l.contains("[id \"1\"]")), "{logs:?}");
            }
            other => panic!("{other:?}"),
        }
        match observe(&rules, &get("/?q=noted"), 80) {
            Observed::Response { status, logs, .. } => {
                assert_eq!(status, 200);
                assert!(logs.iter().any(|l| l.contains("[id \"2\"]")), "{logs:?}");
            }
            other => panic!("{other:?}"),
        }
        match observe(&rules, b"GET / HTTP/0.9\r\n\r\n", 80) {
            Observed::Response {
                status,
                logs,
                front_end,
            } => {
                assert_eq!((status, logs.len(), front_end.is_some()), (400, 0, true));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            observe(&rules, b"GET / \r\n\r\n", 80),
            Observed::Error { .. }
        ));
    }
}
