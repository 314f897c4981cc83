//! Findings: ListFindings, GetFindings, GetFindingsStatistics, ArchiveFindings,
//! UnarchiveFindings, UpdateFindingsFeedback, CreateSampleFindings.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Ctx, Done, paginate, with_token};
use crate::criteria::{Criteria, Sort, id_of};
use crate::error::{GuardApiError, Result};
use crate::ingest::set_archived;
use crate::samples::{DEFAULT_TYPES, check_type, sample};
use crate::state::{collections as c, cond_of};
use crate::wire::{PRIVATE, iso_millis, iso_to_millis, render_finding};

/// Finding IDs a request names at most \[model\].
const MAX_IDS: usize = 50;

fn finding_ids(ctx: &Ctx<'_>, min: usize) -> Result<Vec<String>> {
    let list = match ctx.get("findingIds") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(GuardApiError::invalid("findingIds must be a list")),
        None => return Err(GuardApiError::invalid("findingIds is required")),
    };
    if list.len() < min || list.len() > MAX_IDS {
        return Err(GuardApiError::invalid(format!(
            "findingIds must have {min} to {MAX_IDS} entries"
        )));
    }
    list.iter()
        .map(|v| {
            v.as_str()
                .filter(|s| (1..=300).contains(&s.len()))
                .map(str::to_owned)
                .ok_or_else(|| {
                    GuardApiError::invalid("findingIds entries must be 1 to 300 characters")
                })
        })
        .collect()
}

/// The detector's findings matching the criteria, sorted (by `id` when no sort is given).
async fn matching(
    ctx: &Ctx<'_>,
    detector_id: &str,
    criteria: &Criteria,
    sort: Option<&Sort>,
) -> Result<Vec<Value>> {
    let mut out: Vec<Value> = ctx
        .api
        .findings_of(detector_id)
        .await?
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| criteria.matches(f))
        .collect();
    match sort {
        Some(s) => out.sort_by(|a, b| s.compare(a, b)),
        None => out.sort_by(|a, b| id_of(a).cmp(id_of(b))),
    }
    Ok(out)
}

/// ListFindings.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("ListFindings").await?;
    let criteria = Criteria::parse(ctx.get("findingCriteria"))?;
    let sort = Sort::parse(ctx.get("sortCriteria"))?;
    let (limit, offset) = ctx.page_params(50, 50)?;
    let all = matching(ctx, &d.value.id, &criteria, sort.as_ref()).await?;
    let ids: Vec<String> = all.iter().map(|f| id_of(f).to_owned()).collect();
    let (page, next) = paginate(ids, limit, offset);
    Ok(Done::read(with_token(json!({"findingIds": page}), next)))
}

/// GetFindings: the named findings that exist, in request order unless sorted.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("GetFindings").await?;
    let ids = finding_ids(ctx, 0)?;
    let sort = Sort::parse(ctx.get("sortCriteria"))?;
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(f) = ctx
            .api
            .get::<Value>(c::FINDINGS, &format!("{}/{id}", d.value.id))
            .await?
        {
            found.push(f.value);
        }
    }
    if let Some(s) = sort {
        found.sort_by(|a, b| s.compare(a, b));
    }
    let findings: Vec<Value> = found.iter().map(render_finding).collect();
    Ok(Done::read(json!({"findings": findings})))
}

fn updated_secs(f: &Value) -> f64 {
    f.get("updatedAt")
        .and_then(Value::as_str)
        .and_then(iso_to_millis)
        .map(|m| m as f64 / 1000.0)
        .unwrap_or(0.0)
}

fn severity_of(f: &Value) -> f64 {
    f.get("severity").and_then(Value::as_f64).unwrap_or(0.0)
}

fn severity_key(s: f64) -> String {
    format!("{s:?}")
}

fn resource_id(f: &Value) -> String {
    let r = f.get("resource").cloned().unwrap_or(Value::Null);
    if let Some(i) = r
        .get("instanceDetails")
        .and_then(|i| i.get("instanceId"))
        .and_then(Value::as_str)
    {
        return i.to_owned();
    }
    if let Some(b) = r
        .get("s3BucketDetails")
        .and_then(|b| b.get(0))
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
    {
        return b.to_owned();
    }
    if let Some(k) = r
        .get("accessKeyDetails")
        .and_then(|a| a.get("accessKeyId"))
        .and_then(Value::as_str)
    {
        return k.to_owned();
    }
    r.get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The key members of a finding's group.
type KeyFn = fn(&Value) -> Vec<(&'static str, Value)>;

/// One group: its key members, count and latest `updatedAt`.
struct Group {
    members: Map<String, Value>,
    total: u64,
    last: f64,
    max_severity: f64,
}

/// GetFindingsStatistics: `findingStatisticTypes: [COUNT_BY_SEVERITY]` or `groupBy`.
pub async fn statistics(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("GetFindingsStatistics").await?;
    let criteria = Criteria::parse(ctx.get("findingCriteria"))?;
    let types = match ctx.get("findingStatisticTypes") {
        None => None,
        Some(Value::Array(a)) => Some(a.clone()),
        Some(_) => {
            return Err(GuardApiError::invalid(
                "findingStatisticTypes must be a list",
            ));
        }
    };
    let group_by = ctx.str_opt("groupBy")?;
    let all = matching(ctx, &d.value.id, &criteria, None).await?;
    match (types, group_by) {
        (Some(t), None) => {
            if t.len() > 10 || t.iter().any(|x| x.as_str() != Some("COUNT_BY_SEVERITY")) {
                return Err(GuardApiError::invalid("findingStatisticTypes must be COUNT_BY_SEVERITY"));
            }
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            if !t.is_empty() {
                for f in &all {
                    *counts.entry(severity_key(severity_of(f))).or_default() += 1;
                }
            }
            Ok(Done::read(json!({"findingStatistics": {"countBySeverity": counts}})))
        }
        (None, Some(g)) => {
            let (limit, offset) = ctx.page_params(100, 25)?;
            let descending = match ctx.str_opt("orderBy")?.as_deref() {
                None | Some("DESC") => true,
                Some("ASC") => false,
                Some(o) => return Err(GuardApiError::invalid(format!("orderBy {o}"))),
            };
            let (member, keyf): (&str, KeyFn) = match g.as_str() {
                "ACCOUNT" => ("groupedByAccount", |f| vec![("accountId", f.get("accountId").cloned().unwrap_or(Value::Null))]),
                "DATE" => ("groupedByDate", |f| {
                    let day = (updated_secs(f) / 86_400.0).floor() * 86_400.0;
                    vec![("date", json!(day))]
                }),
                "FINDING_TYPE" => ("groupedByFindingType", |f| vec![("findingType", f.get("type").cloned().unwrap_or(Value::Null))]),
                "RESOURCE" => ("groupedByResource", |f| vec![
                    ("accountId", f.get("accountId").cloned().unwrap_or(Value::Null)),
                    ("resourceId", json!(resource_id(f))),
                    ("resourceType", f.get("resource").and_then(|r| r.get("resourceType")).cloned().unwrap_or(Value::Null)),
                ]),
                "SEVERITY" => ("groupedBySeverity", |f| vec![("severity", json!(severity_of(f)))]),
                other => return Err(GuardApiError::invalid(format!("groupBy {other}"))),
            };
            let mut groups: BTreeMap<String, Group> = BTreeMap::new();
            for f in &all {
                let members = keyf(f);
                let key = Value::Array(members.iter().map(|(_, v)| v.clone()).collect()).to_string();
                let g = groups.entry(key).or_insert_with(|| Group {
                    members: members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    total: 0,
                    last: 0.0,
                    max_severity: 0.0,
                });
                g.total += 1;
                g.last = g.last.max(updated_secs(f));
                g.max_severity = g.max_severity.max(severity_of(f));
            }
            let mut rows: Vec<Group> = groups.into_values().collect();
            rows.sort_by(|a, b| {
                let o = a.total.cmp(&b.total);
                if descending { o.reverse() } else { o }
            });
            let (page, next) = paginate(rows, limit, offset);
            let list: Vec<Value> = page
                .into_iter()
                .map(|g| {
                    let mut m = g.members;
                    m.insert("totalFindings".into(), json!(g.total));
                    m.insert("lastGeneratedAt".into(), json!(g.last));
                    if member == "groupedByDate" {
                        m.insert("severity".into(), json!(g.max_severity));
                    }
                    Value::Object(m)
                })
                .collect();
            let mut stats = Map::new();
            stats.insert(member.into(), Value::Array(list));
            Ok(Done::read(with_token(json!({"findingStatistics": stats}), next)))
        }
        _ => Err(GuardApiError::BadRequest(
            "The request is rejected because exactly one of findingStatisticTypes and groupBy must be specified.".into(),
        )),
    }
}

/// Rewrites the named findings with `f` (missing IDs are skipped), retrying lost races.
async fn rewrite(
    ctx: &Ctx<'_>,
    detector_id: &str,
    ids: &[String],
    f: impl Fn(&mut Value),
) -> Result<()> {
    for id in ids {
        let key = format!("{detector_id}/{id}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(item) = ctx.api.store.get(c::FINDINGS, &key).await? else {
                break;
            };
            let mut doc = item.value;
            f(&mut doc);
            match ctx
                .api
                .store
                .put(c::FINDINGS, &key, &doc, cond_of(item.version))
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_condition_failed() && attempt < 8 => tokio::task::yield_now().await,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// ArchiveFindings / UnarchiveFindings.
pub async fn archive(ctx: &Ctx<'_>, archived: bool) -> Result<Done> {
    let op = if archived {
        "ArchiveFindings"
    } else {
        "UnarchiveFindings"
    };
    let d = ctx.detector(op).await?;
    let ids = finding_ids(ctx, 1)?;
    rewrite(ctx, &d.value.id, &ids, |f| {
        set_archived(f, archived.then_some("manual"))
    })
    .await?;
    Ok(Done::ok(json!({})))
}

/// UpdateFindingsFeedback: sets `service.userFeedback` (comments are kept privately).
pub async fn feedback(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("UpdateFindingsFeedback").await?;
    let ids = finding_ids(ctx, 1)?;
    let fb = match ctx.str_opt("feedback")?.as_deref() {
        Some(f @ ("USEFUL" | "NOT_USEFUL")) => f.to_owned(),
        _ => {
            return Err(GuardApiError::invalid(
                "feedback must be USEFUL or NOT_USEFUL",
            ));
        }
    };
    let comments = ctx.str_opt("comments")?;
    rewrite(ctx, &d.value.id, &ids, |f| {
        if let Some(s) = f.get_mut("service").and_then(Value::as_object_mut) {
            s.insert("userFeedback".into(), json!(fb));
        }
        if let Some(o) = f.as_object_mut() {
            let p = o
                .entry(PRIVATE)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(p) = p.as_object_mut() {
                match &comments {
                    Some(c) => p.insert("feedbackComments".into(), json!(c)),
                    None => p.remove("feedbackComments"),
                };
            }
        }
    })
    .await?;
    Ok(Done::ok(json!({})))
}

/// CreateSampleFindings: one sample per type (a repeat aggregates into the same sample).
pub async fn create_samples(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("CreateSampleFindings").await?;
    let types: Vec<String> = match ctx.get("findingTypes") {
        None => DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        Some(Value::Array(a)) if a.len() <= 50 => {
            let mut out = Vec::new();
            for t in a {
                let t = t
                    .as_str()
                    .ok_or_else(|| GuardApiError::invalid("findingTypes must be strings"))?;
                check_type(t)?;
                if !out.iter().any(|x: &String| x == t) {
                    out.push(t.to_owned());
                }
            }
            if out.is_empty() {
                DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect()
            } else {
                out
            }
        }
        Some(_) => {
            return Err(GuardApiError::invalid(
                "findingTypes must be a list of at most 50 types",
            ));
        }
    };
    let now = iso_millis(ctx.now());
    let docs: Vec<Value> = types
        .iter()
        .map(|t| {
            let id = portcullis_guard_detect::store::hex_id(&["sample", &d.value.id, t]);
            sample(t, &id, &d.value.id, &d.value.account, &d.value.region, &now)
        })
        .collect();
    ctx.api.ingest_findings(&d.value.id, docs).await?;
    Ok(Done::ok(json!({})))
}
