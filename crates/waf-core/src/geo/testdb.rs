//! A small MaxMind DB writer, **for tests and tooling**: build a GeoIP2-shaped database from a few networks and
//! hand the bytes to [`GeoDb::from_bytes`](super::GeoDb::from_bytes) or any MaxMind DB reader.
//!
//! It implements the MaxMind DB format version 2.0: a binary search tree (24-, 28- or 32-bit records, the smallest
//! that fits), a 16-byte zero separator, the data section, the `\xAB\xCD\xEFMaxMind.com` marker and the metadata
//! map. Identical records are stored once. For `ip_version: 6` databases IPv4 networks are placed at `::/96`
//! (`a.b.c.d/n` becomes `::a.b.c.d/(96+n)`), where readers look for them; the `::ffff:0:0/96` and `2002::/16`
//! aliases that MaxMind's own writer adds are not written (a reader that is handed `::ffff:a.b.c.d` finds
//! nothing; [`GeoDb`](super::GeoDb) converts such addresses to IPv4 first).
//!
//! Inserting a network replaces everything inserted earlier inside it; insert broad networks before narrow ones.
//!
//! ```
//! use portcullis_waf_core::geo::{GeoDb, testdb::{Writer, country_record}};
//! let mut w = Writer::new("Test-Country", 6).unwrap();
//! w.insert("192.0.2.0/24".parse().unwrap(), country_record("FR")).unwrap();
//! let db = GeoDb::from_bytes(w.build().unwrap()).unwrap();
//! assert_eq!(db.country("192.0.2.7".parse().unwrap()), Some(*b"FR"));
//! ```

use std::collections::HashMap;

use ipnet::IpNet;

use super::GeoError;

/// A value in the data section. Only the types GeoIP2 layouts use are offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-8 string (type 2).
    String(String),
    /// IEEE 754 double (type 3), e.g. `location.latitude`.
    Double(f64),
    /// Unsigned 16-bit integer (type 5).
    U16(u16),
    /// Unsigned 32-bit integer (type 6), e.g. `geoname_id`, `autonomous_system_number`.
    U32(u32),
    /// Map with string keys (type 7), in the given order.
    Map(Vec<(String, Value)>),
    /// Signed 32-bit integer (type 8).
    I32(i32),
    /// Unsigned 64-bit integer (type 9).
    U64(u64),
    /// Array (type 11).
    Array(Vec<Value>),
    /// Boolean (type 14), e.g. `traits.is_anycast`.
    Bool(bool),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

/// A GeoIP2-Country-shaped record: `{"country": {"iso_code": CC, "names": {"en": CC}}}`.
pub fn country_record(iso_code: &str) -> Value {
    Value::map([("country", country_map(iso_code))])
}

/// A GeoIP2-City-shaped record with one subdivision: `{"country": {...}, "subdivisions": [{"iso_code": SUB}]}`.
pub fn city_record(country_iso: &str, subdivision_iso: &str) -> Value {
    Value::map([
        ("country", country_map(country_iso)),
        (
            "subdivisions",
            Value::Array(vec![Value::map([(
                "iso_code",
                Value::str(subdivision_iso),
            )])]),
        ),
    ])
}

/// A GeoLite2-ASN-shaped record: `{"autonomous_system_number": N, "autonomous_system_organization": ORG}`.
pub fn asn_record(asn: u32, organization: &str) -> Value {
    Value::map([
        ("autonomous_system_number", Value::U32(asn)),
        ("autonomous_system_organization", Value::str(organization)),
    ])
}

fn country_map(iso_code: &str) -> Value {
    Value::map([
        ("iso_code", Value::str(iso_code)),
        ("names", Value::map([("en", Value::str(iso_code))])),
    ])
}

/// A search-tree record while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds a MaxMind DB in memory.
#[derive(Debug, Clone)]
pub struct Writer {
    database_type: String,
    ip_version: u16,
    build_epoch: u64,
    /// Arena of nodes; index 0 is the root. Replaced subtrees stay in the arena but are unreachable.
    nodes: Vec<[Rec; 2]>,
    values: Vec<Value>,
}

impl Writer {
    /// A new, empty database of type `database_type` (e.g. `GeoLite2-Country`) for `ip_version` 4 or 6.
    pub fn new(database_type: &str, ip_version: u16) -> Result<Writer, GeoError> {
        if ip_version != 4 && ip_version != 6 {
            return Err(GeoError::IpVersion(ip_version));
        }
        Ok(Writer {
            database_type: database_type.to_owned(),
            ip_version,
            build_epoch: 1_700_000_000,
            nodes: vec![[Rec::Empty; 2]],
            values: Vec::new(),
        })
    }

    /// Sets the `build_epoch` metadata (seconds since the Unix epoch; default 1,700,000,000).
    pub fn build_epoch(mut self, epoch: u64) -> Writer {
        self.build_epoch = epoch;
        self
    }

    /// Maps every address of `net` to `value`, replacing what earlier insertions put inside `net`.
    pub fn insert(&mut self, net: IpNet, value: Value) -> Result<(), GeoError> {
        let net = net.trunc();
        let (key, prefix, depth) = match (net, self.ip_version) {
            (IpNet::V4(n), 4) => (
                u128::from(u32::from(n.network())),
                u32::from(n.prefix_len()),
                32,
            ),
            (IpNet::V4(n), _) => (
                u128::from(u32::from(n.network())),
                96 + u32::from(n.prefix_len()),
                128,
            ),
            (IpNet::V6(_), 4) => return Err(GeoError::Ipv6InIpv4Database(net.to_string())),
            (IpNet::V6(n), _) => (u128::from(n.network()), u32::from(n.prefix_len()), 128),
        };
        let data = self.values.len();
        self.values.push(value);
        if prefix == 0 {
            self.nodes = vec![[Rec::Data(data); 2]];
            return Ok(());
        }
        let mut node = 0usize;
        for i in 0..prefix {
            let bit = usize::from((key >> (depth - 1 - i)) & 1 == 1);
            let current = self.rec(node, bit);
            if i + 1 == prefix {
                self.set_rec(node, bit, Rec::Data(data));
                break;
            }
            node = match current {
                Rec::Node(n) => n,
                Rec::Empty | Rec::Data(_) => {
                    // A data leaf being split keeps its value on both sides.
                    let child = self.nodes.len();
                    self.nodes.push([current; 2]);
                    self.set_rec(node, bit, Rec::Node(child));
                    child
                }
            };
        }
        Ok(())
    }

    fn rec(&self, node: usize, bit: usize) -> Rec {
        self.nodes
            .get(node)
            .and_then(|n| n.get(bit))
            .copied()
            .unwrap_or(Rec::Empty)
    }

    fn set_rec(&mut self, node: usize, bit: usize, rec: Rec) {
        if let Some(slot) = self.nodes.get_mut(node).and_then(|n| n.get_mut(bit)) {
            *slot = rec;
        }
    }

    /// Serialises the database.
    pub fn build(&self) -> Result<Vec<u8>, GeoError> {
        // Number the reachable nodes breadth-first from the root (which must be node 0).
        let mut number: HashMap<usize, u32> = HashMap::new();
        let mut order: Vec<usize> = vec![0];
        number.insert(0, 0);
        let mut i = 0;
        while let Some(&n) = order.get(i) {
            i += 1;
            for bit in 0..2 {
                if let Rec::Node(child) = self.rec(n, bit)
                    && !number.contains_key(&child)
                {
                    let id = u32::try_from(order.len()).map_err(|_| GeoError::TooLarge("tree"))?;
                    number.insert(child, id);
                    order.push(child);
                }
            }
        }
        let node_count = u64::try_from(order.len()).map_err(|_| GeoError::TooLarge("tree"))?;

        // Encode the data section, storing identical records once.
        let mut data = Vec::new();
        let mut offsets: Vec<Option<u64>> = vec![None; self.values.len()];
        let mut seen: HashMap<Vec<u8>, u64> = HashMap::new();
        for &n in &order {
            for bit in 0..2 {
                if let Rec::Data(d) = self.rec(n, bit)
                    && offsets.get(d).copied().flatten().is_none()
                {
                    let value = self.values.get(d).ok_or(GeoError::TooLarge("tree"))?;
                    let mut bytes = Vec::new();
                    encode(value, &mut bytes)?;
                    let off = match seen.get(&bytes) {
                        Some(&off) => off,
                        None => {
                            let off = data.len() as u64;
                            data.extend_from_slice(&bytes);
                            seen.insert(bytes, off);
                            off
                        }
                    };
                    if let Some(slot) = offsets.get_mut(d) {
                        *slot = Some(off);
                    }
                }
            }
        }

        let resolve = |rec: Rec| -> u64 {
            match rec {
                Rec::Empty => node_count,
                Rec::Node(n) => number.get(&n).map_or(node_count, |&id| u64::from(id)),
                Rec::Data(d) => node_count + 16 + offsets.get(d).copied().flatten().unwrap_or(0),
            }
        };
        let max = node_count + 16 + data.len() as u64;
        let record_size: u16 = if max < 1 << 24 {
            24
        } else if max < 1 << 28 {
            28
        } else if max < 1 << 32 {
            32
        } else {
            return Err(GeoError::TooLarge("tree"));
        };

        let mut out = Vec::with_capacity(order.len() * 8 + 16 + data.len() + 256);
        for &n in &order {
            let (l, r) = (resolve(self.rec(n, 0)), resolve(self.rec(n, 1)));
            write_node(&mut out, record_size, l, r);
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let node_count = u32::try_from(node_count).map_err(|_| GeoError::TooLarge("tree"))?;
        let metadata = Value::map([
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(self.build_epoch)),
            ("database_type", Value::str(&self.database_type)),
            (
                "description",
                Value::map([("en", Value::str("Portcullis test database"))]),
            ),
            ("ip_version", Value::U16(self.ip_version)),
            ("languages", Value::Array(vec![Value::str("en")])),
            ("node_count", Value::U32(node_count)),
            ("record_size", Value::U16(record_size)),
        ]);
        encode(&metadata, &mut out)?;
        Ok(out)
    }
}

/// Writes one node's two records in the layout of `record_size` (values already checked to fit).
fn write_node(out: &mut Vec<u8>, record_size: u16, left: u64, right: u64) {
    let be = |v: u64| v.to_be_bytes();
    match record_size {
        24 => {
            out.extend_from_slice(be(left).get(5..).unwrap_or_default());
            out.extend_from_slice(be(right).get(5..).unwrap_or_default());
        }
        28 => {
            out.extend_from_slice(be(left & 0xFF_FFFF).get(5..).unwrap_or_default());
            // The middle byte carries bits 27..24 of the left record (high nibble) and of the right (low).
            let middle = (((left >> 24) & 0x0F) << 4) | ((right >> 24) & 0x0F);
            out.push(middle as u8);
            out.extend_from_slice(be(right & 0xFF_FFFF).get(5..).unwrap_or_default());
        }
        _ => {
            out.extend_from_slice(be(left).get(4..).unwrap_or_default());
            out.extend_from_slice(be(right).get(4..).unwrap_or_default());
        }
    }
}

/// Type numbers of the data section encoding.
mod ty {
    pub const STRING: u8 = 2;
    pub const DOUBLE: u8 = 3;
    pub const U16: u8 = 5;
    pub const U32: u8 = 6;
    pub const MAP: u8 = 7;
    pub const I32: u8 = 8;
    pub const U64: u8 = 9;
    pub const ARRAY: u8 = 11;
    pub const BOOL: u8 = 14;
}

/// Writes a control byte (plus extended-type byte and size bytes) for a value of `ty` and `size`.
fn control(out: &mut Vec<u8>, ty: u8, size: usize) -> Result<(), GeoError> {
    let (bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        let s = (size - 285) as u16;
        (30, s.to_be_bytes().to_vec())
    } else if size < 65_821 + (1 << 24) {
        let s = ((size - 65_821) as u32).to_be_bytes();
        (31, s.get(1..).unwrap_or_default().to_vec())
    } else {
        return Err(GeoError::TooLarge("value"));
    };
    if ty <= 7 {
        out.push((ty << 5) | bits);
    } else {
        out.push(bits);
        out.push(ty - 7);
    }
    out.extend_from_slice(&extra);
    Ok(())
}

/// Big-endian bytes of `v` without leading zeros (zero is encoded with no bytes).
fn minimal_be(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.get(skip..).unwrap_or_default().to_vec()
}

fn encode_uint(out: &mut Vec<u8>, ty: u8, v: u64) -> Result<(), GeoError> {
    let bytes = minimal_be(v);
    control(out, ty, bytes.len())?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Appends the encoding of `value` to `out`.
fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), GeoError> {
    match value {
        Value::String(s) => {
            control(out, ty::STRING, s.len())?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(d) => {
            control(out, ty::DOUBLE, 8)?;
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::U16(v) => encode_uint(out, ty::U16, u64::from(*v))?,
        Value::U32(v) => encode_uint(out, ty::U32, u64::from(*v))?,
        Value::U64(v) => encode_uint(out, ty::U64, *v)?,
        Value::I32(v) => {
            // Negative numbers need all four bytes (two's complement); others may drop leading zeros.
            let bytes = if *v < 0 {
                v.to_be_bytes().to_vec()
            } else {
                minimal_be(u64::from(v.unsigned_abs()))
            };
            control(out, ty::I32, bytes.len())?;
            out.extend_from_slice(&bytes);
        }
        Value::Map(pairs) => {
            control(out, ty::MAP, pairs.len())?;
            for (k, v) in pairs {
                control(out, ty::STRING, k.len())?;
                out.extend_from_slice(k.as_bytes());
                encode(v, out)?;
            }
        }
        Value::Array(items) => {
            control(out, ty::ARRAY, items.len())?;
            for v in items {
                encode(v, out)?;
            }
        }
        Value::Bool(b) => control(out, ty::BOOL, usize::from(*b))?,
    }
    Ok(())
}
