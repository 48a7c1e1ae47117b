#!/usr/bin/env python3
"""A TCP proxy that cuts its first connection once, for scripts/run-baremetal.sh.

    link-cut-proxy.py --target-port P [--target-host 127.0.0.1]
                      [--cut-after-bytes N] [--cut-after-ms T]
                      [--port-file F] [--lifetime S] [--max-connections K]

Listens on 127.0.0.1 on a free port (written to --port-file, or printed as
the first line), forwards each connection to the target (mosquitto), one
connection at a time. Once, on the first connection that gets that far,
when N bytes have been forwarded (both directions together; the N-th byte
may fall inside a packet) or T ms have passed since it was accepted,
whichever comes first, it closes both the client side and the broker side
without a word. Every other connection is forwarded until either side
closes. Every event is one line
on stdout (flushed), with the seconds since the proxy started, e.g.
"[  0.512 s] cut: connection 1 after 700 bytes (c->b 437, b->c 263) at
340 ms".

Bounded: it exits after --lifetime seconds (default 120) or once
--max-connections connections (default 50) have ended, whichever is first;
the harness stops it earlier by its PID.
"""
import argparse
import os
import select
import socket
import sys
import time


STARTED = time.monotonic()


def log(text):
    sys.stdout.write(f"[{time.monotonic() - STARTED:7.3f} s] {text}\n")
    sys.stdout.flush()


def close_quietly(sock):
    try:
        sock.close()
    except OSError:
        pass


def forward(number, client, broker, cut_bytes, cut_ms, stop_at):
    """Forwards between `client` and `broker` until either closes or (with
    `cut_bytes`/`cut_ms` not None) the cut comes. Returns True if cut."""
    accepted = time.monotonic()
    moved = {"c->b": 0, "b->c": 0}
    peers = {client: (broker, "c->b"), broker: (client, "b->c")}
    total = 0
    while True:
        now = time.monotonic()
        if now >= stop_at:
            log(f"lifetime over during connection {number}")
            return False
        wait = stop_at - now
        if cut_ms is not None:
            left = accepted + cut_ms / 1000.0 - now
            if left <= 0:
                elapsed = int((now - accepted) * 1000)
                log(f"cut: connection {number} after {total} bytes "
                    f"(c->b {moved['c->b']}, b->c {moved['b->c']}) at {elapsed} ms (time limit)")
                return True
            wait = min(wait, left)
        readable, _, _ = select.select([client, broker], [], [], min(wait, 1.0))
        for sock in readable:
            other, direction = peers[sock]
            side = "client" if sock is client else "broker"
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                log(f"connection {number} reset by the {side} after {total} bytes "
                    f"(c->b {moved['c->b']}, b->c {moved['b->c']})")
                return False
            except OSError as err:
                log(f"connection {number}: {direction} read failed: {err}")
                return False
            if not data:
                log(f"connection {number} closed by the {side} after {total} bytes "
                    f"(c->b {moved['c->b']}, b->c {moved['b->c']})")
                return False
            cut_now = False
            if cut_bytes is not None and total + len(data) >= cut_bytes:
                data = data[: cut_bytes - total]
                cut_now = True
            try:
                if data:
                    other.sendall(data)
            except OSError as err:
                log(f"connection {number}: {direction} write failed: {err}")
                return False
            moved[direction] += len(data)
            total += len(data)
            if cut_now:
                elapsed = int((time.monotonic() - accepted) * 1000)
                log(f"cut: connection {number} after {total} bytes "
                    f"(c->b {moved['c->b']}, b->c {moved['b->c']}) at {elapsed} ms")
                return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-host", default="127.0.0.1")
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--cut-after-bytes", type=int)
    parser.add_argument("--cut-after-ms", type=int)
    parser.add_argument("--port-file")
    parser.add_argument("--lifetime", type=float, default=120.0)
    parser.add_argument("--max-connections", type=int, default=50)
    args = parser.parse_args()
    if args.cut_after_bytes is None and args.cut_after_ms is None:
        parser.error("give --cut-after-bytes and/or --cut-after-ms")

    stop_at = time.monotonic() + args.lifetime
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    log(f"listening on 127.0.0.1:{port}, forwarding to {args.target_host}:{args.target_port}")

    cut_done = False
    for number in range(1, args.max_connections + 1):
        now = time.monotonic()
        if now >= stop_at:
            break
        listener.settimeout(stop_at - now)
        try:
            client, peer = listener.accept()
        except socket.timeout:
            break
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log(f"connection {number} from {peer[0]}:{peer[1]}")
        try:
            broker = socket.create_connection((args.target_host, args.target_port), timeout=5)
        except OSError as err:
            log(f"connection {number}: broker unreachable: {err}")
            close_quietly(client)
            continue
        broker.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        broker.settimeout(None)
        client.settimeout(None)
        if cut_done:
            forward(number, client, broker, None, None, stop_at)
        else:
            cut_done = forward(number, client, broker, args.cut_after_bytes,
                               args.cut_after_ms, stop_at)
        close_quietly(client)
        close_quietly(broker)
    log("proxy done")
    listener.close()


if __name__ == "__main__":
    main()
