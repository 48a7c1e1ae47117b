/*
 * pubsub: subscribe to a topic tree, publish one message at each QoS to it,
 * and wait until all three come back and are acknowledged.
 *
 *   pubsub [host] [port]
 *
 * Defaults: $EMQ_TEST_HOST / $EMQ_TEST_PORT, then 127.0.0.1:1883.
 * Exits 0 on success, 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "embermq.h"

#define MESSAGES 3

/* Everything the callbacks need, passed to them as user_data. */
struct app {
    char topics[MESSAGES][96];
    char payloads[MESSAGES][32];
    bool received[MESSAGES];
    unsigned short packet_ids[MESSAGES]; /* 0 once acknowledged */
    int acked;
    bool failed;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(void *user_data, emq_client *client, bool session_present,
                       uint8_t return_code)
{
    (void)user_data;
    (void)client;
    printf("connected: return code %u, session present %d\n", (unsigned)return_code,
           (int)session_present);
}

static void on_disconnect(void *user_data, emq_client *client, emq_err reason)
{
    (void)user_data;
    (void)client;
    printf("disconnected: %s\n", emq_err_str(reason));
}

static void on_subscribed(void *user_data, emq_client *client, uint16_t packet_id,
                          const uint8_t *granted_qos, size_t count)
{
    (void)user_data;
    (void)client;
    printf("subscribed: packet id %u, granted qos %u (%zu filter)\n", (unsigned)packet_id,
           count > 0 ? (unsigned)granted_qos[0] : 0u, count);
}

static void on_published(void *user_data, emq_client *client, uint16_t packet_id)
{
    struct app *app = user_data;
    int i;
    (void)client;
    if (packet_id == 0) {
        printf("published: qos 0 message written\n");
        return;
    }
    for (i = 0; i < MESSAGES; i++) {
        if (app->packet_ids[i] == packet_id) {
            app->packet_ids[i] = 0;
            app->acked++;
            printf("published: packet id %u acknowledged (qos %d)\n", (unsigned)packet_id, i);
        }
    }
}

static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    struct app *app = user_data;
    int i;
    (void)client;
    /* topic and payload are not NUL-terminated: print with lengths. */
    printf("message: %.*s qos %u: %.*s\n", (int)m->topic_len, m->topic, (unsigned)m->qos,
           (int)m->payload_len, (const char *)m->payload);
    for (i = 0; i < MESSAGES; i++) {
        if (m->topic_len == strlen(app->topics[i]) &&
            memcmp(m->topic, app->topics[i], m->topic_len) == 0) {
            if (m->payload_len != strlen(app->payloads[i]) ||
                memcmp(m->payload, app->payloads[i], m->payload_len) != 0) {
                printf("error: wrong payload on %s\n", app->topics[i]);
                app->failed = true;
            }
            app->received[i] = true;
        }
    }
}

static bool all_done(const struct app *app)
{
    int i;
    for (i = 0; i < MESSAGES; i++) {
        if (!app->received[i]) {
            return false;
        }
    }
    return app->acked == MESSAGES - 1; /* QoS 1 and 2 are acknowledged */
}

static int fail(emq_client *client, const char *what, emq_err err)
{
    fprintf(stderr, "pubsub: %s failed: %s\n", what, emq_err_str(err));
    emq_client_free(client);
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : getenv("EMQ_TEST_HOST");
    const char *port_text = argc > 2 ? argv[2] : getenv("EMQ_TEST_PORT");
    int port = port_text != NULL ? atoi(port_text) : 1883;
    struct app app;
    emq_options options;
    emq_callbacks callbacks;
    emq_client *client = NULL;
    emq_err err;
    char client_id[64], filter[96];
    uint16_t sub_id;
    long deadline;
    int qos;

    if (host == NULL || host[0] == '\0') {
        host = "127.0.0.1";
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "pubsub: bad port '%s'\nusage: %s [host] [port]\n", port_text, argv[0]);
        return 1;
    }

    memset(&app, 0, sizeof app);
    snprintf(client_id, sizeof client_id, "embermq-pubsub-%ld", (long)getpid());
    snprintf(filter, sizeof filter, "embermq/pubsub/%ld/#", (long)getpid());

    /* 1. Create the client: start from the defaults, change what you need. */
    emq_options_default(&options);
    options.client_id = client_id;
    options.keepalive_secs = 30;
    err = emq_client_new(&options, &client);
    if (err != EMQ_OK) {
        fprintf(stderr, "pubsub: emq_client_new failed: %s\n", emq_err_str(err));
        return 1;
    }

    emq_callbacks_default(&callbacks);
    callbacks.on_connect = on_connect;
    callbacks.on_disconnect = on_disconnect;
    callbacks.on_subscribed = on_subscribed;
    callbacks.on_published = on_published;
    callbacks.on_message = on_message;
    emq_client_set_callbacks(client, &callbacks, &app);

    /* 2. Connect (blocks until CONNACK or command_timeout_ms). */
    printf("connecting to %s:%d as %s\n", host, port, client_id);
    err = emq_client_connect(client, host, (uint16_t)port);
    if (err != EMQ_OK) {
        return fail(client, "connect", err);
    }

    /* 3. Subscribe and wait for the SUBACK. */
    err = emq_client_subscribe(client, filter, 2, &sub_id);
    if (err == EMQ_OK) {
        err = emq_client_wait(client, sub_id, 5000);
    }
    if (err != EMQ_OK) {
        return fail(client, "subscribe", err);
    }

    /* 4. Publish one message at each QoS. */
    for (qos = 0; qos < MESSAGES; qos++) {
        snprintf(app.topics[qos], sizeof app.topics[qos], "embermq/pubsub/%ld/q%d",
                 (long)getpid(), qos);
        snprintf(app.payloads[qos], sizeof app.payloads[qos], "hello at qos %d", qos);
        err = emq_client_publish(client, app.topics[qos], (const uint8_t *)app.payloads[qos],
                                 strlen(app.payloads[qos]), (uint8_t)qos, false,
                                 &app.packet_ids[qos]);
        if (err != EMQ_OK) {
            return fail(client, "publish", err);
        }
        printf("publish: %s qos %d packet id %u\n", app.topics[qos], qos,
               (unsigned)app.packet_ids[qos]);
    }

    /* 5. Drive the client until everything came back (at most 5 s). */
    deadline = now_ms() + 5000;
    while (!all_done(&app) && now_ms() < deadline) {
        err = emq_client_poll(client, 100);
        if (err != EMQ_OK) {
            return fail(client, "poll", err);
        }
    }
    if (!all_done(&app) || app.failed) {
        fprintf(stderr, "pubsub: did not get all messages and acknowledgements in 5 s\n");
        emq_client_free(client);
        return 1;
    }

    /* 6. Clean shutdown: DISCONNECT, then free. */
    emq_client_disconnect(client);
    emq_client_free(client);
    printf("pubsub: ok\n");
    return 0;
}
