//! The `Principal` / `NotPrincipal` element: whom a resource or trust policy speaks about.
//!
//! Forms: `"*"`, or an object whose keys are `AWS`, `Service`, `Federated` or
//! `CanonicalUser`, each with a string or a list of strings. An `AWS` value is `*`, a
//! twelve-digit account id, `arn:<partition>:iam::<acct>:root` (both meaning "any principal
//! of that account"), or the ARN of a user, role or role session. A role ARN also matches
//! every session of that role.

use serde_json::Value;

use super::context::{Principal, PrincipalKind};
use super::error::PolicyError;

/// One `AWS` principal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AwsPrincipal {
    /// `*`: everyone.
    Everyone,
    /// Every principal of one account.
    Account(String),
    /// One user, role or role session.
    Arn(String),
}

/// The parsed value of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PrincipalSet {
    aws: Vec<AwsPrincipal>,
    /// `Service`, `Federated` and `CanonicalUser` entries; kept for completeness, they never
    /// match the IAM principals Portcullis authenticates.
    others: Vec<(String, String)>,
}

/// How a principal entry matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalMatch {
    /// An entry names the caller itself (its ARN, or the role it is a session of).
    Direct,
    /// An entry names the caller only through its account, or is `*`.
    ViaAccount,
}

impl PrincipalSet {
    /// Parses the element's JSON value.
    pub(crate) fn parse(value: &Value) -> Result<Self, PolicyError> {
        let mut set = Self::default();
        match value {
            Value::String(s) if s == "*" => set.aws.push(AwsPrincipal::Everyone),
            Value::Object(map) if !map.is_empty() => {
                for (kind, v) in map {
                    let entries = strings(kind, v)?;
                    for entry in entries {
                        match kind.as_str() {
                            "AWS" => set.aws.push(parse_aws(entry)?),
                            "Service" | "Federated" | "CanonicalUser" if !entry.is_empty() => {
                                set.others.push((kind.clone(), entry.to_owned()));
                            }
                            _ => return Err(invalid(kind, entry)),
                        }
                    }
                }
            }
            other => {
                return Err(PolicyError::InvalidPrincipal {
                    principal: other.to_string(),
                });
            }
        }
        Ok(set)
    }

    /// The strongest way any entry matches `caller`, or `None`.
    pub(crate) fn matches(&self, caller: &Principal) -> Option<PrincipalMatch> {
        let mut best = None;
        for entry in &self.aws {
            match entry {
                AwsPrincipal::Arn(arn) if names_directly(arn, caller) => {
                    return Some(PrincipalMatch::Direct);
                }
                AwsPrincipal::Everyone => best = Some(PrincipalMatch::ViaAccount),
                AwsPrincipal::Account(acct) if *acct == caller.account => {
                    best = Some(PrincipalMatch::ViaAccount);
                }
                _ => {}
            }
        }
        best
    }
}

/// The strings of one principal type's value.
fn strings<'a>(kind: &str, v: &'a Value) -> Result<Vec<&'a str>, PolicyError> {
    let list: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().ok_or_else(|| invalid(kind, &i.to_string())))
            .collect::<Result<_, _>>()?,
        other => return Err(invalid(kind, &other.to_string())),
    };
    if list.is_empty() {
        return Err(invalid(kind, "[]"));
    }
    Ok(list)
}

/// A [`PolicyError::InvalidPrincipal`] for one entry.
fn invalid(kind: &str, entry: &str) -> PolicyError {
    PolicyError::InvalidPrincipal {
        principal: format!("\"{kind}\":\"{entry}\""),
    }
}

/// Parses one `AWS` value.
fn parse_aws(s: &str) -> Result<AwsPrincipal, PolicyError> {
    if s == "*" {
        return Ok(AwsPrincipal::Everyone);
    }
    if is_account_id(s) {
        return Ok(AwsPrincipal::Account(s.to_owned()));
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", acct, "root"]
            if !partition.is_empty() && is_account_id(acct) =>
        {
            Ok(AwsPrincipal::Account((*acct).to_owned()))
        }
        ["arn", partition, "iam" | "sts", "", acct, resource]
            if !partition.is_empty()
                && is_account_id(acct)
                && !resource.is_empty()
                && !s.contains(['*', '?']) =>
        {
            Ok(AwsPrincipal::Arn(s.to_owned()))
        }
        _ => Err(invalid("AWS", s)),
    }
}

/// Whether `s` is a twelve-digit account id.
fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the ARN `arn` names `caller` itself: its own ARN, or the role it is a session of.
fn names_directly(arn: &str, caller: &Principal) -> bool {
    if arn == caller.arn {
        return true;
    }
    if caller.kind != PrincipalKind::AssumedRole {
        return false;
    }
    caller.role_arn.as_deref() == Some(arn)
        || role_of_session(&caller.arn).is_some_and(|r| role_matches(arn, r))
}

/// `(partition, account, role name)` of an `assumed-role` session ARN.
fn role_of_session(session_arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = session_arn.splitn(6, ':').collect();
    let ["arn", partition, "sts", "", acct, resource] = parts.as_slice() else {
        return None;
    };
    let mut segments = resource.strip_prefix("assumed-role/")?.split('/');
    Some((partition, acct, segments.next()?))
}

/// Whether the role ARN `arn` (path allowed) is the role `(partition, account, name)`.
fn role_matches(arn: &str, (partition, acct, name): (&str, &str, &str)) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", p, "iam", "", a, resource] = parts.as_slice() else {
        return false;
    };
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return false;
    };
    *p == partition && *a == acct && path_and_name.rsplit('/').next() == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(v: Value) -> PrincipalSet {
        PrincipalSet::parse(&v).unwrap()
    }

    const ACCT: &str = "111122223333";

    #[test]
    fn forms_of_account() {
        let alice = Principal::user(ACCT, "alice", "AIDA1");
        for v in [
            json!({"AWS": ACCT}),
            json!({"AWS": "arn:aws:iam::111122223333:root"}),
            json!("*"),
            json!({"AWS": ["*"]}),
        ] {
            assert_eq!(
                set(v.clone()).matches(&alice),
                Some(PrincipalMatch::ViaAccount),
                "{v}"
            );
        }
        assert_eq!(set(json!({"AWS": "444455556666"})).matches(&alice), None);
    }

    #[test]
    fn direct_arn_beats_account() {
        let alice = Principal::user(ACCT, "alice", "AIDA1");
        let s = set(json!({"AWS": [ACCT, "arn:aws:iam::111122223333:user/alice"]}));
        assert_eq!(s.matches(&alice), Some(PrincipalMatch::Direct));
        let bob = Principal::user(ACCT, "bob", "AIDA2");
        assert_eq!(s.matches(&bob), Some(PrincipalMatch::ViaAccount));
    }

    #[test]
    fn role_arn_matches_its_sessions_with_path_stripped() {
        let s = set(json!({"AWS": "arn:aws:iam::111122223333:role/ops/Admin"}));
        let mut session = Principal::assumed_role(ACCT, "ops/Admin", "s1", "AROA1");
        assert_eq!(s.matches(&session), Some(PrincipalMatch::Direct));
        // Even without role_arn filled in, the session ARN alone identifies the role.
        session.role_arn = None;
        assert_eq!(s.matches(&session), Some(PrincipalMatch::Direct));
        let other = Principal::assumed_role(ACCT, "ops/Reader", "s1", "AROA2");
        assert_eq!(s.matches(&other), None);
        let other_acct = Principal::assumed_role("444455556666", "ops/Admin", "s1", "AROA3");
        assert_eq!(s.matches(&other_acct), None);
    }

    #[test]
    fn session_arn_matches_only_that_session() {
        let s = set(json!({"AWS": "arn:aws:sts::111122223333:assumed-role/Admin/s1"}));
        assert!(
            s.matches(&Principal::assumed_role(ACCT, "Admin", "s1", "R"))
                .is_some()
        );
        assert!(
            s.matches(&Principal::assumed_role(ACCT, "Admin", "s2", "R"))
                .is_none()
        );
    }

    #[test]
    fn service_principals_never_match_iam_callers() {
        let s = set(json!({"Service": "ec2.amazonaws.com"}));
        assert_eq!(s.matches(&Principal::root(ACCT)), None);
    }

    #[test]
    fn invalid_principals_are_rejected() {
        for v in [
            json!("arn:aws:iam::111122223333:root"),
            json!({}),
            json!({"AWS": []}),
            json!({"AWS": "alice"}),
            json!({"AWS": "arn:aws:iam::111122223333:user/*"}),
            json!({"AWS": 5}),
            json!({"Robot": "x"}),
            json!({"Service": ""}),
        ] {
            assert!(
                matches!(
                    PrincipalSet::parse(&v),
                    Err(PolicyError::InvalidPrincipal { .. })
                ),
                "{v} should be rejected"
            );
        }
    }
}
