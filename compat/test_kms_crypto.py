"""KMS cryptographic operations, checked against AWS semantics and locally with `cryptography`.

Reference: shared/reference/kms.md §4.2–§4.8 (what moto and other emulators get wrong is called out).
"""
import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from kmshelp import (CURVE_FOR, ECDSA_FOR, HMAC_FOR, HMAC_LEN, KEY_MATERIAL_ID_RE, RSA_SIGNING, ClientError,
                     InvalidSignature, create_key, digest, expect_error, public_key, verify_locally)

_cache = {}


def key(kms, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT", tag=""):
    """One key per (spec, usage, tag) for the module: key creation (RSA-4096!) is the slow part."""
    k = (spec, usage, tag)
    if k not in _cache:
        _cache[k] = create_key(kms, spec, usage)
    return _cache[k]


def der(pub):
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ------------------------------------------------------------------ symmetric Encrypt / Decrypt

def test_encrypt_decrypt_round_trip_without_context(kms):
    k = key(kms)
    pt = os.urandom(100)
    enc = kms.encrypt(KeyId=k["KeyId"], Plaintext=pt)
    assert enc["KeyId"] == k["Arn"]
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert pt not in enc["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])  # no KeyId: the blob identifies the key
    assert dec["Plaintext"] == pt
    assert dec["KeyId"] == k["Arn"]
    assert dec["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert KEY_MATERIAL_ID_RE.match(dec["KeyMaterialId"])
    # Randomised encryption: the same plaintext twice gives different blobs.
    assert kms.encrypt(KeyId=k["KeyId"], Plaintext=pt)["CiphertextBlob"] != enc["CiphertextBlob"]


def test_encrypt_decrypt_with_context(kms):
    k = key(kms)
    ctx = {"purpose": "backup", "tenant": "t-1", "z": "", "ünï": "cödé"}
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=b"hello", EncryptionContext=ctx)["CiphertextBlob"]
    # Pair order does not matter.
    reordered = dict(reversed(list(ctx.items())))
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext=reordered)["Plaintext"] == b"hello"
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext=ctx, KeyId=k["KeyId"])["Plaintext"] == b"hello"


@pytest.mark.parametrize("bad_ctx", [
    None,  # context omitted
    {"purpose": "backup"},  # subset
    {"purpose": "backup", "tenant": "t-1", "extra": "x"},  # superset
    {"purpose": "Backup", "tenant": "t-1"},  # value case
    {"Purpose": "backup", "tenant": "t-1"},  # key case
    {"purpose": "backup", "tenant": "t-2"},  # value
], ids=["omitted", "subset", "superset", "value-case", "key-case", "value"])
def test_context_mismatch_is_invalid_ciphertext(kms, bad_ctx):
    k = key(kms)
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=b"p",
                     EncryptionContext={"purpose": "backup", "tenant": "t-1"})["CiphertextBlob"]
    args = {"CiphertextBlob": ct}
    if bad_ctx is not None:
        args["EncryptionContext"] = bad_ctx
    expect_error("InvalidCiphertextException", kms.decrypt, **args)


def test_context_given_but_not_used_at_encrypt(kms):
    k = key(kms)
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=b"p")["CiphertextBlob"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct, EncryptionContext={"a": "b"})


def test_tampered_ciphertext_every_byte(kms):
    k = key(kms)
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=b"tamper me", EncryptionContext={"a": "b"})["CiphertextBlob"]
    failures = []
    for i in range(len(ct)):
        bad = bytearray(ct)
        bad[i] ^= 0x01
        try:
            kms.decrypt(CiphertextBlob=bytes(bad), EncryptionContext={"a": "b"})
            failures.append((i, "accepted"))
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvalidCiphertextException":
                failures.append((i, e.response["Error"]["Code"]))
    assert not failures, f"blob of {len(ct)} bytes; bad positions: {failures[:20]}"
    for bad in (ct[:-1], ct[: len(ct) // 2], ct + b"\x00", b"\x00" * len(ct), os.urandom(64)):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bad, EncryptionContext={"a": "b"})


def test_ciphertext_from_another_key_with_wrong_key_id(kms):
    a, b = key(kms), key(kms, tag="b")
    ct = kms.encrypt(KeyId=a["Arn"], Plaintext=b"p")["CiphertextBlob"]
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=ct, KeyId=b["Arn"])
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=ct, KeyId=b["KeyId"])


def test_plaintext_size_limits(kms):
    k = key(kms)
    pt = os.urandom(4096)
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=pt)["CiphertextBlob"]
    assert len(ct) <= 6144
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == pt
    expect_error("ValidationException", kms.encrypt, KeyId=k["Arn"], Plaintext=os.urandom(4097))
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=k["Arn"], Plaintext=b"\x00")["CiphertextBlob"])["Plaintext"] == b"\x00"


def test_reencrypt_across_keys_and_contexts(kms):
    a, b = key(kms), key(kms, tag="b")
    ct = kms.encrypt(KeyId=a["Arn"], Plaintext=b"move me", EncryptionContext={"c": "1"})["CiphertextBlob"]
    resp = kms.re_encrypt(CiphertextBlob=ct, SourceEncryptionContext={"c": "1"},
                          DestinationKeyId=b["KeyId"], DestinationEncryptionContext={"c": "2"})
    assert resp["SourceKeyId"] == a["Arn"]
    assert resp["KeyId"] == b["Arn"]
    assert resp["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert resp["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert "Plaintext" not in resp
    new = resp["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=new, EncryptionContext={"c": "2"})
    assert dec["Plaintext"] == b"move me" and dec["KeyId"] == b["Arn"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=new, EncryptionContext={"c": "1"})
    # Same key, new context.
    same = kms.re_encrypt(CiphertextBlob=ct, SourceEncryptionContext={"c": "1"}, DestinationKeyId=a["Arn"])
    assert kms.decrypt(CiphertextBlob=same["CiphertextBlob"])["Plaintext"] == b"move me"
    # Wrong source context / wrong SourceKeyId.
    expect_error("InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=ct,
                 SourceEncryptionContext={"c": "X"}, DestinationKeyId=b["Arn"])
    expect_error("IncorrectKeyException", kms.re_encrypt, CiphertextBlob=ct, SourceKeyId=b["Arn"],
                 SourceEncryptionContext={"c": "1"}, DestinationKeyId=a["Arn"])


# ------------------------------------------------------------------ data keys and randomness

@pytest.mark.parametrize("args,size", [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                                       ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 64}, 64),
                                       ({"NumberOfBytes": 1024}, 1024)],
                         ids=["AES_256", "AES_128", "n1", "n64", "n1024"])
def test_generate_data_key(kms, args, size):
    k = key(kms)
    resp = kms.generate_data_key(KeyId=k["KeyId"], EncryptionContext={"dk": "1"}, **args)
    assert len(resp["Plaintext"]) == size
    assert resp["KeyId"] == k["Arn"]
    assert KEY_MATERIAL_ID_RE.match(resp["KeyMaterialId"])
    dec = kms.decrypt(CiphertextBlob=resp["CiphertextBlob"], EncryptionContext={"dk": "1"})
    assert dec["Plaintext"] == resp["Plaintext"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=resp["CiphertextBlob"])


def test_generate_data_key_argument_rules(kms):
    k = key(kms)
    expect_error("ValidationException", kms.generate_data_key, KeyId=k["Arn"], KeySpec="AES_256", NumberOfBytes=32)
    expect_error("ValidationException", kms.generate_data_key, KeyId=k["Arn"])
    expect_error("ValidationException", kms.generate_data_key, KeyId=k["Arn"], NumberOfBytes=1025)
    expect_error("ValidationException", kms.generate_data_key_without_plaintext, KeyId=k["Arn"])
    expect_error("ValidationException", kms.generate_data_key_without_plaintext, KeyId=k["Arn"],
                 KeySpec="AES_128", NumberOfBytes=16)


def test_generate_data_keys_are_random(kms):
    k = key(kms)
    keys = {kms.generate_data_key(KeyId=k["Arn"], KeySpec="AES_256")["Plaintext"] for _ in range(5)}
    assert len(keys) == 5


def test_generate_data_key_without_plaintext(kms):
    k = key(kms)
    resp = kms.generate_data_key_without_plaintext(KeyId=k["Arn"], KeySpec="AES_256", EncryptionContext={"x": "y"})
    assert "Plaintext" not in resp
    assert resp["KeyId"] == k["Arn"]
    assert len(kms.decrypt(CiphertextBlob=resp["CiphertextBlob"], EncryptionContext={"x": "y"})["Plaintext"]) == 32
    resp = kms.generate_data_key_without_plaintext(KeyId=k["Arn"], NumberOfBytes=48)
    assert len(kms.decrypt(CiphertextBlob=resp["CiphertextBlob"])["Plaintext"]) == 48


def test_generate_random(kms):
    for n in (1, 32, 1024):
        assert len(kms.generate_random(NumberOfBytes=n)["Plaintext"]) == n
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != kms.generate_random(NumberOfBytes=32)["Plaintext"]
    expect_error("ValidationException", kms.generate_random, NumberOfBytes=1025)


# ------------------------------------------------------------------ RSA encryption (§4.4)

RSA_MAX = {("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
           ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
           ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446}
OAEP_HASH = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}


def oaep(alg):
    h = OAEP_HASH[alg]()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


@pytest.mark.parametrize("alg", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encrypt_in_kms_decrypt_in_kms(kms, alg):
    k = key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    pt = os.urandom(100)
    enc = kms.encrypt(KeyId=k["Arn"], Plaintext=pt, EncryptionAlgorithm=alg)
    assert enc["EncryptionAlgorithm"] == alg
    assert len(enc["CiphertextBlob"]) == 256, "RSA_2048 ciphertext is exactly the modulus size"
    dec = kms.decrypt(KeyId=k["Arn"], CiphertextBlob=enc["CiphertextBlob"], EncryptionAlgorithm=alg)
    assert dec["Plaintext"] == pt and dec["EncryptionAlgorithm"] == alg


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
@pytest.mark.parametrize("alg", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_offline_encrypt_kms_decrypt(kms, spec, alg):
    """Ciphertext made OFFLINE with the GetPublicKey DER must decrypt in KMS (moto/LocalStack fail this)."""
    k = key(kms, spec, "ENCRYPT_DECRYPT")
    gpk = kms.get_public_key(KeyId=k["Arn"])
    assert gpk["KeySpec"] == spec and gpk["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert sorted(gpk["EncryptionAlgorithms"]) == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    pub = serialization.load_der_public_key(gpk["PublicKey"])
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == int(spec[4:])
    pt = os.urandom(RSA_MAX[spec, alg])
    ct = pub.encrypt(pt, oaep(alg))
    dec = kms.decrypt(KeyId=k["KeyId"], CiphertextBlob=ct, EncryptionAlgorithm=alg)
    assert dec["Plaintext"] == pt


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
@pytest.mark.parametrize("alg", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_plaintext_size_limits(kms, spec, alg):
    k = key(kms, spec, "ENCRYPT_DECRYPT")
    limit = RSA_MAX[spec, alg]
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=os.urandom(limit), EncryptionAlgorithm=alg)["CiphertextBlob"]
    assert len(ct) == int(spec[4:]) // 8
    expect_error("ValidationException", kms.encrypt, KeyId=k["Arn"], Plaintext=os.urandom(limit + 1),
                 EncryptionAlgorithm=alg)


def test_rsa_decrypt_rules(kms):
    k = key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    pub = public_key(kms, k["Arn"])
    ct = pub.encrypt(b"abc", oaep("RSAES_OAEP_SHA_256"))
    # Wrong OAEP hash → the padding check fails → InvalidCiphertextException.
    expect_error("InvalidCiphertextException", kms.decrypt, KeyId=k["Arn"], CiphertextBlob=ct,
                 EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    bad = bytearray(ct)
    bad[10] ^= 0xFF
    expect_error("InvalidCiphertextException", kms.decrypt, KeyId=k["Arn"], CiphertextBlob=bytes(bad),
                 EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    # SYMMETRIC_DEFAULT is not an algorithm of an RSA key.
    expect_error(("InvalidKeyUsageException", "ValidationException"), kms.encrypt, KeyId=k["Arn"], Plaintext=b"x")
    expect_error(("InvalidKeyUsageException", "ValidationException"), kms.encrypt, KeyId=k["Arn"], Plaintext=b"x",
                 EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    # Symmetric key with an RSA algorithm.
    expect_error(("InvalidKeyUsageException", "ValidationException"), kms.encrypt, KeyId=key(kms)["Arn"],
                 Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")


# ------------------------------------------------------------------ signing (§4.5)

SIGN_CASES = ([(f"RSA_{n}", a) for n in (2048, 3072, 4096) for a in RSA_SIGNING]
              + [(s, a) for s, a in ECDSA_FOR.items()]
              + [("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")])


@pytest.mark.parametrize("spec,alg", SIGN_CASES, ids=[f"{s}-{a}" for s, a in SIGN_CASES])
def test_sign_raw_verify_locally_and_in_kms(kms, spec, alg):
    k = key(kms, spec, "SIGN_VERIFY")
    msg = b"message to sign " + os.urandom(32)
    resp = kms.sign(KeyId=k["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)
    assert resp["KeyId"] == k["Arn"] and resp["SigningAlgorithm"] == alg
    sig = resp["Signature"]
    pub = public_key(kms, k["Arn"])
    verify_locally(pub, alg, sig, msg)
    assert kms.verify(KeyId=k["Arn"], Message=msg, MessageType="RAW", Signature=sig,
                      SigningAlgorithm=alg)["SignatureValid"] is True
    if alg.startswith("ECDSA_"):
        assert sig[0] == 0x30, "ECDSA signatures are DER (X9.62) SEQUENCEs"
    if alg.startswith("RSASSA_"):
        assert len(sig) == pub.key_size // 8


DIGEST_CASES = [c for c in SIGN_CASES if not c[1].startswith("ED25519")]


@pytest.mark.parametrize("spec,alg", DIGEST_CASES, ids=[f"{s}-{a}" for s, a in DIGEST_CASES])
def test_sign_digest_verifies_as_raw(kms, spec, alg):
    """DIGEST: KMS signs the given digest without hashing again (moto re-hashes)."""
    k = key(kms, spec, "SIGN_VERIFY")
    msg = b"digest me " + os.urandom(16)
    d = digest(alg, msg)
    sig = kms.sign(KeyId=k["Arn"], Message=d, MessageType="DIGEST", SigningAlgorithm=alg)["Signature"]
    pub = public_key(kms, k["Arn"])
    verify_locally(pub, alg, sig, msg)  # as RAW over the original message
    verify_locally(pub, alg, sig, d, prehashed=True)
    assert kms.verify(KeyId=k["Arn"], Message=msg, MessageType="RAW", Signature=sig,
                      SigningAlgorithm=alg)["SignatureValid"] is True
    # And the reverse: a RAW signature verifies in KMS as DIGEST.
    raw_sig = kms.sign(KeyId=k["Arn"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)["Signature"]
    assert kms.verify(KeyId=k["Arn"], Message=d, MessageType="DIGEST", Signature=raw_sig,
                      SigningAlgorithm=alg)["SignatureValid"] is True


@pytest.mark.parametrize("spec,alg", [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_384"),
                                      ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512")])
def test_sign_digest_wrong_length(kms, spec, alg):
    k = key(kms, spec, "SIGN_VERIFY")
    right = len(digest(alg, b""))
    for n in (right - 1, right + 1, 20):
        expect_error("ValidationException", kms.sign, KeyId=k["Arn"], Message=os.urandom(n),
                     MessageType="DIGEST", SigningAlgorithm=alg)


@pytest.mark.parametrize("spec,alg", [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256"),
                                      ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"), ("ECC_SECG_P256K1", "ECDSA_SHA_256")])
def test_bad_signature_raises(kms, spec, alg):
    """An invalid signature is KMSInvalidSignatureException — never 200 with SignatureValid false."""
    k = key(kms, spec, "SIGN_VERIFY")
    msg = b"original"
    sig = kms.sign(KeyId=k["Arn"], Message=msg, SigningAlgorithm=alg)["Signature"]
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k["Arn"], Message=b"0riginal",
                 Signature=sig, SigningAlgorithm=alg)
    bad = bytearray(sig)
    bad[len(bad) // 2] ^= 0x01
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k["Arn"], Message=msg,
                 Signature=bytes(bad), SigningAlgorithm=alg)
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k["Arn"], Message=msg,
                 Signature=b"\x30\x06\x02\x01\x01\x02\x01\x01", SigningAlgorithm=alg)


def test_signature_from_other_key_rejected(kms):
    a, b = key(kms, "ECC_NIST_P256", "SIGN_VERIFY"), key(kms, "ECC_NIST_P256", "SIGN_VERIFY", tag="b")
    sig = kms.sign(KeyId=a["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=b["Arn"], Message=b"m", Signature=sig,
                 SigningAlgorithm="ECDSA_SHA_256")


def test_pss_and_pkcs1_signatures_are_not_interchangeable(kms):
    k = key(kms, "RSA_2048", "SIGN_VERIFY")
    sig = kms.sign(KeyId=k["Arn"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k["Arn"], Message=b"m", Signature=sig,
                 SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    with pytest.raises(InvalidSignature):
        public_key(kms, k["Arn"]).verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("spec,alg", [("ECC_NIST_P256", "ECDSA_SHA_384"), ("ECC_NIST_P384", "ECDSA_SHA_256"),
                                      ("ECC_SECG_P256K1", "ECDSA_SHA_512"), ("RSA_2048", "ECDSA_SHA_256"),
                                      ("ECC_NIST_P256", "RSASSA_PSS_SHA_256")])
def test_wrong_signing_algorithm_for_key(kms, spec, alg):
    k = key(kms, spec, "SIGN_VERIFY")
    expect_error(("InvalidKeyUsageException", "ValidationException"), kms.sign, KeyId=k["Arn"], Message=b"m",
                 SigningAlgorithm=alg)


def test_sign_message_size_limit(kms):
    k = key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    sig = kms.sign(KeyId=k["Arn"], Message=b"a" * 4096, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    verify_locally(public_key(kms, k["Arn"]), "ECDSA_SHA_256", sig, b"a" * 4096)
    expect_error("ValidationException", kms.sign, KeyId=k["Arn"], Message=b"a" * 4097,
                 SigningAlgorithm="ECDSA_SHA_256")


@pytest.mark.xfail(reason="server bug: ED25519_PH_SHA_512 (MessageType DIGEST, 64-byte SHA-512 digest) must be "
                          "accepted for ECC_NIST_EDWARDS25519 keys; the server answers InvalidKeyUsageException",
                   strict=True)
def test_ed25519_ph_requires_digest(kms):
    k = key(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    msg = b"ed25519ph"
    d = hashlib.sha512(msg).digest()
    sig = kms.sign(KeyId=k["Arn"], Message=d, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    assert len(sig) == 64
    assert kms.verify(KeyId=k["Arn"], Message=d, MessageType="DIGEST", Signature=sig,
                      SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"] is True
    # ED25519_SHA_512 is RAW only; ED25519_PH_SHA_512 is DIGEST only.
    expect_error(("ValidationException", "InvalidKeyUsageException"), kms.sign, KeyId=k["Arn"], Message=d,
                 MessageType="DIGEST", SigningAlgorithm="ED25519_SHA_512")
    expect_error(("ValidationException", "InvalidKeyUsageException"), kms.sign, KeyId=k["Arn"], Message=msg,
                 MessageType="RAW", SigningAlgorithm="ED25519_PH_SHA_512")
    expect_error("ValidationException", kms.sign, KeyId=k["Arn"], Message=d[:32], MessageType="DIGEST",
                 SigningAlgorithm="ED25519_PH_SHA_512")


@pytest.mark.parametrize("spec", ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"])
def test_ml_dsa_sign_verify(kms, spec):
    k = key(kms, spec, "SIGN_VERIFY")
    msg = b"post-quantum " + os.urandom(8)
    sig = kms.sign(KeyId=k["Arn"], Message=msg, MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert kms.verify(KeyId=k["Arn"], Message=msg, MessageType="RAW", Signature=sig,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"] is True
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k["Arn"], Message=msg + b"!", Signature=sig,
                 SigningAlgorithm="ML_DSA_SHAKE_256")
    try:
        pub = public_key(kms, k["Arn"])
    except Exception:
        return  # local library cannot parse ML-DSA SPKI; the KMS Verify checks above stand
    pub.verify(sig, msg)


# ------------------------------------------------------------------ HMAC (§4.6)

@pytest.mark.parametrize("spec", list(HMAC_FOR))
def test_generate_verify_mac(kms, spec):
    k = key(kms, spec, "GENERATE_VERIFY_MAC")
    alg = HMAC_FOR[spec]
    msg = b"mac me " + os.urandom(8)
    r1 = kms.generate_mac(KeyId=k["KeyId"], Message=msg, MacAlgorithm=alg)
    r2 = kms.generate_mac(KeyId=k["Arn"], Message=msg, MacAlgorithm=alg)
    assert r1["Mac"] == r2["Mac"], "HMAC is deterministic"
    assert len(r1["Mac"]) == HMAC_LEN[alg]
    assert r1["KeyId"] == k["Arn"] and r1["MacAlgorithm"] == alg
    assert kms.generate_mac(KeyId=k["Arn"], Message=msg + b"x", MacAlgorithm=alg)["Mac"] != r1["Mac"]
    v = kms.verify_mac(KeyId=k["Arn"], Message=msg, MacAlgorithm=alg, Mac=r1["Mac"])
    assert v["MacValid"] is True and v["KeyId"] == k["Arn"]
    bad = bytearray(r1["Mac"])
    bad[0] ^= 1
    expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=k["Arn"], Message=msg, MacAlgorithm=alg,
                 Mac=bytes(bad))
    expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=k["Arn"], Message=msg + b"x", MacAlgorithm=alg,
                 Mac=r1["Mac"])
    # A different HMAC key gives a different MAC.
    other = key(kms, spec, "GENERATE_VERIFY_MAC", tag="b")
    assert kms.generate_mac(KeyId=other["Arn"], Message=msg, MacAlgorithm=alg)["Mac"] != r1["Mac"]
    expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=other["Arn"], Message=msg, MacAlgorithm=alg,
                 Mac=r1["Mac"])


def test_mac_algorithm_must_match_key(kms):
    k = key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    expect_error(("InvalidKeyUsageException", "ValidationException"), kms.generate_mac, KeyId=k["Arn"],
                 Message=b"m", MacAlgorithm="HMAC_SHA_512")
    expect_error("ValidationException", kms.generate_mac, KeyId=k["Arn"], Message=b"m" * 4097,
                 MacAlgorithm="HMAC_SHA_256")


# ------------------------------------------------------------------ ECDH

@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"])
def test_derive_shared_secret_matches_local_ecdh(kms, spec):
    k = key(kms, spec, "KEY_AGREEMENT")
    gpk = kms.get_public_key(KeyId=k["Arn"])
    assert gpk["KeyUsage"] == "KEY_AGREEMENT" and gpk.get("KeyAgreementAlgorithms") == ["ECDH"]
    kms_pub = serialization.load_der_public_key(gpk["PublicKey"])
    mine = ec.generate_private_key(CURVE_FOR[spec])
    resp = kms.derive_shared_secret(KeyId=k["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=der(mine.public_key()))
    assert resp["KeyId"] == k["Arn"]
    assert resp["KeyAgreementAlgorithm"] == "ECDH"
    assert resp["SharedSecret"] == mine.exchange(ec.ECDH(), kms_pub)


def test_derive_shared_secret_rejects_bad_peer_key(kms):
    k = key(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    expect_error(("ValidationException", "InvalidKeyUsageException"), kms.derive_shared_secret, KeyId=k["Arn"],
                 KeyAgreementAlgorithm="ECDH", PublicKey=der(other_curve))
    expect_error("ValidationException", kms.derive_shared_secret, KeyId=k["Arn"],
                 KeyAgreementAlgorithm="ECDH", PublicKey=b"\x30\x03\x02\x01\x01")


# ------------------------------------------------------------------ data key pairs

PAIR_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
              "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"]


@pytest.mark.parametrize("pair_spec", PAIR_SPECS)
def test_generate_data_key_pair(kms, pair_spec):
    k = key(kms)
    ctx = {"pair": pair_spec}
    try:
        resp = kms.generate_data_key_pair(KeyId=k["KeyId"], KeyPairSpec=pair_spec, EncryptionContext=ctx)
    except ClientError as e:
        if pair_spec == "ECC_NIST_EDWARDS25519" and e.response["Error"]["Code"] == "UnsupportedOperationException":
            pytest.skip("server declares Ed25519 data key pairs unsupported")
        raise
    assert resp["KeyId"] == k["Arn"] and resp["KeyPairSpec"] == pair_spec
    priv = serialization.load_der_private_key(resp["PrivateKeyPlaintext"], password=None)  # PKCS#8 DER
    assert der(priv.public_key()) == resp["PublicKey"]
    pub = serialization.load_der_public_key(resp["PublicKey"])
    if pair_spec.startswith("RSA_"):
        assert pub.key_size == int(pair_spec[4:])
    elif pair_spec in CURVE_FOR:
        assert pub.curve.name == CURVE_FOR[pair_spec].name
    else:
        assert isinstance(pub, ed25519.Ed25519PublicKey)
    dec = kms.decrypt(CiphertextBlob=resp["PrivateKeyCiphertextBlob"], EncryptionContext=ctx)
    assert dec["Plaintext"] == resp["PrivateKeyPlaintext"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=resp["PrivateKeyCiphertextBlob"])


@pytest.mark.parametrize("pair_spec", ["RSA_2048", "ECC_NIST_P256"])
def test_generate_data_key_pair_without_plaintext(kms, pair_spec):
    k = key(kms)
    resp = kms.generate_data_key_pair_without_plaintext(KeyId=k["Arn"], KeyPairSpec=pair_spec)
    assert "PrivateKeyPlaintext" not in resp
    plain = kms.decrypt(CiphertextBlob=resp["PrivateKeyCiphertextBlob"])["Plaintext"]
    priv = serialization.load_der_private_key(plain, password=None)
    assert der(priv.public_key()) == resp["PublicKey"]
    # The private key really pairs with the public key: sign locally, verify with the returned public key.
    pub = serialization.load_der_public_key(resp["PublicKey"])
    if pair_spec.startswith("RSA"):
        pub.verify(priv.sign(b"m", padding.PKCS1v15(), hashes.SHA256()), b"m", padding.PKCS1v15(), hashes.SHA256())
    else:
        pub.verify(priv.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m", ec.ECDSA(hashes.SHA256()))


def test_generate_data_key_pair_requires_symmetric_key(kms):
    rk = key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    expect_error(("InvalidKeyUsageException", "UnsupportedOperationException"), kms.generate_data_key_pair,
                 KeyId=rk["Arn"], KeyPairSpec="ECC_NIST_P256")


# ------------------------------------------------------------------ key usage enforcement (§4.8)

def test_key_usage_enforcement(kms):
    sym = key(kms)
    sv = key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    rsa_sv = key(kms, "RSA_2048", "SIGN_VERIFY")
    rsa_ed = key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    mac = key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    ka = key(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    IKU = "InvalidKeyUsageException"
    # Encrypt-family on non-ENCRYPT_DECRYPT keys.
    expect_error(IKU, kms.encrypt, KeyId=sv["Arn"], Plaintext=b"x")
    expect_error(IKU, kms.encrypt, KeyId=rsa_sv["Arn"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    expect_error(IKU, kms.encrypt, KeyId=mac["Arn"], Plaintext=b"x")
    expect_error(IKU, kms.generate_data_key, KeyId=sv["Arn"], KeySpec="AES_256")
    expect_error(IKU, kms.generate_data_key, KeyId=mac["Arn"], KeySpec="AES_256")
    expect_error(IKU, kms.generate_data_key, KeyId=rsa_ed["Arn"], KeySpec="AES_256")  # asymmetric: no data keys
    expect_error(IKU, kms.generate_data_key_without_plaintext, KeyId=ka["Arn"], KeySpec="AES_256")
    # Sign/Verify on non-SIGN_VERIFY keys.
    expect_error(IKU, kms.sign, KeyId=sym["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    expect_error(IKU, kms.sign, KeyId=rsa_ed["Arn"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    expect_error(IKU, kms.sign, KeyId=ka["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    expect_error(IKU, kms.verify, KeyId=mac["Arn"], Message=b"m", Signature=b"s" * 64,
                 SigningAlgorithm="ECDSA_SHA_256")
    # MAC on non-MAC keys.
    expect_error(IKU, kms.generate_mac, KeyId=sym["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    expect_error(IKU, kms.generate_mac, KeyId=sv["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    expect_error(IKU, kms.verify_mac, KeyId=sym["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"m" * 32)
    # ECDH on non-KEY_AGREEMENT keys.
    peer = der(ec.generate_private_key(ec.SECP256R1()).public_key())
    expect_error(IKU, kms.derive_shared_secret, KeyId=sv["Arn"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    expect_error(IKU, kms.derive_shared_secret, KeyId=sym["Arn"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    # Decrypt of a symmetric blob naming a SIGN_VERIFY key.
    ct = kms.encrypt(KeyId=sym["Arn"], Plaintext=b"x")["CiphertextBlob"]
    expect_error((IKU, "IncorrectKeyException"), kms.decrypt, KeyId=sv["Arn"], CiphertextBlob=ct)


def test_get_public_key_of_symmetric_key_rejected(kms):
    expect_error(("UnsupportedOperationException", "InvalidKeyUsageException"), kms.get_public_key,
                 KeyId=key(kms)["Arn"])
    expect_error(("UnsupportedOperationException", "InvalidKeyUsageException"), kms.get_public_key,
                 KeyId=key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")["Arn"])
