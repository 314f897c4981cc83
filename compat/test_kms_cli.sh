#!/usr/bin/env bash
# KMS scenario with the real AWS CLI (awscli v1), configured only by the environment the server prints
# (AWS_ENDPOINT_URL, AWS_CA_BUNDLE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_REGION).
# Driven by compat/test_kms_cli.py; $AWS_CLI_PYTHON is the interpreter that has awscli installed.
set -euo pipefail
aws() { "${AWS_CLI_PYTHON:-python3}" -m awscli "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

key_id="$(aws kms create-key --description "cli scenario" --query KeyMetadata.KeyId --output text)"
[[ "$key_id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "bad key id: $key_id"
state="$(aws kms describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text)"
[ "$state" = Enabled ] || fail "state $state"

alias="alias/cli-$RANDOM$RANDOM"
aws kms create-alias --alias-name "$alias" --target-key-id "$key_id"
aws kms list-aliases --key-id "$key_id" --query 'Aliases[].AliasName' --output text | grep -qx "$alias" \
    || fail "alias not listed"

head -c 1000 /dev/urandom > pt.bin
aws kms encrypt --key-id "$alias" --plaintext fileb://pt.bin --encryption-context purpose=cli \
    --query CiphertextBlob --output text | base64 -d > ct.bin
[ -s ct.bin ] || fail "empty ciphertext"
aws kms decrypt --ciphertext-blob fileb://ct.bin --encryption-context purpose=cli \
    --query Plaintext --output text | base64 -d > out.bin
cmp -s pt.bin out.bin || fail "decrypt round trip differs"
dec_key="$(aws kms decrypt --ciphertext-blob fileb://ct.bin --encryption-context purpose=cli --query KeyId --output text)"
[ "$dec_key" = "arn:aws:kms:us-east-1:000000000000:key/$key_id" ] || fail "decrypt KeyId $dec_key"
if aws kms decrypt --ciphertext-blob fileb://ct.bin --encryption-context purpose=other >err.txt 2>&1; then
    fail "decrypt with wrong context succeeded"
fi
grep -q "InvalidCiphertextException" err.txt || fail "wrong context: $(cat err.txt)"

aws kms generate-data-key --key-id "$key_id" --key-spec AES_256 > dk.json
"${AWS_CLI_PYTHON:-python3}" - dk.json <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert len(base64.b64decode(d["Plaintext"])) == 32, d
assert d["CiphertextBlob"] and d["KeyId"].endswith(d["KeyId"].split("/")[-1])
PY
jq_blob() { "${AWS_CLI_PYTHON:-python3}" -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$@"; }
jq_blob dk.json CiphertextBlob > dk.bin
aws kms decrypt --ciphertext-blob fileb://dk.bin --query Plaintext --output text > dk_plain.txt
[ "$(cat dk_plain.txt)" = "$("${AWS_CLI_PYTHON:-python3}" -c 'import json,sys; print(json.load(open("dk.json"))["Plaintext"])')" ] \
    || fail "data key plaintext mismatch"

ecc="$(aws kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text)"
printf 'sign me with the cli' > msg.bin
aws kms sign --key-id "$ecc" --message fileb://msg.bin --message-type RAW --signing-algorithm ECDSA_SHA_256 \
    --query Signature --output text | base64 -d > sig.bin
valid="$(aws kms verify --key-id "$ecc" --message fileb://msg.bin --message-type RAW \
    --signing-algorithm ECDSA_SHA_256 --signature fileb://sig.bin --query SignatureValid --output text)"
[ "$valid" = True ] || fail "verify said $valid"
printf 'tampered' > bad.bin
if aws kms verify --key-id "$ecc" --message fileb://bad.bin --signing-algorithm ECDSA_SHA_256 \
        --signature fileb://sig.bin >err.txt 2>&1; then
    fail "verify of a wrong message succeeded"
fi
grep -q "KMSInvalidSignatureException" err.txt || fail "bad signature: $(cat err.txt)"

aws kms schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7 > del.json
"${AWS_CLI_PYTHON:-python3}" - del.json "$key_id" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["KeyState"] == "PendingDeletion" and d["PendingWindowInDays"] == 7, d
assert d["KeyId"].endswith(sys.argv[2]) and d["DeletionDate"], d
PY
if aws kms encrypt --key-id "$key_id" --plaintext fileb://pt.bin >err.txt 2>&1; then
    fail "encrypt on a key pending deletion succeeded"
fi
grep -q "KMSInvalidStateException" err.txt || fail "pending deletion: $(cat err.txt)"
echo "KMS CLI SCENARIO OK"
