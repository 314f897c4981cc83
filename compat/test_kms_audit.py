"""KMS calls in the audit trail (CloudTrail LookupEvents): recorded, attributed, and free of secrets."""
import base64
import json
import os

from conftest import ACCOUNT_ID, unique, wait_for_events


def detail(event):
    return json.loads(event["CloudTrailEvent"])


def test_kms_events_recorded_without_secrets(kms, cloudtrail):
    marker = unique("audit")
    key = kms.create_key(Description=marker)["KeyMetadata"]
    arn = key["Arn"]
    plaintext = b"TOP-SECRET-" + os.urandom(24)
    ct = kms.encrypt(KeyId=arn, Plaintext=plaintext, EncryptionContext={"marker": marker})["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=ct, EncryptionContext={"marker": marker})["Plaintext"]
    dk = kms.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext={"marker": marker})["Plaintext"]
    rnd = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    sk = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    sig = kms.sign(KeyId=sk, Message=plaintext, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms.verify(KeyId=sk, Message=plaintext, Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
    mk = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    mac = kms.generate_mac(KeyId=mk, Message=plaintext, MacAlgorithm="HMAC_SHA_256")["Mac"]
    pair = kms.generate_data_key_pair(KeyId=arn, KeyPairSpec="ECC_NIST_P256")
    assert dec == plaintext

    hits = wait_for_events(cloudtrail, lambda e: e["EventName"] == "Encrypt" and marker in e["CloudTrailEvent"],
                           [{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])
    assert len(hits) == 1, hits
    e = hits[0]
    d = detail(e)
    assert e["EventSource"] == "kms.amazonaws.com"
    assert d["eventSource"] == "kms.amazonaws.com"
    assert d["eventName"] == "Encrypt"
    assert d["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
    assert d["recipientAccountId"] == ACCOUNT_ID
    assert not d.get("errorCode")
    assert any(r.get("ARN") == arn or r.get("resourceName") == arn for r in e.get("Resources") or []) \
        or arn in json.dumps(d.get("resources") or d.get("requestParameters")), e

    # The trail is written asynchronously: wait for this test's last call before reading it all.
    wait_for_events(cloudtrail, lambda e: e["EventName"] == "GenerateDataKeyPair" and arn in e["CloudTrailEvent"],
                    [{"AttributeKey": "EventName", "AttributeValue": "GenerateDataKeyPair"}], timeout=20)
    # Every KMS event so far: collect the raw JSON and look for any secret value, in any common encoding.
    events = wait_for_events(cloudtrail, lambda e: e["EventSource"] == "kms.amazonaws.com",
                             [{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])
    names = {e["EventName"] for e in events}
    for expected in ("CreateKey", "Encrypt", "Decrypt", "GenerateDataKey", "GenerateRandom", "Sign", "Verify",
                     "GenerateMac", "GenerateDataKeyPair"):
        assert expected in names, (expected, sorted(names))
    blob = "\n".join(e["CloudTrailEvent"] for e in events)
    secrets = {"plaintext": plaintext, "data key": dk, "random": rnd, "signature": sig, "mac": mac,
               "private key": pair["PrivateKeyPlaintext"]}
    for what, value in secrets.items():
        for enc in (base64.b64encode(value).decode(), value.hex(), base64.urlsafe_b64encode(value).decode().rstrip("=")):
            assert enc not in blob, f"{what} leaked into the audit trail"
    assert b"TOP-SECRET-".decode() not in blob


def test_kms_denied_call_recorded(make_user, cloudtrail, kms):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    u = make_user()
    try:
        u.kms.encrypt(KeyId=arn, Plaintext=b"nope")
    except Exception:
        pass
    hits = wait_for_events(cloudtrail, lambda e: e["EventName"] == "Encrypt" and u.arn in e["CloudTrailEvent"],
                           [{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])
    assert len(hits) == 1
    assert detail(hits[0])["errorCode"] == "AccessDenied" or detail(hits[0])["errorCode"] == "AccessDeniedException"
