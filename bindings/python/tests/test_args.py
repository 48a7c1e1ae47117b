"""Bad arguments raise TypeError or ValueError with a message naming the
argument, never crash; random arguments of every type on fresh, connected
and closed clients raise only those (or MQTTError)."""
import random

import pytest
from conftest import unique
from lwmqtt import mqtt
from lwmqtt import ssl as zssl


def test_client_arguments():
    with pytest.raises(TypeError, match="client_id must be a str"):
        mqtt.Client(42)
    with pytest.raises(TypeError, match="client_id"):
        mqtt.Client(b"bytes-id")
    with pytest.raises(ValueError, match="NUL"):
        mqtt.Client("a\0b")
    with pytest.raises(TypeError, match="clean_session"):
        mqtt.Client("id", "yes")
    with pytest.raises(ValueError, match="command_timeout"):
        mqtt.Client("id", True, command_timeout=0)
    with pytest.raises(TypeError, match="cycle_timeout"):
        mqtt.Client("id", True, cycle_timeout=0.5)


def test_connect_arguments(make_client, broker):
    client = make_client()
    cases = [
        (TypeError, "host must be a str", dict(host=None, keepalive=30)),
        (ValueError, "host must not be empty", dict(host="", keepalive=30)),
        (TypeError, "keepalive must be an int", dict(host="127.0.0.1", keepalive="60")),
        (ValueError, "keepalive must be in 0..65535", dict(host="127.0.0.1", keepalive=-1)),
        (ValueError, "keepalive must be in 0..65535", dict(host="127.0.0.1", keepalive=70000)),
        (TypeError, "port must be an int", dict(host="127.0.0.1", keepalive=30, port="1883")),
        (ValueError, "port must be in 1..65535", dict(host="127.0.0.1", keepalive=30, port=0)),
        (TypeError, "ssl_ctx must be a context", dict(host="127.0.0.1", keepalive=30, ssl_ctx=42)),
        (ValueError, "ssl_ctx must have 5 items", dict(host="127.0.0.1", keepalive=30, ssl_ctx=("ca",))),
        (TypeError, "options must be an int", dict(host="127.0.0.1", keepalive=30, ssl_ctx=("", "", "", "", "x"))),
        (ValueError, "unknown bits", dict(host="127.0.0.1", keepalive=30, ssl_ctx=("", "", "", "", 64))),
        (TypeError, "cacert must be", dict(host="127.0.0.1", keepalive=30, ssl_ctx=(3.5, "", "", "", 1))),
        (TypeError, "hostname must be a str", dict(host="127.0.0.1", keepalive=30, ssl_ctx=("", "", "", 7, 1))),
        (TypeError, "sock_keepalive", dict(host="127.0.0.1", keepalive=30, sock_keepalive=[1, 2])),
        (TypeError, "sock_keepalive idle", dict(host="127.0.0.1", keepalive=30, sock_keepalive=[1, "2", 3])),
        (TypeError, "aconnect_cb must be callable", dict(host="127.0.0.1", keepalive=30, aconnect_cb=5)),
        (TypeError, "loop_failure must be callable", dict(host="127.0.0.1", keepalive=30, loop_failure="f")),
    ]
    for error, message, kwargs in cases:
        kwargs.setdefault("port", broker.port)
        with pytest.raises(error, match=message):
            client.connect(**kwargs)
        assert not client.connected()
    # Still usable after all that; sock_keepalive is accepted and ignored.
    assert client.connect("127.0.0.1", 30, port=broker.port, sock_keepalive=[3, 10, 5]) == 0


def test_message_arguments(make_client, broker):
    client = make_client()
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    cases = [
        (lambda: client.publish(5, "p"), TypeError, "topic must be a str"),
        (lambda: client.publish("a/+/b", "p"), ValueError, "wildcard|\\+|#"),
        (lambda: client.publish("", "p"), ValueError, "topic"),
        (lambda: client.publish("lw/t", 3.5), TypeError, "payload must be str or bytes"),
        (lambda: client.publish("lw/t", "p", qos=3), ValueError, "qos must be in 0..2"),
        (lambda: client.publish("lw/t", "p", qos="1"), TypeError, "qos must be an int"),
        (lambda: client.subscribe("a/#/b", print), ValueError, "topic"),
        (lambda: client.subscribe("lw/t", "not callable"), TypeError, "function must be callable"),
        (lambda: client.subscribe("lw/t", print, qos=-1), ValueError, "qos"),
        (lambda: client.unsubscribe(None), TypeError, "topic must be a str"),
        (lambda: client.set_will("lw/#", "p"), ValueError, "will topic"),
        (lambda: client.set_will("lw/w", object()), TypeError, "will payload"),
        (lambda: client.set_will("lw/w", "p", qos=7), ValueError, "will qos"),
        (lambda: client.set_username_pw(None), TypeError, "username must be a str"),
        (lambda: client.set_username_pw("u", 12), TypeError, "password must be str or bytes"),
        (lambda: client.on(0x35, print), ValueError, "command"),
        (lambda: client.on("publish", print), TypeError, "command must be an int"),
        (lambda: client.on(mqtt.PUBLISH, None), TypeError, "function must be callable"),
        (lambda: client.on(mqtt.PUBLISH, print, condition=3), TypeError, "condition"),
        (lambda: client.loop(on_message=5), TypeError, "on_message"),
        (lambda: client.disconnect(timeout="1"), TypeError, "timeout"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    assert client.connected()
    topic = unique("lw/ok")
    client.subscribe(topic, print)
    client.publish(topic, "still fine", qos=1)


# --- random arguments ----------------------------------------------------------

SAMPLES = [
    None, True, False, 0, 1, 2, 3, -1, 65535, 65536, 2**40, 0.5, float("nan"), "", "lw/fuzz", "lw/+", "#",
    "a\0b", "x" * 70000, b"", b"lw/fuzz", bytearray(b"\xff"), [], [1, 2, 3], ("", "", "", "", 1), {}, object(),
    print, lambda *a: None, zssl.CERT_REQUIRED,
]

METHODS = {
    "connect": 9, "publish": 4, "subscribe": 3, "unsubscribe": 1, "set_will": 4, "set_username_pw": 2,
    "on": 4, "loop": 1, "disconnect": 1, "get_return_code": 0, "connected": 0,
}


def fuzz_calls(client, rng, rounds, port):
    for _ in range(rounds):
        name = rng.choice(sorted(METHODS))
        args = [rng.choice(SAMPLES) for _ in range(rng.randint(0, METHODS[name]))]
        if name == "connect" and args:
            # Keep connects short: only the test broker, or no port at all.
            args = ["127.0.0.1"] + args[1:2] + [port]
        try:
            getattr(client, name)(*args)
        except (TypeError, ValueError, IOError):
            pass


def test_random_arguments_never_crash(make_client, broker):
    rng = random.Random(17)
    fresh = make_client()
    fuzz_calls(fresh, rng, 300, broker.port)
    connected = make_client()
    assert connected.connect("127.0.0.1", 30, port=broker.port) == 0
    fuzz_calls(connected, rng, 300, broker.port)
    closed = make_client()
    closed.close()
    fuzz_calls(closed, rng, 100, broker.port)
    for _ in range(100):
        try:
            mqtt.Client(*[rng.choice(SAMPLES) for _ in range(rng.randint(0, 4))]).close()
        except (TypeError, ValueError):
            pass
    # The clients still work.
    probe = make_client()
    assert probe.connect("127.0.0.1", 30, port=broker.port) == 0
    topic = unique("lw/probe")
    probe.subscribe(topic, print)
    probe.publish(topic, "alive", qos=2)
