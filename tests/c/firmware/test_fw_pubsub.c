/* The firmware API end to end: a client in static storage with caller
 * buffers connects over the socket transport, subscribes at QoS 2,
 * publishes at QoS 0, 1 and 2, receives its own messages with the right
 * QoS and payload, gets every acknowledgement, unsubscribes, calls the API
 * from inside a callback, disconnects and connects again. */
#include "fw_harness.h"

static fw_storage storage;
static uint8_t rx[512], tx[512], store[512];
static emq_client *client;
static emq_err poll_in_callback = EMQ_OK, publish_in_callback = EMQ_ERR_PANIC;
static char echo_topic[128];

/* On "<base>/trigger": publish to the echo topic (allowed in callbacks)
 * and try to poll (refused). */
static void on_message(void *ud, emq_client *c, const emq_message *m)
{
    fw_on_message(ud, c, m);
    if (m->topic_len >= 8 && memcmp(m->topic + m->topic_len - 8, "/trigger", 8) == 0) {
        CHECK(c == client);
        publish_in_callback =
            emq_client_publish(c, echo_topic, (const uint8_t *)"echo", 4, 1, false, NULL);
        poll_in_callback = emq_client_poll(c, 0);
    }
}

int main(void)
{
    fw_net net;
    emq_transport transport = fw_transport(&net);
    emq_buffers buffers = {.rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx, .store = store, .store_size = sizeof store};
    emq_options o;
    emq_callbacks cb = fw_callbacks();
    fw_rec r;
    char id[64], base[96], filter[128], topic[3][128], trigger[128];
    uint16_t sub_id, unsub_id, ids[3];
    int q;

    CHECK(emq_client_storage_size() <= EMQ_CLIENT_STORAGE_SIZE);
    CHECK(emq_client_storage_align() == EMQ_CLIENT_STORAGE_ALIGN);

    snprintf(id, sizeof id, "emq-fw-pubsub-%ld", (long)getpid());
    snprintf(base, sizeof base, "embermq/test/fw/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", base);
    snprintf(trigger, sizeof trigger, "%s/trigger", base);
    snprintf(echo_topic, sizeof echo_topic, "%s/echo", base);
    memset(&r, 0, sizeof r);

    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.keepalive_secs = 5;
    o.command_timeout_ms = 3000;
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                             &client));
    CHECK((void *)client == (void *)&storage);
    CHECK(emq_client_state(client) == EMQ_STATE_DISCONNECTED);
    cb.on_message = on_message;
    CHECK_OK(emq_client_set_callbacks(client, &cb, &r));

    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(r.connects == 1 && r.connect_code == 0);
    CHECK(emq_client_is_connected(client));
    CHECK(emq_client_state(client) == EMQ_STATE_CONNECTED);
    CHECK(emq_client_last_return_code(client) == 0);
    CHECK(net.connects == 1);
    CHECK_ERR(emq_client_connect(client, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);

    CHECK_OK(emq_client_subscribe(client, filter, 2, &sub_id));
    CHECK(sub_id != 0);
    CHECK_OK(emq_client_wait(client, sub_id, 3000));
    CHECK(r.subscribed == 1 && r.granted_count == 1 && r.granted[0] == 2);

    for (q = 0; q < 3; q++) {
        char payload[32];
        snprintf(topic[q], sizeof topic[q], "%s/qos%d", base, q);
        snprintf(payload, sizeof payload, "payload at qos %d", q);
        CHECK_OK(emq_client_publish(client, topic[q], (const uint8_t *)payload, strlen(payload),
                                    (uint8_t)q, false, &ids[q]));
        if (q == 0) {
            CHECK(ids[q] == 0);
            CHECK(r.published == 1 && r.published_id[0] == 0); /* QoS 0: at once */
        } else {
            CHECK(ids[q] != 0);
            CHECK(emq_client_inflight(client) == 1);
            CHECK(emq_client_queued(client) == 1);
            CHECK_OK(emq_client_wait(client, ids[q], 3000));
            CHECK(r.published_id[r.published - 1] == ids[q]);
            CHECK(emq_client_inflight(client) == 0);
            CHECK(emq_client_queued(client) == 0);
        }
    }
    CHECK(r.published == 3);
    POLL_UNTIL(client, r.messages == 3, 3000);
    for (q = 0; q < 3; q++) {
        char payload[32];
        int i, found = -1;
        snprintf(payload, sizeof payload, "payload at qos %d", q);
        for (i = 0; i < r.messages; i++) {
            if (strcmp(r.topic[i], topic[q]) == 0) {
                found = i;
            }
        }
        CHECK(found >= 0);
        CHECK(r.qos[found] == q); /* granted 2, so delivered at the publish QoS */
        CHECK(r.payload_len[found] == strlen(payload));
        CHECK(memcmp(r.payload[found], payload, strlen(payload)) == 0);
    }

    /* The API from inside on_message. */
    CHECK_OK(emq_client_publish(client, trigger, (const uint8_t *)"t", 1, 1, false, NULL));
    POLL_UNTIL(client, r.messages == 5, 3000); /* the trigger and its echo */
    CHECK_ERR(publish_in_callback, EMQ_OK);
    CHECK_ERR(poll_in_callback, EMQ_ERR_IN_CALLBACK);
    CHECK(strcmp(r.topic[4], echo_topic) == 0);
    CHECK(r.payload_len[4] == 4 && memcmp(r.payload[4], "echo", 4) == 0);

    /* After UNSUBACK nothing more arrives. */
    CHECK_OK(emq_client_unsubscribe(client, filter, &unsub_id));
    CHECK_OK(emq_client_wait(client, unsub_id, 3000));
    CHECK(r.unsubscribed == 1);
    CHECK_OK(emq_client_publish(client, topic[1], (const uint8_t *)"x", 1, 1, false, &ids[1]));
    CHECK_OK(emq_client_wait(client, ids[1], 3000));
    {
        uint64_t until = test_now_ms() + 300;
        while (test_now_ms() < until) {
            CHECK_OK(emq_client_poll(client, 20));
        }
    }
    CHECK(r.messages == 5);

    CHECK_OK(emq_client_disconnect(client));
    CHECK(r.disconnects == 1 && r.disconnect_reason == EMQ_OK);
    CHECK(emq_client_state(client) == EMQ_STATE_DISCONNECTED);
    CHECK(net.closes == 1);
    CHECK_ERR(emq_client_poll(client, 0), EMQ_ERR_NOT_CONNECTED);
    CHECK_ERR(emq_client_publish(client, topic[0], NULL, 0, 0, false, NULL),
              EMQ_ERR_NOT_CONNECTED);

    /* The same client connects again. */
    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(r.connects == 2 && emq_client_is_connected(client));
    CHECK_OK(emq_client_deinit(client));
    CHECK(net.closes == 2);
    puts("test_fw_pubsub: ok");
    return 0;
}
