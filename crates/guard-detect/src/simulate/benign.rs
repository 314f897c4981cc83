//! A day in the life of the small estate: web traffic from the internet, database and
//! internal calls, updates and API endpoints, an administrator on the bastion, internet
//! background noise (a few stray probes), DNS lookups of popular domains and routine
//! CloudTrail calls by people, CI and instance roles.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::{ACCOUNT, DAY_START, Logs, NAT_IP, Rng, host};

/// Public service endpoints the estate talks to (AWS APIs, CDNs, package mirrors), with
/// the names that resolve to them.
const SERVICES: &[(&str, [u8; 4])] = &[
    ("s3.amazonaws.com", [52, 217, 44, 214]),
    ("sts.amazonaws.com", [54, 239, 29, 25]),
    ("dynamodb.us-east-1.amazonaws.com", [52, 94, 0, 10]),
    ("logs.us-east-1.amazonaws.com", [52, 46, 128, 3]),
    ("ssm.us-east-1.amazonaws.com", [52, 46, 145, 190]),
    ("security.ubuntu.com", [91, 189, 91, 83]),
    ("archive.ubuntu.com", [185, 125, 190, 36]),
    ("pypi.org", [151, 101, 0, 223]),
    ("files.pythonhosted.org", [151, 101, 1, 63]),
    ("registry.npmjs.org", [104, 16, 27, 34]),
    ("www.google.com", [142, 250, 72, 100]),
    ("d2x7k3example.cloudfront.net", [18, 160, 41, 12]),
    ("hooks.slack.com", [34, 226, 36, 50]),
    ("ntp.ubuntu.com", [185, 125, 190, 57]),
];

const OFFICE: [&str; 2] = ["81.2.69.160", "81.2.69.161"];

fn ip(a: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(a)
}

fn iam_user(name: &str, key: &str) -> Value {
    json!({
        "type": "IAMUser",
        "principalId": format!("AIDA{}", name.to_ascii_uppercase()),
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "userName": name,
    })
}

/// `userIdentity` of an instance-profile session for `instance`.
pub fn instance_role(instance: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROAWEBROLE000000001:{instance}"),
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/web-role/{instance}"),
        "accountId": ACCOUNT,
        "accessKeyId": format!("ASIA{}", instance.get(instance.len().saturating_sub(8)..).unwrap_or(instance).to_ascii_uppercase()),
        "sessionContext": {
            "sessionIssuer": { "type": "Role", "principalId": "AROAWEBROLE000000001", "arn": format!("arn:aws:iam::{ACCOUNT}:role/web-role"), "accountId": ACCOUNT, "userName": "web-role" },
            "attributes": { "creationDate": "2026-11-02T00:00:00Z", "mfaAuthenticated": "false" },
            "ec2RoleDelivery": "2.0"
        }
    })
}

/// Writes one benign day into `logs`.
pub fn day(logs: &mut Logs, rng: &mut Rng) {
    let web = [host("web-1"), host("web-2")];
    let db = host("db");
    let bastion = host("bastion");
    let worker = host("worker");
    let resolver = Ipv4Addr::new(10, 0, 0, 2);
    for slot in 0..144i64 {
        let t0 = DAY_START + slot * 600;
        // Web traffic: clients on 443, responses, database queries.
        for w in &web {
            for _ in 0..rng.range(3, 8) {
                let c = rng.client_ip();
                let sp = rng.range(32768, 60999) as u16;
                let t = t0 + rng.range(0, 540) as i64;
                let p = rng.range(8, 60);
                logs.flow(
                    t,
                    w.eni,
                    c,
                    ip(w.ip),
                    sp,
                    443,
                    6,
                    p,
                    p * rng.range(80, 600),
                    true,
                );
                logs.flow(
                    t,
                    w.eni,
                    ip(w.ip),
                    c,
                    443,
                    sp,
                    6,
                    p,
                    p * rng.range(300, 1400),
                    true,
                );
            }
            let t = t0 + rng.range(0, 540) as i64;
            let p = rng.range(20, 400);
            logs.flow(
                t,
                w.eni,
                ip(w.ip),
                ip(db.ip),
                rng.range(40000, 60000) as u16,
                5432,
                6,
                p,
                p * 300,
                true,
            );
            logs.flow(
                t,
                db.eni,
                ip(w.ip),
                ip(db.ip),
                rng.range(40000, 60000) as u16,
                5432,
                6,
                p,
                p * 300,
                true,
            );
        }
        // Every instance: API endpoints and package mirrors over HTTPS, DNS, NTP.
        for h in [web[0], web[1], db, bastion, worker] {
            for _ in 0..rng.range(1, 3) {
                let Some((name, addr)) = rng.pick(SERVICES).copied() else {
                    continue;
                };
                let t = t0 + rng.range(0, 540) as i64;
                let p = rng.range(10, 300);
                let port = if name.starts_with("ntp.") { 123 } else { 443 };
                let proto = if port == 123 { 17 } else { 6 };
                logs.flow(
                    t,
                    h.eni,
                    ip(h.ip),
                    ip(addr),
                    rng.range(32768, 60999) as u16,
                    port,
                    proto,
                    p,
                    p * rng.range(100, 1200),
                    true,
                );
                logs.flow(
                    t,
                    h.eni,
                    ip(h.ip),
                    resolver,
                    rng.range(32768, 60999) as u16,
                    53,
                    17,
                    1,
                    70,
                    true,
                );
                logs.dns(t, &h, name, "A", "NOERROR", &[&ip(addr).to_string()], rng);
            }
        }
        // Internet background: a couple of stray probes against public-facing hosts.
        for _ in 0..rng.range(0, 3) {
            let c = rng.client_ip();
            let Some(target) = rng.pick(&[web[0], web[1], bastion]).copied() else {
                continue;
            };
            let Some(port) = rng.pick(&[22u16, 23, 3389, 8080, 445, 5900]).copied() else {
                continue;
            };
            let t = t0 + rng.range(0, 540) as i64;
            logs.flow(
                t,
                target.eni,
                c,
                ip(target.ip),
                rng.range(1024, 65535) as u16,
                port,
                6,
                1,
                44,
                port == 22 && target.name != "bastion",
            );
        }
    }
    // An administrator's SSH sessions on the bastion during office hours.
    for hour in [9i64, 11, 14, 16] {
        let t = DAY_START + hour * 3600 + rng.range(0, 1800) as i64;
        let office: Ipv4Addr = OFFICE[0].parse().unwrap_or(Ipv4Addr::new(81, 2, 69, 160));
        let p = rng.range(400, 3000);
        logs.flow(
            t,
            bastion.eni,
            office,
            ip(bastion.ip),
            rng.range(50000, 60000) as u16,
            22,
            6,
            p,
            p * 120,
            true,
        );
        logs.flow(
            t + 30,
            bastion.eni,
            ip(bastion.ip),
            ip(worker.ip),
            rng.range(50000, 60000) as u16,
            22,
            6,
            p / 2,
            p * 90,
            true,
        );
    }
    trail(logs, rng);
}

fn trail(logs: &mut Logs, rng: &mut Rng) {
    let nat = ip(NAT_IP).to_string();
    let alice = iam_user("alice", "AKIAALICE00000000001");
    let ci = iam_user("ci-deploy", "AKIACIDEPLOY00000001");
    let console_ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
    let cli_ua = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/ec2.describe-instances";
    let sdk_ua = "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1.0-1019-aws md/arch#x86_64 lang/python#3.11.6";
    // Alice logs in once in the morning and browses.
    let login = DAY_START + 9 * 3600 + 120;
    logs.api(
        login,
        "signin.amazonaws.com",
        "ConsoleLogin",
        alice.clone(),
        OFFICE[0],
        console_ua,
        Value::Null,
        json!({"ConsoleLogin": "Success"}),
        rng,
    );
    for (i, (src, name)) in [
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("s3.amazonaws.com", "ListBuckets"),
        ("cloudwatch.amazonaws.com", "DescribeAlarms"),
        ("iam.amazonaws.com", "ListUsers"),
        ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ]
    .iter()
    .enumerate()
    {
        logs.api(
            login + 60 * (i as i64 + 1),
            src,
            name,
            alice.clone(),
            OFFICE[0],
            console_ua,
            json!({}),
            Value::Null,
            rng,
        );
    }
    logs.api(
        DAY_START + 15 * 3600,
        "ec2.amazonaws.com",
        "DescribeInstances",
        alice.clone(),
        OFFICE[1],
        cli_ua,
        json!({}),
        Value::Null,
        rng,
    );
    // CI deploys twice.
    for hour in [10i64, 15] {
        let t = DAY_START + hour * 3600;
        for (j, (src, name)) in [
            ("sts.amazonaws.com", "GetCallerIdentity"),
            ("cloudformation.amazonaws.com", "DescribeStacks"),
            ("cloudformation.amazonaws.com", "UpdateStack"),
            ("ecr.amazonaws.com", "GetAuthorizationToken"),
        ]
        .iter()
        .enumerate()
        {
            logs.api(
                t + j as i64 * 20,
                src,
                name,
                ci.clone(),
                "3.91.20.14",
                sdk_ua,
                json!({"stackName": "web"}),
                Value::Null,
                rng,
            );
        }
    }
    // Instance roles: routine calls every hour from the NAT gateway.
    for hour in 0..24i64 {
        for h in [host("web-1"), host("web-2"), host("worker")] {
            let t = DAY_START + hour * 3600 + rng.range(0, 3000) as i64;
            let Some((src, name)) = rng
                .pick(&[
                    ("ssm.amazonaws.com", "GetParameter"),
                    ("kms.amazonaws.com", "Decrypt"),
                    ("logs.amazonaws.com", "CreateLogStream"),
                    ("ec2.amazonaws.com", "DescribeTags"),
                    ("secretsmanager.amazonaws.com", "GetSecretValue"),
                ])
                .copied()
            else {
                continue;
            };
            logs.api(
                t,
                src,
                name,
                instance_role(h.id),
                &nat,
                sdk_ua,
                json!({}),
                Value::Null,
                rng,
            );
        }
    }
    // Service events and calls made on the estate's behalf.
    for hour in (0..24i64).step_by(6) {
        logs.api(
            DAY_START + hour * 3600,
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}),
            "ec2.amazonaws.com",
            "ec2.amazonaws.com",
            json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/web-role")}),
            Value::Null,
            rng,
        );
    }
}
