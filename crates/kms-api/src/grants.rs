//! Grant rules, free of I/O: constraint matching, who a grant is for, who may retire it,
//! what a grant that allows CreateGrant may hand on, and the grant token format. The
//! operations themselves are in [`crate::ops::grants`].

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_iam::policy::{Principal, PrincipalKind};

use crate::model::{Grant, GrantConstraints};

/// The `GrantOperation` enum.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
];

/// Grants per key at most (the AWS quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;

/// Marks our grant tokens, and their format version.
const TOKEN_PREFIX: &str = "pgt1.";

/// The principal names a caller answers to in a grant: its own ARN and, for a role
/// session, the role's ARN (a grant to a role covers all its sessions).
pub fn caller_names(p: &Principal) -> Vec<&str> {
    match (&p.kind, &p.role_arn) {
        (PrincipalKind::AssumedRole, Some(role)) => vec![p.arn.as_str(), role.as_str()],
        _ => vec![p.arn.as_str()],
    }
}

/// Whether `p` may retire `g` by the grant alone: the retiring principal, the grantee
/// when the grant includes RetireGrant, or the root user of the account that created it.
/// Anyone else needs `kms:RetireGrant` from a policy.
pub fn may_retire(p: &Principal, g: &Grant) -> bool {
    let names = caller_names(p);
    if g.retiring_principal
        .as_deref()
        .is_some_and(|r| names.contains(&r))
    {
        return true;
    }
    if names.contains(&g.grantee_principal.as_str())
        && g.operations.iter().any(|o| o == "RetireGrant")
    {
        return true;
    }
    p.kind == PrincipalKind::Root && p.account == g.issuing_account
}

/// Whether a grant allowing CreateGrant may create a child grant with `ops` and
/// `constraints`: the child's operations are a subset of the parent's, and its
/// constraints at least as strict (a child of an `EncryptionContextEquals` grant must
/// carry the same `Equals`; a child of a `Subset` grant must require every parent pair,
/// through its own `Subset` or `Equals`).
pub fn may_delegate(parent: &Grant, ops: &[String], constraints: &GrantConstraints) -> bool {
    if !parent.operations.iter().any(|o| o == "CreateGrant") {
        return false;
    }
    if !ops.iter().all(|o| parent.operations.contains(o)) {
        return false;
    }
    if let Some(eq) = &parent.constraints.equals
        && constraints.equals.as_ref() != Some(eq)
    {
        return false;
    }
    if let Some(sub) = &parent.constraints.subset {
        let required = |m: &BTreeMap<String, String>| sub.iter().all(|(k, v)| m.get(k) == Some(v));
        let by_equals = constraints.equals.as_ref().is_some_and(required);
        let by_subset = constraints.subset.as_ref().is_some_and(required);
        if !(by_equals || by_subset) {
            return false;
        }
    }
    true
}

/// Where a grant lives, as a grant token carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRef {
    /// Account of the key.
    pub account: String,
    /// Region of the key.
    pub region: String,
    /// Key id.
    pub key_id: String,
    /// Grant id.
    pub grant_id: String,
}

/// The grant token of a grant: opaque to clients; it names the grant, so RetireGrant can
/// find it from the token alone. It carries no authority of its own.
pub fn encode_token(g: &Grant) -> String {
    let raw = format!("{}/{}/{}/{}", g.account, g.region, g.key_id, g.grant_id);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// Reads a grant token, or `None` if it is not one of ours.
pub fn decode_token(token: &str) -> Option<GrantRef> {
    let body = token.strip_prefix(TOKEN_PREFIX)?;
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let mut parts = raw.split('/');
    let (Some(account), Some(region), Some(key_id), Some(grant_id), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !(ok(account) && ok(region) && ok(key_id) && is_grant_id(grant_id)) {
        return None;
    }
    Some(GrantRef {
        account: account.to_owned(),
        region: region.to_owned(),
        key_id: key_id.to_owned(),
        grant_id: grant_id.to_owned(),
    })
}

/// A fresh grant id: 64 lower-case hex characters.
pub fn new_grant_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `id` has the form of a grant id we issue.
pub fn is_grant_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a request's encryption context satisfies a grant's constraints:
/// `EncryptionContextEquals` needs the same pairs exactly (case-sensitive, any order);
/// `EncryptionContextSubset` needs every constraint pair present, and allows more.
pub fn constraints_hold(c: &GrantConstraints, ec: &BTreeMap<String, String>) -> bool {
    if let Some(eq) = &c.equals
        && eq != ec
    {
        return false;
    }
    if let Some(sub) = &c.subset
        && !sub.iter().all(|(k, v)| ec.get(k) == Some(v))
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equals_is_exact_and_case_sensitive() {
        let c = GrantConstraints {
            equals: Some(m(&[("a", "1")])),
            subset: None,
        };
        assert!(constraints_hold(&c, &m(&[("a", "1")])));
        assert!(!constraints_hold(&c, &m(&[("a", "1"), ("b", "2")])));
        assert!(!constraints_hold(&c, &m(&[("A", "1")])));
        assert!(!constraints_hold(&c, &m(&[])));
    }

    fn principal(kind: PrincipalKind, arn: &str, role: Option<&str>) -> Principal {
        Principal {
            arn: arn.into(),
            account: "111122223333".into(),
            kind,
            role_arn: role.map(str::to_owned),
            user_id: "AIDAEXAMPLE".into(),
            user_name: None,
            tags: BTreeMap::new(),
        }
    }

    fn grant(ops: &[&str], retiring: Option<&str>, constraints: GrantConstraints) -> Grant {
        Grant {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            grant_id: new_grant_id(),
            name: None,
            grantee_principal: "arn:aws:iam::111122223333:role/app".into(),
            retiring_principal: retiring.map(str::to_owned),
            issuing_account: "111122223333".into(),
            operations: ops.iter().map(|o| o.to_string()).collect(),
            constraints,
            created: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let g = grant(&["Decrypt"], None, GrantConstraints::default());
        let t = encode_token(&g);
        let r = decode_token(&t).unwrap();
        assert_eq!(
            (r.account.as_str(), r.key_id.as_str(), r.grant_id.as_str()),
            ("111122223333", g.key_id.as_str(), g.grant_id.as_str())
        );
        assert!(decode_token("garbage").is_none());
        assert!(decode_token(&t.replace("pgt1.", "pgt2.")).is_none());
        let forged = format!("pgt1.{}", URL_SAFE_NO_PAD.encode("a/b/../x/short"));
        assert!(decode_token(&forged).is_none());
        let extra = format!(
            "pgt1.{}",
            URL_SAFE_NO_PAD.encode(format!("a/b/c/{}/e", g.grant_id))
        );
        assert!(decode_token(&extra).is_none());
    }

    #[test]
    fn grant_ids_are_64_hex() {
        let id = new_grant_id();
        assert!(is_grant_id(&id));
        assert_ne!(id, new_grant_id());
        assert!(!is_grant_id(&id.to_uppercase()));
        assert!(!is_grant_id("abc"));
    }

    #[test]
    fn who_may_retire() {
        let retirer = principal(
            PrincipalKind::User,
            "arn:aws:iam::111122223333:user/ops",
            None,
        );
        let session = principal(
            PrincipalKind::AssumedRole,
            "arn:aws:sts::111122223333:assumed-role/app/s1",
            Some("arn:aws:iam::111122223333:role/app"),
        );
        let root = principal(PrincipalKind::Root, "arn:aws:iam::111122223333:root", None);
        let mut other_root = root.clone();
        other_root.account = "444455556666".into();
        let g = grant(
            &["Decrypt"],
            Some("arn:aws:iam::111122223333:user/ops"),
            GrantConstraints::default(),
        );
        assert!(may_retire(&retirer, &g));
        assert!(
            !may_retire(&session, &g),
            "the grantee needs RetireGrant in the grant"
        );
        assert!(may_retire(&root, &g));
        assert!(!may_retire(&other_root, &g));
        let g = grant(
            &["Decrypt", "RetireGrant"],
            None,
            GrantConstraints::default(),
        );
        assert!(
            may_retire(&session, &g),
            "a role session is the role's grantee"
        );
        assert!(!may_retire(&retirer, &g));
    }

    #[test]
    fn child_grants_are_no_wider_than_their_parent() {
        let ops = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = GrantConstraints::default();
        let sub = |p: &[(&str, &str)]| GrantConstraints {
            equals: None,
            subset: Some(m(p)),
        };
        let eq = |p: &[(&str, &str)]| GrantConstraints {
            equals: Some(m(p)),
            subset: None,
        };
        let parent = grant(&["Decrypt", "CreateGrant"], None, sub(&[("a", "1")]));
        assert!(may_delegate(
            &parent,
            &ops(&["Decrypt"]),
            &sub(&[("a", "1"), ("b", "2")])
        ));
        assert!(may_delegate(
            &parent,
            &ops(&["Decrypt"]),
            &eq(&[("a", "1")])
        ));
        assert!(!may_delegate(&parent, &ops(&["Decrypt"]), &none));
        assert!(!may_delegate(
            &parent,
            &ops(&["Encrypt"]),
            &sub(&[("a", "1")])
        ));
        let parent = grant(&["Decrypt", "CreateGrant"], None, eq(&[("a", "1")]));
        assert!(may_delegate(
            &parent,
            &ops(&["Decrypt"]),
            &eq(&[("a", "1")])
        ));
        assert!(
            !may_delegate(&parent, &ops(&["Decrypt"]), &sub(&[("a", "1")])),
            "Subset is wider than Equals"
        );
        let parent = grant(&["Decrypt"], None, none.clone());
        assert!(
            !may_delegate(&parent, &ops(&["Decrypt"]), &none),
            "the parent must allow CreateGrant"
        );
    }

    #[test]
    fn subset_allows_more() {
        let c = GrantConstraints {
            equals: None,
            subset: Some(m(&[("a", "1")])),
        };
        assert!(constraints_hold(&c, &m(&[("a", "1"), ("b", "2")])));
        assert!(!constraints_hold(&c, &m(&[("a", "2")])));
        assert!(!constraints_hold(&c, &m(&[])));
        assert!(constraints_hold(&GrantConstraints::default(), &m(&[])));
    }
}
