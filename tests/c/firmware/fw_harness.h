/*
 * Harness for the host-run tests of the firmware C API: the no_std
 * staticlib (built for this host) on the POSIX platform of fw_posix.h (a
 * socket emq_transport with fault injection, a clock_gettime clock) against
 * the private mosquitto of scripts/with-broker.sh (EMQ_TEST_HOST /
 * EMQ_TEST_PORT), plus a recorder of fixed-size copies and static storage.
 */
#ifndef EMBERMQ_FW_HARNESS_H
#define EMBERMQ_FW_HARNESS_H

#include "fw_posix.h"

#include <stdalign.h>

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
    emq_callbacks_default(&cb);
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
