/*
 * embermq Paho embedded-C compatibility: the Linux platform port
 * (include/paho/MQTTLinux.h), written from the contract in
 * shared/paho-embedded-api.md section 3. Differences from Paho's port:
 * timers use CLOCK_MONOTONIC, not the wall clock; reads and writes wait
 * with poll() for exactly the time given; a closed connection is an error
 * (-1), not a timeout; a failed connect closes its socket and tries the
 * host's other addresses (IPv6 too); NetworkDisconnect of a network that is
 * not connected closes nothing.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "MQTTLinux.h"

#include <limits.h>
#include <poll.h>
#include <time.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long end_us(Timer* timer)
{
    return (long long)timer->end_time.tv_sec * 1000000LL + timer->end_time.tv_usec;
}

static void set_end(Timer* timer, long long us)
{
    timer->end_time.tv_sec = (time_t)(us / 1000000LL);
    timer->end_time.tv_usec = (suseconds_t)(us % 1000000LL);
}

void TimerInit(Timer* timer)
{
    timer->end_time.tv_sec = 0;
    timer->end_time.tv_usec = 0;
}

char TimerIsExpired(Timer* timer)
{
    return end_us(timer) <= now_us();
}

void TimerCountdownMS(Timer* timer, unsigned int ms)
{
    set_end(timer, now_us() + (long long)ms * 1000LL);
}

void TimerCountdown(Timer* timer, unsigned int seconds)
{
    set_end(timer, now_us() + (long long)seconds * 1000000LL);
}

int TimerLeftMS(Timer* timer)
{
    long long left = end_us(timer) - now_us();
    if (left <= 0) {
        return 0;
    }
    left = (left + 999) / 1000; /* not yet expired: at least 1 ms */
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until the socket is ready for `events` or the timer expires:
 * 1 ready, 0 timed out, -1 error. */
static int wait_ready(int sock, short events, Timer* timer)
{
    for (;;) {
        struct pollfd p;
        int rc;
        p.fd = sock;
        p.events = events;
        p.revents = 0;
        rc = poll(&p, 1, TimerLeftMS(timer));
        if (rc > 0) {
            return 1;
        }
        if (rc == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

int linux_read(Network* n, unsigned char* buffer, int len, int timeout_ms)
{
    Timer timer;
    int got = 0;
    if (n == NULL || buffer == NULL || len < 0 || n->my_socket < 0) {
        return -1;
    }
    TimerInit(&timer);
    TimerCountdownMS(&timer, timeout_ms > 0 ? (unsigned int)timeout_ms : 0u);
    while (got < len) {
        ssize_t rc;
        int ready = wait_ready(n->my_socket, POLLIN, &timer);
        if (ready < 0) {
            return -1;
        }
        if (ready == 0) {
            break;
        }
        rc = recv(n->my_socket, buffer + got, (size_t)(len - got), MSG_DONTWAIT);
        if (rc > 0) {
            got += (int)rc;
        } else if (rc == 0) {
            return -1; /* the peer closed the connection */
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
        if (got < len && TimerIsExpired(&timer)) {
            break;
        }
    }
    return got;
}

int linux_write(Network* n, unsigned char* buffer, int len, int timeout_ms)
{
    Timer timer;
    ssize_t rc;
    int ready;
    if (n == NULL || buffer == NULL || len < 0 || n->my_socket < 0) {
        return -1;
    }
    TimerInit(&timer);
    TimerCountdownMS(&timer, timeout_ms > 0 ? (unsigned int)timeout_ms : 0u);
    ready = wait_ready(n->my_socket, POLLOUT, &timer);
    if (ready <= 0) {
        return ready;
    }
    rc = send(n->my_socket, buffer, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (rc < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    return (int)rc;
}

void NetworkInit(Network* n)
{
    signal(SIGPIPE, SIG_IGN);
    n->my_socket = -1;
    n->mqttread = linux_read;
    n->mqttwrite = linux_write;
}

int NetworkConnect(Network* n, char* addr, int port)
{
    struct addrinfo hints;
    struct addrinfo* result = NULL;
    struct addrinfo* ai;
    char service[16];
    int sock = -1;

    if (n == NULL || addr == NULL || port <= 0 || port > 65535) {
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(addr, service, &hints, &result) != 0) {
        return -1;
    }
    for (ai = result; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (sock < 0) {
            continue;
        }
        if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0) {
            (void)setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            break;
        }
        close(sock);
        sock = -1;
    }
    freeaddrinfo(result);
    if (sock < 0) {
        return -1;
    }
    n->my_socket = sock;
    return 0;
}

void NetworkDisconnect(Network* n)
{
    if (n != NULL && n->my_socket >= 0) {
        close(n->my_socket);
        n->my_socket = -1;
    }
}
