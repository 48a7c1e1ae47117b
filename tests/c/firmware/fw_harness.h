/*
 * Harness for the host-run tests of the firmware C API: the no_std
 * staticlib (built for this host) with a POSIX-socket emq_transport and a
 * clock_gettime clock, against the private mosquitto of
 * scripts/with-broker.sh (EMQ_TEST_HOST / EMQ_TEST_PORT).
 *
 * The transport can be told to fail: `fw_net.fail_send` / `fail_recv`
 * (return -1), `stall_recv` / `stall_send` (report timeouts without moving
 * bytes) and `fail_connect`, so tests can check how the client reports each.
 */
#ifndef EMBERMQ_FW_HARNESS_H
#define EMBERMQ_FW_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EMBERMQ_FIRMWARE 1
#include "../check.h"

/* The firmware build's panic handler ends here; a test must never get here. */
void emq_platform_abort(void)
{
    fprintf(stderr, "emq_platform_abort: embermq panicked\n");
    abort();
}

/* Added to the tick, so a test can make it wrap around 2^32 while it runs. */
static uint32_t fw_clock_offset;

/* The clock callback: a wrapping 32-bit millisecond tick, as on an MCU. */
static uint32_t fw_clock_ms(void)
{
    return (uint32_t)test_now_ms() + fw_clock_offset;
}

/* Makes the tick wrap around 2^32 `in_ms` from now. */
static inline void fw_clock_wrap_in(uint32_t in_ms)
{
    fw_clock_offset = 0u - (uint32_t)test_now_ms() - in_ms;
}

/* --- POSIX socket transport ------------------------------------------------ */

typedef struct fw_net {
    int fd;
    int connects, closes;
    bool fail_connect, fail_send, fail_recv, stall_recv, stall_send;
    size_t sent, received;
} fw_net;

static int fw_connect(void *ud, const char *host, uint16_t port, uint32_t timeout_ms)
{
    fw_net *n = ud;
    struct sockaddr_in addr;
    int one = 1;
    (void)timeout_ms; /* loopback: connect completes or fails at once */
    if (n->fail_connect || host == NULL) {
        return -1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        return -1;
    }
    n->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (n->fd < 0) {
        return -1;
    }
    if (connect(n->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(n->fd);
        n->fd = -1;
        return -1;
    }
    setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    n->connects++;
    return 0;
}

static int fw_wait(int fd, short events, uint32_t timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int r;
    do {
        r = poll(&p, 1, (int)timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r;
}

static int fw_send(void *ud, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    fw_net *n = ud;
    ssize_t w;
    int ready;
    if (n->fail_send || n->fd < 0) {
        return -1;
    }
    if (n->stall_send) {
        /* no room: wait as the contract says, then report the timeout */
        struct timespec nap = {0, (long)(timeout_ms < 50 ? timeout_ms : 50) * 1000000L};
        nanosleep(&nap, NULL);
        return 0;
    }
    ready = fw_wait(n->fd, POLLOUT, timeout_ms);
    if (ready <= 0) {
        return ready; /* 0: no room in time; -1: error */
    }
    w = send(n->fd, buf, len, MSG_NOSIGNAL);
    if (w < 0) {
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    n->sent += (size_t)w;
    return (int)w;
}

static int fw_recv(void *ud, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    fw_net *n = ud;
    ssize_t r;
    int ready;
    if (n->fail_recv || n->fd < 0) {
        return -1;
    }
    if (n->stall_recv) {
        return 0; /* as if nothing arrived, without waiting */
    }
    ready = fw_wait(n->fd, POLLIN, timeout_ms);
    if (ready <= 0) {
        return ready;
    }
    r = recv(n->fd, buf, len, 0);
    if (r == 0) {
        return -1; /* peer closed */
    }
    if (r < 0) {
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    n->received += (size_t)r;
    return (int)r;
}

static void fw_close(void *ud)
{
    fw_net *n = ud;
    if (n->fd >= 0) {
        close(n->fd);
        n->fd = -1;
    }
    n->closes++;
}

static inline emq_transport fw_transport(fw_net *n)
{
    emq_transport t;
    memset(n, 0, sizeof *n);
    n->fd = -1;
    t.connect = fw_connect;
    t.send = fw_send;
    t.recv = fw_recv;
    t.close = fw_close;
    t.user_data = n;
    return t;
}

/* --- recorder --------------------------------------------------------------- */

#define FW_REC_MAX 16

typedef struct fw_rec {
    int connects, disconnects;
    uint8_t connect_code;
    emq_err disconnect_reason;
    int messages;
    char topic[FW_REC_MAX][128];
    uint8_t payload[FW_REC_MAX][64];
    size_t payload_len[FW_REC_MAX];
    uint8_t qos[FW_REC_MAX];
    int published;
    uint16_t published_id[FW_REC_MAX];
    int subscribed;
    uint8_t granted[8];
    size_t granted_count;
    int unsubscribed;
} fw_rec;

static void fw_on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    fw_rec *r = ud;
    (void)c;
    (void)session_present;
    r->connects++;
    r->connect_code = code;
}

static void fw_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    fw_rec *r = ud;
    (void)c;
    r->disconnects++;
    r->disconnect_reason = reason;
}

static void fw_on_message(void *ud, emq_client *c, const emq_message *m)
{
    fw_rec *r = ud;
    int i = r->messages;
    (void)c;
    CHECK(i < FW_REC_MAX);
    CHECK(m->topic_len < sizeof r->topic[0]);
    memcpy(r->topic[i], m->topic, m->topic_len);
    r->topic[i][m->topic_len] = '\0';
    r->payload_len[i] = m->payload_len;
    memcpy(r->payload[i], m->payload,
           m->payload_len < sizeof r->payload[0] ? m->payload_len : sizeof r->payload[0]);
    r->qos[i] = m->qos;
    r->messages++;
}

static void fw_on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    fw_rec *r = ud;
    (void)c;
    CHECK(r->published < FW_REC_MAX);
    r->published_id[r->published++] = packet_id;
}

static void fw_on_subscribed(void *ud, emq_client *c, uint16_t packet_id, const uint8_t *granted,
                             size_t count)
{
    fw_rec *r = ud;
    (void)c;
    (void)packet_id;
    CHECK(count <= sizeof r->granted);
    memcpy(r->granted, granted, count);
    r->granted_count = count;
    r->subscribed++;
}

static void fw_on_unsubscribed(void *ud, emq_client *c, uint16_t packet_id)
{
    fw_rec *r = ud;
    (void)c;
    (void)packet_id;
    r->unsubscribed++;
}

static inline emq_callbacks fw_callbacks(void)
{
    emq_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_connect = fw_on_connect;
    cb.on_disconnect = fw_on_disconnect;
    cb.on_message = fw_on_message;
    cb.on_published = fw_on_published;
    cb.on_subscribed = fw_on_subscribed;
    cb.on_unsubscribed = fw_on_unsubscribed;
    return cb;
}

/* Storage for one client, as firmware declares it. */
typedef struct fw_storage {
    alignas(EMQ_CLIENT_STORAGE_ALIGN) uint8_t bytes[EMQ_CLIENT_STORAGE_SIZE];
} fw_storage;

#endif
