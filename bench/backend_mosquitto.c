/* libmosquitto, driven from the caller's thread with mosquitto_loop (no
 * background thread), the closest match to embermq's poll. */
#include "common.h"

#include <stdlib.h>

#include <mosquitto.h>

struct mosquitto_conn {
    struct mosquitto *mosq;
    int qos;
    bool connected;
    bool subscribed;
};

static void on_connect(struct mosquitto *mosq, void *user_data, int return_code)
{
    struct mosquitto_conn *conn = user_data;
    (void)mosq;
    conn->connected = return_code == 0;
}

static void on_subscribe(struct mosquitto *mosq, void *user_data, int mid, int qos_count,
                         const int *granted_qos)
{
    struct mosquitto_conn *conn = user_data;
    (void)mosq;
    (void)mid;
    (void)qos_count;
    (void)granted_qos;
    conn->subscribed = true;
}

static void on_message(struct mosquitto *mosq, void *user_data,
                       const struct mosquitto_message *message)
{
    (void)mosq;
    (void)user_data;
    bench_message_received(message->payload, (size_t)message->payloadlen);
}

static void on_publish(struct mosquitto *mosq, void *user_data, int mid)
{
    struct mosquitto_conn *conn = user_data;
    (void)mosq;
    (void)mid;
    if (conn->qos > 0) { /* QoS 0 reports "written", not an ack */
        bench_publish_acked();
    }
}

/* Loops until *flag is set, at most timeout_ms. */
static bool loop_until(struct mosquitto_conn *conn, const bool *flag, int timeout_ms)
{
    int64_t deadline = bench_now_ns() + (int64_t)timeout_ms * 1000000;
    while (!*flag && bench_now_ns() < deadline) {
        if (mosquitto_loop(conn->mosq, 100, 1) != MOSQ_ERR_SUCCESS) {
            return false;
        }
    }
    return *flag;
}

static void *mosquitto_backend_connect(const struct bench_config *config, const char *client_id)
{
    struct mosquitto_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        return NULL;
    }
    mosquitto_lib_init();
    conn->qos = config->qos;
    conn->mosq = mosquitto_new(client_id, true, conn);
    if (conn->mosq == NULL) {
        free(conn);
        return NULL;
    }
    mosquitto_int_option(conn->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(conn->mosq, MOSQ_OPT_SEND_MAXIMUM, config->window);
    if (config->nodelay) {
        mosquitto_int_option(conn->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    }
    mosquitto_connect_callback_set(conn->mosq, on_connect);
    mosquitto_subscribe_callback_set(conn->mosq, on_subscribe);
    mosquitto_message_callback_set(conn->mosq, on_message);
    mosquitto_publish_callback_set(conn->mosq, on_publish);
    if (mosquitto_connect(conn->mosq, config->host, config->port, 60) != MOSQ_ERR_SUCCESS ||
        !loop_until(conn, &conn->connected, 10000)) {
        mosquitto_destroy(conn->mosq);
        free(conn);
        return NULL;
    }
    return conn;
}

static int mosquitto_backend_subscribe(void *opaque, const char *filter, int qos)
{
    struct mosquitto_conn *conn = opaque;
    conn->subscribed = false;
    if (mosquitto_subscribe(conn->mosq, NULL, filter, qos) != MOSQ_ERR_SUCCESS) {
        return BENCH_ERROR;
    }
    return loop_until(conn, &conn->subscribed, 10000) ? BENCH_OK : BENCH_ERROR;
}

static int mosquitto_backend_publish(void *opaque, const char *topic, const void *payload,
                                     size_t len, int qos)
{
    struct mosquitto_conn *conn = opaque;
    return mosquitto_publish(conn->mosq, NULL, topic, (int)len, payload, qos, false) ==
                   MOSQ_ERR_SUCCESS
               ? BENCH_OK
               : BENCH_ERROR;
}

static int mosquitto_backend_loop(void *opaque, int timeout_ms)
{
    struct mosquitto_conn *conn = opaque;
    /* max_packets is unused by libmosquitto 2.0; it reads what is there. */
    return mosquitto_loop(conn->mosq, timeout_ms, 1) == MOSQ_ERR_SUCCESS ? BENCH_OK : BENCH_ERROR;
}

static int mosquitto_backend_flush(void *opaque, int timeout_ms)
{
    struct mosquitto_conn *conn = opaque;
    int64_t deadline = bench_now_ns() + (int64_t)timeout_ms * 1000000;
    while (mosquitto_want_write(conn->mosq)) {
        if (bench_now_ns() > deadline ||
            mosquitto_loop(conn->mosq, 10, 1) != MOSQ_ERR_SUCCESS) {
            return BENCH_ERROR;
        }
    }
    return BENCH_OK;
}

static void mosquitto_backend_disconnect(void *opaque)
{
    struct mosquitto_conn *conn = opaque;
    mosquitto_disconnect(conn->mosq);
    mosquitto_destroy(conn->mosq);
    mosquitto_lib_cleanup();
    free(conn);
}

const struct bench_backend bench_backend = {
    .name = "mosquitto",
    .threaded = false,
    /* libmosquitto queues messages beyond its window instead of refusing. */
    .driver_keeps_window = true,
    .connect = mosquitto_backend_connect,
    .subscribe = mosquitto_backend_subscribe,
    .publish = mosquitto_backend_publish,
    .loop = mosquitto_backend_loop,
    .flush = mosquitto_backend_flush,
    .disconnect = mosquitto_backend_disconnect,
};
