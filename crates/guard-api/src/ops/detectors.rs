//! Detectors: CreateDetector, GetDetector, ListDetectors, UpdateDetector, DeleteDetector.

use std::collections::BTreeMap;

use portcullis_store::{Precondition, WriteOp};
use serde_json::{Value, json};

use super::{Ctx, Done, new_id, paginate, parse_tags, with_token};
use crate::error::{GuardApiError, Result};
use crate::state::{Detector, FeatureState, GuardApi, collections as c, cond_of};
use crate::wire::iso_millis;

/// Features a detector reports, with their default status.
pub(crate) const DEFAULT_FEATURES: &[(&str, &str)] = &[
    ("CLOUD_TRAIL", "ENABLED"),
    ("DNS_LOGS", "ENABLED"),
    ("FLOW_LOGS", "ENABLED"),
    ("S3_DATA_EVENTS", "ENABLED"),
    ("EKS_AUDIT_LOGS", "DISABLED"),
    ("EBS_MALWARE_PROTECTION", "DISABLED"),
    ("RDS_LOGIN_EVENTS", "DISABLED"),
    ("EKS_RUNTIME_MONITORING", "DISABLED"),
    ("LAMBDA_NETWORK_LOGS", "DISABLED"),
    ("RUNTIME_MONITORING", "DISABLED"),
];

/// Features a request may configure \[model: `DetectorFeature`\].
const CONFIGURABLE: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "EKS_RUNTIME_MONITORING",
    "RUNTIME_MONITORING",
    "AI_PROTECTION",
    "AI_ANALYST",
];

const FREQUENCIES: &[&str] = &["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];

fn frequency(ctx: &Ctx<'_>) -> Result<Option<String>> {
    match ctx.str_opt("findingPublishingFrequency")? {
        Some(f) if FREQUENCIES.contains(&f.as_str()) => Ok(Some(f)),
        Some(f) => Err(GuardApiError::invalid(format!(
            "findingPublishingFrequency {f}"
        ))),
        None => Ok(None),
    }
}

fn status_of(v: &Value, what: &str) -> Result<String> {
    match v.get("status").and_then(Value::as_str) {
        Some(s @ ("ENABLED" | "DISABLED")) => Ok(s.to_owned()),
        _ => Err(GuardApiError::invalid(format!(
            "{what} status must be ENABLED or DISABLED"
        ))),
    }
}

/// Applies `dataSources` and `features` to the feature map.
fn configure(ctx: &Ctx<'_>, features: &mut BTreeMap<String, FeatureState>, now: i64) -> Result<()> {
    let data_sources = ctx.get("dataSources");
    let feats = ctx.get("features");
    if data_sources.is_some() && feats.is_some() {
        return Err(GuardApiError::BadRequest(
            "The request is rejected because both dataSources and features are specified; use features.".into(),
        ));
    }
    let mut set = |name: &str, status: String, additional: BTreeMap<String, String>| {
        let e = features.entry(name.to_owned()).or_insert(FeatureState {
            status: "DISABLED".into(),
            updated_at: now,
            additional: BTreeMap::new(),
        });
        if e.status != status || !additional.is_empty() {
            e.updated_at = now;
        }
        e.status = status;
        e.additional.extend(additional);
    };
    if let Some(ds) = data_sources {
        let enabled = |v: Option<&Value>| -> Result<Option<String>> {
            match v.map(|x| x.get("enable")) {
                None => Ok(None),
                Some(Some(Value::Bool(b))) => {
                    Ok(Some(if *b { "ENABLED" } else { "DISABLED" }.into()))
                }
                Some(_) => Err(GuardApiError::invalid(
                    "dataSources enable must be a boolean",
                )),
            }
        };
        if let Some(s) = enabled(ds.get("s3Logs"))? {
            set("S3_DATA_EVENTS", s, BTreeMap::new());
        }
        if let Some(s) = enabled(ds.get("kubernetes").and_then(|k| k.get("auditLogs")))? {
            set("EKS_AUDIT_LOGS", s, BTreeMap::new());
        }
        if let Some(s) = enabled(
            ds.get("malwareProtection")
                .and_then(|m| m.get("scanEc2InstanceWithFindings"))
                .and_then(|m| m.get("ebsVolumes")),
        )? {
            set("EBS_MALWARE_PROTECTION", s, BTreeMap::new());
        }
    }
    if let Some(list) = feats {
        let list = list
            .as_array()
            .ok_or_else(|| GuardApiError::invalid("features must be a list"))?;
        let names: Vec<&str> = list
            .iter()
            .filter_map(|f| f.get("name").and_then(Value::as_str))
            .collect();
        if names.contains(&"EKS_RUNTIME_MONITORING") && names.contains(&"RUNTIME_MONITORING") {
            return Err(GuardApiError::BadRequest(
                "The request is rejected because EKS_RUNTIME_MONITORING and RUNTIME_MONITORING cannot both be specified.".into(),
            ));
        }
        for f in list {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| CONFIGURABLE.contains(n))
                .ok_or_else(|| GuardApiError::invalid("feature name"))?;
            let status = status_of(f, name)?;
            let mut additional = BTreeMap::new();
            if let Some(a) = f.get("additionalConfiguration").and_then(Value::as_array) {
                for x in a {
                    let n = x
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| GuardApiError::invalid("additionalConfiguration name"))?;
                    additional.insert(n.to_owned(), status_of(x, n)?);
                }
            }
            set(name, status, additional);
        }
    }
    Ok(())
}

/// CreateDetector: one detector per account and region.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let tags = parse_tags(ctx.get("tags"))?;
    ctx.api
        .authorize(ctx.req, "CreateDetector", "*", None, tags.as_ref())
        .await?;
    let enable = ctx
        .bool_opt("enable")?
        .ok_or_else(|| GuardApiError::invalid("enable is required"))?;
    if let Some(t) = ctx.str_opt("clientToken")? {
        super::check_len("clientToken", &t, 0, 64)?;
    }
    let frequency = frequency(ctx)?.unwrap_or_else(|| "SIX_HOURS".into());
    let now = ctx.now();
    let secs = now.unix_timestamp();
    let mut features: BTreeMap<String, FeatureState> = DEFAULT_FEATURES
        .iter()
        .map(|(n, s)| {
            (
                (*n).to_owned(),
                FeatureState {
                    status: (*s).to_owned(),
                    updated_at: secs,
                    additional: BTreeMap::new(),
                },
            )
        })
        .collect();
    configure(ctx, &mut features, secs)?;
    if ctx
        .api
        .detector_in(ctx.account(), ctx.region())
        .await?
        .is_some()
    {
        return Err(GuardApiError::BadRequest(
            "The request is rejected because a detector already exists for the current account."
                .into(),
        ));
    }
    let d = Detector {
        id: new_id(),
        account: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        enabled: enable,
        finding_publishing_frequency: frequency,
        features,
        created_at: iso_millis(now),
        updated_at: iso_millis(now),
        tags: tags.unwrap_or_default(),
    };
    let value = serde_json::to_value(&d).map_err(|e| GuardApiError::Internal(e.to_string()))?;
    let ops = vec![
        WriteOp::put(
            c::DETECTORS,
            &format!("{}/{}", d.account, d.region),
            value,
            Precondition::Absent,
        ),
        WriteOp::put(
            c::DETECTOR_IDS,
            &d.id,
            GuardApi::detector_index_value(&d),
            Precondition::Absent,
        ),
    ];
    match ctx.api.store.write_batch(&ops).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() => {
            return Err(GuardApiError::BadRequest(
                "The request is rejected because a detector already exists for the current account.".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Done::ok(
        json!({"detectorId": d.id, "unprocessedDataSources": {}}),
    ))
}

fn render(d: &Detector) -> Value {
    let st = |n: &str| {
        d.features
            .get(n)
            .map(|f| f.status.clone())
            .unwrap_or_else(|| "DISABLED".into())
    };
    let features: Vec<Value> = d
        .features
        .iter()
        .map(|(name, f)| {
            let mut v = json!({"name": name, "status": f.status, "updatedAt": f.updated_at});
            if !f.additional.is_empty()
                && let Some(o) = v.as_object_mut()
            {
                let extra: Vec<Value> = f
                    .additional
                    .iter()
                    .map(|(n, s)| json!({"name": n, "status": s, "updatedAt": f.updated_at}))
                    .collect();
                o.insert("additionalConfiguration".into(), Value::Array(extra));
            }
            v
        })
        .collect();
    json!({
        "createdAt": d.created_at,
        "updatedAt": d.updated_at,
        "findingPublishingFrequency": d.finding_publishing_frequency,
        "serviceRole": format!("arn:aws:iam::{}:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty", d.account),
        "status": if d.enabled { "ENABLED" } else { "DISABLED" },
        "dataSources": {
            "cloudTrail": {"status": st("CLOUD_TRAIL")},
            "dnsLogs": {"status": st("DNS_LOGS")},
            "flowLogs": {"status": st("FLOW_LOGS")},
            "s3Logs": {"status": st("S3_DATA_EVENTS")},
            "kubernetes": {"auditLogs": {"status": st("EKS_AUDIT_LOGS")}},
        },
        "features": features,
        "tags": d.tags,
    })
}

/// GetDetector.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("GetDetector").await?;
    Ok(Done::read(render(&d.value)))
}

/// ListDetectors: the caller's detector in the region (at most one).
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.api
        .authorize(ctx.req, "ListDetectors", "*", None, None)
        .await?;
    let (limit, offset) = ctx.page_params(50, 50)?;
    let ids: Vec<String> = ctx
        .api
        .detector_in(ctx.account(), ctx.region())
        .await?
        .map(|d| d.value.id)
        .into_iter()
        .collect();
    let (page, next) = paginate(ids, limit, offset);
    Ok(Done::read(with_token(json!({"detectorIds": page}), next)))
}

/// UpdateDetector.
pub async fn update(ctx: &Ctx<'_>) -> Result<Done> {
    let mut d = ctx.detector("UpdateDetector").await?;
    let now = ctx.now();
    if let Some(e) = ctx.bool_opt("enable")? {
        d.value.enabled = e;
    }
    if let Some(f) = frequency(ctx)? {
        d.value.finding_publishing_frequency = f;
    }
    configure(ctx, &mut d.value.features, now.unix_timestamp())?;
    d.value.updated_at = iso_millis(now);
    let value =
        serde_json::to_value(&d.value).map_err(|e| GuardApiError::Internal(e.to_string()))?;
    ctx.api
        .store
        .put(
            c::DETECTORS,
            &format!("{}/{}", d.value.account, d.value.region),
            &value,
            cond_of(d.version),
        )
        .await?;
    Ok(Done::ok(json!({})))
}

/// DeleteDetector: the detector with its findings, filters and lists.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("DeleteDetector").await?;
    let id = d.value.id.clone();
    let mut ops = vec![
        WriteOp::delete(
            c::DETECTORS,
            &format!("{}/{}", d.value.account, d.value.region),
            cond_of(d.version),
        ),
        WriteOp::delete(c::DETECTOR_IDS, &id, Precondition::None),
    ];
    for coll in [c::FINDINGS, c::FILTERS, c::SETS] {
        let items =
            portcullis_store::list_all(ctx.api.store.as_ref(), coll, &format!("{id}/")).await?;
        ops.extend(
            items
                .iter()
                .map(|i| WriteOp::delete(coll, &i.key, Precondition::None)),
        );
    }
    for chunk in ops.chunks(500) {
        ctx.api.store.write_batch(chunk).await?;
    }
    Ok(Done::ok(json!({})))
}
