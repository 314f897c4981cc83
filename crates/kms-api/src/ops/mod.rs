//! One module per group of KMS operations, and the dispatch table.

pub mod aliases;
pub mod asym;
pub mod crypto;
pub mod grants;
pub mod import;
pub mod keys;
pub mod page;
pub mod policy;
pub mod render;
pub mod rotation;
pub mod tags;
pub mod usage;

#[cfg(test)]
mod flows;

use portcullis_http::ApiRequest;
use serde_json::Value;

use crate::error::{KmsError, Result};
use crate::input::Input;
use crate::state::Kms;

/// What an operation sees.
pub struct Ctx<'a> {
    /// Shared state.
    pub kms: &'a Kms,
    /// The request.
    pub req: &'a ApiRequest,
    /// Its body.
    pub input: Input,
}

impl Ctx<'_> {
    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.req.caller.principal.account
    }

    /// The request's region.
    pub fn region(&self) -> &str {
        &self.req.region
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.req.received_at
    }

    /// Refuses `Recipient` (attestation documents of AWS Nitro enclaves), which this server
    /// cannot verify.
    pub fn refuse_recipient(&self) -> Result<()> {
        if self.input.value("Recipient").is_some() {
            return Err(KmsError::UnsupportedOperation(
                "Recipient (attested enclaves) is not supported by this server.".into(),
            ));
        }
        Ok(())
    }

    /// `DryRun: true` on a request that would succeed.
    pub fn dry_run(&self) -> Result<()> {
        if self.input.bool_opt("DryRun")? == Some(true) {
            return Err(KmsError::DryRun);
        }
        Ok(())
    }
}

/// A finished operation: the reply body and what the audit record keeps of it.
#[derive(Debug)]
pub struct Done {
    /// The JSON reply.
    pub body: Value,
    /// Response elements for the audit record (never plaintext, keys or signatures).
    pub audit: Value,
}

impl Done {
    /// A reply whose audit elements are its `KeyId` only.
    pub fn with_key(body: Value) -> Done {
        let audit = body
            .get("KeyId")
            .map_or(Value::Null, |k| serde_json::json!({ "keyId": k }));
        Done { body, audit }
    }
}

/// Runs the operation named by `op`.
pub async fn dispatch(ctx: &Ctx<'_>, op: &str) -> Result<Done> {
    match op {
        "CreateKey" => keys::create_key(ctx).await,
        "DescribeKey" => keys::describe_key(ctx).await,
        "ListKeys" => keys::list_keys(ctx).await,
        "EnableKey" => keys::set_enabled(ctx, true).await,
        "DisableKey" => keys::set_enabled(ctx, false).await,
        "ScheduleKeyDeletion" => keys::schedule_key_deletion(ctx).await,
        "CancelKeyDeletion" => keys::cancel_key_deletion(ctx).await,
        "UpdateKeyDescription" => keys::update_key_description(ctx).await,
        "GetKeyPolicy" => policy::get_key_policy(ctx).await,
        "PutKeyPolicy" => policy::put_key_policy(ctx).await,
        "ListKeyPolicies" => policy::list_key_policies(ctx).await,
        "Encrypt" => crypto::encrypt(ctx).await,
        "Decrypt" => crypto::decrypt(ctx).await,
        "ReEncrypt" => crypto::re_encrypt(ctx).await,
        "GenerateDataKey" => crypto::generate_data_key(ctx, true).await,
        "GenerateDataKeyWithoutPlaintext" => crypto::generate_data_key(ctx, false).await,
        "GenerateRandom" => crypto::generate_random(ctx).await,
        "GenerateDataKeyPair" => asym::generate_data_key_pair(ctx, true).await,
        "GenerateDataKeyPairWithoutPlaintext" => asym::generate_data_key_pair(ctx, false).await,
        "Sign" => asym::sign(ctx).await,
        "Verify" => asym::verify(ctx).await,
        "GetPublicKey" => asym::get_public_key(ctx).await,
        "GenerateMac" => asym::generate_mac(ctx).await,
        "VerifyMac" => asym::verify_mac(ctx).await,
        "DeriveSharedSecret" => asym::derive_shared_secret(ctx).await,
        "CreateAlias" => aliases::create_alias(ctx).await,
        "UpdateAlias" => aliases::update_alias(ctx).await,
        "DeleteAlias" => aliases::delete_alias(ctx).await,
        "ListAliases" => aliases::list_aliases(ctx).await,
        "CreateGrant" => grants::create_grant(ctx).await,
        "ListGrants" => grants::list_grants(ctx).await,
        "ListRetirableGrants" => grants::list_retirable_grants(ctx).await,
        "RetireGrant" => grants::retire_grant(ctx).await,
        "RevokeGrant" => grants::revoke_grant(ctx).await,
        "TagResource" => tags::tag_resource(ctx).await,
        "UntagResource" => tags::untag_resource(ctx).await,
        "ListResourceTags" => tags::list_resource_tags(ctx).await,
        "EnableKeyRotation" => rotation::enable_key_rotation(ctx).await,
        "DisableKeyRotation" => rotation::disable_key_rotation(ctx).await,
        "GetKeyRotationStatus" => rotation::get_key_rotation_status(ctx).await,
        "RotateKeyOnDemand" => rotation::rotate_key_on_demand(ctx).await,
        "ListKeyRotations" => rotation::list_key_rotations(ctx).await,
        "GetParametersForImport" => import::get_parameters_for_import(ctx).await,
        "ImportKeyMaterial" => import::import_key_material(ctx).await,
        "DeleteImportedKeyMaterial" => import::delete_imported_key_material(ctx).await,
        "GetKeyLastUsage" => usage::get_key_last_usage(ctx).await,
        "CreateCustomKeyStore"
        | "ConnectCustomKeyStore"
        | "DisconnectCustomKeyStore"
        | "DeleteCustomKeyStore"
        | "DescribeCustomKeyStores"
        | "UpdateCustomKeyStore"
        | "ReplicateKey"
        | "UpdatePrimaryRegion"
        | "Encapsulate"
        | "Decapsulate" => Err(KmsError::UnsupportedOperation(format!(
            "{op} is not supported by this server."
        ))),
        other => Err(KmsError::UnknownOperation(format!(
            "Operation {other} is not a KMS operation."
        ))),
    }
}
