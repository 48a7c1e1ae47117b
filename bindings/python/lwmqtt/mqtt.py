"""
Zerynth's Lightweight MQTT Library (``mqtt``) over embermq.

The API of Zerynth's ``lwmqtt`` module (seed document
``004_ec32220e69eff14a.txt`` and the later ``lib.zerynth.lwmqtt``
documentation), with ``on``/``loop(on_message)`` and the command constants
of Zerynth's full ``mqtt`` library, over ``libembermq.so`` through ctypes.
No MQTT is done here: arguments are checked and converted, embermq is
called, and embermq's events are handed to the Python callbacks.

How it runs: ``connect`` connects with ``emq_client_connect`` and starts
embermq's network thread (``emq_client_start``), which keeps the connection
alive and receives. embermq calls the C callbacks below on that thread;
they only copy the event into a queue. The MQTT reception thread
(``loop``, started by ``connect``) takes events off the queue and runs the
Python callbacks, with no embermq lock held.

bindings/python/README.md maps every function to the embermq calls behind
it and lists where the behaviour differs from the Zerynth documents.
"""
import ctypes
import inspect
import queue
import sys
import threading
import traceback
import weakref

from . import _args, _capi
from . import ssl as _zssl
from ._capi import lib

PORT = 1883

# loop_failure return values
BREAK_LOOP = 0
RECOVERED = 1

# CONNACK return codes, as connect() and get_return_code() give them
RC_ACCEPTED = 0
RC_REFUSED_VERSION = 1
RC_REFUSED_IDENTIFIER = 2
RC_REFUSED_SERVER = 3
RC_REFUSED_BADUSRPWD = 4
RC_REFUSED_NOAUTH = 5

# Packet types for on() (Zerynth's full mqtt library)
CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
PUBREC = 0x50
PUBREL = 0x60
PUBCOMP = 0x70
SUBACK = 0x90
UNSUBACK = 0xB0
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0

# Commands on() takes. PUBREL and PINGREQ are accepted, as the document
# lists them, but never reported: a client is never sent PINGREQ, and
# embermq reports an inbound QoS 2 message once, as PUBLISH, not at its
# PUBREL (see the README).
ON_COMMANDS = (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGREQ, PINGRESP)

SUBACK_FAILURE = 0x80

# How long subscribe() waits for the SUBACK callback once embermq has
# seen the SUBACK (the callback runs just after).
_SUBACK_CALLBACK_WAIT_S = 5.0

# Wakes the reception thread (queued by disconnect()).
_WAKE = object()


class MQTTError(IOError):
    """An MQTT operation failed. ``code`` is embermq's ``emq_err`` value
    (None when the broker refused at the MQTT level, e.g. a SUBACK 0x80).
    An ``IOError`` (``OSError``), as Zerynth raises for these failures."""

    def __init__(self, code, what):
        reason = _capi.err_str(code) if code is not None else "refused by the broker"
        super().__init__("%s: %s" % (what, reason))
        self.code = code


class MQTTMessage:
    """A received message (the ``message`` item of on()'s data dictionary).

    topic (str), payload (str, or bytes when not UTF-8), qos, retain, dup,
    mid (the packet id; 0 for QoS 0)."""

    def __init__(self, topic, payload, qos, retain, dup, mid):
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.mid = mid

    def __repr__(self):
        return "MQTTMessage(topic=%r, payload=%r, qos=%d, retain=%r, mid=%d)" % (
            self.topic,
            self.payload,
            self.qos,
            self.retain,
            self.mid,
        )


# --- argument checks ---------------------------------------------------------


def _checked_topic(name, topic, check):
    encoded = _args.text(name, topic)
    err = check(encoded)
    if err != _capi.EMQ_OK:
        raise ValueError("%s %r: %s" % (name, topic, _capi.err_str(err)))
    return encoded


def _received_payload(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _takes_topic(function):
    """True when a subscribe() callback takes (client, payload, topic), as
    in later lwmqtt; the seed document's callbacks take (client, payload)."""
    try:
        signature = inspect.signature(function)
        signature.bind(None, None, None)
    except (TypeError, ValueError):
        return False
    return True


def _report_callback_error(what):
    print("lwmqtt: exception in %s (the reception thread goes on):" % what, file=sys.stderr)
    traceback.print_exc()


# --- the embermq handle ------------------------------------------------------


class _Native:
    """One embermq client and everything that must outlive it: the ctypes
    callback objects and the TLS settings. Calls hold a use count; release()
    stops the network thread, waits for the calls in progress to end, then
    frees the client. It runs at close(), when the Client is collected, or
    at interpreter exit (weakref.finalize), whichever comes first."""

    def __init__(self, handle, tls, c_callbacks):
        self.handle = handle
        self.tls = tls
        self.c_callbacks = c_callbacks
        self._cond = threading.Condition()
        self._users = 0
        self._released = False

    def __enter__(self):
        with self._cond:
            if self._released:
                raise MQTTError(_capi.EMQ_ERR_NOT_CONNECTED, "client is closed")
            self._users += 1
            return self.handle

    def __exit__(self, *exc):
        with self._cond:
            self._users -= 1
            self._cond.notify_all()
        return False

    def release(self):
        with self._cond:
            if self._released:
                return
            self._released = True
        # Calls in progress end within command_timeout; free must not run
        # under them. Free closes without DISCONNECT: the will is published.
        with self._cond:
            self._cond.wait_for(lambda: self._users == 0)
        lib.emq_client_free(self.handle)
        self.handle = None


def _make_c_callbacks(events, granted, granted_cond):
    """The C callbacks of one client. They run on embermq's network thread
    (or inside a call), never call Python callbacks and never call embermq:
    they copy the event and return. They hold no reference to the Client, so
    it can be collected while they are registered."""

    def on_disconnect(_user, _client, reason):
        if reason != _capi.EMQ_OK:
            events.put(("lost", reason))

    def on_message(_user, _client, message_ptr):
        m = message_ptr.contents
        topic = ctypes.string_at(m.topic, m.topic_len)
        payload = ctypes.string_at(m.payload, m.payload_len) if m.payload_len else b""
        events.put(("message", topic, payload, m.qos, bool(m.retain), bool(m.dup), m.packet_id))

    def on_published(_user, _client, packet_id):
        if packet_id:  # QoS 0 (id 0) has no acknowledgement to report
            events.put(("published", packet_id))

    def on_subscribed(_user, _client, packet_id, granted_qos, count):
        codes = [granted_qos[i] for i in range(count)]
        with granted_cond:
            granted[packet_id] = codes
            granted_cond.notify_all()
        events.put(("subscribed", packet_id, codes))

    def on_unsubscribed(_user, _client, packet_id):
        events.put(("unsubscribed", packet_id))

    def on_pubrec(_user, _client, packet_id):
        events.put(("pubrec", packet_id))

    def on_pingresp(_user, _client):
        events.put(("pingresp",))

    functions = {
        "on_disconnect": _capi.on_disconnect_t(on_disconnect),
        "on_message": _capi.on_message_t(on_message),
        "on_published": _capi.on_published_t(on_published),
        "on_subscribed": _capi.on_subscribed_t(on_subscribed),
        "on_unsubscribed": _capi.on_unsubscribed_t(on_unsubscribed),
        "on_pubrec": _capi.on_pubrec_t(on_pubrec),
        "on_pingresp": _capi.on_pingresp_t(on_pingresp),
    }
    table = _capi.default_callbacks()
    for name, function in functions.items():
        setattr(table, name, function)
    return table, functions


class Client:
    """
    .. class:: Client(client_id, clean_session=False, cycle_timeout=500, command_timeout=60000)

    :param client_id: unique ID of the MQTT client; may be empty with
        ``clean_session`` true (the broker assigns one).
    :param clean_session: ask the broker for a clean session (default
        False, as the seed document says).
    :param cycle_timeout: longest wait of the reception thread for an event
        before it checks whether it should stop (ms).
    :param command_timeout: longest wait for a connection, a SUBACK,
        UNSUBACK, PUBACK or PUBCOMP (ms); embermq's ``command_timeout_ms``.
    """

    def __init__(self, client_id, clean_session=False, cycle_timeout=500, command_timeout=60000):
        self._client_id = _args.text("client_id", client_id)
        self._clean_session = _args.flag("clean_session", clean_session)
        self._cycle_timeout_s = _args.integer("cycle_timeout", cycle_timeout, 1, 2**31 - 1) / 1000.0
        self._command_timeout = _args.integer("command_timeout", command_timeout, 1, 2**32 - 1)

        self._username = None
        self._password = None
        self._will = None

        self._lock = threading.RLock()  # settings, the handle, the tables below
        self._events = queue.SimpleQueue()
        self._granted = {}
        self._granted_cond = threading.Condition()
        self._native = None
        self._finalizer = None

        self._subscriptions = {}  # filter -> (encoded filter, function, takes topic)
        self._generic_handlers = {}  # command -> function
        self._specific_handlers = []  # [command, condition, function, priority]
        self._published_qos = {}  # packet id -> QoS of a publish awaiting its ack

        self._loop_thread = None
        self._loop_stop = None
        self._disconnected = True
        self._return_code = None
        self._connect_args = None

    # --- the embermq client ----------------------------------------------

    def _options(self, tls):
        padded = _capi.default_options()
        options = padded.value
        options.client_id = self._client_id
        options.clean_session = self._clean_session
        options.keepalive_secs = self._connect_args["keepalive"]
        options.command_timeout_ms = self._command_timeout
        # Paho embedded-C: no reconnect, no resubscribe, no offline queue.
        options.auto_reconnect = False
        options.resubscribe = False
        options.queue_offline = False
        options.log_level = _capi.EMQ_LOG_NONE
        keep = []  # the bytes the options point to, alive until copied
        if self._username is not None:
            options.username = self._username
            if self._password is not None:
                buffer = (ctypes.c_uint8 * max(len(self._password), 1)).from_buffer_copy(
                    self._password.ljust(1, b"\0")
                )
                keep.append(buffer)
                options.password = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8))
                options.password_len = len(self._password)
        if self._will is not None:
            topic, payload, qos, retain = self._will
            options.will_topic = topic
            buffer = (ctypes.c_uint8 * max(len(payload), 1)).from_buffer_copy(payload.ljust(1, b"\0"))
            keep.append(buffer)
            options.will_payload = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8))
            options.will_payload_len = len(payload)
            options.will_qos = qos
            options.will_retain = retain
        if tls is not None:
            options.tls = tls.pointer()
            options.transport = _capi.EMQ_TRANSPORT_TLS
        else:
            # No ssl_ctx: plain TCP on every port, 8883 included, as a
            # Zerynth socket.socket would be.
            options.transport = _capi.EMQ_TRANSPORT_TCP
        return padded, keep

    def _native_for(self, tls):
        """The embermq client for these TLS settings: the current one, or a
        new one (TLS settings are fixed when an embermq client is made)."""
        with self._lock:
            if self._native is not None:
                same = (self._native.tls is None and tls is None) or (
                    self._native.tls is not None and tls is not None and self._native.tls.key == tls.key
                )
                if same:
                    return self._native
                self._release_native()
            options, _keep = self._options(tls)
            handle = ctypes.c_void_p()
            err = lib.emq_client_new(ctypes.byref(options), ctypes.byref(handle))
            if err != _capi.EMQ_OK:
                # Bad option values, or certificates and keys embermq could
                # not use (its TLS errors are 60..69): the caller's arguments.
                if err == _capi.EMQ_ERR_INVALID_ARGUMENT or 60 <= err < 70:
                    raise ValueError("embermq refused the settings: %s" % _capi.err_str(err))
                raise MQTTError(err, "creating the client")
            table, functions = _make_c_callbacks(self._events, self._granted, self._granted_cond)
            native = _Native(handle, tls, (table, functions))
            lib.emq_client_set_callbacks(handle, ctypes.byref(table), None)
            self._native = native
            self._finalizer = weakref.finalize(self, native.release)
            return native

    def _release_native(self):
        with self._lock:
            native, self._native = self._native, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer()  # native.release(), once
        return native

    def _in_use(self, what):
        """The current embermq client, held for one call (``with``)."""
        with self._lock:
            native = self._native
        if native is None:
            raise MQTTError(_capi.EMQ_ERR_NOT_CONNECTED, what)
        return native

    # --- connection ------------------------------------------------------

    def connect(
        self,
        host,
        keepalive,
        port=PORT,
        ssl_ctx=None,
        sock_keepalive=None,
        breconnect_cb=None,
        aconnect_cb=None,
        loop_failure=None,
        start_loop=True,
    ):
        """
        .. method:: connect(host, keepalive, port=1883, ssl_ctx=None, sock_keepalive=None, breconnect_cb=None, aconnect_cb=None, loop_failure=None, start_loop=True)

        Connects to the broker and starts the MQTT reception thread.
        Returns the CONNACK return code (``RC_ACCEPTED`` or a refusal,
        which raises nothing, as Paho's MQTTConnect); raises ``MQTTError``
        (an IOError) when no connection could be made. ``ssl_ctx``: a
        context from ``lwmqtt.ssl.create_ssl_context``. ``sock_keepalive``
        ([count, idle, interval]) is checked and ignored (see the README).
        """
        args = {
            "host": _args.text("host", host, allow_empty=False),
            "keepalive": _args.integer("keepalive", keepalive, 0, 65535),
            "port": _args.integer("port", port, 1, 65535),
            "tls": None if ssl_ctx is None else _zssl.tls_options_from(ssl_ctx),
            "breconnect_cb": _args.callable_or_none("breconnect_cb", breconnect_cb),
            "aconnect_cb": _args.callable_or_none("aconnect_cb", aconnect_cb),
            "loop_failure": _args.callable_or_none("loop_failure", loop_failure),
        }
        if sock_keepalive is not None:
            if not isinstance(sock_keepalive, (list, tuple)) or len(sock_keepalive) != 3:
                raise TypeError("sock_keepalive must be a list [count, idle, interval] or None")
            for name, value in zip(("count", "idle", "interval"), sock_keepalive):
                _args.integer("sock_keepalive " + name, value, 0, 2**31 - 1)
        with self._lock:
            self._connect_args = args
        rc = self._ll_connect()
        if start_loop:
            self.loop()
        return rc

    def _ll_connect(self):
        with self._lock:
            args = self._connect_args
        native = self._native_for(args["tls"])
        options, _keep = self._options(args["tls"])
        with native as handle:
            err = lib.emq_client_reconfigure(handle, ctypes.byref(options))
            if err == _capi.EMQ_OK:
                err = lib.emq_client_connect(handle, args["host"], args["port"])
            if err == _capi.EMQ_OK:
                err = lib.emq_client_start(handle)
            return_code = lib.emq_client_last_return_code(handle)
        where = "connect to %s:%d" % (args["host"].decode("utf-8"), args["port"])
        if err == _capi.EMQ_ERR_CONNECTION_REFUSED:
            self._return_code = return_code
            return return_code
        if err != _capi.EMQ_OK:
            raise MQTTError(err, where)
        self._return_code = RC_ACCEPTED
        self._disconnected = False
        if args["aconnect_cb"] is not None:
            args["aconnect_cb"](self)
        return RC_ACCEPTED

    def get_return_code(self):
        """The CONNACK return code of the last connection attempt (None before any)."""
        return self._return_code

    def reconnect(self):
        """Calls ``breconnect_cb``, drops the connection if any, and
        connects again with the arguments of the last connect(). Returns
        the CONNACK return code, or raises MQTTError."""
        with self._lock:
            args = self._connect_args
        if args is None:
            raise MQTTError(_capi.EMQ_ERR_NOT_CONNECTED, "reconnect before connect")
        if args["breconnect_cb"] is not None:
            args["breconnect_cb"](self)
        with self._in_use("reconnect") as handle:
            lib.emq_client_disconnect(handle)  # not connected any more is fine here
        return self._ll_connect()

    def connected(self):
        """True while connected (CONNACK accepted and the link up)."""
        with self._lock:
            native = self._native
        if native is None:
            return False
        try:
            with native as handle:
                return bool(lib.emq_client_is_connected(handle))
        except MQTTError:
            return False

    def disconnect(self, timeout=None):
        """Sends DISCONNECT, waits for the reception thread to end (at most
        ``timeout`` ms, then TimeoutError), and stops embermq's network
        thread. Raises MQTTError if DISCONNECT could not be sent (not
        connected), after that clean-up."""
        if timeout is not None:
            timeout = _args.integer("timeout", timeout, 0, 2**31 - 1)
        self._disconnected = True
        error = None
        with self._lock:
            native = self._native
        if native is None:
            error = MQTTError(_capi.EMQ_ERR_NOT_CONNECTED, "disconnect")
        else:
            try:
                with native as handle:
                    err = lib.emq_client_disconnect(handle)
                    # The network thread ends too; connect() starts it again.
                    lib.emq_client_stop(handle)
                if err != _capi.EMQ_OK:
                    error = MQTTError(err, "disconnect")
            except MQTTError as closed:
                error = closed
        timed_out = not self._stop_loop(timeout)
        if timed_out:
            raise TimeoutError("the reception thread did not end within %d ms" % timeout)
        if error is not None:
            raise error

    def close(self):
        """Ends the connection without DISCONNECT (the broker publishes the
        will), stops both threads and frees the embermq client. The Client
        may connect() again later. Also done when the Client is collected
        and at interpreter exit."""
        self._disconnected = True
        self._stop_loop(None)
        self._release_native()

    # --- settings ----------------------------------------------------------

    def set_username_pw(self, username, password=""):
        """Sets the username and password of the next connections
        (``password`` None: none)."""
        username = _args.text("username", username)
        password = None if password is None else _args.binary("password", password)
        with self._lock:
            self._username = username
            self._password = password

    def set_will(self, topic, payload, qos=0, retain=True):
        """Sets the last will of the next connections."""
        topic = _checked_topic("will topic", topic, lib.emq_topic_name_check)
        payload = _args.binary("will payload", payload)
        qos = _args.integer("will qos", qos, 0, 2)
        retain = _args.flag("will retain", retain)
        with self._lock:
            self._will = (topic, payload, qos, retain)

    # --- messages ----------------------------------------------------------

    def publish(self, topic, payload="", qos=0, retain=False):
        """Publishes ``payload`` (str as UTF-8, or bytes) on ``topic``. QoS 1
        and 2 wait for PUBACK / PUBCOMP, as Paho's MQTTPublish. Returns the
        packet id (0 for QoS 0); raises MQTTError on failure."""
        encoded_topic = _checked_topic("topic", topic, lib.emq_topic_name_check)
        data = _args.binary("payload", payload)
        qos = _args.integer("qos", qos, 0, 2)
        retain = bool(retain)  # Zerynth: any value, as its truth
        packet_id = ctypes.c_uint16(0)
        with self._in_use("publish") as handle:
            # Held until the id is recorded, so the reception thread knows
            # whether its acknowledgement is a PUBACK or a PUBCOMP.
            with self._lock:
                err = lib.emq_client_publish(
                    handle, encoded_topic, data, len(data), qos, retain, ctypes.byref(packet_id)
                )
                if err == _capi.EMQ_OK and qos:
                    self._published_qos[packet_id.value] = qos
            if err == _capi.EMQ_OK and qos:
                err = lib.emq_client_wait(handle, packet_id.value, self._command_timeout)
        if err != _capi.EMQ_OK:
            raise MQTTError(err, "publish to %r" % topic)
        return packet_id.value

    def subscribe(self, topic, function, qos=0):
        """Subscribes to ``topic`` (a filter) and calls ``function(client,
        payload)`` for each message on it, on the reception thread (with a
        third argument, the topic, if the function takes one). Waits for
        the SUBACK; raises MQTTError if it refuses or does not come."""
        encoded = _checked_topic("topic", topic, lib.emq_topic_filter_check)
        if not callable(function):
            raise TypeError("function must be callable, not %s" % type(function).__name__)
        qos = _args.integer("qos", qos, 0, 2)
        with self._lock:
            previous = self._subscriptions.get(topic)
            # Registered first: a retained message may come before SUBACK.
            self._subscriptions[topic] = (encoded, function, _takes_topic(function))
        try:
            self._request(lib.emq_client_subscribe, encoded, qos, "subscribe to %r" % topic, granted=True)
        except BaseException:
            with self._lock:
                if previous is None:
                    self._subscriptions.pop(topic, None)
                else:
                    self._subscriptions[topic] = previous
            raise

    def unsubscribe(self, topic):
        """Unsubscribes from ``topic`` and forgets its callback. Waits for
        the UNSUBACK; raises MQTTError on failure."""
        encoded = _checked_topic("topic", topic, lib.emq_topic_filter_check)
        self._request(lib.emq_client_unsubscribe, encoded, None, "unsubscribe from %r" % topic)
        with self._lock:
            self._subscriptions.pop(topic, None)

    def _request(self, call, encoded, qos, what, granted=False):
        """SUBSCRIBE or UNSUBSCRIBE, then the wait for its acknowledgement."""
        packet_id = ctypes.c_uint16(0)
        with self._in_use(what) as handle:
            if qos is None:
                err = call(handle, encoded, ctypes.byref(packet_id))
            else:
                err = call(handle, encoded, qos, ctypes.byref(packet_id))
            if err == _capi.EMQ_OK:
                err = lib.emq_client_wait(handle, packet_id.value, self._command_timeout)
        if err != _capi.EMQ_OK:
            raise MQTTError(err, what)
        if granted:
            with self._granted_cond:
                self._granted_cond.wait_for(lambda: packet_id.value in self._granted, _SUBACK_CALLBACK_WAIT_S)
                codes = self._granted.pop(packet_id.value, None)
            if codes is None:
                raise MQTTError(_capi.EMQ_ERR_TIMEOUT, what)
            if codes[0] == SUBACK_FAILURE:
                raise MQTTError(None, what)

    # --- callbacks and the reception thread ---------------------------------

    def on(self, command, function, condition=None, priority=0):
        """Zerynth's full mqtt library: calls ``function(client, data)`` for
        each ``command`` (PUBLISH, PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK,
        PINGRESP; PUBREL and PINGREQ are accepted and never come). With a
        ``condition(data)``, the callback is a specific one: of the specific
        callbacks whose condition holds, the first with the highest priority
        runs; the generic one (no condition) only when none does."""
        if isinstance(command, bool) or not isinstance(command, int):
            raise TypeError("command must be an int (mqtt.PUBLISH, ...), not %s" % type(command).__name__)
        if command not in ON_COMMANDS:
            raise ValueError("command 0x%x is not one of mqtt.PUBLISH, PUBACK, ..., PINGRESP" % command)
        if not callable(function):
            raise TypeError("function must be callable, not %s" % type(function).__name__)
        _args.callable_or_none("condition", condition)
        _args.integer("priority", priority, -(2**31), 2**31 - 1)
        with self._lock:
            if condition:
                self._specific_handlers.append([command, condition, function, priority])
            else:
                self._generic_handlers[command] = function

    def loop(self, on_message=None):
        """Starts the MQTT reception thread (connect() does, unless
        ``start_loop`` is False). ``on_message(client, data)``: also a
        generic PUBLISH callback, as in Zerynth's full mqtt library."""
        _args.callable_or_none("on_message", on_message)
        if on_message is not None:
            self.on(PUBLISH, on_message)
        with self._lock:
            if self._loop_thread is not None and self._loop_thread.is_alive():
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._loop, args=(stop,), name="lwmqtt-loop", daemon=True)
            self._loop_thread, self._loop_stop = thread, stop
        thread.start()

    def _stop_loop(self, timeout_ms):
        """Ends the reception thread; False if it did not end in time."""
        with self._lock:
            thread, stop = self._loop_thread, self._loop_stop
        if thread is None:
            return True
        stop.set()
        self._events.put(_WAKE)
        if thread is threading.current_thread():
            return True  # asked from a callback: it ends when that returns
        thread.join(None if timeout_ms is None else timeout_ms / 1000.0)
        return not thread.is_alive()

    def _loop(self, stop):
        while not stop.is_set():
            try:
                event = self._events.get(timeout=self._cycle_timeout_s)
            except queue.Empty:
                continue
            if event is _WAKE:
                continue
            if event[0] == "lost":
                if self._disconnected or self.connected():
                    continue  # our own disconnect, or already reconnected
                if not self._recovered():
                    break
                continue
            self._dispatch(event)

    def _recovered(self):
        """A lost connection: loop_failure decides whether the thread goes on."""
        with self._lock:
            handler = (self._connect_args or {}).get("loop_failure")
        if handler is None:
            return False
        try:
            return handler(self) == RECOVERED
        except Exception:
            _report_callback_error("loop_failure")
            return False

    def _dispatch(self, event):
        kind = event[0]
        if kind == "message":
            _, topic, payload, qos, retain, dup, mid = event
            self._deliver(topic, MQTTMessage(topic.decode("utf-8", "replace"), _received_payload(payload), qos, retain, dup, mid))
        elif kind == "published":
            with self._lock:
                qos = self._published_qos.pop(event[1], None)
            if qos is not None:
                self._run_handlers(PUBACK if qos == 1 else PUBCOMP, {"mid": event[1], "return_code": 0})
        elif kind == "subscribed":
            codes = event[2]
            granted = codes[0] if len(codes) == 1 else codes
            self._run_handlers(SUBACK, {"mid": event[1], "granted_qos": granted, "return_code": 0})
        elif kind == "unsubscribed":
            self._run_handlers(UNSUBACK, {"mid": event[1], "return_code": 0})
        elif kind == "pubrec":
            self._run_handlers(PUBREC, {"mid": event[1], "return_code": 0})
        elif kind == "pingresp":
            self._run_handlers(PINGRESP, {"return_code": 0})

    def _deliver(self, raw_topic, message):
        with self._lock:
            subscriptions = list(self._subscriptions.values())
        for encoded, function, takes_topic in subscriptions:
            if not lib.emq_topic_matches(encoded, raw_topic, len(raw_topic)):
                continue
            try:
                if takes_topic:
                    function(self, message.payload, message.topic)
                else:
                    function(self, message.payload)
            except Exception:
                _report_callback_error("the subscribe() callback of %r" % message.topic)
        self._run_handlers(PUBLISH, {"message": message, "return_code": 0})

    def _run_handlers(self, command, data):
        """Zerynth's full mqtt library's choice: the matching specific
        callback of highest priority (first of equals), else the generic one."""
        with self._lock:
            specific = list(self._specific_handlers)
            generic = self._generic_handlers.get(command)
        chosen, chosen_priority = None, -100
        try:
            for handler_command, condition, function, priority in specific:
                if chosen_priority >= priority:
                    continue
                if handler_command == command and condition(data):
                    chosen, chosen_priority = function, priority
            if chosen is None:
                chosen = generic
            if chosen is not None:
                chosen(self, data)
        except Exception:
            _report_callback_error("an on(0x%x) callback" % command)
