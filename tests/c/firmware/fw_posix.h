/*
 * The firmware build's platform on a POSIX host, shared by the firmware
 * tests' fw_harness.h and the host tests' harness.h (whose test_client_new
 * builds firmware clients on it when EMBERMQ_FIRMWARE is defined): the
 * panic handler, and the BSD-socket port of port/sockets (its millisecond
 * tick and its transport, to the private mosquitto of
 * scripts/with-broker.sh): every firmware C test runs that port.
 *
 * The transport can be told to fail: `fw_net.fail_send` / `fail_recv`
 * (return -1), `stall_recv` / `stall_send` (report timeouts without moving
 * bytes), `fail_after_recv` (every recv after the next one that brings
 * bytes fails: a link lost right after a packet) and `fail_connect`, so
 * tests can check how the client reports each;
 * `fw_net_cut` cuts the link under the client, as a dropped connection.
 */
#ifndef EMBERMQ_FW_POSIX_H
#define EMBERMQ_FW_POSIX_H

#ifndef EMBERMQ_FIRMWARE
#define EMBERMQ_FIRMWARE 1
#endif
#include "../check.h"
#include "emq_port_sockets.h"

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

/* The clock callback: the port's wrapping 32-bit millisecond tick, as on
 * an MCU, moved by fw_clock_offset. */
static uint32_t fw_clock_ms(void)
{
    return emq_port_clock_ms() + fw_clock_offset;
}

/* Makes the tick wrap around 2^32 `in_ms` from now. */
static inline void fw_clock_wrap_in(uint32_t in_ms)
{
    fw_clock_offset = 0u - emq_port_clock_ms() - in_ms;
}

/* --- transport: the BSD-socket port, with faults on demand -------------- */

typedef struct fw_net {
    emq_socket_port sock; /* port/sockets: the transport under test */
    int connects, closes, cuts;
    bool fail_connect, fail_send, fail_recv, stall_recv, stall_send, fail_after_recv;
    size_t sent, received;
} fw_net;

static int fw_connect(void *ud, const char *host, uint16_t port, uint32_t timeout_ms)
{
    fw_net *n = ud;
    if (n->fail_connect || emq_socket_connect(&n->sock, host, port, timeout_ms) != 0) {
        return -1;
    }
    n->connects++;
    return 0;
}

static int fw_send(void *ud, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    fw_net *n = ud;
    int w;
    if (n->fail_send || n->sock.fd < 0) {
        return -1;
    }
    if (n->stall_send) {
        /* no room: wait as the contract says, then report the timeout */
        struct timespec nap = {0, (long)(timeout_ms < 50 ? timeout_ms : 50) * 1000000L};
        nanosleep(&nap, NULL);
        return 0;
    }
    w = emq_socket_send(&n->sock, buf, len, timeout_ms);
    if (w > 0) {
        n->sent += (size_t)w;
    }
    return w;
}

static int fw_recv(void *ud, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    fw_net *n = ud;
    int r;
    if (n->fail_recv || n->sock.fd < 0) {
        return -1;
    }
    if (n->stall_recv) {
        return 0; /* as if nothing arrived, without waiting */
    }
    r = emq_socket_recv(&n->sock, buf, len, timeout_ms);
    if (r > 0) {
        n->received += (size_t)r;
        n->fail_recv = n->fail_after_recv;
    }
    return r;
}

static void fw_close(void *ud)
{
    fw_net *n = ud;
    emq_socket_close(&n->sock);
    n->closes++;
}

static inline emq_transport fw_transport(fw_net *n)
{
    emq_transport t;
    memset(n, 0, sizeof *n);
    t = emq_socket_transport(&n->sock);
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
    if (n->sock.fd < 0) {
        return false;
    }
    CHECK(shutdown(n->sock.fd, SHUT_RDWR) == 0);
    n->cuts++;
    return true;
}

#endif
