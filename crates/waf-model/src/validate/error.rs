//! The typed validation error: the members of AWS `WAFInvalidParameterException` (`Field`, `Parameter`,
//! `Reason`) and the message AWS builds from them.

use crate::model::wire::wire_enum;

wire_enum! {
    /// `ParameterExceptionField` \[model\]: which part of the request a `WAFInvalidParameterException` blames.
    pub enum ParameterExceptionField (WebAcl) {
        /// `WEB_ACL`
        WebAcl = "WEB_ACL",
        /// `RULE_GROUP`
        RuleGroup = "RULE_GROUP",
        /// `REGEX_PATTERN_SET`
        RegexPatternSet = "REGEX_PATTERN_SET",
        /// `IP_SET`
        IpSet = "IP_SET",
        /// `MANAGED_RULE_SET`
        ManagedRuleSet = "MANAGED_RULE_SET",
        /// `RULE`
        Rule = "RULE",
        /// `EXCLUDED_RULE`
        ExcludedRule = "EXCLUDED_RULE",
        /// `STATEMENT`
        Statement = "STATEMENT",
        /// `BYTE_MATCH_STATEMENT`
        ByteMatchStatement = "BYTE_MATCH_STATEMENT",
        /// `SQLI_MATCH_STATEMENT`
        SqliMatchStatement = "SQLI_MATCH_STATEMENT",
        /// `XSS_MATCH_STATEMENT`
        XssMatchStatement = "XSS_MATCH_STATEMENT",
        /// `SIZE_CONSTRAINT_STATEMENT`
        SizeConstraintStatement = "SIZE_CONSTRAINT_STATEMENT",
        /// `GEO_MATCH_STATEMENT`
        GeoMatchStatement = "GEO_MATCH_STATEMENT",
        /// `RATE_BASED_STATEMENT`
        RateBasedStatement = "RATE_BASED_STATEMENT",
        /// `RULE_GROUP_REFERENCE_STATEMENT`
        RuleGroupReferenceStatement = "RULE_GROUP_REFERENCE_STATEMENT",
        /// `REGEX_PATTERN_REFERENCE_STATEMENT`
        RegexPatternReferenceStatement = "REGEX_PATTERN_REFERENCE_STATEMENT",
        /// `IP_SET_REFERENCE_STATEMENT`
        IpSetReferenceStatement = "IP_SET_REFERENCE_STATEMENT",
        /// `MANAGED_RULE_SET_STATEMENT`
        ManagedRuleSetStatement = "MANAGED_RULE_SET_STATEMENT",
        /// `LABEL_MATCH_STATEMENT`
        LabelMatchStatement = "LABEL_MATCH_STATEMENT",
        /// `AND_STATEMENT`
        AndStatement = "AND_STATEMENT",
        /// `OR_STATEMENT`
        OrStatement = "OR_STATEMENT",
        /// `NOT_STATEMENT`
        NotStatement = "NOT_STATEMENT",
        /// `IP_ADDRESS`
        IpAddress = "IP_ADDRESS",
        /// `IP_ADDRESS_VERSION`
        IpAddressVersion = "IP_ADDRESS_VERSION",
        /// `FIELD_TO_MATCH`
        FieldToMatch = "FIELD_TO_MATCH",
        /// `TEXT_TRANSFORMATION`
        TextTransformation = "TEXT_TRANSFORMATION",
        /// `SINGLE_QUERY_ARGUMENT`
        SingleQueryArgument = "SINGLE_QUERY_ARGUMENT",
        /// `SINGLE_HEADER`
        SingleHeader = "SINGLE_HEADER",
        /// `DEFAULT_ACTION`
        DefaultAction = "DEFAULT_ACTION",
        /// `RULE_ACTION`
        RuleAction = "RULE_ACTION",
        /// `ENTITY_LIMIT`
        EntityLimit = "ENTITY_LIMIT",
        /// `OVERRIDE_ACTION`
        OverrideAction = "OVERRIDE_ACTION",
        /// `SCOPE_VALUE`
        ScopeValue = "SCOPE_VALUE",
        /// `RESOURCE_ARN`
        ResourceArn = "RESOURCE_ARN",
        /// `RESOURCE_TYPE`
        ResourceType = "RESOURCE_TYPE",
        /// `TAGS`
        Tags = "TAGS",
        /// `TAG_KEYS`
        TagKeys = "TAG_KEYS",
        /// `METRIC_NAME`
        MetricName = "METRIC_NAME",
        /// `FIREWALL_MANAGER_STATEMENT`
        FirewallManagerStatement = "FIREWALL_MANAGER_STATEMENT",
        /// `FALLBACK_BEHAVIOR`
        FallbackBehavior = "FALLBACK_BEHAVIOR",
        /// `POSITION`
        Position = "POSITION",
        /// `FORWARDED_IP_CONFIG`
        ForwardedIpConfig = "FORWARDED_IP_CONFIG",
        /// `IP_SET_FORWARDED_IP_CONFIG`
        IpSetForwardedIpConfig = "IP_SET_FORWARDED_IP_CONFIG",
        /// `HEADER_NAME`
        HeaderName = "HEADER_NAME",
        /// `CUSTOM_REQUEST_HANDLING`
        CustomRequestHandling = "CUSTOM_REQUEST_HANDLING",
        /// `RESPONSE_CONTENT_TYPE`
        ResponseContentType = "RESPONSE_CONTENT_TYPE",
        /// `CUSTOM_RESPONSE`
        CustomResponse = "CUSTOM_RESPONSE",
        /// `CUSTOM_RESPONSE_BODY`
        CustomResponseBody = "CUSTOM_RESPONSE_BODY",
        /// `JSON_MATCH_PATTERN`
        JsonMatchPattern = "JSON_MATCH_PATTERN",
        /// `JSON_MATCH_SCOPE`
        JsonMatchScope = "JSON_MATCH_SCOPE",
        /// `BODY_PARSING_FALLBACK_BEHAVIOR`
        BodyParsingFallbackBehavior = "BODY_PARSING_FALLBACK_BEHAVIOR",
        /// `LOGGING_FILTER`
        LoggingFilter = "LOGGING_FILTER",
        /// `FILTER_CONDITION`
        FilterCondition = "FILTER_CONDITION",
        /// `EXPIRE_TIMESTAMP`
        ExpireTimestamp = "EXPIRE_TIMESTAMP",
        /// `CHANGE_PROPAGATION_STATUS`
        ChangePropagationStatus = "CHANGE_PROPAGATION_STATUS",
        /// `ASSOCIABLE_RESOURCE`
        AssociableResource = "ASSOCIABLE_RESOURCE",
        /// `LOG_DESTINATION`
        LogDestination = "LOG_DESTINATION",
        /// `MANAGED_RULE_GROUP_CONFIG`
        ManagedRuleGroupConfig = "MANAGED_RULE_GROUP_CONFIG",
        /// `PAYLOAD_TYPE`
        PayloadType = "PAYLOAD_TYPE",
        /// `HEADER_MATCH_PATTERN`
        HeaderMatchPattern = "HEADER_MATCH_PATTERN",
        /// `COOKIE_MATCH_PATTERN`
        CookieMatchPattern = "COOKIE_MATCH_PATTERN",
        /// `MAP_MATCH_SCOPE`
        MapMatchScope = "MAP_MATCH_SCOPE",
        /// `OVERSIZE_HANDLING`
        OversizeHandling = "OVERSIZE_HANDLING",
        /// `CHALLENGE_CONFIG`
        ChallengeConfig = "CHALLENGE_CONFIG",
        /// `TOKEN_DOMAIN`
        TokenDomain = "TOKEN_DOMAIN",
        /// `ATP_RULE_SET_RESPONSE_INSPECTION`
        AtpRuleSetResponseInspection = "ATP_RULE_SET_RESPONSE_INSPECTION",
        /// `ASSOCIATED_RESOURCE_TYPE`
        AssociatedResourceType = "ASSOCIATED_RESOURCE_TYPE",
        /// `SCOPE_DOWN`
        ScopeDown = "SCOPE_DOWN",
        /// `CUSTOM_KEYS`
        CustomKeys = "CUSTOM_KEYS",
        /// `ACP_RULE_SET_RESPONSE_INSPECTION`
        AcpRuleSetResponseInspection = "ACP_RULE_SET_RESPONSE_INSPECTION",
        /// `DATA_PROTECTION_CONFIG`
        DataProtectionConfig = "DATA_PROTECTION_CONFIG",
        /// `LOW_REPUTATION_MODE`
        LowReputationMode = "LOW_REPUTATION_MODE",
        /// `MONETIZATION_CONFIG`
        MonetizationConfig = "MONETIZATION_CONFIG",
        /// `WALLET_ADDRESS`
        WalletAddress = "WALLET_ADDRESS",
        /// `PRICE_AMOUNT`
        PriceAmount = "PRICE_AMOUNT",
        /// `PAYMENT_NETWORK`
        PaymentNetwork = "PAYMENT_NETWORK",
        /// `PRE_PARSE_TEXT_TRANSFORMATION`
        PreParseTextTransformation = "PRE_PARSE_TEXT_TRANSFORMATION",
        /// `CHALLENGE_JAVASCRIPT_SDK_INJECTION_CONFIG`
        ChallengeJavascriptSdkInjectionConfig = "CHALLENGE_JAVASCRIPT_SDK_INJECTION_CONFIG",
        /// `BEDROCK_GUARDRAILS`
        BedrockGuardrails = "BEDROCK_GUARDRAILS",
        /// `ROLE_ARN`
        RoleArn = "ROLE_ARN",
    }
}

/// One AWS `WAFInvalidParameterException`: the most specific field, the offending parameter, the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The `Field` member: which kind of element is wrong.
    pub field: ParameterExceptionField,
    /// The `Parameter` member: the offending value or member name.
    pub parameter: String,
    /// The `Reason` member: AWS's sentence explaining the problem.
    pub reason: String,
}

impl ValidationError {
    /// Build an error.
    pub fn new(
        field: ParameterExceptionField,
        parameter: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            field,
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }

    /// The `message` member as AWS renders it:
    /// `Error reason: <Reason>, field: <Field>, parameter: <Parameter>`.
    pub fn message(&self) -> String {
        format!(
            "Error reason: {}, field: {}, parameter: {}",
            self.reason, self.field, self.parameter
        )
    }
}

impl ValidationError {
    /// The `WAFInvalidParameterException` body as the API sends it (the model names the message member
    /// `message`, lowercase, for this exception).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "__type": "WAFInvalidParameterException",
            "message": self.message(),
            "Field": self.field.as_str(),
            "Parameter": self.parameter,
            "Reason": self.reason,
        })
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ValidationError {}
