//! Engine settings set by directives (`SecRuleEngine`, `SecRequestBodyAccess`, limits, …).

use portcullis_waf_request::Transform;

use crate::rule::{Disruptive, EngineMode};

/// What to do with a body larger than the configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitAction {
    /// Refuse the request (413) when the engine is `On`.
    #[default]
    Reject,
    /// Inspect the first `limit` bytes only.
    ProcessPartial,
}

/// The actions of one `SecDefaultAction` that rules inherit.
#[derive(Debug, Clone)]
pub struct DefaultAction {
    /// The default disruptive action (what `block` means in this phase).
    pub disruptive: Disruptive,
    /// The default `status`.
    pub status: Option<u16>,
    /// Whether rules log by default.
    pub log: bool,
    /// Whether rules audit-log by default.
    pub auditlog: bool,
    /// Transformations prepended to every rule that does not start with `t:none`.
    pub transforms: Vec<Transform>,
}

impl Default for DefaultAction {
    /// ModSecurity's built-in default: `phase:2,log,auditlog,pass`.
    fn default() -> Self {
        Self {
            disruptive: Disruptive::Pass,
            status: None,
            log: true,
            auditlog: true,
            transforms: Vec::new(),
        }
    }
}

/// Engine settings. Defaults follow libmodsecurity 3 (engine `Off`, body access `Off`), so a configuration must
/// turn the engine on, as ModSecurity's recommended `modsecurity.conf` does.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `SecRuleEngine`.
    pub engine: EngineMode,
    /// `SecRequestBodyAccess`.
    pub request_body_access: bool,
    /// `SecRequestBodyLimit` (bytes, including files).
    pub request_body_limit: u64,
    /// `SecRequestBodyNoFilesLimit` (bytes, excluding files).
    pub request_body_no_files_limit: u64,
    /// `SecRequestBodyLimitAction`.
    pub request_body_limit_action: LimitAction,
    /// `SecRequestBodyJsonDepthLimit`.
    pub json_depth_limit: usize,
    /// `SecArgumentsLimit`: arguments beyond this number are not parsed (and `REQBODY_ERROR` is set for bodies).
    pub arguments_limit: usize,
    /// `SecResponseBodyAccess`.
    pub response_body_access: bool,
    /// `SecResponseBodyMimeType` (lowercased media types).
    pub response_body_mime_types: Vec<String>,
    /// `SecResponseBodyLimit`.
    pub response_body_limit: u64,
    /// `SecResponseBodyLimitAction`.
    pub response_body_limit_action: LimitAction,
    /// `SecArgumentSeparator`.
    pub argument_separator: u8,
    /// `SecCollectionTimeout` (seconds).
    pub collection_timeout: u64,
    /// `SecComponentSignature` values.
    pub component_signatures: Vec<String>,
    /// `SecDefaultAction` per phase (index 0 = phase 1).
    pub default_actions: [DefaultAction; 5],
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            engine: EngineMode::Off,
            request_body_access: false,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 1_048_576,
            request_body_limit_action: LimitAction::Reject,
            json_depth_limit: 10_000,
            arguments_limit: 1000,
            response_body_access: false,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            response_body_limit: 524_288,
            response_body_limit_action: LimitAction::Reject,
            argument_separator: b'&',
            collection_timeout: 3600,
            component_signatures: Vec::new(),
            default_actions: Default::default(),
        }
    }
}
