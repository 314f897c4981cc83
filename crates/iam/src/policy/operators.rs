//! Condition operators: their names, the values they accept, and how one policy value is
//! compared with one request value.
//!
//! Negated operators (`StringNotEquals`, `NotIpAddress`, ...) are recorded as their positive
//! test plus a `negated` flag; [`super::condition`] applies the negation across the set of
//! values, as AWS does ("matches none of the values").

use std::net::IpAddr;

use ipnet::IpNet;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::context::RequestContext;
use super::pattern::{Template, Tok, glob, literal};

/// An ordering comparison for numbers and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    /// Equal.
    Eq,
    /// Request value less than the policy value.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

/// The positive test an operator performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    /// Case-sensitive string equality.
    StrEq,
    /// String equality ignoring case.
    StrEqIgnoreCase,
    /// Case-sensitive match with `*` and `?` wildcards.
    StrLike,
    /// Numeric comparison.
    Num(Cmp),
    /// Date comparison.
    Date(Cmp),
    /// Boolean equality.
    Bool,
    /// Equality of base64-encoded binary values.
    Binary,
    /// The request's IP address lies in the policy's CIDR range.
    Ip,
    /// ARN match, component by component, with wildcards.
    Arn,
    /// Whether the key is absent.
    Null,
}

/// Base operator names (without set prefix or `IfExists`), their test and negation.
const OPERATORS: &[(&str, Test, bool)] = &[
    ("StringEquals", Test::StrEq, false),
    ("StringNotEquals", Test::StrEq, true),
    ("StringEqualsIgnoreCase", Test::StrEqIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Test::StrEqIgnoreCase, true),
    ("StringLike", Test::StrLike, false),
    ("StringNotLike", Test::StrLike, true),
    ("NumericEquals", Test::Num(Cmp::Eq), false),
    ("NumericNotEquals", Test::Num(Cmp::Eq), true),
    ("NumericLessThan", Test::Num(Cmp::Lt), false),
    ("NumericLessThanEquals", Test::Num(Cmp::Le), false),
    ("NumericGreaterThan", Test::Num(Cmp::Gt), false),
    ("NumericGreaterThanEquals", Test::Num(Cmp::Ge), false),
    ("DateEquals", Test::Date(Cmp::Eq), false),
    ("DateNotEquals", Test::Date(Cmp::Eq), true),
    ("DateLessThan", Test::Date(Cmp::Lt), false),
    ("DateLessThanEquals", Test::Date(Cmp::Le), false),
    ("DateGreaterThan", Test::Date(Cmp::Gt), false),
    ("DateGreaterThanEquals", Test::Date(Cmp::Ge), false),
    ("Bool", Test::Bool, false),
    ("BinaryEquals", Test::Binary, false),
    ("IpAddress", Test::Ip, false),
    ("NotIpAddress", Test::Ip, true),
    ("ArnEquals", Test::Arn, false),
    ("ArnLike", Test::Arn, false),
    ("ArnNotEquals", Test::Arn, true),
    ("ArnNotLike", Test::Arn, true),
    ("Null", Test::Null, false),
];

/// The test and negation of a base operator name (case-sensitive, as AWS's).
pub(crate) fn base_operator(name: &str) -> Option<(Test, bool)> {
    OPERATORS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, neg)| (*t, *neg))
}

/// A policy value, parsed for its operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// String and ARN operators: text with policy variables.
    Text(Template),
    /// Numeric operators.
    Number(f64),
    /// Date operators: nanoseconds since the Unix epoch.
    Date(i128),
    /// `Bool` and `Null`.
    Bool(bool),
    /// `BinaryEquals`: the base64 text.
    Binary(String),
    /// `IpAddress` / `NotIpAddress`.
    Ip(IpNet),
}

/// Parses a policy value for `test`; `None` when the operator cannot use it.
pub(crate) fn operand(test: Test, raw: &str, variables: bool) -> Option<Operand> {
    match test {
        Test::StrEq | Test::StrEqIgnoreCase | Test::StrLike | Test::Arn => {
            Some(Operand::Text(Template::parse(raw, variables)))
        }
        Test::Num(_) => number(raw).map(Operand::Number),
        Test::Date(_) => date(raw).map(Operand::Date),
        Test::Bool | Test::Null => boolean(raw).map(Operand::Bool),
        Test::Binary => is_base64(raw).then(|| Operand::Binary(raw.to_owned())),
        Test::Ip => ip_range(raw).map(Operand::Ip),
    }
}

/// Compares one policy value with one request value: `None` when the request value is not
/// of the operator's type (not a number, date, boolean, IP address or ARN).
pub(crate) fn compare(
    test: Test,
    policy: &Operand,
    value: &str,
    ctx: &RequestContext,
) -> Option<bool> {
    match (test, policy) {
        (Test::StrEq, Operand::Text(t)) => {
            Some(t.resolve(ctx).is_some_and(|p| literal(&p) == value))
        }
        (Test::StrEqIgnoreCase, Operand::Text(t)) => Some(
            t.resolve(ctx)
                .is_some_and(|p| literal(&p).to_lowercase() == value.to_lowercase()),
        ),
        (Test::StrLike, Operand::Text(t)) => {
            Some(t.resolve(ctx).is_some_and(|p| glob(&p, value, false)))
        }
        (Test::Arn, Operand::Text(t)) => {
            let request = arn_components(value)?;
            Some(t.resolve(ctx).is_some_and(|p| arn_like(&p, &request)))
        }
        (Test::Num(cmp), Operand::Number(p)) => {
            let v = number(value)?;
            Some(ordered(cmp, v.partial_cmp(p)?))
        }
        (Test::Date(cmp), Operand::Date(p)) => Some(ordered(cmp, date(value)?.cmp(p))),
        (Test::Bool, Operand::Bool(p)) => Some(boolean(value)? == *p),
        (Test::Binary, Operand::Binary(p)) => Some(value == p),
        (Test::Ip, Operand::Ip(net)) => Some(net.contains(&value.trim().parse::<IpAddr>().ok()?)),
        _ => Some(false),
    }
}

/// Whether `ordering` (request value against policy value) satisfies `cmp`.
fn ordered(cmp: Cmp, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!(
        (cmp, ordering),
        (Cmp::Eq, Equal)
            | (Cmp::Lt, Less)
            | (Cmp::Le, Less | Equal)
            | (Cmp::Gt, Greater)
            | (Cmp::Ge, Greater | Equal)
    )
}

/// A decimal number such as `10`, `-3` or `2.5` (no exponents, infinities or NaN).
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
    plain
        .then(|| s.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

/// An ISO-8601 date or date-time (UTC when no offset is given) or epoch seconds, as
/// nanoseconds since the epoch.
fn date(s: &str) -> Option<i128> {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().ok()?;
        return Some(i128::from(secs) * 1_000_000_000);
    }
    let at = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(s, &Iso8601::DEFAULT)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| {
            Date::parse(s, &Iso8601::DEFAULT)
                .ok()
                .map(|d| d.midnight().assume_utc())
        })?;
    Some(at.unix_timestamp_nanos())
}

/// `true` or `false`, ignoring case.
fn boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether `s` is standard, padded base64.
fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A CIDR range, or a single address as its host range.
fn ip_range(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The six colon-separated components of an ARN (the last keeps any further colons).
fn arn_components(s: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    (parts.len() == 6 && parts.first() == Some(&"arn")).then_some(parts)
}

/// Matches a pattern against ARN components, each component on its own, so a `*` never
/// crosses a colon before the resource part.
fn arn_like(pattern: &[Tok], request: &[&str]) -> bool {
    let mut components: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while components.len() < 5 {
        let Some(colon) = rest.iter().position(|t| *t == Tok::Lit(':')) else {
            break;
        };
        let (head, tail) = rest.split_at(colon);
        components.push(head);
        rest = tail.get(1..).unwrap_or_default();
    }
    components.push(rest);
    components.len() == request.len()
        && components
            .iter()
            .zip(request)
            .all(|(p, v)| glob(p, v, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_accepted_form() {
        let want = Some(1_577_836_800_000_000_000);
        for s in [
            "2020-01-01T00:00:00Z",
            "2020-01-01T00:00:00+00:00",
            "2020-01-01T00:00:00",
            "2020-01-01",
            "1577836800",
        ] {
            assert_eq!(date(s), want, "{s}");
        }
        assert_eq!(date("2020-01-01T01:00:00+01:00"), want);
        assert_eq!(date("yesterday"), None);
    }

    #[test]
    fn numbers_reject_non_decimals() {
        assert_eq!(number("2.5"), Some(2.5));
        assert_eq!(number("-3"), Some(-3.0));
        for s in ["NaN", "inf", "1e3", "", "ten"] {
            assert_eq!(number(s), None, "{s}");
        }
    }

    #[test]
    fn base64_validation() {
        assert!(is_base64("QmluYXJ5"));
        assert!(is_base64("QQ=="));
        assert!(!is_base64("QQ="));
        assert!(!is_base64("not base64!"));
    }
}
