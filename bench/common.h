/*
 * The benchmark driver shared by every client library: argument parsing,
 * timing, percentiles, the three scenarios (publisher, subscriber, round
 * trip) and the report. Each library is a backend: a bench_backend struct
 * defined once per program (backend_embermq.c, backend_mosquitto.c,
 * backend_paho.c, baseline.c).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What backend calls return. */
enum bench_status {
    BENCH_OK = 0,
    /* The client cannot take another message now (window or store full):
     * run the backend's loop, then try again. */
    BENCH_WOULD_BLOCK = 1,
    BENCH_ERROR = -1,
};

struct bench_config {
    const char *host;
    int port;
    int qos;
    size_t payload_size;
    long count;
    int window;          /* QoS 1/2 messages unacknowledged at once */
    const char *topic;
    bool nodelay;        /* TCP_NODELAY; false keeps the library's default */
};

struct bench_backend {
    const char *name;
    /* Callbacks arrive on a thread of the library: loop() then only waits
     * for them (bench_wait_for_event). */
    bool threaded;
    /* The library does not refuse a publish beyond the window itself (it
     * queues or blocks), so the driver keeps the window for it. */
    bool driver_keeps_window;
    /* Opens a connection (CONNACK received); NULL on failure. */
    void *(*connect)(const struct bench_config *config, const char *client_id);
    /* Subscribes and waits for the SUBACK. */
    int (*subscribe)(void *conn, const char *filter, int qos);
    int (*publish)(void *conn, const char *topic, const void *payload, size_t len, int qos);
    /* Reads and dispatches what arrives, waiting at most timeout_ms. */
    int (*loop)(void *conn, int timeout_ms);
    /* Writes out anything the library still holds, at most timeout_ms. */
    int (*flush)(void *conn, int timeout_ms);
    /* Sends DISCONNECT, closes and frees. */
    void (*disconnect)(void *conn);
};

/* Defined by each program's backend file. */
extern const struct bench_backend bench_backend;

/* Backends call these from their callbacks (any thread). */
void bench_message_received(const void *payload, size_t len);
void bench_publish_acked(void);

/* For threaded backends: waits until a callback above ran, bench_notify
 * was called, or timeout_ms passed. */
void bench_wait_for_event(int timeout_ms);
/* Wakes bench_wait_for_event (a library thread changed some state). */
void bench_notify(void);

/* Monotonic clock, system-wide so two processes' times compare. */
int64_t bench_now_ns(void);

/* Prints a failure and exits 1. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
