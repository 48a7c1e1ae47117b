#!/usr/bin/env bash
# Test for c_examples/sub.c (run under scripts/with-broker.sh):
#   1. `sub host port topic 1 2` prints "topic payload" for two messages
#      published with mosquitto_pub, then exits 0;
#   2. without a count, SIGINT makes it send DISCONNECT and exit 0.
set -euo pipefail
sub="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/embermq-sub-test.XXXXXX")"
sub_pid=""
cleanup() {
    if [ -n "$sub_pid" ]; then kill "$sub_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
topic="embermq/sub-test/$$"
pub() { mosquitto_pub -h "$EMQ_TEST_HOST" -p "$EMQ_TEST_PORT" -q 1 -t "$1" -m "$2"; }

# Waits (bounded, 10 s) until sub has printed its "subscribed" line.
wait_subscribed() {
    for _ in $(seq 1 200); do
        if grep -q "subscribed to" "$work/err"; then return 0; fi
        kill -0 "$sub_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "run-sub: sub did not subscribe" >&2
    cat "$work/err" >&2
    exit 1
}

# Waits (bounded, 10 s) for sub to exit; returns its status.
wait_exit() {
    for _ in $(seq 1 200); do
        kill -0 "$sub_pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$sub_pid" 2>/dev/null; then
        echo "run-sub: sub did not exit" >&2
        exit 1
    fi
    local status=0
    wait "$sub_pid" || status=$?
    sub_pid=""
    return "$status"
}

# 1. count
"$sub" "$EMQ_TEST_HOST" "$EMQ_TEST_PORT" "$topic/#" 1 2 >"$work/out" 2>"$work/err" &
sub_pid=$!
wait_subscribed
pub "$topic/a" "one"
pub "$topic/b" "two words"
wait_exit
printf '%s\n' "$topic/a one" "$topic/b two words" >"$work/want"
diff -u "$work/want" "$work/out"

# 2. SIGINT: a clean DISCONNECT (mosquitto logs "Received DISCONNECT from").
log="$EMQ_TEST_BROKER_DIR/mosquitto.log"
: >"$work/err"
"$sub" "$EMQ_TEST_HOST" "$EMQ_TEST_PORT" "$topic/#" >"$work/out2" 2>"$work/err" &
sub_pid=$!
wait_subscribed
before="$(grep -c "Received DISCONNECT from" "$log" || true)"
kill -INT "$sub_pid"
wait_exit
after="$(grep -c "Received DISCONNECT from" "$log" || true)"
if [ "$after" -le "$before" ]; then
    echo "run-sub: no DISCONNECT after SIGINT" >&2
    exit 1
fi
echo "run-sub: ok"
