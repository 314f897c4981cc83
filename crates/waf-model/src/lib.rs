//! Sans-I/O: the AWS WAFv2 data model (web ACLs, rule groups, statements), parsed, validated and rendered
//! exactly as the AWS API does, with capacity (WCU) computation.
//!
//! * [`model`]: the types, one per model shape reachable from `WebACL`, `RuleGroup`, `IPSet` and
//!   `RegexPatternSet` (botocore wafv2 2019-07-29). Parse with `from_json`/`from_value` (or the generic
//!   [`parse_json`]/[`parse_value`]), render with `to_json` (or [`render`]).
//! * [`validate`]: the checks the API applies on create/update/`CheckCapacity`, returning the members of
//!   `WAFInvalidParameterException` ([`ValidationError`]).
//! * [`capacity`]: web ACL capacity units as `CheckCapacity` reports them.
//!
//! # Wire form
//!
//! Member names are the model's (`ARN`, `IPSetReferenceStatement`, `ForwardedIPConfig`, `JA3Fingerprint`,
//! `IPAddressVersion`, ...). Members the model marks required are plain fields, so a document missing one
//! does not parse; optional members are `Option` and are omitted on render, so `render(parse(x)) == x` for
//! every document made of model members (defaults such as `EvaluationWindowSec` 300 are never filled in).
//! Unions (`Statement`, `FieldToMatch`, `RuleAction`, ...) are Rust enums; members whose shape is empty
//! (`UriPath{}`, `None{}`, `IP{}`) are unit variants. Blobs (`SearchString`) are base64 on the wire and raw
//! bytes in memory; a non-canonical base64 input (no padding) is rejected rather than re-encoded.
//!
//! # Errors while parsing
//!
//! * Not JSON, wrong JSON type, missing required member, bad base64: [`ModelError::Serialization`], which the
//!   API renders as `SerializationException` like AWS JSON 1.1 services do.
//! * A union with none or several members, or a string outside an enum: [`ModelError::Invalid`] carrying
//!   the same [`ValidationError`] AWS returns (`EXACTLY_ONE_CONDITION_REQUIRED` → field `STATEMENT`,
//!   `FIELD_TO_MATCH`, ...; the enum's field for bad enum values).
//!
//! # Unknown members
//!
//! Members the model does not define are **ignored** (and therefore dropped on render). Reasons: Smithy's
//! AWS JSON protocols already require ignoring `__type` inside unions (smithy 1.38), SDKs newer than the
//! server routinely send members an older server does not know, and the WAFv2 error catalogue has no
//! reason for an unknown member \[unverified against the live service\]. A union whose only members are
//! unknown therefore has *no* member and fails as `EXACTLY_ONE_CONDITION_REQUIRED`. JSON `null` counts as
//! an absent member, as in the AWS JSON protocols.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod capacity;
pub mod error;
pub mod model;
pub mod validate;

pub use error::ModelError;
pub use model::*;
pub use validate::{ParameterExceptionField, ValidationError};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest document `from_json` accepts; bounds the memory one untrusted document can take.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

fn map_err(e: serde_json::Error) -> ModelError {
    match model::wire::take_pending() {
        Some(v) => ModelError::Invalid(v),
        None => ModelError::Serialization {
            message: e.to_string(),
        },
    }
}

/// Parse any model type from JSON bytes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ModelError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ModelError::TooLarge {
            len: bytes.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    model::wire::clear_pending();
    serde_json::from_slice(bytes).map_err(map_err)
}

/// Parse any model type from an already-decoded JSON value (e.g. one member of an API request).
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ModelError> {
    model::wire::clear_pending();
    serde_json::from_value(value).map_err(map_err)
}

/// Render any model type to its AWS JSON value.
pub fn render<T: Serialize>(value: &T) -> serde_json::Value {
    // Model types only have string map keys, so serialization cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

macro_rules! entry_points {
    ($($ty:ty),* $(,)?) => {$(
        impl $ty {
            /// Parse from AWS JSON bytes.
            pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
                parse_json(bytes)
            }
            /// Parse from a decoded JSON value.
            pub fn from_value(value: serde_json::Value) -> Result<Self, ModelError> {
                parse_value(value)
            }
            /// Render to the AWS JSON value.
            pub fn to_json(&self) -> serde_json::Value {
                render(self)
            }
        }
    )*};
}

entry_points!(
    WebAcl,
    RuleGroup,
    Rule,
    Statement,
    IpSet,
    RegexPatternSet,
    FieldToMatch,
    RuleAction,
    CreateWebAclRequest,
    UpdateWebAclRequest,
    CreateRuleGroupRequest,
    UpdateRuleGroupRequest,
    CreateIpSetRequest,
    UpdateIpSetRequest,
    CreateRegexPatternSetRequest,
    UpdateRegexPatternSetRequest,
    CheckCapacityRequest,
);
