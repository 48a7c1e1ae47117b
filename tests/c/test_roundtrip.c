/* QoS 0/1/2 round trips with payloads of 0 bytes, 1 byte and 256 KiB on the
 * client's own subscription: byte-identical, on_published for each with the
 * right packet ids, and on_pubrec once for each QoS 2 one, before it. */
#include "harness.h"

#define BIG (256u * 1024u)

int main(void)
{
    static const size_t sizes[] = {0, 1, BIG};
    rec r = {0};
    emq_options o;
    emq_client *client;
    char id[64], base[128], filter[160], topic[160];
    uint8_t *payload = malloc(BIG);
    size_t i, s;
    unsigned q;

    CHECK(payload != NULL);
    for (i = 0; i < BIG; i++) {
        payload[i] = (uint8_t)(i * 7u + (i >> 8)); /* not periodic in 256 */
    }

    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-roundtrip");
    o.rx_buffer_size = 300u * 1024u;
    o.tx_buffer_size = 300u * 1024u;
    o.store_size = 1024u * 1024u;
    client = test_client(&o, &r);
    test_connect(client, &r);

    snprintf(base, sizeof base, "embermq/test/roundtrip/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", base);
    test_subscribe(client, &r, filter, 2);

    for (q = 0; q <= 2; q++) {
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint16_t packet_id = 0xFFFF;
            int published_before = r.published_count;
            int pubrecs_before = r.pubrec_count;
            const rec_message *m;
            snprintf(topic, sizeof topic, "%s/q%u/len%zu", base, q, sizes[s]);
            CHECK_OK(emq_client_publish(client, topic, sizes[s] ? payload : NULL, sizes[s],
                                        (uint8_t)q, false, &packet_id));
            if (q == 0) {
                /* QoS 0: id 0, on_published(0) right away. */
                CHECK(packet_id == 0);
                CHECK(r.published_count == published_before + 1);
                CHECK(r.published[published_before] == 0);
            } else {
                CHECK(packet_id != 0);
                CHECK(emq_client_inflight(client) >= 1);
                CHECK(!rec_was_published(&r, packet_id));
                POLL_UNTIL(client, rec_was_published(&r, packet_id), 10000);
                CHECK(r.published_count == published_before + 1);
            }
            /* rec_on_pubrec checked it came before on_published. */
            CHECK(r.pubrec_count == pubrecs_before + (q == 2));
            CHECK(q != 2 || r.pubrecs[pubrecs_before] == packet_id);
            POLL_UNTIL(client, rec_find(&r, topic) != NULL, 10000);
            m = rec_find(&r, topic);
            CHECK(m->payload_len == sizes[s]);
            CHECK(memcmp(m->payload, payload, sizes[s]) == 0);
            CHECK(m->qos == q);
            CHECK(!m->retain);
            CHECK((q == 0) == (m->packet_id == 0));
            printf("qos %u, %zu bytes: round trip ok (packet id %u)\n", q, sizes[s],
                   (unsigned)packet_id);
        }
    }
    POLL_UNTIL(client, emq_client_inflight(client) == 0, 5000);
    CHECK(r.message_count == 9);
    CHECK(r.published_count == 9);
    CHECK(r.disconnects == 0);

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(test_client_free(client));
    rec_free(&r);
    free(payload);
    return 0;
}
