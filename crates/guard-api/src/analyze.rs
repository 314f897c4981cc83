//! Running `portcullis-guard-detect` for a detector: its ACTIVE threat lists feed the engine, its
//! ACTIVE trusted IP list suppresses flow and CloudTrail findings about those addresses (not DNS
//! findings, as GuardDuty documents), and the findings are ingested with
//! [`GuardApi::ingest_findings`].

use std::path::PathBuf;

use portcullis_guard_core::decode::DecodeOptions;
use portcullis_guard_core::intel::ThreatIntel;
use portcullis_guard_detect::{Config, Engine};
use serde_json::Value;

use crate::criteria::values;
use crate::error::{GuardApiError, Result};
use crate::ingest::IngestReport;
use crate::ops::sets::{load_text, local_path, read_local};
use crate::state::{GuardApi, ListSet, SetKind, collections as c};

/// The largest log file read.
pub const MAX_LOG_BYTES: u64 = 1 << 30;

/// What an analysis did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzeReport {
    /// Files read.
    pub files: usize,
    /// Records decoded and analysed.
    pub records: u64,
    /// Malformed records skipped.
    pub malformed: u64,
    /// Files not read or refused, with why.
    pub refused: Vec<String>,
    /// Findings the engine produced and the trusted IP list dropped.
    pub trusted_dropped: usize,
    /// What the ingest did.
    pub ingest: IngestReport,
}

/// The remote addresses a finding is about.
fn remote_ips(f: &Value) -> Vec<String> {
    [
        "service.action.networkConnectionAction.remoteIpDetails.ipAddressV4",
        "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4",
        "service.action.portProbeAction.portProbeDetails.remoteIpDetails.ipAddressV4",
    ]
    .iter()
    .flat_map(|p| values(f, p))
    .filter_map(|v| v.as_str().map(str::to_owned))
    .collect()
}

/// Whether every remote address of a non-DNS finding is on the trusted list.
pub fn trusted(f: &Value, trusted: &ThreatIntel) -> bool {
    if values(f, "service.action.actionType")
        .first()
        .and_then(|v| v.as_str())
        == Some("DNS_REQUEST")
    {
        return false;
    }
    let ips = remote_ips(f);
    !ips.is_empty()
        && ips.iter().all(|ip| {
            ip.parse()
                .ok()
                .is_some_and(|ip| trusted.match_ip(ip).is_some())
        })
}

impl GuardApi {
    /// The detector's ACTIVE lists of a kind with local locations, loaded into one set of
    /// indicators (lists that no longer load are skipped).
    pub async fn active_lists(&self, detector_id: &str, kind: SetKind) -> Result<ThreatIntel> {
        let mut intel = ThreatIntel::new();
        let sets = self
            .list::<ListSet>(c::SETS, &format!("{detector_id}/{}/", kind.segment()))
            .await?;
        for s in sets.into_iter().map(|s| s.value) {
            let Some(path) = local_path(&s.location).filter(|_| s.status == "ACTIVE") else {
                continue;
            };
            match read_local(path).await {
                Ok(text) => {
                    if let Err(e) =
                        load_text(&mut intel, &text, &s.format, &s.name, kind.max_entries())
                    {
                        tracing::warn!(list = %s.name, error = %e, "list no longer loads");
                    }
                }
                Err(e) => tracing::warn!(list = %s.name, error = %e, "list no longer reads"),
            }
        }
        Ok(intel)
    }

    /// A digest of what a detector's lists are now: every set's ID, status, location and update
    /// time, and the size and modification time of its local file. The lists need reloading
    /// exactly when it changes (an API call or an edit of a list's file).
    pub async fn lists_stamp(&self, detector_id: &str) -> Result<String> {
        let sets = self
            .list::<ListSet>(c::SETS, &format!("{detector_id}/"))
            .await?;
        let mut parts = Vec::new();
        for s in sets.into_iter().map(|s| s.value) {
            let file = match local_path(&s.location) {
                Some(p) => match tokio::fs::metadata(p).await {
                    Ok(m) => {
                        let mtime = m
                            .modified()
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map_or(0, |d| d.as_nanos());
                        format!("{}:{mtime}", m.len())
                    }
                    Err(_) => "missing".to_owned(),
                },
                None => "remote".to_owned(),
            };
            parts.push(format!(
                "{}|{}|{}|{}|{file}",
                s.id, s.status, s.location, s.updated_at
            ));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        Ok(portcullis_guard_detect::store::hex_id(&refs))
    }

    /// Runs the detectors over log files (CloudTrail, VPC Flow Logs, Route 53 Resolver query
    /// logs; gzip or not) for detector `detector_id` and ingests what they find.
    pub async fn analyze_files(
        &self,
        detector_id: &str,
        paths: Vec<PathBuf>,
    ) -> Result<AnalyzeReport> {
        let d = self
            .detector_by_id(detector_id)
            .await?
            .ok_or_else(|| {
                GuardApiError::BadRequest(format!("No detector with id {detector_id}."))
            })?
            .value;
        let threats = self.active_lists(&d.id, SetKind::ThreatIntelSet).await?;
        let trusted_ips = self.active_lists(&d.id, SetKind::IpSet).await?;
        let cfg = Config {
            detector_id: d.id.clone(),
            default_account: d.account.clone(),
            default_region: d.region.clone(),
            ..Config::default()
        };
        let (docs, mut report) = tokio::task::spawn_blocking(move || {
            let mut engine = Engine::new(cfg, threats);
            let opts = DecodeOptions::default();
            let mut report = AnalyzeReport::default();
            for p in &paths {
                let name = p.display().to_string();
                let too_big = std::fs::metadata(p).map(|m| m.len() > MAX_LOG_BYTES);
                let bytes = match too_big {
                    Ok(false) => std::fs::read(p),
                    Ok(true) => {
                        report
                            .refused
                            .push(format!("{name}: larger than {MAX_LOG_BYTES} bytes"));
                        continue;
                    }
                    Err(e) => Err(e),
                };
                match bytes {
                    Ok(b) => {
                        report.files += 1;
                        let r = engine.ingest(&name, &b, &opts);
                        report.records += r.records;
                        report.malformed += r.malformed;
                        if let Some(why) = r.refused {
                            report.refused.push(format!("{name}: {why}"));
                        }
                    }
                    Err(e) => report.refused.push(format!("{name}: {e}")),
                }
            }
            let docs: Vec<Value> = engine
                .findings()
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok())
                .collect();
            (docs, report)
        })
        .await
        .map_err(|e| GuardApiError::Internal(format!("analysis failed: {e}")))?;
        let before = docs.len();
        let docs: Vec<Value> = docs
            .into_iter()
            .filter(|f| !trusted(f, &trusted_ips))
            .collect();
        report.trusted_dropped = before - docs.len();
        report.ingest = self.ingest_findings(&d.id, docs).await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trusted_addresses_suppress_non_dns_findings() {
        let mut t = ThreatIntel::new();
        load_text(&mut t, "93.184.216.34\n", "TXT", "trusted", 10).unwrap();
        let flow = json!({"service": {"action": {"actionType": "NETWORK_CONNECTION",
            "networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": "93.184.216.34"}}}}});
        assert!(trusted(&flow, &t));
        let other = json!({"service": {"action": {"actionType": "NETWORK_CONNECTION",
            "networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": "93.184.216.35"}}}}});
        assert!(!trusted(&other, &t));
        let dns = json!({"service": {"action": {"actionType": "DNS_REQUEST",
            "networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": "93.184.216.34"}}}}});
        assert!(!trusted(&dns, &t));
    }
}
