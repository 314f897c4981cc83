//! Sigma v2 correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`) and the
//! sliding-window state that evaluates them over a stream of records.
//!
//! Time comes from the records (`eventTime`) or the caller ([`crate::RuleSet::process_at`]); nothing reads
//! a clock. State is bounded: at most `max_groups` live groups and `max_events` remembered events per group;
//! updates beyond that are counted in [`CorrelationState::dropped`]. After a group fires its window is reset,
//! so one burst yields one hit.

use std::collections::{HashMap, VecDeque};

use serde_norway::{Mapping, Value as Yaml};

use crate::SigmaError;
use crate::detection::FieldPath;
use crate::rule::{Level, get, get_str, meta_of};

/// The correlation types implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// Number of matching events per group within the timespan.
    EventCount,
    /// Number of distinct values of a field per group within the timespan.
    ValueCount,
    /// All referenced rules matched (any order) per group within the timespan.
    Temporal,
    /// All referenced rules matched in the listed order per group within the timespan.
    TemporalOrdered,
}

/// Descriptive fields of a loaded correlation rule.
#[derive(Debug, Clone)]
pub struct CorrelationMeta {
    /// Position among the set's correlations.
    pub index: usize,
    /// File or caller-supplied origin.
    pub origin: String,
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `correlation.type`.
    pub kind: CorrelationType,
    /// Indices (into the rule set) of the referenced rules, in listed order.
    pub rules: Vec<usize>,
    /// `correlation.group-by`.
    pub group_by: Vec<String>,
    /// `correlation.timespan` in milliseconds.
    pub timespan_ms: i64,
    /// `correlation.generate`: whether referenced rules also report on their own.
    pub generate: bool,
}

/// Threshold of a correlation: every given bound must hold.
#[derive(Debug, Clone, Default)]
struct Threshold {
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
    eq: Option<f64>,
    neq: Option<f64>,
}

impl Threshold {
    fn holds(&self, v: f64) -> bool {
        self.gt.is_none_or(|x| v > x)
            && self.gte.is_none_or(|x| v >= x)
            && self.lt.is_none_or(|x| v < x)
            && self.lte.is_none_or(|x| v <= x)
            && self.eq.is_none_or(|x| v == x)
            && self.neq.is_none_or(|x| v != x)
    }
    fn is_empty(&self) -> bool {
        [self.gt, self.gte, self.lt, self.lte, self.eq, self.neq]
            .iter()
            .all(Option::is_none)
    }
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub(crate) struct Correlation {
    pub(crate) meta: CorrelationMeta,
    /// `groups[p][g]`: field of group-by `g` in records of referenced rule `p` (after aliases).
    groups: Vec<Vec<FieldPath>>,
    threshold: Threshold,
    value_field: Option<FieldPath>,
}

/// Parses `90m`, `1h`, `30s`, `2d`, `1w` into milliseconds.
pub(crate) fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s.get(..s.len() - unit.len_utf8())?.trim().parse().ok()?;
    let mult = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 604_800_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|ms| *ms > 0)
}

/// Compiles a correlation document; `resolve` maps a rule name or id to its rule index.
pub(crate) fn compile(
    doc: &Mapping,
    origin: &str,
    resolve: &dyn Fn(&str) -> Result<usize, SigmaError>,
) -> Result<Correlation, SigmaError> {
    let bad = |s: &str| SigmaError::Correlation(s.to_owned());
    let meta = meta_of(doc, origin);
    let Some(Yaml::Mapping(c)) = get(doc, "correlation") else {
        return Err(bad("`correlation` is not a map"));
    };
    let kind = match get_str(c, "type").as_deref() {
        Some("event_count") => CorrelationType::EventCount,
        Some("value_count") => CorrelationType::ValueCount,
        Some("temporal") => CorrelationType::Temporal,
        Some("temporal_ordered") => CorrelationType::TemporalOrdered,
        Some(other) => {
            return Err(SigmaError::Correlation(format!(
                "unsupported correlation type `{other}`"
            )));
        }
        None => return Err(bad("missing `type`")),
    };
    let names: Vec<String> = match get(c, "rules") {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => return Err(bad("missing `rules`")),
    };
    if names.is_empty() {
        return Err(bad("`rules` is empty"));
    }
    let rules = names
        .iter()
        .map(|n| resolve(n))
        .collect::<Result<Vec<_>, _>>()?;
    let group_by: Vec<String> = match get(c, "group-by") {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        None => Vec::new(),
        Some(_) => return Err(bad("`group-by` is not a list")),
    };
    let timespan_ms = get_str(c, "timespan")
        .as_deref()
        .and_then(parse_timespan)
        .ok_or_else(|| bad("missing or invalid `timespan` (number + s|m|h|d|w)"))?;
    let aliases = match get(c, "aliases") {
        Some(Yaml::Mapping(a)) => Some(a),
        _ => None,
    };
    let groups = names
        .iter()
        .map(|rule_name| {
            group_by
                .iter()
                .map(|g| {
                    let aliased = aliases
                        .and_then(|a| a.get(g.as_str()))
                        .and_then(|m| m.get(rule_name.as_str()))
                        .and_then(Yaml::as_str);
                    FieldPath::new(aliased.unwrap_or(g))
                })
                .collect()
        })
        .collect();
    let mut threshold = Threshold::default();
    let mut value_field = None;
    match get(c, "condition") {
        Some(Yaml::Mapping(cond)) => {
            for (k, v) in cond {
                let key = k.as_str().unwrap_or_default();
                if key == "field" {
                    value_field = v.as_str().map(FieldPath::new);
                    continue;
                }
                let n = v
                    .as_f64()
                    .ok_or_else(|| bad("condition bound is not a number"))?;
                let slot = match key {
                    "gt" => &mut threshold.gt,
                    "gte" => &mut threshold.gte,
                    "lt" => &mut threshold.lt,
                    "lte" => &mut threshold.lte,
                    "eq" => &mut threshold.eq,
                    "neq" => &mut threshold.neq,
                    other => {
                        return Err(SigmaError::Correlation(format!(
                            "unknown condition key `{other}`"
                        )));
                    }
                };
                *slot = Some(n);
            }
        }
        None if matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        ) => {}
        _ => return Err(bad("missing `condition` map")),
    }
    if matches!(
        kind,
        CorrelationType::EventCount | CorrelationType::ValueCount
    ) && threshold.is_empty()
    {
        return Err(bad("condition needs at least one of gt/gte/lt/lte/eq/neq"));
    }
    if kind == CorrelationType::ValueCount && value_field.is_none() {
        return Err(bad("value_count needs `condition.field`"));
    }
    if kind == CorrelationType::Temporal && threshold.is_empty() {
        threshold.gte = Some(rules.len() as f64);
    }
    let generate = matches!(
        get(c, "generate").or_else(|| get(doc, "generate")),
        Some(Yaml::Bool(true))
    );
    let meta = CorrelationMeta {
        index: 0,
        origin: origin.to_owned(),
        title: meta.title,
        id: meta.id,
        name: meta.name,
        level: meta.level,
        kind,
        rules,
        group_by,
        timespan_ms,
        generate,
    };
    Ok(Correlation {
        meta,
        groups,
        threshold,
        value_field,
    })
}

/// A correlation that fired.
#[derive(Debug, Clone)]
pub struct CorrelationHit<'a> {
    /// The correlation rule.
    pub correlation: &'a CorrelationMeta,
    /// Group-by field names with this group's values (`None` when the field was absent).
    pub group: Vec<(String, Option<String>)>,
    /// The measured value: events, distinct values, or rules seen.
    pub value: u64,
    /// Time of the earliest event in the window (ms since the epoch).
    pub first_ms: i64,
    /// Time of the event that fired it.
    pub last_ms: i64,
}

/// Correlation index and group-by values.
type GroupKey = (usize, Vec<Option<String>>);

#[derive(Debug)]
enum Window {
    Times(VecDeque<i64>),
    Values(VecDeque<(i64, String)>),
    /// Last time each referenced rule was seen (temporal) or chain start per position (ordered).
    Seen(Vec<Option<i64>>),
}

/// Live windows of every correlation, keyed by correlation and group values.
#[derive(Debug)]
pub struct CorrelationState {
    windows: HashMap<GroupKey, (i64, Window)>,
    max_groups: usize,
    max_events: usize,
    /// Updates ignored because a bound was reached.
    pub dropped: u64,
}

impl Default for CorrelationState {
    fn default() -> Self {
        Self::with_limits(100_000, 10_000)
    }
}

impl CorrelationState {
    /// State with explicit bounds on live groups and remembered events per group.
    pub fn with_limits(max_groups: usize, max_events: usize) -> Self {
        Self {
            windows: HashMap::new(),
            max_groups: max_groups.max(1),
            max_events: max_events.max(1),
            dropped: 0,
        }
    }

    /// Number of live groups.
    pub fn groups(&self) -> usize {
        self.windows.len()
    }

    /// Feeds one record that matched `rule` (set index) at `ts_ms`; appends any hits.
    pub(crate) fn update<'a>(
        &mut self,
        corrs: &'a [Correlation],
        rule: usize,
        rec: &serde_json::Value,
        ts_ms: i64,
        out: &mut Vec<CorrelationHit<'a>>,
    ) {
        for c in corrs {
            for (pos, _) in c.meta.rules.iter().enumerate().filter(|(_, r)| **r == rule) {
                let fields = c.groups.get(pos).map(Vec::as_slice).unwrap_or_default();
                let key: Vec<Option<String>> = fields.iter().map(|f| f.first_string(rec)).collect();
                if let Some(hit) = self.step(c, pos, key, rec, ts_ms) {
                    out.push(hit);
                }
            }
        }
    }

    fn step<'a>(
        &mut self,
        c: &'a Correlation,
        pos: usize,
        key: Vec<Option<String>>,
        rec: &serde_json::Value,
        ts: i64,
    ) -> Option<CorrelationHit<'a>> {
        let span = c.meta.timespan_ms;
        let map_key = (c.meta.index, key);
        if !self.windows.contains_key(&map_key) && self.windows.len() >= self.max_groups {
            self.windows
                .retain(|_, (last, _)| *last >= ts.saturating_sub(span));
            if self.windows.len() >= self.max_groups {
                self.dropped += 1;
                return None;
            }
        }
        let n_rules = c.meta.rules.len();
        let (last, win) = self.windows.entry(map_key.clone()).or_insert_with(|| {
            let w = match c.meta.kind {
                CorrelationType::EventCount => Window::Times(VecDeque::new()),
                CorrelationType::ValueCount => Window::Values(VecDeque::new()),
                _ => Window::Seen(vec![None; n_rules]),
            };
            (ts, w)
        });
        *last = (*last).max(ts);
        let horizon = ts.saturating_sub(span);
        let (value, first) = match win {
            Window::Times(q) => {
                while q.front().is_some_and(|t| *t < horizon) {
                    q.pop_front();
                }
                if q.len() >= self.max_events {
                    self.dropped += 1;
                    q.pop_front();
                }
                q.push_back(ts);
                (q.len() as u64, q.front().copied().unwrap_or(ts))
            }
            Window::Values(q) => {
                let v = c.value_field.as_ref().and_then(|f| f.first_string(rec))?;
                while q.front().is_some_and(|(t, _)| *t < horizon) {
                    q.pop_front();
                }
                if q.len() >= self.max_events {
                    self.dropped += 1;
                    q.pop_front();
                }
                q.push_back((ts, v));
                let mut distinct: Vec<&str> = q.iter().map(|(_, v)| v.as_str()).collect();
                distinct.sort_unstable();
                distinct.dedup();
                (distinct.len() as u64, q.front().map_or(ts, |(t, _)| *t))
            }
            Window::Seen(seen) => {
                for s in seen.iter_mut() {
                    if s.is_some_and(|t| t < horizon) {
                        *s = None;
                    }
                }
                if c.meta.kind == CorrelationType::TemporalOrdered {
                    let start = if pos == 0 {
                        Some(ts)
                    } else {
                        seen.get(pos - 1).copied().flatten()
                    };
                    if let (Some(slot), Some(start)) = (seen.get_mut(pos), start) {
                        *slot = Some(start);
                    }
                    match seen.last().copied().flatten() {
                        Some(start) if pos + 1 == n_rules => (n_rules as u64, start),
                        _ => (0, ts),
                    }
                } else {
                    if let Some(slot) = seen.get_mut(pos) {
                        *slot = Some(ts);
                    }
                    let n = seen.iter().flatten().count() as u64;
                    (n, seen.iter().flatten().copied().min().unwrap_or(ts))
                }
            }
        };
        let fired = match c.meta.kind {
            CorrelationType::TemporalOrdered => value == n_rules as u64,
            _ => c.threshold.holds(value as f64),
        };
        if !fired {
            return None;
        }
        let group = c
            .meta
            .group_by
            .iter()
            .cloned()
            .zip(map_key.1.iter().cloned())
            .collect();
        self.windows.remove(&map_key);
        Some(CorrelationHit {
            correlation: &c.meta,
            group,
            value,
            first_ms: first,
            last_ms: ts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Some(5_400_000));
        assert_eq!(parse_timespan("1h"), Some(3_600_000));
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("2d"), Some(172_800_000));
        assert_eq!(parse_timespan("5x"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("0s"), None);
        assert_eq!(parse_timespan("é"), None);
    }
}
