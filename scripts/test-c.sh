#!/usr/bin/env bash
# The C side of the tests (scripts/test-all.sh runs it):
#   1. configure + build the CMake project (examples and tests) in build/c-tests,
#      run ctest (each test against its own private mosquitto);
#   2. run every test binary again under valgrind (errors and definite leaks fail);
#   3. cmake --install into a temp prefix, then build and run
#      tests/cmake-consumer (find_package), a pkg-config build, and
#      tests/cmake-subdir (add_subdirectory).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD="$ROOT/build/c-tests"
JOBS="${EMQ_JOBS:-2}"
TEST_TIMEOUT=60

step() { echo "==> $*"; }
fail() { echo "test-c: $*" >&2; exit 1; }

for tool in cmake ctest mosquitto mosquitto_passwd mosquitto_pub valgrind pkg-config cc; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        step "missing $tool: scripts/install-deps.sh"
        bash scripts/install-deps.sh
        break
    fi
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/embermq-test-c.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# --- 1. build and ctest ------------------------------------------------------
step "cmake configure + build ($BUILD)"
rm -rf "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEMBERMQ_BUILD_EXAMPLES=ON -DEMBERMQ_BUILD_TESTS=ON -DEMBERMQ_PAHO=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS"

step "ctest"
(cd "$BUILD" && ctest --output-on-failure --timeout "$TEST_TIMEOUT" -j "$JOBS")

# --- 2. valgrind -------------------------------------------------------------
# Each ctest command is `with-broker.sh <binary> [args]`; run the same with
# valgrind in front of the binary (so the broker and scripts are not traced).
# Tests driven by a shell script (example_sub) and WILL_FAIL tests are skipped.
step "ctest suite under valgrind"
(cd "$BUILD" && ctest --show-only=json-v1) >"$TMP/tests.json"
python3 - "$TMP/tests.json" "$ROOT/scripts/with-broker.sh" >"$TMP/valgrind-cmds" <<'EOF'
import json, os, shlex, sys
tests = json.load(open(sys.argv[1]))["tests"]
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    cmd = t.get("command", [])
    if props.get("WILL_FAIL") or len(cmd) < 2 or cmd[0] != sys.argv[2]:
        continue
    if not os.path.isfile(cmd[1]) or open(cmd[1], "rb").read(4) != b"\x7fELF":
        continue  # a script or a shell command line, not a test binary
    env = props.get("ENVIRONMENT", [])
    print(t["name"], shlex.join(["env", *env, cmd[0], "@VALGRIND@", *cmd[1:]]))
EOF
[ -s "$TMP/valgrind-cmds" ] || fail "no tests found for valgrind"
VALGRIND="valgrind --quiet --suppressions=$ROOT/tests/c/valgrind.supp --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
vg_failed=()
while read -r name cmd; do
    start=$(date +%s)
    [ -n "${EMQ_VERBOSE:-}" ] && echo "+ ${cmd/@VALGRIND@/$VALGRIND}"
    if (cd "$BUILD" && eval "${cmd/@VALGRIND@/$VALGRIND}") >"$TMP/vg-$name.log" 2>&1; then
        echo "valgrind: $name ok ($(( $(date +%s) - start )) s)"
    else
        echo "valgrind: $name FAILED; output:"
        cat "$TMP/vg-$name.log"
        vg_failed+=("$name")
    fi
done <"$TMP/valgrind-cmds"
[ "${#vg_failed[@]}" -eq 0 ] || fail "valgrind failures: ${vg_failed[*]}"

# --- 3. install, find_package, pkg-config, add_subdirectory -------------------
PREFIX="$TMP/prefix"
step "cmake --install into a temp prefix"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
for f in include/embermq.h lib/libembermq.a lib/libembermq.so lib/pkgconfig/embermq.pc \
         lib/cmake/embermq/embermqConfig.cmake lib/cmake/embermq/embermqConfigVersion.cmake; do
    [ -f "$PREFIX/$f" ] || fail "not installed: $f"
done

step "find_package consumer (tests/cmake-consumer)"
cmake -S tests/cmake-consumer -B "$TMP/consumer" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$TMP/consumer" -j "$JOBS"
"$TMP/consumer/consumer"
"$TMP/consumer/consumer_shared"
# (grep the captured output: `ldd | grep -q` trips pipefail on SIGPIPE)
libs="$(ldd "$TMP/consumer/consumer_shared")"
grep -q "libembermq.so => $PREFIX/lib/libembermq.so" <<<"$libs" \
    || fail "consumer_shared does not load the installed libembermq.so"
libs="$(ldd "$TMP/consumer/consumer")"
if grep -q libembermq <<<"$libs"; then
    fail "consumer (static) depends on libembermq.so"
fi
cmake -S tests/cmake-consumer -B "$TMP/consumer-shared" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DEMBERMQ_SHARED=ON >/dev/null
cmake --build "$TMP/consumer-shared" -j "$JOBS" --target consumer
libs="$(ldd "$TMP/consumer-shared/consumer")"
grep -q libembermq.so <<<"$libs" \
    || fail "EMBERMQ_SHARED=ON did not link the shared library"
"$TMP/consumer-shared/consumer"

step "pkg-config consumer"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
pc_flags="$(pkg-config --cflags --libs --static embermq)"
echo "pkg-config --cflags --libs --static embermq: $pc_flags"
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror tests/cmake-consumer/main.c $pc_flags -o "$TMP/pc-consumer"
LD_LIBRARY_PATH="$PREFIX/lib" "$TMP/pc-consumer"
# Fully static libembermq: the .a plus Libs.private must be enough.
pc_private="$(pkg-config --libs-only-l --static embermq | sed 's/-lembermq//')"
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags embermq) tests/cmake-consumer/main.c \
    "$PREFIX/lib/libembermq.a" $pc_private -o "$TMP/pc-consumer-static"
"$TMP/pc-consumer-static"

step "add_subdirectory consumer (tests/cmake-subdir)"
cmake -S tests/cmake-subdir -B "$TMP/subdir" >/dev/null
cmake --build "$TMP/subdir" -j "$JOBS"
"$TMP/subdir/subdir_consumer"
"$TMP/subdir/subdir_consumer_shared"
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    [ -f "$TMP/subdir/embermq/cargo-target/release/libembermq.a" ] \
        || fail "add_subdirectory build did not put cargo's output in its binary dir"
fi
[ ! -e "$TMP/subdir/embermq/c_examples" ] || fail "examples built although EMBERMQ_BUILD_EXAMPLES=OFF"

step "C tests passed"
