#!/usr/bin/env bash
# Install everything embermq's build and tests need. Idempotent; quick when
# everything is already present. Safe to run as root (CI) or as a user with sudo.
#
# Note: the Debian mosquitto package may start a system broker on port 1883.
# We neither stop nor rely on it: tests start their own private broker.
set -euo pipefail

# gcc-arm-none-eabi, libnewlib-arm-none-eabi: the Paho layer's Cortex-M
# checks and the bare-metal example; qemu-system-arm runs that example
# (mps2-an386 Cortex-M4, mps2-an385 Cortex-M3, microbit Cortex-M0) in
# scripts/run-baremetal.sh and scripts/footprint.sh.
# gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf: the same example
# for RV32IMC; qemu-system-misc (qemu-system-riscv32) runs it (virt).
# lua5.x and liblua5.x-dev: the NodeMCU, LuatOS and Lua RTOS mqtt modules
# of bindings/lua, built and tested for Lua 5.1, 5.3 and 5.4
# (scripts/test-lua.sh); openssl makes their test certificates.
# libmosquitto-dev, libpaho-mqtt-dev, time and linux-perf: the
# benchmark suite (scripts/bench.sh) compares embermq with those clients.
APT_PACKAGES=(mosquitto mosquitto-clients cmake valgrind pkg-config
              gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
              gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
              lua5.1 lua5.3 lua5.4 liblua5.1-0-dev liblua5.3-dev liblua5.4-dev openssl
              libmosquitto-dev libpaho-mqtt-dev time linux-perf)
RUST_TARGETS=(thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi
              riscv32imc-unknown-none-elf riscv32imac-unknown-none-elf)
RUST_COMPONENTS=(rustfmt clippy)
CBINDGEN_VERSION=0.29.4

# --- apt packages -----------------------------------------------------------
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
    if ! pkg_installed "$p"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: not root and sudo is not available; install them with:" >&2
        echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi

    # apt waits up to 5 minutes for another apt/dpkg process to release the
    # dpkg lock; on any other failure retry a few times (bounded).
    apt_retry() {
        local i
        for i in 1 2 3; do
            if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"; then
                return 0
            fi
            echo "install-deps: '$*' failed (attempt $i/3), retrying in 10s" >&2
            sleep 10
        done
        echo "install-deps: giving up on '$*'" >&2
        return 1
    }

    for p in "${missing[@]}"; do
        echo "install-deps: installing apt package $p"
    done
    apt_retry apt-get -o DPkg::Lock::Timeout=300 update
    apt_retry apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
fi

# --- rustup targets and components -----------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
    echo "install-deps: rustup not found on PATH; install the Rust toolchain via rustup first" >&2
    exit 1
fi

installed_targets="$(rustup target list --installed)"
for t in "${RUST_TARGETS[@]}"; do
    if ! grep -qx "$t" <<<"$installed_targets"; then
        echo "install-deps: adding rustup target $t"
        rustup target add "$t"
    fi
done

installed_components="$(rustup component list --installed)"
for c in "${RUST_COMPONENTS[@]}"; do
    if ! grep -q "^${c}\(-\|$\)" <<<"$installed_components"; then
        echo "install-deps: adding rustup component $c"
        rustup component add "$c"
    fi
done

# --- cbindgen (pinned) ------------------------------------------------------
if ! { command -v cbindgen >/dev/null 2>&1 && cbindgen --version 2>/dev/null | grep -qw "$CBINDGEN_VERSION"; }; then
    echo "install-deps: installing cbindgen $CBINDGEN_VERSION"
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi

# --- websockify (PyPI, pinned) ----------------------------------------------
# The WebSocket tests bridge ws:// and wss:// to the test mosquitto (whose
# Debian build has no working WebSocket listener) with scripts/ws-bridge.py.
# Without its optional dependencies (numpy, jwcrypto, redis, requests: token
# and auth plugins, fast unmasking) it runs on the standard library alone.
WEBSOCKIFY_VERSION=0.13.0
websockify_installed="$(python3 -m pip show websockify 2>/dev/null || true)"
if ! grep -qx "Version: $WEBSOCKIFY_VERSION" <<<"$websockify_installed"; then
    echo "install-deps: installing websockify $WEBSOCKIFY_VERSION (pip)"
    pip_install=(python3 -m pip install --disable-pip-version-check --no-input --quiet --no-deps
                 "websockify==$WEBSOCKIFY_VERSION")
    # A Debian-managed python3 refuses plain installs (PEP 668).
    "${pip_install[@]}" </dev/null || "${pip_install[@]}" --break-system-packages </dev/null
fi

# --- pytest (PyPI) ----------------------------------------------------------
# The Python binding of Zerynth's MQTT library (bindings/python) is tested
# with pytest (scripts/test-python.sh); any recent version does.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
    echo "install-deps: installing pytest (pip)"
    pip_install=(python3 -m pip install --disable-pip-version-check --no-input --quiet pytest)
    "${pip_install[@]}" </dev/null || "${pip_install[@]}" --break-system-packages </dev/null
fi
