/* emq_options.transport, in both builds.
 *
 * Hosts: EMQ_TRANSPORT_TCP with `tls` options set, and values out of range,
 * are refused by emq_client_new; EMQ_TRANSPORT_TLS against the plain test
 * broker fails with a TLS error in bounded time; a URI's scheme wins over
 * the choice. On 127.0.0.1:8883 (only if that port is free: otherwise the
 * part is skipped, and says so) a stand-in broker of this test checks the
 * first byte a client sends: EMQ_TRANSPORT_TCP speaks plain MQTT there
 * (CONNECT, 0x10) and connects, AUTO starts TLS (a handshake record, 0x16).
 *
 * Firmware: EMQ_TRANSPORT_TLS is EMQ_ERR_TLS_UNAVAILABLE from
 * emq_client_init; AUTO and TCP connect over the transport callbacks. */
#include "harness.h"
#include "net_util.h"
#include "rec_ext.h"

static emq_options with_transport(char *id, size_t size, int transport)
{
    emq_options o = xrec_options(id, size, "emq-transport");
    o.transport = transport;
    return o;
}

static emq_err creation(const emq_options *o)
{
    emq_client *c = NULL;
    emq_err err = test_client_new(o, &c);
    if (err == EMQ_OK) {
        CHECK(c != NULL);
        CHECK_OK(test_client_free(c));
    } else {
        CHECK(c == NULL);
    }
    return err;
}

/* Connects with `transport` to the test broker, checks it works. */
static void plain_connect(int transport)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = with_transport(id, sizeof id, transport);
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    test_connect(c, &x.r);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
}

static void invalid_values(void)
{
    char id[64];
    emq_options o;
    o = with_transport(id, sizeof id, 7);
    CHECK_ERR(creation(&o), EMQ_ERR_INVALID_ARGUMENT);
    o = with_transport(id, sizeof id, -1);
    CHECK_ERR(creation(&o), EMQ_ERR_INVALID_ARGUMENT);
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_TLS + 1);
    CHECK_ERR(creation(&o), EMQ_ERR_INVALID_ARGUMENT);
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_AUTO);
    CHECK_OK(creation(&o));
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_TCP);
    CHECK_OK(creation(&o));
}

#ifdef EMBERMQ_FIRMWARE

static void firmware(void)
{
    char id[64];
    emq_options o = with_transport(id, sizeof id, EMQ_TRANSPORT_TLS);
    CHECK_ERR(creation(&o), EMQ_ERR_TLS_UNAVAILABLE);
    plain_connect(EMQ_TRANSPORT_AUTO);
    plain_connect(EMQ_TRANSPORT_TCP);
    printf("firmware: TLS unavailable, AUTO and TCP connect\n");
}

#else

static bool tls_error(emq_err err)
{
    return err >= EMQ_ERR_TLS_CERT_NOT_TRUSTED && err <= EMQ_ERR_TLS_UNAVAILABLE;
}

/* TLS to a plain MQTT listener: the broker reads the ClientHello as a
 * malformed packet and closes the socket mid-handshake. The result is a
 * TLS error (EMQ_ERR_TLS_HANDSHAKE_FAILED), in bounded time. */
static void check_tls_failure(emq_err err)
{
    CHECK(tls_error(err));
}

static void host_options(void)
{
    char id[64];
    emq_options o;
    emq_tls_options tls;
    CHECK_OK(emq_tls_options_default(&tls));
    /* Plain TCP chosen, TLS settings given: one of them is a mistake. */
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_TCP);
    o.tls = &tls;
    CHECK_ERR(creation(&o), EMQ_ERR_INVALID_ARGUMENT);
    /* With AUTO or TLS the same settings are fine. */
    o.transport = EMQ_TRANSPORT_AUTO;
    CHECK_OK(creation(&o));
    o.transport = EMQ_TRANSPORT_TLS;
    CHECK_OK(creation(&o));
}

/* TLS to the plain broker: a TLS error, well within the timeout. */
static void tls_to_plain_broker(void)
{
    xrec x;
    emq_client *c;
    char id[64], uri[64];
    emq_options o = with_transport(id, sizeof id, EMQ_TRANSPORT_TLS);
    uint64_t t0;
    emq_err err;
    memset(&x, 0, sizeof x);
    o.command_timeout_ms = 3000;
    c = xrec_client(&o, &x);
    t0 = test_now_ms();
    err = emq_client_connect(c, test_host(), test_port());
    printf("TLS to the plain broker: %d (%s) after %d ms\n", (int)err, emq_err_str((int)err),
           (int)(test_now_ms() - t0));
    check_tls_failure(err);
    CHECK(test_now_ms() - t0 < 3000 + 1000); /* not a hang */
    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], err);
    CHECK(x.r.connects == 0);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);

    /* A URI's scheme wins over the choice: mqtt:// is plain TCP. */
    snprintf(uri, sizeof uri, "mqtt://%s:%u", test_host(), (unsigned)test_port());
    CHECK_OK(emq_client_connect_uri(c, uri));
    CHECK(x.r.connects == 1 && x.r.connect_code == 0);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));

    /* ... and mqtts:// is TLS, even with TCP chosen. */
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_TCP);
    o.command_timeout_ms = 3000;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    snprintf(uri, sizeof uri, "mqtts://%s:%u", test_host(), (unsigned)test_port());
    err = emq_client_connect_uri(c, uri);
    check_tls_failure(err);
    CHECK(x.failed == 1 && x.r.connects == 0);
    CHECK_OK(test_client_free(c));
}

/* Accepts one client on the stand-in broker and reads the first byte it
 * sent into `*first`; returns the socket. */
static int first_byte(int listener, uint8_t *first)
{
    int fd = test_accept(listener, 3000);
    CHECK(fd >= 0);
    CHECK(test_read_some(fd, first, 1, 3000) == 1);
    return fd;
}

static void port_8883(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o;
    uint8_t first = 0;
    int listener = test_listen_on(8883, 4, NULL), fd, elapsed;
    uint64_t t0;
    emq_err err;
    if (listener < 0) {
        printf("port 8883: in use, EMQ_TRANSPORT_TCP on 8883 SKIPPED\n");
        return;
    }

    /* TCP on 8883: CONNECT in plain MQTT, and the connection works. */
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_TCP);
    o.command_timeout_ms = 3000;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    CHECK_OK(emq_client_connect_start(c, "127.0.0.1", 8883));
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    fd = first_byte(listener, &first);
    CHECK(first == 0x10); /* MQTT CONNECT, not a TLS record */
    {
        static const uint8_t connack[4] = {0x20, 0x02, 0x00, 0x00};
        uint8_t rest[256];
        CHECK(test_read_some(fd, rest, sizeof rest, 1000) > 0); /* the rest of CONNECT */
        CHECK(send(fd, connack, sizeof connack, MSG_NOSIGNAL) == (ssize_t)sizeof connack);
    }
    POLL_UNTIL(c, x.r.connects == 1, 3000);
    CHECK(x.r.connect_code == 0 && x.failed == 0);
    CHECK(emq_client_is_connected(c));
    CHECK_ERR(emq_client_tls_verify_result(c), EMQ_ERR_TLS_NOT_VERIFIED); /* no TLS used */
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
    close(fd);

    /* AUTO on 8883: TLS. The stand-in never answers the handshake, so
     * the attempt ends at the command timeout; the first byte it got
     * shows what was sent. */
    o = with_transport(id, sizeof id, EMQ_TRANSPORT_AUTO);
    o.command_timeout_ms = 300;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    t0 = test_now_ms();
    err = emq_client_connect(c, "127.0.0.1", 8883);
    elapsed = (int)(test_now_ms() - t0);
    CHECK(err != EMQ_OK);
    CHECK(elapsed < 300 + 2000); /* bounded by the command timeout */
    CHECK(x.failed == 1 && x.r.connects == 0);
    CHECK_ERR(x.failed_reason[0], err);
    CHECK_OK(test_client_free(c));
    fd = first_byte(listener, &first);
    CHECK(first == 0x16); /* a TLS handshake record */
    close(fd);
    close(listener);
    printf("port 8883: TCP sent CONNECT (0x10) and connected; AUTO sent TLS (0x16), failed "
           "with %d (%s) after %d ms\n",
           (int)err, emq_err_str((int)err), elapsed);
}

#endif

int main(void)
{
    invalid_values();
#ifdef EMBERMQ_FIRMWARE
    firmware();
#else
    host_options();
    plain_connect(EMQ_TRANSPORT_AUTO);
    plain_connect(EMQ_TRANSPORT_TCP);
    tls_to_plain_broker();
    port_8883();
#endif
    printf("test_transport_choice (%s build): ok\n", TEST_BUILD);
    return 0;
}
