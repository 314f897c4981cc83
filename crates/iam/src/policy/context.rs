//! The request a policy is evaluated against: who is calling, what they want to do to
//! which resource, and the condition keys that describe the request.
//!
//! Global keys derived from the caller (`aws:PrincipalArn`, `aws:PrincipalAccount`,
//! `aws:username`, `aws:userid`, `aws:PrincipalType`, `aws:PrincipalTag/<key>`) need not be
//! set by the caller: [`RequestContext::lookup`] derives them from the [`Principal`] whenever
//! the context does not set them itself, so neither evaluation nor `authorize` can miss them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What kind of identity made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account's root user (`arn:aws:iam::<acct>:root`).
    Root,
    /// An IAM user.
    User,
    /// A session of an assumed role (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`).
    AssumedRole,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's own ARN; for a role session, the `assumed-role` session ARN.
    pub arn: String,
    /// The caller's twelve-digit account id.
    pub account: String,
    /// What kind of identity this is.
    pub kind: PrincipalKind,
    /// For a role session, the ARN of the role (`arn:aws:iam::<acct>:role/<path><name>`).
    pub role_arn: Option<String>,
    /// The unique id (`aws:userid`): `AIDA...` for users, `AROA...:<session>` for role
    /// sessions, the account id for root.
    pub user_id: String,
    /// The friendly user name (`aws:username`), for IAM users only.
    pub user_name: Option<String>,
    /// The principal's tags (`aws:PrincipalTag/<key>`).
    pub tags: BTreeMap<String, String>,
}

impl Principal {
    /// The root user of `account`.
    pub fn root(account: &str) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            kind: PrincipalKind::Root,
            role_arn: None,
            user_id: account.to_owned(),
            user_name: None,
            tags: BTreeMap::new(),
        }
    }

    /// The IAM user `name` (without a path) of `account`, whose unique id is `user_id`.
    pub fn user(account: &str, name: &str, user_id: &str) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            account: account.to_owned(),
            kind: PrincipalKind::User,
            role_arn: None,
            user_id: user_id.to_owned(),
            user_name: Some(name.to_owned()),
            tags: BTreeMap::new(),
        }
    }

    /// A session named `session` of the role `role` (path included, e.g. `ops/Admin`) of
    /// `account`; `role_id` is the role's unique id (`AROA...`).
    pub fn assumed_role(account: &str, role: &str, session: &str, role_id: &str) -> Self {
        let name = role.rsplit('/').next().unwrap_or(role);
        Self {
            arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
            account: account.to_owned(),
            kind: PrincipalKind::AssumedRole,
            role_arn: Some(format!("arn:aws:iam::{account}:role/{role}")),
            user_id: format!("{role_id}:{session}"),
            user_name: None,
            tags: BTreeMap::new(),
        }
    }

    /// Adds a tag, returning the principal.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// The value of a principal-derived global condition key (`key` already lowercased).
    fn global(&self, key: &str) -> Option<ContextValue> {
        let single = |s: &str| Some(ContextValue::Single(s.to_owned()));
        match key {
            "aws:principalarn" => match (&self.kind, &self.role_arn) {
                (PrincipalKind::AssumedRole, Some(role)) => single(role),
                _ => single(&self.arn),
            },
            "aws:principalaccount" => single(&self.account),
            "aws:userid" => single(&self.user_id),
            "aws:username" => self.user_name.as_deref().and_then(single),
            "aws:principaltype" => single(match self.kind {
                PrincipalKind::Root => "Account",
                PrincipalKind::User => "User",
                PrincipalKind::AssumedRole => "AssumedRole",
            }),
            _ => {
                let tag = key.strip_prefix("aws:principaltag/")?;
                let (_, value) = self
                    .tags
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(tag))?;
                single(value)
            }
        }
    }
}

/// The value of one condition key in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key, such as `aws:SourceIp`.
    Single(String),
    /// A multivalued key, such as `aws:TagKeys`.
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values, one for a single-valued key.
    pub fn values(&self) -> &[String] {
        match self {
            Self::Single(v) => std::slice::from_ref(v),
            Self::Multi(vs) => vs,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        Self::Single(v.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        Self::Single(v)
    }
}

impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        Self::Single(v.to_string())
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(vs: Vec<String>) -> Self {
        Self::Multi(vs)
    }
}

impl From<Vec<&str>> for ContextValue {
    fn from(vs: Vec<&str>) -> Self {
        Self::Multi(vs.into_iter().map(str::to_owned).collect())
    }
}

/// One request, as policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The authenticated caller.
    pub principal: Principal,
    /// The action, `service:Operation`, e.g. `iam:CreateUser`.
    pub action: String,
    /// The ARN of the resource acted on, or `*` for actions without one.
    pub resource: String,
    /// Condition keys; look-ups ignore ASCII case in the key name. Well-known key names
    /// are borrowed (`&'static str`), so setting one allocates only its value.
    pub values: BTreeMap<Cow<'static, str>, ContextValue>,
    /// When the request arrived, if known: `aws:CurrentTime` and `aws:EpochTime` are
    /// derived from it on demand (unless `values` sets them), so a request whose policies
    /// never ask for the time does not format it.
    pub request_time: Option<OffsetDateTime>,
}

impl RequestContext {
    /// A context with no condition keys beyond those derived from `principal`.
    pub fn new(
        principal: Principal,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            principal,
            action: action.into(),
            resource: resource.into(),
            values: BTreeMap::new(),
            request_time: None,
        }
    }

    /// Sets condition key `key`, returning the context.
    pub fn with(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<ContextValue>,
    ) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Sets when the request arrived (the source of `aws:CurrentTime` and
    /// `aws:EpochTime`), returning the context.
    pub fn at(mut self, time: OffsetDateTime) -> Self {
        self.request_time = Some(time);
        self
    }

    /// The value of condition key `key` (ASCII case ignored), falling back to the keys
    /// derived from the request time and the principal when the context does not set them.
    pub fn lookup(&self, key: &str) -> Option<Cow<'_, ContextValue>> {
        if let Some(v) = self.values.get(key) {
            return Some(Cow::Borrowed(v));
        }
        if let Some((_, v)) = self
            .values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            return Some(Cow::Borrowed(v));
        }
        if let Some(t) = self.request_time {
            if key.eq_ignore_ascii_case("aws:CurrentTime") {
                let text = t.format(&Rfc3339).unwrap_or_default();
                return Some(Cow::Owned(ContextValue::Single(text)));
            }
            if key.eq_ignore_ascii_case("aws:EpochTime") {
                let text = t.unix_timestamp().to_string();
                return Some(Cow::Owned(ContextValue::Single(text)));
            }
        }
        self.principal
            .global(&key.to_ascii_lowercase())
            .map(Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(ctx: &RequestContext, key: &str) -> Option<String> {
        match ctx.lookup(key)?.into_owned() {
            ContextValue::Single(v) => Some(v),
            ContextValue::Multi(_) => None,
        }
    }

    #[test]
    fn lookup_ignores_key_case() {
        let ctx = RequestContext::new(Principal::root("111122223333"), "iam:GetUser", "*")
            .with("aws:SourceIp", "10.0.0.1");
        assert_eq!(single(&ctx, "AWS:SOURCEIP").as_deref(), Some("10.0.0.1"));
        assert_eq!(single(&ctx, "aws:sourceip").as_deref(), Some("10.0.0.1"));
        assert_eq!(single(&ctx, "aws:SourceVpc"), None);
    }

    #[test]
    fn globals_derive_from_user() {
        let p = Principal::user("111122223333", "alice", "AIDAALICE").with_tag("Team", "blue");
        let ctx = RequestContext::new(p, "iam:GetUser", "*");
        assert_eq!(single(&ctx, "aws:username").as_deref(), Some("alice"));
        assert_eq!(single(&ctx, "aws:userid").as_deref(), Some("AIDAALICE"));
        assert_eq!(single(&ctx, "aws:PrincipalType").as_deref(), Some("User"));
        assert_eq!(
            single(&ctx, "aws:PrincipalAccount").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            single(&ctx, "aws:PrincipalArn").as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
        assert_eq!(
            single(&ctx, "aws:PrincipalTag/team").as_deref(),
            Some("blue")
        );
        assert_eq!(single(&ctx, "aws:PrincipalTag/colour"), None);
    }

    #[test]
    fn role_session_principal_arn_is_the_role() {
        let p = Principal::assumed_role("111122223333", "ops/Admin", "s1", "AROAX");
        assert_eq!(p.arn, "arn:aws:sts::111122223333:assumed-role/Admin/s1");
        let ctx = RequestContext::new(p, "iam:GetUser", "*");
        assert_eq!(
            single(&ctx, "aws:PrincipalArn").as_deref(),
            Some("arn:aws:iam::111122223333:role/ops/Admin")
        );
        assert_eq!(single(&ctx, "aws:userid").as_deref(), Some("AROAX:s1"));
        assert_eq!(single(&ctx, "aws:username"), None);
        assert_eq!(
            single(&ctx, "aws:PrincipalType").as_deref(),
            Some("AssumedRole")
        );
    }

    #[test]
    fn time_keys_derive_from_request_time() {
        let t = time::macros::datetime!(2026-11-30 19:05:07 UTC);
        let ctx = RequestContext::new(Principal::root("111122223333"), "kms:Encrypt", "*").at(t);
        assert_eq!(
            single(&ctx, "aws:CurrentTime").as_deref(),
            Some("2026-11-30T19:05:07Z")
        );
        assert_eq!(single(&ctx, "AWS:EPOCHTIME").as_deref(), Some("1796065507"));
        let set = ctx.clone().with("aws:CurrentTime", "2000-01-01T00:00:00Z");
        assert_eq!(
            single(&set, "aws:currenttime").as_deref(),
            Some("2000-01-01T00:00:00Z")
        );
        let none = RequestContext::new(Principal::root("111122223333"), "kms:Encrypt", "*");
        assert_eq!(single(&none, "aws:CurrentTime"), None);
        assert_eq!(single(&none, "aws:EpochTime"), None);
    }

    #[test]
    fn explicit_values_override_globals() {
        let ctx = RequestContext::new(Principal::root("111122223333"), "iam:GetUser", "*")
            .with("aws:PrincipalType", "Custom");
        assert_eq!(single(&ctx, "aws:principaltype").as_deref(), Some("Custom"));
    }
}
