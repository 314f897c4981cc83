#!/usr/bin/env bash
# Run the Portcullis real-client compatibility suite.
# Creates (or reuses) a venv at ${PORTCULLIS_VENV:-<repo>/.venv}; reinstalls the
# pinned requirements only when compat/requirements.txt changes.
# Extra arguments are passed to pytest. Exits with pytest's status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${PORTCULLIS_VENV:-$repo/.venv}"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi

hash_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else "$venv/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

stamp="$venv/.portcullis-compat-requirements.sha256"
want="$(hash_of "$req")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
fi

cd "$repo"
set +e
"$venv/bin/python" -m pytest compat -q "$@"
status=$?
exit $status
