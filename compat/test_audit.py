"""The audit trail as seen through CloudTrail LookupEvents."""
import json
import time

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, allow, policy, unique, wait_for_events

ClientError = botocore.exceptions.ClientError


def detail(event):
    return json.loads(event["CloudTrailEvent"])


def test_successful_call_is_recorded(iam, cloudtrail):
    name = unique("audited")
    iam.create_user(UserName=name)
    hits = wait_for_events(
        cloudtrail, lambda e: detail(e)["requestParameters"].get("userName") == name,
        [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
    assert len(hits) == 1
    e = hits[0]
    d = detail(e)
    assert e["EventName"] == "CreateUser"
    assert e["EventSource"] == "iam.amazonaws.com"
    assert e["Username"] == "admin"
    assert "errorCode" not in d or d["errorCode"] is None
    assert d["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
    assert d["userIdentity"]["type"] == "IAMUser"
    assert d["recipientAccountId"] == ACCOUNT_ID
    assert d["sourceIPAddress"] == "127.0.0.1"
    assert d["readOnly"] is False
    assert d["eventID"] == e["EventId"]


def test_access_denied_is_recorded(make_user, cloudtrail):
    u = make_user()
    with pytest.raises(ClientError):
        u.iam.list_users()
    with pytest.raises(ClientError):
        u.iam.create_user(UserName=unique("x"))
    hits = wait_for_events(cloudtrail, lambda e: e["EventName"] == "CreateUser",
                           [{"AttributeKey": "Username", "AttributeValue": u.name}])
    assert hits, "denied CreateUser not recorded"
    d = detail(hits[0])
    assert d["errorCode"] == "AccessDenied"
    assert "iam:CreateUser" in d["errorMessage"]
    assert hits[0]["Username"] == u.name
    assert d["userIdentity"]["arn"] == u.arn
    assert d["userIdentity"]["accessKeyId"] == u.key_id
    lists = wait_for_events(cloudtrail, lambda e: e["EventName"] == "ListUsers",
                            [{"AttributeKey": "Username", "AttributeValue": u.name}])
    assert [detail(e)["errorCode"] for e in lists] == ["AccessDenied"]


def test_failed_authentication_is_recorded(server, cloudtrail, make_user):
    u = make_user(policy(allow("iam:GetUser")))
    bad = server.client("iam", u.key_id, "x" * 40)
    with pytest.raises(ClientError):
        bad.get_user()
    hits = wait_for_events(cloudtrail, lambda e: detail(e).get("errorCode") == "SignatureDoesNotMatch"
                           and detail(e)["userIdentity"].get("accessKeyId") == u.key_id)
    assert hits, "a request with a bad signature is not in the trail"


def test_no_secrets_in_the_trail(iam, sts, cloudtrail, make_user):
    name = unique("secret")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    hits = wait_for_events(
        cloudtrail, lambda e: key["AccessKeyId"] in e["CloudTrailEvent"] or name in e["CloudTrailEvent"],
        [{"AttributeKey": "EventName", "AttributeValue": "CreateAccessKey"}])
    assert hits, "CreateAccessKey not recorded"
    # the key id may appear; the secret must not, anywhere
    assert key["AccessKeyId"] in json.dumps([detail(e) for e in hits])

    u = make_user(policy(allow("sts:AssumeRole")))
    role = unique("auditrole")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": u.arn}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    creds = u.sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", RoleSessionName="audit")["Credentials"]
    session_token = sts.get_session_token()["Credentials"]
    assumed = wait_for_events(cloudtrail, lambda e: e.get("Username") == u.name,
                              [{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}])
    assert assumed
    wait_for_events(cloudtrail, lambda e: True, [{"AttributeKey": "EventName", "AttributeValue": "GetSessionToken"}])

    everything = []
    token = None
    while True:
        kw = {"MaxResults": 50}
        if token:
            kw["NextToken"] = token
        page = cloudtrail.lookup_events(**kw)
        everything.extend(e["CloudTrailEvent"] for e in page["Events"])
        token = page.get("NextToken")
        if not token:
            break
    blob = "\n".join(everything)
    for secret in [key["SecretAccessKey"], u.secret, creds["SecretAccessKey"], creds["SessionToken"],
                   session_token["SecretAccessKey"], session_token["SessionToken"]]:
        assert secret not in blob
    assert "wJalrXUtnFEMI" not in blob  # the admin secret


def test_lookup_attributes_filter(make_user, cloudtrail):
    u = make_user(policy(allow(["iam:GetUser", "iam:ListUsers"])))
    u.iam.get_user()
    u.iam.list_users()
    u.iam.list_users()
    # The trail is written asynchronously (as CloudTrail's is): poll until all three are in.
    deadline = time.monotonic() + 20
    while True:
        by_user = wait_for_events(cloudtrail, lambda e: True, [{"AttributeKey": "Username", "AttributeValue": u.name}])
        if len(by_user) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(e["EventName"] for e in by_user) == ["GetUser", "ListUsers", "ListUsers"]
    assert {e["Username"] for e in by_user} == {u.name}

    by_name = wait_for_events(cloudtrail, lambda e: True, [{"AttributeKey": "EventName", "AttributeValue": "GetUser"}])
    assert by_name and {e["EventName"] for e in by_name} == {"GetUser"}
    assert u.name in {e.get("Username") for e in by_name}

    nothing = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": unique("nobody")}])
    assert nothing["Events"] == []


def test_pagination(make_user, cloudtrail):
    u = make_user(policy(allow("iam:GetUser")))
    for _ in range(5):
        u.iam.get_user()
    attrs = [{"AttributeKey": "Username", "AttributeValue": u.name}]
    for _ in range(50):
        if len(cloudtrail.lookup_events(LookupAttributes=attrs, MaxResults=50)["Events"]) >= 5:
            break
        time.sleep(0.1)
    ids, pages, token = [], 0, None
    while True:
        kw = {"LookupAttributes": attrs, "MaxResults": 2}
        if token:
            kw["NextToken"] = token
        page = cloudtrail.lookup_events(**kw)
        pages += 1
        assert len(page["Events"]) <= 2
        ids.extend(e["EventId"] for e in page["Events"])
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert len(ids) == 5 and len(set(ids)) == 5
    assert pages == 3
    # newest first
    events = cloudtrail.lookup_events(LookupAttributes=attrs)["Events"]
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    # boto3's paginator agrees
    pag = cloudtrail.get_paginator("lookup_events").paginate(LookupAttributes=attrs, PaginationConfig={"PageSize": 2})
    assert sorted(e["EventId"] for p in pag for e in p["Events"]) == sorted(ids)
