//! Sans-I/O: the AWS WAFv2 engine. A web ACL ([`portcullis_waf_model::WebAcl`]) is compiled once into a
//! [`CompiledAcl`] (resolving IP sets, regex pattern sets and rule groups from [`Resources`]); each request is then
//! evaluated into a [`Verdict`] — allow / block (with the custom response) / CAPTCHA / challenge, the terminating
//! rule, the labels and the non-terminating matches — with AWS's semantics (priority order, Count, labels visible to
//! later rules, rule-group overrides, oversize and fallback handling, forwarded IPs, rate-based rules).
//!
//! Speed comes from the plan: every distinct (field, transformations) pair is extracted at most once per request,
//! fields whose transformation chains share a prefix share its work (`URL_DECODE_UNI` runs once for
//! `URL_DECODE_UNI`+`LOWERCASE`, `+HTML_ENTITY_DECODE`, ...), byte matches on the same field share one Aho-Corasick
//! pass, each regex statement is one regex set (skipped when a value lacks a byte every match needs, noted for all
//! of a field's sets in one pass, or a literal every match needs, or on long values a rare byte or literal, see
//! `precheck.rs`; a value without a byte of the group's gate is ruled
//! out eight bytes at a time, and a derived field whose prefix values open no gate is not derived, see `gate.rs`; a field with several values, like `Headers`, is
//! searched once with its values joined, see `joined.rs`), and SQLi/XSS results are shared.
//! `examples/managed_cost.rs` measures the managed-groups ACL of the proxy benchmark. The clock, rate counters
//! ([`rate::RateCounter`]), geo database ([`geo::GeoDb`]) and the client's CAPTCHA/challenge token come in through
//! [`EvalEnv`]. Managed rule groups plug in through [`ManagedGroup`].
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

/// Declares, in a module with an optimisation the compiler can leave out, `OFF` (in tests: set, plans compiled on
/// this thread go without the optimisation, so a test can compare verdicts with and without it) and `$enabled()`,
/// whether plans compiled now get it (always, outside such tests).
macro_rules! optimisation_switch {
    ($enabled:ident) => {
        #[cfg(test)]
        thread_local! {
            /// Set, plans compiled on this thread go without this module's optimisation.
            pub(crate) static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }

        /// Whether plans compiled now get this module's optimisation (always, outside tests that turn it off).
        pub(crate) fn $enabled() -> bool {
            #[cfg(test)]
            if OFF.with(std::cell::Cell::get) {
                return false;
            }
            true
        }
    };
}

mod acl;
mod compile;
pub mod env;
pub mod error;
mod eval;
mod field;
mod gate;
pub mod geo;
pub mod ipset;
mod joined;
pub mod json;
pub mod labels;
pub mod managed;
mod needs;
mod plan;
mod precheck;
pub mod rate;
pub mod rate_keys;
mod regexset;
mod values;
pub mod verdict;

#[cfg(test)]
mod tests;

pub use acl::{CompiledAcl, DEFAULT_BODY_LIMIT, Resources, RuleGroupManaged};
pub use env::{EvalEnv, TokenRejection, TokenState};
pub use error::CompileError;
pub use managed::{GroupMatch, GroupOutcome, ManagedGroup, ManagedGroupConfig};
pub use plan::ResolvedAction;
pub use verdict::{
    ActionKind, BlockResponse, FinalAction, MatchDetail, MatchedRule, ResponseBody, RuleType,
    TerminatingRule, Verdict,
};
