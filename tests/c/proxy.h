/*
 * A TCP proxy on 127.0.0.1 in front of the test broker, run by a pthread,
 * so a test can hold a client's traffic and cut its link at a chosen
 * moment, the same way in both builds:
 *   test_proxy_start(p)   listen on a free port (p->port), forward to
 *                         test_host():test_port(), one connection at a time;
 *   test_proxy_hold(p, up, down)  stop forwarding client -> broker (up)
 *                         and/or broker -> client (down): the bytes stay
 *                         in the kernel buffers, unread;
 *   test_proxy_cut(p)     close both sockets of the current connection
 *                         (held bytes are lost) and forward normally again
 *                         for the next one; returns once done;
 *   test_proxy_stop(p)    end the thread and close everything.
 * Link with Threads::Threads. Include after harness.h.
 */
#ifndef EMBERMQ_TEST_PROXY_H
#define EMBERMQ_TEST_PROXY_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

typedef struct test_proxy {
    uint16_t port;   /* where clients connect */
    int listen_fd;
    pthread_t thread;
    pthread_mutex_t mu;   /* guards everything below */
    int client_fd, broker_fd; /* the current connection, or -1 */
    bool hold_up, hold_down;
    bool cut_requested, stop_requested;
    int accepted, cuts;   /* connections accepted, cuts done */
    size_t up_bytes, down_bytes; /* forwarded */
} test_proxy;

static inline int test_proxy_dial_broker(void)
{
    struct sockaddr_in addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(test_port());
    CHECK(inet_pton(AF_INET, test_host(), &addr.sin_addr) == 1);
    CHECK(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Closes the current connection; the caller holds the lock. */
static inline void test_proxy_close_pair(test_proxy *p)
{
    if (p->client_fd >= 0) {
        close(p->client_fd);
    }
    if (p->broker_fd >= 0) {
        close(p->broker_fd);
    }
    p->client_fd = p->broker_fd = -1;
}

/* Moves what is readable on `from` to `to`; false when `from` ended. */
static inline bool test_proxy_move(int from, int to, size_t *count)
{
    uint8_t buf[4096];
    ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
    ssize_t done = 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    while (done < n) {
        ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        done += w;
    }
    *count += (size_t)n;
    return true;
}

static void *test_proxy_run(void *arg)
{
    test_proxy *p = arg;
    /* Bounded by stop_requested, set by test_proxy_stop. */
    for (;;) {
        struct pollfd fds[3];
        int n = 0, client_at = -1, broker_at = -1;
        pthread_mutex_lock(&p->mu);
        if (p->stop_requested) {
            test_proxy_close_pair(p);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        if (p->cut_requested) {
            test_proxy_close_pair(p);
            p->hold_up = p->hold_down = false;
            p->cut_requested = false;
            p->cuts++;
        }
        if (p->client_fd < 0) {
            fds[n].fd = p->listen_fd;
            fds[n].events = POLLIN;
            n++;
        } else {
            if (!p->hold_up) {
                client_at = n;
                fds[n].fd = p->client_fd;
                fds[n].events = POLLIN;
                n++;
            }
            if (!p->hold_down) {
                broker_at = n;
                fds[n].fd = p->broker_fd;
                fds[n].events = POLLIN;
                n++;
            }
        }
        pthread_mutex_unlock(&p->mu);
        /* The descriptors are closed only by this thread, so they stay
         * valid while it waits; the lock is free for hold and cut. */
        if (n == 0) {
            sleep_ms(2);
            continue;
        }
        {
            int i;
            for (i = 0; i < n; i++) {
                fds[i].revents = 0;
            }
        }
        if (poll(fds, (nfds_t)n, 5) <= 0) {
            continue;
        }
        pthread_mutex_lock(&p->mu);
        if (p->cut_requested || p->stop_requested) {
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (p->client_fd < 0) {
            if (fds[0].revents & POLLIN) {
                int fd = accept(p->listen_fd, NULL, NULL);
                if (fd >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    p->client_fd = fd;
                    p->broker_fd = test_proxy_dial_broker();
                    p->accepted++;
                }
            }
        } else {
            bool alive = true;
            /* Held directions are not forwarded, even if a hold came in
             * while poll waited. */
            if (client_at >= 0 && !p->hold_up && fds[client_at].revents != 0) {
                alive = test_proxy_move(p->client_fd, p->broker_fd, &p->up_bytes);
            }
            if (alive && broker_at >= 0 && !p->hold_down && fds[broker_at].revents != 0) {
                alive = test_proxy_move(p->broker_fd, p->client_fd, &p->down_bytes);
            }
            if (!alive) {
                /* One side ended: end the other, as a network path would. */
                test_proxy_close_pair(p);
                p->hold_up = p->hold_down = false;
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
}

static inline void test_proxy_start(test_proxy *p)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(p, 0, sizeof *p);
    p->client_fd = p->broker_fd = -1;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(p->listen_fd >= 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    CHECK(inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) == 1);
    CHECK(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(p->listen_fd, 8) == 0);
    CHECK(getsockname(p->listen_fd, (struct sockaddr *)&addr, &len) == 0);
    p->port = ntohs(addr.sin_port);
    CHECK(pthread_mutex_init(&p->mu, NULL) == 0);
    CHECK(pthread_create(&p->thread, NULL, test_proxy_run, p) == 0);
}

/* Holds (true) or forwards (false) each direction from now on: once this
 * returns, no byte moves in a held direction. */
static inline void test_proxy_hold(test_proxy *p, bool up, bool down)
{
    pthread_mutex_lock(&p->mu);
    p->hold_up = up;
    p->hold_down = down;
    pthread_mutex_unlock(&p->mu);
}

static inline int test_proxy_accepted(test_proxy *p)
{
    int n;
    pthread_mutex_lock(&p->mu);
    n = p->accepted;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static inline int test_proxy_cuts(test_proxy *p)
{
    int n;
    pthread_mutex_lock(&p->mu);
    n = p->cuts;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Closes the current connection's sockets, and returns once they are. */
static inline void test_proxy_cut(test_proxy *p)
{
    int before;
    pthread_mutex_lock(&p->mu);
    CHECK(p->client_fd >= 0); /* a connection to cut */
    before = p->cuts;
    p->cut_requested = true;
    pthread_mutex_unlock(&p->mu);
    WAIT_UNTIL(test_proxy_cuts(p) > before, 5000);
}

static inline void test_proxy_stop(test_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop_requested = true;
    pthread_mutex_unlock(&p->mu);
    CHECK(pthread_join(p->thread, NULL) == 0);
    close(p->listen_fd);
    pthread_mutex_destroy(&p->mu);
}

#endif
