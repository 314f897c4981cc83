//! Tags: TagResource, UntagResource, ListTagsForResource.

use std::collections::BTreeMap;

use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::validate::check::{
    REASON_INVALID_FORMAT, REASON_INVALID_LENGTH, REASON_MISSING,
};
use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::error::{Result, WafError};
use crate::input::paginate;
use crate::state::{Entity, Versioned, WafApi};

/// Tags per resource at most \[doc: AWS WAF quotas\].
pub const MAX_TAGS: usize = 50;

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn check_key(k: &str) -> Result<()> {
    if !(1..=128).contains(&k.chars().count()) {
        return Err(WafError::invalid(F::TagKeys, k, REASON_INVALID_LENGTH));
    }
    if !tag_chars_ok(k) {
        return Err(WafError::invalid(F::TagKeys, k, REASON_INVALID_FORMAT));
    }
    Ok(())
}

/// Parses a `TagList` (≥1 `{Key, Value}`), checking the model's lengths and patterns.
pub fn parse_tags(v: &Value) -> Result<BTreeMap<String, String>> {
    let list = v
        .as_array()
        .ok_or_else(|| WafError::Serialization("Member Tags must be a list".into()))?;
    if list.is_empty() {
        return Err(WafError::invalid(F::Tags, "Tags", REASON_INVALID_LENGTH));
    }
    let mut out = BTreeMap::new();
    for t in list {
        let key = t.get("Key").and_then(Value::as_str);
        let value = t.get("Value").and_then(Value::as_str);
        let (Some(key), Some(value)) = (key, value) else {
            return Err(WafError::invalid(F::Tags, "Tag", REASON_MISSING));
        };
        check_key(key).map_err(|_| WafError::invalid(F::Tags, key, REASON_INVALID_FORMAT))?;
        if value.chars().count() > 256 || !tag_chars_ok(value) {
            return Err(WafError::invalid(F::Tags, value, REASON_INVALID_FORMAT));
        }
        out.insert(key.to_owned(), value.to_owned());
    }
    if out.len() > MAX_TAGS {
        return Err(WafError::LimitsExceeded(format!(
            "WAF couldn't perform the operation because you exceeded your resource limit: at most {MAX_TAGS} tags per resource."
        )));
    }
    Ok(out)
}

async fn load(
    ctx: &Ctx<'_>,
    op: &str,
    extra: Option<&BTreeMap<String, String>>,
) -> Result<Versioned<Entity>> {
    let arn = ctx.input.arn("ResourceARN")?;
    if crate::arn::parse_resource_arn(&arn).is_none() {
        return Err(WafError::invalid(
            F::ResourceArn,
            arn,
            portcullis_waf_model::validate::check::REASON_INVALID_ARN,
        ));
    }
    let e = ctx.waf.entity_by_arn(&arn).await?;
    ctx.waf
        .authorize(ctx.req, op, &arn, e.as_ref().map(|e| &e.value.tags), extra)
        .await?;
    e.ok_or_else(|| {
        WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: {arn}."
        ))
    })
}

/// TagResource: adds tags, replacing the values of keys already present.
pub async fn tag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let tags = match ctx.input.get("Tags") {
        Some(v) => parse_tags(v)?,
        None => return Err(WafError::invalid(F::Tags, "Tags", REASON_MISSING)),
    };
    let mut e = load(ctx, "TagResource", Some(&tags)).await?;
    e.value.tags.extend(tags);
    if e.value.tags.len() > MAX_TAGS {
        return Err(WafError::LimitsExceeded(format!(
            "WAF couldn't perform the operation because you exceeded your resource limit: at most {MAX_TAGS} tags per resource."
        )));
    }
    let place = e.value.place();
    ctx.waf.commit(vec![WafApi::entity_op(&place, &e)?]).await?;
    Ok(Done::plain(json!({})))
}

/// UntagResource: removes tag keys; keys not present are no error.
pub async fn untag_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let keys: Vec<String> = match ctx.input.get("TagKeys") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|k| {
                k.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| WafError::Serialization("TagKeys must be strings".into()))
            })
            .collect::<Result<_>>()?,
        Some(Value::Array(_)) => {
            return Err(WafError::invalid(
                F::TagKeys,
                "TagKeys",
                REASON_INVALID_LENGTH,
            ));
        }
        Some(_) => {
            return Err(WafError::Serialization(
                "Member TagKeys must be a list".into(),
            ));
        }
        None => return Err(WafError::invalid(F::TagKeys, "TagKeys", REASON_MISSING)),
    };
    for k in &keys {
        check_key(k)?;
    }
    let mut e = load(ctx, "UntagResource", None).await?;
    let before = e.value.tags.len();
    for k in &keys {
        e.value.tags.remove(k);
    }
    if e.value.tags.len() != before {
        let place = e.value.place();
        ctx.waf.commit(vec![WafApi::entity_op(&place, &e)?]).await?;
    }
    Ok(Done::plain(json!({})))
}

/// ListTagsForResource: sorted by key, `Limit`/`NextMarker` pagination.
pub async fn list_tags_for_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = ctx.input.page()?;
    let e = load(ctx, "ListTagsForResource", None).await?;
    let tags: Vec<(String, String)> = e.value.tags.clone().into_iter().collect();
    let (page, next) = paginate(tags, |(k, _)| k.clone(), limit, marker.as_deref());
    let list: Vec<Value> = page
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    let mut body = json!({"TagInfoForResource": {"ResourceARN": e.value.arn, "TagList": list}});
    if let (Some(m), Some(o)) = (next, body.as_object_mut()) {
        o.insert("NextMarker".into(), json!(m));
    }
    Ok(Done::plain(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        let ok =
            parse_tags(&json!([{"Key": "team", "Value": "edge"}, {"Key": "env", "Value": ""}]))
                .unwrap();
        assert_eq!(ok.len(), 2);
        assert!(matches!(
            parse_tags(&json!([])),
            Err(WafError::InvalidParameter(_))
        ));
        assert!(matches!(
            parse_tags(&json!([{"Key": "bad#key", "Value": "v"}])),
            Err(WafError::InvalidParameter(_))
        ));
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect();
        assert!(matches!(
            parse_tags(&Value::Array(many)),
            Err(WafError::LimitsExceeded(_))
        ));
    }
}
