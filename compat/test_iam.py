"""IAM through boto3: what a user of the SDK notices."""
import json

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, allow, error_code, policy, unique

ClientError = botocore.exceptions.ClientError


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------- users

def test_user_crud(iam):
    name = unique("crud")
    created = iam.create_user(UserName=name, Path="/team/")["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/team/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/team/{name}"
    assert created["UserId"].startswith("AIDA")

    got = iam.get_user(UserName=name)["User"]
    assert got["UserId"] == created["UserId"] and got["Arn"] == created["Arn"]
    assert name in [u["UserName"] for u in iam.list_users()["Users"]]

    iam.update_user(UserName=name, NewPath="/other/")
    moved = iam.get_user(UserName=name)["User"]
    assert moved["UserId"] == created["UserId"]
    assert moved["Path"] == "/other/"
    assert moved["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/other/{name}"

    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert error_code(e) == "NoSuchEntity"
    assert name not in [u["UserName"] for u in iam.list_users()["Users"]]
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "NoSuchEntity"


def test_rename_user(iam):
    name, new = unique("rn"), unique("renamed")
    created = iam.create_user(UserName=name)["User"]
    iam.update_user(UserName=name, NewUserName=new)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert error_code(e) == "NoSuchEntity" and status(e) == 404
    renamed = iam.get_user(UserName=new)["User"]
    assert renamed["UserId"] == created["UserId"]
    assert renamed["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{new}"


def test_get_user_without_name_returns_caller(iam):
    assert iam.get_user()["User"]["UserName"] == "admin"


def test_duplicate_user(iam):
    name = unique("dup")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name)
    assert error_code(e) == "EntityAlreadyExists" and status(e) == 409
    # user names are case-insensitive in IAM
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name.upper())
    assert error_code(e) == "EntityAlreadyExists"


def test_rename_onto_existing_user(iam):
    a, b = unique("ra"), unique("rb")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    with pytest.raises(ClientError) as e:
        iam.update_user(UserName=a, NewUserName=b)
    assert error_code(e) == "EntityAlreadyExists"
    assert iam.get_user(UserName=a)["User"]["UserName"] == a


@pytest.mark.parametrize("bad", ["bad name", "semi;colon", "slash/name", "a" * 65, "star*", "ümlaut"])
def test_invalid_user_names(iam, bad):
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=bad)
    assert error_code(e) == "ValidationError" and status(e) == 400
    assert bad not in [u["UserName"] for u in iam.list_users()["Users"]]


def test_valid_unusual_user_names(iam):
    for name in ["a", "x" * 64, "Mix+=,.@_-" + unique("n")[-6:]]:
        assert iam.create_user(UserName=name)["User"]["UserName"] == name
        assert iam.get_user(UserName=name)["User"]["UserName"] == name


def test_delete_conflict_while_keys_or_policies_remain(iam):
    name = unique("conflict")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict" and status(e) == 409
    iam.delete_access_key(UserName=name, AccessKeyId=key)

    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(allow("iam:GetUser")))
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict"
    iam.delete_user_policy(UserName=name, PolicyName="p")

    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_code(e) == "DeleteConflict"
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert error_code(e) == "NoSuchEntity"


# ---------------------------------------------------------------- access keys

def test_access_key_limit_deactivate_delete(server, iam):
    name = unique("keys")
    iam.create_user(UserName=name)
    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    k2 = iam.create_access_key(UserName=name)["AccessKey"]
    assert k1["AccessKeyId"] != k2["AccessKeyId"]
    assert k1["AccessKeyId"].startswith("AKIA") and len(k1["AccessKeyId"]) == 20
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=name)
    assert error_code(e) == "LimitExceeded" and status(e) == 409

    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])
    assert all("SecretAccessKey" not in k for k in listed)
    assert {k["Status"] for k in listed} == {"Active"}

    s1 = server.client("sts", k1["AccessKeyId"], k1["SecretAccessKey"])
    s2 = server.client("sts", k2["AccessKeyId"], k2["SecretAccessKey"])
    assert s1.get_caller_identity()["Arn"].endswith(f":user/{name}")

    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert statuses == {k1["AccessKeyId"]: "Inactive", k2["AccessKeyId"]: "Active"}
    with pytest.raises(ClientError) as e:
        s1.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId" and status(e) == 403
    assert s2.get_caller_identity()["Arn"].endswith(f":user/{name}")

    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Active")
    assert s1.get_caller_identity()["Arn"].endswith(f":user/{name}")

    iam.delete_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"])
    with pytest.raises(ClientError) as e:
        s1.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [k2["AccessKeyId"]]
    with pytest.raises(ClientError) as e:
        iam.delete_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"])
    assert error_code(e) == "NoSuchEntity"
    # room for a new key again
    iam.create_access_key(UserName=name)


def test_access_key_last_used(server, iam):
    name = unique("lastused")
    iam.create_user(UserName=name)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    r = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
    assert r["UserName"] == name
    assert "LastUsedDate" in r["AccessKeyLastUsed"]
    with pytest.raises(ClientError) as e:
        iam.get_access_key_last_used(AccessKeyId="AKIANOSUCHKEY0000000")
    assert error_code(e) in ("NoSuchEntity", "AccessDenied")


def test_update_key_of_other_user_is_no_such_entity(iam):
    a, b = unique("ka"), unique("kb")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    ka = iam.create_access_key(UserName=a)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as e:
        iam.delete_access_key(UserName=b, AccessKeyId=ka)
    assert error_code(e) == "NoSuchEntity"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=a)["AccessKeyMetadata"]] == [ka]


# ---------------------------------------------------------------- inline policies

DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "One", "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListUsers"], "Resource": "*"},
        {"Effect": "Deny", "NotAction": "iam:*", "Resource": "arn:aws:iam::000000000000:user/x",
         "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}, "StringLike": {"aws:username": "a&b ?%+"}}},
    ],
}


def test_inline_user_policy_round_trip(iam):
    name = unique("inl")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p1", PolicyDocument=json.dumps(DOC))
    got = iam.get_user_policy(UserName=name, PolicyName="p1")
    assert isinstance(got["PolicyDocument"], dict)
    assert got["PolicyDocument"] == DOC
    assert got["PolicyName"] == "p1" and got["UserName"] == name
    iam.put_user_policy(UserName=name, PolicyName="p2", PolicyDocument=policy(allow("sts:*")))
    assert sorted(iam.list_user_policies(UserName=name)["PolicyNames"]) == ["p1", "p2"]
    # put again replaces
    iam.put_user_policy(UserName=name, PolicyName="p2", PolicyDocument=policy(allow("iam:*")))
    assert iam.get_user_policy(UserName=name, PolicyName="p2")["PolicyDocument"]["Statement"][0]["Action"] == "iam:*"
    iam.delete_user_policy(UserName=name, PolicyName="p1")
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["p2"]
    with pytest.raises(ClientError) as e:
        iam.get_user_policy(UserName=name, PolicyName="p1")
    assert error_code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.delete_user_policy(UserName=name, PolicyName="p1")
    assert error_code(e) == "NoSuchEntity"


def test_inline_policy_on_missing_user(iam):
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(UserName=unique("ghost"), PolicyName="p", PolicyDocument=policy(allow("iam:*")))
    assert error_code(e) == "NoSuchEntity"


BAD_DOCS = {
    "not-json": "{this is not json",
    "empty-object": "{}",
    "statement-not-list-or-object": json.dumps({"Version": "2012-10-17", "Statement": "nope"}),
    "bad-effect": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Action": "iam:*", "Resource": "*"}]}),
    "no-action": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
    "no-resource": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*"}]}),
    "action-and-notaction": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "NotAction": "sts:*", "Resource": "*"}]}),
    "action-without-vendor": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "GetUser", "Resource": "*"}]}),
    "bad-version": json.dumps({"Version": "2099-01-01", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}),
    "principal-in-identity-policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "iam:*", "Resource": "*"}]}),
}


@pytest.mark.parametrize("doc", list(BAD_DOCS.values()), ids=list(BAD_DOCS))
def test_malformed_policy_document(iam, doc):
    name = unique("mal")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument=doc)
    assert error_code(e) == "MalformedPolicyDocument" and status(e) == 400
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=unique("malp"), PolicyDocument=doc)
    assert error_code(e) == "MalformedPolicyDocument"


# ---------------------------------------------------------------- managed policies

def test_managed_policy_lifecycle_and_versions(iam):
    pname = unique("mp")
    doc1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
    doc2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
    p = iam.create_policy(PolicyName=pname, PolicyDocument=json.dumps(doc1), Description="d")["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:policy/{pname}"
    assert p["DefaultVersionId"] == "v1" and p["AttachmentCount"] == 0
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=pname, PolicyDocument=json.dumps(doc1))
    assert error_code(e) == "EntityAlreadyExists"

    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == doc1 and v1["IsDefaultVersion"] is True

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc2), SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    versions = {v["VersionId"]: v["IsDefaultVersion"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]}
    assert versions == {"v1": False, "v2": True}
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == doc2

    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert error_code(e) == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with pytest.raises(ClientError) as e:
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    assert error_code(e) == "NoSuchEntity"

    # at most 5 versions
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc1))
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc1))
    assert error_code(e) == "LimitExceeded"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"

    # attach / detach
    user = unique("att")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": pname, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_code(e) == "DeleteConflict"
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    with pytest.raises(ClientError) as e:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert error_code(e) == "NoSuchEntity"

    # delete needs non-default versions gone first
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_code(e) == "DeleteConflict"
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=arn)
    assert error_code(e) == "NoSuchEntity"


def test_builtin_managed_policies(iam):
    names = {p["PolicyName"]: p["Arn"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    for n in ["AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess", "PowerUserAccess"]:
        assert names.get(n) == f"arn:aws:iam::aws:policy/{n}"
    local = unique("local")
    iam.create_policy(PolicyName=local, PolicyDocument=policy(allow("iam:GetUser")))
    local_names = [p["PolicyName"] for p in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]]
    assert local in local_names and "AdministratorAccess" not in local_names
    admin = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    doc = iam.get_policy_version(PolicyArn=admin["Arn"], VersionId=admin["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Effect"] == "Allow"
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyXyz")
    assert error_code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert error_code(e) in ("AccessDenied", "InvalidInput", "UnmodifiableEntity")
    assert iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")["Policy"]["PolicyName"] == "ReadOnlyAccess"


def test_aws_managed_policy_attachment_is_counted(iam):
    user = unique("awsatt")
    iam.create_user(UserName=user)
    arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    before = iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    try:
        assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == before + 1
        attached = [p["Arn"] for p in iam.list_policies(OnlyAttached=True, MaxItems=1000)["Policies"]]
        assert arn in attached
        # the admin user has AdministratorAccess attached
        assert "arn:aws:iam::aws:policy/AdministratorAccess" in attached
    finally:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)


def test_only_attached_local_policies(iam):
    name = unique("onlyatt")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("iam:GetUser")))["Policy"]["Arn"]
    assert arn not in [p["Arn"] for p in iam.list_policies(OnlyAttached=True, MaxItems=1000)["Policies"]]
    user = unique("onlyattu")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert arn in [p["Arn"] for p in iam.list_policies(OnlyAttached=True, Scope="Local", MaxItems=1000)["Policies"]]


def test_inline_policy_size_limit(iam):
    name = unique("big")
    iam.create_user(UserName=name)
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "x" * 3000, "Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(UserName=name, PolicyName="big", PolicyDocument=doc)
    assert error_code(e) == "LimitExceeded"
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []


@pytest.mark.parametrize("call", ["policy", "role"])
def test_invalid_policy_and_role_names(iam, call):
    with pytest.raises(ClientError) as e:
        if call == "policy":
            iam.create_policy(PolicyName="bad name!", PolicyDocument=policy(allow("iam:GetUser")))
        else:
            iam.create_role(RoleName="bad name!", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert error_code(e) == "ValidationError"


def test_attach_missing_policy(iam):
    user = unique("attmiss")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.attach_user_policy(UserName=user, PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{unique('none')}")
    assert error_code(e) == "NoSuchEntity"
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []


# ---------------------------------------------------------------- pagination

def test_list_users_pagination(iam):
    path = f"/{unique('page')}/"
    names = sorted(unique("pg") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=path)
    seen, marker, pages = [], None, 0
    while True:
        kw = {"PathPrefix": path, "MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        r = iam.list_users(**kw)
        pages += 1
        assert len(r["Users"]) <= 2
        seen.extend(u["UserName"] for u in r["Users"])
        if not r["IsTruncated"]:
            assert "Marker" not in r
            break
        marker = r["Marker"]
        assert pages < 10
    assert pages == 3
    assert sorted(seen) == names and len(seen) == len(set(seen))

    # the boto3 paginator walks the same pages
    pag = iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
    all_names = [u["UserName"] for page in pag for u in page["Users"]]
    assert len(all_names) == len(set(all_names))
    assert set(names) <= set(all_names) and "admin" in all_names


# ---------------------------------------------------------------- tags

def test_user_tags(iam):
    name = unique("tags")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "team", "Value": "red"}]
    iam.tag_user(UserName=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "blue"}])
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
    assert tags == {"team": "blue", "env": "prod"}
    assert {t["Key"]: t["Value"] for t in iam.get_user(UserName=name)["User"]["Tags"]} == tags
    iam.untag_user(UserName=name, TagKeys=["team"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as e:
        iam.tag_user(UserName=unique("ghost"), Tags=[{"Key": "a", "Value": "b"}])
    assert error_code(e) == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.tag_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert error_code(e) in ("LimitExceeded", "ValidationError", "InvalidInput")
    assert len(iam.list_user_tags(UserName=name)["Tags"]) == 1


# ---------------------------------------------------------------- roles

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}]}


def test_role_crud(iam):
    name = unique("role")
    r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), Description="first",
                        MaxSessionDuration=7200)["Role"]
    assert r["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
    assert r["RoleId"].startswith("AROA")
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    assert error_code(e) == "EntityAlreadyExists"
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == TRUST
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "first"
    assert name in [x["RoleName"] for x in iam.list_roles(MaxItems=1000)["Roles"]]

    iam.update_role(RoleName=name, Description="second", MaxSessionDuration=3600)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "second" and got["MaxSessionDuration"] == 3600
    new_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/someone"}, "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new_trust))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new_trust
    with pytest.raises(ClientError) as e:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="{nope")
    assert error_code(e) == "MalformedPolicyDocument"

    iam.put_role_policy(RoleName=name, PolicyName="rp", PolicyDocument=json.dumps(DOC))
    assert iam.get_role_policy(RoleName=name, PolicyName="rp")["PolicyDocument"] == DOC
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["rp"]
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]

    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_code(e) == "DeleteConflict"
    iam.delete_role_policy(RoleName=name, PolicyName="rp")
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_code(e) == "DeleteConflict"
    iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_code(e) == "NoSuchEntity"


def test_create_role_with_bad_trust_policy(iam):
    name = unique("badtrust")
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="not json")
    assert error_code(e) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_code(e) == "NoSuchEntity"
