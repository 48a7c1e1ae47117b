/*
 * Tiny test harness for the embermq C tests.
 *
 * On top of check.h (CHECK, bounded waits, the test broker): unique
 * names, and a recorder that copies every callback's arguments for later
 * assertions.
 */
#ifndef EMBERMQ_TEST_HARNESS_H
#define EMBERMQ_TEST_HARNESS_H

#include "check.h"

/* Writes "<prefix>-<pid>-<n>" into buf: unique ids and topics per process. */
static inline const char *test_unique(char *buf, size_t size, const char *prefix)
{
    static unsigned counter;
    snprintf(buf, size, "%s-%ld-%u", prefix, (long)getpid(), counter++);
    return buf;
}

/* --- recorder: copies of every callback's arguments ----------------------- */

#define REC_MAX 32

typedef struct rec_message {
    char topic[256];
    uint8_t *payload; /* malloc'd copy (freed by rec_free) */
    size_t payload_len;
    uint8_t qos;
    bool retain;
    uint16_t packet_id;
    int handler; /* which handler took it: 0 = on_message */
    void *user_data;
} rec_message;

typedef struct rec {
    int connects;
    uint8_t connect_code;
    int disconnects;
    emq_err disconnect_reason;
    rec_message messages[REC_MAX];
    int message_count;
    uint16_t published[REC_MAX];
    int published_count;
    uint16_t subscribed_id;
    uint8_t granted[8];
    size_t granted_count;
    int subscribed_count;
    uint16_t unsubscribed_id;
    int unsubscribed_count;
} rec;

static inline void rec_store_message(rec *r, const emq_message *m, int handler, void *user_data)
{
    rec_message *slot;
    CHECK(r->message_count < REC_MAX);
    CHECK(m->topic != NULL);
    CHECK(m->payload != NULL); /* documented: not NULL even when empty */
    CHECK(m->topic_len < sizeof slot->topic);
    slot = &r->messages[r->message_count++];
    memcpy(slot->topic, m->topic, m->topic_len);
    slot->topic[m->topic_len] = '\0';
    slot->payload = malloc(m->payload_len > 0 ? m->payload_len : 1);
    CHECK(slot->payload != NULL);
    memcpy(slot->payload, m->payload, m->payload_len);
    slot->payload_len = m->payload_len;
    slot->qos = m->qos;
    slot->retain = m->retain;
    slot->packet_id = m->packet_id;
    slot->handler = handler;
    slot->user_data = user_data;
}

static inline void rec_free(rec *r)
{
    int i;
    for (i = 0; i < r->message_count; i++) {
        free(r->messages[i].payload);
        r->messages[i].payload = NULL;
    }
    r->message_count = 0;
}

/* The first recorded message on `topic`, or NULL. */
static inline const rec_message *rec_find(const rec *r, const char *topic)
{
    int i;
    for (i = 0; i < r->message_count; i++) {
        if (strcmp(r->messages[i].topic, topic) == 0) {
            return &r->messages[i];
        }
    }
    return NULL;
}

static inline bool rec_was_published(const rec *r, uint16_t packet_id)
{
    int i;
    for (i = 0; i < r->published_count; i++) {
        if (r->published[i] == packet_id) {
            return true;
        }
    }
    return false;
}

static inline void rec_on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    rec *r = ud;
    (void)c;
    (void)session_present;
    r->connects++;
    r->connect_code = code;
}

static inline void rec_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    rec *r = ud;
    (void)c;
    r->disconnects++;
    r->disconnect_reason = reason;
}

static inline void rec_on_message(void *ud, emq_client *c, const emq_message *m)
{
    (void)c;
    rec_store_message(ud, m, 0, ud);
}

static inline void rec_on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    rec *r = ud;
    (void)c;
    CHECK(r->published_count < REC_MAX);
    r->published[r->published_count++] = packet_id;
}

static inline void rec_on_subscribed(void *ud, emq_client *c, uint16_t packet_id,
                                     const uint8_t *granted, size_t count)
{
    rec *r = ud;
    (void)c;
    CHECK(count <= sizeof r->granted);
    r->subscribed_count++;
    r->subscribed_id = packet_id;
    r->granted_count = count;
    memcpy(r->granted, granted, count);
}

static inline void rec_on_unsubscribed(void *ud, emq_client *c, uint16_t packet_id)
{
    rec *r = ud;
    (void)c;
    r->unsubscribed_count++;
    r->unsubscribed_id = packet_id;
}

static inline emq_callbacks rec_callbacks(void)
{
    emq_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_connect = rec_on_connect;
    cb.on_disconnect = rec_on_disconnect;
    cb.on_message = rec_on_message;
    cb.on_published = rec_on_published;
    cb.on_subscribed = rec_on_subscribed;
    cb.on_unsubscribed = rec_on_unsubscribed;
    return cb;
}

/* A client with the recorder callbacks (options may be NULL: defaults). */
static inline emq_client *test_client(const emq_options *options, rec *r)
{
    emq_options defaults;
    emq_client *client = NULL;
    emq_callbacks cb = rec_callbacks();
    char id[64];
    if (options == NULL) {
        CHECK_OK(emq_options_default(&defaults));
        defaults.client_id = test_unique(id, sizeof id, "emq-test");
        options = &defaults;
    }
    CHECK_OK(emq_client_new(options, &client));
    CHECK(client != NULL);
    CHECK_OK(emq_client_set_callbacks(client, &cb, r));
    return client;
}

/* Connects and checks on_connect saw return code 0. */
static inline void test_connect(emq_client *client, rec *r)
{
    int before = r->connects;
    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(r->connects == before + 1);
    CHECK(r->connect_code == 0);
    CHECK(emq_client_is_connected(client));
    CHECK(emq_client_state(client) == EMQ_STATE_CONNECTED);
}

/* Subscribes and waits for the SUBACK, checking the granted QoS. */
static inline void test_subscribe(emq_client *client, rec *r, const char *filter, uint8_t qos)
{
    uint16_t id = 0;
    CHECK_OK(emq_client_subscribe(client, filter, qos, &id));
    CHECK(id != 0);
    CHECK_OK(emq_client_wait(client, id, 5000));
    CHECK(r->subscribed_id == id);
    CHECK(r->granted_count == 1);
    CHECK(r->granted[0] == qos);
}

/* Polls for `ms` milliseconds in short slices (bounded). */
static inline void test_poll_for(emq_client *client, uint32_t ms)
{
    uint64_t deadline = test_now_ms() + ms;
    while (test_now_ms() < deadline) {
        CHECK_OK(emq_client_poll(client, 20));
    }
}

#endif /* EMBERMQ_TEST_HARNESS_H */
