"""WAFv2 (AWSWAF_20190729, AWS JSON 1.1) through boto3 and the AWS CLI (reference: shared/reference/waf.md §1.16).

Web ACLs, IP sets, regex pattern sets and rule groups; lock tokens, duplicate names, references and
associations; capacity; managed rule groups; logging configuration; tags; sampled requests; IAM.
"""
import json
import re
from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest

from conftest import ACCOUNT_ID, REGION, allow, policy, unique, wait_for_events

ClientError = botocore.exceptions.ClientError
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SCOPE = "REGIONAL"


@pytest.fixture(scope="module")
def waf(server):
    return server.client("wafv2")


def vis(name):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": False, "MetricName": name}


def byte_rule(name, priority, action="Block"):
    """STARTS_WITH + LOWERCASE: 2 + 10 WCU."""
    return {"Name": name, "Priority": priority, "Action": {action: {}},
            "Statement": {"ByteMatchStatement": {"SearchString": b"/admin", "FieldToMatch": {"UriPath": {}},
                                                 "PositionalConstraint": "STARTS_WITH",
                                                 "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}},
            "VisibilityConfig": vis(name)}


def ip_rule(name, priority, arn):
    return {"Name": name, "Priority": priority, "Action": {"Block": {}},
            "Statement": {"IPSetReferenceStatement": {"ARN": arn}}, "VisibilityConfig": vis(name)}


def managed_rule(name, priority, vendor, group):
    return {"Name": name, "Priority": priority, "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": vendor, "Name": group}},
            "VisibilityConfig": vis(name)}


def create_acl(waf, name=None, rules=(), **extra):
    name = name or unique("acl")
    s = waf.create_web_acl(Name=name, Scope=SCOPE, DefaultAction={"Allow": {}}, VisibilityConfig=vis(name),
                           Rules=list(rules), **extra)["Summary"]
    return s


def expect(code, call, *args, **kwargs):
    with pytest.raises(ClientError) as ei:
        call(*args, **kwargs)
    err = ei.value.response["Error"]
    assert err["Code"] == code, ei.value.response
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err


def listener(name):
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/app/{name}/portcullis"


def delete_acl(waf, s):
    tok = waf.get_web_acl(Name=s["Name"], Scope=SCOPE, Id=s["Id"])["LockToken"]
    waf.delete_web_acl(Name=s["Name"], Scope=SCOPE, Id=s["Id"], LockToken=tok)


# ------------------------------------------------------------------ web ACLs

def test_web_acl_lifecycle(waf):
    name = unique("shop")
    s = create_acl(waf, name, [byte_rule("admin", 0)], Description="shop front", Tags=[{"Key": "team", "Value": "edge"}])
    assert UUID_RE.match(s["Id"]) and UUID_RE.match(s["LockToken"])
    assert s["ARN"] == f"arn:aws:wafv2:{REGION}:{ACCOUNT_ID}:regional/webacl/{name}/{s['Id']}"
    assert s["Description"] == "shop front"

    got = waf.get_web_acl(Name=name, Scope=SCOPE, Id=s["Id"])
    assert got["LockToken"] == s["LockToken"]
    acl = got["WebACL"]
    assert acl["Name"] == name and acl["ARN"] == s["ARN"] and acl["Capacity"] == 12
    assert acl["LabelNamespace"] == f"awswaf:{ACCOUNT_ID}:webacl:{name}:"
    assert acl["Rules"][0]["Statement"]["ByteMatchStatement"]["SearchString"] == b"/admin"
    assert waf.get_web_acl(ARN=s["ARN"])["WebACL"] == acl

    listed = [a for a in waf.list_web_acls(Scope=SCOPE)["WebACLs"] if a["Id"] == s["Id"]]
    assert listed == [{"Name": name, "Id": s["Id"], "Description": "shop front", "LockToken": s["LockToken"],
                       "ARN": s["ARN"]}]

    expect("WAFDuplicateItemException", waf.create_web_acl, Name=name, Scope=SCOPE, DefaultAction={"Block": {}},
           VisibilityConfig=vis(name))

    upd = dict(Name=name, Scope=SCOPE, Id=s["Id"], DefaultAction={"Block": {}}, VisibilityConfig=vis(name),
               Rules=[byte_rule("admin", 0), byte_rule("admin2", 1, "Count")], LockToken=s["LockToken"])
    nxt = waf.update_web_acl(**upd)["NextLockToken"]
    assert UUID_RE.match(nxt) and nxt != s["LockToken"]
    err = expect("WAFOptimisticLockException", waf.update_web_acl, **upd)
    got = waf.get_web_acl(Name=name, Scope=SCOPE, Id=s["Id"])
    assert got["LockToken"] == nxt
    assert got["WebACL"]["DefaultAction"] == {"Block": {}}
    assert got["WebACL"]["Capacity"] == 24
    assert "Description" not in got["WebACL"]  # updates replace the whole specification

    expect("WAFOptimisticLockException", waf.delete_web_acl, Name=name, Scope=SCOPE, Id=s["Id"],
           LockToken=s["LockToken"])
    waf.delete_web_acl(Name=name, Scope=SCOPE, Id=s["Id"], LockToken=nxt)
    expect("WAFNonexistentItemException", waf.get_web_acl, Name=name, Scope=SCOPE, Id=s["Id"])


def test_validation_errors(waf):
    err = expect("WAFInvalidParameterException", waf.create_web_acl, Name="bad name", Scope=SCOPE,
                 DefaultAction={"Allow": {}}, VisibilityConfig=vis("x"))
    assert "field: WEB_ACL" in err["Message"] and "parameter: bad name" in err["Message"], err
    err = expect("WAFInvalidParameterException", waf.create_web_acl, Name=unique("dup-rules"), Scope=SCOPE,
                 DefaultAction={"Allow": {}}, VisibilityConfig=vis("x"), Rules=[byte_rule("a", 0), byte_rule("a", 1)])
    assert "field: RULE" in err["Message"], err
    err = expect("WAFInvalidParameterException", waf.create_ip_set, Name=unique("ips"), Scope=SCOPE,
                 IPAddressVersion="IPV4", Addresses=["10.0.0.0/33"])
    assert "field: IP_ADDRESS" in err["Message"], err
    err = expect("WAFInvalidParameterException", waf.list_web_acls, Scope="GLOBAL")
    assert "field: SCOPE_VALUE" in err["Message"], err
    err = expect("WAFInvalidParameterException", waf.create_regex_pattern_set, Name=unique("rx"), Scope=SCOPE,
                 RegularExpressionList=[{"RegexString": "(?<=a)b"}])
    assert "field: REGEX_PATTERN_SET" in err["Message"], err
    # The modelled members reach the client as the model's error shape defines them.
    with pytest.raises(ClientError) as ei:
        waf.create_ip_set(Name=unique("ips"), Scope=SCOPE, IPAddressVersion="IPV4", Addresses=["10.0.0.0/33"])
    assert ei.value.response.get("Field") == "IP_ADDRESS", ei.value.response
    assert ei.value.response.get("Parameter") == "10.0.0.0/33", ei.value.response
    assert ei.value.response.get("Reason"), ei.value.response
    # Rate-based rules may not Allow.
    rate = {"Name": "rate", "Priority": 0, "Action": {"Allow": {}},
            "Statement": {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}}, "VisibilityConfig": vis("rate")}
    expect("WAFInvalidParameterException", waf.create_web_acl, Name=unique("rate"), Scope=SCOPE,
           DefaultAction={"Allow": {}}, VisibilityConfig=vis("x"), Rules=[rate])


# ------------------------------------------------------------------ IP sets, regex pattern sets, rule groups

def test_ip_sets_regex_sets_and_references(waf):
    name = unique("office")
    ip = waf.create_ip_set(Name=name, Scope=SCOPE, IPAddressVersion="IPV4", Addresses=["192.0.2.0/24"])["Summary"]
    got = waf.get_ip_set(Name=name, Scope=SCOPE, Id=ip["Id"])
    assert got["IPSet"]["Addresses"] == ["192.0.2.0/24"] and got["IPSet"]["IPAddressVersion"] == "IPV4"
    nxt = waf.update_ip_set(Name=name, Scope=SCOPE, Id=ip["Id"], Addresses=["192.0.2.0/24", "198.51.100.7/32"],
                            LockToken=got["LockToken"])["NextLockToken"]
    assert waf.get_ip_set(Name=name, Scope=SCOPE, Id=ip["Id"])["IPSet"]["Addresses"] == ["192.0.2.0/24", "198.51.100.7/32"]
    assert any(i["Id"] == ip["Id"] for i in waf.list_ip_sets(Scope=SCOPE)["IPSets"])

    missing = f"arn:aws:wafv2:{REGION}:{ACCOUNT_ID}:regional/ipset/nope/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8"
    expect("WAFNonexistentItemException", create_acl, waf, None, [ip_rule("ip", 0, missing)])
    acl = create_acl(waf, None, [ip_rule("ip", 0, ip["ARN"])])
    expect("WAFAssociatedItemException", waf.delete_ip_set, Name=name, Scope=SCOPE, Id=ip["Id"], LockToken=nxt)

    rx_name = unique("rx")
    rx = waf.create_regex_pattern_set(Name=rx_name, Scope=SCOPE,
                                      RegularExpressionList=[{"RegexString": "^/wp-"}])["Summary"]
    got = waf.get_regex_pattern_set(Name=rx_name, Scope=SCOPE, Id=rx["Id"])
    assert got["RegexPatternSet"]["RegularExpressionList"] == [{"RegexString": "^/wp-"}]
    rx_tok = waf.update_regex_pattern_set(Name=rx_name, Scope=SCOPE, Id=rx["Id"], LockToken=got["LockToken"],
                                          RegularExpressionList=[{"RegexString": "^/wp-"}, {"RegexString": r"\.php$"}])["NextLockToken"]
    assert any(r["Id"] == rx["Id"] for r in waf.list_regex_pattern_sets(Scope=SCOPE)["RegexPatternSets"])
    waf.delete_regex_pattern_set(Name=rx_name, Scope=SCOPE, Id=rx["Id"], LockToken=rx_tok)

    delete_acl(waf, acl)
    waf.delete_ip_set(Name=name, Scope=SCOPE, Id=ip["Id"], LockToken=nxt)
    expect("WAFNonexistentItemException", waf.get_ip_set, Name=name, Scope=SCOPE, Id=ip["Id"])


def test_rule_groups_have_fixed_capacity(waf):
    name = unique("grp")
    rg = waf.create_rule_group(Name=name, Scope=SCOPE, Capacity=15, VisibilityConfig=vis(name),
                               Rules=[byte_rule("a", 0)])["Summary"]
    got = waf.get_rule_group(Name=name, Scope=SCOPE, Id=rg["Id"])
    assert got["RuleGroup"]["Capacity"] == 15
    assert got["RuleGroup"]["LabelNamespace"] == f"awswaf:{ACCOUNT_ID}:rulegroup:{name}:"
    assert waf.get_rule_group(ARN=rg["ARN"])["RuleGroup"] == got["RuleGroup"]
    err = expect("WAFInvalidParameterException", waf.update_rule_group, Name=name, Scope=SCOPE, Id=rg["Id"],
                 LockToken=got["LockToken"], VisibilityConfig=vis(name), Rules=[byte_rule("a", 0), byte_rule("b", 1)])
    assert "capacity" in err["Message"], err
    tok = waf.update_rule_group(Name=name, Scope=SCOPE, Id=rg["Id"], LockToken=got["LockToken"],
                                VisibilityConfig=vis(name), Rules=[byte_rule("b", 0)])["NextLockToken"]
    assert any(g["Id"] == rg["Id"] for g in waf.list_rule_groups(Scope=SCOPE)["RuleGroups"])
    ref = {"Name": "grp", "Priority": 0, "OverrideAction": {"None": {}},
           "Statement": {"RuleGroupReferenceStatement": {"ARN": rg["ARN"]}}, "VisibilityConfig": vis("grp")}
    acl = create_acl(waf, None, [ref])
    assert waf.get_web_acl(ARN=acl["ARN"])["WebACL"]["Capacity"] == 15
    expect("WAFAssociatedItemException", waf.delete_rule_group, Name=name, Scope=SCOPE, Id=rg["Id"], LockToken=tok)
    delete_acl(waf, acl)
    waf.delete_rule_group(Name=name, Scope=SCOPE, Id=rg["Id"], LockToken=tok)


def test_pagination(waf):
    prefix = unique("page")
    for i in range(5):
        waf.create_regex_pattern_set(Name=f"{prefix}-{i}", Scope=SCOPE, RegularExpressionList=[{"RegexString": "x"}])
    names, marker = [], None
    while True:
        kw = {"Scope": SCOPE, "Limit": 2}
        if marker:
            kw["NextMarker"] = marker
        page = waf.list_regex_pattern_sets(**kw)
        assert len(page["RegexPatternSets"]) <= 2
        names += [p["Name"] for p in page["RegexPatternSets"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    mine = [n for n in names if n.startswith(prefix)]
    assert mine == [f"{prefix}-{i}" for i in range(5)]
    assert len(names) == len(set(names))
    for p in waf.list_regex_pattern_sets(Scope=SCOPE)["RegexPatternSets"]:
        if p["Name"].startswith(prefix):
            waf.delete_regex_pattern_set(Name=p["Name"], Scope=SCOPE, Id=p["Id"], LockToken=p["LockToken"])


# ------------------------------------------------------------------ associations

def test_associations(waf):
    a = create_acl(waf)
    b = create_acl(waf)
    res = listener(unique("edge"))
    err = expect("WAFInvalidParameterException", waf.associate_web_acl, WebACLArn=a["ARN"],
                 ResourceArn=f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/net/x/50dc6c495c0c9188")
    assert "field: RESOURCE_ARN" in err["Message"], err
    waf.associate_web_acl(WebACLArn=a["ARN"], ResourceArn=res)
    assert waf.get_web_acl_for_resource(ResourceArn=res)["WebACL"]["ARN"] == a["ARN"]
    assert waf.list_resources_for_web_acl(WebACLArn=a["ARN"])["ResourceArns"] == [res]
    expect("WAFAssociatedItemException", delete_acl, waf, a)
    # One web ACL per resource: associating another replaces it.
    waf.associate_web_acl(WebACLArn=b["ARN"], ResourceArn=res)
    assert waf.get_web_acl_for_resource(ResourceArn=res)["WebACL"]["ARN"] == b["ARN"]
    assert waf.list_resources_for_web_acl(WebACLArn=a["ARN"])["ResourceArns"] == []
    delete_acl(waf, a)
    waf.disassociate_web_acl(ResourceArn=res)
    assert "WebACL" not in waf.get_web_acl_for_resource(ResourceArn=res)
    delete_acl(waf, b)


# ------------------------------------------------------------------ capacity and managed groups

def test_check_capacity(waf):
    sqli = {"Name": "sqli", "Priority": 1, "Action": {"Block": {}},
            "Statement": {"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}},
                                                 "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}},
            "VisibilityConfig": vis("sqli")}
    regex = {"Name": "re", "Priority": 2, "Action": {"Count": {}},
             "Statement": {"RegexMatchStatement": {"RegexString": "^/api", "FieldToMatch": {"UriPath": {}},
                                                   "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
             "VisibilityConfig": vis("re")}
    # waf-model's costs: ByteMatch STARTS_WITH 2 + LOWERCASE 10; SQLi LOW 20 + AllQueryArguments 10 +
    # URL_DECODE 10; RegexMatch 3 (NONE is free); Portcullis SQLiRuleSet 200; OWASP CoreRuleSet 700.
    assert waf.check_capacity(Scope=SCOPE, Rules=[byte_rule("b", 0)])["Capacity"] == 12
    assert waf.check_capacity(Scope=SCOPE, Rules=[sqli])["Capacity"] == 40
    assert waf.check_capacity(Scope=SCOPE, Rules=[regex])["Capacity"] == 3
    rules = [byte_rule("b", 0), sqli, regex, managed_rule("sql", 3, "Portcullis", "SQLiRuleSet"),
             managed_rule("crs", 4, "OWASP", "CoreRuleSet")]
    assert waf.check_capacity(Scope=SCOPE, Rules=rules)["Capacity"] == 12 + 40 + 3 + 200 + 700
    expect("WAFNonexistentItemException", waf.check_capacity, Scope=SCOPE,
           Rules=[managed_rule("aws", 0, "AWS", "AWSManagedRulesSQLiRuleSet")])
    big = [managed_rule(f"c{i}", i, "Portcullis", "CommonRuleSet") for i in range(8)]
    assert waf.check_capacity(Scope=SCOPE, Rules=big)["Capacity"] == 5600
    expect("WAFLimitsExceededException", create_acl, waf, None, big)


def test_managed_rule_groups(waf):
    groups = waf.list_available_managed_rule_groups(Scope=SCOPE)["ManagedRuleGroups"]
    names = {(g["VendorName"], g["Name"]) for g in groups}
    assert len(groups) == 10
    for n in ["CommonRuleSet", "KnownBadInputsRuleSet", "SQLiRuleSet", "LinuxRuleSet", "UnixRuleSet",
              "WindowsRuleSet", "PHPRuleSet", "AdminProtectionRuleSet", "IpReputationList"]:
        assert ("Portcullis", n) in names
    assert ("OWASP", "CoreRuleSet") in names
    d = waf.describe_managed_rule_group(VendorName="Portcullis", Name="SQLiRuleSet", Scope=SCOPE)
    assert d["Capacity"] == 200
    assert d["LabelNamespace"] == "awswaf:managed:portcullis:sql-database:"
    assert {"Name": "SQLi_QUERYARGUMENTS", "Action": {"Block": {}}} in d["Rules"]
    assert d["AvailableLabels"]
    assert waf.describe_managed_rule_group(VendorName="OWASP", Name="CoreRuleSet", Scope=SCOPE)["Capacity"] == 700
    expect("WAFNonexistentItemException", waf.describe_managed_rule_group, VendorName="Portcullis", Name="Nope",
           Scope=SCOPE)
    v = waf.list_available_managed_rule_group_versions(VendorName="Portcullis", Name="CommonRuleSet", Scope=SCOPE)
    assert v["Versions"] == []
    acl = create_acl(waf, None, [managed_rule("common", 0, "Portcullis", "CommonRuleSet"),
                                 managed_rule("crs", 1, "OWASP", "CoreRuleSet")])
    assert waf.get_web_acl(ARN=acl["ARN"])["WebACL"]["Capacity"] == 1400
    delete_acl(waf, acl)


# ------------------------------------------------------------------ logging, tags, samples

def test_logging_configuration(waf):
    acl = create_acl(waf)
    dest = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:aws-waf-logs-{acl['Name']}"
    cfg = {"ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest],
           "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
           "LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [
               {"Behavior": "DROP", "Requirement": "MEETS_ANY", "Conditions": [{"ActionCondition": {"Action": "ALLOW"}}]}]}}
    put = waf.put_logging_configuration(LoggingConfiguration=cfg)["LoggingConfiguration"]
    assert put["ResourceArn"] == acl["ARN"] and put["LogDestinationConfigs"] == [dest]
    assert waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"] == put
    listed = waf.list_logging_configurations(Scope=SCOPE)["LoggingConfigurations"]
    assert put in listed
    expect("WAFInvalidParameterException", waf.put_logging_configuration,
           LoggingConfiguration={"ResourceArn": acl["ARN"], "LogDestinationConfigs": ["not-an-arn-at-all-really"]})
    waf.delete_logging_configuration(ResourceArn=acl["ARN"])
    expect("WAFNonexistentItemException", waf.get_logging_configuration, ResourceArn=acl["ARN"])
    delete_acl(waf, acl)


def test_tags(waf):
    acl = create_acl(waf, Tags=[{"Key": "team", "Value": "edge"}])
    waf.tag_resource(ResourceARN=acl["ARN"], Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "sec"}])
    info = waf.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]
    assert info["ResourceARN"] == acl["ARN"]
    assert info["TagList"] == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "sec"}]
    waf.untag_resource(ResourceARN=acl["ARN"], TagKeys=["env"])
    assert waf.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]["TagList"] == \
        [{"Key": "team", "Value": "sec"}]
    missing = f"arn:aws:wafv2:{REGION}:{ACCOUNT_ID}:regional/webacl/nope/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8"
    expect("WAFNonexistentItemException", waf.list_tags_for_resource, ResourceARN=missing)
    delete_acl(waf, acl)


def test_sampled_requests_without_traffic(waf):
    acl = create_acl(waf)
    end = datetime.now(timezone.utc).replace(microsecond=0)
    start = end - timedelta(minutes=10)
    r = waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName=acl["Name"], Scope=SCOPE,
                                 TimeWindow={"StartTime": start, "EndTime": end}, MaxItems=100)
    assert r["SampledRequests"] == [] and r["PopulationSize"] == 0
    assert r["TimeWindow"]["EndTime"] == end and r["TimeWindow"]["StartTime"] == start
    delete_acl(waf, acl)


# ------------------------------------------------------------------ IAM, audit, CLI

def test_permissions(waf, make_user):
    acl = create_acl(waf)
    nobody = make_user().client("wafv2")
    err = expect("AccessDeniedException", nobody.list_web_acls, Scope=SCOPE)
    assert "wafv2:ListWebACLs" in err["Message"], err
    expect("AccessDeniedException", nobody.get_web_acl, ARN=acl["ARN"])
    expect("AccessDeniedException", nobody.create_ip_set, Name=unique("ips"), Scope=SCOPE,
           IPAddressVersion="IPV4", Addresses=[])

    reader = make_user(policy(allow("wafv2:ListWebACLs"), allow("wafv2:GetWebACL", acl["ARN"]))).client("wafv2")
    assert any(a["Id"] == acl["Id"] for a in reader.list_web_acls(Scope=SCOPE)["WebACLs"])
    assert reader.get_web_acl(ARN=acl["ARN"])["WebACL"]["Name"] == acl["Name"]
    other = create_acl(waf)
    expect("AccessDeniedException", reader.get_web_acl, ARN=other["ARN"])
    expect("AccessDeniedException", reader.delete_web_acl, Name=acl["Name"], Scope=SCOPE, Id=acl["Id"],
           LockToken=acl["LockToken"])
    delete_acl(waf, acl)
    delete_acl(waf, other)


def test_calls_are_audited(waf, cloudtrail):
    acl = create_acl(waf)
    hits = wait_for_events(cloudtrail, lambda e: e["EventName"] == "CreateWebACL" and acl["Name"] in e["CloudTrailEvent"],
                           [{"AttributeKey": "EventSource", "AttributeValue": "wafv2.amazonaws.com"}])
    assert len(hits) == 1, hits
    d = json.loads(hits[0]["CloudTrailEvent"])
    assert d["eventSource"] == "wafv2.amazonaws.com" and not d.get("errorCode")
    assert d["requestParameters"]["name"] == acl["Name"]
    expect("WAFDuplicateItemException", create_acl, waf, acl["Name"])
    failed = wait_for_events(cloudtrail, lambda e: e["EventName"] == "CreateWebACL" and acl["Name"] in e["CloudTrailEvent"]
                             and json.loads(e["CloudTrailEvent"]).get("errorCode") == "WAFDuplicateItemException",
                             [{"AttributeKey": "EventSource", "AttributeValue": "wafv2.amazonaws.com"}])
    assert failed
    delete_acl(waf, acl)


def test_cli_list_web_acls(waf, aws_cli):
    acl = create_acl(waf)
    r = aws_cli("wafv2", "list-web-acls", "--scope", "REGIONAL")
    assert r.rc == 0, r.stderr
    assert any(a["Id"] == acl["Id"] for a in r.json["WebACLs"])
    delete_acl(waf, acl)
