//! Network addresses as the audit record and condition keys write them.

use std::net::IpAddr;

/// `ip` as text, as its `Display` writes it. An IPv4 address (every loopback and most client
/// addresses) is written directly: the formatting machinery cost about 1,300 instructions
/// an address, twice on every signed call (`aws:SourceIp` and `sourceIPAddress`).
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(&mut out, octet);
            }
            out
        }
        IpAddr::V6(_) => ip.to_string(),
    }
}

/// Appends `n` in decimal, without leading zeros.
fn push_decimal(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn edge_addresses_read_as_display_writes_them() {
        for v4 in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(10, 0, 99, 100),
        ] {
            assert_eq!(ip_text(v4.into()), v4.to_string());
        }
        assert_eq!(ip_text(Ipv6Addr::LOCALHOST.into()), "::1");
        assert_eq!(ip_text(Ipv4Addr::new(192, 168, 1, 9).into()), "192.168.1.9");
    }

    proptest! {
        #[test]
        fn every_address_reads_as_display_writes_it(v4: u32, v6: u128) {
            let v4 = IpAddr::from(Ipv4Addr::from(v4));
            prop_assert_eq!(ip_text(v4), v4.to_string());
            let v6 = IpAddr::from(Ipv6Addr::from(v6));
            prop_assert_eq!(ip_text(v6), v6.to_string());
        }
    }
}
