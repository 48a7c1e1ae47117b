/*
 * Helpers for the Paho compatibility tests: CHECK macros, the broker from
 * scripts/with-broker.sh (EMQ_TEST_HOST / EMQ_TEST_PORT), and a monotonic
 * clock. Tests include this after MQTTClient.h.
 */
#ifndef EMBERMQ_PAHO_HARNESS_H
#define EMBERMQ_PAHO_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr)                                                         \
    do {                                                                    \
        if (!(expr)) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,          \
                    __LINE__, #expr);                                       \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* An MQTTString over a C string. */
static inline MQTTString cstr(const char* s)
{
    MQTTString m = MQTTString_initializer;
    m.cstring = (char*)s;
    return m;
}

/* CHECK_EQ(a, b) for integers, printing both values. */
#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ != b_) {                                                     \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                    \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* Byte-for-byte comparison with a hex dump on mismatch. */
#define CHECK_BYTES(got, got_len, want, want_len)                           \
    check_bytes_(__FILE__, __LINE__, #got, (const unsigned char*)(got),     \
                 (int)(got_len), (const unsigned char*)(want), (int)(want_len))

static inline void check_bytes_(const char* file, int line, const char* what,
                                const unsigned char* got, int got_len,
                                const unsigned char* want, int want_len)
{
    int i;
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, (size_t)want_len) == 0)) {
        return;
    }
    fprintf(stderr, "%s:%d: %s differs\n  got  (%d):", file, line, what, got_len);
    for (i = 0; i < got_len && i < 64; i++) fprintf(stderr, " %02x", got[i]);
    fprintf(stderr, "\n  want (%d):", want_len);
    for (i = 0; i < want_len && i < 64; i++) fprintf(stderr, " %02x", want[i]);
    fprintf(stderr, "\n");
    exit(1);
}

static inline uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline char* test_host(void)
{
    char* host = getenv("EMQ_TEST_HOST");
    if (host == NULL || host[0] == '\0') {
        fprintf(stderr, "EMQ_TEST_HOST is not set: run under scripts/with-broker.sh\n");
        exit(1);
    }
    return host;
}

static inline int test_port(void)
{
    const char* port = getenv("EMQ_TEST_PORT");
    long value = port != NULL ? strtol(port, NULL, 10) : 0;
    if (value <= 0 || value > 65535) {
        fprintf(stderr, "EMQ_TEST_PORT is not set: run under scripts/with-broker.sh\n");
        exit(1);
    }
    return (int)value;
}

/* "<prefix>-<pid>-<n>": unique client ids and topics per process. */
static inline const char* test_unique(char* buf, size_t size, const char* prefix)
{
    static unsigned counter;
    snprintf(buf, size, "%s-%ld-%u", prefix, (long)getpid(), counter++);
    return buf;
}

#ifdef MQTT_CLIENT_H
/* Connects `c` over `n` to the test broker with keepalive 20 s and checks
 * the CONNACK: accepted, with `want_present` as session present. */
static inline void connect_client(MQTTClient* c, Network* n, char* id, int clean, int want_present)
{
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    MQTTConnackData data = {9, 9};
    CHECK_EQ(NetworkConnect(n, test_host(), test_port()), 0);
    opts.clientID = cstr(id);
    opts.cleansession = (unsigned char)clean;
    opts.keepAliveInterval = 20;
    CHECK_EQ(MQTTConnectWithResults(c, &opts, &data), 0);
    CHECK(data.rc == 0 && data.sessionPresent == want_present);
    CHECK(MQTTIsConnected(c) == 1 && c->keepAliveInterval == 20 && c->cleansession == clean);
}
#endif

#endif
