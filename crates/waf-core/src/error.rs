//! The crate's error type: everything that can go wrong while compiling a web ACL into a plan.
//!
//! Evaluation itself never fails: every request gets a [`crate::Verdict`]. All problems are found at compile time.

use thiserror::Error;

/// Why a web ACL (or a rule group) could not be compiled into an evaluation plan.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A `RegexMatchStatement` or a regex pattern set holds a pattern the linear-time engine cannot compile
    /// (unsupported syntax such as look-around or backreferences, or over the size limit).
    #[error("rule {rule:?}: regex {pattern:?} does not compile: {reason}")]
    Regex {
        /// The rule holding the statement.
        rule: String,
        /// The offending pattern.
        pattern: String,
        /// The regex engine's explanation.
        reason: String,
    },
    /// A statement references an IP set ARN that is not among the [`crate::Resources`].
    #[error("rule {rule:?}: unknown IP set {arn:?}")]
    UnknownIpSet {
        /// The rule holding the reference.
        rule: String,
        /// The referenced ARN.
        arn: String,
    },
    /// An IP set's addresses could not be parsed.
    #[error("IP set {arn:?}: {reason}")]
    InvalidIpSet {
        /// The IP set ARN.
        arn: String,
        /// What was wrong.
        reason: String,
    },
    /// A statement references a regex pattern set ARN that is not among the [`crate::Resources`].
    #[error("rule {rule:?}: unknown regex pattern set {arn:?}")]
    UnknownRegexPatternSet {
        /// The rule holding the reference.
        rule: String,
        /// The referenced ARN.
        arn: String,
    },
    /// A `RuleGroupReferenceStatement` names a rule group that is not among the [`crate::Resources`].
    #[error("rule {rule:?}: unknown rule group {arn:?}")]
    UnknownRuleGroup {
        /// The rule holding the reference.
        rule: String,
        /// The referenced ARN.
        arn: String,
    },
    /// A `ManagedRuleGroupStatement` names a vendor/group that is not registered in the [`crate::Resources`].
    #[error("rule {rule:?}: unknown managed rule group {vendor}/{name}")]
    UnknownManagedGroup {
        /// The rule holding the reference.
        rule: String,
        /// The vendor name.
        vendor: String,
        /// The group name.
        name: String,
    },
    /// `RuleActionOverrides` or `ExcludedRules` of a customer rule group reference name a rule that the group
    /// does not contain (AWS rejects these for customer groups; for managed groups they are ignored).
    #[error("rule {rule:?}: rule group {group:?} has no rule named {name:?}")]
    UnknownGroupRule {
        /// The rule holding the reference.
        rule: String,
        /// The referenced group.
        group: String,
        /// The rule name that does not exist.
        name: String,
    },
    /// A `CustomResponseBodyKey` does not name an entry of the applicable `CustomResponseBodies`.
    #[error("rule {rule:?}: unknown custom response body key {key:?}")]
    UnknownResponseBody {
        /// The rule (or `DefaultAction`) holding the reference.
        rule: String,
        /// The missing key.
        key: String,
    },
    /// A text transformation name is not a known AWS `TextTransformationType`.
    #[error("rule {rule:?}: unknown text transformation {name:?}")]
    UnknownTransformation {
        /// The rule holding the statement.
        rule: String,
        /// The transformation type as written.
        name: String,
    },
    /// The statement (or combination of settings) is valid in the model but not accepted in that position,
    /// e.g. a rule group reference nested inside `AndStatement`, or a rule without an action.
    #[error("rule {rule:?}: {reason}")]
    Unsupported {
        /// The rule holding the statement.
        rule: String,
        /// What is not supported.
        reason: String,
    },
    /// A rule group references itself, directly or through other groups.
    #[error("rule group {arn:?} is nested too deeply or references itself")]
    GroupNesting {
        /// The group ARN at which the nesting was detected.
        arn: String,
    },
}
