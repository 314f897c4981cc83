//! Tags: TagResource, UntagResource, ListResourceTags.

use portcullis_iam::policy::ContextValue;
use serde_json::{Value, json};

use super::keys::{load_authorized, parse_tags};
use super::{Ctx, Done, page};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::state::{Kms, Naming};

/// Tags per key at most.
pub const MAX_TAGS_PER_KEY: usize = 50;

/// TagResource: adds tags, overwriting values of keys already present.
pub async fn tag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    if ctx.input.value("Tags").is_none() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let tags = parse_tags(ctx)?;
    let mut key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let mut actx = Kms::context(ctx.req, "kms:TagResource", Some(&key.value)).with(
        "aws:TagKeys",
        ContextValue::Multi(tags.keys().cloned().collect()),
    );
    for (k, v) in &tags {
        actx = actx.with(
            format!("aws:RequestTag/{k}"),
            ContextValue::Single(v.clone()),
        );
    }
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    checks::require_not_pending_deletion(&key.value)?;
    key.value.tags.extend(tags);
    if key.value.tags.len() > MAX_TAGS_PER_KEY {
        return Err(KmsError::LimitExceeded(format!(
            "A key can have at most {MAX_TAGS_PER_KEY} tags; this request would leave {} on {}.",
            key.value.tags.len(),
            key.value.arn()
        )));
    }
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// UntagResource: removes tag keys; keys not present are no error.
pub async fn untag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    if ctx.input.value("TagKeys").is_none() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let keys = ctx.input.strings("TagKeys")?;
    if let Some(bad) = keys
        .iter()
        .find(|k| k.is_empty() || k.chars().count() > 128)
    {
        return Err(KmsError::Tag(format!(
            "Invalid tag key {bad:?}: tag keys are 1-128 characters"
        )));
    }
    let mut key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let actx = Kms::context(ctx.req, "kms:UntagResource", Some(&key.value))
        .with("aws:TagKeys", ContextValue::Multi(keys.clone()));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    checks::require_not_pending_deletion(&key.value)?;
    let before = key.value.tags.len();
    for k in &keys {
        key.value.tags.remove(k);
    }
    if key.value.tags.len() != before {
        ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    }
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// ListResourceTags: in any key state, sorted by tag key.
pub async fn list_resource_tags(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = page::params(&ctx.input, 50)?;
    let key = load_authorized(ctx, Naming::KeyOnly, "kms:ListResourceTags", None).await?;
    let tags: Vec<(String, String)> = key.value.tags.into_iter().collect();
    let page = page::paginate(tags, |(k, _)| k.clone(), limit, marker.as_deref());
    Ok(Done {
        body: page.render("Tags", |(k, v)| json!({"TagKey": k, "TagValue": v})),
        audit: Value::Null,
    })
}
