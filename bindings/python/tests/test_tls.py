"""connect(..., ssl_ctx=...) with Zerynth's ssl.create_ssl_context: server
authentication at each verify level, a wrong CA, an expired certificate, a
host name mismatch, mutual TLS, streams and NUL-terminated PEM, bad PEM."""
import os

import pytest
from conftest import unique
from lwmqtt import mqtt
from lwmqtt import ssl as zssl
from test_client import Inbox


def pem(certs, name):
    with open(os.path.join(certs, name)) as f:
        return f.read()


class Resource:
    """A Zerynth stream or resource: size() and read(n)."""

    def __init__(self, data):
        self.data = data.encode("utf-8")

    def size(self):
        return len(self.data)

    def read(self, n):
        return self.data[:n]


def test_create_ssl_context_is_zerynths_tuple(certs):
    ca = pem(certs, "ca.pem")
    ctx = zssl.create_ssl_context(cacert=ca)
    assert ctx == (ca, "", "", "", zssl.CERT_NONE | zssl.SERVER_AUTH)
    assert (zssl.CERT_NONE, zssl.CERT_OPTIONAL, zssl.CERT_REQUIRED, zssl.CLIENT_AUTH, zssl.SERVER_AUTH) == (1, 2, 4, 8, 16)
    assert zssl.create_ssl_context(cacert=Resource(ca)).cacert == ca.encode("utf-8")
    with pytest.raises(ValueError, match="CLIENT_AUTH"):
        zssl.create_ssl_context(cacert=ca, options=zssl.CERT_REQUIRED | zssl.CLIENT_AUTH)


def tls_roundtrip(client, port, ctx):
    assert client.connect("127.0.0.1", 30, port=port, ssl_ctx=ctx) == mqtt.RC_ACCEPTED
    inbox = Inbox()
    topic = unique("lw/tls")
    client.subscribe(topic, inbox, qos=1)
    client.publish(topic, "secret", qos=2)
    assert inbox.wait(1)
    assert inbox.items[0][1] == "secret"


def test_verified_server(make_client, broker, certs):
    ctx = zssl.create_ssl_context(cacert=pem(certs, "ca.pem"), options=zssl.CERT_REQUIRED | zssl.SERVER_AUTH)
    tls_roundtrip(make_client(), broker.tls_port, ctx)


def test_context_forms(make_client, broker, certs):
    ca = pem(certs, "ca.pem")
    # A plain tuple, a list, an object with the five attributes, a stream,
    # and PEM NUL-terminated as Zerynth wants it.
    for ctx in (
        (ca, "", "", "", zssl.CERT_REQUIRED),
        [ca.encode("utf-8") + b"\0", None, None, None, zssl.CERT_REQUIRED | zssl.SERVER_AUTH],
        zssl.SSLContext(Resource(ca), "", "", "127.0.0.1", zssl.CERT_REQUIRED),
    ):
        client = make_client()
        tls_roundtrip(client, broker.tls_port, ctx)
        client.disconnect()


def test_wrong_ca_is_refused_when_verification_is_required(make_client, broker, certs):
    client = make_client()
    ctx = zssl.create_ssl_context(cacert=pem(certs, "other-ca.pem"), options=zssl.CERT_REQUIRED)
    with pytest.raises(IOError) as raised:
        client.connect("127.0.0.1", 30, port=broker.tls_port, ssl_ctx=ctx)
    assert raised.value.code == 60  # EMQ_ERR_TLS_CERT_NOT_TRUSTED
    assert not client.connected()


@pytest.mark.parametrize("options", [zssl.CERT_NONE | zssl.SERVER_AUTH, zssl.CERT_OPTIONAL | zssl.SERVER_AUTH])
def test_wrong_ca_connects_without_required_verification(make_client, broker, certs, options):
    """Zerynth's default (CERT_NONE) and CERT_OPTIONAL do not stop the
    connection for an unverified certificate."""
    ctx = zssl.create_ssl_context(cacert=pem(certs, "other-ca.pem"), options=options)
    tls_roundtrip(make_client(), broker.tls_port, ctx)


def test_expired_certificate(make_client, broker, certs):
    ctx = zssl.create_ssl_context(cacert=pem(certs, "ca.pem"), options=zssl.CERT_REQUIRED)
    with pytest.raises(mqtt.MQTTError) as raised:
        make_client().connect("127.0.0.1", 30, port=broker.expired_port, ssl_ctx=ctx)
    assert raised.value.code == 62  # EMQ_ERR_TLS_CERT_EXPIRED


def test_hostname_mismatch(make_client, broker, certs):
    ctx = zssl.create_ssl_context(cacert=pem(certs, "ca.pem"), hostname="not-this.example", options=zssl.CERT_REQUIRED)
    with pytest.raises(mqtt.MQTTError) as raised:
        make_client().connect("127.0.0.1", 30, port=broker.tls_port, ssl_ctx=ctx)
    assert raised.value.code == 61  # EMQ_ERR_TLS_HOSTNAME_MISMATCH
    # The name the certificate has works when connecting by address.
    ok = zssl.create_ssl_context(cacert=pem(certs, "ca.pem"), hostname="localhost", options=zssl.CERT_REQUIRED)
    tls_roundtrip(make_client(), broker.tls_port, ok)


def test_mutual_tls(make_client, broker, certs):
    ca = pem(certs, "ca.pem")
    with_cert = zssl.create_ssl_context(
        cacert=ca, clicert=pem(certs, "client.pem"), pkey=pem(certs, "client.key"), options=zssl.CERT_REQUIRED
    )
    tls_roundtrip(make_client(), broker.mtls_port, with_cert)
    without = zssl.create_ssl_context(cacert=ca, options=zssl.CERT_REQUIRED)
    with pytest.raises(mqtt.MQTTError) as raised:
        make_client().connect("127.0.0.1", 30, port=broker.mtls_port, ssl_ctx=without)
    # The broker ends the handshake (or the connection right after it).
    assert raised.value.code in (15, 16, 63)


def test_bad_pem_is_a_value_error(make_client, broker):
    client = make_client()
    ctx = ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "", "", "", zssl.CERT_REQUIRED)
    with pytest.raises(ValueError, match="embermq refused"):
        client.connect("127.0.0.1", 30, port=broker.tls_port, ssl_ctx=ctx)
    with pytest.raises(ValueError, match="both clicert and pkey"):
        client.connect("127.0.0.1", 30, port=broker.tls_port, ssl_ctx=("", "cert", "", "", 1))


def test_plain_client_on_a_tls_port_fails_cleanly(make_client, broker):
    client = make_client(command_timeout=2000)
    with pytest.raises(mqtt.MQTTError):
        client.connect("127.0.0.1", 30, port=broker.tls_port)
    assert not client.connected()


def test_changing_ssl_ctx_between_connects(make_client, broker, certs):
    """TLS settings are fixed per embermq client: a different context makes
    a new one; the plain connection after it is plain again."""
    client = make_client()
    tls_roundtrip(client, broker.tls_port, zssl.create_ssl_context(cacert=pem(certs, "ca.pem")))
    client.disconnect()
    tls_roundtrip(client, broker.port, None)
