//! Rewrites the obsolete Sigma aggregation forms into v2 correlation documents, so rules such as SigmaHQ's
//! `unsupported/cloud/aws_enum_*` run:
//!
//! - `sel | count() [by G] > N` + `timeframe` → base rule `sel` + `event_count` correlation;
//! - `sel | count(F) [by G] > N` + `timeframe` → `value_count` on `F`;
//! - `a | near b` + `timeframe` → base rules `a`, `b` + `temporal` correlation;
//! - `a and b` + `timeframe` (two events meant to occur together) → `temporal` as well.
//!
//! The rewrite is pure YAML-to-YAML; the generated documents then load through the normal path.

use serde_norway::{Mapping, Value as Yaml};

use crate::SigmaError;
use crate::rule::get_str;

/// True when the document uses an obsolete aggregation (a `|` in the condition or a `timeframe`).
pub(crate) fn is_legacy(m: &Mapping) -> bool {
    let Some(Yaml::Mapping(det)) = m.get("detection") else {
        return false;
    };
    det.contains_key("timeframe")
        || matches!(det.get("condition"), Some(Yaml::String(c)) if c.contains('|'))
}

fn s(v: &str) -> Yaml {
    Yaml::String(v.to_owned())
}

/// The rewritten documents: base rules first, then the correlation.
pub(crate) fn rewrite(m: &Mapping, origin: &str) -> Result<Vec<Mapping>, SigmaError> {
    let Some(Yaml::Mapping(det)) = m.get("detection") else {
        return Err(SigmaError::Invalid("missing or non-map `detection`".into()));
    };
    let Some(Yaml::String(cond)) = det.get("condition") else {
        return Err(SigmaError::Invalid("missing `condition`".into()));
    };
    let legacy = || SigmaError::LegacyAggregation(format!("condition `{cond}`"));
    let timespan = get_str(det, "timeframe").ok_or_else(|| {
        SigmaError::LegacyAggregation(format!("condition `{cond}` without timeframe"))
    })?;
    let stem = get_str(m, "id").unwrap_or_else(|| origin.to_owned());
    let base = |k: usize, c: &str| -> Mapping {
        let mut doc = m.clone();
        let mut d = det.clone();
        d.remove("timeframe");
        d.insert(s("condition"), s(c));
        doc.insert(s("detection"), Yaml::Mapping(d));
        doc.remove("id");
        doc.insert(s("name"), s(&format!("{stem}#base{k}")));
        doc
    };
    let mut corr = Mapping::new();
    let (base_conds, kind, group, cmp): (Vec<String>, &str, Option<String>, Mapping) = match cond
        .split_once('|')
    {
        Some((head, agg)) => {
            let agg = agg.trim();
            if let Some(rest) = agg.strip_prefix("near ") {
                if rest.split_whitespace().count() != 1 || head.split_whitespace().count() != 1 {
                    return Err(legacy());
                }
                (
                    vec![head.trim().to_owned(), rest.trim().to_owned()],
                    "temporal",
                    None,
                    Mapping::new(),
                )
            } else {
                let re = regex::Regex::new(
                    r"^count\(\s*([\w.]*)\s*\)\s*(?:by\s+([\w.]+)\s*)?(>=|<=|==|=|>|<)\s*(\d+)$",
                )
                .map_err(|_| legacy())?;
                let caps = re.captures(agg).ok_or_else(legacy)?;
                let field = caps.get(1).map(|x| x.as_str()).filter(|x| !x.is_empty());
                let op = match caps.get(3).map(|x| x.as_str()) {
                    Some(">") => "gt",
                    Some(">=") => "gte",
                    Some("<") => "lt",
                    Some("<=") => "lte",
                    _ => "eq",
                };
                let n: u64 = caps
                    .get(4)
                    .and_then(|x| x.as_str().parse().ok())
                    .ok_or_else(legacy)?;
                let mut c = Mapping::new();
                c.insert(s(op), Yaml::Number(n.into()));
                if let Some(f) = field {
                    c.insert(s("field"), s(f));
                }
                let kind = if field.is_some() {
                    "value_count"
                } else {
                    "event_count"
                };
                (
                    vec![head.trim().to_owned()],
                    kind,
                    caps.get(2).map(|x| x.as_str().to_owned()),
                    c,
                )
            }
        }
        None => {
            let words: Vec<&str> = cond.split_whitespace().collect();
            let names: Vec<&str> = words.iter().step_by(2).copied().collect();
            let ands = words
                .iter()
                .skip(1)
                .step_by(2)
                .all(|w| w.eq_ignore_ascii_case("and"));
            if words.len() < 3
                || words.len().is_multiple_of(2)
                || !ands
                || names.iter().any(|n| n.contains(['(', ')', '*']))
            {
                return Err(legacy());
            }
            (
                names.iter().map(|n| (*n).to_owned()).collect(),
                "temporal",
                None,
                Mapping::new(),
            )
        }
    };
    let mut out: Vec<Mapping> = base_conds
        .iter()
        .enumerate()
        .map(|(k, c)| base(k, c))
        .collect();
    let rules: Vec<Yaml> = (0..out.len())
        .map(|k| s(&format!("{stem}#base{k}")))
        .collect();
    corr.insert(s("type"), s(kind));
    corr.insert(s("rules"), Yaml::Sequence(rules));
    if let Some(g) = group {
        corr.insert(s("group-by"), Yaml::Sequence(vec![s(&g)]));
    }
    corr.insert(s("timespan"), s(&timespan));
    if !cmp.is_empty() {
        corr.insert(s("condition"), Yaml::Mapping(cmp));
    }
    let mut doc = Mapping::new();
    for key in [
        "title",
        "id",
        "status",
        "level",
        "description",
        "author",
        "references",
        "tags",
        "falsepositives",
    ] {
        if let Some(v) = m.get(key) {
            doc.insert(s(key), v.clone());
        }
    }
    doc.insert(s("correlation"), Yaml::Mapping(corr));
    out.push(doc);
    Ok(out)
}
