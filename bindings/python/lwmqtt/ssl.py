"""Zerynth's ``ssl.create_ssl_context`` for the host, and how a context
becomes embermq's ``emq_tls_options``.

On Zerynth, ``ssl.create_ssl_context(cacert, clicert, pkey, hostname,
options)`` returns the plain tuple ``(cacert, clicert, pkey, hostname,
options)`` that ``mqtt.Client.connect(..., ssl_ctx=ctx)`` hands to the
secure socket. This module returns the same tuple (a named tuple, so the
fields have names too), and ``mqtt.Client.connect`` accepts it, any
5-element tuple or list in that order, or any object with those five
attributes.

Mapping onto ``emq_tls_options`` (bindings/python/README.md has the table):

- ``cacert`` -> ``ca_pem`` (empty: embermq's built-in Mozilla roots);
- ``clicert`` -> ``client_cert_pem``, ``pkey`` -> ``client_key_pem``;
- ``hostname`` -> ``server_name`` (empty: the host passed to connect);
- ``options``: ``CERT_NONE`` -> ``EMQ_TLS_VERIFY_NONE``, ``CERT_OPTIONAL``
  -> ``EMQ_TLS_VERIFY_OPTIONAL``, ``CERT_REQUIRED`` ->
  ``EMQ_TLS_VERIFY_REQUIRED`` (several: the strictest wins; none: NONE, as
  Zerynth's default ``CERT_NONE|SERVER_AUTH``). ``CLIENT_AUTH`` (a
  server-side context) is a ValueError: an MQTT client has no use for it.

Certificates and keys are PEM, as str, bytes or bytearray, or an object
with ``size()`` and ``read(n)`` (an open Zerynth stream or resource), as
Zerynth documents; Zerynth's trailing NUL byte is accepted and dropped.
"""
import ctypes
from collections import namedtuple

from . import _args, _capi

CERT_NONE = 1
CERT_OPTIONAL = 2
CERT_REQUIRED = 4
CLIENT_AUTH = 8
SERVER_AUTH = 16

_KNOWN_OPTIONS = CERT_NONE | CERT_OPTIONAL | CERT_REQUIRED | CLIENT_AUTH | SERVER_AUTH

SSLContext = namedtuple("SSLContext", "cacert clicert pkey hostname options")


def create_ssl_context(cacert="", clicert="", pkey="", hostname="", options=CERT_NONE | SERVER_AUTH):
    """Zerynth's ``ssl.create_ssl_context``: the context tuple
    ``(cacert, clicert, pkey, hostname, options)``. Streams (objects with
    ``size()`` and ``read(n)``) are read here, as Zerynth reads them."""
    cacert, clicert, pkey = (_read_stream(item) for item in (cacert, clicert, pkey))
    context = SSLContext(cacert, clicert, pkey, hostname, options)
    tls_options_from(context)  # refuse a bad context now, not at connect
    return context


def _read_stream(item):
    if hasattr(item, "read") and hasattr(item, "size"):
        return item.read(item.size())
    return item


def _fields(ssl_ctx):
    if isinstance(ssl_ctx, (tuple, list)):
        if len(ssl_ctx) != 5:
            raise ValueError(
                "ssl_ctx must have 5 items (cacert, clicert, pkey, hostname, options) "
                "as ssl.create_ssl_context returns, not %d" % len(ssl_ctx)
            )
        return tuple(ssl_ctx)
    try:
        return tuple(getattr(ssl_ctx, name) for name in SSLContext._fields)
    except AttributeError:
        raise TypeError(
            "ssl_ctx must be a context from ssl.create_ssl_context (a tuple "
            "cacert, clicert, pkey, hostname, options), not %s" % type(ssl_ctx).__name__
        ) from None


def _pem(name, value):
    """PEM text as bytes for the C API, None when not given."""
    value = _read_stream(value)
    if value is None:
        return None
    value = _args.binary("ssl_ctx " + name, value).rstrip(b"\0")  # Zerynth wants PEM data NUL-terminated
    if b"\0" in value:
        raise ValueError("ssl_ctx %s holds a NUL byte before its end" % name)
    return value or None


def _verify_mode(options):
    if isinstance(options, bool) or not isinstance(options, int):
        raise TypeError("ssl_ctx options must be an int (ssl.CERT_* | ssl.SERVER_AUTH)")
    if options < 0 or options & ~_KNOWN_OPTIONS:
        raise ValueError("ssl_ctx options 0x%x has unknown bits" % options)
    if options & CLIENT_AUTH:
        raise ValueError("ssl_ctx options: CLIENT_AUTH makes a server-side context; an MQTT client needs SERVER_AUTH")
    if options & CERT_REQUIRED:
        return _capi.EMQ_TLS_VERIFY_REQUIRED
    if options & CERT_OPTIONAL:
        return _capi.EMQ_TLS_VERIFY_OPTIONAL
    return _capi.EMQ_TLS_VERIFY_NONE


class TLSSettings:
    """An ``emq_tls_options`` filled from a context, with the byte strings
    it points to kept alive alongside it."""

    def __init__(self, cacert, clicert, pkey, server_name, verify_mode):
        self.key = (cacert, clicert, pkey, server_name, verify_mode)
        self.padded = _capi.default_tls_options()
        tls = self.padded.value
        tls.ca_pem = cacert
        tls.client_cert_pem = clicert
        tls.client_key_pem = pkey
        tls.server_name = server_name
        tls.verify_mode = verify_mode

    def pointer(self):
        return ctypes.cast(ctypes.byref(self.padded), ctypes.POINTER(_capi.emq_tls_options))


def tls_options_from(ssl_ctx):
    """A TLSSettings for a Zerynth context; TypeError/ValueError for a bad one."""
    cacert, clicert, pkey, hostname, options = _fields(ssl_ctx)
    verify_mode = _verify_mode(options)
    cacert, clicert, pkey = _pem("cacert", cacert), _pem("clicert", clicert), _pem("pkey", pkey)
    if (clicert is None) != (pkey is None):
        raise ValueError("ssl_ctx needs both clicert and pkey for a client certificate, or neither")
    server_name = _args.text("ssl_ctx hostname", "" if hostname is None else hostname)
    return TLSSettings(cacert, clicert, pkey, server_name or None, verify_mode)
