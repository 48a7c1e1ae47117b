"""ctypes declarations of the parts of include/embermq.h (host build) the
binding uses, and the loading of libembermq.so.

The structs mirror the header field by field; tests/test_layout.py compiles
a C program against the header and compares every offset, so a change to
the header that this file misses fails a test instead of corrupting
memory. Fields a newer header adds at the end of a struct are safe without
a change here: `struct_size` (options, callbacks) says what this file
knows, and the *_default() functions fill a padded copy.
"""
import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_void_p,
)

# --- emq_err values the binding names --------------------------------------
EMQ_OK = 0
EMQ_ERR_INVALID_ARGUMENT = 2
EMQ_ERR_NOT_CONNECTED = 10
EMQ_ERR_ALREADY_CONNECTED = 11
EMQ_ERR_CONNECTION_REFUSED = 12
EMQ_ERR_TIMEOUT = 17

EMQ_TLS_VERIFY_NONE = 0
EMQ_TLS_VERIFY_OPTIONAL = 1
EMQ_TLS_VERIFY_REQUIRED = 2

EMQ_TRANSPORT_TCP = 1
EMQ_TRANSPORT_TLS = 2

EMQ_LOG_NONE = 0

# Room after each struct when a *_default() function fills it: a newer
# library may know more fields than this file, and writes all it knows.
_SPARE_BYTES = 1024


class emq_tls_options(Structure):
    _fields_ = [
        ("ca_pem", c_char_p),
        ("ca_file", c_char_p),
        ("verify_mode", c_int),
        ("server_name", c_char_p),
        ("alpn_protocols", POINTER(c_char_p)),
        ("alpn_count", c_size_t),
        ("client_cert_pem", c_char_p),
        ("client_cert_file", c_char_p),
        ("client_key_pem", c_char_p),
        ("client_key_file", c_char_p),
        ("client_key_password", c_char_p),
    ]


class emq_persistence(Structure):
    _fields_ = [
        ("store", c_void_p),
        ("remove", c_void_p),
        ("load", c_void_p),
        ("user_data", c_void_p),
    ]


class emq_options(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("client_id", c_char_p),
        ("username", c_char_p),
        ("password", POINTER(c_uint8)),
        ("password_len", c_size_t),
        ("keepalive_secs", c_uint16),
        ("clean_session", c_bool),
        ("protocol_level", c_uint8),
        ("will_topic", c_char_p),
        ("will_payload", POINTER(c_uint8)),
        ("will_payload_len", c_size_t),
        ("will_qos", c_uint8),
        ("will_retain", c_bool),
        ("rx_buffer_size", c_size_t),
        ("tx_buffer_size", c_size_t),
        ("store_size", c_size_t),
        ("inflight_window", c_uint16),
        ("command_timeout_ms", c_uint32),
        ("tcp_nodelay", c_bool),
        ("log_level", c_int),
        ("tls", POINTER(emq_tls_options)),
        ("auto_reconnect", c_bool),
        ("reconnect_min_ms", c_uint32),
        ("reconnect_max_ms", c_uint32),
        ("resubscribe", c_bool),
        ("outbox_max_messages", c_uint16),
        ("queue_offline", c_bool),
        ("queue_qos0_offline", c_bool),
        ("persistence", emq_persistence),
        ("transport", c_int),
        ("reconnect_fixed_interval", c_bool),
        ("reconnect_after_connack_only", c_bool),
        ("drop_unacked_on_loss", c_bool),
        ("all_matching_handlers", c_bool),
        ("ws", c_void_p),
    ]


class emq_message(Structure):
    _fields_ = [
        ("topic", c_void_p),
        ("topic_len", c_size_t),
        ("payload", c_void_p),
        ("payload_len", c_size_t),
        ("qos", c_uint8),
        ("retain", c_bool),
        ("dup", c_bool),
        ("packet_id", c_uint16),
    ]


on_connect_t = CFUNCTYPE(None, c_void_p, c_void_p, c_bool, c_uint8)
on_disconnect_t = CFUNCTYPE(None, c_void_p, c_void_p, c_int)
on_message_t = CFUNCTYPE(None, c_void_p, c_void_p, POINTER(emq_message))
on_published_t = CFUNCTYPE(None, c_void_p, c_void_p, c_uint16)
on_subscribed_t = CFUNCTYPE(None, c_void_p, c_void_p, c_uint16, POINTER(c_uint8), c_size_t)
on_unsubscribed_t = CFUNCTYPE(None, c_void_p, c_void_p, c_uint16)
on_pubrec_t = CFUNCTYPE(None, c_void_p, c_void_p, c_uint16)
on_pingresp_t = CFUNCTYPE(None, c_void_p, c_void_p)


class emq_callbacks(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("on_connect", on_connect_t),
        ("on_disconnect", on_disconnect_t),
        ("on_message", on_message_t),
        ("on_published", on_published_t),
        ("on_subscribed", on_subscribed_t),
        ("on_unsubscribed", on_unsubscribed_t),
        ("on_log", c_void_p),
        ("on_overflow", c_void_p),
        ("on_log_event", c_void_p),
        ("on_connect_failed", c_void_p),
        ("on_dropped", c_void_p),
        ("on_pubrec", on_pubrec_t),
        ("on_pingresp", on_pingresp_t),
    ]


def _padded(struct_type):
    """A struct with spare room behind it, for *_default() to fill."""
    return type(
        "padded_" + struct_type.__name__,
        (Structure,),
        {"_fields_": [("value", struct_type), ("spare", c_uint8 * _SPARE_BYTES)]},
    )


padded_options = _padded(emq_options)
padded_callbacks = _padded(emq_callbacks)
padded_tls_options = _padded(emq_tls_options)


def _find_library():
    """EMBERMQ_LIB, else the build tree scripts/test-python.sh uses."""
    explicit = os.environ.get("EMBERMQ_LIB")
    if explicit:
        return explicit
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    for profile in ("debug", "release"):
        for target_dir in ("build/python/cargo-target", "target"):
            candidate = os.path.join(root, target_dir, profile, "libembermq.so")
            if os.path.exists(candidate):
                return candidate
    raise OSError(
        "libembermq.so not found: set EMBERMQ_LIB to its path, or build it "
        "(bash scripts/test-python.sh builds build/python/cargo-target/debug/libembermq.so)"
    )


def _declare(lib):
    client = c_void_p
    signatures = {
        "emq_options_default": (c_int, [POINTER(padded_options)]),
        "emq_callbacks_default": (c_int, [POINTER(padded_callbacks)]),
        "emq_tls_options_default": (c_int, [POINTER(padded_tls_options)]),
        "emq_client_new": (c_int, [POINTER(padded_options), POINTER(c_void_p)]),
        "emq_client_free": (c_int, [client]),
        "emq_client_set_callbacks": (c_int, [client, POINTER(emq_callbacks), c_void_p]),
        "emq_client_reconfigure": (c_int, [client, POINTER(padded_options)]),
        "emq_client_connect": (c_int, [client, c_char_p, c_uint16]),
        "emq_client_disconnect": (c_int, [client]),
        "emq_client_start": (c_int, [client]),
        "emq_client_stop": (c_int, [client]),
        "emq_client_wait": (c_int, [client, c_uint16, c_uint32]),
        "emq_client_publish": (
            c_int,
            [client, c_char_p, c_void_p, c_size_t, c_uint8, c_bool, POINTER(c_uint16)],
        ),
        "emq_client_subscribe": (c_int, [client, c_char_p, c_uint8, POINTER(c_uint16)]),
        "emq_client_unsubscribe": (c_int, [client, c_char_p, POINTER(c_uint16)]),
        "emq_client_is_connected": (c_bool, [client]),
        "emq_client_last_return_code": (c_uint8, [client]),
        "emq_client_last_error": (c_int, [client]),
        "emq_topic_name_check": (c_int, [c_char_p]),
        "emq_topic_filter_check": (c_int, [c_char_p]),
        "emq_topic_matches": (c_bool, [c_char_p, c_char_p, c_size_t]),
        "emq_err_str": (c_char_p, [c_int]),
        "emq_connack_str": (c_char_p, [c_uint8]),
        "emq_version": (c_char_p, []),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


# ctypes.CDLL releases the GIL around every call, so embermq's network
# thread can run the callbacks below (which take the GIL) while a Python
# thread waits inside emq_client_wait or emq_client_stop.
lib = _declare(ctypes.CDLL(_find_library()))


def err_str(code):
    return lib.emq_err_str(code).decode("utf-8", "replace")


def default_options():
    padded = padded_options()
    lib.emq_options_default(ctypes.byref(padded))
    # This file knows the fields up to sizeof(emq_options); fields of a
    # newer library keep the defaults just written behind them.
    padded.value.struct_size = ctypes.sizeof(emq_options)
    return padded


def default_callbacks():
    padded = padded_callbacks()
    lib.emq_callbacks_default(ctypes.byref(padded))
    padded.value.struct_size = ctypes.sizeof(emq_callbacks)
    return padded.value


def default_tls_options():
    padded = padded_tls_options()
    lib.emq_tls_options_default(ctypes.byref(padded))
    return padded
