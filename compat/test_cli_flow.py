"""The README flow, driven by the real AWS CLI (awscli v1) as a subprocess."""
import json

from conftest import ACCOUNT_ID, allow, policy, unique


def assert_cli_error(result, code, operation):
    assert result.rc != 0, f"expected failure, got rc=0 stdout={result.stdout!r}"
    assert result.rc == 255, f"awscli exit code for a service error is 255, got {result.rc}"
    assert f"An error occurred ({code}) when calling the {operation} operation" in result.stderr, result.stderr


def test_get_caller_identity_as_admin(aws_cli):
    r = aws_cli("sts", "get-caller-identity")
    assert r.rc == 0, r.stderr
    assert r.json["Account"] == ACCOUNT_ID
    assert r.json["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
    assert r.json["UserId"].startswith("AIDA")


def test_readme_flow_user_role_and_temporary_credentials(aws_cli):
    user = unique("cli")
    role = unique("clirole")

    r = aws_cli("iam", "create-user", "--user-name", user)
    assert r.rc == 0, r.stderr
    assert r.json["User"]["UserName"] == user
    user_arn = r.json["User"]["Arn"]
    assert user_arn == f"arn:aws:iam::{ACCOUNT_ID}:user/{user}"

    r = aws_cli("iam", "create-access-key", "--user-name", user)
    assert r.rc == 0, r.stderr
    key = r.json["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    creds = (key["AccessKeyId"], key["SecretAccessKey"])

    # The new user starts with no permissions.
    r = aws_cli("iam", "list-users", creds=creds)
    assert_cli_error(r, "AccessDenied", "ListUsers")
    assert user_arn in r.stderr and "iam:ListUsers" in r.stderr

    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"
    r = aws_cli(
        "iam", "put-user-policy", "--user-name", user, "--policy-name", "assume",
        "--policy-document", policy(allow("sts:AssumeRole", role_arn), allow("iam:GetUser", user_arn)),
    )
    assert r.rc == 0, r.stderr

    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]})
    r = aws_cli("iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust)
    assert r.rc == 0, r.stderr
    assert r.json["Role"]["Arn"] == role_arn
    r = aws_cli("iam", "put-role-policy", "--role-name", role, "--policy-name", "list",
                "--policy-document", policy(allow(["iam:ListUsers", "iam:ListRoles"])))
    assert r.rc == 0, r.stderr

    # Now as the user.
    r = aws_cli("sts", "get-caller-identity", creds=creds)
    assert r.rc == 0, r.stderr
    assert r.json["Arn"] == user_arn
    r = aws_cli("iam", "get-user", "--user-name", user, creds=creds)
    assert r.rc == 0, r.stderr
    assert r.json["User"]["UserName"] == user
    r = aws_cli("iam", "list-users", creds=creds)  # not granted to the user itself
    assert_cli_error(r, "AccessDenied", "ListUsers")

    r = aws_cli("sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "cli-session", creds=creds)
    assert r.rc == 0, r.stderr
    c = r.json["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert c["SessionToken"]
    assert r.json["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/cli-session"
    temp = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    r = aws_cli("sts", "get-caller-identity", creds=temp)
    assert r.rc == 0, r.stderr
    assert r.json["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/cli-session"
    r = aws_cli("iam", "list-users", creds=temp)
    assert r.rc == 0, r.stderr
    assert user in [u["UserName"] for u in r.json["Users"]]
    r = aws_cli("iam", "list-roles", creds=temp)
    assert r.rc == 0, r.stderr
    assert role in [x["RoleName"] for x in r.json["Roles"]]

    # The role may list but not create.
    r = aws_cli("iam", "create-user", "--user-name", unique("nope"), creds=temp)
    assert_cli_error(r, "AccessDenied", "CreateUser")
    assert f"assumed-role/{role}/cli-session" in r.stderr

    # The temporary key without its session token is not valid.
    r = aws_cli("sts", "get-caller-identity", creds=temp[:2])
    assert_cli_error(r, "InvalidClientTokenId", "GetCallerIdentity")


def test_no_such_entity(aws_cli):
    name = unique("ghost")
    r = aws_cli("iam", "get-user", "--user-name", name)
    assert_cli_error(r, "NoSuchEntity", "GetUser")
    assert name in r.stderr
    r = aws_cli("iam", "delete-user", "--user-name", name)
    assert_cli_error(r, "NoSuchEntity", "DeleteUser")
    r = aws_cli("iam", "get-role", "--role-name", name)
    assert_cli_error(r, "NoSuchEntity", "GetRole")


def test_duplicate_user_via_cli(aws_cli):
    name = unique("dup")
    assert aws_cli("iam", "create-user", "--user-name", name).rc == 0
    r = aws_cli("iam", "create-user", "--user-name", name)
    assert_cli_error(r, "EntityAlreadyExists", "CreateUser")


def test_unknown_key_via_cli(aws_cli):
    r = aws_cli("sts", "get-caller-identity", creds=("AKIAUNKNOWNKEY000000", "x" * 40))
    assert_cli_error(r, "InvalidClientTokenId", "GetCallerIdentity")


def test_wrong_secret_via_cli(aws_cli, make_user):
    u = make_user(policy(allow("iam:GetUser")))
    r = aws_cli("iam", "get-user", creds=(u.key_id, u.secret[:-1] + ("A" if u.secret[-1] != "A" else "B")))
    assert_cli_error(r, "SignatureDoesNotMatch", "GetUser")
    r = aws_cli("iam", "get-user", creds=u)
    assert r.rc == 0, r.stderr
    assert r.json["User"]["UserName"] == u.name
