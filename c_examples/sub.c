/*
 * sub: a small command-line subscriber, like mosquitto_sub.
 *
 *   sub <host> <port> <topic> [qos] [count]
 *
 * Prints "topic payload" for each message (payload as text). With count,
 * exits after that many messages. Ctrl-C disconnects cleanly.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embermq.h"

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    long *received = user_data;
    (void)client;
    printf("%.*s %.*s\n", (int)m->topic_len, m->topic, (int)m->payload_len,
           (const char *)m->payload);
    fflush(stdout);
    (*received)++;
}

static void on_disconnect(void *user_data, emq_client *client, emq_err reason)
{
    (void)user_data;
    (void)client;
    if (reason != EMQ_OK) {
        fprintf(stderr, "sub: connection lost: %s\n", emq_err_str(reason));
    }
}

int main(int argc, char **argv)
{
    emq_options options;
    emq_callbacks callbacks;
    emq_client *client = NULL;
    struct sigaction sa;
    long received = 0, count = 0;
    int port, qos = 0;
    uint16_t sub_id;
    emq_err err;

    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s <host> <port> <topic> [qos] [count]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[2]);
    if (argc > 4) {
        qos = atoi(argv[4]);
    }
    if (argc > 5) {
        count = atol(argv[5]);
    }
    if (port <= 0 || port > 65535 || qos < 0 || qos > 2 || count < 0) {
        fprintf(stderr, "usage: %s <host> <port> <topic> [qos 0..2] [count]\n", argv[0]);
        return 2;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    emq_options_default(&options); /* client_id NULL: the broker assigns one */
    err = emq_client_new(&options, &client);
    if (err != EMQ_OK) {
        fprintf(stderr, "sub: %s\n", emq_err_str(err));
        return 1;
    }
    emq_callbacks_default(&callbacks);
    callbacks.on_message = on_message;
    callbacks.on_disconnect = on_disconnect;
    emq_client_set_callbacks(client, &callbacks, &received);

    err = emq_client_connect(client, argv[1], (uint16_t)port);
    if (err == EMQ_OK) {
        err = emq_client_subscribe(client, argv[3], (uint8_t)qos, &sub_id);
    }
    if (err == EMQ_OK) {
        err = emq_client_wait(client, sub_id, 10000);
    }
    if (err != EMQ_OK) {
        fprintf(stderr, "sub: %s\n", emq_err_str(err));
        emq_client_free(client);
        return 1;
    }
    fprintf(stderr, "sub: subscribed to %s\n", argv[3]);

    /* Poll in short turns so Ctrl-C is noticed quickly. */
    while (!stop && (count == 0 || received < count)) {
        err = emq_client_poll(client, 200);
        if (err != EMQ_OK) {
            emq_client_free(client);
            return 1;
        }
    }

    emq_client_disconnect(client);
    emq_client_free(client);
    return 0;
}
