"""Failure paths: broker down at connect, a broker stopped or frozen in
mid-session (loop_failure, reconnect, no automatic reconnect), calls while
not connected, a subscription the broker refuses, close and interpreter
exit with work in flight."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import COMMAND_TIMEOUT_MS, HERE, free_port, unique, wait_until
from lwmqtt import _capi, mqtt
from test_client import Inbox, connected_client


def test_broker_down_at_connect(make_client):
    client = make_client()
    failures = Inbox()
    port = free_port()  # nothing listens there
    with pytest.raises(IOError) as raised:
        client.connect("127.0.0.1", 30, port=port, aconnect_cb=failures)
    assert isinstance(raised.value, mqtt.MQTTError)
    assert raised.value.code == 14  # EMQ_ERR_CONNECT_FAILED
    assert "127.0.0.1:%d" % port in str(raised.value)
    assert not client.connected()
    assert failures.count() == 0
    assert client._loop_thread is None  # connect raised before starting it


def test_unresolvable_host(make_client):
    client = make_client()
    with pytest.raises(mqtt.MQTTError) as raised:
        client.connect("no-such-host.invalid", 30)
    assert raised.value.code == 13  # EMQ_ERR_NAME_NOT_RESOLVED


def test_calls_before_connect_raise_ioerror(make_client):
    client = make_client()
    for call in (
        lambda: client.publish("lw/x", "p"),
        lambda: client.subscribe("lw/x", lambda c, p: None),
        lambda: client.unsubscribe("lw/x"),
        lambda: client.disconnect(),
        lambda: client.reconnect(),
    ):
        with pytest.raises(IOError) as raised:
            call()
        assert raised.value.code == _capi.EMQ_ERR_NOT_CONNECTED
    assert client._subscriptions == {}  # the failed subscribe left no callback


def test_connect_twice_is_refused(make_client, broker):
    client = connected_client(make_client, broker)
    with pytest.raises(mqtt.MQTTError) as raised:
        client.connect("127.0.0.1", 30, port=broker.port)
    assert raised.value.code == _capi.EMQ_ERR_ALREADY_CONNECTED
    assert client.connected()


def test_broker_stopped_mid_session_without_loop_failure(make_client, broker):
    """Reconnections are not handled (the seed's warning): the reception
    thread ends, the client stays disconnected until reconnect()."""
    client = connected_client(make_client, broker)
    client.subscribe(unique("lw/gone"), lambda c, p: None)
    broker.stop()
    assert wait_until(lambda: not client.connected(), 5)
    assert wait_until(lambda: not client._loop_thread.is_alive(), 5)
    with pytest.raises(IOError) as raised:
        client.publish("lw/x", "offline", qos=1)
    assert raised.value.code == _capi.EMQ_ERR_NOT_CONNECTED
    with pytest.raises(IOError):
        client.publish("lw/x", "offline qos 0")
    broker.start()  # same port
    time.sleep(1.5)
    assert not client.connected()  # no automatic reconnect
    assert client.reconnect() == 0
    assert client.connected()
    # The reception thread ended with the failure: loop() starts it again.
    inbox = Inbox()
    topic = unique("lw/back")
    client.subscribe(topic, inbox)
    client.publish(topic, "back")
    time.sleep(0.3)
    assert inbox.count() == 0
    client.loop()
    assert inbox.wait(1)


def test_loop_failure_reconnects(make_client, broker):
    client = make_client()
    calls = {"failure": 0, "before": 0, "after": 0}
    stopped_at = {}

    def loop_failure(mqtt_client):
        calls["failure"] += 1
        stopped_at["connected"] = mqtt_client.connected()
        for _ in range(100):  # the broker comes back in a moment
            try:
                if mqtt_client.reconnect() == mqtt.RC_ACCEPTED:
                    return mqtt.RECOVERED
            except IOError:
                time.sleep(0.1)
        return mqtt.BREAK_LOOP

    def before(_c):
        calls["before"] += 1

    def after(_c):
        calls["after"] += 1

    assert client.connect(
        "127.0.0.1", 30, port=broker.port, loop_failure=loop_failure, breconnect_cb=before, aconnect_cb=after
    ) == 0
    assert calls == {"failure": 0, "before": 0, "after": 1}
    broker.stop()
    assert wait_until(lambda: calls["before"] >= 1, 5)
    broker.start()
    assert wait_until(lambda: client.connected(), 10)
    assert calls["failure"] == 1 and stopped_at["connected"] is False
    assert calls["after"] == 2 and calls["before"] >= 1
    # The reception thread went on (RECOVERED): a new subscription works.
    inbox = Inbox()
    topic = unique("lw/recovered")
    client.subscribe(topic, inbox)
    client.publish(topic, "again")
    assert inbox.wait(1)
    assert client._loop_thread.is_alive()


def test_loop_failure_break_loop_ends_the_thread(make_client, broker):
    client = make_client()
    seen = Inbox()

    def loop_failure(mqtt_client):
        seen(mqtt_client)
        return mqtt.BREAK_LOOP

    client.connect("127.0.0.1", 30, port=broker.port, loop_failure=loop_failure)
    broker.stop()
    assert seen.wait(1, 5)
    assert wait_until(lambda: not client._loop_thread.is_alive(), 5)
    assert seen.items == [(client,)]


def test_keepalive_finds_a_frozen_broker(make_client, broker):
    """keepalive 1 s: a broker that stops answering is found within 1.5 x
    keepalive plus a ping, and reported to loop_failure."""
    client = make_client()
    lost = Inbox()
    client.connect("127.0.0.1", 1, port=broker.port, loop_failure=lambda c: lost(c) or mqtt.BREAK_LOOP)
    os.kill(broker.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert lost.wait(1, 8)
        assert time.monotonic() - started < 6
        assert not client.connected()
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)


class RefusingPeer:
    """A scripted broker for what mosquitto 2.0 will not do for MQTT 3.1.1
    (it grants ACL-denied subscriptions): CONNACK accepted, then SUBACK
    0x80 for every SUBSCRIBE."""

    def __init__(self):
        import socket
        import threading

        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _read_packet(conn):
        header = conn.recv(1)
        if not header:
            return None, b""
        length, shift = 0, 0
        while True:
            byte = conn.recv(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        body = b""
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                break
            body += chunk
        return header[0], body

    def _serve(self):
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(10)
            try:
                while True:
                    kind, body = self._read_packet(conn)
                    if kind is None:
                        return
                    if kind >> 4 == 1:  # CONNECT
                        conn.sendall(b"\x20\x02\x00\x00")
                    elif kind >> 4 == 8:  # SUBSCRIBE: refuse it
                        conn.sendall(b"\x90\x03" + body[:2] + b"\x80")
                    elif kind >> 4 == 12:  # PINGREQ
                        conn.sendall(b"\xd0\x00")
                    elif kind >> 4 == 14:  # DISCONNECT
                        return
            except OSError:
                return

    def close(self):
        self.server.close()


def test_subscription_refused_by_the_broker(make_client):
    peer = RefusingPeer()
    try:
        client = make_client()
        assert client.connect("127.0.0.1", 30, port=peer.port) == 0
        with pytest.raises(mqtt.MQTTError) as raised:
            client.subscribe("lw/refused", lambda c, p: None)
        assert raised.value.code is None and "refused" in str(raised.value)
        assert "lw/refused" not in client._subscriptions
        assert client.connected()  # a refused subscription keeps the connection
    finally:
        peer.close()


def test_close_is_final_for_calls_and_idempotent(make_client, broker):
    client = connected_client(make_client, broker)
    client.close()
    client.close()
    assert not client.connected()
    with pytest.raises(mqtt.MQTTError):
        client.publish("lw/x", "after close")
    # A closed client may connect again (a new embermq client).
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    assert client.connected()


def test_close_while_another_thread_waits_for_an_ack(make_client, broker):
    """close() waits for a call in progress instead of freeing under it."""
    client = connected_client(make_client, broker)
    os.kill(broker.process.pid, signal.SIGSTOP)  # no PUBACK will come
    errors = []

    def publish():
        try:
            client.publish("lw/slow", "x", qos=1)
        except IOError as error:
            errors.append(error)

    worker = threading.Thread(target=publish)
    worker.start()
    time.sleep(0.2)
    try:
        started = time.monotonic()
        client.close()
        assert time.monotonic() - started < COMMAND_TIMEOUT_MS / 1000.0 + 2
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    worker.join(10)
    assert not worker.is_alive()
    assert errors and errors[0].code in (_capi.EMQ_ERR_TIMEOUT, _capi.EMQ_ERR_NOT_CONNECTED)


def run_script(body, broker):
    """Runs a Python script using the binding in a fresh interpreter."""
    script = textwrap.dedent(
        """
        import sys, time
        sys.path.insert(0, %r)
        from lwmqtt import mqtt
        HOST, PORT = "127.0.0.1", %d
        """
        % (os.path.join(HERE, ".."), broker.port)
    ) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_interpreter_exit_with_a_busy_client(make_client, broker):
    """Exit without disconnect while messages keep arriving: no crash, no
    hang, and the will is published (the connection closed without
    DISCONNECT, as a device that resets)."""
    watcher = connected_client(make_client, broker)
    wills = Inbox()
    watcher.subscribe("lw/exit/will", wills)
    result = run_script(
        """
        client = mqtt.Client("exit-test", True, command_timeout=5000)
        client.set_will("lw/exit/will", "gone", 1, False)
        client.connect(HOST, 30, port=PORT)
        got = []
        client.subscribe("lw/exit/data", lambda c, p: got.append(p))
        for i in range(200):
            client.publish("lw/exit/data", str(i), qos=i % 3)
        while len(got) < 50:
            time.sleep(0.01)
        print("exiting with", len(got) > 0)
        """,
        broker,
    )
    assert result.returncode == 0, result.stderr
    assert "exiting with True" in result.stdout
    assert result.stderr == ""
    assert wills.wait(1)
    assert wills.items[0][1] == "gone"


def test_garbage_collected_client_is_freed(broker):
    result = run_script(
        """
        import gc, threading
        for i in range(20):
            client = mqtt.Client("gc-%d" % i, True, command_timeout=5000)
            client.connect(HOST, 30, port=PORT)
            client.subscribe("lw/gc", lambda c, p: None)
            client.disconnect()
            del client
            gc.collect()
        # Every reception and network thread has ended.
        time.sleep(0.5)
        print("threads", threading.active_count())
        """,
        broker,
    )
    assert result.returncode == 0, result.stderr
    assert "threads 1" in result.stdout


def test_oversized_messages(make_client, broker):
    """A message larger than embermq's 16 KiB buffers: publish raises, one
    received is dropped by embermq, and the connection stays up."""
    client = connected_client(make_client, broker)
    inbox = Inbox()
    topic = unique("lw/big")
    client.subscribe(topic, inbox)
    with pytest.raises(mqtt.MQTTError) as raised:
        client.publish(topic, "x" * 20000)
    assert raised.value.code == 23  # EMQ_ERR_PACKET_TOO_LARGE
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-m", "y" * 20000], check=True, timeout=10)
    client.publish(topic, "small", qos=1)
    assert inbox.wait(1)
    time.sleep(0.2)
    assert [p for _, p in inbox.items] == ["small"]
    assert client.connected()
