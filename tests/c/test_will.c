/* The will is published when a client is freed without DISCONNECT, and not
 * after a clean disconnect. */
#include "harness.h"

static emq_client *client_with_will(rec *r, const char *topic, const char *payload)
{
    emq_options o;
    char id[64];
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-will");
    o.will_topic = topic;
    o.will_payload = (const uint8_t *)payload;
    o.will_payload_len = strlen(payload);
    o.will_qos = 1;
    return test_client(&o, r);
}

int main(void)
{
    rec watch_rec = {0}, dying_rec = {0}, clean_rec = {0};
    emq_client *watcher, *dying, *clean;
    char topic[128], clean_topic[128];
    static const char will[] = "gone unexpectedly";
    const rec_message *m;

    snprintf(topic, sizeof topic, "embermq/test/will/%ld/abrupt", (long)getpid());
    snprintf(clean_topic, sizeof clean_topic, "embermq/test/will/%ld/clean", (long)getpid());

    watcher = test_client(NULL, &watch_rec);
    test_connect(watcher, &watch_rec);
    test_subscribe(watcher, &watch_rec, topic, 2);
    test_subscribe(watcher, &watch_rec, clean_topic, 2);

    /* A clean DISCONNECT discards the will. */
    clean = client_with_will(&clean_rec, clean_topic, "should not appear");
    test_connect(clean, &clean_rec);
    CHECK_OK(emq_client_disconnect(clean));
    CHECK_OK(test_client_free(clean));

    /* Free without disconnect: the broker publishes the will. */
    dying = client_with_will(&dying_rec, topic, will);
    test_connect(dying, &dying_rec);
    CHECK_OK(test_client_free(dying));

    POLL_UNTIL(watcher, rec_find(&watch_rec, topic) != NULL, 10000);
    m = rec_find(&watch_rec, topic);
    CHECK(m->payload_len == strlen(will));
    CHECK(memcmp(m->payload, will, strlen(will)) == 0);
    CHECK(m->qos == 1);
    CHECK(!m->retain);
    test_poll_for(watcher, 200);
    CHECK(rec_find(&watch_rec, clean_topic) == NULL);

    CHECK_OK(emq_client_disconnect(watcher));
    CHECK_OK(test_client_free(watcher));
    rec_free(&watch_rec);
    printf("will: delivered after an abrupt close, not after DISCONNECT\n");
    return 0;
}
