//! The crate's single error type: why a rule file could not be loaded.

use std::path::PathBuf;

/// Why a Sigma rule (or rule file) was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigmaError {
    /// The file is not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// A required key is missing or a key has the wrong shape (e.g. `detection` is not a map).
    #[error("invalid rule: {0}")]
    Invalid(String),
    /// The rule's `logsource` is not AWS CloudTrail (and `LoadOptions::any_logsource` is off).
    #[error("unsupported logsource: {0}")]
    Logsource(String),
    /// A field modifier this engine does not implement (e.g. `expand`, time modifiers).
    #[error("unsupported modifier `{modifier}` on `{field}`")]
    UnsupportedModifier {
        /// The detection key the modifier was attached to.
        field: String,
        /// The modifier name.
        modifier: String,
    },
    /// Modifiers that cannot be combined, or a modifier given a value of the wrong type.
    #[error("invalid modifiers on `{field}`: {reason}")]
    Modifier {
        /// The detection key.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A `re` value the regex engine refuses (look-around, back-references, too large, syntax).
    #[error("regex `{pattern}` refused: {reason}")]
    Regex {
        /// The regular expression as written in the rule.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// The `condition` expression is malformed or names an unknown selection.
    #[error("condition `{condition}`: {reason}")]
    Condition {
        /// The condition text.
        condition: String,
        /// What is wrong.
        reason: String,
    },
    /// The obsolete aggregation syntax (`| count() ...`, `| near ...`, `detection.timeframe`); rewrite as a
    /// correlation rule.
    #[error("obsolete aggregation syntax: {0}; rewrite as a Sigma correlation rule")]
    LegacyAggregation(String),
    /// A correlation rule is malformed or references unknown rules.
    #[error("correlation: {0}")]
    Correlation(String),
    /// A value that must parse as something specific (CIDR, number) does not.
    #[error("invalid value for `{field}`: {reason}")]
    Value {
        /// The detection key.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A rule file exceeds the size limit.
    #[error("file too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Size of the file.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
}
