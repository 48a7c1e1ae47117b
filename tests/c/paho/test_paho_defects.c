/*
 * Paho's known defects (spec section 6), each as a regression test, with a
 * scripted peer behind the Network callbacks: whatever the client writes
 * is recorded, whatever it reads comes from a script (which can hand out
 * bytes one at a time, hold them back for a while, or answer PINGREQ late).
 *   1  a message larger than readbuf: BUFFER_OVERFLOW, stream in step,
 *      and a QoS 1/2 one still acknowledged (issue 21: else each one keeps
 *      a slot of the broker's in-flight window for good)
 *   4  SUBACK stores exactly sizeof(enum QoS) bytes
 *   5  short MQTTYield timeouts: no false disconnect; acks get their own timer
 *   6  partial writes are completed with the remaining bytes only
 *   7  a packet whose body arrives late or in pieces is still read whole
 *   8  a refused subscription (0x80) is reported and not registered
 *   14 acks are matched to their request by packet id
 * plus QoS 2 both ways, server-only packets, bad arguments, and CONNACKs
 * a broker may not send (a code above 5, a session with a refusal).
 */
#include "MQTTClient.h"
#include "paho_harness.h"

/* Exported like Paho's, declared by no header (spec 2.5). */
int cycle(MQTTClient* c, Timer* timer);
int keepalive(MQTTClient* c);

/* ---- the scripted peer --------------------------------------------------- */

static unsigned char inbox[16384];
static int inbox_len, inbox_at;
static int hold_from = -1;      /* bytes from here on ... */
static uint64_t hold_until;     /* ... are not readable before this time */
static unsigned char sent[16384];
static int sent_len;
static int max_write = 1 << 30; /* bytes per mqttwrite call */
static int max_read = 1 << 30;  /* bytes per mqttread call */
static int write_calls;
static int zero_timeout_writes_nothing;
static int pingresp_delay_ms = -1; /* answer PINGREQ after this long; -1: never */
static int pingreqs;

static void queue(const unsigned char* bytes, int len)
{
    CHECK(inbox_len + len <= (int)sizeof inbox);
    memcpy(inbox + inbox_len, bytes, (size_t)len);
    inbox_len += len;
}

static void reset_peer(void)
{
    inbox_len = inbox_at = sent_len = write_calls = pingreqs = 0;
    hold_from = -1;
    max_write = max_read = 1 << 30;
    zero_timeout_writes_nothing = 0;
    pingresp_delay_ms = -1;
}

static int fake_read(Network* n, unsigned char* b, int len, int timeout_ms)
{
    int avail = inbox_len - inbox_at, k;
    (void)n;
    if (hold_from >= 0 && test_now_ms() < hold_until && inbox_at + avail > hold_from) {
        avail = hold_from - inbox_at;
    }
    k = len < avail ? len : avail;
    k = k < max_read ? k : max_read;
    if (k <= 0) {
        if (timeout_ms > 0) {
            struct timespec ts;
            ts.tv_sec = 0;
            ts.tv_nsec = (long)(timeout_ms < 5 ? timeout_ms : 5) * 1000000L;
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    memcpy(b, inbox + inbox_at, (size_t)k);
    inbox_at += k;
    return k;
}

static int fake_write(Network* n, unsigned char* b, int len, int timeout_ms)
{
    int k = len < max_write ? len : max_write;
    (void)n;
    write_calls++;
    if (zero_timeout_writes_nothing && timeout_ms <= 0) {
        return 0;
    }
    CHECK(sent_len + k <= (int)sizeof sent);
    if (k == 2 && b[0] == 0xC0 && b[1] == 0x00) {
        pingreqs++;
        if (pingresp_delay_ms >= 0) {
            static const unsigned char pingresp[] = {0xD0, 0x00};
            hold_from = inbox_len;
            hold_until = test_now_ms() + (uint64_t)pingresp_delay_ms;
            queue(pingresp, 2);
        }
    }
    memcpy(sent + sent_len, b, (size_t)k);
    sent_len += k;
    return k;
}

/* ---- helpers -------------------------------------------------------------- */

static Network net;
static MQTTClient c;
static unsigned char sendbuf[512], readbuf[64];

static int delivered;
static unsigned char last_payload[256];
static size_t last_len;
static int last_qos;

/* Publishes "x" at QoS 1 on "t" (the fake peer has its PUBACK queued);
 * returns the packet id used. */
static unsigned short publish_one_byte(MQTTClient* client)
{
    MQTTMessage m;
    memset(&m, 0, sizeof m);
    m.qos = QOS1;
    m.payload = "x";
    m.payloadlen = 1;
    CHECK_EQ(MQTTPublish(client, "t", &m), SUCCESS);
    return m.id;
}

static void on_message(MessageData* md)
{
    delivered++;
    last_len = md->message->payloadlen < sizeof last_payload ? md->message->payloadlen : sizeof last_payload;
    memcpy(last_payload, md->message->payload, last_len);
    last_qos = (int)md->message->qos;
}

static void queue_publish(int qos, unsigned short id, const char* topic, const unsigned char* payload, int len)
{
    unsigned char pkt[1024];
    int n = MQTTSerialize_publish(pkt, sizeof pkt, 0, qos, 0, id, cstr(topic), (unsigned char*)payload, len);
    CHECK(n > 0);
    queue(pkt, n);
}

static void queue_ack(unsigned char type, unsigned short id)
{
    unsigned char pkt[4];
    CHECK_EQ(MQTTSerialize_ack(pkt, 4, type, 0, id), 4);
    queue(pkt, 4);
}

static int sent_has(const unsigned char* bytes, int len)
{
    int i;
    for (i = 0; i + len <= sent_len; i++) {
        if (memcmp(sent + i, bytes, (size_t)len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A fresh client, connected through a scripted CONNACK. */
static void start(unsigned int timeout_ms, unsigned short keepalive)
{
    static const unsigned char connack[] = {0x20, 0x02, 0x00, 0x00};
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    reset_peer();
    net.my_socket = -1;
    net.mqttread = fake_read;
    net.mqttwrite = fake_write;
    MQTTClientInit(&c, &net, timeout_ms, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
    queue(connack, 4);
    opts.clientID = cstr("scripted");
    opts.keepAliveInterval = keepalive;
    CHECK_EQ(MQTTConnect(&c, &opts), SUCCESS);
    CHECK(MQTTIsConnected(&c));
    c.defaultMessageHandler = on_message;
    delivered = 0;
    sent_len = 0;
    write_calls = 0;
}

/* ---- the defects ---------------------------------------------------------------- */

static void oversized_message(void)
{
    unsigned char big[200];
    static const unsigned char puback5[] = {0x40, 0x02, 0x00, 0x05};
    static const unsigned char puback9[] = {0x40, 0x02, 0x00, 0x09};
    memset(big, 'B', sizeof big);
    int before;
    start(1000, 0);
    before = inbox_len;
    queue_publish(1, 9, "t", big, sizeof big); /* 208 bytes into a 64-byte readbuf */
    queue_publish(1, 5, "t", (const unsigned char*)"small", 5);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK(MQTTIsConnected(&c) == 1 && delivered == 0);
    CHECK_EQ(inbox_at - before, 1 + 2 + 2 + 1 + 2 + 200); /* the whole packet, nothing more */
    CHECK_EQ(MQTTYield(&c, 50), SUCCESS);
    CHECK(delivered == 1 && last_len == 5 && memcmp(last_payload, "small", 5) == 0);
    CHECK(sent_has(puback9, 4)); /* the skipped one is acknowledged too */
    CHECK(sent_has(puback5, 4));
    /* While waiting for an ack, an oversized message is skipped too. */
    queue_publish(0, 0, "t", big, sizeof big);
    queue_ack(PUBACK, 2);
    CHECK(publish_one_byte(&c) == 2 && MQTTIsConnected(&c));
}

/* A QoS 1 PUBLISH built by hand, body_len (< 128) bytes: the topic length
 * field says topic_len, then 't's, with the packet id `id` behind the
 * topic unless id < 0 (so the id can be missing or 0). */
static void queue_raw_qos1(int topic_len, int body_len, int id)
{
    unsigned char pkt[2 + 127];
    CHECK(body_len >= 2 && body_len <= 127);
    pkt[0] = 0x32;
    pkt[1] = (unsigned char)body_len;
    pkt[2] = (unsigned char)(topic_len >> 8);
    pkt[3] = (unsigned char)topic_len;
    memset(pkt + 4, 't', (size_t)body_len - 2);
    if (id >= 0) {
        CHECK(2 + topic_len + 2 <= body_len);
        pkt[2 + 2 + topic_len] = (unsigned char)(id >> 8);
        pkt[2 + 2 + topic_len + 1] = (unsigned char)id;
    }
    queue(pkt, 2 + body_len);
}

/* Issue 21, item 2: an oversized QoS 1/2 message is acknowledged, whatever
 * the length of its topic and wherever its packet id falls in the pieces
 * it is read through in. */
static void oversized_acknowledged(void)
{
    unsigned char big[200];
    char long_topic[151], topic61[62];
    static const unsigned char pubrec[] = {0x50, 0x02, 0x01, 0x02};
    static const unsigned char pubcomp[] = {0x70, 0x02, 0x01, 0x02};
    static const unsigned char puback_split[] = {0x40, 0x02, 0x12, 0x34};
    static const unsigned char puback_small[] = {0x40, 0x02, 0x0A, 0x0B};
    static const unsigned char puback7[] = {0x40, 0x02, 0x00, 0x07};
    memset(big, 'B', sizeof big);
    memset(long_topic, 'L', sizeof long_topic - 1);
    long_topic[sizeof long_topic - 1] = '\0';
    memset(topic61, 'M', sizeof topic61 - 1);
    topic61[sizeof topic61 - 1] = '\0';

    /* QoS 2, topic (150 bytes) longer than readbuf: PUBREC, and the
     * PUBREL that follows gets PUBCOMP (exactly-once kept). */
    start(1000, 0);
    queue_publish(2, 0x0102, long_topic, big, sizeof big);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK(MQTTIsConnected(&c) == 1 && delivered == 0 && inbox_at == inbox_len);
    CHECK_BYTES(sent, sent_len, pubrec, 4);
    queue_ack(PUBREL, 0x0102);
    CHECK_EQ(MQTTYield(&c, 50), SUCCESS);
    CHECK_BYTES(sent + 4, sent_len - 4, pubcomp, 4);

    /* QoS 1 whose id straddles two 64-byte pieces (body offsets 63, 64). */
    sent_len = 0;
    queue_publish(1, 0x1234, topic61, big, sizeof big);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK_BYTES(sent, sent_len, puback_split, 4);

    /* QoS 0: nothing to acknowledge. */
    sent_len = 0;
    queue_publish(0, 0, "t", big, sizeof big);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK_EQ(sent_len, 0);

    /* Malformed (no room for the id after the topic; id 0): read through
     * and ignored, nothing sent, the stream still in step. */
    queue_raw_qos1(79, 80, -1);
    queue_raw_qos1(1, 80, 0);
    queue_publish(1, 7, "t", (const unsigned char*)"small", 5);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK_EQ(sent_len, 0);
    CHECK_EQ(MQTTYield(&c, 50), SUCCESS);
    CHECK(delivered == 1 && last_len == 5 && MQTTIsConnected(&c) == 1);
    CHECK_BYTES(sent, sent_len, puback7, 4);

    /* A readbuf below 64 bytes (read through a scratch buffer). */
    sent_len = 0;
    c.readbuf_size = 16;
    queue_publish(1, 0x0A0B, long_topic, big, sizeof big);
    CHECK_EQ(MQTTYield(&c, 50), BUFFER_OVERFLOW);
    CHECK_BYTES(sent, sent_len, puback_small, 4);
    CHECK(inbox_at == inbox_len && MQTTIsConnected(&c) == 1);

    /* While MQTTPublish waits for its PUBACK, an oversized QoS 1 message
     * in between is acknowledged too. */
    c.readbuf_size = sizeof readbuf;
    sent_len = 0;
    queue_publish(1, 0x0A0B, long_topic, big, sizeof big);
    queue_ack(PUBACK, c.next_packetid + 1);
    publish_one_byte(&c);
    CHECK(MQTTIsConnected(&c) == 1);
    CHECK(sent_has(puback_small, 4));
}

/* What a broker sends is held to MQTT 3.1.1: a CONNACK with a code above
 * 5, or with a session and a refusal, is FAILURE, although the Paho
 * deserializer reads both back as Paho's does (issue 21, item 5). */
static int connect_with(const unsigned char* connack, MQTTConnackData* data)
{
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    reset_peer();
    net.my_socket = -1;
    net.mqttread = fake_read;
    net.mqttwrite = fake_write;
    MQTTClientInit(&c, &net, 200, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
    queue(connack, 4);
    opts.clientID = cstr("scripted");
    opts.keepAliveInterval = 0;
    return MQTTConnectWithResults(&c, &opts, data);
}

static void bad_connack(void)
{
    static const unsigned char code77[] = {0x20, 0x02, 0x00, 0x4D};
    static const unsigned char code6[] = {0x20, 0x02, 0x00, 0x06};
    static const unsigned char session_refused[] = {0x20, 0x02, 0x01, 0x05};
    static const unsigned char refused[] = {0x20, 0x02, 0x00, 0x05};
    static const unsigned char resumed[] = {0x20, 0x02, 0x01, 0x00};
    MQTTConnackData data;

    CHECK_EQ(connect_with(code77, &data), FAILURE);
    CHECK(MQTTIsConnected(&c) == 0);
    CHECK_EQ(connect_with(code6, &data), FAILURE);
    CHECK(MQTTIsConnected(&c) == 0);
    CHECK_EQ(connect_with(session_refused, &data), FAILURE);
    CHECK(MQTTIsConnected(&c) == 0);
    data.rc = 0;
    data.sessionPresent = 9;
    CHECK_EQ(connect_with(refused, &data), MQTT_NOT_AUTHORIZED);
    CHECK(data.rc == MQTT_NOT_AUTHORIZED && data.sessionPresent == 0 && MQTTIsConnected(&c) == 0);
    CHECK_EQ(connect_with(resumed, &data), SUCCESS);
    CHECK(data.rc == 0 && data.sessionPresent == 1 && MQTTIsConnected(&c) == 1);
}

static void partial_reads(void)
{
    unsigned char payload[40];
    memset(payload, 'r', sizeof payload);
    start(1000, 0);
    max_read = 1;
    queue_publish(0, 0, "pieces", payload, sizeof payload);
    CHECK_EQ(MQTTYield(&c, 20), SUCCESS);
    CHECK(delivered == 1 && last_len == sizeof payload);
    /* The body arrives 150 ms after the header, far beyond a 10 ms yield. */
    max_read = 1 << 30;
    hold_from = inbox_len + 3;
    hold_until = test_now_ms() + 150;
    queue_publish(0, 0, "late", payload, sizeof payload);
    queue_publish(0, 0, "after", (const unsigned char*)"next", 4);
    CHECK_EQ(MQTTYield(&c, 10), SUCCESS);
    CHECK(delivered == 2 && last_len == sizeof payload);
    CHECK_EQ(MQTTYield(&c, 10), SUCCESS);
    CHECK(delivered == 3 && last_len == 4 && memcmp(last_payload, "next", 4) == 0);
}

static void partial_writes(void)
{
    unsigned char want[128];
    unsigned char payload[50];
    MQTTMessage m;
    int len;
    memset(payload, 'w', sizeof payload);
    start(1000, 0);
    max_write = 3;
    queue_ack(PUBACK, 2);
    memset(&m, 0, sizeof m);
    m.qos = QOS1;
    m.payload = payload;
    m.payloadlen = sizeof payload;
    CHECK_EQ(MQTTPublish(&c, "partial/writes", &m), SUCCESS);
    len = MQTTSerialize_publish(want, sizeof want, 0, 1, 0, 2, cstr("partial/writes"), payload, sizeof payload);
    CHECK_BYTES(sent, sent_len, want, len); /* exactly the packet, once */
    CHECK_EQ(write_calls, (len + 2) / 3);
}

static void ack_has_its_own_timer(void)
{
    static const unsigned char puback[] = {0x40, 0x02, 0x00, 0x21};
    start(1000, 0);
    zero_timeout_writes_nothing = 1;
    queue_publish(1, 0x21, "t", (const unsigned char*)"ack me", 6);
    /* MQTTYield(0): the yield's timer has nothing left for the PUBACK. */
    CHECK_EQ(MQTTYield(&c, 0), SUCCESS);
    CHECK(delivered == 1 && MQTTIsConnected(&c));
    CHECK(sent_has(puback, 4));
}

static void short_yields_keepalive(void)
{
    uint64_t end;
    int rc = SUCCESS;
    start(500, 1); /* keepalive 1 s */
    pingresp_delay_ms = 300;
    end = test_now_ms() + 3500;
    while (test_now_ms() < end) {
        rc = MQTTYield(&c, 5);
        if (rc != SUCCESS) {
            break;
        }
    }
    CHECK_EQ(rc, SUCCESS);
    CHECK(MQTTIsConnected(&c) == 1);
    CHECK(pingreqs >= 2 && c.ping_outstanding == 0);
    /* A peer that stops answering is still found dead: within keepalive
     * plus the grace period (max(keepalive, command_timeout_ms)). */
    pingresp_delay_ms = -1;
    end = test_now_ms() + 4000;
    while (test_now_ms() < end && (rc = MQTTYield(&c, 5)) == SUCCESS) {
    }
    CHECK_EQ(rc, FAILURE);
    CHECK(MQTTIsConnected(&c) == 0);
}

static void acks_matched_by_id(void)
{
    MQTTMessage m;
    static const unsigned char pubrel7[] = {0x62, 0x02, 0x00, 0x07};
    memset(&m, 0, sizeof m);
    m.payload = "x";
    m.payloadlen = 1;

    start(300, 0);
    queue_ack(PUBACK, 999); /* stray */
    queue_ack(PUBACK, 2);
    m.qos = QOS1;
    CHECK_EQ(MQTTPublish(&c, "t", &m), SUCCESS);
    CHECK(m.id == 2 && inbox_at == inbox_len);

    /* QoS 2 out: PUBREC -> PUBREL -> PUBCOMP, with a stray PUBCOMP first. */
    sent_len = 0;
    queue_ack(PUBREC, 3);
    queue_ack(PUBCOMP, 44);
    queue_ack(PUBCOMP, 3);
    m.qos = QOS2;
    CHECK_EQ(MQTTPublish(&c, "t", &m), SUCCESS);
    CHECK(m.id == 3 && inbox_at == inbox_len);
    {
        static const unsigned char pubrel3[] = {0x62, 0x02, 0x00, 0x03};
        CHECK(sent_has(pubrel3, 4));
    }

    /* Only a stray ack: the publish times out (Paho took it as success). */
    queue_ack(PUBACK, 999);
    m.qos = QOS1;
    CHECK_EQ(MQTTPublish(&c, "t", &m), FAILURE);
    CHECK(MQTTIsConnected(&c) == 0);

    /* QoS 2 in: PUBREC for the PUBLISH, PUBCOMP for the PUBREL. */
    start(300, 0);
    queue_publish(2, 7, "t", (const unsigned char*)"q2", 2);
    queue_ack(PUBREL, 7);
    CHECK_EQ(MQTTYield(&c, 20), SUCCESS);
    CHECK(delivered == 1 && last_qos == 2);
    {
        static const unsigned char pubrec7[] = {0x50, 0x02, 0x00, 0x07};
        static const unsigned char pubcomp7[] = {0x70, 0x02, 0x00, 0x07};
        CHECK(sent_has(pubrec7, 4) && sent_has(pubcomp7, 4));
        CHECK(!sent_has(pubrel7, 4));
    }
}

static void refused_subscription(void)
{
    struct {
        MQTTSubackData data;
        unsigned char guard[8];
    } out;
    static const unsigned char suback_refused[] = {0x90, 0x03, 0x00, 0x02, 0x80};
    static const unsigned char suback_two[] = {0x90, 0x04, 0x00, 0x03, 0x01, 0x01};
    static const unsigned char suback_ok[] = {0x90, 0x03, 0x00, 0x04, 0x01};
    int i;

    start(300, 0);
    memset(&out, 0xAA, sizeof out);
    queue(suback_refused, sizeof suback_refused);
    CHECK_EQ(MQTTSubscribeWithResults(&c, "denied/#", QOS1, on_message, &out.data), SUCCESS);
    CHECK(out.data.grantedQoS == SUBFAIL);
    CHECK((int)out.data.grantedQoS == 0x80);
    for (i = 0; i < 8; i++) {
        CHECK(out.guard[i] == 0xAA); /* nothing written past sizeof(enum QoS) */
    }
    for (i = 0; i < MAX_MESSAGE_HANDLERS; i++) {
        CHECK(c.messageHandlers[i].topicFilter == NULL); /* not registered */
    }
    /* A SUBACK with more codes than filters is refused, nothing stored. */
    queue(suback_two, sizeof suback_two);
    memset(&out, 0xAA, sizeof out);
    CHECK_EQ(MQTTSubscribeWithResults(&c, "two", QOS1, on_message, &out.data), FAILURE);
    CHECK(out.guard[0] == 0xAA);
    start(300, 0);
    c.next_packetid = 3;
    queue(suback_ok, sizeof suback_ok);
    CHECK_EQ(MQTTSubscribeWithResults(&c, "ok/+", QOS2, on_message, &out.data), SUCCESS);
    CHECK(out.data.grantedQoS == QOS1 && c.messageHandlers[0].topicFilter != NULL);
}

static void bad_input(void)
{
    MQTTMessage m;
    unsigned char huge[600];
    start(300, 0);
    memset(&m, 0, sizeof m);
    m.qos = QOS1;
    m.payload = "x";
    m.payloadlen = 1;
    /* Refused before anything is sent: the connection stays up. */
    CHECK_EQ(MQTTPublish(&c, NULL, &m), FAILURE);
    CHECK_EQ(MQTTPublish(&c, "t", NULL), FAILURE);
    CHECK_EQ(MQTTPublish(&c, "t/#", &m), FAILURE); /* wildcard in a topic name */
    m.qos = (enum QoS)3;
    CHECK_EQ(MQTTPublish(&c, "t", &m), FAILURE);
    memset(huge, 'h', sizeof huge);
    m.qos = QOS0;
    m.payload = huge;
    m.payloadlen = sizeof huge; /* larger than the 512-byte send buffer */
    CHECK_EQ(MQTTPublish(&c, "t", &m), FAILURE);
    CHECK_EQ(MQTTSubscribe(&c, NULL, QOS0, on_message), FAILURE);
    CHECK_EQ(MQTTSubscribe(&c, "a/#/b", QOS0, on_message), FAILURE);
    CHECK_EQ(MQTTUnsubscribe(&c, NULL), FAILURE);
    CHECK(MQTTIsConnected(&c) == 1 && sent_len == 0);
    CHECK_EQ(MQTTSetMessageHandler(NULL, "x", on_message), FAILURE);
    CHECK_EQ(MQTTSetMessageHandler(&c, NULL, on_message), FAILURE);
    CHECK_EQ(MQTTPublish(NULL, "t", &m), FAILURE);
    CHECK_EQ(MQTTDisconnect(NULL), FAILURE);
    CHECK_EQ(cycle(NULL, NULL), FAILURE);
    CHECK_EQ(keepalive(NULL), FAILURE);
    MQTTClientInit(NULL, &net, 1, NULL, 0, NULL, 0);

    /* A packet a server never sends (PINGREQ) closes the session. */
    {
        static const unsigned char pingreq[] = {0xC0, 0x00};
        queue(pingreq, 2);
        CHECK_EQ(MQTTYield(&c, 10), SUCCESS);
        CHECK(MQTTIsConnected(&c) == 0);
    }
    /* No buffers at all: nothing can be sent, nothing crashes. */
    {
        MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
        MQTTClientInit(&c, &net, 50, NULL, 0, NULL, 0);
        opts.keepAliveInterval = 0;
        CHECK_EQ(MQTTConnect(&c, &opts), FAILURE);
        queue_publish(0, 0, "t", (const unsigned char*)"x", 1);
        CHECK_EQ(MQTTYield(&c, 10), BUFFER_OVERFLOW); /* read and dropped */
    }
}

int main(void)
{
    oversized_message();
    oversized_acknowledged();
    partial_reads();
    partial_writes();
    ack_has_its_own_timer();
    short_yields_keepalive();
    acks_matched_by_id();
    refused_subscription();
    bad_input();
    bad_connack();
    printf("paho defects: oversized message (skipped, acknowledged), partial reads/writes, "
           "short yields, ack timers, ack ids, refused SUBACK, bad input, bad CONNACK: all handled\n");
    return 0;
}
