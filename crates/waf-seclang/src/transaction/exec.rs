//! Running rules: target collection, transformations, operators, per-link actions, and what a full match does.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use portcullis_waf_request::transform::{apply, apply_chain};

use super::state::{CacheKey, Cached, State};
use super::vars::{self, View};
use crate::log::{Disruption, Intervention, LogEntry};
use crate::macros::{MacroText, MacroVar};
use crate::operator::OperatorEnv;
use crate::prefilter;
use crate::rule::{
    Action, AllowScope, Ctl, Disruptive, EngineMode, Exclusion, Link, Rule, Selector, SetVarOp,
    Target,
};
use crate::ruleset::{Entry, RuleSet};
use crate::summary;
use crate::variables::Var;

/// Shortest value whose shared chain prefixes are cached (shorter ones go through their whole chain at once).
const PREFIX_CACHE_MIN: usize = 160;

/// Longest matched value kept in a log entry.
const MAX_LOGGED_VALUE: usize = 512;

/// Expands macro text against the transaction.
pub(crate) fn expand(view: View<'_>, st: &State, text: &MacroText) -> Vec<u8> {
    text.expand(|mv, out| resolve(view, st, mv, out))
}

fn resolve(view: View<'_>, st: &State, mv: &MacroVar, out: &mut Vec<u8>) {
    let Some(var) = Var::from_name(&mv.collection) else {
        return;
    };
    match (var, mv.key.as_deref()) {
        (Var::Tx | Var::Ip | Var::Global | Var::Session | Var::User | Var::Resource, Some(key)) => {
            if let Some(v) = st.collection(var).and_then(|c| c.get(key, st.now)) {
                out.extend_from_slice(v);
            }
        }
        (Var::MatchedVar, _) => out.extend_from_slice(&st.matched_var),
        (Var::MatchedVarName, _) => out.extend_from_slice(st.matched_var_name.as_bytes()),
        (Var::Rule, Some(key)) => {
            let rule = view.rules.rules.get(st.rule_index);
            match (key, rule) {
                ("id", _) => out.extend_from_slice(st.rule_id.to_string().as_bytes()),
                ("phase", _) => out.extend_from_slice(st.phase.to_string().as_bytes()),
                // Macros inside `msg`/`logdata` are left unexpanded here (no recursion).
                ("msg", Some(r)) => {
                    out.extend_from_slice(r.msg.as_ref().map_or(&b""[..], |m| m.raw().as_bytes()))
                }
                ("logdata", Some(r)) => {
                    out.extend_from_slice(
                        r.logdata.as_ref().map_or(&b""[..], |m| m.raw().as_bytes()),
                    );
                }
                ("severity", Some(r)) => {
                    if let Some(s) = r.severity {
                        out.extend_from_slice(s.to_string().as_bytes());
                    }
                }
                ("ver", Some(r)) => {
                    out.extend_from_slice(r.ver.as_deref().unwrap_or("").as_bytes())
                }
                ("rev", Some(r)) => {
                    out.extend_from_slice(r.rev.as_deref().unwrap_or("").as_bytes())
                }
                _ => {}
            }
        }
        (_, key) => {
            let target = Target {
                var,
                selector: key.map_or(Selector::All, |k| Selector::Key(k.to_owned())),
                count: false,
            };
            let mut tmp = Vec::new();
            vars::collect(view, st, &target, [&[], &[]], &mut tmp);
            if let Some(v) = tmp.first() {
                out.extend_from_slice(&v.value);
            }
        }
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

struct OpEnv<'x, 'a> {
    view: View<'a>,
    st: &'x mut State,
    capture: bool,
}

impl OperatorEnv for OpEnv<'_, '_> {
    fn expand(&self, text: &str) -> String {
        lossy(&expand(self.view, self.st, &MacroText::parse(text)))
    }

    fn expand_parsed(&self, text: &MacroText) -> String {
        lossy(&expand(self.view, self.st, text))
    }

    fn capture(&mut self, index: usize, value: &[u8]) {
        if index <= 9 {
            self.st.tx.set(&index.to_string(), value.to_vec());
        }
    }

    fn capture_enabled(&self) -> bool {
        self.capture
    }

    fn remote_addr(&self) -> IpAddr {
        self.view.req.client_addr.ip()
    }
}

/// What the phase loop does after a rule.
enum Flow {
    Continue,
    Stop,
    Skip(u32),
    SkipAfter,
    EndPhase,
}

/// Runs the rules of `phase`.
pub(crate) fn run_phase(view: View<'_>, st: &mut State, phase: u8) {
    let rs = view.rules;
    if st.engine == EngineMode::Off {
        return;
    }
    if st.intervention.is_some() && phase != 5 {
        return;
    }
    match st.allow {
        Some(AllowScope::All) if phase < 5 => return,
        Some(AllowScope::Request) if phase <= 2 => return,
        _ => {}
    }
    st.phase = phase;
    let Some(entries) = rs.phases.get(usize::from(phase.saturating_sub(1))) else {
        return;
    };
    let mut i = 0;
    let mut skip = 0u32;
    // Reused for every link's values: one allocation per phase instead of one per rule.
    let mut scratch = Vec::with_capacity(32);
    // Shared target lists (see `target_sets`), collected on first use in this phase.
    let mut shared: Shared<'_> = Vec::new();
    while let Some(entry) = entries.get(i) {
        i += 1;
        let Entry::Rule(idx) = entry else { continue };
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if !st.removed.is_empty() && st.removed.contains(idx) {
            continue;
        }
        let Some(rule) = rs.rules.get(*idx) else {
            continue;
        };
        if st.engine == EngineMode::Off {
            return;
        }
        st.rule_id = rule.id;
        st.rule_index = *idx;
        if !eval_rule(rs, view, st, rule, &mut scratch, &mut shared) {
            continue;
        }
        match on_full_match(view, st, rule) {
            Flow::Continue => {}
            Flow::Stop | Flow::EndPhase => return,
            Flow::Skip(n) => skip = n,
            Flow::SkipAfter => i = rs.skip_targets.get(*idx).copied().unwrap_or(entries.len()),
        }
    }
}

/// The target lists of one phase, by target-set id.
type Shared<'a> = Vec<Option<Vec<vars::Value<'a>>>>;

fn eval_rule<'a>(
    rs: &'a RuleSet,
    view: View<'a>,
    st: &mut State,
    rule: &'a Rule,
    scratch: &mut Vec<vars::Value<'a>>,
    shared: &mut Shared<'a>,
) -> bool {
    st.matched_vars.clear();
    rule.links
        .iter()
        .all(|link| eval_link(rs, view, st, rule, link, scratch, shared))
}

fn eval_link<'a>(
    rs: &'a RuleSet,
    view: View<'a>,
    st: &mut State,
    rule: &Rule,
    link: &'a Link,
    scratch: &mut Vec<vars::Value<'a>>,
    shared: &mut Shared<'a>,
) -> bool {
    let Some(op) = &link.operator else {
        run_actions(rs, view, st, &link.actions);
        return true;
    };
    let removed: Vec<Exclusion> = if st.removed_targets.is_empty() {
        Vec::new()
    } else {
        st.removed_targets
            .get(&rule.index)
            .cloned()
            .unwrap_or_default()
    };
    let set = link
        .target_set
        .filter(|_| removed.is_empty())
        .and_then(|id| usize::try_from(id).ok());
    let values: &[vars::Value<'a>] = match set {
        Some(id) => {
            if shared.len() <= id {
                shared.resize_with(rs.target_sets.max(id + 1), || None);
            }
            match shared.get_mut(id) {
                Some(slot) => slot.get_or_insert_with(|| {
                    let mut v = Vec::new();
                    for t in &link.targets {
                        vars::collect(view, st, t, [&link.exclusions, &[]], &mut v);
                    }
                    v
                }),
                None => &[],
            }
        }
        None => {
            scratch.clear();
            for t in &link.targets {
                vars::collect(view, st, t, [&link.exclusions, &removed], scratch);
            }
            scratch
        }
    };
    let mut matched = false;
    for v in values.iter() {
        if link.multi_match {
            // The operator sees the value before any transformation and after every step that changed it.
            if test_value(rs, view, st, link, op, v, &v.value) {
                matched = true;
            }
            let mut cur: Option<Vec<u8>> = None;
            for &t in &link.transforms {
                let prev: &[u8] = cur.as_deref().unwrap_or(&v.value);
                let Cow::Owned(next) = apply(t, prev) else {
                    continue;
                };
                if test_value(rs, view, st, link, op, v, &next) {
                    matched = true;
                }
                cur = Some(next);
            }
        } else if let Cow::Borrowed(raw) = &v.value
            && (!link.transforms.is_empty() || link.prefilter_slot.is_some())
        {
            if st.transform_cache.capacity() == 0 {
                // Growing the table step by step (rehashing each time) cost more than the lookups themselves;
                // CRS runs about 16 distinct chains (a few more with their shared prefixes) over each request value.
                let d = view.data;
                let members = d.args_get.len() + d.args_post.len() + d.cookies.len();
                let estimate = 16 * (members + view.req.headers.len()) + 64;
                st.transform_cache.reserve(estimate.min(8192));
            }
            let filter = link
                .prefilter_slot
                .and_then(|slot| Some((slot, rs.prefilters.chain(link.chain_id)?)));
            let (cached, hits, _) = transformed(rs, st, raw, link.chain_id, filter.map(|(_, f)| f));
            let input: &[u8] = cached.as_deref().unwrap_or(raw);
            if let (Some((slot, _)), Some(hits)) = (filter, hits)
                && !prefilter::has(&hits, slot)
            {
                // None of the regex's necessary literals occurs: it cannot match this value.
                continue;
            }
            if test_value(rs, view, st, link, op, v, input) {
                matched = true;
            }
        } else if link.transforms.is_empty() {
            if test_value(rs, view, st, link, op, v, &v.value) {
                matched = true;
            }
        } else {
            let c = apply_chain(&link.transforms, &v.value);
            if test_value(rs, view, st, link, op, v, &c) {
                matched = true;
            }
        }
    }
    matched
}

/// Key of a raw value's byte summary in the transformation cache (no chain has this id).
const RAW_SUMMARY: u32 = u32::MAX;

/// Shortest value whose byte summary is cached (a shorter one is summarised again: cheaper than a probe).
const SUMMARY_CACHE_MIN: usize = 32;

/// The byte summary (see [`summary`]) of request value `raw`.
fn raw_summary(st: &mut State, raw: &[u8]) -> u32 {
    if raw.len() < SUMMARY_CACHE_MIN {
        return summary::summarize(raw);
    }
    let key = (raw.as_ptr() as usize, raw.len(), RAW_SUMMARY);
    st.transform_cache
        .entry(key)
        .or_insert_with(|| Cached {
            value: None,
            hits: None,
            mask: summary::summarize(raw),
        })
        .mask
}

/// `raw` through transformation chain `chain`, memoised per (value, chain) in the transaction — and, through
/// [`crate::ruleset::ChainStep`], per shared prefix of the chain for long values, so chains sharing a prefix
/// transform it once. Returns the value (`None` when the chain leaves `raw` unchanged), with `filter` the chain's
/// `@rx` prefilter hits on it (scanned once per entry), and its byte summary. Steps that cannot change the value
/// are skipped on the strength of the summary.
fn transformed(
    rs: &RuleSet,
    st: &mut State,
    raw: &[u8],
    chain: u32,
    filter: Option<&prefilter::ChainFilter>,
) -> (Option<Arc<[u8]>>, Option<prefilter::Hits>, u32) {
    let key: CacheKey = (raw.as_ptr() as usize, raw.len(), chain);
    if let Some(c) = st.transform_cache.get_mut(&key) {
        let value = c.value.clone();
        let hits = filter.map(|f| {
            *c.hits
                .get_or_insert_with(|| f.scan(value.as_deref().unwrap_or(raw)))
        });
        return (value, hits, c.mask);
    }
    let step = usize::try_from(chain)
        .ok()
        .and_then(|i| rs.chain_steps.get(i))
        .and_then(Option::as_ref);
    let parent = step
        .and_then(|s| s.parent)
        .filter(|_| raw.len() >= PREFIX_CACHE_MIN);
    let (value, mask) = match (step, parent) {
        // A long value whose chain shares a prefix with other chains: the prefix's result comes from the cache.
        (Some(step), Some(parent)) => {
            let (base, _, base_mask) = transformed(rs, st, raw, parent, None);
            let input: &[u8] = base.as_deref().unwrap_or(raw);
            let (out, mask) = match summary::apply_chain(&step.tail, input, base_mask) {
                (Cow::Owned(o), m) => (Some(o), m),
                (Cow::Borrowed(_), m) => (None, m),
            };
            (out.map(Arc::<[u8]>::from).or(base), mask)
        }
        // The whole chain at once (short values, chains without a shared prefix).
        (Some(step), None) => {
            let raw_mask = raw_summary(st, raw);
            match summary::apply_chain(&step.full, raw, raw_mask) {
                (Cow::Owned(o), m) => (Some(Arc::<[u8]>::from(o)), m),
                (Cow::Borrowed(_), m) => (None, m),
            }
        }
        // The empty chain.
        (None, _) => (None, raw_summary(st, raw)),
    };
    let hits = filter.map(|f| f.scan(value.as_deref().unwrap_or(raw)));
    st.transform_cache.insert(
        key,
        Cached {
            value: value.clone(),
            hits,
            mask,
        },
    );
    (value, hits, mask)
}

fn test_value(
    rs: &RuleSet,
    view: View<'_>,
    st: &mut State,
    link: &Link,
    op: &crate::rule::RuleOperator,
    v: &vars::Value<'_>,
    input: &[u8],
) -> bool {
    let hit = {
        let mut env = OpEnv {
            view,
            st,
            capture: link.capture,
        };
        op.operator.evaluate(input, &mut env) != op.negated
    };
    if hit {
        st.matched_var.clear();
        st.matched_var.extend_from_slice(input);
        st.matched_var_name.clear();
        v.write_name(&mut st.matched_var_name);
        if rs.uses_matched_vars {
            st.matched_vars
                .push((st.matched_var_name.clone(), input.to_vec()));
        }
        run_actions(rs, view, st, &link.actions);
    }
    hit
}

fn numeric(v: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(v);
    let t = s.trim();
    t.parse::<i64>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
        .unwrap_or(0)
}

fn run_actions(rs: &RuleSet, view: View<'_>, st: &mut State, actions: &[Action]) {
    for a in actions {
        match a {
            Action::SetVar(r, op) => {
                let key: Cow<'_, str> = match r.key.as_literal() {
                    Some(k) => Cow::Borrowed(k),
                    None => Cow::Owned(lossy(&expand(view, st, &r.key)).to_ascii_lowercase()),
                };
                let operand: Cow<'_, [u8]> = match op {
                    SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => {
                        match m.as_literal() {
                            Some(l) => Cow::Borrowed(l.as_bytes()),
                            None => Cow::Owned(expand(view, st, m)),
                        }
                    }
                    SetVarOp::Delete => Cow::Borrowed(&[]),
                };
                let now = st.now;
                let Some(coll) = st.collection_mut(r.collection) else {
                    continue;
                };
                match op {
                    SetVarOp::Set(_) => coll.set(&key, operand.into_owned()),
                    SetVarOp::Add(_) | SetVarOp::Sub(_) => {
                        let cur = coll.get(&key, now).map_or(0, numeric);
                        let delta = numeric(&operand);
                        let new = if matches!(op, SetVarOp::Add(_)) {
                            cur.saturating_add(delta)
                        } else {
                            cur.saturating_sub(delta)
                        };
                        coll.set(&key, new.to_string().into_bytes());
                    }
                    SetVarOp::Delete => coll.remove(&key),
                }
            }
            Action::ExpireVar(r, secs) => {
                let key = lossy(&expand(view, st, &r.key)).to_ascii_lowercase();
                let secs = u64::try_from(numeric(&expand(view, st, secs))).unwrap_or(0);
                let at = st.now.saturating_add(secs);
                if let Some(c) = st.collection_mut(r.collection) {
                    c.expire(&key, at);
                }
            }
            Action::InitCol(var, key) => {
                if st.persistent_get(*var).is_some() {
                    continue;
                }
                let key = lossy(&expand(view, st, key));
                let c = rs
                    .store
                    .load(*var, &key, st.now, rs.config.collection_timeout);
                st.persistent.push((*var, key, c));
            }
            Action::SetEnv(name, value) => {
                let v = expand(view, st, value);
                st.env.insert(name.to_ascii_lowercase(), v);
            }
            Action::Ctl(ctl) => run_ctl(rs, st, ctl),
        }
    }
}

fn run_ctl(rs: &RuleSet, st: &mut State, ctl: &Ctl) {
    let remove_target = |pred: &dyn Fn(&Rule) -> bool, ex: &Exclusion, st: &mut State| {
        for r in rs.rules.iter().filter(|r| pred(r)) {
            st.removed_targets
                .entry(r.index)
                .or_default()
                .push(ex.clone());
        }
    };
    match ctl {
        Ctl::RuleRemoveById(range) => {
            for r in rs.rules.iter().filter(|r| range.contains(r.id)) {
                st.removed.insert(r.index);
            }
        }
        Ctl::RuleRemoveByTag(re) => {
            for r in rs
                .rules
                .iter()
                .filter(|r| r.tags.iter().any(|t| re.is_match(t.as_bytes())))
            {
                st.removed.insert(r.index);
            }
        }
        Ctl::RuleRemoveByMsg(re) => {
            for r in &rs.rules {
                if r.msg
                    .as_ref()
                    .and_then(|m| m.as_literal())
                    .is_some_and(|m| re.is_match(m.as_bytes()))
                {
                    st.removed.insert(r.index);
                }
            }
        }
        Ctl::RuleRemoveTargetById(range, ex) => remove_target(&|r| range.contains(r.id), ex, st),
        Ctl::RuleRemoveTargetByTag(re, ex) => {
            remove_target(
                &|r| r.tags.iter().any(|t| re.is_match(t.as_bytes())),
                ex,
                st,
            );
        }
        Ctl::RuleRemoveTargetByMsg(re, ex) => remove_target(
            &|r| {
                r.msg
                    .as_ref()
                    .and_then(|m| m.as_literal())
                    .is_some_and(|m| re.is_match(m.as_bytes()))
            },
            ex,
            st,
        ),
        Ctl::RuleEngine(mode) => st.engine = *mode,
        Ctl::RequestBodyProcessor(p) => st.body_processor = Some(*p),
        Ctl::RequestBodyAccess(on) => st.body_access = *on,
        Ctl::ForceRequestBodyVariable(on) => st.force_body_var = *on,
        Ctl::Ignored => {}
        Ctl::ResponseBodyAccess(on) => st.response_body_access = *on,
    }
}

fn on_full_match(view: View<'_>, st: &mut State, rule: &Rule) -> Flow {
    if rule.id != 0 {
        st.matched_ids.push(rule.id);
    }
    if let Some(sev) = rule.severity {
        st.highest_severity = st.highest_severity.min(sev);
    }
    let enforcing = st.engine == EngineMode::On;
    let disrupts = enforcing
        && matches!(
            rule.disruptive,
            Disruptive::Deny | Disruptive::Drop | Disruptive::Redirect(_)
        );
    let mut line = String::new();
    if rule.log || disrupts {
        let mut data = st.matched_var.clone();
        data.truncate(MAX_LOGGED_VALUE);
        let entry = LogEntry {
            rule_id: rule.id,
            phase: st.phase,
            msg: rule
                .msg
                .as_ref()
                .map(|m| lossy(&expand(view, st, m)))
                .unwrap_or_default(),
            logdata: rule
                .logdata
                .as_ref()
                .map(|m| lossy(&expand(view, st, m)))
                .unwrap_or_default(),
            severity: rule.severity,
            tags: rule.tags.clone(),
            matched_var_name: st.matched_var_name.clone(),
            matched_data: lossy(&data),
            file: rule.file.to_string(),
            line: rule.line,
            disruptive: disrupts,
            ver: rule.ver.clone(),
        };
        line = entry.to_string();
        if rule.log {
            st.logs.push(entry);
        }
    }
    if enforcing {
        let rule_id = (rule.id != 0).then_some(rule.id);
        match &rule.disruptive {
            Disruptive::Deny | Disruptive::Drop => {
                st.intervention = Some(Intervention {
                    status: rule.status.unwrap_or(403),
                    rule_id,
                    disruptive: if matches!(rule.disruptive, Disruptive::Drop) {
                        Disruption::Drop
                    } else {
                        Disruption::Deny
                    },
                    log: line,
                });
                return Flow::Stop;
            }
            Disruptive::Redirect(url) => {
                let status = rule
                    .status
                    .filter(|s| (300..400).contains(s))
                    .unwrap_or(302);
                st.intervention = Some(Intervention {
                    status,
                    rule_id,
                    disruptive: Disruption::Redirect {
                        url: lossy(&expand(view, st, url)),
                    },
                    log: line,
                });
                return Flow::Stop;
            }
            Disruptive::Allow(scope) => {
                st.allow = Some(*scope);
                return Flow::EndPhase;
            }
            Disruptive::Pass | Disruptive::Block => {}
        }
    }
    if rule.skip_after.is_some() {
        return Flow::SkipAfter;
    }
    if rule.skip > 0 {
        return Flow::Skip(rule.skip);
    }
    Flow::Continue
}
