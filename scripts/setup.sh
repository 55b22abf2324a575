#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine (as root, or with sudo):
# Debian packages (BIND 9 and PowerDNS for the lab, Chromium for the report test) and a Python
# virtual environment in .venv with the collection's and the lab's dependencies.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

debs=(bind9 bind9-utils bind9-dnsutils pdns-server pdns-backend-sqlite3 chromium chromium-driver)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml requirements.yml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into .venv (a few minutes on a fresh machine)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
  .venv/bin/ansible-galaxy collection install -r requirements.yml >/dev/null
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "setup: ready ($(.venv/bin/ansible --version | sed -n 1p), $(/usr/sbin/named -v))"
