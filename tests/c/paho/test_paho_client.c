/*
 * A full Paho-style client session against mosquitto, through the compat
 * headers and the Linux port: connect (CONNACK code and session present),
 * subscribe (granted QoS), 50 messages at each QoS published to ourselves
 * and received in order by a handler, wildcard handlers (`+`, `#`, and
 * `a/#` matching `a`), several local handlers for one message, the
 * default handler, unsubscribe, packet ids, and a reconnect that resumes
 * the session (cleansession 0) and one that does not (cleansession 1).
 */
#include "MQTTClient.h"
#include "paho_harness.h"

#define PER_QOS 50

static char base[96];
static char t_msgs[128], t_q[3][128], t_w[128], t_w_deep[128], t_w_x[128], t_plus[128], t_dflt[128];
static char f_msgs[128], f_hash[128], f_plus[128], f_local[128];

static int received[3];
static int wrong;
static int hash_hits, plus_hits, local_hits, default_hits;
static char last_default_topic[128];

static int topic_is(MessageData* md, const char* want)
{
    MQTTString* t = md->topicName;
    return t->cstring == NULL && t->lenstring.len == (int)strlen(want)
           && memcmp(t->lenstring.data, want, strlen(want)) == 0;
}

static void on_msg(MessageData* md)
{
    char want[32];
    int q;
    for (q = 0; q < 3; q++) {
        if (topic_is(md, t_q[q])) {
            break;
        }
    }
    if (q == 3) {
        wrong++;
        return;
    }
    snprintf(want, sizeof want, "q%d-%d", q, received[q]);
    if ((int)md->message->qos != q || md->message->payloadlen != strlen(want)
        || memcmp(md->message->payload, want, strlen(want)) != 0 || md->message->retained
        || (q == 0 && md->message->id != 0) || (q > 0 && md->message->id == 0)) {
        fprintf(stderr, "unexpected message on %s: %.*s\n", t_q[q], (int)md->message->payloadlen,
                (char*)md->message->payload);
        wrong++;
    }
    received[q]++;
}

static void on_hash(MessageData* md)
{
    (void)md;
    hash_hits++;
}

static void on_plus(MessageData* md)
{
    plus_hits += topic_is(md, t_plus) ? 1 : 100;
}

static void on_local(MessageData* md)
{
    local_hits += topic_is(md, t_w_x) ? 1 : 100;
}

static void on_default(MessageData* md)
{
    int n = md->topicName->lenstring.len < 127 ? md->topicName->lenstring.len : 127;
    memcpy(last_default_topic, md->topicName->lenstring.data, (size_t)n);
    last_default_topic[n] = '\0';
    default_hits++;
}

/* Yields until `cond` or 5 s. */
#define YIELD_UNTIL(c, cond)                                                \
    do {                                                                    \
        uint64_t deadline_ = test_now_ms() + 5000;                          \
        while (!(cond)) {                                                   \
            CHECK(test_now_ms() < deadline_);                               \
            CHECK_EQ(MQTTYield((c), 20), SUCCESS);                          \
        }                                                                   \
    } while (0)

static int publish(MQTTClient* c, const char* topic, int qos, const char* text)
{
    MQTTMessage m;
    memset(&m, 0, sizeof m);
    m.qos = (enum QoS)qos;
    m.payload = (void*)text;
    m.payloadlen = strlen(text);
    m.id = 0;
    return MQTTPublish(c, topic, &m);
}

static int free_slots(MQTTClient* c)
{
    int i, n = 0;
    for (i = 0; i < MAX_MESSAGE_HANDLERS; i++) {
        n += c->messageHandlers[i].topicFilter == NULL;
    }
    return n;
}

int main(void)
{
    Network n;
    MQTTClient c;
    static unsigned char sendbuf[1024], readbuf[1024];
    char id[64];
    MQTTSubackData sub;
    MQTTMessage m;
    int i, q, rc;
    unsigned int ids_before;

    snprintf(base, sizeof base, "embermq/paho/%ld", (long)getpid());
    snprintf(f_msgs, sizeof f_msgs, "%s/msgs/+", base);
    for (q = 0; q < 3; q++) snprintf(t_q[q], sizeof t_q[q], "%s/msgs/q%d", base, q);
    snprintf(t_msgs, sizeof t_msgs, "%s/msgs", base);
    snprintf(f_hash, sizeof f_hash, "%s/w/#", base);
    snprintf(t_w, sizeof t_w, "%s/w", base);
    snprintf(t_w_deep, sizeof t_w_deep, "%s/w/x/y", base);
    snprintf(t_w_x, sizeof t_w_x, "%s/w/x", base);
    snprintf(f_local, sizeof f_local, "%s/w/+", base);
    snprintf(f_plus, sizeof f_plus, "%s/+/plus", base);
    snprintf(t_plus, sizeof t_plus, "%s/p/plus", base);
    snprintf(t_dflt, sizeof t_dflt, "%s/d/x", base);
    test_unique(id, sizeof id, "paho-client");

    NetworkInit(&n);
    MQTTClientInit(&c, &n, 5000, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
    CHECK(c.next_packetid == 1 && c.isconnected == 0 && c.ipstack == &n);
    CHECK(free_slots(&c) == MAX_MESSAGE_HANDLERS);
    /* Not connected: refused at once, nothing sent, no id used. */
    CHECK_EQ(publish(&c, t_q[1], 1, "x"), FAILURE);
    CHECK_EQ(MQTTSubscribe(&c, f_msgs, QOS1, on_msg), FAILURE);
    CHECK(c.next_packetid == 1);

    connect_client(&c, &n, id, 0, 0);
    CHECK_EQ(MQTTConnect(&c, NULL), FAILURE); /* already connected */

    /* SUBACK granted QoS; the first packet id handed out is 2. */
    sub.grantedQoS = QOS0;
    CHECK_EQ(MQTTSubscribeWithResults(&c, f_msgs, QOS2, on_msg, &sub), SUCCESS);
    CHECK(sub.grantedQoS == QOS2 && c.next_packetid == 2);
    CHECK(c.messageHandlers[0].topicFilter == f_msgs && c.messageHandlers[0].fp == on_msg);

    /* 50 messages at each QoS, to ourselves. */
    for (q = 0; q < 3; q++) {
        for (i = 0; i < PER_QOS; i++) {
            char text[32];
            memset(&m, 0, sizeof m);
            snprintf(text, sizeof text, "q%d-%d", q, i);
            m.qos = (enum QoS)q;
            m.payload = text;
            m.payloadlen = strlen(text);
            m.id = 7;
            ids_before = c.next_packetid;
            CHECK_EQ(MQTTPublish(&c, t_q[q], &m), SUCCESS);
            if (q == 0) {
                CHECK(m.id == 7 && c.next_packetid == ids_before);
            } else {
                CHECK(m.id == ids_before + 1 && c.next_packetid == ids_before + 1);
            }
            if (i % 10 == 9) {
                CHECK_EQ(MQTTYield(&c, 1), SUCCESS);
            }
        }
        YIELD_UNTIL(&c, received[q] == PER_QOS);
    }
    CHECK_EQ(MQTTYield(&c, 100), SUCCESS);
    CHECK(received[0] == PER_QOS && received[1] == PER_QOS && received[2] == PER_QOS && wrong == 0);

    /* Wildcards: `#` (with `a/#` matching `a` itself) and `+`. */
    CHECK_EQ(MQTTSubscribeWithResults(&c, f_hash, QOS1, on_hash, &sub), SUCCESS);
    CHECK(sub.grantedQoS == QOS1);
    CHECK_EQ(MQTTSubscribeWithResults(&c, f_plus, QOS0, on_plus, &sub), SUCCESS);
    CHECK(sub.grantedQoS == QOS0);
    CHECK_EQ(publish(&c, t_w, 1, "parent"), SUCCESS);
    YIELD_UNTIL(&c, hash_hits == 1);
    CHECK_EQ(publish(&c, t_w_deep, 1, "deep"), SUCCESS);
    YIELD_UNTIL(&c, hash_hits == 2);
    CHECK_EQ(publish(&c, t_plus, 0, "plus"), SUCCESS);
    YIELD_UNTIL(&c, plus_hits == 1);
    /* Every matching slot runs: a local-only handler beside the `#` one. */
    CHECK_EQ(MQTTSetMessageHandler(&c, f_local, on_local), SUCCESS);
    CHECK_EQ(publish(&c, t_w_x, 2, "both"), SUCCESS);
    YIELD_UNTIL(&c, hash_hits == 3 && local_hits == 1);
    CHECK_EQ(MQTTSetMessageHandler(&c, f_local, NULL), SUCCESS);
    CHECK_EQ(MQTTSetMessageHandler(&c, f_local, NULL), FAILURE); /* no such slot */

    /* The default handler takes what no slot matches. */
    c.defaultMessageHandler = on_default;
    CHECK_EQ(MQTTSubscribe(&c, t_dflt, QOS1, NULL), SUCCESS); /* no handler: default */
    CHECK_EQ(publish(&c, t_dflt, 1, "dflt"), SUCCESS);
    YIELD_UNTIL(&c, default_hits == 1);
    CHECK(strcmp(last_default_topic, t_dflt) == 0);
    CHECK(hash_hits == 3 && plus_hits == 1 && local_hits == 1);

    /* Unsubscribe removes the slot; the broker stops sending. */
    CHECK(free_slots(&c) == MAX_MESSAGE_HANDLERS - 3);
    CHECK_EQ(MQTTUnsubscribe(&c, f_hash), SUCCESS);
    CHECK(free_slots(&c) == MAX_MESSAGE_HANDLERS - 2);
    CHECK_EQ(publish(&c, t_w, 1, "gone"), SUCCESS);
    CHECK_EQ(MQTTYield(&c, 300), SUCCESS);
    CHECK(hash_hits == 3 && default_hits == 1);

    /* Reconnect with cleansession 0: the broker resumes the session and the
     * handler table survives the close; packet ids go on. */
    ids_before = c.next_packetid;
    CHECK_EQ(MQTTDisconnect(&c), SUCCESS);
    CHECK(MQTTIsConnected(&c) == 0 && free_slots(&c) == MAX_MESSAGE_HANDLERS - 2);
    NetworkDisconnect(&n);
    connect_client(&c, &n, id, 0, 1);
    CHECK(c.next_packetid == ids_before);
    CHECK_EQ(publish(&c, t_q[1], 1, "q1-50"), SUCCESS);
    YIELD_UNTIL(&c, received[1] == PER_QOS + 1);
    CHECK(wrong == 0);

    /* Reconnect with cleansession 1: no session; the close clears handlers. */
    CHECK_EQ(MQTTDisconnect(&c), SUCCESS);
    NetworkDisconnect(&n);
    connect_client(&c, &n, id, 1, 0);
    CHECK_EQ(MQTTDisconnect(&c), SUCCESS);
    CHECK(free_slots(&c) == MAX_MESSAGE_HANDLERS);
    rc = MQTTYield(&c, 50); /* not connected: reads the closed socket */
    CHECK(rc == SUCCESS || rc == FAILURE);
    NetworkDisconnect(&n);

    printf("paho client: %d messages at each QoS, wildcards, default handler, unsubscribe, "
           "session resumed on reconnect\n", PER_QOS);
    return 0;
}
