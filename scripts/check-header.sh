#!/usr/bin/env bash
# Checks that include/embermq.h matches what cbindgen generates from the
# sources. With --write, regenerates it instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
want_version="0.29.4"
if ! cbindgen --version 2>/dev/null | grep -q "$want_version"; then
    echo "cbindgen $want_version is required (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
if [ "${1:-}" = "--write" ]; then
    cbindgen --config cbindgen.toml --crate embermq --output include/embermq.h 2>/dev/null
    echo "include/embermq.h regenerated"
    exit 0
fi
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
cbindgen --config cbindgen.toml --crate embermq --output "$fresh" 2>/dev/null
if ! diff -u include/embermq.h "$fresh"; then
    echo "include/embermq.h is stale: run scripts/check-header.sh --write and commit it" >&2
    exit 1
fi
echo "include/embermq.h is up to date"
