//! IPv4 addresses and CIDR blocks as integer intervals.

use std::net::Ipv4Addr;

/// An IPv4 CIDR block, kept as its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// First address of the block (host bits cleared).
    pub base: u32,
    /// Prefix length, 0..=32.
    pub len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (or a bare address as `/32`); `None` when malformed or IPv6.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()?),
            None => (s.trim(), 32),
        };
        if len > 32 {
            return None;
        }
        let ip: Ipv4Addr = addr.parse().ok()?;
        let mask = Self::mask(len);
        Some(Self {
            base: u32::from(ip) & mask,
            len,
        })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        }
    }

    /// True when `addr` lies in the block.
    pub fn contains(&self, addr: u32) -> bool {
        addr & Self::mask(self.len) == self.base
    }

    /// First address, as u64.
    pub fn start(&self) -> u64 {
        u64::from(self.base)
    }

    /// One past the last address, as u64 (so `0.0.0.0/0` ends at 2^32).
    pub fn end_exclusive(&self) -> u64 {
        u64::from(self.base) + (1u64 << (32 - u32::from(self.len)))
    }
}

/// Parses a dotted-quad address into its integer form.
pub fn parse_addr(s: &str) -> Option<u32> {
    s.trim().parse::<Ipv4Addr>().ok().map(u32::from)
}

/// Address blocks that are never "the internet": private, shared, loopback, link-local,
/// "this network", multicast and reserved.
pub fn non_internet_blocks() -> Vec<Cidr> {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ]
    .iter()
    .filter_map(|s| Cidr::parse(s))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_contain() {
        let c = Cidr::parse("10.0.1.7/24").unwrap();
        assert_eq!(c.base, u32::from(Ipv4Addr::new(10, 0, 1, 0)));
        assert!(c.contains(parse_addr("10.0.1.255").unwrap()));
        assert!(!c.contains(parse_addr("10.0.2.0").unwrap()));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert_eq!(all.end_exclusive(), 1u64 << 32);
        assert!(Cidr::parse("::/0").is_none());
        assert!(Cidr::parse("1.2.3.4/33").is_none());
    }
}
