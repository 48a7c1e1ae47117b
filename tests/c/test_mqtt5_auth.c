/* MQTT 5 enhanced authentication through the C API, against a scripted
 * peer (mosquitto 2.0.11 has no AUTH method built in): CONNECT names the
 * method and carries data; the broker's challenge (AUTH 0x18) reaches
 * on_auth before on_connect, which answers it with emq_client_auth from
 * inside the callback; then a re-authentication (0x19) ends with the
 * broker's 0x00 in on_auth. Refusals: an AUTH at the wrong moment or
 * without the method, each a named error with the client still up. */
#include "harness.h"
#include "net_util.h"
#include "v5_util.h"

typedef struct auth_rec {
    rec r;
    uint8_t reasons[8];
    char data[8][32];
    int count;
    emq_err answer; /* what emq_client_auth returned inside on_auth */
} auth_rec;

/* Kept for the client's life (firmware keeps the array). */
static emq_property connect_props[2];

static void on_auth(void *ud, emq_client *c, uint8_t reason, const emq_properties *props)
{
    auth_rec *a = ud;
    emq_property p;
    CHECK(a->count < 8);
    a->reasons[a->count] = reason;
    CHECK(emq_properties_get(props, EMQ_PROP_AUTHENTICATION_METHOD, &p));
    CHECK(p.data_len == 5 && memcmp(p.data, "TOKEN", 5) == 0);
    if (emq_properties_get(props, EMQ_PROP_AUTHENTICATION_DATA, &p)) {
        CHECK(p.data_len < sizeof a->data[0]);
        memcpy(a->data[a->count], p.data, p.data_len);
    }
    a->count++;
    if (reason == 0x18) {
        /* Answer the challenge from here. */
        emq_property answer[2];
        answer[0] = text_prop(EMQ_PROP_AUTHENTICATION_METHOD, "TOKEN");
        answer[1] = text_prop(EMQ_PROP_AUTHENTICATION_DATA, a->count == 1 ? "answer" : "more");
        a->answer = emq_client_auth(c, 0x18, answer, 2);
    }
}

/* Reads one whole packet from the peer socket into buf; its length. */
static size_t read_packet(int fd, uint8_t *buf, size_t size)
{
    size_t have = 0, need = 2;
    while (have < need) {
        int got = test_read_some(fd, buf + have, need - have, 5000);
        CHECK(got > 0);
        have += (size_t)got;
        if (have == 2 && buf[1] < 128) {
            need = 2 + buf[1];
            CHECK(need <= size);
        }
    }
    return have;
}

/* AUTH from the broker: reason, method TOKEN, optional data. */
static void send_auth(int fd, uint8_t reason, const char *data)
{
    uint8_t p[64];
    size_t n = 0, d = strlen(data);
    p[n++] = 0xF0;
    p[n++] = (uint8_t)(2 + 8 + (d ? 3 + d : 0));
    p[n++] = reason;
    p[n++] = (uint8_t)(8 + (d ? 3 + d : 0));
    memcpy(p + n, "\x15\x00\x05TOKEN", 8);
    n += 8;
    if (d) {
        p[n++] = 0x16;
        p[n++] = 0;
        p[n++] = (uint8_t)d;
        memcpy(p + n, data, d);
        n += d;
    }
    CHECK(send(fd, p, n, 0) == (ssize_t)n);
}

int main(void)
{
    auth_rec a;
    emq_options o;
    emq_client *client;
    emq_callbacks cb = rec_callbacks();
    emq_property reauth[2];
    uint8_t buf[512];
    size_t n;
    char id[64];
    int listener, peer;
    uint16_t port = 0;
    static const uint8_t connack[] = {0x20, 3, 0, 0, 0};

    memset(&a, 0, sizeof a);
    listener = test_listen_on(0, 4, &port);
    CHECK(listener >= 0);
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-v5-auth");
    o.protocol_level = 5;
    connect_props[0] = text_prop(EMQ_PROP_AUTHENTICATION_METHOD, "TOKEN");
    connect_props[1] = text_prop(EMQ_PROP_AUTHENTICATION_DATA, "one");
    o.connect_properties = connect_props;
    o.connect_property_count = 2;
    client = test_client(&o, &a.r);
    cb.on_auth = on_auth;
    CHECK_OK(emq_client_set_callbacks(client, &cb, &a));

    CHECK_OK(emq_client_connect_start(client, "127.0.0.1", port));
    peer = test_accept(listener, 5000);
    CHECK(peer >= 0);
    n = read_packet(peer, buf, sizeof buf);
    CHECK(buf[0] == 0x10);
    CHECK(contains(buf, n, "\x15\x00\x05TOKEN", 8));
    CHECK(contains(buf, n, "\x16\x00\x03one", 6));

    /* The challenge: answered from on_auth, before any CONNACK. */
    send_auth(peer, 0x18, "challenge");
    STEP_UNTIL(a.count == 1, (void)emq_client_poll(client, 20), 5000);
    CHECK(a.reasons[0] == 0x18 && strcmp(a.data[0], "challenge") == 0);
    CHECK_OK(a.answer);
    CHECK(a.r.connects == 0);
    n = read_packet(peer, buf, sizeof buf);
    CHECK(buf[0] == 0xF0 && buf[2] == 0x18);
    CHECK(contains(buf, n, "\x16\x00\x06" "answer", 9));
    CHECK(send(peer, connack, sizeof connack, 0) == (ssize_t)sizeof connack);
    STEP_UNTIL(a.r.connects == 1, (void)emq_client_poll(client, 20), 5000);
    CHECK(a.r.connect_code == 0 && emq_client_is_connected(client));
    printf("v5 AUTH: challenge answered in on_auth, then CONNACK\n");

    /* Refusals: 0x18 with no exchange open, no method, a reason AUTH
     * cannot carry. */
    reauth[0] = text_prop(EMQ_PROP_AUTHENTICATION_METHOD, "TOKEN");
    reauth[1] = text_prop(EMQ_PROP_AUTHENTICATION_DATA, "again");
    CHECK_ERR(emq_client_auth(client, 0x18, reauth, 2), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_auth(client, 0x19, reauth + 1, 1), EMQ_ERR_INVALID_PROPERTY);
    CHECK_ERR(emq_client_auth(client, 0x87, reauth, 2), EMQ_ERR_INVALID_ARGUMENT);
    reauth[1] = text_prop(EMQ_PROP_CONTENT_TYPE, "x"); /* not in AUTH */
    CHECK_ERR(emq_client_auth(client, 0x19, reauth, 2), EMQ_ERR_INVALID_PROPERTY);
    /* [MQTT-4.12.1-1]: only CONNECT's method. */
    reauth[0] = text_prop(EMQ_PROP_AUTHENTICATION_METHOD, "OTHER");
    reauth[1] = text_prop(EMQ_PROP_AUTHENTICATION_DATA, "again");
    CHECK_ERR(emq_client_auth(client, 0x19, reauth, 2), EMQ_ERR_INVALID_PROPERTY);
    reauth[0] = text_prop(EMQ_PROP_AUTHENTICATION_METHOD, "TOKEN");
    CHECK(emq_client_is_connected(client));

    /* Re-authentication: 0x19, one more challenge, then 0x00. */
    reauth[1] = text_prop(EMQ_PROP_AUTHENTICATION_DATA, "again");
    CHECK_OK(emq_client_auth(client, 0x19, reauth, 2));
    n = read_packet(peer, buf, sizeof buf);
    CHECK(buf[0] == 0xF0 && buf[2] == 0x19);
    CHECK(contains(buf, n, "\x16\x00\x05" "again", 8));
    send_auth(peer, 0x18, "more?");
    STEP_UNTIL(a.count == 2, (void)emq_client_poll(client, 20), 5000);
    CHECK_OK(a.answer);
    n = read_packet(peer, buf, sizeof buf);
    CHECK(buf[0] == 0xF0 && buf[2] == 0x18);
    CHECK(contains(buf, n, "\x16\x00\x04" "more", 7));
    send_auth(peer, 0x00, "");
    STEP_UNTIL(a.count == 3, (void)emq_client_poll(client, 20), 5000);
    CHECK(a.reasons[2] == 0x00);
    CHECK(emq_client_is_connected(client));
    printf("v5 AUTH: re-authentication ended with 0x%02X (%s)\n", a.reasons[2],
           emq_reason_str(a.reasons[2]));

    close(peer);
    close(listener);
    CHECK_OK(test_client_free(client));
    rec_free(&a.r);
    return 0;
}
