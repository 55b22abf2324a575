#!/usr/bin/env bash
# Build context of the execution environment (no container engine needed): the collection as a
# tarball in build/ee/, then `ansible-builder create` into build/ee/context (Containerfile + _build/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bin=${VENV:-$here/.venv}/bin
out=build/ee
rm -rf "$out"
mkdir -p "$out"
"$bin/ansible-galaxy" collection build collections/mxhero/unroute --output-path "$out" --force >/dev/null
mv "$out"/mxhero-unroute-*.tar.gz "$out/mxhero-unroute.tar.gz"
"$bin/ansible-builder" create --file execution-environment.yml --context "$out/context" \
  --output-filename Containerfile >/dev/null
echo "$out/context/Containerfile"
