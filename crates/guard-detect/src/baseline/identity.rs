//! Per-identity API profiles from CloudTrail and the `*:IAMUser/AnomalousBehavior` findings.
//!
//! An identity is an account and a principal; role sessions count as their role (every
//! session of a role behaves alike). Its profile counts successful calls per
//! `eventSource:eventName`, and every call's source network, user agent family and region.
//!
//! After the learning period, a successful call of a sensitive API (the table in
//! [`crate::trail::sensitive`]) that is UNSEEN or RARE for the identity is reported under the
//! table's type, with the evidence GuardDuty shows in `service.additionalInfo`: the unusual
//! API, user agent and network with their buckets (`unusualBehavior`), the identity's usual
//! APIs (at most 20) and the training period (`profiledBehavior`), and both in the API
//! model's `anomaly` shape (`anomalies`). A burst of list/describe/get calls the identity never
//! made ([`DISCOVERY_MIN_UNSEEN`] within [`DISCOVERY_WINDOW_SECS`]) is
//! Discovery:IAMUser/AnomalousBehavior.

use serde_json::{Value, json};

use super::profile::{
    Frequency, IdentityProfile, MAX_AGENTS, MAX_APIS, MAX_NETWORKS, MAX_REGIONS, agent_family,
    network_of,
};
use super::{Baselines, DISCOVERY_MIN_HISTORY_SECS, DISCOVERY_MIN_UNSEEN, DISCOVERY_WINDOW_SECS};
use crate::engine::Ctx;
use crate::finding::severity::LOW;
use crate::store::Detection;
use crate::time::format_iso_millis;
use crate::trail::Event;
use crate::trail::sensitive;

/// Usual APIs listed in a finding's evidence (GuardDuty shows at most 20).
pub const MAX_USUAL_APIS: usize = 20;
const DISCOVERY: &str = "Discovery:IAMUser/AnomalousBehavior";

/// `account|principal` of an event's caller.
pub fn identity_of(e: &Event<'_, '_>) -> String {
    let u = &e.rec.user_identity;
    let account = e
        .rec
        .recipient_account_id
        .as_deref()
        .or(u.account_id.as_deref())
        .unwrap_or("");
    let principal = u
        .session_issuer
        .as_ref()
        .and_then(|s| s.arn.as_deref())
        .or(u.arn.as_deref())
        .unwrap_or(&e.who);
    let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    format!("{}|{}", clip(account, 32), clip(principal, MAX_KEY_CHARS))
}

/// Longest principal and API name kept (untrusted logs may carry megabytes in a field).
pub const MAX_KEY_CHARS: usize = 256;

/// The network an address counts as in profiles: its ASN when an ASN database is configured,
/// else its `/24` or `/48`.
pub fn network_key(ctx: &Ctx<'_>, ip: std::net::IpAddr) -> String {
    match ctx.geo.and_then(|g| g.asn(ip)) {
        Some(asn) => format!("AS{asn}"),
        None => network_of(ip),
    }
}

/// Whether `identity` usually calls from `ip`'s network: used on at least two days and
/// INFREQUENT or FREQUENT in its profile (the learned suppression of
/// InstanceCredentialExfiltration.OutsideAWS).
pub fn usual_network(
    b: &Baselines,
    identity: &str,
    ip: std::net::IpAddr,
    ctx: &Ctx<'_>,
    t: i64,
) -> bool {
    let net = network_key(ctx, ip);
    b.identity(identity).is_some_and(|p| {
        let days = p.networks.get(&net).map_or(0, |u| {
            u.days
                .count_within(t.div_euclid(super::profile::DAY), p.span_days(t))
        });
        days >= 2 && p.bucket(&p.networks, &net, t) >= Frequency::Infrequent
    })
}

fn is_discovery(name: &str) -> bool {
    ["List", "Describe", "Get"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// What one event looks like to the profile.
struct Facts {
    api: String,
    network: Option<String>,
    agent: String,
    region: Option<String>,
}

fn bucket_json(f: Frequency, text: &str) -> Value {
    json!({"profileType": "FREQUENCY", "profileSubtype": f.name(),
           "observations": {"text": [text]}})
}

/// The evidence of an anomalous call (additionalInfo members).
fn evidence(
    b: &Baselines,
    identity: &str,
    p: Option<&IdentityProfile>,
    facts: &Facts,
    t: i64,
) -> Vec<(&'static str, Value)> {
    let principal = identity.split_once('|').map_or(identity, |(_, p)| p);
    let bucket = |f: &dyn Fn(&IdentityProfile) -> Frequency| p.map_or(Frequency::Unseen, f);
    let api_b = bucket(&|p| p.bucket(&p.apis, &facts.api, t));
    let agent_b = bucket(&|p| p.bucket(&p.agents, &facts.agent, t));
    let net_b = facts
        .network
        .as_deref()
        .map(|n| bucket(&|p| p.bucket(&p.networks, n, t)));
    let region_b = facts
        .region
        .as_deref()
        .map(|r| bucket(&|p| p.bucket(&p.regions, r, t)));
    let top =
        |m: fn(&IdentityProfile) -> &super::profile::UsageMap<String>, n: usize| -> Vec<Value> {
            p.map(|p| {
                p.top(m(p), n, t)
                    .into_iter()
                    .map(|(k, f, calls)| json!({"name": k, "frequency": f.name(), "calls": calls}))
                    .collect()
            })
            .unwrap_or_default()
        };
    let usual_apis = top(|p| &p.apis, MAX_USUAL_APIS);
    let mut profiles = serde_json::Map::new();
    for f in [Frequency::Frequent, Frequency::Infrequent, Frequency::Rare] {
        let names: Vec<&Value> = usual_apis
            .iter()
            .filter(|a| a.get("frequency").and_then(Value::as_str) == Some(f.name()))
            .filter_map(|a| a.get("name"))
            .collect();
        if !names.is_empty() {
            profiles.insert(
                f.name().to_owned(),
                json!({"profileType": "FREQUENCY", "profileSubtype": f.name(),
                       "observations": {"text": names}}),
            );
        }
    }
    let mut unusual = serde_json::Map::new();
    unusual.insert("api".into(), bucket_json(api_b, &facts.api));
    if agent_b <= Frequency::Rare {
        unusual.insert("userAgent".into(), bucket_json(agent_b, &facts.agent));
    }
    if let (Some(n), Some(nb)) = (facts.network.as_deref(), net_b)
        && nb <= Frequency::Rare
    {
        unusual.insert("network".into(), bucket_json(nb, n));
    }
    let training = match (p, b.started()) {
        (Some(p), Some(s)) => json!({
            "start": format_iso_millis(s.min(p.first_seen)),
            "end": format_iso_millis(p.last_seen),
            "profileDays": p.span_days(t),
            "learningDays": b.days(),
        }),
        _ => json!({"learningDays": b.days(), "profileDays": 0}),
    };
    vec![
        (
            "anomalies",
            json!({
                "profiles": {principal: {"api": profiles.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}},
                "unusual": {"behavior": {principal: Value::Object(unusual)}},
            }),
        ),
        (
            "profiledBehavior",
            json!({
                "userType": p.map(|p| p.user_type.clone()),
                "usualApis": usual_apis,
                "usualUserAgents": top(|p| &p.agents, 5),
                "usualNetworks": top(|p| &p.networks, 5),
                "usualRegions": top(|p| &p.regions, 5),
                "trainingPeriod": training,
            }),
        ),
        (
            "unusualBehavior",
            json!({
                "api": facts.api,
                "apiFrequency": api_b.name(),
                "userAgent": facts.agent,
                "userAgentFrequency": agent_b.name(),
                "network": facts.network,
                "networkFrequency": net_b.map(Frequency::name),
                "region": facts.region,
                "regionFrequency": region_b.map(Frequency::name),
            }),
        ),
    ]
}

/// Classifies one CloudTrail event against its identity's profile (reporting what is
/// anomalous after the learning period), then adds it to the profile.
pub fn observe(b: &mut Baselines, e: &Event<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
    let rec = e.rec;
    let u = &rec.user_identity;
    if u.invoked_by.is_some() || rec.event_type.as_deref() == Some("AwsServiceEvent") {
        return;
    }
    let t = e.t;
    b.clock(t);
    let identity = identity_of(e);
    let name: &str = &rec.event_name;
    let facts = Facts {
        api: format!("{}:{name}", rec.event_source)
            .chars()
            .take(MAX_KEY_CHARS)
            .collect(),
        network: e.ip.map(|ip| network_key(ctx, ip)).or_else(|| {
            rec.source_ip_address
                .as_deref()
                .map(|s| s.chars().take(80).collect())
        }),
        agent: agent_family(rec.user_agent.as_deref().unwrap_or("")),
        region: rec
            .aws_region
            .as_deref()
            .map(|r| r.chars().take(32).collect()),
    };
    let ok = !rec.is_error();
    if !b.learning(t) {
        let p = b.identities.get(&identity);
        let api_b = p.map_or(Frequency::Unseen, |p| p.bucket(&p.apis, &facts.api, t));
        let sensitive_hit = sensitive::lookup(name).filter(|(ty, _)| {
            !(*ty == sensitive::EXFIL && name.starts_with("Modify") && !sensitive::shares(e))
        });
        if let Some((ty, sev)) = sensitive_hit {
            if ok && api_b <= Frequency::Rare {
                let mut d = e.detection(ctx, ty, sev, name);
                let principal = identity
                    .split_once('|')
                    .map_or(identity.as_str(), |(_, p)| p);
                d.resource_key = identity.clone();
                d.title = format!(
                    "The API {name} was invoked by {principal}, which {} called it before.",
                    if api_b == Frequency::Unseen {
                        "had never"
                    } else {
                        "has rarely"
                    }
                );
                d.description = format!(
                    "{principal} successfully called {name} ({}), an API GuardDuty lists for {}; for this identity it is {} ({}).",
                    rec.event_source,
                    ty.split(':').next().unwrap_or(ty),
                    api_b.name(),
                    match p {
                        Some(p) => format!(
                            "profile of {} day(s), {} API(s)",
                            p.span_days(t),
                            p.apis.len()
                        ),
                        None => "no profile: first activity of this identity".to_owned(),
                    }
                );
                d.info.push(("api", json!(name)));
                d.info.extend(evidence(b, &identity, p, &facts, t));
                out.push(d);
            }
        } else if is_discovery(name)
            && api_b == Frequency::Unseen
            && p.is_some_and(|p| t.saturating_sub(p.first_seen) >= DISCOVERY_MIN_HISTORY_SECS)
        {
            let w = b.discovery.entry(identity.clone(), t, || (t, Vec::new()));
            if t.saturating_sub(w.0) > DISCOVERY_WINDOW_SECS {
                *w = (t, Vec::new());
            }
            if !w.1.contains(&facts.api) && w.1.len() < 4 * DISCOVERY_MIN_UNSEEN {
                w.1.push(facts.api.clone());
                if w.1.len() == DISCOVERY_MIN_UNSEEN {
                    let apis = w.1.clone();
                    let p = b.identities.get(&identity);
                    let principal = identity
                        .split_once('|')
                        .map_or(identity.as_str(), |(_, p)| p);
                    let mut d = e.detection(ctx, DISCOVERY, LOW, "");
                    d.resource_key = identity.clone();
                    d.title = format!(
                        "{principal} called {} list/describe APIs it had never used before.",
                        apis.len()
                    );
                    d.description = format!(
                        "Within {DISCOVERY_WINDOW_SECS} s {principal} called {} ({} in all), none of which its profile had seen: an enumeration of the account.",
                        apis.join(", "),
                        apis.len()
                    );
                    d.info.push(("unseenApis", json!(apis)));
                    d.info.extend(evidence(b, &identity, p, &facts, t));
                    out.push(d);
                }
            }
        }
    }
    let kind = u.kind.as_deref().unwrap_or("Unknown").to_owned();
    let p = b.identities.entry(identity.clone(), t, Default::default);
    if p.days.bits == 0 {
        p.first_seen = t;
        p.last_seen = t;
    }
    p.first_seen = p.first_seen.min(t);
    p.last_seen = p.last_seen.max(t);
    p.days.mark(t);
    p.user_type = kind;
    if ok {
        p.apis.touch(facts.api, t, MAX_APIS);
    }
    if let Some(n) = facts.network {
        p.networks.touch(n, t, MAX_NETWORKS);
    }
    p.agents.touch(facts.agent, t, MAX_AGENTS);
    if let Some(r) = facts.region {
        p.regions.touch(r, t, MAX_REGIONS);
    }
    b.mark_identity(&identity);
}
