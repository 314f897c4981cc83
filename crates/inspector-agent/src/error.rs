//! The agent's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the agent outside collection (collectors never fail:
/// unreadable inputs are skipped and noted in the inventory).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A file the agent needs (certificate, key, CA, state) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TLS material (CA, client certificate or key) is unusable.
    #[error("TLS configuration: {0}")]
    Tls(#[from] portcullis_pki::PkiError),
    /// The server URL is not `https://host[:port][/prefix]`.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached or the connection broke (retried with backoff).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with a status the agent does not expect (retried with backoff).
    #[error("server answered {status}: {body}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The server's answer was not the JSON the agent expects.
    #[error("invalid server response: {0}")]
    InvalidResponse(String),
    /// The persisted agent state is not valid JSON (it is then discarded and a full report sent).
    #[error("invalid agent state {path}: {reason}")]
    InvalidState {
        /// The state file.
        path: PathBuf,
        /// Decoder message.
        reason: String,
    },
    /// The collection task failed (a bug): no report is sent rather than an empty inventory.
    #[error("collecting the inventory failed: {0}")]
    Collect(String),
    /// A Berkeley DB hash database (RPM's `Packages`) is malformed or uses a feature that is
    /// not read (encryption); `page` is the page where the problem was found.
    #[error("Berkeley DB{}: {reason}", page_label(.page))]
    BerkeleyDb {
        /// The page, when one is to blame.
        page: Option<u32>,
        /// What is wrong.
        reason: String,
    },
    /// The inventory or report could not be encoded as JSON.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn page_label(page: &Option<u32>) -> String {
    page.map(|p| format!(" page {p}")).unwrap_or_default()
}
