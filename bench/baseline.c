/*
 * The physical-limit baseline: no client library, only what MQTT needs on
 * the wire. The writer sends a PUBLISH whose fixed header, topic and packet
 * id are encoded once (the id patched per message) with one writev per
 * message, the same batching as embermq's publish. The reader reads up to
 * 64 KiB at a time, walks the packets in place and answers acks in one
 * write per read.
 */
#define _GNU_SOURCE

#include "common.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_BUFFER_SIZE (64 * 1024)
#define ACK_BUFFER_SIZE 4096

struct raw_conn {
    int fd;
    bool subscribed;
    uint16_t next_id;
    /* The PUBLISH header for the current topic, qos and payload length. */
    uint8_t header[300];
    size_t header_len;
    size_t id_offset; /* where the packet id sits in header, 0 for QoS 0 */
    const char *header_topic;
    size_t header_payload_len;
    int header_qos;
    uint8_t rx[READ_BUFFER_SIZE];
    size_t rx_len;
    uint8_t acks[ACK_BUFFER_SIZE];
    size_t acks_len;
};

static size_t put_remaining_length(uint8_t *out, size_t length)
{
    size_t n = 0;
    do {
        uint8_t byte = (uint8_t)(length % 128);
        length /= 128;
        out[n++] = length > 0 ? (uint8_t)(byte | 0x80) : byte;
    } while (length > 0);
    return n;
}

static size_t put_string(uint8_t *out, const char *text)
{
    size_t len = strlen(text);
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, text, len);
    return len + 2;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool flush_acks(struct raw_conn *conn)
{
    bool ok = write_all(conn->fd, conn->acks, conn->acks_len);
    conn->acks_len = 0;
    return ok;
}

static bool queue_ack(struct raw_conn *conn, uint8_t type_and_flags, uint16_t id)
{
    if (conn->acks_len + 4 > sizeof conn->acks && !flush_acks(conn)) {
        return false;
    }
    conn->acks[conn->acks_len++] = type_and_flags;
    conn->acks[conn->acks_len++] = 2;
    conn->acks[conn->acks_len++] = (uint8_t)(id >> 8);
    conn->acks[conn->acks_len++] = (uint8_t)id;
    return true;
}

/* Handles one whole packet; false on a protocol error. */
static bool handle_packet(struct raw_conn *conn, const uint8_t *packet, size_t header_len,
                          size_t body_len)
{
    const uint8_t *body = packet + header_len;
    uint8_t type = packet[0] >> 4;
    int qos = (packet[0] >> 1) & 3;
    uint16_t id = body_len >= 2 ? (uint16_t)(body[0] << 8 | body[1]) : 0;

    switch (type) {
    case 3: { /* PUBLISH */
        size_t topic_len, skip;
        if (body_len < 2) {
            return false;
        }
        topic_len = (size_t)(body[0] << 8 | body[1]);
        skip = 2 + topic_len + (qos > 0 ? 2 : 0);
        if (skip > body_len) {
            return false;
        }
        bench_message_received(body + skip, body_len - skip);
        if (qos > 0) {
            id = (uint16_t)(body[2 + topic_len] << 8 | body[3 + topic_len]);
            return queue_ack(conn, qos == 1 ? 0x40 : 0x50, id);
        }
        return true;
    }
    case 4: /* PUBACK */
    case 7: /* PUBCOMP */
        bench_publish_acked();
        return true;
    case 5: /* PUBREC */
        return queue_ack(conn, 0x62, id);
    case 6: /* PUBREL */
        return queue_ack(conn, 0x70, id);
    case 9: /* SUBACK */
        conn->subscribed = true;
        return true;
    case 2:  /* CONNACK */
    case 13: /* PINGRESP */
        return true;
    default:
        return false;
    }
}

/* Reads once (waiting at most timeout_ms) and handles every whole packet. */
static int raw_loop(void *opaque, int timeout_ms)
{
    struct raw_conn *conn = opaque;
    struct pollfd readable = {.fd = conn->fd, .events = POLLIN};
    size_t offset = 0;
    ssize_t n;

    if (poll(&readable, 1, timeout_ms) <= 0) {
        return BENCH_OK;
    }
    n = read(conn->fd, conn->rx + conn->rx_len, sizeof conn->rx - conn->rx_len);
    if (n <= 0) {
        return n < 0 && errno == EINTR ? BENCH_OK : BENCH_ERROR;
    }
    conn->rx_len += (size_t)n;
    for (;;) {
        size_t length = 0, shift = 0, header_len = 1;
        bool complete = false;
        while (offset + header_len < conn->rx_len && header_len <= 4) {
            uint8_t byte = conn->rx[offset + header_len++];
            length |= (size_t)(byte & 0x7f) << shift;
            shift += 7;
            if ((byte & 0x80) == 0) {
                complete = true;
                break;
            }
        }
        if (!complete || offset + header_len + length > conn->rx_len) {
            break;
        }
        if (!handle_packet(conn, conn->rx + offset, header_len, length)) {
            return BENCH_ERROR;
        }
        offset += header_len + length;
    }
    memmove(conn->rx, conn->rx + offset, conn->rx_len - offset);
    conn->rx_len -= offset;
    if (conn->rx_len == sizeof conn->rx) {
        return BENCH_ERROR; /* a packet larger than the buffer */
    }
    return conn->acks_len > 0 && !flush_acks(conn) ? BENCH_ERROR : BENCH_OK;
}

static void *raw_connect(const struct bench_config *config, const char *client_id)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses;
    struct raw_conn *conn = calloc(1, sizeof *conn);
    /* The client id is at most 64 bytes, so the remaining length fits one byte. */
    uint8_t packet[128];
    uint8_t *body = packet + 2;
    size_t body_len = 0;
    char port[16];
    int one = 1;
    int64_t deadline = bench_now_ns() + 10000000000LL;

    if (conn == NULL || strlen(client_id) > 64) {
        free(conn);
        return NULL;
    }
    snprintf(port, sizeof port, "%d", config->port);
    if (getaddrinfo(config->host, port, &hints, &addresses) != 0) {
        free(conn);
        return NULL;
    }
    conn->fd = socket(addresses->ai_family, SOCK_STREAM, 0);
    if (conn->fd < 0 || connect(conn->fd, addresses->ai_addr, addresses->ai_addrlen) != 0) {
        freeaddrinfo(addresses);
        if (conn->fd >= 0) {
            close(conn->fd);
        }
        free(conn);
        return NULL;
    }
    freeaddrinfo(addresses);
    setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    /* CONNECT: "MQTT" level 4, clean session, keepalive 60 s. */
    body_len += put_string(body, "MQTT");
    body[body_len++] = 4;
    body[body_len++] = 0x02;
    body[body_len++] = 0;
    body[body_len++] = 60;
    body_len += put_string(body + body_len, client_id);
    packet[0] = 0x10;
    packet[1] = (uint8_t)body_len;
    if (!write_all(conn->fd, packet, 2 + body_len)) {
        close(conn->fd);
        free(conn);
        return NULL;
    }
    /* The CONNACK: 4 bytes, return code last. */
    while (conn->rx_len < 4 && bench_now_ns() < deadline) {
        ssize_t n = read(conn->fd, conn->rx + conn->rx_len, 4 - conn->rx_len);
        if (n <= 0) {
            break;
        }
        conn->rx_len += (size_t)n;
    }
    if (conn->rx_len < 4 || conn->rx[0] != 0x20 || conn->rx[3] != 0) {
        close(conn->fd);
        free(conn);
        return NULL;
    }
    conn->rx_len = 0;
    conn->next_id = 1;
    return conn;
}

static int raw_subscribe(void *opaque, const char *filter, int qos)
{
    struct raw_conn *conn = opaque;
    uint8_t packet[300], body[290];
    size_t body_len = 2, len;
    int64_t deadline = bench_now_ns() + 10000000000LL;

    if (strlen(filter) > 250) {
        return BENCH_ERROR;
    }
    body[0] = 0;
    body[1] = 1; /* packet id 1; publishes start their ids anew */
    body_len += put_string(body + body_len, filter);
    body[body_len++] = (uint8_t)qos;
    packet[0] = 0x82;
    len = 1 + put_remaining_length(packet + 1, body_len);
    memcpy(packet + len, body, body_len);
    if (!write_all(conn->fd, packet, len + body_len)) {
        return BENCH_ERROR;
    }
    while (!conn->subscribed) {
        if (bench_now_ns() > deadline || raw_loop(conn, 100) != BENCH_OK) {
            return BENCH_ERROR;
        }
    }
    return BENCH_OK;
}

/* Encodes the PUBLISH header once per topic, QoS and payload length. */
static bool prepare_header(struct raw_conn *conn, const char *topic, size_t len, int qos)
{
    size_t topic_len = strlen(topic), remaining, n;
    if (topic_len > 250) {
        return false;
    }
    remaining = 2 + topic_len + (qos > 0 ? 2 : 0) + len;
    conn->header[0] = (uint8_t)(0x30 | qos << 1);
    n = 1 + put_remaining_length(conn->header + 1, remaining);
    n += put_string(conn->header + n, topic);
    conn->id_offset = qos > 0 ? n : 0;
    if (qos > 0) {
        n += 2;
    }
    conn->header_len = n;
    conn->header_topic = topic;
    conn->header_payload_len = len;
    conn->header_qos = qos;
    return true;
}

static int raw_publish(void *opaque, const char *topic, const void *payload, size_t len,
                       int qos)
{
    struct raw_conn *conn = opaque;
    struct iovec parts[2];
    size_t total;
    ssize_t n;

    if ((topic != conn->header_topic || len != conn->header_payload_len ||
         qos != conn->header_qos) &&
        !prepare_header(conn, topic, len, qos)) {
        return BENCH_ERROR;
    }
    if (conn->id_offset != 0) {
        conn->header[conn->id_offset] = (uint8_t)(conn->next_id >> 8);
        conn->header[conn->id_offset + 1] = (uint8_t)conn->next_id;
        conn->next_id = conn->next_id == 65535 ? 1 : conn->next_id + 1;
    }
    parts[0].iov_base = conn->header;
    parts[0].iov_len = conn->header_len;
    parts[1].iov_base = (void *)payload;
    parts[1].iov_len = len;
    total = conn->header_len + len;
    n = writev(conn->fd, parts, 2);
    if (n == (ssize_t)total) {
        return BENCH_OK;
    }
    if (n < 0) {
        return BENCH_ERROR;
    }
    /* A partial write (full socket buffer): finish it the slow way. */
    if ((size_t)n < conn->header_len) {
        if (!write_all(conn->fd, conn->header + n, conn->header_len - (size_t)n) ||
            !write_all(conn->fd, payload, len)) {
            return BENCH_ERROR;
        }
    } else if (!write_all(conn->fd, (const uint8_t *)payload + ((size_t)n - conn->header_len),
                          total - (size_t)n)) {
        return BENCH_ERROR;
    }
    return BENCH_OK;
}

static int raw_flush(void *opaque, int timeout_ms)
{
    /* Writes are blocking and complete. */
    (void)opaque;
    (void)timeout_ms;
    return BENCH_OK;
}

static void raw_disconnect(void *opaque)
{
    struct raw_conn *conn = opaque;
    static const uint8_t disconnect_packet[2] = {0xe0, 0x00};
    write_all(conn->fd, disconnect_packet, sizeof disconnect_packet);
    close(conn->fd);
    free(conn);
}

const struct bench_backend bench_backend = {
    .name = "raw",
    .threaded = false,
    .driver_keeps_window = true,
    .connect = raw_connect,
    .subscribe = raw_subscribe,
    .publish = raw_publish,
    .loop = raw_loop,
    .flush = raw_flush,
    .disconnect = raw_disconnect,
};
