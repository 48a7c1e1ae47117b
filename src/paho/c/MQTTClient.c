/*
 * embermq Paho embedded-C compatibility: the blocking MQTT client.
 *
 * Compile this file with the firmware's own flags and include path
 * (include/paho plus the directory of the platform header), e.g.
 *     -DMQTTCLIENT_PLATFORM_HEADER=MQTTLinux.h [-DMAX_MESSAGE_HANDLERS=n]
 *     [-DMQTT_TASK] [-fshort-enums or not: whatever the firmware uses]
 * so MQTTClient's layout (which embeds the firmware's Timer, Network,
 * Mutex and Thread) is the firmware's. Link libembermq (cargo feature
 * `paho`): every packet is encoded and decoded there, by embermq's codec,
 * and topic filters are matched there.
 *
 * Written from the behaviour described in shared/paho-embedded-api.md
 * (section 2), without Paho's defects (section 6): an oversized message
 * is read to its end and skipped (BUFFER_OVERFLOW, stream in step), and
 * acknowledged if QoS 1/2 (the broker's in-flight window moves on); a
 * PINGRESP gets a real grace period; acks are sent with their own timer;
 * partial reads and writes are completed; acks are matched to requests by
 * packet id; `a/#` matches `a`.
 */
#include "MQTTClient.h"

#include <limits.h>
#include <string.h>

/* In libembermq (src/paho/client.rs). */
extern int emq_paho_topic_matches(const char* filter, const char* topic, int topic_len);

/* Global, as in Paho, but declared by no header. */
int cycle(MQTTClient* c, Timer* timer);
int waitfor(MQTTClient* c, int packet_type, Timer* timer);
int keepalive(MQTTClient* c);
int deliverMessage(MQTTClient* c, MQTTString* topicName, MQTTMessage* message);
void MQTTCleanSession(MQTTClient* c);
void MQTTCloseSession(MQTTClient* c);
void MQTTRun(void* parm);

/* ---- layout checks (spec section 5.3), on LP64 and ILP32 targets -------- */
#define EMQ_ASSERT(name, cond) typedef char emq_paho_assert_##name[(cond) ? 1 : -1]
#define EMQ_LP64 (sizeof(void*) == 8 && sizeof(size_t) == 8 && sizeof(int) == 4)
#define EMQ_ILP32 (sizeof(void*) == 4 && sizeof(size_t) == 4 && sizeof(int) == 4)
#define EMQ_EXPECT(lp64, ilp32, value) \
    (EMQ_LP64 ? (value) == (lp64) : EMQ_ILP32 ? (value) == (ilp32) : 1)

EMQ_ASSERT(handlers, EMQ_EXPECT(56, 40, offsetof(MQTTClient, messageHandlers)));
EMQ_ASSERT(slot, EMQ_EXPECT(16, 8, sizeof(struct MessageHandlers)));
EMQ_ASSERT(isconnected, EMQ_EXPECT(48, 32, offsetof(MQTTClient, isconnected)));
EMQ_ASSERT(defaulthandler, EMQ_EXPECT(56 + 16 * MAX_MESSAGE_HANDLERS, 40 + 8 * MAX_MESSAGE_HANDLERS,
                                      offsetof(MQTTClient, defaultMessageHandler)));
EMQ_ASSERT(ipstack, EMQ_EXPECT(64 + 16 * MAX_MESSAGE_HANDLERS, 44 + 8 * MAX_MESSAGE_HANDLERS,
                               offsetof(MQTTClient, ipstack)));
/* The structs libembermq reads and writes (its Rust side checks the same). */
EMQ_ASSERT(mqttstring, EMQ_EXPECT(24, 12, sizeof(MQTTString)));
EMQ_ASSERT(connectdata, EMQ_EXPECT(160, 88, sizeof(MQTTPacket_connectData)));
EMQ_ASSERT(transport, EMQ_EXPECT(32, 24, sizeof(MQTTTransport)));

#if defined(MQTT_TASK)
#define LOCK(c) ((void)MutexLock(&(c)->mutex))
#define UNLOCK(c) ((void)MutexUnlock(&(c)->mutex))
#else
#define LOCK(c) ((void)0)
#define UNLOCK(c) ((void)0)
#endif

/* Bytes of a fixed header: type byte plus up to 4 length bytes. */
#define MAX_LENGTH_BYTES 4

static int clamp_int(size_t n)
{
    return n > (size_t)INT_MAX ? INT_MAX : (int)n;
}

static void start_timer(Timer* t, unsigned int ms)
{
    TimerInit(t);
    TimerCountdownMS(t, ms);
}

/* Increments, then uses: the first id handed out is 2; 0 is never used. */
static unsigned short next_packet_id(MQTTClient* c)
{
    c->next_packetid = (c->next_packetid >= MAX_PACKET_ID) ? 1 : c->next_packetid + 1;
    return (unsigned short)c->next_packetid;
}

static int network_ok(MQTTClient* c)
{
    return c->ipstack != NULL && c->ipstack->mqttread != NULL && c->ipstack->mqttwrite != NULL;
}

/* Writes buf[0..length) completely: each mqttwrite gets only the bytes not
 * yet written, and the time left. SUCCESS or FAILURE. */
static int send_packet(MQTTClient* c, int length, Timer* timer)
{
    int sent = 0;
    if (!network_ok(c) || c->buf == NULL || length <= 0) {
        return FAILURE;
    }
    while (sent < length) {
        int rc = c->ipstack->mqttwrite(c->ipstack, &c->buf[sent], length - sent, TimerLeftMS(timer));
        if (rc < 0 || rc > length - sent) {
            return FAILURE;
        }
        sent += rc;
        if (sent < length && TimerIsExpired(timer)) {
            return FAILURE;
        }
    }
    TimerCountdown(&c->last_sent, c->keepAliveInterval);
    return SUCCESS;
}

/* An ack sent while handling input gets its own command_timeout_ms timer,
 * not what is left of the caller's (which may be nothing). */
static int send_ack(MQTTClient* c, unsigned char type, unsigned short id)
{
    Timer timer;
    int len = MQTTSerialize_ack(c->buf, clamp_int(c->buf_size), type, 0, id);
    if (len <= 0) {
        return FAILURE;
    }
    start_timer(&timer, c->command_timeout_ms);
    return send_packet(c, len, &timer);
}

/* Reads exactly len bytes, collecting partial reads, until the timer
 * expires (every call is tried at least once). Returns the bytes read or
 * a negative mqttread error. */
static int read_exact(MQTTClient* c, unsigned char* dst, int len, Timer* timer)
{
    int got = 0;
    while (got < len) {
        int rc = c->ipstack->mqttread(c->ipstack, dst + got, len - got, TimerLeftMS(timer));
        if (rc < 0) {
            return rc;
        }
        if (rc > len - got) {
            return FAILURE;
        }
        got += rc;
        if (got < len && TimerIsExpired(timer)) {
            break;
        }
    }
    return got;
}

/* What read_packet learned of a packet it read through (BUFFER_OVERFLOW):
 * the ack the packet still needs (0: none) and its packet id. */
typedef struct Skipped {
    unsigned char ack_type;
    unsigned short id;
} Skipped;

/* Reads the rem_len body bytes of a packet too big for readbuf to its end,
 * through dst[0..room) in pieces, without keeping them. A QoS 1/2 PUBLISH
 * still needs its ack, or the broker's in-flight slot stays taken for
 * good: its topic length (body bytes 0-1) and the packet id behind the
 * topic are picked out of the pieces on the way, however long the topic.
 * SUCCESS (skipped filled in) or FAILURE (the stream is out of step). */
static int read_through(MQTTClient* c, unsigned char first, size_t rem_len, unsigned char* dst,
                        size_t room, Timer* timer, Skipped* skipped)
{
    int qos = (first >> 1) & 3;
    int wanted = ((first >> 4) == PUBLISH && (qos == QOS1 || qos == QOS2)) ? 4 : 0;
    unsigned char fields[4] = {0, 0, 0, 0}; /* topic length, packet id (big-endian) */
    size_t at = 0;                          /* body offset of dst[0] */
    int got = 0;

    while (at < rem_len) {
        size_t chunk = rem_len - at < room ? rem_len - at : room;
        if (chunk > (size_t)INT_MAX) {
            chunk = (size_t)INT_MAX;
        }
        if (read_exact(c, dst, (int)chunk, timer) != (int)chunk) {
            return FAILURE;
        }
        /* The fields lie at increasing body offsets (0, 1, then 2 + topic
         * length and the byte after): each is in this piece or a later one. */
        while (got < wanted) {
            size_t off = (size_t)got;
            if (got >= 2) {
                off += ((size_t)fields[0] << 8) | fields[1];
            }
            if (off >= at + chunk) {
                break;
            }
            fields[got++] = dst[off - at];
        }
        at += chunk;
    }
    skipped->ack_type = 0;
    skipped->id = 0;
    if (wanted > 0 && got == wanted && (fields[2] | fields[3]) != 0) {
        skipped->ack_type = qos == QOS1 ? PUBACK : PUBREC;
        skipped->id = (unsigned short)(fields[2] << 8 | fields[3]);
    }
    /* else: not a QoS 1/2 PUBLISH, or a malformed one (no room for the
     * packet id, packet id 0): ignored, as handle_publish ignores an
     * undecodable one. */
    return SUCCESS;
}

/* Reads one packet into readbuf. Returns its type, 0 if nothing arrived
 * before the timer expired, BUFFER_OVERFLOW if it was larger than readbuf
 * (it was then read to its end and dropped; *skipped says which ack it
 * still needs), or a negative error. Once the first byte is in, the rest
 * gets at least command_timeout_ms: a packet is either read whole or the
 * connection has failed. */
static int read_packet(MQTTClient* c, Timer* timer, Skipped* skipped)
{
    unsigned char first = 0;
    unsigned char length_bytes[MAX_LENGTH_BYTES];
    unsigned char scratch[64];
    size_t readbuf_size = c->readbuf != NULL ? c->readbuf_size : 0;
    size_t rem_len = 0;
    int multiplier = 1;
    int n = 0;
    int rc;
    Timer rest;

    if (!network_ok(c)) {
        return FAILURE;
    }
    rc = read_exact(c, &first, 1, timer);
    if (rc != 1) {
        return rc < 0 ? rc : 0;
    }
    start_timer(&rest, c->command_timeout_ms);
    if ((unsigned int)TimerLeftMS(timer) > c->command_timeout_ms) {
        TimerCountdownMS(&rest, (unsigned int)TimerLeftMS(timer));
    }
    do {
        if (n == MAX_LENGTH_BYTES || read_exact(c, &length_bytes[n], 1, &rest) != 1) {
            return FAILURE;
        }
        rem_len += (size_t)(length_bytes[n] & 127) * (size_t)multiplier;
        multiplier *= 128;
    } while ((length_bytes[n++] & 128) != 0);

    if (1 + (size_t)n + rem_len > readbuf_size) {
        /* Too big for readbuf: consume the body and drop the packet. */
        unsigned char* dst = readbuf_size >= sizeof scratch ? c->readbuf : scratch;
        size_t room = readbuf_size >= sizeof scratch ? readbuf_size : sizeof scratch;
        if (read_through(c, first, rem_len, dst, room, &rest, skipped) != SUCCESS) {
            return FAILURE;
        }
        TimerCountdown(&c->last_received, c->keepAliveInterval);
        return BUFFER_OVERFLOW;
    }
    c->readbuf[0] = first;
    memcpy(c->readbuf + 1, length_bytes, (size_t)n);
    if (rem_len > 0 && read_exact(c, c->readbuf + 1 + n, (int)rem_len, &rest) != (int)rem_len) {
        return FAILURE;
    }
    TimerCountdown(&c->last_received, c->keepAliveInterval);
    if ((first >> 4) == 0) {
        return FAILURE; /* reserved type 0 */
    }
    return first >> 4;
}

/* The packet id of the ack in readbuf, or -1. */
static int ack_id(MQTTClient* c)
{
    unsigned char type = 0, dup = 0;
    unsigned short id = 0;
    if (MQTTDeserialize_ack(&type, &dup, &id, c->readbuf, clamp_int(c->readbuf_size)) != 1) {
        return -1;
    }
    return id;
}

/* Cycles until a packet of `type` (with packet id `id`, unless id < 0)
 * arrives. Acks for other ids are stray and ignored; an oversized message
 * in between is skipped (and acknowledged). SUCCESS (the packet is in
 * readbuf) or FAILURE. */
static int wait_for_ack(MQTTClient* c, int type, int id, Timer* timer)
{
    for (;;) {
        int rc;
        if (TimerIsExpired(timer)) {
            return FAILURE;
        }
        rc = cycle(c, timer);
        if (rc == BUFFER_OVERFLOW) {
            continue;
        }
        if (rc < 0) {
            return FAILURE;
        }
        if (rc == type && (id < 0 || ack_id(c) == id)) {
            return SUCCESS;
        }
    }
}

void MQTTClientInit(MQTTClient* c, Network* network, unsigned int command_timeout_ms,
                    unsigned char* sendbuf, size_t sendbuf_size, unsigned char* readbuf, size_t readbuf_size)
{
    int i;
    if (c == NULL) {
        return;
    }
    c->ipstack = network;
    for (i = 0; i < MAX_MESSAGE_HANDLERS; ++i) {
        c->messageHandlers[i].topicFilter = NULL;
    }
    c->command_timeout_ms = command_timeout_ms;
    c->buf = sendbuf;
    c->buf_size = sendbuf_size;
    c->readbuf = readbuf;
    c->readbuf_size = readbuf_size;
    c->isconnected = 0;
    c->cleansession = 0;
    c->ping_outstanding = 0;
    c->defaultMessageHandler = NULL;
    c->next_packetid = 1;
    TimerInit(&c->last_sent);
    TimerInit(&c->last_received);
#if defined(MQTT_TASK)
    MutexInit(&c->mutex);
#endif
}

void MQTTCleanSession(MQTTClient* c)
{
    int i;
    if (c == NULL) {
        return;
    }
    for (i = 0; i < MAX_MESSAGE_HANDLERS; ++i) {
        c->messageHandlers[i].topicFilter = NULL;
    }
}

void MQTTCloseSession(MQTTClient* c)
{
    if (c == NULL) {
        return;
    }
    c->ping_outstanding = 0;
    c->isconnected = 0;
    if (c->cleansession) {
        MQTTCleanSession(c);
    }
}

int deliverMessage(MQTTClient* c, MQTTString* topicName, MQTTMessage* message)
{
    int i;
    int rc = FAILURE;
    const char* topic;
    int topic_len;
    MessageData md;

    if (c == NULL || topicName == NULL || message == NULL) {
        return FAILURE;
    }
    if (topicName->cstring != NULL) {
        topic = topicName->cstring;
        topic_len = clamp_int(strlen(topic));
    } else {
        topic = topicName->lenstring.data;
        topic_len = topic != NULL && topicName->lenstring.len > 0 ? topicName->lenstring.len : 0;
    }
    md.message = message;
    md.topicName = topicName;
    for (i = 0; i < MAX_MESSAGE_HANDLERS; ++i) {
        const char* filter = c->messageHandlers[i].topicFilter;
        if (filter != NULL && c->messageHandlers[i].fp != NULL
            && (MQTTPacket_equals(topicName, (char*)filter)
                || emq_paho_topic_matches(filter, topic, topic_len))) {
            c->messageHandlers[i].fp(&md);
            rc = SUCCESS;
        }
    }
    if (rc == FAILURE && c->defaultMessageHandler != NULL) {
        c->defaultMessageHandler(&md);
        rc = SUCCESS;
    }
    return rc;
}

/* How long a PINGRESP may take: the keepalive interval, at least
 * command_timeout_ms (Paho allowed none: defect 5). */
static unsigned int ping_grace_ms(MQTTClient* c)
{
    unsigned long long ms = (unsigned long long)c->keepAliveInterval * 1000u;
    if (ms < c->command_timeout_ms) {
        ms = c->command_timeout_ms;
    }
    return ms > UINT_MAX ? UINT_MAX : (unsigned int)ms;
}

int keepalive(MQTTClient* c)
{
    if (c == NULL) {
        return FAILURE;
    }
    if (c->keepAliveInterval == 0) {
        return SUCCESS;
    }
    if (c->ping_outstanding) {
        /* last_received was set to the grace period when the PINGREQ went
         * out (and restarts with anything that arrives since). */
        return TimerIsExpired(&c->last_received) ? FAILURE : SUCCESS;
    }
    if (TimerIsExpired(&c->last_sent) || TimerIsExpired(&c->last_received)) {
        Timer timer;
        int len = MQTTSerialize_pingreq(c->buf, clamp_int(c->buf_size));
        start_timer(&timer, 1000);
        if (len <= 0 || send_packet(c, len, &timer) != SUCCESS) {
            return FAILURE;
        }
        c->ping_outstanding = 1;
        TimerCountdownMS(&c->last_received, ping_grace_ms(c));
    }
    return SUCCESS;
}

/* A PUBLISH in readbuf: deliver, then acknowledge (QoS 1 PUBACK, QoS 2
 * PUBREC). Nothing in readbuf is used after the handlers ran (they may
 * call the API, which overwrites it). */
static int handle_publish(MQTTClient* c)
{
    MQTTString topicName = MQTTString_initializer;
    MQTTMessage msg;
    unsigned char dup = 0, retained = 0;
    unsigned short id = 0;
    unsigned char* payload = NULL;
    int qos = 0, payloadlen = 0;

    if (MQTTDeserialize_publish(&dup, &qos, &retained, &id, &topicName, &payload, &payloadlen,
                                c->readbuf, clamp_int(c->readbuf_size)) != 1) {
        return SUCCESS; /* undecodable: ignored */
    }
    memset(&msg, 0, sizeof msg);
    msg.qos = (enum QoS)qos;
    msg.retained = retained;
    msg.dup = dup;
    msg.id = qos > 0 ? id : 0;
    msg.payload = payload;
    msg.payloadlen = (size_t)payloadlen;
    deliverMessage(c, &topicName, &msg);
    if (qos == QOS1) {
        return send_ack(c, PUBACK, id);
    }
    if (qos == QOS2) {
        return send_ack(c, PUBREC, id);
    }
    return SUCCESS;
}

int cycle(MQTTClient* c, Timer* timer)
{
    int packet_type;
    int rc = SUCCESS;
    Skipped skipped = {0, 0};

    if (c == NULL || timer == NULL) {
        return FAILURE;
    }
    packet_type = read_packet(c, timer, &skipped);
    switch (packet_type) {
    case BUFFER_OVERFLOW:
        /* Skipped whole: the connection is still good. A QoS 1/2 message
         * is acknowledged all the same (PUBREC: its PUBREL gets PUBCOMP
         * below, as for any message), so the broker's window moves on;
         * the caller learns of the drop from the return value. */
        if (skipped.ack_type != 0) {
            rc = send_ack(c, skipped.ack_type, skipped.id);
        }
        break;
    case 0:
    case CONNACK:
    case PUBACK:
    case SUBACK:
    case UNSUBACK:
    case PUBCOMP:
        break;
    case PUBLISH:
        rc = handle_publish(c);
        break;
    case PUBREC:
    case PUBREL: {
        int id = ack_id(c);
        rc = id < 0 ? FAILURE
                    : send_ack(c, packet_type == PUBREC ? PUBREL : PUBCOMP, (unsigned short)id);
        break;
    }
    case PINGRESP:
        c->ping_outstanding = 0;
        break;
    default:
        /* A read error, or a packet a server never sends to a client. */
        if (c->isconnected) {
            MQTTCloseSession(c);
        }
        return packet_type;
    }
    if (rc == SUCCESS) {
        rc = keepalive(c);
    }
    if (rc != SUCCESS) {
        if (c->isconnected) {
            MQTTCloseSession(c);
        }
        return FAILURE;
    }
    return packet_type;
}

int waitfor(MQTTClient* c, int packet_type, Timer* timer)
{
    int rc = FAILURE;
    if (c == NULL || timer == NULL) {
        return FAILURE;
    }
    do {
        if (TimerIsExpired(timer)) {
            break;
        }
        rc = cycle(c, timer);
    } while (rc != packet_type && rc >= 0);
    return rc;
}

void MQTTRun(void* parm)
{
    Timer timer;
    MQTTClient* c = (MQTTClient*)parm;
    if (c == NULL) {
        return;
    }
    TimerInit(&timer);
    for (;;) {
        LOCK(c);
        TimerCountdownMS(&timer, 500);
        cycle(c, &timer);
        UNLOCK(c);
    }
}

#if defined(MQTT_TASK)
int MQTTStartTask(MQTTClient* client)
{
    if (client == NULL) {
        return FAILURE;
    }
    return ThreadStart(&client->thread, &MQTTRun, client);
}
#endif

int MQTTYield(MQTTClient* c, int timeout_ms)
{
    int rc = SUCCESS;
    Timer timer;
    if (c == NULL) {
        return FAILURE;
    }
    start_timer(&timer, timeout_ms > 0 ? (unsigned int)timeout_ms : 0u);
    do {
        int r = cycle(c, &timer);
        if (r < 0) {
            rc = r == BUFFER_OVERFLOW ? BUFFER_OVERFLOW : FAILURE;
            break;
        }
    } while (!TimerIsExpired(&timer));
    return rc;
}

int MQTTIsConnected(MQTTClient* client)
{
    return client != NULL ? client->isconnected : 0;
}

int MQTTConnectWithResults(MQTTClient* c, MQTTPacket_connectData* options, MQTTConnackData* data)
{
    Timer timer;
    int rc = FAILURE;
    int len;
    MQTTPacket_connectData defaults = MQTTPacket_connectData_initializer;

    if (c == NULL) {
        return FAILURE;
    }
    LOCK(c);
    if (c->isconnected) {
        goto exit;
    }
    start_timer(&timer, c->command_timeout_ms);
    if (options == NULL) {
        options = &defaults;
    }
    c->keepAliveInterval = options->keepAliveInterval;
    c->cleansession = options->cleansession;
    TimerCountdown(&c->last_received, c->keepAliveInterval);
    len = MQTTSerialize_connect(c->buf, clamp_int(c->buf_size), options);
    if (len <= 0 || send_packet(c, len, &timer) != SUCCESS) {
        goto exit;
    }
    if (wait_for_ack(c, CONNACK, -1, &timer) == SUCCESS) {
        unsigned char session_present = 0, code = 0;
        /* MQTTDeserialize_connack passes any code on, as Paho's does; what
         * a broker sends is held to MQTT 3.1.1 (section 3.2.2): a code
         * above 5, or a session with a refusal, is a bad CONNACK. */
        if (MQTTDeserialize_connack(&session_present, &code, c->readbuf, clamp_int(c->readbuf_size)) == 1
            && code <= MQTT_NOT_AUTHORIZED && (code == MQTT_CONNECTION_ACCEPTED || !session_present)) {
            rc = code;
            if (data != NULL) {
                data->rc = code;
                data->sessionPresent = session_present;
            }
        }
    }
exit:
    if (rc == SUCCESS) {
        c->isconnected = 1;
        c->ping_outstanding = 0;
    }
    UNLOCK(c);
    return rc;
}

int MQTTConnect(MQTTClient* c, MQTTPacket_connectData* options)
{
    MQTTConnackData data;
    return MQTTConnectWithResults(c, options, &data);
}

int MQTTSetMessageHandler(MQTTClient* c, const char* topicFilter, messageHandler handler)
{
    int i;
    if (c == NULL || topicFilter == NULL) {
        return FAILURE;
    }
    for (i = 0; i < MAX_MESSAGE_HANDLERS; ++i) {
        const char* filter = c->messageHandlers[i].topicFilter;
        if (filter != NULL && strcmp(filter, topicFilter) == 0) {
            c->messageHandlers[i].topicFilter = handler != NULL ? topicFilter : NULL;
            c->messageHandlers[i].fp = handler;
            return SUCCESS;
        }
    }
    if (handler == NULL) {
        return FAILURE;
    }
    for (i = 0; i < MAX_MESSAGE_HANDLERS; ++i) {
        if (c->messageHandlers[i].topicFilter == NULL) {
            c->messageHandlers[i].topicFilter = topicFilter;
            c->messageHandlers[i].fp = handler;
            return SUCCESS;
        }
    }
    return FAILURE;
}

/* Results of the three request/response calls below: FAILURE after the
 * request was (or could not be) sent closes the session; a request refused
 * before anything was sent (bad arguments, does not fit the send buffer)
 * leaves the connection alone. */
#define CLOSE_ON_FAILURE 1
#define KEEP_ON_FAILURE 0

int MQTTPublish(MQTTClient* c, const char* topicName, MQTTMessage* message)
{
    Timer timer;
    MQTTString topic = MQTTString_initializer;
    int rc = FAILURE;
    int close_session = CLOSE_ON_FAILURE;
    int qos, len;

    if (c == NULL) {
        return FAILURE;
    }
    LOCK(c);
    if (!c->isconnected) {
        goto exit;
    }
    close_session = KEEP_ON_FAILURE;
    if (topicName == NULL || message == NULL || message->payloadlen > (size_t)INT_MAX
        || (message->payload == NULL && message->payloadlen > 0)) {
        goto exit;
    }
    qos = (int)message->qos;
    if (qos != QOS0 && qos != QOS1 && qos != QOS2) {
        goto exit;
    }
    start_timer(&timer, c->command_timeout_ms);
    topic.cstring = (char*)topicName;
    if (qos != QOS0) {
        message->id = next_packet_id(c);
    }
    len = MQTTSerialize_publish(c->buf, clamp_int(c->buf_size), 0, qos, message->retained,
                                qos != QOS0 ? message->id : 0, topic,
                                (unsigned char*)message->payload, (int)message->payloadlen);
    if (len <= 0) {
        goto exit;
    }
    close_session = CLOSE_ON_FAILURE;
    if (send_packet(c, len, &timer) != SUCCESS) {
        goto exit;
    }
    if (qos == QOS1) {
        rc = wait_for_ack(c, PUBACK, message->id, &timer);
    } else if (qos == QOS2) {
        rc = wait_for_ack(c, PUBCOMP, message->id, &timer);
    } else {
        rc = SUCCESS;
    }
exit:
    if (rc == FAILURE && close_session) {
        MQTTCloseSession(c);
    }
    UNLOCK(c);
    return rc;
}

int MQTTSubscribeWithResults(MQTTClient* c, const char* topicFilter, enum QoS qos,
                             messageHandler handler, MQTTSubackData* data)
{
    Timer timer;
    MQTTString topic = MQTTString_initializer;
    int rc = FAILURE;
    int close_session = CLOSE_ON_FAILURE;
    int requested = (int)qos;
    int len;
    unsigned short id;

    if (c == NULL) {
        return FAILURE;
    }
    LOCK(c);
    if (!c->isconnected) {
        goto exit;
    }
    close_session = KEEP_ON_FAILURE;
    if (topicFilter == NULL || requested < QOS0 || requested > QOS2) {
        goto exit;
    }
    start_timer(&timer, c->command_timeout_ms);
    topic.cstring = (char*)topicFilter;
    id = next_packet_id(c);
    len = MQTTSerialize_subscribe(c->buf, clamp_int(c->buf_size), 0, id, 1, &topic, &requested);
    if (len <= 0) {
        goto exit;
    }
    close_session = CLOSE_ON_FAILURE;
    if (send_packet(c, len, &timer) != SUCCESS || wait_for_ack(c, SUBACK, id, &timer) != SUCCESS) {
        goto exit;
    }
    {
        int count = 0, granted = -1;
        unsigned short ack_packet_id = 0;
        if (MQTTDeserialize_suback(&ack_packet_id, 1, &count, &granted, c->readbuf,
                                   clamp_int(c->readbuf_size)) != 1 || count != 1) {
            goto exit;
        }
        if (data != NULL) {
            data->grantedQoS = (enum QoS)granted; /* exactly sizeof(enum QoS) bytes */
        }
        if (granted == SUBFAIL) {
            rc = SUCCESS; /* refused: the caller checks grantedQoS */
        } else {
            rc = MQTTSetMessageHandler(c, topicFilter, handler);
            if (handler == NULL) {
                rc = SUCCESS; /* nothing to register: the default handler gets it */
            }
        }
    }
exit:
    if (rc == FAILURE && close_session) {
        MQTTCloseSession(c);
    }
    UNLOCK(c);
    return rc;
}

int MQTTSubscribe(MQTTClient* c, const char* topicFilter, enum QoS qos, messageHandler handler)
{
    MQTTSubackData data;
    return MQTTSubscribeWithResults(c, topicFilter, qos, handler, &data);
}

int MQTTUnsubscribe(MQTTClient* c, const char* topicFilter)
{
    Timer timer;
    MQTTString topic = MQTTString_initializer;
    int rc = FAILURE;
    int close_session = CLOSE_ON_FAILURE;
    int len;
    unsigned short id;

    if (c == NULL) {
        return FAILURE;
    }
    LOCK(c);
    if (!c->isconnected) {
        goto exit;
    }
    close_session = KEEP_ON_FAILURE;
    if (topicFilter == NULL) {
        goto exit;
    }
    start_timer(&timer, c->command_timeout_ms);
    topic.cstring = (char*)topicFilter;
    id = next_packet_id(c);
    len = MQTTSerialize_unsubscribe(c->buf, clamp_int(c->buf_size), 0, id, 1, &topic);
    if (len <= 0) {
        goto exit;
    }
    close_session = CLOSE_ON_FAILURE;
    if (send_packet(c, len, &timer) == SUCCESS && wait_for_ack(c, UNSUBACK, id, &timer) == SUCCESS) {
        (void)MQTTSetMessageHandler(c, topicFilter, NULL);
        rc = SUCCESS;
    }
exit:
    if (rc == FAILURE && close_session) {
        MQTTCloseSession(c);
    }
    UNLOCK(c);
    return rc;
}

int MQTTDisconnect(MQTTClient* c)
{
    Timer timer;
    int rc = FAILURE;
    int len;

    if (c == NULL) {
        return FAILURE;
    }
    LOCK(c);
    start_timer(&timer, c->command_timeout_ms);
    len = MQTTSerialize_disconnect(c->buf, clamp_int(c->buf_size));
    if (len > 0) {
        rc = send_packet(c, len, &timer);
    }
    MQTTCloseSession(c);
    UNLOCK(c);
    return rc;
}
