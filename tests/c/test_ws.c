/* MQTT over WebSocket from C (host build): ws:// and wss:// URIs to the
 * private mosquitto behind scripts/ws-bridge.py (with-broker.sh with
 * EMQ_BROKER_WS=1, and EMQ_BROKER_TLS_DIR for wss://). QoS 0, 1 and 2 round
 * trips with payloads up to 256 KiB, polled and on the network thread
 * (emq_client_set_server), with extra upgrade headers; bad URIs and
 * options refused by name. (Bad server answers and frames are scripted in
 * tests/websocket.rs.) */
#include "harness.h"

#include <stdlib.h>

#define BIG (256 * 1024)

static uint8_t *pattern(size_t len, uint8_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    size_t i;
    CHECK(p != NULL);
    for (i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 31u) ^ seed;
    }
    return p;
}

static uint16_t env_port(const char *name)
{
    const char *v = getenv(name);
    return v ? (uint16_t)atoi(v) : 0;
}

/* Round trips at QoS 0, 1, 2 of sizes 1 B .. 256 KiB through `uri`. */
static void round_trips(const char *uri, const emq_tls_options *tls, bool thread)
{
    static const size_t sizes[] = {1, 126, 70000, BIG};
    emq_options o;
    emq_ws_options ws;
    rec r;
    char id[64], filter[96], topic[128];
    emq_client *c;
    int q, s, expected = 0;

    memset(&r, 0, sizeof r);
    CHECK_OK(emq_options_default(&o));
    CHECK_OK(emq_ws_options_default(&ws));
    ws.headers = "Authorization: Bearer embermq-test\r\nX-Test: 1";
    o.ws = &ws;
    o.tls = tls;
    o.client_id = test_unique(id, sizeof id, "emq-ws");
    o.rx_buffer_size = BIG + 1024;
    o.tx_buffer_size = BIG + 1024;
    o.store_size = 4 * (BIG + 1024);
    c = test_client(&o, &r);
    snprintf(filter, sizeof filter, "embermq/test/ws/%s/#", id);
    if (thread) {
        CHECK_OK(emq_client_set_server(c, uri));
        CHECK_OK(emq_client_start(c));
        /* on_connect runs on the network thread just after the state
         * says connected: wait for both (valgrind widened that gap). */
        WAIT_UNTIL(emq_client_is_connected(c) && r.connects == 1, 10000);
    } else {
        CHECK_OK(emq_client_connect_uri(c, uri));
    }
    CHECK(r.connects == 1 && r.connect_code == 0);
    test_subscribe(c, &r, filter, 2);
    for (q = 0; q < 3; q++) {
        for (s = 0; s < (int)(sizeof sizes / sizeof sizes[0]); s++) {
            uint8_t *body = pattern(sizes[s], (uint8_t)(q * 16 + s));
            uint16_t pid = 0;
            snprintf(topic, sizeof topic, "embermq/test/ws/%s/q%d/%d", id, q, s);
            CHECK_OK(emq_client_publish(c, topic, body, sizes[s], (uint8_t)q, false, &pid));
            expected++;
            if (thread) {
                WAIT_UNTIL(r.message_count == expected, 10000);
            } else {
                POLL_UNTIL(c, r.message_count == expected, 10000);
            }
            {
                const rec_message *m = rec_find(&r, topic);
                CHECK(m != NULL);
                CHECK(m->payload_len == sizes[s]);
                CHECK(memcmp(m->payload, body, sizes[s]) == 0);
                CHECK(m->qos == q);
            }
            free(body);
        }
    }
    if (thread) {
        CHECK_OK(emq_client_stop(c));
    } else {
        CHECK_OK(emq_client_disconnect(c));
    }
    CHECK(r.disconnect_reason == EMQ_OK);
    CHECK_OK(test_client_free(c));
    rec_free(&r);
}

int main(void)
{
    uint16_t ws_port = env_port("EMQ_TEST_WS_PORT");
    uint16_t wss_port = env_port("EMQ_TEST_WSS_PORT");
    char uri[128];
    rec r;
    emq_client *c;

    CHECK(ws_port != 0); /* run with EMQ_BROKER_WS=1 */
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%u/mqtt", ws_port);
    round_trips(uri, NULL, false);
    round_trips(uri, NULL, true);

    if (wss_port != 0) {
        emq_tls_options tls;
        char ca[512];
        const char *dir = getenv("EMQ_TEST_CERT_DIR");
        CHECK(dir != NULL);
        snprintf(ca, sizeof ca, "%s/ca.pem", dir);
        CHECK_OK(emq_tls_options_default(&tls));
        tls.ca_file = ca;
        snprintf(uri, sizeof uri, "wss://localhost:%u/mqtt", wss_port);
        round_trips(uri, &tls, false);
        round_trips(uri, &tls, true);
    }

    /* URIs and options that cannot work are refused by name. */
    memset(&r, 0, sizeof r);
    c = test_client(NULL, &r);
    CHECK_ERR(emq_client_connect_uri(c, "ws://127.0.0.1:1/a b"), EMQ_ERR_INVALID_URI);
    CHECK_ERR(emq_client_connect_uri(c, "ws://user@127.0.0.1/mqtt"), EMQ_ERR_INVALID_URI);
    /* The plain MQTT port does not speak HTTP: mosquitto hangs up. */
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%u/mqtt", test_port());
    CHECK(emq_client_connect_uri(c, uri) != EMQ_OK);
    CHECK(!emq_client_is_connected(c));
    CHECK_OK(test_client_free(c));
    {
        emq_options o;
        emq_ws_options ws;
        CHECK_OK(emq_options_default(&o));
        CHECK_OK(emq_ws_options_default(&ws));
        o.ws = &ws;
        ws.headers = "Host: elsewhere";
        CHECK_ERR(emq_client_new(&o, &c), EMQ_ERR_INVALID_ARGUMENT);
        ws.headers = NULL;
        ws.path = "no-slash";
        CHECK_ERR(emq_client_new(&o, &c), EMQ_ERR_INVALID_ARGUMENT);
    }
    CHECK(strcmp(emq_err_str(EMQ_ERR_WS_BAD_ACCEPT),
                 "WebSocket: missing or wrong Sec-WebSocket-Accept") == 0);
    rec_free(&r);
    puts("test_ws: ok");
    return 0;
}
