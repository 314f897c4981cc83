//! `@ipMatch` and `@ipMatchFromFile`: does the input (an address) fall in one of the listed networks?

use std::net::IpAddr;

use ipnet::IpNet;

use super::{OperatorContext, OperatorError, pm};

/// A set of IPv4/IPv6 networks.
#[derive(Debug, Clone)]
pub(crate) struct IpSet {
    nets: Vec<IpNet>,
}

impl IpSet {
    /// Parses `@ipMatch 10.0.0.0/8,192.168.1.1,::1` (commas and/or whitespace separate entries).
    pub(crate) fn parse_list(arg: &str) -> Result<Self, OperatorError> {
        let mut nets = Vec::new();
        for item in arg
            .split([',', ' ', '\t', '\n', '\r'])
            .filter(|s| !s.is_empty())
        {
            nets.push(
                parse_net(item).ok_or_else(|| OperatorError::InvalidArgument {
                    name: "ipMatch".into(),
                    reason: format!("{item:?} is not an IP address or CIDR network"),
                })?,
            );
        }
        Ok(Self { nets })
    }

    /// Reads one address or network per line (`#` comments and blank lines skipped).
    pub(crate) fn from_file(arg: &str, ctx: &OperatorContext) -> Result<Self, OperatorError> {
        let path = pm::resolve(arg.trim(), ctx);
        let text = pm::read_bounded(&path)?;
        let mut nets = Vec::new();
        for line in pm::phrases_of(&text) {
            let line = String::from_utf8_lossy(&line).trim().to_owned();
            if line.is_empty() {
                continue;
            }
            nets.push(
                parse_net(&line).ok_or_else(|| OperatorError::InvalidArgument {
                    name: "ipMatchFromFile".into(),
                    reason: format!(
                        "{}: {line:?} is not an IP address or CIDR network",
                        path.display()
                    ),
                })?,
            );
        }
        Ok(Self { nets })
    }

    /// True when the input parses as an address inside one of the networks.
    pub(crate) fn evaluate(&self, input: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(input) else {
            return false;
        };
        let Ok(ip) = text.trim().parse::<IpAddr>() else {
            return false;
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6() {
        let s = IpSet::parse_list("127.0.0.1, 10.0.0.0/8,::1,2001:db8::/32")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(s.evaluate(b"127.0.0.1"));
        assert!(s.evaluate(b"10.200.3.4"));
        assert!(!s.evaluate(b"11.0.0.1"));
        assert!(s.evaluate(b"::1"));
        assert!(s.evaluate(b"2001:db8::42"));
        assert!(s.evaluate(b"::ffff:10.1.1.1"));
        assert!(!s.evaluate(b"not an ip"));
        assert!(IpSet::parse_list("300.1.1.1").is_err());
    }
}
