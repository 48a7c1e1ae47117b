/* embermq through its C API, used as a firmware engineer would: publish
 * until the client reports the window full, then poll.
 *
 * Built as bench_embermq_thread (EMBERMQ_BENCH_THREAD): the same with the
 * client's network thread (emq_client_start), as a host program would use
 * it; the caller only publishes and waits.
 *
 * With BENCH_EMBERMQ_ACK_WAIT=1 a full window is waited out with
 * emq_client_wait on the oldest unacknowledged id instead of
 * emq_client_poll: wait returns as soon as that ack is handled, while poll
 * ends with one more read that blocks for a clock tick (4-8 ms) when
 * nothing else is coming. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embermq.h"

static void on_disconnect(void *user_data, emq_client *client, emq_err reason)
{
    (void)user_data;
    (void)client;
    if (reason != EMQ_OK) {
        fprintf(stderr, "bench_embermq: connection lost: %s\n", emq_err_str(reason));
    }
}

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

struct embermq_conn {
    emq_client *client;
    bool wait_for_oldest_ack;
    /* Ids of unacknowledged publishes, oldest first (a ring). */
    uint16_t pending_ids[65536];
    uint32_t pending_head;
    uint32_t pending_count;
};

static void *embermq_connect(const struct bench_config *config, const char *client_id)
{
    emq_options options;
    emq_callbacks callbacks = {
        .struct_size = sizeof(emq_callbacks),
        .on_disconnect = on_disconnect,
        .on_message = on_message,
        .on_published = on_published,
    };
    struct embermq_conn *conn = calloc(1, sizeof *conn);
    const char *ack_wait = getenv("BENCH_EMBERMQ_ACK_WAIT");
    size_t store_for_window;

    if (conn == NULL) {
        return NULL;
    }
    conn->wait_for_oldest_ack = ack_wait != NULL && strcmp(ack_wait, "1") == 0;
    emq_options_default(&options);
    options.client_id = client_id;
    options.inflight_window = (uint16_t)config->window;
    /* The outbox holds what waits for the window as well as what is in
     * flight: at least a full window. */
    if (config->window > options.outbox_max_messages) {
        options.outbox_max_messages = (uint16_t)config->window;
    }
    if (config->nodelay) {
        options.tcp_nodelay = true;
    }
    /* Copies of unacknowledged messages must hold a full window, or the
     * store, not the window, would bound the run. */
    store_for_window = (size_t)config->window * (config->payload_size + 128);
    if (options.store_size < store_for_window) {
        options.store_size = store_for_window;
    }
    if (emq_client_new(&options, &conn->client) != EMQ_OK) {
        free(conn);
        return NULL;
    }
    emq_client_set_callbacks(conn->client, &callbacks, NULL);
    if (emq_client_connect(conn->client, config->host, (uint16_t)config->port) != EMQ_OK) {
        emq_client_free(conn->client);
        free(conn);
        return NULL;
    }
#ifdef EMBERMQ_BENCH_THREAD
    if (emq_client_start(conn->client) != EMQ_OK) {
        emq_client_free(conn->client);
        free(conn);
        return NULL;
    }
#endif
    return conn;
}

static int embermq_subscribe(void *opaque, const char *filter, int qos)
{
    struct embermq_conn *conn = opaque;
    uint16_t id;
    if (emq_client_subscribe(conn->client, filter, (uint8_t)qos, &id) != EMQ_OK) {
        return BENCH_ERROR;
    }
    return emq_client_wait(conn->client, id, 10000) == EMQ_OK ? BENCH_OK : BENCH_ERROR;
}

static int embermq_publish(void *opaque, const char *topic, const void *payload, size_t len,
                           int qos)
{
    struct embermq_conn *conn = opaque;
    uint16_t id;
    switch (emq_client_publish(conn->client, topic, payload, len, (uint8_t)qos, false, &id)) {
    case EMQ_OK:
        if (conn->wait_for_oldest_ack && id != 0) {
            conn->pending_ids[(conn->pending_head + conn->pending_count++) & 0xffff] = id;
        }
        return BENCH_OK;
    case EMQ_ERR_INFLIGHT_FULL:
    case EMQ_ERR_STORE_FULL:
        return BENCH_WOULD_BLOCK;
    default:
        return BENCH_ERROR;
    }
}

static int embermq_loop(void *opaque, int timeout_ms)
{
    struct embermq_conn *conn = opaque;
#ifdef EMBERMQ_BENCH_THREAD
    /* The network thread reads; callbacks wake the driver. */
    if (!emq_client_is_connected(conn->client)) {
        return BENCH_ERROR;
    }
    bench_wait_for_event(timeout_ms);
    return BENCH_OK;
#endif
    if (conn->wait_for_oldest_ack && conn->pending_count > 0) {
        /* Acks come in order, so the oldest id frees the window first. */
        switch (emq_client_wait(conn->client, conn->pending_ids[conn->pending_head & 0xffff],
                                (uint32_t)timeout_ms)) {
        case EMQ_OK:
            conn->pending_head++;
            conn->pending_count--;
            return BENCH_OK;
        case EMQ_ERR_TIMEOUT:
            return BENCH_OK;
        default:
            return BENCH_ERROR;
        }
    }
    return emq_client_poll(conn->client, (uint32_t)timeout_ms) == EMQ_OK ? BENCH_OK
                                                                          : BENCH_ERROR;
}

static int embermq_flush(void *conn, int timeout_ms)
{
    /* publish has already written everything. */
    (void)conn;
    (void)timeout_ms;
    return BENCH_OK;
}

static void embermq_disconnect(void *opaque)
{
    struct embermq_conn *conn = opaque;
#ifdef EMBERMQ_BENCH_THREAD
    emq_client_stop(conn->client); /* writes what is left, then DISCONNECT */
#endif
    emq_client_disconnect(conn->client);
    emq_client_free(conn->client);
    free(conn);
}

const struct bench_backend bench_backend = {
#ifdef EMBERMQ_BENCH_THREAD
    .name = "embermq_thread",
    .threaded = true,
#else
    .name = "embermq",
    .threaded = false,
#endif
    .driver_keeps_window = false,
    .connect = embermq_connect,
    .subscribe = embermq_subscribe,
    .publish = embermq_publish,
    .loop = embermq_loop,
    .flush = embermq_flush,
    .disconnect = embermq_disconnect,
};
