//! Route 53 Resolver query-log records (one JSON object per query, version "1.1").

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;

use crate::error::GuardError;

/// One Resolver query-log record.
#[derive(Debug, Clone, Deserialize)]
pub struct ResolverRecord<'a> {
    /// `version`, e.g. `1.100000`.
    #[serde(borrow, default)]
    pub version: Option<Cow<'a, str>>,
    /// `account_id`.
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    /// `region`.
    #[serde(borrow, default)]
    pub region: Option<Cow<'a, str>>,
    /// `vpc_id`.
    #[serde(borrow, default)]
    pub vpc_id: Option<Cow<'a, str>>,
    /// `query_timestamp`, ISO-8601 UTC as written.
    #[serde(borrow, default)]
    pub query_timestamp: Option<Cow<'a, str>>,
    /// `query_name` as written (usually with a trailing dot); see [`Self::query_name_normalized`].
    #[serde(borrow)]
    pub query_name: Cow<'a, str>,
    /// `query_type`, e.g. `A`, `AAAA`, `PTR`.
    #[serde(borrow, default)]
    pub query_type: Option<Cow<'a, str>>,
    /// `query_class`, e.g. `IN`.
    #[serde(borrow, default)]
    pub query_class: Option<Cow<'a, str>>,
    /// `rcode`, e.g. `NOERROR`, `NXDOMAIN`.
    #[serde(borrow, default)]
    pub rcode: Option<Cow<'a, str>>,
    /// `answers` (a single object is read as a list of one, as Panther's normalised logs have it).
    #[serde(borrow, default, deserialize_with = "one_or_many")]
    pub answers: Vec<ResolverAnswer<'a>>,
    /// `srcaddr`, the querying address.
    #[serde(borrow, default)]
    pub srcaddr: Option<Cow<'a, str>>,
    /// `srcport` (a string in the logs).
    #[serde(borrow, default)]
    pub srcport: Option<Cow<'a, str>>,
    /// `transport`: `UDP` / `TCP`.
    #[serde(borrow, default)]
    pub transport: Option<Cow<'a, str>>,
    /// `srcids`.
    #[serde(borrow, default)]
    pub srcids: ResolverSrcIds<'a>,
    /// `firewall_rule_action` (`ALERT`/`BLOCK`), only on DNS Firewall matches.
    #[serde(borrow, default)]
    pub firewall_rule_action: Option<Cow<'a, str>>,
    /// `firewall_domain_list_id`, only on DNS Firewall matches.
    #[serde(borrow, default)]
    pub firewall_domain_list_id: Option<Cow<'a, str>>,
}

/// One entry of `answers`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResolverAnswer<'a> {
    /// `Rdata`.
    #[serde(borrow, default, rename = "Rdata")]
    pub rdata: Option<Cow<'a, str>>,
    /// `Type`.
    #[serde(borrow, default, rename = "Type")]
    pub kind: Option<Cow<'a, str>>,
    /// `Class`.
    #[serde(borrow, default, rename = "Class")]
    pub class: Option<Cow<'a, str>>,
}

/// `srcids`: where the query came from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResolverSrcIds<'a> {
    /// `instance`, e.g. `i-0123...`.
    #[serde(borrow, default)]
    pub instance: Option<Cow<'a, str>>,
    /// `resolver_endpoint`.
    #[serde(borrow, default)]
    pub resolver_endpoint: Option<Cow<'a, str>>,
    /// `resolver_network_interface`.
    #[serde(borrow, default)]
    pub resolver_network_interface: Option<Cow<'a, str>>,
}

fn one_or_many<'de, D>(d: D) -> Result<Vec<ResolverAnswer<'de>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M<'a> {
        Many(#[serde(borrow)] Vec<ResolverAnswer<'a>>),
        One(#[serde(borrow)] ResolverAnswer<'a>),
    }
    Ok(match Option::<M<'de>>::deserialize(d)? {
        None => Vec::new(),
        Some(M::Many(v)) => v,
        Some(M::One(a)) => vec![a],
    })
}

impl<'a> ResolverRecord<'a> {
    /// Parses one JSON line.
    pub fn from_json(text: &'a str) -> Result<Self, GuardError> {
        serde_json::from_str(text).map_err(|e| GuardError::Json {
            message: e.to_string(),
        })
    }

    /// `query_name` lower-cased without its trailing dot (borrowed when already so).
    pub fn query_name_normalized(&self) -> Cow<'_, str> {
        let n = self
            .query_name
            .strip_suffix('.')
            .unwrap_or(&self.query_name);
        if n.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(n.to_ascii_lowercase())
        } else {
            Cow::Borrowed(n)
        }
    }

    /// `srcaddr` as an IP address.
    pub fn src_ip(&self) -> Option<IpAddr> {
        self.srcaddr.as_deref()?.parse().ok()
    }

    /// `srcport` as a number.
    pub fn src_port(&self) -> Option<u16> {
        self.srcport.as_deref()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sample() {
        let r = ResolverRecord::from_json(r#"{"version":"1.100000","query_name":"Foo.Example.COM.","query_type":"A","rcode":"NOERROR","answers":[{"Rdata":"1.2.3.4","Type":"A","Class":"IN"}],"srcaddr":"172.31.86.159","srcport":"48701","srcids":{"instance":"i-1"}}"#).unwrap();
        assert_eq!(r.query_name_normalized(), "foo.example.com");
        assert_eq!(r.src_port(), Some(48701));
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.srcids.instance.as_deref(), Some("i-1"));
    }

    #[test]
    fn requires_query_name() {
        assert!(ResolverRecord::from_json(r#"{"version":"1.1"}"#).is_err());
    }
}
