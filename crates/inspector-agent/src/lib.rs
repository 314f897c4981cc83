//! The Inspector host agent: collects the host's inventory and reports changes to the server over mTLS.
//!
//! * [`mod@collect`]: the host collectors (OS, packages, lockfiles, listeners, sshd, password
//!   policy, sysctls, CPU flags, path modes, firewall and automatic updates), every path
//!   relative to a configurable root so tests run them over a fake tree.
//! * [`client`]: one report over HTTPS with a client certificate (`POST /agent/report`).
//! * [`identity`]: the host's cloud instance id, from the configuration or an
//!   instance-identity document (only when a URL is configured).
//! * [`state`]: the agent's id and the last acknowledged inventory, kept in a state directory.
//! * [`agent`]: the loop: collect, diff against what the server acknowledged, send, retry
//!   with backoff, repeat on a timer or on request.
//!
//! Of the RPM databases the SQLite one (RPM ≥ 4.16) and the older Berkeley DB hash file
//! ([`collect::bdb`]) are read; hosts with SUSE's ndb report no RPM packages.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod agent;
pub mod client;
pub mod collect;
mod error;
pub mod identity;
pub mod state;

pub use agent::{Agent, AgentConfig, Command};
pub use client::{Client, Reply};
pub use collect::{CollectOptions, collect};
pub use error::AgentError;
