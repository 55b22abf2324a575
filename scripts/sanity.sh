#!/usr/bin/env bash
# ansible-test sanity on the collection. ansible-test insists on a path ending in
# ansible_collections/<namespace>/<name>, so it runs on a copy of the collection.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$here/.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/mxhero"
cp -a "$here/collections/mxhero/unroute" "$work/ansible_collections/mxhero/unroute"
rm -rf "$work/ansible_collections/mxhero/unroute/tests/output"
cd "$work/ansible_collections/mxhero/unroute"
export PATH="$venv/bin:$PATH"
# ansible-test fetches its pip bootstrap script from a host outside the package
# registries; give it our stand-in under the name it looks for in its cache.
pip_version=$(python -c "import ansible_test, pathlib, re; p = pathlib.Path(ansible_test.__file__).parent / '_internal/python_requirements.py'; print(re.search(r\"pip='([0-9.]+)'\", p.read_text()).group(1))")
mkdir -p ~/.ansible/test/cache
cp "$here/scripts/get_pip_offline.py" ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
# --requirements installs each test's pinned tools (pylint, yamllint, voluptuous...) into the venv.
ansible-test sanity --python 3.11 --requirements --color no "$@"
