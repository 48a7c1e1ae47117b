"""Every documented function and event against a private mosquitto:
Client, connect (and its callbacks), set_username_pw, set_will, publish,
subscribe (both callback forms, wildcards), unsubscribe, on (conditions and
priorities), loop, disconnect, reconnect, connected, get_return_code."""
import threading
import time

from conftest import unique, wait_until
from lwmqtt import mqtt


_ABSENT = object()


class Inbox:
    """Collects callback calls from the reception thread."""

    def __init__(self):
        self.items = []
        self.threads = set()
        self.lock = threading.Lock()

    def __call__(self, client, data=_ABSENT):
        # Two parameters at most: subscribe() then passes (client, payload).
        args = (client,) if data is _ABSENT else (client, data)
        with self.lock:
            self.items.append(args)
            self.threads.add(threading.current_thread().name)

    def count(self):
        with self.lock:
            return len(self.items)

    def wait(self, n, timeout=5.0):
        return wait_until(lambda: self.count() >= n, timeout)


def connected_client(make_client, broker, **kwargs):
    client = make_client(**kwargs)
    assert client.connect("127.0.0.1", 30, port=broker.port) == mqtt.RC_ACCEPTED
    return client


def test_constants_are_zerynths():
    assert mqtt.PORT == 1883
    assert (mqtt.BREAK_LOOP, mqtt.RECOVERED) == (0, 1)
    assert [mqtt.RC_ACCEPTED, mqtt.RC_REFUSED_VERSION, mqtt.RC_REFUSED_IDENTIFIER, mqtt.RC_REFUSED_SERVER,
            mqtt.RC_REFUSED_BADUSRPWD, mqtt.RC_REFUSED_NOAUTH] == [0, 1, 2, 3, 4, 5]
    assert (mqtt.PUBLISH, mqtt.PUBACK, mqtt.PUBREC, mqtt.PUBREL, mqtt.PUBCOMP) == (0x30, 0x40, 0x50, 0x60, 0x70)
    assert (mqtt.SUBACK, mqtt.UNSUBACK, mqtt.PINGREQ, mqtt.PINGRESP) == (0x90, 0xB0, 0xC0, 0xD0)


def test_connect_starts_the_reception_thread(make_client, broker):
    after = Inbox()
    client = make_client()
    assert not client.connected()
    assert client.get_return_code() is None
    rc = client.connect("127.0.0.1", 30, port=broker.port, aconnect_cb=after)
    assert rc == mqtt.RC_ACCEPTED == client.get_return_code()
    assert client.connected()
    assert after.items == [(client,)]
    inbox = Inbox()
    topic = unique("lw/t")
    client.subscribe(topic, inbox)
    client.publish(topic, "hello")
    assert inbox.wait(1)
    assert inbox.items == [(client, "hello")]
    # Callbacks run on the MQTT reception thread, not the caller's.
    assert inbox.threads == {"lwmqtt-loop"}


def test_publish_each_qos_to_ourselves(make_client, broker):
    client = connected_client(make_client, broker)
    inbox = Inbox()
    topic = unique("lw/q")
    client.subscribe(topic, inbox, qos=2)
    ids = [client.publish(topic, "m%d" % qos, qos=qos) for qos in (0, 1, 2)]
    assert ids[0] == 0 and ids[1] > 0 and ids[2] > 0 and ids[1] != ids[2]
    assert inbox.wait(3)
    assert sorted(p for _, p in inbox.items) == ["m0", "m1", "m2"]


def test_publish_defaults_and_payload_types(make_client, broker):
    client = connected_client(make_client, broker)
    inbox = Inbox()
    topic = unique("lw/p")
    client.subscribe(topic, inbox)
    client.publish(topic)  # payload='' by default
    client.publish(topic, b"\x00\xffbinary")
    client.publish(topic, bytearray(b"ba"))
    client.publish(topic, "ünïcode")
    assert inbox.wait(4)
    assert [p for _, p in inbox.items] == ["", b"\x00\xffbinary", "ba", "ünïcode"]


def test_subscribe_callback_with_topic_and_wildcards(make_client, broker):
    client = connected_client(make_client, broker)
    base = unique("lw/w")
    plus, hash_, exact = Inbox(), Inbox(), Inbox()

    def with_topic(mqtt_client, payload, topic):  # later lwmqtt's form
        exact(mqtt_client, (payload, topic))

    client.subscribe(base + "/+/leaf", plus)
    client.subscribe(base + "/#", hash_)
    client.subscribe(base + "/a/leaf", with_topic)
    client.publish(base + "/a/leaf", "1")
    client.publish(base + "/b/other", "2")
    assert hash_.wait(2)
    assert plus.wait(1) and exact.wait(1)
    time.sleep(0.2)
    assert [p for _, p in plus.items] == ["1"]
    assert sorted(p for _, p in hash_.items) == ["1", "2"]
    assert exact.items == [(client, ("1", base + "/a/leaf"))]


def test_retained_message_reaches_a_later_subscriber(make_client, broker):
    publisher = connected_client(make_client, broker)
    topic = unique("lw/r")
    publisher.publish(topic, "kept", qos=1, retain=True)
    subscriber = connected_client(make_client, broker)
    messages = Inbox()
    subscriber.on(mqtt.PUBLISH, messages)
    subscriber.subscribe(topic, lambda c, p: None)
    assert messages.wait(1)
    message = messages.items[0][1]["message"]
    assert (message.topic, message.payload, message.retain) == (topic, "kept", True)
    publisher.publish(topic, "", qos=1, retain=True)  # clear it


def test_unsubscribe_stops_delivery(make_client, broker):
    client = connected_client(make_client, broker)
    gone, barrier = Inbox(), Inbox()
    topic, barrier_topic = unique("lw/u"), unique("lw/barrier")
    client.subscribe(topic, gone)
    client.subscribe(barrier_topic, barrier)
    client.publish(topic, "before", qos=1)
    assert gone.wait(1)
    client.unsubscribe(topic)
    client.publish(topic, "after", qos=1)
    client.publish(barrier_topic, "b", qos=1)
    assert barrier.wait(1)
    assert [p for _, p in gone.items] == ["before"]


def test_on_events_with_conditions_and_priorities(make_client, broker):
    client = make_client()
    names = ("puback", "pubrec", "pubcomp", "suback", "unsuback", "generic", "cool", "cooler")
    events = {name: Inbox() for name in names}
    client.on(mqtt.PUBACK, events["puback"])
    client.on(mqtt.PUBREC, events["pubrec"])
    client.on(mqtt.PUBCOMP, events["pubcomp"])
    client.on(mqtt.SUBACK, events["suback"])
    client.on(mqtt.UNSUBACK, events["unsuback"])
    client.on(mqtt.PUBLISH, events["generic"])

    def is_cool(data):
        return "message" in data and data["message"].payload.startswith("cool")

    def is_very_cool(data):
        return "message" in data and data["message"].payload == "cool!!"

    client.on(mqtt.PUBLISH, events["cool"], is_cool)
    client.on(mqtt.PUBLISH, events["cooler"], is_very_cool, priority=5)
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    topic = unique("lw/on")
    client.subscribe(topic, lambda c, p: None, qos=1)
    assert events["suback"].wait(1)
    assert events["suback"].items[0][1]["granted_qos"] == 1
    mid1 = client.publish(topic, "plain", qos=1)
    mid2 = client.publish(topic, "cool", qos=2)
    client.publish(topic, "cool!!", qos=0)
    assert events["puback"].wait(1) and events["pubcomp"].wait(1)
    assert events["puback"].items[0][1]["mid"] == mid1
    assert events["pubcomp"].items[0][1]["mid"] == mid2
    assert [d["mid"] for _, d in events["pubrec"].items] == [mid2]  # QoS 2 only
    assert events["generic"].wait(1) and events["cool"].wait(1) and events["cooler"].wait(1)
    time.sleep(0.2)
    # Each message went to exactly one PUBLISH callback: the specific one
    # of highest priority whose condition holds, else the generic one.
    assert [d["message"].payload for _, d in events["generic"].items] == ["plain"]
    assert [d["message"].payload for _, d in events["cool"].items] == ["cool"]
    assert [d["message"].payload for _, d in events["cooler"].items] == ["cool!!"]
    message = events["generic"].items[0][1]["message"]
    assert (message.topic, message.qos, message.mid > 0, message.retain) == (topic, 1, True, False)
    client.unsubscribe(topic)
    assert events["unsuback"].wait(1)
    assert "mid" in events["unsuback"].items[0][1]
    assert events["puback"].count() == 1 and events["pubcomp"].count() == 1  # no ack event for QoS 0


def test_start_loop_false_holds_events_until_loop(make_client, broker):
    client = make_client()
    assert client.connect("127.0.0.1", 30, port=broker.port, start_loop=False) == 0
    inbox, generic = Inbox(), Inbox()
    topic = unique("lw/l")
    client.subscribe(topic, inbox)
    client.publish(topic, "queued", qos=1)
    time.sleep(0.3)
    assert inbox.count() == 0  # no reception thread yet
    client.loop(on_message=generic)  # full library: a generic PUBLISH callback
    assert inbox.wait(1) and generic.wait(1)
    assert inbox.items[0][1] == "queued"
    assert generic.items[0][1]["message"].payload == "queued"
    client.loop()  # already running: nothing changes
    client.publish(topic, "again")
    assert inbox.wait(2)
    time.sleep(0.1)
    assert inbox.count() == 2


def test_set_will_published_on_close_not_on_disconnect(make_client, broker):
    watcher = connected_client(make_client, broker)
    wills = Inbox()
    will_topic = unique("lw/will")
    watcher.subscribe(will_topic, wills)
    device = make_client()
    device.set_will(will_topic, "device gone", qos=1, retain=False)
    assert device.connect("127.0.0.1", 30, port=broker.port) == 0
    device.disconnect()  # DISCONNECT: the broker discards the will
    barrier = Inbox()
    barrier_topic = unique("lw/barrier")
    watcher.subscribe(barrier_topic, barrier)
    watcher.publish(barrier_topic, "b", qos=1)
    assert barrier.wait(1)
    assert wills.count() == 0
    assert device.connect("127.0.0.1", 30, port=broker.port) == 0
    device.close()  # no DISCONNECT: the broker publishes the will
    assert wills.wait(1)
    assert wills.items[0][1] == "device gone"


def test_set_will_defaults_retain(make_client, broker):
    topic = unique("lw/willr")
    device = make_client()
    device.set_will(topic, b"bye")  # qos=0, retain=True by default
    assert device.connect("127.0.0.1", 30, port=broker.port) == 0
    device.close()
    late = connected_client(make_client, broker)
    messages = Inbox()
    late.on(mqtt.PUBLISH, messages)
    late.subscribe(topic, lambda c, p: None)
    assert messages.wait(1)
    assert messages.items[0][1]["message"].retain is True
    late.publish(topic, "", retain=True)


def test_set_username_pw_login_and_refusal(make_broker, make_client):
    broker = make_broker(login="zerynth:secret-pw")
    good = make_client()
    good.set_username_pw("zerynth", "secret-pw")
    assert good.connect("127.0.0.1", 30, port=broker.port) == mqtt.RC_ACCEPTED
    assert good.connected()

    wrong = make_client()
    wrong.set_username_pw("zerynth", "wrong")
    rc = wrong.connect("127.0.0.1", 30, port=broker.port)
    # Refused credentials return the CONNACK code, as Paho's MQTTConnect does.
    assert rc in (mqtt.RC_REFUSED_BADUSRPWD, mqtt.RC_REFUSED_NOAUTH)
    assert wrong.get_return_code() == rc
    assert not wrong.connected()

    anonymous = make_client()
    assert anonymous.connect("127.0.0.1", 30, port=broker.port) in (4, 5)

    empty_password = make_client()
    empty_password.set_username_pw("zerynth")  # password='' by default
    assert empty_password.connect("127.0.0.1", 30, port=broker.port) in (4, 5)
    empty_password.set_username_pw("zerynth", "secret-pw")  # takes effect at the next connect
    assert empty_password.connect("127.0.0.1", 30, port=broker.port) == 0


def test_disconnect_then_connect_again(make_client, broker):
    client = connected_client(make_client, broker)
    client.disconnect()
    assert not client.connected()
    assert client._loop_thread is not None and not client._loop_thread.is_alive()
    try:
        client.disconnect()
    except IOError as error:  # not connected: Zerynth's IOError
        assert isinstance(error, mqtt.MQTTError)
    else:
        raise AssertionError("a second disconnect must fail")
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    inbox = Inbox()
    topic = unique("lw/again")
    client.subscribe(topic, inbox)
    client.publish(topic, "x")
    assert inbox.wait(1)
    client.disconnect(timeout=2000)
    assert not client.connected()


def test_clean_session_false_keeps_subscriptions(make_client, broker):
    client_id = unique("persistent")
    topic = unique("lw/persist")
    client = make_client(client_id, clean_session=False)
    inbox = Inbox()
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    client.subscribe(topic, inbox, qos=1)
    client.disconnect()
    other = connected_client(make_client, broker)
    other.publish(topic, "while away", qos=1)
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    assert inbox.wait(1)
    assert inbox.items[0][1] == "while away"


def test_default_clean_session_is_false(make_client, broker):
    """Client(client_id) keeps its session, as the seed document's default says."""
    client_id = unique("default")
    topic = unique("lw/default")
    first = mqtt.Client(client_id, command_timeout=5000)
    try:
        assert first.connect("127.0.0.1", 30, port=broker.port) == 0
        first.subscribe(topic, lambda c, p: None, qos=1)
        first.disconnect()
    finally:
        first.close()
    other = connected_client(make_client, broker)
    other.publish(topic, "queued", qos=1)
    second = mqtt.Client(client_id, command_timeout=5000)
    inbox = Inbox()
    try:
        second.on(mqtt.PUBLISH, inbox)
        assert second.connect("127.0.0.1", 30, port=broker.port) == 0
        assert inbox.wait(1)
        assert inbox.items[0][1]["message"].payload == "queued"
    finally:
        second.close()


def test_empty_client_id_with_clean_session(make_client, broker):
    client = make_client("", clean_session=True)
    assert client.connect("127.0.0.1", 30, port=broker.port) == 0
    assert client.connected()


def test_callback_exceptions_do_not_stop_the_thread(make_client, broker, capfd):
    client = connected_client(make_client, broker)
    inbox = Inbox()
    topic = unique("lw/x")

    def broken(_client, _payload):
        raise RuntimeError("user bug")

    client.subscribe(topic, broken)
    client.subscribe(topic + "/ok", inbox)
    client.publish(topic, "boom")
    client.publish(topic + "/ok", "fine")
    assert inbox.wait(1)
    assert "user bug" in capfd.readouterr().err


def test_callbacks_may_call_the_client(make_client, broker):
    """A subscribe callback publishes (QoS 1, waiting for its PUBACK) and
    subscribes from the reception thread: no deadlock."""
    client = connected_client(make_client, broker)
    base = unique("lw/re")
    replies = Inbox()

    def echo(mqtt_client, payload):
        mqtt_client.subscribe(base + "/reply", replies, qos=1)
        mqtt_client.publish(base + "/reply", "re:" + payload, qos=1)

    client.subscribe(base + "/ask", echo)
    client.publish(base + "/ask", "ping")
    assert replies.wait(1)
    assert replies.items[0][1] == "re:ping"


def test_two_clients_talk(make_client, broker):
    a = connected_client(make_client, broker)
    b = connected_client(make_client, broker)
    inbox = Inbox()
    topic = unique("lw/ab")
    b.subscribe(topic, inbox, qos=1)
    for i in range(20):
        a.publish(topic, str(i), qos=1)
    assert inbox.wait(20)
    assert [p for _, p in inbox.items] == [str(i) for i in range(20)]


def test_pingresp_event(make_client, broker):
    client = make_client()
    pongs = Inbox()
    client.on(mqtt.PINGRESP, pongs)
    assert client.connect("127.0.0.1", 1, port=broker.port) == 0  # keepalive 1 s: pings
    assert pongs.wait(1, 4)
    assert pongs.items[0] == (client, {"return_code": 0})
