//! The crate's one error type.

/// Why a body could not be parsed. The engines surface these as `REQBODY_ERROR` / `REQBODY_ERROR_MSG`
/// (SecLang) or as an invalid-body fallback (AWS `JsonBody`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The JSON body is not valid JSON (`offset` is the byte position where parsing stopped).
    #[error("JSON parsing error at byte {offset}: {message}")]
    Json {
        /// Byte offset in the body where the parser gave up.
        offset: usize,
        /// Human-readable reason.
        message: String,
    },
    /// The JSON body nests objects/arrays deeper than the configured limit
    /// (ModSecurity `SecRequestBodyJsonDepthLimit`).
    #[error("JSON depth limit exceeded: more than {limit} nested levels")]
    JsonDepth {
        /// The configured maximum depth.
        limit: usize,
    },
    /// The XML body is not well-formed.
    #[error("XML parsing error at byte {offset}: {message}")]
    Xml {
        /// Byte offset in the body where the parser gave up.
        offset: u64,
        /// Human-readable reason.
        message: String,
    },
    /// The XML body declares a DTD (`<!DOCTYPE ...>`); refused so that no entity can be expanded (XXE).
    #[error("XML document type declarations are not allowed")]
    XmlDoctype,
    /// The XML body nests elements deeper than the parser allows.
    #[error("XML depth limit exceeded: more than {limit} nested elements")]
    XmlDepth {
        /// The maximum depth.
        limit: usize,
    },
}
