/* Publishes made inside callbacks reach the broker without another call on
 * the publishing client, in both builds (hosts write them after the
 * callback or with the rest of its batch of events, in one write):
 *   - from on_connect, which runs inside emq_client_connect;
 *   - from on_message, a burst of QoS 0 and QoS 1 messages per event.
 * A second client, the only one polled afterwards, receives every one of
 * them, in order. */
#include "harness.h"

#define ECHOES_PER_MESSAGE 5

static char connect_topic[160], trigger_topic[160], echo_topic[160];
static int echo_failures;

static void publish_on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    rec_on_connect(ud, c, session_present, code);
    if (code == 0 &&
        emq_client_publish(c, connect_topic, (const uint8_t *)"hello", 5, 0, false, NULL) != EMQ_OK) {
        echo_failures++;
    }
}

static void echo_burst(void *ud, emq_client *c, const emq_message *m)
{
    char payload[32];
    int i, len;
    rec_on_message(ud, c, m);
    for (i = 0; i < ECHOES_PER_MESSAGE; i++) {
        len = snprintf(payload, sizeof payload, "%.*s-%d", (int)m->payload_len,
                       (const char *)m->payload, i);
        if (emq_client_publish(c, echo_topic, (const uint8_t *)payload, (size_t)len,
                               (uint8_t)(i % 2), false, NULL) != EMQ_OK) {
            echo_failures++;
        }
    }
}

int main(void)
{
    static rec pub_rec, sub_rec;
    emq_options o;
    emq_client *publisher, *listener;
    emq_callbacks cb = rec_callbacks();
    char id[64], base[96], filter[128], expected[32];
    int triggers = 4, i, n;

    test_unique(base, sizeof base, "embermq/test/cbpub");
    snprintf(connect_topic, sizeof connect_topic, "%s/connect", base);
    snprintf(trigger_topic, sizeof trigger_topic, "%s/trigger", base);
    snprintf(echo_topic, sizeof echo_topic, "%s/echo", base);
    snprintf(filter, sizeof filter, "%s/#", base);

    listener = test_client(NULL, &sub_rec);
    test_connect(listener, &sub_rec);
    test_subscribe(listener, &sub_rec, filter, 1);

    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-cbpub");
    CHECK_OK(test_client_new(&o, &publisher));
    cb.on_connect = publish_on_connect;
    cb.on_message = echo_burst;
    CHECK_OK(emq_client_set_callbacks(publisher, &cb, &pub_rec));
    CHECK_OK(emq_client_connect(publisher, test_host(), test_port()));
    CHECK(pub_rec.connects == 1);

    /* Only the listener is polled: the publish from on_connect must have
     * left the publisher already. */
    POLL_UNTIL(listener, rec_find(&sub_rec, connect_topic) != NULL, 5000);

    /* The publisher hears its triggers (one read, one batch of events) and
     * echoes each in a burst; then only the listener is polled. */
    test_subscribe(publisher, &pub_rec, trigger_topic, 0);
    for (i = 0; i < triggers; i++) {
        char t[8];
        int len = snprintf(t, sizeof t, "t%d", i);
        CHECK_OK(emq_client_publish(listener, trigger_topic, (const uint8_t *)t, (size_t)len, 0,
                                    false, NULL));
    }
    POLL_UNTIL(publisher, pub_rec.message_count == triggers, 5000);
    POLL_UNTIL(listener, sub_rec.message_count >= 1 + triggers + triggers * ECHOES_PER_MESSAGE,
               5000);
    CHECK(echo_failures == 0);

    /* Every echo arrived once, in the order published. */
    n = 0;
    for (i = 0; i < sub_rec.message_count; i++) {
        const rec_message *m = &sub_rec.messages[i];
        if (strcmp(m->topic, echo_topic) != 0) {
            continue;
        }
        snprintf(expected, sizeof expected, "t%d-%d", n / ECHOES_PER_MESSAGE,
                 n % ECHOES_PER_MESSAGE);
        CHECK(m->payload_len == strlen(expected));
        CHECK(memcmp(m->payload, expected, m->payload_len) == 0);
        n++;
    }
    CHECK(n == triggers * ECHOES_PER_MESSAGE);

    CHECK_OK(emq_client_disconnect(publisher));
    CHECK_OK(emq_client_disconnect(listener));
    CHECK_OK(test_client_free(publisher));
    CHECK_OK(test_client_free(listener));
    rec_free(&pub_rec);
    rec_free(&sub_rec);
    printf("callback publish (%s): from on_connect and %d bursts from on_message, all "
           "received by another client\n",
           TEST_BUILD, triggers);
    return 0;
}
