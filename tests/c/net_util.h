/*
 * Sockets the C tests open themselves on 127.0.0.1, in both builds:
 *   - test_closed_port(): a port nobody listens on (bound to get a free
 *     port, then closed), so a connect there is refused at once;
 *   - test_silent_listener(): a listening socket that is never accepted
 *     from: the kernel completes the TCP handshake and queues what the
 *     client writes, but no byte ever comes back (a broker that hangs);
 *   - test_listen_on(): a listener on a given port (or -1 if taken).
 * Include after harness.h.
 */
#ifndef EMBERMQ_TEST_NET_UTIL_H
#define EMBERMQ_TEST_NET_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* A socket bound to 127.0.0.1:port (0: any free port), listening with
 * `backlog` when backlog > 0. Returns the descriptor, or -1 if the port is
 * taken. `*bound` (may be NULL) gets the port. */
static inline int test_listen_on(uint16_t port, int backlog, uint16_t *bound)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    CHECK(fd >= 0);
    if (port != 0) {
        /* Only so a listener of this test's own earlier run in TIME_WAIT
         * does not count as taken; a live listener still makes bind fail. */
        CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    CHECK(inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) == 1);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        CHECK(port != 0 && (errno == EADDRINUSE || errno == EACCES));
        close(fd);
        return -1;
    }
    if (backlog > 0) {
        CHECK(listen(fd, backlog) == 0);
    }
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    if (bound != NULL) {
        *bound = ntohs(addr.sin_port);
    }
    return fd;
}

/* A free port with no listener: connecting to it is refused. */
static inline uint16_t test_closed_port(void)
{
    uint16_t port = 0;
    int fd = test_listen_on(0, 0, &port);
    CHECK(fd >= 0 && port != 0);
    close(fd);
    return port;
}

/* A listener that never accepts nor answers; `*port` gets its port. */
static inline int test_silent_listener(uint16_t *port)
{
    int fd = test_listen_on(0, 8, port);
    CHECK(fd >= 0);
    return fd;
}

/* Accepts one connection on `listener`, waiting at most `ms`; -1 if none. */
static inline int test_accept(int listener, int ms)
{
    struct pollfd p;
    p.fd = listener;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, ms) <= 0) {
        return -1;
    }
    return accept(listener, NULL, NULL);
}

/* Reads at most `len` bytes from `fd`, waiting at most `ms` for the first.
 * Returns the count, 0 on timeout or end of stream, -1 on error. */
static inline int test_read_some(int fd, uint8_t *buf, size_t len, int ms)
{
    struct pollfd p;
    ssize_t n;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, ms) <= 0) {
        return 0;
    }
    n = recv(fd, buf, len, 0);
    return n < 0 ? -1 : (int)n;
}

#endif
