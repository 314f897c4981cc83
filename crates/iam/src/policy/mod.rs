//! The AWS IAM policy language: parsing, validation and evaluation.
//!
//! [`Policy::parse`] turns a JSON policy document into a validated [`Policy`] (or a
//! [`PolicyError`] whose text is IAM's `MalformedPolicyDocument` reason);
//! [`Policy::evaluate`] gives one policy's [`PolicyEffect`] on a [`RequestContext`]; and
//! [`authorize`] combines the identity policies and an optional resource policy into the
//! final [`Decision`], the way AWS does within and across accounts.
//!
//! ```
//! use portcullis_iam::policy::{authorize, Decision, Policy, PolicyKind, Principal, RequestContext};
//!
//! let policy = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*",
//!         "Resource":"arn:aws:iam::111122223333:user/${aws:username}"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let alice = Principal::user("111122223333", "alice", "AIDAALICE");
//! let ctx = RequestContext::new(alice, "iam:GetUser", "arn:aws:iam::111122223333:user/alice");
//! assert_eq!(authorize(&[&policy], None, &ctx), Decision::Allow);
//! # Ok::<(), portcullis_iam::policy::PolicyError>(())
//! ```

mod condition;
mod context;
mod error;
mod eval;
mod operators;
mod parse;
mod pattern;
mod principal;
mod strict;

pub use context::{ContextValue, Principal, PrincipalKind, RequestContext};
pub use error::PolicyError;
pub use eval::authorize;

use condition::Condition;
use pattern::{Template, Tok};
use principal::PrincipalSet;

/// Where a policy is attached, which decides the elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role: no `Principal`, `Resource` required.
    Identity,
    /// Attached to a resource (e.g. a KMS key policy): `Principal` and `Resource` required.
    Resource,
    /// A role's trust policy: `Principal` required, `Resource` optional.
    Trust,
}

/// The policy language version a document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: the current version, with policy variables.
    V2012_10_17,
    /// `2008-10-17` (also the default when `Version` is absent): `${...}` is plain text.
    V2008_10_17,
}

impl Version {
    /// The version string as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2012_10_17 => "2012-10-17",
            Self::V2008_10_17 => "2008-10-17",
        }
    }
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// An element that may be given positively or negated (`Action` / `NotAction`, ...).
#[derive(Debug, Clone, PartialEq)]
struct Scoped<T> {
    /// True for the `Not...` form.
    not: bool,
    /// The element's parsed value.
    value: T,
}

/// One validated statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    actions: Scoped<Vec<Vec<Tok>>>,
    resources: Option<Scoped<Vec<Template>>>,
    principals: Option<Scoped<PrincipalSet>>,
    conditions: Vec<Condition>,
}

impl Statement {
    /// The statement id (`Sid`), if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// Whether the statement allows or denies.
    pub fn effect(&self) -> Effect {
        self.effect
    }
}

/// A parsed and validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    version: Version,
    id: Option<String>,
    kind: PolicyKind,
    statements: Vec<Statement>,
}

impl Policy {
    /// Parses and validates a policy document of the given kind; errors carry a message
    /// suitable for IAM's `MalformedPolicyDocument`.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        parse::policy(json, kind)
    }

    /// The effect of this one policy on a request: an applicable `Deny` statement wins over
    /// any `Allow`; `NotApplicable` when no statement applies.
    pub fn evaluate(&self, ctx: &RequestContext) -> PolicyEffect {
        eval::policy(self, ctx)
    }

    /// The declared language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The policy's `Id`, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The kind the policy was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// The effect of one policy on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyEffect {
    /// A `Deny` statement applies.
    ExplicitDeny,
    /// An `Allow` statement applies and no `Deny` does.
    Allow {
        /// For resource and trust policies: every applicable `Allow` named the caller only
        /// through its account (an account id, `arn:aws:iam::<acct>:root`, `*`, or a
        /// `NotPrincipal`), never by its own ARN or its role's ARN. Always false for
        /// identity policies.
        via_account: bool,
    },
    /// No statement applies.
    NotApplicable,
}

/// The combined decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The request is allowed.
    Allow,
    /// A policy explicitly denies the request.
    ExplicitDeny,
    /// Nothing allows the request.
    ImplicitDeny,
}

#[cfg(test)]
mod tests;
