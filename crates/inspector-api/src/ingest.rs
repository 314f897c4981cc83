//! Agent reports into the store, and findings kept in step with each host's inventory.
//!
//! [`InspectorApi::ingest`] stores a full inventory or applies a delta whose `base` is the
//! acknowledged sequence (otherwise `ConflictException`: the agent then sends a full report),
//! then re-evaluates the host when its inventory or the advisory index changed. Each finding
//! is keyed by (account, host, what it is about), so its ARN is stable: it is created
//! `ACTIVE` (or `SUPPRESSED` when a SUPPRESS filter matches), updated in place while observed,
//! and `CLOSED` when the package is upgraded or removed or the check passes. When the
//! packages could not be matched (no advisory index), package findings are left as they are
//! rather than closed.

use std::collections::BTreeMap;
use std::time::Duration;

use portcullis_inspector_core::inventory::{CloudIdentity, InventoryReport, ReportBody};
use portcullis_store::WriteOp;
use serde_json::{Map, Value, json};

use crate::criteria::{Criteria, Scope, finding_matches};
use crate::error::{InspectorApiError, Result};
use crate::evaluate::{Evaluation, Observed, evaluate};
use crate::state::{
    FilterRecord, FindingMeta, Host, InspectorApi, PRIVATE, PackageScan, Versioned,
    collections as c, cond_of, digest32, finding_arn,
};

/// Longest agent id accepted.
pub const MAX_AGENT_ID: usize = 128;

/// What one report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The sequence now acknowledged.
    pub acknowledged: u64,
    /// Whether the findings were re-evaluated.
    pub evaluated: bool,
    /// Findings written (created, updated or closed).
    pub findings_written: usize,
}

/// Checks an agent id: 1–128 characters of `[A-Za-z0-9._:-]` (it is a store key segment).
pub fn valid_agent_id(id: &str) -> bool {
    (1..=MAX_AGENT_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// The SUPPRESS filters of an account, parsed.
pub(crate) fn suppressors(filters: &[FilterRecord]) -> Vec<Criteria> {
    filters
        .iter()
        .filter(|f| f.action == "SUPPRESS")
        .filter_map(|f| Criteria::parse(Some(&f.criteria), Scope::Findings).ok())
        .collect()
}

/// The status an open finding has under the account's SUPPRESS filters.
pub(crate) fn open_status(doc: &Value, suppress: &[Criteria]) -> &'static str {
    let mut probe = doc.clone();
    if let Some(o) = probe.as_object_mut() {
        o.insert("status".into(), json!("ACTIVE"));
    }
    if suppress.iter().any(|c| finding_matches(c, &probe)) {
        "SUPPRESSED"
    } else {
        "ACTIVE"
    }
}

fn same_content(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("lastObservedAt");
            o.remove("updatedAt");
        }
        v
    };
    strip(a) == strip(b)
}

/// The stored finding's bookkeeping.
pub fn meta_of(doc: &Value) -> Option<FindingMeta> {
    serde_json::from_value(doc.get(PRIVATE)?.clone()).ok()
}

impl InspectorApi {
    /// The account's filters.
    pub async fn filters_of(&self, account: &str) -> Result<Vec<FilterRecord>> {
        Ok(self
            .list::<FilterRecord>(c::FILTERS, &format!("{account}/"))
            .await?
            .into_iter()
            .map(|(_, f)| f.value)
            .collect())
    }

    /// Stores one agent report for `account` (received at `now`, Unix seconds) and
    /// re-evaluates the host's findings when something changed.
    pub async fn ingest(
        &self,
        account: &str,
        region: &str,
        report: InventoryReport,
        now: f64,
    ) -> Result<Ack> {
        if !valid_agent_id(&report.agent_id) {
            return Err(InspectorApiError::field(
                "agentId",
                "must be 1 to 128 characters of letters, digits, '.', '_', ':' and '-'",
            ));
        }
        if report.hostname.chars().count() > 255 || report.agent_version.chars().count() > 128 {
            return Err(InspectorApiError::field("hostname", "is too long"));
        }
        if report
            .cloud
            .as_ref()
            .is_some_and(|c| !CloudIdentity::valid_instance_id(&c.instance_id))
        {
            return Err(InspectorApiError::field(
                "cloud.instanceId",
                "must be 1 to 64 characters of letters, digits, '.', '_', ':' and '-'",
            ));
        }
        let key = format!("{account}/{}", report.agent_id);
        let stored = self.get::<Host>(c::HOSTS, &key).await?;
        let version = stored.as_ref().map_or(0, |h| h.version);
        let before = stored
            .as_ref()
            .map(|h| (h.value.cloud.clone(), h.value.inventory.listeners.clone()));
        let cloud = report.cloud.clone();
        let (mut host, changed) = match (report.body, stored) {
            (ReportBody::Full { inventory }, old) => {
                let first_seen = old.as_ref().map_or(now, |h| h.value.first_seen);
                let changed = old.as_ref().is_none_or(|h| h.value.inventory != *inventory);
                let package_scan = old.map_or(PackageScan::NoIndex, |h| h.value.package_scan);
                (
                    Host {
                        agent_id: report.agent_id.clone(),
                        account: account.to_owned(),
                        region: region.to_owned(),
                        hostname: report.hostname.clone(),
                        agent_version: report.agent_version.clone(),
                        sequence: report.sequence,
                        collected_at: report.collected_at,
                        first_seen,
                        last_report_at: now,
                        last_evaluated_at: 0.0,
                        package_scan,
                        inventory: *inventory,
                        cloud: None,
                    },
                    changed,
                )
            }
            (ReportBody::Delta { base, delta }, Some(old)) if old.value.sequence == base => {
                let mut h = old.value;
                let changed = !delta.is_empty();
                h.inventory.apply(*delta);
                h.sequence = report.sequence;
                h.collected_at = report.collected_at;
                h.hostname = report.hostname.clone();
                h.agent_version = report.agent_version.clone();
                h.region = region.to_owned();
                h.last_report_at = now;
                (h, changed)
            }
            (ReportBody::Delta { base, .. }, old) => {
                let held = old.map_or_else(
                    || "no inventory".to_owned(),
                    |h| format!("sequence {}", h.value.sequence),
                );
                return Err(InspectorApiError::Conflict {
                    message: format!(
                        "The delta applies to sequence {base} but the server holds {held}; send a full report."
                    ),
                    resource_id: report.agent_id,
                    resource_type: "AGENT_INVENTORY",
                });
            }
        };
        host.cloud = cloud;
        let index_moved = match (&host.package_scan, self.index.snapshot()) {
            (PackageScan::Scanned { tag }, Some(s)) => *tag != s.tag,
            (PackageScan::Scanned { .. }, None) => false,
            (_, Some(_)) => true,
            (_, None) => false,
        };
        let evaluate_now = changed || index_moved || version == 0;
        let mut ops = Vec::new();
        if evaluate_now {
            let eval = evaluate(&host, self.index.snapshot().as_ref(), &self.index.status());
            host.package_scan = eval.package_scan.clone();
            host.last_evaluated_at = now;
            ops = self.reconcile(&host, eval, now).await?;
        }
        // The network findings of the instance follow its listeners and identity.
        let now_seen = (host.cloud.clone(), host.inventory.listeners.clone());
        if before.as_ref() != Some(&now_seen) {
            ops.extend(self.network_ops_for_host(&host, before, now).await?);
        }
        let written = ops.len();
        let host_doc = serde_json::to_value(&host)
            .map_err(|e| InspectorApiError::Internal(format!("host does not encode: {e}")))?;
        ops.push(WriteOp::put(c::HOSTS, &key, host_doc, cond_of(version)));
        self.store.write_batch(&ops).await?;
        Ok(Ack {
            acknowledged: host.sequence,
            evaluated: evaluate_now,
            findings_written: written,
        })
    }

    /// The writes that bring a host's stored findings in line with an evaluation.
    pub(crate) async fn reconcile(
        &self,
        host: &Host,
        eval: Evaluation,
        now: f64,
    ) -> Result<Vec<WriteOp>> {
        let packages_scanned = eval.packages_scanned();
        self.reconcile_owner(
            &host.account,
            &host.region,
            &host.agent_id,
            eval.observed,
            packages_scanned,
            now,
        )
        .await
    }

    /// The writes that bring the findings stored under `{account}/{owner}/` in line with
    /// `observed`: new ones open, changed ones update, missing ones close (package findings
    /// only when `packages_scanned`).
    pub(crate) async fn reconcile_owner(
        &self,
        account: &str,
        region: &str,
        owner: &str,
        observed: Vec<Observed>,
        packages_scanned: bool,
        now: f64,
    ) -> Result<Vec<WriteOp>> {
        let suppress = suppressors(&self.filters_of(account).await?);
        let prefix = format!("{account}/{owner}/");
        let mut existing: BTreeMap<String, (String, Versioned<Value>)> = BTreeMap::new();
        for (k, v) in self.list::<Value>(c::FINDINGS, &prefix).await? {
            if let Some(m) = meta_of(&v.value) {
                existing.insert(m.key, (k, v));
            }
        }
        let mut ops = Vec::new();
        for o in observed {
            let id = digest32(&[account, owner, &o.key]);
            let store_key = format!("{prefix}{id}");
            let old = existing.remove(&o.key);
            let mut doc: Map<String, Value> = o.body;
            doc.insert(
                "findingArn".into(),
                json!(finding_arn(region, account, &id)),
            );
            doc.insert("awsAccountId".into(), json!(account));
            let (first, old_doc, version) = match &old {
                Some((_, v)) => (
                    v.value
                        .get("firstObservedAt")
                        .cloned()
                        .unwrap_or(json!(now)),
                    Some(&v.value),
                    v.version,
                ),
                None => (json!(now), None, 0),
            };
            doc.insert("firstObservedAt".into(), first);
            doc.insert("lastObservedAt".into(), json!(now));
            doc.insert(
                "updatedAt".into(),
                old_doc
                    .and_then(|d| d.get("updatedAt").cloned())
                    .unwrap_or(json!(now)),
            );
            let meta = FindingMeta {
                agent_id: owner.to_owned(),
                key: o.key.clone(),
                open: true,
            };
            doc.insert(PRIVATE.into(), json!(meta));
            let mut doc = Value::Object(doc);
            let status = open_status(&doc, &suppress);
            if let Some(d) = doc.as_object_mut() {
                d.insert("status".into(), json!(status));
            }
            if let Some(prev) = old_doc
                && !same_content(prev, &doc)
                && let Some(d) = doc.as_object_mut()
            {
                d.insert("updatedAt".into(), json!(now));
            }
            ops.push(WriteOp::put(c::FINDINGS, &store_key, doc, cond_of(version)));
        }
        for (key, (store_key, v)) in existing {
            let Some(mut meta) = meta_of(&v.value) else {
                continue;
            };
            if !meta.open || (key.starts_with("pkg|") && !packages_scanned) {
                continue;
            }
            meta.open = false;
            let mut doc = v.value.clone();
            if let Some(d) = doc.as_object_mut() {
                d.insert("status".into(), json!("CLOSED"));
                d.insert("updatedAt".into(), json!(now));
                d.insert(PRIVATE.into(), json!(meta));
            }
            ops.push(WriteOp::put(
                c::FINDINGS,
                &store_key,
                doc,
                cond_of(v.version),
            ));
        }
        Ok(ops)
    }

    /// Re-evaluates one stored host now (after the advisory index changed).
    pub async fn reevaluate(&self, account: &str, agent_id: &str, now: f64) -> Result<usize> {
        let key = format!("{account}/{agent_id}");
        let Some(stored) = self.get::<Host>(c::HOSTS, &key).await? else {
            return Ok(0);
        };
        let mut host = stored.value;
        let eval = evaluate(&host, self.index.snapshot().as_ref(), &self.index.status());
        host.package_scan = eval.package_scan.clone();
        host.last_evaluated_at = now;
        let mut ops = self.reconcile(&host, eval, now).await?;
        let written = ops.len();
        let host_doc = serde_json::to_value(&host)
            .map_err(|e| InspectorApiError::Internal(format!("host does not encode: {e}")))?;
        ops.push(WriteOp::put(
            c::HOSTS,
            &key,
            host_doc,
            cond_of(stored.version),
        ));
        self.store.write_batch(&ops).await?;
        Ok(written)
    }

    /// Re-evaluates every host not yet evaluated against the current index (each retried a
    /// few times if a report races it). A restart that reloads the same index file rewrites
    /// nothing.
    pub async fn reevaluate_all(&self, now: f64) -> Result<usize> {
        let hosts = self.list::<Host>(c::HOSTS, "").await?;
        let current = self.index.snapshot().map(|s| s.tag);
        let mut written = 0;
        for (_, h) in hosts {
            if let (PackageScan::Scanned { tag }, Some(cur)) = (&h.value.package_scan, &current)
                && tag == cur
            {
                continue;
            }
            for attempt in 0..4 {
                match self
                    .reevaluate(&h.value.account, &h.value.agent_id, now)
                    .await
                {
                    Ok(n) => {
                        written += n;
                        break;
                    }
                    Err(InspectorApiError::Store(e)) if e.is_condition_failed() && attempt < 3 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(written)
    }

    /// Reloads the advisory index when its file changes (checked every `every`, on a blocking
    /// thread) and re-evaluates every host after a reload. Requests never wait for it.
    pub fn spawn_index_watcher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let api = self.clone();
        tokio::spawn(async move {
            loop {
                let idx = api.index.clone();
                let reloaded = tokio::task::spawn_blocking(move || idx.refresh())
                    .await
                    .unwrap_or(false);
                if reloaded {
                    let now = crate::state::secs(time::OffsetDateTime::now_utc());
                    match api.reevaluate_all(now).await {
                        Ok(n) => tracing::info!(
                            findings = n,
                            "hosts re-evaluated against the new advisory index"
                        ),
                        Err(e) => tracing::warn!(error = %e, "re-evaluating hosts failed"),
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Applies the account's SUPPRESS filters to its open findings (after a filter changed).
    pub async fn apply_filters(&self, account: &str) -> Result<usize> {
        let suppress = suppressors(&self.filters_of(account).await?);
        let mut ops = Vec::new();
        for (k, v) in self
            .list::<Value>(c::FINDINGS, &format!("{account}/"))
            .await?
        {
            if !meta_of(&v.value).is_some_and(|m| m.open) {
                continue;
            }
            let want = open_status(&v.value, &suppress);
            if v.value.get("status").and_then(Value::as_str) == Some(want) {
                continue;
            }
            let mut doc = v.value.clone();
            if let Some(d) = doc.as_object_mut() {
                d.insert("status".into(), json!(want));
            }
            ops.push(WriteOp::put(c::FINDINGS, &k, doc, cond_of(v.version)));
        }
        for chunk in ops.chunks(200) {
            self.store.write_batch(chunk).await?;
        }
        Ok(ops.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids() {
        assert!(valid_agent_id("i-0abc.host_1:x"));
        assert!(!valid_agent_id(""));
        assert!(!valid_agent_id("a/b"));
        assert!(!valid_agent_id(&"a".repeat(129)));
    }
}
