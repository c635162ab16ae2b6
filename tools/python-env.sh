#!/usr/bin/env bash
# Creates or updates the one Python environment of the repo (.venv at the root) from
# libs/models/requirements.txt and libs/models/pyproject.toml. Idempotent: a no-op when
# the stamp (a hash of both files) matches what is installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.magicvideo-stamp"
want="$(cat "$root/libs/models/requirements.txt" "$root/libs/models/pyproject.toml" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
  exit 0
fi

python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [[ ! -x "$venv/bin/python" ]]; then
  echo "python-env: creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
echo "python-env: installing libs/models/requirements.txt"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$root/libs/models/requirements.txt"
"$venv/bin/python" -m pip install --quiet --no-deps -e "$root/libs/models"
echo "$want" > "$stamp"
echo "python-env: ready"
