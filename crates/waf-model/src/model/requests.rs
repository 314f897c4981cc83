//! The request shapes of the write operations (`CreateWebACL`, `UpdateWebACL`, `CreateRuleGroup`,
//! `UpdateRuleGroup`, `CreateIPSet`, `UpdateIPSet`, `CreateRegexPatternSet`, `UpdateRegexPatternSet`,
//! `CheckCapacity`), with conversions into the stored documents. AWS update operations replace the whole
//! mutable specification, so `apply_to` overwrites every mutable member, absent ones included.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::acl::{
    AssociationConfig, CaptchaConfig, ChallengeConfig, Rule, RuleGroup, Scope, VisibilityConfig,
    WebAcl,
};
use super::action::{CustomResponseBody, DefaultAction};
use super::config::{
    AnalyticsConfig, ApplicationConfig, DataProtectionConfig, MonetizationConfig,
    OnSourceDdosProtectionConfig,
};
use super::resources::{IpAddressVersion, IpSet, Regex, RegexPatternSet};

/// `Tag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// `Key*` (1–128).
    pub key: String,
    /// `Value*` (0–256).
    pub value: String,
}

/// `CreateWebACLRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWebAclRequest {
    /// `Name*`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Scope*`.
    #[serde(rename = "Scope")]
    pub scope: Scope,
    /// `DefaultAction*`.
    #[serde(rename = "DefaultAction")]
    pub default_action: DefaultAction,
    /// `Description`.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Rules`.
    #[serde(rename = "Rules", skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// `VisibilityConfig*`.
    #[serde(rename = "VisibilityConfig")]
    pub visibility_config: VisibilityConfig,
    /// `DataProtectionConfig`.
    #[serde(
        rename = "DataProtectionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_protection_config: Option<DataProtectionConfig>,
    /// `Tags` (≥1).
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// `CustomResponseBodies`.
    #[serde(
        rename = "CustomResponseBodies",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_response_bodies: Option<BTreeMap<String, CustomResponseBody>>,
    /// `CaptchaConfig`.
    #[serde(rename = "CaptchaConfig", skip_serializing_if = "Option::is_none")]
    pub captcha_config: Option<CaptchaConfig>,
    /// `ChallengeConfig`.
    #[serde(rename = "ChallengeConfig", skip_serializing_if = "Option::is_none")]
    pub challenge_config: Option<ChallengeConfig>,
    /// `TokenDomains`.
    #[serde(rename = "TokenDomains", skip_serializing_if = "Option::is_none")]
    pub token_domains: Option<Vec<String>>,
    /// `AssociationConfig`.
    #[serde(rename = "AssociationConfig", skip_serializing_if = "Option::is_none")]
    pub association_config: Option<AssociationConfig>,
    /// `OnSourceDDoSProtectionConfig`.
    #[serde(
        rename = "OnSourceDDoSProtectionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_source_ddos_protection_config: Option<OnSourceDdosProtectionConfig>,
    /// `ApplicationConfig`.
    #[serde(rename = "ApplicationConfig", skip_serializing_if = "Option::is_none")]
    pub application_config: Option<ApplicationConfig>,
    /// `MonetizationConfig`.
    #[serde(rename = "MonetizationConfig", skip_serializing_if = "Option::is_none")]
    pub monetization_config: Option<MonetizationConfig>,
    /// `AnalyticsConfig`.
    #[serde(rename = "AnalyticsConfig", skip_serializing_if = "Option::is_none")]
    pub analytics_config: Option<AnalyticsConfig>,
}

impl CreateWebAclRequest {
    /// The stored web ACL: the request's members plus the server-assigned `Id`, `ARN`, `LabelNamespace`
    /// and consumed `Capacity`.
    pub fn into_web_acl(
        self,
        id: String,
        arn: String,
        label_namespace: String,
        capacity: i64,
    ) -> WebAcl {
        WebAcl {
            name: self.name,
            id,
            arn,
            default_action: self.default_action,
            description: self.description,
            rules: self.rules,
            visibility_config: self.visibility_config,
            data_protection_config: self.data_protection_config,
            capacity: Some(capacity),
            pre_process_firewall_manager_rule_groups: None,
            post_process_firewall_manager_rule_groups: None,
            managed_by_firewall_manager: Some(false),
            label_namespace: Some(label_namespace),
            custom_response_bodies: self.custom_response_bodies,
            captcha_config: self.captcha_config,
            challenge_config: self.challenge_config,
            token_domains: self.token_domains,
            association_config: self.association_config,
            retrofitted_by_firewall_manager: None,
            on_source_ddos_protection_config: self.on_source_ddos_protection_config,
            application_config: self.application_config,
            monetization_config: self.monetization_config,
            analytics_config: self.analytics_config,
        }
    }
}

/// `UpdateWebACLRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateWebAclRequest {
    /// `Name*`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Scope*`.
    #[serde(rename = "Scope")]
    pub scope: Scope,
    /// `Id*`.
    #[serde(rename = "Id")]
    pub id: String,
    /// `DefaultAction*`.
    #[serde(rename = "DefaultAction")]
    pub default_action: DefaultAction,
    /// `Description`.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Rules`.
    #[serde(rename = "Rules", skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// `VisibilityConfig*`.
    #[serde(rename = "VisibilityConfig")]
    pub visibility_config: VisibilityConfig,
    /// `DataProtectionConfig`.
    #[serde(
        rename = "DataProtectionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_protection_config: Option<DataProtectionConfig>,
    /// `LockToken*`.
    #[serde(rename = "LockToken")]
    pub lock_token: String,
    /// `CustomResponseBodies`.
    #[serde(
        rename = "CustomResponseBodies",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_response_bodies: Option<BTreeMap<String, CustomResponseBody>>,
    /// `CaptchaConfig`.
    #[serde(rename = "CaptchaConfig", skip_serializing_if = "Option::is_none")]
    pub captcha_config: Option<CaptchaConfig>,
    /// `ChallengeConfig`.
    #[serde(rename = "ChallengeConfig", skip_serializing_if = "Option::is_none")]
    pub challenge_config: Option<ChallengeConfig>,
    /// `TokenDomains`.
    #[serde(rename = "TokenDomains", skip_serializing_if = "Option::is_none")]
    pub token_domains: Option<Vec<String>>,
    /// `AssociationConfig`.
    #[serde(rename = "AssociationConfig", skip_serializing_if = "Option::is_none")]
    pub association_config: Option<AssociationConfig>,
    /// `OnSourceDDoSProtectionConfig`.
    #[serde(
        rename = "OnSourceDDoSProtectionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_source_ddos_protection_config: Option<OnSourceDdosProtectionConfig>,
    /// `ApplicationConfig`.
    #[serde(rename = "ApplicationConfig", skip_serializing_if = "Option::is_none")]
    pub application_config: Option<ApplicationConfig>,
    /// `MonetizationConfig`.
    #[serde(rename = "MonetizationConfig", skip_serializing_if = "Option::is_none")]
    pub monetization_config: Option<MonetizationConfig>,
    /// `AnalyticsConfig`.
    #[serde(rename = "AnalyticsConfig", skip_serializing_if = "Option::is_none")]
    pub analytics_config: Option<AnalyticsConfig>,
}

impl UpdateWebAclRequest {
    /// Replace the mutable specification of `acl` (everything except name, id, ARN, namespace and
    /// Firewall Manager members) and record the new consumed capacity.
    pub fn apply_to(self, acl: &mut WebAcl, capacity: i64) {
        acl.default_action = self.default_action;
        acl.description = self.description;
        acl.rules = self.rules;
        acl.visibility_config = self.visibility_config;
        acl.data_protection_config = self.data_protection_config;
        acl.custom_response_bodies = self.custom_response_bodies;
        acl.captcha_config = self.captcha_config;
        acl.challenge_config = self.challenge_config;
        acl.token_domains = self.token_domains;
        acl.association_config = self.association_config;
        acl.on_source_ddos_protection_config = self.on_source_ddos_protection_config;
        acl.application_config = self.application_config;
        acl.monetization_config = self.monetization_config;
        acl.analytics_config = self.analytics_config;
        acl.capacity = Some(capacity);
    }
}

/// `CreateRuleGroupRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRuleGroupRequest {
    /// `Name*`.
    pub name: String,
    /// `Scope*`.
    pub scope: Scope,
    /// `Capacity*` (≥1, fixed for the group's life).
    pub capacity: i64,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// `VisibilityConfig*`.
    pub visibility_config: VisibilityConfig,
    /// `Tags`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// `CustomResponseBodies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_response_bodies: Option<BTreeMap<String, CustomResponseBody>>,
    /// `MonetizationConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monetization_config: Option<MonetizationConfig>,
}

impl CreateRuleGroupRequest {
    /// The stored rule group with its server-assigned `Id`, `ARN` and `LabelNamespace`.
    pub fn into_rule_group(self, id: String, arn: String, label_namespace: String) -> RuleGroup {
        RuleGroup {
            name: self.name,
            id,
            capacity: self.capacity,
            arn,
            description: self.description,
            rules: self.rules,
            visibility_config: self.visibility_config,
            label_namespace: Some(label_namespace),
            custom_response_bodies: self.custom_response_bodies,
            available_labels: None,
            consumed_labels: None,
            monetization_config: self.monetization_config,
        }
    }
}

/// `UpdateRuleGroupRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRuleGroupRequest {
    /// `Name*`.
    pub name: String,
    /// `Scope*`.
    pub scope: Scope,
    /// `Id*`.
    pub id: String,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// `VisibilityConfig*`.
    pub visibility_config: VisibilityConfig,
    /// `LockToken*`.
    pub lock_token: String,
    /// `CustomResponseBodies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_response_bodies: Option<BTreeMap<String, CustomResponseBody>>,
    /// `MonetizationConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monetization_config: Option<MonetizationConfig>,
}

impl UpdateRuleGroupRequest {
    /// Replace the mutable specification of `group` (its capacity stays as created).
    pub fn apply_to(self, group: &mut RuleGroup) {
        group.description = self.description;
        group.rules = self.rules;
        group.visibility_config = self.visibility_config;
        group.custom_response_bodies = self.custom_response_bodies;
        group.monetization_config = self.monetization_config;
    }
}

/// `CreateIPSetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIpSetRequest {
    /// `Name*`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Scope*`.
    #[serde(rename = "Scope")]
    pub scope: Scope,
    /// `Description`.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `IPAddressVersion*`.
    #[serde(rename = "IPAddressVersion")]
    pub ip_address_version: IpAddressVersion,
    /// `Addresses*`.
    #[serde(rename = "Addresses")]
    pub addresses: Vec<String>,
    /// `Tags`.
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

impl CreateIpSetRequest {
    /// The stored IP set with its server-assigned `Id` and `ARN`.
    pub fn into_ip_set(self, id: String, arn: String) -> IpSet {
        IpSet {
            name: self.name,
            id,
            arn,
            description: self.description,
            ip_address_version: self.ip_address_version,
            addresses: self.addresses,
        }
    }
}

/// `UpdateIPSetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateIpSetRequest {
    /// `Name*`.
    pub name: String,
    /// `Scope*`.
    pub scope: Scope,
    /// `Id*`.
    pub id: String,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Addresses*` (replaces the whole list).
    pub addresses: Vec<String>,
    /// `LockToken*`.
    pub lock_token: String,
}

impl UpdateIpSetRequest {
    /// Replace the description and addresses of `set`.
    pub fn apply_to(self, set: &mut IpSet) {
        set.description = self.description;
        set.addresses = self.addresses;
    }
}

/// `CreateRegexPatternSetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRegexPatternSetRequest {
    /// `Name*`.
    pub name: String,
    /// `Scope*`.
    pub scope: Scope,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `RegularExpressionList*`.
    pub regular_expression_list: Vec<Regex>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

impl CreateRegexPatternSetRequest {
    /// The stored pattern set with its server-assigned `Id` and `ARN`.
    pub fn into_regex_pattern_set(self, id: String, arn: String) -> RegexPatternSet {
        RegexPatternSet {
            name: Some(self.name),
            id: Some(id),
            arn: Some(arn),
            description: self.description,
            regular_expression_list: Some(self.regular_expression_list),
        }
    }
}

/// `UpdateRegexPatternSetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRegexPatternSetRequest {
    /// `Name*`.
    pub name: String,
    /// `Scope*`.
    pub scope: Scope,
    /// `Id*`.
    pub id: String,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `RegularExpressionList*`.
    pub regular_expression_list: Vec<Regex>,
    /// `LockToken*`.
    pub lock_token: String,
}

impl UpdateRegexPatternSetRequest {
    /// Replace the description and patterns of `set`.
    pub fn apply_to(self, set: &mut RegexPatternSet) {
        set.description = self.description;
        set.regular_expression_list = Some(self.regular_expression_list);
    }
}

/// `CheckCapacityRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckCapacityRequest {
    /// `Scope*`.
    pub scope: Scope,
    /// `Rules*`.
    pub rules: Vec<Rule>,
}
