/* MQTT 5 through the C API (protocol_level 5): connect announcing a session
 * expiry and a receive maximum, QoS 0/1/2 round trips on the client's own
 * subscription with on_published for each, unsubscribe (the UNSUBACK's
 * reason codes reach on_unsubscribed), a refusal for a wrong password with
 * the v5 reason code (0x86 or 0x87) in on_connect and
 * emq_client_last_return_code, and a server's DISCONNECT (0x8E Session
 * taken over, from a scripted peer) as
 * on_disconnect(EMQ_ERR_SERVER_DISCONNECTED) with the code in
 * emq_client_last_return_code. Needs EMQ_BROKER_PASSWD (see CMakeLists.txt).
 * (A library without the mqtt5 feature refuses protocol_level 5 with
 * EMQ_ERR_UNSUPPORTED; both builds tested here have it.) */
#include "harness.h"
#include "net_util.h"

static const char *user, *pass;

static emq_client *client_v5(rec *r, const char *id, const char *password)
{
    emq_options o;
    CHECK_OK(emq_options_default(&o));
    CHECK(o.session_expiry_secs == 0 && o.receive_maximum == 0 && o.maximum_packet_size == 0);
    o.client_id = id;
    o.username = user;
    o.password = (const uint8_t *)password;
    o.password_len = strlen(password);
    o.protocol_level = 5;
    o.session_expiry_secs = 60;
    o.receive_maximum = 10;
    return test_client(&o, r);
}

int main(void)
{
    rec r = {0}, bad_rec = {0}, second_rec = {0};
    emq_options o;
    emq_client *client, *bad, *second;
    emq_err err;
    char id[64], bad_id[64], base[128], filter[160], topic[160];
    static const uint8_t payload[] = "mqtt5 payload";
    uint16_t unsub_id = 0;
    unsigned q;
    uint8_t code, buf[256];
    int listener, peer;
    uint16_t peer_port = 0;
    /* CONNACK v5 (accepted, no properties), DISCONNECT 0x8E. */
    static const uint8_t connack_then_disconnect[] = {0x20, 3, 0, 0, 0, 0xE0, 2, 0x8E, 0};

    user = getenv("EMQ_TEST_USERNAME");
    pass = getenv("EMQ_TEST_PASSWORD");
    CHECK(user != NULL && pass != NULL); /* set by with-broker.sh */

    /* The new codes are named. */
    CHECK(strcmp(emq_err_str(EMQ_ERR_SERVER_DISCONNECTED), "unknown error") != 0);
    CHECK(strcmp(emq_err_str(EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER), "unknown error") != 0);
    CHECK(strcmp(emq_err_str(EMQ_ERR_QOS_NOT_SUPPORTED), "unknown error") != 0);
    CHECK(strcmp(emq_err_str(EMQ_ERR_RETAIN_NOT_SUPPORTED), "unknown error") != 0);

    /* Levels other than 3, 4 and 5 stay refused. */
    CHECK_OK(emq_options_default(&o));
    o.protocol_level = 6;
    err = test_client_new(&o, &client);
    CHECK_ERR(err, EMQ_ERR_INVALID_PROTOCOL);

    client = client_v5(&r, test_unique(id, sizeof id, "emq-v5"), pass);
    test_connect(client, &r);
    CHECK(emq_client_last_return_code(client) == 0);

    snprintf(base, sizeof base, "embermq/test/mqtt5/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", base);
    test_subscribe(client, &r, filter, 2);
    for (q = 0; q <= 2; q++) {
        uint16_t packet_id = 0xFFFF;
        const rec_message *m;
        snprintf(topic, sizeof topic, "%s/q%u", base, q);
        CHECK_OK(emq_client_publish(client, topic, payload, sizeof payload, (uint8_t)q, false,
                                    &packet_id));
        CHECK((q == 0) == (packet_id == 0));
        POLL_UNTIL(client, rec_was_published(&r, packet_id), 10000);
        POLL_UNTIL(client, rec_find(&r, topic) != NULL, 10000);
        m = rec_find(&r, topic);
        CHECK(m->payload_len == sizeof payload);
        CHECK(memcmp(m->payload, payload, sizeof payload) == 0);
        CHECK(m->qos == q);
        printf("mqtt5 qos %u: round trip ok (packet id %u)\n", q, (unsigned)packet_id);
    }
    CHECK(r.published_count == 3);
    CHECK(r.pubrec_count == 1);

    CHECK_OK(emq_client_unsubscribe(client, filter, &unsub_id));
    CHECK(unsub_id != 0);
    POLL_UNTIL(client, r.unsubscribed_count == 1, 5000);
    CHECK(r.unsubscribed_id == unsub_id);

    /* A wrong password: refused with the MQTT 5 reason code. */
    bad = client_v5(&bad_rec, test_unique(bad_id, sizeof bad_id, "emq-v5-bad"),
                    "definitely-wrong");
    CHECK_ERR(emq_client_connect(bad, test_host(), test_port()), EMQ_ERR_CONNECTION_REFUSED);
    CHECK(bad_rec.connects == 1);
    code = bad_rec.connect_code;
    CHECK(code == 0x86 || code == 0x87);
    CHECK(emq_client_last_return_code(bad) == code);
    CHECK(emq_client_last_error(bad) == EMQ_ERR_CONNECTION_REFUSED);
    CHECK(!emq_client_is_connected(bad));
    printf("mqtt5 wrong password: refused with reason code 0x%02X\n", (unsigned)code);

    /* The broker's DISCONNECT. mosquitto 2.0.11 closes a taken-over
     * session without one, so a scripted peer accepts the connection,
     * answers CONNACK and sends DISCONNECT 0x8E (Session taken over). */
    listener = test_listen_on(0, 4, &peer_port);
    CHECK(listener >= 0);
    second = client_v5(&second_rec, test_unique(id, sizeof id, "emq-v5-peer"), pass);
    CHECK_OK(emq_client_connect_start(second, "127.0.0.1", peer_port));
    peer = test_accept(listener, 5000);
    CHECK(peer >= 0);
    CHECK(test_read_some(peer, buf, sizeof buf, 5000) > 0);
    CHECK(buf[0] == 0x10 && buf[1] < 128); /* CONNECT */
    CHECK(buf[8] == 5);                       /* protocol level 5 */
    CHECK(send(peer, connack_then_disconnect, sizeof connack_then_disconnect, 0) ==
          (ssize_t)sizeof connack_then_disconnect);
    STEP_UNTIL(second_rec.disconnects == 1, (void)emq_client_poll(second, 20), 5000);
    CHECK(second_rec.connects == 1 && second_rec.connect_code == 0);
    CHECK(second_rec.disconnect_reason == EMQ_ERR_SERVER_DISCONNECTED);
    CHECK(emq_client_last_error(second) == EMQ_ERR_SERVER_DISCONNECTED);
    CHECK(emq_client_last_return_code(second) == 0x8E);
    CHECK(!emq_client_is_connected(second));
    printf("mqtt5 server DISCONNECT: reason code 0x%02X\n",
           (unsigned)emq_client_last_return_code(second));
    close(peer);
    close(listener);

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(test_client_free(second));
    CHECK_OK(test_client_free(bad));
    CHECK_OK(test_client_free(client));
    rec_free(&r);
    rec_free(&bad_rec);
    rec_free(&second_rec);
    return 0;
}
