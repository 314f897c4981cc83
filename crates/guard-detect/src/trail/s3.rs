//! S3 bucket policy and logging changes CloudTrail shows: Block Public Access turned off
//! (bucket or account), a bucket policy or ACL opening the bucket to everyone or to all
//! authenticated AWS users, server access logging turned off.

use serde_json::{Value, json};

use super::{Event, raw_json};
use crate::engine::Ctx;
use crate::finding::S3BucketDetail;
use crate::finding::severity::{HIGH, LOW};
use crate::store::Detection;

const ALL_USERS: &str = "acs.amazonaws.com/groups/global/AllUsers";
const AUTH_USERS: &str = "acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Whether a bucket policy document allows `*` principals without conditions.
fn policy_is_anonymous(policy: &Value) -> bool {
    let policy = match policy {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    };
    let stmts = match policy.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => return false,
    };
    stmts.iter().any(|s| {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let star = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(o)) => o.get("AWS").is_some_and(|a| match a {
                Value::String(p) => p == "*",
                Value::Array(v) => v.iter().any(|p| p.as_str() == Some("*")),
                _ => false,
            }),
            _ => false,
        };
        allow && star && s.get("Condition").is_none()
    })
}

/// Runs the S3 checks on one event.
pub fn observe(e: &Event<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
    let rec = e.rec;
    if rec.event_source != "s3.amazonaws.com" || rec.is_error() {
        return;
    }
    let name: &str = &rec.event_name;
    let req = raw_json(rec.request_parameters);
    let bucket = req
        .get("bucketName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let found = match name {
        "PutBucketPublicAccessBlock" | "DeleteBucketPublicAccessBlock" => {
            let cfg = req.get("PublicAccessBlockConfiguration");
            let off = name.starts_with("Delete")
                || ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]
                    .iter()
                    .any(|k| cfg.and_then(|c| c.get(*k)).and_then(Value::as_bool) == Some(false));
            off.then_some((
                "Policy:S3/BucketBlockPublicAccessDisabled",
                LOW,
                format!("Amazon S3 Block Public Access was disabled for bucket {bucket}."),
            ))
        }
        "PutAccountPublicAccessBlock" | "DeleteAccountPublicAccessBlock" => {
            let text = req.to_string();
            (name.starts_with("Delete") || text.contains("false")).then_some((
                "Policy:S3/AccountBlockPublicAccessDisabled",
                LOW,
                "Amazon S3 Block Public Access was disabled for the account.".to_owned(),
            ))
        }
        "PutBucketPolicy" => req
            .get("bucketPolicy")
            .filter(|p| policy_is_anonymous(p))
            .map(|_| {
                (
                    "Policy:S3/BucketAnonymousAccessGranted",
                    HIGH,
                    format!("Amazon S3 bucket {bucket} policy grants access to everyone (Principal \"*\", no condition)."),
                )
            }),
        "PutBucketAcl" => {
            let text = req.to_string();
            if text.contains(ALL_USERS) || text.contains("public-read") {
                Some((
                    "Policy:S3/BucketAnonymousAccessGranted",
                    HIGH,
                    format!("Amazon S3 bucket {bucket} ACL grants access to all users (anonymous)."),
                ))
            } else if text.contains(AUTH_USERS) || text.contains("authenticated-read") {
                Some((
                    "Policy:S3/BucketPublicAccessGranted",
                    HIGH,
                    format!("Amazon S3 bucket {bucket} ACL grants access to all authenticated AWS users."),
                ))
            } else {
                None
            }
        }
        "PutBucketLogging" => {
            // Only an explicit status without `LoggingEnabled` turns logging off; a request
            // without the status says nothing.
            let disabled = req
                .get("BucketLoggingStatus")
                .is_some_and(|s| s.get("LoggingEnabled").is_none());
            disabled.then_some((
                "Stealth:S3/ServerAccessLoggingDisabled",
                LOW,
                format!("Amazon S3 server access logging was disabled for bucket {bucket}."),
            ))
        }
        _ => None,
    };
    let Some((ty, sev, title)) = found else {
        return;
    };
    let mut d = e.detection(ctx, ty, sev, "");
    if !bucket.is_empty() {
        d.resource.resource_type = "S3Bucket".into();
        d.resource.s3_bucket_details = Some(vec![S3BucketDetail {
            arn: format!("arn:aws:s3:::{bucket}"),
            name: bucket.clone(),
            kind: "Destination".into(),
        }]);
        d.resource_key = format!("s3://{bucket}");
    }
    d.title = title;
    d.description = format!("{} called {name}: {}", e.caller(), d.title);
    d.info.push(("api", json!(name)));
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_policies() {
        let p = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]});
        assert!(policy_is_anonymous(&p));
        let p = json!({"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:*"}});
        assert!(policy_is_anonymous(&p));
        let p = json!({"Statement":[{"Effect":"Allow","Principal":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]});
        assert!(!policy_is_anonymous(&p));
        let p = json!({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"}}]});
        assert!(!policy_is_anonymous(&p));
        assert!(policy_is_anonymous(&json!(
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\"}]}"
        )));
    }
}
