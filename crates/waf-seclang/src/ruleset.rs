//! Loading SecLang configuration into a [`RuleSet`]: directives, `Include`s, rules, markers and load-time rule
//! editing (`SecRuleRemove*`, `SecRuleUpdate*`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::collections::PersistentStore;
use crate::compile::{self, LinkActions, Meta};
use crate::config::{DefaultAction, EngineConfig, LimitAction};
use crate::error::LoadError;
use crate::operator::OperatorContext;
use crate::parser::{self, actions, targets};
use crate::rule::{Disruptive, EngineMode, Exclusion, IdRange, Link, Rule};

/// Maximum `Include` nesting.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A rule the engine parsed but cannot run, with the reason. Such rules are left out of the rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The file (or source name).
    pub file: String,
    /// The 1-based line of the rule.
    pub line: usize,
    /// The rule id, when known.
    pub rule_id: Option<u64>,
    /// Why the rule cannot run.
    pub reason: String,
}

/// What a load produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Rules loaded (a chain counts once; `SecAction`s count; markers do not).
    pub rules: usize,
    /// Rules left out, with reasons.
    pub unsupported: Vec<Unsupported>,
}

/// One entry of a phase's rule list.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A rule, by index into [`RuleSet::rules`].
    Rule(usize),
    /// A `SecMarker`.
    Marker(Arc<str>),
}

/// A loaded, compiled rule set with its engine settings. Shared (read-only, apart from the persistent
/// collections) by every [`crate::Transaction`].
#[derive(Debug)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) phases: [Vec<Entry>; 5],
    pub(crate) config: EngineConfig,
    pub(crate) store: PersistentStore,
    pub(crate) counter: AtomicU64,
    /// Per rule index: the position in its phase list where `skipAfter` resumes (after the first matching
    /// `SecMarker` that follows the rule; the list's end when there is none).
    pub(crate) skip_targets: Vec<usize>,
    /// True when some rule reads `MATCHED_VARS` / `MATCHED_VARS_NAMES` (otherwise they are not recorded).
    pub(crate) uses_matched_vars: bool,
    /// The `@rx` prefilters per transformation chain.
    pub(crate) prefilters: crate::prefilter::Prefilters,
    /// How many shared target lists links use (`Link::target_set` ids are below it).
    pub(crate) target_sets: usize,
}

/// The id of `chain` in `chains`, registering it on first sight.
fn chain_id(
    chains: &mut Vec<Vec<portcullis_waf_request::Transform>>,
    chain: &[portcullis_waf_request::Transform],
) -> u32 {
    let p = match chains.iter().position(|c| c.as_slice() == chain) {
        Some(p) => p,
        None => {
            chains.push(chain.to_vec());
            chains.len() - 1
        }
    };
    u32::try_from(p).unwrap_or(u32::MAX)
}

impl RuleSet {
    /// Loads configuration files in order, following `Include`/`IncludeOptional` (globs allowed; relative paths
    /// are resolved against the including file's directory).
    pub fn load(files: &[PathBuf]) -> Result<(RuleSet, LoadReport), LoadError> {
        let mut loader = Loader::default();
        for f in files {
            loader.load_file(f, 0)?;
        }
        loader.finish()
    }

    /// Loads named SecLang texts in order; `base_dir` resolves relative `Include`s and data files.
    pub fn from_sources(
        sources: &[(String, String)],
        base_dir: Option<&Path>,
    ) -> Result<(RuleSet, LoadReport), LoadError> {
        let mut loader = Loader::default();
        for (name, text) in sources {
            loader.load_text(name, text, base_dir, 0)?;
        }
        loader.finish()
    }

    /// The engine settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The loaded rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with id `id`.
    pub fn rule(&self, id: u64) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id && id != 0)
    }
}

#[derive(Debug)]
enum Item {
    Rule(Box<Rule>),
    Marker(Arc<str>),
}

/// Partial rule waiting for its chained links.
#[derive(Debug)]
struct Pending {
    meta: Meta,
    links: Vec<Link>,
    file: Arc<str>,
    line: usize,
    error: Option<String>,
    expects_more: bool,
}

#[derive(Debug)]
enum RuleFilter {
    Id(IdRange),
    Tag(Arc<regex::bytes::Regex>),
    Msg(Arc<regex::bytes::Regex>),
}

impl RuleFilter {
    fn matches(&self, rule: &Rule) -> bool {
        match self {
            RuleFilter::Id(r) => r.contains(rule.id),
            RuleFilter::Tag(re) => rule.tags.iter().any(|t| re.is_match(t.as_bytes())),
            RuleFilter::Msg(re) => rule
                .msg
                .as_ref()
                .and_then(|m| m.as_literal())
                .is_some_and(|m| re.is_match(m.as_bytes())),
        }
    }
}

#[derive(Debug, Default)]
struct Loader {
    items: Vec<Item>,
    pending: Option<Pending>,
    config: EngineConfig,
    removals: Vec<RuleFilter>,
    target_updates: Vec<(RuleFilter, Vec<Exclusion>, Vec<crate::rule::Target>)>,
    action_updates: Vec<(u64, Vec<actions::RawAction>, String, usize)>,
    unsupported: Vec<Unsupported>,
    ids: HashSet<u64>,
    explicit: Vec<Explicit>,
}

fn directive_arg<'a>(d: &'a parser::Directive, i: usize, file: &str) -> Result<&'a str, LoadError> {
    d.args.get(i).map(String::as_str).ok_or_else(|| {
        LoadError::syntax(
            file,
            d.line,
            format!("{} needs at least {} argument(s)", d.name, i + 1),
        )
    })
}

fn on_off(v: &str, file: &str, line: usize) -> Result<bool, LoadError> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(LoadError::syntax(
            file,
            line,
            format!("expected On or Off, got {v:?}"),
        )),
    }
}

fn number<T: std::str::FromStr>(v: &str, file: &str, line: usize) -> Result<T, LoadError> {
    v.trim()
        .parse()
        .map_err(|_| LoadError::syntax(file, line, format!("expected a number, got {v:?}")))
}

fn limit_action(v: &str, file: &str, line: usize) -> Result<LimitAction, LoadError> {
    match v.to_ascii_lowercase().as_str() {
        "reject" => Ok(LimitAction::Reject),
        "processpartial" => Ok(LimitAction::ProcessPartial),
        _ => Err(LoadError::syntax(
            file,
            line,
            format!("expected Reject or ProcessPartial, got {v:?}"),
        )),
    }
}

/// Directives accepted and ignored: audit and debug logging, storage locations and PCRE tuning have no meaning
/// in this sans-I/O engine; `SecUnicodeMapFile` is accepted because the `urlDecodeUni` transformation uses a fixed
/// mapping (code points ≤ 0xFF map to themselves, others to their low byte), as ModSecurity does for code page 20127.
const IGNORED_DIRECTIVES: &[&str] = &[
    "secauditengine",
    "secauditlog",
    "secauditlog2",
    "secauditlogparts",
    "secauditlogrelevantstatus",
    "secauditlogtype",
    "secauditlogformat",
    "secauditlogstoragedir",
    "secauditlogdirmode",
    "secauditlogfilemode",
    "secdebuglog",
    "secdebugloglevel",
    "sectmpdir",
    "secdatadir",
    "secuploaddir",
    "secuploadfilemode",
    "secuploadfilelimit",
    "secuploadkeepfiles",
    "secpcrematchlimit",
    "secpcrematchlimitrecursion",
    "secunicodemapfile",
    "secunicodecodepage",
    "secstatusengine",
    "secserversignature",
    "secwebappid",
    "secsensorid",
    "secgeolookupdb",
    "sechttpblkey",
    "sectmpsaveuploadedfiles",
    "seccookiev0separator",
    "secinterceptonerror",
    "secconnengine",
    "secremoterules",
    "secremoterulesfailaction",
    "secrequestbodyinmemorylimit",
    "secxmlexternalentity",
    "secstreaminbodyinspection",
    "secstreamoutbodyinspection",
];

impl Loader {
    fn load_file(&mut self, path: &Path, depth: usize) -> Result<(), LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let name = path.display().to_string();
        self.load_text(&name, &text, path.parent(), depth)
    }

    fn load_text(
        &mut self,
        file: &str,
        text: &str,
        base: Option<&Path>,
        depth: usize,
    ) -> Result<(), LoadError> {
        let directives =
            parser::directives(text).map_err(|(line, m)| LoadError::syntax(file, line, m))?;
        let file_arc: Arc<str> = Arc::from(file);
        let ctx = OperatorContext {
            base_dir: base.map(Path::to_path_buf),
        };
        for d in &directives {
            self.directive(d, file, &file_arc, base, &ctx, depth)?;
        }
        // A chain left open at the end of a file cannot continue in another file.
        self.close_pending(true);
        Ok(())
    }

    fn directive(
        &mut self,
        d: &parser::Directive,
        file: &str,
        file_arc: &Arc<str>,
        base: Option<&Path>,
        ctx: &OperatorContext,
        depth: usize,
    ) -> Result<(), LoadError> {
        let lname = d.name.to_ascii_lowercase();
        if lname != "secrule" {
            self.close_pending(true);
        }
        let line = d.line;
        let arg0 = || directive_arg(d, 0, file);
        match lname.as_str() {
            "secrule" => {
                let t = directive_arg(d, 0, file)?;
                let op = directive_arg(d, 1, file)?;
                let acts = d.args.get(2).map_or("", String::as_str);
                if d.args.len() > 3 {
                    return Err(LoadError::syntax(
                        file,
                        line,
                        "SecRule takes at most 3 arguments",
                    ));
                }
                self.sec_rule(Some((t, op)), acts, file, file_arc, line, ctx)?;
            }
            "secaction" => {
                let acts = arg0()?;
                self.sec_rule(None, acts, file, file_arc, line, ctx)?;
                self.close_pending(true);
            }
            "secmarker" => self.items.push(Item::Marker(Arc::from(arg0()?.trim()))),
            "secdefaultaction" => self.default_action(arg0()?, file, line)?,
            "secruleengine" => {
                self.config.engine = EngineMode::parse(arg0()?).ok_or_else(|| {
                    LoadError::syntax(file, line, "expected On, Off or DetectionOnly")
                })?;
            }
            "secrequestbodyaccess" => {
                self.config.request_body_access = on_off(arg0()?, file, line)?
            }
            "secresponsebodyaccess" => {
                self.config.response_body_access = on_off(arg0()?, file, line)?
            }
            "secrequestbodylimit" => self.config.request_body_limit = number(arg0()?, file, line)?,
            "secrequestbodynofileslimit" => {
                self.config.request_body_no_files_limit = number(arg0()?, file, line)?
            }
            "secrequestbodylimitaction" => {
                self.config.request_body_limit_action = limit_action(arg0()?, file, line)?
            }
            "secrequestbodyjsondepthlimit" => {
                self.config.json_depth_limit = number(arg0()?, file, line)?
            }
            "secargumentslimit" => self.config.arguments_limit = number(arg0()?, file, line)?,
            "secresponsebodylimit" => {
                self.config.response_body_limit = number(arg0()?, file, line)?
            }
            "secresponsebodylimitaction" => {
                self.config.response_body_limit_action = limit_action(arg0()?, file, line)?;
            }
            "secresponsebodymimetype" => {
                self.config.response_body_mime_types = d
                    .args
                    .iter()
                    .flat_map(|a| a.split_whitespace())
                    .map(str::to_ascii_lowercase)
                    .collect();
            }
            "secresponsebodymimetypesclear" => self.config.response_body_mime_types.clear(),
            "secargumentseparator" => {
                let v = arg0()?;
                self.config.argument_separator = match v.as_bytes() {
                    [b] => *b,
                    _ => {
                        return Err(LoadError::syntax(
                            file,
                            line,
                            "SecArgumentSeparator takes one character",
                        ));
                    }
                };
            }
            "seccookieformat" => {
                if arg0()?.trim() != "0" {
                    return Err(LoadError::syntax(
                        file,
                        line,
                        "only SecCookieFormat 0 is supported",
                    ));
                }
            }
            "seccollectiontimeout" => self.config.collection_timeout = number(arg0()?, file, line)?,
            "seccomponentsignature" => self.config.component_signatures.push(arg0()?.to_owned()),
            "secruleremovebyid" => {
                for a in d.args.iter().flat_map(|a| a.split_whitespace()) {
                    let r = IdRange::parse(a).ok_or_else(|| {
                        LoadError::syntax(file, line, format!("invalid id or range {a:?}"))
                    })?;
                    self.removals.push(RuleFilter::Id(r));
                }
            }
            "secruleremovebytag" => {
                let re =
                    compile::key_regex(arg0()?).map_err(|m| LoadError::syntax(file, line, m))?;
                self.removals.push(RuleFilter::Tag(re));
            }
            "secruleremovebymsg" => {
                let re =
                    compile::key_regex(arg0()?).map_err(|m| LoadError::syntax(file, line, m))?;
                self.removals.push(RuleFilter::Msg(re));
            }
            "secruleupdatetargetbyid" | "secruleupdatetargetbytag" | "secruleupdatetargetbymsg" => {
                let sel = arg0()?;
                let filter = match lname.as_str() {
                    "secruleupdatetargetbyid" => RuleFilter::Id(
                        IdRange::parse(sel)
                            .ok_or_else(|| LoadError::syntax(file, line, "invalid rule id"))?,
                    ),
                    "secruleupdatetargetbytag" => RuleFilter::Tag(
                        compile::key_regex(sel).map_err(|m| LoadError::syntax(file, line, m))?,
                    ),
                    _ => RuleFilter::Msg(
                        compile::key_regex(sel).map_err(|m| LoadError::syntax(file, line, m))?,
                    ),
                };
                if d.args.len() > 2 {
                    return Err(LoadError::syntax(
                        file,
                        line,
                        "target replacement is not supported",
                    ));
                }
                let raw = targets::parse(directive_arg(d, 1, file)?)
                    .map_err(|m| LoadError::syntax(file, line, m))?;
                let (t, e) =
                    compile::compile_targets(raw).map_err(|m| LoadError::syntax(file, line, m))?;
                self.target_updates.push((filter, e, t));
            }
            "secruleupdateactionbyid" => {
                let id_text = arg0()?;
                let id = number(id_text.split(':').next().unwrap_or(id_text), file, line)?;
                let raw = actions::parse(directive_arg(d, 1, file)?)
                    .map_err(|m| LoadError::syntax(file, line, m))?;
                self.action_updates.push((id, raw, file.to_owned(), line));
            }
            "include" | "includeoptional" => {
                let optional = lname == "includeoptional";
                self.include(arg0()?, optional, file, line, base, depth)?;
            }
            name if IGNORED_DIRECTIVES.contains(&name)
                || name.starts_with("secaudit")
                || name.starts_with("secdebug") => {}
            _ => {
                return Err(LoadError::UnknownDirective {
                    file: file.to_owned(),
                    line,
                    name: d.name.clone(),
                });
            }
        }
        let _ = file_arc;
        Ok(())
    }

    fn include(
        &mut self,
        pattern: &str,
        optional: bool,
        file: &str,
        line: usize,
        base: Option<&Path>,
        depth: usize,
    ) -> Result<(), LoadError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(LoadError::IncludeDepth {
                file: file.to_owned(),
                line,
                limit: MAX_INCLUDE_DEPTH,
            });
        }
        let path = Path::new(pattern);
        let full = match (path.is_absolute(), base) {
            (false, Some(b)) => b.join(path),
            _ => path.to_path_buf(),
        };
        let files = glob(&full);
        if files.is_empty() {
            if optional {
                return Ok(());
            }
            return Err(LoadError::IncludeNotFound {
                file: file.to_owned(),
                line,
                pattern: pattern.to_owned(),
            });
        }
        for f in files {
            self.load_file(&f, depth + 1)?;
        }
        Ok(())
    }

    fn default_action(&mut self, text: &str, file: &str, line: usize) -> Result<(), LoadError> {
        let raw = actions::parse(text).map_err(|m| LoadError::syntax(file, line, m))?;
        let (meta, link) =
            compile::compile_actions(&raw).map_err(|m| LoadError::syntax(file, line, m))?;
        let phase = meta
            .phase
            .ok_or_else(|| LoadError::syntax(file, line, "SecDefaultAction needs a phase"))?;
        let disruptive = match meta.disruptive {
            None | Some(Disruptive::Block) => Disruptive::Pass,
            Some(d) => d,
        };
        let idx = usize::from(phase - 1);
        if let Some(slot) = self.config.default_actions.get_mut(idx) {
            *slot = DefaultAction {
                disruptive,
                status: meta.status,
                log: meta.log.unwrap_or(true),
                auditlog: meta.auditlog.unwrap_or(true),
                transforms: link.transforms,
            };
        }
        Ok(())
    }

    fn sec_rule(
        &mut self,
        target_op: Option<(&str, &str)>,
        acts: &str,
        file: &str,
        file_arc: &Arc<str>,
        line: usize,
        ctx: &OperatorContext,
    ) -> Result<(), LoadError> {
        let raw_actions = actions::parse(acts).map_err(|m| LoadError::syntax(file, line, m))?;
        let mut error = None;
        let (meta, link_actions) = match compile::compile_actions(&raw_actions) {
            Ok(v) => v,
            Err(m) => {
                error = Some(m);
                // Keep what metadata we can (id, chain) so the report names the rule and the chain stays whole.
                let mut meta = Meta::default();
                for a in &raw_actions {
                    match (a.name.as_str(), a.value.as_deref()) {
                        ("id", Some(v)) => meta.id = v.trim().parse().ok(),
                        ("chain", _) => meta.chain = true,
                        _ => {}
                    }
                }
                (meta, LinkActions::default())
            }
        };
        let link = match target_op {
            None => Ok(link_actions.into_link(Vec::new(), Vec::new(), None)),
            Some((t, op)) => targets::parse(t)
                .and_then(compile::compile_targets)
                .and_then(|(targets, excl)| {
                    let op = compile::compile_operator(op, ctx)?;
                    Ok(link_actions.into_link(targets, excl, Some(op)))
                }),
        };
        let link = match link {
            Ok(l) => Some(l),
            Err(m) => {
                error.get_or_insert(m);
                None
            }
        };
        match self.pending.as_mut() {
            Some(p) if p.expects_more => {
                if let Some(l) = link {
                    p.links.push(l);
                }
                if let Some(e) = error {
                    p.error.get_or_insert(e);
                }
                p.expects_more = meta.chain;
                if !meta.chain {
                    self.close_pending(false);
                }
            }
            _ => {
                self.close_pending(true);
                if meta.id.is_none() && target_op.is_some() {
                    error.get_or_insert_with(|| "rule has no id".to_owned());
                }
                if let Some(id) = meta.id
                    && !self.ids.insert(id)
                {
                    return Err(LoadError::DuplicateId {
                        file: file.to_owned(),
                        line,
                        id,
                    });
                }
                let chain = meta.chain;
                self.pending = Some(Pending {
                    meta,
                    links: link.into_iter().collect(),
                    file: file_arc.clone(),
                    line,
                    error,
                    expects_more: chain,
                });
                if !chain {
                    self.close_pending(false);
                }
            }
        }
        Ok(())
    }

    /// Finishes the pending rule; `interrupted` means a chain was cut short.
    fn close_pending(&mut self, interrupted: bool) {
        let Some(mut p) = self.pending.take() else {
            return;
        };
        if interrupted && p.expects_more {
            p.error
                .get_or_insert_with(|| "chain is not followed by a SecRule".to_owned());
        }
        if let Some(reason) = p.error {
            self.unsupported.push(Unsupported {
                file: p.file.to_string(),
                line: p.line,
                rule_id: p.meta.id,
                reason,
            });
            return;
        }
        let m = p.meta;
        // Remember which of log/disruptive were explicit so defaults can be applied at the end.
        let explicit = Explicit {
            log: m.log.is_some(),
            disruptive: m.disruptive.is_some(),
        };
        let rule = Rule {
            index: 0,
            id: m.id.unwrap_or(0),
            phase: m.phase.unwrap_or(2),
            file: p.file,
            line: p.line,
            msg: m.msg,
            logdata: m.logdata,
            severity: m.severity,
            tags: m.tags,
            ver: m.ver,
            rev: m.rev,
            maturity: m.maturity,
            accuracy: m.accuracy,
            log: m.log.unwrap_or(true),
            auditlog: m.auditlog.unwrap_or(true),
            disruptive: m.disruptive.unwrap_or(Disruptive::Block),
            status: m.status,
            skip: m.skip,
            skip_after: m.skip_after,
            links: p.links,
        };
        self.items.push(Item::Rule(Box::new(rule)));
        self.explicit.push(explicit);
    }

    fn finish(mut self) -> Result<(RuleSet, LoadReport), LoadError> {
        self.close_pending(true);
        let mut rules = Vec::new();
        let mut phases: [Vec<Entry>; 5] = Default::default();
        let mut explicit = self.explicit.into_iter();
        let mut chains: Vec<Vec<portcullis_waf_request::Transform>> = Vec::new();
        for item in self.items {
            match item {
                Item::Marker(name) => {
                    for p in &mut phases {
                        p.push(Entry::Marker(name.clone()));
                    }
                }
                Item::Rule(mut rule) => {
                    let ex = explicit.next().unwrap_or_default();
                    if self.removals.iter().any(|f| f.matches(&rule)) {
                        continue;
                    }
                    let default = self
                        .config
                        .default_actions
                        .get(usize::from(rule.phase.saturating_sub(1)))
                        .cloned()
                        .unwrap_or_default();
                    if !ex.log {
                        rule.log = default.log;
                    }
                    if !ex.disruptive || matches!(rule.disruptive, Disruptive::Block) {
                        rule.disruptive = default.disruptive.clone();
                        if rule.status.is_none() {
                            rule.status = default.status;
                        }
                    }
                    for link in &mut rule.links {
                        if !link.t_none && !default.transforms.is_empty() {
                            let mut t = default.transforms.clone();
                            t.append(&mut link.transforms);
                            link.transforms = t;
                        }
                    }
                    for (filter, excl, extra) in &self.target_updates {
                        if filter.matches(&rule)
                            && let Some(first) = rule.links.first_mut()
                        {
                            first.exclusions.extend(excl.iter().cloned());
                            first.targets.extend(extra.iter().cloned());
                        }
                    }
                    for (id, raw, file, line) in &self.action_updates {
                        if *id == rule.id {
                            update_actions(&mut rule, raw)
                                .map_err(|m| LoadError::syntax(file, *line, m))?;
                        }
                    }
                    for link in &mut rule.links {
                        link.chain_id = chain_id(&mut chains, &link.transforms);
                    }
                    rule.index = rules.len();
                    if let Some(p) = phases.get_mut(usize::from(rule.phase.saturating_sub(1))) {
                        p.push(Entry::Rule(rule.index));
                    }
                    rules.push(*rule);
                }
            }
        }
        let uses_matched_vars = rules
            .iter()
            .flat_map(|r| &r.links)
            .flat_map(|l| &l.targets)
            .any(|t| {
                matches!(
                    t.var,
                    crate::variables::Var::MatchedVars | crate::variables::Var::MatchedVarsNames
                )
            });
        let mut skip_targets = vec![0; rules.len()];
        for list in &phases {
            for (pos, e) in list.iter().enumerate() {
                let Entry::Rule(idx) = e else { continue };
                let Some(marker) = rules.get(*idx).and_then(|r| r.skip_after.as_deref()) else {
                    continue;
                };
                let target = list
                    .iter()
                    .enumerate()
                    .skip(pos + 1)
                    .find(|(_, e)| matches!(e, Entry::Marker(m) if &**m == marker))
                    .map_or(list.len(), |(j, _)| j + 1);
                if let Some(slot) = skip_targets.get_mut(*idx) {
                    *slot = target;
                }
            }
        }
        let prefilters = crate::prefilter::Prefilters::build(&mut rules);
        let target_sets = crate::target_sets::assign(&mut rules);
        let report = LoadReport {
            rules: rules.len(),
            unsupported: self.unsupported,
        };
        Ok((
            RuleSet {
                rules,
                phases,
                config: self.config,
                store: PersistentStore::default(),
                counter: AtomicU64::new(0),
                skip_targets,
                uses_matched_vars,
                prefilters,
                target_sets,
            },
            report,
        ))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Explicit {
    log: bool,
    disruptive: bool,
}

/// `SecRuleUpdateActionById`: metadata, disruptive and flow actions replace the rule's; `tag`s are appended;
/// per-link actions (transformations, `setvar`, …) are appended to the first link.
fn update_actions(rule: &mut Rule, raw: &[actions::RawAction]) -> Result<(), String> {
    let (meta, link) = compile::compile_actions(raw)?;
    if meta.msg.is_some() {
        rule.msg = meta.msg;
    }
    if meta.logdata.is_some() {
        rule.logdata = meta.logdata;
    }
    if meta.severity.is_some() {
        rule.severity = meta.severity;
    }
    rule.tags.extend(meta.tags);
    if let Some(l) = meta.log {
        rule.log = l;
    }
    if let Some(d) = meta.disruptive {
        rule.disruptive = d;
    }
    if meta.status.is_some() {
        rule.status = meta.status;
    }
    if meta.skip_after.is_some() {
        rule.skip_after = meta.skip_after;
    }
    if let Some(first) = rule.links.first_mut() {
        if link.t_none {
            first.transforms = link.transforms;
        } else {
            first.transforms.extend(link.transforms);
        }
        first.actions.extend(link.actions);
        first.capture |= link.capture;
        first.multi_match |= link.multi_match;
    }
    Ok(())
}

/// Expands a path whose last component may contain `*` and `?`; results are sorted lexically.
fn glob(path: &Path) -> Vec<PathBuf> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| wildcard(name.as_bytes(), n.as_bytes()))
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Shell-style wildcard match of `*` and `?`.
fn wildcard(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*.conf", b"REQUEST-901.conf"));
        assert!(wildcard(b"a?c*", b"abcdef"));
        assert!(!wildcard(b"*.conf", b"x.data"));
        assert!(wildcard(b"*", b""));
    }

    #[test]
    fn include_globs_relative_to_the_including_file() {
        let dir = std::env::temp_dir().join(format!("seclang-inc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        std::fs::write(
            dir.join("main.conf"),
            "Include rules/*.conf\nIncludeOptional nothing/*.conf\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("rules/b.conf"),
            "SecAction \"id:2,phase:1,pass\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("rules/a.conf"),
            "SecAction \"id:1,phase:1,pass\"\n",
        )
        .unwrap();
        let (rs, report) = RuleSet::load(&[dir.join("main.conf")]).unwrap();
        assert_eq!(report.rules, 2);
        assert_eq!(
            rs.rules().iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        std::fs::write(dir.join("bad.conf"), "Include missing.conf\n").unwrap();
        assert!(matches!(
            RuleSet::load(&[dir.join("bad.conf")]),
            Err(LoadError::IncludeNotFound { .. })
        ));
        std::fs::write(dir.join("loop.conf"), "Include loop.conf\n").unwrap();
        assert!(matches!(
            RuleSet::load(&[dir.join("loop.conf")]),
            Err(LoadError::IncludeDepth { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn chain_cut_short_is_reported() {
        let text = "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecMarker X\n";
        let (rs, report) = RuleSet::from_sources(&[("c".into(), text.into())], None).unwrap();
        assert_eq!(rs.rules().len(), 0);
        assert_eq!(report.unsupported[0].rule_id, Some(1));
    }

    #[test]
    fn default_actions_resolve_block_log_and_transforms() {
        let text = "SecDefaultAction \"phase:2,nolog,deny,status:499,t:lowercase\"\n\
                    SecRule ARGS \"@rx a\" \"id:1,phase:2,block\"\n\
                    SecRule ARGS \"@rx a\" \"id:2,phase:2,pass,log,t:none\"";
        let (rs, _) = RuleSet::from_sources(&[("d".into(), text.into())], None).unwrap();
        let r1 = rs.rule(1).unwrap();
        assert!(matches!(r1.disruptive, Disruptive::Deny));
        assert_eq!(r1.status, Some(499));
        assert!(!r1.log);
        assert_eq!(
            r1.links[0].transforms,
            vec![portcullis_waf_request::Transform::Lowercase]
        );
        let r2 = rs.rule(2).unwrap();
        assert!(matches!(r2.disruptive, Disruptive::Pass));
        assert!(r2.log);
        assert!(r2.links[0].transforms.is_empty());
    }

    fn seclang_fragment() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("SecRule ".to_owned()),
            Just("SecAction ".to_owned()),
            Just("SecMarker ".to_owned()),
            Just("ARGS|!ARGS:x|&TX:/a/ ".to_owned()),
            Just("\"@rx a\" ".to_owned()),
            Just("\"id:1,phase:2,chain,setvar:tx.a=+1,ctl:ruleRemoveById=1\"".to_owned()),
            Just("\\\n".to_owned()),
            Just("\n".to_owned()),
            Just("'".to_owned()),
            Just("\"".to_owned()),
            "[ -~]{0,12}",
        ];
        proptest::collection::vec(token, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn loading_never_panics(text in seclang_fragment()) {
            let _ = RuleSet::from_sources(&[("p".into(), text)], None);
        }

        #[test]
        fn loading_arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = RuleSet::from_sources(&[("p".into(), text)], None);
        }
    }
}
