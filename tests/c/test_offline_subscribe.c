/* Subscribe and unsubscribe while offline, in both builds: with
 * queue_offline they are remembered in the subscription table (packet id
 * 0) and sent after the next CONNACK; an offline unsubscribe goes out when
 * the broker kept the session; handlers set up offline route messages. */
#include "harness.h"

static void handler(void *ud, emq_client *c, const emq_message *m)
{
    (void)c;
    rec_store_message(ud, m, 1, ud);
}

/* How many recorded messages are on `topic`. */
static int count_on(const rec *r, const char *topic)
{
    int i, n = 0;
    for (i = 0; i < r->message_count; i++) {
        n += strcmp(r->messages[i].topic, topic) == 0;
    }
    return n;
}

int main(void)
{
    static rec r;
    emq_options o;
    emq_client *c;
    emq_callbacks cb = rec_callbacks();
    char id[64], base[96], fa[128], fb[128], ta[160], tb[160];
    uint16_t pid;
    const rec_message *m;

    test_unique(id, sizeof id, "emq-offline-sub");
    test_unique(base, sizeof base, "embermq/test/offline-sub");
    snprintf(fa, sizeof fa, "%s/a/#", base);
    snprintf(fb, sizeof fb, "%s/b", base);
    snprintf(ta, sizeof ta, "%s/a/x", base);
    snprintf(tb, sizeof tb, "%s/b", base);
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.clean_session = false;
    o.queue_offline = true;
    CHECK_OK(test_client_new(&o, &c));
    CHECK_OK(emq_client_set_callbacks(c, &cb, &r));

    /* Offline: accepted with packet id 0, nothing sent yet. Bad filters
     * are still refused at once. */
    pid = 99;
    CHECK_OK(emq_client_subscribe_handler(c, fa, 1, handler, &r, &pid));
    CHECK(pid == 0);
    pid = 99;
    CHECK_OK(emq_client_subscribe(c, fb, 1, &pid));
    CHECK(pid == 0);
    CHECK_ERR(emq_client_subscribe(c, "a/#/b", 1, NULL), EMQ_ERR_INVALID_TOPIC_FILTER);
    CHECK(r.subscribed_count == 0);

    /* After CONNACK both go out in one SUBSCRIBE. */
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));
    POLL_UNTIL(c, r.subscribed_count == 1, 5000);
    CHECK(r.granted_count == 2 && r.granted[0] == 1 && r.granted[1] == 1);
    CHECK_OK(emq_client_publish(c, ta, (const uint8_t *)"1", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(c, tb, (const uint8_t *)"2", 1, 1, false, NULL));
    POLL_UNTIL(c, count_on(&r, ta) == 1 && count_on(&r, tb) == 1, 5000);
    m = rec_find(&r, ta);
    CHECK(m != NULL && m->handler == 1); /* the handler set up offline */
    m = rec_find(&r, tb);
    CHECK(m != NULL && m->handler == 0); /* on_message */

    /* Offline unsubscribe with the session kept: UNSUBSCRIBE after the
     * CONNACK (session present), then nothing more arrives on it. Our
     * publishes must be acknowledged first: one still in flight would be
     * resent after the CONNACK, before the UNSUBSCRIBE, and come back. */
    POLL_UNTIL(c, emq_client_inflight(c) == 0, 5000);
    CHECK_OK(emq_client_disconnect(c));
    pid = 99;
    CHECK_OK(emq_client_unsubscribe(c, fb, &pid));
    CHECK(pid == 0);
    CHECK(r.unsubscribed_count == 0);
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));
    CHECK(r.session_present);
    POLL_UNTIL(c, r.unsubscribed_count == 1, 5000);
    CHECK(r.subscribed_count == 1); /* nothing resubscribed: the session was kept */
    CHECK_OK(emq_client_publish(c, tb, (const uint8_t *)"3", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(c, ta, (const uint8_t *)"4", 1, 1, false, NULL));
    POLL_UNTIL(c, count_on(&r, ta) == 2, 5000);
    CHECK(count_on(&r, tb) == 1);

    /* After a reconfigure that turns queue_offline on, publishes and
     * subscribes made offline agree: hosts keep the flags of creation
     * (both refused), firmware reads the new options (both queued). */
    {
        /* Static: firmware borrows the options until the client ends. */
        static emq_options created, changed;
        emq_client *d;
        emq_err published, subscribed;
        created = o;
        created.clean_session = true;
        created.queue_offline = false;
        changed = created;
        changed.queue_offline = true;
        CHECK_OK(test_client_new(&created, &d));
        CHECK_OK(emq_client_reconfigure(d, &changed));
        published = emq_client_publish(d, ta, (const uint8_t *)"5", 1, 1, false, NULL);
        subscribed = emq_client_subscribe(d, fb, 1, NULL);
        CHECK_ERR(subscribed, published);
        CHECK(published == EMQ_OK || published == EMQ_ERR_NOT_CONNECTED);
        CHECK_OK(test_client_free(d));
    }

    /* Leave no session behind on the broker. */
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
    o.clean_session = true;
    CHECK_OK(test_client_new(&o, &c));
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
    rec_free(&r);
    printf("offline subscribe (%s): sent after CONNACK with its handler; offline unsubscribe "
           "sent when the session was kept\n",
           TEST_BUILD);
    return 0;
}
