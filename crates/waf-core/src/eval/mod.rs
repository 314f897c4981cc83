//! Statement evaluation over one request, with the per-request caches: extracted fields, merged byte-match and
//! regex results, detector results and the labels added so far.

mod addr;
mod rate;
pub(crate) mod rules;

use std::cell::RefCell;
use std::sync::Arc;

use portcullis_waf_injection::{Sensitivity, detect_sqli_tokens, detect_sqli_with, detect_xss};

use crate::env::EvalEnv;
use crate::field::{Parsed, Slot, derive, extract};
use crate::joined::{is_clean as joined_is_clean, push as push_joined};
use crate::labels::label_matches;
use crate::needs::admits;
use crate::plan::{Detector, Forwarded, Plan, Position, RegexGroup, RegexSetEntry, Stmt};
use crate::regexset::Caches;
use crate::verdict::MatchDetail;

/// Longest piece of a value a match detail carries.
const MATCHED_DATA_MAX: usize = 64;

/// The `ruleMatchDetails` entry of a detection that matched `value` (`None` when the field was forced to
/// match, e.g. by oversize handling).
fn match_detail(detector: Detector, location: &'static str, value: Option<&[u8]>) -> MatchDetail {
    let clip =
        |b: &[u8]| String::from_utf8_lossy(b.get(..MATCHED_DATA_MAX).unwrap_or(b)).into_owned();
    let (condition_type, sensitivity_level, matched_data) = match detector {
        Detector::SqliLow | Detector::SqliHigh => {
            let (level, s) = if detector == Detector::SqliLow {
                ("LOW", Sensitivity::Low)
            } else {
                ("HIGH", Sensitivity::High)
            };
            let tokens = value
                .and_then(|v| detect_sqli_tokens(v, s))
                .map(|(_, t)| t.iter().map(|t| clip(t)).collect())
                .unwrap_or_default();
            ("SQL_INJECTION", Some(level), tokens)
        }
        Detector::Xss => (
            "XSS",
            None,
            value.map(|v| vec![clip(v)]).unwrap_or_default(),
        ),
    };
    MatchDetail {
        condition_type,
        sensitivity_level,
        location,
        matched_data,
    }
}

/// Per-request evaluation state.
pub(crate) struct Ctx<'p> {
    pub plan: &'p Plan,
    pub parsed: &'p Parsed<'p>,
    pub env: &'p EvalEnv<'p>,
    fields: Vec<Option<Slot<'p>>>,
    /// One allocation for every per-request flag; see [`Offsets`].
    flags: Vec<bool>,
    off: Offsets,
    /// Fully qualified labels in the order they were added (no duplicates).
    pub labels: Vec<Arc<str>>,
    /// What each SQLi/XSS detection slot that matched found (filled only on a match).
    found: Vec<(usize, MatchDetail)>,
    /// Details of the detections that matched since the current rule started (see `rules.rs`).
    pub(crate) hits: Vec<MatchDetail>,
    /// This thread's search caches of the plan's regex sets.
    caches: Caches,
    /// Per value of the field a regex group is searching, the bytes its sets' requirements name.
    presents: Vec<u64>,
    /// A field's values joined for one search ([`crate::joined`]).
    joined: Vec<u8>,
}

/// The per-request tables of a finished [`Ctx`], emptied, kept for the thread's next request so that evaluating
/// allocates neither again. A `Vec` only keeps its allocation, never values.
#[derive(Default)]
struct Spare {
    fields: Vec<Option<Slot<'static>>>,
    flags: Vec<bool>,
    presents: Vec<u64>,
    joined: Vec<u8>,
}

thread_local! {
    static SPARE: RefCell<Spare> = RefCell::new(Spare::default());
}

/// Tables larger than this many entries are not kept (bounds what an idle thread holds on to).
const SPARE_MAX: usize = 1 << 16;

/// Empties `v` and gives its allocation another lifetime (in-place collection reuses the buffer; nothing is
/// converted as the vector is empty).
fn recycle<'a, 'b>(mut v: Vec<Option<Slot<'a>>>) -> Vec<Option<Slot<'b>>> {
    v.clear();
    v.into_iter().map(|_| None).collect()
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        let fields = std::mem::take(&mut self.fields);
        let mut flags = std::mem::take(&mut self.flags);
        let mut presents = std::mem::take(&mut self.presents);
        let mut joined = std::mem::take(&mut self.joined);
        if fields.capacity() > SPARE_MAX
            || flags.capacity() > SPARE_MAX
            || presents.capacity() > SPARE_MAX
            || joined.capacity() > SPARE_MAX
        {
            return;
        }
        let fields = recycle(fields);
        flags.clear();
        presents.clear();
        joined.clear();
        // `try_with`: during thread teardown the pool may be gone; then the tables are simply freed.
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.fields = fields;
                s.flags = flags;
                s.presents = presents;
                s.joined = joined;
            }
        });
    }
}

/// Where each kind of flag starts in [`Ctx::flags`].
struct Offsets {
    byte_done: usize,
    byte_hit: usize,
    regex_done: usize,
    regex_hit: usize,
    detect_done: usize,
    detect_hit: usize,
    len: usize,
}

impl Offsets {
    fn new(plan: &Plan) -> Offsets {
        let byte_done = 0;
        let byte_hit = byte_done + plan.byte_groups.len();
        let regex_done = byte_hit + plan.byte_hits;
        let regex_hit = regex_done + plan.regex_groups.len();
        let detect_done = regex_hit + plan.regex_hits;
        let detect_hit = detect_done + plan.detect_slots;
        Offsets {
            byte_done,
            byte_hit,
            regex_done,
            regex_hit,
            detect_done,
            detect_hit,
            len: detect_hit + plan.detect_slots,
        }
    }
}

fn set(v: &mut [bool], i: usize, b: bool) {
    if let Some(x) = v.get_mut(i) {
        *x = b;
    }
}

fn get(v: &[bool], i: usize) -> bool {
    v.get(i).copied().unwrap_or(false)
}

/// The slot of field `id`, following a [`Slot::Same`] to the field it repeats; with that field's id.
fn resolve<'a, 'p>(fields: &'a [Option<Slot<'p>>], id: usize) -> Option<(usize, &'a Slot<'p>)> {
    match fields.get(id).and_then(Option::as_ref)? {
        Slot::Same(other) => match fields.get(*other).and_then(Option::as_ref)? {
            Slot::Same(_) => None,
            s => Some((*other, s)),
        },
        s => Some((id, s)),
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Does an occurrence at `start..end` of a value of length `len` satisfy the constraint?
fn position_ok(pos: Position, value: &[u8], start: usize, end: usize) -> bool {
    match pos {
        Position::Contains => true,
        Position::StartsWith => start == 0,
        Position::EndsWith => end == value.len(),
        Position::Exactly => start == 0 && end == value.len(),
        Position::ContainsWord => {
            let before = start == 0 || value.get(start - 1).is_some_and(|&b| !is_word(b));
            let after = end == value.len() || value.get(end).is_some_and(|&b| !is_word(b));
            before && after
        }
    }
}

/// Searches `hay` with `re` (the set `rs` or its joined variant, whose cache slot is `cache`) and notes which
/// statements matched. Returns whether the set's sole owner has now matched (then no further search can add
/// anything).
fn search(
    caches: &mut Caches,
    flags: &mut [bool],
    base: usize,
    rs: &RegexSetEntry,
    re: &regex_automata::meta::Regex,
    cache: usize,
    hay: &[u8],
) -> bool {
    if let Some(only) = rs.only {
        let hit = caches.is_match(cache, re, hay);
        if hit {
            set(flags, base + only, true);
        }
        return hit;
    }
    for i in caches.matches(cache, re, hay).iter() {
        if let Some(h) = rs.owners.get(i.as_usize()) {
            set(flags, base + *h, true);
        }
    }
    false
}

impl<'p> Ctx<'p> {
    pub(crate) fn new(plan: &'p Plan, parsed: &'p Parsed<'p>, env: &'p EvalEnv<'p>) -> Ctx<'p> {
        let off = Offsets::new(plan);
        let spare = SPARE
            .try_with(|s| {
                s.try_borrow_mut()
                    .map(|mut s| std::mem::take(&mut *s))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let Spare {
            fields,
            mut flags,
            presents,
            joined,
        } = spare;
        let mut fields = recycle(fields);
        fields.resize_with(plan.fields.len(), || None);
        flags.resize(off.len, false);
        Ctx {
            plan,
            parsed,
            env,
            fields,
            flags,
            off,
            labels: Vec::new(),
            found: Vec::new(),
            hits: Vec::new(),
            caches: Caches::take(plan.id, plan.regex_sets),
            presents,
            joined,
        }
    }

    /// Adds a fully qualified label unless the request already has it.
    pub(crate) fn add_label(&mut self, label: Arc<str>) {
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
    }

    fn ensure_field(&mut self, id: usize) {
        if !matches!(self.fields.get(id), Some(None)) {
            return;
        }
        let Some(spec) = self.plan.fields.get(id) else {
            return;
        };
        let parent = self.plan.field_parents.get(id).copied().flatten();
        let slot = match parent {
            // The parent's chain is a strict prefix of this one, so the recursion ends.
            Some((parent, k)) if parent != id => {
                self.ensure_field(parent);
                match resolve(&self.fields, parent) {
                    Some((pid, p)) => derive(pid, p, spec.transforms.get(k..).unwrap_or_default()),
                    None => extract(self.parsed, spec, self.plan.body_limit),
                }
            }
            _ => extract(self.parsed, spec, self.plan.body_limit),
        };
        if let Some(s) = self.fields.get_mut(id) {
            *s = Some(slot);
        }
    }

    fn slot(&self, id: usize) -> Option<&Slot<'p>> {
        resolve(&self.fields, id).map(|(_, s)| s)
    }

    /// Evaluates a statement (short-circuiting And/Or).
    pub(crate) fn eval(&mut self, s: &Stmt) -> bool {
        match s {
            Stmt::Byte { group, hit } => self.byte(*group, *hit),
            Stmt::Regex { group, hit } => self.regex(*group, *hit),
            Stmt::Never => false,
            Stmt::Size { field, cmp, size } => {
                self.ensure_field(*field);
                match self.slot(*field) {
                    Some(Slot::Forced(b)) => *b,
                    Some(Slot::Values(vals)) => {
                        vals.iter().any(|v| cmp.test(v.len() as u64, *size))
                    }
                    Some(Slot::Same(_)) | None => false,
                }
            }
            Stmt::Detect {
                field,
                detector,
                slot,
            } => self.detect(*field, *detector, *slot),
            Stmt::Geo { countries, fwd } => self.geo(countries, fwd.as_ref()),
            Stmt::Asn { asns, fwd } => {
                let Some(geo) = self.env.geo else {
                    return false;
                };
                match addr::source(self.parsed.req, fwd.as_ref()) {
                    addr::Source::Absent => false,
                    addr::Source::Fallback(b) => b,
                    addr::Source::Ips(ips) => ips
                        .iter()
                        .any(|ip| geo.asn(*ip).is_some_and(|a| asns.contains(&a))),
                }
            }
            Stmt::IpSet { set, fwd } => match addr::source(self.parsed.req, fwd.as_ref()) {
                addr::Source::Absent => false,
                addr::Source::Fallback(b) => b,
                addr::Source::Ips(ips) => ips.iter().any(|ip| set.contains(*ip)),
            },
            Stmt::Label {
                scope,
                key,
                context,
            } => self
                .labels
                .iter()
                .any(|l| label_matches(l, *scope, key, context)),
            Stmt::And(all) => {
                for s in all {
                    if !self.eval(s) {
                        return false;
                    }
                }
                true
            }
            Stmt::Or(any) => {
                for s in any {
                    if self.eval(s) {
                        return true;
                    }
                }
                false
            }
            Stmt::Not(s) => !self.eval(s),
            Stmt::Rate(spec) => self.rate(spec),
        }
    }

    fn byte(&mut self, group: usize, hit: usize) -> bool {
        let base = self.off.byte_hit;
        if !get(&self.flags, self.off.byte_done + group) {
            set(&mut self.flags, self.off.byte_done + group, true);
            if let Some(g) = self.plan.byte_groups.get(group) {
                self.ensure_field(g.field);
                let Ctx { fields, flags, .. } = self;
                match resolve(fields, g.field).map(|(_, s)| s) {
                    Some(Slot::Forced(b)) => {
                        for (_, h) in &g.patterns {
                            set(flags, base + *h, *b);
                        }
                    }
                    Some(Slot::Values(vals)) => {
                        for v in vals {
                            let v: &[u8] = v;
                            for m in g.ac.find_overlapping_iter(v) {
                                if let Some((pos, h)) = g.patterns.get(m.pattern().as_usize())
                                    && !get(flags, base + *h)
                                    && position_ok(*pos, v, m.start(), m.end())
                                {
                                    set(flags, base + *h, true);
                                }
                            }
                        }
                    }
                    Some(Slot::Same(_)) | None => {}
                }
            }
        }
        get(&self.flags, base + hit)
    }

    fn regex(&mut self, group: usize, hit: usize) -> bool {
        let base = self.off.regex_hit;
        if !get(&self.flags, self.off.regex_done + group) {
            set(&mut self.flags, self.off.regex_done + group, true);
            if let Some(g) = self.plan.regex_groups.get(group) {
                if self.gate_shut(g) {
                    return false;
                }
                self.ensure_field(g.field);
                let Ctx {
                    fields,
                    flags,
                    caches,
                    presents,
                    joined,
                    ..
                } = self;
                match resolve(fields, g.field).map(|(_, s)| s) {
                    Some(Slot::Forced(b)) => {
                        for rs in &g.sets {
                            for h in &rs.owners {
                                set(flags, base + *h, *b);
                            }
                        }
                    }
                    Some(Slot::Values(vals)) if vals.len() < 2 || !g.joined => {
                        for v in vals {
                            // The value's bytes, noted once for every set's byte requirements.
                            let present = g.masks.as_ref().map(|m| g.present(m, v));
                            for rs in &g.sets {
                                if rs.only.is_some_and(|only| get(flags, base + only)) {
                                    continue;
                                }
                                if present.is_some_and(|p| !admits(&rs.needs, p)) {
                                    continue;
                                }
                                // Nothing every match needs: no pattern of the set can match.
                                if rs.pre.as_ref().is_some_and(|p| !p.admits(v)) {
                                    continue;
                                }
                                search(caches, flags, base, rs, &rs.re, rs.cache, v);
                            }
                        }
                    }
                    // Several values and a set that can search them joined: set by set instead of value by value.
                    Some(Slot::Values(vals)) => {
                        // Each value's bytes, noted once for every set's byte requirements (left empty when the
                        // group has none).
                        presents.clear();
                        if let Some(m) = &g.masks {
                            presents.extend(vals.iter().map(|v| g.present(m, v)));
                        }
                        for rs in &g.sets {
                            if rs.only.is_some_and(|only| get(flags, base + only)) {
                                continue;
                            }
                            // Whether value `i` meets the set's byte requirements.
                            let needed =
                                |i: usize| presents.get(i).is_none_or(|p| admits(&rs.needs, *p));
                            if let Some((re, cache)) = &rs.joined {
                                joined.clear();
                                let mut count = 0;
                                for (i, v) in vals.iter().enumerate() {
                                    if needed(i) {
                                        push_joined(joined, count, v);
                                        count += 1;
                                    }
                                }
                                if joined_is_clean(joined, count) {
                                    // The pre-check once, on the joined text: what it looks for never holds the
                                    // separator (a pattern holding it is not joined), so it occurs there exactly
                                    // when it occurs in a joined value. A mixed check now sees a long text where
                                    // each value may be short.
                                    if count > 0 && rs.pre.as_ref().is_none_or(|p| p.admits(joined))
                                    {
                                        search(caches, flags, base, rs, re, *cache, joined);
                                    }
                                    continue;
                                }
                            }
                            for (i, v) in vals.iter().enumerate() {
                                if needed(i)
                                    && rs.pre.as_ref().is_none_or(|p| p.admits(v))
                                    && search(caches, flags, base, rs, &rs.re, rs.cache, v)
                                {
                                    break;
                                }
                            }
                        }
                    }
                    Some(Slot::Same(_)) | None => {}
                }
            }
        }
        get(&self.flags, base + hit)
    }

    /// Whether the values of the field `g`'s field derives from open no gate of `g` (see [`crate::gate`]): then no
    /// value of `g`'s field meets any set's requirements, nothing of `g` matches, and the field is not derived.
    fn gate_shut(&mut self, g: &RegexGroup) -> bool {
        let Some((parent, gate)) = &g.parent_gate else {
            return false;
        };
        // Derived already (another statement needed it): its own values are checked as usual.
        if !matches!(self.fields.get(g.field), Some(None)) {
            return false;
        }
        self.ensure_field(*parent);
        match resolve(&self.fields, *parent) {
            Some((_, Slot::Values(vals))) => !vals.iter().any(|v| gate.opens(v)),
            // Forced: the derived field is forced the same way, and its statements must say so.
            Some((_, Slot::Forced(_) | Slot::Same(_))) | None => false,
        }
    }

    fn detect(&mut self, field: usize, detector: Detector, slot: usize) -> bool {
        if get(&self.flags, self.off.detect_done + slot) {
            let hit = get(&self.flags, self.off.detect_hit + slot);
            if hit && let Some((_, d)) = self.found.iter().find(|(s, _)| *s == slot) {
                self.hits.push(d.clone());
            }
            return hit;
        }
        self.ensure_field(field);
        let (r, matched) = match self.slot(field) {
            Some(Slot::Forced(b)) => (*b, None),
            // An empty value holds no attack; skipping it saves a detector call per absent component.
            Some(Slot::Values(vals)) => {
                let matched = vals.iter().find(|v| {
                    !v.is_empty()
                        && match detector {
                            Detector::SqliLow => detect_sqli_with(v, Sensitivity::Low).is_some(),
                            Detector::SqliHigh => detect_sqli_with(v, Sensitivity::High).is_some(),
                            Detector::Xss => detect_xss(v),
                        }
                });
                (matched.is_some(), matched.map(|v| v.to_vec()))
            }
            Some(Slot::Same(_)) | None => (false, None),
        };
        set(&mut self.flags, self.off.detect_done + slot, true);
        set(&mut self.flags, self.off.detect_hit + slot, r);
        if r {
            let location = self
                .plan
                .fields
                .get(field)
                .map_or("BODY", |f| f.kind.location());
            let detail = match_detail(detector, location, matched.as_deref());
            self.hits.push(detail.clone());
            self.found.push((slot, detail));
        }
        r
    }

    /// `GeoMatchStatement`: also labels the request with its country (and region) whether or not it matches.
    fn geo(&mut self, countries: &[[u8; 2]], fwd: Option<&Forwarded>) -> bool {
        let Some(geo) = self.env.geo else {
            return false;
        };
        let ip = match addr::source(self.parsed.req, fwd) {
            addr::Source::Absent => return false,
            addr::Source::Fallback(b) => return b,
            addr::Source::Ips(ips) => match ips.first() {
                Some(ip) => *ip,
                None => return false,
            },
        };
        let prefix = if fwd.is_some() {
            "awswaf:forwardedip:geo:"
        } else {
            "awswaf:clientip:geo:"
        };
        let Some(cc) = geo.country(ip) else {
            return false;
        };
        let cc_str = String::from_utf8_lossy(&cc).into_owned();
        self.add_label(Arc::from(format!("{prefix}country:{cc_str}")));
        if let Some(region) = geo.region(ip) {
            self.add_label(Arc::from(format!("{prefix}region:{region}")));
        }
        countries.contains(&cc)
    }
}
