//! The GuardDuty finding document, schema version 2.0 (reference guard.md §3.2), with the
//! members foundational-source findings use. Field names are GuardDuty's JSON names.

use serde::Serialize;
use serde_json::{Map, Value};

/// GuardDuty's severity bands (reference guard.md §3.3 [doc]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum SeverityBand {
    /// 1.0–3.9: attempted activity that did not compromise.
    Low,
    /// 4.0–6.9: deviates from normal behaviour; investigate.
    Medium,
    /// 7.0–8.9: resource compromised and actively used.
    High,
    /// 9.0–10.0: attack sequences.
    Critical,
}

impl SeverityBand {
    /// The band of a severity value.
    pub fn of(severity: f64) -> Self {
        if severity >= 9.0 {
            Self::Critical
        } else if severity >= 7.0 {
            Self::High
        } else if severity >= 4.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// The band's name as the console shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
        }
    }
}

/// The default severities used by the detectors (GuardDuty uses 2, 5 and 8 in its samples).
pub mod severity {
    /// Low.
    pub const LOW: f64 = 2.0;
    /// Medium.
    pub const MEDIUM: f64 = 5.0;
    /// High.
    pub const HIGH: f64 = 8.0;
}

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `schemaVersion`, always `"2.0"`.
    pub schema_version: String,
    /// Account the affected resource belongs to.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Partition (`aws`).
    pub partition: String,
    /// 32 lower-case hex characters, stable for one (type, resource, key).
    pub id: String,
    /// `arn:aws:guardduty:<region>:<account>:detector/<detectorId>/finding/<id>`.
    pub arn: String,
    /// Finding type, e.g. `Recon:EC2/Portscan`.
    #[serde(rename = "type")]
    pub finding_type: String,
    /// Severity 1.0–10.0.
    pub severity: f64,
    /// One-line title.
    pub title: String,
    /// What happened, with the counts and thresholds that decided it.
    pub description: String,
    /// First detection (ISO-8601 with milliseconds).
    pub created_at: String,
    /// Last update.
    pub updated_at: String,
    /// The affected resource.
    pub resource: Resource,
    /// Detection details.
    pub service: Service,
}

/// `resource`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// `Instance`, `AccessKey` or `S3Bucket`.
    pub resource_type: String,
    /// For `Instance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_details: Option<InstanceDetails>,
    /// For `AccessKey` (and the caller of S3 policy findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_details: Option<AccessKeyDetails>,
    /// For `S3Bucket`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket_details: Option<Vec<S3BucketDetail>>,
}

/// `resource.instanceDetails` (the members logs can fill).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDetails {
    /// Instance ID when known (flow v3+ `instance-id`, Resolver `srcids.instance`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The interface(s) seen.
    pub network_interfaces: Vec<NetworkInterface>,
}

/// One entry of `networkInterfaces`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    /// `eni-...` when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
    /// Private IPv4/IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    /// VPC when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
}

/// `resource.accessKeyDetails`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyDetails {
    /// Access key ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Principal ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// User (or role session) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `Root`, `IAMUser`, `AssumedRole`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

/// One entry of `resource.s3BucketDetails`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3BucketDetail {
    /// Bucket name.
    pub name: String,
    /// `arn:aws:s3:::<name>`.
    pub arn: String,
    /// `Destination`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `service`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// `guardduty`.
    pub service_name: String,
    /// The detector that produced the finding.
    pub detector_id: String,
    /// What was observed (the latest occurrence).
    pub action: Action,
    /// `TARGET` or `ACTOR` for network findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_role: Option<String>,
    /// Occurrences aggregated into this finding.
    pub count: u64,
    /// First occurrence.
    pub event_first_seen: String,
    /// Last occurrence.
    pub event_last_seen: String,
    /// Archived flag.
    pub archived: bool,
    /// Threat-intel lists that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Why: thresholds, observed figures and the first source locations.
    pub additional_info: Map<String, Value>,
}

/// `service.action`; exactly one of the members is set, per `actionType`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// `NETWORK_CONNECTION`, `PORT_PROBE`, `DNS_REQUEST` or `AWS_API_CALL`.
    pub action_type: String,
    /// For `NETWORK_CONNECTION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_connection_action: Option<Value>,
    /// For `PORT_PROBE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_probe_action: Option<Value>,
    /// For `DNS_REQUEST`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_request_action: Option<Value>,
    /// For `AWS_API_CALL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_api_call_action: Option<Value>,
}

/// `service.evidence`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Matching lists.
    pub threat_intelligence_details: Vec<ThreatIntelligenceDetail>,
}

/// One matching list.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThreatIntelligenceDetail {
    /// The list's name.
    pub threat_list_name: String,
    /// Threat names (the list's category/name).
    pub threat_names: Vec<String>,
}

impl Finding {
    /// The severity band.
    pub fn band(&self) -> SeverityBand {
        SeverityBand::of(self.severity)
    }

    /// A short resource label for tables: instance ID or IP, access key or user, bucket.
    pub fn resource_label(&self) -> String {
        let r = &self.resource;
        if let Some(i) = &r.instance_details {
            let ip = i
                .network_interfaces
                .first()
                .and_then(|n| n.private_ip_address.clone());
            return match (&i.instance_id, ip) {
                (Some(id), Some(ip)) => format!("{id} ({ip})"),
                (Some(id), None) => id.clone(),
                (None, Some(ip)) => ip,
                (None, None) => "instance".into(),
            };
        }
        if let Some(b) = r.s3_bucket_details.as_ref().and_then(|b| b.first()) {
            return format!("s3://{}", b.name);
        }
        if let Some(a) = &r.access_key_details {
            let who = a.user_name.clone().unwrap_or_default();
            return match &a.access_key_id {
                Some(k) => format!("{k} ({who})"),
                None => who,
            };
        }
        r.resource_type.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands() {
        assert_eq!(SeverityBand::of(1.0), SeverityBand::Low);
        assert_eq!(SeverityBand::of(3.9), SeverityBand::Low);
        assert_eq!(SeverityBand::of(4.0), SeverityBand::Medium);
        assert_eq!(SeverityBand::of(7.0), SeverityBand::High);
        assert_eq!(SeverityBand::of(8.9), SeverityBand::High);
        assert_eq!(SeverityBand::of(9.0), SeverityBand::Critical);
    }
}
