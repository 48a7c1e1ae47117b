/* Calling back into the client from callbacks: publish and subscribe work
 * (an echo), poll/wait/connect are refused with EMQ_ERR_IN_CALLBACK,
 * disconnect is allowed, and free (deinit) takes effect when the call that
 * ran the callback returns. */
#include "harness.h"

typedef struct echo {
    rec r;
    emq_client *client;
    char in[128], out[128], extra[128], quit[128];
    int echoes;
    emq_err publish_err, subscribe_err, poll_err, wait_err, connect_err, free_err,
        disconnect_err;
    int in_connect_checked;
    int freed;
    emq_state state_after_free;
} echo;

static void on_connect(void *ud, emq_client *c, bool sp, uint8_t code)
{
    echo *e = ud;
    rec_on_connect(&e->r, c, sp, code);
    CHECK(c == e->client);
    CHECK_ERR(emq_client_poll(c, 0), EMQ_ERR_IN_CALLBACK);
    e->in_connect_checked++;
}

static void on_message(void *ud, emq_client *c, const emq_message *m)
{
    echo *e = ud;
    rec_store_message(&e->r, m, 0, ud);
    CHECK(c == e->client);
    if (m->topic_len == strlen(e->in) && memcmp(m->topic, e->in, m->topic_len) == 0) {
        /* Echo the payload (still valid: we have not returned yet). */
        e->publish_err = emq_client_publish(c, e->out, m->payload, m->payload_len, 1, false, NULL);
        e->subscribe_err = emq_client_subscribe(c, e->extra, 0, NULL);
        e->poll_err = emq_client_poll(c, 0);
        e->wait_err = emq_client_wait(c, 1, 10);
        e->connect_err = emq_client_connect(c, test_host(), test_port());
        e->echoes++;
    } else if (m->topic_len == strlen(e->quit) && memcmp(m->topic, e->quit, m->topic_len) == 0) {
        e->disconnect_err = emq_client_disconnect(c);
    }
}

/* Frees the client from inside its own callback. */
static void on_message_free(void *ud, emq_client *c, const emq_message *m)
{
    echo *e = ud;
    (void)m;
#ifdef EMBERMQ_FIRMWARE
    e->free_err = emq_client_deinit(c);
#else
    e->free_err = emq_client_free(c);
#endif
    /* Still usable until this callback returns. */
    e->state_after_free = emq_client_state(c);
    e->freed++;
}

static void on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    echo *e = ud;
    rec_on_disconnect(&e->r, c, reason);
}

int main(void)
{
    static echo e;
    emq_options o;
    emq_callbacks cb;
    char id[64];
    static const uint8_t body[] = "ping from outside";
    const rec_message *m;
    emq_err err = EMQ_OK;
    uint64_t deadline;

    snprintf(e.in, sizeof e.in, "embermq/test/reenter/%ld/in", (long)getpid());
    snprintf(e.out, sizeof e.out, "embermq/test/reenter/%ld/out", (long)getpid());
    snprintf(e.extra, sizeof e.extra, "embermq/test/reenter/%ld/extra", (long)getpid());
    snprintf(e.quit, sizeof e.quit, "embermq/test/reenter/%ld/quit", (long)getpid());
    e.publish_err = e.subscribe_err = e.poll_err = e.wait_err = e.connect_err = e.free_err =
        e.disconnect_err = (emq_err)-1;

    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-reenter");
    CHECK_OK(test_client_new(&o, &e.client));
    cb = rec_callbacks();
    cb.on_connect = on_connect;
    cb.on_message = on_message;
    cb.on_disconnect = on_disconnect;
    cb.on_published = NULL;
    cb.on_subscribed = NULL;
    cb.on_unsubscribed = NULL;
    CHECK_OK(emq_client_set_callbacks(e.client, &cb, &e));
    CHECK_OK(emq_client_connect(e.client, test_host(), test_port()));
    CHECK(e.in_connect_checked == 1);

    /* Subscribe to in/out (not extra: the callback subscribes to that). */
    {
        char in_f[160], out_f[160], quit_f[160];
        emq_subscription subs[3];
        uint16_t pid;
        snprintf(in_f, sizeof in_f, "%s", e.in);
        snprintf(out_f, sizeof out_f, "%s", e.out);
        snprintf(quit_f, sizeof quit_f, "%s", e.quit);
        subs[0].filter = in_f;
        subs[0].qos = 1;
        subs[1].filter = out_f;
        subs[1].qos = 1;
        subs[2].filter = quit_f;
        subs[2].qos = 1;
        CHECK_OK(emq_client_subscribe_many(e.client, subs, 3, &pid));
        CHECK_OK(emq_client_wait(e.client, pid, 5000));
    }

    CHECK_OK(emq_client_publish(e.client, e.in, body, sizeof body, 1, false, NULL));
    POLL_UNTIL(e.client, rec_find(&e.r, e.out) != NULL, 5000);
    CHECK(e.echoes == 1);
    CHECK_ERR(e.publish_err, EMQ_OK);
    CHECK_ERR(e.subscribe_err, EMQ_OK);
    CHECK_ERR(e.poll_err, EMQ_ERR_IN_CALLBACK);
    CHECK_ERR(e.wait_err, EMQ_ERR_IN_CALLBACK);
    CHECK_ERR(e.connect_err, EMQ_ERR_IN_CALLBACK);
    m = rec_find(&e.r, e.out);
    CHECK(m->payload_len == sizeof body);
    CHECK(memcmp(m->payload, body, sizeof body) == 0);
    CHECK(emq_client_is_connected(e.client));

    /* The subscription made inside the callback works. */
    CHECK_OK(emq_client_publish(e.client, e.extra, (const uint8_t *)"x", 1, 0, false, NULL));
    POLL_UNTIL(e.client, rec_find(&e.r, e.extra) != NULL, 5000);

    /* Disconnect from inside on_message is allowed; poll then reports the
     * client as no longer connected. */
    CHECK_OK(emq_client_publish(e.client, e.quit, (const uint8_t *)"q", 1, 1, false, NULL));
    deadline = test_now_ms() + 5000;
    while (err == EMQ_OK && e.r.disconnects == 0 && test_now_ms() < deadline) {
        err = emq_client_poll(e.client, 20);
    }
    CHECK(err == EMQ_OK || err == EMQ_ERR_NOT_CONNECTED);
    CHECK_ERR(e.disconnect_err, EMQ_OK);
    CHECK(e.r.disconnects == 1);
    CHECK(e.r.disconnect_reason == EMQ_OK);
    CHECK(emq_client_state(e.client) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_poll(e.client, 0), EMQ_ERR_NOT_CONNECTED);

    /* Free from inside on_message: the poll that ran the callback frees the
     * client once the callback has returned; it is not touched afterwards
     * (valgrind reports a leak or a use after free). */
    CHECK_OK(emq_client_connect(e.client, test_host(), test_port()));
    cb.on_message = on_message_free;
    CHECK_OK(emq_client_set_callbacks(e.client, &cb, &e));
    CHECK_OK(emq_client_subscribe(e.client, e.in, 0, NULL));
    CHECK_OK(emq_client_publish(e.client, e.in, body, sizeof body, 1, false, NULL));
    deadline = test_now_ms() + 5000;
    while (e.freed == 0 && test_now_ms() < deadline) {
        CHECK_OK(emq_client_poll(e.client, 20));
    }
    CHECK(e.freed == 1);
    CHECK_ERR(e.free_err, EMQ_OK);
    CHECK(e.state_after_free == EMQ_STATE_CONNECTED);
#ifdef EMBERMQ_FIRMWARE
    /* Its storage and buffers are ours again. */
    test_fw_release(test_fw_slot_of(e.client));
#endif
    rec_free(&e.r);
    printf("reentrancy: echo from on_message works; poll/wait/connect refused inside; "
           "free inside takes effect after the callback\n");
    return 0;
}
