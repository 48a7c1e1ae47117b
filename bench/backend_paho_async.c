/* Paho C asynchronous client (libpaho-mqtt3as): every call queues a
 * command for Paho's threads; results, messages and acknowledgements come
 * back as callbacks on those threads. The driver keeps the window. */
#include "common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <MQTTAsync.h>

enum { PENDING, SUCCEEDED, FAILED };

struct paho_async_conn {
    MQTTAsync client;
    int qos;
    atomic_bool lost;
    /* Outcome of the last connect, subscribe or disconnect. */
    atomic_int request;
};

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *message)
{
    (void)context;
    (void)topic_len;
    bench_message_received(message->payload, (size_t)message->payloadlen);
    MQTTAsync_freeMessage(&message);
    MQTTAsync_free(topic);
    return 1;
}

static void on_delivered(void *context, MQTTAsync_token token)
{
    struct paho_async_conn *conn = context;
    (void)token;
    if (conn->qos > 0) {
        bench_publish_acked();
    }
}

static void on_connection_lost(void *context, char *cause)
{
    struct paho_async_conn *conn = context;
    (void)cause;
    atomic_store(&conn->lost, true);
    bench_notify();
}

static void on_request_success(void *context, MQTTAsync_successData *response)
{
    struct paho_async_conn *conn = context;
    (void)response;
    atomic_store(&conn->request, SUCCEEDED);
    bench_notify();
}

static void on_request_failure(void *context, MQTTAsync_failureData *response)
{
    struct paho_async_conn *conn = context;
    (void)response;
    atomic_store(&conn->request, FAILED);
    bench_notify();
}

/* Waits (at most 10 s) for the request just started to succeed or fail. */
static bool request_succeeded(struct paho_async_conn *conn)
{
    int64_t deadline = bench_now_ns() + 10000000000LL;
    while (atomic_load(&conn->request) == PENDING && bench_now_ns() < deadline) {
        bench_wait_for_event(100);
    }
    return atomic_load(&conn->request) == SUCCEEDED;
}

static void *paho_async_connect(const struct bench_config *config, const char *client_id)
{
    MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
    struct paho_async_conn *conn = calloc(1, sizeof *conn);
    char uri[300];

    if (conn == NULL) {
        return NULL;
    }
    conn->qos = config->qos;
    /* TCP_NODELAY has no Paho option: bench/preload.c sets it when asked. */
    snprintf(uri, sizeof uri, "tcp://%s:%d", config->host, config->port);
    if (MQTTAsync_create(&conn->client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
        MQTTASYNC_SUCCESS) {
        free(conn);
        return NULL;
    }
    MQTTAsync_setCallbacks(conn->client, conn, on_connection_lost, on_message, on_delivered);
    options.keepAliveInterval = 60;
    options.cleansession = 1;
    options.maxInflight = config->window;
    options.MQTTVersion = MQTTVERSION_3_1_1;
    options.onSuccess = on_request_success;
    options.onFailure = on_request_failure;
    options.context = conn;
    atomic_store(&conn->request, PENDING);
    if (MQTTAsync_connect(conn->client, &options) != MQTTASYNC_SUCCESS ||
        !request_succeeded(conn)) {
        MQTTAsync_destroy(&conn->client);
        free(conn);
        return NULL;
    }
    return conn;
}

static int paho_async_subscribe(void *opaque, const char *filter, int qos)
{
    struct paho_async_conn *conn = opaque;
    MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
    options.onSuccess = on_request_success;
    options.onFailure = on_request_failure;
    options.context = conn;
    atomic_store(&conn->request, PENDING);
    return MQTTAsync_subscribe(conn->client, filter, qos, &options) == MQTTASYNC_SUCCESS &&
                   request_succeeded(conn)
               ? BENCH_OK
               : BENCH_ERROR;
}

static int paho_async_publish(void *opaque, const char *topic, const void *payload, size_t len,
                              int qos)
{
    struct paho_async_conn *conn = opaque;
    MQTTAsync_message message = MQTTAsync_message_initializer;
    message.payload = (void *)payload;
    message.payloadlen = (int)len;
    message.qos = qos;
    return MQTTAsync_sendMessage(conn->client, topic, &message, NULL) == MQTTASYNC_SUCCESS
               ? BENCH_OK
               : BENCH_ERROR;
}

static int paho_async_loop(void *opaque, int timeout_ms)
{
    struct paho_async_conn *conn = opaque;
    if (atomic_load(&conn->lost)) {
        return BENCH_ERROR;
    }
    bench_wait_for_event(timeout_ms);
    return BENCH_OK;
}

static int paho_async_flush(void *opaque, int timeout_ms)
{
    /* The DISCONNECT command queues behind the messages. */
    (void)opaque;
    (void)timeout_ms;
    return BENCH_OK;
}

static void paho_async_disconnect(void *opaque)
{
    struct paho_async_conn *conn = opaque;
    MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;
    options.timeout = 10000;
    options.onSuccess = on_request_success;
    options.onFailure = on_request_failure;
    options.context = conn;
    atomic_store(&conn->request, PENDING);
    if (MQTTAsync_disconnect(conn->client, &options) == MQTTASYNC_SUCCESS) {
        request_succeeded(conn);
    }
    MQTTAsync_destroy(&conn->client);
    free(conn);
}

const struct bench_backend bench_backend = {
    .name = "paho_async",
    .threaded = true,
    .driver_keeps_window = true,
    .connect = paho_async_connect,
    .subscribe = paho_async_subscribe,
    .publish = paho_async_publish,
    .loop = paho_async_loop,
    .flush = paho_async_flush,
    .disconnect = paho_async_disconnect,
};
