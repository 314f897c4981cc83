"""AWS Encryption SDK for Python (4.x) through Portcullis KMS (reference §6.3).

The master-key providers take no endpoint argument, so we subclass StrictAwsKmsMasterKeyProvider and
override add_regional_client (the pattern of aws-encryption-sdk-python PR #440).
"""
import io
import os

import botocore.session
import pytest

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy, StrictAwsKmsMasterKeyProvider

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, CLIENT_CONFIG, REGION

try:  # optional [MPL] extra
    from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
    from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig
    from aws_cryptographic_material_providers.mpl.models import CreateAwsKmsKeyringInput
    HAVE_MPL = True
except ImportError:  # pragma: no cover
    HAVE_MPL = False


def provider_class(server):
    class PortcullisKmsProvider(StrictAwsKmsMasterKeyProvider):
        def add_regional_client(self, region_name):
            if region_name not in self._regional_clients:
                import boto3
                session = boto3.session.Session(botocore_session=self.config.botocore_session)
                client = session.client("kms", region_name=region_name, endpoint_url=server.endpoint,
                                        verify=server.ca_bundle,
                                        config=self._user_agent_adding_config.merge(CLIENT_CONFIG))
                self._register_client(client, region_name)
                self._regional_clients[region_name] = client
    return PortcullisKmsProvider


@pytest.fixture(scope="module")
def esdk():
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


@pytest.fixture(scope="module")
def provider(server):
    def make(*key_arns):
        bs = botocore.session.Session()
        bs.set_credentials(ADMIN_KEY_ID, ADMIN_SECRET)
        bs.set_config_variable("region", REGION)
        return provider_class(server)(key_ids=list(key_arns), botocore_session=bs)
    return make


def test_master_key_provider_round_trip(kms, esdk, provider):
    arn = kms.create_key(Description="esdk")["KeyMetadata"]["Arn"]
    data = os.urandom(10 * 1024)
    ctx = {"purpose": "esdk-compat"}
    mkp = provider(arn)
    ct, header = esdk.encrypt(source=data, key_provider=mkp, encryption_context=ctx)
    assert ct != data and data not in ct
    assert header.encryption_context["purpose"] == "esdk-compat"
    assert [k.key_provider.key_info.decode() for k in header.encrypted_data_keys] == [arn]
    pt, dheader = esdk.decrypt(source=ct, key_provider=provider(arn))
    assert pt == data
    assert dheader.encryption_context["purpose"] == "esdk-compat"


def test_master_key_provider_two_keys(kms, esdk, provider):
    a = kms.create_key()["KeyMetadata"]["Arn"]
    b = kms.create_key()["KeyMetadata"]["Arn"]
    data = os.urandom(2048)
    ct, header = esdk.encrypt(source=data, key_provider=provider(a, b))
    assert len(header.encrypted_data_keys) == 2
    # Either key alone decrypts (GenerateDataKey under a, Encrypt under b).
    assert esdk.decrypt(source=ct, key_provider=provider(b))[0] == data
    assert esdk.decrypt(source=ct, key_provider=provider(a))[0] == data


def test_streaming_round_trip(kms, esdk, provider):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    data = os.urandom(300 * 1024 + 17)
    out = io.BytesIO()
    with esdk.stream(mode="e", source=io.BytesIO(data), key_provider=provider(arn), frame_length=4096) as enc:
        for chunk in enc:
            out.write(chunk)
    back = io.BytesIO()
    with esdk.stream(mode="d", source=io.BytesIO(out.getvalue()), key_provider=provider(arn)) as dec:
        for chunk in dec:
            back.write(chunk)
    assert back.getvalue() == data


def test_decrypt_fails_when_key_disabled(kms, esdk, provider):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    ct, _ = esdk.encrypt(source=b"x" * 10240, key_provider=provider(arn))
    kms.disable_key(KeyId=arn)
    with pytest.raises(aws_encryption_sdk.exceptions.AWSEncryptionSDKClientError):
        esdk.decrypt(source=ct, key_provider=provider(arn))
    kms.enable_key(KeyId=arn)
    assert esdk.decrypt(source=ct, key_provider=provider(arn))[0] == b"x" * 10240


@pytest.mark.skipif(not HAVE_MPL, reason="aws-cryptographic-material-providers not installed")
def test_mpl_kms_keyring_round_trip(server, kms, esdk):
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    mpl = AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())
    keyring = mpl.create_aws_kms_keyring(CreateAwsKmsKeyringInput(kms_key_id=arn, kms_client=server.client("kms")))
    data = os.urandom(10 * 1024)
    ct, _ = esdk.encrypt(source=data, keyring=keyring, encryption_context={"k": "v"})
    pt, header = esdk.decrypt(source=ct, keyring=keyring, encryption_context={"k": "v"})
    assert pt == data
    kms.disable_key(KeyId=arn)
    with pytest.raises(Exception):
        esdk.decrypt(source=ct, keyring=keyring)
    kms.enable_key(KeyId=arn)
