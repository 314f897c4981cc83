"""The WAF proxy driven through the WAFv2 API with boto3: a web ACL associated with a listener
blocks within a second, logs in the AWS WAF log format, is sampled for GetSampledRequests,
changes live; two nodes that share one Redis enforce one rate limit.

Each test starts its own `portcullis serve` with a `[waf]` section in front of an upstream
that runs in this process.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import botocore.config
from botocore.exceptions import ClientError
import pytest

REPO = Path(__file__).resolve().parent.parent
ADMIN_KEY_ID = "AKIAADMINEXAMPLE0001"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYADMINKEY01"
REGION = "us-east-1"
LISTENER_RE = re.compile(r"^WAF listener (\S+) is listening on (\S+) \(resource ARN (\S+)\)$")
CONFIG = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)


class Upstream:
    """A tiny HTTP application: 200 "ok" for everything, counting what it saw."""

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = b"ok\n"
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


class Node:
    """One `portcullis serve` with one WAF listener `web` in front of the upstream."""

    def __init__(self, tmp: Path, upstream_port: int, redis_url=None, extra=()):
        binary = Path(os.environ.get("PORTCULLIS_BIN", REPO / "target" / "debug" / "portcullis"))
        self.data_dir = tmp / "data"
        config = tmp / "portcullis.toml"
        lines = ["[waf]"]
        if redis_url:
            lines.append(f'redis = "{redis_url}"')
        lines += [
            "[[waf.pools]]", 'name = "app"', f'upstreams = ["127.0.0.1:{upstream_port}"]',
            "[[waf.listeners]]", 'name = "web"', 'bind = "127.0.0.1:0"', 'pool = "app"',
        ]
        lines += list(extra)
        config.write_text("\n".join(lines) + "\n")
        env = dict(os.environ, PORTCULLIS_ADMIN_ACCESS_KEY_ID=ADMIN_KEY_ID,
                   PORTCULLIS_ADMIN_SECRET_ACCESS_KEY=ADMIN_SECRET, RUST_LOG="info")
        self.log_path = tmp / "server.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [str(binary), "serve", "--data-dir", str(self.data_dir), "--api-listen", "127.0.0.1:0",
                 "-c", str(config)],
                stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.endpoint = self.ca = self.listener = self.arn = None
        deadline = time.time() + 60
        for raw in self.proc.stdout:
            line = raw.strip()
            m = LISTENER_RE.match(line)
            if m:
                self.listener, self.arn = m.group(2), m.group(3)
            if line.startswith("export AWS_ENDPOINT_URL="):
                env_vars = dict(kv.split("=", 1) for kv in line[len("export "):].split())
                self.endpoint = env_vars["AWS_ENDPOINT_URL"]
                self.ca = env_vars["AWS_CA_BUNDLE"]
                break
            if time.time() > deadline:
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        assert self.endpoint and self.listener, f"no banner; log:\n{self.log_path.read_text()[-3000:]}"
        self.waf = boto3.Session(aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=ADMIN_SECRET,
                                 region_name=REGION).client("wafv2", endpoint_url=self.endpoint,
                                                            verify=self.ca, config=CONFIG)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://{self.listener}{path}", timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            assert self.proc.wait(timeout=20) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def vis(name, sampled=True):
    return {"SampledRequestsEnabled": sampled, "CloudWatchMetricsEnabled": True, "MetricName": name}


def admin_rule(action):
    return {"Name": "admin", "Priority": 0, "Action": {action: {}}, "VisibilityConfig": vis("admin"),
            "Statement": {"ByteMatchStatement": {
                "SearchString": b"/admin", "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}}}


def wait_for(cond, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="portcullis-waf-proxy-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def test_associated_acl_blocks_logs_samples_and_changes_live(tmp, upstream):
    node = Node(tmp, upstream.port)
    try:
        waf = node.waf
        name = "site-" + uuid.uuid4().hex[:8]
        acl = waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}},
                                 VisibilityConfig=vis(name), Rules=[admin_rule("Block")])["Summary"]
        # Not associated yet: the listener allows everything.
        assert node.get("/admin") == 200

        started = time.time()
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=node.arn)
        assert wait_for(lambda: node.get("/admin") == 403, 3.0), "the association did not apply"
        applied_after = time.time() - started
        assert applied_after < 2.0, f"took {applied_after:.2f} s"
        assert node.get("/fine") == 200
        assert waf.get_web_acl_for_resource(ResourceArn=node.arn)["WebACL"]["ARN"] == acl["ARN"]
        assert node.arn in waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"]

        # Logging: records in the AWS WAF log format, in the file named after the destination.
        dest = f"arn:aws:logs:{REGION}:000000000000:log-group:aws-waf-logs-{name}"
        waf.put_logging_configuration(LoggingConfiguration={
            "ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest],
            "RedactedFields": [{"SingleHeader": {"Name": "user-agent"}}]})
        log_file = node.data_dir / "waf" / "logs" / f"aws-waf-logs-{name}.log"

        def logged_block():
            node.get("/admin/panel")
            if not log_file.exists():
                return False
            records = [json.loads(l) for l in log_file.read_text().splitlines() if l.strip()]
            return any(r["action"] == "BLOCK" for r in records)

        assert wait_for(logged_block, 5.0), "no BLOCK record was logged"
        records = [json.loads(l) for l in log_file.read_text().splitlines() if l.strip()]
        block = next(r for r in records if r["action"] == "BLOCK")
        assert block["terminatingRuleId"] == "admin"
        assert block["webaclId"] == acl["ARN"]
        assert block["httpRequest"]["uri"].startswith("/admin")
        ua = [h for h in block["httpRequest"]["headers"] if h["name"].lower() == "user-agent"]
        assert ua and ua[0]["value"] == "REDACTED", block["httpRequest"]["headers"]

        # Sampled requests, as GetSampledRequests returns them.
        now = datetime.now(timezone.utc)
        sampled = waf.get_sampled_requests(
            WebAclArn=acl["ARN"], RuleMetricName="admin", Scope="REGIONAL",
            TimeWindow={"StartTime": now - timedelta(minutes=5), "EndTime": now + timedelta(minutes=1)},
            MaxItems=100)
        assert sampled["PopulationSize"] >= 2, sampled
        assert sampled["SampledRequests"] and all(s["Action"] == "BLOCK" for s in sampled["SampledRequests"])
        assert sampled["SampledRequests"][0]["Request"]["URI"].startswith("/admin")

        # A change through the API applies to the running listener.
        got = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=acl["Id"])
        waf.update_web_acl(Name=name, Scope="REGIONAL", Id=acl["Id"], LockToken=got["LockToken"],
                           DefaultAction={"Allow": {}}, VisibilityConfig=vis(name), Rules=[admin_rule("Count")])
        assert wait_for(lambda: node.get("/admin") == 200, 3.0), "the update did not apply"

        # Back to blocking, then disassociated: the listener allows everything again.
        got = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=acl["Id"])
        waf.update_web_acl(Name=name, Scope="REGIONAL", Id=acl["Id"], LockToken=got["LockToken"],
                           DefaultAction={"Allow": {}}, VisibilityConfig=vis(name), Rules=[admin_rule("Block")])
        assert wait_for(lambda: node.get("/admin") == 403, 3.0)
        waf.disassociate_web_acl(ResourceArn=node.arn)
        assert wait_for(lambda: node.get("/admin") == 200, 3.0), "the disassociation did not apply"
    finally:
        node.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp):
    server = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed but CI=true", pytrace=False)
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False
        assert wait_for(up, 10.0), "redis-server did not start"
        yield f"redis://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_two_nodes_behind_one_redis_enforce_one_rate_limit(tmp, upstream, redis_url):
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    nodes = [Node(tmp / "a", upstream.port, redis_url), Node(tmp / "b", upstream.port, redis_url)]
    try:
        limit = 10
        rule = {"Name": "per-ip", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("per-ip"),
                "Statement": {"RateBasedStatement": {"Limit": limit, "EvaluationWindowSec": 60,
                                                     "AggregateKeyType": "IP"}}}
        by_method = {"Name": "per-method", "Priority": 1, "Action": {"Count": {}}, "VisibilityConfig": vis("m"),
                     "Statement": {"RateBasedStatement": {"Limit": 1000, "EvaluationWindowSec": 60,
                                                          "AggregateKeyType": "CUSTOM_KEYS",
                                                          "CustomKeys": [{"HTTPMethod": {}}]}}}
        acls = []
        for node in nodes:
            # Each node has its own store: the same web ACL is created on both, as a deployment tool would.
            acl = node.waf.create_web_acl(Name="rate", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                          VisibilityConfig=vis("rate"), Rules=[rule, by_method])["Summary"]
            node.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=node.arn)
            acls.append(acl)

        def managed(i, rule_name="per-ip"):
            return nodes[i].waf.get_rate_based_statement_managed_keys(
                Scope="REGIONAL", WebACLName="rate", WebACLId=acls[i]["Id"], RuleName=rule_name)

        assert managed(0)["ManagedKeysIPV4"]["Addresses"] == []
        assert all(wait_for(lambda n=n: n.get("/warmup-check") == 200, 3.0) for n in nodes)
        time.sleep(1.0)  # both nodes have applied their association

        # Seven requests on each node: each is under the limit alone, together (16 with the checks) over it.
        statuses = []
        for _ in range(7):
            for node in nodes:
                statuses.append(node.get("/page"))
        assert statuses.count(200) >= limit - 2, statuses
        # Within the evaluation window both nodes block the client.
        assert wait_for(lambda: nodes[0].get("/page") == 403, 3.0), "node A did not block"
        assert wait_for(lambda: nodes[1].get("/page") == 403, 3.0), "node B did not block"
        # Each node names the address its rate-based rule is limiting.
        for i in range(2):
            keys = managed(i)
            assert keys["ManagedKeysIPV4"] == {"IPAddressVersion": "IPV4", "Addresses": ["127.0.0.1/32"]}, keys
            assert keys["ManagedKeysIPV6"] == {"IPAddressVersion": "IPV6", "Addresses": []}, keys
        with pytest.raises(ClientError) as e:
            managed(0, "per-method")
        assert e.value.response["Error"]["Code"] == "WAFUnsupportedAggregateKeyTypeException"
        with pytest.raises(ClientError) as e:
            managed(0, "no-such-rule")
        assert e.value.response["Error"]["Code"] == "WAFNonexistentItemException"
    finally:
        for node in nodes:
            node.stop()


class NatsSubscriber:
    """A NATS server of our own and a minimal subscriber speaking the text protocol over a socket."""

    def __init__(self, tmp: Path, subject: str):
        server = shutil.which("nats-server") or next(
            (p for p in ("/usr/sbin/nats-server", "/usr/bin/nats-server") if Path(p).exists()), None)
        if not server:
            if os.environ.get("CI") == "true":
                pytest.fail("nats-server is not installed but CI=true", pytrace=False)
            pytest.skip("nats-server is not installed")
        self.port = free_port()
        self.proc = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"nats://127.0.0.1:{self.port}"
        deadline = time.time() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                break
            except OSError:
                assert time.time() < deadline, "nats-server did not start"
                time.sleep(0.05)
        self.buf = b""
        self._line()  # INFO
        self.sock.sendall(f'CONNECT {{"verbose":false}}\r\nSUB {subject} 1\r\nPING\r\n'.encode())
        while self._line() != b"PONG":
            pass
        self.messages = []

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "NATS connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def poll(self, timeout=0.2):
        """Reads whatever arrives within `timeout`; returns the payloads received so far."""
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self._line()
                if line == b"PING":
                    self.sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    while len(self.buf) < size + 2:
                        self.buf += self.sock.recv(65536)
                    self.messages.append(self.buf[:size])
                    self.buf = self.buf[size + 2:]
        except (socket.timeout, TimeoutError):
            pass
        return self.messages

    def close(self):
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def test_logging_destination_named_in_the_config_publishes_to_nats(tmp, upstream):
    subject = "waf.site." + uuid.uuid4().hex[:6]
    nats = NatsSubscriber(tmp, subject)
    dest_name = "aws-waf-logs-stream-" + uuid.uuid4().hex[:6]
    node = Node(tmp, upstream.port, extra=[
        "[waf.log_destinations]", f'{dest_name} = "{nats.url}/{subject}"'])
    try:
        waf = node.waf
        name = "nats-" + uuid.uuid4().hex[:8]
        acl = waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}},
                                 VisibilityConfig=vis(name), Rules=[admin_rule("Block")])["Summary"]
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=node.arn)
        assert wait_for(lambda: node.get("/admin") == 403, 3.0), "the association did not apply"
        dest = f"arn:aws:firehose:{REGION}:000000000000:deliverystream/{dest_name}"
        waf.put_logging_configuration(LoggingConfiguration={
            "ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest]})

        def published_block():
            node.get("/admin/panel")
            return any(json.loads(m)["action"] == "BLOCK" for m in nats.poll())

        assert wait_for(published_block, 8.0), \
            f"no BLOCK record on NATS; log:\n{node.log_path.read_text()[-3000:]}"
        record = next(json.loads(m) for m in nats.messages if json.loads(m)["action"] == "BLOCK")
        assert record["webaclId"] == acl["ARN"]
        assert record["terminatingRuleId"] == "admin"
        assert record["httpRequest"]["uri"].startswith("/admin")
        # Nothing went to a file for this destination.
        assert not (node.data_dir / "waf" / "logs" / f"{dest_name}.log").exists()
    finally:
        node.stop()
        nats.close()
