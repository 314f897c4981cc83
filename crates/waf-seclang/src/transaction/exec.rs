//! Running rules: target collection, transformations, operators, per-link actions, and what a full match does.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use portcullis_waf_request::transform::{Transform, apply, apply_chain};

use super::state::{CacheKey, Cached, State, StepKey};
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

/// Shortest value whose transformation steps are cached per effective step sequence (shorter ones go through
/// their whole chain at once, where the extra cache entries cost more than they save).
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
            // The operator sees the value before any transformation and after every step that changed it. When
            // the prefilter says the raw request value holds none of its literals, the texts equal to it up to
            // case cannot match either and are skipped.
            let (skip_folded, mut mask) = match (&v.value, link.prefilter_slot) {
                (Cow::Borrowed(raw), Some(slot)) => {
                    let absent = text_hits(rs, st, raw, None, link.chain_id)
                        .is_some_and(|h| !prefilter::has(&h, slot));
                    (absent, raw_summary(st, raw))
                }
                _ => (false, summary::summarize(&v.value)),
            };
            if !skip_folded && test_value(rs, view, st, link, op, v, &v.value) {
                matched = true;
            }
            let mut cur: Option<Vec<u8>> = None;
            let mut folded = true;
            for &t in &link.transforms {
                let prev: &[u8] = cur.as_deref().unwrap_or(&v.value);
                let Some(e) = summary::effective(t, mask, prev) else {
                    continue;
                };
                let Cow::Owned(next) = apply(e, prev) else {
                    continue;
                };
                mask = summary::after(e, mask, &next);
                folded &= e == Transform::Lowercase;
                if !(skip_folded && folded) && test_value(rs, view, st, link, op, v, &next) {
                    matched = true;
                }
                cur = Some(next);
            }
        } else if let Cow::Borrowed(raw) = &v.value
            && (!link.transforms.is_empty() || link.prefilter_slot.is_some())
        {
            if st.transform_cache.capacity() == 0 {
                // Growing the table step by step (rehashing each time) cost more than the lookups themselves;
                // CRS runs about 16 distinct chains over each request value.
                let d = view.data;
                let members = d.args_get.len() + d.args_post.len() + d.cookies.len();
                let estimate = 16 * (members + view.req.headers.len()) + 64;
                st.transform_cache.reserve(estimate.min(8192));
                st.text_hits
                    .reserve((2 * members + view.req.headers.len() + 16).min(1024));
            }
            let (cached, hits) = transformed(rs, st, raw, link, link.prefilter_slot.is_some());
            let input: &[u8] = cached.as_deref().unwrap_or(raw);
            if let (Some(slot), Some(hits)) = (link.prefilter_slot, hits)
                && !prefilter::has(&hits, slot)
            {
                // None of the operator's necessary literals occurs: it cannot match this value.
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
            base: None,
        })
        .mask
}

/// Shortest transformation result whose prefilter hits are cached per text (a shorter one is scanned again:
/// cheaper than a probe). Short results are seldom shared: each chain that changes a short value makes its own.
const HITS_CACHE_MIN: usize = 32;

/// The same for a raw request value, which every chain that leaves it alone (up to case) shares: all but the empty
/// value are cached (one probe costs less than a second scan from about 4 bytes on, and most values are longer).
const RAW_HITS_CACHE_MIN: usize = 1;

/// Most effective steps whose results the step cache keys (6 bits each); longer chains are applied uncached.
const MAX_KEYED_STEPS: u32 = 10;

/// `raw` through `link`'s transformation chain, memoised per (value, chain) in the transaction — and, for long
/// values, per sequence of effective steps (see [`stepped`]). Returns the value (`None` when the chain leaves
/// `raw` unchanged) and, with `want_hits`, the prefilter hits on it (see [`text_hits`]).
fn transformed(
    rs: &RuleSet,
    st: &mut State,
    raw: &[u8],
    link: &Link,
    want_hits: bool,
) -> (Option<Arc<[u8]>>, Option<prefilter::Hits>) {
    let key: CacheKey = (raw.as_ptr() as usize, raw.len(), link.chain_id);
    if let Some(c) = st.transform_cache.get(&key) {
        if !want_hits || c.hits.is_some() {
            return (c.value.clone(), c.hits);
        }
        let (value, base) = (c.value.clone(), c.base.clone());
        let hits = text_hits(rs, st, raw, base.as_deref(), link.chain_id);
        if let Some(c) = st.transform_cache.get_mut(&key) {
            c.hits = hits;
        }
        return (value, hits);
    }
    let (value, mask, base) = if raw.len() >= PREFIX_CACHE_MIN {
        let c = stepped(st, raw, &link.transforms);
        (c.value, c.mask, c.base)
    } else {
        let raw_mask = raw_summary(st, raw);
        let a = summary::apply_chain(&link.transforms, raw, raw_mask);
        let value = match a.value {
            Cow::Owned(o) => Some(Arc::<[u8]>::from(o)),
            Cow::Borrowed(_) => None,
        };
        let base = if a.folded { None } else { value.clone() };
        (value, a.mask, base)
    };
    let hits = if want_hits {
        text_hits(rs, st, raw, base.as_deref(), link.chain_id)
    } else {
        None
    };
    st.transform_cache.insert(
        key,
        Cached {
            value: value.clone(),
            hits,
            mask,
            base,
        },
    );
    (value, hits)
}

/// The prefilter hits on a transformation result of `raw` that equals `base` (`None`: `raw` itself) up to case.
/// Texts of [`HITS_CACHE_MIN`] bytes or more are scanned once per transaction. `None` (run the operator) for a
/// text of its own that only one prefiltered link of the chain would use: the scan would cost about as much as
/// the operator.
fn text_hits(
    rs: &RuleSet,
    st: &mut State,
    raw: &[u8],
    base: Option<&[u8]>,
    chain: u32,
) -> Option<prefilter::Hits> {
    let text: &[u8] = base.unwrap_or(raw);
    let min = if base.is_none() {
        RAW_HITS_CACHE_MIN
    } else {
        HITS_CACHE_MIN
    };
    if text.len() < min {
        return Some(rs.prefilters.scan(text));
    }
    let key = (text.as_ptr() as usize, text.len());
    if let Some(h) = st.text_hits.get(&key) {
        return Some(*h);
    }
    if base.is_some() && rs.prefilters.chain_links(chain) < 2 {
        return None;
    }
    let h = rs.prefilters.scan(text);
    st.text_hits.insert(key, h);
    Some(h)
}

/// `chain` applied to the long request value `raw`: each step that may change the value is looked up in the
/// step cache under the sequence of such steps so far, so every chain that reaches the same sequence shares the
/// result. Returns the value (`None`: unchanged), its byte summary and its case base (see [`Cached::base`]).
fn stepped(st: &mut State, raw: &[u8], chain: &[Transform]) -> Cached {
    let mut mask = raw_summary(st, raw);
    let mut cur: Option<Arc<[u8]>> = None;
    let mut base: Option<Arc<[u8]>> = None;
    let mut seq: u64 = 0;
    let mut depth: u32 = 0;
    for &t in chain {
        let input: &[u8] = cur.as_deref().unwrap_or(raw);
        let Some(e) = summary::effective(t, mask, input) else {
            continue;
        };
        depth += 1;
        let code = step_code(e);
        if code.is_none() {
            // An unkeyable step: this and every later step run uncached.
            depth = MAX_KEYED_STEPS + 1;
        }
        let keyed = depth <= MAX_KEYED_STEPS;
        seq = (seq << 6) | code.unwrap_or(0);
        let key: StepKey = (raw.as_ptr() as usize, raw.len(), seq);
        if keyed && let Some(c) = st.step_cache.get(&key) {
            cur = c.value.clone();
            mask = c.mask;
            base = c.base.clone();
            continue;
        }
        if let Cow::Owned(o) = apply(e, input) {
            mask = summary::after(e, mask, &o);
            let next: Arc<[u8]> = Arc::from(o);
            if e != Transform::Lowercase {
                base = Some(next.clone());
            }
            cur = Some(next);
        }
        if keyed {
            st.step_cache.insert(
                key,
                Cached {
                    value: cur.clone(),
                    hits: None,
                    mask,
                    base: base.clone(),
                },
            );
        }
    }
    Cached {
        value: cur,
        hits: None,
        mask,
        base,
    }
}

/// A distinct code of 1 to 63 for a transformation, for the step cache's keys (`None` past 63).
fn step_code(t: Transform) -> Option<u64> {
    let c = match t {
        Transform::Lowercase => 1,
        Transform::UrlDecodeUni => 2,
        Transform::HtmlEntityDecode => 3,
        Transform::CmdLine => 4,
        Transform::JsDecode => 5,
        Transform::CssDecode => 6,
        Transform::CompressWhitespace => 7,
        Transform::RemoveWhitespace => 8,
        Transform::NormalizePath => 9,
        Transform::NormalizePathWin => 10,
        Transform::UrlDecode => 11,
        Transform::RemoveNulls => 12,
        Transform::Utf8ToUnicode => 13,
        Transform::ReplaceComments => 14,
        _ => Transform::all()
            .position(|x| x == t)
            .and_then(|p| u64::try_from(p).ok())?
            .checked_add(15)?,
    };
    (c <= 63).then_some(c)
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
