//! OSV advisory types (schema 1.7) and their evaluation.
//!
//! Own serde model, tolerant by design: unknown fields are ignored, `null` equals absent for every
//! list, and `database_specific` / `ecosystem_specific` are kept verbatim as JSON values. The range
//! algorithm lives in [`range`], CVSS scoring in [`cvss`].

pub mod cvss;
pub mod range;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::version::Ecosystem;

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// Schema version (absent means `1.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Identifier such as `RUSTSEC-2021-0145`.
    pub id: String,
    /// RFC 3339 last modification time (required by the schema; empty when missing).
    #[serde(default, deserialize_with = "nullable")]
    pub modified: String,
    /// RFC 3339 publication time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// RFC 3339 withdrawal time; present means the record must not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// The same vulnerability in other databases.
    #[serde(default, deserialize_with = "nullable")]
    pub aliases: Vec<String>,
    /// Upstream vulnerabilities bundled by this record.
    #[serde(default, deserialize_with = "nullable")]
    pub upstream: Vec<String>,
    /// Related (not identical) vulnerabilities.
    #[serde(default, deserialize_with = "nullable")]
    pub related: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// CommonMark details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Record-level severities.
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<Severity>,
    /// Affected packages.
    #[serde(default, deserialize_with = "nullable")]
    pub affected: Vec<Affected>,
    /// References.
    #[serde(default, deserialize_with = "nullable")]
    pub references: Vec<Reference>,
    /// Credits.
    #[serde(default, deserialize_with = "nullable")]
    pub credits: Vec<Credit>,
    /// Database-specific data, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A `severity[]` entry: the type and the vector (or label) string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, or another string.
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// The vector string (not a number).
    #[serde(default, deserialize_with = "nullable")]
    pub score: String,
}

/// An `affected[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package (absent for some GIT-only records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Per-package severities.
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<Severity>,
    /// Version ranges.
    #[serde(default, deserialize_with = "nullable")]
    pub ranges: Vec<Range>,
    /// Explicitly enumerated affected versions.
    #[serde(default, deserialize_with = "nullable")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data, verbatim (RustSec: `affects{os, arch, functions}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data, verbatim (RustSec: `informational`, `categories`, `cvss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// `affected[].package`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Ecosystem string, e.g. `crates.io`, `Debian:12`.
    #[serde(default, deserialize_with = "nullable")]
    pub ecosystem: String,
    /// Package name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Package URL without version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A `ranges[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM`, `GIT` or another string.
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// Repository (GIT ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Events, in any order.
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
    /// Database-specific data (no effect on evaluation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// One range event. The schema requires exactly one key; a malformed event with several keys is
/// read by [`Event::kind`] with precedence introduced > fixed > last_affected > limit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// `introduced` version (`"0"` = before everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// `fixed` version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// `last_affected` version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// `limit` version (`"*"` = infinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// The kind of an [`Event`] with its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind<'a> {
    /// `introduced`.
    Introduced(&'a str),
    /// `fixed`.
    Fixed(&'a str),
    /// `last_affected`.
    LastAffected(&'a str),
    /// `limit`.
    Limit(&'a str),
}

impl Event {
    /// The event's kind, or `None` for an empty event object.
    pub fn kind(&self) -> Option<EventKind<'_>> {
        if let Some(v) = &self.introduced {
            Some(EventKind::Introduced(v))
        } else if let Some(v) = &self.fixed {
            Some(EventKind::Fixed(v))
        } else if let Some(v) = &self.last_affected {
            Some(EventKind::LastAffected(v))
        } else {
            self.limit.as_deref().map(EventKind::Limit)
        }
    }
}

/// A `references[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Reference type (`ADVISORY`, `FIX`, `WEB`, …).
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// URL.
    #[serde(default, deserialize_with = "nullable")]
    pub url: String,
}

/// A `credits[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// Name of the credited party.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Contact URLs.
    #[serde(default, deserialize_with = "nullable")]
    pub contact: Vec<String>,
    /// Credit type (`FINDER`, `REPORTER`, …).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// RustSec's informational classes (`affected[].database_specific.informational`), which
/// cargo-audit reports as warnings instead of vulnerabilities.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Informational {
    /// The crate is no longer maintained.
    Unmaintained,
    /// The crate has soundness bugs.
    Unsound,
    /// A notice (e.g. a crate name reserved or compromised).
    Notice,
    /// Any other informational value, verbatim.
    Other(String),
}

impl Informational {
    /// The class as cargo-audit names its warning kind.
    pub fn as_str(&self) -> &str {
        match self {
            Informational::Unmaintained => "unmaintained",
            Informational::Unsound => "unsound",
            Informational::Notice => "notice",
            Informational::Other(s) => s,
        }
    }
}

impl Affected {
    /// The parsed ecosystem of the package (None when there is no package).
    pub fn ecosystem(&self) -> Option<(Ecosystem, Option<&str>)> {
        self.package
            .as_ref()
            .map(|p| Ecosystem::parse_osv(&p.ecosystem))
    }

    /// RustSec's informational class, read from `database_specific.informational` (or, for older
    /// exports, `ecosystem_specific.informational`).
    pub fn informational(&self) -> Option<Informational> {
        let get = |v: &Option<Value>| {
            v.as_ref()
                .and_then(|v| v.get("informational"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let s = get(&self.database_specific).or_else(|| get(&self.ecosystem_specific))?;
        Some(match s.to_ascii_lowercase().as_str() {
            "unmaintained" => Informational::Unmaintained,
            "unsound" => Informational::Unsound,
            "notice" => Informational::Notice,
            _ => Informational::Other(s),
        })
    }

    fn affects_list(&self, key: &str) -> Vec<String> {
        self.ecosystem_specific
            .as_ref()
            .and_then(|v| v.get("affects"))
            .and_then(|a| a.get(key))
            .and_then(Value::as_array)
            .map(|xs| {
                xs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// RustSec `ecosystem_specific.affects.os` (empty = every OS).
    pub fn os(&self) -> Vec<String> {
        self.affects_list("os")
    }

    /// RustSec `ecosystem_specific.affects.arch` (empty = every architecture).
    pub fn arch(&self) -> Vec<String> {
        self.affects_list("arch")
    }

    /// RustSec `ecosystem_specific.affects.functions` (affected function paths).
    pub fn functions(&self) -> Vec<String> {
        self.affects_list("functions")
    }
}

impl Advisory {
    /// Whether the record is withdrawn.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.as_deref().is_some_and(|w| !w.is_empty())
    }

    /// All severities: the record-level ones, then each affected entry's.
    pub fn severities(&self) -> impl Iterator<Item = &Severity> {
        self.severity
            .iter()
            .chain(self.affected.iter().flat_map(|a| a.severity.iter()))
    }

    /// The best CVSS score available: the highest-version parsable CVSS v3.x vector's base score
    /// (v4 vectors are parsed and kept but not scored). Falls back to RustSec's
    /// `database_specific.cvss` vector.
    pub fn cvss(&self) -> Option<cvss::Cvss> {
        let mut vectors: Vec<&str> = self.severities().map(|s| s.score.as_str()).collect();
        let fallback = self
            .affected
            .iter()
            .filter_map(|a| a.database_specific.as_ref()?.get("cvss")?.as_str());
        vectors.extend(fallback);
        let parsed: Vec<cvss::Cvss> = vectors
            .into_iter()
            .filter_map(|v| cvss::Cvss::parse(v).ok())
            .collect();
        parsed
            .iter()
            .find(|c| c.base_score().is_some())
            .or_else(|| parsed.first())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTY: &str = r#"{"id":"RUSTSEC-2021-0145","modified":"2023-07-08T12:30:19Z",
      "aliases":["GHSA-g98v-hv3f-hcfr"],"related":null,"severity":[],"unknown_field":1,
      "affected":[{"package":{"ecosystem":"crates.io","name":"atty","purl":"pkg:cargo/atty"},
      "ecosystem_specific":{"affects":{"arch":[],"os":["windows"],"functions":["atty::is"]}},
      "database_specific":{"categories":[],"cvss":null,"informational":"unsound"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}],"versions":[]}]}"#;

    #[test]
    fn parses_rustsec_record() {
        let a: Advisory = serde_json::from_str(ATTY).unwrap();
        assert_eq!(a.id, "RUSTSEC-2021-0145");
        assert!(!a.is_withdrawn());
        let aff = &a.affected[0];
        assert_eq!(aff.informational(), Some(Informational::Unsound));
        assert_eq!(aff.os(), vec!["windows".to_string()]);
        assert_eq!(aff.functions(), vec!["atty::is".to_string()]);
        assert!(aff.arch().is_empty());
        assert_eq!(aff.ecosystem().unwrap().0, Ecosystem::CratesIo);
        assert!(a.cvss().is_none());
    }

    #[test]
    fn yaml_record() {
        let y = "id: PYSEC-1\nmodified: 2021-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: Foo}\n  ranges:\n  - type: ECOSYSTEM\n    events: [{introduced: '0'}, {fixed: '1.0'}]\n";
        let a: Advisory = serde_yaml::from_str(y).unwrap();
        assert_eq!(a.affected[0].ranges[0].events.len(), 2);
        assert_eq!(a.modified, "2021-01-01T00:00:00Z");
    }
}
