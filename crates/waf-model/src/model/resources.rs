//! The stand-alone resources statements reference: `IPSet` and `RegexPatternSet` \[model §1.2\].

use serde::{Deserialize, Serialize};

use super::wire::wire_enum;

/// `IPSet`: a named list of CIDR blocks of one address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpSet {
    /// `Name*`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Id*`.
    #[serde(rename = "Id")]
    pub id: String,
    /// `ARN*`.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// `Description`.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `IPAddressVersion*`.
    #[serde(rename = "IPAddressVersion")]
    pub ip_address_version: IpAddressVersion,
    /// `Addresses*`: CIDR strings (1–50 chars each); may be empty.
    #[serde(rename = "Addresses")]
    pub addresses: Vec<String>,
}

wire_enum! {
    /// `IPAddressVersion`.
    pub enum IpAddressVersion (IpAddressVersion) {
        /// IPv4.
        Ipv4 = "IPV4",
        /// IPv6.
        Ipv6 = "IPV6",
    }
}

/// `RegexPatternSet`: a named list of regular expressions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegexPatternSet {
    /// `Name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `ARN`.
    #[serde(rename = "ARN", skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `RegularExpressionList`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regular_expression_list: Option<Vec<Regex>>,
}

/// `Regex`: one pattern of a set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Regex {
    /// `RegexString` (1–512).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_string: Option<String>,
}
