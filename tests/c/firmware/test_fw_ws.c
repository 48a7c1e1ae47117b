/* The firmware build's WebSocket layer (cargo feature `websocket`) over its
 * C transport callbacks (the POSIX sockets of fw_posix.h), against the
 * private mosquitto behind scripts/ws-bridge.py (with-broker.sh with
 * EMQ_BROKER_WS=1): the upgrade in the caller's buffer, masking keys from
 * the firmware's random callback, QoS 0, 1 and 2 round trips, a reconnect
 * after a cut link, and the checks of emq_client_set_websocket. */
#include "fw_harness.h"

#include <stdlib.h>

static fw_storage storage;
static uint8_t rx[2048], tx[2048], store[2048], ws_buffer[1024];
static int random_calls;

/* xorshift32: a test's random source (firmware would use its TRNG). */
static int test_random(void *ud, uint8_t *buf, size_t len)
{
    uint32_t *state = ud;
    size_t i;
    random_calls++;
    for (i = 0; i < len; i++) {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        buf[i] = (uint8_t)*state;
    }
    return 0;
}

int main(void)
{
    fw_net net;
    emq_transport transport = fw_transport(&net);
    emq_buffers buffers = {.rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx, .store = store, .store_size = sizeof store};
    emq_options o;
    emq_ws_options ws;
    emq_callbacks cb = fw_callbacks();
    emq_client *client;
    fw_rec r;
    uint32_t seed = (uint32_t)getpid() | 1u;
    const char *port_text = getenv("EMQ_TEST_WS_PORT");
    uint16_t ws_port;
    char id[64], filter[128], topic[3][128];
    uint16_t sub_id, ids[3];
    int q, before;

    CHECK(port_text != NULL); /* run with EMQ_BROKER_WS=1 */
    ws_port = (uint16_t)atoi(port_text);
    snprintf(id, sizeof id, "emq-fw-ws-%ld", (long)getpid());
    snprintf(filter, sizeof filter, "embermq/test/fw-ws/%ld/#", (long)getpid());
    memset(&r, 0, sizeof r);

    CHECK_OK(emq_options_default(&o));
    CHECK_OK(emq_ws_options_default(&ws));
    o.client_id = id;
    o.keepalive_secs = 5;
    o.command_timeout_ms = 3000;
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                             &client));

    /* Option checks: a random source and a buffer are required. */
    CHECK_ERR(emq_client_set_websocket(NULL, &ws), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_set_websocket(client, &ws), EMQ_ERR_NULL_POINTER);
    ws.random = test_random;
    ws.random_user_data = &seed;
    CHECK_ERR(emq_client_set_websocket(client, &ws), EMQ_ERR_NULL_POINTER);
    ws.buffer = ws_buffer;
    ws.buffer_size = 64;
    CHECK_ERR(emq_client_set_websocket(client, &ws), EMQ_ERR_BUFFER_TOO_SMALL);
    ws.buffer_size = sizeof ws_buffer;
    ws.headers = "Upgrade: h2c";
    CHECK_ERR(emq_client_set_websocket(client, &ws), EMQ_ERR_INVALID_ARGUMENT);
    ws.headers = "Authorization: Bearer firmware";
    ws.path = "mqtt";
    CHECK_ERR(emq_client_set_websocket(client, &ws), EMQ_ERR_INVALID_ARGUMENT);
    ws.path = "/mqtt";
    CHECK_OK(emq_client_set_websocket(client, &ws));
    CHECK_OK(emq_client_set_callbacks(client, &cb, &r));

    /* The plain MQTT port does not answer the upgrade. */
    CHECK(emq_client_connect(client, test_host(), test_port()) != EMQ_OK);
    CHECK(!emq_client_is_connected(client));

    CHECK_OK(emq_client_connect(client, test_host(), ws_port));
    CHECK(r.connects == 1 && r.connect_code == 0);
    CHECK(random_calls > 0); /* the key and the CONNECT frame's mask */
    CHECK_OK(emq_client_subscribe(client, filter, 2, &sub_id));
    CHECK_OK(emq_client_wait(client, sub_id, 3000));
    CHECK(r.subscribed == 1 && r.granted[0] == 2);

    for (q = 0; q < 3; q++) {
        char payload[48];
        snprintf(topic[q], sizeof topic[q], "embermq/test/fw-ws/%ld/q%d", (long)getpid(), q);
        snprintf(payload, sizeof payload, "over WebSocket at qos %d", q);
        CHECK_OK(emq_client_publish(client, topic[q], (const uint8_t *)payload, strlen(payload),
                                    (uint8_t)q, false, &ids[q]));
        if (q > 0) {
            CHECK_OK(emq_client_wait(client, ids[q], 3000));
        }
        POLL_UNTIL(client, r.messages == q + 1, 3000);
        CHECK(strcmp(r.topic[q], topic[q]) == 0);
        CHECK(r.qos[q] == q);
        CHECK(r.payload_len[q] == strlen(payload));
        CHECK(memcmp(r.payload[q], payload, strlen(payload)) == 0);
    }

    /* A cut link: the loss is reported, a new connection upgrades again. */
    before = r.disconnects;
    CHECK(fw_net_cut(&net));
    STEP_UNTIL(r.disconnects > before, (void)emq_client_poll(client, 20), 3000);
    CHECK(!emq_client_is_connected(client));
    CHECK_OK(emq_client_connect(client, test_host(), ws_port));
    CHECK_OK(emq_client_publish(client, topic[1], (const uint8_t *)"again", 5, 1, false, &ids[1]));
    CHECK_OK(emq_client_wait(client, ids[1], 3000));

    CHECK_ERR(emq_client_set_websocket(client, NULL), EMQ_ERR_ALREADY_CONNECTED);
    CHECK_OK(emq_client_disconnect(client));
    CHECK(r.disconnect_reason == EMQ_OK);
    /* Off again: plain MQTT on the plain port. */
    CHECK_OK(emq_client_set_websocket(client, NULL));
    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_deinit(client));
    puts("test_fw_ws: ok");
    return 0;
}
