//! CreateListener, DescribeListeners, ModifyListener, DeleteListener.
//!
//! Every listener of every load balancer is a socket on the proxy nodes, so a port is taken once across all load
//! balancers (of every account): a second listener on it is a `DuplicateListener`. When the API runs beside a
//! proxy node, a port something else holds (a `[waf]` file listener, another program) is refused at once.

use serde_json::json;

use super::{Ctx, Done};
use crate::arn;
use crate::error::{ElbError, Result};
use crate::input::{action, page};
use crate::model::{Action, Listener, LoadBalancer, World};
use crate::render;
use crate::state::bind_address;

/// Listeners per load balancer.
pub const MAX_LISTENERS: usize = 50;

fn not_found(arn: &str) -> ElbError {
    ElbError::ListenerNotFound(format!("One or more listeners not found: {arn}"))
}

/// Checks that the action's target group exists.
pub fn check_action(world: &World, a: &Action) -> Result<()> {
    if let Some(tg) = a.target_group()
        && world.tg(tg).is_none()
    {
        return Err(ElbError::TargetGroupNotFound(format!(
            "Target group '{tg}' not found"
        )));
    }
    Ok(())
}

/// `Protocol` and `Certificates` → (protocol, certificate ARNs).
fn protocol_and_certs(ctx: &Ctx<'_>, default: Option<&str>) -> Result<(String, Vec<String>)> {
    let p = &ctx.params;
    let certs: Vec<String> = p
        .structs("Certificates")
        .iter()
        .filter_map(|c| c.optional("CertificateArn").map(str::to_owned))
        .collect();
    let protocol = p
        .optional("Protocol")
        .or(default)
        .unwrap_or(if certs.is_empty() { "HTTP" } else { "HTTPS" })
        .to_owned();
    match protocol.as_str() {
        "HTTP" => Ok((protocol, Vec::new())),
        "HTTPS" => {
            if let Some(c) = certs
                .iter()
                .find(|c| !c.ends_with(":certificate/portcullis-ca"))
            {
                return Err(ElbError::CertificateNotFound(format!(
                    "Certificate '{c}' not found: Portcullis listeners use a certificate from the built-in CA; omit Certificates or name {}",
                    render::builtin_certificate(ctx.region(), ctx.account())
                )));
            }
            Ok((
                protocol,
                vec![render::builtin_certificate(ctx.region(), ctx.account())],
            ))
        }
        other => Err(ElbError::UnsupportedProtocol(format!(
            "Protocol '{other}' is not supported by application load balancers on Portcullis (HTTP and HTTPS are)"
        ))),
    }
}

/// Refuses a port another listener (of any load balancer) has, or that cannot be bound here.
async fn check_port(
    ctx: &Ctx<'_>,
    world: &World,
    lb: &LoadBalancer,
    port: u16,
    except: Option<&str>,
) -> Result<()> {
    if world
        .listeners_of(&lb.arn)
        .any(|l| l.port == port && Some(l.arn.as_str()) != except)
    {
        return Err(ElbError::DuplicateListener(format!(
            "A listener already exists on port {port} of load balancer '{}'",
            lb.arn
        )));
    }
    let others = ctx.api.worlds().await?;
    let elsewhere = others.iter().chain(std::iter::once(world)).any(|w| {
        w.listeners
            .iter()
            .any(|l| l.port == port && Some(l.arn.as_str()) != except)
    });
    if elsewhere {
        return Err(ElbError::DuplicateListener(format!(
            "Port {port} is already used by a listener of another load balancer on these nodes"
        )));
    }
    if ctx.api.probe_ports
        && let Err(e) = std::net::TcpListener::bind(bind_address(&lb.scheme, port))
    {
        return Err(ElbError::InvalidConfiguration(format!(
            "Port {port} cannot be bound on this node: {e}"
        )));
    }
    Ok(())
}

fn port(ctx: &Ctx<'_>) -> Result<Option<u16>> {
    Ok(ctx
        .params
        .int("Port", 1..=65535)?
        .and_then(|n| u16::try_from(n).ok()))
}

fn one(ctx: &Ctx<'_>, op: &str, l: &Listener) -> portcullis_http::Reply {
    ctx.reply(op, |w| {
        w.open("Listeners");
        w.open("member");
        render::listener(w, l);
        w.close("member");
        w.close("Listeners");
    })
}

/// CreateListener.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let lb_arn = p.required("LoadBalancerArn")?.to_owned();
    let default = action(p, "DefaultActions")?;
    let port = port(ctx)?.ok_or_else(|| ElbError::missing("Port"))?;
    let (protocol, certificates) = protocol_and_certs(ctx, None)?;
    let tags = p.tags("Tags")?;
    let mut v = ctx.world().await?;
    let lb = v.world.lb(&lb_arn).cloned();
    ctx.api
        .authorize(
            ctx.req,
            "CreateListener",
            &lb_arn,
            lb.as_ref().map(|l| &l.tags),
            Some(&tags),
        )
        .await?;
    let lb = lb.ok_or_else(|| {
        ElbError::LoadBalancerNotFound(format!("Load balancer '{lb_arn}' not found"))
    })?;
    check_action(&v.world, &default)?;
    if v.world.listeners_of(&lb_arn).count() >= MAX_LISTENERS {
        return Err(ElbError::TooMany {
            code: "TooManyListeners",
            message: format!("A load balancer can have at most {MAX_LISTENERS} listeners"),
        });
    }
    check_port(ctx, &v.world, &lb, port, None).await?;
    let l = Listener {
        arn: arn::listener(&lb_arn, &arn::new_id()),
        load_balancer_arn: lb_arn,
        port,
        ssl_policy: (protocol == "HTTPS").then(|| {
            p.optional("SslPolicy")
                .unwrap_or("ELBSecurityPolicy-2016-08")
                .to_owned()
        }),
        protocol,
        certificates,
        default_actions: vec![default],
        tags,
    };
    v.world.listeners.push(l.clone());
    ctx.save(&v).await?;
    Ok(Done {
        reply: one(ctx, "CreateListener", &l),
        audit: json!({"listeners": [{"listenerArn": l.arn}]}),
    })
}

/// DescribeListeners.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    ctx.api
        .authorize(ctx.req, "DescribeListeners", "*", None, None)
        .await?;
    let arns = p.list("ListenerArns");
    let lb = p.optional("LoadBalancerArn");
    let v = ctx.world().await?;
    let selected: Vec<Listener> = match (lb, arns.is_empty()) {
        (Some(_), false) => {
            return Err(ElbError::Validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time".into(),
            ));
        }
        (None, true) => {
            return Err(ElbError::Validation(
                "You must specify either listener ARNs or a load balancer ARN".into(),
            ));
        }
        (Some(lb), true) => {
            if v.world.lb(lb).is_none() {
                return Err(ElbError::LoadBalancerNotFound(format!(
                    "Load balancer '{lb}' not found"
                )));
            }
            v.world.listeners_of(lb).cloned().collect()
        }
        (None, false) => arns
            .iter()
            .map(|a| v.world.listener(a).cloned().ok_or_else(|| not_found(a)))
            .collect::<Result<_>>()?,
    };
    let (page, next) = page(p, &selected)?;
    let reply = ctx.reply("DescribeListeners", |w| {
        w.open("Listeners");
        for l in &page {
            w.open("member");
            render::listener(w, l);
            w.close("member");
        }
        w.close("Listeners");
        w.leaf_opt("NextMarker", next.as_deref());
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}

/// ModifyListener: port, protocol, certificates, SSL policy and default action.
pub async fn modify(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let l_arn = p.required("ListenerArn")?.to_owned();
    let mut v = ctx.world().await?;
    let current = v.world.listener(&l_arn).cloned();
    ctx.api
        .authorize(
            ctx.req,
            "ModifyListener",
            &l_arn,
            current.as_ref().map(|l| &l.tags),
            None,
        )
        .await?;
    let mut l = current.ok_or_else(|| not_found(&l_arn))?;
    if !p.structs("DefaultActions").is_empty() {
        let a = action(p, "DefaultActions")?;
        check_action(&v.world, &a)?;
        l.default_actions = vec![a];
    }
    if p.optional("Protocol").is_some() || !p.structs("Certificates").is_empty() {
        let (protocol, certs) = protocol_and_certs(ctx, Some(&l.protocol))?;
        l.ssl_policy = (protocol == "HTTPS").then(|| {
            p.optional("SslPolicy")
                .or(l.ssl_policy.as_deref())
                .unwrap_or("ELBSecurityPolicy-2016-08")
                .to_owned()
        });
        l.protocol = protocol;
        l.certificates = certs;
    } else if let (Some(s), "HTTPS") = (p.optional("SslPolicy"), l.protocol.as_str()) {
        l.ssl_policy = Some(s.to_owned());
    }
    if let Some(port) = port(ctx)?
        && port != l.port
    {
        let lb = v
            .world
            .lb(&l.load_balancer_arn)
            .cloned()
            .ok_or_else(|| not_found(&l_arn))?;
        check_port(ctx, &v.world, &lb, port, Some(&l_arn)).await?;
        l.port = port;
    }
    if let Some(slot) = v.world.listener_mut(&l_arn) {
        *slot = l.clone();
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: one(ctx, "ModifyListener", &l),
        audit: serde_json::Value::Null,
    })
}

/// DeleteListener: its rules go with it.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let l_arn = ctx.params.required("ListenerArn")?.to_owned();
    let mut v = ctx.world().await?;
    let tags = v.world.listener(&l_arn).map(|l| l.tags.clone());
    ctx.api
        .authorize(ctx.req, "DeleteListener", &l_arn, tags.as_ref(), None)
        .await?;
    if tags.is_none() {
        return Err(not_found(&l_arn));
    }
    v.world.rules.retain(|r| r.listener_arn != l_arn);
    v.world.listeners.retain(|l| l.arn != l_arn);
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("DeleteListener", |_| {}),
        audit: serde_json::Value::Null,
    })
}
