/* embermq's platform over BSD sockets (lwIP or POSIX): see
 * emq_port_sockets.h. */
#if !defined(ESP_PLATFORM) && !defined(EMQ_PORT_LWIP) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* getaddrinfo, clock_gettime */
#endif
#include "emq_port_sockets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(ESP_PLATFORM) || defined(EMQ_PORT_LWIP)
#include "lwip/netdb.h"
#include "lwip/sockets.h"
#else
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#endif
#if defined(ESP_PLATFORM)
#include "esp_timer.h"
#endif

/* A broken connection must be an error return, not a SIGPIPE (POSIX);
 * lwIP has no signals. */
#ifdef MSG_NOSIGNAL
#define EMQ_SEND_FLAGS MSG_NOSIGNAL
#else
#define EMQ_SEND_FLAGS 0
#endif

/* Waits until `fd` is readable (or writable) for at most `timeout_ms`:
 * 1 ready, 0 not in time, -1 error. select, not poll: every lwIP build has
 * it. Signals restart the wait with the full timeout: the caller's own
 * deadline bounds it. */
static int wait_ready(int fd, int writable, uint32_t timeout_ms)
{
    int tries;
    if (fd >= FD_SETSIZE) {
        return -1; /* select cannot watch it */
    }
    for (tries = 0; tries < 16; tries++) {
        fd_set set;
        struct timeval tv;
        int r;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        tv.tv_sec = (long)(timeout_ms / 1000u);
        tv.tv_usec = (long)(timeout_ms % 1000u) * 1000L;
        r = select(fd + 1, writable ? NULL : &set, writable ? &set : NULL, NULL, &tv);
        if (r >= 0) {
            return r > 0 ? 1 : 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Connects `fd` to `addr` within `timeout_ms`: 0 or -1. */
static int connect_within(int fd, const struct sockaddr *addr, socklen_t len, uint32_t timeout_ms)
{
    int err = 0;
    socklen_t err_len = sizeof err;
    if (connect(fd, addr, len) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        return -1;
    }
    if (wait_ready(fd, 1, timeout_ms) != 1) {
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err != 0) {
        return -1;
    }
    return 0;
}

emq_transport emq_socket_transport(emq_socket_port *port)
{
    emq_transport t;
    if (port != NULL) {
        port->fd = -1;
    }
    t.connect = emq_socket_connect;
    t.send = emq_socket_send;
    t.recv = emq_socket_recv;
    t.close = emq_socket_close;
    t.user_data = port;
    return t;
}

int emq_socket_connect(void *user_data, const char *host, uint16_t tcp_port, uint32_t timeout_ms)
{
    emq_socket_port *port = user_data;
    struct addrinfo hints, *found = NULL, *ai;
    char service[8];
    int one = 1;
    if (port == NULL || host == NULL) {
        return -1;
    }
    if (port->fd >= 0) {
        emq_socket_close(port);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", (unsigned)tcp_port);
    if (getaddrinfo(host, service, &hints, &found) != 0 || found == NULL) {
        return -1;
    }
    /* Every address in turn, each with the whole timeout: a name with an
     * unreachable IPv6 address still connects over IPv4. */
    for (ai = found; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (set_nonblocking(fd) == 0 &&
            connect_within(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen, timeout_ms) == 0) {
            /* MQTT's small packets must not wait for Nagle. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            port->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(found);
    return port->fd >= 0 ? 0 : -1;
}

int emq_socket_send(void *user_data, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    emq_socket_port *port = user_data;
    ssize_t sent;
    int ready;
    if (port == NULL || port->fd < 0) {
        return -1;
    }
    ready = wait_ready(port->fd, 1, timeout_ms);
    if (ready <= 0) {
        return ready;
    }
    /* At most INT_MAX: the return value is an int. */
    if (len > 0x7fffffffu) {
        len = 0x7fffffffu;
    }
    sent = send(port->fd, buf, len, EMQ_SEND_FLAGS);
    if (sent < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    return (int)sent;
}

int emq_socket_recv(void *user_data, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    emq_socket_port *port = user_data;
    ssize_t got;
    int ready;
    if (port == NULL || port->fd < 0) {
        return -1;
    }
    ready = wait_ready(port->fd, 0, timeout_ms);
    if (ready <= 0) {
        return ready;
    }
    if (len > 0x7fffffffu) {
        len = 0x7fffffffu;
    }
    got = recv(port->fd, buf, len, 0);
    if (got == 0) {
        return -1; /* the broker closed the connection */
    }
    if (got < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    return (int)got;
}

void emq_socket_close(void *user_data)
{
    emq_socket_port *port = user_data;
    if (port != NULL && port->fd >= 0) {
        close(port->fd);
        port->fd = -1;
    }
}

#if !defined(EMQ_PORT_OWN_CLOCK)
uint32_t emq_port_clock_ms(void)
{
#if defined(ESP_PLATFORM)
    return (uint32_t)(esp_timer_get_time() / 1000);
#else
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)now.tv_sec * 1000u + (uint32_t)(now.tv_nsec / 1000000L);
#endif
}
#endif

static void mutex_lock(void *user_data)
{
    emq_port_mutex *m = user_data;
#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
    xSemaphoreTake(m->handle, portMAX_DELAY);
#else
    pthread_mutex_lock(&m->mutex);
#endif
}

static void mutex_unlock(void *user_data)
{
    emq_port_mutex *m = user_data;
#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
    xSemaphoreGive(m->handle);
#else
    pthread_mutex_unlock(&m->mutex);
#endif
}

enum emq_err emq_port_mutex_init(emq_port_mutex *mutex, emq_lock *hooks)
{
    if (mutex == NULL || hooks == NULL) {
        return EMQ_ERR_NULL_POINTER;
    }
#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
    mutex->handle = xSemaphoreCreateMutexStatic(&mutex->storage);
    if (mutex->handle == NULL) {
        return EMQ_ERR_NO_MEMORY;
    }
#else
    if (pthread_mutex_init(&mutex->mutex, NULL) != 0) {
        return EMQ_ERR_NO_MEMORY;
    }
#endif
    hooks->lock = mutex_lock;
    hooks->unlock = mutex_unlock;
    hooks->user_data = mutex;
    return EMQ_OK;
}

void emq_port_mutex_deinit(emq_port_mutex *mutex)
{
    if (mutex == NULL) {
        return;
    }
#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
    vSemaphoreDelete(mutex->handle);
#else
    pthread_mutex_destroy(&mutex->mutex);
#endif
}
