//! The configuration file as written: every field optional and documented. Unknown fields
//! are collected while parsing (not refused by serde) so they are reported together with
//! every other problem.
//!
//! The doc comment on each field is the user's documentation for it; `docs/config.md`
//! repeats them with examples.

use serde::Deserialize;

/// The whole `portcullis.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawConfig {
    /// Directory for the CA, credentials, the SQLite store and audit log files.
    /// Default `./portcullis-data`.
    pub data_dir: Option<String>,
    /// The twelve-digit id of the account created on first start. Default `000000000000`.
    pub account_id: Option<String>,
    /// The region reported in ARNs and accepted in SigV4 scopes. Default `us-east-1`.
    pub region: Option<String>,
    /// The HTTPS listener that serves every AWS-compatible API, `/health` and `/metrics`.
    #[serde(default)]
    pub api: RawApi,
    /// Where state is kept.
    #[serde(default)]
    pub store: RawStore,
    /// Certificates for the API listener.
    #[serde(default)]
    pub tls: RawTls,
    /// The audit trail of API calls.
    #[serde(default)]
    pub audit: RawAudit,
    /// The root key that seals every stored secret.
    #[serde(default)]
    pub root_key: RawRootKey,
    /// The WAF reverse proxy (`[waf]`, `[[waf.pools]]`, `[[waf.listeners]]`).
    #[serde(default)]
    pub waf: crate::waf::RawWaf,
    /// Guard's continuous log sources and finding exports (`[guard]`, `[[guard.sources]]`,
    /// `[[guard.exports]]`).
    #[serde(default)]
    pub guard: crate::guard::RawGuard,
    /// Inspector's network description files (`[inspector]`).
    #[serde(default)]
    pub inspector: crate::inspector::RawInspector,
    /// Fields the file has that Portcullis does not know (dotted paths); each is a problem.
    #[serde(skip)]
    pub unknown_fields: Vec<String>,
}

/// `[api]`: the AWS-compatible HTTPS listener.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawApi {
    /// Address and port to listen on, e.g. `127.0.0.1:7443` or `[::1]:7443`. Default `127.0.0.1:7443`.
    pub listen: Option<String>,
    /// Largest request body accepted, in bytes; larger requests get HTTP 413. Default 1048576 (1 MiB).
    pub max_body_bytes: Option<u64>,
    /// Largest allowed difference between a request's signing time and the server's clock,
    /// in seconds. Default 900 (15 minutes, as AWS).
    pub max_clock_skew_secs: Option<u64>,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT before closing. Default 10.
    pub shutdown_grace_secs: Option<u64>,
    /// Worker threads serving the listener, each with its own event loop and its own
    /// `SO_REUSEPORT` socket on `listen`, so a request is served on one thread from accept to
    /// reply. `0` serves it on the shared runtime instead. Default: the number of cores.
    /// Read at start.
    pub workers: Option<usize>,
}

/// `[store]`: the storage backend.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawStore {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`. Default: SQLite at
    /// `<data_dir>/portcullis.db`.
    pub url: Option<String>,
}

/// `[tls]`: the API listener's certificates, issued by the built-in CA.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawTls {
    /// DNS names and IP addresses the server certificate is issued for on first start.
    /// Default `["localhost", "127.0.0.1", "::1"]`.
    pub server_names: Option<Vec<String>>,
}

/// `[audit]`: the CloudTrail-format audit trail.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawAudit {
    /// Whether CloudTrail log files (`{"Records":[...]}`, gzip) are written under
    /// `<data_dir>/audit/AWSLogs/`. Records are always kept in the store. Default true.
    pub write_files: Option<bool>,
    /// Seconds between log files; records gathered in that time go in one file. Default 60.
    pub file_interval_secs: Option<u64>,
}

/// `[root_key]`: the key that seals every stored secret (secret access keys, session tokens,
/// KMS key material) before it reaches the store. Losing it makes those secrets unreadable;
/// changing it to another key does too.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawRootKey {
    /// Where the root key lives: `"file"` (AES-256 key in a file, or in the
    /// `PORTCULLIS_ROOT_KEY` environment variable, used in process) or `"pkcs11"` (an AES-256
    /// key generated inside an HSM token, which never leaves it). Default `"file"`.
    pub kind: Option<String>,
    /// `kind = "file"`: the key file (base64 of 32 bytes), created with mode 0600 on first
    /// start. `PORTCULLIS_ROOT_KEY`, when set, wins over the file. Default
    /// `<data_dir>/root.key`.
    pub file: Option<String>,
    /// `kind = "pkcs11"`: path of the PKCS#11 module (shared library), e.g.
    /// `/usr/lib/softhsm/libsofthsm2.so`. Required for pkcs11.
    pub module: Option<String>,
    /// `kind = "pkcs11"`: label of the token holding the key. Required for pkcs11.
    pub token_label: Option<String>,
    /// `kind = "pkcs11"`: name of the environment variable holding the token's user PIN (the
    /// PIN itself never goes in this file). Default `PORTCULLIS_PKCS11_PIN`.
    pub pin_env: Option<String>,
    /// `kind = "pkcs11"`: label of the AES key inside the token; generated there
    /// (sensitive, non-extractable) on first start if no key has it. Default
    /// `portcullis-root`.
    pub key_label: Option<String>,
}
