//! Asymmetric and HMAC operations: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
//! DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext).

use std::sync::Arc;

use portcullis_iam::policy::ContextValue;
use portcullis_kms_core::{
    self as core, DataKeyPairSpec, EncryptionAlgorithm, KeySpec, KeyUsage, MacAlgorithm,
    MessageType, SigningAlgorithm,
};
use serde_json::json;

use super::crypto::encrypt_with;
use super::{Ctx, Done};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::b64;
use crate::model::Key;
use crate::state::{Kms, Naming, Versioned};

const SIGNING_ALGORITHMS: &str = "RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512, SM2DSA, ML_DSA_SHAKE_256, ED25519_SHA_512, ED25519_PH_SHA_512";
const MAC_ALGORITHMS: &str = "HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512";
const MESSAGE_TYPES: &str = "RAW, DIGEST, EXTERNAL_MU";
const KEY_PAIR_SPECS: &str = "RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, SM2, ECC_NIST_EDWARDS25519, ML_KEM_512, ML_KEM_768, ML_KEM_1024";

fn required<T>(v: Option<T>, name: &str) -> Result<T> {
    v.ok_or_else(|| {
        let mut c = name.chars();
        let lower: String = c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default();
        KmsError::Validation(format!(
            "1 validation error detected: Value null at '{lower}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// Resolves the key, authorizes `action` (with extra condition keys), checks state and usage.
async fn usable_key(
    ctx: &Ctx<'_>,
    action: &str,
    grant_op: Option<&str>,
    usage: &str,
    extra: &[(&'static str, String)],
) -> Result<Arc<Versioned<Key>>> {
    let key = ctx
        .kms
        .resolve_shared(ctx.req, ctx.input.key_id("KeyId")?, Naming::AliasToo)
        .await?;
    let mut actx = Kms::context(ctx.req, action, Some(&key.value));
    for (k, v) in extra {
        actx = actx.with(*k, ContextValue::Single(v.clone()));
    }
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), grant_op, None)
        .await?;
    checks::require_enabled(&key.value)?;
    checks::require_usage(&key.value, usage)?;
    Ok(key)
}

fn material(ctx: &Ctx<'_>, key: &Key) -> Result<std::sync::Arc<core::KeyMaterial>> {
    let v = key
        .current()
        .ok_or_else(|| KmsError::InvalidState(format!("{} is pending import.", key.arn())))?;
    ctx.kms.material(key, v)
}

fn check_signing_algorithm(key: &Key, alg: SigningAlgorithm) -> Result<()> {
    let spec: KeySpec = key
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal("stored key spec".into()))?;
    if !spec.signing_algorithms(KeyUsage::SignVerify).contains(&alg) {
        return Err(KmsError::InvalidKeyUsage(format!(
            "Signing algorithm {} is not valid for {} (key spec {}).",
            alg.as_str(),
            key.arn(),
            key.key_spec
        )));
    }
    Ok(())
}

fn check_mac_algorithm(key: &Key, alg: MacAlgorithm) -> Result<()> {
    let spec: KeySpec = key
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal("stored key spec".into()))?;
    if !spec.mac_algorithms().contains(&alg) {
        return Err(KmsError::InvalidKeyUsage(format!(
            "MAC algorithm {} is not valid for {} (key spec {}).",
            alg.as_str(),
            key.arn(),
            key.key_spec
        )));
    }
    Ok(())
}

/// What Sign and Verify share: the algorithm and message type, and the key resolved,
/// authorized (with `kms:SigningAlgorithm` and `kms:MessageType`) and checked for both.
async fn signing_key(
    ctx: &Ctx<'_>,
    action: &str,
    grant_op: &str,
) -> Result<(Arc<Versioned<Key>>, SigningAlgorithm, MessageType)> {
    let message_type: MessageType = ctx
        .input
        .parse_opt("MessageType", MESSAGE_TYPES)?
        .unwrap_or(MessageType::Raw);
    let alg: SigningAlgorithm = required(
        ctx.input
            .parse_opt("SigningAlgorithm", SIGNING_ALGORITHMS)?,
        "SigningAlgorithm",
    )?;
    let extra = [
        ("kms:SigningAlgorithm", alg.as_str().to_owned()),
        ("kms:MessageType", message_type.as_str().to_owned()),
    ];
    let key = usable_key(ctx, action, Some(grant_op), "SIGN_VERIFY", &extra).await?;
    check_signing_algorithm(&key.value, alg)?;
    Ok((key, alg, message_type))
}

/// Sign.
pub async fn sign(ctx: &Ctx<'_>) -> Result<Done> {
    let message = ctx.input.blob_req("Message", 1..=4096)?;
    let (key, alg, message_type) = signing_key(ctx, "kms:Sign", "Sign").await?;
    ctx.dry_run()?;
    let signature = core::sign(&*material(ctx, &key.value)?, alg, message_type, &message)?;
    Ok(Done::with_key(
        json!({"KeyId": key.value.arn(), "Signature": b64(&signature), "SigningAlgorithm": alg.as_str()}),
    ))
}

/// Verify: a bad signature is `KMSInvalidSignatureException`, never `SignatureValid: false`.
pub async fn verify(ctx: &Ctx<'_>) -> Result<Done> {
    let message = ctx.input.blob_req("Message", 1..=4096)?;
    let signature = ctx.input.blob_req("Signature", 1..=6144)?;
    let (key, alg, message_type) = signing_key(ctx, "kms:Verify", "Verify").await?;
    ctx.dry_run()?;
    if !core::verify(
        &*material(ctx, &key.value)?,
        alg,
        message_type,
        &message,
        &signature,
    )? {
        return Err(KmsError::InvalidSignature);
    }
    Ok(Done::with_key(
        json!({"KeyId": key.value.arn(), "SignatureValid": true, "SigningAlgorithm": alg.as_str()}),
    ))
}

/// GetPublicKey: asymmetric keys only.
pub async fn get_public_key(ctx: &Ctx<'_>) -> Result<Done> {
    let key = ctx
        .kms
        .resolve_shared(ctx.req, ctx.input.key_id("KeyId")?, Naming::AliasToo)
        .await?;
    let actx = Kms::context(ctx.req, "kms:GetPublicKey", Some(&key.value));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), Some("GetPublicKey"), None)
        .await?;
    checks::require_enabled(&key.value)?;
    let spec: KeySpec = key
        .value
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal("stored key spec".into()))?;
    if !spec.is_asymmetric() {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} is not an asymmetric key; it has no public key.",
            key.value.arn()
        )));
    }
    let usage: KeyUsage = key
        .value
        .key_usage
        .parse()
        .map_err(|_| KmsError::Internal("stored key usage".into()))?;
    let public = material(ctx, &key.value)?.public_key_der()?;
    let mut body = json!({
        "KeyId": key.value.arn(),
        "PublicKey": b64(&public),
        "KeySpec": spec.as_str(),
        "KeyUsage": usage.as_str(),
    });
    super::render::set_algorithms(&mut body, spec, usage);
    Ok(Done::with_key(body))
}

/// GenerateMac.
pub async fn generate_mac(ctx: &Ctx<'_>) -> Result<Done> {
    let message = ctx.input.blob_req("Message", 1..=4096)?;
    let alg: MacAlgorithm = required(
        ctx.input.parse_opt("MacAlgorithm", MAC_ALGORITHMS)?,
        "MacAlgorithm",
    )?;
    let key = usable_key(
        ctx,
        "kms:GenerateMac",
        Some("GenerateMac"),
        "GENERATE_VERIFY_MAC",
        &[("kms:MacAlgorithm", alg.as_str().to_owned())],
    )
    .await?;
    check_mac_algorithm(&key.value, alg)?;
    ctx.dry_run()?;
    let mac = core::generate_mac(&*material(ctx, &key.value)?, alg, &message)?;
    Ok(Done::with_key(
        json!({"KeyId": key.value.arn(), "Mac": b64(&mac), "MacAlgorithm": alg.as_str()}),
    ))
}

/// VerifyMac: a mismatch is `KMSInvalidMacException`.
pub async fn verify_mac(ctx: &Ctx<'_>) -> Result<Done> {
    let message = ctx.input.blob_req("Message", 1..=4096)?;
    let mac = ctx.input.blob_req("Mac", 1..=6144)?;
    let alg: MacAlgorithm = required(
        ctx.input.parse_opt("MacAlgorithm", MAC_ALGORITHMS)?,
        "MacAlgorithm",
    )?;
    let key = usable_key(
        ctx,
        "kms:VerifyMac",
        Some("VerifyMac"),
        "GENERATE_VERIFY_MAC",
        &[("kms:MacAlgorithm", alg.as_str().to_owned())],
    )
    .await?;
    check_mac_algorithm(&key.value, alg)?;
    ctx.dry_run()?;
    if !core::verify_mac(&*material(ctx, &key.value)?, alg, &message, &mac)? {
        return Err(KmsError::InvalidMac);
    }
    Ok(Done::with_key(
        json!({"KeyId": key.value.arn(), "MacValid": true, "MacAlgorithm": alg.as_str()}),
    ))
}

/// DeriveSharedSecret (ECDH).
pub async fn derive_shared_secret(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.refuse_recipient()?;
    let alg = ctx.input.str_req("KeyAgreementAlgorithm", 1..=32)?;
    if alg != "ECDH" {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{alg}' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"
        )));
    }
    let peer = ctx.input.blob_req("PublicKey", 1..=8192)?;
    let key = usable_key(
        ctx,
        "kms:DeriveSharedSecret",
        Some("DeriveSharedSecret"),
        "KEY_AGREEMENT",
        &[("kms:KeyAgreementAlgorithm", "ECDH".to_owned())],
    )
    .await?;
    ctx.dry_run()?;
    let secret = core::derive_shared_secret(&*material(ctx, &key.value)?, &peer)?;
    Ok(Done::with_key(json!({
        "KeyId": key.value.arn(),
        "SharedSecret": b64(&secret),
        "KeyAgreementAlgorithm": "ECDH",
        "KeyOrigin": key.value.origin,
    })))
}

/// GenerateDataKeyPair(WithoutPlaintext): the private key encrypted under a symmetric key.
pub async fn generate_data_key_pair(ctx: &Ctx<'_>, with_plaintext: bool) -> Result<Done> {
    let (op, action) = if with_plaintext {
        ("GenerateDataKeyPair", "kms:GenerateDataKeyPair")
    } else {
        (
            "GenerateDataKeyPairWithoutPlaintext",
            "kms:GenerateDataKeyPairWithoutPlaintext",
        )
    };
    ctx.refuse_recipient()?;
    let ec = ctx.input.string_map("EncryptionContext")?;
    let spec_name = ctx.input.str_req("KeyPairSpec", 1..=64)?;
    let spec: DataKeyPairSpec = match spec_name.parse() {
        Ok(s) => s,
        Err(portcullis_kms_core::KmsCryptoError::UnsupportedSpec(_)) => {
            return Err(KmsError::UnsupportedOperation(format!(
                "KeyPairSpec {spec_name} is not supported by this server."
            )));
        }
        Err(_) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{spec_name}' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [{KEY_PAIR_SPECS}]"
            )));
        }
    };
    let key = ctx
        .kms
        .resolve_shared(ctx.req, ctx.input.key_id("KeyId")?, Naming::AliasToo)
        .await?;
    let actx = Kms::with_encryption_context(Kms::context(ctx.req, action, Some(&key.value)), &ec)
        .with(
            "kms:DataKeyPairSpec",
            ContextValue::Single(spec.as_str().into()),
        );
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), Some(op), Some(&ec))
        .await?;
    checks::require_enabled(&key.value)?;
    checks::require_symmetric_encryption(&key.value)?;
    ctx.dry_run()?;
    let (private, public) = core::generate_data_key_pair(spec)?;
    let (blob, material_id) = encrypt_with(
        ctx.kms,
        &key.value,
        EncryptionAlgorithm::SymmetricDefault,
        &private,
        &ec,
    )?;
    let mut body = json!({
        "PrivateKeyCiphertextBlob": b64(&blob),
        "PublicKey": b64(&public),
        "KeyId": key.value.arn(),
        "KeyPairSpec": spec.as_str(),
        "KeyMaterialId": material_id,
    });
    if with_plaintext {
        super::render::set(&mut body, "PrivateKeyPlaintext", json!(b64(&private)));
    }
    Ok(Done::with_key(body))
}
