//! Guard detection end to end: simulated scenarios, a benign day, the Stratus Red Team
//! detonation logs, the tester's DNS-exfiltration queries, malformed input and memory bounds.

use std::path::{Path, PathBuf};

use portcullis_guard_core::decode::DecodeOptions;
use portcullis_guard_core::intel::ThreatIntel;
use portcullis_guard_core::record::{FlowAction, FlowRecord, LogStatus, Record};
use portcullis_guard_detect::simulate::{self, SCENARIOS};
use portcullis_guard_detect::{Config, Engine, Finding, Loc, SeverityBand};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    );
    let guard = dir.join("guard");
    if guard.is_dir() {
        Some(guard)
    } else {
        eprintln!(
            "!!! Guard corpus not found at {} — SKIPPING corpus tests",
            guard.display()
        );
        None
    }
}

fn corpus_intel(guard: &Path) -> ThreatIntel {
    let mut intel = ThreatIntel::new();
    let mut stack = vec![guard.join("threat-intel")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "txt") && !p.ends_with("ipsum_header.txt")
            {
                let text = std::fs::read_to_string(&p).unwrap();
                portcullis_guard_detect::intel::load_list(&mut intel, &p.to_string_lossy(), &text)
                    .unwrap();
            }
        }
    }
    intel
}

fn analyze(files: &[simulate::SimFile], intel: ThreatIntel) -> Vec<Finding> {
    let mut engine = Engine::new(Config::default(), intel);
    for f in files {
        let r = engine.ingest(&f.path, &f.bytes, &DecodeOptions::default());
        assert!(r.refused.is_none(), "{}: {:?}", f.path, r.refused);
        assert_eq!(r.malformed, 0, "{}: {:?}", f.path, r.errors);
    }
    engine.findings()
}

#[test]
fn every_scenario_yields_its_expected_findings_and_no_unexpected_high_ones() {
    for s in SCENARIOS {
        let files = simulate::simulate(s.name, 7).unwrap();
        let findings = analyze(&files, ThreatIntel::new());
        let types: Vec<&str> = findings.iter().map(|f| f.finding_type.as_str()).collect();
        eprintln!("{:<20} {:?}", s.name, {
            let mut t = types.clone();
            t.dedup();
            t
        });
        for e in s.expected {
            assert!(types.contains(e), "{}: expected {e}, got {types:?}", s.name);
        }
        for f in &findings {
            if f.band() >= SeverityBand::High {
                assert!(
                    s.expected.contains(&f.finding_type.as_str())
                        || s.allowed.contains(&f.finding_type.as_str()),
                    "{}: unexpected high-severity {} ({})",
                    s.name,
                    f.finding_type,
                    f.description
                );
            }
        }
    }
}

#[test]
fn a_benign_day_yields_no_high_severity_finding() {
    let intel = corpus().map(|g| corpus_intel(&g)).unwrap_or_default();
    for seed in [1u64, 2, 3] {
        let files = simulate::simulate("benign", seed).unwrap();
        let findings = analyze(&files, intel.clone());
        for f in &findings {
            eprintln!(
                "benign seed {seed}: {} {} {}",
                f.severity,
                f.finding_type,
                f.resource_label()
            );
            assert!(
                f.severity < 7.0,
                "seed {seed}: {} — {}",
                f.finding_type,
                f.description
            );
        }
    }
}

#[test]
fn all_scenarios_together_and_determinism() {
    let a = simulate::simulate("all", 42).unwrap();
    let b = simulate::simulate("all", 42).unwrap();
    let c = simulate::simulate("all", 43).unwrap();
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.bytes, y.bytes, "{}", x.path);
    }
    assert_ne!(a[0].bytes, c[0].bytes);
    let findings = analyze(&a, ThreatIntel::new());
    for s in SCENARIOS {
        for e in s.expected {
            assert!(
                findings.iter().any(|f| f.finding_type == *e),
                "all: missing {e}"
            );
        }
    }
    assert!(simulate::simulate("nope", 1).is_err());
}

#[test]
fn repeated_ssh_bruteforce_updates_one_finding_with_explanations() {
    let files = simulate::simulate("ssh-bruteforce", 3).unwrap();
    let findings = analyze(&files, ThreatIntel::new());
    let actor: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.finding_type == "UnauthorizedAccess:EC2/SSHBruteForce"
                && f.service.resource_role.as_deref() == Some("ACTOR")
        })
        .collect();
    assert_eq!(actor.len(), 1);
    let f = actor[0];
    assert_eq!(f.severity, 8.0);
    assert_eq!(f.schema_version, "2.0");
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(
        json["service"]["action"]["actionType"],
        "NETWORK_CONNECTION"
    );
    assert_eq!(
        json["service"]["action"]["networkConnectionAction"]["connectionDirection"],
        "OUTBOUND"
    );
    assert_eq!(
        json["service"]["action"]["networkConnectionAction"]["remotePortDetails"]["port"],
        22
    );
    assert_eq!(json["service"]["additionalInfo"]["threshold"], 20);
    let locs = json["service"]["additionalInfo"]["sourceLocations"]
        .as_array()
        .unwrap();
    assert!(
        locs[0].as_str().unwrap().starts_with("vpcflow/"),
        "{locs:?}"
    );
    assert!(f.description.contains("threshold 20"), "{}", f.description);
    // The target side is Low, and its instance ID was filled in from the Resolver records' srcids.
    let target = findings
        .iter()
        .find(|f| {
            f.finding_type == "UnauthorizedAccess:EC2/SSHBruteForce"
                && f.service.resource_role.as_deref() == Some("TARGET")
        })
        .unwrap();
    assert_eq!(target.severity, 2.0);
    assert_eq!(
        target
            .resource
            .instance_details
            .as_ref()
            .unwrap()
            .instance_id
            .as_deref(),
        Some("i-0a1b2c3d4e5f60002")
    );
}

#[test]
fn stratus_red_team_detonations() {
    let Some(g) = corpus() else { return };
    let dir = g.join("cloudtrail/stratus-red-team");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut flagged = 0;
    for p in &names {
        let mut engine = Engine::new(Config::default(), ThreatIntel::new());
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let r = engine.ingest(&name, &std::fs::read(p).unwrap(), &DecodeOptions::default());
        assert_eq!(r.malformed, 0);
        let findings = engine.findings();
        let mut types: Vec<String> = findings
            .iter()
            .map(|f| format!("{} ({})", f.finding_type, f.severity))
            .collect();
        types.dedup();
        eprintln!(
            "stratus {name:<70} {} record(s): {}",
            r.records,
            if types.is_empty() {
                "-".into()
            } else {
                types.join(", ")
            }
        );
        if !findings.is_empty() {
            flagged += 1;
        }
    }
    eprintln!(
        "stratus: {flagged} of {} files produce at least one finding (SigmaHQ rules: 8 of these 16)",
        names.len()
    );
    assert_eq!(names.len(), 16);
    assert!(flagged >= 12, "only {flagged} files flagged");
}

#[test]
fn tester_dns_exfiltration_queries_are_detected() {
    let Some(g) = corpus() else { return };
    let text = std::fs::read_to_string(g.join("guardduty-tester/dns_exfil_queries.txt")).unwrap();
    let mut lines = String::new();
    for (i, q) in text.lines().enumerate() {
        lines.push_str(&serde_json::json!({
            "version": "1.100000", "account_id": "123456789012", "region": "us-east-1",
            "query_timestamp": format!("2026-11-02T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
            "query_name": format!("{q}."), "query_type": "A", "rcode": "NXDOMAIN", "answers": [],
            "srcaddr": "10.0.3.50", "srcport": "5353", "transport": "UDP", "srcids": {"instance": "i-0feedbeef0000001"},
        }).to_string());
        lines.push('\n');
    }
    let mut engine = Engine::new(Config::default(), ThreatIntel::new());
    let r = engine.ingest("exfil.jsonl", lines.as_bytes(), &DecodeOptions::default());
    assert_eq!(r.records, 930);
    let findings = engine.findings();
    let exfil = findings
        .iter()
        .find(|f| f.finding_type == "Trojan:EC2/DNSDataExfiltration")
        .expect("exfiltration finding");
    assert_eq!(
        exfil
            .resource
            .instance_details
            .as_ref()
            .unwrap()
            .instance_id
            .as_deref(),
        Some("i-0feedbeef0000001")
    );
    let c2 = findings
        .iter()
        .find(|f| f.finding_type == "Backdoor:EC2/C&CActivity.B!DNS")
        .expect("c2 finding");
    assert_eq!(c2.service.count, 930, "one finding updated by every query");
}

#[test]
fn malformed_lines_are_counted_and_skipped() {
    let flow = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
        2 123456789012 eni-1 10.0.0.5 10.0.0.6 40000 22 6 10 840 1793577600 1793577660 ACCEPT OK\n\
        2 123456789012 eni-1 10.0.0.5 not-an-ip 40000 22 6 10 840 1793577600 1793577660 ACCEPT OK\n\
        \n\
        2 123456789012 eni-1 10.0.0.5\n\
        2 123456789012 eni-1 10.0.0.5 10.0.0.6 40001 22 6 10 840 1793577600 1793577660 MAYBE OK\n\
        2 123456789012 eni-1 10.0.0.5 10.0.0.6 40002 22 6 10 840 1793577600 1793577660 ACCEPT OK\n";
    let mut engine = Engine::new(Config::default(), ThreatIntel::new());
    let r = engine.ingest("bad.log", flow.as_bytes(), &DecodeOptions::default());
    assert_eq!(r.records, 2);
    assert_eq!(r.malformed, 3);
    assert!(r.errors[0].starts_with("bad.log:3: "), "{:?}", r.errors);
    assert!(r.errors[1].starts_with("bad.log:5: "), "{:?}", r.errors);
    let dns = "{\"query_name\":\"example.com.\",\"srcaddr\":\"10.0.0.5\"}\n{not json\n{\"query_name\":\"a.example.com.\"}\n";
    let r = engine.ingest("q.jsonl", dns.as_bytes(), &DecodeOptions::default());
    assert_eq!((r.records, r.malformed), (2, 1));
    assert!(r.errors[0].starts_with("q.jsonl:2: "), "{:?}", r.errors);
    let r = engine.ingest("junk.bin", b"\x1f\x8b garbage", &DecodeOptions::default());
    assert!(r.refused.is_some());
    assert_eq!(engine.stats().flow, 2);
}

#[test]
fn memory_stays_bounded_with_a_million_sources() {
    let cfg = Config::default();
    let cap = cfg.max_tracked_keys;
    let mut engine = Engine::new(cfg, ThreatIntel::new());
    let line = "synthetic";
    for i in 0..1_000_000u32 {
        let src = std::net::Ipv4Addr::from(0x2d00_0000u32 + i * 7); // 45.x.x.x, public
        let rec = FlowRecord {
            line,
            srcaddr: Some(src.into()),
            dstaddr: Some(std::net::Ipv4Addr::new(10, 0, 1, 10).into()),
            srcport: Some(40000),
            dstport: Some(22),
            protocol: Some(6),
            packets: Some(1),
            bytes: Some(44),
            start: Some(1_793_577_600 + u64::from(i / 100)),
            end: Some(1_793_577_660 + u64::from(i / 100)),
            action: Some(FlowAction::Reject),
            log_status: Some(LogStatus::Ok),
            ..FlowRecord::default()
        };
        engine.observe(&Record::Flow(rec), Loc::default());
    }
    let st = engine.stats();
    assert_eq!(st.flow, 1_000_000);
    // Six flow tables, three DNS/CloudTrail tables and the instance map, each capped.
    assert!(st.tracked <= 10 * cap, "tracked {}", st.tracked);
    assert!(st.evicted > 0);
    eprintln!(
        "1M sources: tracked {} keys, evicted {}",
        st.tracked, st.evicted
    );
}

fn types_of(findings: &[Finding]) -> Vec<String> {
    let mut t: Vec<String> = findings.iter().map(|f| f.finding_type.clone()).collect();
    t.sort();
    t.dedup();
    t
}

#[test]
fn threat_lists_drive_their_finding_types() {
    use portcullis_guard_core::intel::ListFormat;
    let mut intel = ThreatIntel::new();
    intel
        .load(
            "45.137.21.9\n10.0.0.0/8\n",
            ListFormat::Txt,
            "my-threats",
            "custom",
        )
        .unwrap();
    let tor: String = (40..60).map(|i| format!("185.220.101.{i}\n")).collect();
    intel
        .load(&tor, ListFormat::Txt, "tor_nodes", "tor")
        .unwrap();
    intel
        .load(
            "93.184.1.1:8443\n",
            ListFormat::Txt,
            "cobaltstrike",
            "malware",
        )
        .unwrap();
    intel
        .load(
            "51.15.2.2:3333\n",
            ListFormat::Txt,
            "generic_miner",
            "malware",
        )
        .unwrap();
    intel
        .load("evil-phish.net\n", ListFormat::Txt, "phishing", "phishing")
        .unwrap();
    intel
        .load(
            "duckdns.org\n",
            ListFormat::Txt,
            "dynamic_domain",
            "suspicious",
        )
        .unwrap();
    let t = 1_793_620_800u64;
    let mut flows = String::new();
    let mut flow = |src: &str, dst: &str, sp: u16, dp: u16, action: &str| {
        flows.push_str(&format!("2 123456789012 eni-0a1b2c3d4e5f60005 {src} {dst} {sp} {dp} 6 12 2400 {t} {} {action} OK\n", t + 60));
    };
    flow("10.0.1.30", "185.220.101.47", 41000, 9001, "ACCEPT");
    flow("10.0.1.30", "93.184.1.1", 41001, 8443, "ACCEPT");
    flow("10.0.1.30", "51.15.2.2", 41002, 3333, "ACCEPT");
    flow("10.0.1.30", "45.137.21.9", 41003, 8009, "ACCEPT");
    flow("10.0.1.30", "10.0.1.31", 41004, 8009, "ACCEPT"); // private: lists never match
    for i in 40..52 {
        flow(
            &format!("185.220.101.{i}"),
            "10.0.1.30",
            50000,
            9001,
            "ACCEPT",
        );
    }
    let dns = [
        ("login.evil-phish.net", "93.184.216.34"),
        ("home.duckdns.org", "93.184.216.35"),
        ("rebind.example.net", "169.254.169.254"),
    ]
    .iter()
    .map(|(q, a)| {
        serde_json::json!({"query_timestamp": "2026-11-02T12:00:00Z", "query_name": format!("{q}."), "query_type": "A",
            "rcode": "NOERROR", "answers": [{"Rdata": a, "Type": "A", "Class": "IN"}], "srcaddr": "10.0.1.30", "srcport": "5353",
            "srcids": {"instance": "i-0a1b2c3d4e5f60005"}})
        .to_string()
            + "\n"
    })
    .collect::<String>();
    let mut engine = Engine::new(Config::default(), intel);
    engine.ingest("flows.log", flows.as_bytes(), &DecodeOptions::default());
    engine.ingest("dns.jsonl", dns.as_bytes(), &DecodeOptions::default());
    for s in ["kali", "cloudtrail-disabled", "instance-cred-exfil"] {
        for f in simulate::simulate(s, 1).unwrap() {
            if f.path.starts_with("cloudtrail/") {
                engine.ingest(&f.path, &f.bytes, &DecodeOptions::default());
            }
        }
    }
    let findings = engine.findings();
    let types = types_of(&findings);
    eprintln!("{types:#?}");
    for want in [
        "UnauthorizedAccess:EC2/TorClient",
        "UnauthorizedAccess:EC2/TorRelay",
        "Backdoor:EC2/C&CActivity.B",
        "CryptoCurrency:EC2/BitcoinTool.B",
        "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom",
        "Trojan:EC2/PhishingDomainRequest!DNS",
        "Impact:EC2/AbusedDomainRequest.Reputation",
        "UnauthorizedAccess:EC2/MetadataDNSRebind",
        "Recon:IAMUser/MaliciousIPCaller.Custom",
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
        "Recon:IAMUser/TorIPCaller",
    ] {
        assert!(types.iter().any(|t| t == want), "missing {want}");
    }
    let custom = findings
        .iter()
        .find(|f| f.finding_type == "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom")
        .unwrap();
    assert_eq!(
        custom.service.count, 1,
        "the private flow must not match 10.0.0.0/8"
    );
    assert_eq!(
        custom.service.additional_info["threatListName"],
        "my-threats"
    );
    assert_eq!(
        custom
            .service
            .evidence
            .as_ref()
            .unwrap()
            .threat_intelligence_details[0]
            .threat_list_name,
        "my-threats"
    );
}

/// Panther's labelled CloudTrail tests for rules that match a GuardDuty type one to one.
#[test]
fn panther_labelled_cloudtrail_tests() {
    let Some(g) = corpus() else { return };
    let text = std::fs::read_to_string(
        g.join("cloudtrail/panther-tests/panther_cloudtrail_rule_tests.jsonl"),
    )
    .unwrap();
    let map: &[(&str, &[&str])] = &[
        ("AWS.Root.Activity", &["Policy:IAMUser/RootCredentialUsage"]),
        (
            "AWS.Console.RootLogin",
            &["Policy:IAMUser/RootCredentialUsage"],
        ),
        (
            "AWS.CloudTrail.Stopped",
            &["Stealth:IAMUser/CloudTrailLoggingDisabled"],
        ),
        (
            "AWS.S3.DeletePublicAccessBlock",
            &["Policy:S3/BucketBlockPublicAccessDisabled"],
        ),
        (
            "AWS.S3.DisableBucketLogging",
            &["Stealth:S3/ServerAccessLoggingDisabled"],
        ),
        (
            "AWS.CloudTrail.ResourceMadePublic",
            &[
                "Policy:S3/BucketAnonymousAccessGranted",
                "Policy:S3/BucketPublicAccessGranted",
            ],
        ),
        (
            "AWS.S3.BucketPolicyModified",
            &[
                "Policy:S3/BucketAnonymousAccessGranted",
                "Policy:S3/BucketPublicAccessGranted",
            ],
        ),
        (
            "AWS.VPCFlow.LogsDeleted",
            &["DefenseEvasion:IAMUser/AnomalousBehavior"],
        ),
    ];
    let mut pos_hit = 0;
    let mut pos_total = 0;
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let rule = row["rule_id"].as_str().unwrap();
        let Some((_, want)) = map.iter().find(|(r, _)| *r == rule) else {
            continue;
        };
        let expected = row["expected_result"].as_bool().unwrap();
        let mut engine = Engine::new(Config::default(), ThreatIntel::new());
        engine.ingest(
            "panther.json",
            row["log"].to_string().as_bytes(),
            &DecodeOptions::default(),
        );
        let hit = engine
            .findings()
            .iter()
            .any(|f| want.contains(&f.finding_type.as_str()));
        eprintln!(
            "panther {rule:<36} {:<5} {} {}",
            expected,
            if hit { "HIT " } else { "miss" },
            row["test_name"].as_str().unwrap_or("")
        );
        if expected {
            pos_total += 1;
            pos_hit += usize::from(hit);
        }
    }
    eprintln!("panther: {pos_hit} of {pos_total} positives produce the matching GuardDuty type");
    assert!(pos_total >= 10);
    assert!(pos_hit * 2 >= pos_total, "{pos_hit}/{pos_total}");
}

#[test]
fn instance_credentials_outside_configured_aws_ranges_on_first_sight() {
    let rec = |ip: &str| {
        serde_json::json!({"eventTime": "2026-11-02T12:00:00Z", "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
            "sourceIPAddress": ip, "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0123456789abcdef0",
            "accessKeyId": "ASIAEXAMPLE"}})
        .to_string()
    };
    let cfg = Config {
        aws_networks: vec!["54.160.0.0/11".into()],
        ..Config::default()
    };
    let mut engine = Engine::new(cfg.clone(), ThreatIntel::new());
    engine.ingest(
        "a.json",
        rec("54.164.10.77").as_bytes(),
        &DecodeOptions::default(),
    );
    assert!(
        engine.findings().is_empty(),
        "an AWS address is the instance's own"
    );
    let mut engine = Engine::new(cfg, ThreatIntel::new());
    engine.ingest(
        "b.json",
        rec("92.55.146.245").as_bytes(),
        &DecodeOptions::default(),
    );
    assert_eq!(
        types_of(&engine.findings()),
        ["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"]
    );
    // Without ranges a single use proves nothing.
    let mut engine = Engine::new(Config::default(), ThreatIntel::new());
    engine.ingest(
        "c.json",
        rec("92.55.146.245").as_bytes(),
        &DecodeOptions::default(),
    );
    assert!(engine.findings().is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Arbitrary input never panics and every record is either analysed or counted as malformed.
    #[test]
    fn ingest_never_panics(lines in proptest::collection::vec(
        proptest::prop_oneof![
            "2 1 eni-[0-9a-f]{3} 10\\.0\\.[0-9]\\.[0-9] [0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3} [0-9]{1,5} [0-9]{1,5} (6|17|1|47) [0-9]{1,7} [0-9]{1,9} 179357[0-9]{4} 179357[0-9]{4} (ACCEPT|REJECT) (OK|NODATA)",
            "\\PC{0,60}",
        ], 0..30)) {
        let mut engine = Engine::new(Config::default(), ThreatIntel::new());
        let text = lines.join("\n");
        let r = engine.ingest("p.log", text.as_bytes(), &DecodeOptions::default());
        let _ = engine.findings();
        if r.refused.is_none() {
            proptest::prop_assert!(r.records + r.malformed <= lines.len() as u64 + 1);
        }
    }

    /// Resolver and CloudTrail shapes with arbitrary strings never panic.
    #[test]
    fn json_records_never_panic(name in "\\PC{0,80}", ip in "\\PC{0,20}", ua in "\\PC{0,40}") {
        let mut engine = Engine::new(Config::default(), ThreatIntel::new());
        let dns = serde_json::json!({"query_name": name, "srcaddr": ip, "query_timestamp": ua, "answers": [{"Rdata": ip}]}).to_string();
        engine.ingest("d.jsonl", dns.as_bytes(), &DecodeOptions::default());
        let ct = serde_json::json!({"eventName": name, "eventSource": ua, "sourceIPAddress": ip, "userAgent": ua, "eventTime": name,
            "userIdentity": {"type": "AssumedRole", "principalId": format!("X:{name}")}, "requestParameters": {"bucketName": name, "bucketPolicy": ua}}).to_string();
        engine.ingest("c.json", ct.as_bytes(), &DecodeOptions::default());
        let _ = engine.findings();
    }
}

#[test]
fn dos_variants_port_probes_and_an_upload_that_is_not_a_flood() {
    let t = 1_793_620_800u64;
    let mut flows = String::new();
    let mut flow = |src: &str, dst: &str, sp: u16, dp: u16, proto: u8, packets: u64, bytes: u64| {
        flows.push_str(&format!("2 123456789012 eni-1 {src} {dst} {sp} {dp} {proto} {packets} {bytes} {t} {} ACCEPT OK\n", t + 60));
    };
    flow(
        "10.0.1.30",
        "3.3.3.3",
        40000,
        3306,
        17,
        150_000,
        150_000 * 120,
    ); // UDP to a TCP-only port
    flow("10.0.1.30", "4.4.4.4", 40000, 0, 47, 150_000, 150_000 * 200); // GRE
    flow("10.0.1.30", "5.5.5.5", 40000, 443, 6, 150_000, 150_000 * 64); // SYN flood
    flow(
        "10.0.1.31",
        "52.217.44.214",
        40000,
        443,
        6,
        700_000,
        700_000 * 1400,
    ); // 1 GB upload to S3
    for i in 1..=12u8 {
        // Elasticsearch reachable from the internet: 12 distinct sources accepted on 9200.
        flow(&format!("81.2.{i}.9"), "10.0.1.40", 50000, 9200, 6, 3, 180);
    }
    for port in 1000..1060u16 {
        flow("81.2.200.9", "10.0.1.41", 50000, port, 6, 1, 44); // inbound scan
    }
    let mut engine = Engine::new(Config::default(), ThreatIntel::new());
    let r = engine.ingest("f.log", flows.as_bytes(), &DecodeOptions::default());
    assert_eq!(r.malformed, 0);
    let findings = engine.findings();
    let types = types_of(&findings);
    for want in [
        "Backdoor:EC2/DenialOfService.UdpOnTcpPorts",
        "Backdoor:EC2/DenialOfService.UnusualProtocol",
        "Backdoor:EC2/DenialOfService.Tcp",
        "Recon:EC2/PortProbeUnprotectedPort",
        "Recon:EC2/Portscan",
    ] {
        assert!(types.iter().any(|t| t == want), "missing {want}: {types:?}");
    }
    assert!(
        !findings
            .iter()
            .any(|f| f.resource_label().contains("10.0.1.31")),
        "the upload is not a flood"
    );
    let probe = findings
        .iter()
        .find(|f| f.finding_type == "Recon:EC2/PortProbeUnprotectedPort")
        .unwrap();
    assert_eq!(probe.severity, 8.0, "Elasticsearch ports are High");
    assert_eq!(probe.service.action.action_type, "PORT_PROBE");
    let scan = findings
        .iter()
        .find(|f| f.finding_type == "Recon:EC2/Portscan")
        .unwrap();
    assert_eq!(
        (scan.severity, scan.service.resource_role.as_deref()),
        (2.0, Some("TARGET"))
    );
}
