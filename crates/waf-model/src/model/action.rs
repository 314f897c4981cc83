//! Rule actions, override actions, default actions and custom request/response handling \[model §1.9\].

use serde::{Deserialize, Serialize};

use super::wire::{Empty, wire_enum, wire_union};

wire_union! {
    /// `RuleAction`: what a matching rule does.
    pub enum RuleAction ("RuleAction", RuleAction) {
        /// `Block`: terminate with 403 or the custom response.
        Block(BlockAction) = "Block",
        /// `Allow`: terminate and forward.
        Allow(AllowAction) = "Allow",
        /// `Count`: record and continue.
        Count(CountAction) = "Count",
        /// `Captcha`: require a CAPTCHA token.
        Captcha(CaptchaAction) = "Captcha",
        /// `Challenge`: require a silent challenge token.
        Challenge(ChallengeAction) = "Challenge",
        /// `Monetize`: answer 402 with a price manifest.
        Monetize(MonetizeAction) = "Monetize",
    }
}

wire_union! {
    /// `OverrideAction`: how a rule-group reference's result is used.
    pub enum OverrideAction ("OverrideAction", OverrideAction) {
        /// `Count`: turn the group's terminating result into a count.
        Count(CountAction) = "Count",
    }
    units {
        /// `None{}`: keep the group's result.
        None = "None",
    }
}

wire_union! {
    /// `DefaultAction`: the web ACL's action when no rule terminates.
    pub enum DefaultAction ("DefaultAction", DefaultAction) {
        /// `Block`.
        Block(BlockAction) = "Block",
        /// `Allow`.
        Allow(AllowAction) = "Allow",
    }
}

/// `BlockAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockAction {
    /// `CustomResponse`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_response: Option<CustomResponse>,
}

/// `AllowAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllowAction {
    /// `CustomRequestHandling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

/// `CountAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CountAction {
    /// `CustomRequestHandling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

/// `CaptchaAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaptchaAction {
    /// `CustomRequestHandling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

/// `ChallengeAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChallengeAction {
    /// `CustomRequestHandling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

/// `MonetizeAction`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonetizeAction {
    /// `PriceMultiplier` (`"1"`–`"100"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_multiplier: Option<String>,
}

/// `NoneAction` (the `{}` of `OverrideAction.None`).
pub type NoneAction = Empty;

/// `CustomResponse`: the response a Block action sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResponse {
    /// `ResponseCode*` (200–599).
    pub response_code: i64,
    /// `CustomResponseBodyKey`: a key of the ACL's or group's `CustomResponseBodies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_response_body_key: Option<String>,
    /// `ResponseHeaders` (≥1, no `content-type`, no duplicates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<Vec<CustomHttpHeader>>,
}

/// `CustomRequestHandling`: headers inserted into the forwarded request (prefixed `x-amzn-waf-`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomRequestHandling {
    /// `InsertHeaders*` (≥1).
    pub insert_headers: Vec<CustomHttpHeader>,
}

/// `CustomHTTPHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomHttpHeader {
    /// `Name*` (1–64, `^[a-zA-Z0-9._$-]+$`).
    pub name: String,
    /// `Value*` (1–255).
    pub value: String,
}

/// `CustomResponseBody`: one entry of `CustomResponseBodies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResponseBody {
    /// `ContentType*`.
    pub content_type: ResponseContentType,
    /// `Content*` (1–10,240 chars).
    pub content: String,
}

wire_enum! {
    /// `ResponseContentType`.
    pub enum ResponseContentType (ResponseContentType) {
        /// `text/plain`.
        TextPlain = "TEXT_PLAIN",
        /// `text/html`.
        TextHtml = "TEXT_HTML",
        /// `application/json`.
        ApplicationJson = "APPLICATION_JSON",
    }
}

impl ResponseContentType {
    /// The MIME type sent in the `Content-Type` header.
    pub fn mime(self) -> &'static str {
        match self {
            ResponseContentType::TextPlain => "text/plain",
            ResponseContentType::TextHtml => "text/html",
            ResponseContentType::ApplicationJson => "application/json",
        }
    }
}
