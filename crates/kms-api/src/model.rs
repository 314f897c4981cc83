//! KMS state as stored: keys (with every version of their material, wrapped under the root
//! key), aliases and grants, as JSON documents in the `kms.*` collections.
//!
//! Keys: `kms.keys` by `<account>/<region>/<key-id>`; `kms.aliases` by
//! `<account>/<region>/<alias-name>`; `kms.grants` by `<account>/<region>/<key-id>/<grant-id>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Store collection names.
pub mod collections {
    /// Keys.
    pub const KEYS: &str = "kms.keys";
    /// Aliases.
    pub const ALIASES: &str = "kms.aliases";
    /// Grants.
    pub const GRANTS: &str = "kms.grants";
}

/// `<account>/<region>/`: the prefix of everything in one account and region.
pub fn scope_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The store key of a key.
pub fn key_key(account: &str, region: &str, key_id: &str) -> String {
    format!("{account}/{region}/{key_id}")
}

/// The store key of an alias.
pub fn alias_key(account: &str, region: &str, alias_name: &str) -> String {
    format!("{account}/{region}/{alias_name}")
}

/// The store key of a grant.
pub fn grant_key(account: &str, region: &str, key_id: &str, grant_id: &str) -> String {
    format!("{account}/{region}/{key_id}/{grant_id}")
}

/// Key states, spelled as AWS spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Cryptography refused with `DisabledException`.
    Disabled,
    /// Scheduled for deletion.
    PendingDeletion,
    /// An EXTERNAL key without material.
    PendingImport,
}

impl KeyState {
    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
        }
    }
}

/// One version of a key's material.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyVersion {
    /// 64 hex characters; also carried in ciphertexts.
    pub material_id: String,
    /// The material, sealed under the root key (context `kms/<key-id>/<material-id>`).
    pub sealed: String,
    /// When this version was created or imported.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// `AUTOMATIC`, `ON_DEMAND`, or absent for the first version.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// For imported material: when it expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub valid_to: Option<OffsetDateTime>,
}

/// Automatic rotation settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rotation {
    /// Whether automatic rotation is on.
    pub enabled: bool,
    /// Days between automatic rotations (90..=2560).
    pub period_days: u32,
    /// When the next automatic rotation is due.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next: Option<OffsetDateTime>,
    /// On-demand rotations performed so far (quota 25).
    #[serde(default)]
    pub on_demand_count: u32,
    /// When the last on-demand rotation started.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub on_demand_started: Option<OffsetDateTime>,
}

/// Pending BYOK import parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingImport {
    /// The import token id (what ImportToken carries).
    pub token_id: String,
    /// The wrapping private key (PKCS#8), sealed under the root key.
    pub sealed_private_key: String,
    /// The wrapping algorithm chosen.
    pub wrapping_algorithm: String,
    /// Until when the token may be used.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
}

/// A KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// UUID.
    pub key_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Description (0..=8192).
    pub description: String,
    /// KeySpec, AWS spelling.
    pub key_spec: String,
    /// KeyUsage, AWS spelling.
    pub key_usage: String,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// Current state.
    pub state: KeyState,
    /// When deletion happens, if scheduled.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deletion_date: Option<OffsetDateTime>,
    /// The pending window chosen.
    #[serde(default)]
    pub pending_window_days: Option<u32>,
    /// The `default` key policy, JSON text.
    pub policy: String,
    /// Tags (case-sensitive keys).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Rotation settings.
    #[serde(default)]
    pub rotation: Rotation,
    /// Every version of the material, oldest first; the last is current.
    #[serde(default)]
    pub versions: Vec<KeyVersion>,
    /// For EXTERNAL keys: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(default)]
    pub expiration_model: Option<String>,
    /// For EXTERNAL keys awaiting material.
    #[serde(default)]
    pub pending_import: Option<PendingImport>,
    /// The last cryptographic use, for GetKeyLastUsage.
    #[serde(default)]
    pub last_usage: Option<LastUsage>,
    /// Names of the aliases pointing at this key, kept with the key (updated in the same
    /// batch as the alias) so `kms:ResourceAliases` costs no extra read.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// For EXTERNAL keys: which material the key is bound to, kept after
    /// DeleteImportedKeyMaterial so only the same material can be imported again.
    #[serde(default)]
    pub import_identity: Option<ImportIdentity>,
}

/// The identity of an EXTERNAL key's material, without the material.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportIdentity {
    /// The material id it was first imported under (reused on re-import, so ciphertext
    /// made before a deletion decrypts again).
    pub material_id: String,
    /// A keyed digest of the material (base64), to recognise it on re-import.
    pub fingerprint: String,
}

/// The last successful cryptographic operation with a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastUsage {
    /// Operation name.
    pub operation: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The request id.
    pub request_id: String,
}

impl Key {
    /// `arn:aws:kms:<region>:<account>:key/<id>`.
    pub fn arn(&self) -> String {
        // Built with one exact allocation: this runs on every call that names a key.
        const PREFIX: &str = "arn:aws:kms:";
        let mut arn = String::with_capacity(
            PREFIX.len() + self.region.len() + self.account.len() + self.key_id.len() + 6,
        );
        arn.push_str(PREFIX);
        arn.push_str(&self.region);
        arn.push(':');
        arn.push_str(&self.account);
        arn.push_str(":key/");
        arn.push_str(&self.key_id);
        arn
    }

    /// The current version, if the key has material.
    pub fn current(&self) -> Option<&KeyVersion> {
        self.versions.last()
    }

    /// A version by material id.
    pub fn version(&self, material_id: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.material_id == material_id)
    }
}

/// An alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alias {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `alias/...`.
    pub alias_name: String,
    /// The key it points to.
    pub target_key_id: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

impl Alias {
    /// `arn:aws:kms:<region>:<account>:alias/...`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:kms:{}:{}:{}",
            self.region, self.account, self.alias_name
        )
    }
}

/// Grant constraints on the encryption context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    /// The request's context must equal this exactly.
    #[serde(default)]
    pub equals: Option<BTreeMap<String, String>>,
    /// The request's context must contain these pairs.
    #[serde(default)]
    pub subset: Option<BTreeMap<String, String>>,
}

/// A grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    /// Account of the key.
    pub account: String,
    /// Region of the key.
    pub region: String,
    /// Key id.
    pub key_id: String,
    /// 64 hex characters.
    pub grant_id: String,
    /// Optional name (idempotency: same name and parameters → same grant).
    #[serde(default)]
    pub name: Option<String>,
    /// Who the grant is for.
    pub grantee_principal: String,
    /// Who may retire it.
    #[serde(default)]
    pub retiring_principal: Option<String>,
    /// The account that created it.
    pub issuing_account: String,
    /// Operations allowed.
    pub operations: Vec<String>,
    /// Constraints.
    #[serde(default)]
    pub constraints: GrantConstraints,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}
