/* Transport failures give clean, named errors: a send or recv callback
 * returning an error (EMQ_ERR_IO, with on_disconnect and the transport
 * closed), a broker that never answers CONNECT (EMQ_ERR_TIMEOUT), a send
 * that never finds room (EMQ_ERR_TIMEOUT), a wait that times out while the
 * link stays up, a wait whose acknowledgement comes just before the link
 * is lost (EMQ_OK: the message is done), one for a SUBACK that never comes
 * before the link is lost (the loss, not EMQ_OK), and a link that goes
 * silent (EMQ_ERR_KEEPALIVE_TIMEOUT).
 * After each, the client connects again. The 32-bit clock callback wraps
 * around 2^32 one second in, so the timeouts are checked across the wrap. */
#include "fw_harness.h"

static fw_storage storage;
static uint8_t rx[256], tx[256], store[256];

static void connect_ok(emq_client *c, fw_net *net)
{
    net->fail_send = net->fail_recv = net->stall_recv = net->stall_send = false;
    net->fail_after_recv = false;
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));
    CHECK(emq_client_is_connected(c));
}

int main(void)
{
    fw_net net;
    emq_transport t = fw_transport(&net);
    emq_buffers b = {.rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx, .store = store, .store_size = sizeof store};
    emq_callbacks cb = fw_callbacks();
    emq_options o;
    emq_client *c;
    fw_rec r;
    char id[64], topic[96];
    uint16_t pid;
    uint64_t start, took;
    emq_err err;
    int closes, published, disconnects;

    memset(&r, 0, sizeof r);
    fw_clock_wrap_in(1000);
    CHECK(fw_clock_ms() > 0xFFFFF000u);
    snprintf(id, sizeof id, "emq-fw-transport-%ld", (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/fw-transport/%ld", (long)getpid());
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.keepalive_secs = 1;
    o.command_timeout_ms = 400;
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &t, fw_clock_ms, &b, &c));
    CHECK_OK(emq_client_set_callbacks(c, &cb, &r));

    /* send fails: the publish reports it and the connection is closed. */
    connect_ok(c, &net);
    net.fail_send = true;
    CHECK_ERR(emq_client_publish(c, topic, (const uint8_t *)"x", 1, 0, false, NULL), EMQ_ERR_IO);
    CHECK(r.disconnects == 1 && r.disconnect_reason == EMQ_ERR_IO);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(net.closes == 1);

    /* recv fails: poll reports it. */
    connect_ok(c, &net);
    net.fail_recv = true;
    CHECK_ERR(emq_client_poll(c, 50), EMQ_ERR_IO);
    CHECK(r.disconnects == 2 && r.disconnect_reason == EMQ_ERR_IO);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(net.closes == 2);

    /* No CONNACK within command_timeout_ms. */
    net.fail_recv = false;
    net.stall_recv = true;
    start = test_now_ms();
    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_TIMEOUT);
    took = test_now_ms() - start;
    CHECK(took >= 390 && took < 2000);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(net.closes == 3);

    /* A send that never finds room: bounded by command_timeout_ms. */
    connect_ok(c, &net);
    net.stall_send = true;
    start = test_now_ms();
    CHECK_ERR(emq_client_publish(c, topic, (const uint8_t *)"x", 1, 0, false, NULL),
              EMQ_ERR_TIMEOUT);
    took = test_now_ms() - start;
    CHECK(took >= 390 && took < 2000);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(r.disconnect_reason == EMQ_ERR_TIMEOUT);

    /* A wait that times out leaves the link up; the ack is taken later. */
    connect_ok(c, &net);
    CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"x", 1, 1, false, &pid));
    net.stall_recv = true;
    CHECK_ERR(emq_client_wait(c, pid, 100), EMQ_ERR_TIMEOUT);
    CHECK(emq_client_is_connected(c));
    net.stall_recv = false;
    CHECK_OK(emq_client_wait(c, pid, 2000));
    CHECK(r.published_id[r.published - 1] == pid);

    /* The acknowledgement, then at once a lost link: the message is done
     * (EMQ_OK; sending it again would deliver it twice); wait returns at
     * the acknowledgement and the next poll reports the loss. */
    published = r.published;
    disconnects = r.disconnects;
    CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"w", 1, 1, false, &pid));
    net.fail_after_recv = true;
    CHECK_OK(emq_client_wait(c, pid, 2000));
    CHECK(r.published == published + 1 && r.published_id[r.published - 1] == pid);
    CHECK(r.disconnects == disconnects);
    CHECK_ERR(emq_client_poll(c, 100), EMQ_ERR_IO);
    CHECK(r.disconnects == disconnects + 1 && r.disconnect_reason == EMQ_ERR_IO);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    connect_ok(c, &net);

    /* A lost link frees a SUBSCRIBE's packet id without its SUBACK: wait
     * returns the loss (no SUBACK within the 1 s keepalive), not EMQ_OK. */
    CHECK_OK(emq_client_subscribe(c, topic, 1, &pid));
    net.stall_recv = true;
    CHECK_ERR(emq_client_wait(c, pid, 6000), EMQ_ERR_KEEPALIVE_TIMEOUT);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    connect_ok(c, &net);

    /* Silence: no PINGRESP within the ping timeout (1 s keepalive). */
    closes = net.closes;
    net.stall_recv = true;
    err = EMQ_OK;
    start = test_now_ms();
    while (err == EMQ_OK && test_now_ms() - start < 6000) {
        err = emq_client_poll(c, 50);
    }
    CHECK_ERR(err, EMQ_ERR_KEEPALIVE_TIMEOUT);
    CHECK(r.disconnect_reason == EMQ_ERR_KEEPALIVE_TIMEOUT);
    CHECK(net.closes == closes + 1);

    CHECK(fw_clock_ms() < 0x10000u); /* the tick has wrapped by now */

    /* And it still works. */
    connect_ok(c, &net);
    CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"y", 1, 2, false, &pid));
    CHECK_OK(emq_client_wait(c, pid, 2000));

    /* The tick in its upper half (above 2^31): poll returns once the
     * events at hand are handled, not at a deadline read across the wrap. */
    fw_clock_offset = 0x90000000u - emq_port_clock_ms();
    published = r.published;
    CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"z", 1, 1, false, &pid));
    start = test_now_ms();
    CHECK_OK(emq_client_poll(c, 3000));
    took = test_now_ms() - start;
    CHECK(r.published == published + 1 && r.published_id[r.published - 1] == pid);
    CHECK(took < 1500);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(emq_client_deinit(c));
    puts("test_fw_transport: ok");
    return 0;
}
