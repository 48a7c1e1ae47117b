/*
 * lwt: last will and testament. A watcher subscribes to a will topic; a
 * second client connects with a will and then vanishes without DISCONNECT
 * (emq_client_free closes the socket abruptly), so the broker publishes
 * the will to the watcher.
 *
 *   lwt [host] [port]
 *
 * Defaults: $EMQ_TEST_HOST / $EMQ_TEST_PORT, then 127.0.0.1:1883.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "embermq.h"

static const char WILL_PAYLOAD[] = "device offline";

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_will(void *user_data, emq_client *client, const emq_message *m)
{
    bool *got_will = user_data;
    (void)client;
    printf("watcher: received %.*s qos %u: %.*s\n", (int)m->topic_len, m->topic,
           (unsigned)m->qos, (int)m->payload_len, (const char *)m->payload);
    if (m->payload_len == strlen(WILL_PAYLOAD) &&
        memcmp(m->payload, WILL_PAYLOAD, m->payload_len) == 0) {
        *got_will = true;
    }
}

static emq_client *connect_client(const emq_options *options, const char *host, int port)
{
    emq_client *client = NULL;
    emq_err err = emq_client_new(options, &client);
    if (err == EMQ_OK) {
        err = emq_client_connect(client, host, (uint16_t)port);
    }
    if (err != EMQ_OK) {
        fprintf(stderr, "lwt: connect failed: %s\n", emq_err_str(err));
        emq_client_free(client);
        return NULL;
    }
    return client;
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : getenv("EMQ_TEST_HOST");
    const char *port_text = argc > 2 ? argv[2] : getenv("EMQ_TEST_PORT");
    int port = port_text != NULL ? atoi(port_text) : 1883;
    char watcher_id[64], device_id[64], will_topic[96];
    emq_options options;
    emq_callbacks callbacks;
    emq_client *watcher, *device;
    bool got_will = false;
    uint16_t sub_id;
    emq_err err;
    long deadline;

    if (host == NULL || host[0] == '\0') {
        host = "127.0.0.1";
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: %s [host] [port]\n", argv[0]);
        return 1;
    }
    snprintf(watcher_id, sizeof watcher_id, "embermq-lwt-watcher-%ld", (long)getpid());
    snprintf(device_id, sizeof device_id, "embermq-lwt-device-%ld", (long)getpid());
    snprintf(will_topic, sizeof will_topic, "embermq/lwt/%ld/status", (long)getpid());

    /* The watcher: subscribe to the will topic. */
    emq_options_default(&options);
    options.client_id = watcher_id;
    watcher = connect_client(&options, host, port);
    if (watcher == NULL) {
        return 1;
    }
    emq_callbacks_default(&callbacks);
    callbacks.on_message = on_will;
    emq_client_set_callbacks(watcher, &callbacks, &got_will);
    err = emq_client_subscribe(watcher, will_topic, 1, &sub_id);
    if (err == EMQ_OK) {
        err = emq_client_wait(watcher, sub_id, 5000);
    }
    if (err != EMQ_OK) {
        fprintf(stderr, "lwt: subscribe failed: %s\n", emq_err_str(err));
        emq_client_free(watcher);
        return 1;
    }
    printf("watcher: subscribed to %s\n", will_topic);

    /* The device: connect with a last will (options are copied by
     * emq_client_new, so the strings only need to live until then). */
    emq_options_default(&options);
    options.client_id = device_id;
    options.will_topic = will_topic;
    options.will_payload = (const uint8_t *)WILL_PAYLOAD;
    options.will_payload_len = strlen(WILL_PAYLOAD);
    options.will_qos = 1;
    device = connect_client(&options, host, port);
    if (device == NULL) {
        emq_client_free(watcher);
        return 1;
    }
    printf("device: connected with a will on %s\n", will_topic);

    /* Vanish: free without emq_client_disconnect drops the TCP connection. */
    emq_client_free(device);
    printf("device: connection dropped without DISCONNECT\n");

    /* mosquitto publishes the will as soon as it sees the socket close. */
    deadline = now_ms() + 10000;
    while (!got_will && now_ms() < deadline) {
        err = emq_client_poll(watcher, 100);
        if (err != EMQ_OK) {
            fprintf(stderr, "lwt: poll failed: %s\n", emq_err_str(err));
            emq_client_free(watcher);
            return 1;
        }
    }
    emq_client_disconnect(watcher);
    emq_client_free(watcher);
    if (!got_will) {
        fprintf(stderr, "lwt: no will within 10 s\n");
        return 1;
    }
    printf("lwt: ok\n");
    return 0;
}
