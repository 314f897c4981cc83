//! Decodes every file of the Guard corpus's `cloudtrail/`, `vpcflow/` and `dns/` folders
//! and loads the `threat-intel/` trails, asserting per-file counts.

use std::path::{Path, PathBuf};

use portcullis_guard_core::decode::{self, DecodeOptions, Decoded, InputFormat};
use portcullis_guard_core::intel::{ListFormat, MatchKind, ThreatIntel};
use portcullis_guard_core::record::{FlowFormat, Record};

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

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn decoded(bytes: &[u8]) -> Decoded<'_> {
    decode::decode(bytes, &DecodeOptions::default()).unwrap()
}

/// Stratus Red Team detonation logs: bare arrays; record counts from reference §10.2.
#[test]
fn stratus_red_team_files() {
    let Some(c) = corpus() else { return };
    let expected: &[(&str, usize)] = &[
        (
            "aws.credential-access.secretsmanager-batch-retrieve-secrets",
            5,
        ),
        ("aws.defense-evasion.cloudtrail-delete", 1),
        ("aws.defense-evasion.vpc-remove-flow-logs", 1),
        ("aws.execution.ssm-send-command", 56),
        ("aws.execution.ssm-start-session", 29),
        ("aws.exfiltration.ec2-share-ebs-snapshot", 1),
        ("aws.impact.bedrock-invoke-model", 15),
        ("aws.initial-access.console-login-without-mfa", 1),
        ("aws.persistence.iam-backdoor-role", 1),
        ("aws.persistence.iam-backdoor-user", 1),
        ("aws.persistence.iam-create-admin-user", 3),
        ("aws.persistence.iam-create-backdoor-role", 2),
        ("aws.persistence.iam-create-user-login-profile", 3),
        ("aws.persistence.lambda-layer-extension", 1),
        ("aws.persistence.lambda-overwrite-code", 1),
        ("aws.persistence.rolesanywhere-create-trust-anchor", 2),
    ];
    let dir = c.join("cloudtrail/stratus-red-team");
    let mut files = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = read(&p);
        let d = decoded(&bytes);
        assert_eq!(d.format, InputFormat::CloudTrailArray, "{stem}");
        assert!(d.errors.is_empty(), "{stem}: {:?}", d.errors);
        let want = expected.iter().find(|(n, _)| *n == stem).map(|(_, n)| *n);
        assert_eq!(Some(d.records.len()), want, "{stem}");
        eprintln!("stratus {stem}: {} records, 0 errors", d.records.len());
        files += 1;
        total += d.records.len();
    }
    assert_eq!((files, total), (16, 123));

    // The same file gzip-compressed (as CloudTrail delivers) decodes identically.
    let plain = read(&dir.join("aws.execution.ssm-send-command.json"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    let gz = gz.finish().unwrap();
    let text = decode::prepare(&gz, 64 << 20).unwrap();
    let d = decoded(&text);
    assert_eq!((d.records.len(), d.errors.len()), (56, 0));
}

fn panther_logs(path: &Path) -> Vec<(String, serde_json::Value)> {
    String::from_utf8(read(path))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut row: serde_json::Value = serde_json::from_str(l).unwrap();
            let rule = row["rule_id"].as_str().unwrap().to_owned();
            (rule, row["log"].take())
        })
        .collect()
}

/// Panther CloudTrail rule tests: every `log` re-emitted as a JSON line and decoded.
#[test]
fn panther_cloudtrail_rule_tests() {
    let Some(c) = corpus() else { return };
    let logs =
        panther_logs(&c.join("cloudtrail/panther-tests/panther_cloudtrail_rule_tests.jsonl"));
    let text: String = logs.iter().map(|(_, l)| format!("{l}\n")).collect();
    let d = decoded(text.as_bytes());
    assert_eq!(d.format, InputFormat::CloudTrailLines);
    eprintln!(
        "panther cloudtrail: {} rows, {} records, {} errors",
        logs.len(),
        d.records.len(),
        d.errors.len()
    );
    assert_eq!(logs.len(), 461);
    assert_eq!(d.records.len(), 461, "{:?}", d.errors);
}

/// Panther VPC/DNS rule tests are pre-parsed (camelCase or OCSF), not raw lines: the 8
/// Resolver-shaped DNS rows decode as Resolver records (answers as an object accepted);
/// the 29 flow rows and 2 OCSF DNS rows need an explicit adapter (reference §4.3).
#[test]
fn panther_vpcflow_rule_tests() {
    let Some(c) = corpus() else { return };
    let logs = panther_logs(&c.join("cloudtrail/panther-tests/panther_vpcflow_rule_tests.jsonl"));
    assert_eq!(logs.len(), 39);
    let dns: String = logs
        .iter()
        .filter(|(_, l)| l.get("query_name").is_some())
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let d = decoded(dns.as_bytes());
    assert_eq!(d.format, InputFormat::ResolverLines);
    eprintln!(
        "panther dns rows: {} records, {} errors",
        d.records.len(),
        d.errors.len()
    );
    assert_eq!((d.records.len(), d.errors.len()), (8, 0), "{:?}", d.errors);
}

/// Panther multi-source scenarios: raw v2 flow lines and CloudTrail records in YAML.
#[test]
fn panther_scenarios() {
    let Some(c) = corpus() else { return };
    let base = c.join("cloudtrail/panther-tests/test_scenarios");
    let vpc =
        String::from_utf8(read(&base.join("compromised-root-creds/attacker_vpc.yml"))).unwrap();
    let lines: String = vpc
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = decoded(lines.as_bytes());
    assert_eq!(
        (d.format, d.records.len(), d.errors.len()),
        (InputFormat::FlowLog, 6, 0)
    );
    let mut ct_total = 0;
    for (file, want) in [
        ("compromised-root-creds/attacker_cloudtrail.yml", None),
        ("compromised-root-creds/victim_cloudtrail.yml", None),
        ("enrichment-example/attacker_cloudtrail.yml", None),
        ("enrichment-example/victim_cloudtrail.yml", None::<usize>),
    ] {
        let y: serde_json::Value = serde_norway::from_slice(&read(&base.join(file))).unwrap();
        let text: String = y["Logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let d = decoded(text.as_bytes());
        assert!(d.errors.is_empty(), "{file}: {:?}", d.errors);
        assert_eq!(d.records.len(), y["Logs"].as_array().unwrap().len());
        let _ = want;
        eprintln!(
            "panther scenario {file}: {} records, 0 errors",
            d.records.len()
        );
        ct_total += d.records.len();
    }
    // Reference §10.3: 16 CloudTrail events in compromised-root-creds, 11 in enrichment-example.
    assert!(ct_total >= 27, "{ct_total}");
}

/// The annotated flow samples: section A is v2; sections B–D carry their format in a
/// comment, so a header line is inserted before each.
#[test]
fn vpcflow_samples() {
    let Some(c) = corpus() else { return };
    let text = String::from_utf8(read(&c.join("vpcflow/vpcflow_format_samples.txt"))).unwrap();
    let v2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
    let v3 = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status";
    let v5 = format!(
        "{v2} vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
    );
    let v8 = format!(
        "{v2} vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason"
    );
    let mut with_headers = String::new();
    for line in text.lines() {
        let header = match line {
            l if l.starts_with("# Section B") => Some(v3),
            l if l.starts_with("# Section C") => Some(v5.as_str()),
            l if l.starts_with("# Section D") => Some(v8.as_str()),
            _ => None,
        };
        with_headers.push_str(line);
        with_headers.push('\n');
        if let Some(h) = header {
            with_headers.push_str(h);
            with_headers.push('\n');
        }
    }
    let d = decoded(with_headers.as_bytes());
    assert_eq!(d.format, InputFormat::FlowLog);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len(), 11);
    let flows: Vec<_> = d
        .records
        .iter()
        .filter_map(|r| {
            if let Record::Flow(f) = r {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(flows[7].tcp_flags, Some(2));
    assert_eq!(flows[9].flow_direction, Some("ingress"));
    assert_eq!(flows[10].reject_reason, Some("BPA"));
    assert_eq!(flows[10].dstaddr, Some("1.128.0.0".parse().unwrap()));
    eprintln!("vpcflow samples: 11 records (7 v2, 2 v3, 1 v5, 1 v8), 0 errors");

    // Without headers, the v2 lines decode and the three custom-format lines are
    // reported with their line numbers (field count mismatch).
    let d = decoded(text.as_bytes());
    assert_eq!(d.records.len(), 7);
    assert_eq!(d.errors.len(), 4);
    let _ = FlowFormat::default();
}

#[test]
fn dns_samples() {
    let Some(c) = corpus() else { return };
    let bytes = read(&c.join("dns/route53_resolver_samples_elastic.jsonl"));
    let d = decoded(&bytes);
    assert_eq!(d.format, InputFormat::ResolverLines);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len(), 10);
    let blocked = d
        .records
        .iter()
        .filter(
            |r| matches!(r, Record::Dns(r) if r.firewall_rule_action.as_deref() == Some("BLOCK")),
        )
        .count();
    assert_eq!(blocked, 1);
    eprintln!("dns samples: 10 records, 0 errors, 1 firewall BLOCK");
}

/// maltrail and IPsum trails load as they are (TXT); counts per file are printed.
#[test]
fn threat_intel_trails_load() {
    let Some(c) = corpus() else { return };
    let mut intel = ThreatIntel::new();
    let mut files = Vec::new();
    let ti = c.join("threat-intel");
    for sub in [
        "maltrail/static",
        "maltrail/static/malware",
        "maltrail/static/malicious",
        "maltrail/static/suspicious",
        "ipsum/levels",
    ] {
        for e in std::fs::read_dir(ti.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|x| x.to_str()) == Some("txt") {
                files.push((sub.rsplit('/').next().unwrap().to_owned(), p));
            }
        }
    }
    files.sort();
    let (mut loaded, mut errors, mut non_public) = (0, 0, 0);
    for (cat, p) in &files {
        let text = String::from_utf8_lossy(&read(p)).into_owned();
        let name = p.file_stem().unwrap().to_str().unwrap();
        let r = intel.load(&text, ListFormat::Txt, name, cat).unwrap();
        eprintln!(
            "intel {cat}/{name}: loaded {} dup {} non-public {} errors {}{}",
            r.loaded,
            r.duplicates,
            r.non_public,
            r.errors.len(),
            r.errors
                .first()
                .map(|(l, e)| format!(" (first: line {l}: {e})"))
                .unwrap_or_default()
        );
        loaded += r.loaded;
        errors += r.errors.len();
        non_public += r.non_public;
    }
    eprintln!(
        "intel total: {} files, {loaded} loaded, {non_public} non-public, {errors} errors",
        files.len()
    );
    assert_eq!(files.len(), 39);
    assert_eq!(
        non_public, 0,
        "reference §3.7: corpus lists hold 0 non-global IPs"
    );
    assert!(loaded > 190_000, "{loaded}");
    // Upstream junk: `IP:port:port` (3 in cobaltstrike) and ports > 65535 (4 in elf_gafgyt).
    assert_eq!(errors, 7);
    // A mass-scanner CIDR and a DDNS suffix.
    assert!(matches!(
        intel
            .match_ip("5.63.151.9".parse().unwrap())
            .map(|m| m.kind),
        Some(MatchKind::Cidr(24))
    ));
    assert!(intel.match_domain("foo.10dv.com").is_some());
    assert!(intel.match_ip("10.0.0.1".parse().unwrap()).is_none());
}
