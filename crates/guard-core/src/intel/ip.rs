//! Public-routability of addresses and the CIDR prefix tables.
//!
//! GuardDuty applies trusted IP lists and threat lists "only to publicly routable IPs"
//! (reference guard.md §3.7 [doc]; docs/guardduty_upload-lists.md): private, loopback,
//! link-local, CGNAT, multicast, documentation and other special-purpose ranges never
//! match, whatever a list says (some public blocklists carry bogons such as 10.0.0.0/8).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Non-public IPv4 ranges as (network, prefix length) (IANA special-purpose registry);
/// [`is_public_v4`] decides by the first octet, tested against this table.
#[cfg(test)]
const V4_SPECIAL: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 CGNAT
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link-local
    (0xAC10_0000, 12), // 172.16.0.0/12 private
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast (deprecated)
    (0xC0A8_0000, 16), // 192.168.0.0/16 private
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
    (0xE000_0000, 4),  // 224.0.0.0/4 multicast
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved, incl. broadcast
];

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// Whether an IPv4 address is publicly routable: outside every IANA special-purpose range
/// (0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
/// 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4). Decided
/// by the first octet (called for both ends of every flow).
#[inline]
pub fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    match a {
        0 | 10 | 127 | 224..=255 => false,
        100 => !(64..=127).contains(&b),
        169 => b != 254,
        172 => !(16..=31).contains(&b),
        192 => !(b == 168 || (b == 0 && (c == 0 || c == 2)) || (b == 88 && c == 99)),
        198 => !(b == 18 || b == 19 || (b == 51 && c == 100)),
        203 => !(b == 0 && c == 113),
        _ => true,
    }
}

/// Whether an IPv6 address is publicly routable: inside 2000::/3 global unicast and
/// outside its documentation (2001:db8::/32), IETF protocol (2001::/23), 6to4 relay and
/// ORCHID ranges; IPv4-mapped addresses are judged as IPv4.
pub fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let a = u128::from(ip);
    let within = |net: u128, len: u8| a & mask6(len) == net;
    within(0x2000u128 << 112, 3)
        && !within(0x2001_0db8u128 << 96, 32)
        && !within(0x2001u128 << 112, 23)
        && !within(0x3fffu128 << 112, 20) // 3fff::/20 documentation (RFC 9637)
}

/// Whether an address is publicly routable (GuardDuty list semantics).
#[inline]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Exact addresses and CIDRs of one family, keyed by masked network per prefix length.
/// A lookup costs one hash probe per distinct prefix length present (≤ 33 / 129).
#[derive(Debug, Default, Clone)]
pub(crate) struct PrefixTable<K> {
    /// (prefix length, networks) with the longest prefix first.
    by_len: Vec<(u8, super::FastMap<K, u32>)>,
}

pub(crate) trait Bits: Copy + Eq + std::hash::Hash {
    const WIDTH: u8;
    fn masked(self, len: u8) -> Self;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    fn masked(self, len: u8) -> Self {
        self & mask4(len)
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    fn masked(self, len: u8) -> Self {
        self & mask6(len)
    }
}

impl<K: Bits> PrefixTable<K> {
    /// Inserts `net/len` for `source`; the first source inserted for a network wins.
    pub(crate) fn insert(&mut self, net: K, len: u8, source: u32) {
        let len = len.min(K::WIDTH);
        let pos = match self.by_len.binary_search_by(|(l, _)| len.cmp(l)) {
            Ok(p) => p,
            Err(p) => {
                self.by_len.insert(p, (len, super::FastMap::default()));
                p
            }
        };
        if let Some((_, map)) = self.by_len.get_mut(pos) {
            map.entry(net.masked(len)).or_insert(source);
        }
    }

    /// The source of the longest prefix containing `addr`.
    pub(crate) fn lookup(&self, addr: K) -> Option<(u8, u32)> {
        self.by_len
            .iter()
            .find_map(|(len, map)| map.get(&addr.masked(*len)).map(|s| (*len, *s)))
    }

    /// Number of networks stored.
    pub(crate) fn len(&self) -> usize {
        self.by_len.iter().map(|(_, m)| m.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_not_public() {
        for s in [
            "10.1.2.3",
            "172.31.16.139",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.251",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.12",
            "0.1.2.3",
            "240.1.2.3",
            "::1",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(!is_public(s.parse().unwrap()), "{s}");
        }
        for s in [
            "8.8.8.8",
            "92.55.146.245",
            "52.213.180.42",
            "2a02:cf40::",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(s.parse().unwrap()), "{s}");
        }
    }

    /// The table's answer.
    fn public_by_table(a: u32) -> bool {
        !V4_SPECIAL.iter().any(|&(net, len)| a & mask4(len) == net)
    }

    #[test]
    fn first_octet_rule_matches_the_table() {
        // Every range edge (and one past it) of the table, and every /16 of the space.
        for &(net, len) in V4_SPECIAL {
            let last = net | !mask4(len);
            for a in [net, last, net.wrapping_sub(1), last.wrapping_add(1)] {
                assert_eq!(
                    is_public_v4(Ipv4Addr::from(a)),
                    public_by_table(a),
                    "{}",
                    Ipv4Addr::from(a)
                );
            }
        }
        for hi in 0..=0xFFFFu32 {
            for lo in [0u32, 0x0001, 0x0201, 0x6301, 0x6401, 0x7101, 0xFFFF] {
                let a = hi << 16 | lo;
                assert_eq!(
                    is_public_v4(Ipv4Addr::from(a)),
                    public_by_table(a),
                    "{}",
                    Ipv4Addr::from(a)
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn first_octet_rule_matches_the_table_anywhere(a in proptest::prelude::any::<u32>()) {
            proptest::prop_assert_eq!(is_public_v4(Ipv4Addr::from(a)), public_by_table(a));
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = PrefixTable::<u32>::default();
        t.insert(u32::from(Ipv4Addr::new(10, 0, 0, 0)), 8, 1);
        t.insert(u32::from(Ipv4Addr::new(10, 1, 0, 0)), 16, 2);
        assert_eq!(
            t.lookup(u32::from(Ipv4Addr::new(10, 1, 2, 3))),
            Some((16, 2))
        );
        assert_eq!(
            t.lookup(u32::from(Ipv4Addr::new(10, 2, 2, 3))),
            Some((8, 1))
        );
        assert_eq!(t.lookup(u32::from(Ipv4Addr::new(11, 2, 2, 3))), None);
        assert_eq!(t.len(), 2);
    }
}
