//! Geolocation for `GeoMatchStatement` and `AsnMatchStatement`: lookups in MaxMind DB files (GeoIP2/GeoLite2).
//!
//! [`GeoDb`] wraps a [`maxminddb::Reader`] over bytes the caller has already read (this crate does no I/O). One
//! type serves the three layouts we use:
//!
//! | method | record path | databases |
//! |---|---|---|
//! | [`GeoDb::country`] | `country.iso_code`, else `registered_country.iso_code` | GeoIP2/GeoLite2 Country and City |
//! | [`GeoDb::region`] | `country.iso_code` + `-` + `subdivisions[0].iso_code` | GeoIP2/GeoLite2 City |
//! | [`GeoDb::asn`] | `autonomous_system_number` | GeoLite2 ASN, GeoIP2 ISP |
//!
//! Falling back to `registered_country` covers networks (anycast, satellite) for which MaxMind knows only who
//! registered the block. `region` gives the ISO 3166-2 code AWS uses in its geo labels
//! (`awswaf:clientip:geo:region:US-CA`): the country code, a hyphen and the first (largest) subdivision's code.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4 peers) are looked up
//! as the IPv4 address. Lookups never fail: an address the database does not cover, a record without the field,
//! a malformed record, or an IPv6 address in an IPv4-only database all give `None`.
//!
//! [`testdb`] is a small MaxMind DB *writer* for tests and tooling.

pub mod testdb;

use std::net::IpAddr;

use maxminddb::{PathElement, Reader};

/// Why a MaxMind DB could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The bytes are not a MaxMind DB the reader accepts (bad metadata, tree or data section).
    #[error("invalid MaxMind DB: {0}")]
    InvalidDatabase(#[from] maxminddb::MaxMindDbError),
    /// [`testdb::Writer::insert`] was given an IPv6 network for an IPv4-only database.
    #[error("cannot insert IPv6 network {0} into an IPv4 database")]
    Ipv6InIpv4Database(String),
    /// [`testdb::Writer`] was asked for an `ip_version` other than 4 or 6.
    #[error("ip_version must be 4 or 6, not {0}")]
    IpVersion(u16),
    /// A value to encode is too large for the format (a string, map or array over 16,843,036 units, or a tree
    /// whose pointers exceed 32 bits).
    #[error("value too large for the MaxMind DB format: {0}")]
    TooLarge(&'static str),
}

/// A loaded MaxMind DB (country, city or ASN layout); cheap to share between threads (`Send + Sync`).
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    /// A separate ASN database (MaxMind ships ASNs apart from countries), asked first by [`GeoDb::asn`].
    asn: Option<Box<GeoDb>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("GeoDb")
            .field("database_type", &m.database_type)
            .field("ip_version", &m.ip_version)
            .field("node_count", &m.node_count)
            .field("build_epoch", &m.build_epoch)
            .finish()
    }
}

impl GeoDb {
    /// Opens a database from its bytes, checking the metadata and the search tree's layout.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let reader = Reader::from_source(bytes)?;
        Ok(GeoDb { reader, asn: None })
    }

    /// Opens a database and also walks its whole tree and data section ([`maxminddb::Reader::verify`]); slower
    /// (seconds for a full City database), for a one-off check when the file is installed.
    pub fn from_bytes_verified(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let db = Self::from_bytes(bytes)?;
        db.reader.verify()?;
        Ok(db)
    }

    /// The database's `database_type` metadata, e.g. `GeoLite2-Country`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The ISO 3166-1 alpha-2 country code (two uppercase ASCII letters) of `ip`, if known.
    pub fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        let code = self
            .string_at(
                ip,
                &[PathElement::Key("country"), PathElement::Key("iso_code")],
            )
            .or_else(|| {
                self.string_at(
                    ip,
                    &[
                        PathElement::Key("registered_country"),
                        PathElement::Key("iso_code"),
                    ],
                )
            })?;
        iso2(&code)
    }

    /// The ISO 3166-2 code of `ip`'s first subdivision, e.g. `US-CA`, if the database has one.
    pub fn region(&self, ip: IpAddr) -> Option<String> {
        let country = self.country(ip)?;
        let sub = self.string_at(
            ip,
            &[
                PathElement::Key("subdivisions"),
                PathElement::Index(0),
                PathElement::Key("iso_code"),
            ],
        )?;
        if sub.is_empty() || sub.len() > 3 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut out = String::with_capacity(3 + sub.len());
        out.extend(country.iter().map(|&b| char::from(b)));
        out.push('-');
        out.push_str(&sub.to_ascii_uppercase());
        Some(out)
    }

    /// Adds a separate ASN database (e.g. `GeoLite2-ASN` beside `GeoLite2-Country`) for [`GeoDb::asn`].
    pub fn with_asn_db(mut self, asn: GeoDb) -> GeoDb {
        self.asn = Some(Box::new(asn));
        self
    }

    /// The autonomous system number that announces `ip`, if known (from the ASN database when one was
    /// added, else from this one).
    pub fn asn(&self, ip: IpAddr) -> Option<u32> {
        if let Some(found) = self.asn.as_ref().and_then(|db| db.asn(ip)) {
            return Some(found);
        }
        let ip = canonical(ip);
        let found = self.reader.lookup(ip).ok()?;
        found
            .decode_path::<u32>(&[PathElement::Key("autonomous_system_number")])
            .ok()
            .flatten()
    }

    fn string_at(&self, ip: IpAddr, path: &[PathElement<'_>]) -> Option<String> {
        let ip = canonical(ip);
        let found = self.reader.lookup(ip).ok()?;
        found.decode_path::<String>(path).ok().flatten()
    }
}

/// Maps IPv4-mapped IPv6 addresses to IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Accepts exactly two ASCII letters and returns them uppercased.
fn iso2(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
