//! AWS WAF IP sets: a list of CIDR blocks, compiled into sorted, merged address ranges for `O(log n)` lookups.
//!
//! # What AWS accepts
//!
//! `IPSet.Addresses` holds CIDR strings (1–50 characters). AWS accepts every IPv4 and IPv6 prefix length except
//! `/0` ("WAF supports all IPv4 and IPv6 CIDR ranges except for /0", API reference `IPSet`), and it **rejects**:
//!
//! - a bare address without a prefix length (`203.0.113.10`), and `""`;
//! - a block whose host bits are set, e.g. `195.178.188.66/29` is refused with `WAFInvalidParameterException`
//!   (`field: IP_ADDRESS`) while `195.178.188.64/29` is accepted (reported in aws/aws-cdk#20003);
//! - `/0` (`0.0.0.0/0`, `::/0`), also refused with `field: IP_ADDRESS`;
//! - an address whose family differs from the set's `IPAddressVersion` (see [`IpSet::from_addresses_for`]).
//!
//! [`IpSet::from_addresses`] enforces the same rules, so a set that compiles here would be accepted by AWS.
//!
//! # IPv4-mapped IPv6 addresses
//!
//! A dual-stack listener reports IPv4 clients as `::ffff:a.b.c.d`. [`IpSet::contains`] treats such an address as
//! the IPv4 address `a.b.c.d` (so it matches IPv4 entries) and *also* as the IPv6 address it literally is (so an
//! IPv6 set that lists `::ffff:0:0/96` still matches). No other embedding (6to4, NAT64, IPv4-compatible `::a.b.c.d`)
//! is translated.
//!
//! # Representation
//!
//! Entries are converted to inclusive `[first, last]` integer ranges, sorted and merged (overlapping and adjacent
//! blocks become one range). A lookup is one binary search; a set of 10,000 blocks costs at most 14 comparisons.
//! Membership does not depend on which of several overlapping blocks matched, so "longest prefix" and "any prefix"
//! give the same answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The most characters an `IPAddress` string may have (the AWS model's `max`).
pub const MAX_ADDRESS_LEN: usize = 50;

/// Why an IP set address list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpSetError {
    /// The entry at `index` is empty, blank or longer than [`MAX_ADDRESS_LEN`] characters.
    #[error(
        "address #{index} has an invalid length (1-{MAX_ADDRESS_LEN} non-blank characters are required)"
    )]
    Length {
        /// Position of the entry in the list.
        index: usize,
    },
    /// The entry is not `address/prefix` CIDR notation (a bare address is also refused, as AWS does).
    #[error("address #{index} ({value:?}) is not in CIDR notation")]
    NotCidr {
        /// Position of the entry in the list.
        index: usize,
        /// The offending entry.
        value: String,
    },
    /// The entry is `/0`, which AWS does not accept.
    #[error("address #{index} ({value:?}) has prefix length /0, which AWS WAF does not support")]
    ZeroPrefix {
        /// Position of the entry in the list.
        index: usize,
        /// The offending entry.
        value: String,
    },
    /// Bits beyond the prefix length are set (e.g. `10.0.0.1/24`); AWS refuses such blocks.
    #[error("address #{index} ({value:?}) has host bits set; the network address is {network}")]
    HostBitsSet {
        /// Position of the entry in the list.
        index: usize,
        /// The offending entry.
        value: String,
        /// The block the entry was probably meant to be.
        network: String,
    },
    /// The entry's family differs from the set's `IPAddressVersion`.
    #[error("address #{index} ({value:?}) is not an {expected:?} block")]
    WrongVersion {
        /// Position of the entry in the list.
        index: usize,
        /// The offending entry.
        value: String,
        /// The version the set declares.
        expected: IpAddressVersion,
    },
}

/// The `IPAddressVersion` of an AWS IP set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpAddressVersion {
    /// `IPV4`.
    Ipv4,
    /// `IPV6`.
    Ipv6,
}

/// A compiled IP set: membership tests for IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    /// Disjoint, non-adjacent inclusive ranges sorted by start.
    v4: Vec<(u32, u32)>,
    /// Disjoint, non-adjacent inclusive ranges sorted by start.
    v6: Vec<(u128, u128)>,
    /// How many CIDR entries the set was built from.
    entries: usize,
}

impl IpSet {
    /// Compiles a list of CIDR strings of either family, validating each as AWS does (see the module docs).
    ///
    /// Every entry is checked; the first invalid one is reported.
    pub fn from_addresses(addrs: &[String]) -> Result<IpSet, IpSetError> {
        Self::build(addrs, None)
    }

    /// Like [`IpSet::from_addresses`], and additionally requires every entry to be of family `version`, as
    /// `CreateIPSet`/`UpdateIPSet` do.
    pub fn from_addresses_for(
        version: IpAddressVersion,
        addrs: &[String],
    ) -> Result<IpSet, IpSetError> {
        Self::build(addrs, Some(version))
    }

    fn build(addrs: &[String], version: Option<IpAddressVersion>) -> Result<IpSet, IpSetError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (index, value) in addrs.iter().enumerate() {
            match parse_entry(index, value)? {
                IpNet::V4(net) => {
                    if version == Some(IpAddressVersion::Ipv6) {
                        return Err(wrong_version(index, value, IpAddressVersion::Ipv6));
                    }
                    v4.push((u32::from(net.network()), u32::from(net.broadcast())));
                }
                IpNet::V6(net) => {
                    if version == Some(IpAddressVersion::Ipv4) {
                        return Err(wrong_version(index, value, IpAddressVersion::Ipv4));
                    }
                    v6.push((u128::from(net.network()), u128::from(net.broadcast())));
                }
            }
        }
        Ok(IpSet {
            v4: merge(v4),
            v6: merge(v6),
            entries: addrs.len(),
        })
    }

    /// True when `ip` lies in one of the set's blocks. IPv4-mapped IPv6 addresses also match IPv4 blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => {
                v6.to_ipv4_mapped().is_some_and(|v4| self.contains_v4(v4)) || self.contains_v6(v6)
            }
        }
    }

    fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        in_ranges(&self.v4, u32::from(ip))
    }

    fn contains_v6(&self, ip: Ipv6Addr) -> bool {
        in_ranges(&self.v6, u128::from(ip))
    }

    /// How many CIDR entries the set was built from (before merging).
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the set was built from an empty list (it then matches nothing).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// How many disjoint ranges remain after merging (IPv4 + IPv6), a measure of lookup cost.
    pub fn range_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

fn wrong_version(index: usize, value: &str, expected: IpAddressVersion) -> IpSetError {
    IpSetError::WrongVersion {
        index,
        value: value.to_owned(),
        expected,
    }
}

/// Parses one `Addresses` entry with AWS's rules.
fn parse_entry(index: usize, value: &str) -> Result<IpNet, IpSetError> {
    if value.is_empty() || value.len() > MAX_ADDRESS_LEN || value.trim().is_empty() {
        return Err(IpSetError::Length { index });
    }
    let not_cidr = || IpSetError::NotCidr {
        index,
        value: value.to_owned(),
    };
    let (addr, prefix) = value.split_once('/').ok_or_else(not_cidr)?;
    // `IpNet`'s parser accepts the forms we want; reject leading '+' or whitespace in the prefix explicitly.
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return Err(not_cidr());
    }
    let prefix: u8 = prefix.parse().map_err(|_| not_cidr())?;
    let addr: IpAddr = addr.parse().map_err(|_| not_cidr())?;
    let net = match addr {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, prefix).map_err(|_| not_cidr())?),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, prefix).map_err(|_| not_cidr())?),
    };
    if prefix == 0 {
        return Err(IpSetError::ZeroPrefix {
            index,
            value: value.to_owned(),
        });
    }
    if net.addr() != net.network() {
        return Err(IpSetError::HostBitsSet {
            index,
            value: value.to_owned(),
            network: net.trunc().to_string(),
        });
    }
    Ok(net)
}

/// Sorts inclusive ranges and merges overlapping or adjacent ones.
fn merge<T: Copy + Ord + Step>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if last.1.next().is_none_or(|n| start <= n) => {
                if end > last.1 {
                    last.1 = end;
                }
            }
            _ => out.push((start, end)),
        }
    }
    out.shrink_to_fit();
    out
}

/// Binary search for the range that could hold `x`: the last range starting at or before it.
fn in_ranges<T: Copy + Ord>(ranges: &[(T, T)], x: T) -> bool {
    let idx = ranges.partition_point(|&(start, _)| start <= x);
    idx.checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|&(_, end)| x <= end)
}

/// The successor of an integer, `None` at the maximum.
trait Step: Sized {
    fn next(self) -> Option<Self>;
}

impl Step for u32 {
    fn next(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl Step for u128 {
    fn next(self) -> Option<Self> {
        self.checked_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(addrs: &[&str]) -> IpSet {
        let v: Vec<String> = addrs.iter().map(|s| (*s).to_owned()).collect();
        IpSet::from_addresses(&v).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn aws_examples_match() {
        let s = set(&[
            "192.0.2.44/32",
            "192.0.2.0/24",
            "192.0.0.0/16",
            "1111:0000:0000:0000:0000:0000:0000:0111/128",
            "1111:0000:0000:0000:0000:0000:0000:0000/64",
        ]);
        assert!(s.contains(ip("192.0.2.44")));
        assert!(s.contains(ip("192.0.200.1")));
        assert!(!s.contains(ip("192.1.0.0")));
        assert!(!s.contains(ip("191.255.255.255")));
        assert!(s.contains(ip("1111::111")));
        assert!(s.contains(ip("1111::ffff:ffff:ffff:ffff")));
        assert!(!s.contains(ip("1111:0:0:1::")));
        assert_eq!(s.len(), 5);
        assert_eq!(s.range_count(), 2);
    }

    #[test]
    fn rejects_what_aws_rejects() {
        let err = |a: &str| IpSet::from_addresses(&[a.to_owned()]).unwrap_err();
        assert_eq!(err(""), IpSetError::Length { index: 0 });
        assert_eq!(err("   "), IpSetError::Length { index: 0 });
        assert!(matches!(err("203.0.113.10"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("203.0.113.0/33"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("2001:db8::/129"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("203.0.113.0/+8"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("203.0.113.0/ 8"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("example.com/32"), IpSetError::NotCidr { .. }));
        assert!(matches!(err("0.0.0.0/0"), IpSetError::ZeroPrefix { .. }));
        assert!(matches!(err("::/0"), IpSetError::ZeroPrefix { .. }));
        match err("195.178.188.66/29") {
            IpSetError::HostBitsSet { network, .. } => assert_eq!(network, "195.178.188.64/29"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            err("2001:db8::1/64"),
            IpSetError::HostBitsSet { .. }
        ));
        // The accepted counterpart of the rejected block.
        assert!(set(&["195.178.188.64/29"]).contains(ip("195.178.188.66")));
        // Extreme but valid prefixes.
        assert!(set(&["128.0.0.0/1"]).contains(ip("255.255.255.255")));
        assert!(!set(&["128.0.0.0/1"]).contains(ip("127.255.255.255")));
        assert!(set(&["8000::/1"]).contains(ip("ffff::1")));
    }

    #[test]
    fn reports_the_failing_index_and_version() {
        let v = vec!["10.0.0.0/8".to_owned(), "2001:db8::/32".to_owned()];
        assert!(IpSet::from_addresses(&v).is_ok());
        let e = IpSet::from_addresses_for(IpAddressVersion::Ipv4, &v).unwrap_err();
        assert!(matches!(e, IpSetError::WrongVersion { index: 1, .. }));
        let e = IpSet::from_addresses_for(IpAddressVersion::Ipv6, &v).unwrap_err();
        assert!(matches!(e, IpSetError::WrongVersion { index: 0, .. }));
    }

    #[test]
    fn empty_set_matches_nothing() {
        let s = IpSet::from_addresses(&[]).unwrap();
        assert!(s.is_empty());
        assert!(!s.contains(ip("1.2.3.4")));
        assert!(!s.contains(ip("::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_blocks() {
        let s = set(&["198.51.100.0/24"]);
        assert!(s.contains(ip("::ffff:198.51.100.7")));
        assert!(!s.contains(ip("::ffff:198.51.101.7")));
        // IPv4-compatible (deprecated) form is not translated.
        assert!(!s.contains(ip("::198.51.100.7")));
        // An IPv6 set covering the mapped range still matches literally.
        let s6 = set(&["::ffff:0:0/96"]);
        assert!(s6.contains(ip("::ffff:1.2.3.4")));
        assert!(!s6.contains(ip("1.2.3.4")));
    }

    #[test]
    fn merges_adjacent_and_nested_blocks_at_the_edges() {
        let s = set(&[
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.64/26",
            "255.255.255.255/32",
        ]);
        assert_eq!(s.range_count(), 2);
        assert!(s.contains(ip("10.0.0.0")));
        assert!(s.contains(ip("10.0.0.255")));
        assert!(!s.contains(ip("10.0.1.0")));
        assert!(s.contains(ip("255.255.255.255")));
        let s = set(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::1/128"]);
        assert!(s.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(s.contains(ip("::1")));
        assert!(!s.contains(ip("::2")));
    }

    #[test]
    fn ten_thousand_entries_hundred_thousand_lookups() {
        // 10,000 disjoint /28 blocks spread over 10.0.0.0/8 (every other /27), then 100k lookups.
        let addrs: Vec<String> = (0..10_000u32)
            .map(|i| format!("{}/28", Ipv4Addr::from(0x0a00_0000 + i * 64)))
            .collect();
        let s = IpSet::from_addresses(&addrs).unwrap();
        assert_eq!(s.range_count(), 10_000);
        let mut hits = 0;
        for i in 0..100_000u32 {
            let a = 0x0a00_0000 + (i * 7) % (10_000 * 64);
            let expect = a % 64 < 16;
            let got = s.contains(IpAddr::V4(Ipv4Addr::from(a)));
            assert_eq!(got, expect, "{}", Ipv4Addr::from(a));
            hits += usize::from(got);
        }
        assert!(hits > 20_000);
    }

    proptest! {
        /// The merged-range lookup agrees with a linear scan over the parsed blocks.
        #[test]
        fn agrees_with_linear_scan(
            nets in proptest::collection::vec((any::<u32>(), 1u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let blocks: Vec<Ipv4Net> = nets.iter()
                .map(|&(a, p)| Ipv4Net::new(Ipv4Addr::from(a), p).unwrap().trunc())
                .collect();
            let addrs: Vec<String> = blocks.iter().map(ToString::to_string).collect();
            let s = IpSet::from_addresses(&addrs).unwrap();
            for p in probes.iter().copied().chain(blocks.iter().flat_map(|b| {
                [u32::from(b.network()), u32::from(b.broadcast()), u32::from(b.broadcast()).wrapping_add(1)]
            })) {
                let a = Ipv4Addr::from(p);
                prop_assert_eq!(s.contains(IpAddr::V4(a)), blocks.iter().any(|b| b.contains(&a)));
            }
        }

        /// Arbitrary strings never panic the parser.
        #[test]
        fn parser_never_panics(s in ".{0,60}") {
            let _ = IpSet::from_addresses(&[s]);
        }
    }
}
