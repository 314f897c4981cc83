//! Findings reports: CreateFindingsReport, GetFindingsReportStatus, CancelFindingsReport.
//!
//! As with SBOM exports there is no S3: `s3Destination {bucketName, keyPrefix}` names the
//! directory `<data_dir>/inspector/reports/<bucketName>/<keyPrefix>/`, which receives
//! `<reportId>.json` (`{"findings": [...]}`, the findings as ListFindings renders them) or
//! `<reportId>.csv` (one row per finding, the columns of [`CSV_COLUMNS`]). `kmsKeyArn` is
//! required and recorded; the file is not encrypted. Reports are written inside the request,
//! so the status is `SUCCEEDED` or `FAILED` (`NO_FINDINGS_FOUND` when the filter matches
//! nothing), and cancelling a finished report changes nothing but is not an error.

use serde_json::{Value, json};

use super::findings::render;
use super::sbom::{destination, destination_dir, finish};
use super::{Ctx, Done};
use crate::criteria::{Criteria, Scope, arn_of, finding_matches};
use crate::error::{InspectorApiError, Result};
use crate::state::{ExportRecord, collections as c};

/// The CSV report's columns.
pub const CSV_COLUMNS: [&str; 22] = [
    "AWS Account Id",
    "Severity",
    "Fix Available",
    "Finding Type",
    "Title",
    "Description",
    "Finding ARN",
    "First Seen",
    "Last Seen",
    "Last Updated",
    "Resource ID",
    "Resource Type",
    "Region",
    "Platform",
    "Vulnerability Id",
    "Affected Packages",
    "Fixed in Version",
    "Network Protocol",
    "Open Port Range",
    "Network Path",
    "Inspector Score",
    "Status",
];

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One CSV field, quoted when it holds a separator, quote or line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A finding's CSV row, in [`CSV_COLUMNS`] order.
pub fn csv_row(f: &Value) -> Vec<String> {
    let res = at(f, &["resources"])
        .and_then(Value::as_array)
        .and_then(|r| r.first());
    let pkgs = at(f, &["packageVulnerabilityDetails", "vulnerablePackages"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let join = |field: &str| {
        pkgs.iter()
            .map(|p| text(p.get(field)))
            .collect::<Vec<_>>()
            .join(";")
    };
    let affected = pkgs
        .iter()
        .map(|p| format!("{}@{}", text(p.get("name")), text(p.get("version"))))
        .collect::<Vec<_>>()
        .join(";");
    let nrd = at(f, &["networkReachabilityDetails"]);
    let ports = nrd
        .and_then(|n| n.get("openPortRange"))
        .map(|r| format!("{}-{}", text(r.get("begin")), text(r.get("end"))))
        .unwrap_or_default();
    let path = nrd
        .and_then(|n| at(n, &["networkPath", "steps"]))
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .map(|x| text(x.get("componentId")))
                .collect::<Vec<_>>()
                .join(" > ")
        })
        .unwrap_or_default();
    vec![
        text(f.get("awsAccountId")),
        text(f.get("severity")),
        text(f.get("fixAvailable")),
        text(f.get("type")),
        text(f.get("title")),
        text(f.get("description")),
        text(f.get("findingArn")),
        text(f.get("firstObservedAt")),
        text(f.get("lastObservedAt")),
        text(f.get("updatedAt")),
        text(res.and_then(|r| r.get("id"))),
        text(res.and_then(|r| r.get("type"))),
        text(res.and_then(|r| r.get("region"))),
        text(res.and_then(|r| at(r, &["details", "awsEc2Instance", "platform"]))),
        text(at(f, &["packageVulnerabilityDetails", "vulnerabilityId"])),
        affected,
        join("fixedInVersion"),
        text(nrd.and_then(|n| n.get("protocol"))),
        ports,
        path,
        text(f.get("inspectorScore")),
        text(f.get("status")),
    ]
}

/// The CSV document of `findings` (header line first, CRLF line ends).
pub fn csv(findings: &[Value]) -> String {
    let mut out = String::new();
    let line = |fields: &[String], out: &mut String| {
        let cells: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    let header: Vec<String> = CSV_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
    line(&header, &mut out);
    for f in findings {
        line(&csv_row(f), &mut out);
    }
    out
}

/// CreateFindingsReport.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("CreateFindingsReport").await?;
    let format = ctx
        .enum_opt("reportFormat", &["CSV", "JSON"])?
        .ok_or_else(|| InspectorApiError::field("reportFormat", "is required"))?;
    let (dest, bucket, prefix) = destination(ctx)?;
    let filter = ctx.get("filterCriteria").cloned();
    let criteria = Criteria::parse(filter.as_ref(), Scope::Findings)?;
    let account = ctx.account().to_owned();
    let mut found: Vec<Value> = ctx
        .api
        .list::<Value>(c::FINDINGS, &format!("{account}/"))
        .await?
        .into_iter()
        .map(|(_, v)| render(&v.value))
        .filter(|f| finding_matches(&criteria, f))
        .collect();
    found.sort_by(|a, b| arn_of(a).cmp(arn_of(b)));
    let report_id = uuid::Uuid::new_v4().to_string();
    let mut files = Vec::new();
    if !found.is_empty() {
        let (bytes, ext) = if format == "CSV" {
            (csv(&found).into_bytes(), "csv")
        } else {
            let doc = serde_json::to_vec_pretty(&json!({"findings": found}))
                .map_err(|e| InspectorApiError::Internal(format!("report does not encode: {e}")))?;
            (doc, "json")
        };
        files.push((format!("{report_id}.{ext}"), bytes));
    }
    let rec = ExportRecord {
        report_id,
        format,
        status: "SUCCEEDED".into(),
        error_code: None,
        error_message: None,
        s3_destination: dest,
        filter_criteria: filter,
        files: Vec::new(),
        created_at: ctx.now(),
    };
    finish(
        ctx,
        c::REPORTS,
        rec,
        destination_dir(&ctx.api.reports_dir, &bucket, &prefix),
        files,
        "No finding matches the filter criteria.",
        "report",
    )
    .await
}

async fn record(ctx: &Ctx<'_>, id: &str) -> Result<ExportRecord> {
    Ok(ctx
        .api
        .get::<ExportRecord>(c::REPORTS, &format!("{}/{id}", ctx.account()))
        .await?
        .ok_or_else(|| {
            InspectorApiError::ResourceNotFound(format!("Findings report {id} does not exist."))
        })?
        .value)
}

/// GetFindingsReportStatus (without `reportId`: the most recent report, as the model allows).
pub async fn status(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("GetFindingsReportStatus").await?;
    let rec = match ctx.str_opt("reportId", 1, 128)? {
        Some(id) => record(ctx, &id).await?,
        None => ctx
            .api
            .list::<ExportRecord>(c::REPORTS, &format!("{}/", ctx.account()))
            .await?
            .into_iter()
            .map(|(_, v)| v.value)
            .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
            .ok_or_else(|| {
                InspectorApiError::ResourceNotFound("No findings report exists.".into())
            })?,
    };
    let mut body = json!({"reportId": rec.report_id, "status": rec.status,
                          "destination": rec.s3_destination});
    super::sbom::outcome_fields(
        &mut body,
        rec.error_code,
        rec.error_message,
        rec.filter_criteria,
    );
    Ok(Done::read(body))
}

/// CancelFindingsReport: reports finish inside CreateFindingsReport, so there is nothing left
/// to stop; the id must exist.
pub async fn cancel(ctx: &Ctx<'_>) -> Result<Done> {
    let id = ctx.str_req("reportId", 1, 128)?;
    ctx.authorize_any("CancelFindingsReport").await?;
    let rec = record(ctx, &id).await?;
    Ok(Done::ok(json!({"reportId": rec.report_id})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
        let f = json!({"awsAccountId": "111122223333", "type": "NETWORK_REACHABILITY",
            "title": "x, y", "inspectorScore": 7.5,
            "networkReachabilityDetails": {"protocol": "TCP", "openPortRange": {"begin": 22, "end": 22},
                "networkPath": {"steps": [{"componentId": "igw-1"}, {"componentId": "i-web"}]}}});
        let row = csv_row(&f);
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert_eq!(row[18], "22-22");
        assert_eq!(row[19], "igw-1 > i-web");
        assert_eq!(row[20], "7.5");
        let doc = csv(&[f]);
        assert_eq!(doc.lines().count(), 2);
        assert!(doc.contains("\"x, y\""));
    }
}
