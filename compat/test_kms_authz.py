"""KMS authorization: IAM policies, key policies, grants, conditions (reference §5)."""
import json

import pytest

from conftest import ACCOUNT_ID, REGION, Principal, allow, deny, policy, unique
from kmshelp import create_key, expect_error

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
AD = "AccessDeniedException"


def denied(call, action, principal=None, **kwargs):
    resp = expect_error(AD, call, **kwargs)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    msg = resp["Error"].get("Message", "")
    assert action in msg, msg
    if principal is not None:
        assert principal.arn in msg, msg


def key_policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def admin_stmt():
    return {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:*", "Resource": "*"}


def root_stmt():
    return {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


# ------------------------------------------------------------------ per operation family

def test_key_management_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    nobody = make_user()
    denied(nobody.kms.describe_key, "kms:DescribeKey", nobody, KeyId=k["Arn"])
    denied(nobody.kms.disable_key, "kms:DisableKey", nobody, KeyId=k["Arn"])
    denied(nobody.kms.update_key_description, "kms:UpdateKeyDescription", KeyId=k["Arn"], Description="x")
    denied(nobody.kms.schedule_key_deletion, "kms:ScheduleKeyDeletion", KeyId=k["Arn"], PendingWindowInDays=7)
    denied(nobody.kms.create_key, "kms:CreateKey")
    denied(nobody.kms.list_keys, "kms:ListKeys")
    denied(nobody.kms.generate_random, "kms:GenerateRandom", NumberOfBytes=8)
    assert kms.describe_key(KeyId=k["Arn"])["KeyMetadata"]["KeyState"] == "Enabled"

    mgr = make_user(policy(allow(["kms:DescribeKey", "kms:DisableKey", "kms:EnableKey", "kms:UpdateKeyDescription"],
                                 k["Arn"]),
                           allow(["kms:CreateKey", "kms:ListKeys", "kms:GenerateRandom"])))
    assert mgr.kms.describe_key(KeyId=k["Arn"])["KeyMetadata"]["KeyId"] == k["KeyId"]
    mgr.kms.disable_key(KeyId=k["KeyId"])
    mgr.kms.enable_key(KeyId=k["Arn"])
    mgr.kms.update_key_description(KeyId=k["Arn"], Description="by mgr")
    assert mgr.kms.create_key()["KeyMetadata"]["KeyState"] == "Enabled"
    assert mgr.kms.list_keys()["Keys"]
    assert len(mgr.kms.generate_random(NumberOfBytes=8)["Plaintext"]) == 8
    denied(mgr.kms.schedule_key_deletion, "kms:ScheduleKeyDeletion", KeyId=k["Arn"], PendingWindowInDays=7)
    other = kms.create_key()["KeyMetadata"]
    denied(mgr.kms.describe_key, "kms:DescribeKey", KeyId=other["Arn"])  # resource scoping


def test_encrypt_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    k2 = kms.create_key()["KeyMetadata"]
    ct = kms.encrypt(KeyId=k["Arn"], Plaintext=b"p")["CiphertextBlob"]
    nobody = make_user()
    denied(nobody.kms.encrypt, "kms:Encrypt", nobody, KeyId=k["Arn"], Plaintext=b"x")
    denied(nobody.kms.decrypt, "kms:Decrypt", nobody, CiphertextBlob=ct)
    denied(nobody.kms.generate_data_key, "kms:GenerateDataKey", KeyId=k["Arn"], KeySpec="AES_256")
    denied(nobody.kms.generate_data_key_without_plaintext, "kms:GenerateDataKeyWithoutPlaintext",
           KeyId=k["Arn"], KeySpec="AES_256")
    denied(nobody.kms.generate_data_key_pair, "kms:GenerateDataKeyPair", KeyId=k["Arn"], KeyPairSpec="ECC_NIST_P256")
    denied(nobody.kms.re_encrypt, "kms:ReEncrypt", CiphertextBlob=ct, DestinationKeyId=k2["Arn"])

    enc_only = make_user(policy(allow("kms:Encrypt", k["Arn"])))
    enc_only.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x")
    denied(enc_only.kms.decrypt, "kms:Decrypt", CiphertextBlob=ct)
    denied(enc_only.kms.encrypt, "kms:Encrypt", KeyId=k2["Arn"], Plaintext=b"x")

    user = make_user(policy(allow(["kms:Decrypt", "kms:GenerateDataKey*"], k["Arn"])))
    assert user.kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"p"
    assert len(user.kms.generate_data_key(KeyId=k["Arn"], KeySpec="AES_256")["Plaintext"]) == 32
    user.kms.generate_data_key_without_plaintext(KeyId=k["Arn"], KeySpec="AES_256")
    user.kms.generate_data_key_pair(KeyId=k["Arn"], KeyPairSpec="ECC_NIST_P256")

    # ReEncrypt needs ReEncryptFrom on the source key and ReEncryptTo on the destination key.
    from_only = make_user(policy(allow("kms:ReEncryptFrom", k["Arn"])))
    denied(from_only.kms.re_encrypt, "kms:ReEncryptTo", CiphertextBlob=ct, DestinationKeyId=k2["Arn"])
    both = make_user(policy(allow("kms:ReEncryptFrom", k["Arn"]), allow("kms:ReEncryptTo", k2["Arn"])))
    out = both.kms.re_encrypt(CiphertextBlob=ct, DestinationKeyId=k2["Arn"])
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"p"
    star = make_user(policy(allow("kms:ReEncrypt*", [k["Arn"], k2["Arn"]])))
    star.kms.re_encrypt(CiphertextBlob=ct, DestinationKeyId=k2["Arn"])


def test_sign_verify_family(kms, make_user):
    k = create_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    sig = kms.sign(KeyId=k["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    nobody = make_user()
    denied(nobody.kms.sign, "kms:Sign", nobody, KeyId=k["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    denied(nobody.kms.verify, "kms:Verify", KeyId=k["Arn"], Message=b"m", Signature=sig,
           SigningAlgorithm="ECDSA_SHA_256")
    denied(nobody.kms.get_public_key, "kms:GetPublicKey", KeyId=k["Arn"])
    verifier = make_user(policy(allow(["kms:Verify", "kms:GetPublicKey"], k["Arn"])))
    assert verifier.kms.verify(KeyId=k["Arn"], Message=b"m", Signature=sig,
                               SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True
    verifier.kms.get_public_key(KeyId=k["Arn"])
    denied(verifier.kms.sign, "kms:Sign", KeyId=k["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    signer = make_user(policy(allow("kms:Sign", k["Arn"])))
    signer.kms.sign(KeyId=k["Arn"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")


def test_mac_family(kms, make_user):
    k = create_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=k["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    nobody = make_user()
    denied(nobody.kms.generate_mac, "kms:GenerateMac", KeyId=k["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    denied(nobody.kms.verify_mac, "kms:VerifyMac", KeyId=k["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    u = make_user(policy(allow("kms:VerifyMac", k["Arn"])))
    assert u.kms.verify_mac(KeyId=k["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac)["MacValid"] is True
    denied(u.kms.generate_mac, "kms:GenerateMac", KeyId=k["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")


def test_alias_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    name = "alias/" + unique("authz")
    a_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"
    nobody = make_user()
    denied(nobody.kms.create_alias, "kms:CreateAlias", AliasName=name, TargetKeyId=k["KeyId"])
    denied(nobody.kms.list_aliases, "kms:ListAliases")
    # Permission on the key alone is not enough: the alias resource needs it too.
    key_only = make_user(policy(allow("kms:CreateAlias", k["Arn"])))
    denied(key_only.kms.create_alias, "kms:CreateAlias", AliasName=name, TargetKeyId=k["KeyId"])
    u = make_user(policy(allow(["kms:CreateAlias", "kms:DeleteAlias"], [k["Arn"], a_arn]), allow("kms:ListAliases")))
    u.kms.create_alias(AliasName=name, TargetKeyId=k["KeyId"])
    assert name in [a["AliasName"] for a in u.kms.list_aliases(KeyId=k["KeyId"])["Aliases"]]
    # Using the key through the alias still needs permission on the key.
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=name, Plaintext=b"x")
    denied(nobody.kms.delete_alias, "kms:DeleteAlias", AliasName=name)
    u.kms.delete_alias(AliasName=name)


def test_grants_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    grantee = make_user()
    nobody = make_user()
    denied(nobody.kms.create_grant, "kms:CreateGrant", KeyId=k["Arn"], GranteePrincipal=grantee.arn,
           Operations=["Encrypt"])
    denied(nobody.kms.list_grants, "kms:ListGrants", KeyId=k["Arn"])
    g = kms.create_grant(KeyId=k["Arn"], GranteePrincipal=grantee.arn, Operations=["Encrypt"])
    denied(nobody.kms.revoke_grant, "kms:RevokeGrant", KeyId=k["Arn"], GrantId=g["GrantId"])
    mgr = make_user(policy(allow(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], k["Arn"])))
    g2 = mgr.kms.create_grant(KeyId=k["Arn"], GranteePrincipal=grantee.arn, Operations=["Decrypt"])
    assert {g["GrantId"], g2["GrantId"]} <= {x["GrantId"] for x in mgr.kms.list_grants(KeyId=k["Arn"])["Grants"]}
    mgr.kms.revoke_grant(KeyId=k["Arn"], GrantId=g["GrantId"])


def test_policy_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    nobody = make_user()
    denied(nobody.kms.get_key_policy, "kms:GetKeyPolicy", KeyId=k["Arn"], PolicyName="default")
    denied(nobody.kms.list_key_policies, "kms:ListKeyPolicies", KeyId=k["Arn"])
    denied(nobody.kms.put_key_policy, "kms:PutKeyPolicy", KeyId=k["Arn"], PolicyName="default",
           Policy=key_policy(root_stmt()))
    reader = make_user(policy(allow(["kms:GetKeyPolicy", "kms:ListKeyPolicies"], k["Arn"])))
    json.loads(reader.kms.get_key_policy(KeyId=k["Arn"], PolicyName="default")["Policy"])
    assert reader.kms.list_key_policies(KeyId=k["Arn"])["PolicyNames"] == ["default"]
    denied(reader.kms.put_key_policy, "kms:PutKeyPolicy", KeyId=k["Arn"], PolicyName="default",
           Policy=key_policy(root_stmt()))
    writer = make_user(policy(allow(["kms:PutKeyPolicy"], k["Arn"])))
    writer.kms.put_key_policy(KeyId=k["Arn"], PolicyName="default", Policy=key_policy(root_stmt()))


def test_tags_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    nobody = make_user()
    denied(nobody.kms.tag_resource, "kms:TagResource", KeyId=k["Arn"], Tags=[{"TagKey": "a", "TagValue": "b"}])
    denied(nobody.kms.untag_resource, "kms:UntagResource", KeyId=k["Arn"], TagKeys=["a"])
    denied(nobody.kms.list_resource_tags, "kms:ListResourceTags", KeyId=k["Arn"])
    u = make_user(policy(allow(["kms:TagResource", "kms:ListResourceTags"], k["Arn"])))
    u.kms.tag_resource(KeyId=k["Arn"], Tags=[{"TagKey": "a", "TagValue": "b"}])
    assert u.kms.list_resource_tags(KeyId=k["Arn"])["Tags"] == [{"TagKey": "a", "TagValue": "b"}]
    denied(u.kms.untag_resource, "kms:UntagResource", KeyId=k["Arn"], TagKeys=["a"])


def test_rotation_family(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    nobody = make_user()
    denied(nobody.kms.enable_key_rotation, "kms:EnableKeyRotation", KeyId=k["Arn"])
    denied(nobody.kms.get_key_rotation_status, "kms:GetKeyRotationStatus", KeyId=k["Arn"])
    denied(nobody.kms.rotate_key_on_demand, "kms:RotateKeyOnDemand", KeyId=k["Arn"])
    denied(nobody.kms.list_key_rotations, "kms:ListKeyRotations", KeyId=k["Arn"])
    u = make_user(policy(allow(["kms:EnableKeyRotation", "kms:GetKeyRotationStatus"], k["Arn"])))
    u.kms.enable_key_rotation(KeyId=k["Arn"])
    assert u.kms.get_key_rotation_status(KeyId=k["Arn"])["KeyRotationEnabled"] is True
    denied(u.kms.disable_key_rotation, "kms:DisableKeyRotation", KeyId=k["Arn"])


# ------------------------------------------------------------------ key policy semantics

def test_key_policy_without_root_ignores_iam_allows(kms, make_user):
    iam_user = make_user(policy(allow("kms:*")))
    direct = make_user()  # no IAM policy, named in the key policy
    k = kms.create_key(Policy=key_policy(admin_stmt(), {
        "Sid": "direct", "Effect": "Allow", "Principal": {"AWS": direct.arn},
        "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}))["KeyMetadata"]
    denied(iam_user.kms.encrypt, "kms:Encrypt", iam_user, KeyId=k["Arn"], Plaintext=b"x")
    denied(iam_user.kms.describe_key, "kms:DescribeKey", KeyId=k["Arn"])
    ct = direct.kms.encrypt(KeyId=k["Arn"], Plaintext=b"direct")["CiphertextBlob"]
    assert direct.kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"direct"
    denied(direct.kms.describe_key, "kms:DescribeKey", KeyId=k["Arn"])
    # The IAM user still works on keys whose policy trusts the account.
    iam_user.kms.encrypt(KeyId=kms.create_key()["KeyMetadata"]["Arn"], Plaintext=b"x")


def test_key_policy_explicit_deny_beats_iam_allow(kms, make_user):
    u = make_user(policy(allow("kms:*")))
    k = kms.create_key(Policy=key_policy(root_stmt(), {
        "Sid": "deny-decrypt", "Effect": "Deny", "Principal": {"AWS": u.arn}, "Action": "kms:Decrypt",
        "Resource": "*"}))["KeyMetadata"]
    ct = u.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x")["CiphertextBlob"]
    denied(u.kms.decrypt, "kms:Decrypt", u, CiphertextBlob=ct)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"x"


def test_iam_explicit_deny_beats_key_policy_allow(kms, make_user):
    u = make_user(policy(deny("kms:Encrypt")))
    k = kms.create_key(Policy=key_policy(admin_stmt(), {
        "Effect": "Allow", "Principal": {"AWS": u.arn}, "Action": ["kms:Encrypt", "kms:DescribeKey"],
        "Resource": "*"}))["KeyMetadata"]
    u.kms.describe_key(KeyId=k["Arn"])
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")


def test_key_policy_encryption_context_condition(kms, make_user):
    u = make_user()
    k = kms.create_key(Policy=key_policy(admin_stmt(), {
        "Sid": "ctx", "Effect": "Allow", "Principal": {"AWS": u.arn}, "Action": ["kms:Encrypt", "kms:Decrypt"],
        "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:purpose": "backup"}}}))["KeyMetadata"]
    ct = u.kms.encrypt(KeyId=k["Arn"], Plaintext=b"b", EncryptionContext={"purpose": "backup", "x": "1"})["CiphertextBlob"]
    assert u.kms.decrypt(CiphertextBlob=ct, EncryptionContext={"purpose": "backup", "x": "1"})["Plaintext"] == b"b"
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"b", EncryptionContext={"purpose": "other"})
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"b")
    # (The context-key part of kms:EncryptionContext:<key> is case-insensitive in AWS, so {"Purpose": ...} is not
    # tested here; values are case-sensitive under StringEquals.)
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"b", EncryptionContext={"purpose": "Backup"})
    other = kms.encrypt(KeyId=k["Arn"], Plaintext=b"o", EncryptionContext={"purpose": "other"})["CiphertextBlob"]
    denied(u.kms.decrypt, "kms:Decrypt", CiphertextBlob=other, EncryptionContext={"purpose": "other"})


def test_iam_encryption_context_keys_condition(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    u = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["tenant"]}})))
    u.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "a"})
    u.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x")  # ForAllValues over an absent key is vacuously true
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "a", "b": "c"})
    v = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={
        "Null": {"kms:EncryptionContext:tenant": "false"}})))
    v.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "a"})
    denied(v.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")


def test_null_encryption_context_keys_requires_context(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    u = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={"Null": {"kms:EncryptionContextKeys": "false"}})))
    u.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x", EncryptionContext={"tenant": "a"})
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")


def _make_role(iam, trust_principal, permissions):
    name = unique("kmsrole")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trust_principal}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if permissions:
        iam.put_role_policy(RoleName=name, PolicyName="perms", PolicyDocument=permissions)
    return arn


def _assume(server, who, role_arn):
    c = who.sts.assume_role(RoleArn=role_arn, RoleSessionName="kms")["Credentials"]
    return Principal("session", "", c["AccessKeyId"], c["SecretAccessKey"], server, c["SessionToken"])


def test_assumed_role_uses_key(server, kms, iam, make_user):
    k = kms.create_key()["KeyMetadata"]
    u = make_user()
    role = _make_role(iam, u.arn, policy(allow(["kms:Encrypt", "kms:Decrypt"], k["Arn"])))
    sess = _assume(server, u, role)
    ct = sess.kms.encrypt(KeyId=k["Arn"], Plaintext=b"role")["CiphertextBlob"]
    assert sess.kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"role"
    denied(sess.kms.generate_data_key, "kms:GenerateDataKey", KeyId=k["Arn"], KeySpec="AES_256")
    denied(u.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")  # the user itself has no access
    # A role named directly in a key policy (no root trust) works without IAM permissions on the role.
    bare_role = _make_role(iam, u.arn, None)
    k2 = kms.create_key(Policy=key_policy(admin_stmt(), {
        "Effect": "Allow", "Principal": {"AWS": bare_role}, "Action": "kms:Encrypt", "Resource": "*"}))["KeyMetadata"]
    _assume(server, u, bare_role).kms.encrypt(KeyId=k2["Arn"], Plaintext=b"x")
    denied(sess.kms.encrypt, "kms:Encrypt", KeyId=k2["Arn"], Plaintext=b"x")


def test_grant_to_third_principal_and_role(server, kms, iam, make_user):
    k = kms.create_key(Policy=key_policy(admin_stmt()))["KeyMetadata"]  # IAM allows irrelevant for this key
    third = make_user(policy(allow("kms:*")))
    denied(third.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")
    g = kms.create_grant(KeyId=k["Arn"], GranteePrincipal=third.arn, Operations=["Encrypt", "Decrypt"])
    ct = third.kms.encrypt(KeyId=k["Arn"], Plaintext=b"3rd", GrantTokens=[g["GrantToken"]])["CiphertextBlob"]
    assert third.kms.decrypt(CiphertextBlob=ct, GrantTokens=[g["GrantToken"]])["Plaintext"] == b"3rd"
    u = make_user()
    role = _make_role(iam, u.arn, None)
    rg = kms.create_grant(KeyId=k["Arn"], GranteePrincipal=role, Operations=["Decrypt"])
    sess = _assume(server, u, role)
    assert sess.kms.decrypt(CiphertextBlob=ct, GrantTokens=[rg["GrantToken"]])["Plaintext"] == b"3rd"
    denied(sess.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x", GrantTokens=[rg["GrantToken"]])
    kms.revoke_grant(KeyId=k["Arn"], GrantId=rg["GrantId"])
    denied(sess.kms.decrypt, "kms:Decrypt", CiphertextBlob=ct)


def test_via_service_condition_absent_denies(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    via = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={
        "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}})))
    denied(via.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")
    direct_only = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={"Null": {"kms:ViaService": "true"}})))
    direct_only.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x")
    # Deny-unless-via-service in the key policy blocks direct calls even from a full IAM allow.
    u = make_user(policy(allow("kms:*")))
    k2 = kms.create_key(Policy=key_policy(root_stmt(), {
        "Effect": "Deny", "Principal": {"AWS": u.arn}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringNotLike": {"kms:ViaService": "*.amazonaws.com"}}}))["KeyMetadata"]
    ct = u.kms.encrypt(KeyId=k2["Arn"], Plaintext=b"x")["CiphertextBlob"]
    denied(u.kms.decrypt, "kms:Decrypt", CiphertextBlob=ct)


def test_caller_account_condition(kms, make_user):
    k = kms.create_key()["KeyMetadata"]
    ok = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}})))
    ok.kms.encrypt(KeyId=k["Arn"], Plaintext=b"x")
    no = make_user(policy(allow("kms:Encrypt", k["Arn"], Condition={"StringEquals": {"kms:CallerAccount": "111122223333"}})))
    denied(no.kms.encrypt, "kms:Encrypt", KeyId=k["Arn"], Plaintext=b"x")
