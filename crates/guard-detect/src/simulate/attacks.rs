//! The attack scenarios, after the GuardDuty tester's scripts (reference guard.md §10.4):
//! each re-enacts the mechanics (not the code) in native log lines during the simulated day.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::benign::instance_role;
use super::{ACCOUNT, DAY_START, Logs, NAT_IP, Rng, Scenario, host};

const BRUTE_ACTOR: &str = "UnauthorizedAccess:EC2/SSHBruteForce";

/// Scenarios, the types they must produce and the other types they may produce.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "portscan",
        description: "nmap -sT -Pn of 1,000 ports of web-1 from the tester instance",
        expected: &["Recon:EC2/Portscan"],
        allowed: &[],
    },
    Scenario {
        name: "ssh-bruteforce",
        description: "crowbar-style SSH key brute force: 40 short connections to port 22 of web-2",
        expected: &[BRUTE_ACTOR],
        allowed: &[],
    },
    Scenario {
        name: "rdp-bruteforce",
        description: "30 short RDP connections to win-1",
        expected: &["UnauthorizedAccess:EC2/RDPBruteForce"],
        allowed: &[],
    },
    Scenario {
        name: "udp-dos",
        description: "400,000 x 256-byte UDP datagrams to one public address, port 80",
        expected: &["Backdoor:EC2/DenialOfService.Udp"],
        allowed: &[],
    },
    Scenario {
        name: "dns-dos",
        description: "250,000 DNS queries to one public resolver",
        expected: &["Backdoor:EC2/DenialOfService.Dns"],
        allowed: &[],
    },
    Scenario {
        name: "port-sweep",
        description: "SYNs to port 6379 of 300 public hosts",
        expected: &["Impact:EC2/PortSweep"],
        allowed: &[],
    },
    Scenario {
        name: "c2-dns",
        description: "lookup of c2.guarddutyc2activityb.com",
        expected: &["Backdoor:EC2/C&CActivity.B!DNS"],
        allowed: &[],
    },
    Scenario {
        name: "crypto-dns",
        description: "lookup of crypto.guarddutyc2activityb.com",
        expected: &["CryptoCurrency:EC2/BitcoinTool.B!DNS"],
        allowed: &[],
    },
    Scenario {
        name: "dns-exfil",
        description: "930 encoded-data queries under guarddutyc2activityb.com",
        expected: &[
            "Trojan:EC2/DNSDataExfiltration",
            "Backdoor:EC2/C&CActivity.B!DNS",
        ],
        allowed: &[],
    },
    Scenario {
        name: "dga",
        description: "40 NXDOMAIN lookups of generated .com/.net names",
        expected: &["Trojan:EC2/DGADomainRequest.B"],
        allowed: &["Impact:EC2/SuspiciousDomainRequest.Reputation"],
    },
    Scenario {
        name: "kali",
        description: "iam:GetUser with a Kali Linux user agent",
        expected: &["PenTest:IAMUser/KaliLinux"],
        allowed: &[],
    },
    Scenario {
        name: "instance-cred-exfil",
        description: "web-1's instance-role credentials used from a host outside AWS",
        expected: &["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"],
        allowed: &[],
    },
    Scenario {
        name: "cloudtrail-disabled",
        description: "StopLogging then DeleteTrail",
        expected: &["Stealth:IAMUser/CloudTrailLoggingDisabled"],
        allowed: &[],
    },
    Scenario {
        name: "root-usage",
        description: "root console login and API calls",
        expected: &["Policy:IAMUser/RootCredentialUsage"],
        allowed: &[],
    },
    Scenario {
        name: "password-policy",
        description: "account password policy weakened to 6 characters",
        expected: &["Stealth:IAMUser/PasswordPolicyChange"],
        allowed: &[],
    },
    Scenario {
        name: "s3-public",
        description: "bucket made anonymous-public, Block Public Access and access logging turned off",
        expected: &[
            "Policy:S3/BucketAnonymousAccessGranted",
            "Policy:S3/BucketBlockPublicAccessDisabled",
            "Stealth:S3/ServerAccessLoggingDisabled",
        ],
        allowed: &[],
    },
];

const ATTACK_AT: i64 = DAY_START + 13 * 3600;
const KALI_UA: &str = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython md/distrib#kali.2025 md/prompt#off md/command#iam.get-user";

fn ip(a: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(a)
}

fn user(name: &str) -> Value {
    json!({
        "type": "IAMUser", "principalId": "AIDATESTER000000001", "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "accountId": ACCOUNT, "accessKeyId": "AKIATESTER0000000001", "userName": name,
    })
}

/// Runs scenario `name` into `logs`.
pub fn run(name: &str, logs: &mut Logs, rng: &mut Rng) {
    let tester = host("tester");
    let t0 = ATTACK_AT + rng.range(0, 600) as i64;
    match name {
        "portscan" => {
            let target = host("web-1");
            for port in 1..=1000u16 {
                let open = matches!(port, 22 | 80 | 443);
                let t = t0 + i64::from(port / 50);
                logs.flow(t, tester.eni, ip(tester.ip), ip(target.ip), rng.range(40000, 60000) as u16, port, 6, if open { 3 } else { 1 }, if open { 180 } else { 44 }, open);
            }
        }
        "ssh-bruteforce" | "rdp-bruteforce" => {
            let (target, port, n) = if name == "ssh-bruteforce" { (host("web-2"), 22u16, 40) } else { (host("win-1"), 3389, 30) };
            for i in 0..n {
                let t = t0 + i * 7;
                let p = rng.range(12, 30);
                logs.flow(t, tester.eni, ip(tester.ip), ip(target.ip), rng.range(40000, 60000) as u16, port, 6, p, p * 150, true);
                logs.flow(t, target.eni, ip(tester.ip), ip(target.ip), rng.range(40000, 60000) as u16, port, 6, p, p * 150, true);
            }
        }
        "udp-dos" | "dns-dos" => {
            let (dst, port, total, size) = if name == "udp-dos" {
                (Ipv4Addr::new(3, 120, 181, 40), 80u16, 400_000u64, 284u64)
            } else {
                (Ipv4Addr::new(8, 26, 56, 26), 53, 250_000, 90)
            };
            let sp = rng.range(40000, 60000) as u16;
            let per = total / 4;
            for i in 0..4 {
                logs.flow(t0 + i * 60, tester.eni, ip(tester.ip), dst, sp, port, 17, per, per * size, true);
            }
        }
        "port-sweep" => {
            for i in 0..300u64 {
                let dst = Ipv4Addr::new(45, 60 + (i / 250) as u8, (i % 250) as u8 + 1, rng.range(1, 254) as u8);
                logs.flow(t0 + (i / 10) as i64, tester.eni, ip(tester.ip), dst, rng.range(40000, 60000) as u16, 6379, 6, 1, 44, true);
            }
        }
        "c2-dns" => logs.dns(t0, &host("worker"), "c2.guarddutyc2activityb.com", "A", "NOERROR", &["198.51.100.23"], rng),
        "crypto-dns" => logs.dns(t0, &host("worker"), "crypto.guarddutyc2activityb.com", "A", "NOERROR", &["198.51.100.24"], rng),
        "dns-exfil" => {
            const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";
            for i in 0..930i64 {
                let (la, lb) = (rng.range(50, 62) as usize, rng.range(20, 60) as usize);
                let a = rng.string(B64, la);
                let b = rng.string(B64, lb);
                let name = format!("{a}.{b}.guarddutyc2activityb.com");
                logs.dns(t0 + i / 4, &tester, &name, "A", "NXDOMAIN", &[], rng);
            }
        }
        "dga" => {
            const AZ: &[u8] = b"bcdfghjklmnpqrstvwxz";
            for i in 0..40i64 {
                let len = rng.range(10, 16) as usize;
                let tld = if i % 2 == 0 { "com" } else { "net" };
                let name = format!("{}.{tld}", rng.string(AZ, len));
                logs.dns(t0 + i * 3, &host("worker"), &name, "A", "NXDOMAIN", &[], rng);
            }
        }
        "kali" => logs.api(t0, "iam.amazonaws.com", "GetUser", user("tester"), "45.137.21.9", KALI_UA, json!({}), Value::Null, rng),
        "instance-cred-exfil" => {
            let web1 = host("web-1");
            let nat = ip(NAT_IP).to_string();
            logs.api(t0 - 3000, "sts.amazonaws.com", "GetCallerIdentity", instance_role(web1.id), &nat, "Boto3/1.34.51", json!({}), Value::Null, rng);
            for (i, api) in ["GetCallerIdentity", "ListBuckets", "DescribeInstances"].iter().enumerate() {
                let src = if *api == "ListBuckets" { "s3.amazonaws.com" } else if *api == "DescribeInstances" { "ec2.amazonaws.com" } else { "sts.amazonaws.com" };
                logs.api(t0 + i as i64 * 30, src, api, instance_role(web1.id), "185.220.101.47", "aws-cli/2.15.30 Python/3.11.8 Linux/6.1", json!({}), Value::Null, rng);
            }
        }
        "cloudtrail-disabled" => {
            let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail");
            logs.api(t0, "cloudtrail.amazonaws.com", "StopLogging", user("tester"), "45.137.21.9", "aws-cli/2.15.30", json!({"name": arn}), Value::Null, rng);
            logs.api(t0 + 60, "cloudtrail.amazonaws.com", "DeleteTrail", user("tester"), "45.137.21.9", "aws-cli/2.15.30", json!({"name": arn}), Value::Null, rng);
        }
        "root-usage" => {
            let root = json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT, "accessKeyId": "ASIAROOTSESSION00001"});
            logs.api(t0, "signin.amazonaws.com", "ConsoleLogin", root.clone(), "92.55.146.245", "Mozilla/5.0", Value::Null, json!({"ConsoleLogin": "Success"}), rng);
            logs.api(t0 + 60, "s3.amazonaws.com", "ListBuckets", root.clone(), "92.55.146.245", "Mozilla/5.0", json!({}), Value::Null, rng);
            logs.api(t0 + 120, "iam.amazonaws.com", "ListUsers", root, "92.55.146.245", "Mozilla/5.0", json!({}), Value::Null, rng);
        }
        "password-policy" => logs.api(t0, "iam.amazonaws.com", "UpdateAccountPasswordPolicy", user("tester"), "45.137.21.9", "aws-cli/2.15.30",
            json!({"minimumPasswordLength": 6, "requireSymbols": false, "requireNumbers": false, "requireUppercaseCharacters": false, "requireLowercaseCharacters": false}), Value::Null, rng),
        "s3-public" => {
            let b = "portcullis-sim-assets";
            logs.api(t0, "s3.amazonaws.com", "PutBucketPublicAccessBlock", user("tester"), "45.137.21.9", "aws-cli/2.15.30",
                json!({"bucketName": b, "PublicAccessBlockConfiguration": {"BlockPublicAcls": false, "IgnorePublicAcls": false, "BlockPublicPolicy": false, "RestrictPublicBuckets": false}}), Value::Null, rng);
            logs.api(t0 + 30, "s3.amazonaws.com", "PutBucketPolicy", user("tester"), "45.137.21.9", "aws-cli/2.15.30",
                json!({"bucketName": b, "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")}]}}), Value::Null, rng);
            logs.api(t0 + 60, "s3.amazonaws.com", "PutBucketLogging", user("tester"), "45.137.21.9", "aws-cli/2.15.30",
                json!({"bucketName": b, "BucketLoggingStatus": {}}), Value::Null, rng);
        }
        _ => {}
    }
}
