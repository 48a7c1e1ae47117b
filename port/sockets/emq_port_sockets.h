/*
 * embermq's platform for an RTOS (or any OS) with a BSD-socket TCP/IP
 * stack: a transport over the socket API that lwIP and POSIX share, a
 * millisecond clock, and lock hooks over a mutex. The firmware build of
 * embermq (EMBERMQ_FIRMWARE) takes all three:
 *
 *     static emq_socket_port net;
 *     static emq_port_mutex mutex;
 *     emq_transport transport = emq_socket_transport(&net);
 *     emq_lock lock;
 *     emq_client_init(storage, sizeof storage, &options, &transport,
 *                     emq_port_clock_ms, &buffers, &client);
 *     if (emq_port_mutex_init(&mutex, &lock) == EMQ_OK) {
 *         emq_client_set_lock(client, &lock);   // lock-hooks feature
 *     }
 *
 * Platforms:
 *   - ESP-IDF (ESP_PLATFORM defined): lwIP's sockets (lwip/sockets.h,
 *     lwip/netdb.h), FreeRTOS mutexes, esp_timer for the clock;
 *   - FreeRTOS + lwIP elsewhere: define EMQ_PORT_LWIP and EMQ_PORT_FREERTOS
 *     and provide `uint32_t emq_port_clock_ms(void)` yourself
 *     (EMQ_PORT_OWN_CLOCK), e.g. from xTaskGetTickCount();
 *   - POSIX (the default): sys/socket.h, pthreads, CLOCK_MONOTONIC. The
 *     firmware C tests run the port this way on the host.
 *
 * Only the calls lwIP's compatibility names also provide are used:
 * getaddrinfo/freeaddrinfo, socket, fcntl(O_NONBLOCK), connect, select,
 * getsockopt(SO_ERROR), setsockopt(TCP_NODELAY), send, recv, shutdown,
 * close.
 *
 * TLS on the device: put mbedTLS (or ESP-IDF's esp-tls, which wraps it)
 * under the transport instead of the plain socket: a transport whose
 * `connect` runs esp_tls_conn_new_sync (or mbedtls_ssl_handshake over the
 * socket this port opens, with mbedtls_ssl_set_bio on send/recv functions
 * that honour the timeout as emq_socket_send/emq_socket_recv do), whose
 * `send`/`recv` call esp_tls_conn_write/esp_tls_conn_read (or
 * mbedtls_ssl_write/mbedtls_ssl_read, mapping MBEDTLS_ERR_SSL_WANT_READ and
 * _WANT_WRITE to 0, "nothing yet"), and whose `close` frees the session.
 * embermq itself needs nothing else: it only sees bytes.
 */
#ifndef EMQ_PORT_SOCKETS_H
#define EMQ_PORT_SOCKETS_H

#ifndef EMBERMQ_FIRMWARE
#define EMBERMQ_FIRMWARE 1
#endif
#include "embermq.h"

#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#else
#include <pthread.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One TCP connection's state; the transport's user_data. */
typedef struct emq_socket_port {
    int fd; /* the socket, -1 when closed */
} emq_socket_port;

/* A transport over `port` (closed until embermq connects it). */
emq_transport emq_socket_transport(emq_socket_port *port);

/* The transport's callbacks (emq_transport's contract): connect resolves
 * `host` (a name or an address) and connects within `timeout_ms`, with
 * TCP_NODELAY, returning 0 or -1; send and recv wait at most `timeout_ms`
 * and return the bytes moved, 0 when none could be in time, or -1 on an
 * error or a closed connection; close closes the socket. */
int emq_socket_connect(void *port, const char *host, uint16_t tcp_port, uint32_t timeout_ms);
int emq_socket_send(void *port, const uint8_t *buf, size_t len, uint32_t timeout_ms);
int emq_socket_recv(void *port, uint8_t *buf, size_t len, uint32_t timeout_ms);
void emq_socket_close(void *port);

/* Milliseconds from a monotonic clock, wrapping at 2^32 (emq_clock_ms). */
uint32_t emq_port_clock_ms(void);

/* A mutex for emq_client_set_lock. */
typedef struct emq_port_mutex {
#if defined(ESP_PLATFORM) || defined(EMQ_PORT_FREERTOS)
    SemaphoreHandle_t handle;
    StaticSemaphore_t storage;
#else
    pthread_mutex_t mutex;
#endif
} emq_port_mutex;

/* Makes `mutex` (not recursive: embermq never takes it twice from one
 * task) and fills `hooks` to lock and unlock it. EMQ_ERR_NULL_POINTER for
 * NULL arguments, EMQ_ERR_NO_MEMORY when the mutex cannot be made. */
enum emq_err emq_port_mutex_init(emq_port_mutex *mutex, emq_lock *hooks);

/* Ends a mutex made by emq_port_mutex_init (after emq_client_deinit). */
void emq_port_mutex_deinit(emq_port_mutex *mutex);

#ifdef __cplusplus
}
#endif

#endif
