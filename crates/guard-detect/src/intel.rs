//! How threat lists drive finding types. guard-core stores indicators with a source
//! (name, category); here a source is classified once into an [`IntelClass`], which
//! decides the finding type a match produces. Also: the AWS test domains the GuardDuty
//! tester resolves, shipped built in (none is in any public list; reference guard.md §2.4).

use portcullis_guard_core::intel::{ListFormat, Source, ThreatIntel};

use crate::error::DetectError;

/// What a list is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntelClass {
    /// A user-uploaded threat list (`*.Custom` types).
    Custom,
    /// Tor relays / exit nodes.
    Tor,
    /// Internet-wide scanners (port-probe evidence, never a compromise on its own).
    Scanner,
    /// Sinkhole / black-hole addresses.
    Sinkhole,
    /// Cryptocurrency mining pools and miner malware.
    Crypto,
    /// Phishing domains.
    Phishing,
    /// Dynamic-DNS and free sub-domain providers (abused domains).
    DynamicDns,
    /// Command-and-control and malware infrastructure.
    CommandAndControl,
    /// Curated "malicious IP" lists (e.g. IPsum levels).
    Malicious,
    /// Suspicious services (proxies, what-is-my-IP, tunnelling services).
    Suspicious,
}

/// Classifies a list by its category and name (maltrail folder / file stem conventions).
pub fn classify(source: &Source) -> IntelClass {
    let name = source.name.to_ascii_lowercase();
    let cat = source.category.to_ascii_lowercase();
    let has = |w: &str| name.contains(w) || cat == w;
    if cat == "custom" {
        IntelClass::Custom
    } else if cat == "tor" || name == "tor" || name.starts_with("tor_") || name.starts_with("tor-")
    {
        IntelClass::Tor
    } else if has("scanner") {
        IntelClass::Scanner
    } else if has("sinkhole") || has("blackhole") {
        IntelClass::Sinkhole
    } else if has("miner") || has("crypto") || has("coin") || has("mining") {
        IntelClass::Crypto
    } else if has("phishing") {
        IntelClass::Phishing
    } else if has("dynamic_domain") || has("ddns") {
        IntelClass::DynamicDns
    } else if cat == "malware" || cat == "malicious" || has("c2") {
        IntelClass::CommandAndControl
    } else if cat == "suspicious" {
        IntelClass::Suspicious
    } else {
        IntelClass::Malicious
    }
}

/// Name and category of a list from its path: maltrail's folder is the category
/// (`malware`, `malicious`, `suspicious`), `mass_scanner*` are scanners, IPsum levels
/// are curated; any other file is a user (custom) threat list.
pub fn list_identity(path: &str) -> (String, String) {
    let norm = path.replace('\\', "/");
    let file = norm.rsplit('/').next().unwrap_or(&norm);
    let stem = file
        .strip_suffix(".txt")
        .or_else(|| file.strip_suffix(".csv"))
        .unwrap_or(file);
    let parent = norm.rsplit('/').nth(1).unwrap_or("");
    let category = if ["malware", "malicious", "suspicious"].contains(&parent) {
        parent.to_owned()
    } else if stem.starts_with("mass_scanner") {
        "scanner".to_owned()
    } else if norm.contains("ipsum") {
        "ipsum".to_owned()
    } else if stem == "tor" || stem.starts_with("tor_") || stem.starts_with("tor-") {
        "tor".to_owned()
    } else {
        "custom".to_owned()
    };
    let name = if category == "ipsum" {
        format!("ipsum-level-{stem}")
    } else {
        stem.to_owned()
    };
    (name, category)
}

/// Loads one TXT list into `intel` under the identity [`list_identity`] gives `path`.
/// Returns the number of indicators stored and of malformed entries.
pub fn load_list(
    intel: &mut ThreatIntel,
    path: &str,
    text: &str,
) -> Result<(usize, usize), DetectError> {
    let (name, category) = list_identity(path);
    let report = intel
        .load(text, ListFormat::Txt, &name, &category)
        .map_err(|source| DetectError::Intel {
            name: name.clone(),
            source,
        })?;
    Ok((report.loaded, report.errors.len()))
}

/// Built-in AWS test domains (the GuardDuty tester's indicators) and their finding types,
/// most specific first. Matching is by label suffix.
pub const TEST_DOMAINS: &[(&str, &str)] = &[
    (
        "abused-rep.guarddutyc2activityb.com",
        "Impact:EC2/AbusedDomainRequest.Reputation",
    ),
    (
        "crypto-rep.guarddutyc2activityb.com",
        "Impact:EC2/BitcoinDomainRequest.Reputation",
    ),
    (
        "malicious-rep.guarddutyc2activityb.com",
        "Impact:EC2/MaliciousDomainRequest.Reputation",
    ),
    (
        "suspicious-rep.guarddutyc2activityb.com",
        "Impact:EC2/SuspiciousDomainRequest.Reputation",
    ),
    (
        "crypto.guarddutyc2activityb.com",
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    ),
    ("guarddutyc2activityb.com", "Backdoor:EC2/C&CActivity.B!DNS"),
    (
        "guarddutyblackholeactivity.com",
        "Trojan:EC2/BlackholeTraffic!DNS",
    ),
    (
        "guarddutydgaactivity.com",
        "Trojan:EC2/DGADomainRequest.C!DNS",
    ),
    (
        "guarddutydrivebyactivity.com",
        "Trojan:EC2/DriveBySourceTraffic!DNS",
    ),
    ("guarddutydroppointactivity.com", "Trojan:EC2/DropPoint!DNS"),
    (
        "guarddutyphishingactivity.com",
        "Trojan:EC2/PhishingDomainRequest!DNS",
    ),
];

/// Whether `name` is `suffix` or a sub-domain of it.
pub fn is_suffix_of(name: &str, suffix: &str) -> bool {
    name == suffix
        || name
            .strip_suffix(suffix)
            .is_some_and(|head| head.ends_with('.'))
}

/// The built-in test-domain entry matching `name` (lower case, no trailing dot).
pub fn test_domain(name: &str) -> Option<(&'static str, &'static str)> {
    TEST_DOMAINS
        .iter()
        .find(|(d, _)| is_suffix_of(name, d))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, category: &str) -> Source {
        Source {
            name: name.into(),
            category: category.into(),
        }
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify(&src("cobaltstrike", "malware")),
            IntelClass::CommandAndControl
        );
        assert_eq!(
            classify(&src("generic_miner", "malware")),
            IntelClass::Crypto
        );
        assert_eq!(
            classify(&src("crypto_mining", "suspicious")),
            IntelClass::Crypto
        );
        assert_eq!(
            classify(&src("dynamic_domain", "suspicious")),
            IntelClass::DynamicDns
        );
        assert_eq!(
            classify(&src("mass_scanner", "scanner")),
            IntelClass::Scanner
        );
        assert_eq!(
            classify(&src("ipsum-level-3", "ipsum")),
            IntelClass::Malicious
        );
        assert_eq!(classify(&src("my-list", "custom")), IntelClass::Custom);
        assert_eq!(classify(&src("tor_exits", "tor")), IntelClass::Tor);
        assert_eq!(
            classify(&src("onion", "suspicious")),
            IntelClass::Suspicious
        );
    }

    #[test]
    fn identities() {
        assert_eq!(
            list_identity("x/maltrail/static/malware/emotet.txt"),
            ("emotet".into(), "malware".into())
        );
        assert_eq!(
            list_identity("/t/ipsum/levels/3.txt"),
            ("ipsum-level-3".into(), "ipsum".into())
        );
        assert_eq!(
            list_identity("static/mass_scanner_cidr.txt"),
            ("mass_scanner_cidr".into(), "scanner".into())
        );
        assert_eq!(list_identity("bad.txt"), ("bad".into(), "custom".into()));
    }

    #[test]
    fn test_domains_by_suffix() {
        assert_eq!(
            test_domain("c2.guarddutyc2activityb.com").map(|t| t.1),
            Some("Backdoor:EC2/C&CActivity.B!DNS")
        );
        assert_eq!(
            test_domain("crypto.guarddutyc2activityb.com").map(|t| t.1),
            Some("CryptoCurrency:EC2/BitcoinTool.B!DNS")
        );
        assert_eq!(
            test_domain("crypto-rep.guarddutyc2activityb.com").map(|t| t.1),
            Some("Impact:EC2/BitcoinDomainRequest.Reputation")
        );
        assert_eq!(test_domain("notguarddutyc2activityb.com"), None);
    }
}
