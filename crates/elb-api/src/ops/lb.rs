//! CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Ctx, Done};
use crate::arn;
use crate::error::{ElbError, Result};
use crate::input::page;
use crate::model::LoadBalancer;
use crate::render;

/// Load balancers per account and region.
pub const MAX_LOAD_BALANCERS: usize = 50;

fn not_found(what: &str) -> ElbError {
    ElbError::LoadBalancerNotFound(format!("One or more load balancers not found: {what}"))
}

/// CreateLoadBalancer.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let name = p.required("Name")?.to_owned();
    if !arn::is_name(&name) || name.starts_with("internal-") {
        return Err(ElbError::Validation(format!(
            "The load balancer name '{name}' must have 1-32 letters, digits and hyphens, must not begin or end with a hyphen and must not begin with 'internal-'"
        )));
    }
    match p.optional("Type").unwrap_or("application") {
        "application" => {}
        other => {
            return Err(ElbError::InvalidConfiguration(format!(
                "Load balancer type '{other}' is not supported: Portcullis runs application load balancers"
            )));
        }
    }
    let scheme = p.optional("Scheme").unwrap_or("internet-facing").to_owned();
    if !matches!(scheme.as_str(), "internet-facing" | "internal") {
        return Err(ElbError::InvalidScheme(format!(
            "Scheme '{scheme}' is not valid; use 'internet-facing' or 'internal'"
        )));
    }
    let ip_type = p.optional("IpAddressType").unwrap_or("ipv4").to_owned();
    if !matches!(ip_type.as_str(), "ipv4" | "dualstack") {
        return Err(ElbError::Validation(format!(
            "IpAddressType '{ip_type}' is not valid"
        )));
    }
    let tags = p.tags("Tags")?;
    let id = arn::new_id();
    let lb_arn = arn::load_balancer(ctx.region(), ctx.account(), &name, &id);
    ctx.api
        .authorize(ctx.req, "CreateLoadBalancer", &lb_arn, None, Some(&tags))
        .await?;
    let mut v = ctx.world().await?;
    if v.world.load_balancers.iter().any(|l| l.name == name) {
        return Err(ElbError::DuplicateLoadBalancerName(format!(
            "A load balancer with the name '{name}' already exists"
        )));
    }
    if v.world.load_balancers.len() >= MAX_LOAD_BALANCERS {
        return Err(ElbError::TooMany {
            code: "TooManyLoadBalancers",
            message: format!("The quota of {MAX_LOAD_BALANCERS} load balancers has been reached"),
        });
    }
    let created = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default();
    let lb = LoadBalancer {
        arn: lb_arn.clone(),
        dns_name: format!("{name}-{id}.{}.elb.localhost", ctx.region()),
        name,
        id,
        scheme,
        ip_address_type: ip_type,
        created,
        tags,
    };
    v.world.load_balancers.push(lb.clone());
    ctx.save(&v).await?;
    let reply = ctx.reply("CreateLoadBalancer", |w| {
        w.open("LoadBalancers");
        w.open("member");
        render::load_balancer(w, &lb);
        w.close("member");
        w.close("LoadBalancers");
    });
    Ok(Done {
        reply,
        audit: json!({"loadBalancers": [{"loadBalancerArn": lb.arn, "dNSName": lb.dns_name}]}),
    })
}

/// DescribeLoadBalancers.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    ctx.api
        .authorize(ctx.req, "DescribeLoadBalancers", "*", None, None)
        .await?;
    let arns = p.list("LoadBalancerArns");
    let names = p.list("Names");
    if !arns.is_empty() && !names.is_empty() {
        return Err(ElbError::Validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time"
                .into(),
        ));
    }
    let v = ctx.world().await?;
    let all = &v.world.load_balancers;
    let named = super::select_named(all, &arns, &names, |x| &x.arn, |x| &x.name, not_found);
    let selected: Vec<LoadBalancer> = if let Some(named) = named {
        named?
    } else {
        all.clone()
    };
    let (page, next) = page(p, &selected)?;
    let reply = ctx.reply("DescribeLoadBalancers", |w| {
        w.open("LoadBalancers");
        for lb in &page {
            w.open("member");
            render::load_balancer(w, lb);
            w.close("member");
        }
        w.close("LoadBalancers");
        w.leaf_opt("NextMarker", next.as_deref());
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}

/// DeleteLoadBalancer: its listeners and their rules go with it; one that does not exist is deleted already.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let lb_arn = ctx.params.required("LoadBalancerArn")?.to_owned();
    let mut v = ctx.world().await?;
    let tags = v.world.lb(&lb_arn).map(|l| l.tags.clone());
    ctx.api
        .authorize(ctx.req, "DeleteLoadBalancer", &lb_arn, tags.as_ref(), None)
        .await?;
    if tags.is_none() {
        // As AWS: deleting a load balancer that does not exist (or is already deleted) succeeds.
        return Ok(Done {
            reply: ctx.reply("DeleteLoadBalancer", |_| {}),
            audit: serde_json::Value::Null,
        });
    }
    let w = &mut v.world;
    let gone: Vec<String> = w.listeners_of(&lb_arn).map(|l| l.arn.clone()).collect();
    w.rules.retain(|r| !gone.contains(&r.listener_arn));
    w.listeners.retain(|l| l.load_balancer_arn != lb_arn);
    w.load_balancers.retain(|l| l.arn != lb_arn);
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("DeleteLoadBalancer", |_| {}),
        audit: serde_json::Value::Null,
    })
}
