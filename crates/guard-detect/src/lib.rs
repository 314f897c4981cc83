//! Guard's detectors: built-in GuardDuty finding types computed from the typed flow, DNS
//! and CloudTrail records of `portcullis-guard-core`, and the GuardDuty-format findings
//! (schema 2.0) they produce.
//!
//! * [`finding`] — the finding document and its severity bands.
//! * [`store`] — [`FindingStore`]: repeated activity updates one finding.
//! * [`config`] — every threshold, as a named, documented default.
//! * [`engine`] — [`Engine`]: feed it records, read findings; memory stays bounded.
//! * [`flow`], [`dns`], [`trail`] — the detectors per source; [`dga`] the lexical score.
//! * [`baseline`] — learned per-identity and per-instance profiles (AnomalousBehavior,
//!   NetworkPortUnusual, Spambot, TrafficVolumeUnusual) and their persistence.
//! * [`geo`] — GeoIP/ASN details of remote addresses in findings (MaxMind DB).
//! * [`intel`] — how a threat list's name/category maps to finding types.
//! * [`simulate`] — deterministic native-format logs of a small estate and of the
//!   GuardDuty tester's attack scenarios.
//!
//! Sans-I/O: the caller reads files and hands over records with their location.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod baseline;
pub mod config;
pub mod dga;
pub mod dns;
pub mod engine;
pub mod error;
pub mod finding;
pub mod flow;
pub mod geo;
pub mod intel;
pub mod sigma;
pub mod simulate;
pub mod store;
pub mod time;
pub mod trail;
pub mod window;

/// The decoding and threat-intel crate the detectors build on.
pub use portcullis_guard_core as core;

pub use config::Config;
pub use engine::{Engine, EngineStats, IngestReport, Loc};
pub use error::DetectError;
pub use finding::{Finding, SeverityBand};
pub use portcullis_guard_sigma as sigma_rules;
pub use store::FindingStore;
