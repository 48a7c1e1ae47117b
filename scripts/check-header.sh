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
# The firmware storage constants are text in cbindgen.toml: they must be the
# values src/ffi/firmware.rs checks against the Rust struct at build time.
storage_const() { sed -n "s/^pub const $1: usize = \([0-9]*\);/\1/p" src/ffi/firmware.rs; }
size32="$(storage_const STORAGE_SIZE_32)"
size64="$(storage_const STORAGE_SIZE_64)"
v5size32="$(storage_const STORAGE_SIZE_MQTT5_32)"
v5size64="$(storage_const STORAGE_SIZE_MQTT5_64)"
align="$(storage_const STORAGE_ALIGN)"
want_lines=$(printf '#define EMQ_CLIENT_STORAGE_SIZE_MQTT5 %s\n#define EMQ_CLIENT_STORAGE_SIZE_MQTT5 %s\n#define EMQ_CLIENT_STORAGE_SIZE %s\n#define EMQ_CLIENT_STORAGE_SIZE %s\n#define EMQ_CLIENT_STORAGE_ALIGN %s' \
    "$v5size64" "$v5size32" "$size64" "$size32" "$align")
got_lines="$(grep -E '^#define EMQ_CLIENT_STORAGE_(SIZE|SIZE_MQTT5|ALIGN) [0-9]' cbindgen.toml)"
if [ -z "$size32" ] || [ -z "$v5size32" ] || [ "$want_lines" != "$got_lines" ]; then
    echo "cbindgen.toml's EMQ_CLIENT_STORAGE_* defines differ from src/ffi/firmware.rs:" >&2
    echo "want:" >&2; echo "$want_lines" >&2
    echo "got:" >&2; echo "$got_lines" >&2
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
