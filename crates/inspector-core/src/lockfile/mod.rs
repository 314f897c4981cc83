//! Lockfile parsers. Each yields [`Package`]s: the packages a scan matches against advisories.
//!
//! [`LockfileKind::from_file_name`] recognises a lockfile by its file name and
//! [`parse_lockfile`] dispatches to the right parser. Every parser returns
//! [`Error::InvalidLockfile`] (or [`Error::TooLarge`]) on bad input, never panics.

pub mod cargo;
mod cargo_fast;
pub mod golang;
pub mod npm;
pub mod python;
pub mod yarn;

use serde::{Deserialize, Serialize};

use crate::Error;
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

/// The lockfile formats understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockfileKind {
    /// `Cargo.lock` (registry crates only).
    CargoLock,
    /// `package-lock.json` / `npm-shrinkwrap.json`.
    NpmLock,
    /// `yarn.lock`.
    YarnLock,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// A pinned `requirements*.txt`.
    Requirements,
    /// `go.mod`.
    GoMod,
    /// `go.sum`.
    GoSum,
}

impl LockfileKind {
    /// The kind of a file by its name (the last path component), or `None`.
    pub fn from_file_name(name: &str) -> Option<LockfileKind> {
        Some(match name {
            "Cargo.lock" => LockfileKind::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => LockfileKind::NpmLock,
            "yarn.lock" => LockfileKind::YarnLock,
            "poetry.lock" => LockfileKind::PoetryLock,
            "Pipfile.lock" => LockfileKind::PipfileLock,
            "go.mod" => LockfileKind::GoMod,
            "go.sum" => LockfileKind::GoSum,
            n if n.ends_with(".Cargo.lock") => LockfileKind::CargoLock,
            n if n.starts_with("requirements") && n.ends_with(".txt") => LockfileKind::Requirements,
            _ => return None,
        })
    }

    /// The ecosystem its packages belong to.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            LockfileKind::CargoLock => Ecosystem::CratesIo,
            LockfileKind::NpmLock | LockfileKind::YarnLock => Ecosystem::Npm,
            LockfileKind::PoetryLock | LockfileKind::PipfileLock | LockfileKind::Requirements => {
                Ecosystem::PyPI
            }
            LockfileKind::GoMod | LockfileKind::GoSum => Ecosystem::Go,
        }
    }

    /// The Inspector2 `packageManager` value for its packages.
    pub fn package_manager(self) -> &'static str {
        match self {
            LockfileKind::CargoLock => "CARGO",
            LockfileKind::NpmLock => "NPM",
            LockfileKind::YarnLock => "YARN",
            LockfileKind::PoetryLock => "POETRY",
            LockfileKind::PipfileLock => "PIPENV",
            LockfileKind::Requirements => "PIP",
            LockfileKind::GoMod | LockfileKind::GoSum => "GOMOD",
        }
    }
}

pub(crate) fn check_size(what: &'static str, text: &str) -> Result<(), Error> {
    if text.len() > cargo::MAX_LOCKFILE_BYTES {
        return Err(Error::TooLarge {
            what,
            size: text.len(),
            limit: cargo::MAX_LOCKFILE_BYTES,
        });
    }
    Ok(())
}

/// Parses a lockfile of `kind` into the packages to scan (Cargo: registry crates only).
pub fn parse_lockfile(kind: LockfileKind, text: &str) -> Result<Vec<Package>, Error> {
    match kind {
        LockfileKind::CargoLock => Ok(cargo::CargoLock::parse(text)?.into_registry_packages()),
        LockfileKind::NpmLock => npm::parse(text),
        LockfileKind::YarnLock => yarn::parse(text),
        LockfileKind::PoetryLock => python::parse_poetry(text),
        LockfileKind::PipfileLock => python::parse_pipfile_lock(text),
        LockfileKind::Requirements => python::parse_requirements(text),
        LockfileKind::GoMod => golang::parse_go_mod(text),
        LockfileKind::GoSum => golang::parse_go_sum(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert_eq!(
            LockfileKind::from_file_name("Cargo.lock"),
            Some(LockfileKind::CargoLock)
        );
        assert_eq!(
            LockfileKind::from_file_name("bat-HEAD-2ba8db9c.Cargo.lock"),
            Some(LockfileKind::CargoLock)
        );
        assert_eq!(
            LockfileKind::from_file_name("requirements-dev.txt"),
            Some(LockfileKind::Requirements)
        );
        assert_eq!(LockfileKind::from_file_name("README.md"), None);
        assert!(matches!(
            parse_lockfile(LockfileKind::CargoLock, "[[package]]\nname = 3"),
            Err(Error::InvalidLockfile(_))
        ));
    }
}
