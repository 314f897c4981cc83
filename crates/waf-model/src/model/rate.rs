//! Rate-based statements and their aggregation keys \[model §1.11\].

use serde::{Deserialize, Serialize};

use super::field::{FallbackBehavior, TextTransformation};
use super::statement::{ForwardedIpConfig, Statement};
use super::wire::{wire_enum, wire_union};

/// `RateBasedStatement`: counts requests per aggregation instance and acts above `Limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateBasedStatement {
    /// `Limit*` (10–2,000,000,000 requests per window).
    pub limit: i64,
    /// `EvaluationWindowSec` ∈ 60, 120, 300 (AWS default), 600.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_window_sec: Option<i64>,
    /// `AggregateKeyType*`.
    pub aggregate_key_type: AggregateKeyType,
    /// `ScopeDownStatement`: only matching requests are counted (required for `CONSTANT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_down_statement: Option<Box<Statement>>,
    /// `ForwardedIPConfig` (required for `FORWARDED_IP`).
    #[serde(rename = "ForwardedIPConfig", skip_serializing_if = "Option::is_none")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
    /// `CustomKeys` (1–5, required for and only with `CUSTOM_KEYS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_keys: Option<Vec<RateBasedStatementCustomKey>>,
}

impl RateBasedStatement {
    /// AWS's default evaluation window in seconds.
    pub const DEFAULT_EVALUATION_WINDOW_SEC: i64 = 300;
    /// The evaluation windows AWS accepts.
    pub const EVALUATION_WINDOWS: [i64; 4] = [60, 120, 300, 600];

    /// The evaluation window, with AWS's default applied.
    pub fn window_sec(&self) -> i64 {
        self.evaluation_window_sec
            .unwrap_or(Self::DEFAULT_EVALUATION_WINDOW_SEC)
    }
}

wire_enum! {
    /// `RateBasedStatementAggregateKeyType`.
    pub enum AggregateKeyType (RateBasedStatement) {
        /// The source address.
        Ip = "IP",
        /// The first address in `ForwardedIPConfig.HeaderName`.
        ForwardedIp = "FORWARDED_IP",
        /// The tuple of `CustomKeys`.
        CustomKeys = "CUSTOM_KEYS",
        /// One counter for everything matching the scope-down statement.
        Constant = "CONSTANT",
    }
}

wire_union! {
    /// `RateBasedStatementCustomKey`: one component of a custom aggregation key.
    pub enum RateBasedStatementCustomKey ("RateBasedStatementCustomKey", CustomKeys) {
        /// `Header`.
        Header(RateLimitHeader) = "Header",
        /// `Cookie`.
        Cookie(RateLimitCookie) = "Cookie",
        /// `QueryArgument`.
        QueryArgument(RateLimitQueryArgument) = "QueryArgument",
        /// `QueryString`.
        QueryString(RateLimitQueryString) = "QueryString",
        /// `LabelNamespace`.
        LabelNamespace(RateLimitLabelNamespace) = "LabelNamespace",
        /// `UriPath`.
        UriPath(RateLimitUriPath) = "UriPath",
        /// `JA3Fingerprint`.
        Ja3Fingerprint(RateLimitJa3Fingerprint) = "JA3Fingerprint",
        /// `JA4Fingerprint`.
        Ja4Fingerprint(RateLimitJa4Fingerprint) = "JA4Fingerprint",
    }
    units {
        /// `HTTPMethod{}`.
        HttpMethod = "HTTPMethod",
        /// `ForwardedIP{}` (the first address of the ACL's forwarded-IP header).
        ForwardedIp = "ForwardedIP",
        /// `IP{}`.
        Ip = "IP",
        /// `ASN{}`.
        Asn = "ASN",
    }
}

/// `RateLimitHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitHeader {
    /// `Name*` (1–64).
    pub name: String,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
}

/// `RateLimitCookie`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitCookie {
    /// `Name*` (1–64).
    pub name: String,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
}

/// `RateLimitQueryArgument`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitQueryArgument {
    /// `Name*` (1–64).
    pub name: String,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
}

/// `RateLimitQueryString`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitQueryString {
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
}

/// `RateLimitUriPath`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitUriPath {
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
}

/// `RateLimitLabelNamespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitLabelNamespace {
    /// `Namespace*` (1–1,024, `^[0-9A-Za-z_\-:]+:$`).
    pub namespace: String,
}

/// `RateLimitJA3Fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitJa3Fingerprint {
    /// `FallbackBehavior*`.
    pub fallback_behavior: FallbackBehavior,
}

/// `RateLimitJA4Fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateLimitJa4Fingerprint {
    /// `FallbackBehavior*`.
    pub fallback_behavior: FallbackBehavior,
}
