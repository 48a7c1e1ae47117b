#!/usr/bin/env bash
# The Python binding of Zerynth's lightweight MQTT library
# (bindings/python, issue 17 part 2): installs what it needs, builds
# embermq with the Paho compatible API, runs the pytest suite and the
# Paho embedded-C program against private mosquitto brokers.
#
#   bash scripts/test-python.sh
#
# 1. apt packages when missing (as root, or with sudo; no prompts):
#    mosquitto, mosquitto-clients, openssl, cmake, gcc, python3-pip;
#    pytest with pip when python3 lacks it;
# 2. cmake -S bindings/python -B build/python: libembermq.so (cargo,
#    --features paho, Debug profile) and build/python/zerynth_paho;
# 3. test certificates (bindings/lua/tests/gen-certs.sh, openssl);
# 4. the examples still match the seed document (when ../shared/seeds or
#    EMQ_SEEDS_DIR is there);
# 5. pytest bindings/python/tests (each test starts its own mosquitto);
# 6. zerynth_paho under scripts/with-broker.sh.
#
# Environment: EMQ_PY_BUILD (build dir, default build/python),
# CARGO_TARGET_DIR (default build/python/cargo-target), EMQ_JOBS (build
# jobs, 2), EMQ_PY_CARGO_PROFILE (Debug or Release), PYTHON (python3),
# EMQ_PY_PYTEST_ARGS (extra pytest arguments).
# Prints a pass/fail summary; exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD="${EMQ_PY_BUILD:-$ROOT/build/python}"
JOBS="${EMQ_JOBS:-2}"
PYTHON="${PYTHON:-python3}"
PROFILE="${EMQ_PY_CARGO_PROFILE:-Debug}"
START=$SECONDS

step() { echo "==> $*"; }
fail() { echo "test-python: $*" >&2; exit 1; }

# --- 1. packages ---------------------------------------------------------------
install_apt() {
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        fail "missing packages $*; run as root: apt-get update && apt-get install -y $*"
    fi
    step "installing $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update </dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
        install -y --no-install-recommends "$@" </dev/null
}
missing=()
for p in cmake gcc mosquitto mosquitto-clients openssl; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
command -v "$PYTHON" >/dev/null 2>&1 || missing+=(python3)
[ "${#missing[@]}" -eq 0 ] || install_apt "${missing[@]}"
if ! "$PYTHON" -c 'import pytest' >/dev/null 2>&1; then
    "$PYTHON" -m pip --version >/dev/null 2>&1 || install_apt python3-pip
    step "installing pytest"
    # Debian's python3 refuses a system-wide pip install without this flag.
    "$PYTHON" -m pip install --quiet pytest </dev/null ||
        "$PYTHON" -m pip install --quiet --break-system-packages pytest </dev/null
fi
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] ||
    fail "cargo not found: install the Rust toolchain (rustup)"

# --- 2. build ------------------------------------------------------------------
step "build libembermq.so (paho) and zerynth_paho in $BUILD"
cmake -S bindings/python -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD/cargo-target}" \
    -DEMBERMQ_CARGO_PROFILE="$PROFILE" >/dev/null
cmake --build "$BUILD" -j "$JOBS"
LIB="$(sed -n 's/^EMBERMQ_CARGO_TARGET_DIR:PATH=//p' "$BUILD/CMakeCache.txt")/$(tr '[:upper:]' '[:lower:]' <<<"$PROFILE")/libembermq.so"
[ -f "$LIB" ] || fail "missing $LIB"
[ -x "$BUILD/zerynth_paho" ] || fail "missing $BUILD/zerynth_paho"

# --- 3. certificates -----------------------------------------------------------
step "test certificates"
bash bindings/lua/tests/gen-certs.sh "$BUILD/certs" >/dev/null

# --- 4. the examples are the document's ---------------------------------------
SEEDS="${EMQ_SEEDS_DIR:-$ROOT/../shared/seeds}"
examples="skipped (no seed documents at $SEEDS)"
if [ -d "$SEEDS" ]; then
    step "examples match the seed document ($SEEDS)"
    "$PYTHON" bindings/python/examples/extract.py --check "$SEEDS"
    examples="match the seed document"
fi

# --- 5. pytest -----------------------------------------------------------------
LOGS="$BUILD/logs"
mkdir -p "$LOGS"
step "pytest bindings/python/tests"
set +e
# shellcheck disable=SC2086
EMBERMQ_LIB="$LIB" EMQ_PY_CERTS="$BUILD/certs" timeout --kill-after=10 600 \
    "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$LOGS/pytest.xml" \
    bindings/python/tests ${EMQ_PY_PYTEST_ARGS:-} </dev/null 2>&1 | tee "$LOGS/pytest.log"
pytest_status=${PIPESTATUS[0]}
set -e
pytest_line="$(grep -E '[0-9]+ (passed|failed)' "$LOGS/pytest.log" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')"

# --- 6. the Paho program -------------------------------------------------------
step "zerynth_paho (Paho embedded-C calls of Zerynth's C side) against mosquitto"
set +e
timeout --kill-after=5 60 scripts/with-broker.sh "$BUILD/zerynth_paho" </dev/null 2>&1 | tee "$LOGS/zerynth_paho.log"
paho_status=${PIPESTATUS[0]}
set -e

# --- summary -------------------------------------------------------------------
echo
echo "test-python summary ($((SECONDS - START)) s):"
echo "  examples:     $examples"
printf '  pytest:       %s (%s)\n' "$([ "$pytest_status" -eq 0 ] && echo PASS || echo FAIL)" "${pytest_line:-no result line}"
printf '  zerynth_paho: %s\n' "$([ "$paho_status" -eq 0 ] && echo PASS || echo FAIL)"
[ "$pytest_status" -eq 0 ] || fail "pytest failed (log: $LOGS/pytest.log)"
[ "$paho_status" -eq 0 ] || fail "zerynth_paho failed (log: $LOGS/zerynth_paho.log)"
echo "test-python: all passed"
