//! `WebACL`, `RuleGroup` and `Rule`, with the settings they carry directly \[model §1.2–1.3\].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::action::{CustomResponseBody, DefaultAction, OverrideAction, RuleAction};
use super::config::{
    AnalyticsConfig, ApplicationConfig, DataProtectionConfig, FirewallManagerRuleGroup,
    MonetizationConfig, OnSourceDdosProtectionConfig,
};
use super::statement::Statement;
use super::wire::{Empty, wire_enum};

/// `WebACL`: prioritised rules plus a default action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAcl {
    /// `Name*` (EntityName).
    #[serde(rename = "Name")]
    pub name: String,
    /// `Id*` (lowercase UUID).
    #[serde(rename = "Id")]
    pub id: String,
    /// `ARN*`.
    #[serde(rename = "ARN")]
    pub arn: String,
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
    /// `Capacity` (read-only: consumed WCU).
    #[serde(rename = "Capacity", skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    /// `PreProcessFirewallManagerRuleGroups` (read-only).
    #[serde(
        rename = "PreProcessFirewallManagerRuleGroups",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_process_firewall_manager_rule_groups: Option<Vec<FirewallManagerRuleGroup>>,
    /// `PostProcessFirewallManagerRuleGroups` (read-only).
    #[serde(
        rename = "PostProcessFirewallManagerRuleGroups",
        skip_serializing_if = "Option::is_none"
    )]
    pub post_process_firewall_manager_rule_groups: Option<Vec<FirewallManagerRuleGroup>>,
    /// `ManagedByFirewallManager` (read-only).
    #[serde(
        rename = "ManagedByFirewallManager",
        skip_serializing_if = "Option::is_none"
    )]
    pub managed_by_firewall_manager: Option<bool>,
    /// `LabelNamespace` (read-only: `awswaf:<account>:webacl:<name>:`).
    #[serde(rename = "LabelNamespace", skip_serializing_if = "Option::is_none")]
    pub label_namespace: Option<String>,
    /// `CustomResponseBodies`: key (EntityName) → body.
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
    /// `RetrofittedByFirewallManager` (read-only).
    #[serde(
        rename = "RetrofittedByFirewallManager",
        skip_serializing_if = "Option::is_none"
    )]
    pub retrofitted_by_firewall_manager: Option<bool>,
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

impl WebAcl {
    /// The rules (empty when `Rules` is absent).
    pub fn rules(&self) -> &[Rule] {
        self.rules.as_deref().unwrap_or(&[])
    }
}

/// `RuleGroup`: a reusable, capacity-bounded list of rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// `Name*`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `Id*`.
    #[serde(rename = "Id")]
    pub id: String,
    /// `Capacity*` (≥1, fixed at creation).
    #[serde(rename = "Capacity")]
    pub capacity: i64,
    /// `ARN*`.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// `Description`.
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Rules`.
    #[serde(rename = "Rules", skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// `VisibilityConfig*`.
    #[serde(rename = "VisibilityConfig")]
    pub visibility_config: VisibilityConfig,
    /// `LabelNamespace` (read-only: `awswaf:<account>:rulegroup:<name>:`).
    #[serde(rename = "LabelNamespace", skip_serializing_if = "Option::is_none")]
    pub label_namespace: Option<String>,
    /// `CustomResponseBodies`.
    #[serde(
        rename = "CustomResponseBodies",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_response_bodies: Option<BTreeMap<String, CustomResponseBody>>,
    /// `AvailableLabels` (read-only).
    #[serde(rename = "AvailableLabels", skip_serializing_if = "Option::is_none")]
    pub available_labels: Option<Vec<LabelSummary>>,
    /// `ConsumedLabels` (read-only).
    #[serde(rename = "ConsumedLabels", skip_serializing_if = "Option::is_none")]
    pub consumed_labels: Option<Vec<LabelSummary>>,
    /// `MonetizationConfig`.
    #[serde(rename = "MonetizationConfig", skip_serializing_if = "Option::is_none")]
    pub monetization_config: Option<MonetizationConfig>,
}

impl RuleGroup {
    /// The rules (empty when `Rules` is absent).
    pub fn rules(&self) -> &[Rule] {
        self.rules.as_deref().unwrap_or(&[])
    }
}

/// `Rule`: one statement plus what to do when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// `Name*`.
    pub name: String,
    /// `Priority*` (≥0, unique; lower runs first).
    pub priority: i64,
    /// `Statement*`.
    pub statement: Statement,
    /// `Action`: for rules whose statement is not a rule-group reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// `OverrideAction`: only for rule-group references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_action: Option<OverrideAction>,
    /// `RuleLabels`: added (namespaced) when the rule matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_labels: Option<Vec<Label>>,
    /// `VisibilityConfig*`.
    pub visibility_config: VisibilityConfig,
    /// `CaptchaConfig`: overrides the ACL setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha_config: Option<CaptchaConfig>,
    /// `ChallengeConfig`: overrides the ACL setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_config: Option<ChallengeConfig>,
}

/// `VisibilityConfig`: metrics and sampling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VisibilityConfig {
    /// `SampledRequestsEnabled*`.
    pub sampled_requests_enabled: bool,
    /// `CloudWatchMetricsEnabled*`.
    pub cloud_watch_metrics_enabled: bool,
    /// `MetricName*` (1–255, `^[\w#:\.\-/]+$`).
    pub metric_name: String,
}

/// `Label`: a rule label (`RuleLabels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Label {
    /// `Name*` (1–1,024, `^[0-9A-Za-z_\-:]+$`).
    pub name: String,
}

/// `LabelSummary` (`AvailableLabels`, `ConsumedLabels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelSummary {
    /// `Name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `CaptchaConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaptchaConfig {
    /// `ImmunityTimeProperty` (AWS default 300 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immunity_time_property: Option<ImmunityTimeProperty>,
}

/// `ChallengeConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChallengeConfig {
    /// `ImmunityTimeProperty` (AWS default 300 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immunity_time_property: Option<ImmunityTimeProperty>,
}

/// `ImmunityTimeProperty`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImmunityTimeProperty {
    /// `ImmunityTime*` (60–259,200 seconds).
    pub immunity_time: i64,
}

/// AWS's default token immunity time, seconds.
pub const DEFAULT_IMMUNITY_TIME_SEC: i64 = 300;

/// `AssociationConfig`: per-resource-type body inspection limits and SDK injection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociationConfig {
    /// `RequestBody`: resource type → inspection limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body:
        Option<BTreeMap<AssociatedResourceType, RequestBodyAssociatedResourceTypeConfig>>,
    /// `ChallengeJavascriptSdkInjection` (CloudFront only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_javascript_sdk_injection: Option<BTreeMap<AssociatedResourceType, Empty>>,
}

/// `RequestBodyAssociatedResourceTypeConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestBodyAssociatedResourceTypeConfig {
    /// `DefaultSizeInspectionLimit*`.
    pub default_size_inspection_limit: SizeInspectionLimit,
}

wire_enum! {
    /// `AssociatedResourceType`.
    pub enum AssociatedResourceType (AssociatedResourceType) {
        /// CloudFront distribution.
        Cloudfront = "CLOUDFRONT",
        /// API Gateway stage.
        ApiGateway = "API_GATEWAY",
        /// Cognito user pool.
        CognitoUserPool = "COGNITO_USER_POOL",
        /// App Runner service.
        AppRunnerService = "APP_RUNNER_SERVICE",
        /// Verified Access instance.
        VerifiedAccessInstance = "VERIFIED_ACCESS_INSTANCE",
        /// AgentCore gateway.
        AgentcoreGateway = "AGENTCORE_GATEWAY",
        /// Application Load Balancer.
        ApplicationLoadBalancer = "APPLICATION_LOAD_BALANCER",
    }
}

wire_enum! {
    /// `SizeInspectionLimit`.
    pub enum SizeInspectionLimit (AssociatedResourceType) {
        /// 8 KB (ALB only).
        Kb8 = "KB_8",
        /// 16 KB.
        Kb16 = "KB_16",
        /// 32 KB.
        Kb32 = "KB_32",
        /// 48 KB.
        Kb48 = "KB_48",
        /// 64 KB.
        Kb64 = "KB_64",
    }
}

impl SizeInspectionLimit {
    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        match self {
            SizeInspectionLimit::Kb8 => 8 * 1024,
            SizeInspectionLimit::Kb16 => 16 * 1024,
            SizeInspectionLimit::Kb32 => 32 * 1024,
            SizeInspectionLimit::Kb48 => 48 * 1024,
            SizeInspectionLimit::Kb64 => 64 * 1024,
        }
    }
}

wire_enum! {
    /// `Scope`: which kind of resource a web ACL, rule group or set is for.
    pub enum Scope (ScopeValue) {
        /// CloudFront distributions (region `us-east-1` at AWS).
        Cloudfront = "CLOUDFRONT",
        /// Regional resources (ALB, API Gateway, ...).
        Regional = "REGIONAL",
    }
}
