//! Building blocks of validation: AWS reason texts and the model's length, range and pattern checks.
//!
//! Reason texts marked \[doc\] were seen verbatim in real AWS responses (quoted in public issues); the others
//! are \[unverified\] sentences written in the same style, because AWS does not publish its catalogue.

use super::{ParameterExceptionField as F, ValidationError};

/// Result of one check.
pub type Check = Result<(), ValidationError>;

/// \[doc\] A union or an either/or pair with none or several members set.
pub const REASON_EXACTLY_ONE: &str = crate::model::wire::REASON_EXACTLY_ONE;
/// \[doc-style\] A value that does not match the model's pattern or enum.
pub const REASON_INVALID_FORMAT: &str = crate::model::wire::REASON_INVALID_FORMAT;
/// \[unverified\] A string or list outside the model's min/max length.
pub const REASON_INVALID_LENGTH: &str = "The length of the parameter isn't valid.";
/// \[unverified\] A number outside the model's min/max.
pub const REASON_OUT_OF_RANGE: &str = "The parameter value is outside the range of valid values.";
/// \[doc\] And/Or with fewer than two statements, rule group capacity too low.
pub const REASON_THRESHOLD: &str = "You haven't met a minimum requirement for a threshold setting. Examples include a rule group capacity setting that's too low and an OR statement with fewer than two nested statements.";
/// \[unverified\] Two rules with the same name or priority, two transformations with the same priority.
pub const REASON_DUPLICATE: &str =
    "The parameter contains a duplicate value where unique values are required.";
/// \[doc\] A statement or action that does not fit where it is used.
pub const REASON_INVALID_REFERENCE: &str = "A reference in your rule statement is not valid.";
/// \[doc\] A malformed ARN.
pub const REASON_INVALID_ARN: &str = "The ARN isn't valid. A valid ARN begins with arn: and includes other information separated by colons or slashes.";
/// \[unverified\] A statement that may only be a rule's top-level statement, found nested.
pub const REASON_NOT_NESTABLE: &str =
    "The statement isn't nestable: it can only be the top-level statement of a rule.";
/// \[unverified\] A member required by the value of another member is missing.
pub const REASON_MISSING: &str = "A member that this configuration requires is missing.";
/// \[unverified\] Members that are valid alone but not together.
pub const REASON_INVALID_COMBINATION: &str = "The combination of parameters isn't valid.";
/// \[doc\] Capacity above the limit of the web ACL or rule group.
pub const REASON_CAPACITY: &str = "You exceeded the capacity limit for a rule group or web ACL.";

/// Shorthand constructor.
pub fn fail(field: F, parameter: impl Into<String>, reason: &str) -> ValidationError {
    ValidationError::new(field, parameter, reason)
}

/// Fail with `reason` unless `ok`.
pub fn ensure(ok: bool, field: F, parameter: impl Into<String>, reason: &str) -> Check {
    if ok {
        Ok(())
    } else {
        Err(fail(field, parameter, reason))
    }
}

/// Length in characters (the model counts UTF-16 code units; identical for the ASCII the patterns allow).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `min..=max` characters.
pub fn length(field: F, s: &str, min: usize, max: usize) -> Check {
    let n = char_len(s);
    ensure((min..=max).contains(&n), field, s, REASON_INVALID_LENGTH)
}

/// `min..=max` list items; `parameter` names the list.
pub fn count<T>(field: F, parameter: &str, items: &[T], min: usize, max: usize) -> Check {
    ensure(
        (min..=max).contains(&items.len()),
        field,
        parameter,
        REASON_INVALID_LENGTH,
    )
}

/// `min..=max` numerically.
pub fn range(field: F, value: i64, min: i64, max: i64) -> Check {
    ensure(
        (min..=max).contains(&value),
        field,
        value.to_string(),
        REASON_OUT_OF_RANGE,
    )
}

/// Java's `\w` (ASCII word character).
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every character passes `allowed` and the string is non-empty.
pub fn all_chars(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}

/// `.*\S.*`: at least one non-whitespace character.
pub fn not_blank(s: &str) -> bool {
    s.chars().any(|c| !c.is_whitespace())
}

/// `EntityName`: 1–128, `^[\w\-]+$`.
pub fn entity_name(field: F, s: &str) -> Check {
    length(field, s, 1, 128)?;
    ensure(
        all_chars(s, |c| is_word(c) || c == '-'),
        field,
        s,
        REASON_INVALID_FORMAT,
    )
}

/// `EntityDescription`: 1–256, `^[\w+=:#@/\-,\.][\w+=:#@/\-,\.\s]+[\w+=:#@/\-,\.]$`.
pub fn description(field: F, s: &str) -> Check {
    length(field, s, 1, 256)?;
    let edge = |c: char| is_word(c) || "+=:#@/-,.".contains(c);
    let chars: Vec<char> = s.chars().collect();
    let ok = match chars.as_slice() {
        [first, middle @ .., last] if !middle.is_empty() => {
            edge(*first) && edge(*last) && middle.iter().all(|c| edge(*c) || c.is_whitespace())
        }
        _ => false,
    };
    ensure(ok, field, s, REASON_INVALID_FORMAT)
}

/// `MetricName`: 1–255, `^[\w#:\.\-/]+$`, not one of the reserved names `All` and `Default_Action`.
pub fn metric_name(s: &str) -> Check {
    length(F::MetricName, s, 1, 255)?;
    ensure(
        all_chars(s, |c| is_word(c) || "#:.-/".contains(c)),
        F::MetricName,
        s,
        REASON_INVALID_FORMAT,
    )?;
    ensure(
        s != "All" && s != "Default_Action",
        F::MetricName,
        s,
        REASON_INVALID_FORMAT,
    )
}

/// `LabelName` / `LabelMatchKey`: 1–1,024, `^[0-9A-Za-z_\-:]+$`.
pub fn label_name(field: F, s: &str) -> Check {
    length(field, s, 1, 1024)?;
    ensure(
        all_chars(s, |c| is_word(c) || c == '-' || c == ':'),
        field,
        s,
        REASON_INVALID_FORMAT,
    )
}

/// Words a rule label may not use as a component \[model: `Rule.RuleLabels`\].
pub const RESERVED_LABEL_WORDS: [&str; 7] = [
    "aws",
    "waf",
    "managed",
    "rulegroup",
    "webacl",
    "regexpatternset",
    "ipset",
];

/// A `RuleLabels` entry: a label name, colon-separated components of at most 128 characters, at most 5
/// namespaces before the name, no empty component and no reserved word \[model: `Rule.RuleLabels`\].
pub fn rule_label(field: F, s: &str) -> Check {
    label_name(field, s)?;
    let components: Vec<&str> = s.split(':').collect();
    ensure(components.len() <= 6, field, s, REASON_INVALID_FORMAT)?;
    for c in components {
        ensure(
            (1..=128).contains(&c.len()) && !RESERVED_LABEL_WORDS.contains(&c),
            field,
            s,
            REASON_INVALID_FORMAT,
        )?;
    }
    Ok(())
}

/// `LabelNamespace`: a label name ending in `:`.
pub fn label_namespace(field: F, s: &str) -> Check {
    label_name(field, s)?;
    ensure(s.ends_with(':'), field, s, REASON_INVALID_FORMAT)
}

/// `ResourceArn`: 20–2,048, non-blank, and shaped like an ARN (`arn:<partition>:<service>:...`).
pub fn arn(field: F, s: &str) -> Check {
    length(field, s, 20, 2048)?;
    let mut parts = s.splitn(6, ':');
    let shaped = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.nth(2).is_some_and(|p| !p.is_empty());
    ensure(shaped && not_blank(s), field, s, REASON_INVALID_ARN)
}

/// `ForwardedIPHeaderName`: 1–255, `^[a-zA-Z0-9-]+$`.
pub fn forwarded_header_name(field: F, s: &str) -> Check {
    length(field, s, 1, 255)?;
    ensure(
        all_chars(s, |c| c.is_ascii_alphanumeric() || c == '-'),
        field,
        s,
        REASON_INVALID_FORMAT,
    )
}

/// `FieldToMatchData`-like strings: `min..=max` and non-blank.
pub fn field_data(field: F, s: &str, max: usize) -> Check {
    length(field, s, 1, max)?;
    ensure(not_blank(s), field, s, REASON_INVALID_FORMAT)
}

/// No two items share `key`; fails with the duplicate value.
pub fn unique<T, K: Ord + ToString>(field: F, items: &[T], key: impl Fn(&T) -> K) -> Check {
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        let k = key(item);
        if seen.contains(&k) {
            return Err(fail(field, k.to_string(), REASON_DUPLICATE));
        }
        seen.insert(k);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names() {
        assert!(entity_name(F::Rule, "ok_Name-1").is_ok());
        for bad in ["", "a b", "é", "a.b"] {
            assert!(entity_name(F::Rule, bad).is_err(), "{bad:?}");
        }
        assert!(entity_name(F::Rule, &"a".repeat(128)).is_ok());
        assert_eq!(
            entity_name(F::Rule, &"a".repeat(129)).map_err(|e| e.reason),
            Err(REASON_INVALID_LENGTH.to_string())
        );
    }

    #[test]
    fn descriptions_follow_the_model_pattern() {
        for ok in ["abc", "My web ACL, v2.", "a b", "x@y.z/1"] {
            assert!(description(F::WebAcl, ok).is_ok(), "{ok:?}");
        }
        // Three characters minimum; no leading/trailing whitespace; no quotes.
        for bad in ["a", "ab", " abc", "abc ", "it's"] {
            assert!(description(F::WebAcl, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arns() {
        assert!(
            arn(
                F::ResourceArn,
                "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/a/b"
            )
            .is_ok()
        );
        assert!(arn(F::ResourceArn, "arn:aws:iam::123456789012:role/x").is_ok());
        for bad in [
            "arn:aws:wafv2:us-east-1:1234567",
            "urn:aws:wafv2:us-east-1:1:regional/x",
            "arn::wafv2:r:a:resource-x",
        ] {
            assert!(arn(F::ResourceArn, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metric_names_and_labels() {
        assert!(metric_name("a#b:c.d-e/f_1").is_ok());
        assert!(metric_name("All").is_err());
        assert!(label_name(F::Rule, "awswaf:managed:aws:x").is_ok());
        assert!(label_name(F::Rule, "a/b").is_err());
        assert!(label_namespace(F::CustomKeys, "a:b:").is_ok());
        assert!(label_namespace(F::CustomKeys, "a:b").is_err());
    }

    #[test]
    fn rule_labels() {
        for ok in ["myLabelName", "ns1:ns2:name", "a:b:c:d:e:f", "AWS"] {
            assert!(rule_label(F::Rule, ok).is_ok(), "{ok:?}");
        }
        let long = "x".repeat(129);
        for bad in [
            "a:b:c:d:e:f:g",
            "a::b",
            ":a",
            "a:",
            "aws:x",
            "ns:managed:x",
            long.as_str(),
        ] {
            assert!(rule_label(F::Rule, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unique_reports_the_duplicate() {
        let e = unique(F::Rule, &[1, 2, 1], |x| *x).map_err(|e| e.parameter);
        assert_eq!(e, Err("1".to_string()));
        assert!(unique(F::Rule, &[1, 2, 3], |x| *x).is_ok());
    }
}
