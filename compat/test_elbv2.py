"""ELBv2 (Query protocol, 2015-12-01) with boto3: load balancers, target groups, listeners and rules
made through the API, served by the WAF proxy of the same `portcullis serve` within about a second,
with web ACLs associated with the load balancer ARN; every documented error the slice implements;
a caller without elasticloadbalancing permissions is refused.

Uses the session server from conftest (no `[waf]` section: every listener here comes from the API)
and upstreams that run in this process.
"""
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, allow, policy, unique


class Upstream:
    """A tiny application: 200 with its own name for everything, recording paths."""

    def __init__(self, name=b"app"):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = name + b"\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, host=None, context=None):
    """(status, body, headers) of a GET, following no redirects; None when the connection is refused."""
    req = urllib.request.Request(url, headers={"Host": host} if host else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    handlers = [NoRedirect()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except (urllib.error.URLError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, (ConnectionRefusedError, ConnectionResetError)):
            return None
        raise


def wait_for(cond, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def other_id(arn):
    """The same ARN with another (unused) id."""
    head, tail = arn.rsplit("/", 1)
    return head + "/" + ("f" * 16 if tail != "f" * 16 else "e" * 16)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def elb(server):
    return server.client("elbv2")


@pytest.fixture(scope="module")
def waf(server):
    return server.client("wafv2")


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


def make_lb(elb, **kw):
    return elb.create_load_balancer(Name=unique("lb"), Scheme="internal", **kw)["LoadBalancers"][0]


def make_tg(elb, port=80, **kw):
    return elb.create_target_group(Name=unique("tg"), Protocol="HTTP", Port=port, TargetType="ip",
                                   VpcId="vpc-1", **kw)["TargetGroups"][0]


def forward(tg):
    return [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]


# ------------------------------------------------------------------ load balancers

def test_load_balancers_create_describe_page_delete(elb):
    names = [unique("lb") for _ in range(3)]
    lbs = [elb.create_load_balancer(Name=n, Subnets=["subnet-1"], Scheme="internal",
                                    Tags=[{"Key": "team", "Value": "web"}])["LoadBalancers"][0] for n in names]
    lb = lbs[0]
    assert lb["LoadBalancerArn"].startswith(f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/app/{names[0]}/")
    assert len(lb["LoadBalancerArn"].rsplit("/", 1)[1]) == 16
    assert lb["DNSName"].startswith(names[0] + "-")
    assert lb["Type"] == "application" and lb["Scheme"] == "internal" and lb["State"]["Code"] == "active"
    by_name = elb.describe_load_balancers(Names=[names[1]])["LoadBalancers"]
    assert [x["LoadBalancerArn"] for x in by_name] == [lbs[1]["LoadBalancerArn"]]
    by_arn = elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"]
    assert by_arn[0]["LoadBalancerName"] == names[0]
    # Paging: PageSize 1 walks every load balancer once.
    seen, marker = [], None
    while True:
        kw = {"PageSize": 1}
        if marker:
            kw["Marker"] = marker
        page = elb.describe_load_balancers(**kw)
        seen += [x["LoadBalancerName"] for x in page["LoadBalancers"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert set(names) <= set(seen) and len(seen) == len(set(seen))
    paginated = [x["LoadBalancerName"] for p in elb.get_paginator("describe_load_balancers").paginate()
                 for x in p["LoadBalancers"]]
    assert set(names) <= set(paginated)
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name=names[0])
    assert code(e) == "DuplicateLoadBalancerName"
    with pytest.raises(ClientError) as e:
        elb.describe_load_balancers(Names=[unique("missing")])
    assert code(e) == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name=unique("lb"), Scheme="sideways")
    assert code(e) == "InvalidScheme"
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name="-bad-")
    assert code(e) == "ValidationError"
    for x in lbs:
        elb.delete_load_balancer(LoadBalancerArn=x["LoadBalancerArn"])
    with pytest.raises(ClientError) as e:
        elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])
    assert code(e) == "LoadBalancerNotFound"


# ------------------------------------------------------------------ target groups

def test_target_groups_and_targets(elb):
    tg = make_tg(elb, port=8080, HealthCheckPath="/health", HealthCheckIntervalSeconds=10,
                 HealthCheckTimeoutSeconds=3, HealthyThresholdCount=2, UnhealthyThresholdCount=3)
    arn = tg["TargetGroupArn"]
    assert arn.startswith(f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/{tg['TargetGroupName']}/")
    assert (tg["Port"], tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"], tg["UnhealthyThresholdCount"]) == (8080, "/health", 10, 3)
    assert tg["TargetType"] == "ip"
    m = elb.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/ready", Matcher={"HttpCode": "200-299"})
    assert m["TargetGroups"][0]["HealthCheckPath"] == "/ready"
    assert elb.describe_target_groups(Names=[tg["TargetGroupName"]])["TargetGroups"][0]["Matcher"]["HttpCode"] == "200-299"
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1"}, {"Id": "127.0.0.2", "Port": 9000}])
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health) == [("127.0.0.1", 8080), ("127.0.0.2", 9000)]
    # No listener forwards to it: honestly "unused".
    assert {h["TargetHealth"]["State"] for h in health} == {"unused"}
    assert health[0]["TargetHealth"]["Reason"] == "Target.NotInUse"
    elb.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.2", "Port": 9000}])
    assert len(elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]) == 1
    with pytest.raises(ClientError) as e:
        elb.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.9"}])
    assert code(e) == "InvalidTarget"
    with pytest.raises(ClientError) as e:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert code(e) == "InvalidTarget"
    with pytest.raises(ClientError) as e:
        elb.create_target_group(Name=tg["TargetGroupName"], Protocol="HTTP", Port=80)
    assert code(e) == "DuplicateTargetGroupName"
    with pytest.raises(ClientError) as e:
        elb.describe_target_groups(TargetGroupArns=[arn + "0"])
    assert code(e) == "TargetGroupNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_target_group(Name=unique("tg"), Protocol="TCP", Port=80)
    assert code(e) == "InvalidConfigurationRequest"
    elb.delete_target_group(TargetGroupArn=arn)
    with pytest.raises(ClientError) as e:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1"}])
    assert code(e) == "TargetGroupNotFound"


# ------------------------------------------------------------------ listeners, rules, the proxy

def test_listener_forwards_web_acl_blocks_delete_refuses(elb, waf, upstream):
    lb = make_lb(elb)
    tg = make_tg(elb, port=upstream.port, HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
    port = free_port()
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                   DefaultActions=forward(tg))["Listeners"][0]
    assert listener["ListenerArn"].startswith(lb["LoadBalancerArn"].replace(":loadbalancer/", ":listener/") + "/")
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    url = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: (get(url + "/hello") or (0,))[0] == 200), "the listener never served"
    assert "/hello" in upstream.hits
    # The target group is in use now: its health comes from the proxy's pool.
    assert elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    states = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert states[0]["TargetHealth"]["State"] in ("healthy", "initial"), states
    with pytest.raises(ClientError) as e:
        elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert code(e) == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port, DefaultActions=forward(tg))
    assert code(e) == "DuplicateListener"

    # A web ACL associated with the load balancer ARN blocks /admin on its listeners.
    acl = waf.create_web_acl(
        Name=unique("acl"), Scope="REGIONAL", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "elb"},
        Rules=[{"Name": "admin", "Priority": 0, "Action": {"Block": {}},
                "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "admin"},
                "Statement": {"ByteMatchStatement": {
                    "SearchString": b"/admin", "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}}}],
    )["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb["LoadBalancerArn"])
    assert wait_for(lambda: get(url + "/admin/x")[0] == 403), "the web ACL never applied"
    assert get(url + "/fine")[0] == 200
    assert get(url + "/admin/z")[0] == 403
    assert "/admin/z" not in upstream.hits
    waf.disassociate_web_acl(ResourceArn=lb["LoadBalancerArn"])
    assert wait_for(lambda: get(url + "/admin/y")[0] == 200)

    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    assert wait_for(lambda: get(url + "/") is None), "the port still accepts after DeleteListener"
    with pytest.raises(ClientError) as e:
        elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    assert code(e) == "ListenerNotFound"
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def test_rules_route_by_path_and_host_and_answer_themselves(elb):
    a, b = Upstream(b"a"), Upstream(b"b")
    try:
        lb = make_lb(elb)
        tga, tgb = make_tg(elb, port=a.port), make_tg(elb, port=b.port)
        elb.register_targets(TargetGroupArn=tga["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
        elb.register_targets(TargetGroupArn=tgb["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
        port = free_port()
        listener = elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "fixed-response",
                             "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "nothing here"}}],
        )["Listeners"][0]
        l_arn = listener["ListenerArn"]
        r1 = elb.create_rule(ListenerArn=l_arn, Priority=10, Actions=forward(tga),
                             Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a/*"]}}])["Rules"][0]
        elb.create_rule(ListenerArn=l_arn, Priority=20, Actions=forward(tgb),
                        Conditions=[{"Field": "host-header", "Values": ["b.example"]}])
        elb.create_rule(ListenerArn=l_arn, Priority=30,
                        Actions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
                        Conditions=[{"Field": "path-pattern", "Values": ["/old*"]}])
        assert r1["Priority"] == "10" and r1["Conditions"][0]["Values"] == ["/a/*"]
        rules = elb.describe_rules(ListenerArn=l_arn)["Rules"]
        assert [r["Priority"] for r in rules] == ["10", "20", "30", "default"]
        assert rules[-1]["IsDefault"] is True
        with pytest.raises(ClientError) as e:
            elb.create_rule(ListenerArn=l_arn, Priority=10, Actions=forward(tga),
                            Conditions=[{"Field": "path-pattern", "Values": ["/x"]}])
        assert code(e) == "PriorityInUse"
        with pytest.raises(ClientError) as e:
            elb.delete_rule(RuleArn=rules[-1]["RuleArn"])
        assert code(e) == "OperationNotPermitted"
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: (get(url + "/a/1") or (0, b""))[1] == b"a\n"), "the path rule never applied"
        # The node polls the API's revision: the three rules may reach it in different polls.
        assert wait_for(lambda: (get(url + "/z", host="b.example") or (0, b""))[1] == b"b\n"), "the host rule never applied"
        status, body, _ = get(url + "/z")
        assert (status, body) == (404, b"nothing here")
        assert wait_for(lambda: get(url + "/old/page?q=1", host="shop.example")[0] == 301)
        status, _, headers = get(url + "/old/page?q=1", host="shop.example")
        assert status == 301 and headers["Location"] == "https://shop.example/old/page?q=1", headers
        elb.delete_rule(RuleArn=r1["RuleArn"])
        assert wait_for(lambda: get(url + "/a/1")[0] == 404)
        with pytest.raises(ClientError) as e:
            elb.delete_rule(RuleArn=r1["RuleArn"])
        assert code(e) == "RuleNotFound"
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        assert wait_for(lambda: get(url + "/") is None)
        with pytest.raises(ClientError) as e:
            elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
        assert code(e) == "LoadBalancerNotFound"
    finally:
        a.close()
        b.close()


def test_https_listener_with_the_built_in_ca(server, elb, upstream):
    lb = make_lb(elb)
    tg = make_tg(elb, port=upstream.port)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
    port = free_port()
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=port, DefaultActions=forward(tg),
                            Certificates=[{"CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/other"}])
    assert code(e) == "CertificateNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=port, DefaultActions=forward(tg))
    assert code(e) == "UnsupportedProtocol"
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=port,
                                   DefaultActions=forward(tg))["Listeners"][0]
    assert listener["Certificates"][0]["CertificateArn"].endswith(":certificate/portcullis-ca")
    ctx = ssl.create_default_context(cafile=server.ca_bundle)
    assert wait_for(lambda: (get(f"https://localhost:{port}/tls", context=ctx) or (0,))[0] == 200)
    assert "/tls" in upstream.hits
    # ModifyListener moves it to another port: the old one drains, the new one serves.
    new_port = free_port()
    moved = elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=new_port)["Listeners"][0]
    assert moved["Port"] == new_port and moved["Protocol"] == "HTTPS"
    assert wait_for(lambda: (get(f"https://localhost:{new_port}/", context=ctx) or (0,))[0] == 200)
    assert wait_for(lambda: get(f"https://localhost:{port}/", context=ctx) is None)
    assert [l["Port"] for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]] == [new_port]
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


# ------------------------------------------------------------------ tags, errors, authorization

def test_tags(elb):
    lb = make_lb(elb, Tags=[{"Key": "a", "Value": "1"}])
    tg = make_tg(elb)
    arns = [lb["LoadBalancerArn"], tg["TargetGroupArn"]]
    elb.add_tags(ResourceArns=arns, Tags=[{"Key": "env", "Value": "test"}])
    desc = {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]} for d in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]}
    assert desc == {arns[0]: {"a": "1", "env": "test"}, arns[1]: {"env": "test"}}
    elb.remove_tags(ResourceArns=[arns[0]], TagKeys=["a"])
    assert elb.describe_tags(ResourceArns=[arns[0]])["TagDescriptions"][0]["Tags"] == [{"Key": "env", "Value": "test"}]
    with pytest.raises(ClientError) as e:
        elb.add_tags(ResourceArns=[arns[0]], Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert code(e) == "DuplicateTagKeys"
    with pytest.raises(ClientError) as e:
        elb.describe_tags(ResourceArns=[other_id(arns[0])])
    assert code(e) == "LoadBalancerNotFound"
    elb.delete_load_balancer(LoadBalancerArn=arns[0])
    elb.delete_target_group(TargetGroupArn=arns[1])


def test_listener_errors(elb):
    lb = make_lb(elb)
    tg = make_tg(elb)
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=other_id(lb["LoadBalancerArn"]), Protocol="HTTP", Port=free_port(), DefaultActions=forward(tg))
    assert code(e) == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=free_port(),
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"] + "x"}])
    assert code(e) == "TargetGroupNotFound"
    with pytest.raises(ClientError) as e:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=free_port(),
                            DefaultActions=[{"Type": "authenticate-oidc", "AuthenticateOidcConfig": {
                                "Issuer": "i", "AuthorizationEndpoint": "a", "TokenEndpoint": "t",
                                "UserInfoEndpoint": "u", "ClientId": "c"}}])
    assert code(e) == "InvalidLoadBalancerAction"
    # A port something else holds on this node is refused at once.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        with pytest.raises(ClientError) as e:
            elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=held.getsockname()[1], DefaultActions=forward(tg))
        assert code(e) == "InvalidConfigurationRequest"
    with pytest.raises(ClientError) as e:
        elb.delete_listener(ListenerArn=lb["LoadBalancerArn"].replace(":loadbalancer/", ":listener/") + "/0123456789abcdef")
    assert code(e) == "ListenerNotFound"
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def test_callers_need_elasticloadbalancing_permissions(elb, make_user):
    nobody = make_user(policy(allow("wafv2:*")))
    with pytest.raises(ClientError) as e:
        nobody.client("elbv2").create_load_balancer(Name=unique("lb"))
    assert code(e) == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as e:
        nobody.client("elbv2").describe_load_balancers()
    assert code(e) == "AccessDenied"
    reader = make_user(policy(allow("elasticloadbalancing:Describe*")))
    reader.client("elbv2").describe_load_balancers()
    with pytest.raises(ClientError) as e:
        reader.client("elbv2").create_target_group(Name=unique("tg"), Protocol="HTTP", Port=80)
    assert code(e) == "AccessDenied"


def test_calls_are_audited(server, elb, cloudtrail):
    name = unique("lb")
    arn = elb.create_load_balancer(Name=name, Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    elb.delete_load_balancer(LoadBalancerArn=arn)

    def found():
        events = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "elasticloadbalancing.amazonaws.com"}])["Events"]
        return any(ev["EventName"] == "CreateLoadBalancer" and name in ev["CloudTrailEvent"] for ev in events)

    assert wait_for(found, timeout=10)


def test_aws_cli_elbv2(aws_cli):
    name = unique("cli")
    created = aws_cli("elbv2", "create-load-balancer", "--name", name, "--scheme", "internal")
    assert created.rc == 0, created.stderr
    arn = created.json["LoadBalancers"][0]["LoadBalancerArn"]
    described = aws_cli("elbv2", "describe-load-balancers", "--names", name)
    assert described.rc == 0 and described.json["LoadBalancers"][0]["LoadBalancerArn"] == arn
    missing = aws_cli("elbv2", "describe-load-balancers", "--names", unique("none"))
    assert missing.rc != 0 and "LoadBalancerNotFound" in missing.stderr
    assert aws_cli("elbv2", "delete-load-balancer", "--load-balancer-arn", arn).rc == 0


def test_modify_rule_and_set_rule_priorities(elb):
    a, b = Upstream(b"a"), Upstream(b"b")
    try:
        lb = make_lb(elb)
        tga, tgb = make_tg(elb, port=a.port), make_tg(elb, port=b.port)
        for tg in (tga, tgb):
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
        port = free_port()
        l_arn = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                    DefaultActions=forward(tga))["Listeners"][0]["ListenerArn"]
        rule = elb.create_rule(ListenerArn=l_arn, Priority=10, Actions=forward(tga),
                               Conditions=[{"Field": "path-pattern", "Values": ["/x*"]}])["Rules"][0]
        url = f"http://127.0.0.1:{port}/x"
        assert wait_for(lambda: (get(url) or (0, b""))[1] == b"a\n")
        modified = elb.modify_rule(RuleArn=rule["RuleArn"], Actions=forward(tgb))["Rules"][0]
        assert modified["Actions"][0]["TargetGroupArn"] == tgb["TargetGroupArn"]
        assert wait_for(lambda: (get(url) or (0, b""))[1] == b"b\n"), "ModifyRule never applied"
        elb.set_rule_priorities(RulePriorities=[{"RuleArn": rule["RuleArn"], "Priority": 5}])
        assert [r["Priority"] for r in elb.describe_rules(ListenerArn=l_arn)["Rules"]] == ["5", "default"]
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])  # already gone: succeeds, as at AWS
    finally:
        a.close()
        b.close()
