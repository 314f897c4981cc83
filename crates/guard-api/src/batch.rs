//! Ingest in one transaction: findings merged as [`GuardApi::ingest_findings`] merges them,
//! written in one [`Store::write_batch`](portcullis_store::Store::write_batch) together with the
//! caller's own writes (a log source's checkpoints), so a restart never sees the checkpoint
//! without the findings of the records before it, nor the findings without the checkpoint.
//!
//! It also returns the documents as stored, for the exports ("new and updated findings").

use portcullis_store::WriteOp;
use serde_json::Value;

use crate::criteria::id_of;
use crate::error::{GuardApiError, Result};
use crate::ingest::{IngestReport, archive_filters, merge, normalize, suppress};
use crate::state::{GuardApi, collections as c, cond_of};
use crate::wire::iso_millis;

/// How often a batch that lost a write race is rebuilt and retried.
const BATCH_RETRIES: u32 = 16;

/// One finding as a batch stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The stored document (with the private member; render it with
    /// [`crate::wire::render_finding`]).
    pub doc: Value,
    /// True when the finding was new.
    pub created: bool,
    /// True when an ARCHIVE filter archived it (or it was already archived by one).
    pub archived: bool,
}

/// What [`GuardApi::ingest_batch`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    /// Counts as [`GuardApi::ingest_findings`] reports them.
    pub report: IngestReport,
    /// The findings written, as stored.
    pub stored: Vec<Stored>,
}

impl GuardApi {
    /// Merges `findings` into detector `detector_id`'s findings and applies `extra` writes, all
    /// in one atomic batch; a batch that loses a race with another writer is rebuilt from the
    /// current documents and retried. `extra` writes must not touch the findings collection.
    /// Fails with `BadRequest` for an unknown detector.
    pub async fn ingest_batch(
        &self,
        detector_id: &str,
        findings: Vec<Value>,
        extra: Vec<WriteOp>,
    ) -> Result<BatchReport> {
        self.ingest_batch_with(detector_id, findings, extra, &|_| Vec::new())
            .await
    }

    /// [`GuardApi::ingest_batch`] with more writes that depend on the batch's counts: `finish`
    /// sees the report of each attempt and its writes join that attempt's transaction (a
    /// `PutEvents` reply stored under its batch ID says how many findings it created).
    pub async fn ingest_batch_with(
        &self,
        detector_id: &str,
        findings: Vec<Value>,
        extra: Vec<WriteOp>,
        finish: &(dyn Fn(&IngestReport) -> Vec<WriteOp> + Sync),
    ) -> Result<BatchReport> {
        let d = self
            .detector_by_id(detector_id)
            .await?
            .ok_or_else(|| {
                GuardApiError::BadRequest(format!("No detector with id {detector_id}."))
            })?
            .value;
        let filters = archive_filters(self, &d.id).await?;
        let now = iso_millis(time::OffsetDateTime::now_utc());
        let mut rejected = 0;
        // Several occurrences of one finding in the same batch are merged first: one write
        // per key keeps every precondition meaningful.
        let mut by_key: Vec<(String, Value)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for f in findings {
            let Some(f) = normalize(f, &d, &now) else {
                rejected += 1;
                continue;
            };
            let key = format!("{}/{}", d.id, id_of(&f));
            match index.get(&key).and_then(|i| by_key.get_mut(*i)) {
                Some((_, have)) => merge(have, f),
                None => {
                    index.insert(key.clone(), by_key.len());
                    by_key.push((key, f));
                }
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut ops = Vec::with_capacity(by_key.len() + extra.len());
            let mut out = BatchReport::default();
            out.report.rejected = rejected;
            for (key, f) in &by_key {
                let current = self.store.get(c::FINDINGS, key).await?;
                let (mut doc, version, fresh) = match current {
                    Some(item) => {
                        let mut e = item.value;
                        merge(&mut e, f.clone());
                        (e, item.version, false)
                    }
                    None => (f.clone(), 0, true),
                };
                let suppressed = suppress(&mut doc, &filters);
                if fresh {
                    out.report.created += 1;
                } else {
                    out.report.updated += 1;
                }
                if suppressed {
                    out.report.suppressed += 1;
                }
                let archived = crate::ingest::is_archived(&doc);
                ops.push(WriteOp::put(
                    c::FINDINGS,
                    key,
                    doc.clone(),
                    cond_of(version),
                ));
                out.stored.push(Stored {
                    doc,
                    created: fresh,
                    archived,
                });
            }
            ops.extend(extra.iter().cloned());
            ops.extend(finish(&out.report));
            if ops.is_empty() {
                return Ok(out);
            }
            match self.store.write_batch(&ops).await {
                Ok(()) => return Ok(out),
                Err(e) if e.is_condition_failed() && attempt < BATCH_RETRIES => {
                    tokio::task::yield_now().await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_iam_api::Authorizer;
    use portcullis_iam_api::repo::Repo;
    use portcullis_store::Precondition;
    use serde_json::json;

    fn finding(count: u64) -> Value {
        json!({"id": "f1", "type": "Recon:EC2/Portscan", "severity": 2.0,
               "service": {"count": count, "action": {"actionType": "PORT_PROBE"}}})
    }

    #[tokio::test]
    async fn findings_and_extra_writes_commit_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let api = GuardApi::new(store.clone(), Authorizer::new(Repo::new(store.clone())));
        let d = api
            .ensure_detector("111122223333", "us-east-1")
            .await
            .unwrap();
        assert_eq!(
            api.ensure_detector("111122223333", "us-east-1")
                .await
                .unwrap()
                .id,
            d.id
        );
        let cp = |v: i64| WriteOp::put("cps", "k", json!({"offset": v}), Precondition::None);
        // Two occurrences in one batch are one write; the checkpoint goes with them.
        let r = api
            .ingest_batch(&d.id, vec![finding(2), finding(3)], vec![cp(10)])
            .await
            .unwrap();
        assert_eq!((r.report.created, r.report.updated), (1, 0));
        assert_eq!(r.stored.len(), 1);
        assert_eq!(r.stored[0].doc["service"]["count"], 5);
        assert_eq!(
            store.get("cps", "k").await.unwrap().unwrap().value["offset"],
            10
        );
        // A failing extra write leaves the findings as they were.
        let bad = WriteOp::put("cps", "k", json!({}), Precondition::Absent);
        let err = api.ingest_batch(&d.id, vec![finding(4)], vec![bad]).await;
        assert!(err.is_err());
        let (f, _) = api.findings_of(&d.id).await.unwrap().remove(0);
        assert_eq!(f["service"]["count"], 5);
        // Writes computed from the counts join the same transaction.
        let r = api
            .ingest_batch_with(&d.id, vec![finding(1)], vec![], &|rep| {
                vec![WriteOp::put(
                    "marks",
                    "m",
                    json!({"updated": rep.updated}),
                    Precondition::None,
                )]
            })
            .await
            .unwrap();
        assert_eq!(r.report.updated, 1);
        assert_eq!(
            store.get("marks", "m").await.unwrap().unwrap().value["updated"],
            1
        );
        // Unknown detector.
        assert!(
            api.ingest_batch("nope", vec![finding(1)], vec![])
                .await
                .is_err()
        );
    }
}
