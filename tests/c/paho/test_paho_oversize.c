/*
 * Oversized messages on a persistent session, through the Paho layer and
 * mosquitto (issue 21, item 2). A Paho client with a 256-byte readbuf and
 * cleansession 0 is sent 25 QoS 1 and 25 QoS 2 messages larger than its
 * readbuf (some with a topic longer than readbuf), then small QoS 1 and
 * QoS 2 messages. Each oversized one is skipped, reported once
 * (MQTTYield returns BUFFER_OVERFLOW) and still acknowledged, so the
 * broker's in-flight window (mosquitto's max_inflight_messages, 20) keeps
 * moving: every small message arrives, in order, on the same connection
 * (0 reconnects). Reconnecting afterwards finds the session and nothing
 * left in it to resend (every message was acknowledged, QoS 2 completed).
 * Without the acks the broker stops after 20 and no small one arrives.
 */
#include "MQTTClient.h"
#include "paho_harness.h"

#define OVERSIZE_PER_QOS 25
#define SMALL_PER_QOS 10
#define BIG_PAYLOAD 1000
#define LONG_TOPIC 400 /* longer than the receiver's readbuf */

static char base[96], filter[128], t_big[128], t_long[LONG_TOPIC + 1], t_small[3][128];

static int small[3];
static int big_delivered, wrong;

static int topic_is(MessageData* md, const char* want)
{
    MQTTString* t = md->topicName;
    return t->lenstring.len == (int)strlen(want) && memcmp(t->lenstring.data, want, strlen(want)) == 0;
}

static void on_message(MessageData* md)
{
    char want[32];
    int q;
    for (q = 1; q < 3; q++) {
        if (topic_is(md, t_small[q])) {
            break;
        }
    }
    if (q == 3) {
        big_delivered++; /* an oversized message must never be delivered */
        return;
    }
    snprintf(want, sizeof want, "small-q%d-%d", q, small[q]);
    if ((int)md->message->qos != q || md->message->payloadlen != strlen(want)
        || memcmp(md->message->payload, want, strlen(want)) != 0) {
        fprintf(stderr, "unexpected message on %s: %.*s\n", t_small[q], (int)md->message->payloadlen,
                (char*)md->message->payload);
        wrong++;
    }
    small[q]++;
}

static void publish(MQTTClient* c, const char* topic, int qos, void* payload, size_t len)
{
    MQTTMessage m;
    memset(&m, 0, sizeof m);
    m.qos = (enum QoS)qos;
    m.payload = payload;
    m.payloadlen = len;
    CHECK_EQ(MQTTPublish(c, topic, &m), SUCCESS);
}

int main(void)
{
    Network rn, pn;
    MQTTClient rx, tx;
    static unsigned char rx_send[256], rx_read[256], tx_send[4096], tx_read[256];
    static unsigned char big[BIG_PAYLOAD];
    char rx_id[64], tx_id[64];
    MQTTSubackData sub;
    int i, q, rc, overflows = 0;
    uint64_t deadline;

    snprintf(base, sizeof base, "embermq/paho-oversize/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", base);
    snprintf(t_big, sizeof t_big, "%s/big", base);
    snprintf(t_long, sizeof t_long, "%s/", base);
    memset(t_long + strlen(t_long), 'L', LONG_TOPIC - strlen(t_long));
    t_long[LONG_TOPIC] = '\0';
    for (q = 1; q < 3; q++) snprintf(t_small[q], sizeof t_small[q], "%s/small/q%d", base, q);
    memset(big, 'B', sizeof big);
    test_unique(rx_id, sizeof rx_id, "paho-oversize-rx");
    test_unique(tx_id, sizeof tx_id, "paho-oversize-tx");

    /* The receiver: small buffers, persistent session. */
    NetworkInit(&rn);
    MQTTClientInit(&rx, &rn, 5000, rx_send, sizeof rx_send, rx_read, sizeof rx_read);
    connect_client(&rx, &rn, rx_id, 0, 0);
    CHECK_EQ(MQTTSubscribeWithResults(&rx, filter, QOS2, on_message, &sub), SUCCESS);
    CHECK(sub.grantedQoS == QOS2);

    /* The publisher: buffers big enough for everything. */
    NetworkInit(&pn);
    MQTTClientInit(&tx, &pn, 5000, tx_send, sizeof tx_send, tx_read, sizeof tx_read);
    connect_client(&tx, &pn, tx_id, 1, 0);
    for (q = 1; q < 3; q++) {
        for (i = 0; i < OVERSIZE_PER_QOS; i++) {
            publish(&tx, i % 5 == 4 ? t_long : t_big, q, big, sizeof big);
        }
    }
    for (q = 1; q < 3; q++) {
        for (i = 0; i < SMALL_PER_QOS; i++) {
            char text[32];
            snprintf(text, sizeof text, "small-q%d-%d", q, i);
            publish(&tx, t_small[q], q, text, strlen(text));
        }
    }

    /* Every small message arrives, on the one connection. */
    deadline = test_now_ms() + 15000;
    while (small[1] < SMALL_PER_QOS || small[2] < SMALL_PER_QOS) {
        if (test_now_ms() >= deadline) {
            fprintf(stderr, "stalled: %d oversized skipped, small QoS 1 %d/%d, QoS 2 %d/%d\n", overflows,
                    small[1], SMALL_PER_QOS, small[2], SMALL_PER_QOS);
            CHECK(!"every small message arrives");
        }
        rc = MQTTYield(&rx, 20);
        if (rc == BUFFER_OVERFLOW) {
            overflows++;
        } else {
            CHECK_EQ(rc, SUCCESS);
        }
        CHECK(MQTTIsConnected(&rx) == 1);
    }
    /* The last PUBREL/PUBCOMP exchanges. */
    for (i = 0; i < 10; i++) {
        rc = MQTTYield(&rx, 20);
        overflows += rc == BUFFER_OVERFLOW;
        CHECK(rc == SUCCESS || rc == BUFFER_OVERFLOW);
    }
    CHECK_EQ(overflows, 2 * OVERSIZE_PER_QOS); /* one report per oversized message */
    CHECK_EQ(big_delivered, 0);
    CHECK_EQ(wrong, 0);
    CHECK(small[1] == SMALL_PER_QOS && small[2] == SMALL_PER_QOS);
    CHECK(MQTTIsConnected(&rx) == 1);

    /* A new connection resumes the session, with nothing left to resend. */
    CHECK_EQ(MQTTDisconnect(&rx), SUCCESS);
    NetworkDisconnect(&rn);
    connect_client(&rx, &rn, rx_id, 0, 1);
    for (i = 0; i < 15; i++) {
        CHECK_EQ(MQTTYield(&rx, 20), SUCCESS);
    }
    CHECK(big_delivered == 0 && small[1] == SMALL_PER_QOS && small[2] == SMALL_PER_QOS);
    CHECK_EQ(MQTTDisconnect(&rx), SUCCESS);
    NetworkDisconnect(&rn);
    CHECK_EQ(MQTTDisconnect(&tx), SUCCESS);
    NetworkDisconnect(&pn);

    printf("paho oversize: %d oversized QoS 1 and %d QoS 2 messages skipped and acknowledged, "
           "%d small ones at each QoS delivered, 0 reconnects\n",
           OVERSIZE_PER_QOS, OVERSIZE_PER_QOS, SMALL_PER_QOS);
    return 0;
}
