#!/usr/bin/env bash
# The benchmark suite (issue 8): embermq against libmosquitto, Paho C and a
# raw-socket baseline, over one private mosquitto on 127.0.0.1.
#
#   scripts/bench.sh            full run: 3 interleaved rounds, ~12 minutes
#   scripts/bench.sh --smoke    ~20 s: checks that everything runs (CI)
#   scripts/bench.sh --rounds N
#
# Builds embermq (cargo release profile, through its CMake build) and the C
# programs in bench/ into build/bench, then runs bench/run.py, which prints
# the markdown table (also written to build/bench/results.md, raw numbers to
# build/bench/results.json).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=build/bench

missing=""
for tool in cmake mosquitto valgrind pkg-config cc /usr/bin/time; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        missing="$missing $tool"
    fi
done
for header in /usr/include/mosquitto.h /usr/include/MQTTClient.h; do
    [ -f "$header" ] || missing="$missing $header"
done
if [ -n "$missing" ]; then
    echo "==> missing$missing: scripts/install-deps.sh"
    bash scripts/install-deps.sh
fi

echo "==> building embermq and the benchmark programs in $BUILD"
cmake -S bench -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2

echo "==> running (scripts/with-broker.sh: a private mosquitto on 127.0.0.1)"
export EMQ_BROKER_LOG_TYPES="error warning"
exec scripts/with-broker.sh python3 bench/run.py --build-dir "$BUILD" \
    --out "$BUILD/results.md" --json "$BUILD/results.json" "$@"
