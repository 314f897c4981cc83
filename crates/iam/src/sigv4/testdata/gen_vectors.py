#!/usr/bin/env python3
"""Generates SigV4 test vectors with botocore, the signer behind boto3 and the AWS CLI.

Reproduce with:
    python3 -m venv /tmp/sigv4venv && /tmp/sigv4venv/bin/pip install botocore
    /tmp/sigv4venv/bin/python gen_vectors.py > vectors.json

Each vector is what the server receives: method, target URL, headers (including the Host
header the HTTP client adds, and unsigned headers such as User-Agent and Content-Length),
body, plus the secret and the fixed signing time. The credentials are made up.
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDHqa0AP1/+token//with+slashes=="
NOW = datetime.datetime(2026, 11, 29, 12, 0, 0)
ENDPOINT = "https://127.0.0.1:7443"
USER_AGENT = "Boto3/1.40.0 md/Botocore#1.44.8 ua/2.1 os/linux lang/python#3.11"


def sign(name, method, url, service, *, headers=None, body=b"", params=None,
         token=None, presign_expires=None, region="us-east-1"):
    creds = Credentials(ACCESS_KEY, SECRET, token)
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body,
                         params=params or {})
    request.headers["User-Agent"] = USER_AGENT
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        if presign_expires is None:
            SigV4Auth(creds, service, region).add_auth(request)
        else:
            SigV4QueryAuth(creds, service, region, expires=presign_expires).add_auth(request)
    prepared = request.prepare()
    sent = [["Host", _host_from_url(prepared.url)]]
    sent += [[k, v if isinstance(v, str) else v.decode()] for k, v in prepared.headers.items()]
    data = prepared.body or b""
    if isinstance(data, str):
        data = data.encode()
    return {
        "name": name,
        "method": prepared.method,
        "url": prepared.url,
        "headers": sent,
        "body": data.decode(),
        "access_key_id": ACCESS_KEY,
        "secret": SECRET,
        "session_token": token,
        "now": NOW.strftime("%Y%m%dT%H%M%SZ"),
        "region": region,
        "service": service,
    }


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON11 = {"Content-Type": "application/x-amz-json-1.1"}

vectors = [
    sign("sts_query_post", "POST", ENDPOINT + "/", "sts", headers=dict(FORM),
         body=b"Action=GetCallerIdentity&Version=2011-06-15"),
    sign("kms_json_post", "POST", ENDPOINT + "/", "kms",
         headers={**JSON11, "X-Amz-Target": "TrentService.Encrypt"},
         body=b'{"KeyId": "alias/test", "Plaintext": "aGVsbG8gd29ybGQ="}'),
    sign("kms_json_post_session_token", "POST", ENDPOINT + "/", "kms",
         headers={**JSON11, "X-Amz-Target": "TrentService.GenerateDataKey"},
         body=b'{"KeyId": "alias/test", "KeySpec": "AES_256"}', token=TOKEN,
         region="eu-west-3"),
    # The REST serializers build the query with percent_encode_sequence (%20 for spaces).
    sign("get_awkward_query", "GET", ENDPOINT + "/detector/d1/findings?" + percent_encode_sequence(
        [("maxResults", "50"), ("b", "2"), ("a", "x y"), ("b", "1"), ("empty", ""),
         ("odd", "\u00fc/+=&~*"), ("a", "~.-_")]), "guardduty"),
    # AWSRequest.params goes through urlencode: '+' for spaces on the wire.
    sign("get_params_plus_spaces", "GET", ENDPOINT + "/findings/list", "inspector2",
         params=[("filter", "a b"), ("next", "tok/en=="), ("filter", "c")]),
    sign("get_path_needs_encoding", "GET",
         ENDPOINT + "/detector/d%C3%A9t%20one/member/a%2Fb%3Ac/x@y", "guardduty"),
    sign("get_path_dot_segments", "GET", ENDPOINT + "/detector/./d1/../d2//findings", "guardduty"),
    sign("presigned_sts", "GET", ENDPOINT + "/?Action=GetCallerIdentity&Version=2011-06-15",
         "sts", presign_expires=300),
    sign("presigned_sts_session_token", "GET",
         ENDPOINT + "/?Action=GetCallerIdentity&Version=2011-06-15", "sts",
         presign_expires=900, token=TOKEN),
    # botocore signs with the Date header (RFC 2822, '-0000') when the request has one.
    sign("date_header_instead_of_x_amz_date", "POST", ENDPOINT + "/", "kms",
         headers={**JSON11, "X-Amz-Target": "TrentService.ListKeys", "Date": "placeholder"},
         body=b"{}"),
    sign("default_port_host", "POST", "https://kms.example.test:443/", "kms",
         headers={**JSON11, "X-Amz-Target": "TrentService.ListKeys"}, body=b"{}"),
]

json.dump(vectors, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
