//! [`FindingStore`]: findings in memory, keyed by (type, resource, type-specific key).
//! New activity for the same key updates the existing finding as GuardDuty does
//! (reference guard.md §3.4 [doc]): same `id`, `service.count` incremented, `updatedAt`
//! and `eventLastSeen` moved, the action overwritten with the latest occurrence.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::finding::{Action, Evidence, Finding, Resource, Service, ThreatIntelligenceDetail};
use crate::time::format_iso_millis;

/// Source locations kept per finding (`file:line` of the first records that explain it).
pub const MAX_SOURCE_LOCATIONS: usize = 5;

/// One occurrence a detector reports; the store turns it into a new or updated finding.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Finding type.
    pub finding_type: &'static str,
    /// Severity.
    pub severity: f64,
    /// The affected resource.
    pub resource: Resource,
    /// Identity of the resource for aggregation (instance IP/ID, access key, bucket).
    pub resource_key: String,
    /// Type-specific part of the aggregation key (e.g. the remote address, the trail name).
    pub key: String,
    /// `TARGET` / `ACTOR` for network findings.
    pub role: Option<&'static str>,
    /// The observed action.
    pub action: Action,
    /// Unix seconds of the occurrence.
    pub time: i64,
    /// Occurrences this detection stands for (≥ 1).
    pub count: u64,
    /// Title.
    pub title: String,
    /// Description with counts and thresholds.
    pub description: String,
    /// Extra facts for `service.additionalInfo`.
    pub info: Vec<(&'static str, Value)>,
    /// Matching threat lists.
    pub evidence: Vec<ThreatIntelligenceDetail>,
    /// Source locations of the records behind it.
    pub locations: Vec<String>,
    /// Account, when the records carry it.
    pub account_id: Option<String>,
    /// Region, when the records carry it.
    pub region: Option<String>,
}

impl Detection {
    /// A detection with the given identity and everything else empty.
    pub fn new(finding_type: &'static str, severity: f64, resource: Resource, time: i64) -> Self {
        Self {
            finding_type,
            severity,
            resource,
            resource_key: String::new(),
            key: String::new(),
            role: None,
            action: Action::default(),
            time,
            count: 1,
            title: String::new(),
            description: String::new(),
            info: Vec::new(),
            evidence: Vec::new(),
            locations: Vec::new(),
            account_id: None,
            region: None,
        }
    }
}

/// Stable 128-bit digest as 32 hex characters (FNV-1a twice with distinct offsets).
pub fn hex_id(parts: &[&str]) -> String {
    let mut out = String::with_capacity(32);
    for offset in [0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64] {
        let mut h = offset;
        for p in parts {
            for b in p.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// Findings in memory.
#[derive(Debug, Clone)]
pub struct FindingStore {
    detector_id: String,
    default_account: String,
    default_region: String,
    index: HashMap<(String, String, String), usize>,
    findings: Vec<Finding>,
    max_findings: usize,
    dropped: u64,
}

impl FindingStore {
    /// An empty store. Findings beyond `max_findings` distinct keys are counted and dropped.
    pub fn new(detector_id: &str, account: &str, region: &str, max_findings: usize) -> Self {
        Self {
            detector_id: detector_id.to_owned(),
            default_account: account.to_owned(),
            default_region: region.to_owned(),
            index: HashMap::new(),
            findings: Vec::new(),
            max_findings,
            dropped: 0,
        }
    }

    /// Records one occurrence: creates the finding or updates the one with the same key.
    /// Returns the finding's ID (`None` when dropped because the store is full).
    pub fn upsert(&mut self, d: Detection) -> Option<String> {
        let k = (
            d.finding_type.to_owned(),
            d.resource_key.clone(),
            d.key.clone(),
        );
        if let Some(f) = self.index.get(&k).and_then(|&i| self.findings.get_mut(i)) {
            update(f, d);
            return Some(f.id.clone());
        }
        if self.findings.len() >= self.max_findings {
            self.dropped += 1;
            return None;
        }
        let f = self.create(d);
        let id = f.id.clone();
        self.index.insert(k, self.findings.len());
        self.findings.push(f);
        Some(id)
    }

    fn create(&self, d: Detection) -> Finding {
        let account = d.account_id.unwrap_or_else(|| self.default_account.clone());
        let region = d.region.unwrap_or_else(|| self.default_region.clone());
        let id = hex_id(&[d.finding_type, &d.resource_key, &d.key, &account]);
        let when = format_iso_millis(d.time);
        let mut info = Map::new();
        for (k, v) in d.info {
            info.insert(k.to_owned(), v);
        }
        let mut locs = d.locations;
        locs.truncate(MAX_SOURCE_LOCATIONS);
        info.insert(
            "sourceLocations".into(),
            Value::Array(locs.into_iter().map(Value::String).collect()),
        );
        Finding {
            schema_version: "2.0".into(),
            arn: format!(
                "arn:aws:guardduty:{region}:{account}:detector/{}/finding/{id}",
                self.detector_id
            ),
            account_id: account,
            region,
            partition: "aws".into(),
            id,
            finding_type: d.finding_type.to_owned(),
            severity: d.severity,
            title: d.title,
            description: d.description,
            created_at: when.clone(),
            updated_at: when.clone(),
            resource: d.resource,
            service: Service {
                service_name: "guardduty".into(),
                detector_id: self.detector_id.clone(),
                action: d.action,
                resource_role: d.role.map(str::to_owned),
                count: d.count.max(1),
                event_first_seen: when.clone(),
                event_last_seen: when,
                archived: false,
                evidence: (!d.evidence.is_empty()).then_some(Evidence {
                    threat_intelligence_details: d.evidence,
                }),
                additional_info: info,
            },
        }
    }

    /// Every finding, most severe first, then by type and ID (deterministic).
    pub fn findings(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by(|a, b| {
            b.severity
                .total_cmp(&a.severity)
                .then_with(|| a.finding_type.cmp(&b.finding_type))
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// Mutable access for enrichment at the end of a run.
    pub fn findings_mut(&mut self) -> impl Iterator<Item = &mut Finding> {
        self.findings.iter_mut()
    }

    /// Number of findings.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// Occurrences dropped because the store was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

fn update(f: &mut Finding, d: Detection) {
    let when = format_iso_millis(d.time);
    let s = &mut f.service;
    s.count = s.count.saturating_add(d.count.max(1));
    // ISO strings of one format compare in time order.
    if when > s.event_last_seen {
        s.event_last_seen = when.clone();
        f.updated_at = when.clone();
    }
    if when < s.event_first_seen {
        s.event_first_seen = when;
    }
    s.action = d.action;
    if d.severity > f.severity {
        f.severity = d.severity;
    }
    if !d.description.is_empty() {
        f.description = d.description;
    }
    for (k, v) in d.info {
        s.additional_info.insert(k.to_owned(), v);
    }
    if let Some(Value::Array(locs)) = s.additional_info.get_mut("sourceLocations") {
        for l in d.locations {
            if locs.len() >= MAX_SOURCE_LOCATIONS {
                break;
            }
            locs.push(Value::String(l));
        }
    }
    if !d.evidence.is_empty() {
        let ev = s.evidence.get_or_insert_with(Evidence::default);
        for e in d.evidence {
            if !ev
                .threat_intelligence_details
                .iter()
                .any(|x| x.threat_list_name == e.threat_list_name)
            {
                ev.threat_intelligence_details.push(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(t: i64, key: &str) -> Detection {
        let mut d = Detection::new(
            "UnauthorizedAccess:EC2/SSHBruteForce",
            2.0,
            Resource::default(),
            t,
        );
        d.resource_key = "10.0.0.5".into();
        d.key = key.into();
        d.locations = vec![format!("f:{t}")];
        d
    }

    #[test]
    fn repeated_activity_updates_one_finding() {
        let mut s = FindingStore::new("d", "111122223333", "us-east-1", 10);
        let a = s.upsert(det(100, "k")).unwrap();
        let b = s.upsert(det(700, "k")).unwrap();
        assert_eq!(a, b);
        assert_eq!(s.len(), 1);
        let f = s.findings()[0];
        assert_eq!(f.service.count, 2);
        assert_eq!(f.service.event_first_seen, "1970-01-01T00:01:40.000Z");
        assert_eq!(f.service.event_last_seen, "1970-01-01T00:11:40.000Z");
        assert_eq!(f.updated_at, f.service.event_last_seen);
        assert_ne!(f.created_at, f.updated_at);
        assert_eq!(f.id.len(), 32);
        assert!(f.arn.ends_with(&format!("/finding/{}", f.id)));
        assert_eq!(
            f.service.additional_info["sourceLocations"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // A different key is a new finding; a full store drops and counts.
        s.upsert(det(800, "other")).unwrap();
        assert_eq!(s.len(), 2);
        let mut small = FindingStore::new("d", "a", "r", 1);
        small.upsert(det(1, "x"));
        assert!(small.upsert(det(2, "y")).is_none());
        assert_eq!(small.dropped(), 1);
    }
}
