//! Baseline behaviour end to end through the [`Engine`].

use portcullis_guard_core::decode::DecodeOptions;
use portcullis_guard_core::intel::ThreatIntel;
use serde_json::{Value, json};

use crate::config::Config;
use crate::engine::Engine;
use crate::finding::Finding;
use crate::time::format_iso_millis;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;

fn engine(days: u32) -> Engine {
    Engine::new(
        Config {
            baseline_days: days,
            ..Config::default()
        },
        ThreatIntel::new(),
    )
}

fn call(user: &str, source: &str, name: &str, t: i64, ip: &str, ua: &str) -> String {
    json!({"eventTime": format_iso_millis(t), "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": ua,
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{user}"),
            "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333",
            "accessKeyId": format!("AKIA{user}"), "userName": user}})
    .to_string()
}

fn feed(e: &mut Engine, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    let r = e.ingest("t.json", text.as_bytes(), &DecodeOptions::default());
    assert_eq!(r.malformed, 0, "{:?}", r.errors);
}

fn anomalous(e: &mut Engine) -> Vec<Finding> {
    e.findings()
        .into_iter()
        .filter(|f| {
            f.finding_type.ends_with("AnomalousBehavior")
                || f.finding_type.starts_with("Behavior:")
                || f.finding_type == "Backdoor:EC2/Spambot"
        })
        .collect()
}

/// Alice's routine: a few reads every day of `days`, from her office with the CLI.
fn routine(user: &str, from: i64, days: i64) -> Vec<String> {
    let mut out = Vec::new();
    for d in 0..days {
        let t = from + d * DAY + 9 * 3600;
        for (i, (s, n)) in [
            ("iam.amazonaws.com", "ListUsers"),
            ("s3.amazonaws.com", "ListBuckets"),
            ("ec2.amazonaws.com", "DescribeInstances"),
            ("secretsmanager.amazonaws.com", "GetSecretValue"),
        ]
        .iter()
        .enumerate()
        {
            out.push(call(
                user,
                s,
                n,
                t + i as i64,
                "198.51.100.7",
                "aws-cli/2.15 Python/3.11",
            ));
        }
    }
    out
}

#[test]
fn learning_period_is_silent_then_unseen_sensitive_api_is_reported_with_evidence() {
    let mut e = engine(3);
    feed(&mut e, &routine("alice", T0, 2));
    // During learning: a sensitive API, by a known and by a brand-new identity: nothing.
    feed(
        &mut e,
        &[
            call(
                "alice",
                "iam.amazonaws.com",
                "CreateUser",
                T0 + DAY + 10 * 3600,
                "198.51.100.7",
                "aws-cli/2",
            ),
            call(
                "mallory",
                "iam.amazonaws.com",
                "CreateAccessKey",
                T0 + DAY + 11 * 3600,
                "203.0.113.9",
                "Boto3/1.3",
            ),
        ],
    );
    assert!(
        anomalous(&mut e).is_empty(),
        "learning period must be silent"
    );
    // Keep learning past the period; GetSecretValue stays FREQUENT.
    feed(&mut e, &routine("alice", T0 + 2 * DAY, 3));
    assert!(
        anomalous(&mut e).is_empty(),
        "frequent calls must be silent"
    );
    // After learning: an API alice never called, from a new network with a new agent.
    let t = T0 + 4 * DAY + 15 * 3600;
    feed(
        &mut e,
        &[call(
            "alice",
            "iam.amazonaws.com",
            "CreateAccessKey",
            t,
            "203.0.113.50",
            "Boto3/1.34 Python/3.12",
        )],
    );
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.finding_type, "Persistence:IAMUser/AnomalousBehavior");
    let info = &f.service.additional_info;
    let unusual = &info["unusualBehavior"];
    assert_eq!(unusual["api"], "iam.amazonaws.com:CreateAccessKey");
    assert_eq!(unusual["apiFrequency"], "UNSEEN");
    assert_eq!(unusual["userAgent"], "Boto3");
    assert_eq!(unusual["userAgentFrequency"], "UNSEEN");
    assert_eq!(unusual["network"], "203.0.113.0/24");
    assert_eq!(unusual["networkFrequency"], "UNSEEN");
    let usual = info["profiledBehavior"]["usualApis"].as_array().unwrap();
    assert!(usual.len() <= 20);
    assert!(usual.iter().any(
        |a| a["name"] == "secretsmanager.amazonaws.com:GetSecretValue"
            && a["frequency"] == "FREQUENT"
    ));
    assert_eq!(
        info["profiledBehavior"]["trainingPeriod"]["learningDays"],
        3
    );
    let behaviour =
        &info["anomalies"]["unusual"]["behavior"]["arn:aws:iam::111122223333:user/alice"];
    assert_eq!(behaviour["api"]["profileSubtype"], "UNSEEN");
    assert_eq!(behaviour["userAgent"]["observations"]["text"][0], "Boto3");
    // The same call again is no longer unseen: the finding is not updated.
    feed(
        &mut e,
        &[call(
            "alice",
            "iam.amazonaws.com",
            "CreateAccessKey",
            t + 60,
            "203.0.113.50",
            "Boto3/1.34",
        )],
    );
    assert_eq!(anomalous(&mut e)[0].service.count, 1);
}

#[test]
fn a_rare_sensitive_api_is_reported_and_an_infrequent_one_is_not() {
    let mut e = engine(1);
    let mut lines = vec![
        call(
            "bob",
            "ec2.amazonaws.com",
            "ModifyInstanceAttribute",
            T0 + 3600,
            "198.51.100.7",
            "aws-cli/2",
        ),
        call(
            "bob",
            "iam.amazonaws.com",
            "AttachUserPolicy",
            T0 + 3600,
            "198.51.100.7",
            "aws-cli/2",
        ),
        call(
            "bob",
            "iam.amazonaws.com",
            "AttachUserPolicy",
            T0 + 5 * DAY,
            "198.51.100.7",
            "aws-cli/2",
        ),
    ];
    lines.extend(routine("bob", T0, 20));
    feed(&mut e, &lines);
    // Day 20: ModifyInstanceAttribute used once 20 days ago (RARE); AttachUserPolicy on two
    // days (INFREQUENT).
    let t = T0 + 20 * DAY;
    feed(
        &mut e,
        &[
            call(
                "bob",
                "ec2.amazonaws.com",
                "ModifyInstanceAttribute",
                t,
                "198.51.100.7",
                "aws-cli/2",
            ),
            call(
                "bob",
                "iam.amazonaws.com",
                "AttachUserPolicy",
                t,
                "198.51.100.7",
                "aws-cli/2",
            ),
        ],
    );
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].finding_type,
        "Persistence:IAMUser/AnomalousBehavior"
    );
    assert_eq!(
        found[0].service.additional_info["unusualBehavior"]["apiFrequency"],
        "RARE"
    );
}

#[test]
fn a_burst_of_never_used_discovery_calls_is_reported_once() {
    let mut e = engine(1);
    feed(&mut e, &routine("carol", T0, 3));
    let t = T0 + 3 * DAY;
    let apis = [
        "ListRoles",
        "ListPolicies",
        "ListGroups",
        "ListAccessKeys",
        "GetAccountAuthorizationDetails",
        "ListInstanceProfiles",
    ];
    let lines: Vec<String> = apis
        .iter()
        .enumerate()
        .map(|(i, n)| {
            call(
                "carol",
                "iam.amazonaws.com",
                n,
                t + i as i64,
                "198.51.100.7",
                "aws-cli/2",
            )
        })
        .collect();
    feed(&mut e, &lines);
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].finding_type, "Discovery:IAMUser/AnomalousBehavior");
    assert_eq!(found[0].severity, 2.0);
    assert_eq!(
        found[0].service.additional_info["unseenApis"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

fn flow(src: &str, dst: &str, sp: u16, dp: u16, bytes: u64, t: i64) -> String {
    format!(
        "2 111122223333 eni-0a1 {src} {dst} {sp} {dp} 6 10 {bytes} {t} {} ACCEPT OK",
        t + 60
    )
}

#[test]
fn instance_profiles_give_port_spam_and_volume_findings_after_learning() {
    let mut e = engine(1);
    let mut lines = Vec::new();
    // Two days of HTTPS to the same host, 100 kB per 10-minute window.
    let mut t = T0;
    while t < T0 + 2 * DAY {
        lines.push(flow("10.0.0.5", "93.184.216.34", 40000, 443, 100_000, t));
        t += 900;
    }
    feed(&mut e, &lines);
    assert!(anomalous(&mut e).is_empty());
    let t = T0 + 2 * DAY + 100;
    feed(
        &mut e,
        &[
            flow("10.0.0.5", "45.33.32.10", 41000, 25, 2000, t),
            flow("10.0.0.5", "45.33.32.11", 41001, 6667, 2000, t),
            flow("10.0.0.5", "93.184.216.34", 40001, 443, 500_000_000, t),
            // A reply from a server port to a client's ephemeral port is not a connection.
            flow("10.0.0.5", "45.33.32.12", 443, 51000, 2000, t),
        ],
    );
    let mut types: Vec<String> = anomalous(&mut e)
        .into_iter()
        .map(|f| f.finding_type)
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "Backdoor:EC2/Spambot",
            "Behavior:EC2/NetworkPortUnusual",
            "Behavior:EC2/TrafficVolumeUnusual"
        ]
    );
    let f = e
        .findings()
        .into_iter()
        .find(|f| f.finding_type == "Behavior:EC2/NetworkPortUnusual")
        .unwrap();
    let v: Value = serde_json::to_value(&f).unwrap();
    assert_eq!(
        v["service"]["action"]["networkConnectionAction"]["remotePortDetails"]["port"],
        6667
    );
    // The same ports again are known now.
    feed(
        &mut e,
        &[flow(
            "10.0.0.5",
            "45.33.32.130",
            41002,
            6667,
            2000,
            t + 5000,
        )],
    );
    assert_eq!(anomalous(&mut e).len(), 3);
}

#[test]
fn flows_during_learning_or_without_history_are_silent() {
    let mut e = engine(2);
    feed(
        &mut e,
        &[
            flow("10.0.0.6", "93.184.216.34", 40000, 443, 1000, T0),
            flow("10.0.0.6", "45.33.32.10", 41000, 25, 1000, T0 + DAY + 10),
        ],
    );
    assert!(anomalous(&mut e).is_empty());
    // No learning period, but an instance first seen an hour ago has no history yet.
    let mut e = engine(0);
    feed(
        &mut e,
        &[
            flow("10.0.0.6", "93.184.216.34", 40000, 443, 1000, T0),
            flow("10.0.0.6", "45.33.32.10", 41000, 25, 1000, T0 + 3600),
        ],
    );
    assert!(anomalous(&mut e).is_empty());
}

#[test]
fn profiles_survive_a_restart_through_their_documents() {
    let mut e = engine(1);
    feed(&mut e, &routine("dave", T0, 2));
    feed(
        &mut e,
        &[call(
            "dave",
            "iam.amazonaws.com",
            "CreateUser",
            T0 + DAY / 2,
            "198.51.100.7",
            "aws-cli/2",
        )],
    );
    let docs = e.baselines_mut().take_dirty();
    assert!(docs.iter().any(|(k, _)| k == "meta"));
    assert!(docs.iter().any(|(k, _)| k.starts_with("id/")));
    assert!(docs.iter().any(|(k, _)| k.starts_with("acct/")));
    assert!(
        e.baselines_mut().take_dirty().is_empty(),
        "nothing changed since"
    );
    // Round trip through JSON text, as a store would.
    let text = serde_json::to_string(&docs).unwrap();
    let docs: Vec<(String, Value)> = serde_json::from_str(&text).unwrap();
    let mut restarted = engine(1);
    for (k, v) in docs {
        restarted.baselines_mut().restore(&k, v).unwrap();
    }
    assert_eq!(restarted.baselines().started(), Some(T0 + 9 * 3600));
    assert_eq!(
        restarted.baselines().account("111122223333"),
        e.baselines().account("111122223333")
    );
    assert!(
        restarted
            .baselines()
            .account("111122223333")
            .unwrap()
            .users
            .get(&"arn:aws:iam::111122223333:user/dave".to_owned())
            .is_some()
    );
    let t = T0 + 3 * DAY;
    feed(
        &mut restarted,
        &[
            call(
                "dave",
                "iam.amazonaws.com",
                "CreateUser",
                t,
                "198.51.100.7",
                "aws-cli/2",
            ),
            call(
                "dave",
                "iam.amazonaws.com",
                "CreateLoginProfile",
                t + 1,
                "198.51.100.7",
                "aws-cli/2",
            ),
        ],
    );
    let found = anomalous(&mut restarted);
    // CreateUser was learned before the restart (one day of a 4-day profile: not rare yet);
    // CreateLoginProfile was never seen.
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].service.additional_info["api"],
        "CreateLoginProfile"
    );
    // Without the documents the restarted engine would be learning again.
    let mut fresh = engine(1);
    feed(
        &mut fresh,
        &[call(
            "dave",
            "iam.amazonaws.com",
            "CreateLoginProfile",
            t,
            "198.51.100.7",
            "aws-cli/2",
        )],
    );
    assert!(anomalous(&mut fresh).is_empty());
    assert!(
        restarted
            .baselines_mut()
            .restore("nope", json!({}))
            .is_err()
    );
    assert!(restarted.baselines_mut().restore("id/x", json!(3)).is_err());
}

#[test]
fn with_geoip_findings_carry_location_and_profiles_key_networks_by_asn() {
    use crate::geo::GeoLookup;
    use crate::geo::tests::{asn_db, city_db};
    let geo = GeoLookup::from_bytes(Some(city_db()), Some(asn_db())).unwrap();
    let mut e = engine(0).with_geo(geo);
    feed(
        &mut e,
        &[call(
            "hal",
            "iam.amazonaws.com",
            "CreateUser",
            T0,
            "45.33.32.156",
            "aws-cli/2",
        )],
    );
    let f = &anomalous(&mut e)[0];
    let remote = &f.service.action.aws_api_call_action.as_ref().unwrap()["remoteIpDetails"];
    assert_eq!(remote["ipAddressV4"], "45.33.32.156");
    assert_eq!(remote["country"]["countryCode"], "FR");
    assert_eq!(remote["city"]["cityName"], "Paris");
    assert_eq!(remote["organization"]["asn"], "63949");
    assert_eq!(
        f.service.additional_info["unusualBehavior"]["network"],
        "AS63949"
    );
}

#[test]
fn instance_credentials_used_from_a_learned_network_stop_alerting() {
    let role_call = |ip: &str, t: i64| {
        json!({"eventTime": format_iso_millis(t), "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances", "sourceIPAddress": ip, "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0123456789abcdef0",
                "accessKeyId": "ASIAEXAMPLE", "accountId": "111122223333",
                "arn": "arn:aws:sts::111122223333:assumed-role/app/i-0123456789abcdef0",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::111122223333:role/app", "userName": "app"}}}})
        .to_string()
    };
    let exfil = |e: &mut Engine| -> u64 {
        e.findings()
            .iter()
            .filter(|f| f.finding_type.contains("InstanceCredentialExfiltration"))
            .map(|f| f.service.count)
            .sum()
    };
    let mut e = engine(0);
    feed(
        &mut e,
        &[
            role_call("10.0.0.5", T0),
            role_call("45.33.32.156", T0 + 60),
        ],
    );
    assert_eq!(exfil(&mut e), 1);
    feed(&mut e, &[role_call("45.33.32.157", T0 + DAY)]);
    assert_eq!(exfil(&mut e), 2);
    // Used from that /24 on two days now: learned, no longer reported.
    feed(&mut e, &[role_call("45.33.32.158", T0 + 2 * DAY)]);
    assert_eq!(exfil(&mut e), 2);
    // Another network still is.
    feed(&mut e, &[role_call("93.184.216.34", T0 + 2 * DAY + 60)]);
    assert_eq!(exfil(&mut e), 3);
}

proptest::proptest! {
    #[test]
    fn restore_never_panics(key in "(meta|id/|ip/|x)\\PC{0,12}", doc in "\\PC{0,200}") {
        let mut e = engine(1);
        let v: Value = serde_json::from_str(&doc).unwrap_or(Value::String(doc.clone()));
        let _ = e.baselines_mut().restore(&key, v);
    }

    #[test]
    fn day_bits_never_panic(times in proptest::collection::vec(proptest::num::i64::ANY, 1..20), now in proptest::num::i64::ANY, span in proptest::num::i64::ANY) {
        let mut b = super::profile::DayBits::default();
        for t in &times {
            b.mark(*t);
        }
        proptest::prop_assert!(b.count_within(now, span) <= 64);
    }

    #[test]
    fn profiles_round_trip(days in proptest::collection::vec(0i64..200, 1..30)) {
        let mut e = engine(0);
        let lines: Vec<String> = days
            .iter()
            .map(|d| call("ivy", "iam.amazonaws.com", "ListUsers", T0 + d * DAY, "198.51.100.7", "aws-cli/2"))
            .collect();
        feed(&mut e, &lines);
        let docs = e.baselines_mut().take_dirty();
        let mut r = engine(0);
        for (k, v) in docs {
            r.baselines_mut().restore(&k, v).unwrap();
        }
        let key = "111122223333|arn:aws:iam::111122223333:user/ivy";
        proptest::prop_assert_eq!(e.baselines().identity(key), r.baselines().identity(key));
    }
}

fn failed_call(user: &str, source: &str, name: &str, t: i64, ip: &str) -> String {
    let mut v: Value =
        serde_json::from_str(&call(user, source, name, t, ip, "aws-cli/2.15")).unwrap();
    v["errorCode"] = json!("AccessDenied");
    v["errorMessage"] = json!("User is not authorized to perform this operation");
    v.to_string()
}

/// Bob, an administrator of the same account, creates access keys every day.
fn admin_routine(from: i64, days: i64) -> Vec<String> {
    (0..days)
        .map(|d| {
            call(
                "bob",
                "iam.amazonaws.com",
                "CreateAccessKey",
                from + d * DAY + 10 * 3600,
                "198.51.100.9",
                "aws-cli/2.15",
            )
        })
        .collect()
}

#[test]
fn an_api_the_account_uses_routinely_is_normal_from_the_principals_usual_place() {
    let mut e = engine(3);
    let mut lines = routine("alice", T0, 6);
    lines.extend(admin_routine(T0, 6));
    feed(&mut e, &lines);
    assert!(anomalous(&mut e).is_empty());
    // Alice has never created an access key, but the account does so daily and she calls
    // from her office with her CLI: normal.
    let t = T0 + 6 * DAY + 9 * 3600;
    feed(
        &mut e,
        &[call(
            "alice",
            "iam.amazonaws.com",
            "CreateAccessKey",
            t,
            "198.51.100.7",
            "aws-cli/2.15",
        )],
    );
    assert!(anomalous(&mut e).is_empty(), "{:?}", anomalous(&mut e));
    // An API nobody in the account has used: reported above Medium (checked below).
    feed(
        &mut e,
        &[call(
            "alice",
            "iam.amazonaws.com",
            "CreateLoginProfile",
            t + 5,
            "198.51.100.7",
            "aws-cli/2.15",
        )],
    );
    // The account's routine API from a network alice never used: reported, a step lower
    // than Medium.
    let mut e2 = engine(3);
    let mut lines = routine("alice", T0, 6);
    lines.extend(admin_routine(T0, 6));
    lines.push(call(
        "alice",
        "iam.amazonaws.com",
        "CreateAccessKey",
        t,
        "203.0.113.50",
        "aws-cli/2.15",
    ));
    feed(&mut e2, &lines);
    let found = anomalous(&mut e2);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].finding_type,
        "Persistence:IAMUser/AnomalousBehavior"
    );
    assert_eq!(found[0].severity, 2.0);
    let info = &found[0].service.additional_info;
    assert_eq!(info["unusualBehavior"]["apiFrequency"], "UNSEEN");
    assert_eq!(info["unusualBehavior"]["apiAccountFrequency"], "FREQUENT");
    assert_eq!(info["unusualBehavior"]["unusualAPIsAccountProfiling"], "");
    assert_eq!(
        info["unusualBehavior"]["unusualAPIsUserIdentityProfiling"],
        "CreateAccessKey"
    );
    assert!(
        info["profiledBehavior"]["frequentProfiledAPIsAccountProfiling"]
            .as_str()
            .unwrap()
            .contains("CreateAccessKey")
    );
    assert_eq!(
        info["anomalies"]["unusual"]["behavior"]["111122223333"]["api"]["profileSubtype"],
        "FREQUENT"
    );
    // In the first engine CreateLoginProfile is new to the whole account (Medium + 1 + 0).
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, 6.0);
}

#[test]
fn an_api_new_to_the_whole_account_from_a_new_network_is_more_severe() {
    let mut e = engine(3);
    let mut lines = routine("alice", T0, 6);
    lines.extend(admin_routine(T0, 6));
    feed(&mut e, &lines);
    let t = T0 + 6 * DAY + 15 * 3600;
    feed(
        &mut e,
        &[call(
            "alice",
            "iam.amazonaws.com",
            "PutUserPolicy",
            t,
            "203.0.113.50",
            "Boto3/1.34",
        )],
    );
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(
        f.finding_type,
        "PrivilegeEscalation:IAMUser/AnomalousBehavior"
    );
    assert_eq!(f.severity, 6.5);
    let info = &f.service.additional_info;
    let u = &info["unusualBehavior"];
    assert_eq!(u["apiAccountFrequency"], "UNSEEN");
    assert_eq!(u["networkAccountFrequency"], "UNSEEN");
    assert_eq!(u["unusualAPIsAccountProfiling"], "PutUserPolicy");
    assert_eq!(u["unusualASNsAccountProfiling"], "203.0.113.0/24");
    assert_eq!(u["unusualUserAgentsAccountProfiling"], "Boto3");
    assert_eq!(u["isUnusualUserIdentity"], "false");
    let pb = &info["profiledBehavior"];
    assert!(
        pb["frequentProfiledUserNamesAccountProfiling"]
            .as_str()
            .unwrap()
            .contains("bob")
    );
    assert_eq!(pb["frequentProfiledUserTypesAccountProfiling"], "IAMUser");
    assert!(
        pb["accountUsualApis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "iam.amazonaws.com:CreateAccessKey")
    );
    assert_eq!(
        info["anomalies"]["anomalousAPIs"],
        "iam.amazonaws.com:[PutUserPolicy:success]"
    );
    assert!(
        info["anomalies"]["profiles"]["111122223333"]["api"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[test]
fn a_burst_of_refused_calls_to_never_used_apis_is_discovery() {
    let mut e = engine(1);
    feed(&mut e, &routine("carol", T0, 3));
    let t = T0 + 3 * DAY;
    // Permission enumeration: writes and reads, all refused; failures count for the burst.
    let apis = [
        ("iam.amazonaws.com", "CreateUser"),
        ("iam.amazonaws.com", "ListRoles"),
        ("ec2.amazonaws.com", "RunInstances"),
        ("s3.amazonaws.com", "PutBucketPolicy"),
        ("lambda.amazonaws.com", "CreateFunction20150331"),
    ];
    let lines: Vec<String> = apis
        .iter()
        .enumerate()
        .map(|(i, (s, n))| failed_call("carol", s, n, t + i as i64, "198.51.100.7"))
        .collect();
    feed(&mut e, &lines);
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.finding_type, "Discovery:IAMUser/AnomalousBehavior");
    assert_eq!(f.severity, 2.0);
    let info = &f.service.additional_info;
    assert_eq!(info["failedApis"].as_array().unwrap().len(), 5);
    assert_eq!(info["errorCode"], "AccessDenied");
    let listed = info["anomalies"]["anomalousAPIs"].as_str().unwrap();
    assert!(
        listed.starts_with("iam.amazonaws.com:[CreateUser:failure , ListRoles:failure]"),
        "{listed}"
    );
    assert!(f.title.contains("5 of them refused"), "{}", f.title);
    // The refused APIs did not become usual: CreateUser is still UNSEEN for carol, so her
    // first successful CreateUser is reported.
    feed(
        &mut e,
        &[call(
            "carol",
            "iam.amazonaws.com",
            "CreateUser",
            t + 3600,
            "198.51.100.7",
            "aws-cli/2.15",
        )],
    );
    let p = e
        .baselines()
        .identity("111122223333|arn:aws:iam::111122223333:user/carol");
    assert!(
        p.unwrap()
            .failed_apis
            .get(&"ec2.amazonaws.com:RunInstances".to_owned())
            .is_some()
    );
    assert!(
        anomalous(&mut e)
            .iter()
            .any(|f| f.finding_type == "Persistence:IAMUser/AnomalousBehavior")
    );
}

#[test]
fn routine_failures_are_not_a_burst_and_do_not_teach_the_api() {
    let mut e = engine(3);
    // Dave's job polls five APIs it has no permission for, every day.
    let denied = [
        ("secretsmanager.amazonaws.com", "GetSecretValue"),
        ("iam.amazonaws.com", "ListRoles"),
        ("iam.amazonaws.com", "ListPolicies"),
        ("ec2.amazonaws.com", "DescribeVolumes"),
        ("kms.amazonaws.com", "ListKeys"),
    ];
    let mut lines = routine("dave", T0, 1)
        .into_iter()
        .filter(|l| !l.contains("GetSecretValue"))
        .collect::<Vec<_>>();
    for d in 0..8 {
        for (i, (s, n)) in denied.iter().enumerate() {
            lines.push(failed_call(
                "dave",
                s,
                n,
                T0 + d * DAY + 12 * 3600 + i as i64,
                "198.51.100.7",
            ));
        }
    }
    feed(&mut e, &lines);
    assert!(
        anomalous(&mut e).is_empty(),
        "routine failures after learning: {:?}",
        anomalous(&mut e)
    );
    // The first successful GetSecretValue: the failures did not make it usual.
    feed(
        &mut e,
        &[call(
            "dave",
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            T0 + 8 * DAY + 9 * 3600,
            "198.51.100.7",
            "aws-cli/2.15",
        )],
    );
    let found = anomalous(&mut e);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].finding_type,
        "CredentialAccess:IAMUser/AnomalousBehavior"
    );
    assert!(
        found[0].service.additional_info["profiledBehavior"]["usualFailedApis"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |a| a["name"] == "secretsmanager.amazonaws.com:GetSecretValue"
                    && a["frequency"] == "FREQUENT"
            )
    );
}

#[test]
fn account_verdicts() {
    use super::identity::{AccountVerdict, AccountView, account_verdict};
    use super::profile::Frequency::*;
    let view = |api, network, established| AccountView {
        api,
        network,
        region: Some(Frequent),
        established,
    };
    assert_eq!(
        account_verdict(
            5.0,
            view(Frequent, Some(Frequent), true),
            Some(Infrequent),
            Frequent
        ),
        AccountVerdict::Routine
    );
    assert_eq!(
        account_verdict(
            5.0,
            view(Infrequent, Some(Frequent), true),
            Some(Rare),
            Frequent
        ),
        AccountVerdict::Report(2.0)
    );
    assert_eq!(
        account_verdict(8.0, view(Frequent, None, true), None, Unseen),
        AccountVerdict::Report(5.0)
    );
    assert_eq!(
        account_verdict(5.0, view(Rare, Some(Unseen), true), Some(Unseen), Unseen),
        AccountVerdict::Report(5.0)
    );
    assert_eq!(
        account_verdict(8.0, view(Unseen, Some(Unseen), true), Some(Unseen), Unseen),
        AccountVerdict::Report(8.9)
    );
    // An account without a day of history: nothing is new to it yet.
    assert_eq!(
        account_verdict(5.0, view(Unseen, Some(Unseen), false), Some(Unseen), Unseen),
        AccountVerdict::Report(5.0)
    );
}
