/*
 * The firmware build's platform on a POSIX host, shared by the firmware
 * tests' fw_harness.h and the host tests' harness.h (whose test_client_new
 * builds firmware clients on it when EMBERMQ_FIRMWARE is defined): the
 * panic handler, a clock_gettime millisecond tick, and an emq_transport over
 * POSIX sockets to the private mosquitto of scripts/with-broker.sh.
 *
 * The transport can be told to fail: `fw_net.fail_send` / `fail_recv`
 * (return -1), `stall_recv` / `stall_send` (report timeouts without moving
 * bytes) and `fail_connect`, so tests can check how the client reports each;
 * `fw_net_cut` cuts the link under the client, as a dropped connection.
 */
#ifndef EMBERMQ_FW_POSIX_H
#define EMBERMQ_FW_POSIX_H

#ifndef EMBERMQ_FIRMWARE
#define EMBERMQ_FIRMWARE 1
#endif
#include "../check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

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
    int connects, closes, cuts;
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

/* Cuts the link under the client now, as a dropped connection would: the
 * socket is shut down both ways (the client's next send or recv fails and
 * the broker sees the peer go), and closed by the client's `close` as
 * usual. Returns false when no connection is open. */
static inline bool fw_net_cut(fw_net *n)
{
    if (n->fd < 0) {
        return false;
    }
    CHECK(shutdown(n->fd, SHUT_RDWR) == 0);
    n->cuts++;
    return true;
}

#endif
