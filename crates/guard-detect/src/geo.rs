//! GeoIP for findings: [`GeoLookup`] reads a MaxMind DB city/country database (GeoLite2-City,
//! GeoIP2-City, ...) and/or an ASN database (GeoLite2-ASN) from bytes the caller read, and
//! fills `remoteIpDetails.{country, city, geoLocation, organization}` of findings as
//! GuardDuty's `RemoteIpDetails` shape has them. With an ASN database the per-identity
//! profiles also key source networks by ASN (`AS64496`) instead of `/24`.
//!
//! Lookups happen when findings are read ([`crate::Engine::findings`]), not per record.

use std::net::IpAddr;

use maxminddb::{PathElement, Reader};
use serde_json::{Map, Value, json};

use crate::error::DetectError;

/// City/country and ASN databases.
#[derive(Default)]
pub struct GeoLookup {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for GeoLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoLookup")
            .field(
                "city",
                &self.city.as_ref().map(|r| &r.metadata().database_type),
            )
            .field(
                "asn",
                &self.asn.as_ref().map(|r| &r.metadata().database_type),
            )
            .finish()
    }
}

fn open(what: &str, bytes: Vec<u8>) -> Result<Reader<Vec<u8>>, DetectError> {
    Reader::from_source(bytes).map_err(|e| DetectError::Geo {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn at<T: for<'de> serde::Deserialize<'de>>(
    r: Option<&Reader<Vec<u8>>>,
    ip: IpAddr,
    path: &[PathElement<'_>],
) -> Option<T> {
    let found = r?.lookup(canonical(ip)).ok()?;
    found.decode_path::<T>(path).ok().flatten()
}

impl GeoLookup {
    /// Opens the databases given (either may be absent).
    pub fn from_bytes(city: Option<Vec<u8>>, asn: Option<Vec<u8>>) -> Result<Self, DetectError> {
        Ok(GeoLookup {
            city: city.map(|b| open("geoip_db", b)).transpose()?,
            asn: asn.map(|b| open("asn_db", b)).transpose()?,
        })
    }

    /// Whether any database is loaded.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none()
    }

    /// The autonomous system of `ip` (from the ASN database, else the city database).
    pub fn asn(&self, ip: IpAddr) -> Option<u32> {
        let key = [PathElement::Key("autonomous_system_number")];
        at(self.asn.as_ref(), ip, &key).or_else(|| at(self.city.as_ref(), ip, &key))
    }

    /// `country`, `city`, `geoLocation` and `organization` members for `remoteIpDetails`
    /// (only those known).
    pub fn details(&self, ip: IpAddr) -> Map<String, Value> {
        let mut out = Map::new();
        let city = self.city.as_ref();
        let code: Option<String> = at(
            city,
            ip,
            &[PathElement::Key("country"), PathElement::Key("iso_code")],
        )
        .or_else(|| {
            at(
                city,
                ip,
                &[
                    PathElement::Key("registered_country"),
                    PathElement::Key("iso_code"),
                ],
            )
        });
        let name: Option<String> = at(
            city,
            ip,
            &[
                PathElement::Key("country"),
                PathElement::Key("names"),
                PathElement::Key("en"),
            ],
        );
        if code.is_some() || name.is_some() {
            let mut c = Map::new();
            if let Some(code) = code {
                c.insert("countryCode".into(), json!(code));
            }
            if let Some(name) = name {
                c.insert("countryName".into(), json!(name));
            }
            out.insert("country".into(), Value::Object(c));
        }
        let city_name: Option<String> = at(
            city,
            ip,
            &[
                PathElement::Key("city"),
                PathElement::Key("names"),
                PathElement::Key("en"),
            ],
        );
        if let Some(n) = city_name {
            out.insert("city".into(), json!({ "cityName": n }));
        }
        let lat: Option<f64> = at(
            city,
            ip,
            &[PathElement::Key("location"), PathElement::Key("latitude")],
        );
        let lon: Option<f64> = at(
            city,
            ip,
            &[PathElement::Key("location"), PathElement::Key("longitude")],
        );
        if let (Some(lat), Some(lon)) = (lat, lon) {
            out.insert("geoLocation".into(), json!({ "lat": lat, "lon": lon }));
        }
        let key = [PathElement::Key("autonomous_system_organization")];
        let org: Option<String> = at(self.asn.as_ref(), ip, &key).or_else(|| at(city, ip, &key));
        if let Some(asn) = self.asn(ip) {
            let org = org.unwrap_or_default();
            out.insert(
                "organization".into(),
                json!({ "asn": asn.to_string(), "asnOrg": org, "isp": org, "org": org }),
            );
        }
        out
    }

    /// Adds [`GeoLookup::details`] to every `remoteIpDetails` object inside `action` that has
    /// an address and no `country` yet.
    pub fn enrich(&self, action: &mut Value) {
        match action {
            Value::Object(o) => {
                for (k, v) in o.iter_mut() {
                    if k == "remoteIpDetails"
                        && let Some(d) = v.as_object_mut()
                        && !d.contains_key("country")
                        && let Some(ip) = d
                            .get("ipAddressV4")
                            .or_else(|| d.get("ipAddressV6"))
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse::<IpAddr>().ok())
                    {
                        d.extend(self.details(ip));
                    } else {
                        self.enrich(v);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.enrich(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use portcullis_waf_core::geo::testdb::{Value as DbValue, Writer, asn_record};

    pub(crate) fn city_db() -> Vec<u8> {
        let mut w = Writer::new("GeoLite2-City", 6).unwrap();
        let rec = DbValue::Map(vec![
            (
                "country".into(),
                DbValue::Map(vec![
                    ("iso_code".into(), DbValue::String("FR".into())),
                    (
                        "names".into(),
                        DbValue::Map(vec![("en".into(), DbValue::String("France".into()))]),
                    ),
                ]),
            ),
            (
                "city".into(),
                DbValue::Map(vec![(
                    "names".into(),
                    DbValue::Map(vec![("en".into(), DbValue::String("Paris".into()))]),
                )]),
            ),
            (
                "location".into(),
                DbValue::Map(vec![
                    ("latitude".into(), DbValue::Double(48.85)),
                    ("longitude".into(), DbValue::Double(2.35)),
                ]),
            ),
        ]);
        w.insert("45.33.32.0/24".parse().unwrap(), rec).unwrap();
        w.build().unwrap()
    }

    pub(crate) fn asn_db() -> Vec<u8> {
        let mut w = Writer::new("GeoLite2-ASN", 6).unwrap();
        w.insert(
            "45.33.32.0/24".parse().unwrap(),
            asn_record(63949, "Akamai Connected Cloud"),
        )
        .unwrap();
        w.build().unwrap()
    }

    #[test]
    fn details_from_city_and_asn_databases() {
        let g = GeoLookup::from_bytes(Some(city_db()), Some(asn_db())).unwrap();
        let d = g.details("45.33.32.156".parse().unwrap());
        assert_eq!(
            d["country"],
            json!({"countryCode": "FR", "countryName": "France"})
        );
        assert_eq!(d["city"]["cityName"], "Paris");
        assert_eq!(d["geoLocation"], json!({"lat": 48.85, "lon": 2.35}));
        assert_eq!(d["organization"]["asn"], "63949");
        assert_eq!(d["organization"]["asnOrg"], "Akamai Connected Cloud");
        assert!(g.details("93.184.216.34".parse().unwrap()).is_empty());
        let mut action = json!({"networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": "45.33.32.156"}},
            "portProbeAction": {"portProbeDetails": [{"remoteIpDetails": {"ipAddressV4": "::ffff:45.33.32.1"}}]}});
        g.enrich(&mut action);
        assert_eq!(
            action["networkConnectionAction"]["remoteIpDetails"]["city"]["cityName"],
            "Paris"
        );
        assert_eq!(
            action["portProbeAction"]["portProbeDetails"][0]["remoteIpDetails"]["country"]["countryCode"],
            "FR"
        );
        assert!(GeoLookup::from_bytes(Some(b"not a database".to_vec()), None).is_err());
    }
}
