//! Sans-I/O: a SecLang (ModSecurity rule language) engine that loads and runs the OWASP Core Rule Set, and its
//! regression-test runner.
//!
//! Load configuration with [`RuleSet::load`] (files, following `Include`) or [`RuleSet::from_sources`] (texts),
//! then run each request through a [`Transaction`]:
//!
//! ```no_run
//! # use portcullis_waf_seclang::{RuleSet, Transaction};
//! # use portcullis_waf_request::Request;
//! let (rules, report) = RuleSet::load(&["/usr/share/modsecurity-crs/owasp-crs.load".into()]).unwrap();
//! assert!(report.unsupported.is_empty());
//! let req = Request::builder().uri("/?id=1'+OR+1=1--").header("Host", "example.com").build();
//! let mut tx = Transaction::new(&rules, &req);
//! if let Some(i) = tx.process_request() {
//!     println!("blocked with {} by {:?}", i.status, i.rule_id);
//! }
//! tx.finish();
//! ```
//!
//! Semantics follow libmodsecurity 3 (the engine CRS 3.3.4 is measured against in the WAF reference), with these
//! deliberate differences, each the ModSecurity 2 / reference-manual behaviour:
//! - phase 2 runs even with `SecRequestBodyAccess Off` (libmodsecurity 3 skips the whole phase, and with it
//!   CRS's blocking rule 949110); phase 4 runs even when the response body is not inspected;
//! - a request body over the limit with `SecRequestBodyLimitAction Reject` is refused with 413 (v3: 403);
//! - non-disruptive actions (`setvar`, `ctl`, …) run once per matched value of the link that holds them, as in
//!   both ModSecurity versions, so a rule matching two arguments adds its anomaly score twice.
//!
//! What the engine does not do: audit logging and debug logging (`SecAudit*`, `SecDebug*` are accepted and
//! ignored), XPath beyond `XML:/*` and `XML://@*`, operators that need network I/O (`@rbl`), target replacement
//! in `SecRuleUpdateTargetById`, `SecCookieFormat 1`, and persistent collections shared between processes
//! (`IP`/`GLOBAL` live in memory inside the [`RuleSet`]; [`collections::PersistentStore`] is where a shared
//! store would plug in). `SecUnicodeMapFile`, `SecPcreMatchLimit*`, `SecTmpDir` and `SecDataDir` are accepted and
//! ignored.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod collections;
mod compile;
pub mod config;
pub mod crs_test;
mod error;
mod fasthash;
mod literal_dfa;
pub mod log;
pub mod macros;
pub mod operator;
pub mod parser;
mod prefilter;
pub mod rule;
mod ruleset;
mod summary;
mod target_sets;
mod transaction;
pub mod variables;

pub use config::EngineConfig;
pub use error::LoadError;
pub use log::{Disruption, Intervention, LogEntry};
pub use rule::EngineMode;
pub use ruleset::{LoadReport, RuleSet, Unsupported};
pub use transaction::Transaction;
