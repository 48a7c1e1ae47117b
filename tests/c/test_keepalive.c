/* With keepalive_secs = 1, an idle client polled for 2.5 s stays connected
 * (the broker drops clients silent for 1.5x the keepalive), the broker
 * log shows its PINGREQs, and on_pingresp hears each answer. */
#include "harness.h"

int main(void)
{
    rec r = {0};
    emq_options o;
    emq_client *client;
    char id[64], path[512], line[1024];
    const char *dir = getenv("EMQ_TEST_BROKER_DIR");
    uint64_t end;
    int pings = 0;
    FILE *log;

    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-keepalive");
    o.keepalive_secs = 1;
    client = test_client(&o, &r);
    test_connect(client, &r);

    end = test_now_ms() + 2500;
    while (test_now_ms() < end) {
        CHECK_OK(emq_client_poll(client, 50));
    }
    CHECK(emq_client_is_connected(client));
    CHECK(r.disconnects == 0);
    CHECK(r.pingresps >= 2);
    /* Still usable. */
    test_subscribe(client, &r, "embermq/test/keepalive/check", 0);

    /* mosquitto logs "Received PINGREQ from <client id>" (log_type all). */
    if (dir != NULL) {
        snprintf(path, sizeof path, "%s/mosquitto.log", dir);
        log = fopen(path, "r");
        CHECK(log != NULL);
        while (fgets(line, sizeof line, log) != NULL) {
            if (strstr(line, "Received PINGREQ from") && strstr(line, id)) {
                pings++;
            }
        }
        fclose(log);
        CHECK(pings >= 2);
        /* Each PINGREQ is answered; the last answer may still be on its way. */
        CHECK(r.pingresps >= pings - 1);
    }

    CHECK_OK(emq_client_disconnect(client));
    CHECK(r.disconnects == 1 && r.disconnect_reason == EMQ_OK);
    CHECK_OK(test_client_free(client));
    printf("keepalive: still connected after 2.5 s idle, %d PINGREQs in the broker log, %d PINGRESPs\n",
           pings, r.pingresps);
    return 0;
}
