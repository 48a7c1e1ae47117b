/*
 * Tiny test harness for the embermq C tests.
 *
 * On top of check.h (CHECK, bounded waits, the test broker): unique
 * names, a recorder that copies every callback's arguments for later
 * assertions, and test_client_new / test_client_free, which make the same
 * test source run against both builds: the host build (emq_client_new /
 * emq_client_free) and, compiled with EMBERMQ_FIRMWARE, the firmware build
 * on this host (emq_client_init over the POSIX-socket transport of
 * firmware/fw_posix.h).
 */
#ifndef EMBERMQ_TEST_HARNESS_H
#define EMBERMQ_TEST_HARNESS_H

#include "check.h"

#ifdef EMBERMQ_FIRMWARE
#include "firmware/fw_posix.h"
#define TEST_BUILD "firmware"
#else
#define TEST_BUILD "host"
#endif

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
    bool session_present;
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
    uint16_t pubrecs[REC_MAX]; /* on_pubrec ids, in order */
    int pubrec_count;
    int pingresps;
} rec;

static inline void rec_store_message(rec *r, const emq_message *m, int handler, void *user_data)
{
    rec_message *slot;
    int n = r->message_count;
    CHECK(n < REC_MAX);
    CHECK(m->topic != NULL);
    CHECK(m->payload != NULL); /* documented: not NULL even when empty */
    CHECK(m->topic_len < sizeof slot->topic);
    slot = &r->messages[n];
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
    /* Counted last, with release order: a test thread waiting for the count
     * while the network thread stores (a 256 KiB copy under valgrind takes a
     * while) sees the message whole. */
    __atomic_store_n(&r->message_count, n + 1, __ATOMIC_RELEASE);
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
    r->connects++;
    r->session_present = session_present;
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

/* PUBREC comes before PUBCOMP, so before on_published for the same id. */
static inline void rec_on_pubrec(void *ud, emq_client *c, uint16_t packet_id)
{
    rec *r = ud;
    (void)c;
    CHECK(packet_id != 0);
    CHECK(!rec_was_published(r, packet_id));
    CHECK(r->pubrec_count < REC_MAX);
    r->pubrecs[r->pubrec_count++] = packet_id;
}

static inline void rec_on_pingresp(void *ud, emq_client *c)
{
    rec *r = ud;
    (void)c;
    r->pingresps++;
}

/* No callbacks, with this header's struct_size. */
static inline emq_callbacks no_callbacks(void)
{
    emq_callbacks cb;
    CHECK_OK(emq_callbacks_default(&cb));
    return cb;
}

static inline emq_callbacks rec_callbacks(void)
{
    emq_callbacks cb;
    emq_callbacks_default(&cb);
    cb.on_connect = rec_on_connect;
    cb.on_disconnect = rec_on_disconnect;
    cb.on_message = rec_on_message;
    cb.on_published = rec_on_published;
    cb.on_subscribed = rec_on_subscribed;
    cb.on_unsubscribed = rec_on_unsubscribed;
    cb.on_pubrec = rec_on_pubrec;
    cb.on_pingresp = rec_on_pingresp;
    return cb;
}

/* --- creating clients in either build -------------------------------------- */

#ifndef EMBERMQ_FIRMWARE

/* A client as emq_client_new makes it. */
static inline emq_err test_client_new(const emq_options *options, emq_client **out)
{
    return emq_client_new(options, out);
}

/* Frees a client from test_client_new (emq_client_free). */
static inline emq_err test_client_free(emq_client *client)
{
    return emq_client_free(client);
}

/* Cuts the client's link under it. The host build has no transport hook:
 * returns false (tests cut links through the broker instead). */
static inline bool test_client_cut(emq_client *client)
{
    (void)client;
    return false;
}

#else /* EMBERMQ_FIRMWARE */

/* Firmware clients alive at once in one test. */
#define TEST_FW_CLIENTS 8
/* Table capacities (emq_buffers): packet ids for 40 offline messages plus
 * requests (test_file_outbox), inbound QoS 2 ids above mosquitto's default
 * in-flight limit of 20 (README: keep the broker's limit at most this), and
 * a subscription table for resubscribing and handlers. */
#define TEST_FW_PACKET_IDS 64
#define TEST_FW_INBOUND_QOS2 32
#define TEST_FW_SUBSCRIPTIONS 16
#define TEST_FW_SUBSCRIPTION_BYTES 1024

/* What a firmware client needs beside its options: storage, buffers and
 * table memory (each an exact-size heap block, so valgrind flags any
 * access past one), the transport, and copies of the option strings (the
 * firmware build borrows them until emq_client_deinit; emq_client_new
 * copies them). */
typedef struct test_fw_slot {
    emq_client *client; /* NULL: slot free */
    void *storage, *tables;
    uint8_t *rx, *tx, *store;
    char *client_id, *username, *will_topic;
    uint8_t *password, *will_payload;
    emq_options options;
    emq_buffers buffers;
    emq_transport transport;
    fw_net net;
} test_fw_slot;

static test_fw_slot test_fw_slots[TEST_FW_CLIENTS];

/* A heap copy of `len` bytes (NUL-terminated), or NULL for NULL. */
static inline void *test_fw_copy(const void *bytes, size_t len)
{
    char *copy;
    if (bytes == NULL) {
        return NULL;
    }
    copy = malloc(len + 1);
    CHECK(copy != NULL);
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    return copy;
}

static inline char *test_fw_copy_str(const char *s)
{
    return test_fw_copy(s, s != NULL ? strlen(s) : 0);
}

/* An aligned heap block of exactly `size` bytes (1 for 0). */
static inline void *test_fw_alloc(size_t size)
{
    void *p = NULL;
    CHECK(posix_memalign(&p, EMQ_CLIENT_STORAGE_ALIGN, size > 0 ? size : 1) == 0);
    return p;
}

static inline void test_fw_release(test_fw_slot *s)
{
    free(s->storage);
    free(s->tables);
    free(s->rx);
    free(s->tx);
    free(s->store);
    free(s->client_id);
    free(s->username);
    free(s->will_topic);
    free(s->password);
    free(s->will_payload);
    memset(s, 0, sizeof *s);
}

static inline test_fw_slot *test_fw_slot_of(const emq_client *client)
{
    int i;
    for (i = 0; i < TEST_FW_CLIENTS; i++) {
        if (client != NULL && test_fw_slots[i].client == client) {
            return &test_fw_slots[i];
        }
    }
    return NULL;
}

/* A firmware client: emq_client_init with buffers of the options' sizes
 * (rx_buffer_size, tx_buffer_size, store_size), the TEST_FW_* tables, the
 * POSIX-socket transport and the clock_gettime tick. The options' strings
 * are copied first, so callers may free theirs, as with emq_client_new. */
static inline emq_err test_client_new(const emq_options *options, emq_client **out)
{
    test_fw_slot *s = NULL;
    emq_options defaults;
    const emq_options *o = options;
    emq_err err;
    int i;

    for (i = 0; i < TEST_FW_CLIENTS && s == NULL; i++) {
        if (test_fw_slots[i].client == NULL) {
            s = &test_fw_slots[i];
        }
    }
    CHECK(s != NULL); /* raise TEST_FW_CLIENTS */
    memset(s, 0, sizeof *s);
    CHECK_OK(emq_options_default(&defaults));
    if (o == NULL) {
        o = &defaults; /* for the sizes; emq_client_init gets the NULL */
    }
    s->options = *o;
    s->options.client_id = s->client_id = test_fw_copy_str(o->client_id);
    s->options.username = s->username = test_fw_copy_str(o->username);
    s->options.password = s->password = test_fw_copy(o->password, o->password_len);
    s->options.will_topic = s->will_topic = test_fw_copy_str(o->will_topic);
    s->options.will_payload = s->will_payload = test_fw_copy(o->will_payload, o->will_payload_len);

    s->storage = test_fw_alloc(emq_client_storage_size());
    s->rx = test_fw_alloc(o->rx_buffer_size);
    s->tx = test_fw_alloc(o->tx_buffer_size);
    s->store = o->store_size > 0 ? test_fw_alloc(o->store_size) : NULL;
    s->buffers.rx = s->rx;
    s->buffers.rx_size = o->rx_buffer_size;
    s->buffers.tx = s->tx;
    s->buffers.tx_size = o->tx_buffer_size;
    s->buffers.store = s->store;
    s->buffers.store_size = o->store_size;
    s->buffers.packet_ids = TEST_FW_PACKET_IDS;
    s->buffers.inbound_qos2 = TEST_FW_INBOUND_QOS2;
    s->buffers.subscriptions = TEST_FW_SUBSCRIPTIONS;
    s->buffers.subscription_bytes = TEST_FW_SUBSCRIPTION_BYTES;
    s->buffers.tables_size = emq_tables_size(&s->buffers);
    CHECK(s->buffers.tables_size > 0);
    s->buffers.tables = s->tables = test_fw_alloc(s->buffers.tables_size);
    s->transport = fw_transport(&s->net);

    err = emq_client_init(s->storage, emq_client_storage_size(), options ? &s->options : NULL,
                          &s->transport, fw_clock_ms, &s->buffers, out);
    if (err != EMQ_OK) {
        CHECK(out == NULL || *out == NULL);
        test_fw_release(s);
        return err;
    }
    CHECK(*out == (emq_client *)s->storage);
    s->client = *out;
    return EMQ_OK;
}

/* Ends a client from test_client_new (emq_client_deinit) and frees what
 * it used; a refused deinit (inside a callback) keeps it all. */
static inline emq_err test_client_free(emq_client *client)
{
    test_fw_slot *s;
    emq_err err;
    if (client == NULL) {
        return emq_client_deinit(NULL);
    }
    s = test_fw_slot_of(client);
    CHECK(s != NULL); /* not from test_client_new, or freed twice */
    err = emq_client_deinit(client);
    if (err == EMQ_OK) {
        test_fw_release(s);
    }
    return err;
}

/* Cuts the client's link under it now (fw_net_cut): its next send or recv
 * fails, as when a network drops. False when it has no open connection. */
static inline bool test_client_cut(emq_client *client)
{
    test_fw_slot *s = test_fw_slot_of(client);
    CHECK(s != NULL);
    return fw_net_cut(&s->net);
}

/* The client's transport state (connects, closes, cuts...). */
static inline fw_net *test_client_net(emq_client *client)
{
    test_fw_slot *s = test_fw_slot_of(client);
    CHECK(s != NULL);
    return &s->net;
}

#endif /* EMBERMQ_FIRMWARE */

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
    CHECK_OK(test_client_new(options, &client));
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
