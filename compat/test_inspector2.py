"""Inspector2 (REST-JSON, 2020-06-08) through boto3 (reference: shared/reference/inspector.md §2, §3).

An agent (a client certificate from `portcullis ca issue-client`, posting to /agent/report
the way `portcullis agent` does) reports a host; `portcullis inspector db import` writes an
advisory index into the running server's data directory, which reloads it. boto3 then reads
coverage, findings (filters, sort, pagination, details), aggregations, manages SUPPRESS
filters and their tags, exports SBOMs and findings reports, and is refused by IAM where it
should be. A network description (the corpus example, SigV4-signed POST /network/import)
plus an agent naming its instance id give NETWORK_REACHABILITY findings.
"""
import gzip
import http.client
import json
import os
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, REGION, REPO, allow, deny, policy, unique

ClientError = botocore.exceptions.ClientError

ADVISORIES = {
    "RUSTSEC-2099-0101.json": {
        "id": "RUSTSEC-2099-0101", "modified": "2024-01-01T00:00:00Z", "summary": "compatfoo overflows",
        "aliases": ["CVE-2099-0101"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "references": [{"type": "ADVISORY", "url": "https://example.invalid/compatfoo"}],
        "affected": [{"package": {"ecosystem": "crates.io", "name": "compatfoo"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "1.2.0"}]}]}],
    },
    "RUSTSEC-2099-0102.json": {
        "id": "RUSTSEC-2099-0102", "modified": "2024-01-01T00:00:00Z", "summary": "compatbar leaks",
        "affected": [{"package": {"ecosystem": "crates.io", "name": "compatbar"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "2.0.0"}]}]}],
    },
}


def binary():
    return Path(os.environ.get("PORTCULLIS_BIN", REPO / "target" / "debug" / "portcullis"))


def inventory(foo_version):
    return {
        "os": {"id": "debian", "version_id": "12", "codename": "bookworm",
               "pretty_name": "Debian GNU/Linux 12 (bookworm)", "kernel_release": "6.1.0", "arch": "x86_64"},
        "packages": [],
        "lockfiles": [{"path": "/srv/app/Cargo.lock", "kind": "CargoLock", "packages": [
            {"ecosystem": "crates.io", "name": "compatfoo", "version": foo_version, "source": None},
            {"ecosystem": "crates.io", "name": "compatbar", "version": "1.0.0", "source": None},
            {"ecosystem": "crates.io", "name": "compatsafe", "version": "1.0.0", "source": None}]}],
        "listeners": [],
        "sshd": {"permitrootlogin": "yes", "passwordauthentication": "no"},
        "login_defs": {}, "pwquality": {}, "sysctls": {}, "cpu_flags": [], "paths": [], "features": {},
    }


def report(agent_id, seq, body):
    return {"agentId": agent_id, "hostname": f"{agent_id}.example", "agentVersion": "0.1.0",
            "collectedAt": int(time.time()), "sequence": seq, "body": body}


class Agent:
    """An mTLS client of /agent/report, as the agent is."""

    def __init__(self, server, principal_arn):
        out = Path(server.data_dir).parent / f"certs-{uuid.uuid4().hex[:8]}"
        name = "agent"
        subprocess.run([str(binary()), "ca", "--data-dir", server.data_dir, "issue-client", "--name", name,
                        "--principal", principal_arn, "--out", str(out)], check=True, capture_output=True)
        self.ctx = ssl.create_default_context(cafile=server.ca_bundle)
        self.ctx.load_cert_chain(str(out / f"{name}.pem"), str(out / f"{name}.key"))
        self.host, self.port = server.endpoint.removeprefix("https://").rsplit(":", 1)

    def post(self, body, gzip_body=False):
        conn = http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx, timeout=30)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"x-portcullis-service": "inspector2", "content-type": "application/json"}
        if gzip_body:
            data = gzip.compress(data)
            headers["content-encoding"] = "gzip"
        conn.request("POST", "/agent/report", body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        return r.status, json.loads(payload) if payload else None


@pytest.fixture(scope="module")
def insp(server):
    return server.client("inspector2")


@pytest.fixture(scope="module")
def agent(server):
    return Agent(server, f"arn:aws:iam::{ACCOUNT_ID}:user/admin")


@pytest.fixture(scope="module")
def host(server, insp, agent):
    """A host reported before any advisory index exists, then the index imported."""
    agent_id = unique("host")
    status, body = agent.post(report(agent_id, 1, {"kind": "full", "inventory": inventory("1.1.0")}))
    assert (status, body) == (200, {"acknowledged": 1})
    cov = insp.list_coverage(filterCriteria={"resourceId": [{"comparison": "EQUALS", "value": agent_id}]})
    res = cov["coveredResources"]
    assert len(res) == 1 and res[0]["resourceType"] == "AWS_EC2_INSTANCE"
    if res[0]["scanStatus"]["statusCode"] == "INACTIVE":
        assert res[0]["scanStatus"]["reason"] == "PENDING_INITIAL_SCAN"
    adv = Path(server.data_dir).parent / "advisories"
    adv.mkdir(exist_ok=True)
    for name, doc in ADVISORIES.items():
        (adv / name).write_text(json.dumps(doc))
    db = Path(server.data_dir) / "inspector" / "db"
    subprocess.run([str(binary()), "inspector", "db", "import", "--db", str(db), str(adv)],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while True:
        found = insp.list_findings(filterCriteria={
            "resourceId": [{"comparison": "EQUALS", "value": agent_id}],
            "findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]})["findings"]
        if len(found) == 2:
            return agent_id
        assert time.monotonic() < deadline, f"package findings did not appear: {found}"
        time.sleep(0.5)


def mine(agent_id, **more):
    crit = {"resourceId": [{"comparison": "EQUALS", "value": agent_id}]}
    crit.update(more)
    return crit


def eq(v):
    return [{"comparison": "EQUALS", "value": v}]


def expect(code, call, *args, status=400, **kwargs):
    with pytest.raises(ClientError) as ei:
        call(*args, **kwargs)
    err = ei.value.response["Error"]
    assert err["Code"] == code, ei.value.response
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return ei.value.response


def by_vuln(insp, agent_id, vuln):
    f = insp.list_findings(filterCriteria=mine(agent_id, vulnerabilityId=eq(vuln)))["findings"]
    assert len(f) == 1, f
    return f[0]


def test_findings_have_the_model_shape(insp, host):
    f = by_vuln(insp, host, "RUSTSEC-2099-0101")
    assert f["findingArn"].startswith(f"arn:aws:inspector2:{REGION}:{ACCOUNT_ID}:finding/")
    assert f["awsAccountId"] == ACCOUNT_ID
    assert f["type"] == "PACKAGE_VULNERABILITY"
    assert f["severity"] == "CRITICAL" and f["inspectorScore"] == 9.8
    assert f["status"] == "ACTIVE"
    assert f["firstObservedAt"].year >= 2024  # botocore parsed the epoch seconds
    pkg = f["packageVulnerabilityDetails"]["vulnerablePackages"][0]
    assert (pkg["name"], pkg["version"], pkg["fixedInVersion"], pkg["packageManager"]) == \
        ("compatfoo", "1.1.0", "1.2.0", "CARGO")
    assert pkg["filePath"] == "/srv/app/Cargo.lock"
    assert f["packageVulnerabilityDetails"]["relatedVulnerabilities"] == ["CVE-2099-0101"]
    assert f["remediation"]["recommendation"]["text"] == "Upgrade compatfoo to 1.2.0 or later"
    assert f["resources"][0] == {**f["resources"][0], "type": "AWS_EC2_INSTANCE", "id": host}
    assert by_vuln(insp, host, "RUSTSEC-2099-0102")["severity"] == "UNTRIAGED"
    checks = insp.list_findings(filterCriteria=mine(host, findingType=eq("CODE_VULNERABILITY")))["findings"]
    ids = {c["codeVulnerabilityDetails"]["detectorId"] for c in checks}
    assert "PCS-SSH-ROOT-LOGIN" in ids and "PCS-SSH-PASSWORD-AUTH" not in ids


def test_coverage_and_statistics(insp, host):
    res = insp.list_coverage(filterCriteria={"resourceId": eq(host)})["coveredResources"][0]
    assert res["scanStatus"] == {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}
    assert res["scanType"] == "PACKAGE" and res["scanMode"] == "EC2_INSPECTOR_AGENT_BASED"
    assert res["accountId"] == ACCOUNT_ID and res["lastScannedAt"].year >= 2024
    stats = insp.list_coverage_statistics(groupBy="SCAN_STATUS_CODE")
    assert stats["totalCounts"] >= 1
    assert any(g["groupKey"] == "ACTIVE" and g["count"] >= 1 for g in stats["countsByGroup"])
    pages = list(insp.get_paginator("list_coverage").paginate(PaginationConfig={"PageSize": 1}))
    assert sum(len(p["coveredResources"]) for p in pages) == stats["totalCounts"]


def test_list_findings_sorts_and_paginates(insp, host):
    crit = mine(host)
    every = insp.list_findings(filterCriteria=crit, maxResults=100)["findings"]
    assert len(every) >= 3
    pages = list(insp.get_paginator("list_findings").paginate(
        filterCriteria=crit, sortCriteria={"field": "SEVERITY", "sortOrder": "DESC"},
        PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 2
    got = [f for p in pages for f in p["findings"]]
    assert sorted(f["findingArn"] for f in got) == sorted(f["findingArn"] for f in every)
    assert got[0]["severity"] == "CRITICAL"
    scored = insp.list_findings(filterCriteria=mine(host, inspectorScore=[{"lowerInclusive": 9.0}]))["findings"]
    assert [f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in scored] == ["RUSTSEC-2099-0101"]
    pref = insp.list_findings(filterCriteria=mine(host, vulnerablePackages=[
        {"name": {"comparison": "PREFIX", "value": "compatb"}}]))["findings"]
    assert [f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in pref] == ["RUSTSEC-2099-0102"]
    expect("ValidationException", insp.list_findings, nextToken="not-a-token")


def test_batch_get_finding_details(insp, host):
    f = by_vuln(insp, host, "RUSTSEC-2099-0101")
    missing = f"arn:aws:inspector2:{REGION}:{ACCOUNT_ID}:finding/{'0' * 32}"
    r = insp.batch_get_finding_details(findingArns=[f["findingArn"], missing])
    assert r["findingDetails"][0]["findingArn"] == f["findingArn"]
    assert r["findingDetails"][0]["referenceUrls"] == ["https://example.invalid/compatfoo"]
    assert r["errors"] == [{"findingArn": missing, "errorCode": "FINDING_DETAILS_NOT_FOUND",
                            "errorMessage": "No such finding."}]


def test_aggregations(insp, host):
    r = insp.list_finding_aggregations(aggregationType="PACKAGE", aggregationRequest={
        "packageAggregation": {"packageNames": eq("compatfoo")}})
    assert r["aggregationType"] == "PACKAGE"
    assert [x["packageAggregation"]["packageName"] for x in r["responses"]] == ["compatfoo"]
    assert r["responses"][0]["packageAggregation"]["severityCounts"]["critical"] >= 1
    r = insp.list_finding_aggregations(aggregationType="AWS_EC2_INSTANCE", aggregationRequest={
        "ec2InstanceAggregation": {"instanceIds": eq(host)}})
    inst = r["responses"][0]["ec2InstanceAggregation"]
    assert inst["instanceId"] == host and inst["operatingSystem"] == "DEBIAN_12"
    assert inst["severityCounts"]["all"] >= 3
    r = insp.list_finding_aggregations(aggregationType="ACCOUNT")
    assert r["responses"][0]["accountAggregation"]["accountId"] == ACCOUNT_ID
    r = insp.list_finding_aggregations(aggregationType="TITLE", aggregationRequest={
        "titleAggregation": {"vulnerabilityIds": eq("RUSTSEC-2099-0102")}})
    assert r["responses"][0]["titleAggregation"]["title"] == "RUSTSEC-2099-0102 - compatbar"
    r = insp.list_finding_aggregations(aggregationType="FINDING_TYPE", aggregationRequest={
        "findingTypeAggregation": {"findingType": "PACKAGE_VULNERABILITY"}})
    assert r["responses"][0]["findingTypeAggregation"]["fixAvailableCount"] >= 2


def test_suppress_filter_and_tags(insp, host):
    name = unique("quiet")
    crit = mine(host, vulnerabilityId=eq("RUSTSEC-2099-0102"))
    arn = insp.create_filter(name=name, action="SUPPRESS", filterCriteria=crit, reason="accepted",
                             tags={"team": "sec"})["arn"]
    assert arn.startswith(f"arn:aws:inspector2:{REGION}:{ACCOUNT_ID}:owner/{ACCOUNT_ID}/filter/")
    assert by_vuln(insp, host, "RUSTSEC-2099-0102")["status"] == "SUPPRESSED"
    assert by_vuln(insp, host, "RUSTSEC-2099-0101")["status"] == "ACTIVE"
    listed = [f for f in insp.list_filters(action="SUPPRESS")["filters"] if f["arn"] == arn]
    assert listed and listed[0]["name"] == name and listed[0]["reason"] == "accepted"
    assert listed[0]["criteria"]["vulnerabilityId"] == eq("RUSTSEC-2099-0102")
    expect("BadRequestException", insp.create_filter, name=name, action="NONE", filterCriteria=crit)
    insp.update_filter(filterArn=arn, action="NONE")
    assert by_vuln(insp, host, "RUSTSEC-2099-0102")["status"] == "ACTIVE"
    insp.update_filter(filterArn=arn, action="SUPPRESS", description="back on")
    assert by_vuln(insp, host, "RUSTSEC-2099-0102")["status"] == "SUPPRESSED"
    insp.tag_resource(resourceArn=arn, tags={"owner": "ops"})
    assert insp.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sec", "owner": "ops"}
    insp.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert insp.list_tags_for_resource(resourceArn=arn)["tags"] == {"owner": "ops"}
    assert insp.delete_filter(arn=arn)["arn"] == arn
    assert by_vuln(insp, host, "RUSTSEC-2099-0102")["status"] == "ACTIVE"
    expect("ResourceNotFoundException", insp.delete_filter, arn=arn, status=404)
    expect("ResourceNotFoundException", insp.list_tags_for_resource, resourceArn=arn, status=404)


def test_sbom_export(server, insp, host):
    dest = {"bucketName": "compat-sboms", "keyPrefix": "daily", "kmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/x"}
    rid = insp.create_sbom_export(reportFormat="CYCLONEDX_1_4", s3Destination=dest,
                                  resourceFilterCriteria={"resourceId": eq(host)})["reportId"]
    got = insp.get_sbom_export(reportId=rid)
    assert (got["status"], got["format"]) == ("SUCCEEDED", "CYCLONEDX_1_4")
    assert got["s3Destination"]["bucketName"] == "compat-sboms"
    path = Path(server.data_dir) / "inspector" / "exports" / "compat-sboms" / "daily" / rid / f"{host}.cyclonedx.json"
    doc = json.loads(path.read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.4"
    assert {c["name"] for c in doc["components"]} >= {"compatfoo", "compatbar", "compatsafe"}
    assert {v["id"] for v in doc["vulnerabilities"]} == {"RUSTSEC-2099-0101", "RUSTSEC-2099-0102"}
    rid = insp.create_sbom_export(reportFormat="SPDX_2_3", s3Destination=dest,
                                  resourceFilterCriteria={"resourceId": eq(host)})["reportId"]
    path = path.parent.parent / rid / f"{host}.spdx.json"
    doc = json.loads(path.read_text())
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert len(doc["packages"]) == 4
    expect("ResourceNotFoundException", insp.get_sbom_export, reportId=str(uuid.uuid4()), status=404)
    bad = dict(dest, keyPrefix="../../escape")
    expect("ValidationException", insp.create_sbom_export, reportFormat="SPDX_2_3", s3Destination=bad)


def test_agent_deltas_conflicts_and_upgrades(insp, agent):
    agent_id = unique("host")
    assert agent.post(report(agent_id, 1, {"kind": "full", "inventory": inventory("1.0.0")})) == \
        (200, {"acknowledged": 1})
    assert agent.post(report(agent_id, 2, {"kind": "delta", "base": 1, "delta": {}})) == \
        (200, {"acknowledged": 2})
    status, body = agent.post(report(agent_id, 3, {"kind": "delta", "base": 1, "delta": {}}))
    assert status == 409 and body["__type"].endswith("ConflictException"), body
    status, body = agent.post(b"{nope")
    assert status == 400 and body["__type"].endswith("ValidationException"), body
    before = by_vuln(insp, agent_id, "RUSTSEC-2099-0101")
    upgraded = inventory("1.2.0")
    delta = {"lockfiles": upgraded["lockfiles"]}
    assert agent.post(report(agent_id, 3, {"kind": "delta", "base": 2, "delta": delta})) == \
        (200, {"acknowledged": 3})
    after = by_vuln(insp, agent_id, "RUSTSEC-2099-0101")
    assert after["findingArn"] == before["findingArn"]
    assert after["status"] == "CLOSED"
    assert after["updatedAt"] >= before["updatedAt"]


def test_iam(server, make_user, host):
    nobody = make_user(None)
    expect("AccessDeniedException", nobody.client("inspector2").list_findings, status=403)
    reader = make_user(policy(allow("inspector2:List*"), deny("inspector2:ListFilters")))
    ri = reader.client("inspector2")
    assert ri.list_findings(filterCriteria=mine(host))["findings"]
    err = expect("AccessDeniedException", ri.list_filters, status=403)
    assert "explicit deny" in err["Error"]["Message"]
    expect("AccessDeniedException", ri.create_filter, name=unique("f"), action="NONE",
           filterCriteria={"severity": eq("LOW")}, status=403)


def test_findings_reports(server, insp, host, make_user):
    dest = {"bucketName": "compat-reports", "keyPrefix": "run/1",
            "kmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/00000000-0000-0000-0000-000000000000"}
    crit = mine(host, findingType=eq("PACKAGE_VULNERABILITY"))
    ids = {}
    for fmt in ("CSV", "JSON"):
        rid = insp.create_findings_report(reportFormat=fmt, s3Destination=dest, filterCriteria=crit)["reportId"]
        st = insp.get_findings_report_status(reportId=rid)
        assert st["status"] == "SUCCEEDED", st
        assert st["destination"]["bucketName"] == "compat-reports"
        assert insp.cancel_findings_report(reportId=rid)["reportId"] == rid
        ids[fmt] = rid
    base = Path(server.data_dir) / "inspector" / "reports" / "compat-reports" / "run" / "1"
    doc = json.loads((base / f"{ids['JSON']}.json").read_text())
    assert len(doc["findings"]) == 2
    assert {f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in doc["findings"]} == \
        {"RUSTSEC-2099-0101", "RUSTSEC-2099-0102"}
    rows = (base / f"{ids['CSV']}.csv").read_text().strip().splitlines()
    assert rows[0].startswith("AWS Account Id,Severity,") and len(rows) == 3
    rid = insp.create_findings_report(reportFormat="JSON", s3Destination=dest,
                                      filterCriteria=mine(host, vulnerabilityId=eq("CVE-0000-0")))["reportId"]
    st = insp.get_findings_report_status(reportId=rid)
    assert (st["status"], st["errorCode"]) == ("FAILED", "NO_FINDINGS_FOUND")
    expect("ResourceNotFoundException", insp.cancel_findings_report, reportId="nope", status=404)
    expect("ValidationException", insp.create_findings_report, reportFormat="CSV",
           s3Destination={**dest, "bucketName": "../x"})
    nobody = make_user(policy(allow("inspector2:List*")))
    expect("AccessDeniedException", nobody.client("inspector2").create_findings_report,
           reportFormat="CSV", s3Destination=dest, status=403)


def corpus_network():
    root = Path(os.environ.get("PORTCULLIS_CORPORA", REPO.parent / "shared" / "corpora"))
    path = root / "inspector" / "aws-network-examples" / "sample_vpc_snapshot.json"
    if not path.is_file():
        pytest.skip(f"!!! network example not found at {path} (set PORTCULLIS_CORPORA) !!!")
    return json.loads(path.read_text())


def signed_post(server, path, body, key_id=None, secret=None):
    """POST a SigV4-signed (scope inspector2) JSON body, as `curl --aws-sigv4` would."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from conftest import ADMIN_KEY_ID, ADMIN_SECRET
    url = server.endpoint + path
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=url, data=data, headers={"content-type": "application/json"})
    SigV4Auth(Credentials(key_id or ADMIN_KEY_ID, secret or ADMIN_SECRET), "inspector2", REGION).add_auth(req)
    host, port = server.endpoint.removeprefix("https://").rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), timeout=30,
                                       context=ssl.create_default_context(cafile=server.ca_bundle))
    conn.request("POST", path, body=data, headers=dict(req.headers))
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, json.loads(payload) if payload else None


def network_state(insp):
    out = {}
    for f in insp.list_findings(filterCriteria={"findingType": eq("NETWORK_REACHABILITY"),
                                                "resourceId": eq("i-web")}, maxResults=100)["findings"]:
        kind = f["title"].split(":")[0]
        port = f["networkReachabilityDetails"]["openPortRange"]["begin"]
        assert f["networkReachabilityDetails"]["networkPath"]["steps"][0]["componentId"] == "igw-1"
        out[(kind, port)] = f["status"]
    return out


def test_network_reachability(server, insp, agent, make_user):
    snap = corpus_network()
    reader = make_user(policy(allow("inspector2:*"), deny("inspector2:PutNetworkConfiguration")))
    status, body = signed_post(server, "/network/import", snap, reader.key_id, reader.secret)
    assert status == 403 and body["__type"].endswith("AccessDeniedException"), body
    status, body = signed_post(server, "/network/import", snap)
    assert status == 200 and body["instances"] == 3, body
    assert network_state(insp) == {
        ("RecognizedPortNoAgent", 22): "ACTIVE", ("RecognizedPortNoAgent", 443): "ACTIVE",
        ("NetworkExposure", 22): "ACTIVE", ("NetworkExposure", 443): "ACTIVE",
        ("NetworkExposure", 8080): "ACTIVE"}
    # An agent on i-web listening on 443 and 8080; its report is gzip-encoded.
    inv = inventory("1.2.0")
    inv["listeners"] = [
        {"protocol": "tcp", "address": "0.0.0.0", "port": 443, "process": "nginx", "pid": 10},
        {"protocol": "tcp", "address": "::", "port": 8080, "process": "java", "pid": 11},
    ]
    agent_id = unique("web")
    r = report(agent_id, 1, {"kind": "full", "inventory": inv})
    r["cloud"] = {"instanceId": "i-web"}
    assert agent.post(r, gzip_body=True) == (200, {"acknowledged": 1})
    state = network_state(insp)
    assert state[("RecognizedPortWithListener", 443)] == "ACTIVE"
    assert state[("RecognizedPortNoListener", 22)] == "ACTIVE"
    assert state[("UnrecognizedPortWithListener", 8080)] == "ACTIVE"
    assert state[("RecognizedPortNoAgent", 443)] == "CLOSED"
    # sg-web stops admitting 443: re-import closes the 443 findings.
    for sg in snap["DescribeSecurityGroups"]["SecurityGroups"]:
        if sg["GroupId"] == "sg-web":
            sg["IpPermissions"] = [p for p in sg["IpPermissions"] if p.get("FromPort") != 443]
    status, body = signed_post(server, "/network/import", snap)
    assert status == 200, body
    state = network_state(insp)
    assert state[("RecognizedPortWithListener", 443)] == "CLOSED"
    assert state[("NetworkExposure", 443)] == "CLOSED"
    assert state[("UnrecognizedPortWithListener", 8080)] == "ACTIVE"
