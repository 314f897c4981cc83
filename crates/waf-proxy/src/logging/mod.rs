//! WAF logs: per-web-ACL [`LoggingConfig`] (redaction and filter, as WAFv2's `LoggingConfiguration`), the
//! [`LogRecord`] in the AWS WAF log format, and the [`LogSink`]s records go to.
//!
//! [`Logging`] maps web ACL ARNs to their configuration and sink; it is shared by every listener of a proxy and
//! can be changed at any time ([`Logging::put`], [`Logging::delete`]); requests that start afterwards use the
//! new setting. A request whose web ACL has no logging configuration costs one read-locked map lookup: no record
//! is built.

mod config;
mod record;
mod sink;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

pub use config::{Condition, ConditionAction, Filter, LoggingConfig, LoggingFilter, Redactions};
pub(crate) use record::build;
pub use record::{
    ExcludedEntry, HTTP_SOURCE_NAME, HttpRequest, LogRecord, Name, NameValue, RateEntry, RuleEntry,
    RuleGroupEntry, TokenEntry,
};
pub use sink::{DEFAULT_QUEUE, FileSink, LogSink, MemorySink, StdoutSink, WriterSink};

/// A logging configuration and the sink its records go to.
pub struct AclLogging {
    /// What to log and how.
    pub config: LoggingConfig,
    /// Where records go.
    pub sink: Arc<dyn LogSink>,
}

impl std::fmt::Debug for AclLogging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclLogging")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The logging configurations of all web ACLs, by ARN. Cheap to clone (shared state); keep a clone to carry the
/// configuration across proxy restarts.
#[derive(Clone, Default)]
pub struct Logging {
    map: Arc<RwLock<HashMap<String, Arc<AclLogging>>>>,
    len: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging")
            .field("web_acls", &self.len.load(Ordering::Relaxed))
            .finish()
    }
}

impl Logging {
    /// No web ACL is logged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logs the web ACL `config.resource_arn` to `sink` (replacing an earlier configuration).
    pub fn put(&self, config: LoggingConfig, sink: Arc<dyn LogSink>) {
        let mut map = match self.map.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.insert(
            config.resource_arn.clone(),
            Arc::new(AclLogging { config, sink }),
        );
        self.len.store(map.len(), Ordering::Relaxed);
    }

    /// Parses a WAFv2 `LoggingConfiguration` ([`LoggingConfig::from_json`]) and logs its web ACL to `sink`.
    pub fn put_json(
        &self,
        logging_configuration: &serde_json::Value,
        sink: Arc<dyn LogSink>,
    ) -> Result<(), crate::ProxyError> {
        self.put(LoggingConfig::from_json(logging_configuration)?, sink);
        Ok(())
    }

    /// Stops logging the web ACL; true when it was logged.
    pub fn delete(&self, web_acl_arn: &str) -> bool {
        let mut map = match self.map.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let removed = map.remove(web_acl_arn).is_some();
        self.len.store(map.len(), Ordering::Relaxed);
        removed
    }

    /// The configuration of the web ACL, if it is logged.
    pub fn get(&self, web_acl_arn: &str) -> Option<Arc<AclLogging>> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let map = match self.map.read() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.get(web_acl_arn).cloned()
    }
}
