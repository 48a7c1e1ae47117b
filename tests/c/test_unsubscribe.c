/* After UNSUBACK, messages to the unsubscribed topic no longer arrive,
 * while another still-subscribed topic does. */
#include "harness.h"

int main(void)
{
    rec r = {0};
    emq_client *client;
    char gone[128], kept[128];
    uint16_t id = 0;

    snprintf(gone, sizeof gone, "embermq/test/unsub/%ld/gone", (long)getpid());
    snprintf(kept, sizeof kept, "embermq/test/unsub/%ld/kept", (long)getpid());

    client = test_client(NULL, &r);
    test_connect(client, &r);
    test_subscribe(client, &r, gone, 1);
    test_subscribe(client, &r, kept, 1);

    /* Both deliver before the unsubscribe. */
    CHECK_OK(emq_client_publish(client, gone, (const uint8_t *)"a", 1, 1, false, NULL));
    CHECK_OK(emq_client_publish(client, kept, (const uint8_t *)"b", 1, 1, false, NULL));
    POLL_UNTIL(client, r.message_count == 2, 5000);

    CHECK_OK(emq_client_unsubscribe(client, gone, &id));
    CHECK(id != 0);
    CHECK_OK(emq_client_wait(client, id, 5000));
    CHECK(r.unsubscribed_count == 1);
    CHECK(r.unsubscribed_id == id);
    rec_free(&r);

    CHECK_OK(emq_client_publish(client, gone, (const uint8_t *)"c", 1, 1, false, NULL));
    test_poll_for(client, 300);
    CHECK(r.message_count == 0);

    CHECK_OK(emq_client_publish(client, kept, (const uint8_t *)"d", 1, 1, false, NULL));
    POLL_UNTIL(client, r.message_count == 1, 5000);
    CHECK(strcmp(r.messages[0].topic, kept) == 0);
    CHECK(r.messages[0].payload_len == 1 && r.messages[0].payload[0] == 'd');
    test_poll_for(client, 100);
    CHECK(r.message_count == 1);
    CHECK(rec_find(&r, gone) == NULL);

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(test_client_free(client));
    rec_free(&r);
    printf("unsubscribe: delivery stopped on the unsubscribed topic only\n");
    return 0;
}
