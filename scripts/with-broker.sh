#!/usr/bin/env bash
# Run a command with a private mosquitto broker on a free 127.0.0.1 port.
#
#   scripts/with-broker.sh <command> [args...]
#
# Exports to the command:
#   EMQ_TEST_HOST=127.0.0.1
#   EMQ_TEST_PORT=<port>
#   EMQ_TEST_BROKER_DIR=<temp dir with mosquitto.conf and mosquitto.log>
# The broker is killed (by its PID) and its dir removed when the command ends
# (set EMQ_KEEP_BROKER_DIR=1 to keep the dir). Exits with the command's status.
#
# Optional: EMQ_BROKER_PASSWD="user:password" makes the broker require that
# login (a password file made with mosquitto_passwd, allow_anonymous false);
# the command then also gets EMQ_TEST_USERNAME and EMQ_TEST_PASSWORD.
#
# Optional: EMQ_BROKER_TLS_DIR=<dir> (certificates from
# `cargo run --example gen_test_certs -- <dir>`) adds three TLS listeners on
# 127.0.0.1 and exports their ports:
#   EMQ_TEST_TLS_PORT      server authentication (server.pem)
#   EMQ_TEST_MTLS_PORT     client certificate required (signed by ca.pem)
#   EMQ_TEST_EXPIRED_PORT  an expired server certificate (expired.pem)
# and EMQ_TEST_CERT_DIR=<dir>.
#
# Optional: EMQ_BROKER_WS=1 puts a WebSocket bridge (scripts/ws-bridge.py,
# websockify from scripts/install-deps.sh) in front of the broker and
# exports EMQ_TEST_WS_PORT (ws://127.0.0.1:<port>/mqtt); with
# EMQ_BROKER_TLS_DIR also EMQ_TEST_WSS_PORT (wss://, server.pem).
#
# Optional: EMQ_BROKER_LOG_TYPES="error warning" replaces the default
# "all" (the debug lines, one per packet, would slow a benchmark's broker).
set -euo pipefail

if [ "$#" -lt 1 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 2
fi

MOSQUITTO="$(command -v mosquitto || true)"
if [ -z "$MOSQUITTO" ]; then
    for c in /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
        if [ -x "$c" ]; then MOSQUITTO="$c"; break; fi
    done
fi
if [ -z "$MOSQUITTO" ]; then
    echo "with-broker: mosquitto not found; run scripts/install-deps.sh" >&2
    exit 1
fi

BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/embermq-with-broker.XXXXXX")"
BROKER_PID=""
# WebSocket bridges: each leads a process group of its own (its children
# serve the connections), stopped as a group by that id.
BRIDGE_PIDS=()

PASSWD_USER=""
PASSWD_PASS=""
if [ -n "${EMQ_BROKER_PASSWD:-}" ]; then
    case "$EMQ_BROKER_PASSWD" in
        ?*:?*) ;;
        *)
            echo "with-broker: EMQ_BROKER_PASSWD must be user:password" >&2
            rm -rf "$BROKER_DIR"
            exit 2
            ;;
    esac
    PASSWD_USER="${EMQ_BROKER_PASSWD%%:*}"
    PASSWD_PASS="${EMQ_BROKER_PASSWD#*:}"
    MOSQUITTO_PASSWD="$(command -v mosquitto_passwd || true)"
    if [ -z "$MOSQUITTO_PASSWD" ]; then
        echo "with-broker: mosquitto_passwd not found; run scripts/install-deps.sh" >&2
        rm -rf "$BROKER_DIR"
        exit 1
    fi
    "$MOSQUITTO_PASSWD" -b -c "$BROKER_DIR/passwd" "$PASSWD_USER" "$PASSWD_PASS" >/dev/null 2>&1
    chmod 600 "$BROKER_DIR/passwd"
fi

cleanup() {
    for pid in "${BRIDGE_PIDS[@]}"; do
        kill -9 -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$BROKER_PID" ]; then
        kill "$BROKER_PID" 2>/dev/null || true
        # Bounded wait for a graceful exit, then SIGKILL.
        for _ in $(seq 1 50); do
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    if [ -z "${EMQ_KEEP_BROKER_DIR:-}" ]; then
        rm -rf "$BROKER_DIR"
    else
        echo "with-broker: kept $BROKER_DIR" >&2
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

port_open() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(0.2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()' "$1"
}

TLS_DIR="${EMQ_BROKER_TLS_DIR:-}"
if [ -n "$TLS_DIR" ] && [ ! -f "$TLS_DIR/ca.pem" ]; then
    echo "with-broker: $TLS_DIR/ca.pem missing; run cargo run --example gen_test_certs -- $TLS_DIR" >&2
    rm -rf "$BROKER_DIR"
    exit 1
fi

# tls_listener <port> <cert> <key> <require client cert: true|false>
tls_listener() {
    echo "listener $1 127.0.0.1"
    echo "cafile $TLS_DIR/ca.pem"
    echo "certfile $TLS_DIR/$2"
    echo "keyfile $TLS_DIR/$3"
    echo "require_certificate $4"
}

write_conf() {
    {
        # Listener settings (cafile, ...) apply to the listener above them;
        # the plain listener takes none.
        if [ -n "$TLS_DIR" ]; then
            tls_listener "$TLS_PORT" server.pem server.key false
            tls_listener "$MTLS_PORT" server.pem server.key true
            tls_listener "$EXPIRED_PORT" expired.pem expired.key false
        fi
        echo "listener $1 127.0.0.1"
        if [ -n "$PASSWD_USER" ]; then
            echo "allow_anonymous false"
            echo "password_file $BROKER_DIR/passwd"
        else
            echo "allow_anonymous true"
        fi
        # As root mosquitto would switch to the mosquitto user and then be
        # unable to write to our root-owned temp dir.
        if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
        echo "log_dest file $BROKER_DIR/mosquitto.log"
        for log_type in ${EMQ_BROKER_LOG_TYPES:-all}; do
            echo "log_type $log_type"
        done
        echo "connection_messages true"
        echo "max_queued_messages 100000"
        echo "persistence false"
    } >"$BROKER_DIR/mosquitto.conf"
}

PORT=""
for attempt in 1 2 3 4 5; do
    candidate="$(free_port)"
    if [ -n "$TLS_DIR" ]; then
        TLS_PORT="$(free_port)"
        MTLS_PORT="$(free_port)"
        EXPIRED_PORT="$(free_port)"
    fi
    write_conf "$candidate"
    "$MOSQUITTO" -c "$BROKER_DIR/mosquitto.conf" \
        </dev/null >"$BROKER_DIR/stdout.log" 2>"$BROKER_DIR/stderr.log" &
    BROKER_PID=$!
    for _ in $(seq 1 100); do
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            break
        fi
        if port_open "$candidate" && { [ -z "$TLS_DIR" ] || port_open "$EXPIRED_PORT"; }; then
            PORT="$candidate"
            break
        fi
        sleep 0.05
    done
    if [ -n "$PORT" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        break
    fi
    echo "with-broker: mosquitto failed to start on port $candidate (attempt $attempt/5)" >&2
    kill -9 "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
    PORT=""
done

if [ -z "$PORT" ]; then
    echo "with-broker: could not start mosquitto; log:" >&2
    cat "$BROKER_DIR/mosquitto.log" "$BROKER_DIR/stderr.log" >&2 2>/dev/null || true
    exit 1
fi

# start_bridge <var> [websockify options]: a bridge on a free port to the
# plain listener; exports <var>=<port>.
start_bridge() {
    local var="$1" port attempt
    shift
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        setsid python3 "$(dirname "${BASH_SOURCE[0]}")/ws-bridge.py" "$@" \
            "127.0.0.1:$port" "127.0.0.1:$PORT" \
            </dev/null >>"$BROKER_DIR/ws-bridge.log" 2>&1 &
        BRIDGE_PIDS+=("$!")
        for _ in $(seq 1 100); do
            kill -0 "$!" 2>/dev/null || break
            if port_open "$port"; then
                export "$var=$port"
                return 0
            fi
            sleep 0.05
        done
        echo "with-broker: the WebSocket bridge failed on port $port (attempt $attempt/5)" >&2
        kill -9 -- "-$!" 2>/dev/null || true
    done
    cat "$BROKER_DIR/ws-bridge.log" >&2 2>/dev/null || true
    exit 1
}
if [ -n "${EMQ_BROKER_WS:-}" ]; then
    start_bridge EMQ_TEST_WS_PORT
    if [ -n "$TLS_DIR" ]; then
        start_bridge EMQ_TEST_WSS_PORT "--cert=$TLS_DIR/server.pem" "--key=$TLS_DIR/server.key" --ssl-only
    fi
fi

export EMQ_TEST_HOST=127.0.0.1
export EMQ_TEST_PORT="$PORT"
export EMQ_TEST_BROKER_DIR="$BROKER_DIR"
if [ -n "$TLS_DIR" ]; then
    export EMQ_TEST_TLS_PORT="$TLS_PORT"
    export EMQ_TEST_MTLS_PORT="$MTLS_PORT"
    export EMQ_TEST_EXPIRED_PORT="$EXPIRED_PORT"
    export EMQ_TEST_CERT_DIR="$TLS_DIR"
fi
if [ -n "$PASSWD_USER" ]; then
    export EMQ_TEST_USERNAME="$PASSWD_USER"
    export EMQ_TEST_PASSWORD="$PASSWD_PASS"
fi

set +e
"$@"
status=$?
set -e
exit "$status"
