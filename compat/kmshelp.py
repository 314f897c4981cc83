"""Shared helpers for the KMS compatibility tests (AWS semantics, reference: shared/reference/kms.md)."""
import hashlib
import re

import botocore.exceptions
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from conftest import ACCOUNT_ID, REGION

ClientError = botocore.exceptions.ClientError

KEY_ARN_RE = re.compile(rf"^arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/([0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_MATERIAL_ID_RE = re.compile(r"^[0-9a-f]{64}$")

# Specs the brief treats as optional: the server may answer UnsupportedOperationException for them,
# but if it creates the key, the key must really work.
OPTIONAL_SPECS = {"ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87",
                  "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024", "SM2"}

RSA_SIGNING = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
               "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]
RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
ECDSA_FOR = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
             "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}
HMAC_FOR = {"HMAC_224": "HMAC_SHA_224", "HMAC_256": "HMAC_SHA_256",
            "HMAC_384": "HMAC_SHA_384", "HMAC_512": "HMAC_SHA_512"}
HMAC_LEN = {"HMAC_SHA_224": 28, "HMAC_SHA_256": 32, "HMAC_SHA_384": 48, "HMAC_SHA_512": 64}
CURVE_FOR = {"ECC_NIST_P256": ec.SECP256R1(), "ECC_NIST_P384": ec.SECP384R1(),
             "ECC_NIST_P521": ec.SECP521R1(), "ECC_SECG_P256K1": ec.SECP256K1()}


def hash_for(alg):
    """Hash object used by a KMS signing algorithm (SHA-256/384/512 by suffix)."""
    for bits, h in (("256", hashes.SHA256), ("384", hashes.SHA384), ("512", hashes.SHA512)):
        if alg.endswith("_" + bits):
            return h()
    raise ValueError(alg)


def digest(alg, message):
    """The digest a DIGEST-mode request must carry for `alg`."""
    return hashlib.new(hash_for(alg).name, message).digest()


def expect_error(codes, fn, *args, **kwargs):
    """Call fn and require a ClientError whose code is `codes` (str) or one of `codes` (tuple)."""
    if isinstance(codes, str):
        codes = (codes,)
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    code = e.value.response["Error"]["Code"]
    assert code in codes, f"expected {codes}, got {code}: {e.value.response['Error'].get('Message')}"
    return e.value.response


def create_key(kms, spec="SYMMETRIC_DEFAULT", usage=None, **kwargs):
    """CreateKey and return KeyMetadata. Optional specs skip the calling test when the server declares them
    unsupported (UnsupportedOperationException) — never any other error."""
    args = dict(KeySpec=spec, **kwargs)
    if usage:
        args["KeyUsage"] = usage
    try:
        return kms.create_key(**args)["KeyMetadata"]
    except ClientError as e:
        if spec in OPTIONAL_SPECS and e.response["Error"]["Code"] == "UnsupportedOperationException":
            pytest.skip(f"server declares {spec} unsupported")
        raise


def public_key(kms, key_id):
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


def verify_locally(pub, alg, signature, message, prehashed=False):
    """Verify a KMS signature with `cryptography`. Raises InvalidSignature on failure.
    prehashed=True: `message` is the digest (MessageType DIGEST)."""
    if alg == "ED25519_SHA_512":
        assert isinstance(pub, ed25519.Ed25519PublicKey)
        pub.verify(signature, message)
        return
    h = hash_for(alg)
    algo = utils.Prehashed(h) if prehashed else h
    if alg.startswith("RSASSA_PSS_"):
        # KMS: RSA-PSS with MGF1 on the same hash and salt length = digest length (reference §4.5).
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), algo)
    elif alg.startswith("RSASSA_PKCS1_V1_5_"):
        pub.verify(signature, message, padding.PKCS1v15(), algo)
    elif alg.startswith("ECDSA_"):
        pub.verify(signature, message, ec.ECDSA(algo))
    else:
        raise ValueError(alg)


__all__ = ["InvalidSignature", "rsa", "ec", "ed25519", "padding", "hashes", "serialization"]
