//! The crate's one error type for loading rule sets.

use std::path::PathBuf;

/// Why a rule set could not be loaded. Rules the engine parses but cannot run are not errors: they are listed in
/// [`crate::LoadReport::unsupported`] instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A configuration file (or an `Include`d file) could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// A directive is malformed (bad quoting, missing arguments, an action list that does not parse, …).
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file (or source name) holding the directive.
        file: String,
        /// The 1-based line where the directive starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A directive name the engine does not know.
    #[error("{file}:{line}: unknown directive {name}")]
    UnknownDirective {
        /// The file (or source name) holding the directive.
        file: String,
        /// The 1-based line where the directive starts.
        line: usize,
        /// The directive name as written.
        name: String,
    },
    /// An `Include` (not `IncludeOptional`) names a path that matches no file.
    #[error("{file}:{line}: Include matches no file: {pattern}")]
    IncludeNotFound {
        /// The file holding the `Include`.
        file: String,
        /// The 1-based line of the `Include`.
        line: usize,
        /// The path or glob that matched nothing.
        pattern: String,
    },
    /// `Include`s nest deeper than the engine allows (probably a cycle).
    #[error("{file}:{line}: Include nesting deeper than {limit}")]
    IncludeDepth {
        /// The file holding the `Include`.
        file: String,
        /// The 1-based line of the `Include`.
        line: usize,
        /// The maximum nesting depth.
        limit: usize,
    },
    /// Two rules declare the same id.
    #[error("{file}:{line}: duplicate rule id {id}")]
    DuplicateId {
        /// The file holding the second rule.
        file: String,
        /// The 1-based line of the second rule.
        line: usize,
        /// The repeated id.
        id: u64,
    },
}

impl LoadError {
    pub(crate) fn syntax(file: &str, line: usize, message: impl Into<String>) -> Self {
        Self::Syntax {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}
