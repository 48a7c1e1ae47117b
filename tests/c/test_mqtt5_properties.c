/* MQTT 5 properties and the v5 calls through the C API, against mosquitto
 * and a scripted peer:
 * - the CONNACK's properties in on_connect (an assigned client identifier
 *   for an empty client id);
 * - emq_client_publish_v5 with every PUBLISH property a client sends, read
 *   back on the subscriber in on_message through
 *   emq_client_received_properties, in order, with the subscription
 *   identifier emq_client_subscribe_v5 asked for;
 * - subscription options: No Local, Retain Handling 2 and 0;
 * - emq_client_unsubscribe_v5: the UNSUBACK's codes in on_unsuback;
 * - bad properties and arguments: each a named error, nothing sent, the
 *   client still usable;
 * - emq_client_disconnect_v5: a reason a client may not send is refused,
 *   0x04 makes the broker publish the will, with its Will Properties;
 * - scripted peer: the CONNECT carries the connect and will properties; a
 *   PUBACK refusing with 0x87 and a reason string reaches
 *   on_publish_failed with it; a DISCONNECT 0x9C with a server reference
 *   reaches on_disconnect with it. */
#include "harness.h"
#include "net_util.h"
#include "v5_util.h"

#define MAX_PROPS 16

typedef struct seen_property {
    uint8_t id;
    uint32_t number;
    char data[96];
    char value[96];
    size_t data_len;
} seen_property;

/* What the v5 callbacks saw (rec first: the rec callbacks take it too). */
typedef struct v5rec {
    rec r;
    seen_property props[MAX_PROPS];
    int prop_count;
    int prop_events;
    uint8_t unsuback[8];
    size_t unsuback_count;
    int unsubacks;
    uint16_t failed_id;
    uint8_t failed_code;
} v5rec;

/* Copies the properties of the packet whose callback runs. */
static void capture(v5rec *v, emq_client *c)
{
    emq_properties props;
    emq_property p;
    size_t cursor = 0;
    CHECK_OK(emq_client_received_properties(c, &props));
    v->prop_count = 0;
    v->prop_events++;
    while (emq_properties_next(&props, &cursor, &p)) {
        seen_property *s;
        CHECK(v->prop_count < MAX_PROPS);
        s = &v->props[v->prop_count++];
        memset(s, 0, sizeof *s);
        s->id = p.id;
        s->number = p.number;
        CHECK(p.data_len < sizeof s->data && p.value_len < sizeof s->value);
        if (p.data_len > 0) {
            memcpy(s->data, p.data, p.data_len);
        }
        if (p.value_len > 0) {
            memcpy(s->value, p.value, p.value_len);
        }
        s->data_len = p.data_len;
    }
    CHECK(cursor == props.len);
}

static const seen_property *find_prop(const v5rec *v, uint8_t id, int nth)
{
    int i;
    for (i = 0; i < v->prop_count; i++) {
        if (v->props[i].id == id && nth-- == 0) {
            return &v->props[i];
        }
    }
    return NULL;
}

static void on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    capture(ud, c);
    rec_on_connect(ud, c, session_present, code);
}

static void on_message(void *ud, emq_client *c, const emq_message *m)
{
    capture(ud, c);
    rec_on_message(ud, c, m);
}

static void on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    capture(ud, c);
    rec_on_disconnect(ud, c, reason);
}

static void on_unsuback(void *ud, emq_client *c, uint16_t id, const uint8_t *codes, size_t count)
{
    v5rec *v = ud;
    (void)c;
    CHECK(count <= sizeof v->unsuback);
    CHECK(v->r.unsubscribed_count == v->unsubacks); /* before on_unsubscribed */
    memcpy(v->unsuback, codes, count);
    v->unsuback_count = count;
    v->unsubacks++;
    (void)id;
}

static void on_publish_failed(void *ud, emq_client *c, uint16_t id, uint8_t code)
{
    v5rec *v = ud;
    capture(v, c);
    v->failed_id = id;
    v->failed_code = code;
}

static emq_client *client_v5(v5rec *v, emq_options *o)
{
    emq_client *client;
    emq_callbacks cb = rec_callbacks();
    memset(v, 0, sizeof *v);
    o->protocol_level = 5;
    client = test_client(o, &v->r);
    cb.on_connect = on_connect;
    cb.on_message = on_message;
    cb.on_disconnect = on_disconnect;
    cb.on_unsuback = on_unsuback;
    cb.on_publish_failed = on_publish_failed;
    CHECK_OK(emq_client_set_callbacks(client, &cb, v));
    return client;
}

/* Kept for the client's life (firmware keeps the arrays, not copies). */
static emq_property connect_props[2];
static emq_property will_props[2];

static void check_refusals(emq_client *c, void *user_data, const char *topic)
{
    int disconnects;
    static const uint8_t p[] = "x";
    emq_property bad[2];
    emq_subscription_v5 sub;
    uint16_t id = 0xFFFF;

    bad[0] = number_prop(0x05, 1); /* no such property */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 1, false, bad, 1, &id), EMQ_ERR_INVALID_PROPERTY);
    CHECK(id == 0);
    bad[0] = number_prop(EMQ_PROP_SESSION_EXPIRY_INTERVAL, 10); /* not in PUBLISH */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 1, false, bad, 1, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = text_prop(EMQ_PROP_CONTENT_TYPE, "a");
    bad[1] = text_prop(EMQ_PROP_CONTENT_TYPE, "b"); /* twice */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 2, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = number_prop(EMQ_PROP_PAYLOAD_FORMAT_INDICATOR, 2); /* 0 or 1 */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = number_prop(EMQ_PROP_TOPIC_ALIAS, 0); /* aliases start at 1 */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = number_prop(EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 3); /* the server's to send */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = text_prop(EMQ_PROP_CONTENT_TYPE, "\xff");
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_INVALID_UTF8);
    bad[0] = text_prop(EMQ_PROP_RESPONSE_TOPIC, "a/+"); /* a topic name */
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = text_prop(EMQ_PROP_CONTENT_TYPE, "abc");
    bad[0].data = NULL;
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, bad, 1, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_publish_v5(c, topic, p, 1, 0, false, NULL, 1, NULL), EMQ_ERR_NULL_POINTER);

    memset(&sub, 0, sizeof sub);
    sub.filter = topic;
    sub.retain_handling = 3;
    CHECK_ERR(emq_client_subscribe_v5(c, &sub, 1, NULL, 0, &id), EMQ_ERR_INVALID_ARGUMENT);
    sub.retain_handling = 0;
    bad[0] = number_prop(EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 0); /* 1.. */
    CHECK_ERR(emq_client_subscribe_v5(c, &sub, 1, bad, 1, &id), EMQ_ERR_INVALID_PROPERTY);
    bad[0] = text_prop(EMQ_PROP_CONTENT_TYPE, "x"); /* not in UNSUBSCRIBE */
    CHECK_ERR(emq_client_unsubscribe_v5(c, &topic, 1, bad, 1, &id), EMQ_ERR_INVALID_PROPERTY);
    /* 0x87 is the server's; a client's DISCONNECT may not carry it. A
     * refused DISCONNECT keeps the connection: no on_disconnect. */
    disconnects = ((v5rec *)user_data)->r.disconnects;
    CHECK_ERR(emq_client_disconnect_v5(c, 0x87, NULL, 0), EMQ_ERR_INVALID_ARGUMENT);
    bad[0] = text_prop(EMQ_PROP_REASON_STRING, "\xff");
    CHECK_ERR(emq_client_disconnect_v5(c, 0, bad, 1), EMQ_ERR_INVALID_UTF8);
    /* [MQTT-3.14.2-2]: no session expiry after a CONNECT that set 0. */
    bad[0] = number_prop(EMQ_PROP_SESSION_EXPIRY_INTERVAL, 30);
    CHECK_ERR(emq_client_disconnect_v5(c, 0, bad, 1), EMQ_ERR_INVALID_PROPERTY);
    CHECK(emq_client_is_connected(c));
    CHECK(((v5rec *)user_data)->r.disconnects == disconnects);
}

/* Resubscribing after a reconnect (clean session) keeps an MQTT 5
 * subscription's No Local and Subscription Identifier. */
static void check_resubscribe(const char *base)
{
    v5rec rr, pr;
    emq_options o;
    emq_client *c, *other;
    emq_subscription_v5 s;
    emq_property p;
    char id[64], other_id[64], topic[160];
    const seen_property *sp;
    uint16_t pid = 0;

    snprintf(topic, sizeof topic, "%s/resub", base);
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-v5p-resub");
    o.clean_session = true;
    o.auto_reconnect = true;
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 200;
    o.resubscribe = true;
    c = client_v5(&rr, &o);
    test_connect(c, &rr.r);
    memset(&s, 0, sizeof s);
    s.filter = topic;
    s.qos = 1;
    s.no_local = true;
    p = number_prop(EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 42);
    CHECK_OK(emq_client_subscribe_v5(c, &s, 1, &p, 1, &pid));
    CHECK_OK(emq_client_wait(c, pid, 5000));
    if (!test_client_cut(c)) {
        /* Hosts: a takeover by the same client id cuts it instead. */
        emq_client *kicker = NULL;
        emq_options k;
        CHECK_OK(emq_options_default(&k));
        k.client_id = id;
        CHECK_OK(test_client_new(&k, &kicker));
        CHECK_OK(emq_client_connect(kicker, test_host(), test_port()));
        CHECK_OK(emq_client_disconnect(kicker));
        CHECK_OK(test_client_free(kicker));
    }
    POLL_UNTIL(c, rr.r.connects == 2 && rr.r.subscribed_count == 2, 10000);
    CHECK(rr.r.granted_count == 1 && rr.r.granted[0] == 1);
    /* Its own publish stays away; another client's comes with id 42. */
    CHECK_OK(emq_client_publish_v5(c, topic, (const uint8_t *)"self", 4, 1, false, NULL, 0, &pid));
    CHECK_OK(emq_client_wait(c, pid, 5000));
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(other_id, sizeof other_id, "emq-v5p-resub-pub");
    other = client_v5(&pr, &o);
    test_connect(other, &pr.r);
    CHECK_OK(emq_client_publish_v5(other, topic, (const uint8_t *)"other", 5, 1, false, NULL, 0,
                                   &pid));
    CHECK_OK(emq_client_wait(other, pid, 5000));
    POLL_UNTIL(c, rr.r.message_count >= 1, 5000);
    test_poll_for(c, 200);
    CHECK(rr.r.message_count == 1);
    CHECK(rr.r.messages[0].payload_len == 5 && memcmp(rr.r.messages[0].payload, "other", 5) == 0);
    CHECK((sp = find_prop(&rr, EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 0)) && sp->number == 42);
    printf("v5 resubscribe after a cut: No Local and subscription id 42 kept\n");
    CHECK_OK(emq_client_disconnect(other));
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(other));
    CHECK_OK(test_client_free(c));
    rec_free(&rr.r);
    rec_free(&pr.r);
}

int main(void)
{
    v5rec pub, sub, peer_rec;
    emq_options o;
    emq_client *publisher, *subscriber, *scripted;
    char id[64], base[128], filter[160], topic[160], nl[160], ret[160], will[160];
    static const uint8_t payload[] = "{\"t\":21.5}";
    emq_property props[8];
    emq_subscription_v5 subs[1];
    const char *unsub[2];
    const seen_property *s;
    uint16_t packet_id = 0;
    uint8_t buf[1024];
    int listener, peer, i, got;
    uint16_t peer_port = 0;

    /* Reason-code texts. */
    CHECK(strcmp(emq_reason_str(0x87), "not authorized") == 0);
    CHECK(strcmp(emq_reason_str(0x00), "success") == 0);
    CHECK(strcmp(emq_reason_str(0x03), "unknown reason code") == 0);
    CHECK(strcmp(emq_err_str(EMQ_ERR_INVALID_PROPERTY), "unknown error") != 0);

    snprintf(base, sizeof base, "embermq/test/v5props/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", base);
    snprintf(topic, sizeof topic, "%s/data", base);

    /* Subscriber: an empty client id, so the CONNACK assigns one. */
    CHECK_OK(emq_options_default(&o));
    o.client_id = "";
    subscriber = client_v5(&sub, &o);
    test_connect(subscriber, &sub.r);
    s = find_prop(&sub, EMQ_PROP_ASSIGNED_CLIENT_IDENTIFIER, 0);
    CHECK(s != NULL && s->data_len > 0);
    printf("v5 CONNACK: assigned client id %s, %d properties\n", s->data, sub.prop_count);

    /* Subscription Identifier 7 on the whole tree. */
    memset(subs, 0, sizeof subs);
    subs[0].filter = filter;
    subs[0].qos = 1;
    props[0] = number_prop(EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 7);
    props[1] = user_prop("why", "test");
    CHECK_OK(emq_client_subscribe_v5(subscriber, subs, 1, props, 2, &packet_id));
    CHECK(packet_id != 0);
    CHECK_OK(emq_client_wait(subscriber, packet_id, 5000));
    CHECK(sub.r.granted_count == 1 && sub.r.granted[0] == 1);

    /* Publisher: every PUBLISH property a client sends. */
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-v5p-pub");
    publisher = client_v5(&pub, &o);
    test_connect(publisher, &pub.r);
    i = 0;
    props[i++] = number_prop(EMQ_PROP_PAYLOAD_FORMAT_INDICATOR, 1);
    props[i++] = number_prop(EMQ_PROP_MESSAGE_EXPIRY_INTERVAL, 3600);
    props[i++] = text_prop(EMQ_PROP_CONTENT_TYPE, "application/json");
    props[i++] = text_prop(EMQ_PROP_RESPONSE_TOPIC, "replies/here");
    props[i] = text_prop(EMQ_PROP_CORRELATION_DATA, "req");
    props[i++].data_len = 4; /* binary: with its NUL */
    props[i++] = user_prop("k1", "v1");
    props[i++] = user_prop("k2", "v2");
    props[i++] = user_prop("k1", "again");
    CHECK_OK(emq_client_publish_v5(publisher, topic, payload, sizeof payload - 1, 1, false, props,
                                   (size_t)i, &packet_id));
    CHECK(packet_id != 0);
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    POLL_UNTIL(subscriber, rec_find(&sub.r, topic) != NULL, 5000);
    CHECK((s = find_prop(&sub, EMQ_PROP_PAYLOAD_FORMAT_INDICATOR, 0)) && s->number == 1);
    CHECK((s = find_prop(&sub, EMQ_PROP_MESSAGE_EXPIRY_INTERVAL, 0)) && s->number <= 3600 &&
          s->number >= 3590);
    CHECK((s = find_prop(&sub, EMQ_PROP_CONTENT_TYPE, 0)) && !strcmp(s->data, "application/json"));
    CHECK((s = find_prop(&sub, EMQ_PROP_RESPONSE_TOPIC, 0)) && !strcmp(s->data, "replies/here"));
    CHECK((s = find_prop(&sub, EMQ_PROP_CORRELATION_DATA, 0)) && s->data_len == 4 &&
          !memcmp(s->data, "req", 4));
    CHECK((s = find_prop(&sub, EMQ_PROP_USER_PROPERTY, 0)) && !strcmp(s->data, "k1") &&
          !strcmp(s->value, "v1"));
    CHECK((s = find_prop(&sub, EMQ_PROP_USER_PROPERTY, 1)) && !strcmp(s->data, "k2") &&
          !strcmp(s->value, "v2"));
    CHECK((s = find_prop(&sub, EMQ_PROP_USER_PROPERTY, 2)) && !strcmp(s->data, "k1") &&
          !strcmp(s->value, "again"));
    CHECK((s = find_prop(&sub, EMQ_PROP_SUBSCRIPTION_IDENTIFIER, 0)) && s->number == 7);
    printf("v5 PUBLISH: %d properties round trip, subscription id 7\n", sub.prop_count);
    {
        /* emq_properties_get finds the first of an id. */
        emq_properties none = {NULL, 0};
        emq_property p;
        CHECK(!emq_properties_get(&none, EMQ_PROP_CONTENT_TYPE, &p));
        CHECK(!emq_properties_next(NULL, NULL, &p));
    }

    /* Outside a callback there are none. */
    {
        emq_properties outside;
        CHECK_OK(emq_client_received_properties(subscriber, &outside));
        CHECK(outside.len == 0);
        CHECK_ERR(emq_client_received_properties(subscriber, NULL), EMQ_ERR_NULL_POINTER);
    }

    check_refusals(publisher, &pub, topic);
    check_resubscribe(base);
    /* Still usable: a plain v5 publish goes through. */
    CHECK_OK(emq_client_publish_v5(publisher, topic, payload, 1, 1, false, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));

    /* No Local: the publisher's own subscription skips its publishes. */
    snprintf(nl, sizeof nl, "%s/nl", base);
    subs[0].filter = nl;
    subs[0].qos = 1;
    subs[0].no_local = true;
    CHECK_OK(emq_client_subscribe_v5(publisher, subs, 1, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    CHECK_OK(emq_client_publish_v5(publisher, nl, payload, 1, 1, false, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    POLL_UNTIL(subscriber, rec_find(&sub.r, nl) != NULL, 5000);
    test_poll_for(publisher, 300);
    CHECK(rec_find(&pub.r, nl) == NULL);
    /* Without No Local it comes back. (Subscribing the same filter again
     * left No Local in force on mosquitto 2.0.11, so unsubscribe first.) */
    CHECK_OK(emq_client_unsubscribe_v5(publisher, (const char *const *)&subs[0].filter, 1, NULL,
                                       0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    subs[0].no_local = false;
    CHECK_OK(emq_client_subscribe_v5(publisher, subs, 1, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    CHECK_OK(emq_client_publish_v5(publisher, nl, payload, 1, 1, false, NULL, 0, &packet_id));
    POLL_UNTIL(publisher, rec_find(&pub.r, nl) != NULL, 5000);
    printf("v5 no local: own publish skipped, then delivered without it\n");

    /* Retain Handling 2: no retained message at subscribe; 0: sent. */
    snprintf(ret, sizeof ret, "%s/ret", base);
    CHECK_OK(emq_client_publish_v5(publisher, ret, payload, 2, 1, true, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    subs[0].filter = ret;
    subs[0].retain_handling = 2;
    subs[0].qos = 0;
    {
        emq_client *third;
        v5rec third_rec;
        CHECK_OK(emq_options_default(&o));
        o.client_id = test_unique(id, sizeof id, "emq-v5p-ret");
        third = client_v5(&third_rec, &o);
        test_connect(third, &third_rec.r);
        CHECK_OK(emq_client_subscribe_v5(third, subs, 1, NULL, 0, &packet_id));
        CHECK_OK(emq_client_wait(third, packet_id, 5000));
        test_poll_for(third, 300);
        CHECK(rec_find(&third_rec.r, ret) == NULL);
        subs[0].retain_handling = 0;
        CHECK_OK(emq_client_subscribe_v5(third, subs, 1, NULL, 0, &packet_id));
        POLL_UNTIL(third, rec_find(&third_rec.r, ret) != NULL, 5000);
        CHECK(rec_find(&third_rec.r, ret)->retain);
        CHECK_OK(emq_client_disconnect(third));
        CHECK_OK(test_client_free(third));
        rec_free(&third_rec.r);
    }
    /* Clear the retained message. */
    CHECK_OK(emq_client_publish_v5(publisher, ret, NULL, 0, 1, true, NULL, 0, &packet_id));
    CHECK_OK(emq_client_wait(publisher, packet_id, 5000));
    printf("v5 retain handling: 2 held the retained message back, 0 sent it\n");

    /* UNSUBACK codes: 0x00 for the subscription, 0x11 for none. */
    unsub[0] = filter;
    unsub[1] = "never/subscribed";
    props[0] = user_prop("bye", "now");
    CHECK_OK(emq_client_unsubscribe_v5(subscriber, unsub, 2, props, 1, &packet_id));
    POLL_UNTIL(subscriber, sub.r.unsubscribed_count == 1, 5000);
    CHECK(sub.unsubacks == 1 && sub.unsuback_count == 2);
    CHECK(sub.unsuback[0] == 0x00 && sub.unsuback[1] == 0x11);
    printf("v5 UNSUBACK: codes 0x%02X 0x%02X\n", sub.unsuback[0], sub.unsuback[1]);

    /* Outgoing topic aliases through mosquitto (its maximum is 10): the
     * subscriber sees every topic whole. */
    test_subscribe(subscriber, &sub.r, filter, 0);
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-v5p-alias");
    o.topic_alias_outgoing = 2;
    o.topic_alias_length = 64;
    {
        emq_client *aliaser;
        v5rec alias_rec;
        char t[3][160];
        int before = sub.r.message_count, n;
        aliaser = client_v5(&alias_rec, &o);
        test_connect(aliaser, &alias_rec.r);
        for (n = 0; n < 3; n++) {
            snprintf(t[n], sizeof t[n], "%s/alias/%d", base, n);
        }
        for (n = 0; n < 6; n++) {
            CHECK_OK(emq_client_publish_v5(aliaser, t[n % 3], payload, 1, 0, false, NULL, 0, NULL));
        }
        POLL_UNTIL(subscriber, sub.r.message_count == before + 6, 5000);
        for (n = 0; n < 6; n++) {
            CHECK(strcmp(sub.r.messages[before + n].topic, t[n % 3]) == 0);
        }
        CHECK_OK(emq_client_disconnect(aliaser));
        CHECK_OK(test_client_free(aliaser));
        rec_free(&alias_rec.r);
        printf("v5 outgoing topic aliases: 6 publishes on 3 topics arrived whole\n");
    }
    {
        /* Aliases need a length, and must leave the receive buffer 64 bytes. */
        emq_client *none = NULL;
        o.topic_alias_length = 0;
        CHECK_ERR(test_client_new(&o, &none), EMQ_ERR_INVALID_ARGUMENT);
        o.topic_alias_length = 1000;
        o.topic_alias_maximum = 1000;
        CHECK_ERR(test_client_new(&o, &none), EMQ_ERR_INVALID_ARGUMENT);
    }
    unsub[0] = filter;
    CHECK_OK(emq_client_unsubscribe(subscriber, filter, &packet_id));
    CHECK_OK(emq_client_wait(subscriber, packet_id, 5000));

    /* A will with properties, published on DISCONNECT 0x04. */
    snprintf(will, sizeof will, "%s/will", base);
    test_subscribe(subscriber, &sub.r, will, 1);
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-v5p-will");
    o.will_topic = will;
    o.will_payload = payload;
    o.will_payload_len = 3;
    will_props[0] = user_prop("state", "gone");
    will_props[1] = text_prop(EMQ_PROP_CONTENT_TYPE, "text/plain");
    o.will_properties = will_props;
    o.will_property_count = 2;
    connect_props[0] = user_prop("fw", "1.2.3");
    connect_props[1] = number_prop(EMQ_PROP_REQUEST_PROBLEM_INFORMATION, 1);
    o.connect_properties = connect_props;
    o.connect_property_count = 2;
    {
        emq_client *leaver;
        v5rec leaver_rec;
        leaver = client_v5(&leaver_rec, &o);
        test_connect(leaver, &leaver_rec.r);
        props[0] = text_prop(EMQ_PROP_REASON_STRING, "going away");
        CHECK_OK(emq_client_disconnect_v5(leaver, 0x04, props, 1));
        CHECK(!emq_client_is_connected(leaver));
        CHECK(leaver_rec.r.disconnect_reason == EMQ_OK);
        POLL_UNTIL(subscriber, rec_find(&sub.r, will) != NULL, 5000);
        CHECK((s = find_prop(&sub, EMQ_PROP_USER_PROPERTY, 0)) && !strcmp(s->data, "state") &&
              !strcmp(s->value, "gone"));
        CHECK((s = find_prop(&sub, EMQ_PROP_CONTENT_TYPE, 0)) && !strcmp(s->data, "text/plain"));
        printf("v5 DISCONNECT 0x04: the will came with its properties\n");
        CHECK_OK(test_client_free(leaver));
        rec_free(&leaver_rec.r);
    }
    /* A bad connect property is refused when the client is made. */
    connect_props[1] = number_prop(EMQ_PROP_TOPIC_ALIAS, 1); /* not in CONNECT */
    {
        emq_client *none = NULL;
        CHECK_ERR(test_client_new(&o, &none), EMQ_ERR_INVALID_PROPERTY);
    }
    connect_props[1] = number_prop(EMQ_PROP_REQUEST_PROBLEM_INFORMATION, 1);

    /* Scripted peer: what the CONNECT carries; a refused PUBLISH; the
     * server's DISCONNECT with a server reference. */
    listener = test_listen_on(0, 4, &peer_port);
    CHECK(listener >= 0);
    o.client_id = test_unique(id, sizeof id, "emq-v5p-peer");
    o.topic_alias_maximum = 2;
    o.topic_alias_length = 32;
    scripted = client_v5(&peer_rec, &o);
    CHECK_OK(emq_client_connect_start(scripted, "127.0.0.1", peer_port));
    peer = test_accept(listener, 5000);
    CHECK(peer >= 0);
    got = test_read_some(peer, buf, sizeof buf, 5000);
    CHECK(got > 10 && buf[0] == 0x10);
    CHECK(contains(buf, (size_t)got, "\x26\x00\x02" "fw\x00\x05" "1.2.3", 12));
    CHECK(contains(buf, (size_t)got, "\x17\x01", 2));
    CHECK(contains(buf, (size_t)got, "\x26\x00\x05state\x00\x04gone", 14));
    CHECK(contains(buf, (size_t)got, "\x03\x00\x0atext/plain", 13));
    CHECK(contains(buf, (size_t)got, "\x22\x00\x02", 3)); /* Topic Alias Maximum 2 */
    {
        /* CONNACK with a reason string. */
        static const uint8_t connack[] = {0x20, 9, 0, 0, 6, 0x1F, 0, 3, 'h', 'i', '!'};
        CHECK(send(peer, connack, sizeof connack, 0) == (ssize_t)sizeof connack);
    }
    STEP_UNTIL(peer_rec.r.connects == 1, (void)emq_client_poll(scripted, 20), 5000);
    CHECK((s = find_prop(&peer_rec, EMQ_PROP_REASON_STRING, 0)) && !strcmp(s->data, "hi!"));
    {
        /* The broker's aliases: "t/a" as alias 1, then alias 1 alone. */
        static const uint8_t aliased[] = {0x30, 10, 0, 3, 't', '/', 'a', 3, 0x23, 0, 1, '1',
                                          0x30, 7, 0, 0, 3, 0x23, 0, 1, '2'};
        CHECK(send(peer, aliased, sizeof aliased, 0) == (ssize_t)sizeof aliased);
    }
    STEP_UNTIL(peer_rec.r.message_count == 2, (void)emq_client_poll(scripted, 20), 5000);
    CHECK(strcmp(peer_rec.r.messages[0].topic, "t/a") == 0);
    CHECK(strcmp(peer_rec.r.messages[1].topic, "t/a") == 0);
    CHECK(peer_rec.r.messages[1].payload_len == 1 && peer_rec.r.messages[1].payload[0] == '2');
    printf("v5 topic alias from the broker: mapped back to t/a\n");
    CHECK_OK(emq_client_publish_v5(scripted, topic, payload, 1, 1, false, NULL, 0, &packet_id));
    CHECK(test_read_some(peer, buf, sizeof buf, 5000) > 0 && (buf[0] & 0xF0) == 0x30);
    {
        /* PUBACK 0x87 Not authorized, Reason String "no". */
        uint8_t puback[] = {0x40, 9, 0, 0, 0x87, 5, 0x1F, 0, 2, 'n', 'o'};
        puback[2] = (uint8_t)(packet_id >> 8);
        puback[3] = (uint8_t)packet_id;
        CHECK(send(peer, puback, sizeof puback, 0) == (ssize_t)sizeof puback);
    }
    STEP_UNTIL(peer_rec.failed_id != 0, (void)emq_client_poll(scripted, 20), 5000);
    CHECK(peer_rec.failed_id == packet_id && peer_rec.failed_code == 0x87);
    CHECK(!rec_was_published(&peer_rec.r, packet_id));
    CHECK((s = find_prop(&peer_rec, EMQ_PROP_REASON_STRING, 0)) && !strcmp(s->data, "no"));
    printf("v5 PUBACK 0x87: on_publish_failed (%s) with reason string '%s'\n",
           emq_reason_str(peer_rec.failed_code), s->data);
    {
        /* DISCONNECT 0x9C Use another server, Server Reference. */
        static const uint8_t disconnect[] = {0xE0, 15, 0x9C, 13, 0x1C, 0, 10,
                                             'o', 't', 'h', 'e', 'r', ':', '1', '8', '8', '3'};
        CHECK(send(peer, disconnect, sizeof disconnect, 0) == (ssize_t)sizeof disconnect);
    }
    STEP_UNTIL(peer_rec.r.disconnects == 1, (void)emq_client_poll(scripted, 20), 5000);
    CHECK(peer_rec.r.disconnect_reason == EMQ_ERR_SERVER_DISCONNECTED);
    CHECK(emq_client_last_return_code(scripted) == 0x9C);
    CHECK((s = find_prop(&peer_rec, EMQ_PROP_SERVER_REFERENCE, 0)) &&
          !strcmp(s->data, "other:1883"));
    printf("v5 DISCONNECT 0x9C (%s): server reference %s\n", emq_reason_str(0x9C), s->data);
    close(peer);
    close(listener);

    CHECK_OK(emq_client_disconnect(publisher));
    CHECK_OK(emq_client_disconnect(subscriber));
    CHECK_OK(test_client_free(scripted));
    CHECK_OK(test_client_free(publisher));
    CHECK_OK(test_client_free(subscriber));
    rec_free(&pub.r);
    rec_free(&sub.r);
    rec_free(&peer_rec.r);
    return 0;
}
