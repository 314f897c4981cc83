//! Per-identity and per-account API profiles from CloudTrail and the
//! `*:IAMUser/AnomalousBehavior` findings.
//!
//! An identity is an account and a principal; role sessions count as their role (every
//! session of a role behaves alike). Its profile counts successful calls per
//! `eventSource:eventName` with their source network, user agent family and region, and failed
//! calls (`errorCode` set) per API apart. The account's profile is the same, fed by every
//! principal of the account, plus the principals and user types that called.
//!
//! After the learning period, a successful call of a sensitive API (the table in
//! [`crate::trail::sensitive`]) that is UNSEEN or RARE for the identity is weighed against the
//! account ([`account_verdict`]): an API the account uses routinely, called from the
//! principal's usual network with its usual agent, is normal; one the account knows is
//! reported a step lower; one new to an account with history is reported higher. The finding
//! carries the evidence GuardDuty shows in `service.additionalInfo`: `unusualBehavior` and
//! `profiledBehavior` with identity- and account-level frequencies (GuardDuty's
//! `…AccountProfiling` / `…UserIdentityProfiling` members, and our structured ones), and the
//! API model's `anomaly` shape with the `anomalousAPIs` list (`anomalies`).
//!
//! A burst of calls the identity never made successfully ([`DISCOVERY_MIN_UNSEEN`] within
//! [`DISCOVERY_WINDOW_SECS`]) is Discovery:IAMUser/AnomalousBehavior: list/describe/get calls,
//! and failed calls of any API (a run of AccessDenied is how permissions are enumerated),
//! unless failing at that API is the identity's routine. A failed call never makes an API,
//! network or agent usual.

use std::borrow::Cow;

use serde_json::json;

use super::evidence::{bucket_in, evidence};
use super::profile::{
    Frequency, IdentityProfile, MAX_ACCOUNT_APIS, MAX_AGENTS, MAX_APIS, MAX_NETWORKS, MAX_REGIONS,
    MAX_USERS, agent_family, clip_chars, network_of,
};
use super::{Baselines, DISCOVERY_MIN_HISTORY_SECS, DISCOVERY_MIN_UNSEEN, DISCOVERY_WINDOW_SECS};
use crate::engine::Ctx;
use crate::finding::severity::LOW;
use crate::store::Detection;
use crate::trail::Event;
use crate::trail::sensitive;

pub use super::evidence::MAX_USUAL_APIS;

const DISCOVERY: &str = "Discovery:IAMUser/AnomalousBehavior";
/// Severity added when the API is UNSEEN for the whole account too (an account with at least
/// a day of history): nobody in the account has done this.
pub const ACCOUNT_NEW_API_BONUS: f64 = 1.0;
/// Added again when the network or the region is also UNSEEN for the account.
pub const ACCOUNT_NEW_PLACE_BONUS: f64 = 0.5;
/// Taken off when the account uses the API at least INFREQUENTLY (another principal's routine)
/// but the call came from a network or agent unusual for the principal: Medium becomes Low,
/// High becomes Medium.
pub const ACCOUNT_KNOWN_DISCOUNT: f64 = 3.0;
/// Highest severity an anomaly reaches: the top of GuardDuty's High band (Critical is for
/// attack sequences).
pub const MAX_ANOMALY_SEVERITY: f64 = 8.9;

/// The account of an `account|principal` identity key.
pub fn account_of(identity: &str) -> &str {
    identity.split_once('|').map_or("", |(a, _)| a)
}

/// The principal of an `account|principal` identity key.
pub(crate) fn principal_of(identity: &str) -> &str {
    identity.split_once('|').map_or(identity, |(_, p)| p)
}

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
    let (account, principal) = (
        clip_chars(account, 32),
        clip_chars(principal, MAX_KEY_CHARS),
    );
    let mut key = String::with_capacity(account.len() + 1 + principal.len());
    key.push_str(account);
    key.push('|');
    key.push_str(principal);
    key
}

/// `eventSource:eventName`, at most [`MAX_KEY_CHARS`] characters.
fn api_key(source: &str, name: &str) -> String {
    let mut api = String::with_capacity(source.len() + 1 + name.len());
    api.push_str(source);
    api.push(':');
    api.push_str(name);
    if api.len() > MAX_KEY_CHARS {
        let end = clip_chars(&api, MAX_KEY_CHARS).len();
        api.truncate(end);
    }
    api
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

/// What one event looks like to the profiles (borrowed from the record where it can be).
pub(crate) struct Facts<'a> {
    /// `eventSource:eventName`.
    pub(crate) api: String,
    /// Source network key ([`network_key`]), or the source host name.
    pub(crate) network: Option<Cow<'a, str>>,
    /// User agent family.
    pub(crate) agent: &'a str,
    /// Region.
    pub(crate) region: Option<&'a str>,
    /// `userIdentity.type`.
    pub(crate) user_type: &'a str,
}

/// What the account's profile makes of a sensitive call that is UNSEEN or RARE for its
/// principal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccountVerdict {
    /// The account uses the API routinely and the principal called from its usual network with
    /// its usual agent: normal, not reported.
    Routine,
    /// Reported at this severity.
    Report(f64),
}

/// The account-level buckets of one call, for [`account_verdict`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountView {
    /// The API for the account.
    pub api: Frequency,
    /// The source network for the account (`None`: the call had none).
    pub network: Option<Frequency>,
    /// The region for the account.
    pub region: Option<Frequency>,
    /// Whether the account has at least a day of history (else nothing is new to it yet).
    pub established: bool,
}

/// Weighs a sensitive call new or rare for its principal against the account: `base` is the
/// type's severity, `id_network`/`id_agent` the principal's buckets of the call's network and
/// user agent.
pub fn account_verdict(
    base: f64,
    acct: AccountView,
    id_network: Option<Frequency>,
    id_agent: Frequency,
) -> AccountVerdict {
    if acct.api >= Frequency::Infrequent {
        let usual_place = id_network.is_none_or(|n| n >= Frequency::Infrequent)
            && id_agent >= Frequency::Infrequent;
        if usual_place {
            return AccountVerdict::Routine;
        }
        return AccountVerdict::Report((base - ACCOUNT_KNOWN_DISCOUNT).max(LOW));
    }
    if acct.api == Frequency::Unseen && acct.established {
        let new_place =
            acct.network == Some(Frequency::Unseen) || acct.region == Some(Frequency::Unseen);
        let bonus = ACCOUNT_NEW_API_BONUS
            + if new_place {
                ACCOUNT_NEW_PLACE_BONUS
            } else {
                0.0
            };
        return AccountVerdict::Report((base + bonus).min(MAX_ANOMALY_SEVERITY.max(base)));
    }
    AccountVerdict::Report(base)
}

/// Classifies one CloudTrail event against its identity's and account's profiles (reporting
/// what is anomalous after the learning period), then adds it to both.
pub fn observe(b: &mut Baselines, e: &Event<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
    let rec = e.rec;
    let u = &rec.user_identity;
    if u.invoked_by.is_some() || rec.event_type.as_deref() == Some("AwsServiceEvent") {
        return;
    }
    let t = e.t;
    b.clock(t);
    let identity = identity_of(e);
    let (account, principal) = (account_of(&identity), principal_of(&identity));
    let facts = Facts {
        api: api_key(&rec.event_source, &rec.event_name),
        network: e.ip.map(|ip| Cow::Owned(network_key(ctx, ip))).or_else(|| {
            rec.source_ip_address
                .as_deref()
                .map(|s| Cow::Borrowed(clip_chars(s, 80)))
        }),
        agent: agent_family(rec.user_agent.as_deref().unwrap_or("")),
        region: rec.aws_region.as_deref().map(|r| clip_chars(r, 32)),
        user_type: clip_chars(u.kind.as_deref().unwrap_or("Unknown"), 32),
    };
    let ok = !rec.is_error();
    if !b.learning(t) {
        judge(b, e, ctx, &identity, &facts, ok, out);
    }
    if let Some(p) = b
        .identities
        .entry_ref(identity.as_str(), t, Default::default)
    {
        learn(p, &facts, ok, t, MAX_APIS);
    }
    b.mark_identity(&identity);
    if let Some(a) = b.accounts.entry_ref(account, t, Default::default) {
        learn(a, &facts, ok, t, MAX_ACCOUNT_APIS);
        if ok {
            a.users.touch_ref(principal, t, MAX_USERS);
            a.user_types.touch_ref(facts.user_type, t, MAX_USERS);
        }
    }
    b.mark_account(account);
}

/// Adds one call to a profile: a successful one to its APIs, network, agent and region; a
/// failed one to its failed APIs only.
fn learn(p: &mut IdentityProfile, facts: &Facts<'_>, ok: bool, t: i64, max_apis: usize) {
    if p.days.bits == 0 {
        p.first_seen = t;
        p.last_seen = t;
    }
    p.first_seen = p.first_seen.min(t);
    p.last_seen = p.last_seen.max(t);
    p.days.mark(t);
    if p.user_type != facts.user_type {
        p.user_type.clear();
        p.user_type.push_str(facts.user_type);
    }
    if !ok {
        p.failed_apis.touch_ref(facts.api.as_str(), t, max_apis);
        return;
    }
    p.apis.touch_ref(facts.api.as_str(), t, max_apis);
    if let Some(n) = facts.network.as_deref() {
        p.networks.touch_ref(n, t, MAX_NETWORKS);
    }
    p.agents.touch_ref(facts.agent, t, MAX_AGENTS);
    if let Some(r) = facts.region {
        p.regions.touch_ref(r, t, MAX_REGIONS);
    }
}

/// The anomaly decisions for one event after the learning period.
fn judge(
    b: &mut Baselines,
    e: &Event<'_, '_>,
    ctx: &Ctx<'_>,
    identity: &str,
    facts: &Facts<'_>,
    ok: bool,
    out: &mut Vec<Detection>,
) {
    let t = e.t;
    let rec = e.rec;
    let name: &str = &rec.event_name;
    let principal = principal_of(identity);
    let p = b.identities.get(identity);
    let api_b = bucket_in(p, |p| &p.apis, &facts.api, t);
    let sensitive_hit = sensitive::lookup(name).filter(|(ty, _)| {
        !(*ty == sensitive::EXFIL && name.starts_with("Modify") && !sensitive::shares(e))
    });
    if let Some((ty, sev)) = sensitive_hit
        && ok
    {
        if api_b > Frequency::Rare {
            return;
        }
        let a = b.account(account_of(identity));
        let view = AccountView {
            api: bucket_in(a, |p| &p.apis, &facts.api, t),
            network: facts
                .network
                .as_deref()
                .map(|n| bucket_in(a, |p| &p.networks, n, t)),
            region: facts.region.map(|r| bucket_in(a, |p| &p.regions, r, t)),
            established: a
                .is_some_and(|a| t.saturating_sub(a.first_seen) >= DISCOVERY_MIN_HISTORY_SECS),
        };
        let id_net = facts
            .network
            .as_deref()
            .map(|n| bucket_in(p, |p| &p.networks, n, t));
        let id_agent = bucket_in(p, |p| &p.agents, facts.agent, t);
        let AccountVerdict::Report(severity) = account_verdict(sev, view, id_net, id_agent) else {
            return;
        };
        let mut d = e.detection(ctx, ty, severity, name);
        d.resource_key = identity.to_owned();
        d.title = format!(
            "The API {name} was invoked by {principal}, which {} called it before.",
            if api_b == Frequency::Unseen {
                "had never"
            } else {
                "has rarely"
            }
        );
        d.description = format!(
            "{principal} successfully called {name} ({}), an API GuardDuty lists for {}; for this identity it is {} ({}); for the account it is {}.",
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
            },
            view.api.name(),
        );
        d.info.push(("api", json!(name)));
        d.info.extend(evidence(
            b,
            identity,
            facts,
            t,
            &[(facts.api.clone(), true)],
        ));
        out.push(d);
        return;
    }
    // Reconnaissance: never-used reads, and failures at any API the identity never used
    // (unless failing at it is routine for the identity).
    let failed_b = bucket_in(p, |p| &p.failed_apis, &facts.api, t);
    let counts = api_b == Frequency::Unseen
        && (is_discovery(name) || !ok)
        && (ok || failed_b <= Frequency::Rare)
        && p.is_some_and(|p| t.saturating_sub(p.first_seen) >= DISCOVERY_MIN_HISTORY_SECS);
    if !counts {
        return;
    }
    let w = b
        .discovery
        .entry(identity.to_owned(), t, || (t, Vec::new()));
    if t.saturating_sub(w.0) > DISCOVERY_WINDOW_SECS {
        *w = (t, Vec::new());
    }
    if w.1.iter().any(|(api, _)| *api == facts.api) || w.1.len() >= 4 * DISCOVERY_MIN_UNSEEN {
        return;
    }
    w.1.push((facts.api.clone(), ok));
    if w.1.len() != DISCOVERY_MIN_UNSEEN {
        return;
    }
    let calls = w.1.clone();
    let apis: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
    let failed: Vec<&str> = calls
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(a, _)| a.as_str())
        .collect();
    let mut d = e.detection(ctx, DISCOVERY, LOW, "");
    d.resource_key = identity.to_owned();
    d.title = if failed.is_empty() {
        format!(
            "{principal} called {} list/describe APIs it had never used before.",
            apis.len()
        )
    } else {
        format!(
            "{principal} called {} APIs it had never used before, {} of them refused.",
            apis.len(),
            failed.len()
        )
    };
    d.description = format!(
        "Within {DISCOVERY_WINDOW_SECS} s {principal} called {} ({} in all, {} failed), none of which its profile had seen succeed: an enumeration of the account{}.",
        apis.join(", "),
        apis.len(),
        failed.len(),
        if failed.is_empty() {
            ""
        } else {
            " or of the identity's permissions"
        }
    );
    d.info.push(("unseenApis", json!(apis)));
    d.info.push(("failedApis", json!(failed)));
    if let Some(code) = rec.error_code.as_deref() {
        d.info.push((
            "errorCode",
            json!(code.chars().take(64).collect::<String>()),
        ));
    }
    d.info.extend(evidence(b, identity, facts, t, &calls));
    out.push(d);
}
