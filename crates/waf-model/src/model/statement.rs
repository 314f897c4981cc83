//! `Statement`, the 16-member union that says what a rule looks for, and the leaf statements \[model §1.4\].

use serde::{Deserialize, Serialize};

use super::field::{
    FallbackBehavior, FieldToMatch, PreParseTextTransformation, TextTransformation,
};
use super::managed::{ManagedRuleGroupStatement, RuleGroupReferenceStatement};
use super::rate::RateBasedStatement;
use super::wire::{blob, wire_enum, wire_union};

wire_union! {
    /// `Statement`: exactly one of 16 members.
    pub enum Statement ("Statement", Statement) {
        /// `ByteMatchStatement`.
        ByteMatch(ByteMatchStatement) = "ByteMatchStatement",
        /// `SqliMatchStatement`.
        SqliMatch(SqliMatchStatement) = "SqliMatchStatement",
        /// `XssMatchStatement`.
        XssMatch(XssMatchStatement) = "XssMatchStatement",
        /// `SizeConstraintStatement`.
        SizeConstraint(SizeConstraintStatement) = "SizeConstraintStatement",
        /// `GeoMatchStatement`.
        GeoMatch(GeoMatchStatement) = "GeoMatchStatement",
        /// `RuleGroupReferenceStatement` (top level of a web ACL rule only).
        RuleGroupReference(RuleGroupReferenceStatement) = "RuleGroupReferenceStatement",
        /// `IPSetReferenceStatement`.
        IpSetReference(IpSetReferenceStatement) = "IPSetReferenceStatement",
        /// `RegexPatternSetReferenceStatement`.
        RegexPatternSetReference(RegexPatternSetReferenceStatement) = "RegexPatternSetReferenceStatement",
        /// `RateBasedStatement` (top level only).
        RateBased(Box<RateBasedStatement>) = "RateBasedStatement",
        /// `AndStatement`.
        And(AndStatement) = "AndStatement",
        /// `OrStatement`.
        Or(OrStatement) = "OrStatement",
        /// `NotStatement`.
        Not(NotStatement) = "NotStatement",
        /// `ManagedRuleGroupStatement` (top level of a web ACL rule only).
        ManagedRuleGroup(Box<ManagedRuleGroupStatement>) = "ManagedRuleGroupStatement",
        /// `LabelMatchStatement`.
        LabelMatch(LabelMatchStatement) = "LabelMatchStatement",
        /// `RegexMatchStatement`.
        RegexMatch(RegexMatchStatement) = "RegexMatchStatement",
        /// `AsnMatchStatement`.
        AsnMatch(AsnMatchStatement) = "AsnMatchStatement",
    }
}

/// `ByteMatchStatement`: a search string at a position in a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ByteMatchStatement {
    /// `SearchString*`: a blob (base64 on the wire), at most 200 bytes.
    #[serde(with = "blob")]
    pub search_string: Vec<u8>,
    /// `FieldToMatch*`.
    pub field_to_match: FieldToMatch,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations` (query-argument fields only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
    /// `PositionalConstraint*`.
    pub positional_constraint: PositionalConstraint,
}

wire_enum! {
    /// `PositionalConstraint`.
    pub enum PositionalConstraint (ByteMatchStatement) {
        /// The whole value equals the search string.
        Exactly = "EXACTLY",
        /// Prefix.
        StartsWith = "STARTS_WITH",
        /// Suffix.
        EndsWith = "ENDS_WITH",
        /// Substring.
        Contains = "CONTAINS",
        /// Substring bounded by non-word characters or the ends.
        ContainsWord = "CONTAINS_WORD",
    }
}

/// `SqliMatchStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqliMatchStatement {
    /// `FieldToMatch*`.
    pub field_to_match: FieldToMatch,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
    /// `SensitivityLevel` (AWS default `LOW`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity_level: Option<SensitivityLevel>,
}

wire_enum! {
    /// `SensitivityLevel`.
    pub enum SensitivityLevel (SqliMatchStatement) {
        /// Fewer false positives (default).
        Low = "LOW",
        /// Detects more attacks.
        High = "HIGH",
    }
}

/// `XssMatchStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XssMatchStatement {
    /// `FieldToMatch*`.
    pub field_to_match: FieldToMatch,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
}

/// `SizeConstraintStatement`: compares the byte length after transformations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SizeConstraintStatement {
    /// `FieldToMatch*`.
    pub field_to_match: FieldToMatch,
    /// `ComparisonOperator*`.
    pub comparison_operator: ComparisonOperator,
    /// `Size*` (0–21,474,836,480).
    pub size: i64,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
}

wire_enum! {
    /// `ComparisonOperator`.
    pub enum ComparisonOperator (SizeConstraintStatement) {
        /// `=`
        Eq = "EQ",
        /// `!=`
        Ne = "NE",
        /// `<=`
        Le = "LE",
        /// `<`
        Lt = "LT",
        /// `>=`
        Ge = "GE",
        /// `>`
        Gt = "GT",
    }
}

/// `GeoMatchStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeoMatchStatement {
    /// `CountryCodes` (≥1 ISO 3166 alpha-2 codes; see [`super::COUNTRY_CODES`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_codes: Option<Vec<String>>,
    /// `ForwardedIPConfig`.
    #[serde(rename = "ForwardedIPConfig", skip_serializing_if = "Option::is_none")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
}

/// `ForwardedIPConfig`: read the client address from a header instead of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardedIpConfig {
    /// `HeaderName*` (1–255, `^[a-zA-Z0-9-]+$`).
    pub header_name: String,
    /// `FallbackBehavior*`: the result when the header holds no valid address.
    pub fallback_behavior: FallbackBehavior,
}

/// `IPSetReferenceStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpSetReferenceStatement {
    /// `ARN*` of the IP set.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// `IPSetForwardedIPConfig`.
    #[serde(
        rename = "IPSetForwardedIPConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_set_forwarded_ip_config: Option<IpSetForwardedIpConfig>,
}

/// `IPSetForwardedIPConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpSetForwardedIpConfig {
    /// `HeaderName*`.
    pub header_name: String,
    /// `FallbackBehavior*`.
    pub fallback_behavior: FallbackBehavior,
    /// `Position*`: which address in the header to use.
    pub position: ForwardedIpPosition,
}

wire_enum! {
    /// `ForwardedIPPosition`.
    pub enum ForwardedIpPosition (Position) {
        /// The first address.
        First = "FIRST",
        /// The last address.
        Last = "LAST",
        /// Any address (the last 10 if more than 10).
        Any = "ANY",
    }
}

/// `RegexPatternSetReferenceStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegexPatternSetReferenceStatement {
    /// `ARN*` of the regex pattern set.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// `FieldToMatch*`.
    #[serde(rename = "FieldToMatch")]
    pub field_to_match: FieldToMatch,
    /// `TextTransformations*` (≥1).
    #[serde(rename = "TextTransformations")]
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations`.
    #[serde(
        rename = "PreParseTextTransformations",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
}

/// `RegexMatchStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegexMatchStatement {
    /// `RegexString*` (1–512).
    pub regex_string: String,
    /// `FieldToMatch*`.
    pub field_to_match: FieldToMatch,
    /// `TextTransformations*` (≥1).
    pub text_transformations: Vec<TextTransformation>,
    /// `PreParseTextTransformations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_parse_text_transformations: Option<Vec<PreParseTextTransformation>>,
}

/// `AndStatement`: all nested statements match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AndStatement {
    /// `Statements*` (at least two).
    pub statements: Vec<Statement>,
}

/// `OrStatement`: any nested statement matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrStatement {
    /// `Statements*` (at least two).
    pub statements: Vec<Statement>,
}

/// `NotStatement`: negates one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotStatement {
    /// `Statement*`.
    pub statement: Box<Statement>,
}

/// `LabelMatchStatement`: matches labels added by earlier rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelMatchStatement {
    /// `Scope*`.
    pub scope: LabelMatchScope,
    /// `Key*` (1–1,024, `^[0-9A-Za-z_\-:]+$`).
    pub key: String,
}

wire_enum! {
    /// `LabelMatchScope`.
    pub enum LabelMatchScope (LabelMatchStatement) {
        /// The key names a label (optionally with namespaces).
        Label = "LABEL",
        /// The key names a namespace.
        Namespace = "NAMESPACE",
    }
}

/// `AsnMatchStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsnMatchStatement {
    /// `AsnList*` (1–100 ASNs, 0–4,294,967,295).
    pub asn_list: Vec<i64>,
    /// `ForwardedIPConfig`.
    #[serde(rename = "ForwardedIPConfig", skip_serializing_if = "Option::is_none")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
}
