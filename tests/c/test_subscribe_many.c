/* emq_client_subscribe_many with three filters at QoS 0, 1, 2: one SUBACK,
 * on_subscribed gets count 3 and granted [0, 1, 2] in request order; and
 * messages on each filter arrive at the granted QoS. */
#include "harness.h"

int main(void)
{
    rec r = {0};
    emq_client *client;
    char f0[128], f1[128], f2[128], t[160];
    emq_subscription subs[3];
    uint16_t id = 0;
    int i;

    snprintf(f0, sizeof f0, "embermq/test/many/%ld/zero", (long)getpid());
    snprintf(f1, sizeof f1, "embermq/test/many/%ld/one/+", (long)getpid());
    snprintf(f2, sizeof f2, "embermq/test/many/%ld/two/#", (long)getpid());
    subs[0].filter = f0;
    subs[0].qos = 0;
    subs[1].filter = f1;
    subs[1].qos = 1;
    subs[2].filter = f2;
    subs[2].qos = 2;

    client = test_client(NULL, &r);
    test_connect(client, &r);
    CHECK_OK(emq_client_subscribe_many(client, subs, 3, &id));
    CHECK(id != 0);
    CHECK_OK(emq_client_wait(client, id, 5000));
    CHECK(r.subscribed_count == 1);
    CHECK(r.subscribed_id == id);
    CHECK(r.granted_count == 3);
    CHECK(r.granted[0] == 0);
    CHECK(r.granted[1] == 1);
    CHECK(r.granted[2] == 2);

    /* Publish at QoS 2 to each: delivered at min(2, granted). */
    for (i = 0; i < 3; i++) {
        uint16_t pid;
        if (i == 0) {
            snprintf(t, sizeof t, "%s", f0);
        } else if (i == 1) {
            snprintf(t, sizeof t, "embermq/test/many/%ld/one/x", (long)getpid());
        } else {
            snprintf(t, sizeof t, "embermq/test/many/%ld/two/x/y", (long)getpid());
        }
        CHECK_OK(emq_client_publish(client, t, (const uint8_t *)"m", 1, 2, false, &pid));
        POLL_UNTIL(client, rec_find(&r, t) != NULL, 5000);
        CHECK(rec_find(&r, t)->qos == i);
    }

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(test_client_free(client));
    rec_free(&r);
    printf("subscribe_many: granted [0, 1, 2]\n");
    return 0;
}
