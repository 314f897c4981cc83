//! First use of a sensitive API by an identity, reported under GuardDuty's
//! `*:IAMUser/AnomalousBehavior` types with their documented example APIs
//! (reference guard.md §2.5).
//!
//! GuardDuty decides "anomalous" with a learned per-identity profile. We have no profile:
//! an API counts as unusual the first time an identity calls it successfully in this run
//! (a bounded first-seen set), and `additionalInfo.baseline` says so. Discovery
//! (list/describe) calls are not reported: without a profile they would be pure noise.

use serde_json::json;

use super::Event;
use crate::engine::Ctx;
use crate::finding::severity::{HIGH, MEDIUM};
use crate::store::Detection;
use crate::window::BoundedMap;

/// (API name or prefix, finding type, severity). A name ending in `*` matches by prefix
/// (Lambda's versioned names such as `UpdateFunctionCode20150331v2`).
pub const SENSITIVE_APIS: &[(&str, &str, f64)] = &[
    ("GetPasswordData", CRED, MEDIUM),
    ("GetSecretValue", CRED, MEDIUM),
    ("BatchGetSecretValue", CRED, MEDIUM),
    ("DeleteFlowLogs", EVASION, MEDIUM),
    ("DisableAlarmActions", EVASION, MEDIUM),
    ("DeleteDetector", EVASION, MEDIUM),
    ("UpdateDetector", EVASION, MEDIUM),
    ("CreateIPSet", EVASION, MEDIUM),
    ("UpdateIPSet", EVASION, MEDIUM),
    ("UpdateThreatIntelSet", EVASION, MEDIUM),
    ("DeleteLogGroup", EVASION, MEDIUM),
    ("StopConfigurationRecorder", EVASION, MEDIUM),
    ("DeleteConfigurationRecorder", EVASION, MEDIUM),
    ("DeleteResolverQueryLogConfig", EVASION, MEDIUM),
    ("DisassociateResolverQueryLogConfig", EVASION, MEDIUM),
    ("ModifySnapshotAttribute", EXFIL, HIGH),
    ("ModifyImageAttribute", EXFIL, HIGH),
    ("ModifyDBSnapshotAttribute", EXFIL, HIGH),
    ("ModifyDBClusterSnapshotAttribute", EXFIL, HIGH),
    ("PutBucketReplication", EXFIL, HIGH),
    ("RestoreDBInstanceFromDBSnapshot", EXFIL, HIGH),
    ("GetFederationToken", INITIAL, MEDIUM),
    ("StartSession", INITIAL, MEDIUM),
    ("SendSSHPublicKey", INITIAL, MEDIUM),
    ("CreateAccessKey", PERSIST, MEDIUM),
    ("CreateLoginProfile", PERSIST, MEDIUM),
    ("UpdateLoginProfile", PERSIST, MEDIUM),
    ("ImportKeyPair", PERSIST, MEDIUM),
    ("ModifyInstanceAttribute", PERSIST, MEDIUM),
    ("CreateUser", PERSIST, MEDIUM),
    ("UpdateFunctionCode*", PERSIST, MEDIUM),
    ("UpdateFunctionConfiguration*", PERSIST, MEDIUM),
    ("AddPermission*", PERSIST, MEDIUM),
    ("CreateFunctionUrlConfig*", PERSIST, MEDIUM),
    ("CreateTrustAnchor", PERSIST, MEDIUM),
    ("AttachUserPolicy", PRIVESC, MEDIUM),
    ("AttachRolePolicy", PRIVESC, MEDIUM),
    ("AttachGroupPolicy", PRIVESC, MEDIUM),
    ("PutUserPolicy", PRIVESC, MEDIUM),
    ("PutRolePolicy", PRIVESC, MEDIUM),
    ("PutGroupPolicy", PRIVESC, MEDIUM),
    ("AddUserToGroup", PRIVESC, MEDIUM),
    ("CreatePolicyVersion", PRIVESC, MEDIUM),
    ("SetDefaultPolicyVersion", PRIVESC, MEDIUM),
    ("UpdateAssumeRolePolicy", PRIVESC, MEDIUM),
    ("AssociateIamInstanceProfile", PRIVESC, MEDIUM),
    ("ReplaceIamInstanceProfileAssociation", PRIVESC, MEDIUM),
];

const CRED: &str = "CredentialAccess:IAMUser/AnomalousBehavior";
const EVASION: &str = "DefenseEvasion:IAMUser/AnomalousBehavior";
const EXFIL: &str = "Exfiltration:IAMUser/AnomalousBehavior";
const INITIAL: &str = "InitialAccess:IAMUser/AnomalousBehavior";
const PERSIST: &str = "Persistence:IAMUser/AnomalousBehavior";
const PRIVESC: &str = "PrivilegeEscalation:IAMUser/AnomalousBehavior";

/// The table entry for an API name.
pub fn lookup(api: &str) -> Option<(&'static str, f64)> {
    SENSITIVE_APIS.iter().find_map(|(n, ty, sev)| {
        let hit = match n.strip_suffix('*') {
            Some(prefix) => api.starts_with(prefix),
            None => api == *n,
        };
        hit.then_some((*ty, *sev))
    })
}

/// Sharing calls are exfiltration only when they add a permission.
fn shares(e: &Event<'_, '_>) -> bool {
    let text = e.rec.request_parameters.map_or("", |r| r.get());
    text.contains("\"add\"") || text.contains("valuesToAdd") || text.contains("\"Add\"")
}

/// Reports the first successful call of a sensitive API per identity.
pub fn observe(
    seen: &mut BoundedMap<(String, String), ()>,
    e: &Event<'_, '_>,
    ctx: &Ctx<'_>,
    out: &mut Vec<Detection>,
) {
    if e.rec.is_error() || e.rec.user_identity.invoked_by.is_some() {
        return;
    }
    let api: &str = &e.rec.event_name;
    let Some((ty, sev)) = lookup(api) else { return };
    if ty == EXFIL && api.starts_with("Modify") && !shares(e) {
        return;
    }
    // Role sessions are one identity per role (every instance of a role behaves alike).
    let u = &e.rec.user_identity;
    let identity = u
        .session_issuer
        .as_ref()
        .and_then(|s| s.arn.as_deref())
        .or(u.arn.as_deref())
        .unwrap_or(&e.who)
        .to_owned();
    let key = (identity.clone(), api.to_owned());
    if seen.get(&key).is_some() {
        return;
    }
    seen.entry(key, e.t, || ());
    let mut d = e.detection(ctx, ty, sev, "");
    d.resource_key = identity.clone();
    d.title = format!("The API {api} was invoked by {identity} for the first time.");
    d.description = format!(
        "{identity} successfully called {api} ({}), an API GuardDuty lists for {}, with no earlier call by this identity in the analysed logs.",
        e.rec.event_source,
        ty.split(':').next().unwrap_or(ty)
    );
    d.info.push((
        "baseline",
        json!("first use by this identity in the analysed logs (no learned profile)"),
    ));
    d.info.push(("api", json!(api)));
    out.push(d);
}
