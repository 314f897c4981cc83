//! Tags on detectors, filters, IP sets and threat-intel sets: TagResource, UntagResource,
//! ListTagsForResource.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Ctx, Done, MAX_TAGS, parse_tags};
use crate::error::{GuardApiError, Result};
use crate::state::{Detector, collections as c, cond_of, parse_arn};

fn not_found() -> GuardApiError {
    GuardApiError::BadRequest("The request is rejected since no such resource found.".into())
}

/// The resource's collection, key, stored document and version.
async fn load(
    ctx: &Ctx<'_>,
    op: &str,
    request_tags: Option<&BTreeMap<String, String>>,
) -> Result<(String, String, Value, u64)> {
    let arn = ctx.label("ResourceArn").to_owned();
    let p = parse_arn(&arn).ok_or_else(|| {
        GuardApiError::invalid(format!("resourceArn {arn} is not a GuardDuty ARN"))
    })?;
    let det = if p.account == ctx.account() && p.region == ctx.region() {
        ctx.api
            .detector_in(&p.account, &p.region)
            .await?
            .filter(|d| d.value.id == p.detector_id)
    } else {
        None
    };
    let (coll, key) = match (&det, &p.sub) {
        (Some(d), None) => (
            c::DETECTORS,
            format!("{}/{}", d.value.account, d.value.region),
        ),
        (Some(_), Some((kind, x))) => (
            if kind == "filter" {
                c::FILTERS
            } else {
                c::SETS
            },
            match kind.as_str() {
                "filter" => format!("{}/{x}", p.detector_id),
                k => format!("{}/{k}/{x}", p.detector_id),
            },
        ),
        (None, _) => (c::DETECTORS, String::new()),
    };
    let item = if key.is_empty() {
        None
    } else {
        ctx.api.store.get(coll, &key).await?
    };
    let tags: Option<BTreeMap<String, String>> = item
        .as_ref()
        .and_then(|i| i.value.get("tags"))
        .and_then(|t| serde_json::from_value(t.clone()).ok());
    ctx.api
        .authorize(ctx.req, op, &arn, tags.as_ref(), request_tags)
        .await?;
    let item = item.ok_or_else(not_found)?;
    if coll == c::DETECTORS && serde_json::from_value::<Detector>(item.value.clone()).is_err() {
        return Err(not_found());
    }
    Ok((coll.to_owned(), key, item.value, item.version))
}

fn tags_of(doc: &Value) -> BTreeMap<String, String> {
    doc.get("tags")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

async fn save(
    ctx: &Ctx<'_>,
    coll: &str,
    key: &str,
    mut doc: Value,
    version: u64,
    tags: BTreeMap<String, String>,
) -> Result<()> {
    if let Some(o) = doc.as_object_mut() {
        o.insert("tags".into(), json!(tags));
    }
    ctx.api.store.put(coll, key, &doc, cond_of(version)).await?;
    Ok(())
}

/// TagResource (204).
pub async fn tag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let add =
        parse_tags(ctx.get("tags"))?.ok_or_else(|| GuardApiError::invalid("tags is required"))?;
    let (coll, key, doc, version) = load(ctx, "TagResource", Some(&add)).await?;
    let mut tags = tags_of(&doc);
    tags.extend(add);
    if tags.len() > MAX_TAGS {
        return Err(GuardApiError::BadRequest(format!(
            "The request is rejected because a resource can have at most {MAX_TAGS} tags."
        )));
    }
    save(ctx, &coll, &key, doc, version, tags).await?;
    Ok(Done {
        body: json!({}),
        no_content: true,
        audit: Value::Null,
    })
}

/// UntagResource (204): `?tagKeys=` repeated.
pub async fn untag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let keys: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v.clone())
        .collect();
    if keys.is_empty() || keys.len() > 200 {
        return Err(GuardApiError::invalid("tagKeys must have 1 to 200 keys"));
    }
    let (coll, key, doc, version) = load(ctx, "UntagResource", None).await?;
    let mut tags = tags_of(&doc);
    for k in &keys {
        tags.remove(k);
    }
    save(ctx, &coll, &key, doc, version, tags).await?;
    Ok(Done {
        body: json!({}),
        no_content: true,
        audit: Value::Null,
    })
}

/// ListTagsForResource.
pub async fn list_tags(ctx: &Ctx<'_>) -> Result<Done> {
    let (_, _, doc, _) = load(ctx, "ListTagsForResource", None).await?;
    Ok(Done::read(json!({"tags": tags_of(&doc)})))
}
