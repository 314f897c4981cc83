"""The server under test really runs the deployment variant the environment asks for."""

import os

import requests


def test_store_and_root_key_are_the_requested_ones(server):
    health = requests.get(f"{server.endpoint}/health", verify=server.ca_bundle, timeout=10).json()
    assert health["status"] == "ok"
    want_store = "postgres" if os.environ.get("PORTCULLIS_COMPAT_STORE") == "postgres" else "sqlite"
    want_root = "pkcs11" if os.environ.get("PORTCULLIS_COMPAT_ROOT_KEY") == "pkcs11" else "file"
    assert health["store"] == want_store, health
    assert health["root_key"] == want_root, health
