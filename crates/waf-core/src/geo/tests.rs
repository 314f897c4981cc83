//! Round trips: databases written by [`testdb`] and read back by `maxminddb` and [`GeoDb`].

use super::testdb::{Value, Writer, asn_record, city_record, country_record};
use super::*;
use ipnet::IpNet;
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn sample_country_db(ip_version: u16) -> Vec<u8> {
    let mut w = Writer::new("GeoLite2-City", ip_version).unwrap();
    w.insert(net("192.0.2.0/24"), country_record("FR")).unwrap();
    w.insert(net("198.51.100.0/24"), city_record("US", "CA"))
        .unwrap();
    w.insert(net("198.51.100.128/25"), city_record("US", "wa"))
        .unwrap();
    w.insert(net("203.0.113.7/32"), country_record("de"))
        .unwrap();
    if ip_version == 6 {
        w.insert(net("2001:db8::/32"), city_record("JP", "13"))
            .unwrap();
        w.insert(net("2001:db8:ffff::/48"), country_record("XYZ"))
            .unwrap();
    }
    w.build().unwrap()
}

#[test]
fn maxminddb_reads_what_we_write() {
    for version in [4, 6] {
        let bytes = sample_country_db(version);
        let reader = maxminddb::Reader::from_source(bytes.clone()).unwrap();
        reader.verify().unwrap();
        assert_eq!(reader.metadata().ip_version, version);
        assert_eq!(reader.metadata().database_type, "GeoLite2-City");
        assert_eq!(reader.metadata().record_size, 24);
        let rec = reader.lookup(ip("198.51.100.200")).unwrap();
        let city: maxminddb::geoip2::City<'_> = rec.decode().unwrap().unwrap();
        assert_eq!(city.country.iso_code, Some("US"));
        assert_eq!(
            city.subdivisions.first().and_then(|s| s.iso_code),
            Some("wa")
        );
        assert_eq!(rec.network().unwrap().to_string(), "198.51.100.128/25");
        assert!(!reader.lookup(ip("10.0.0.1")).unwrap().has_data());
    }
}

#[test]
fn country_region_and_unknown() {
    for version in [4, 6] {
        let db = GeoDb::from_bytes(sample_country_db(version)).unwrap();
        assert_eq!(db.database_type(), "GeoLite2-City");
        assert_eq!(db.country(ip("192.0.2.1")), Some(*b"FR"));
        assert_eq!(db.country(ip("192.0.2.255")), Some(*b"FR"));
        assert_eq!(db.country(ip("192.0.3.0")), None);
        assert_eq!(db.country(ip("198.51.100.1")), Some(*b"US"));
        assert_eq!(db.region(ip("198.51.100.1")).as_deref(), Some("US-CA"));
        assert_eq!(db.region(ip("198.51.100.129")).as_deref(), Some("US-WA"));
        assert_eq!(
            db.region(ip("192.0.2.1")),
            None,
            "country layout has no subdivisions"
        );
        // Lowercase codes in the data are normalised; other lengths are refused.
        assert_eq!(db.country(ip("203.0.113.7")), Some(*b"DE"));
        assert_eq!(db.country(ip("203.0.113.8")), None);
        assert_eq!(
            db.country(ip("::ffff:192.0.2.9")),
            Some(*b"FR"),
            "IPv4-mapped"
        );
        assert_eq!(db.asn(ip("192.0.2.1")), None, "no ASN in a country record");
        if version == 6 {
            assert_eq!(db.country(ip("2001:db8::1")), Some(*b"JP"));
            assert_eq!(db.region(ip("2001:db8::1")).as_deref(), Some("JP-13"));
            assert_eq!(
                db.country(ip("2001:db8:ffff::1")),
                None,
                "three-letter code refused"
            );
            assert_eq!(db.country(ip("2001:db9::1")), None);
        } else {
            assert_eq!(
                db.country(ip("2001:db8::1")),
                None,
                "IPv6 in an IPv4 database"
            );
        }
    }
}

#[test]
fn asn_layout() {
    let mut w = Writer::new("GeoLite2-ASN", 6).unwrap();
    w.insert(net("8.8.8.0/24"), asn_record(15169, "GOOGLE"))
        .unwrap();
    w.insert(net("2606:4700::/32"), asn_record(13335, "CLOUDFLARENET"))
        .unwrap();
    w.insert(net("1.1.1.0/24"), asn_record(4_294_967_295, "MAX"))
        .unwrap();
    let db = GeoDb::from_bytes(w.build().unwrap()).unwrap();
    assert_eq!(db.asn(ip("8.8.8.8")), Some(15169));
    assert_eq!(db.asn(ip("2606:4700::1111")), Some(13335));
    assert_eq!(db.asn(ip("1.1.1.1")), Some(u32::MAX));
    assert_eq!(db.asn(ip("8.8.4.4")), None);
    assert_eq!(db.country(ip("8.8.8.8")), None);
}

#[test]
fn country_database_with_a_separate_asn_database() {
    let mut w = Writer::new("GeoLite2-ASN", 6).unwrap();
    w.insert(net("192.0.2.0/24"), asn_record(64500, "EXAMPLE"))
        .unwrap();
    let asn = GeoDb::from_bytes(w.build().unwrap()).unwrap();
    let db = GeoDb::from_bytes(sample_country_db(6))
        .unwrap()
        .with_asn_db(asn);
    assert_eq!(db.asn(ip("192.0.2.1")), Some(64500));
    assert_eq!(db.asn(ip("198.51.100.1")), None);
    assert_eq!(
        db.country(ip("192.0.2.1")),
        GeoDb::from_bytes(sample_country_db(6))
            .unwrap()
            .country(ip("192.0.2.1"))
    );
}

#[test]
fn registered_country_fallback() {
    let mut w = Writer::new("GeoIP2-Country", 4).unwrap();
    w.insert(
        net("100.64.0.0/10"),
        Value::map([(
            "registered_country",
            Value::map([("iso_code", Value::str("NL"))]),
        )]),
    )
    .unwrap();
    let db = GeoDb::from_bytes(w.build().unwrap()).unwrap();
    assert_eq!(db.country(ip("100.100.1.1")), Some(*b"NL"));
}

#[test]
fn every_value_type_round_trips() {
    let rec = Value::map([
        ("s", Value::str(&"x".repeat(70_000))),
        ("d", Value::Double(-12.5)),
        ("u16", Value::U16(0)),
        ("u32", Value::U32(300)),
        ("neg", Value::I32(-7)),
        ("pos", Value::I32(7)),
        ("u64", Value::U64(u64::MAX)),
        ("t", Value::Bool(true)),
        ("f", Value::Bool(false)),
        ("a", Value::Array((0..40).map(Value::U32).collect())),
        (
            "m29",
            Value::Map((0..300).map(|i| (format!("k{i}"), Value::U16(i))).collect()),
        ),
    ]);
    let mut w = Writer::new("Custom", 6).unwrap();
    w.insert(net("10.0.0.0/8"), rec).unwrap();
    let reader = maxminddb::Reader::from_source(w.build().unwrap()).unwrap();
    reader.verify().unwrap();
    let r = reader.lookup(ip("10.1.2.3")).unwrap();
    let get = |k: &str| {
        r.decode_path::<serde_json::Value>(&[PathElement::Key(k)])
            .unwrap()
            .unwrap()
    };
    assert_eq!(get("s").as_str().map(str::len), Some(70_000));
    assert_eq!(get("d"), serde_json::json!(-12.5));
    assert_eq!(get("u16"), serde_json::json!(0));
    assert_eq!(get("u32"), serde_json::json!(300));
    assert_eq!(get("neg"), serde_json::json!(-7));
    assert_eq!(get("pos"), serde_json::json!(7));
    assert_eq!(get("u64"), serde_json::json!(u64::MAX));
    assert_eq!(get("t"), serde_json::json!(true));
    assert_eq!(get("f"), serde_json::json!(false));
    assert_eq!(get("a").as_array().map(Vec::len), Some(40));
    assert_eq!(get("m29").get("k299"), Some(&serde_json::json!(299)));
}

#[test]
fn large_data_section_uses_28_bit_records() {
    let mut w = Writer::new("Big", 4).unwrap();
    w.insert(net("10.0.0.0/8"), Value::str(&"a".repeat(16_800_000)))
        .unwrap();
    w.insert(net("11.0.0.0/8"), country_record("SE")).unwrap();
    let bytes = w.build().unwrap();
    let db = GeoDb::from_bytes(bytes).unwrap();
    assert_eq!(db.reader.metadata().record_size, 28);
    assert_eq!(db.country(ip("11.2.3.4")), Some(*b"SE"));
    assert_eq!(db.country(ip("12.2.3.4")), None);
}

#[test]
fn writer_rejects_bad_input() {
    assert!(matches!(Writer::new("x", 5), Err(GeoError::IpVersion(5))));
    let mut w = Writer::new("x", 4).unwrap();
    assert!(matches!(
        w.insert(net("::1/128"), country_record("FR")),
        Err(GeoError::Ipv6InIpv4Database(_))
    ));
    assert!(GeoDb::from_bytes(b"not a database".to_vec()).is_err());
    assert!(GeoDb::from_bytes(Vec::new()).is_err());
}

#[test]
fn whole_space_and_empty_databases() {
    let mut w = Writer::new("All", 4).unwrap();
    w.insert(net("0.0.0.0/0"), country_record("AQ")).unwrap();
    let db = GeoDb::from_bytes(w.build().unwrap()).unwrap();
    assert_eq!(db.country(ip("1.2.3.4")), Some(*b"AQ"));
    let empty = Writer::new("Empty", 6).unwrap().build().unwrap();
    let db = GeoDb::from_bytes_verified(empty).unwrap();
    assert_eq!(db.country(ip("1.2.3.4")), None);
    assert_eq!(db.country(ip("::1")), None);
}

proptest! {
    /// Truncated or corrupted databases give errors or `None`, never panics.
    #[test]
    fn corrupted_databases_do_not_panic(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
        let mut bytes = sample_country_db(6);
        if let Some(b) = bytes.get_mut(flip) {
            *b ^= byte;
        }
        let len = bytes.len();
        bytes.truncate(len.saturating_sub(cut));
        if let Ok(db) = GeoDb::from_bytes(bytes) {
            let _ = db.country(ip("192.0.2.1"));
            let _ = db.region(ip("198.51.100.1"));
            let _ = db.asn(ip("2001:db8::1"));
        }
    }

    /// The latest inserted network containing an address decides its value, as documented.
    #[test]
    fn latest_containing_network_wins(
        nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 1..25),
        probes in proptest::collection::vec(any::<u32>(), 1..30),
    ) {
        let blocks: Vec<ipnet::Ipv4Net> = nets.iter()
            .map(|&(a, p)| ipnet::Ipv4Net::new(a.into(), p).unwrap().trunc())
            .collect();
        for version in [4u16, 6] {
            let mut w = Writer::new("P", version).unwrap();
            for (i, b) in blocks.iter().enumerate() {
                w.insert(IpNet::V4(*b), asn_record(u32::try_from(i).unwrap(), "x")).unwrap();
            }
            let db = GeoDb::from_bytes(w.build().unwrap()).unwrap();
            for &p in probes.iter().chain(blocks.iter().map(|b| u32::from(b.network())).collect::<Vec<_>>().iter()) {
                let a = std::net::Ipv4Addr::from(p);
                let expect = blocks.iter().rposition(|b| b.contains(&a)).map(|i| u32::try_from(i).unwrap());
                prop_assert_eq!(db.asn(IpAddr::V4(a)), expect);
            }
        }
    }
}
