#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real BIND 9 and the emulated
# services of the lab; the AWX execution environment's build context and an audit through
# ansible-runner), every Molecule scenario, changelog lint, ansible-test sanity and ansible-lint.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$here/.collections"
# No realm, no DNS for Kerberos (pyspnego's Negotiate tries it before NTLM); the Kerberos tests use the lab's KDC.
export KRB5_CONFIG="$here/tests/krb5-offline.conf"
start=$SECONDS

echo "== pytest (unit + integration)"
python -m pytest -n 2 -p no:cacheprovider tests

echo "== molecule"
for scenario in molecule/*/molecule.yml; do
  name=$(basename "$(dirname "$scenario")")
  echo "-- molecule test -s $name"
  molecule test -s "$name" > "/tmp/molecule-$name.log" 2>&1 || { tail -n 80 "/tmp/molecule-$name.log"; echo "molecule scenario $name failed"; exit 1; }
  grep -E "^.*(idempotence|verify).*Executed" "/tmp/molecule-$name.log" | sed 's/\x1b\[[0-9;]*m//g' || true
done

echo "== changelog fragments (antsibull-changelog lint)"
(cd collections/mxhero/unroute && antsibull-changelog lint)

echo "== ansible-test sanity"
bash scripts/sanity.sh

echo "== ansible-lint (production profile)"
ansible-lint --profile production

echo "== all tests passed in $((SECONDS - start))s"
