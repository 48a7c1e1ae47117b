/* Paho C synchronous client (libpaho-mqtt3c) with callbacks: messages and
 * acknowledgements arrive on Paho's own thread. The driver keeps the
 * window: a publish into a full Paho window sleeps 100 ms inside Paho. */
#include "common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <MQTTClient.h>

struct paho_conn {
    MQTTClient client;
    int qos;
    atomic_bool lost;
};

static int on_message(void *context, char *topic, int topic_len, MQTTClient_message *message)
{
    (void)context;
    (void)topic_len;
    bench_message_received(message->payload, (size_t)message->payloadlen);
    MQTTClient_freeMessage(&message);
    MQTTClient_free(topic);
    return 1; /* handled: Paho may free it */
}

static void on_delivered(void *context, MQTTClient_deliveryToken token)
{
    struct paho_conn *conn = context;
    (void)token;
    if (conn->qos > 0) {
        bench_publish_acked();
    }
}

static void on_connection_lost(void *context, char *cause)
{
    struct paho_conn *conn = context;
    (void)cause;
    atomic_store(&conn->lost, true);
}

static void *paho_connect(const struct bench_config *config, const char *client_id)
{
    MQTTClient_connectOptions options = MQTTClient_connectOptions_initializer;
    struct paho_conn *conn = calloc(1, sizeof *conn);
    char uri[300];

    if (conn == NULL) {
        return NULL;
    }
    conn->qos = config->qos;
    /* TCP_NODELAY has no Paho option: bench/preload.c sets it when asked. */
    snprintf(uri, sizeof uri, "tcp://%s:%d", config->host, config->port);
    if (MQTTClient_create(&conn->client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
        MQTTCLIENT_SUCCESS) {
        free(conn);
        return NULL;
    }
    MQTTClient_setCallbacks(conn->client, conn, on_connection_lost, on_message, on_delivered);
    options.keepAliveInterval = 60;
    options.cleansession = 1;
    options.reliable = 0; /* "reliable" means a window of 1 */
    options.maxInflightMessages = config->window;
    options.MQTTVersion = MQTTVERSION_3_1_1;
    if (MQTTClient_connect(conn->client, &options) != MQTTCLIENT_SUCCESS) {
        MQTTClient_destroy(&conn->client);
        free(conn);
        return NULL;
    }
    return conn;
}

static int paho_subscribe(void *opaque, const char *filter, int qos)
{
    struct paho_conn *conn = opaque;
    return MQTTClient_subscribe(conn->client, filter, qos) == MQTTCLIENT_SUCCESS ? BENCH_OK
                                                                                 : BENCH_ERROR;
}

static int paho_publish(void *opaque, const char *topic, const void *payload, size_t len,
                        int qos)
{
    struct paho_conn *conn = opaque;
    MQTTClient_deliveryToken token;
    return MQTTClient_publish(conn->client, topic, (int)len, payload, qos, 0, &token) ==
                   MQTTCLIENT_SUCCESS
               ? BENCH_OK
               : BENCH_ERROR;
}

static int paho_loop(void *opaque, int timeout_ms)
{
    struct paho_conn *conn = opaque;
    if (atomic_load(&conn->lost)) {
        return BENCH_ERROR;
    }
    bench_wait_for_event(timeout_ms);
    return BENCH_OK;
}

static int paho_flush(void *opaque, int timeout_ms)
{
    /* MQTTClient_disconnect waits for pending writes. */
    (void)opaque;
    (void)timeout_ms;
    return BENCH_OK;
}

static void paho_disconnect(void *opaque)
{
    struct paho_conn *conn = opaque;
    MQTTClient_disconnect(conn->client, 10000);
    MQTTClient_destroy(&conn->client);
    free(conn);
}

const struct bench_backend bench_backend = {
    .name = "paho",
    .threaded = true,
    .driver_keeps_window = true,
    .connect = paho_connect,
    .subscribe = paho_subscribe,
    .publish = paho_publish,
    .loop = paho_loop,
    .flush = paho_flush,
    .disconnect = paho_disconnect,
};
