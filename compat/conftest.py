"""Fixtures for the Portcullis real-client compatibility suite.

One server process is started for the whole session (fresh temp data dir,
fixed admin key). Tests get boto3 clients, a helper that creates users with a
given inline policy, and a helper that runs the real AWS CLI.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

REPO = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
ADMIN_KEY_ID = "AKIAADMINEXAMPLE0001"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYADMINKEY01"  # 40 chars
assert len(ADMIN_SECRET) == 40

BANNER_RE = re.compile(r"^export (AWS_ENDPOINT_URL=\S+.*)$")

# No retries: a failing call should fail once, quickly, with the server's answer.
CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30
)


@dataclass
class Server:
    endpoint: str
    ca_bundle: str
    data_dir: str
    env: dict  # the variables from the banner line
    proc: subprocess.Popen
    stdout_lines: list = field(default_factory=list)
    log_path: str = ""

    def session(self, key_id=ADMIN_KEY_ID, secret=ADMIN_SECRET, token=None, region=REGION):
        return boto3.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=region,
        )

    def client(self, service, key_id=ADMIN_KEY_ID, secret=ADMIN_SECRET, token=None, region=REGION):
        return self.session(key_id, secret, token, region).client(
            service, endpoint_url=self.endpoint, verify=self.ca_bundle, config=CLIENT_CONFIG
        )


def _read_banner(proc, lines, timeout):
    """Read stdout until the `export AWS_ENDPOINT_URL=...` line; keep draining after."""
    found = {}
    ready = threading.Event()

    def pump():
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            m = BANNER_RE.match(line.strip())
            if m and not ready.is_set():
                found["env"] = dict(kv.split("=", 1) for kv in m.group(1).split())
                ready.set()
        ready.set()  # EOF: the process exited

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(timeout)
    return found.get("env")



def _variant_args(tmp: Path, env: dict) -> list:
    """Extra `serve` arguments for the deployment variant under test.

    PORTCULLIS_COMPAT_STORE=postgres runs the server on a fresh database of the cluster that
    scripts/with-postgres.sh started; PORTCULLIS_COMPAT_ROOT_KEY=pkcs11 keeps the root key in
    the SoftHSM token that scripts/with-softhsm.sh made. Missing prerequisites fail loudly.
    """
    lines = []
    if os.environ.get("PORTCULLIS_COMPAT_STORE") == "postgres":
        base = os.environ.get("PORTCULLIS_TEST_POSTGRES_URL")
        if not base:
            pytest.fail("PORTCULLIS_COMPAT_STORE=postgres needs scripts/with-postgres.sh", pytrace=False)
        db = f"compat_{os.getpid()}_{int(time.time())}"
        subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {db}"], check=True)
        url = base.rsplit("/", 1)[0] + "/" + db
        lines += ["[store]", f'url = "{url}"']
    if os.environ.get("PORTCULLIS_COMPAT_ROOT_KEY") == "pkcs11":
        module = os.environ.get("PORTCULLIS_TEST_PKCS11_MODULE")
        token = os.environ.get("PORTCULLIS_TEST_PKCS11_TOKEN")
        pin = os.environ.get("PORTCULLIS_TEST_PKCS11_PIN")
        if not (module and token and pin):
            pytest.fail("PORTCULLIS_COMPAT_ROOT_KEY=pkcs11 needs scripts/with-softhsm.sh", pytrace=False)
        env["PORTCULLIS_PKCS11_PIN"] = pin
        lines += ["[root_key]", 'kind = "pkcs11"', f'module = "{module}"', f'token_label = "{token}"',
                  f'key_label = "compat-{os.getpid()}-{int(time.time())}"']
    if not lines:
        return []
    config = tmp / "portcullis.toml"
    config.write_text("\n".join(lines) + "\n")
    return ["-c", str(config)]

@pytest.fixture(scope="session")
def server():
    binary = Path(os.environ.get("PORTCULLIS_BIN", REPO / "target" / "debug" / "portcullis"))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"Portcullis binary not found at {binary}. Build it with "
            "`cargo build -p portcullis` or set PORTCULLIS_BIN to its path.",
            pytrace=False,
        )
    tmp = tempfile.TemporaryDirectory(prefix="portcullis-compat-")
    data_dir = Path(tmp.name) / "data"
    log_path = Path(tmp.name) / "server.log"
    env = dict(os.environ)
    env.update(
        PORTCULLIS_ADMIN_ACCESS_KEY_ID=ADMIN_KEY_ID,
        PORTCULLIS_ADMIN_SECRET_ACCESS_KEY=ADMIN_SECRET,
    )
    extra_args = _variant_args(Path(tmp.name), env)
    # Port 0: the server binds a free loopback port and prints it in its banner.
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(binary), "serve", "--data-dir", str(data_dir), "--api-listen", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    lines = []
    banner = _read_banner(proc, lines, timeout=60)
    if banner is None:
        proc.kill()
        proc.wait()
        log_tail = log_path.read_text()[-4000:]
        pytest.fail(
            f"server did not print its banner (exit code {proc.returncode}).\n"
            f"stdout: {lines}\nlog tail:\n{log_tail}",
            pytrace=False,
        )
    srv = Server(
        endpoint=banner["AWS_ENDPOINT_URL"],
        ca_bundle=banner["AWS_CA_BUNDLE"],
        data_dir=str(data_dir),
        env=banner,
        proc=proc,
        stdout_lines=lines,
        log_path=str(log_path),
    )
    try:
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            tmp.cleanup()
            pytest.fail("server did not exit within 15 s of SIGTERM", pytrace=False)
        tmp.cleanup()
        assert rc == 0, f"server exited with code {rc} after SIGTERM"


@pytest.fixture(scope="session")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="session")
def sts(server):
    return server.client("sts")


@pytest.fixture(scope="session")
def cloudtrail(server):
    return server.client("cloudtrail")


@pytest.fixture(scope="session")
def kms(server):
    """KMS (TrentService, AWS JSON 1.1) client for the admin identity."""
    return server.client("kms")


def unique(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@dataclass
class Principal:
    name: str
    arn: str
    key_id: str
    secret: str
    server: Server
    token: str = None
    _clients: dict = field(default_factory=dict, repr=False)

    def client(self, service, region=REGION):
        """A boto3 client for this identity (cached: creating clients is slow)."""
        if (service, region) not in self._clients:
            self._clients[service, region] = self.server.client(service, self.key_id, self.secret, self.token, region)
        return self._clients[service, region]

    @property
    def iam(self):
        return self.client("iam")

    @property
    def sts(self):
        return self.client("sts")

    @property
    def cloudtrail(self):
        return self.client("cloudtrail")

    @property
    def kms(self):
        return self.client("kms")


@pytest.fixture(scope="session")
def make_user(server, iam):
    """make_user(policy_doc_or_None, name=None) -> Principal with fresh access keys."""

    def _make(policy_document=None, name=None):
        name = name or unique("user")
        user = iam.create_user(UserName=name)["User"]
        if policy_document is not None:
            if not isinstance(policy_document, str):
                policy_document = json.dumps(policy_document)
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy_document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Principal(name, user["Arn"], key["AccessKeyId"], key["SecretAccessKey"], server)

    return _make


@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None


@pytest.fixture(scope="session")
def aws_cli(server):
    """aws_cli(*args, creds=None) runs `python -m awscli ... --output json`.

    creds: None for the admin profile from the banner, or a (key_id, secret[, token])
    tuple / Principal for other identities.
    """

    def _run(*args, creds=None, timeout=60):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(server.env)
        env["AWS_CONFIG_FILE"] = "/dev/null"
        if creds is not None:
            if isinstance(creds, Principal):
                creds = (creds.key_id, creds.secret, creds.token)
            env.pop("AWS_PROFILE", None)
            env.pop("AWS_SHARED_CREDENTIALS_FILE", None)
            env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
            env["AWS_ACCESS_KEY_ID"] = creds[0]
            env["AWS_SECRET_ACCESS_KEY"] = creds[1]
            if len(creds) > 2 and creds[2]:
                env["AWS_SESSION_TOKEN"] = creds[2]
        p = subprocess.run(
            [sys.executable, "-m", "awscli", *args, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        return CliResult(p.returncode, p.stdout, p.stderr)

    return _run


def wait_for_events(cloudtrail, predicate, lookup_attributes=None, timeout=10.0):
    """Poll LookupEvents until at least one event satisfies predicate; return those."""
    deadline = time.monotonic() + timeout
    while True:
        kwargs = {"MaxResults": 50}
        if lookup_attributes:
            kwargs["LookupAttributes"] = lookup_attributes
        events = []
        while True:
            page = cloudtrail.lookup_events(**kwargs)
            events.extend(page["Events"])
            if not page.get("NextToken") or len(events) >= 1000:
                break
            kwargs["NextToken"] = page["NextToken"]
        hits = [e for e in events if predicate(e)]
        if hits or time.monotonic() > deadline:
            return hits
        time.sleep(0.2)
