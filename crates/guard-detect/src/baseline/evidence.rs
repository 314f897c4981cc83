//! The evidence of an `*:IAMUser/AnomalousBehavior` finding, in `service.additionalInfo`:
//! `unusualBehavior` and `profiledBehavior` with identity- and account-level frequencies, both
//! as GuardDuty exports them (flat `…AccountProfiling` / `…UserIdentityProfiling` text members)
//! and structured (`apiFrequency`, `usualApis`, …), and `anomalies` (the `anomalousAPIs` text
//! and the API model's `profiles` / `unusual.behavior` for the principal and the account).

use serde_json::{Value, json};

use super::Baselines;
use super::identity::{Facts, account_of, principal_of};
use super::profile::{Frequency, IdentityProfile, UsageMap};
use crate::time::format_iso_millis;

/// Usual APIs listed in a finding's evidence (GuardDuty shows at most 20).
pub const MAX_USUAL_APIS: usize = 20;

fn bucket_json(f: Frequency, text: &str) -> Value {
    json!({"profileType": "FREQUENCY", "profileSubtype": f.name(),
           "observations": {"text": [text]}})
}

/// The bucket of `key` in one of a profile's maps (UNSEEN without a profile).
pub(crate) fn bucket_in(
    p: Option<&IdentityProfile>,
    m: fn(&IdentityProfile) -> &UsageMap<String>,
    key: &str,
    t: i64,
) -> Frequency {
    p.map_or(Frequency::Unseen, |p| p.bucket(m(p), key, t))
}

/// The event name of an `eventSource:eventName` key.
fn short_api(api: &str) -> &str {
    api.rsplit_once(':').map_or(api, |(_, n)| n)
}

/// The user name of a principal ARN (its last path segment).
fn short_user(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// GuardDuty's flat `{rare,infrequent,frequent}Profiled<what><level>` members: the profile's
/// most used items (at most [`MAX_USUAL_APIS`]) by bucket, as `" , "`-joined text.
fn profiled_members(
    out: &mut serde_json::Map<String, Value>,
    p: Option<&IdentityProfile>,
    what: &str,
    level: &str,
    m: fn(&IdentityProfile) -> &UsageMap<String>,
    short: fn(&str) -> &str,
    t: i64,
) {
    let top = p
        .map(|p| p.top(m(p), MAX_USUAL_APIS, t))
        .unwrap_or_default();
    for (f, word) in [
        (Frequency::Rare, "rare"),
        (Frequency::Infrequent, "infrequent"),
        (Frequency::Frequent, "frequent"),
    ] {
        let names: Vec<&str> = top
            .iter()
            .filter(|(_, b, _)| *b == f)
            .map(|(k, _, _)| short(k))
            .collect();
        out.insert(
            format!("{word}Profiled{what}{level}"),
            json!(names.join(" , ")),
        );
    }
}

/// GuardDuty's `anomalousAPIs` text: `service:[Name:success , Name:failure] , ...`.
fn anomalous_apis(calls: &[(String, bool)]) -> String {
    let mut by_service: Vec<(&str, Vec<String>)> = Vec::new();
    for (api, ok) in calls {
        let (svc, name) = api.rsplit_once(':').unwrap_or(("", api));
        let item = format!("{name}:{}", if *ok { "success" } else { "failure" });
        match by_service.iter_mut().find(|(s, _)| *s == svc) {
            Some((_, v)) => v.push(item),
            None => by_service.push((svc, vec![item])),
        }
    }
    by_service
        .into_iter()
        .map(|(s, v)| format!("{s}:[{}]", v.join(" , ")))
        .collect::<Vec<_>>()
        .join(" , ")
}

/// The evidence of an anomalous call (additionalInfo members); `calls` are the anomalous
/// APIs with whether each succeeded.
pub(crate) fn evidence(
    b: &Baselines,
    identity: &str,
    facts: &Facts<'_>,
    t: i64,
    calls: &[(String, bool)],
) -> Vec<(&'static str, Value)> {
    let principal = principal_of(identity);
    let account = account_of(identity);
    let p = b.identity(identity);
    let a = b.account(account);
    let api_b = bucket_in(p, |p| &p.apis, &facts.api, t);
    let agent_b = bucket_in(p, |p| &p.agents, facts.agent, t);
    let net_b = facts
        .network
        .as_deref()
        .map(|n| bucket_in(p, |p| &p.networks, n, t));
    let region_b = facts.region.map(|r| bucket_in(p, |p| &p.regions, r, t));
    let acct_api = bucket_in(a, |p| &p.apis, &facts.api, t);
    let acct_agent = bucket_in(a, |p| &p.agents, facts.agent, t);
    let acct_net = facts
        .network
        .as_deref()
        .map(|n| bucket_in(a, |p| &p.networks, n, t));
    let acct_region = facts.region.map(|r| bucket_in(a, |p| &p.regions, r, t));
    let acct_user = bucket_in(a, |p| &p.users, principal, t);
    let acct_type = bucket_in(a, |p| &p.user_types, facts.user_type, t);
    let top = |p: Option<&IdentityProfile>,
               m: fn(&IdentityProfile) -> &UsageMap<String>,
               n: usize|
     -> Vec<Value> {
        p.map(|p| {
            p.top(m(p), n, t)
                .into_iter()
                .map(|(k, f, calls)| json!({"name": k, "frequency": f.name(), "calls": calls}))
                .collect()
        })
        .unwrap_or_default()
    };
    let model_profiles = |p: Option<&IdentityProfile>| -> Vec<Value> {
        let usual = top(p, |p| &p.apis, MAX_USUAL_APIS);
        [Frequency::Frequent, Frequency::Infrequent, Frequency::Rare]
            .into_iter()
            .filter_map(|f| {
                let names: Vec<&Value> = usual
                    .iter()
                    .filter(|a| a.get("frequency").and_then(Value::as_str) == Some(f.name()))
                    .filter_map(|a| a.get("name"))
                    .collect();
                (!names.is_empty()).then(|| {
                    json!({"profileType": "FREQUENCY", "profileSubtype": f.name(),
                           "observations": {"text": names}})
                })
            })
            .collect()
    };
    let unusual_of = |api: Frequency,
                      agent: Frequency,
                      net: Option<Frequency>,
                      region: Option<Frequency>,
                      always_all: bool| {
        let mut u = serde_json::Map::new();
        u.insert("api".into(), bucket_json(api, &facts.api));
        if always_all || agent <= Frequency::Rare {
            u.insert("userAgent".into(), bucket_json(agent, facts.agent));
        }
        if let (Some(n), Some(nb)) = (facts.network.as_deref(), net)
            && (always_all || nb <= Frequency::Rare)
        {
            u.insert("network".into(), bucket_json(nb, n));
        }
        if let (Some(r), Some(rb)) = (facts.region, region)
            && (always_all || rb <= Frequency::Rare)
        {
            u.insert("region".into(), bucket_json(rb, r));
        }
        Value::Object(u)
    };
    let training = match (p, b.started()) {
        (Some(p), Some(s)) => json!({
            "start": format_iso_millis(s.min(p.first_seen)),
            "end": format_iso_millis(p.last_seen),
            "profileDays": p.span_days(t),
            "accountProfileDays": a.map(|a| a.span_days(t)),
            "learningDays": b.days(),
        }),
        _ => json!({"learningDays": b.days(), "profileDays": 0}),
    };
    let mut profiled = serde_json::Map::new();
    profiled.insert("userType".into(), json!(p.map(|p| p.user_type.clone())));
    profiled.insert(
        "usualApis".into(),
        json!(top(p, |p| &p.apis, MAX_USUAL_APIS)),
    );
    profiled.insert(
        "usualFailedApis".into(),
        json!(top(p, |p| &p.failed_apis, 5)),
    );
    profiled.insert("usualUserAgents".into(), json!(top(p, |p| &p.agents, 5)));
    profiled.insert("usualNetworks".into(), json!(top(p, |p| &p.networks, 5)));
    profiled.insert("usualRegions".into(), json!(top(p, |p| &p.regions, 5)));
    profiled.insert(
        "accountUsualApis".into(),
        json!(top(a, |p| &p.apis, MAX_USUAL_APIS)),
    );
    profiled.insert("trainingPeriod".into(), training);
    for (level, prof) in [("AccountProfiling", a), ("UserIdentityProfiling", p)] {
        profiled_members(
            &mut profiled,
            prof,
            "APIs",
            level,
            |p| &p.apis,
            short_api,
            t,
        );
        profiled_members(
            &mut profiled,
            prof,
            "UserAgents",
            level,
            |p| &p.agents,
            |s| s,
            t,
        );
        profiled_members(
            &mut profiled,
            prof,
            "ASNs",
            level,
            |p| &p.networks,
            |s| s,
            t,
        );
    }
    profiled_members(
        &mut profiled,
        a,
        "UserTypes",
        "AccountProfiling",
        |p| &p.user_types,
        |s| s,
        t,
    );
    profiled_members(
        &mut profiled,
        a,
        "UserNames",
        "AccountProfiling",
        |p| &p.users,
        short_user,
        t,
    );
    let unseen_calls = |of: &dyn Fn(&str) -> Frequency| -> String {
        calls
            .iter()
            .filter(|(api, _)| of(api) <= Frequency::Rare)
            .map(|(api, _)| short_api(api))
            .collect::<Vec<_>>()
            .join(" , ")
    };
    let rare_text = |f: Option<Frequency>, v: Option<&str>| -> String {
        match (f, v) {
            (Some(f), Some(v)) if f <= Frequency::Rare => v.to_owned(),
            _ => String::new(),
        }
    };
    let unusual = json!({
        "api": facts.api,
        "apiFrequency": api_b.name(),
        "apiAccountFrequency": acct_api.name(),
        "userAgent": facts.agent,
        "userAgentFrequency": agent_b.name(),
        "userAgentAccountFrequency": acct_agent.name(),
        "network": facts.network,
        "networkFrequency": net_b.map(Frequency::name),
        "networkAccountFrequency": acct_net.map(Frequency::name),
        "region": facts.region,
        "regionFrequency": region_b.map(Frequency::name),
        "regionAccountFrequency": acct_region.map(Frequency::name),
        "unusualAPIsAccountProfiling": unseen_calls(&|api| bucket_in(a, |p| &p.apis, api, t)),
        "unusualAPIsUserIdentityProfiling": unseen_calls(&|api| bucket_in(p, |p| &p.apis, api, t)),
        "unusualASNsAccountProfiling": rare_text(acct_net, facts.network.as_deref()),
        "unusualASNsUserIdentityProfiling": rare_text(net_b, facts.network.as_deref()),
        "unusualUserAgentsAccountProfiling": rare_text(Some(acct_agent), Some(facts.agent)),
        "unusualUserAgentsUserIdentityProfiling": rare_text(Some(agent_b), Some(facts.agent)),
        "unusualUserTypesAccountProfiling": rare_text(Some(acct_type), Some(facts.user_type)),
        "unusualUserNamesAccountProfiling": rare_text(Some(acct_user), Some(short_user(principal))),
        "isUnusualUserIdentity": if acct_user <= Frequency::Rare { "true" } else { "false" },
    });
    vec![
        (
            "anomalies",
            json!({
                "anomalousAPIs": anomalous_apis(calls),
                "profiles": {
                    principal: {"api": model_profiles(p)},
                    account: {"api": model_profiles(a)},
                },
                "unusual": {"behavior": {
                    principal: unusual_of(api_b, agent_b, net_b, region_b, false),
                    account: unusual_of(acct_api, acct_agent, acct_net, acct_region, true),
                }},
            }),
        ),
        ("profiledBehavior", Value::Object(profiled)),
        ("unusualBehavior", unusual),
    ]
}
