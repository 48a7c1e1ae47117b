"""The seed document's code, unmodified (bindings/python/examples, checked
against the document by examples/extract.py --check): its subscribe
callback, `my_callback(mqtt_client, payload)`, given to subscribe() as the
document shows, is called with the client and the payload of each message
on the reception thread."""
import os
import threading

from conftest import HERE, unique
from test_client import Inbox

EXAMPLES = os.path.join(HERE, "..", "examples")


def load_example(name):
    namespace = {}
    path = os.path.join(EXAMPLES, name)
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), namespace)
    return namespace


def test_the_documents_callback(make_client, broker, capfd):
    my_callback = load_example("01.py")["my_callback"]
    calls = []

    def watch(frame, event, _arg):
        # Records each entry into my_callback, with its arguments: the
        # example's body is `...`, so its calls are seen from outside.
        if event == "call" and frame.f_code is my_callback.__code__:
            calls.append((threading.current_thread().name, dict(frame.f_locals)))

    client = make_client()
    threading.setprofile(watch)  # for the reception thread connect() starts
    try:
        assert client.connect("127.0.0.1", 60, port=broker.port) == 0
    finally:
        threading.setprofile(None)
    topic, barrier_topic = unique("zerynth/samples"), unique("zerynth/barrier")
    barrier = Inbox()
    client.subscribe(topic, my_callback)
    client.subscribe(barrier_topic, barrier)
    client.publish(topic, '{"rand": 3}')
    client.publish(topic, "second", qos=1)
    client.publish(barrier_topic, "done", qos=1)
    assert barrier.wait(1)
    assert calls == [
        ("lwmqtt-loop", {"mqtt_client": client, "payload": '{"rand": 3}'}),
        ("lwmqtt-loop", {"mqtt_client": client, "payload": "second"}),
    ]
    assert "exception" not in capfd.readouterr().err
