//! Detectors over CloudTrail management events (resource types `AccessKey` and
//! `S3Bucket`, action `AWS_API_CALL`). Policy checks on S3 bucket settings live in
//! [`s3`]; the sensitive-API table in [`sensitive`] (the
//! profiles that decide what is anomalous live in [`crate::baseline`]).

pub mod s3;
pub mod sensitive;

use std::net::IpAddr;

use portcullis_guard_core::intel::is_public;
use portcullis_guard_core::record::CloudTrailRecord;
use serde_json::{Value, json};

use crate::baseline::Baselines;
use crate::baseline::identity::{identity_of, usual_network};
use crate::config::{CONSOLE_LOGIN_WINDOW_SECS, Config};
use crate::engine::{Ctx, Loc, ip_details};
use crate::finding::severity::{HIGH, LOW, MEDIUM};
use crate::finding::{AccessKeyDetails, Action, Resource, ThreatIntelligenceDetail};
use crate::intel::{IntelClass, classify};
use crate::store::Detection;
use crate::window::BoundedMap;

/// Calls the SSM/EC2 agents make with instance credentials from wherever the instance is
/// (Panther's negatives, reference guard.md §2.5): never evidence of exfiltration.
const AGENT_CALLS: &[&str] = &[
    "UpdateInstanceInformation",
    "SendHeartbeat",
    "CreateControlChannel",
    "RegisterManagedInstance",
    "GetMessages",
    "AcknowledgeMessage",
    "SendReply",
];

/// State of the CloudTrail detectors.
pub struct TrailDetectors {
    sessions: BoundedMap<String, IpAddr>,
    logins: BoundedMap<String, Vec<(IpAddr, i64)>>,
}

/// Facts of one event that most detectors need.
pub struct Event<'r, 'a> {
    /// The record.
    pub rec: &'r CloudTrailRecord<'a>,
    /// Unix seconds.
    pub t: i64,
    /// Where it came from.
    pub loc: Loc,
    /// `sourceIPAddress` when it is an address.
    pub ip: Option<IpAddr>,
    /// Who: access key, else principal ID, else ARN.
    pub who: String,
}

impl<'r, 'a> Event<'r, 'a> {
    /// The facts of `rec`, seen at `t`, from `loc`.
    pub fn of(rec: &'r CloudTrailRecord<'a>, t: i64, loc: Loc) -> Self {
        let u = &rec.user_identity;
        let who = u
            .access_key_id
            .as_deref()
            .or(u.principal_id.as_deref())
            .or(u.arn.as_deref())
            .unwrap_or("unknown")
            .to_owned();
        Event {
            rec,
            t,
            loc,
            ip: rec.source_ip().map(|i| i.to_canonical()),
            who,
        }
    }

    /// The caller as an `AccessKey` resource.
    pub fn access_key_resource(&self) -> Resource {
        let u = &self.rec.user_identity;
        let name = u
            .user_name
            .as_deref()
            .or_else(|| {
                u.session_issuer
                    .as_ref()
                    .and_then(|s| s.user_name.as_deref())
            })
            .or(u.kind.as_deref().filter(|k| *k == "Root"))
            .or_else(|| u.arn.as_deref().and_then(|a| a.rsplit('/').next()))
            .map(str::to_owned);
        Resource {
            resource_type: "AccessKey".into(),
            access_key_details: Some(AccessKeyDetails {
                access_key_id: u.access_key_id.as_deref().map(str::to_owned),
                principal_id: u.principal_id.as_deref().map(str::to_owned),
                user_name: name,
                user_type: u.kind.as_deref().map(str::to_owned),
            }),
            ..Resource::default()
        }
    }

    /// `awsApiCallAction` of this event.
    pub fn action(&self) -> Action {
        let r = self.rec;
        let mut a = json!({
            "api": r.event_name,
            "serviceName": r.event_source,
            "callerType": if self.ip.is_some() { "Remote IP" } else { "Domain" },
        });
        if let Some(o) = a.as_object_mut() {
            if let Some(ua) = r.user_agent.as_deref() {
                o.insert("userAgent".into(), json!(ua));
            }
            if let Some(e) = r.error_code.as_deref() {
                o.insert("errorCode".into(), json!(e));
            }
            match (self.ip, r.source_ip_address.as_deref()) {
                (Some(ip), _) => {
                    o.insert("remoteIpDetails".into(), ip_details(ip));
                }
                (None, Some(s)) => {
                    o.insert("domainDetails".into(), json!({ "domain": s }));
                }
                _ => {}
            }
        }
        Action {
            action_type: "AWS_API_CALL".into(),
            aws_api_call_action: Some(a),
            ..Action::default()
        }
    }

    /// A detection on the caller's access key.
    pub fn detection(&self, ctx: &Ctx<'_>, ty: &'static str, sev: f64, key: &str) -> Detection {
        let mut d = Detection::new(ty, sev, self.access_key_resource(), self.t);
        d.resource_key = self.who.clone();
        d.key = key.to_owned();
        d.action = self.action();
        d.account_id = self
            .rec
            .recipient_account_id
            .as_deref()
            .or(self.rec.user_identity.account_id.as_deref())
            .map(str::to_owned);
        d.region = self.rec.aws_region.as_deref().map(str::to_owned);
        d.locations = vec![ctx.loc(self.loc)];
        d
    }

    /// The caller for titles.
    pub fn caller(&self) -> String {
        self.access_key_resource()
            .access_key_details
            .and_then(|a| a.user_name)
            .unwrap_or_else(|| self.who.clone())
    }
}

/// Parses an unparsed JSON member (request parameters, response elements).
pub fn raw_json(raw: Option<&serde_json::value::RawValue>) -> Value {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// Finds `distrib` token names of penetration-testing distributions in a user agent.
pub fn pentest_distribution(ua: &str) -> Option<(&'static str, &'static str)> {
    let (mut stack, mut heap) = ([0u8; 256], String::new());
    let lower = crate::baseline::profile::ascii_lower(ua, &mut stack, &mut heap);
    let bytes = lower.as_bytes();
    let has_word = |w: &str| {
        lower.match_indices(w).any(|(i, _)| {
            let before_ok = i == 0
                || bytes
                    .get(i.wrapping_sub(1))
                    .is_some_and(|b| !b.is_ascii_alphanumeric());
            let after_ok = bytes
                .get(i + w.len())
                .is_none_or(|b| !b.is_ascii_alphabetic());
            before_ok && after_ok
        })
    };
    [
        ("Kali", "kali", "PenTest:IAMUser/KaliLinux"),
        ("Parrot", "parrot", "PenTest:IAMUser/ParrotLinux"),
        ("Pentoo", "pentoo", "PenTest:IAMUser/PentooLinux"),
    ]
    .into_iter()
    .find(|(_, w, _)| has_word(w))
    .map(|(name, _, ty)| (name, ty))
}

/// Whether a principal ID names an EC2 instance role session (`AROA...:i-0123abcd`).
pub fn instance_session(principal: &str) -> Option<&str> {
    let (_, session) = principal.split_once(':')?;
    let id = session.strip_prefix("i-")?;
    (id.len() >= 8 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(session)
}

impl TrailDetectors {
    /// Empty state sized by `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            sessions: BoundedMap::new(cfg.max_tracked_keys, 12 * 3600),
            logins: BoundedMap::new(cfg.max_tracked_keys, CONSOLE_LOGIN_WINDOW_SECS),
        }
    }

    /// (evicted, tracked).
    pub fn state(&self) -> (u64, usize) {
        (
            self.sessions.evicted() + self.logins.evicted(),
            self.sessions.len() + self.logins.len(),
        )
    }

    /// Runs the CloudTrail detectors on one event at time `t` (`baseline`: the learned
    /// profiles, for learned suppressions).
    pub fn observe(
        &mut self,
        rec: &CloudTrailRecord<'_>,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        baseline: &Baselines,
        out: &mut Vec<Detection>,
    ) {
        let u = &rec.user_identity;
        let e = Event::of(rec, t, loc);
        let name: &str = &rec.event_name;
        let ok = !rec.is_error();
        let service_event = rec.event_type.as_deref() == Some("AwsServiceEvent");

        if let Some(ua) = rec.user_agent.as_deref()
            && let Some((distro, ty)) = pentest_distribution(ua)
        {
            let mut d = e.detection(ctx, ty, MEDIUM, "");
            d.title = format!("API {name} was invoked from a {distro} Linux machine.");
            d.description = format!(
                "{} called {name} with user agent `{ua}`, which names a penetration-testing distribution.",
                e.caller()
            );
            out.push(d);
        }

        if u.kind.as_deref() == Some("Root") && !service_event && u.invoked_by.is_none() {
            let mut d = e.detection(ctx, "Policy:IAMUser/RootCredentialUsage", LOW, "");
            d.title = format!("API {name} was invoked using root credentials.");
            d.description = format!(
                "The root user called {name} ({}); root credentials should not be used for routine work.",
                rec.event_source
            );
            out.push(d);
        }

        if rec.event_source == "cloudtrail.amazonaws.com"
            && ok
            && matches!(
                name,
                "StopLogging" | "DeleteTrail" | "UpdateTrail" | "PutEventSelectors"
            )
        {
            let req = raw_json(rec.request_parameters);
            let trail = req
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let mut d = e.detection(
                ctx,
                "Stealth:IAMUser/CloudTrailLoggingDisabled",
                LOW,
                &trail,
            );
            d.title = format!("AWS CloudTrail trail {trail} was changed by {name}.");
            d.description = format!(
                "{} called {name} on trail `{trail}`, which stops or narrows audit logging.",
                e.caller()
            );
            out.push(d);
        }

        if matches!(
            name,
            "UpdateAccountPasswordPolicy" | "DeleteAccountPasswordPolicy"
        ) {
            let req = raw_json(rec.request_parameters);
            let min_len = req.get("minimumPasswordLength").and_then(Value::as_u64);
            let classes = [
                "requireSymbols",
                "requireNumbers",
                "requireUppercaseCharacters",
                "requireLowercaseCharacters",
            ]
            .iter()
            .filter(|k| req.get(**k).and_then(Value::as_bool) == Some(true))
            .count();
            let weak = name.starts_with("Delete") || min_len.is_some_and(|l| l < 8) || classes == 0;
            let sev = if weak { MEDIUM } else { LOW };
            let mut d = e.detection(ctx, "Stealth:IAMUser/PasswordPolicyChange", sev, "");
            d.title = "Amazon Web Services account password policy was weakened.".into();
            d.description = format!(
                "{} called {name}{} (minimum length {:?}, {classes} character classes required).",
                e.caller(),
                if ok { "" } else { " (attempt failed)" },
                min_len
            );
            d.info.push(("minimumPasswordLength", json!(min_len)));
            out.push(d);
        }

        self.instance_credentials(&e, ctx, baseline, out);
        self.console_login(&e, ctx, out);
        self.malicious_caller(&e, ctx, out);
        s3::observe(&e, ctx, out);
    }

    fn instance_credentials(
        &mut self,
        e: &Event<'_, '_>,
        ctx: &Ctx<'_>,
        baseline: &Baselines,
        out: &mut Vec<Detection>,
    ) {
        let u = &e.rec.user_identity;
        if u.kind.as_deref() != Some("AssumedRole") || u.invoked_by.is_some() {
            return;
        }
        let Some(session) = u.principal_id.as_deref().and_then(instance_session) else {
            return;
        };
        let Some(ip) = e.ip else { return };
        if AGENT_CALLS.contains(&&*e.rec.event_name) {
            return;
        }
        let key = u.access_key_id.as_deref().unwrap_or(session).to_owned();
        let first = *self.sessions.entry(key.clone(), e.t, || ip);
        let inside = !is_public(ip) || ctx.in_aws(ip);
        // With AWS's address ranges configured, a public address outside them is evidence on
        // its own; without them, only a change of address is.
        let outside_known = !ctx.aws_networks.is_empty() && !inside;
        if first == ip && !outside_known {
            return;
        }
        // Learned suppression (reference guard.md §8.1): a network this role's credentials
        // are used from on several days is where the role normally works from.
        if !inside && usual_network(baseline, &identity_of(e), ip, ctx, e.t) {
            return;
        }
        let ty = if inside {
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS"
        } else {
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        };
        let mut d = e.detection(ctx, ty, HIGH, &ip.to_string());
        d.title = format!("Credentials for instance role session {session} used from {ip}.");
        d.description = format!(
            "Temporary credentials of EC2 instance {session} (key {key}) were first used from {first} and now from {ip} ({} AWS) for {}.",
            if inside { "inside" } else { "outside" },
            e.rec.event_name
        );
        d.info.push(("firstSourceIp", json!(first.to_string())));
        d.info.push(("instanceId", json!(session)));
        out.push(d);
    }

    fn console_login(&mut self, e: &Event<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
        if e.rec.event_name != "ConsoleLogin" {
            return;
        }
        let resp = raw_json(e.rec.response_elements);
        if resp.get("ConsoleLogin").and_then(Value::as_str) != Some("Success") {
            return;
        }
        let Some(ip) = e.ip.filter(|i| is_public(*i)) else {
            return;
        };
        let user = e.caller();
        let recent = self.logins.entry(user.clone(), e.t, Vec::new);
        recent.retain(|(_, t)| e.t.saturating_sub(*t) <= CONSOLE_LOGIN_WINDOW_SECS);
        let net = |i: IpAddr| match i {
            IpAddr::V4(v) => u32::from(v) >> 16,
            IpAddr::V6(v) => u32::try_from(u128::from(v) >> 96).unwrap_or(0),
        };
        let others: Vec<IpAddr> = recent
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| net(*i) != net(ip))
            .collect();
        if recent.len() < 8 {
            recent.push((ip, e.t));
        }
        if let Some(other) = others.first() {
            let mut d = e.detection(
                ctx,
                "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
                MEDIUM,
                "",
            );
            d.title =
                format!("Multiple worldwide successful console logins were observed for {user}.");
            d.description = format!(
                "{user} logged in to the console from {ip} and, within {CONSOLE_LOGIN_WINDOW_SECS} s, from {other} (a different /16 network; no GeoIP database is used)."
            );
            d.info.push((
                "otherSourceIps",
                json!(others.iter().map(ToString::to_string).collect::<Vec<_>>()),
            ));
            out.push(d);
        }
    }

    fn malicious_caller(&mut self, e: &Event<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
        let Some(ip) = e.ip else { return };
        let Some(m) = ctx.intel.match_ip(ip) else {
            return;
        };
        let name: &str = &e.rec.event_name;
        let recon = ["List", "Describe", "Get"]
            .iter()
            .any(|p| name.starts_with(p));
        let ty = match (classify(m.source), recon) {
            (IntelClass::Tor, true) => "Recon:IAMUser/TorIPCaller",
            (IntelClass::Tor, false) => "UnauthorizedAccess:IAMUser/TorIPCaller",
            (IntelClass::Custom, true) => "Recon:IAMUser/MaliciousIPCaller.Custom",
            (IntelClass::Custom, false) => "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
            (IntelClass::Scanner | IntelClass::Suspicious, _) => return,
            (_, true) => "Recon:IAMUser/MaliciousIPCaller",
            (_, false) => "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        };
        let mut d = e.detection(ctx, ty, MEDIUM, &ip.to_string());
        d.title = format!("API {name} was invoked from an IP address on a threat list.");
        d.description = format!(
            "{} called {name} from {ip}, listed on `{}` ({}).",
            e.caller(),
            m.source.name,
            m.source.category
        );
        d.info.push(("threatListName", json!(m.source.name)));
        d.evidence.push(ThreatIntelligenceDetail {
            threat_list_name: m.source.name.clone(),
            threat_names: vec![m.source.category.clone()],
        });
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents() {
        assert_eq!(
            pentest_distribution("aws-cli/2.15 md/distrib#kali.2025 md/prompt#off").map(|p| p.1),
            Some("PenTest:IAMUser/KaliLinux")
        );
        assert_eq!(
            pentest_distribution("Boto3/1.2 Linux/6.5.0-parrot1-amd64").map(|p| p.1),
            Some("PenTest:IAMUser/ParrotLinux")
        );
        assert_eq!(
            pentest_distribution("kali"),
            Some(("Kali", "PenTest:IAMUser/KaliLinux"))
        );
        assert_eq!(pentest_distribution("aws-cli/2 alkaline/1.0 parrots"), None);
        assert_eq!(pentest_distribution("stratus-red-team_1234"), None);
    }

    #[test]
    fn instance_sessions() {
        assert_eq!(
            instance_session("AROAXXXX:i-0123456789abcdef0"),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(instance_session("AROAXXXX:alice"), None);
        assert_eq!(instance_session("AIDAXXXX"), None);
    }
}
