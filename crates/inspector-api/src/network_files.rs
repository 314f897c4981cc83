//! Network descriptions kept in files, which the server imports at start and again whenever
//! one changes:
//!
//! - the description `portcullis inspector network import` writes,
//!   `<data_dir>/inspector/network/network.json` (the files it was given, checked and merged);
//! - the configuration's `[inspector] network_files`.
//!
//! Together they are the account's description: every `Describe*` key of every file, in order,
//! becomes one list of pages (the shape `POST /network/import` takes). The server imports the
//! merged description when its SHA-256 differs from the stored one, so restarting with
//! unchanged files writes nothing. A configured file that is missing or not a description
//! fails the server's start (the error names the file); later, a bad edit is logged and the
//! last good description stays in use.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use portcullis_inspector_core::reachability::{Network, analyze};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{InspectorApiError, Result};
use crate::network::ImportSummary;
use crate::state::InspectorApi;

/// The file `inspector network import` writes, relative to the data directory.
pub const IMPORTED_FILE: &str = "inspector/network/network.json";

/// Largest description file read (bytes), as the reachability loader's limit.
pub const MAX_FILE_BYTES: u64 =
    portcullis_inspector_core::reachability::load::MAX_INPUT_BYTES as u64;

/// The key of the merged file that records where it came from (ignored by the loader, which
/// reads only `Describe*` keys).
pub const INFO_KEY: &str = "_portcullis";

/// Where `inspector network import` keeps the description of a data directory.
pub fn imported_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IMPORTED_FILE)
}

fn bad(path: &str, message: impl Into<String>) -> InspectorApiError {
    InspectorApiError::NetworkFile {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Checks that `bytes` is a network description: a JSON object with at least one `Describe*`
/// key whose bodies load. `label` names the file in the error.
pub fn check_description(label: &str, bytes: &[u8]) -> Result<Network> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(label, format!("not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad(
            label,
            "not a JSON object; expected {\"DescribeVpcs\": {...}, \"DescribeInstances\": {...}, ...}",
        ));
    };
    if !map.keys().any(|k| k.starts_with("Describe")) {
        return Err(bad(
            label,
            "has no Describe* key; expected {\"DescribeVpcs\": {...}, \"DescribeInstances\": {...}, ...} \
             (the body of each describe call under its name)",
        ));
    }
    Network::from_snapshot_json(bytes).map_err(|e| bad(label, e.to_string()))
}

/// Reads one description file (at most [`MAX_FILE_BYTES`]) and checks it.
pub fn read_description(path: &Path) -> Result<Vec<u8>> {
    let label = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|e| bad(&label, e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(bad(
            &label,
            format!("{len} bytes is more than the {MAX_FILE_BYTES} read"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| bad(&label, e.to_string()))?;
    check_description(&label, &bytes)?;
    Ok(bytes)
}

/// Merges checked descriptions into one: for every `Describe*` key, the pages of each
/// description in order. `info` (if any) is kept under [`INFO_KEY`].
pub fn merge_descriptions(parts: &[(String, Vec<u8>)], info: Option<Value>) -> Result<Vec<u8>> {
    let mut out = Map::new();
    for (label, bytes) in parts {
        check_description(label, bytes)?;
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
            return Err(bad(label, "not a JSON object"));
        };
        for (key, value) in map {
            if !key.starts_with("Describe") {
                continue;
            }
            let pages = out.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = pages {
                match value {
                    Value::Array(more) => list.extend(more),
                    one => list.push(one),
                }
            }
        }
    }
    if let Some(info) = info {
        out.insert(INFO_KEY.to_owned(), info);
    }
    serde_json::to_vec(&Value::Object(out))
        .map_err(|e| InspectorApiError::Internal(format!("network does not encode: {e}")))
}

/// What a description holds, as `inspector network show` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionSummary {
    /// VPC ids.
    pub vpcs: Vec<String>,
    /// Subnets.
    pub subnets: usize,
    /// Security groups.
    pub security_groups: usize,
    /// Network interfaces.
    pub network_interfaces: usize,
    /// Route tables.
    pub route_tables: usize,
    /// Network ACLs.
    pub network_acls: usize,
    /// Internet gateways.
    pub internet_gateways: usize,
    /// Instance ids.
    pub instances: Vec<String>,
    /// Reachable (ENI, security group, route, protocol, range) entries of the analysis.
    pub reachable_ranges: usize,
}

/// Summarises a description (checked first).
pub fn summarize(label: &str, bytes: &[u8]) -> Result<DescriptionSummary> {
    let net = check_description(label, bytes)?;
    let r = &net.resources;
    let mut vpcs: Vec<String> = r.vpcs.iter().map(|v| v.vpc_id.clone()).collect();
    vpcs.sort();
    vpcs.dedup();
    let mut instances: Vec<String> = r
        .reservations
        .iter()
        .flat_map(|res| &res.instances)
        .map(|i| i.instance_id.clone())
        .collect();
    instances.sort();
    instances.dedup();
    Ok(DescriptionSummary {
        vpcs,
        subnets: r.subnets.len(),
        security_groups: r.security_groups.len(),
        network_interfaces: r.network_interfaces.len(),
        route_tables: r.route_tables.len(),
        network_acls: r.network_acls.len(),
        internet_gateways: r.internet_gateways.len(),
        instances,
        reachable_ranges: analyze(&net).findings.len(),
    })
}

/// The files the server's description is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSources {
    /// `[inspector] network_files`: each must exist and be a description.
    pub files: Vec<PathBuf>,
    /// The file `inspector network import` writes; ignored while it does not exist.
    pub imported: Option<PathBuf>,
}

/// `(modification time, length)` of each source file, `None` where it cannot be read.
pub type Signature = Vec<Option<(SystemTime, u64)>>;

impl NetworkSources {
    /// The configured files and the imported description of `data_dir`.
    pub fn new(files: Vec<PathBuf>, data_dir: &Path) -> Self {
        Self {
            files,
            imported: Some(imported_path(data_dir)),
        }
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.files.iter().chain(self.imported.iter())
    }

    /// What the files look like now (cheap; compared to notice edits).
    pub fn signature(&self) -> Signature {
        self.all()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
            })
            .collect()
    }

    /// Reads, checks and merges every file (blocking). `None` when there is nothing: no
    /// configured file and no imported description.
    pub fn load(&self) -> Result<Option<Vec<u8>>> {
        let mut parts = Vec::new();
        for path in &self.files {
            parts.push((path.display().to_string(), read_description(path)?));
        }
        if let Some(path) = &self.imported
            && path.exists()
        {
            let bytes = read_description(path)?;
            if parts.is_empty() {
                // Already one checked, merged description: import it as written.
                return Ok(Some(bytes));
            }
            parts.push((path.display().to_string(), bytes));
        }
        if parts.is_empty() {
            return Ok(None);
        }
        merge_descriptions(&parts, None).map(Some)
    }
}

/// The hex SHA-256 the stored record of a description carries.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl InspectorApi {
    /// Imports the sources' description into `account` unless the stored one has the same
    /// digest. `Ok(None)`: nothing to import (no files, or unchanged).
    pub async fn sync_network(
        &self,
        sources: &NetworkSources,
        account: &str,
        region: &str,
    ) -> Result<Option<ImportSummary>> {
        let src = sources.clone();
        let loaded = tokio::task::spawn_blocking(move || src.load())
            .await
            .map_err(|e| InspectorApiError::Internal(format!("reading network files: {e}")))??;
        let Some(bytes) = loaded else {
            return Ok(None);
        };
        let stored = self.network_of(account).await?;
        if stored.is_some_and(|r| r.sha256 == digest(&bytes)) {
            return Ok(None);
        }
        let now = crate::state::secs(time::OffsetDateTime::now_utc());
        self.import_network(account, region, &bytes, now)
            .await
            .map(Some)
    }

    /// Checks the sources every `every` and imports their description whenever a file
    /// changed (a bad edit is logged; the last good description stays). Call it after
    /// [`Self::sync_network`] has imported the files at start.
    pub fn spawn_network_watcher(
        &self,
        sources: NetworkSources,
        account: String,
        region: String,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let api = self.clone();
        // Taken now, not when the task first runs: an edit made meanwhile is then noticed.
        let mut seen = sources.signature();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let now = sources.signature();
                if now == seen {
                    continue;
                }
                seen = now;
                match api.sync_network(&sources, &account, &region).await {
                    Ok(Some(s)) => tracing::info!(
                        instances = s.instances,
                        reachable_ranges = s.reachable_ranges,
                        findings = s.findings_written,
                        "network description imported from its files"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        error = %e,
                        "network files not imported; the last description stays in use"
                    ),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        r#"{"DescribeVpcs": {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}}"#;
    const B: &str = r#"{"DescribeVpcs": [{"Vpcs": [{"VpcId": "vpc-2", "CidrBlock": "10.1.0.0/16"}]}],
        "DescribeSubnets": {"Subnets": []}, "_comment": "x"}"#;

    #[test]
    fn bad_descriptions_name_the_file_and_the_problem() {
        for (bytes, want) in [
            (&b"{not json"[..], "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (b"{\"Vpcs\": []}", "has no Describe* key"),
            (b"{\"DescribeVpcs\": {\"Vpcs\": 7}}", "x.json"),
        ] {
            let e = check_description("x.json", bytes).unwrap_err().to_string();
            assert!(e.contains("x.json") && e.contains(want), "{e}");
        }
        assert!(check_description("a.json", A.as_bytes()).is_ok());
    }

    #[test]
    fn merge_keeps_every_page_in_order() {
        let parts = vec![
            ("a".to_owned(), A.as_bytes().to_vec()),
            ("b".to_owned(), B.as_bytes().to_vec()),
        ];
        let merged =
            merge_descriptions(&parts, Some(serde_json::json!({"files": ["a", "b"]}))).unwrap();
        let v: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(v["DescribeVpcs"].as_array().unwrap().len(), 2);
        assert!(v.get("_comment").is_none());
        assert_eq!(v[INFO_KEY]["files"][1], "b");
        let s = summarize("m", &merged).unwrap();
        assert_eq!(s.vpcs, vec!["vpc-1", "vpc-2"]);
        assert_eq!(s.subnets, 0);
        let bad_parts = vec![
            ("a".to_owned(), A.as_bytes().to_vec()),
            ("b.json".to_owned(), b"{}".to_vec()),
        ];
        let e = merge_descriptions(&bad_parts, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.json"), "{e}");
    }

    #[test]
    fn sources_load_configured_files_and_the_imported_one() {
        let dir = tempfile::tempdir().unwrap();
        let none = NetworkSources::new(Vec::new(), dir.path());
        assert_eq!(none.load().unwrap(), None);

        let imported = imported_path(dir.path());
        std::fs::create_dir_all(imported.parent().unwrap()).unwrap();
        std::fs::write(&imported, A).unwrap();
        assert_eq!(none.load().unwrap().unwrap(), A.as_bytes(), "as written");

        let b = dir.path().join("b.json");
        let both = NetworkSources::new(vec![b.clone()], dir.path());
        let e = both.load().unwrap_err().to_string();
        assert!(
            e.contains("b.json"),
            "a missing configured file is an error: {e}"
        );
        let sig = both.signature();
        std::fs::write(&b, B).unwrap();
        assert_ne!(both.signature(), sig);
        let merged = both.load().unwrap().unwrap();
        let s = summarize("m", &merged).unwrap();
        assert_eq!(s.vpcs, vec!["vpc-1", "vpc-2"]);
    }
}
