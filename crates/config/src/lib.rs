//! Portcullis configuration: `portcullis.toml`.
//!
//! Parsing happens in two steps, as in ripgrep's flags: [`RawConfig`] is exactly what the
//! file says (serde, unknown fields refused), and [`RawConfig::resolve`] turns it plus the
//! command-line overrides into a [`Config`] whose every value is checked, reporting every
//! problem at once rather than the first.

mod guard;
mod inspector;
mod raw;
mod resolve;
mod waf;

pub use guard::{
    GuardConfig, GuardExport, GuardExportTarget, GuardFormat, GuardInput, GuardSource, RawGuard,
    RawGuardExport, RawGuardSource,
};
pub use inspector::{InspectorConfig, RawInspector};
pub use raw::{RawApi, RawAudit, RawConfig, RawRootKey, RawStore, RawTls};
pub use resolve::{
    ApiConfig, AuditConfig, Config, ConfigErrors, Overrides, Problem, RootKeyConfig,
};
pub use waf::{
    DEFAULT_CRS_DIR, IpReputation, RawIpReputation, RawWaf, RawWafCert, RawWafHealthCheck,
    RawWafLimits, RawWafListener, RawWafPool, RawWafRoute, RawWafTls, WafConfig, WafHealthCheck,
    WafLimits, WafListener, WafLog, WafPool, WafRoute, WafTls, parse_duration,
};

/// The data directory used when neither the file nor `--data-dir` names one.
pub const DEFAULT_DATA_DIR: &str = "./portcullis-data";
/// The API listener address used when neither the file nor `--api-listen` names one.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:7443";
/// The environment variable holding the PKCS#11 user PIN unless `root_key.pin_env` names
/// another.
pub const DEFAULT_PKCS11_PIN_ENV: &str = "PORTCULLIS_PKCS11_PIN";
/// The label of the root key inside a PKCS#11 token unless `root_key.key_label` names
/// another.
pub const DEFAULT_PKCS11_KEY_LABEL: &str = "portcullis-root";
