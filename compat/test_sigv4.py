"""SigV4 failures, each with the exact error code a client sees, using botocore's signer + requests."""
import datetime
import http.client
import ssl
import json
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest
import requests

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, REGION, allow, error_code, policy

ClientError = botocore.exceptions.ClientError
GCI_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def sign(server, body=GCI_BODY, service="sts", key_id=ADMIN_KEY_ID, secret=ADMIN_SECRET, token=None,
         headers=None, region=REGION):
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/", data=body,
        headers={"Content-Type": FORM, **(headers or {})})
    creds = botocore.credentials.Credentials(key_id, secret, token)
    botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return req


def send(server, req, data=None):
    return requests.post(req.url, data=req.body if data is None else data, headers=dict(req.headers),
                         verify=server.ca_bundle, timeout=30)


def replace_header(req, name, value):
    # botocore's HTTPHeaders appends on assignment; remove the old value first.
    del req.headers[name]
    req.headers[name] = value
    assert req.headers.get_all(name) == [value]


def query_error(resp):
    """(code, message) from an AWS Query XML error body."""
    root = ET.fromstring(resp.content)
    code = msg = None
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag == "Code" and code is None:
            code = el.text
        elif tag == "Message" and msg is None:
            msg = el.text
    return code, msg


def test_signed_request_baseline(server):
    """The harness itself works: a correctly signed request succeeds."""
    r = send(server, sign(server))
    assert r.status_code == 200, r.text
    assert "arn:aws:iam::000000000000:user/admin" in r.text


def test_missing_authentication_token(server):
    r = requests.post(server.endpoint + "/", data=GCI_BODY, headers={"Content-Type": FORM},
                      verify=server.ca_bundle, timeout=30)
    assert r.status_code == 403
    assert query_error(r)[0] == "MissingAuthenticationToken"


@pytest.mark.parametrize("garble", [
    lambda h: h.replace("Signature=", "Sig="),
    lambda h: h.split(", Signature=")[0],
    lambda h: h.replace("SignedHeaders=", "Headers="),
    lambda h: h.replace("Credential=", "Cred="),
    lambda h: "AWS4-HMAC-SHA256 garbage",
], ids=["signature-misnamed", "no-signature", "no-signedheaders", "no-credential", "garbage"])
def test_incomplete_signature(server, garble):
    req = sign(server)
    replace_header(req, "Authorization", garble(req.headers["Authorization"]))
    r = send(server, req)
    assert r.status_code in (400, 403), r.text
    assert query_error(r)[0] == "IncompleteSignature", r.text


def test_wrong_secret(server):
    r = send(server, sign(server, secret="x" * 40))
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"


def test_body_tampered_after_signing(server):
    req = sign(server, body="Action=ListUsers&Version=2010-05-08", service="iam")
    assert send(server, req).status_code == 200
    req2 = sign(server, body="Action=ListUsers&Version=2010-05-08", service="iam")
    r = send(server, req2, data="Action=ListRoles&Version=2010-05-08")
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"


def test_signed_header_tampered(server):
    req = sign(server, headers={"X-Amz-Meta-Thing": "one"})
    assert "x-amz-meta-thing" in req.headers["Authorization"]
    replace_header(req, "X-Amz-Meta-Thing", "two")
    r = send(server, req)
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"


def test_unknown_key_id(server):
    r = send(server, sign(server, key_id="AKIAUNKNOWN000000000"))
    assert r.status_code == 403
    assert query_error(r)[0] == "InvalidClientTokenId"


@pytest.mark.parametrize("skew", [-20, 20])
def test_request_expired(server, monkeypatch, skew):
    fixed = datetime.datetime.utcnow() + datetime.timedelta(minutes=skew)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: fixed)
    req = sign(server)
    assert req.headers["X-Amz-Date"] == fixed.strftime("%Y%m%dT%H%M%SZ")
    r = send(server, req)
    assert r.status_code in (400, 403), r.text
    assert query_error(r)[0] == "RequestExpired", r.text


def test_small_clock_skew_accepted(server, monkeypatch):
    fixed = datetime.datetime.utcnow() - datetime.timedelta(minutes=3)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: fixed)
    r = send(server, sign(server))
    assert r.status_code == 200, r.text


def test_presigned_get_caller_identity(server, sts):
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    r = requests.get(url, verify=server.ca_bundle, timeout=30)
    assert r.status_code == 200, r.text
    assert "arn:aws:iam::000000000000:user/admin" in r.text

    parts = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qs(parts.query)
    sig = q["X-Amz-Signature"][0]
    bad_sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    tampered = url.replace(f"X-Amz-Signature={sig}", f"X-Amz-Signature={bad_sig}")
    r = requests.get(tampered, verify=server.ca_bundle, timeout=30)
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"

    # a changed signed parameter also breaks the signature
    longer = url.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
    assert longer != url
    r = requests.get(longer, verify=server.ca_bundle, timeout=30)
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"

    # the method is signed: a URL presigned for POST does not work with GET
    post_url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300)
    assert requests.post(post_url, verify=server.ca_bundle, timeout=30).status_code == 200
    r = requests.get(post_url, verify=server.ca_bundle, timeout=30)
    assert r.status_code == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"


def test_presigned_url_expired(server, monkeypatch, sts):
    past = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: past)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    r = requests.get(url, verify=server.ca_bundle, timeout=30)
    assert r.status_code in (400, 403), r.text
    assert query_error(r)[0] == "RequestExpired"
    assert "arn:aws:iam" not in r.text


def _temp_creds(server, make_user, iam):
    u = make_user(policy(allow("iam:GetUser")))
    return u.sts.get_session_token()["Credentials"]


def test_temporary_credentials_wrong_session_token(server, make_user, iam):
    c = _temp_creds(server, make_user, iam)
    good = server.client("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert good.get_caller_identity()["Arn"].startswith("arn:aws:iam::000000000000:user/")
    other = _temp_creds(server, make_user, iam)
    for token in ["not-a-token", other["SessionToken"], c["SessionToken"][:-4] + "AAAA"]:
        bad = server.client("sts", c["AccessKeyId"], c["SecretAccessKey"], token)
        with pytest.raises(ClientError) as e:
            bad.get_caller_identity()
        assert error_code(e) == "InvalidClientTokenId", token


def test_temporary_credentials_without_session_token(server, make_user, iam):
    c = _temp_creds(server, make_user, iam)
    bare = server.client("sts", c["AccessKeyId"], c["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        bare.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"


def test_long_term_key_with_a_session_token_is_rejected(server, make_user):
    u = make_user(policy(allow("iam:GetUser")))
    c = server.client("sts", u.key_id, u.secret, "bogus-token")
    with pytest.raises(ClientError) as e:
        c.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"


def post_reading_early_response(server, body, headers):
    """POST a large body; if the server answers and closes before the body is sent, read that answer.

    (requests/urllib3 give up on the write error and never read the response.)
    """
    parts = urllib.parse.urlsplit(server.endpoint)
    ctx = ssl.create_default_context(cafile=server.ca_bundle)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_accept_encoding=True)
        for k, v in headers.items():
            if k.lower() != "content-length":
                conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            conn.send(body)
        except OSError:
            pass
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_oversized_body_is_413(server):
    body = (GCI_BODY + "&Pad=" + "a" * (1024 * 1024 + 16)).encode()
    req = sign(server, body=body)
    status, text = post_reading_early_response(server, body, dict(req.headers))
    assert status == 413, text[:300]
    # unsigned too: the size check protects the server before auth
    status, text = post_reading_early_response(server, body, {"Content-Type": FORM})
    assert status == 413, text[:300]
    assert requests.get(server.endpoint + "/health", verify=server.ca_bundle, timeout=10).status_code == 200
    assert send(server, sign(server)).status_code == 200


def test_body_just_under_limit_is_accepted(server):
    body = GCI_BODY + "&Pad=" + "a" * (1024 * 1024 - 200)
    r = send(server, sign(server, body=body))
    assert r.status_code != 413


@pytest.mark.parametrize("service,version", [("iam", "2010-05-08"), ("sts", "2011-06-15")])
def test_unknown_action(server, service, version):
    r = send(server, sign(server, body=f"Action=FrobnicateEverything&Version={version}", service=service))
    assert r.status_code == 400
    assert query_error(r)[0] == "InvalidAction"


def test_unknown_action_via_unsigned_is_still_auth_error(server):
    r = requests.post(server.endpoint + "/", data="Action=FrobnicateEverything&Version=2010-05-08",
                      headers={"Content-Type": FORM}, verify=server.ca_bundle, timeout=30)
    assert r.status_code == 403
    assert query_error(r)[0] == "MissingAuthenticationToken"


def test_kms_scope_is_served(server):
    # KMS (TrentService, AWS JSON 1.1) is now served: a hand-signed request with the `kms` scope succeeds.
    req = sign(server, body=json.dumps({}), service="kms",
               headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"})
    r = send(server, req)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/x-amz-json-1.1")
    assert r.headers.get("x-amzn-RequestId")
    body = r.json()
    assert isinstance(body["Keys"], list) and body["Truncated"] in (True, False)
    assert requests.get(server.endpoint + "/health", verify=server.ca_bundle, timeout=10).status_code == 200


def test_kms_unknown_target_is_a_client_error(server):
    req = sign(server, body=json.dumps({}), service="kms",
               headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.FrobnicateKeys"})
    r = send(server, req)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["__type"].split("#")[-1] in ("UnknownOperationException", "InvalidAction"), r.text
    # and the server keeps serving
    assert server.client("kms").list_keys()["Truncated"] in (True, False)
    assert server.client("sts").get_caller_identity()["Account"] == "000000000000"
