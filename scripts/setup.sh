#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine (as root, or with sudo):
# Debian packages (BIND 9 and PowerDNS for the lab, Chromium for the report test, Postfix and
# sendmail-cf's m4 files and sshd for the mail-server tests) and a Python
# virtual environment in .venv with the collection's and the lab's dependencies.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

debs=(bind9 bind9-utils bind9-dnsutils pdns-server pdns-backend-sqlite3 chromium chromium-driver postfix sendmail-cf m4
      openssh-server iproute2
      krb5-kdc krb5-admin-server krb5-user libkrb5-dev gcc python3-dev)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  # Postfix for the mta_relay tests, with no system instance: each test runs its own (postconf -c).
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
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
  # awx.awx only (playbooks/awx_credential_types.yml), from the community package's wheel (see requirements.yml).
  awx_from=$(sed -n 's/^# awx.awx from //p' requirements.yml)
  rm -rf .venv/awx-wheel
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps "$awx_from" -d .venv/awx-wheel
  .venv/bin/python - <<'PY'
import glob, sysconfig, zipfile
wheel = zipfile.ZipFile(glob.glob(".venv/awx-wheel/*.whl")[0])
site = sysconfig.get_paths()["purelib"]
wheel.extractall(site, [n for n in wheel.namelist() if n.startswith("ansible_collections/awx/awx/")])
PY
  rm -rf .venv/awx-wheel
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "setup: ready ($(.venv/bin/ansible --version | sed -n 1p), $(/usr/sbin/named -v))"
