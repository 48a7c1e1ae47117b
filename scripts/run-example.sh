#!/usr/bin/env bash
# The main job: build the C example `pubsub` with CMake and run it.
#
#   scripts/run-example.sh [host port]
#
# With host and port, pubsub talks to that broker; without, it runs under
# scripts/with-broker.sh (a private mosquitto on a free 127.0.0.1 port), so
# nothing else is needed. Installs missing dependencies first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$#" -ne 0 ] && [ "$#" -ne 2 ]; then
    echo "usage: $0 [host port]" >&2
    exit 2
fi

echo "==> scripts/install-deps.sh"
bash scripts/install-deps.sh

BUILD=build/example
echo "==> building the examples in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DEMBERMQ_BUILD_EXAMPLES=ON -DEMBERMQ_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j 2 --target pubsub

if [ "$#" -eq 2 ]; then
    echo "==> pubsub $1 $2"
    exec "$BUILD/c_examples/pubsub" "$1" "$2"
else
    echo "==> pubsub against a private mosquitto (scripts/with-broker.sh)"
    exec scripts/with-broker.sh "$BUILD/c_examples/pubsub"
fi
