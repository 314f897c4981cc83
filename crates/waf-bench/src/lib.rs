//! The WAF engine benchmark: CPU time per request of the Portcullis WAF engines on the request types of
//! `bench/waf/requests/*.http`, written as `portcullis-waf-bench/1` JSON lines so that
//! `bench/waf/report.py` prints them beside the nginx + ModSecurity + CRS peer (`scripts/waf-peer.sh`).
//!
//! * [`http_file`] reads the request files;
//! * [`engines`] builds the systems under test (the AWS-style web ACL of the Portcullis core, SQLi and
//!   known-bad-inputs groups; CRS 3.3.4 PL1 on the SecLang engine; both);
//! * [`measure`] runs the time-bounded loop, reading the thread's CPU time from [`cpu`];
//! * [`sweep`] generates the body-size sweep; [`record`] writes the result lines.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cpu;
pub mod engines;
pub mod error;
pub mod http_file;
pub mod measure;
pub mod record;
pub mod sweep;

pub use error::BenchError;
