//! Rule-group references: `ManagedRuleGroupStatement` (vendor groups, with their configuration shapes) and
//! `RuleGroupReferenceStatement` (the account's own groups) \[model §1.4, §1.9\].

use serde::{Deserialize, Serialize};

use super::action::RuleAction;
use super::resources::Regex;
use super::statement::Statement;
use super::wire::{Empty, wire_enum, wire_union};

/// `ManagedRuleGroupStatement`: runs a vendor's rule group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedRuleGroupStatement {
    /// `VendorName*` (e.g. `AWS`).
    pub vendor_name: String,
    /// `Name*` of the group.
    pub name: String,
    /// `Version` (1–64, `^[\w#:\.\-/]+$`); absent = the vendor's default version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `ExcludedRules` (≤100, deprecated): rules forced to Count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_rules: Option<Vec<ExcludedRule>>,
    /// `ScopeDownStatement`: only matching requests are evaluated by the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_down_statement: Option<Box<Statement>>,
    /// `ManagedRuleGroupConfigs`: vendor-specific settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_rule_group_configs: Option<Vec<ManagedRuleGroupConfig>>,
    /// `RuleActionOverrides` (≤100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_action_overrides: Option<Vec<RuleActionOverride>>,
}

/// `RuleGroupReferenceStatement`: runs one of the account's rule groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleGroupReferenceStatement {
    /// `ARN*` of the rule group.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// `ExcludedRules` (≤100, deprecated).
    #[serde(rename = "ExcludedRules", skip_serializing_if = "Option::is_none")]
    pub excluded_rules: Option<Vec<ExcludedRule>>,
    /// `RuleActionOverrides` (≤100).
    #[serde(
        rename = "RuleActionOverrides",
        skip_serializing_if = "Option::is_none"
    )]
    pub rule_action_overrides: Option<Vec<RuleActionOverride>>,
}

/// `ExcludedRule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExcludedRule {
    /// `Name*` of the rule inside the group.
    pub name: String,
}

/// `RuleActionOverride`: replaces the action of one rule inside a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleActionOverride {
    /// `Name*` of the rule inside the group (case-sensitive).
    pub name: String,
    /// `ActionToUse*`.
    pub action_to_use: RuleAction,
}

/// `ManagedRuleGroupConfig`: one configuration entry; AWS expects exactly one member set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedRuleGroupConfig {
    /// `LoginPath` (deprecated; use the ATP member).
    #[serde(rename = "LoginPath", skip_serializing_if = "Option::is_none")]
    pub login_path: Option<String>,
    /// `PayloadType` (deprecated).
    #[serde(rename = "PayloadType", skip_serializing_if = "Option::is_none")]
    pub payload_type: Option<PayloadType>,
    /// `UsernameField` (deprecated).
    #[serde(rename = "UsernameField", skip_serializing_if = "Option::is_none")]
    pub username_field: Option<FieldIdentifier>,
    /// `PasswordField` (deprecated).
    #[serde(rename = "PasswordField", skip_serializing_if = "Option::is_none")]
    pub password_field: Option<FieldIdentifier>,
    /// `AWSManagedRulesBotControlRuleSet`.
    #[serde(
        rename = "AWSManagedRulesBotControlRuleSet",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_managed_rules_bot_control_rule_set: Option<BotControlRuleSet>,
    /// `AWSManagedRulesATPRuleSet`.
    #[serde(
        rename = "AWSManagedRulesATPRuleSet",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_managed_rules_atp_rule_set: Option<AtpRuleSet>,
    /// `AWSManagedRulesACFPRuleSet`.
    #[serde(
        rename = "AWSManagedRulesACFPRuleSet",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_managed_rules_acfp_rule_set: Option<AcfpRuleSet>,
    /// `AWSManagedRulesAntiDDoSRuleSet`.
    #[serde(
        rename = "AWSManagedRulesAntiDDoSRuleSet",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_managed_rules_anti_ddos_rule_set: Option<AntiDdosRuleSet>,
    /// `AWSManagedRulesAISecurityRuleSet`.
    #[serde(
        rename = "AWSManagedRulesAISecurityRuleSet",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_managed_rules_ai_security_rule_set: Option<AiSecurityRuleSet>,
}

impl ManagedRuleGroupConfig {
    /// How many members are set (AWS requires exactly one).
    pub fn members_set(&self) -> usize {
        [
            self.login_path.is_some(),
            self.payload_type.is_some(),
            self.username_field.is_some(),
            self.password_field.is_some(),
            self.aws_managed_rules_bot_control_rule_set.is_some(),
            self.aws_managed_rules_atp_rule_set.is_some(),
            self.aws_managed_rules_acfp_rule_set.is_some(),
            self.aws_managed_rules_anti_ddos_rule_set.is_some(),
            self.aws_managed_rules_ai_security_rule_set.is_some(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }
}

/// `UsernameField`, `PasswordField`, `EmailField`, `PhoneNumberField`, `AddressField`: `{Identifier*}`, a JSON
/// pointer or form field name (1–512).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldIdentifier {
    /// `Identifier*`.
    pub identifier: String,
}

wire_enum! {
    /// `PayloadType`.
    pub enum PayloadType (PayloadType) {
        /// JSON body.
        Json = "JSON",
        /// `application/x-www-form-urlencoded` body.
        FormEncoded = "FORM_ENCODED",
    }
}

/// `AWSManagedRulesBotControlRuleSet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BotControlRuleSet {
    /// `InspectionLevel*`.
    pub inspection_level: InspectionLevel,
    /// `EnableMachineLearning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_machine_learning: Option<bool>,
}

wire_enum! {
    /// `InspectionLevel`.
    pub enum InspectionLevel (ManagedRuleGroupConfig) {
        /// Common bots.
        Common = "COMMON",
        /// Targeted bots too.
        Targeted = "TARGETED",
    }
}

/// `AWSManagedRulesATPRuleSet` (account takeover prevention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AtpRuleSet {
    /// `LoginPath*`.
    pub login_path: String,
    /// `RequestInspection`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_inspection: Option<RequestInspection>,
    /// `ResponseInspection` (CloudFront only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_inspection: Option<ResponseInspection>,
    /// `EnableRegexInPath`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_regex_in_path: Option<bool>,
}

/// `RequestInspection` (ATP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestInspection {
    /// `PayloadType*`.
    pub payload_type: PayloadType,
    /// `UsernameField*`.
    pub username_field: FieldIdentifier,
    /// `PasswordField*`.
    pub password_field: FieldIdentifier,
}

/// `AWSManagedRulesACFPRuleSet` (account creation fraud prevention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AcfpRuleSet {
    /// `CreationPath*`.
    pub creation_path: String,
    /// `RegistrationPagePath*`.
    pub registration_page_path: String,
    /// `RequestInspection*`.
    pub request_inspection: RequestInspectionAcfp,
    /// `ResponseInspection`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_inspection: Option<ResponseInspection>,
    /// `EnableRegexInPath`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_regex_in_path: Option<bool>,
}

/// `RequestInspectionACFP`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestInspectionAcfp {
    /// `PayloadType*`.
    pub payload_type: PayloadType,
    /// `UsernameField`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_field: Option<FieldIdentifier>,
    /// `PasswordField`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_field: Option<FieldIdentifier>,
    /// `EmailField`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_field: Option<FieldIdentifier>,
    /// `PhoneNumberFields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_fields: Option<Vec<FieldIdentifier>>,
    /// `AddressFields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_fields: Option<Vec<FieldIdentifier>>,
}

/// `ResponseInspection`: how ATP/ACFP recognise success and failure (one member expected).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseInspection {
    /// `StatusCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<ResponseInspectionStatusCode>,
    /// `Header`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<ResponseInspectionHeader>,
    /// `BodyContains`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<ResponseInspectionBodyContains>,
    /// `Json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<ResponseInspectionJson>,
}

/// `ResponseInspectionStatusCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseInspectionStatusCode {
    /// `SuccessCodes*` (1–10 codes, 0–999).
    pub success_codes: Vec<i64>,
    /// `FailureCodes*` (1–10 codes, 0–999).
    pub failure_codes: Vec<i64>,
}

/// `ResponseInspectionHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseInspectionHeader {
    /// `Name*` (1–200).
    pub name: String,
    /// `SuccessValues*` (1–3).
    pub success_values: Vec<String>,
    /// `FailureValues*` (1–3).
    pub failure_values: Vec<String>,
}

/// `ResponseInspectionBodyContains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseInspectionBodyContains {
    /// `SuccessStrings*` (1–5).
    pub success_strings: Vec<String>,
    /// `FailureStrings*` (1–5).
    pub failure_strings: Vec<String>,
}

/// `ResponseInspectionJson`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseInspectionJson {
    /// `Identifier*` (JSON pointer).
    pub identifier: String,
    /// `SuccessValues*` (1–5).
    pub success_values: Vec<String>,
    /// `FailureValues*` (1–5).
    pub failure_values: Vec<String>,
}

/// `AWSManagedRulesAntiDDoSRuleSet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AntiDdosRuleSet {
    /// `ClientSideActionConfig*`.
    pub client_side_action_config: ClientSideActionConfig,
    /// `SensitivityToBlock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity_to_block: Option<SensitivityToAct>,
}

/// `ClientSideActionConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientSideActionConfig {
    /// `Challenge*`.
    pub challenge: ClientSideAction,
}

/// `ClientSideAction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientSideAction {
    /// `UsageOfAction*`.
    pub usage_of_action: UsageOfAction,
    /// `Sensitivity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<SensitivityToAct>,
    /// `ExemptUriRegularExpressions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt_uri_regular_expressions: Option<Vec<Regex>>,
}

wire_enum! {
    /// `UsageOfAction`.
    pub enum UsageOfAction (ManagedRuleGroupConfig) {
        /// Enabled.
        Enabled = "ENABLED",
        /// Disabled.
        Disabled = "DISABLED",
    }
}

wire_enum! {
    /// `SensitivityToAct`.
    pub enum SensitivityToAct (ManagedRuleGroupConfig) {
        /// Low.
        Low = "LOW",
        /// Medium.
        Medium = "MEDIUM",
        /// High.
        High = "HIGH",
    }
}

/// `AWSManagedRulesAISecurityRuleSet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AiSecurityRuleSet {
    /// `BedrockGuardrails*`.
    pub bedrock_guardrails: BedrockGuardrails,
}

wire_union! {
    /// `BedrockGuardrails`.
    pub enum BedrockGuardrails ("BedrockGuardrails", BedrockGuardrails) {
        /// `ProtectRequestOnly{RoleArn*}`.
        ProtectRequestOnly(BedrockGuardrailsRole) = "ProtectRequestOnly",
        /// `ProtectRequestAndResponse{RoleArn*}`.
        ProtectRequestAndResponse(BedrockGuardrailsRole) = "ProtectRequestAndResponse",
    }
    units {
        /// `Disable{}`.
        Disable = "Disable",
    }
}

/// `BedrockGuardrailsRequestOnly` / `BedrockGuardrailsRequestAndResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BedrockGuardrailsRole {
    /// `RoleArn*` (IAM role ARN).
    pub role_arn: String,
}

/// `DisableBedrockGuardrails` (`{}`).
pub type DisableBedrockGuardrails = Empty;
