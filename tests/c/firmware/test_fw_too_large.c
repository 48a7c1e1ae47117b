/* Packets that do not fit the caller's buffers give EMQ_ERR_PACKET_TOO_LARGE
 * and the client stays usable: outbound larger than tx or the store is
 * refused before anything is written; inbound larger than rx closes the
 * connection cleanly (on_disconnect), and the client connects again. */
#include "fw_harness.h"

static fw_storage storage_a, storage_b;
static uint8_t rx_a[128], tx_a[512], store_a[160];
static uint8_t rx_b[512], tx_b[512];

int main(void)
{
    fw_net net_a, net_b;
    emq_transport ta = fw_transport(&net_a), tb = fw_transport(&net_b);
    emq_buffers ba = {rx_a, sizeof rx_a, tx_a, sizeof tx_a, store_a, sizeof store_a};
    emq_buffers bb = {rx_b, sizeof rx_b, tx_b, sizeof tx_b, NULL, 0}; /* no store */
    emq_callbacks cb = fw_callbacks();
    emq_options o;
    emq_client *a, *b;
    fw_rec ra, rb;
    char id_a[64], id_b[64], topic[96];
    uint8_t big[600], mid[200];
    uint16_t pid;
    emq_err err = EMQ_OK;
    uint64_t deadline;

    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    memset(big, 'B', sizeof big);
    memset(mid, 'M', sizeof mid);
    snprintf(id_a, sizeof id_a, "emq-fw-large-a-%ld", (long)getpid());
    snprintf(id_b, sizeof id_b, "emq-fw-large-b-%ld", (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/fw-large/%ld", (long)getpid());

    CHECK_OK(emq_options_default(&o));
    o.client_id = id_a;
    CHECK_OK(emq_client_init(&storage_a, sizeof storage_a, &o, &ta, fw_clock_ms, &ba, &a));
    o.client_id = id_b;
    CHECK_OK(emq_client_init(&storage_b, sizeof storage_b, &o, &tb, fw_clock_ms, &bb, &b));
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

    /* B (rx 512) sends A (rx 128) a 200-byte message at QoS 0: A's poll
     * reports the oversized packet and closes the connection. */
    CHECK_OK(emq_client_publish(b, topic, mid, sizeof mid, 0, false, NULL));
    deadline = test_now_ms() + 3000;
    while (err == EMQ_OK && test_now_ms() < deadline) {
        err = emq_client_poll(a, 20);
    }
    CHECK_ERR(err, EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(ra.disconnects == 1 && ra.disconnect_reason == EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(ra.messages == 0);
    CHECK(emq_client_state(a) == EMQ_STATE_DISCONNECTED);
    CHECK(net_a.closes == 1);

    /* A connects again (clean session), subscribes, and receives a small one. */
    CHECK_OK(emq_client_connect(a, test_host(), test_port()));
    CHECK_OK(emq_client_subscribe(a, topic, 1, &pid));
    CHECK_OK(emq_client_wait(a, pid, 3000));
    CHECK_OK(emq_client_publish(b, topic, (const uint8_t *)"small", 5, 0, false, NULL));
    POLL_UNTIL(a, ra.messages == 1, 3000);
    CHECK(ra.payload_len[0] == 5 && memcmp(ra.payload[0], "small", 5) == 0);
    /* A's store takes a QoS 1 message that fits (and so does its rx). */
    CHECK_OK(emq_client_publish(a, topic, mid, 60, 1, false, &pid));
    CHECK_OK(emq_client_wait(a, pid, 3000));
    POLL_UNTIL(a, ra.messages == 2, 3000);
    CHECK(ra.payload_len[1] == 60 && ra.qos[1] == 1);

    CHECK_OK(emq_client_disconnect(a));
    CHECK_OK(emq_client_disconnect(b));
    CHECK_OK(emq_client_deinit(a));
    CHECK_OK(emq_client_deinit(b));
    puts("test_fw_too_large: ok");
    return 0;
}
