//! SBOM exports: CreateSbomExport and GetSbomExport.
//!
//! There is no S3 here: the `s3Destination {bucketName, keyPrefix}` names a directory,
//! `<data_dir>/inspector/exports/<bucketName>/<keyPrefix>/<reportId>/`, which receives one
//! `<resourceId>.cyclonedx.json` or `<resourceId>.spdx.json` per matching host. `kmsKeyArn`
//! is required by the model and recorded, but the files are not encrypted. Exports run to
//! completion inside the request, so `GetSbomExport` reports `SUCCEEDED` or `FAILED`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::coverage::covered;
use super::findings::render;
use super::{Ctx, Done};
use crate::criteria::{Criteria, Scope, coverage_values};
use crate::error::{InspectorApiError, Result};
use crate::ingest::meta_of;
use crate::sbom::{cyclonedx, spdx};
use crate::state::{ExportRecord, Host, collections as c, cond_of};

/// Checks an S3-style bucket name (3–63 of `a-z 0-9 . -`, alphanumeric at both ends).
pub fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'.' || x == b'-')
        && b.bytes().next().is_some_and(|x| x.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|x| x.is_ascii_alphanumeric())
        && !b.contains("..")
}

/// The directory segments of a key prefix; `None` if it could leave the bucket directory.
pub fn prefix_segments(p: &str) -> Option<Vec<String>> {
    if p.len() > 1024 || p.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let segs: Vec<String> = p
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if segs.iter().any(|s| s == "." || s == "..") {
        return None;
    }
    Some(segs)
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        out.push(path.display().to_string());
    }
    Ok(out)
}

/// The `s3Destination` member: the value as given, the bucket and the key-prefix segments.
pub fn destination(ctx: &Ctx<'_>) -> Result<(Value, String, Vec<String>)> {
    let dest = ctx
        .get("s3Destination")
        .filter(|d| d.is_object())
        .cloned()
        .ok_or_else(|| InspectorApiError::field("s3Destination", "is required"))?;
    let bucket = dest
        .get("bucketName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !valid_bucket(&bucket) {
        return Err(InspectorApiError::field(
            "s3Destination.bucketName",
            "must be 3 to 63 characters of a-z, 0-9, '.' and '-'",
        ));
    }
    if dest
        .get("kmsKeyArn")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(InspectorApiError::field(
            "s3Destination.kmsKeyArn",
            "is required",
        ));
    }
    let prefix = prefix_segments(dest.get("keyPrefix").and_then(Value::as_str).unwrap_or(""))
        .ok_or_else(|| {
            InspectorApiError::field(
                "s3Destination.keyPrefix",
                "may not contain '.', '..', '\\' or control characters as segments",
            )
        })?;
    Ok((dest, bucket, prefix))
}

/// `base/<bucket>/<key prefix segments>`: where a destination's files go.
pub fn destination_dir(base: &Path, bucket: &str, prefix: &[String]) -> PathBuf {
    let mut dir = base.join(bucket);
    dir.extend(prefix);
    dir
}

/// Adds what a stored export or report may carry besides its id, status and destination (the
/// error code and message of a failed one, the filter it ran with) to its `Get*` reply.
pub fn outcome_fields(
    body: &mut Value,
    error_code: Option<String>,
    error_message: Option<String>,
    filter_criteria: Option<Value>,
) {
    let Some(o) = body.as_object_mut() else {
        return;
    };
    if let Some(e) = error_code {
        o.insert("errorCode".into(), json!(e));
    }
    if let Some(m) = error_message {
        o.insert("errorMessage".into(), json!(m));
    }
    if let Some(f) = filter_criteria {
        o.insert("filterCriteria".into(), f);
    }
}

/// Finishes an export or report `rec` (status `SUCCEEDED` so far): `FAILED` with
/// `NO_FINDINGS_FOUND` and `no_match` when there are no `files`, else the files written to
/// `dir` (`FAILED` with `INTERNAL_ERROR` if they cannot be); then stores the record under
/// `collection` and answers with its id. `what` names it in messages ("export", "report").
pub async fn finish(
    ctx: &Ctx<'_>,
    collection: &str,
    mut rec: ExportRecord,
    dir: PathBuf,
    files: Vec<(String, Vec<u8>)>,
    no_match: &str,
    what: &str,
) -> Result<Done> {
    if files.is_empty() {
        rec.status = "FAILED".into();
        rec.error_code = Some("NO_FINDINGS_FOUND".into());
        rec.error_message = Some(no_match.into());
    } else {
        let written = tokio::task::spawn_blocking(move || write_all(&dir, &files))
            .await
            .map_err(|e| InspectorApiError::Internal(e.to_string()))?;
        match written {
            Ok(paths) => rec.files = paths,
            Err(e) => {
                tracing::warn!(error = %e, "the {what} could not be written");
                rec.status = "FAILED".into();
                rec.error_code = Some("INTERNAL_ERROR".into());
                rec.error_message = Some(format!("The {what} could not be written."));
            }
        }
    }
    let doc = serde_json::to_value(&rec)
        .map_err(|e| InspectorApiError::Internal(format!("{what} does not encode: {e}")))?;
    ctx.api
        .store
        .put(
            collection,
            &format!("{}/{}", ctx.account(), rec.report_id),
            &doc,
            cond_of(0),
        )
        .await?;
    Ok(Done::ok(json!({"reportId": rec.report_id})))
}

/// CreateSbomExport.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("CreateSbomExport").await?;
    let format = ctx
        .enum_opt("reportFormat", &["CYCLONEDX_1_4", "SPDX_2_3"])?
        .ok_or_else(|| InspectorApiError::field("reportFormat", "is required"))?;
    let (dest, bucket, prefix) = destination(ctx)?;
    let bucket = bucket.as_str();
    let filter = ctx.get("resourceFilterCriteria").cloned();
    let criteria = Criteria::parse(filter.as_ref(), Scope::Resources)?;

    let report_id = uuid::Uuid::new_v4().to_string();
    let now = ctx.now();
    let account = ctx.account().to_owned();
    let hosts: Vec<Host> = ctx
        .api
        .list::<Host>(c::HOSTS, &format!("{account}/"))
        .await?
        .into_iter()
        .map(|(_, h)| h.value)
        .filter(|h| criteria.matches(&covered(h, now, ctx.api.stale_after_secs), coverage_values))
        .collect();
    let mut files = Vec::new();
    if !hosts.is_empty() {
        let findings: Vec<Value> = ctx
            .api
            .list::<Value>(c::FINDINGS, &format!("{account}/"))
            .await?
            .into_iter()
            .map(|(_, v)| v.value)
            .filter(|f| f.get("status").and_then(Value::as_str) == Some("ACTIVE"))
            .collect();
        for h in &hosts {
            let mine: Vec<Value> = findings
                .iter()
                .filter(|f| meta_of(f).is_some_and(|m| m.agent_id == h.agent_id))
                .map(render)
                .collect();
            let (doc, ext) = if format == "CYCLONEDX_1_4" {
                (
                    cyclonedx(h, &mine, now, &uuid::Uuid::new_v4().to_string()),
                    "cyclonedx",
                )
            } else {
                let ns = format!("https://portcullis.invalid/spdx/{report_id}/{}", h.agent_id);
                (spdx(h, &mine, now, &ns), "spdx")
            };
            let bytes = serde_json::to_vec_pretty(&doc)
                .map_err(|e| InspectorApiError::Internal(format!("SBOM does not encode: {e}")))?;
            files.push((format!("{}.{ext}.json", h.agent_id), bytes));
        }
    }
    let mut dir = destination_dir(&ctx.api.exports_dir, bucket, &prefix);
    dir.push(&report_id);
    let rec = ExportRecord {
        report_id,
        format,
        status: "SUCCEEDED".into(),
        error_code: None,
        error_message: None,
        s3_destination: dest,
        filter_criteria: filter,
        files: Vec::new(),
        created_at: now,
    };
    finish(
        ctx,
        c::EXPORTS,
        rec,
        dir,
        files,
        "No resource matches the filter criteria.",
        "export",
    )
    .await
}

/// GetSbomExport.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let id = ctx.str_req("reportId", 1, 128)?;
    ctx.authorize_any("GetSbomExport").await?;
    let rec = ctx
        .api
        .get::<ExportRecord>(c::EXPORTS, &format!("{}/{id}", ctx.account()))
        .await?
        .ok_or_else(|| {
            InspectorApiError::ResourceNotFound(format!("SBOM export {id} does not exist."))
        })?
        .value;
    let mut body = json!({"reportId": rec.report_id, "format": rec.format, "status": rec.status,
                          "s3Destination": rec.s3_destination});
    outcome_fields(
        &mut body,
        rec.error_code,
        rec.error_message,
        rec.filter_criteria,
    );
    Ok(Done::read(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_inside_the_exports_directory() {
        assert!(valid_bucket("my-bucket.1"));
        assert!(!valid_bucket("../etc"));
        assert!(!valid_bucket("ab"));
        assert!(!valid_bucket("Upper"));
        assert_eq!(prefix_segments("/a//b/").unwrap(), vec!["a", "b"]);
        assert!(prefix_segments("a/../b").is_none());
        assert!(prefix_segments("a/./b").is_none());
        assert!(prefix_segments("a\\b").is_none());
        assert_eq!(prefix_segments("").unwrap(), Vec::<String>::new());
    }
}
