//! Secondary web ACL settings: data protection, Firewall Manager groups, on-source DDoS protection,
//! application attributes, monetization and analytics \[model §1.2\].

use serde::{Deserialize, Serialize};

use super::acl::VisibilityConfig;
use super::action::OverrideAction;
use super::managed::{ManagedRuleGroupStatement, RuleGroupReferenceStatement};
use super::wire::{wire_enum, wire_union};

/// `DataProtectionConfig`: redaction/hashing of fields in logs and sampled requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataProtectionConfig {
    /// `DataProtections*` (1–26).
    pub data_protections: Vec<DataProtection>,
}

/// `DataProtection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataProtection {
    /// `Field*`.
    pub field: FieldToProtect,
    /// `Action*`.
    pub action: DataProtectionAction,
    /// `ExcludeRuleMatchDetails`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_rule_match_details: Option<bool>,
    /// `ExcludeRateBasedDetails`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_rate_based_details: Option<bool>,
}

/// `FieldToProtect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldToProtect {
    /// `FieldType*`.
    pub field_type: FieldToProtectType,
    /// `FieldKeys` (≤100 names, 1–64 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_keys: Option<Vec<String>>,
}

wire_enum! {
    /// `FieldToProtectType`.
    pub enum FieldToProtectType (DataProtectionConfig) {
        /// One header.
        SingleHeader = "SINGLE_HEADER",
        /// One cookie.
        SingleCookie = "SINGLE_COOKIE",
        /// One query argument.
        SingleQueryArgument = "SINGLE_QUERY_ARGUMENT",
        /// The query string.
        QueryString = "QUERY_STRING",
        /// The body.
        Body = "BODY",
    }
}

wire_enum! {
    /// `DataProtectionAction`.
    pub enum DataProtectionAction (DataProtectionConfig) {
        /// Replace with `REDACTED`.
        Substitution = "SUBSTITUTION",
        /// Replace with a hash.
        Hash = "HASH",
    }
}

/// `FirewallManagerRuleGroup`: a Firewall Manager group evaluated before or after the ACL's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FirewallManagerRuleGroup {
    /// `Name*`.
    pub name: String,
    /// `Priority*`.
    pub priority: i64,
    /// `FirewallManagerStatement*`.
    pub firewall_manager_statement: FirewallManagerStatement,
    /// `OverrideAction*`.
    pub override_action: OverrideAction,
    /// `VisibilityConfig*`.
    pub visibility_config: VisibilityConfig,
}

wire_union! {
    /// `FirewallManagerStatement`.
    pub enum FirewallManagerStatement ("FirewallManagerStatement", FirewallManagerStatement) {
        /// `ManagedRuleGroupStatement`.
        ManagedRuleGroup(Box<ManagedRuleGroupStatement>) = "ManagedRuleGroupStatement",
        /// `RuleGroupReferenceStatement`.
        RuleGroupReference(RuleGroupReferenceStatement) = "RuleGroupReferenceStatement",
    }
}

/// `OnSourceDDoSProtectionConfig` (ALB only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnSourceDdosProtectionConfig {
    /// `ALBLowReputationMode*`.
    #[serde(rename = "ALBLowReputationMode")]
    pub alb_low_reputation_mode: LowReputationMode,
}

wire_enum! {
    /// `LowReputationMode`.
    pub enum LowReputationMode (LowReputationMode) {
        /// Only while a DDoS event is detected.
        ActiveUnderDdos = "ACTIVE_UNDER_DDOS",
        /// Always.
        AlwaysOn = "ALWAYS_ON",
    }
}

/// `ApplicationConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationConfig {
    /// `Attributes` (1–10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<ApplicationAttribute>>,
}

/// `ApplicationAttribute`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationAttribute {
    /// `Name` (1–64, `^[\w\-]+$`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Values` (1–50 strings, 1–64 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// `MonetizationConfig` (kept for round trips; Portcullis does not settle payments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonetizationConfig {
    /// `CryptoConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crypto_config: Option<CryptoConfig>,
    /// `ConnectedAccountConfigs` (exactly 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_account_configs: Option<Vec<ConnectedAccountConfig>>,
    /// `CurrencyMode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_mode: Option<CurrencyMode>,
}

/// `CryptoConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CryptoConfig {
    /// `PaymentNetworks*` (1–2).
    pub payment_networks: Vec<PaymentNetwork>,
}

/// `PaymentNetwork`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PaymentNetwork {
    /// `Chain*`.
    pub chain: BlockchainChain,
    /// `WalletAddress*` (26–44 chars).
    pub wallet_address: String,
    /// `Prices*` (exactly 1).
    pub prices: Vec<Price>,
}

/// `Price` / `ConnectedAccountPrice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Price {
    /// `Amount*` (decimal string).
    pub amount: String,
    /// `Currency*`.
    pub currency: CryptoCurrency,
}

/// `ConnectedAccountConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectedAccountConfig {
    /// `ConnectedAccountArn*`.
    pub connected_account_arn: String,
    /// `PaymentNetworks*` (1–2).
    pub payment_networks: Vec<ConnectedAccountChainConfig>,
}

/// `ConnectedAccountChainConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectedAccountChainConfig {
    /// `Chain*` (`ConnectedAccountChain`: BASE or SOLANA).
    pub chain: BlockchainChain,
    /// `Prices*` (exactly 1).
    pub prices: Vec<Price>,
}

wire_enum! {
    /// `BlockchainChain` (`ConnectedAccountChain` is its BASE/SOLANA subset).
    pub enum BlockchainChain (PaymentNetwork) {
        /// Base.
        Base = "BASE",
        /// Solana.
        Solana = "SOLANA",
        /// Base Sepolia test network.
        BaseSepolia = "BASE_SEPOLIA",
        /// Solana devnet.
        SolanaDevnet = "SOLANA_DEVNET",
    }
}

wire_enum! {
    /// `CryptoCurrency`.
    pub enum CryptoCurrency (PaymentNetwork) {
        /// USDC.
        Usdc = "USDC",
    }
}

wire_enum! {
    /// `CurrencyMode`.
    pub enum CurrencyMode (MonetizationConfig) {
        /// Real payments.
        Real = "REAL",
        /// Test payments.
        Test = "TEST",
    }
}

/// `AnalyticsConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnalyticsConfig {
    /// `Mode*`.
    pub mode: AnalyticsMode,
}

wire_enum! {
    /// `AnalyticsMode`.
    pub enum AnalyticsMode (WebAcl) {
        /// Cross-region analytics.
        CrossRegion = "CROSS_REGION",
        /// Disabled.
        Disabled = "DISABLED",
    }
}
