"""Authorisation: every family denied without permission, allowed with a narrow grant."""
import json
import time

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, Principal, allow, deny, error_code, policy, unique

ClientError = botocore.exceptions.ClientError
ARN = f"arn:aws:iam::{ACCOUNT_ID}"


def denied(call, *args, **kwargs):
    """Assert AccessDenied (Query protocol) / AccessDeniedException (JSON protocol, e.g. CloudTrail)."""
    service = call.__self__.meta.service_model.service_name
    expected = "AccessDeniedException" if service == "cloudtrail" else "AccessDenied"
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    assert error_code(e) == expected, e.value.response["Error"]
    # Query-protocol IAM/STS answer 403; JSON-protocol AccessDeniedException is a 400 in AWS.
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == (400 if service == "cloudtrail" else 403)
    return e.value.response["Error"]["Message"]


# ---------------------------------------------------------------- per family

def test_users_family(iam, make_user):
    target = unique("tgt")
    nobody = make_user()
    msg = denied(nobody.iam.create_user, UserName=target)
    assert nobody.arn in msg and "iam:CreateUser" in msg
    denied(nobody.iam.list_users)
    iam.create_user(UserName=target)
    denied(nobody.iam.get_user, UserName=target)
    denied(nobody.iam.delete_user, UserName=target)
    denied(nobody.iam.tag_user, UserName=target, Tags=[{"Key": "a", "Value": "b"}])
    assert iam.get_user(UserName=target)["User"]["UserName"] == target
    assert iam.list_user_tags(UserName=target)["Tags"] == []

    prefix = unique("mgd")
    mgr = make_user(policy(allow(["iam:CreateUser", "iam:GetUser", "iam:DeleteUser", "iam:TagUser"],
                                 f"{ARN}:user/{prefix}*")))
    name = prefix + "-x"
    assert mgr.iam.create_user(UserName=name)["User"]["UserName"] == name
    assert mgr.iam.get_user(UserName=name)["User"]["UserName"] == name
    mgr.iam.tag_user(UserName=name, Tags=[{"Key": "a", "Value": "b"}])
    denied(mgr.iam.get_user, UserName=target)  # outside the resource pattern
    denied(mgr.iam.create_user, UserName=unique("other"))
    denied(mgr.iam.list_users)  # action not granted
    mgr.iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert error_code(e) == "NoSuchEntity"


def test_access_keys_family_own_keys_only(iam, make_user):
    own = {"Effect": "Allow",
           "Action": ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
           "Resource": f"{ARN}:user/${{aws:username}}"}
    me = make_user(policy(own))
    other = make_user(policy(own))

    keys = me.iam.list_access_keys(UserName=me.name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [me.key_id]
    # without UserName: the caller's own keys
    assert [k["AccessKeyId"] for k in me.iam.list_access_keys()["AccessKeyMetadata"]] == [me.key_id]
    new = me.iam.create_access_key(UserName=me.name)["AccessKey"]
    assert new["UserName"] == me.name
    me.iam.update_access_key(UserName=me.name, AccessKeyId=new["AccessKeyId"], Status="Inactive")
    me.iam.delete_access_key(UserName=me.name, AccessKeyId=new["AccessKeyId"])

    # someone else's keys
    denied(me.iam.list_access_keys, UserName=other.name)
    denied(me.iam.create_access_key, UserName=other.name)
    denied(me.iam.update_access_key, UserName=other.name, AccessKeyId=other.key_id, Status="Inactive")
    denied(me.iam.delete_access_key, UserName=other.name, AccessKeyId=other.key_id)
    assert [(k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName=other.name)["AccessKeyMetadata"]] \
        == [(other.key_id, "Active")]

    nobody = make_user()
    denied(nobody.iam.list_access_keys)
    denied(nobody.iam.create_access_key, UserName=nobody.name)
    assert len(iam.list_access_keys(UserName=nobody.name)["AccessKeyMetadata"]) == 1


def test_inline_policies_family(iam, make_user):
    a, b = unique("ia"), unique("ib")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    doc = policy(allow("iam:GetUser"))
    nobody = make_user()
    denied(nobody.iam.put_user_policy, UserName=a, PolicyName="x", PolicyDocument=doc)
    assert iam.list_user_policies(UserName=a)["PolicyNames"] == []

    actions = ["iam:PutUserPolicy", "iam:GetUserPolicy", "iam:ListUserPolicies", "iam:DeleteUserPolicy"]
    mgr = make_user(policy(allow(actions, f"{ARN}:user/{a}")))
    mgr.iam.put_user_policy(UserName=a, PolicyName="x", PolicyDocument=doc)
    assert mgr.iam.get_user_policy(UserName=a, PolicyName="x")["PolicyDocument"] == json.loads(doc)
    assert mgr.iam.list_user_policies(UserName=a)["PolicyNames"] == ["x"]
    denied(mgr.iam.put_user_policy, UserName=b, PolicyName="x", PolicyDocument=doc)
    denied(mgr.iam.list_user_policies, UserName=b)
    assert iam.list_user_policies(UserName=b)["PolicyNames"] == []
    # cannot grant itself more
    denied(mgr.iam.put_user_policy, UserName=mgr.name, PolicyName="escalate", PolicyDocument=policy(allow("*")))
    mgr.iam.delete_user_policy(UserName=a, PolicyName="x")
    assert iam.list_user_policies(UserName=a)["PolicyNames"] == []


def test_managed_policies_family(iam, make_user):
    nobody = make_user()
    name = unique("mpz")
    denied(nobody.iam.create_policy, PolicyName=name, PolicyDocument=policy(allow("iam:GetUser")))
    denied(nobody.iam.list_policies)
    denied(nobody.iam.attach_user_policy, UserName=nobody.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert iam.list_attached_user_policies(UserName=nobody.name)["AttachedPolicies"] == []
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=f"{ARN}:policy/{name}")
    assert error_code(e) == "NoSuchEntity"

    target = unique("attt")
    iam.create_user(UserName=target)
    mgr = make_user(policy(
        allow(["iam:CreatePolicy", "iam:GetPolicy", "iam:DeletePolicy"], f"{ARN}:policy/{name}"),
        allow(["iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:ListAttachedUserPolicies"], f"{ARN}:user/{target}"),
    ))
    arn = mgr.iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("iam:GetUser")))["Policy"]["Arn"]
    assert mgr.iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == name
    mgr.iam.attach_user_policy(UserName=target, PolicyArn=arn)
    assert mgr.iam.list_attached_user_policies(UserName=target)["AttachedPolicies"][0]["PolicyArn"] == arn
    denied(mgr.iam.attach_user_policy, UserName=mgr.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    denied(mgr.iam.create_policy, PolicyName=unique("other"), PolicyDocument=policy(allow("iam:GetUser")))
    mgr.iam.detach_user_policy(UserName=target, PolicyArn=arn)
    mgr.iam.delete_policy(PolicyArn=arn)


def test_managed_policy_grants_and_detach_revokes(iam, make_user):
    u = make_user()
    denied(u.iam.list_users)
    iam.attach_user_policy(UserName=u.name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert "admin" in [x["UserName"] for x in u.iam.list_users()["Users"]]
    denied(u.iam.create_user, UserName=unique("ro"))
    iam.detach_user_policy(UserName=u.name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    denied(u.iam.list_users)


def test_deleting_inline_policy_revokes(iam, make_user):
    u = make_user(policy(allow("iam:ListUsers")))
    u.iam.list_users()
    iam.delete_user_policy(UserName=u.name, PolicyName="inline")
    denied(u.iam.list_users)


def test_roles_family(iam, make_user):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"{ARN}:root"}, "Action": "sts:AssumeRole"}]})
    nobody = make_user()
    name = unique("r")
    denied(nobody.iam.create_role, RoleName=name, AssumeRolePolicyDocument=trust)
    denied(nobody.iam.list_roles)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_code(e) == "NoSuchEntity"

    mgr = make_user(policy(allow(["iam:CreateRole", "iam:GetRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                                  "iam:DeleteRole"], f"{ARN}:role/{name}")))
    assert mgr.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["RoleName"] == name
    assert mgr.iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    mgr.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy(allow("iam:GetUser")))
    denied(mgr.iam.create_role, RoleName=unique("r2"), AssumeRolePolicyDocument=trust)
    denied(mgr.iam.update_assume_role_policy, RoleName=name, PolicyDocument=trust)
    denied(mgr.iam.attach_role_policy, RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    mgr.iam.delete_role_policy(RoleName=name, PolicyName="p")
    mgr.iam.delete_role(RoleName=name)


def make_role(iam, trust_principal, permissions=None, name=None):
    name = name or unique("role")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trust_principal}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if permissions:
        iam.put_role_policy(RoleName=name, PolicyName="perms", PolicyDocument=permissions)
    return name, arn


def as_session(server, creds):
    return Principal("session", "", creds["AccessKeyId"], creds["SecretAccessKey"], server, creds["SessionToken"])


def test_assume_role_needs_identity_permission(server, iam, make_user):
    _, role_arn = make_role(iam, f"{ARN}:root", policy(allow("iam:ListUsers")))
    nobody = make_user()
    msg = denied(nobody.sts.assume_role, RoleArn=role_arn, RoleSessionName="s1")
    assert "sts:AssumeRole" in msg
    allowed = make_user(policy(allow("sts:AssumeRole", role_arn)))
    creds = allowed.sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    sess = as_session(server, creds)
    assert "admin" in [u["UserName"] for u in sess.iam.list_users()["Users"]]
    _, other_role = make_role(iam, f"{ARN}:root")
    denied(allowed.sts.assume_role, RoleArn=other_role, RoleSessionName="s1")


def test_assume_role_refused_when_trust_names_someone_else(iam, make_user):
    friend = make_user()
    _, role_arn = make_role(iam, friend.arn)
    stranger = make_user(policy(allow("sts:AssumeRole")))
    denied(stranger.sts.assume_role, RoleArn=role_arn, RoleSessionName="s1")
    friend.sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")  # the named principal is let in


def test_cloudtrail_family(make_user):
    nobody = make_user()
    msg = denied(nobody.cloudtrail.lookup_events, MaxResults=1)
    assert "cloudtrail:LookupEvents" in msg
    reader = make_user(policy(allow("cloudtrail:LookupEvents")))
    assert isinstance(reader.cloudtrail.lookup_events(MaxResults=1)["Events"], list)
    denied(reader.iam.list_users)


# ---------------------------------------------------------------- evaluation logic

def test_explicit_deny_beats_allow(iam, make_user):
    u = make_user(policy(allow("iam:*"), deny("iam:DeleteUser")))
    victim = unique("victim")
    u.iam.create_user(UserName=victim)
    denied(u.iam.delete_user, UserName=victim)
    assert u.iam.get_user(UserName=victim)["User"]["UserName"] == victim

    # a Deny in an attached managed policy beats AdministratorAccess
    deny_arn = iam.create_policy(PolicyName=unique("deny"), PolicyDocument=policy(deny("iam:ListUsers")))["Policy"]["Arn"]
    admin_like = make_user()
    iam.attach_user_policy(UserName=admin_like.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    admin_like.iam.list_users()
    iam.attach_user_policy(UserName=admin_like.name, PolicyArn=deny_arn)
    denied(admin_like.iam.list_users)
    assert admin_like.iam.list_roles()["Roles"] is not None


def test_source_ip_condition(make_user):
    ok = make_user(policy(allow("iam:ListUsers", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}})))
    assert ok.iam.list_users()["Users"]
    no = make_user(policy(allow("iam:ListUsers", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    denied(no.iam.list_users)
    fenced = make_user(policy(allow("iam:ListUsers"),
                              deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    denied(fenced.iam.list_users)


def test_requested_region_condition(make_user):
    doc = policy(allow("cloudtrail:LookupEvents", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    u = make_user(doc)
    u.client("cloudtrail", region="us-east-1").lookup_events(MaxResults=1)
    denied(u.client("cloudtrail", region="eu-west-1").lookup_events, MaxResults=1)
    other = make_user(policy(allow("cloudtrail:LookupEvents",
                                   Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})))
    denied(other.client("cloudtrail", region="us-east-1").lookup_events, MaxResults=1)
    other.client("cloudtrail", region="eu-west-1").lookup_events(MaxResults=1)


def test_username_variable_in_resource(iam, make_user):
    u = make_user(policy(allow("iam:GetUser", f"{ARN}:user/${{aws:username}}")))
    assert u.iam.get_user(UserName=u.name)["User"]["UserName"] == u.name
    denied(u.iam.get_user, UserName="admin")


def test_not_action(make_user):
    u = make_user(policy({"Effect": "Allow", "NotAction": ["iam:CreateUser", "iam:DeleteUser"], "Resource": "*"}))
    assert u.iam.list_users()["Users"]
    u.cloudtrail.lookup_events(MaxResults=1)
    denied(u.iam.create_user, UserName=unique("na"))
    d = make_user(policy(allow("iam:*"), {"Effect": "Deny", "NotAction": "iam:List*", "Resource": "*"}))
    assert d.iam.list_users()["Users"]
    denied(d.iam.get_user, UserName="admin")
    denied(d.iam.create_user, UserName=unique("nd"))


def test_session_policy_narrows(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    _, role_arn = make_role(iam, u.arn, policy(allow(["iam:ListUsers", "iam:ListRoles"])))
    full = as_session(server, u.sts.assume_role(RoleArn=role_arn, RoleSessionName="full")["Credentials"])
    full.iam.list_users()
    full.iam.list_roles()
    narrow = as_session(server, u.sts.assume_role(
        RoleArn=role_arn, RoleSessionName="narrow", Policy=policy(allow("iam:ListRoles")))["Credentials"])
    narrow.iam.list_roles()
    denied(narrow.iam.list_users)
    # a session policy cannot widen the role
    wide = as_session(server, u.sts.assume_role(
        RoleArn=role_arn, RoleSessionName="wide", Policy=policy(allow("*")))["Credentials"])
    denied(wide.iam.create_user, UserName=unique("w"))
    wide.iam.list_users()


def test_role_without_permissions_is_denied(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    role, role_arn = make_role(iam, u.arn)
    r = u.sts.assume_role(RoleArn=role_arn, RoleSessionName="empty")
    sess = as_session(server, r["Credentials"])
    ident = sess.sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/empty"
    msg = denied(sess.iam.list_users)
    assert f"assumed-role/{role}/empty" in msg
    denied(sess.cloudtrail.lookup_events, MaxResults=1)


def _doomed_session(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    role, role_arn = make_role(iam, u.arn, policy(allow("iam:ListUsers")))
    sess = as_session(server, u.sts.assume_role(RoleArn=role_arn, RoleSessionName="doomed")["Credentials"])
    sess.iam.list_users()
    iam.delete_role_policy(RoleName=role, PolicyName="perms")
    iam.delete_role(RoleName=role)
    return u, role, sess


def test_deleting_role_ends_its_sessions(server, iam, make_user):
    _, _, sess = _doomed_session(server, iam, make_user)
    with pytest.raises(ClientError) as e:
        sess.iam.list_users()
    assert error_code(e) in ("AccessDenied", "InvalidClientTokenId")
    # not just "no permissions left": the session itself is gone
    with pytest.raises(ClientError) as e:
        sess.sts.get_caller_identity()
    assert error_code(e) in ("InvalidClientTokenId", "ExpiredToken")


def test_recreated_role_does_not_revive_old_sessions(server, iam, make_user):
    u, role, sess = _doomed_session(server, iam, make_user)
    make_role(iam, u.arn, policy(allow("iam:ListUsers")), name=role)
    with pytest.raises(ClientError) as e:
        sess.iam.list_users()
    assert error_code(e) in ("AccessDenied", "InvalidClientTokenId")
    with pytest.raises(ClientError) as e:
        sess.sts.get_caller_identity()
    assert error_code(e) in ("InvalidClientTokenId", "ExpiredToken")


def test_duration_and_role_chaining(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    role, role_arn = make_role(iam, u.arn, policy(allow("sts:AssumeRole")))
    iam.update_role(RoleName=role, MaxSessionDuration=7200)
    r = u.sts.assume_role(RoleArn=role_arn, RoleSessionName="long", DurationSeconds=7200)
    exp = r["Credentials"]["Expiration"].timestamp() - time.time()
    assert 7000 < exp <= 7300
    with pytest.raises(ClientError) as e:
        u.sts.assume_role(RoleArn=role_arn, RoleSessionName="toolong", DurationSeconds=7201)
    assert error_code(e) == "ValidationError"
    # chaining: a role session assumes another role; at most 1 hour
    sess = as_session(server, r["Credentials"])
    _, role2 = make_role(iam, role_arn)
    iam.update_role(RoleName=role2.split("/")[-1], MaxSessionDuration=7200)
    with pytest.raises(ClientError) as e:
        sess.sts.assume_role(RoleArn=role2, RoleSessionName="chain", DurationSeconds=7200)
    assert error_code(e) == "ValidationError"
    chained = sess.sts.assume_role(RoleArn=role2, RoleSessionName="chain", DurationSeconds=3600)
    assert chained["AssumedRoleUser"]["Arn"].endswith("/chain")


def test_get_session_token(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    c = u.sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    sess = as_session(server, c)
    assert sess.sts.get_caller_identity()["Arn"] == u.arn
    # session credentials cannot mint more session credentials
    msg = denied(sess.sts.get_session_token)
    assert "session credentials" in msg
    # but they can assume a role the user may assume
    _, role_arn = make_role(iam, u.arn)
    assert sess.sts.assume_role(RoleArn=role_arn, RoleSessionName="from-gst")["AssumedRoleUser"]["Arn"].endswith("/from-gst")
    role_sess = as_session(server, u.sts.assume_role(RoleArn=role_arn, RoleSessionName="r1")["Credentials"])
    denied(role_sess.sts.get_session_token)


def test_session_token_credentials_cannot_call_iam_without_mfa(server, make_user):
    u = make_user(policy(allow("iam:GetUser")))
    u.iam.get_user(UserName=u.name)
    sess = as_session(server, u.sts.get_session_token()["Credentials"])
    denied(sess.iam.get_user, UserName=u.name)


def test_assume_role_errors(iam, sts, make_user):
    _, role_arn = make_role(iam, f"{ARN}:root")
    # a role that does not exist looks like a denial, not NoSuchEntity
    msg = denied(sts.assume_role, RoleArn=f"{ARN}:role/{unique('missing')}", RoleSessionName="s1")
    assert "sts:AssumeRole" in msg
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bad name")
    assert error_code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", Policy="{not json")
    assert error_code(e) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=3601)  # role max is 1 h
    assert error_code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn="not-an-arn-at-all-xx", RoleSessionName="s1")
    assert error_code(e) == "ValidationError"
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith("/s1")


# ---------------------------------------------------------------- matching details

def test_action_matching_is_case_insensitive_and_wildcarded(make_user):
    u = make_user(policy(allow("IAM:listusers")))
    assert u.iam.list_users()["Users"]
    w = make_user(policy(allow("iam:List*")))
    w.iam.list_users()
    w.iam.list_roles()
    denied(w.iam.get_user, UserName="admin")
    q = make_user(policy(allow("iam:?etUser")))
    q.iam.get_user(UserName="admin")
    denied(q.iam.list_users)


def test_not_resource(make_user):
    u = make_user(policy({"Effect": "Allow", "Action": "iam:GetUser", "NotResource": f"{ARN}:user/admin"}))
    assert u.iam.get_user(UserName=u.name)["User"]["UserName"] == u.name
    denied(u.iam.get_user, UserName="admin")


def test_external_id_condition(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    name = unique("ext")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": u.arn}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "s3cret-id"}}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    denied(u.sts.assume_role, RoleArn=arn, RoleSessionName="noext")
    denied(u.sts.assume_role, RoleArn=arn, RoleSessionName="wrongext", ExternalId="wrong-id")
    u.sts.assume_role(RoleArn=arn, RoleSessionName="rightext", ExternalId="s3cret-id")


def test_secure_transport_and_unknown_condition_keys(make_user):
    tls = make_user(policy(allow("iam:ListUsers", Condition={"Bool": {"aws:SecureTransport": "true"}})))
    tls.iam.list_users()
    # a key absent from the request never satisfies a plain condition operator
    absent = make_user(policy(allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})))
    denied(absent.iam.list_users)
    # ...but does satisfy the IfExists form
    ifexists = make_user(policy(allow("iam:ListUsers",
                                      Condition={"StringEqualsIfExists": {"aws:PrincipalTag/team": "red"}})))
    ifexists.iam.list_users()


def test_username_variable_in_condition(make_user):
    u = make_user(policy(allow("iam:GetUser", Condition={"StringEquals": {"aws:username": "${aws:username}"}}),
                         deny("iam:ListUsers", Condition={"StringNotLike": {"aws:username": "nobody-*"}}),
                         allow("iam:ListUsers")))
    u.iam.get_user(UserName="admin")
    denied(u.iam.list_users)


def test_principal_tag_condition(iam, make_user):
    doc = policy(allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}}))
    u = make_user(doc)
    denied(u.iam.list_users)
    iam.tag_user(UserName=u.name, Tags=[{"Key": "team", "Value": "red"}])
    u.iam.list_users()
    iam.tag_user(UserName=u.name, Tags=[{"Key": "team", "Value": "blue"}])
    denied(u.iam.list_users)


def test_role_policy_change_applies_to_live_sessions(server, iam, make_user):
    u = make_user(policy(allow("sts:AssumeRole")))
    role, role_arn = make_role(iam, u.arn, policy(allow("iam:ListUsers")))
    sess = as_session(server, u.sts.assume_role(RoleArn=role_arn, RoleSessionName="live")["Credentials"])
    sess.iam.list_users()
    denied(sess.iam.list_roles)
    iam.put_role_policy(RoleName=role, PolicyName="perms", PolicyDocument=policy(allow("iam:ListRoles")))
    sess.iam.list_roles()
    denied(sess.iam.list_users)



def _user_session_then_delete(server, iam, make_user):
    u = make_user()
    sess = as_session(server, u.sts.get_session_token()["Credentials"])
    assert sess.sts.get_caller_identity()["Arn"] == u.arn
    iam.delete_access_key(UserName=u.name, AccessKeyId=u.key_id)
    iam.delete_user(UserName=u.name)
    return u, sess


def test_deleting_user_ends_its_session_tokens(server, iam, make_user):
    _, sess = _user_session_then_delete(server, iam, make_user)
    with pytest.raises(ClientError) as e:
        sess.sts.get_caller_identity()
    assert error_code(e) in ("InvalidClientTokenId", "ExpiredToken")


def test_recreated_user_does_not_revive_old_session_tokens(server, iam, make_user):
    u, sess = _user_session_then_delete(server, iam, make_user)
    iam.create_user(UserName=u.name)
    iam.put_user_policy(UserName=u.name, PolicyName="p", PolicyDocument=policy(allow("iam:ListUsers")))
    with pytest.raises(ClientError) as e:
        sess.iam.list_users()
    assert error_code(e) in ("AccessDenied", "InvalidClientTokenId")
    with pytest.raises(ClientError) as e:
        sess.sts.get_caller_identity()
    assert error_code(e) in ("InvalidClientTokenId", "ExpiredToken")
