//! Lockfile parsers. Each yields [`Package`]s: the packages a scan matches against advisories.

pub mod cargo;

use serde::{Deserialize, Serialize};

use crate::version::Ecosystem;

/// A package at a version, as found in a lockfile or a package database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The package name as written in the source.
    pub name: String,
    /// The installed version, verbatim (build metadata kept: `0.12.17+1.1.0`).
    pub version: String,
    /// Where it came from (Cargo: the `source` URL), when known.
    pub source: Option<String>,
}
