//! Detection items: field paths, modifiers and values compiled into matchers, evaluated on JSON records.
//!
//! Semantics (Sigma v2): a map is the AND of its field conditions, a list of maps is an OR, a list of values
//! is an OR (AND with `|all`); `null` matches an absent or null field; dotted names walk nested objects and
//! a condition on an array matches when any element matches; objects met by a string comparison are
//! compared through their compact JSON text (so `requestParameters|contains: Suspended` works).

use std::borrow::Cow;

use ipnet::IpNet;
use regex::Regex;
use serde_json::Value;
use serde_norway::Value as Yaml;

use crate::SigmaError;
use crate::pattern::{StrPattern, Wrap, fold};
use modifiers::{compile_value, parse_mods};

/// A dotted field name, pre-split; `parts` empty means "any value in the record" (keyword search).
#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    parts: Vec<String>,
    /// `suffixes[i]` = `parts[i..].join(".")`, to also accept flattened keys such as `"userIdentity.arn"`.
    suffixes: Vec<String>,
}

impl FieldPath {
    pub(crate) fn new(name: &str) -> Self {
        if name.is_empty() {
            return Self {
                parts: Vec::new(),
                suffixes: Vec::new(),
            };
        }
        let parts: Vec<String> = name.split('.').map(str::to_owned).collect();
        let suffixes = (0..parts.len())
            .map(|i| parts.get(i..).unwrap_or_default().join("."))
            .collect();
        Self { parts, suffixes }
    }

    /// The dotted name, or `None` for a keyword search (any value of the record).
    pub(crate) fn dotted(&self) -> Option<String> {
        (!self.parts.is_empty()).then(|| self.parts.join("."))
    }

    /// The single top-level name, when the path has exactly one part.
    pub(crate) fn single(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Calls `f` on every leaf value reached by the path; stops (returning true) as soon as `f` does.
    pub(crate) fn visit<'a>(&self, v: &'a Value, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        if self.parts.is_empty() {
            return visit_all(v, f);
        }
        self.walk(v, 0, f)
    }

    fn walk<'a>(&self, v: &'a Value, i: usize, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        match v {
            Value::Array(items) => items.iter().any(|x| self.walk(x, i, f)),
            _ if i >= self.parts.len() => f(v),
            Value::Object(map) => {
                if i + 1 < self.parts.len()
                    && let Some(flat) = self.suffixes.get(i).and_then(|k| map.get(k))
                    && self.walk(flat, self.parts.len(), f)
                {
                    return true;
                }
                match self.parts.get(i).and_then(|k| map.get(k)) {
                    Some(x) => self.walk(x, i + 1, f),
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// First non-null leaf as a string (for group-by keys and field references).
    pub(crate) fn first_string(&self, v: &Value) -> Option<String> {
        let mut out = None;
        self.visit(v, &mut |leaf| {
            out = leaf_str(leaf).map(Cow::into_owned);
            out.is_some()
        });
        out
    }
}

fn visit_all<'a>(v: &'a Value, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|x| visit_all(x, f)),
        Value::Object(map) => map.values().any(|x| visit_all(x, f)),
        _ => f(v),
    }
}

/// The string view of a leaf used by string comparisons.
pub(crate) fn leaf_str(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).ok().map(Cow::Owned),
    }
}

fn leaf_num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Numeric comparison operators (`lt`, `lte`, `gt`, `gte`).
#[derive(Debug, Clone, Copy)]
enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// One compiled value of a field condition.
#[derive(Debug, Clone)]
enum Matcher {
    Null,
    Exists(bool),
    Str(Vec<StrPattern>),
    Num(f64),
    Bool(bool),
    Re(Regex),
    Cidr(IpNet),
    Cmp(Cmp, f64),
    FieldRef {
        other: FieldPath,
        wrap: Wrap,
        cased: bool,
    },
}

impl Matcher {
    fn leaf(&self, leaf: &Value, rec: &Value) -> bool {
        match self {
            Matcher::Null | Matcher::Exists(_) => false,
            Matcher::Str(pats) => match leaf_str(leaf) {
                Some(s) => pats.iter().any(|p| p.is_match(&s)),
                None => false,
            },
            Matcher::Num(n) => leaf_num(leaf).is_some_and(|x| x == *n),
            Matcher::Bool(b) => match leaf {
                Value::Bool(x) => x == b,
                Value::String(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
                _ => false,
            },
            Matcher::Re(re) => leaf_str(leaf).is_some_and(|s| re.is_match(&s)),
            Matcher::Cidr(net) => match leaf {
                Value::String(s) => s
                    .trim()
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip)),
                _ => false,
            },
            Matcher::Cmp(op, n) => leaf_num(leaf).is_some_and(|x| match op {
                Cmp::Lt => x < *n,
                Cmp::Lte => x <= *n,
                Cmp::Gt => x > *n,
                Cmp::Gte => x >= *n,
            }),
            Matcher::FieldRef { other, wrap, cased } => {
                let Some(mine) = leaf_str(leaf) else {
                    return false;
                };
                let (mine, c) = if *cased {
                    (mine, true)
                } else {
                    (Cow::Owned(fold(&mine).into_owned()), false)
                };
                other.visit(rec, &mut |o| {
                    let Some(o) = leaf_str(o) else { return false };
                    let o = if c {
                        o
                    } else {
                        Cow::Owned(fold(&o).into_owned())
                    };
                    match wrap {
                        Wrap::None => mine == o,
                        Wrap::Contains => mine.contains(o.as_ref()),
                        Wrap::StartsWith => mine.starts_with(o.as_ref()),
                        Wrap::EndsWith => mine.ends_with(o.as_ref()),
                    }
                })
            }
        }
    }

    fn eval(&self, path: &FieldPath, rec: &Value) -> bool {
        match self {
            Matcher::Null => !path.visit(rec, &mut |l| !l.is_null()),
            Matcher::Exists(want) => path.visit(rec, &mut |l| !l.is_null()) == *want,
            _ => path.visit(rec, &mut |l| self.leaf(l, rec)),
        }
    }
}

/// One `field|modifiers: value(s)` item.
#[derive(Debug, Clone)]
pub(crate) struct FieldCond {
    path: FieldPath,
    matchers: Vec<Matcher>,
    all: bool,
    neq: bool,
}

impl FieldCond {
    pub(crate) fn eval(&self, rec: &Value) -> bool {
        if self.neq {
            let present = self.path.visit(rec, &mut |l| !l.is_null());
            return present && !self.matchers.iter().any(|m| m.eval(&self.path, rec));
        }
        if self.all {
            self.matchers.iter().all(|m| m.eval(&self.path, rec))
        } else {
            self.matchers.iter().any(|m| m.eval(&self.path, rec))
        }
    }

    /// The folded literal values this condition requires for a single-part field named `field`, if exact.
    /// Adds the fields this condition reads to `out`; false when its result could depend on
    /// more than their values (a keyword search, or a null / existence test, where a missing
    /// field and a null one may differ).
    fn fields(&self, out: &mut Vec<String>) -> bool {
        let Some(name) = self.path.dotted() else {
            return false;
        };
        out.push(name);
        for m in &self.matchers {
            match m {
                Matcher::Null | Matcher::Exists(_) => return false,
                Matcher::FieldRef { other, .. } => match other.dotted() {
                    Some(o) => out.push(o),
                    None => return false,
                },
                _ => {}
            }
        }
        true
    }

    fn exact_values(&self, field: &str) -> Option<Vec<String>> {
        if self.neq || self.path.single() != Some(field) || (self.all && self.matchers.len() > 1) {
            return None;
        }
        let mut out = Vec::new();
        for m in &self.matchers {
            match m {
                Matcher::Str(pats) => {
                    for p in pats {
                        out.push(p.exact_literal()?.to_owned());
                    }
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

/// A named selection: OR of alternatives, each the AND of its field conditions.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    alts: Vec<Vec<FieldCond>>,
}

impl Selection {
    pub(crate) fn eval(&self, rec: &Value) -> bool {
        self.alts.iter().any(|alt| alt.iter().all(|c| c.eval(rec)))
    }

    /// Adds the fields this selection reads to `out`; false as [`FieldCond::fields`] says.
    pub(crate) fn fields(&self, out: &mut Vec<String>) -> bool {
        self.alts.iter().flatten().all(|c| c.fields(out))
    }

    /// Values `field` must take (folded) for this selection to match, or `None` when unconstrained.
    pub(crate) fn required(&self, field: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for alt in &self.alts {
            let vals = alt.iter().find_map(|c| c.exact_values(field))?;
            out.extend(vals);
        }
        Some(out)
    }

    /// Compiles a selection from its YAML value.
    pub(crate) fn compile(name: &str, y: &Yaml) -> Result<Self, SigmaError> {
        let mut alts = Vec::new();
        match y {
            Yaml::Mapping(m) => alts.push(compile_map(m)?),
            Yaml::Sequence(items) => {
                for it in items {
                    match it {
                        Yaml::Mapping(m) => alts.push(compile_map(m)?),
                        other => alts.push(vec![compile_item("", other)?]),
                    }
                }
            }
            other => alts.push(vec![compile_item("", other)?]),
        }
        if alts.is_empty() || alts.iter().any(Vec::is_empty) {
            return Err(SigmaError::Invalid(format!("selection `{name}` is empty")));
        }
        Ok(Self { alts })
    }
}

fn compile_map(m: &serde_norway::Mapping) -> Result<Vec<FieldCond>, SigmaError> {
    let mut out = Vec::new();
    for (k, v) in m {
        let key = match k {
            Yaml::String(s) => s.as_str(),
            _ => return Err(SigmaError::Invalid("detection key is not a string".into())),
        };
        out.push(compile_item(key, v)?);
    }
    Ok(out)
}

/// Compiles one `key: value(s)` item; an empty field name means keyword search over the whole record.
fn compile_item(key: &str, v: &Yaml) -> Result<FieldCond, SigmaError> {
    let mut split = key.split('|');
    let field = split.next().unwrap_or_default();
    let mods: Vec<&str> = split.collect();
    let m = parse_mods(key, &mods)?;
    let values: Vec<&Yaml> = match v {
        Yaml::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    // A bare keyword (no field, no modifier) is a substring search, as keyword lists are free-text terms.
    let keyword = field.is_empty() && m.wrap.is_none() && mods.is_empty();
    let mut matchers = Vec::with_capacity(values.len());
    for val in values {
        matchers.push(compile_value(key, &m, val, keyword)?);
    }
    Ok(FieldCond {
        path: FieldPath::new(field),
        matchers,
        all: m.all,
        neq: m.neq,
    })
}

mod modifiers;

#[cfg(test)]
mod tests;
