//! Sigma rules for CloudTrail: loading, compiling and matching SigmaHQ-format detection rules, with correlations.
//!
//! Rules are parsed from YAML ([`RuleSetBuilder::add_source`] or [`RuleSet::load_dir`]), compiled once into
//! matchers (folded literals, `memchr` substring finders, precompiled regexes) and indexed by the exact
//! `eventName`/`eventSource` values a rule requires, so a record only runs the rules that can match it.
//! Every file that cannot be used is listed in a [`LoadReport`] with its reason; loading never panics.
//!
//! ```
//! use portcullis_guard_sigma::{LoadOptions, RuleSetBuilder};
//! let mut b = RuleSetBuilder::new(LoadOptions::default());
//! b.add_source("r.yml", "title: t\nlogsource: {product: aws, service: cloudtrail}\n\
//!     detection:\n  sel:\n    eventName: DeleteTrail\n  condition: sel\n");
//! let (rules, report) = b.build();
//! assert_eq!(report.loaded.len(), 1);
//! let record = serde_json::json!({"eventName": "DeleteTrail"});
//! assert_eq!(rules.matches(&record).len(), 1);
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod condition;
mod correlation;
mod detection;
mod error;
mod legacy;
mod load;
mod pattern;
mod rule;
mod ruleset;

pub use correlation::{CorrelationHit, CorrelationMeta, CorrelationState, CorrelationType};
pub use error::SigmaError;
pub use load::{LoadOptions, LoadReport, Loaded, LoadedKind, Refused};
pub use rule::{Level, RuleMeta};
pub use ruleset::{Detections, Needs, RuleSet, RuleSetBuilder};
