#!/usr/bin/env bash
# The Lua bindings of the firmware MQTT modules (bindings/lua, issue 17
# part 1): installs what they need, builds every module for every Lua
# version, and runs every Lua test against a private mosquitto.
#
#   bash scripts/test-lua.sh
#
# 1. apt packages (as root, or with sudo; idempotent, no prompts):
#    lua5.1/5.3/5.4 and their -dev headers, mosquitto, cmake, openssl;
# 2. cmake -S bindings/lua -B build/lua: embermq (the repository's
#    CMakeLists.txt, cargo) and build/lua/lua<ver>/<module>/mqtt.so;
# 3. test certificates (bindings/lua/tests/gen-certs.sh, openssl);
# 4. the seed examples still match the documents (when ../shared/seeds
#    or EMQ_SEEDS_DIR is there);
# 5. every bindings/lua/tests/<module>/test_*.lua under each Lua version,
#    each under scripts/with-broker.sh with its own broker (TLS listeners
#    on; *_passwd.lua with a login required), several at once.
#
# Environment: EMQ_LUA_BUILD (build dir, default build/lua), CARGO_TARGET_DIR
# (cargo's target dir; default build/lua/cargo-target), EMQ_LUA_VERSIONS
# ("5.1 5.3 5.4"), EMQ_LUA_MODULES ("nodemcu luatos luartos"),
# EMQ_LUA_PARALLEL (tests at once, default 8), EMQ_JOBS (build jobs, 2),
# EMQ_LUA_CARGO_PROFILE (Debug, the default, compiles embermq in about half
# the time of Release; Release builds what a firmware project would ship),
# EMQ_LUA_VALGRIND=1 (every test under valgrind: memory errors and definite
# leaks fail it; slower; TLS waits scaled by EMQ_LUA_TIME_SCALE=5),
# EMQ_LUA_TEST_TIMEOUT (seconds per test file, default 120).
# Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD="${EMQ_LUA_BUILD:-$ROOT/build/lua}"
JOBS="${EMQ_JOBS:-2}"
VERSIONS="${EMQ_LUA_VERSIONS:-5.1 5.3 5.4}"
MODULES="${EMQ_LUA_MODULES:-nodemcu luatos luartos}"
PARALLEL="${EMQ_LUA_PARALLEL:-8}"
TEST_TIMEOUT="${EMQ_LUA_TEST_TIMEOUT:-120}"
START=$SECONDS

step() { echo "==> $*"; }
fail() { echo "test-lua: $*" >&2; exit 1; }

# --- 1. packages ---------------------------------------------------------------
APT_PACKAGES=(cmake pkg-config mosquitto mosquitto-clients openssl python3)
for v in $VERSIONS; do
    case "$v" in
        5.1) APT_PACKAGES+=(lua5.1 liblua5.1-0-dev) ;;
        *) APT_PACKAGES+=("lua$v" "liblua$v-dev") ;;
    esac
done
missing=()
for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        fail "missing packages ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}"
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update </dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
        install -y --no-install-recommends "${missing[@]}" </dev/null
fi
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] ||
    fail "cargo not found: install the Rust toolchain (rustup)"

# --- 2. build ------------------------------------------------------------------
step "build the modules (lua ${VERSIONS// /, }: ${MODULES// /, }) in $BUILD"
cmake -S bindings/lua -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEMBERMQ_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUILD/cargo-target}" \
    -DEMBERMQ_CARGO_PROFILE="${EMQ_LUA_CARGO_PROFILE:-Debug}" \
    "-DEMBERMQ_LUA_VERSIONS=${VERSIONS// /;}" "-DEMBERMQ_LUA_MODULES=${MODULES// /;}" >/dev/null
cmake --build "$BUILD" -j "$JOBS"
for v in $VERSIONS; do
    for m in $MODULES; do
        [ -f "$BUILD/lua$v/$m/mqtt.so" ] || fail "missing $BUILD/lua$v/$m/mqtt.so"
    done
done

# --- 3. certificates -----------------------------------------------------------
step "test certificates"
bash bindings/lua/tests/gen-certs.sh "$BUILD/certs" >/dev/null

# --- 4. the examples are the documents' ---------------------------------------
SEEDS="${EMQ_SEEDS_DIR:-$ROOT/../shared/seeds}"
if [ -d "$SEEDS" ]; then
    step "examples match the seed documents ($SEEDS)"
    python3 bindings/lua/examples/extract.py --check "$SEEDS"
else
    step "seed documents not found ($SEEDS): example check skipped"
fi

# --- 5. tests ------------------------------------------------------------------
LOGS="$BUILD/logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
JOBLIST="$LOGS/jobs"
: >"$JOBLIST"
for v in $VERSIONS; do
    for m in $MODULES; do
        for t in bindings/lua/tests/"$m"/test_*.lua; do
            [ -f "$t" ] && echo "$v $m $t" >>"$JOBLIST"
        done
    done
done
[ -s "$JOBLIST" ] || fail "no tests found"

# One test: its own broker (TLS listeners; a login for *_passwd.lua), a
# time limit, output in $LOGS/<module>-<test>-<version>.log, one summary
# line on stdout.
run_one() {
    local v="$1" m="$2" t="$3" name log status
    name="$(basename "$t" .lua)"
    log="$LOGS/$m-$name-lua$v.log"
    local envs=(EMQ_LUA_BUILD="$BUILD" EMQ_BROKER_TLS_DIR="$BUILD/certs" EMQ_LUA_MAX_MS=90000)
    case "$name" in
        *_passwd) envs+=(EMQ_BROKER_PASSWD="lua-user:lua-pass-$$") ;;
    esac
    local lua=("lua$v")
    if [ -n "${EMQ_LUA_VALGRIND:-}" ]; then
        envs+=(EMQ_LUA_TIME_SCALE=5)
        lua=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
             --suppressions=tests/c/valgrind.supp "lua$v")
    fi
    set +e
    env "${envs[@]}" timeout --kill-after=5 "$TEST_TIMEOUT" \
        scripts/with-broker.sh "${lua[@]}" bindings/lua/run.lua "$m" "$t" >"$log" 2>&1 </dev/null
    status=$?
    set -e
    local summary
    summary="$(grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
    if [ "$status" -eq 0 ]; then
        echo "PASS lua$v $m $summary"
    else
        echo "FAIL lua$v $m $name (exit $status) ${summary:-no summary} -- $log"
    fi
}
export -f run_one
export LOGS BUILD TEST_TIMEOUT

step "$(wc -l <"$JOBLIST") test runs, $PARALLEL at once"
RESULTS="$LOGS/results"
xargs -P "$PARALLEL" -L 1 bash -c 'run_one "$@"' _ <"$JOBLIST" | tee "$RESULTS"

# --- summary -------------------------------------------------------------------
echo
echo "checks passed per module and Lua version (failed in brackets):"
python3 - "$RESULTS" <<'EOF'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(PASS|FAIL) lua(\S+) (\S+) (.*)", line)
    if not m:
        continue
    _, ver, mod, rest = m.groups()
    c = re.search(r"(\d+) passed, (\d+) failed", rest)
    p, f = (int(c.group(1)), int(c.group(2))) if c else (0, 1)
    if m.group(1) == "FAIL" and f == 0:
        f = 1
    r = rows.setdefault(mod, {}).setdefault(ver, [0, 0, 0])
    r[0] += p; r[1] += f; r[2] += 1
vers = sorted({v for m in rows.values() for v in m})
print("  %-10s" % "module" + "".join("%-24s" % ("Lua " + v) for v in vers))
for mod in sorted(rows):
    cells = []
    for v in vers:
        p, f, n = rows[mod].get(v, [0, 0, 0])
        cells.append("%-24s" % ("%d (%d) in %d files" % (p, f, n)))
    print("  %-10s" % mod + "".join(cells))
EOF
failed="$(grep -c '^FAIL' "$RESULTS" || true)"
total="$(wc -l <"$RESULTS")"
echo "test-lua: $((total - failed))/$total test runs passed in $((SECONDS - START)) s"
[ "$failed" -eq 0 ] || fail "$failed test runs failed (logs in $LOGS)"
