//! IAM entities as they are stored (JSON documents in the store's `iam.*` collections).
//!
//! Keys: users, roles and policies are keyed `<account>/<lower-case name>` (IAM names are
//! unique without regard to case); access keys and STS sessions by access key id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Store collection names.
pub mod collections {
    /// Accounts, keyed by id.
    pub const ACCOUNTS: &str = "iam.accounts";
    /// Users.
    pub const USERS: &str = "iam.users";
    /// Roles.
    pub const ROLES: &str = "iam.roles";
    /// Customer managed policies.
    pub const POLICIES: &str = "iam.policies";
    /// Long-term access keys.
    pub const ACCESS_KEYS: &str = "iam.access_keys";
    /// Temporary credentials issued by STS.
    pub const SESSIONS: &str = "sts.sessions";
}

/// The store key of a named entity.
pub fn entity_key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_ascii_lowercase())
}

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// Twelve digits.
    pub account_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// A tag on a user or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// An IAM user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Account id.
    pub account: String,
    /// Name as created (case preserved).
    pub user_name: String,
    /// `AIDA...`.
    pub user_id: String,
    /// Path, `/` by default.
    pub path: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Ids of the user's access keys (at most two); the keys live in `iam.access_keys`.
    #[serde(default)]
    pub access_keys: Vec<String>,
}

impl User {
    /// `arn:aws:iam::<acct>:user<path><name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account, self.path, self.user_name
        )
    }
}

/// An IAM role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// Account id.
    pub account: String,
    /// Name as created.
    pub role_name: String,
    /// `AROA...`.
    pub role_id: String,
    /// Path.
    pub path: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// The trust policy (who may assume it), JSON text.
    pub assume_role_policy_document: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Longest session AssumeRole may grant, seconds (3600..=43200).
    pub max_session_duration: u32,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl Role {
    /// `arn:aws:iam::<acct>:role<path><name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role{}{}",
            self.account, self.path, self.role_name
        )
    }
}

/// One version of a managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub version_id: String,
    /// The document, JSON text.
    pub document: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
}

/// A customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// Account id.
    pub account: String,
    /// Name.
    pub policy_name: String,
    /// `ANPA...`.
    pub policy_id: String,
    /// Path.
    pub path: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Versions, oldest first (at most five).
    pub versions: Vec<PolicyVersion>,
    /// The version in force.
    pub default_version_id: String,
    /// Number of users and roles it is attached to.
    pub attachment_count: u32,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub update_date: OffsetDateTime,
}

impl ManagedPolicy {
    /// `arn:aws:iam::<acct>:policy<path><name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:policy{}{}",
            self.account, self.path, self.policy_name
        )
    }

    /// The document of the default version.
    pub fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version_id)
            .map(|v| v.document.as_str())
    }
}

/// Active or Inactive, as IAM spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Refused at authentication.
    Inactive,
}

impl KeyStatus {
    /// IAM's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// When and where a key was last used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastUsed {
    /// Time of last use.
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    /// Service it was used with.
    pub service: String,
    /// Region it was used in.
    pub region: String,
}

/// A long-term access key of a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    /// `AKIA...`.
    pub access_key_id: String,
    /// Account of the owner.
    pub account: String,
    /// Owner's user name.
    pub user_name: String,
    /// Active or Inactive.
    pub status: KeyStatus,
    /// The secret, sealed under the root key (never stored in plaintext).
    pub sealed_secret: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// Last use, if any.
    #[serde(default)]
    pub last_used: Option<LastUsed>,
}

/// Temporary credentials from STS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// `ASIA...`.
    pub access_key_id: String,
    /// Account the credentials act in.
    pub account: String,
    /// The secret, sealed.
    pub sealed_secret: String,
    /// The session token, sealed.
    pub sealed_token: String,
    /// When the credentials stop working.
    #[serde(with = "time::serde::rfc3339")]
    pub expiration: OffsetDateTime,
    /// When they were issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued: OffsetDateTime,
    /// Whose permissions they carry.
    pub subject: SessionSubject,
    /// A session policy that further limits the permissions, JSON text.
    #[serde(default)]
    pub session_policy: Option<String>,
    /// Session tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// Who a session acts as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum SessionSubject {
    /// AssumeRole: a role session.
    Role {
        /// Role name.
        role_name: String,
        /// Role id.
        role_id: String,
        /// Role ARN.
        role_arn: String,
        /// The session name the caller chose.
        session_name: String,
        /// The principal that assumed the role.
        source_arn: String,
    },
    /// GetSessionToken: the user itself.
    User {
        /// User name.
        user_name: String,
        /// The user's unique id: a user deleted and re-created under the same name is a
        /// different user, and the old sessions must not come back to life.
        #[serde(default)]
        user_id: String,
    },
}
