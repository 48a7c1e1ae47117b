/* A retained message reaches a client that subscribes later, with
 * retain=true; an empty retained payload clears it. */
#include "harness.h"

int main(void)
{
    rec pub_rec = {0}, sub_rec = {0}, late_rec = {0};
    emq_client *pub, *sub, *late;
    char topic[128];
    static const uint8_t body[] = "retained state: 42";
    uint16_t id = 0;
    const rec_message *m;

    snprintf(topic, sizeof topic, "embermq/test/retained/%ld", (long)getpid());

    pub = test_client(NULL, &pub_rec);
    test_connect(pub, &pub_rec);
    CHECK_OK(emq_client_publish(pub, topic, body, sizeof body, 1, true, &id));
    CHECK(id != 0);
    CHECK_OK(emq_client_wait(pub, id, 5000));
    CHECK(rec_was_published(&pub_rec, id));

    /* A later subscriber gets it from the retained store. */
    sub = test_client(NULL, &sub_rec);
    test_connect(sub, &sub_rec);
    test_subscribe(sub, &sub_rec, topic, 1);
    POLL_UNTIL(sub, sub_rec.message_count >= 1, 5000);
    m = &sub_rec.messages[0];
    CHECK(strcmp(m->topic, topic) == 0);
    CHECK(m->retain);
    CHECK(m->qos == 1);
    CHECK(m->payload_len == sizeof body);
    CHECK(memcmp(m->payload, body, sizeof body) == 0);

    /* Clear it: an empty retained payload. The live subscriber sees the
     * empty message (retain false on live delivery in 3.1.1). */
    CHECK_OK(emq_client_publish(pub, topic, NULL, 0, 1, true, &id));
    CHECK_OK(emq_client_wait(pub, id, 5000));
    POLL_UNTIL(sub, sub_rec.message_count >= 2, 5000);
    CHECK(sub_rec.messages[1].payload_len == 0);
    CHECK(!sub_rec.messages[1].retain);

    /* A new subscriber now gets nothing. */
    late = test_client(NULL, &late_rec);
    test_connect(late, &late_rec);
    test_subscribe(late, &late_rec, topic, 1);
    test_poll_for(late, 300);
    CHECK(late_rec.message_count == 0);

    CHECK_OK(emq_client_disconnect(pub));
    CHECK_OK(emq_client_disconnect(sub));
    CHECK_OK(emq_client_disconnect(late));
    CHECK_OK(test_client_free(pub));
    CHECK_OK(test_client_free(sub));
    CHECK_OK(test_client_free(late));
    rec_free(&sub_rec);
    printf("retained: delivered with retain=1 to a late subscriber, then cleared\n");
    return 0;
}
