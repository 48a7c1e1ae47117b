/* A message larger than the receive buffer closes the connection cleanly:
 * poll returns EMQ_ERR_PACKET_TOO_LARGE, on_disconnect gets it, the state is
 * DISCONNECTED, and the client can connect again and receive normally. */
#include "harness.h"

int main(void)
{
    rec a_rec = {0}, b_rec = {0};
    emq_options o;
    emq_client *a, *b;
    char id[64], topic[128];
    uint8_t big[4096];
    emq_err err = EMQ_OK;
    uint64_t deadline;
    uint16_t pid;
    int i;

    memset(big, 'x', sizeof big);
    snprintf(topic, sizeof topic, "embermq/test/too-large/%ld", (long)getpid());

    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-small-rx");
    o.rx_buffer_size = 1024;
    a = test_client(&o, &a_rec);
    test_connect(a, &a_rec);
    test_subscribe(a, &a_rec, topic, 1);

    b = test_client(NULL, &b_rec);
    test_connect(b, &b_rec);
    CHECK_OK(emq_client_publish(b, topic, big, sizeof big, 1, false, &pid));
    CHECK_OK(emq_client_wait(b, pid, 5000));

    deadline = test_now_ms() + 5000;
    while (err == EMQ_OK && test_now_ms() < deadline) {
        err = emq_client_poll(a, 50);
    }
    CHECK_ERR(err, EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(a_rec.disconnects == 1);
    CHECK(a_rec.disconnect_reason == EMQ_ERR_PACKET_TOO_LARGE);
    CHECK(a_rec.message_count == 0);
    CHECK(emq_client_state(a) == EMQ_STATE_DISCONNECTED);
    CHECK(!emq_client_is_connected(a));
    CHECK_ERR(emq_client_poll(a, 10), EMQ_ERR_NOT_CONNECTED);

    /* Reconnect (clean session: subscribe again) and receive small ones. */
    test_connect(a, &a_rec);
    test_subscribe(a, &a_rec, topic, 1);
    for (i = 0; i < 3; i++) {
        uint8_t small[8];
        memset(small, 'a' + i, sizeof small);
        CHECK_OK(emq_client_publish(b, topic, small, sizeof small, 1, false, &pid));
        POLL_UNTIL(a, a_rec.message_count == i + 1, 5000);
        CHECK(a_rec.messages[i].payload_len == sizeof small);
        CHECK(memcmp(a_rec.messages[i].payload, small, sizeof small) == 0);
        CHECK(strcmp(a_rec.messages[i].topic, topic) == 0);
    }
    test_poll_for(a, 100);
    CHECK(a_rec.message_count == 3);
    CHECK(a_rec.disconnects == 1);

    CHECK_OK(emq_client_disconnect(a));
    CHECK_OK(emq_client_disconnect(b));
    CHECK_OK(emq_client_free(a));
    CHECK_OK(emq_client_free(b));
    rec_free(&a_rec);
    printf("too_large: 4 KiB into a 1 KiB buffer closed the link; reconnect works\n");
    return 0;
}
