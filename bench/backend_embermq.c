/* embermq through its C API, used as a firmware engineer would: publish
 * until the client reports the window full, then poll. */
#include "common.h"

#include <stdlib.h>

#include "embermq.h"

static void on_message(void *user_data, emq_client *client, const emq_message *message)
{
    (void)user_data;
    (void)client;
    bench_message_received(message->payload, message->payload_len);
}

static void on_published(void *user_data, emq_client *client, uint16_t packet_id)
{
    (void)user_data;
    (void)client;
    if (packet_id != 0) { /* 0: a QoS 0 message was written */
        bench_publish_acked();
    }
}

static void *embermq_connect(const struct bench_config *config, const char *client_id)
{
    emq_options options;
    emq_callbacks callbacks = {.on_message = on_message, .on_published = on_published};
    emq_client *client;
    size_t store_for_window;

    emq_options_default(&options);
    options.client_id = client_id;
    options.inflight_window = (uint16_t)config->window;
    if (config->nodelay) {
        options.tcp_nodelay = true;
    }
    /* Copies of unacknowledged messages must hold a full window, or the
     * store, not the window, would bound the run. */
    store_for_window = (size_t)config->window * (config->payload_size + 128);
    if (options.store_size < store_for_window) {
        options.store_size = store_for_window;
    }
    if (emq_client_new(&options, &client) != EMQ_OK) {
        return NULL;
    }
    emq_client_set_callbacks(client, &callbacks, NULL);
    if (emq_client_connect(client, config->host, (uint16_t)config->port) != EMQ_OK) {
        emq_client_free(client);
        return NULL;
    }
    return client;
}

static int embermq_subscribe(void *conn, const char *filter, int qos)
{
    uint16_t id;
    if (emq_client_subscribe(conn, filter, (uint8_t)qos, &id) != EMQ_OK) {
        return BENCH_ERROR;
    }
    return emq_client_wait(conn, id, 10000) == EMQ_OK ? BENCH_OK : BENCH_ERROR;
}

static int embermq_publish(void *conn, const char *topic, const void *payload, size_t len,
                           int qos)
{
    switch (emq_client_publish(conn, topic, payload, len, (uint8_t)qos, false, NULL)) {
    case EMQ_OK:
        return BENCH_OK;
    case EMQ_ERR_INFLIGHT_FULL:
    case EMQ_ERR_STORE_FULL:
        return BENCH_WOULD_BLOCK;
    default:
        return BENCH_ERROR;
    }
}

static int embermq_loop(void *conn, int timeout_ms)
{
    return emq_client_poll(conn, (uint32_t)timeout_ms) == EMQ_OK ? BENCH_OK : BENCH_ERROR;
}

static int embermq_flush(void *conn, int timeout_ms)
{
    /* publish has already written everything. */
    (void)conn;
    (void)timeout_ms;
    return BENCH_OK;
}

static void embermq_disconnect(void *conn)
{
    emq_client_disconnect(conn);
    emq_client_free(conn);
}

const struct bench_backend bench_backend = {
    .name = "embermq",
    .threaded = false,
    .driver_keeps_window = false,
    .connect = embermq_connect,
    .subscribe = embermq_subscribe,
    .publish = embermq_publish,
    .loop = embermq_loop,
    .flush = embermq_flush,
    .disconnect = embermq_disconnect,
};
