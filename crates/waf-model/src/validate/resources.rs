//! Validation of IP sets and regex pattern sets.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ParameterExceptionField as F;
use super::check::*;
use crate::model::*;

/// Validate an IP set: name, ARN, description and every address as a CIDR block of the set's family with
/// a prefix length of at least 1 (AWS accepts every prefix except `/0`).
pub fn validate_ip_set(s: &IpSet) -> Check {
    entity_name(F::IpSet, &s.name)?;
    arn(F::ResourceArn, &s.arn)?;
    if let Some(d) = &s.description {
        description(F::IpSet, d)?;
    }
    for a in &s.addresses {
        length(F::IpAddress, a, 1, 50)?;
        let family =
            cidr_family(a).ok_or_else(|| fail(F::IpAddress, a.as_str(), REASON_INVALID_FORMAT))?;
        ensure(
            family == s.ip_address_version,
            F::IpAddressVersion,
            a.as_str(),
            REASON_INVALID_COMBINATION,
        )?;
    }
    Ok(())
}

/// The family of a CIDR block (`1.2.3.0/24`, `2001:db8::/32`), or `None` when it is not one.
pub fn cidr_family(s: &str) -> Option<IpAddressVersion> {
    let (addr, prefix) = s.split_once('/')?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    if addr.parse::<Ipv4Addr>().is_ok() && (1..=32).contains(&prefix) {
        Some(IpAddressVersion::Ipv4)
    } else if addr.parse::<Ipv6Addr>().is_ok() && (1..=128).contains(&prefix) {
        Some(IpAddressVersion::Ipv6)
    } else {
        None
    }
}

/// Validate a regex pattern set: name, ARN and description when present, and every pattern (1–512 chars,
/// accepted by the regex engine).
pub fn validate_regex_pattern_set(s: &RegexPatternSet) -> Check {
    if let Some(n) = &s.name {
        entity_name(F::RegexPatternSet, n)?;
    }
    if let Some(a) = &s.arn {
        arn(F::ResourceArn, a)?;
    }
    if let Some(d) = &s.description {
        description(F::RegexPatternSet, d)?;
    }
    for r in s.regular_expression_list.as_deref().unwrap_or(&[]) {
        match &r.regex_string {
            Some(p) => super::statement::regex_string(F::RegexPatternSet, p)?,
            None => return Err(fail(F::RegexPatternSet, "RegexString", REASON_MISSING)),
        }
    }
    Ok(())
}
