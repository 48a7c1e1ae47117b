/* Messages larger than the receive buffer never stall a session: each is
 * read through without being buffered, acknowledged like any other (QoS 2
 * exactly once), and reported, to on_overflow with its topic, the start of
 * its payload and its size, or (without that callback) as
 * EMQ_ERR_MESSAGE_OVERFLOW from poll. The connection stays up, so on a
 * persistent session the broker's window keeps moving and nothing behind
 * the oversized messages is held up. */
#include "harness.h"

#define BIG 4096
#define EACH 25

/* The recorder (first, so the rec_* callbacks can use the same pointer)
 * and what on_overflow saw. */
typedef struct overflow_rec {
    rec r;
    int overflows;
    int by_qos[3];
    int bad_reports; /* wrong topic, size or payload start */
    const char *topic;
} overflow_rec;

static void on_overflow(void *ud, emq_client *c, const emq_message *m, size_t payload_size)
{
    overflow_rec *o = ud;
    size_t i;
    (void)c;
    o->overflows++;
    if (m->qos <= 2) {
        o->by_qos[m->qos]++;
    }
    if (payload_size != BIG || m->topic_len != strlen(o->topic) ||
        memcmp(m->topic, o->topic, m->topic_len) != 0 || m->payload_len == 0 ||
        m->payload_len >= payload_size) {
        o->bad_reports++;
    }
    for (i = 0; i < m->payload_len; i++) {
        if (m->payload[i] != 'x') {
            o->bad_reports++;
            break;
        }
    }
}

static void publish_and_wait(emq_client *b, const char *topic, const uint8_t *payload, size_t len,
                             uint8_t qos)
{
    uint16_t pid;
    CHECK_OK(emq_client_publish(b, topic, payload, len, qos, false, &pid));
    CHECK_OK(emq_client_wait(b, pid, 5000));
}

int main(void)
{
    static uint8_t big[BIG];
    overflow_rec a_rec, c_rec;
    rec b_rec;
    emq_options o;
    emq_callbacks cb = rec_callbacks(), b_cb;
    emq_client *a, *b, *c;
    char id[64], topic[128];
    emq_err err = EMQ_OK;
    uint64_t deadline;
    int i, overflow_errors = 0;

    memset(&a_rec, 0, sizeof a_rec);
    memset(&b_rec, 0, sizeof b_rec);
    memset(&c_rec, 0, sizeof c_rec);
    memset(big, 'x', sizeof big);
    snprintf(topic, sizeof topic, "embermq/test/too-large/%ld", (long)getpid());
    a_rec.topic = topic;
    cb.on_overflow = on_overflow;

    /* A: persistent session, 1 KiB receive buffer, on_overflow set. */
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-small-rx");
    o.rx_buffer_size = 1024;
    o.clean_session = false;
    CHECK_OK(test_client_new(&o, &a));
    CHECK_OK(emq_client_set_callbacks(a, &cb, &a_rec));
    test_connect(a, &a_rec.r);
    test_subscribe(a, &a_rec.r, topic, 2);

    /* B publishes 25 oversized QoS 1 and 25 oversized QoS 2 messages (more
     * than mosquitto's window of 20 in flight), then small ones. */
    b = test_client(NULL, &b_rec);
    b_cb = rec_callbacks();
    b_cb.on_published = NULL; /* more publishes than the recorder holds */
    CHECK_OK(emq_client_set_callbacks(b, &b_cb, &b_rec));
    test_connect(b, &b_rec);
    for (i = 0; i < EACH; i++) {
        publish_and_wait(b, topic, big, sizeof big, 1);
        publish_and_wait(b, topic, big, sizeof big, 2);
        CHECK_OK(emq_client_poll(a, 0));
    }
    for (i = 0; i < 5; i++) {
        publish_and_wait(b, topic, (const uint8_t *)"small1", 6, 1);
        publish_and_wait(b, topic, (const uint8_t *)"small2", 6, 2);
    }
    POLL_UNTIL(a, a_rec.r.message_count == 10 && a_rec.overflows == 2 * EACH, 10000);
    test_poll_for(a, 200);
    CHECK(a_rec.overflows == 2 * EACH);
    CHECK(a_rec.by_qos[1] == EACH && a_rec.by_qos[2] == EACH);
    CHECK(a_rec.bad_reports == 0);
    CHECK(a_rec.r.message_count == 10);
    for (i = 0; i < 10; i++) {
        CHECK(a_rec.r.messages[i].payload_len == 6);
        CHECK(a_rec.r.messages[i].qos == 1 + i % 2);
    }
    CHECK(a_rec.r.disconnects == 0 && a_rec.r.connects == 1);
    CHECK(emq_client_is_connected(a));

    /* Queued for A while it is away: the broker sends them on the resumed
     * session, and they are read through again instead of looping. */
    CHECK_OK(emq_client_disconnect(a));
    publish_and_wait(b, topic, big, sizeof big, 1);
    publish_and_wait(b, topic, big, sizeof big, 2);
    publish_and_wait(b, topic, (const uint8_t *)"after", 5, 1);
    test_connect(a, &a_rec.r);
    POLL_UNTIL(a, a_rec.r.message_count == 11 && a_rec.overflows == 2 * EACH + 2, 5000);
    test_poll_for(a, 200);
    CHECK(a_rec.overflows == 2 * EACH + 2 && a_rec.bad_reports == 0);
    CHECK(a_rec.r.messages[10].payload_len == 5);
    CHECK(a_rec.r.disconnects == 1 && a_rec.r.connects == 2);

    /* C: no on_overflow. poll names the skipped message and the
     * connection stays up; the small message after it arrives. */
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-no-overflow-cb");
    o.rx_buffer_size = 1024;
    c = test_client(&o, &c_rec.r);
    test_connect(c, &c_rec.r);
    test_subscribe(c, &c_rec.r, topic, 1);
    publish_and_wait(b, topic, big, sizeof big, 1);
    publish_and_wait(b, topic, (const uint8_t *)"tail", 4, 1);
    deadline = test_now_ms() + 5000;
    while (c_rec.r.message_count < 1 && test_now_ms() < deadline) {
        err = emq_client_poll(c, 20);
        if (err == EMQ_ERR_MESSAGE_OVERFLOW) {
            overflow_errors++;
        } else {
            CHECK_OK(err);
        }
    }
    CHECK(overflow_errors == 1);
    CHECK(c_rec.r.message_count == 1 && c_rec.r.messages[0].payload_len == 4);
    CHECK(c_rec.r.disconnects == 0 && emq_client_is_connected(c));
    CHECK(strcmp(emq_err_str(EMQ_ERR_MESSAGE_OVERFLOW), "unknown error") != 0);

    CHECK_OK(emq_client_disconnect(a));
    CHECK_OK(emq_client_disconnect(b));
    CHECK_OK(emq_client_disconnect(c));
    rec_free(&a_rec.r);
    rec_free(&b_rec);
    rec_free(&c_rec.r);
    CHECK_OK(test_client_free(a));
    CHECK_OK(test_client_free(b));
    CHECK_OK(test_client_free(c));
    puts("test_too_large: ok");
    return 0;
}
