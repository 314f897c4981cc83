//! The compiled rule set: building from sources, the `eventName`/`eventSource` index, matching and
//! correlation processing.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use serde_norway::Value as Yaml;

use crate::SigmaError;
use crate::correlation::{self, Correlation, CorrelationHit, CorrelationMeta, CorrelationState};
use crate::legacy;
use crate::load::{self, LoadOptions, LoadReport, Loaded, LoadedKind, Refused};
use crate::pattern::fold;
use crate::rule::{self, CompiledRule, RuleMeta};

/// Upper bound on YAML documents read from one source.
const MAX_DOCS: usize = 256;

/// Collects rule sources, then compiles them into a [`RuleSet`].
#[derive(Debug)]
pub struct RuleSetBuilder {
    opts: LoadOptions,
    rules: Vec<CompiledRule>,
    pending: Vec<(String, serde_norway::Mapping)>,
    report: LoadReport,
}

impl RuleSetBuilder {
    /// An empty builder.
    pub fn new(opts: LoadOptions) -> Self {
        Self {
            opts,
            rules: Vec::new(),
            pending: Vec::new(),
            report: LoadReport::default(),
        }
    }

    fn refuse(&mut self, origin: &str, title: Option<String>, error: SigmaError) {
        self.report.refused.push(Refused {
            origin: origin.to_owned(),
            title,
            error,
        });
    }

    /// Adds the YAML text of one file (one or more `---`-separated documents); problems go to the report.
    pub fn add_source(&mut self, origin: &str, text: &str) {
        for (n, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            if n >= MAX_DOCS {
                self.refuse(
                    origin,
                    None,
                    SigmaError::Invalid(format!("more than {MAX_DOCS} documents")),
                );
                return;
            }
            let value = match Yaml::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    self.refuse(origin, None, SigmaError::Yaml(e.to_string()));
                    return;
                }
            };
            let Yaml::Mapping(m) = value else {
                let e = SigmaError::Invalid("document is not a map".into());
                self.refuse(origin, None, e);
                continue;
            };
            self.add_document(origin, m);
        }
    }

    /// Adds one parsed YAML document (a rule, a correlation, or a legacy aggregation to rewrite).
    fn add_document(&mut self, origin: &str, m: serde_norway::Mapping) {
        let title = rule::get_str(&m, "title");
        if m.contains_key("correlation") {
            self.pending.push((origin.to_owned(), m));
            return;
        }
        if m.contains_key("action") {
            let e = SigmaError::Invalid(
                "multi-document `action: global/reset/repeat` is not supported".into(),
            );
            self.refuse(origin, title, e);
            return;
        }
        if !self.opts.any_logsource
            && let Err(e) = rule::check_logsource(&m)
        {
            self.refuse(origin, title, e);
            return;
        }
        if self.opts.legacy_aggregation && legacy::is_legacy(&m) {
            match legacy::rewrite(&m, origin) {
                Ok(docs) => docs.into_iter().for_each(|d| self.add_document(origin, d)),
                Err(e) => self.refuse(origin, title, e),
            }
            return;
        }
        let mut meta = rule::meta_of(&m, origin);
        meta.index = self.rules.len();
        match rule::compile(&m, meta) {
            Ok(r) => {
                self.report.loaded.push(Loaded {
                    origin: origin.to_owned(),
                    title: r.meta.title.clone(),
                    kind: LoadedKind::Rule,
                });
                self.rules.push(r);
            }
            Err(e) => self.refuse(origin, title, e),
        }
    }

    /// Reads and adds one file; read errors go to the report.
    pub fn add_file(&mut self, path: &Path) {
        let origin = path.display().to_string();
        match load::read_limited(path, self.opts.max_file_bytes) {
            Ok(text) => self.add_source(&origin, &text),
            Err(e) => self.refuse(&origin, None, e),
        }
    }

    /// Resolves correlations, builds the index and returns the set with the load report.
    pub fn build(mut self) -> (RuleSet, LoadReport) {
        let mut ids: HashMap<String, usize> = HashMap::new();
        for r in &self.rules {
            for key in [&r.meta.id, &r.meta.name].into_iter().flatten() {
                ids.insert(key.clone(), r.meta.index);
            }
        }
        let corr_names: Vec<String> = self
            .pending
            .iter()
            .flat_map(|(_, m)| [rule::get_str(m, "name"), rule::get_str(m, "id")])
            .flatten()
            .collect();
        let mut correlations: Vec<Correlation> = Vec::new();
        for (origin, m) in std::mem::take(&mut self.pending) {
            let resolve = |n: &str| -> Result<usize, SigmaError> {
                if let Some(i) = ids.get(n) {
                    return Ok(*i);
                }
                if corr_names.iter().any(|c| c == n) {
                    return Err(SigmaError::Correlation(format!(
                        "chained correlation `{n}` is not supported"
                    )));
                }
                Err(SigmaError::Correlation(format!(
                    "referenced rule `{n}` is not loaded"
                )))
            };
            match correlation::compile(&m, &origin, &resolve) {
                Ok(mut c) => {
                    c.meta.index = correlations.len();
                    self.report.loaded.push(Loaded {
                        origin: origin.clone(),
                        title: c.meta.title.clone(),
                        kind: LoadedKind::Correlation,
                    });
                    correlations.push(c);
                }
                Err(e) => self.refuse(&origin, rule::get_str(&m, "title"), e),
            }
        }
        for c in &correlations {
            for r in &c.meta.rules {
                if let Some(rule) = self.rules.get_mut(*r)
                    && !c.meta.generate
                {
                    rule.meta.correlation_only = true;
                }
            }
        }
        let mut set = RuleSet {
            rules: self.rules,
            correlations,
            by_name: HashMap::new(),
            by_source: HashMap::new(),
            always: Vec::new(),
            fields: Vec::new(),
        };
        set.index();
        (set, self.report)
    }
}

/// What one record produced.
#[derive(Debug, Default)]
pub struct Detections<'a> {
    /// Detection rules that matched (excluding rules that only feed a `generate: false` correlation).
    pub rules: Vec<&'a RuleMeta>,
    /// Correlations that fired on this record.
    pub correlations: Vec<CorrelationHit<'a>>,
}

/// Compiled Sigma rules and correlations, indexed for CloudTrail records.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    correlations: Vec<Correlation>,
    by_name: HashMap<String, Vec<usize>>,
    by_source: HashMap<String, Vec<usize>>,
    always: Vec<usize>,
    /// `fields[i]`: the fields rule `i` reads, or `None` when it needs the whole record.
    fields: Vec<Option<Vec<String>>>,
}

/// What matching a record needs of it: see [`RuleSet::needs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs<'s> {
    /// No rule can match it.
    Nothing,
    /// These fields' values (dotted paths, sorted).
    Fields(Vec<&'s str>),
    /// The whole record.
    Whole,
}

impl RuleSet {
    /// Loads every `.yml`/`.yaml` file under `dir` (recursively). Fails only when `dir` itself cannot be read;
    /// every other problem is a [`Refused`] entry in the report.
    pub fn load_dir(dir: &Path, opts: &LoadOptions) -> Result<(RuleSet, LoadReport), SigmaError> {
        let mut errors = Vec::new();
        let files = load::rule_files(dir, &mut errors)?;
        let mut b = RuleSetBuilder::new(opts.clone());
        for e in errors {
            b.refuse(&dir.display().to_string(), None, e);
        }
        for f in files {
            b.add_file(&f);
        }
        Ok(b.build())
    }

    fn index(&mut self) {
        self.fields = self.rules.iter().map(CompiledRule::fields).collect();
        for r in &self.rules {
            let i = r.meta.index;
            if let Some(names) = r.required("eventName") {
                for n in names {
                    self.by_name.entry(n).or_default().push(i);
                }
            } else if let Some(sources) = r.required("eventSource") {
                for s in sources {
                    self.by_source.entry(s).or_default().push(i);
                }
            } else {
                self.always.push(i);
            }
        }
        for v in self.by_name.values_mut().chain(self.by_source.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
    }

    /// Number of detection rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no detection rule loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Metadata of every detection rule, in set order.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| &r.meta)
    }

    /// Metadata of every correlation rule.
    pub fn correlations(&self) -> impl Iterator<Item = &CorrelationMeta> {
        self.correlations.iter().map(|c| &c.meta)
    }

    /// Rules not reached through the index (run on every record).
    pub fn unindexed(&self) -> usize {
        self.always.len()
    }

    /// What matching a CloudTrail record with this `eventName` and `eventSource` (strings) needs
    /// of the record: nothing (no rule can match), the values of some fields (a record holding
    /// only those fields, with these two, matches exactly the rules the whole record matches),
    /// or the whole record.
    pub fn needs(&self, event_name: &str, event_source: &str) -> Needs<'_> {
        let mut fields: Vec<&str> = Vec::new();
        let name = fold(event_name);
        let source = fold(event_source);
        let cands = self
            .by_name
            .get(name.as_ref())
            .into_iter()
            .chain(self.by_source.get(source.as_ref()))
            .flatten()
            .chain(&self.always);
        let mut any = false;
        for &i in cands {
            any = true;
            match self.fields.get(i) {
                Some(Some(f)) => fields.extend(f.iter().map(String::as_str)),
                _ => return Needs::Whole,
            }
        }
        if !any {
            return Needs::Nothing;
        }
        fields.sort_unstable();
        fields.dedup();
        Needs::Fields(fields)
    }

    /// Calls `f` with every detection rule matching one CloudTrail record, in set order.
    pub fn for_each_match<'s>(&'s self, record: &Value, mut f: impl FnMut(&'s RuleMeta)) {
        let mut cand: Vec<usize> = Vec::with_capacity(8);
        // Non-object records (or non-string keys below) may still match through array flattening: run all.
        let mut slow = !record.is_object();
        for (field, idx) in [
            ("eventName", &self.by_name),
            ("eventSource", &self.by_source),
        ] {
            match record.get(field) {
                Some(Value::String(s)) => {
                    if let Some(v) = idx.get(fold(s).as_ref()) {
                        cand.extend_from_slice(v);
                    }
                }
                None | Some(Value::Null) => {}
                Some(_) => slow = true,
            }
        }
        if slow {
            cand = (0..self.rules.len()).collect();
        } else {
            cand.extend_from_slice(&self.always);
            cand.sort_unstable();
        }
        for i in cand {
            if let Some(r) = self.rules.get(i)
                && r.is_match(record)
            {
                f(&r.meta);
            }
        }
    }

    /// Every detection rule matching one CloudTrail record (stateless; correlations are not evaluated).
    /// Includes base rules of correlations ([`RuleMeta::correlation_only`]), which [`RuleSet::process`] hides.
    pub fn matches(&self, record: &Value) -> Vec<&RuleMeta> {
        let mut out = Vec::new();
        self.for_each_match(record, |m| out.push(m));
        out
    }

    /// Matches one record and feeds correlations, taking the time from its `eventTime` (RFC 3339). Records
    /// without a readable `eventTime` still match rules but do not advance correlations.
    pub fn process<'s>(&'s self, state: &mut CorrelationState, record: &Value) -> Detections<'s> {
        self.process_inner(state, record, event_time_ms(record))
    }

    /// As [`RuleSet::process`], with the record time given by the caller (ms since the Unix epoch).
    pub fn process_at<'s>(
        &'s self,
        state: &mut CorrelationState,
        record: &Value,
        ts_ms: i64,
    ) -> Detections<'s> {
        self.process_inner(state, record, Some(ts_ms))
    }

    fn process_inner<'s>(
        &'s self,
        state: &mut CorrelationState,
        record: &Value,
        ts: Option<i64>,
    ) -> Detections<'s> {
        let mut out = Detections::default();
        let mut hits = Vec::new();
        self.for_each_match(record, |m| hits.push(m));
        for m in hits {
            if let Some(ts) = ts
                && !self.correlations.is_empty()
            {
                state.update(
                    &self.correlations,
                    m.index,
                    record,
                    ts,
                    &mut out.correlations,
                );
            }
            if !m.correlation_only {
                out.rules.push(m);
            }
        }
        out
    }
}

/// `eventTime` of a CloudTrail record in ms since the epoch.
pub(crate) fn event_time_ms(record: &Value) -> Option<i64> {
    let s = record.get("eventTime")?.as_str()?;
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}
