//! `FindingCriteria`: parsing, matching a finding document, and `SortCriteria`.
//!
//! Semantics (reference guard.md §3.6): attributes are ANDed; the values of one condition are
//! ORed. A field that holds several values (network interfaces, tags) matches `equals` when any
//! of them does and `notEquals` when none does. `service.archived` compares as `"true"`/`"false"`;
//! `updatedAt` compares in epoch milliseconds; severities and ports compare numerically.

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::{GuardApiError, Result};
use crate::wire::iso_to_millis;

/// Attributes a criterion may name at most \[model\].
pub const MAX_ATTRIBUTES: usize = 50;
/// Values of `equals`/`notEquals` at most \[model\].
pub const MAX_VALUES: usize = 50;

/// One condition on one attribute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// `equals` (or the deprecated `eq`).
    pub equals: Option<Vec<String>>,
    /// `notEquals` (or `neq`).
    pub not_equals: Option<Vec<String>>,
    /// `greaterThan` (or `gt`).
    pub gt: Option<f64>,
    /// `greaterThanOrEqual` (or `gte`).
    pub gte: Option<f64>,
    /// `lessThan` (or `lt`).
    pub lt: Option<f64>,
    /// `lessThanOrEqual` (or `lte`).
    pub lte: Option<f64>,
    /// `matches`: `*` wildcards.
    pub matches: Option<Vec<String>>,
    /// `notMatches`.
    pub not_matches: Option<Vec<String>>,
}

/// Parsed `findingCriteria`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    /// `(attribute, condition)`, ANDed.
    pub terms: Vec<(String, Condition)>,
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    let list = v
        .as_array()
        .ok_or_else(|| GuardApiError::invalid(format!("{what} must be a list of strings")))?;
    if list.len() > MAX_VALUES {
        return Err(GuardApiError::invalid(format!(
            "{what} has more than {MAX_VALUES} values"
        )));
    }
    list.iter()
        .map(|x| match x {
            Value::String(s) if s.len() <= 512 => Ok(s.clone()),
            _ => Err(GuardApiError::invalid(format!(
                "{what} must be a list of strings of at most 512 characters"
            ))),
        })
        .collect()
}

fn number(v: &Value, what: &str) -> Result<f64> {
    v.as_f64()
        .ok_or_else(|| GuardApiError::invalid(format!("{what} must be a number")))
}

fn valid_attribute(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
}

impl Criteria {
    /// Parses `{"criterion": {attr: condition}}`; `None`/`null` is the empty criteria (all).
    pub fn parse(v: Option<&Value>) -> Result<Criteria> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Criteria::default());
        };
        let obj = v
            .as_object()
            .ok_or_else(|| GuardApiError::invalid("findingCriteria must be an object"))?;
        let Some(crit) = obj.get("criterion").filter(|c| !c.is_null()) else {
            return Ok(Criteria::default());
        };
        let crit = crit
            .as_object()
            .ok_or_else(|| GuardApiError::invalid("criterion must be a map"))?;
        if crit.len() > MAX_ATTRIBUTES {
            return Err(GuardApiError::invalid(format!(
                "criterion names more than {MAX_ATTRIBUTES} attributes"
            )));
        }
        let mut terms = Vec::new();
        for (attr, cond) in crit {
            if !valid_attribute(attr) {
                return Err(GuardApiError::invalid(format!(
                    "unknown criterion attribute {attr}"
                )));
            }
            let c = cond.as_object().ok_or_else(|| {
                GuardApiError::invalid(format!("condition of {attr} must be an object"))
            })?;
            let mut out = Condition::default();
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                let what = format!("{attr}.{k}");
                match k.as_str() {
                    "eq" | "equals" => out.equals = Some(strings(v, &what)?),
                    "neq" | "notEquals" => out.not_equals = Some(strings(v, &what)?),
                    "gt" | "greaterThan" => out.gt = Some(number(v, &what)?),
                    "gte" | "greaterThanOrEqual" => out.gte = Some(number(v, &what)?),
                    "lt" | "lessThan" => out.lt = Some(number(v, &what)?),
                    "lte" | "lessThanOrEqual" => out.lte = Some(number(v, &what)?),
                    "matches" => out.matches = Some(strings(v, &what)?),
                    "notMatches" => out.not_matches = Some(strings(v, &what)?),
                    other => {
                        return Err(GuardApiError::invalid(format!(
                            "unknown condition operator {other} for {attr}"
                        )));
                    }
                }
            }
            if out == Condition::default() {
                return Err(GuardApiError::invalid(format!(
                    "the condition of {attr} has no operator"
                )));
            }
            terms.push((attr.clone(), out));
        }
        Ok(Criteria { terms })
    }

    /// Whether there is no condition.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a finding document matches every condition.
    pub fn matches(&self, finding: &Value) -> bool {
        self.terms.iter().all(|(attr, c)| {
            let vals = values(finding, attr);
            condition_holds(attr, c, &vals)
        })
    }
}

/// The leaf values at a dotted path; arrays on the way are flattened.
pub fn values<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![doc];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for it in items {
                if let Some(x) = it.get(seg) {
                    next.push(x);
                }
            }
        }
        cur = next;
        if cur.is_empty() {
            return cur;
        }
    }
    let mut out = Vec::new();
    for v in cur {
        match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Null => {}
            other => out.push(other),
        }
    }
    out
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_number(attr: &str, v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => iso_to_millis(s)
            .map(|m| m as f64)
            .or_else(|| s.parse::<f64>().ok())
            .filter(|_| attr != "id"),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn equal(attr: &str, v: &Value, wanted: &str) -> bool {
    if let Some(t) = as_text(v)
        && t == wanted
    {
        return true;
    }
    match (as_number(attr, v), wanted.parse::<f64>().ok()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if t.get(ti) == Some(c) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

fn condition_holds(attr: &str, c: &Condition, vals: &[&Value]) -> bool {
    if let Some(eq) = &c.equals
        && !vals.iter().any(|v| eq.iter().any(|w| equal(attr, v, w)))
    {
        return false;
    }
    if let Some(ne) = &c.not_equals
        && vals.iter().any(|v| ne.iter().any(|w| equal(attr, v, w)))
    {
        return false;
    }
    if let Some(m) = &c.matches
        && !vals
            .iter()
            .filter_map(|v| as_text(v))
            .any(|t| m.iter().any(|p| glob(p, &t)))
    {
        return false;
    }
    if let Some(m) = &c.not_matches
        && vals
            .iter()
            .filter_map(|v| as_text(v))
            .any(|t| m.iter().any(|p| glob(p, &t)))
    {
        return false;
    }
    type Bound = (Option<f64>, fn(f64, f64) -> bool);
    let bounds: [Bound; 4] = [
        (c.gt, |a, b| a > b),
        (c.gte, |a, b| a >= b),
        (c.lt, |a, b| a < b),
        (c.lte, |a, b| a <= b),
    ];
    for (bound, op) in bounds {
        if let Some(b) = bound
            && !vals
                .iter()
                .filter_map(|v| as_number(attr, v))
                .any(|a| op(a, b))
        {
            return false;
        }
    }
    true
}

/// Parsed `sortCriteria`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The attribute (a dotted path).
    pub attribute: String,
    /// Descending?
    pub descending: bool,
}

impl Sort {
    /// Parses `{"attributeName", "orderBy"}`; `None` when absent.
    pub fn parse(v: Option<&Value>) -> Result<Option<Sort>> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let attr = v.get("attributeName").and_then(Value::as_str);
        let order = match v.get("orderBy").and_then(Value::as_str) {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(o) => return Err(GuardApiError::invalid(format!("orderBy {o}"))),
        };
        match attr {
            None => Ok(None),
            Some(a) if valid_attribute(a) => Ok(Some(Sort {
                attribute: a.to_owned(),
                descending: order,
            })),
            Some(a) => Err(GuardApiError::invalid(format!("attributeName {a}"))),
        }
    }

    /// Compares two findings by the attribute (missing values last), then by `id`.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let ka = values(a, &self.attribute).first().copied().cloned();
        let kb = values(b, &self.attribute).first().copied().cloned();
        let ord = match (&ka, &kb) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) => {
                let o = match (x, y) {
                    (Value::Number(p), Value::Number(q)) => p
                        .as_f64()
                        .unwrap_or(0.0)
                        .total_cmp(&q.as_f64().unwrap_or(0.0)),
                    _ => as_text(x).cmp(&as_text(y)),
                };
                if self.descending { o.reverse() } else { o }
            }
        };
        ord.then_with(|| id_of(a).cmp(id_of(b)))
    }
}

/// A finding's `id`.
pub fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding() -> Value {
        json!({"id": "f1", "type": "Recon:EC2/Portscan", "severity": 5.0, "accountId": "111122223333",
               "updatedAt": "2024-01-02T03:04:05.678Z",
               "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-1",
                   "networkInterfaces": [{"privateIpAddress": "10.0.0.1"}, {"privateIpAddress": "10.0.0.2"}],
                   "tags": [{"key": "env", "value": "prod"}]}},
               "service": {"archived": false, "resourceRole": "ACTOR", "action": {"actionType": "PORT_PROBE"}}})
    }

    fn crit(v: Value) -> Criteria {
        Criteria::parse(Some(&json!({ "criterion": v }))).unwrap()
    }

    #[test]
    fn equality_and_negation() {
        let f = finding();
        assert!(crit(json!({"type": {"equals": ["Recon:EC2/Portscan", "x"]}})).matches(&f));
        assert!(!crit(json!({"type": {"notEquals": ["Recon:EC2/Portscan"]}})).matches(&f));
        assert!(crit(json!({"service.archived": {"eq": ["false"]}})).matches(&f));
        assert!(!crit(json!({"service.archived": {"equals": ["true"]}})).matches(&f));
        assert!(crit(json!({"severity": {"equals": ["5"]}})).matches(&f));
        assert!(crit(json!({"resource.instanceDetails.networkInterfaces.privateIpAddress": {"equals": ["10.0.0.2"]}})).matches(&f));
        assert!(
            crit(json!({"resource.instanceDetails.tags.value": {"equals": ["prod"]}})).matches(&f)
        );
        assert!(
            crit(json!({"resource.instanceDetails.imageId": {"notEquals": ["ami-1"]}})).matches(&f)
        );
        assert!(
            !crit(json!({"resource.instanceDetails.imageId": {"equals": ["ami-1"]}})).matches(&f)
        );
        // ANDed across attributes.
        assert!(!crit(json!({"type": {"equals": ["Recon:EC2/Portscan"]}, "service.resourceRole": {"equals": ["TARGET"]}})).matches(&f));
    }

    #[test]
    fn ranges_and_time() {
        let f = finding();
        assert!(crit(json!({"severity": {"gte": 5}})).matches(&f));
        assert!(!crit(json!({"severity": {"greaterThan": 5}})).matches(&f));
        assert!(crit(json!({"severity": {"greaterThan": 4, "lessThan": 7}})).matches(&f));
        let ms = iso_to_millis("2024-01-02T03:04:05.678Z").unwrap();
        assert!(crit(json!({"updatedAt": {"greaterThanOrEqual": ms}})).matches(&f));
        assert!(!crit(json!({"updatedAt": {"greaterThan": ms}})).matches(&f));
        assert!(!crit(json!({"updatedAt": {"lessThan": 0}})).matches(&f));
    }

    #[test]
    fn wildcards_and_errors() {
        let f = finding();
        assert!(crit(json!({"type": {"matches": ["Recon:*"]}})).matches(&f));
        assert!(!crit(json!({"type": {"notMatches": ["*Portscan"]}})).matches(&f));
        assert!(glob("a*c*", "abcde"));
        assert!(!glob("a*x", "abc"));
        assert!(Criteria::parse(Some(&json!({"criterion": {"type": {"bogus": 1}}}))).is_err());
        assert!(Criteria::parse(Some(&json!({"criterion": {"type": {}}}))).is_err());
        assert!(Criteria::parse(Some(&json!({"criterion": {"bad attr": {"eq": ["x"]}}}))).is_err());
        assert!(Criteria::parse(None).unwrap().is_empty());
    }

    #[test]
    fn sorting() {
        let mut a = finding();
        a["id"] = json!("a");
        let mut b = finding();
        b["id"] = json!("b");
        b["severity"] = json!(8.0);
        let s = Sort::parse(Some(
            &json!({"attributeName": "severity", "orderBy": "DESC"}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(s.compare(&b, &a), Ordering::Less);
        let s = Sort::parse(Some(&json!({"attributeName": "severity"})))
            .unwrap()
            .unwrap();
        assert_eq!(s.compare(&a, &b), Ordering::Less);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let v = serde_json::from_str::<Value>(&s).unwrap_or(Value::String(s));
            let _ = Criteria::parse(Some(&v));
            let _ = Sort::parse(Some(&v));
        }
        #[test]
        fn glob_star_matches_everything(t in "\\PC{0,40}") {
            proptest::prop_assert!(glob("*", &t));
            proptest::prop_assert!(glob(&t.replace('*', ""), &t.replace('*', "")));
        }
    }
}
