//! Sample findings (`CreateSampleFindings`): one per requested type, shaped by the type's
//! resource (`EC2` → `Instance`, `IAMUser` → `AccessKey`, `S3` → `S3Bucket`) and artifact,
//! flagged `"sample": true` in `service.additionalInfo` as GuardDuty flags its samples.

use serde_json::{Value, json};

use crate::error::{GuardApiError, Result};

/// The representative set created when no type is named (the foundational-source types).
pub const DEFAULT_TYPES: &[&str] = &[
    "Recon:EC2/PortProbeUnprotectedPort",
    "Recon:EC2/Portscan",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    "Backdoor:EC2/C&CActivity.B!DNS",
    "Trojan:EC2/DNSDataExfiltration",
    "Backdoor:EC2/DenialOfService.Tcp",
    "Recon:IAMUser/MaliciousIPCaller",
    "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
    "Stealth:IAMUser/CloudTrailLoggingDisabled",
    "Policy:IAMUser/RootCredentialUsage",
    "Policy:S3/BucketBlockPublicAccessDisabled",
    "Discovery:S3/MaliciousIPCaller",
];

/// Checks the type grammar `Purpose:Resource/Family[.Mechanism][!Artifact]` (1–100 characters).
pub fn check_type(t: &str) -> Result<()> {
    let ok = (1..=100).contains(&t.len())
        && t.split_once(':').is_some_and(|(p, rest)| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric())
                && rest
                    .split_once('/')
                    .is_some_and(|(r, f)| !r.is_empty() && !f.is_empty())
        })
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.!&_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(GuardApiError::invalid(format!("finding type {t}")))
    }
}

fn severity(t: &str) -> f64 {
    let purpose = t.split(':').next().unwrap_or("");
    match purpose {
        "Backdoor" | "CryptoCurrency" | "Trojan" | "UnauthorizedAccess" | "Exfiltration"
        | "Impact" | "CredentialAccess" => 8.0,
        "Recon" | "Discovery" => 2.0,
        _ => 5.0,
    }
}

fn action(t: &str, resource: &str) -> Value {
    let remote = json!({"ipAddressV4": "198.51.100.1", "organization": {"asn": "-1", "asnOrg": "GeneratedFindingASNOrg", "isp": "GeneratedFindingISP", "org": "GeneratedFindingORG"},
                        "country": {"countryName": "GeneratedFindingCountryName"}, "city": {"cityName": "GeneratedFindingCityName"}});
    if t.ends_with("!DNS") || t.contains("DNSDataExfiltration") {
        return json!({"actionType": "DNS_REQUEST", "dnsRequestAction": {"domain": "GeneratedFindingDomainName", "protocol": "UDP", "blocked": false}});
    }
    if resource != "Instance" {
        return json!({"actionType": "AWS_API_CALL", "awsApiCallAction": {"api": "GeneratedFindingAPIName", "serviceName": "GeneratedFindingAPIServiceName",
            "callerType": "Remote IP", "remoteIpDetails": remote}});
    }
    if t.contains("PortProbe") {
        return json!({"actionType": "PORT_PROBE", "portProbeAction": {"blocked": false, "portProbeDetails": [
            {"localPortDetails": {"port": 22, "portName": "SSH"}, "remoteIpDetails": remote}]}});
    }
    json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {"blocked": false, "connectionDirection": "INBOUND",
        "localPortDetails": {"port": 22, "portName": "SSH"}, "protocol": "TCP", "remoteIpDetails": remote,
        "remotePortDetails": {"port": 32794, "portName": "Unknown"}}})
}

/// A sample finding of type `t` for a detector.
pub fn sample(
    t: &str,
    id: &str,
    detector_id: &str,
    account: &str,
    region: &str,
    now: &str,
) -> Value {
    let res = t
        .split_once(':')
        .and_then(|(_, r)| r.split_once('/'))
        .map(|(r, _)| r)
        .unwrap_or("");
    let resource = match res {
        "EC2" => json!({"resourceType": "Instance", "instanceDetails": {
            "instanceId": "i-99999999", "instanceType": "m3.xlarge", "instanceState": "running", "availabilityZone": "GeneratedFindingInstaceAvailabilityZone",
            "imageId": "ami-99999999", "imageDescription": "GeneratedFindingInstaceImageDescription",
            "networkInterfaces": [{"networkInterfaceId": "eni-bfcffe88", "privateIpAddress": "10.0.0.1", "subnetId": "GeneratedFindingSubnetId", "vpcId": "GeneratedFindingVPCId",
                                   "securityGroups": [{"groupId": "GeneratedFindingSecurityId", "groupName": "GeneratedFindingSecurityGroupName"}]}],
            "tags": [{"key": "GeneratedFindingInstaceTag1", "value": "GeneratedFindingInstaceValue1"}]}}),
        "S3" => {
            json!({"resourceType": "S3Bucket", "s3BucketDetails": [{"name": "generatedfindingbucketname", "arn": "arn:aws:s3:::generatedfindingbucketname", "type": "Destination"}],
            "accessKeyDetails": {"accessKeyId": "GeneratedFindingAccessKeyId", "principalId": "GeneratedFindingPrincipalId", "userName": "GeneratedFindingUserName", "userType": "IAMUser"}})
        }
        _ => {
            json!({"resourceType": "AccessKey", "accessKeyDetails": {"accessKeyId": "GeneratedFindingAccessKeyId", "principalId": "GeneratedFindingPrincipalId",
            "userName": "GeneratedFindingUserName", "userType": "IAMUser"}})
        }
    };
    let rtype = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let act = action(t, &rtype);
    let role = if rtype == "Instance" {
        if matches!(
            act.get("actionType").and_then(Value::as_str),
            Some("NETWORK_CONNECTION" | "PORT_PROBE")
        ) && !t.starts_with("Backdoor")
        {
            json!("TARGET")
        } else {
            json!("ACTOR")
        }
    } else {
        Value::Null
    };
    let mut service = json!({"serviceName": "guardduty", "detectorId": detector_id, "action": act, "count": 1,
        "eventFirstSeen": now, "eventLastSeen": now, "archived": false, "additionalInfo": {"sample": true}});
    if !role.is_null()
        && let Some(s) = service.as_object_mut()
    {
        s.insert("resourceRole".into(), role);
    }
    json!({"schemaVersion": "2.0", "accountId": account, "region": region, "partition": "aws", "id": id, "type": t,
        "arn": format!("arn:aws:guardduty:{region}:{account}:detector/{detector_id}/finding/{id}"),
        "severity": severity(t), "title": format!("Sample finding of type {t}"),
        "description": format!("This is a sample finding of type {t} generated by CreateSampleFindings."),
        "createdAt": now, "updatedAt": now, "resource": resource, "service": service})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_by_resource() {
        for t in DEFAULT_TYPES {
            check_type(t).unwrap();
        }
        assert!(check_type("nonsense").is_err());
        assert!(check_type("A:B/").is_err());
        let s = sample(
            "Recon:EC2/Portscan",
            "i",
            "d",
            "1",
            "r",
            "2024-01-01T00:00:00.000Z",
        );
        assert_eq!(s["resource"]["resourceType"], "Instance");
        assert_eq!(s["service"]["action"]["actionType"], "NETWORK_CONNECTION");
        assert_eq!(s["service"]["additionalInfo"]["sample"], true);
        assert_eq!(s["severity"], 2.0);
        let s = sample(
            "Policy:IAMUser/RootCredentialUsage",
            "i",
            "d",
            "1",
            "r",
            "t",
        );
        assert_eq!(s["resource"]["resourceType"], "AccessKey");
        assert_eq!(s["service"]["action"]["actionType"], "AWS_API_CALL");
        let s = sample("Backdoor:EC2/C&CActivity.B!DNS", "i", "d", "1", "r", "t");
        assert_eq!(s["service"]["action"]["actionType"], "DNS_REQUEST");
        assert_eq!(s["severity"], 8.0);
    }
}
