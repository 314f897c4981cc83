"""Runs compat/test_kms_cli.sh: the KMS scenario with the real AWS CLI and only the server's banner env."""
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("test_kms_cli.sh")


def test_kms_cli_scenario(server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(server.env)  # exactly what the server printed
    env["AWS_CONFIG_FILE"] = "/dev/null"
    env["AWS_CLI_PYTHON"] = sys.executable
    p = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "KMS CLI SCENARIO OK" in p.stdout
