/* Bad arguments to the firmware API give named errors, never a crash:
 * NULL, too small or misaligned storage; missing or too small buffers;
 * overlapping memory; missing callbacks; host-only options; bad calls on
 * an initialized client. */
#include "fw_harness.h"

static fw_storage storage;
static alignas(8) uint8_t big_storage[EMQ_CLIENT_STORAGE_SIZE + 16];
static alignas(8) uint8_t tables[1024];
static uint8_t rx[256], tx[256], store[256];

static emq_err init_with(void *mem, size_t size, const emq_options *o, const emq_transport *t,
                         emq_clock_ms clock, const emq_buffers *b, emq_client **out)
{
    return emq_client_init(mem, size, o, t, clock, b, out);
}

int main(void)
{
    fw_net net;
    emq_transport transport = fw_transport(&net), broken;
    emq_buffers buffers = {.rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx, .store = store, .store_size = sizeof store}, b;
    emq_options o;
    emq_tls_options tls;
    emq_ws_options ws;
    emq_client *client = (emq_client *)&net; /* must be reset to NULL on failure */
    emq_subscription subs[9];
    const char *filters[9];
    const char bad_utf8[] = {'i', 'd', (char)0xff, 0};
    uint16_t pid = 77;
    int i;

    CHECK_OK(emq_options_default(&o));
    CHECK_ERR(init_with(&storage, sizeof storage, NULL, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_NULL_POINTER); /* options are required, as emq_client_new's */

    /* Storage. */
    CHECK_ERR(init_with(NULL, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_NULL_POINTER);
    CHECK(client == NULL);
    CHECK_ERR(init_with(&storage, EMQ_CLIENT_STORAGE_SIZE - 1, &o, &transport, fw_clock_ms,
                        &buffers, &client),
              EMQ_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(init_with(big_storage + 4, EMQ_CLIENT_STORAGE_SIZE, &o, &transport, fw_clock_ms,
                        &buffers, &client),
              EMQ_ERR_MISALIGNED);
    CHECK(strcmp(emq_err_str(EMQ_ERR_MISALIGNED), "client storage misaligned") == 0);
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, NULL),
              EMQ_ERR_NULL_POINTER);

    /* Transport and clock. */
    CHECK_ERR(init_with(&storage, sizeof storage, &o, NULL, fw_clock_ms, &buffers, &client),
              EMQ_ERR_NULL_POINTER);
    broken = transport;
    broken.send = NULL;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &broken, fw_clock_ms, &buffers, &client),
              EMQ_ERR_NULL_POINTER);
    broken = transport;
    broken.recv = NULL;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &broken, fw_clock_ms, &buffers, &client),
              EMQ_ERR_NULL_POINTER);
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, NULL, &buffers, &client),
              EMQ_ERR_NULL_POINTER);

    /* Buffers. */
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, NULL, &client),
              EMQ_ERR_NULL_POINTER);
    b = buffers;
    b.rx = NULL;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_NULL_POINTER);
    b = buffers;
    b.tx_size = 0;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_BUFFER_TOO_SMALL);
    b = buffers;
    b.rx_size = 63;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_BUFFER_TOO_SMALL);
    b = buffers;
    b.store = NULL; /* a size without memory */
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_NULL_POINTER);
    b = buffers;
    b.tx = rx + 128; /* overlaps rx */
    b.tx_size = 128;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_INVALID_ARGUMENT);
    b = buffers;
    b.rx = big_storage; /* overlaps the client's storage */
    b.rx_size = 64;
    CHECK_ERR(init_with(big_storage, EMQ_CLIENT_STORAGE_SIZE, &o, &transport, fw_clock_ms, &b,
                        &client),
              EMQ_ERR_INVALID_ARGUMENT);
    b = buffers;
    b.rx_size = (size_t)1 << 30; /* above the largest MQTT packet */
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_INVALID_ARGUMENT);

    /* Options the firmware build does not have, and bad values. */
    CHECK_OK(emq_options_default(&o));
    CHECK_OK(emq_tls_options_default(&tls));
    o.tls = &tls;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_TLS_UNAVAILABLE);
    CHECK_OK(emq_options_default(&o));
    CHECK(o.ws == NULL);
    CHECK_OK(emq_ws_options_default(&ws));
    o.ws = &ws; /* firmware WebSocket is emq_client_set_websocket */
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_UNSUPPORTED);
    CHECK_OK(emq_options_default(&o));
    o.auto_reconnect = true;
    o.reconnect_max_ms = o.reconnect_min_ms - 1;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_INVALID_ARGUMENT);

    /* Table memory: capacities without memory, too little, misaligned,
     * overlapping; the size query. */
    CHECK_OK(emq_options_default(&o));
    CHECK(emq_tables_size(NULL) == 0);
    b = buffers;
    b.packet_ids = 16;
    b.subscriptions = 4;
    b.subscription_bytes = 64;
    CHECK(emq_tables_size(&b) > 64 && emq_tables_size(&b) <= sizeof tables);
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_BUFFER_TOO_SMALL);
    b.tables = tables;
    b.tables_size = emq_tables_size(&b) - 1;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_BUFFER_TOO_SMALL);
    b.tables = tables + 4;
    b.tables_size = emq_tables_size(&b);
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_MISALIGNED);
    b.tables = rx;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_INVALID_ARGUMENT);
    b.tables = NULL;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &b, &client),
              EMQ_ERR_NULL_POINTER);
    CHECK(client == NULL);
    CHECK_OK(emq_options_default(&o));
    o.password = (const uint8_t *)"pw";
    o.password_len = 2;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_INVALID_CONNECT_FLAGS);
    CHECK_OK(emq_options_default(&o));
    o.protocol_level = 7;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_INVALID_PROTOCOL);
    CHECK_OK(emq_options_default(&o));
    o.client_id = bad_utf8;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_INVALID_UTF8);
    CHECK_OK(emq_options_default(&o));
    o.will_topic = "will/+";
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    CHECK_OK(emq_options_default(&o));
    o.log_level = 99;
    CHECK_ERR(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers, &client),
              EMQ_ERR_INVALID_ARGUMENT);
    CHECK(client == NULL);

    /* An initialized, disconnected client. */
    CHECK_OK(emq_options_default(&o));
    CHECK_OK(init_with(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                       &client));
    CHECK(client != NULL);
    CHECK_ERR(emq_client_publish(client, "t", NULL, 0, 0, false, &pid), EMQ_ERR_NOT_CONNECTED);
    CHECK(pid == 0);
    CHECK_ERR(emq_client_poll(client, 0), EMQ_ERR_NOT_CONNECTED);
    CHECK_ERR(emq_client_disconnect(client), EMQ_ERR_NOT_CONNECTED);
    CHECK_ERR(emq_client_publish(client, NULL, NULL, 0, 0, false, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_publish(client, "t", NULL, 3, 0, false, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_publish(client, "t", NULL, 0, 3, false, NULL), EMQ_ERR_INVALID_QOS);
    CHECK_ERR(emq_client_subscribe(client, NULL, 0, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_subscribe(client, "a/#", 3, NULL), EMQ_ERR_INVALID_QOS);
    CHECK_ERR(emq_client_subscribe_many(client, NULL, 1, NULL), EMQ_ERR_NULL_POINTER);
    for (i = 0; i < 9; i++) {
        subs[i].filter = "a/b";
        subs[i].qos = 0;
        filters[i] = "a/b";
    }
    CHECK_ERR(emq_client_subscribe_many(client, subs, 0, NULL), EMQ_ERR_NO_TOPIC_FILTERS);
    CHECK_ERR(emq_client_subscribe_many(client, subs, 9, NULL), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_subscribe_many(client, subs, 8, NULL), EMQ_ERR_NOT_CONNECTED);
    CHECK_ERR(emq_client_unsubscribe_many(client, filters, 0, NULL), EMQ_ERR_NO_TOPIC_FILTERS);
    CHECK_ERR(emq_client_unsubscribe_many(client, filters, 9, NULL), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_unsubscribe(client, NULL, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_wait(client, 0, 10), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(emq_client_wait(client, 5, 10)); /* nothing pending with that id */
    CHECK_OK(emq_client_set_callbacks(client, NULL, NULL));

    /* NULL clients. */
    CHECK_ERR(emq_client_connect(NULL, "127.0.0.1", 1883), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_poll(NULL, 0), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_wait(NULL, 1, 0), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_publish(NULL, "t", NULL, 0, 0, false, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_subscribe(NULL, "t", 0, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_unsubscribe(NULL, "t", NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_disconnect(NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_set_callbacks(NULL, NULL, NULL), EMQ_ERR_NULL_POINTER);
    CHECK(emq_client_state(NULL) == EMQ_STATE_DISCONNECTED);
    CHECK(!emq_client_is_connected(NULL));
    CHECK(emq_client_inflight(NULL) == 0 && emq_client_queued(NULL) == 0);
    CHECK_OK(emq_client_deinit(NULL));

    /* A connect callback that fails. */
    net.fail_connect = true;
    CHECK_ERR(emq_client_connect(client, test_host(), test_port()), EMQ_ERR_CONNECT_FAILED);
    CHECK(emq_client_state(client) == EMQ_STATE_DISCONNECTED);
    CHECK(net.closes == 0);
    net.fail_connect = false;
    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(emq_client_is_connected(client));
    CHECK_ERR(emq_client_publish(client, "bad/+/topic", NULL, 0, 1, false, NULL),
              EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    CHECK_ERR(emq_client_subscribe(client, "bad/#/filter", 1, NULL), EMQ_ERR_INVALID_TOPIC_FILTER);
    CHECK(emq_client_is_connected(client));
    CHECK_OK(emq_client_deinit(client));
    CHECK(net.closes == 1);
    puts("test_fw_invalid_args: ok");
    return 0;
}
