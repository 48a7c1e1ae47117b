/* Per-filter handlers with + and #: each message goes to the first
 * registered handler whose filter matches, with that handler's user_data;
 * messages no handler takes go to on_message. */
#include "harness.h"

typedef struct handler_ctx {
    rec *r;
    int id;
} handler_ctx;

static void handler(void *user_data, emq_client *client, const emq_message *m)
{
    handler_ctx *ctx = user_data;
    (void)client;
    rec_store_message(ctx->r, m, ctx->id, user_data);
}

/* Every recorded message on `topic` went to handler `id` with `user_data`;
 * returns how many there were. */
static int all_to(const rec *r, const char *topic, int id, void *user_data)
{
    int i, n = 0;
    for (i = 0; i < r->message_count; i++) {
        if (strcmp(r->messages[i].topic, topic) == 0) {
            CHECK(r->messages[i].handler == id);
            CHECK(r->messages[i].user_data == user_data);
            n++;
        }
    }
    return n;
}

int main(void)
{
    rec r = {0};
    emq_client *client;
    handler_ctx temp = {&r, 1}, all_h = {&r, 2}, r_all = {&r, 3}, r_temp = {&r, 4};
    char p[96], f[160], t1[160], t2[160], t3[160], t4[160];
    uint16_t id;

    snprintf(p, sizeof p, "embermq/test/handlers/%ld", (long)getpid());
    client = test_client(NULL, &r);
    test_connect(client, &r);

    /* Order 1: the specific filter first. */
    snprintf(f, sizeof f, "%s/h/+/temp", p);
    CHECK_OK(emq_client_subscribe_handler(client, f, 1, handler, &temp, &id));
    CHECK_OK(emq_client_wait(client, id, 5000));
    snprintf(f, sizeof f, "%s/h/#", p);
    CHECK_OK(emq_client_subscribe_handler(client, f, 1, handler, &all_h, &id));
    CHECK_OK(emq_client_wait(client, id, 5000));
    /* Order 2: the wide filter first, so it wins over the specific one. */
    snprintf(f, sizeof f, "%s/r/#", p);
    CHECK_OK(emq_client_subscribe_handler(client, f, 1, handler, &r_all, &id));
    CHECK_OK(emq_client_wait(client, id, 5000));
    snprintf(f, sizeof f, "%s/r/+/temp", p);
    CHECK_OK(emq_client_subscribe_handler(client, f, 1, handler, &r_temp, &id));
    CHECK_OK(emq_client_wait(client, id, 5000));
    /* No handler: the default on_message. */
    snprintf(f, sizeof f, "%s/other/#", p);
    test_subscribe(client, &r, f, 1);

    snprintf(t1, sizeof t1, "%s/h/kitchen/temp", p);
    snprintf(t2, sizeof t2, "%s/h/kitchen/humidity", p);
    snprintf(t3, sizeof t3, "%s/r/kitchen/temp", p);
    snprintf(t4, sizeof t4, "%s/other/x", p);
    CHECK_OK(emq_client_publish(client, t1, (const uint8_t *)"1", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(client, t2, (const uint8_t *)"2", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(client, t3, (const uint8_t *)"3", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(client, t4, (const uint8_t *)"4", 1, 1, false, NULL));
    POLL_UNTIL(client,
               rec_find(&r, t1) && rec_find(&r, t2) && rec_find(&r, t3) && rec_find(&r, t4),
               5000);
    /* Overlapping subscriptions may bring a second copy: let it arrive. */
    test_poll_for(client, 200);

    CHECK(all_to(&r, t1, 1, &temp) >= 1);
    CHECK(all_to(&r, t2, 2, &all_h) >= 1);
    CHECK(all_to(&r, t3, 3, &r_all) >= 1);
    CHECK(all_to(&r, t4, 0, &r) == 1);

    /* Unsubscribing a handler's filter drops the handler: h/+/temp
     * messages now go to the h/# handler. */
    snprintf(f, sizeof f, "%s/h/+/temp", p);
    CHECK_OK(emq_client_unsubscribe(client, f, &id));
    CHECK_OK(emq_client_wait(client, id, 5000));
    rec_free(&r);
    CHECK_OK(emq_client_publish(client, t1, (const uint8_t *)"5", 1, 1, false, NULL));
    POLL_UNTIL(client, rec_find(&r, t1) != NULL, 5000);
    test_poll_for(client, 100);
    CHECK(all_to(&r, t1, 2, &all_h) == 1);

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(test_client_free(client));
    rec_free(&r);
    printf("handlers: + and # routed to the first registered match\n");
    return 0;
}
