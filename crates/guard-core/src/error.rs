//! The one error type of this crate.

/// Every way decoding or loading threat intelligence can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The input starts with the gzip magic but does not decompress.
    #[error("gzip: {message}")]
    Gzip {
        /// The decompressor's message.
        message: String,
    },
    /// Decompressed input exceeds the configured bound.
    #[error("decompressed input exceeds {limit} bytes")]
    TooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// The input is not recognised as any supported log format.
    #[error("unrecognised input format")]
    UnknownFormat,
    /// A JSON record (or the whole JSON document) is malformed or lacks required fields.
    #[error("invalid JSON: {message}")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// A record has no usable content for its format (e.g. an EventBridge envelope without `detail`).
    #[error("missing field `{field}`")]
    MissingField {
        /// The field that is required.
        field: &'static str,
    },
    /// A VPC flow line has a different number of fields than its format.
    #[error("flow line has {found} fields, format has {expected}")]
    FieldCount {
        /// Fields in the active format.
        expected: usize,
        /// Fields found on the line.
        found: usize,
    },
    /// A VPC flow field value does not parse as its type.
    #[error("flow field `{field}`: invalid value `{value}`")]
    FieldValue {
        /// The field name (as in the flow-log format).
        field: &'static str,
        /// The offending value, truncated to 64 bytes.
        value: String,
    },
    /// A line is not valid UTF-8.
    #[error("line is not valid UTF-8")]
    Utf8,
    /// A threat-list entry is not an IP, CIDR, IP:port, domain or URL.
    #[error("invalid threat-list entry `{entry}`")]
    IntelEntry {
        /// The offending entry, truncated to 64 bytes.
        entry: String,
    },
    /// The threat-list format is known but not supported (no documented shape).
    #[error("threat-list format {format} is not supported")]
    UnsupportedIntelFormat {
        /// The GuardDuty format name.
        format: &'static str,
    },
}

/// Truncates untrusted text for inclusion in an error message.
pub(crate) fn clip(s: &str) -> String {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}
