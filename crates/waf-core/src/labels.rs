//! Label names and `LabelMatchStatement` matching.
//!
//! A rule's label `zone:admin` becomes `awswaf:<account>:webacl:<acl>:zone:admin` in a web ACL,
//! `awswaf:<account>:rulegroup:<group>:zone:admin` in a customer rule group and
//! `awswaf:managed:<vendor>:<group-namespace>:zone:admin` in a managed group [model].
//!
//! Matching follows the `LabelMatchStatement.Key` documentation [model]:
//! - `LABEL`: the key is the label name, optionally preceded by any number of its namespaces, up to the fully
//!   qualified label. A key that is not fully qualified (does not start with `awswaf:`) only matches labels added
//!   in the statement's own context (same web ACL or same rule group).
//! - `NAMESPACE`: the key is a run of contiguous namespaces (a trailing `:` is ignored); fully qualified keys are
//!   prefixes of the label's namespace, other keys match within the statement's context.
//!
//! Labels are case-sensitive.
//!
//! [model]: https://github.com/boto/botocore/blob/develop/botocore/data/wafv2/2019-07-29/service-2.json

/// The label scope of a `LabelMatchStatement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelScope {
    /// Match one label by (partially qualified) name.
    Label,
    /// Match any label under a namespace.
    Namespace,
}

/// True when a label key names a fully qualified label or namespace.
fn qualified(key: &str) -> bool {
    key.starts_with("awswaf:")
}

/// True when `hay` ends with `:` + `needle` or equals it.
fn ends_at_boundary(hay: &str, needle: &str) -> bool {
    hay == needle
        || hay
            .strip_suffix(needle)
            .is_some_and(|rest| rest.ends_with(':'))
}

/// True when `needle` occurs in `hay` as whole colon-separated components.
fn contains_components(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut start = 0;
    while let Some(pos) = hay.get(start..).and_then(|h| h.find(needle)) {
        let at = start + pos;
        let end = at + needle.len();
        let before_ok = at == 0 || hay.as_bytes().get(at - 1) == Some(&b':');
        let after_ok = end == hay.len() || hay.as_bytes().get(end) == Some(&b':');
        if before_ok && after_ok {
            return true;
        }
        start = at + 1;
    }
    false
}

/// Does the fully qualified `label` satisfy a `LabelMatchStatement` with `scope` and `key`, evaluated in the
/// context whose label namespace is `context` (e.g. `awswaf:111122223333:webacl:shop:`)?
pub fn label_matches(label: &str, scope: LabelScope, key: &str, context: &str) -> bool {
    match scope {
        LabelScope::Label => {
            if qualified(key) {
                label == key
            } else {
                label.starts_with(context)
                    && label
                        .get(context.len()..)
                        .is_some_and(|local| ends_at_boundary(local, key))
            }
        }
        LabelScope::Namespace => {
            let key = key.strip_suffix(':').unwrap_or(key);
            let Some((ns, _name)) = label.rsplit_once(':') else {
                return false;
            };
            if qualified(key) {
                ns == key
                    || ns
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.starts_with(':'))
            } else {
                label.starts_with(context) && contains_components(ns, key)
            }
        }
    }
}

/// The label namespace of a web ACL: `awswaf:<account>:webacl:<name>:`.
pub fn webacl_namespace(account: &str, acl: &str) -> String {
    format!("awswaf:{account}:webacl:{acl}:")
}

/// The label namespace of a customer rule group: `awswaf:<account>:rulegroup:<name>:`.
pub fn rulegroup_namespace(account: &str, group: &str) -> String {
    format!("awswaf:{account}:rulegroup:{group}:")
}

/// The label namespace of a managed rule group: `awswaf:managed:<vendor>:<group-namespace>:`, vendor lower-cased.
pub fn managed_namespace(vendor: &str, group_namespace: &str) -> String {
    format!(
        "awswaf:managed:{}:{}:",
        vendor.to_ascii_lowercase(),
        group_namespace
    )
}

/// The account id in an ARN (`arn:aws:wafv2:<region>:<account>:…`), if it has one.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    let _arn = parts.next()?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let _region = parts.next()?;
    parts.next().filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: &str = "awswaf:111:webacl:shop:";

    #[test]
    fn label_scope_suffixes_in_context() {
        let l = "awswaf:111:webacl:shop:a:b:c";
        for k in ["c", "b:c", "a:b:c", "awswaf:111:webacl:shop:a:b:c"] {
            assert!(label_matches(l, LabelScope::Label, k, CTX), "{k}");
        }
        for k in ["b", "a:b", "x:c", "C", ":c", "awswaf:111:webacl:shop:b:c"] {
            assert!(!label_matches(l, LabelScope::Label, k, CTX), "{k}");
        }
    }

    #[test]
    fn unqualified_key_ignores_other_contexts() {
        let managed = "awswaf:managed:aws:sql-database:SQLi_Body";
        assert!(!label_matches(managed, LabelScope::Label, "SQLi_Body", CTX));
        assert!(label_matches(managed, LabelScope::Label, managed, CTX));
        assert!(label_matches(
            managed,
            LabelScope::Label,
            "SQLi_Body",
            "awswaf:managed:aws:sql-database:"
        ));
    }

    #[test]
    fn namespace_scope() {
        let l = "awswaf:managed:aws:bot-control:bot:category:monitoring";
        let any = "awswaf:111:webacl:x:";
        assert!(label_matches(
            l,
            LabelScope::Namespace,
            "awswaf:managed:aws:bot-control:bot:",
            any
        ));
        assert!(label_matches(
            l,
            LabelScope::Namespace,
            "awswaf:managed:aws:bot-control:bot:category",
            any
        ));
        assert!(!label_matches(
            l,
            LabelScope::Namespace,
            "awswaf:managed:aws:bot-control:bo",
            any
        ));
        // the label name is not a namespace
        assert!(!label_matches(
            l,
            LabelScope::Namespace,
            "awswaf:managed:aws:bot-control:bot:category:monitoring",
            any
        ));
        let local = "awswaf:111:webacl:shop:zone:admin:x";
        assert!(label_matches(local, LabelScope::Namespace, "zone:", CTX));
        assert!(label_matches(
            local,
            LabelScope::Namespace,
            "zone:admin",
            CTX
        ));
        assert!(label_matches(local, LabelScope::Namespace, "admin", CTX));
        assert!(!label_matches(local, LabelScope::Namespace, "x", CTX));
        assert!(!label_matches(
            local,
            LabelScope::Namespace,
            "zone",
            "awswaf:222:webacl:shop:"
        ));
    }

    #[test]
    fn namespaces_and_arns() {
        assert_eq!(webacl_namespace("1", "a"), "awswaf:1:webacl:a:");
        assert_eq!(rulegroup_namespace("1", "g"), "awswaf:1:rulegroup:g:");
        assert_eq!(
            managed_namespace("AWS", "sql-database"),
            "awswaf:managed:aws:sql-database:"
        );
        assert_eq!(
            account_of_arn("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/b"),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("nope"), None);
    }
}
