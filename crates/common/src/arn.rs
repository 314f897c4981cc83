//! Account ids and Amazon Resource Names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid account id or ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArnError {
    /// An account id must be exactly twelve ASCII digits.
    #[error("account id must be 12 digits, got {0:?}")]
    BadAccountId(String),
    /// An ARN must have the form `arn:partition:service:region:account:resource`.
    #[error("not an ARN: {0:?}")]
    Malformed(String),
}

/// A twelve-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Parses and validates an account id.
    pub fn new(s: impl Into<String>) -> Result<Self, ArnError> {
        let s = s.into();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(ArnError::BadAccountId(s))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN of the account's root principal, `arn:aws:iam::<id>:root`.
    pub fn root_arn(&self) -> Arn {
        Arn::new("iam", "", self.as_str(), "root")
    }
}

impl TryFrom<String> for AccountId {
    type Error = ArnError;
    fn try_from(s: String) -> Result<Self, ArnError> {
        Self::new(s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        Self::new(s)
    }
}

/// An Amazon Resource Name: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arn {
    /// Partition, always `aws` for ARNs Portcullis issues.
    pub partition: String,
    /// Service namespace (`iam`, `kms`, `sts`, ...).
    pub service: String,
    /// Region, empty for global services such as IAM.
    pub region: String,
    /// Account id, empty for some AWS-owned resources.
    pub account: String,
    /// Everything after the fifth colon, e.g. `user/alice` or `key/1234...`.
    pub resource: String,
}

impl Arn {
    /// Builds an ARN in the `aws` partition.
    pub fn new(service: &str, region: &str, account: &str, resource: &str) -> Self {
        Self {
            partition: crate::PARTITION.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl FromStr for Arn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        let mut parts = s.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(ArnError::Malformed(s.to_owned()));
        };
        if partition.is_empty() || service.is_empty() {
            return Err(ArnError::Malformed(s.to_owned()));
        }
        Ok(Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl TryFrom<String> for Arn {
    type Error = ArnError;
    fn try_from(s: String) -> Result<Self, ArnError> {
        s.parse()
    }
}

impl From<Arn> for String {
    fn from(a: Arn) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_round_trips() {
        let s = "arn:aws:iam::000000000000:user/path/alice";
        let arn: Arn = s.parse().unwrap();
        assert_eq!(arn.service, "iam");
        assert_eq!(arn.region, "");
        assert_eq!(arn.resource, "user/path/alice");
        assert_eq!(arn.to_string(), s);
    }

    #[test]
    fn resource_may_contain_colons() {
        let arn: Arn = "arn:aws:logs:us-east-1:1:log-group:x:*".parse().unwrap();
        assert_eq!(arn.resource, "log-group:x:*");
    }

    #[test]
    fn rejects_non_arns() {
        assert!("arn:aws:iam".parse::<Arn>().is_err());
        assert!("urn:aws:iam::1:root".parse::<Arn>().is_err());
        assert!(AccountId::new("12345").is_err());
        assert!(AccountId::new("12345678901a").is_err());
        assert_eq!(
            AccountId::new("000000000000")
                .unwrap()
                .root_arn()
                .to_string(),
            "arn:aws:iam::000000000000:root"
        );
    }
}
