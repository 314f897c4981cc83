//! The sensitive APIs of GuardDuty's `*:IAMUser/AnomalousBehavior` types, with their
//! documented example APIs (reference guard.md §2.5). Whether a call is anomalous is decided
//! against the identity's learned profile in [`crate::baseline::identity`].

use super::Event;
use crate::finding::severity::{HIGH, MEDIUM};

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
/// The exfiltration type (sharing calls count only when they add a permission).
pub const EXFIL: &str = "Exfiltration:IAMUser/AnomalousBehavior";
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
pub fn shares(e: &Event<'_, '_>) -> bool {
    let text = e.rec.request_parameters.map_or("", |r| r.get());
    text.contains("\"add\"") || text.contains("valuesToAdd") || text.contains("\"Add\"")
}
