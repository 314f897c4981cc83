use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn txt_list_with_comments_cidrs_and_bogons() {
    let mut t = ThreatIntel::new();
    let r = t
        .load(
            "# header\n54.20.175.217\n5.63.151.0/24 # scanners\n10.0.0.0/8\n192.168.1.1\nnot an entry!\n\n54.20.175.217\n",
            ListFormat::Txt,
            "custom",
            "threat",
        )
        .unwrap();
    assert_eq!(r.loaded, 2);
    assert_eq!(r.non_public, 2);
    assert_eq!(r.duplicates, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, 6);
    assert_eq!(t.match_ip(ip("54.20.175.217")).unwrap().kind, MatchKind::Ip);
    assert_eq!(
        t.match_ip(ip("5.63.151.77")).unwrap().kind,
        MatchKind::Cidr(24)
    );
    assert_eq!(t.match_ip(ip("5.63.152.1")), None);
    assert_eq!(t.match_ip(ip("10.1.2.3")), None);
    assert_eq!(
        t.match_ip(ip("::ffff:54.20.175.217")).unwrap().source.name,
        "custom"
    );
}

#[test]
fn private_never_matches_even_under_a_broad_public_cidr() {
    let mut t = ThreatIntel::new();
    let s = t.add_source("all", "x");
    assert_eq!(t.insert(Indicator::Cidr(ip("8.0.0.0"), 4), s), Ok(true));
    assert!(t.match_ip(ip("9.9.9.9")).is_some());
    assert_eq!(t.insert(Indicator::Cidr(ip("0.0.0.0"), 0), s), Err(()));
    assert!(t.match_ip(ip("10.0.0.1")).is_none());
}

#[test]
fn domain_suffix_matching() {
    let mut t = ThreatIntel::new();
    t.load(
        "evil.com\n*.ddns.net\nEXAMPLE.org.\n",
        ListFormat::Txt,
        "d",
        "x",
    )
    .unwrap();
    let m = t.match_domain("a.b.Evil.com.").unwrap();
    assert_eq!(m.kind, MatchKind::Domain(2));
    assert_eq!(
        t.match_domain("evil.com").unwrap().kind,
        MatchKind::Domain(0)
    );
    assert!(t.match_domain("notevil.com").is_none());
    assert!(t.match_domain("evil.com.au").is_none());
    assert!(t.match_domain("host.ddns.net").is_some());
    assert!(t.match_domain("example.org").is_some());
    assert!(t.match_domain("com").is_none());
}

#[test]
fn ip_port_and_url() {
    let mut t = ThreatIntel::new();
    t.load(
        "45.9.148.3:3333\nevil.com/gate.php\n",
        ListFormat::Txt,
        "m",
        "x",
    )
    .unwrap();
    assert_eq!(
        t.match_ip_port(ip("45.9.148.3"), 3333).unwrap().kind,
        MatchKind::IpPort
    );
    assert!(t.match_ip_port(ip("45.9.148.3"), 80).is_none());
    assert!(t.match_ip(ip("45.9.148.3")).is_none());
    assert!(t.match_url("http://EVIL.com/gate.php").is_some());
    assert!(t.match_url("evil.com/other").is_none());
}

#[test]
fn stix2_json() {
    let doc = r#"{"type":"bundle","objects":[
      {"type":"indicator","pattern":"[ipv4-addr:value = '198.199.1.1'] OR [domain-name:value = 'bad.example.net']"},
      {"type":"indicator","pattern":"[ipv6-addr:value = '2a02:cf40::/32']"},
      {"type":"malware","name":"x"}]}"#;
    let mut t = ThreatIntel::new();
    let r = t.load(doc, ListFormat::Stix, "stix", "x").unwrap();
    assert_eq!(r.loaded, 3, "{r:?}");
    assert!(t.match_ip(ip("198.199.1.1")).is_some());
    assert!(t.match_ip(ip("2a02:cf40::9")).is_some());
    assert!(t.match_domain("x.bad.example.net").is_some());
}

#[test]
fn stix1_xml() {
    let doc = "<stix:STIX_Package>\n<cybox:Object><AddressObj:Address_Value condition=\"Equals\" apply_condition=\"ANY\">91.1.1.1##comma##91.1.1.2</AddressObj:Address_Value></cybox:Object>\n<DomainNameObj:Value>c2.example.io</DomainNameObj:Value></stix:STIX_Package>";
    let mut t = ThreatIntel::new();
    let r = t.load(doc, ListFormat::Stix, "stix1", "x").unwrap();
    assert_eq!(r.loaded, 3, "{r:?}");
    assert!(t.match_ip(ip("91.1.1.2")).is_some());
    assert!(t.match_domain("c2.example.io").is_some());
}

#[test]
fn csv_and_reputation_formats() {
    let mut t = ThreatIntel::new();
    let r = t
        .load(
            "Indicator type,Indicator,Description\nIPv4,91.2.2.2,\"scanner, bad\"\ndomain,bad.example.com,x\n",
            ListFormat::OtxCsv,
            "otx",
            "x",
        )
        .unwrap();
    assert_eq!(r.loaded, 2, "{r:?}");
    let r = t
        .load(
            "91.3.3.3#4#2#Scanning Host#US#City#1.0,2.0#3\n",
            ListFormat::AlienVault,
            "av",
            "x",
        )
        .unwrap();
    assert_eq!(r.loaded, 1);
    let r = t
        .load(
            "ip,category,score\n91.4.4.4,5,127\n",
            ListFormat::ProofPoint,
            "pp",
            "x",
        )
        .unwrap();
    assert_eq!(r.loaded, 1, "{r:?}");
    assert!(t.match_ip(ip("91.4.4.4")).is_some());
    assert!(matches!(
        t.load("x", ListFormat::FireEye, "fe", "x"),
        Err(GuardError::UnsupportedIntelFormat { .. })
    ));
    assert_eq!(
        ListFormat::from_api_name("OTX_CSV"),
        Some(ListFormat::OtxCsv)
    );
}

#[test]
fn loads_250k_entries() {
    let mut text = String::new();
    let mut n = 0u32;
    let mut i = 0u32;
    while n < 250_000 {
        let a = Ipv4Addr::from(
            0x0B00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761) % 0x1000_0000),
        );
        i += 1;
        if !is_public_v4(a) {
            continue;
        }
        match n % 5 {
            0 => text.push_str(&format!("{a}/24\n")),
            1 => text.push_str(&format!("d{n}.example-{}.com\n", n % 97)),
            _ => text.push_str(&format!("{a}\n")),
        }
        n += 1;
    }
    let mut t = ThreatIntel::new();
    let r = t.load(&text, ListFormat::Txt, "big", "x").unwrap();
    assert!(r.errors.is_empty());
    assert_eq!(r.loaded + r.duplicates, 250_000);
    assert!(r.loaded > 240_000, "{r:?}");
    for line in text.lines().step_by(997) {
        let hit = if let Some((net, _)) = line.split_once('/') {
            let a: Ipv4Addr = net.parse().unwrap();
            t.match_ip(IpAddr::V4(Ipv4Addr::from(u32::from(a) | 0x7f)))
                .is_some()
        } else if let Ok(a) = line.parse::<IpAddr>() {
            t.match_ip(a).is_some()
        } else {
            t.match_domain(&format!("www.{line}")).is_some()
        };
        assert!(hit, "{line}");
    }
    assert!(t.match_domain("example-1.com").is_none());
}

use std::net::Ipv4Addr;
