//! The ingest path: findings from `portcullis-guard-detect` (or any schema-2.0 finding JSON)
//! merged into a detector's findings as GuardDuty aggregates them (reference guard.md §3.4), with
//! the detector's ARCHIVE filters (suppression rules, §3.5) applied.

use serde_json::{Map, Value, json};

use crate::criteria::{Criteria, id_of};
use crate::error::{GuardApiError, Result};
use crate::state::{Detector, Filter, GuardApi, collections as c, cond_of};
use crate::wire::{PRIVATE, iso_millis};

/// How often a finding write that lost a race is retried.
const RETRIES: u32 = 8;

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// New findings stored.
    pub created: usize,
    /// Existing findings updated (count, `updatedAt`, action).
    pub updated: usize,
    /// Findings archived by an ARCHIVE filter.
    pub suppressed: usize,
    /// Documents refused (no `id` or `type`, or not an object).
    pub rejected: usize,
}

/// `archivedBy` in the private member: `manual` or `filter:<name>`.
fn archived_by(f: &Value) -> Option<&str> {
    f.get(PRIVATE)
        .and_then(|p| p.get("archivedBy"))
        .and_then(Value::as_str)
}

/// Sets `service.archived` and records who did it (`None`: unarchived).
pub fn set_archived(f: &mut Value, by: Option<&str>) {
    if let Some(s) = f.get_mut("service").and_then(Value::as_object_mut) {
        s.insert("archived".into(), Value::Bool(by.is_some()));
    }
    if let Some(o) = f.as_object_mut() {
        let p = o
            .entry(PRIVATE)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(p) = p.as_object_mut() {
            match by {
                Some(b) => {
                    p.insert("archivedBy".into(), json!(b));
                }
                None => {
                    p.remove("archivedBy");
                }
            }
        }
    }
}

/// Whether a finding is archived.
pub fn is_archived(f: &Value) -> bool {
    f.get("service")
        .and_then(|s| s.get("archived"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn valid_id(s: &str) -> bool {
    (1..=300).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Fills what a schema-2.0 finding needs and binds it to the detector.
pub(crate) fn normalize(mut f: Value, d: &Detector, now: &str) -> Option<Value> {
    let id = f.get("id").and_then(Value::as_str)?.to_owned();
    let ty = f.get("type").and_then(Value::as_str)?.to_owned();
    if !valid_id(&id) || !(1..=100).contains(&ty.len()) {
        return None;
    }
    let o = f.as_object_mut()?;
    o.remove(PRIVATE);
    o.entry("schemaVersion").or_insert(json!("2.0"));
    o.entry("accountId").or_insert(json!(d.account));
    o.entry("region").or_insert(json!(d.region));
    o.entry("partition").or_insert(json!("aws"));
    o.entry("createdAt").or_insert(json!(now));
    o.entry("updatedAt").or_insert(json!(now));
    o.entry("resource")
        .or_insert(json!({"resourceType": "Unknown"}));
    if !o.get("severity").is_some_and(Value::is_number) {
        o.insert("severity".into(), json!(5.0));
    }
    let account = o
        .get("accountId")
        .and_then(Value::as_str)
        .unwrap_or(&d.account)
        .to_owned();
    let region = o
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or(&d.region)
        .to_owned();
    o.insert(
        "arn".into(),
        json!(format!(
            "arn:aws:guardduty:{region}:{account}:detector/{}/finding/{id}",
            d.id
        )),
    );
    let created = o.get("createdAt").cloned().unwrap_or(json!(now));
    let svc = o
        .entry("service")
        .or_insert_with(|| Value::Object(Map::new()));
    let s = svc.as_object_mut()?;
    s.insert("serviceName".into(), json!("guardduty"));
    s.insert("detectorId".into(), json!(d.id));
    s.insert("archived".into(), json!(false));
    if !s.get("count").is_some_and(Value::is_u64) {
        s.insert("count".into(), json!(1));
    }
    s.entry("eventFirstSeen").or_insert(created.clone());
    s.entry("eventLastSeen").or_insert(created);
    s.entry("action").or_insert(json!({}));
    s.entry("additionalInfo").or_insert(json!({}));
    Some(f)
}

fn str_at<'a>(v: &'a Value, a: &str, b: Option<&str>) -> Option<&'a str> {
    let x = v.get(a)?;
    match b {
        Some(b) => x.get(b)?.as_str(),
        None => x.as_str(),
    }
}

/// Merges a new occurrence into the stored finding (GuardDuty's aggregation): same `id`,
/// `service.count` added, `updatedAt`/`eventLastSeen` moved forward, the action overwritten, a
/// manually archived finding back in the current list (a filter-archived one stays archived).
pub fn merge(existing: &mut Value, new: Value) {
    let add = new
        .get("service")
        .and_then(|s| s.get("count"))
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    let newer = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => b > a,
        (None, Some(_)) => true,
        _ => false,
    };
    let upd = str_at(&new, "updatedAt", None).map(str::to_owned);
    if newer(str_at(existing, "updatedAt", None), upd.as_deref())
        && let (Some(u), Some(o)) = (upd, existing.as_object_mut())
    {
        o.insert("updatedAt".into(), json!(u));
    }
    if let Some(sev) = new.get("severity").and_then(Value::as_f64)
        && existing
            .get("severity")
            .and_then(Value::as_f64)
            .is_none_or(|s| sev > s)
        && let Some(o) = existing.as_object_mut()
    {
        o.insert("severity".into(), json!(sev));
    }
    for k in ["description", "title"] {
        if let (Some(v), Some(o)) = (new.get(k).cloned(), existing.as_object_mut())
            && v.as_str().is_some_and(|s| !s.is_empty())
        {
            o.insert(k.into(), v);
        }
    }
    let last = str_at(&new, "service", Some("eventLastSeen")).map(str::to_owned);
    let first = str_at(&new, "service", Some("eventFirstSeen")).map(str::to_owned);
    let manual = archived_by(existing) == Some("manual");
    let Some(ns) = new.get("service").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(s) = existing.get_mut("service").and_then(Value::as_object_mut) {
        let count = s.get("count").and_then(Value::as_u64).unwrap_or(1);
        s.insert("count".into(), json!(count.saturating_add(add)));
        if let Some(l) = last
            && s.get("eventLastSeen")
                .and_then(Value::as_str)
                .is_none_or(|e| l.as_str() > e)
        {
            s.insert("eventLastSeen".into(), json!(l));
        }
        if let Some(f) = first
            && s.get("eventFirstSeen")
                .and_then(Value::as_str)
                .is_none_or(|e| f.as_str() < e)
        {
            s.insert("eventFirstSeen".into(), json!(f));
        }
        if let Some(a) = ns.get("action") {
            s.insert("action".into(), a.clone());
        }
        if let Some(Value::Object(info)) = ns.get("additionalInfo") {
            let e = s
                .entry("additionalInfo")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(e) = e.as_object_mut() {
                for (k, v) in info {
                    if k == "sourceLocations" && e.contains_key(k) {
                        continue;
                    }
                    e.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(Value::Object(ev)) = ns.get("evidence") {
            let mine = s
                .entry("evidence")
                .or_insert_with(|| json!({"threatIntelligenceDetails": []}));
            if let (Some(Value::Array(add)), Some(Value::Array(have))) = (
                ev.get("threatIntelligenceDetails"),
                mine.get_mut("threatIntelligenceDetails"),
            ) {
                for d in add {
                    let name = d.get("threatListName");
                    if !have.iter().any(|h| h.get("threatListName") == name) {
                        have.push(d.clone());
                    }
                }
            }
        }
    }
    if manual {
        set_archived(existing, None);
    }
}

/// A detector's ARCHIVE filters with their criteria, in rank order.
pub async fn archive_filters(api: &GuardApi, detector_id: &str) -> Result<Vec<(String, Criteria)>> {
    let mut filters: Vec<Filter> = api
        .list::<Filter>(c::FILTERS, &format!("{detector_id}/"))
        .await?
        .into_iter()
        .map(|f| f.value)
        .filter(|f| f.action == "ARCHIVE")
        .collect();
    filters.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.name.cmp(&b.name)));
    let mut out = Vec::new();
    for f in filters {
        match Criteria::parse(Some(&f.finding_criteria)) {
            Ok(c) if !c.is_empty() => out.push((f.name, c)),
            Ok(_) => {}
            Err(e) => tracing::warn!(filter = %f.name, error = %e, "stored filter does not parse"),
        }
    }
    Ok(out)
}

/// Archives `f` when an ARCHIVE filter matches it; returns whether one did.
pub fn suppress(f: &mut Value, filters: &[(String, Criteria)]) -> bool {
    if is_archived(f) {
        return false;
    }
    if let Some((name, _)) = filters.iter().find(|(_, c)| c.matches(f)) {
        set_archived(f, Some(&format!("filter:{name}")));
        return true;
    }
    false
}

impl GuardApi {
    /// Merges findings into detector `detector_id`'s findings: a new `id` is stored, a known one
    /// is aggregated ([`merge`]); then the detector's ARCHIVE filters archive what they match.
    /// Findings are bound to the detector (`service.detectorId`, `arn`). Fails with
    /// `BadRequest` for an unknown detector.
    pub async fn ingest_findings(
        &self,
        detector_id: &str,
        findings: Vec<Value>,
    ) -> Result<IngestReport> {
        let d = self.detector_by_id(detector_id).await?.ok_or_else(|| {
            GuardApiError::BadRequest(format!("No detector with id {detector_id}."))
        })?;
        let d = d.value;
        let filters = archive_filters(self, &d.id).await?;
        let now = iso_millis(time::OffsetDateTime::now_utc());
        let mut report = IngestReport::default();
        for f in findings {
            let Some(f) = normalize(f, &d, &now) else {
                report.rejected += 1;
                continue;
            };
            let key = format!("{}/{}", d.id, id_of(&f));
            let mut attempt = 0;
            loop {
                attempt += 1;
                let current = self.store.get(c::FINDINGS, &key).await?;
                let (mut doc, version, fresh) = match current {
                    Some(item) => {
                        let mut e = item.value;
                        merge(&mut e, f.clone());
                        (e, item.version, false)
                    }
                    None => (f.clone(), 0, true),
                };
                let suppressed = suppress(&mut doc, &filters);
                match self
                    .store
                    .put(c::FINDINGS, &key, &doc, cond_of(version))
                    .await
                {
                    Ok(_) => {
                        if fresh {
                            report.created += 1;
                        } else {
                            report.updated += 1;
                        }
                        if suppressed {
                            report.suppressed += 1;
                        }
                        break;
                    }
                    Err(e) if e.is_condition_failed() && attempt < RETRIES => {
                        tokio::task::yield_now().await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(report)
    }

    /// [`GuardApi::ingest_findings`] for the findings of a `portcullis-guard-detect` run.
    pub async fn ingest_detected(
        &self,
        detector_id: &str,
        findings: &[&portcullis_guard_detect::Finding],
    ) -> Result<IngestReport> {
        let docs = findings
            .iter()
            .map(|f| serde_json::to_value(f).map_err(|e| GuardApiError::Internal(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        self.ingest_findings(detector_id, docs).await
    }

    /// Every stored finding of a detector (in `id` order).
    pub async fn findings_of(&self, detector_id: &str) -> Result<Vec<(Value, u64)>> {
        Ok(self
            .list::<Value>(c::FINDINGS, &format!("{detector_id}/"))
            .await?
            .into_iter()
            .map(|v| (v.value, v.version))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_counts_and_unarchives_manual() {
        let mut a = json!({"id": "x", "updatedAt": "2024-01-01T00:00:00.000Z", "severity": 2.0,
            "service": {"count": 2, "eventFirstSeen": "2024-01-01T00:00:00.000Z", "eventLastSeen": "2024-01-01T00:00:00.000Z",
                        "archived": false, "action": {"actionType": "A"}, "additionalInfo": {"sourceLocations": ["f:1"]}}});
        set_archived(&mut a, Some("manual"));
        let b = json!({"id": "x", "updatedAt": "2024-01-02T00:00:00.000Z", "severity": 5.0,
            "service": {"count": 3, "eventFirstSeen": "2024-01-02T00:00:00.000Z", "eventLastSeen": "2024-01-02T00:00:00.000Z",
                        "action": {"actionType": "B"}, "additionalInfo": {"sourceLocations": ["f:9"], "k": 1}}});
        merge(&mut a, b);
        assert_eq!(a["service"]["count"], 5);
        assert_eq!(a["updatedAt"], "2024-01-02T00:00:00.000Z");
        assert_eq!(a["service"]["eventFirstSeen"], "2024-01-01T00:00:00.000Z");
        assert_eq!(a["service"]["eventLastSeen"], "2024-01-02T00:00:00.000Z");
        assert_eq!(a["service"]["action"]["actionType"], "B");
        assert_eq!(a["severity"], 5.0);
        assert_eq!(a["service"]["additionalInfo"]["sourceLocations"][0], "f:1");
        assert_eq!(a["service"]["additionalInfo"]["k"], 1);
        assert!(!is_archived(&a));
        // A filter-archived finding stays archived.
        set_archived(&mut a, Some("filter:f"));
        merge(&mut a, json!({"id": "x", "service": {}}));
        assert!(is_archived(&a));
    }
}
