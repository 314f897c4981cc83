//! Tags on filters: TagResource, UntagResource, ListTagsForResource (`/tags/{resourceArn}`).

use serde_json::json;

use super::filters::load;
use super::{Ctx, Done, MAX_TAGS, parse_tags};
use crate::error::{InspectorApiError, Result};
use crate::state::{collections as c, cond_of};

fn arn(ctx: &Ctx<'_>) -> Result<String> {
    ctx.resource_arn
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| InspectorApiError::field("resourceArn", "is required"))
}

async fn save(ctx: &Ctx<'_>, f: &crate::state::FilterRecord, version: u64) -> Result<()> {
    let doc = serde_json::to_value(f)
        .map_err(|e| InspectorApiError::Internal(format!("filter does not encode: {e}")))?;
    ctx.api
        .store
        .put(
            c::FILTERS,
            &format!("{}/{}", f.owner_id, f.id),
            &doc,
            cond_of(version),
        )
        .await?;
    Ok(())
}

/// TagResource.
pub async fn tag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = arn(ctx)?;
    let add = parse_tags(ctx.get("tags"))?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| InspectorApiError::field("tags", "is required"))?;
    let mut f = load(ctx, "TagResource", &arn).await?;
    // The request's tags count for aws:RequestTag conditions too.
    ctx.api
        .authorize(
            ctx.req,
            "TagResource",
            &arn,
            Some(&f.value.tags),
            Some(&add),
        )
        .await?;
    f.value.tags.extend(add);
    if f.value.tags.len() > MAX_TAGS {
        return Err(InspectorApiError::BadRequest(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    save(ctx, &f.value, f.version).await?;
    Ok(Done::ok(json!({})))
}

/// UntagResource: `?tagKeys=` repeated.
pub async fn untag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = arn(ctx)?;
    let keys: Vec<&String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v)
        .collect();
    if keys.is_empty() || keys.len() > 50 {
        return Err(InspectorApiError::field(
            "tagKeys",
            "must name 1 to 50 keys",
        ));
    }
    let mut f = load(ctx, "UntagResource", &arn).await?;
    for k in keys {
        f.value.tags.remove(k);
    }
    save(ctx, &f.value, f.version).await?;
    Ok(Done::ok(json!({})))
}

/// ListTagsForResource.
pub async fn list_tags(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = arn(ctx)?;
    let f = load(ctx, "ListTagsForResource", &arn).await?;
    Ok(Done::read(json!({"tags": f.value.tags})))
}
