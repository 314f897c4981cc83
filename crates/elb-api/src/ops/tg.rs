//! Target groups and their targets: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup,
//! RegisterTargets, DeregisterTargets, DescribeTargetHealth.
//!
//! Targets are IP addresses reached over plain HTTP/1.1 (the proxy's pools); health checks are HTTP `GET`s of the
//! health check path, and a 2xx or 3xx answer counts as healthy whatever `Matcher` says.

use std::net::{IpAddr, SocketAddr};

use serde_json::json;

use super::{Ctx, Done};
use crate::arn;
use crate::error::{ElbError, Result};
use crate::input::{Params, page, targets};
use crate::model::{HealthCheck, TargetGroup, World};
use crate::render;

/// Target groups per account and region.
pub const MAX_TARGET_GROUPS: usize = 100;
/// Targets per target group.
pub const MAX_TARGETS: usize = 1000;

fn not_found(what: &str) -> ElbError {
    ElbError::TargetGroupNotFound(format!("One or more target groups not found: {what}"))
}

fn u32_in(p: &Params, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<u32>> {
    Ok(p.int(name, range)?.and_then(|n| u32::try_from(n).ok()))
}

/// The health check settings of `p` over `base`.
fn health_settings(p: &Params, mut h: HealthCheck) -> Result<HealthCheck> {
    if let Some(proto) = p.optional("HealthCheckProtocol") {
        if proto != "HTTP" {
            return Err(ElbError::InvalidConfiguration(format!(
                "Health check protocol '{proto}' is not supported: Portcullis checks targets over HTTP"
            )));
        }
        h.protocol = proto.to_owned();
    }
    if let Some(port) = p.optional("HealthCheckPort") {
        if port != "traffic-port" {
            return Err(ElbError::InvalidConfiguration(
                "Portcullis checks targets on their traffic port; HealthCheckPort must be 'traffic-port'".into(),
            ));
        }
        h.port = port.to_owned();
    }
    if let Some(path) = p.optional("HealthCheckPath") {
        if !path.starts_with('/') || path.len() > 1024 {
            return Err(ElbError::Validation(format!(
                "Health check path '{path}' must start with '/' and be at most 1024 characters"
            )));
        }
        h.path = path.to_owned();
    }
    if let Some(e) = p.boolean("HealthCheckEnabled")? {
        h.enabled = e;
    }
    if let Some(n) = u32_in(p, "HealthCheckIntervalSeconds", 5..=300)? {
        h.interval = n;
    }
    if let Some(n) = u32_in(p, "HealthCheckTimeoutSeconds", 2..=120)? {
        h.timeout = n;
    }
    if let Some(n) = u32_in(p, "HealthyThresholdCount", 2..=10)? {
        h.healthy = n;
    }
    if let Some(n) = u32_in(p, "UnhealthyThresholdCount", 2..=10)? {
        h.unhealthy = n;
    }
    if let Some(code) = p.optional("Matcher.HttpCode") {
        h.matcher = code.to_owned();
    }
    if h.timeout >= h.interval {
        return Err(ElbError::InvalidConfiguration(
            "Health check timeout must be smaller than the interval".into(),
        ));
    }
    Ok(h)
}

/// CreateTargetGroup.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let name = p.required("Name")?.to_owned();
    if !arn::is_name(&name) {
        return Err(ElbError::Validation(format!(
            "Target group name '{name}' must have 1-32 letters, digits and hyphens and must not begin or end with a hyphen"
        )));
    }
    match p.optional("TargetType").unwrap_or("ip") {
        "ip" => {}
        other => {
            return Err(ElbError::InvalidConfiguration(format!(
                "Target type '{other}' is not supported: Portcullis target groups take IP addresses (TargetType 'ip')"
            )));
        }
    }
    let protocol = p.required("Protocol")?.to_owned();
    if protocol != "HTTP" {
        return Err(ElbError::InvalidConfiguration(format!(
            "Protocol '{protocol}' is not supported for targets: Portcullis reaches targets over HTTP"
        )));
    }
    let port = p
        .int("Port", 1..=65535)?
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| ElbError::Validation("A port must be specified".into()))?;
    let h = health_settings(p, HealthCheck::default())?;
    let tags = p.tags("Tags")?;
    let tg_arn = arn::target_group(ctx.region(), ctx.account(), &name, &arn::new_id());
    ctx.api
        .authorize(ctx.req, "CreateTargetGroup", &tg_arn, None, Some(&tags))
        .await?;
    let mut v = ctx.world().await?;
    if v.world.target_groups.iter().any(|t| t.name == name) {
        return Err(ElbError::DuplicateTargetGroupName(format!(
            "A target group with the same name '{name}' exists, but with different settings"
        )));
    }
    if v.world.target_groups.len() >= MAX_TARGET_GROUPS {
        return Err(ElbError::TooMany {
            code: "TooManyTargetGroups",
            message: format!("The quota of {MAX_TARGET_GROUPS} target groups has been reached"),
        });
    }
    let tg = TargetGroup {
        arn: tg_arn,
        name,
        protocol,
        port,
        vpc_id: p.optional("VpcId").map(str::to_owned),
        health: h,
        targets: Vec::new(),
        tags,
    };
    v.world.target_groups.push(tg.clone());
    ctx.save(&v).await?;
    let reply = one(ctx, "CreateTargetGroup", &tg, &v.world);
    Ok(Done {
        reply,
        audit: json!({"targetGroups": [{"targetGroupArn": tg.arn}]}),
    })
}

fn one(ctx: &Ctx<'_>, op: &str, tg: &TargetGroup, world: &World) -> portcullis_http::Reply {
    ctx.reply(op, |w| {
        w.open("TargetGroups");
        w.open("member");
        render::target_group(w, tg, world);
        w.close("member");
        w.close("TargetGroups");
    })
}

/// DescribeTargetGroups.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    ctx.api
        .authorize(ctx.req, "DescribeTargetGroups", "*", None, None)
        .await?;
    let arns = p.list("TargetGroupArns");
    let names = p.list("Names");
    let lb = p.optional("LoadBalancerArn");
    let given =
        usize::from(!arns.is_empty()) + usize::from(!names.is_empty()) + usize::from(lb.is_some());
    if given > 1 {
        return Err(ElbError::Validation(
            "Only one of LoadBalancerArn, TargetGroupArns and Names can be specified".into(),
        ));
    }
    let v = ctx.world().await?;
    let all = &v.world.target_groups;
    let named = super::select_named(all, &arns, &names, |x| &x.arn, |x| &x.name, not_found);
    let selected: Vec<TargetGroup> = if let Some(named) = named {
        named?
    } else if let Some(lb) = lb {
        if v.world.lb(lb).is_none() {
            return Err(ElbError::LoadBalancerNotFound(format!(
                "Load balancer '{lb}' not found"
            )));
        }
        all.iter()
            .filter(|t| v.world.lbs_using(&t.arn).iter().any(|a| a == lb))
            .cloned()
            .collect()
    } else {
        all.clone()
    };
    let (page, next) = page(p, &selected)?;
    let reply = ctx.reply("DescribeTargetGroups", |w| {
        w.open("TargetGroups");
        for tg in &page {
            w.open("member");
            render::target_group(w, tg, &v.world);
            w.close("member");
        }
        w.close("TargetGroups");
        w.leaf_opt("NextMarker", next.as_deref());
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}

/// The target group named by `TargetGroupArn`, authorized for `op`.
async fn target(ctx: &Ctx<'_>, op: &str) -> Result<(crate::state::Versioned, String)> {
    let tg_arn = ctx.params.required("TargetGroupArn")?.to_owned();
    let v = ctx.world().await?;
    let tags = v.world.tg(&tg_arn).map(|t| t.tags.clone());
    ctx.api
        .authorize(ctx.req, op, &tg_arn, tags.as_ref(), None)
        .await?;
    if tags.is_none() {
        return Err(not_found(&tg_arn));
    }
    Ok((v, tg_arn))
}

/// ModifyTargetGroup: the health check settings.
pub async fn modify(ctx: &Ctx<'_>) -> Result<Done> {
    let (mut v, tg_arn) = target(ctx, "ModifyTargetGroup").await?;
    let tg = v.world.tg_mut(&tg_arn).ok_or_else(|| not_found(&tg_arn))?;
    tg.health = health_settings(&ctx.params, tg.health.clone())?;
    let tg = tg.clone();
    ctx.save(&v).await?;
    Ok(Done {
        reply: one(ctx, "ModifyTargetGroup", &tg, &v.world),
        audit: serde_json::Value::Null,
    })
}

/// DeleteTargetGroup: refused while a listener or rule forwards to it; deleting one that does not exist succeeds.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let tg_arn = ctx.params.required("TargetGroupArn")?.to_owned();
    let mut v = ctx.world().await?;
    let tags = v.world.tg(&tg_arn).map(|t| t.tags.clone());
    ctx.api
        .authorize(ctx.req, "DeleteTargetGroup", &tg_arn, tags.as_ref(), None)
        .await?;
    if tags.is_some() {
        if let Some(lb) = v.world.lbs_using(&tg_arn).first() {
            return Err(ElbError::ResourceInUse(format!(
                "Target group '{tg_arn}' is currently in use by a listener or a rule of '{lb}'"
            )));
        }
        v.world.target_groups.retain(|t| t.arn != tg_arn);
        ctx.save(&v).await?;
    }
    Ok(Done {
        reply: ctx.reply("DeleteTargetGroup", |_| {}),
        audit: serde_json::Value::Null,
    })
}

/// RegisterTargets.
pub async fn register(ctx: &Ctx<'_>) -> Result<Done> {
    let (mut v, tg_arn) = target(ctx, "RegisterTargets").await?;
    let tg = v.world.tg_mut(&tg_arn).ok_or_else(|| not_found(&tg_arn))?;
    for t in targets(&ctx.params, tg.port)? {
        if !tg.targets.contains(&t) {
            tg.targets.push(t);
        }
    }
    if tg.targets.len() > MAX_TARGETS {
        return Err(ElbError::TooMany {
            code: "TooManyTargets",
            message: format!("A target group can have at most {MAX_TARGETS} targets"),
        });
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("RegisterTargets", |_| {}),
        audit: serde_json::Value::Null,
    })
}

/// DeregisterTargets: every target must be registered.
pub async fn deregister(ctx: &Ctx<'_>) -> Result<Done> {
    let (mut v, tg_arn) = target(ctx, "DeregisterTargets").await?;
    let tg = v.world.tg_mut(&tg_arn).ok_or_else(|| not_found(&tg_arn))?;
    for t in targets(&ctx.params, tg.port)? {
        let Some(i) = tg.targets.iter().position(|x| *x == t) else {
            return Err(ElbError::InvalidTarget(format!(
                "The following targets are not registered in target group '{tg_arn}': '{}'",
                t.id
            )));
        };
        tg.targets.remove(i);
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("DeregisterTargets", |_| {}),
        audit: serde_json::Value::Null,
    })
}

/// DescribeTargetHealth: what this node's proxy knows from its active health checks. A target group no listener
/// forwards to is `unused`; one whose pool this node does not run (yet) is `initial`; with health checks disabled
/// targets are `unavailable`.
pub async fn describe_health(ctx: &Ctx<'_>) -> Result<Done> {
    let (v, tg_arn) = target(ctx, "DescribeTargetHealth").await?;
    let tg = v.world.tg(&tg_arn).ok_or_else(|| not_found(&tg_arn))?;
    let wanted = if ctx.params.structs("Targets").is_empty() {
        tg.targets.clone()
    } else {
        let asked = targets(&ctx.params, tg.port)?;
        if let Some(t) = asked.iter().find(|t| !tg.targets.contains(t)) {
            return Err(ElbError::InvalidTarget(format!(
                "The following targets are not registered in target group '{tg_arn}': '{}'",
                t.id
            )));
        }
        asked
    };
    let in_use = !v.world.lbs_using(&tg_arn).is_empty();
    let pool = match ctx.api.health_source() {
        Some(h) if in_use => h.pool_health(&tg_arn).await,
        _ => None,
    };
    let reply = ctx.reply("DescribeTargetHealth", |w| {
        w.open("TargetHealthDescriptions");
        for t in &wanted {
            let addr =
                t.id.parse::<IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, t.port));
            let seen = pool
                .as_ref()
                .and_then(|p| p.iter().find(|(a, _)| Some(*a) == addr).map(|(_, h)| *h));
            let (state, reason, text) = if !in_use {
                (
                    "unused",
                    Some("Target.NotInUse"),
                    "Target group is not configured to receive traffic from the load balancer",
                )
            } else if !tg.health.enabled {
                (
                    "unavailable",
                    Some("Target.HealthCheckDisabled"),
                    "Health checks are disabled",
                )
            } else {
                match seen {
                    Some(true) => ("healthy", None, ""),
                    Some(false) => (
                        "unhealthy",
                        Some("Target.FailedHealthChecks"),
                        "Health checks failed",
                    ),
                    None => (
                        "initial",
                        Some("Elb.RegistrationInProgress"),
                        "Target registration is in progress",
                    ),
                }
            };
            w.open("member");
            w.open("Target");
            w.leaf("Id", &t.id);
            w.leaf("Port", &t.port.to_string());
            w.close("Target");
            w.leaf("HealthCheckPort", &t.port.to_string());
            w.open("TargetHealth");
            w.leaf("State", state);
            w.leaf_opt("Reason", reason);
            if !text.is_empty() {
                w.leaf("Description", text);
            }
            w.close("TargetHealth");
            w.close("member");
        }
        w.close("TargetHealthDescriptions");
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}
