"""KMS management: aliases, key policies, tags, rotation, grants, BYOK import (AWS semantics, reference §2, §4, §5)."""
import datetime
import json
import os
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import ACCOUNT_ID, REGION, unique
from kmshelp import KEY_MATERIAL_ID_RE, ClientError, create_key, expect_error

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT_ID}:user/admin"


def alias_arn(name):
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"


def new_key(kms, **kw):
    return kms.create_key(**kw)["KeyMetadata"]


# ------------------------------------------------------------------ aliases

def test_alias_lifecycle(kms):
    a, b = new_key(kms), new_key(kms)
    name = "alias/" + unique("life")
    kms.create_alias(AliasName=name, TargetKeyId=a["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == a["KeyId"]
    ct = kms.encrypt(KeyId=name, Plaintext=b"via alias")["CiphertextBlob"]

    expect_error("AlreadyExistsException", kms.create_alias, AliasName=name, TargetKeyId=b["KeyId"])

    entries = kms.list_aliases(KeyId=a["KeyId"])["Aliases"]
    assert [e["AliasName"] for e in entries] == [name]
    e = entries[0]
    assert e["AliasArn"] == alias_arn(name)
    assert e["TargetKeyId"] == a["KeyId"]
    assert isinstance(e.get("CreationDate"), datetime.datetime)

    kms.update_alias(AliasName=name, TargetKeyId=b["Arn"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == b["KeyId"]
    assert kms.list_aliases(KeyId=a["KeyId"])["Aliases"] == []
    assert [x["AliasName"] for x in kms.list_aliases(KeyId=b["KeyId"])["Aliases"]] == [name]
    # Old ciphertext still decrypts (the blob names key a, not the alias).
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"via alias"

    kms.delete_alias(AliasName=name)
    expect_error("NotFoundException", kms.describe_key, KeyId=name)
    expect_error("NotFoundException", kms.delete_alias, AliasName=name)
    assert kms.describe_key(KeyId=b["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("name", ["alias/aws/" + "x", "alias/aws/ebs", "not-alias/x", "alias/has space",
                                  "alias/bad!char", "alias/"])
def test_invalid_alias_names(kms, name):
    k = new_key(kms)
    codes = ("InvalidAliasNameException",)
    if name == "alias/":
        codes += ("ValidationException",)
    if " " in name or "!" in name:  # violates the model pattern ^[a-zA-Z0-9:/_-]+$
        codes += ("ValidationException",)
    expect_error(codes, kms.create_alias, AliasName=name, TargetKeyId=k["KeyId"])


def test_create_alias_to_missing_key(kms):
    expect_error("NotFoundException", kms.create_alias, AliasName="alias/" + unique("nokey"),
                 TargetKeyId="00000000-0000-0000-0000-000000000000")


def test_update_alias_requires_same_key_type(kms):
    sym, sig = new_key(kms), create_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    name = "alias/" + unique("type")
    kms.create_alias(AliasName=name, TargetKeyId=sym["KeyId"])
    expect_error(("ValidationException", "InvalidKeyUsageException", "UnsupportedOperationException"),
                 kms.update_alias, AliasName=name, TargetKeyId=sig["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == sym["KeyId"]


def test_list_aliases_pagination_and_filter(kms):
    k = new_key(kms)
    names = sorted("alias/" + unique("pg") for _ in range(3))
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=k["KeyId"])
    mine = kms.list_aliases(KeyId=k["Arn"])["Aliases"]
    assert sorted(a["AliasName"] for a in mine) == names
    assert all(a["TargetKeyId"] == k["KeyId"] for a in mine)
    # Paged, account-wide listing.
    seen, marker, pages = [], None, 0
    while True:
        args = {"Limit": 2}
        if marker:
            args["Marker"] = marker
        page = kms.list_aliases(**args)
        pages += 1
        assert len(page["Aliases"]) <= 2
        seen += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert len(seen) == len(set(seen))
    assert set(names) <= set(seen)
    assert pages >= 2
    # Per-key listing pages too.
    p1 = kms.list_aliases(KeyId=k["KeyId"], Limit=1)
    assert len(p1["Aliases"]) == 1 and p1["Truncated"] is True
    p2 = kms.list_aliases(KeyId=k["KeyId"], Limit=5, Marker=p1["NextMarker"])
    assert sorted([p1["Aliases"][0]["AliasName"]] + [a["AliasName"] for a in p2["Aliases"]]) == names


def test_deleting_key_schedule_keeps_alias_until_deletion(kms):
    k = new_key(kms)
    name = "alias/" + unique("sched")
    kms.create_alias(AliasName=name, TargetKeyId=k["KeyId"])
    kms.schedule_key_deletion(KeyId=k["KeyId"], PendingWindowInDays=7)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=k["KeyId"])


# ------------------------------------------------------------------ key policies

def test_default_key_policy_shape(kms):
    k = new_key(kms)
    resp = kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")
    doc = json.loads(resp["Policy"])
    assert doc["Version"] == "2012-10-17"
    stmts = doc["Statement"]
    assert len(stmts) == 1
    s = stmts[0]
    assert s["Effect"] == "Allow"
    assert s["Principal"] == {"AWS": ROOT}
    assert s["Action"] in ("kms:*", ["kms:*"])
    assert s["Resource"] in ("*", ["*"])
    # PolicyName defaults to "default".
    assert json.loads(kms.get_key_policy(KeyId=k["Arn"])["Policy"]) == doc
    assert kms.list_key_policies(KeyId=k["KeyId"])["PolicyNames"] == ["default"]
    expect_error("NotFoundException", kms.get_key_policy, KeyId=k["KeyId"], PolicyName="AWS_RAM")


def test_put_key_policy(kms):
    k = new_key(kms)
    doc = {"Version": "2012-10-17", "Id": "custom", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "deny-nobody", "Effect": "Deny", "Principal": {"AWS": ROOT}, "Action": "kms:Sign", "Resource": "*"}]}
    kms.put_key_policy(KeyId=k["KeyId"], PolicyName="default", Policy=json.dumps(doc))
    got = json.loads(kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"])
    assert got == doc
    # PolicyName may be omitted.
    doc["Id"] = "custom-2"
    kms.put_key_policy(KeyId=k["Arn"], Policy=json.dumps(doc))
    assert json.loads(kms.get_key_policy(KeyId=k["KeyId"])["Policy"])["Id"] == "custom-2"


@pytest.mark.parametrize("bad", ["not json", "{}", json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Maybe", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]})])
def test_put_key_policy_malformed(kms, bad):
    k = new_key(kms)
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=k["KeyId"], PolicyName="default",
                 Policy=bad)


def test_policy_lockout_safety_check(kms, make_user):
    other = make_user()
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": other.arn}, "Action": "kms:Encrypt", "Resource": "*"}]})
    k = new_key(kms)
    resp = expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=k["KeyId"],
                        PolicyName="default", Policy=lockout)
    # The unchanged policy is still in force.
    assert json.loads(kms.get_key_policy(KeyId=k["KeyId"])["Policy"])["Statement"][0]["Principal"] == {"AWS": ROOT}
    expect_error("MalformedPolicyDocumentException", kms.create_key, Policy=lockout)
    # With the bypass flag the policy is accepted.
    kms.put_key_policy(KeyId=k["KeyId"], PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    k2 = kms.create_key(Policy=lockout, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    assert k2["KeyState"] == "Enabled"
    # The admin (not in that policy) is now locked out of k, as AWS warns.
    expect_error("AccessDeniedException", kms.put_key_policy, KeyId=k["KeyId"], PolicyName="default",
                 Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                     {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}))


def test_policy_with_admin_directly_passes_safety_check(kms):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:*", "Resource": "*"}]})
    k = kms.create_key(Policy=doc)["KeyMetadata"]
    assert json.loads(kms.get_key_policy(KeyId=k["KeyId"])["Policy"]) == json.loads(doc)


# ------------------------------------------------------------------ tags

def test_tags(kms):
    k = new_key(kms, Tags=[{"TagKey": "created", "TagValue": "yes"}])
    assert kms.list_resource_tags(KeyId=k["KeyId"])["Tags"] == [{"TagKey": "created", "TagValue": "yes"}]
    kms.tag_resource(KeyId=k["Arn"], Tags=[{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "Env", "TagValue": ""},
                                          {"TagKey": "created", "TagValue": "overwritten"}])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]}
    assert tags == {"created": "overwritten", "env": "dev", "Env": ""}  # case-sensitive keys, empty value allowed
    kms.untag_resource(KeyId=k["KeyId"], TagKeys=["env", "does-not-exist"])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]}
    assert tags == {"created": "overwritten", "Env": ""}
    # Pagination.
    p1 = kms.list_resource_tags(KeyId=k["KeyId"], Limit=1)
    assert len(p1["Tags"]) == 1 and p1["Truncated"] is True
    p2 = kms.list_resource_tags(KeyId=k["KeyId"], Limit=1, Marker=p1["NextMarker"])
    assert len(p2["Tags"]) == 1 and p2["Truncated"] is False and p2["Tags"] != p1["Tags"]


def test_tag_exception(kms):
    k = new_key(kms)
    expect_error("TagException", kms.tag_resource, KeyId=k["KeyId"], Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    expect_error(("TagException", "ValidationException"), kms.tag_resource, KeyId=k["KeyId"],
                 Tags=[{"TagKey": "k" * 129, "TagValue": "x"}])
    expect_error(("TagException", "ValidationException"), kms.tag_resource, KeyId=k["KeyId"],
                 Tags=[{"TagKey": "k", "TagValue": "v" * 257}])
    expect_error("TagException", kms.create_key, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert kms.list_resource_tags(KeyId=k["KeyId"])["Tags"] == []


# ------------------------------------------------------------------ rotation

def test_automatic_rotation_settings(kms):
    k = new_key(kms)
    st = kms.get_key_rotation_status(KeyId=k["KeyId"])
    assert st["KeyRotationEnabled"] is False
    now = datetime.datetime.now(datetime.timezone.utc)
    kms.enable_key_rotation(KeyId=k["KeyId"], RotationPeriodInDays=180)
    st = kms.get_key_rotation_status(KeyId=k["Arn"])
    assert st["KeyRotationEnabled"] is True
    assert st["RotationPeriodInDays"] == 180
    assert st["KeyId"] == k["Arn"]
    assert datetime.timedelta(days=179) <= st["NextRotationDate"] - now <= datetime.timedelta(days=181)
    kms.disable_key_rotation(KeyId=k["KeyId"])
    assert kms.get_key_rotation_status(KeyId=k["KeyId"])["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=k["KeyId"])
    assert kms.get_key_rotation_status(KeyId=k["KeyId"])["RotationPeriodInDays"] == 365
    expect_error("ValidationException", kms.enable_key_rotation, KeyId=k["KeyId"], RotationPeriodInDays=2561)


def _current_material(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"].get("CurrentKeyMaterialId")


def test_rotate_key_on_demand(kms):
    k = new_key(kms)
    old_ct = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"before", EncryptionContext={"r": "1"})["CiphertextBlob"]
    old_mid = kms.decrypt(CiphertextBlob=old_ct, EncryptionContext={"r": "1"})["KeyMaterialId"]
    assert KEY_MATERIAL_ID_RE.match(old_mid)
    assert _current_material(kms, k["KeyId"]) == old_mid
    resp = kms.rotate_key_on_demand(KeyId=k["KeyId"])
    assert resp["KeyId"] in (k["Arn"], k["KeyId"])  # AWS's documented example returns the bare key ID
    deadline = time.monotonic() + 10
    while _current_material(kms, k["KeyId"]) == old_mid and time.monotonic() < deadline:
        time.sleep(0.2)
    new_mid = _current_material(kms, k["KeyId"])
    assert new_mid != old_mid and KEY_MATERIAL_ID_RE.match(new_mid)
    new_ct = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"after")["CiphertextBlob"]
    d_new = kms.decrypt(CiphertextBlob=new_ct)
    assert d_new["Plaintext"] == b"after" and d_new["KeyMaterialId"] == new_mid
    d_old = kms.decrypt(CiphertextBlob=old_ct, EncryptionContext={"r": "1"})
    assert d_old["Plaintext"] == b"before" and d_old["KeyMaterialId"] == old_mid
    assert kms.generate_data_key(KeyId=k["KeyId"], KeySpec="AES_128")["KeyMaterialId"] == new_mid
    rot = kms.list_key_rotations(KeyId=k["KeyId"])
    entries = rot["Rotations"]
    assert rot["Truncated"] is False
    od = [r for r in entries if r.get("KeyMaterialId") == new_mid]
    assert od and od[0]["RotationType"] == "ON_DEMAND"
    assert isinstance(od[0]["RotationDate"], datetime.datetime)
    # ALL_KEY_MATERIAL lists the original material too.
    all_mat = kms.list_key_rotations(KeyId=k["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert {old_mid, new_mid} <= {r.get("KeyMaterialId") for r in all_mat}
    # A second rotation: all three generations still decrypt.
    kms.rotate_key_on_demand(KeyId=k["KeyId"])
    deadline = time.monotonic() + 10
    while _current_material(kms, k["KeyId"]) == new_mid and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kms.decrypt(CiphertextBlob=old_ct, EncryptionContext={"r": "1"})["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new_ct)["Plaintext"] == b"after"
    p1 = kms.list_key_rotations(KeyId=k["KeyId"], Limit=1)
    assert len(p1["Rotations"]) == 1 and p1["Truncated"] is True and p1["NextMarker"]


@pytest.mark.parametrize("spec,usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                        ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_rotation_unsupported_for_non_symmetric(kms, spec, usage):
    k = create_key(kms, spec, usage)
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=k["KeyId"])
    expect_error("UnsupportedOperationException", kms.rotate_key_on_demand, KeyId=k["KeyId"])


def test_rotation_on_disabled_key(kms):
    k = new_key(kms)
    kms.disable_key(KeyId=k["KeyId"])
    expect_error("DisabledException", kms.enable_key_rotation, KeyId=k["KeyId"])


# ------------------------------------------------------------------ grants

def test_grant_allows_only_granted_operations(kms, make_user):
    grantee = make_user()  # no IAM permissions at all
    k = new_key(kms)
    ct = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"granted")["CiphertextBlob"]
    expect_error("AccessDeniedException", grantee.kms.encrypt, KeyId=k["Arn"], Plaintext=b"x")

    g = kms.create_grant(KeyId=k["KeyId"], GranteePrincipal=grantee.arn, Operations=["Encrypt"], Name="enc-only")
    assert g["GrantId"] and g["GrantToken"]
    tok = [g["GrantToken"]]
    out = grantee.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x", GrantTokens=tok)
    assert out["KeyId"] == k["Arn"]
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct, KeyId=k["Arn"], GrantTokens=tok)
    expect_error("AccessDeniedException", grantee.kms.generate_data_key, KeyId=k["Arn"], KeySpec="AES_256",
                 GrantTokens=tok)
    expect_error("AccessDeniedException", grantee.kms.describe_key, KeyId=k["Arn"], GrantTokens=tok)

    g2 = kms.create_grant(KeyId=k["Arn"], GranteePrincipal=grantee.arn, Operations=["Decrypt", "DescribeKey"])
    assert grantee.kms.decrypt(CiphertextBlob=ct, KeyId=k["Arn"], GrantTokens=[g2["GrantToken"]])["Plaintext"] == b"granted"
    assert grantee.kms.describe_key(KeyId=k["Arn"], GrantTokens=[g2["GrantToken"]])["KeyMetadata"]["KeyId"] == k["KeyId"]

    grants = kms.list_grants(KeyId=k["KeyId"])["Grants"]
    by_id = {x["GrantId"]: x for x in grants}
    assert set(by_id) == {g["GrantId"], g2["GrantId"]}
    e = by_id[g["GrantId"]]
    assert e["GranteePrincipal"] == grantee.arn
    assert e["Operations"] == ["Encrypt"]
    assert e["Name"] == "enc-only"
    assert e["IssuingAccount"] in (ROOT, ACCOUNT_ID)
    assert e["KeyId"] in (k["Arn"], k["KeyId"])
    assert isinstance(e["CreationDate"], datetime.datetime)
    assert [x["GrantId"] for x in kms.list_grants(KeyId=k["KeyId"], GrantId=g2["GrantId"])["Grants"]] == [g2["GrantId"]]
    p1 = kms.list_grants(KeyId=k["KeyId"], Limit=1)
    assert len(p1["Grants"]) == 1 and p1["Truncated"] is True

    # Revoke removes access.
    kms.revoke_grant(KeyId=k["KeyId"], GrantId=g2["GrantId"])
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct, KeyId=k["Arn"])
    assert [x["GrantId"] for x in kms.list_grants(KeyId=k["KeyId"])["Grants"]] == [g["GrantId"]]
    # Retire by token removes access.
    kms.retire_grant(GrantToken=g["GrantToken"])
    expect_error("AccessDeniedException", grantee.kms.encrypt, KeyId=k["Arn"], Plaintext=b"x")
    assert kms.list_grants(KeyId=k["KeyId"])["Grants"] == []
    expect_error(("NotFoundException", "InvalidGrantIdException"), kms.revoke_grant, KeyId=k["KeyId"],
                 GrantId=g["GrantId"])


def test_grant_encryption_context_constraints(kms, make_user):
    grantee = make_user()
    k = new_key(kms)
    ct_exact = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"e", EncryptionContext={"purpose": "x"})["CiphertextBlob"]
    ct_more = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"m",
                          EncryptionContext={"purpose": "x", "other": "y"})["CiphertextBlob"]
    ct_wrong = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"w", EncryptionContext={"purpose": "z"})["CiphertextBlob"]
    ct_none = kms.encrypt(KeyId=k["KeyId"], Plaintext=b"n")["CiphertextBlob"]

    eq = kms.create_grant(KeyId=k["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt"],
                          Constraints={"EncryptionContextEquals": {"purpose": "x"}})
    t = [eq["GrantToken"]]
    assert grantee.kms.decrypt(CiphertextBlob=ct_exact, EncryptionContext={"purpose": "x"}, KeyId=k["Arn"],
                               GrantTokens=t)["Plaintext"] == b"e"
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct_more, KeyId=k["Arn"],
                 EncryptionContext={"purpose": "x", "other": "y"}, GrantTokens=t)
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct_wrong, KeyId=k["Arn"],
                 EncryptionContext={"purpose": "z"}, GrantTokens=t)
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct_none, KeyId=k["Arn"], GrantTokens=t)
    kms.revoke_grant(KeyId=k["KeyId"], GrantId=eq["GrantId"])

    sub = kms.create_grant(KeyId=k["KeyId"], GranteePrincipal=grantee.arn, Operations=["Decrypt", "Encrypt"],
                           Constraints={"EncryptionContextSubset": {"purpose": "x"}})
    t = [sub["GrantToken"]]
    assert grantee.kms.decrypt(CiphertextBlob=ct_exact, EncryptionContext={"purpose": "x"}, KeyId=k["Arn"],
                               GrantTokens=t)["Plaintext"] == b"e"
    assert grantee.kms.decrypt(CiphertextBlob=ct_more, EncryptionContext={"other": "y", "purpose": "x"},
                               KeyId=k["Arn"], GrantTokens=t)["Plaintext"] == b"m"
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct_wrong, KeyId=k["Arn"],
                 EncryptionContext={"purpose": "z"}, GrantTokens=t)
    expect_error("AccessDeniedException", grantee.kms.decrypt, CiphertextBlob=ct_none, KeyId=k["Arn"], GrantTokens=t)
    grantee.kms.encrypt(KeyId=k["Arn"], Plaintext=b"ok", EncryptionContext={"purpose": "x", "more": "1"},
                        GrantTokens=t)
    expect_error("AccessDeniedException", grantee.kms.encrypt, KeyId=k["Arn"], Plaintext=b"no",
                 EncryptionContext={"Purpose": "x"}, GrantTokens=t)


def test_grant_retire_by_retiring_principal(kms, make_user):
    grantee, retirer = make_user(), make_user()
    k = new_key(kms)
    g = kms.create_grant(KeyId=k["KeyId"], GranteePrincipal=grantee.arn, RetiringPrincipal=retirer.arn,
                         Operations=["GenerateDataKey"])
    assert len(grantee.kms.generate_data_key(KeyId=k["Arn"], KeySpec="AES_256",
                                             GrantTokens=[g["GrantToken"]])["Plaintext"]) == 32
    listed = kms.list_retirable_grants(RetiringPrincipal=retirer.arn)["Grants"]
    assert [x["GrantId"] for x in listed] == [g["GrantId"]]
    retirer.kms.retire_grant(KeyId=k["Arn"], GrantId=g["GrantId"])
    expect_error("AccessDeniedException", grantee.kms.generate_data_key, KeyId=k["Arn"], KeySpec="AES_256")


def test_grant_validation(kms, make_user):
    k = new_key(kms)
    u = make_user()
    expect_error("ValidationException", kms.create_grant, KeyId=k["KeyId"], GranteePrincipal=u.arn,
                 Operations=["NotAnOperation"])
    expect_error(("InvalidGrantTokenException",), kms.retire_grant, GrantToken="bogus-token-" + "x" * 40)
    expect_error(("NotFoundException", "InvalidGrantIdException"), kms.revoke_grant, KeyId=k["KeyId"],
                 GrantId="0" * 64)


# ------------------------------------------------------------------ BYOK import

def _wrap(params, material):
    pub = serialization.load_der_public_key(params["PublicKey"])
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 2048
    return pub.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))


def _params(kms, key_id):
    return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                         WrappingKeySpec="RSA_2048")


def test_byok_import_lifecycle(kms):
    meta = kms.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]
    kid = meta["KeyId"]
    assert meta["Origin"] == "EXTERNAL"
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")

    now = datetime.datetime.now(datetime.timezone.utc)
    params = _params(kms, kid)
    assert params["KeyId"] == meta["Arn"]
    assert params["ImportToken"]
    assert params["ParametersValidTo"] > now
    material = os.urandom(32)
    resp = kms.import_key_material(KeyId=kid, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=_wrap(params, material),
                                   ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert resp["KeyId"] == meta["Arn"]
    desc = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert desc["KeyState"] == "Enabled" and desc["Enabled"] is True
    assert desc["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"

    ct = kms.encrypt(KeyId=kid, Plaintext=b"imported", EncryptionContext={"b": "y"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext={"b": "y"})["Plaintext"] == b"imported"
    assert len(kms.generate_data_key(KeyId=kid, KeySpec="AES_256")["Plaintext"]) == 32
    # Automatic rotation is not available for keys with imported material.
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=kid)

    kms.delete_imported_key_material(KeyId=kid)
    desc = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert desc["KeyState"] == "PendingImport" and desc["Enabled"] is False
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=ct, EncryptionContext={"b": "y"})
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")

    # Different material cannot be re-imported into the key.
    p2 = _params(kms, kid)
    expect_error("IncorrectKeyMaterialException", kms.import_key_material, KeyId=kid, ImportToken=p2["ImportToken"],
                 EncryptedKeyMaterial=_wrap(p2, os.urandom(32)), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "PendingImport"
    # The same material can, and old ciphertext decrypts again.
    p3 = _params(kms, kid)
    kms.import_key_material(KeyId=kid, ImportToken=p3["ImportToken"], EncryptedKeyMaterial=_wrap(p3, material),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext={"b": "y"})["Plaintext"] == b"imported"


def test_byok_import_errors(kms):
    a = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    b = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    pa, pb = _params(kms, a), _params(kms, b)
    # Token of another key.
    expect_error("InvalidImportTokenException", kms.import_key_material, KeyId=a, ImportToken=pb["ImportToken"],
                 EncryptedKeyMaterial=_wrap(pb, os.urandom(32)), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    # Material wrapped with some other public key.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    wrapped = stranger.encrypt(os.urandom(32), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                            algorithm=hashes.SHA256(), label=None))
    expect_error("InvalidCiphertextException", kms.import_key_material, KeyId=a, ImportToken=pa["ImportToken"],
                 EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.describe_key(KeyId=a)["KeyMetadata"]["KeyState"] == "PendingImport"
    # GetParametersForImport on an AWS_KMS-origin key.
    expect_error("UnsupportedOperationException", _params, kms, new_key(kms)["KeyId"])
