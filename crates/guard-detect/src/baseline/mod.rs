//! Learned baselines: per-identity and per-account API profiles from CloudTrail ([`identity`])
//! and per-instance network profiles from VPC Flow Logs ([`network`]), the GuardDuty findings
//! that need "no prior history" (reference guard.md §2.5, §8.1), and their persistence.
//!
//! The account profile is the same shape as an identity's, fed by every principal of the
//! account: what is new to the whole account is more suspicious than what is new to one
//! principal, and what the account does routinely is less (see [`identity`]).
//!
//! **Learning period.** The baseline starts with the first record the engine sees (its time,
//! not the wall clock) and learns for [`Config::baseline_days`] days, during which profiles grow
//! and nothing is reported. `baseline_days = 0` means no learning period: the analysed logs are
//! all the history there is, so anything an identity does for the first time in them is
//! UNSEEN. That is the offline analyzer's default (a detonation log has no training data);
//! the running service uses `[guard] baseline_days` (default [`BASELINE_DAYS`]).
//!
//! **Persistence.** [`Baselines::take_dirty`] hands out the profiles changed since the last
//! call as store documents (key, JSON); [`Baselines::restore`] loads them back. The caller
//! writes them wherever it keeps state (guard-ingest: in the checkpoint transaction).
//!
//! Memory is bounded: profiles live in [`BoundedMap`]s of `max_profiles` (default
//! [`crate::config::MAX_PROFILES`]) and every map inside a profile is capped ([`profile`]).

mod evidence;
pub mod identity;
pub mod network;
pub mod profile;

use std::collections::HashSet;

use crate::window::FastState;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::DetectError;
use crate::window::BoundedMap;
pub use profile::{Frequency, IdentityProfile, InstanceProfile};

/// The running service's default learning period in days (`[guard] baseline_days`).
pub const BASELINE_DAYS: u32 = 7;
/// Distinct list/describe/get APIs an identity never used, within
/// [`DISCOVERY_WINDOW_SECS`], for Discovery:IAMUser/AnomalousBehavior. One new read is
/// curiosity; a burst of them is enumeration (Pacu and Stratus enumerate 10+ at once).
pub const DISCOVERY_MIN_UNSEEN: usize = 5;
/// See [`DISCOVERY_MIN_UNSEEN`].
pub const DISCOVERY_WINDOW_SECS: i64 = 600;
/// History an identity needs before a discovery burst counts: on its first day everything
/// it reads is new, so nothing can be unusual yet.
pub const DISCOVERY_MIN_HISTORY_SECS: i64 = 86_400;
/// History an instance needs before a remote port or a volume can be unusual for it (with
/// no learning period every port is new in the first minutes of a log).
pub const INSTANCE_MIN_HISTORY_SECS: i64 = 86_400;
/// Bytes to one host in one flow window, as a multiple of the instance's usual, for
/// Behavior:EC2/TrafficVolumeUnusual.
pub const VOLUME_FACTOR: f64 = 10.0;
/// ... and at least this many bytes (10 MB): small instances vary a lot in relative terms.
pub const VOLUME_MIN_BYTES: u64 = 10_000_000;
/// Windows of volume an instance needs before its mean means anything.
pub const VOLUME_MIN_SAMPLES: u64 = 5;
/// Profiles handed out per [`Baselines::take_dirty`] call (the rest wait for the next).
pub const MAX_DIRTY_PER_TAKE: usize = 2_000;

/// The store document of the baseline's own facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineMeta {
    /// Unix seconds of the first record: the learning period starts here.
    pub started: Option<i64>,
}

/// A stored identity profile with its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredIdentity {
    identity: String,
    profile: IdentityProfile,
}

/// A stored instance profile with its address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredInstance {
    ip: IpAddr,
    profile: InstanceProfile,
}

/// Every learned profile and the baseline detectors' state.
pub struct Baselines {
    days: u32,
    meta: BaselineMeta,
    meta_dirty: bool,
    pub(crate) identities: BoundedMap<String, IdentityProfile>,
    pub(crate) accounts: BoundedMap<String, IdentityProfile>,
    pub(crate) instances: BoundedMap<IpAddr, InstanceProfile>,
    /// Per identity: the window's start and the never-used APIs called in it (with whether
    /// the call succeeded).
    pub(crate) discovery: BoundedMap<String, (i64, Vec<(String, bool)>)>,
    pub(crate) volume: BoundedMap<(IpAddr, IpAddr), network::VolumeWindow>,
    dirty_ids: HashSet<String, FastState>,
    dirty_accounts: HashSet<String, FastState>,
    dirty_ips: HashSet<IpAddr, FastState>,
    cap: usize,
    pub(crate) volume_factor: f64,
    pub(crate) volume_min_bytes: u64,
    pub(crate) window: i64,
}

impl Baselines {
    /// Empty profiles sized by `cfg`.
    pub fn new(cfg: &Config) -> Self {
        let cap = cfg.max_tracked_keys;
        Self {
            days: cfg.baseline_days,
            meta: BaselineMeta::default(),
            meta_dirty: false,
            identities: BoundedMap::new(cfg.max_profiles.min(cap), i64::MAX),
            accounts: BoundedMap::new(cfg.max_profiles.min(cap), i64::MAX),
            instances: BoundedMap::new(cfg.max_profiles.min(cap), i64::MAX),
            discovery: BoundedMap::new(cap, DISCOVERY_WINDOW_SECS),
            volume: BoundedMap::new(cap, cfg.flow_window_secs),
            dirty_ids: HashSet::default(),
            dirty_accounts: HashSet::default(),
            dirty_ips: HashSet::default(),
            cap,
            volume_factor: cfg.traffic_volume_factor,
            volume_min_bytes: cfg.traffic_volume_min_bytes,
            window: cfg.flow_window_secs.max(1),
        }
    }

    /// The learning period in days.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// Unix seconds of the first record (the start of learning).
    pub fn started(&self) -> Option<i64> {
        self.meta.started
    }

    /// Notes a record at `t`: the first one starts the learning period.
    pub(crate) fn clock(&mut self, t: i64) {
        if self.meta.started.is_none_or(|s| t < s) {
            self.meta.started = Some(t);
            self.meta_dirty = true;
        }
    }

    /// Unix seconds at which learning ends.
    pub fn learning_until(&self) -> Option<i64> {
        self.meta
            .started
            .map(|s| s.saturating_add(i64::from(self.days).saturating_mul(profile::DAY)))
    }

    /// Whether `t` is inside the learning period (nothing is reported then).
    pub fn learning(&self, t: i64) -> bool {
        self.days > 0 && self.learning_until().is_none_or(|end| t < end)
    }

    pub(crate) fn mark_identity(&mut self, key: &str) {
        if self.dirty_ids.len() < self.cap && !self.dirty_ids.contains(key) {
            self.dirty_ids.insert(key.to_owned());
        }
    }

    pub(crate) fn mark_account(&mut self, key: &str) {
        if self.dirty_accounts.len() < self.cap && !self.dirty_accounts.contains(key) {
            self.dirty_accounts.insert(key.to_owned());
        }
    }

    pub(crate) fn mark_instance(&mut self, ip: IpAddr) {
        if self.dirty_ips.len() < self.cap {
            self.dirty_ips.insert(ip);
        }
    }

    /// The profile of an identity (`account|principal`), if learned.
    pub fn identity(&self, key: &str) -> Option<&IdentityProfile> {
        self.identities.get(key)
    }

    /// The profile of an account (every principal's calls), if learned.
    pub fn account(&self, account: &str) -> Option<&IdentityProfile> {
        self.accounts.get(account)
    }

    /// The profile of an instance address, if learned.
    pub fn instance(&self, ip: IpAddr) -> Option<&InstanceProfile> {
        self.instances.get(&ip)
    }

    /// (evicted, tracked) over every table.
    pub fn state(&self) -> (u64, usize) {
        (
            self.identities.evicted()
                + self.accounts.evicted()
                + self.instances.evicted()
                + self.discovery.evicted()
                + self.volume.evicted(),
            self.identities.len()
                + self.accounts.len()
                + self.instances.len()
                + self.discovery.len()
                + self.volume.len(),
        )
    }

    /// Profiles changed since the last call, as `(document key, JSON)`: `meta`,
    /// `id/{hash}`, `acct/{hash}` and `ip/{address}` (at most [`MAX_DIRTY_PER_TAKE`] per call).
    pub fn take_dirty(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if self.meta_dirty {
            self.meta_dirty = false;
            if let Ok(v) = serde_json::to_value(&self.meta) {
                out.push(("meta".to_owned(), v));
            }
        }
        let ids: Vec<String> = self
            .dirty_ids
            .iter()
            .take(MAX_DIRTY_PER_TAKE)
            .cloned()
            .collect();
        for id in ids {
            self.dirty_ids.remove(&id);
            if let Some(p) = self.identities.get(&id) {
                let doc = StoredIdentity {
                    identity: id.clone(),
                    profile: p.clone(),
                };
                if let Ok(v) = serde_json::to_value(&doc) {
                    out.push((identity_doc_key(&id), v));
                }
            }
        }
        let room = MAX_DIRTY_PER_TAKE.saturating_sub(out.len());
        let accounts: Vec<String> = self.dirty_accounts.iter().take(room).cloned().collect();
        for a in accounts {
            self.dirty_accounts.remove(&a);
            if let Some(p) = self.accounts.get(&a) {
                let doc = StoredIdentity {
                    identity: a.clone(),
                    profile: p.clone(),
                };
                if let Ok(v) = serde_json::to_value(&doc) {
                    out.push((account_doc_key(&a), v));
                }
            }
        }
        let room = MAX_DIRTY_PER_TAKE.saturating_sub(out.len());
        let ips: Vec<IpAddr> = self.dirty_ips.iter().take(room).copied().collect();
        for ip in ips {
            self.dirty_ips.remove(&ip);
            if let Some(p) = self.instances.get(&ip) {
                let doc = StoredInstance {
                    ip,
                    profile: p.clone(),
                };
                if let Ok(v) = serde_json::to_value(&doc) {
                    out.push((format!("ip/{ip}"), v));
                }
            }
        }
        out
    }

    /// Loads one document [`Baselines::take_dirty`] produced.
    pub fn restore(&mut self, key: &str, value: Value) -> Result<(), DetectError> {
        let bad = |e: serde_json::Error| DetectError::Baseline {
            key: key.to_owned(),
            message: e.to_string(),
        };
        if key == "meta" {
            let m: BaselineMeta = serde_json::from_value(value).map_err(bad)?;
            if let Some(s) = m.started {
                self.meta.started = Some(self.meta.started.map_or(s, |o| o.min(s)));
            }
        } else if key.starts_with("id/") {
            let d: StoredIdentity = serde_json::from_value(value).map_err(bad)?;
            let last = d.profile.last_seen;
            *self.identities.entry(d.identity, last, Default::default) = d.profile;
        } else if key.starts_with("acct/") {
            let d: StoredIdentity = serde_json::from_value(value).map_err(bad)?;
            let last = d.profile.last_seen;
            *self.accounts.entry(d.identity, last, Default::default) = d.profile;
        } else if key.starts_with("ip/") {
            let d: StoredInstance = serde_json::from_value(value).map_err(bad)?;
            let last = d.profile.last_seen;
            *self.instances.entry(d.ip, last, Default::default) = d.profile;
        } else {
            return Err(DetectError::Baseline {
                key: key.to_owned(),
                message: "not a baseline document key".into(),
            });
        }
        Ok(())
    }
}

/// The document key of an identity's profile (a digest: ARNs hold `/` and `:`).
pub fn identity_doc_key(identity: &str) -> String {
    format!("id/{}", crate::store::hex_id(&[identity]))
}

/// The document key of an account's profile.
pub fn account_doc_key(account: &str) -> String {
    format!("acct/{}", crate::store::hex_id(&["account", account]))
}

#[cfg(test)]
mod tests;
