/*
 * What every embermq C test harness shares (the host tests' harness.h and
 * the firmware tests' fw_harness.h): CHECK(expr) and CHECK_ERR(call, want)
 * print file:line and the failing expression and exit(1); bounded waits;
 * the broker from scripts/with-broker.sh (EMQ_TEST_HOST / EMQ_TEST_PORT).
 * Define EMBERMQ_FIRMWARE before including it for the firmware API.
 */
#ifndef EMBERMQ_TEST_CHECK_H
#define EMBERMQ_TEST_CHECK_H

#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "embermq.h"

#define CHECK(expr)                                                         \
    do {                                                                    \
        if (!(expr)) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,          \
                    __LINE__, #expr);                                       \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#define CHECK_ERR(call, want)                                               \
    do {                                                                    \
        emq_err got_ = (call);                                              \
        emq_err want_ = (want);                                             \
        if (got_ != want_) {                                                \
            fprintf(stderr, "%s:%d: %s\n  returned %d (%s), expected %d (%s)\n", \
                    __FILE__, __LINE__, #call, (int)got_,                   \
                    emq_err_str((int)got_), (int)want_,                     \
                    emq_err_str((int)want_));                               \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#define CHECK_OK(call) CHECK_ERR(call, EMQ_OK)

/* Checks `cond` every 2 ms, running `step` between checks; fails after `ms`. */
#define STEP_UNTIL(cond, step, ms)                                          \
    do {                                                                    \
        uint64_t deadline_ = test_now_ms() + (ms);                          \
        while (!(cond)) {                                                   \
            if (test_now_ms() >= deadline_) {                               \
                fprintf(stderr, "%s:%d: timed out after %d ms waiting for %s\n", \
                        __FILE__, __LINE__, (int)(ms), #cond);              \
                exit(1);                                                    \
            }                                                               \
            step;                                                           \
        }                                                                   \
    } while (0)

/* Polls `client` in short slices until `cond` holds; fails after `ms`. */
#define POLL_UNTIL(client, cond, ms) STEP_UNTIL(cond, CHECK_OK(emq_client_poll((client), 20)), ms)

/* Sleeps in short steps (another thread does the work) until `cond` holds. */
#define WAIT_UNTIL(cond, ms) STEP_UNTIL(cond, sleep_ms(2), ms)

static inline void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static inline uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline const char *test_host(void)
{
    const char *host = getenv("EMQ_TEST_HOST");
    if (host == NULL || host[0] == '\0') {
        fprintf(stderr, "EMQ_TEST_HOST is not set: run under scripts/with-broker.sh\n");
        exit(1);
    }
    return host;
}

static inline uint16_t test_port(void)
{
    const char *port = getenv("EMQ_TEST_PORT");
    long value = port != NULL ? strtol(port, NULL, 10) : 0;
    if (value <= 0 || value > 65535) {
        fprintf(stderr, "EMQ_TEST_PORT is not set: run under scripts/with-broker.sh\n");
        exit(1);
    }
    return (uint16_t)value;
}

#endif
