/* Packets that do not fit the caller's buffers never stall the client:
 * outbound larger than tx or the store is EMQ_ERR_PACKET_TOO_LARGE before
 * anything is written; an inbound message larger than rx is read through,
 * acknowledged (QoS 2 once) and reported, to on_overflow or as
 * EMQ_ERR_MESSAGE_OVERFLOW from poll, and the connection stays up. */
#include "fw_harness.h"

#define EACH 25

static int overflows, overflow_qos[3], bad_overflows;

static void on_overflow(void *ud, emq_client *c, const emq_message *m, size_t payload_size)
{
    (void)ud;
    (void)c;
    overflows++;
    overflow_qos[m->qos % 3]++;
    /* rx 128: the topic fits, and the start of the payload with it. */
    if (payload_size != 200 || m->topic_len == 0 || m->payload_len == 0 ||
        m->payload_len >= payload_size || m->payload[0] != 'M') {
        bad_overflows++;
    }
}

static fw_storage storage_a, storage_b;
static uint8_t rx_a[128], tx_a[512], store_a[160];
static uint8_t rx_b[512], tx_b[512];
static fw_storage storage_p; /* a QoS 1/2 publisher */
static uint8_t rx_p[512], tx_p[512], store_p[1024];

static void poll_both(emq_client *a, emq_client *b)
{
    CHECK_OK(emq_client_poll(a, 10));
    CHECK_OK(emq_client_poll(b, 0));
}

int main(void)
{
    fw_net net_a, net_b, net_p;
    emq_transport ta = fw_transport(&net_a), tb = fw_transport(&net_b), tp = fw_transport(&net_p);
    emq_buffers bp = {.rx = rx_p, .rx_size = sizeof rx_p, .tx = tx_p, .tx_size = sizeof tx_p, .store = store_p, .store_size = sizeof store_p};
    emq_buffers ba = {.rx = rx_a, .rx_size = sizeof rx_a, .tx = tx_a, .tx_size = sizeof tx_a, .store = store_a, .store_size = sizeof store_a};
    emq_buffers bb = {.rx = rx_b, .rx_size = sizeof rx_b, .tx = tx_b, .tx_size = sizeof tx_b, .store = NULL, .store_size = 0}; /* no store */
    emq_callbacks cb = fw_callbacks();
    /* One options struct per client: emq_client_init keeps a pointer to it. */
    emq_options o, o_b, o_p;
    emq_client *a, *b, *p;
    fw_rec ra, rb;
    char id_a[64], id_b[64], id_p[64], topic[96];
    uint8_t big[600], mid[200];
    uint16_t pid;
    emq_err err = EMQ_OK;
    uint64_t deadline;
    int i;

    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    memset(big, 'B', sizeof big);
    memset(mid, 'M', sizeof mid);
    snprintf(id_a, sizeof id_a, "emq-fw-large-a-%ld", (long)getpid());
    snprintf(id_b, sizeof id_b, "emq-fw-large-b-%ld", (long)getpid());
    snprintf(id_p, sizeof id_p, "emq-fw-large-p-%ld", (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/fw-large/%ld", (long)getpid());

    CHECK_OK(emq_options_default(&o));
    o.client_id = id_a;
    CHECK_OK(emq_client_init(&storage_a, sizeof storage_a, &o, &ta, fw_clock_ms, &ba, &a));
    o_b = o;
    o_b.client_id = id_b;
    CHECK_OK(emq_client_init(&storage_b, sizeof storage_b, &o_b, &tb, fw_clock_ms, &bb, &b));
    CHECK_OK(emq_client_set_callbacks(a, &cb, &ra));
    CHECK_OK(emq_client_set_callbacks(b, &cb, &rb));
    CHECK_OK(emq_client_connect(a, test_host(), test_port()));
    CHECK_OK(emq_client_connect(b, test_host(), test_port()));
    CHECK_OK(emq_client_subscribe(a, topic, 1, &pid));
    CHECK_OK(emq_client_wait(a, pid, 3000));

    /* Outbound: larger than tx (QoS 0), larger than the store (QoS 1),
     * and B has no store at all. Nothing is sent; both stay connected. */
    CHECK_ERR(emq_client_publish(a, topic, big, sizeof big, 0, false, &pid),
              EMQ_ERR_PACKET_TOO_LARGE);
    CHECK_ERR(emq_client_publish(a, topic, mid, sizeof mid, 1, false, &pid),
              EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(pid == 0);
    CHECK_ERR(emq_client_publish(b, topic, (const uint8_t *)"q1", 2, 1, false, &pid),
              EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(emq_client_is_connected(a) && emq_client_is_connected(b));
    CHECK(emq_client_queued(a) == 0 && emq_client_queued(b) == 0);

    /* B (rx 512) sends A (rx 128) a 200-byte message at QoS 0: without
     * on_overflow, A's poll names it; A stays connected. */
    CHECK_OK(emq_client_publish(b, topic, mid, sizeof mid, 0, false, NULL));
    deadline = test_now_ms() + 3000;
    while (err == EMQ_OK && test_now_ms() < deadline) {
        err = emq_client_poll(a, 20);
    }
    CHECK_ERR(err, EMQ_ERR_MESSAGE_OVERFLOW);
    CHECK(ra.disconnects == 0 && ra.messages == 0);
    CHECK(emq_client_is_connected(a));
    CHECK(net_a.closes == 0);

    /* With on_overflow: 25 oversized QoS 1 and 25 QoS 2 messages (more than
     * A's inbound QoS 2 ids and the broker's window of 20), each
     * acknowledged and reported once, then a small one arrives on the same
     * connection. */
    cb.on_overflow = on_overflow;
    CHECK_OK(emq_client_set_callbacks(a, &cb, &ra));
    CHECK_OK(emq_client_subscribe(a, topic, 2, &pid));
    CHECK_OK(emq_client_wait(a, pid, 3000));
    o_p = o;
    o_p.client_id = id_p;
    CHECK_OK(emq_client_init(&storage_p, sizeof storage_p, &o_p, &tp, fw_clock_ms, &bp, &p));
    CHECK_OK(emq_client_connect(p, test_host(), test_port()));
    for (i = 0; i < EACH; i++) {
        CHECK_OK(emq_client_publish(p, topic, mid, sizeof mid, 1, false, &pid));
        CHECK_OK(emq_client_wait(p, pid, 3000));
        CHECK_OK(emq_client_publish(p, topic, mid, sizeof mid, 2, false, &pid));
        CHECK_OK(emq_client_wait(p, pid, 3000));
        /* Paced: the firmware client holds 8 inbound QoS 2 ids (issue 14). */
        POLL_UNTIL(a, overflows == 2 * (i + 1), 3000);
    }
    CHECK_OK(emq_client_publish(b, topic, (const uint8_t *)"small", 5, 0, false, NULL));
    STEP_UNTIL(ra.messages == 1 && overflows == 2 * EACH, poll_both(a, b), 5000);
    CHECK(overflow_qos[1] == EACH && overflow_qos[2] == EACH && bad_overflows == 0);
    CHECK(ra.payload_len[0] == 5 && memcmp(ra.payload[0], "small", 5) == 0);
    CHECK(ra.disconnects == 0 && net_a.closes == 0);

    /* A's store takes a QoS 1 message that fits (and so does its rx). */
    CHECK_OK(emq_client_publish(a, topic, mid, 60, 1, false, &pid));
    CHECK_OK(emq_client_wait(a, pid, 3000));
    POLL_UNTIL(a, ra.messages == 2, 3000);
    CHECK(ra.payload_len[1] == 60 && ra.qos[1] == 1);
    CHECK(overflows == 2 * EACH);

    CHECK_OK(emq_client_disconnect(a));
    CHECK_OK(emq_client_disconnect(b));
    CHECK_OK(emq_client_disconnect(p));
    CHECK_OK(emq_client_deinit(a));
    CHECK_OK(emq_client_deinit(b));
    CHECK_OK(emq_client_deinit(p));
    puts("test_fw_too_large: ok");
    return 0;
}
