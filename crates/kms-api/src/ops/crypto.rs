//! Symmetric and RSA data operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext, GenerateRandom.

use std::collections::BTreeMap;
use std::sync::Arc;

use portcullis_iam::policy::ContextValue;
use portcullis_kms_core::{
    self as core, DataKeySpec, EncryptionAlgorithm, EncryptionContext, KeySpec,
};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Ctx, Done};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::b64;
use crate::model::Key;
use crate::state::{Kms, Naming, Versioned};

const ENCRYPTION_ALGORITHMS: &str =
    "SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE";

/// Ciphertext blobs are at most this long.
pub const MAX_CIPHERTEXT: usize = 6144;

fn algorithm(ctx: &Ctx<'_>, name: &str) -> Result<EncryptionAlgorithm> {
    Ok(ctx
        .input
        .parse_opt(name, ENCRYPTION_ALGORITHMS)?
        .unwrap_or(EncryptionAlgorithm::SymmetricDefault))
}

fn context(ctx: &Ctx<'_>, name: &str) -> Result<BTreeMap<String, String>> {
    ctx.input.string_map(name)
}

/// Checks the algorithm fits the key and the context is allowed with it.
fn check_algorithm(
    key: &Key,
    alg: EncryptionAlgorithm,
    ec: &BTreeMap<String, String>,
) -> Result<()> {
    let spec: KeySpec = key
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal("stored key spec".into()))?;
    let usage = key
        .key_usage
        .parse()
        .map_err(|_| KmsError::Internal("stored key usage".into()))?;
    if !spec.encryption_algorithms(usage).contains(&alg) {
        return Err(KmsError::InvalidKeyUsage(format!(
            "Encryption algorithm {} is not valid for {} (key spec {}).",
            alg.as_str(),
            key.arn(),
            key.key_spec
        )));
    }
    if alg != EncryptionAlgorithm::SymmetricDefault && !ec.is_empty() {
        return Err(KmsError::Validation(format!(
            "EncryptionContext is not supported with the {} encryption algorithm.",
            alg.as_str()
        )));
    }
    Ok(())
}

/// Encrypts under the key's current material; returns the blob and the material id.
pub fn encrypt_with(
    kms: &Kms,
    key: &Key,
    alg: EncryptionAlgorithm,
    plaintext: &[u8],
    ec: &BTreeMap<String, String>,
) -> Result<(Vec<u8>, String)> {
    let version = key
        .current()
        .ok_or_else(|| KmsError::InvalidState(format!("{} is pending import.", key.arn())))?;
    let material = kms.material(key, version)?;
    let blob = if alg == EncryptionAlgorithm::SymmetricDefault {
        core::encrypt_symmetric(
            &key.key_id,
            &version.material_id,
            &material,
            plaintext,
            &EncryptionContext(ec.clone()),
        )?
    } else {
        core::rsa_encrypt(&material, alg, plaintext)?
    };
    Ok((blob, version.material_id.clone()))
}

/// What a successful decryption yields.
pub struct Opened {
    /// The key that decrypted it.
    pub key: Arc<Versioned<Key>>,
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The material version used.
    pub material_id: String,
    /// The algorithm used.
    pub algorithm: EncryptionAlgorithm,
}

/// Finds the key for a ciphertext, authorizes `action`, and decrypts.
#[allow(clippy::too_many_arguments)]
pub async fn open_ciphertext(
    ctx: &Ctx<'_>,
    blob: &[u8],
    key_id: Option<&str>,
    alg: EncryptionAlgorithm,
    ec: &BTreeMap<String, String>,
    action: &str,
    grant_op: &str,
) -> Result<Opened> {
    let named = match key_id {
        Some(id) => Some(
            ctx.kms
                .resolve_shared(ctx.req, id, Naming::AliasToo)
                .await?,
        ),
        None => None,
    };
    let key = if alg == EncryptionAlgorithm::SymmetricDefault {
        let header = core::parse_ciphertext(blob).map_err(|_| KmsError::InvalidCiphertext)?;
        let embedded = match ctx
            .kms
            .resolve_shared(ctx.req, &header.key_id, Naming::KeyOnly)
            .await
        {
            Ok(k) => k,
            Err(KmsError::NotFound(_) | KmsError::InvalidArn(_)) => {
                return Err(KmsError::InvalidCiphertext);
            }
            Err(e) => return Err(e),
        };
        if let Some(n) = &named
            && n.value.key_id != embedded.value.key_id
        {
            return Err(KmsError::IncorrectKey);
        }
        embedded
    } else {
        named.ok_or_else(|| {
            KmsError::Validation(
                "KeyId is required to decrypt ciphertext made with an asymmetric key.".into(),
            )
        })?
    };
    let actx = Kms::with_encryption_context(Kms::context(ctx.req, action, Some(&key.value)), ec)
        .with(
            "kms:EncryptionAlgorithm",
            ContextValue::Single(alg.as_str().into()),
        );
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), Some(grant_op), Some(ec))
        .await?;
    checks::require_enabled(&key.value)?;
    checks::require_usage(&key.value, "ENCRYPT_DECRYPT")?;
    check_algorithm(&key.value, alg, ec)?;
    let (plaintext, material_id) = if alg == EncryptionAlgorithm::SymmetricDefault {
        let header = core::parse_ciphertext(blob).map_err(|_| KmsError::InvalidCiphertext)?;
        let version = key
            .value
            .version(&header.material_id)
            .ok_or(KmsError::InvalidCiphertext)?;
        let material = ctx.kms.material(&key.value, version)?;
        let pt = core::decrypt_symmetric(blob, &material, &EncryptionContext(ec.clone()))
            .map_err(|_| KmsError::InvalidCiphertext)?;
        (pt, header.material_id)
    } else {
        let version = key.value.current().ok_or(KmsError::InvalidCiphertext)?;
        let material = ctx.kms.material(&key.value, version)?;
        let pt =
            core::rsa_decrypt(&material, alg, blob).map_err(|_| KmsError::InvalidCiphertext)?;
        (pt, version.material_id.clone())
    };
    Ok(Opened {
        key,
        plaintext,
        material_id,
        algorithm: alg,
    })
}

/// Encrypt.
pub async fn encrypt(ctx: &Ctx<'_>) -> Result<Done> {
    let plaintext = Zeroizing::new(ctx.input.blob_req("Plaintext", 1..=4096)?);
    let ec = context(ctx, "EncryptionContext")?;
    let alg = algorithm(ctx, "EncryptionAlgorithm")?;
    let key = ctx
        .kms
        .resolve_shared(ctx.req, ctx.input.key_id("KeyId")?, Naming::AliasToo)
        .await?;
    let actx =
        Kms::with_encryption_context(Kms::context(ctx.req, "kms:Encrypt", Some(&key.value)), &ec)
            .with(
                "kms:EncryptionAlgorithm",
                ContextValue::Single(alg.as_str().into()),
            );
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), Some("Encrypt"), Some(&ec))
        .await?;
    checks::require_enabled(&key.value)?;
    checks::require_usage(&key.value, "ENCRYPT_DECRYPT")?;
    check_algorithm(&key.value, alg, &ec)?;
    ctx.dry_run()?;
    let (blob, _) = encrypt_with(ctx.kms, &key.value, alg, &plaintext, &ec)?;
    Ok(Done::with_key(json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.value.arn(),
        "EncryptionAlgorithm": alg.as_str(),
    })))
}

/// Decrypt.
pub async fn decrypt(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.refuse_recipient()?;
    let blob = ctx.input.blob_req("CiphertextBlob", 1..=MAX_CIPHERTEXT)?;
    let ec = context(ctx, "EncryptionContext")?;
    let alg = algorithm(ctx, "EncryptionAlgorithm")?;
    let key_id = ctx.input.str_opt("KeyId", 1..=2048)?;
    let opened = open_ciphertext(ctx, &blob, key_id, alg, &ec, "kms:Decrypt", "Decrypt").await?;
    ctx.dry_run()?;
    Ok(Done::with_key(json!({
        "KeyId": opened.key.value.arn(),
        "Plaintext": b64(&opened.plaintext),
        "EncryptionAlgorithm": opened.algorithm.as_str(),
        "KeyMaterialId": opened.material_id,
    })))
}

/// ReEncrypt: decrypt and encrypt again inside the service.
pub async fn re_encrypt(ctx: &Ctx<'_>) -> Result<Done> {
    let blob = ctx.input.blob_req("CiphertextBlob", 1..=MAX_CIPHERTEXT)?;
    let src_ec = context(ctx, "SourceEncryptionContext")?;
    let dst_ec = context(ctx, "DestinationEncryptionContext")?;
    let src_alg = algorithm(ctx, "SourceEncryptionAlgorithm")?;
    let dst_alg = algorithm(ctx, "DestinationEncryptionAlgorithm")?;
    let dst_id = ctx.input.key_id("DestinationKeyId")?;
    let src_id = ctx.input.str_opt("SourceKeyId", 1..=2048)?;
    let opened = open_ciphertext(
        ctx,
        &blob,
        src_id,
        src_alg,
        &src_ec,
        "kms:ReEncryptFrom",
        "ReEncryptFrom",
    )
    .await?;
    let dst = ctx
        .kms
        .resolve_shared(ctx.req, dst_id, Naming::AliasToo)
        .await?;
    let same = dst.value.key_id == opened.key.value.key_id;
    let actx = Kms::with_encryption_context(
        Kms::context(ctx.req, "kms:ReEncryptTo", Some(&dst.value)),
        &dst_ec,
    )
    .with(
        "kms:EncryptionAlgorithm",
        ContextValue::Single(dst_alg.as_str().into()),
    )
    .with(
        "kms:ReEncryptOnSameKey",
        ContextValue::Single(same.to_string()),
    );
    ctx.kms
        .authorize(
            ctx.req,
            &actx,
            Some(&dst.value),
            Some("ReEncryptTo"),
            Some(&dst_ec),
        )
        .await?;
    checks::require_enabled(&dst.value)?;
    checks::require_usage(&dst.value, "ENCRYPT_DECRYPT")?;
    check_algorithm(&dst.value, dst_alg, &dst_ec)?;
    ctx.dry_run()?;
    let (new_blob, dst_material) =
        encrypt_with(ctx.kms, &dst.value, dst_alg, &opened.plaintext, &dst_ec)?;
    Ok(Done::with_key(json!({
        "CiphertextBlob": b64(&new_blob),
        "SourceKeyId": opened.key.value.arn(),
        "KeyId": dst.value.arn(),
        "SourceEncryptionAlgorithm": src_alg.as_str(),
        "DestinationEncryptionAlgorithm": dst_alg.as_str(),
        "SourceKeyMaterialId": opened.material_id,
        "DestinationKeyMaterialId": dst_material,
    })))
}

/// GenerateDataKey and GenerateDataKeyWithoutPlaintext.
pub async fn generate_data_key(ctx: &Ctx<'_>, with_plaintext: bool) -> Result<Done> {
    let (op, action) = if with_plaintext {
        ("GenerateDataKey", "kms:GenerateDataKey")
    } else {
        (
            "GenerateDataKeyWithoutPlaintext",
            "kms:GenerateDataKeyWithoutPlaintext",
        )
    };
    ctx.refuse_recipient()?;
    let ec = context(ctx, "EncryptionContext")?;
    let n = ctx.input.int_opt("NumberOfBytes", 1..=1024)?;
    let spec: Option<DataKeySpec> = ctx.input.parse_opt("KeySpec", "AES_256, AES_128")?;
    if n.is_some() == spec.is_some() {
        return Err(KmsError::Validation(
            "Please specify either number of bytes or key spec.".into(),
        ));
    }
    let key = ctx
        .kms
        .resolve_shared(ctx.req, ctx.input.key_id("KeyId")?, Naming::AliasToo)
        .await?;
    let actx = Kms::with_encryption_context(Kms::context(ctx.req, action, Some(&key.value)), &ec);
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), Some(op), Some(&ec))
        .await?;
    checks::require_enabled(&key.value)?;
    checks::require_symmetric_encryption(&key.value)?;
    ctx.dry_run()?;
    let data_key = core::generate_data_key(spec, n.and_then(|n| usize::try_from(n).ok()))?;
    let (blob, material_id) = encrypt_with(
        ctx.kms,
        &key.value,
        EncryptionAlgorithm::SymmetricDefault,
        &data_key,
        &ec,
    )?;
    let mut body = json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.value.arn(),
        "KeyMaterialId": material_id,
    });
    if with_plaintext {
        super::render::set(&mut body, "Plaintext", json!(b64(&data_key)));
    }
    Ok(Done::with_key(body))
}

/// GenerateRandom: no key involved; IAM policy only.
pub async fn generate_random(ctx: &Ctx<'_>) -> Result<Done> {
    if ctx.input.str_opt("CustomKeyStoreId", 1..=64)?.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Custom key stores are not supported by this server.".into(),
        ));
    }
    ctx.refuse_recipient()?;
    let n = ctx
        .input
        .int_opt("NumberOfBytes", 1..=1024)?
        .ok_or_else(|| KmsError::Validation("NumberOfBytes is required.".into()))?;
    let actx = Kms::context(ctx.req, "kms:GenerateRandom", None);
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await?;
    let bytes = core::random_bytes(usize::try_from(n).unwrap_or(0))?;
    Ok(Done {
        body: json!({ "Plaintext": b64(&bytes) }),
        audit: Value::Null,
    })
}
