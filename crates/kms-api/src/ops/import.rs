//! BYOK: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.
//!
//! GetParametersForImport makes an RSA wrapping key pair; its private half is sealed under
//! the root key in the key's `pending_import`, and the import token names it. An EXTERNAL
//! key stays bound to the first material imported into it (by a keyed fingerprint), so
//! after DeleteImportedKeyMaterial only that material comes back, under the same
//! material id, and old ciphertext decrypts again.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use portcullis_iam::policy::ContextValue;
use portcullis_kms_core::{
    self as core, KeyMaterial, KeySpec, MacAlgorithm, WrappingAlgorithm, WrappingKeySpec,
    new_material_id,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::render::set;
use super::{Ctx, Done};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::{b64, epoch};
use crate::model::{ImportIdentity, Key, KeyState, KeyVersion, PendingImport};
use crate::state::{Kms, Naming, Versioned};

/// How long import parameters stay usable.
const PARAMETERS_VALID: Duration = Duration::hours(24);
/// Imported material may expire at most this far ahead.
const MAX_VALID_TO: Duration = Duration::days(365);
/// Marks our import tokens, and their format version.
const TOKEN_PREFIX: &[u8] = b"pcit1:";
/// Domain separation for material fingerprints (the HMAC key; not a secret).
const FINGERPRINT_KEY: &[u8; 32] = b"portcullis/kms/import-fingerprnt";

/// The import token: names the key and the pending parameters. It carries no secret.
fn encode_import_token(key_id: &str, token_id: &str) -> Vec<u8> {
    [TOKEN_PREFIX, key_id.as_bytes(), b":", token_id.as_bytes()].concat()
}

/// Reads an import token into (key id, token id).
fn decode_import_token(token: &[u8]) -> Option<(&str, &str)> {
    let rest = std::str::from_utf8(token.strip_prefix(TOKEN_PREFIX)?).ok()?;
    rest.split_once(':')
}

/// The sealing context of a wrapping private key.
fn wrapping_context(key_id: &str, token_id: &str) -> String {
    format!("kms/{key_id}/import/{token_id}")
}

/// A keyed digest of material bound to its key id: recognises the same material on
/// re-import without keeping the material.
fn fingerprint(key_id: &str, material: &[u8]) -> Result<String> {
    let hmac_key = KeyMaterial::from_bytes(KeySpec::Hmac256, FINGERPRINT_KEY)?;
    let message = [key_id.as_bytes(), b"\0", material].concat();
    Ok(B64.encode(core::generate_mac(
        &hmac_key,
        MacAlgorithm::HmacSha256,
        &message,
    )?))
}

/// Refuses keys whose material is not imported (`UnsupportedOperationException`).
fn require_external(key: &Key) -> Result<()> {
    if key.origin != "EXTERNAL" {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} has origin {}; key material can only be imported into keys with origin EXTERNAL.",
            key.arn(),
            key.origin
        )));
    }
    Ok(())
}

fn parse_enum<T: std::str::FromStr<Err = core::KmsCryptoError>>(
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<T> {
    let s = ctx.input.str_req(name, 1..=64)?;
    s.parse::<T>().map_err(KmsError::from)
}

async fn load(
    ctx: &Ctx<'_>,
    action: &str,
    extra: &[(&'static str, String)],
) -> Result<Versioned<Key>> {
    let key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let mut actx = Kms::context(ctx.req, action, Some(&key.value));
    for (k, v) in extra {
        actx = actx.with(*k, ContextValue::Single(v.clone()));
    }
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    require_external(&key.value)?;
    checks::require_not_pending_deletion(&key.value)?;
    Ok(key)
}

/// GetParametersForImport.
pub async fn get_parameters_for_import(ctx: &Ctx<'_>) -> Result<Done> {
    let alg: WrappingAlgorithm = parse_enum(ctx, "WrappingAlgorithm")?;
    let spec: WrappingKeySpec = parse_enum(ctx, "WrappingKeySpec")?;
    let extra = [
        ("kms:WrappingAlgorithm", alg.as_str().to_owned()),
        ("kms:WrappingKeySpec", spec.as_str().to_owned()),
    ];
    let mut key = load(ctx, "kms:GetParametersForImport", &extra).await?;
    let params = core::generate_import_parameters(spec)?;
    let token_id = crate::grants::new_grant_id();
    let sealed_private_key = ctx
        .kms
        .sealer
        .seal(
            &wrapping_context(&key.value.key_id, &token_id),
            &params.private_key_pkcs8,
        )
        .map_err(|e| KmsError::Internal(format!("sealing the wrapping key failed: {e}")))?;
    let valid_to = ctx.now() + PARAMETERS_VALID;
    key.value.pending_import = Some(PendingImport {
        token_id: token_id.clone(),
        sealed_private_key,
        wrapping_algorithm: alg.as_str().to_owned(),
        valid_to,
    });
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done::with_key(json!({
        "KeyId": key.value.arn(),
        "ImportToken": b64(&encode_import_token(&key.value.key_id, &token_id)),
        "PublicKey": b64(&params.public_key_der),
        "ParametersValidTo": epoch(valid_to),
    })))
}

/// Reads `ValidTo` (epoch seconds).
fn valid_to(ctx: &Ctx<'_>) -> Result<Option<OffsetDateTime>> {
    let Some(v) = ctx.input.value("ValidTo") else {
        return Ok(None);
    };
    let secs = v
        .as_f64()
        .ok_or_else(|| KmsError::Serialization("Member ValidTo must be a timestamp".into()))?;
    if !secs.is_finite() || secs.abs() > 1e12 {
        return Err(KmsError::Serialization(
            "Member ValidTo is not a valid timestamp".into(),
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    let nanos = (secs * 1e9) as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(Some)
        .map_err(|_| KmsError::Serialization("Member ValidTo is not a valid timestamp".into()))
}

/// ImportKeyMaterial.
pub async fn import_key_material(ctx: &Ctx<'_>) -> Result<Done> {
    let token = ctx.input.blob_req("ImportToken", 1..=6144)?;
    let encrypted = ctx.input.blob_req("EncryptedKeyMaterial", 1..=6144)?;
    let model = ctx
        .input
        .str_opt("ExpirationModel", 1..=64)?
        .unwrap_or("KEY_MATERIAL_EXPIRES")
        .to_owned();
    let expires = match model.as_str() {
        "KEY_MATERIAL_EXPIRES" => true,
        "KEY_MATERIAL_DOES_NOT_EXPIRE" => false,
        other => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'expirationModel' failed to satisfy constraint: Member must satisfy enum value set: [KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE]"
            )));
        }
    };
    let until = valid_to(ctx)?;
    match (expires, until) {
        (true, None) => {
            return Err(KmsError::Validation(
                "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(KmsError::Validation(
                "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
                    .into(),
            ));
        }
        (true, Some(t)) if t <= ctx.now() || t > ctx.now() + MAX_VALID_TO => {
            return Err(KmsError::Validation(
                "ValidTo must be in the future and at most 365 days from now.".into(),
            ));
        }
        _ => {}
    }
    if ctx.input.str_opt("ImportType", 1..=64)? == Some("NEW_KEY_MATERIAL") {
        return Err(KmsError::UnsupportedOperation(
            "Importing new key material for rotation is not supported by this server; import the key's own material.".into(),
        ));
    }
    let named_material = ctx
        .input
        .str_opt("KeyMaterialId", 64..=64)?
        .map(str::to_owned);
    let mut extra = vec![("kms:ExpirationModel", model.clone())];
    if let Some(t) = until {
        extra.push(("kms:ValidTo", t.unix_timestamp().to_string()));
    }
    let mut key = load(ctx, "kms:ImportKeyMaterial", &extra).await?;
    let invalid =
        || KmsError::InvalidImportToken("The import token is not valid for this key.".into());
    let (token_key, token_id) = decode_import_token(&token).ok_or_else(invalid)?;
    let pending = key.value.pending_import.clone().ok_or_else(invalid)?;
    if token_key != key.value.key_id || token_id != pending.token_id {
        return Err(invalid());
    }
    if pending.valid_to <= ctx.now() {
        return Err(KmsError::ExpiredImportToken(
            "The import token has expired; get new import parameters.".into(),
        ));
    }
    let alg: WrappingAlgorithm = pending
        .wrapping_algorithm
        .parse()
        .map_err(|_| KmsError::Internal("bad stored wrapping algorithm".into()))?;
    let private = ctx
        .kms
        .sealer
        .open(
            &wrapping_context(&key.value.key_id, token_id),
            &pending.sealed_private_key,
        )
        .map_err(|e| KmsError::Internal(format!("the wrapping key does not open: {e}")))?;
    let plain = core::unwrap_imported_material(&private, alg, &encrypted).map_err(|e| match e {
        core::KmsCryptoError::InvalidCiphertext => KmsError::InvalidCiphertext,
        other => KmsError::from(other),
    })?;
    let spec: KeySpec = key
        .value
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal("bad stored spec".into()))?;
    let material = KeyMaterial::from_bytes(spec, &plain)?;
    let print = fingerprint(&key.value.key_id, material.as_bytes())?;
    let material_id = match &key.value.import_identity {
        Some(id) if id.fingerprint != print => {
            return Err(KmsError::IncorrectKeyMaterial(
                "The key material is not the material previously imported into this key.".into(),
            ));
        }
        Some(id) => id.material_id.clone(),
        None => new_material_id(),
    };
    if named_material.as_ref().is_some_and(|m| *m != material_id) {
        return Err(KmsError::IncorrectKeyMaterial(format!(
            "KeyMaterialId does not identify this key's material ({material_id})."
        )));
    }
    let sealed = ctx
        .kms
        .seal_material(&key.value.key_id, &material_id, &material)?;
    let k = &mut key.value;
    k.versions.retain(|v| v.material_id != material_id);
    k.versions.push(KeyVersion {
        material_id: material_id.clone(),
        sealed,
        created: ctx.now(),
        rotation_type: None,
        valid_to: until,
    });
    k.import_identity = Some(ImportIdentity {
        material_id: material_id.clone(),
        fingerprint: print,
    });
    k.expiration_model = Some(model);
    if k.state == KeyState::PendingImport {
        k.state = KeyState::Enabled;
    }
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done::with_key(
        json!({ "KeyId": key.value.arn(), "KeyMaterialId": material_id }),
    ))
}

/// Drops an EXTERNAL key's material: state PendingImport (a key pending deletion stays so).
/// Shared by DeleteImportedKeyMaterial and the expiry of imported material.
pub fn drop_material(key: &mut Key) {
    key.versions.clear();
    key.expiration_model = None;
    if key.state != KeyState::PendingDeletion {
        key.state = KeyState::PendingImport;
    }
}

/// DeleteImportedKeyMaterial.
pub async fn delete_imported_key_material(ctx: &Ctx<'_>) -> Result<Done> {
    let named = ctx
        .input
        .str_opt("KeyMaterialId", 64..=64)?
        .map(str::to_owned);
    let key_id = ctx.input.key_id("KeyId")?;
    let mut key = ctx.kms.resolve(ctx.req, key_id, Naming::KeyOnly).await?;
    let actx = Kms::context(ctx.req, "kms:DeleteImportedKeyMaterial", Some(&key.value));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    require_external(&key.value)?;
    let current = key.value.current().map(|v| v.material_id.clone());
    if let Some(m) = &named
        && current.as_ref() != Some(m)
    {
        return Err(KmsError::NotFound(format!(
            "Key material {m} is not imported into {}.",
            key.value.arn()
        )));
    }
    if !key.value.versions.is_empty() {
        drop_material(&mut key.value);
        ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    }
    let mut body = json!({ "KeyId": key.value.arn() });
    if let Some(m) = current {
        set(&mut body, "KeyMaterialId", json!(m));
    }
    Ok(Done::with_key(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_tokens_round_trip() {
        let t = encode_import_token("1234abcd-12ab", "ff00");
        assert_eq!(decode_import_token(&t), Some(("1234abcd-12ab", "ff00")));
        assert_eq!(decode_import_token(b"other:a:b"), None);
        assert_eq!(decode_import_token(b"pcit1:nocolon"), None);
    }

    #[test]
    fn fingerprints_bind_material_and_key() {
        let a = fingerprint("k1", &[1u8; 32]).unwrap();
        assert_eq!(a, fingerprint("k1", &[1u8; 32]).unwrap());
        assert_ne!(a, fingerprint("k1", &[2u8; 32]).unwrap());
        assert_ne!(a, fingerprint("k2", &[1u8; 32]).unwrap());
    }
}
