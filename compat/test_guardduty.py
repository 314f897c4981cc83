"""GuardDuty (REST-JSON, 2017-11-28) through boto3 (reference: shared/reference/guard.md §3, §5).

Detector lifecycle, sample findings listed/filtered/sorted/paginated, statistics, archive and
unarchive, a suppression (ARCHIVE) filter, threat-intel and IP set CRUD, tags, IAM.
"""
import json
import re

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, REGION, allow, policy, unique

ClientError = botocore.exceptions.ClientError
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TYPES = ["Recon:EC2/Portscan", "UnauthorizedAccess:EC2/SSHBruteForce", "Backdoor:EC2/C&CActivity.B!DNS",
         "Policy:IAMUser/RootCredentialUsage", "Policy:S3/BucketBlockPublicAccessDisabled"]


@pytest.fixture(scope="module")
def gd(server):
    return server.client("guardduty")


@pytest.fixture(scope="module")
def detector(gd):
    ids = gd.list_detectors()["DetectorIds"]
    if ids:
        return ids[0]
    return gd.create_detector(Enable=True)["DetectorId"]


@pytest.fixture(scope="module")
def samples(gd, detector):
    gd.create_sample_findings(DetectorId=detector, FindingTypes=TYPES)
    ids = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {"type": {"Equals": TYPES}}})["FindingIds"]
    assert len(ids) == len(TYPES)
    return ids


def expect(code, call, *args, status=400, **kwargs):
    with pytest.raises(ClientError) as ei:
        call(*args, **kwargs)
    err = ei.value.response["Error"]
    assert err["Code"] == code, ei.value.response
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return err


def test_detector_lifecycle(server):
    gd = server.client("guardduty", region="eu-west-2")
    for d in gd.list_detectors()["DetectorIds"]:
        gd.delete_detector(DetectorId=d)
    did = gd.create_detector(Enable=True, FindingPublishingFrequency="ONE_HOUR", Tags={"team": "sec"})["DetectorId"]
    assert HEX32.match(did)
    err = expect("BadRequestException", gd.create_detector, Enable=True)
    assert "already exists" in err["Message"]
    got = gd.get_detector(DetectorId=did)
    assert got["Status"] == "ENABLED"
    assert got["FindingPublishingFrequency"] == "ONE_HOUR"
    assert got["ServiceRole"].endswith("AWSServiceRoleForAmazonGuardDuty")
    assert got["DataSources"]["CloudTrail"]["Status"] == "ENABLED"
    assert got["Tags"] == {"team": "sec"}
    assert {f["Name"] for f in got["Features"]} >= {"FLOW_LOGS", "CLOUD_TRAIL", "DNS_LOGS"}
    gd.update_detector(DetectorId=did, Enable=False, FindingPublishingFrequency="FIFTEEN_MINUTES",
                       Features=[{"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"}])
    got = gd.get_detector(DetectorId=did)
    assert got["Status"] == "DISABLED"
    assert got["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert [f["Status"] for f in got["Features"] if f["Name"] == "RDS_LOGIN_EVENTS"] == ["ENABLED"]
    assert gd.list_detectors()["DetectorIds"] == [did]
    gd.delete_detector(DetectorId=did)
    assert gd.list_detectors()["DetectorIds"] == []
    err = expect("BadRequestException", gd.get_detector, DetectorId=did)
    assert "not owned" in err["Message"]


def test_sample_findings_get(gd, detector, samples):
    found = gd.get_findings(DetectorId=detector, FindingIds=samples)["Findings"]
    assert sorted(f["Type"] for f in found) == sorted(TYPES)
    by_type = {f["Type"]: f for f in found}
    scan = by_type["Recon:EC2/Portscan"]
    assert scan["SchemaVersion"] == "2.0"
    assert scan["AccountId"] == ACCOUNT_ID and scan["Region"] == REGION
    assert scan["Arn"] == f"arn:aws:guardduty:{REGION}:{ACCOUNT_ID}:detector/{detector}/finding/{scan['Id']}"
    assert scan["Resource"]["ResourceType"] == "Instance"
    assert scan["Resource"]["InstanceDetails"]["InstanceId"].startswith("i-")
    assert scan["Service"]["DetectorId"] == detector
    assert scan["Service"]["Archived"] is False
    assert json.loads(scan["Service"]["AdditionalInfo"]["Value"])["sample"] is True
    assert by_type["Policy:IAMUser/RootCredentialUsage"]["Resource"]["ResourceType"] == "AccessKey"
    assert by_type["Policy:IAMUser/RootCredentialUsage"]["Service"]["Action"]["ActionType"] == "AWS_API_CALL"
    assert by_type["Policy:S3/BucketBlockPublicAccessDisabled"]["Resource"]["ResourceType"] == "S3Bucket"
    assert by_type["Backdoor:EC2/C&CActivity.B!DNS"]["Service"]["Action"]["ActionType"] == "DNS_REQUEST"
    # Sorted by severity.
    sev = gd.get_findings(DetectorId=detector, FindingIds=samples,
                          SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"})["Findings"]
    values = [f["Severity"] for f in sev]
    assert values == sorted(values, reverse=True)


def test_list_filter_sort_paginate(gd, detector, samples):
    crit = {"Criterion": {"type": {"Equals": TYPES}}}
    high = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {
        "type": {"Equals": TYPES}, "severity": {"GreaterThanOrEqual": 7}}})["FindingIds"]
    found = gd.get_findings(DetectorId=detector, FindingIds=high)["Findings"]
    assert found and all(f["Severity"] >= 7 for f in found)
    inst = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {
        "type": {"Equals": TYPES}, "resource.resourceType": {"Eq": ["Instance"]}}})["FindingIds"]
    assert len(inst) == 3
    none = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {
        "type": {"Equals": TYPES}, "resource.instanceDetails.instanceId": {"Equals": ["i-does-not-exist"]}}})["FindingIds"]
    assert none == []
    ordered = gd.list_findings(DetectorId=detector, FindingCriteria=crit,
                               SortCriteria={"AttributeName": "type", "OrderBy": "ASC"})["FindingIds"]
    types = [f["Type"] for f in sorted(gd.get_findings(DetectorId=detector, FindingIds=ordered)["Findings"],
                                        key=lambda f: ordered.index(f["Id"]))]
    assert types == sorted(TYPES)
    pages = gd.get_paginator("list_findings").paginate(
        DetectorId=detector, FindingCriteria=crit, SortCriteria={"AttributeName": "type", "OrderBy": "ASC"},
        PaginationConfig={"PageSize": 2})
    seen = []
    n = 0
    for page in pages:
        assert len(page["FindingIds"]) <= 2
        seen += page["FindingIds"]
        n += 1
    assert n == 3 and seen == ordered
    expect("BadRequestException", gd.list_findings, DetectorId=detector,
           FindingCriteria={"Criterion": {"updatedAt": {}}})


def test_statistics(gd, detector, samples):
    crit = {"Criterion": {"type": {"Equals": TYPES}}}
    stats = gd.get_findings_statistics(DetectorId=detector, FindingStatisticTypes=["COUNT_BY_SEVERITY"],
                                       FindingCriteria=crit)["FindingStatistics"]
    assert sum(stats["CountBySeverity"].values()) == len(TYPES)
    grouped = gd.get_findings_statistics(DetectorId=detector, GroupBy="FINDING_TYPE", FindingCriteria=crit,
                                         OrderBy="DESC")["FindingStatistics"]["GroupedByFindingType"]
    assert sorted(g["FindingType"] for g in grouped) == sorted(TYPES)
    assert all(g["TotalFindings"] == 1 for g in grouped)
    assert all(g["LastGeneratedAt"].year >= 2024 for g in grouped)
    by_res = gd.get_findings_statistics(DetectorId=detector, GroupBy="RESOURCE", FindingCriteria=crit)
    assert by_res["FindingStatistics"]["GroupedByResource"]
    expect("BadRequestException", gd.get_findings_statistics, DetectorId=detector)


def test_archive_unarchive_feedback(gd, detector, samples):
    one = samples[:1]
    gd.archive_findings(DetectorId=detector, FindingIds=one)
    archived = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {
        "service.archived": {"Equals": ["true"]}, "id": {"Equals": one}}})["FindingIds"]
    assert archived == one
    assert gd.get_findings(DetectorId=detector, FindingIds=one)["Findings"][0]["Service"]["Archived"] is True
    gd.unarchive_findings(DetectorId=detector, FindingIds=one)
    assert gd.get_findings(DetectorId=detector, FindingIds=one)["Findings"][0]["Service"]["Archived"] is False
    gd.update_findings_feedback(DetectorId=detector, FindingIds=one, Feedback="USEFUL", Comments="good catch")
    assert gd.get_findings(DetectorId=detector, FindingIds=one)["Findings"][0]["Service"]["UserFeedback"] == "USEFUL"


def test_archive_filter_suppresses(gd, detector):
    name = unique("supp")
    ftype = "Discovery:S3/MaliciousIPCaller"
    crit = {"Criterion": {"type": {"Equals": [ftype]}}}
    assert gd.create_filter(DetectorId=detector, Name=name, Action="ARCHIVE", Rank=1, Description="noise",
                            FindingCriteria=crit, Tags={"k": "v"})["Name"] == name
    got = gd.get_filter(DetectorId=detector, FilterName=name)
    assert got["Action"] == "ARCHIVE" and got["Rank"] == 1 and got["Description"] == "noise"
    assert got["FindingCriteria"]["Criterion"]["type"]["Equals"] == [ftype]
    assert got["Tags"] == {"k": "v"}
    assert name in gd.list_filters(DetectorId=detector)["FilterNames"]
    # New findings that match arrive archived.
    gd.create_sample_findings(DetectorId=detector, FindingTypes=[ftype])
    ids = gd.list_findings(DetectorId=detector, FindingCriteria=crit)["FindingIds"]
    assert len(ids) == 1
    assert gd.get_findings(DetectorId=detector, FindingIds=ids)["Findings"][0]["Service"]["Archived"] is True
    err = expect("BadRequestException", gd.create_filter, DetectorId=detector, Name=name, FindingCriteria=crit)
    assert "same name" in err["Message"]
    gd.update_filter(DetectorId=detector, FilterName=name, Action="NOOP", Rank=2)
    got = gd.get_filter(DetectorId=detector, FilterName=name)
    assert (got["Action"], got["Rank"]) == ("NOOP", 2)
    gd.delete_filter(DetectorId=detector, FilterName=name)
    assert name not in gd.list_filters(DetectorId=detector)["FilterNames"]
    expect("BadRequestException", gd.get_filter, DetectorId=detector, FilterName=name)


def test_threat_intel_and_ip_sets(gd, detector, tmp_path):
    listing = tmp_path / "threats.txt"
    listing.write_text("198.51.100.7\n203.0.113.0/24\n")
    tid = gd.create_threat_intel_set(DetectorId=detector, Name=unique("threats"), Format="TXT",
                                     Location=f"file://{listing}", Activate=True, Tags={"src": "test"})["ThreatIntelSetId"]
    got = gd.get_threat_intel_set(DetectorId=detector, ThreatIntelSetId=tid)
    assert (got["Status"], got["Format"], got["Tags"]) == ("ACTIVE", "TXT", {"src": "test"})
    bad = gd.create_threat_intel_set(DetectorId=detector, Name=unique("bad"), Format="TXT",
                                     Location="/no/such/file.txt", Activate=True)["ThreatIntelSetId"]
    assert gd.get_threat_intel_set(DetectorId=detector, ThreatIntelSetId=bad)["Status"] == "ERROR"
    gd.update_threat_intel_set(DetectorId=detector, ThreatIntelSetId=tid, Activate=False, Name="renamed")
    got = gd.get_threat_intel_set(DetectorId=detector, ThreatIntelSetId=tid)
    assert (got["Status"], got["Name"]) == ("INACTIVE", "renamed")
    assert {tid, bad} <= set(gd.list_threat_intel_sets(DetectorId=detector)["ThreatIntelSetIds"])
    gd.delete_threat_intel_set(DetectorId=detector, ThreatIntelSetId=bad)
    gd.delete_threat_intel_set(DetectorId=detector, ThreatIntelSetId=tid)
    assert tid not in gd.list_threat_intel_sets(DetectorId=detector)["ThreatIntelSetIds"]
    expect("BadRequestException", gd.get_threat_intel_set, DetectorId=detector, ThreatIntelSetId=tid)

    iid = gd.create_ip_set(DetectorId=detector, Name=unique("trusted"), Format="TXT",
                           Location="s3://my-bucket/trusted.txt", Activate=True)["IpSetId"]
    got = gd.get_ip_set(DetectorId=detector, IpSetId=iid)
    assert (got["Status"], got["Location"]) == ("ACTIVE", "s3://my-bucket/trusted.txt")
    err = expect("BadRequestException", gd.create_ip_set, DetectorId=detector, Name="second", Format="TXT",
                 Location="s3://b/k", Activate=True)
    assert "more than 1" in err["Message"]
    gd.update_ip_set(DetectorId=detector, IpSetId=iid, Location=f"file://{listing}")
    assert gd.get_ip_set(DetectorId=detector, IpSetId=iid)["Status"] == "ACTIVE"
    assert gd.list_ip_sets(DetectorId=detector)["IpSetIds"] == [iid]
    gd.delete_ip_set(DetectorId=detector, IpSetId=iid)
    assert gd.list_ip_sets(DetectorId=detector)["IpSetIds"] == []


def test_tags(gd, detector):
    arn = f"arn:aws:guardduty:{REGION}:{ACCOUNT_ID}:detector/{detector}"
    r = gd.tag_resource(ResourceArn=arn, Tags={"env": "prod", "owner": "sec"})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "prod", "owner": "sec"}
    gd.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert gd.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"owner": "sec"}
    name = unique("tagged")
    gd.create_filter(DetectorId=detector, Name=name, FindingCriteria={"Criterion": {"severity": {"Gte": 9}}})
    farn = f"{arn}/filter/{name}"
    gd.tag_resource(ResourceArn=farn, Tags={"a": "b"})
    assert gd.list_tags_for_resource(ResourceArn=farn)["Tags"] == {"a": "b"}
    gd.delete_filter(DetectorId=detector, FilterName=name)
    expect("BadRequestException", gd.list_tags_for_resource, ResourceArn=farn)


def test_permissions(gd, detector, samples, make_user):
    arn = f"arn:aws:guardduty:{REGION}:{ACCOUNT_ID}:detector/{detector}"
    nobody = make_user(None).client("guardduty")
    err = expect("AccessDeniedException", nobody.list_detectors, status=403)
    assert "guardduty:ListDetectors" in err["Message"]
    expect("AccessDeniedException", nobody.list_findings, DetectorId=detector, status=403)
    reader = make_user(policy(allow(["guardduty:ListDetectors"]),
                              allow(["guardduty:ListFindings", "guardduty:GetFindings"], arn))).client("guardduty")
    assert reader.list_detectors()["DetectorIds"] == [detector]
    ids = reader.list_findings(DetectorId=detector, MaxResults=5)["FindingIds"]
    assert ids and len(ids) <= 5
    assert reader.get_findings(DetectorId=detector, FindingIds=ids)["Findings"]
    err = expect("AccessDeniedException", reader.archive_findings, DetectorId=detector, FindingIds=ids[:1], status=403)
    assert arn in err["Message"]
    expect("AccessDeniedException", reader.create_filter, DetectorId=detector, Name="nope-filter",
           FindingCriteria={"Criterion": {"severity": {"Gte": 1}}}, status=403)
