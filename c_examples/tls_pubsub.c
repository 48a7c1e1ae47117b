/*
 * tls_pubsub: MQTT over TLS. Verifies the broker against a CA file,
 * optionally authenticates with a client certificate (its key may be an
 * encrypted PKCS#8 key), subscribes, publishes at QoS 1 and waits for the
 * message to come back.
 *
 *   tls_pubsub <uri> <ca.pem> [client.pem client.key [key-password]]
 *
 * <uri> is e.g. mqtts://broker.example:8883 (mqtts:// selects TLS).
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

struct app {
    char topic[96];
    bool received;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    struct app *app = user_data;
    (void)client;
    printf("message: %.*s: %.*s\n", (int)m->topic_len, m->topic, (int)m->payload_len,
           (const char *)m->payload);
    if (m->topic_len == strlen(app->topic) && memcmp(m->topic, app->topic, m->topic_len) == 0) {
        app->received = true;
    }
}

static void on_log(void *user_data, emq_log_level level, const char *line)
{
    (void)user_data;
    printf("log %d: %s\n", (int)level, line);
}

static int fail(emq_client *client, const char *what, emq_err err)
{
    fprintf(stderr, "tls_pubsub: %s failed: %s\n", what, emq_err_str(err));
    emq_client_free(client);
    return 1;
}

int main(int argc, char **argv)
{
    static const char *const alpn[] = {"mqtt"};
    struct app app;
    emq_tls_options tls;
    emq_options options;
    emq_callbacks callbacks;
    emq_client *client = NULL;
    emq_err err;
    char client_id[64];
    const char *payload = "hello over TLS";
    uint16_t id;
    long deadline;

    if (argc != 3 && argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s <uri> <ca.pem> [client.pem client.key [key-password]]\n",
                argv[0]);
        return 1;
    }
    memset(&app, 0, sizeof app);
    snprintf(client_id, sizeof client_id, "embermq-tls-%ld", (long)getpid());
    snprintf(app.topic, sizeof app.topic, "embermq/tls/%ld", (long)getpid());

    /* 1. TLS settings: CA file, verification required (the default). */
    emq_tls_options_default(&tls);
    tls.ca_file = argv[2];
    tls.verify_mode = EMQ_TLS_VERIFY_REQUIRED;
    tls.alpn_protocols = alpn; /* brokers on port 443 pick MQTT by ALPN */
    tls.alpn_count = 1;
    if (argc >= 5) {
        tls.client_cert_file = argv[3];
        tls.client_key_file = argv[4];
        tls.client_key_password = argc == 6 ? argv[5] : NULL;
    }

    /* 2. The client: certificates and keys are read and checked here, so a
     * wrong key password fails now (EMQ_ERR_TLS_KEY_PASSWORD). */
    emq_options_default(&options);
    options.client_id = client_id;
    options.tls = &tls;
    err = emq_client_new(&options, &client);
    if (err != EMQ_OK) {
        fprintf(stderr, "tls_pubsub: emq_client_new failed: %s\n", emq_err_str(err));
        return 1;
    }
    emq_callbacks_default(&callbacks);
    callbacks.on_message = on_message;
    callbacks.on_log = on_log;
    emq_client_set_callbacks(client, &callbacks, &app);

    /* 3. Connect: TCP, TLS handshake, CONNACK. */
    printf("connecting to %s\n", argv[1]);
    err = emq_client_connect_uri(client, argv[1]);
    if (err != EMQ_OK) {
        return fail(client, "connect", err);
    }
    printf("verification: %s\n", emq_err_str(emq_client_tls_verify_result(client)));

    /* 4. Subscribe, publish at QoS 1, wait for the message and the PUBACK. */
    err = emq_client_subscribe(client, app.topic, 1, &id);
    if (err == EMQ_OK) {
        err = emq_client_wait(client, id, 5000);
    }
    if (err != EMQ_OK) {
        return fail(client, "subscribe", err);
    }
    err = emq_client_publish(client, app.topic, (const uint8_t *)payload, strlen(payload), 1,
                             false, &id);
    if (err == EMQ_OK) {
        err = emq_client_wait(client, id, 5000);
    }
    if (err != EMQ_OK) {
        return fail(client, "publish", err);
    }
    deadline = now_ms() + 5000;
    while (!app.received && now_ms() < deadline) {
        err = emq_client_poll(client, 100);
        if (err != EMQ_OK) {
            return fail(client, "poll", err);
        }
    }
    if (!app.received) {
        fprintf(stderr, "tls_pubsub: the message did not come back in 5 s\n");
        emq_client_free(client);
        return 1;
    }
    emq_client_disconnect(client);
    emq_client_free(client);
    printf("tls_pubsub: ok\n");
    return 0;
}
