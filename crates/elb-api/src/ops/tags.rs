//! AddTags, RemoveTags, DescribeTags over load balancers, target groups, listeners and rules.

use super::{Ctx, Done};
use crate::error::{ElbError, Result};
use crate::input::MAX_TAGS;
use crate::model::{Tags, World};
use crate::render;

/// The not-found error for an ARN, by the kind of resource it names.
fn not_found(arn: &str) -> ElbError {
    let msg = format!("Resource '{arn}' not found");
    if arn.contains(":loadbalancer/") {
        ElbError::LoadBalancerNotFound(msg)
    } else if arn.contains(":targetgroup/") {
        ElbError::TargetGroupNotFound(msg)
    } else if arn.contains(":listener-rule/") {
        ElbError::RuleNotFound(msg)
    } else if arn.contains(":listener/") {
        ElbError::ListenerNotFound(msg)
    } else {
        ElbError::Validation(format!("'{arn}' is not a valid resource ARN"))
    }
}

fn tags_of(world: &mut World, arn: &str) -> Result<Tags> {
    world
        .tags_mut(arn)
        .map(|t| t.clone())
        .ok_or_else(|| not_found(arn))
}

fn arns(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    let arns = ctx.params.list("ResourceArns");
    if arns.is_empty() {
        return Err(ElbError::missing("ResourceArns"));
    }
    if arns.len() > 20 {
        return Err(ElbError::Validation(
            "At most 20 resource ARNs can be given".into(),
        ));
    }
    Ok(arns)
}

/// AddTags.
pub async fn add(ctx: &Ctx<'_>) -> Result<Done> {
    let arns = arns(ctx)?;
    let new = ctx.params.tags("Tags")?;
    if new.is_empty() {
        return Err(ElbError::missing("Tags"));
    }
    let mut v = ctx.world().await?;
    for arn in &arns {
        let current = v.world.tags_mut(arn).map(|t| t.clone());
        ctx.api
            .authorize(ctx.req, "AddTags", arn, current.as_ref(), Some(&new))
            .await?;
        let tags = v.world.tags_mut(arn).ok_or_else(|| not_found(arn))?;
        tags.extend(new.clone());
        if tags.len() > MAX_TAGS {
            return Err(ElbError::TooManyTags(format!(
                "A resource can have at most {MAX_TAGS} tags"
            )));
        }
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("AddTags", |_| {}),
        audit: serde_json::Value::Null,
    })
}

/// RemoveTags.
pub async fn remove(ctx: &Ctx<'_>) -> Result<Done> {
    let arns = arns(ctx)?;
    let keys = ctx.params.list("TagKeys");
    if keys.is_empty() {
        return Err(ElbError::missing("TagKeys"));
    }
    let mut v = ctx.world().await?;
    for arn in &arns {
        let current = tags_of(&mut v.world, arn).ok();
        ctx.api
            .authorize(ctx.req, "RemoveTags", arn, current.as_ref(), None)
            .await?;
        let tags = v.world.tags_mut(arn).ok_or_else(|| not_found(arn))?;
        for k in &keys {
            tags.remove(k);
        }
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("RemoveTags", |_| {}),
        audit: serde_json::Value::Null,
    })
}

/// DescribeTags.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    let arns = arns(ctx)?;
    ctx.api
        .authorize(ctx.req, "DescribeTags", "*", None, None)
        .await?;
    let mut v = ctx.world().await?;
    let mut found = Vec::new();
    for arn in &arns {
        found.push((arn.clone(), tags_of(&mut v.world, arn)?));
    }
    let reply = ctx.reply("DescribeTags", |w| {
        w.open("TagDescriptions");
        for (arn, tags) in &found {
            w.open("member");
            w.leaf("ResourceArn", arn);
            render::tags(w, tags);
            w.close("member");
        }
        w.close("TagDescriptions");
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}
