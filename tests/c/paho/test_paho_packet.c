/*
 * MQTTPacket through the compat headers: every packet type serialized and
 * compared with the byte sequences of the MQTT 3.1.1 specification, fed to
 * embermq's own codec (emq_paho_codec_reencode: decode + encode must give
 * the same bytes back), and deserialized again. Then bad input (NULL,
 * short buffers, truncated packets) and the Paho defects of the packet
 * layer (spec section 6, items 3, 8-13), the readers and the helpers.
 */
#include <pthread.h>

#include "MQTTPacket.h"
#include "paho_harness.h"

/* libembermq test hook (src/paho/client.rs). */
extern int emq_paho_codec_reencode(const unsigned char* in, int inlen, unsigned char* out, int outlen);

/* Exported by Paho (and embermq) but declared by no header (spec 4.11):
 * firmware that uses them declares them itself, as here. */
int MQTTSerialize_connectLength(MQTTPacket_connectData* options);
int MQTTSerialize_publishLength(int qos, MQTTString topicName, int payloadlen);
int MQTTSerialize_subscribeLength(int count, MQTTString topicFilters[]);
int MQTTSerialize_unsubscribeLength(int count, MQTTString topicFilters[]);
int MQTTSerialize_zero(unsigned char* buf, int buflen, unsigned char packettype);
int MQTTPacket_checkVersion(MQTTString* protocol, int version);
int getLenStringLen(char* ptr);
int bufchar(unsigned char* c, int count);
extern const char* MQTTPacket_names[];

static unsigned char buf[512];

/* Serialized bytes == spec bytes, and embermq's codec agrees. */
static void check_wire(int len, const unsigned char* want, int want_len)
{
    unsigned char again[512];
    CHECK_BYTES(buf, len, want, want_len);
    CHECK_EQ(emq_paho_codec_reencode(buf, len, again, sizeof again), want_len);
    CHECK_BYTES(again, want_len, want, want_len);
}

static int lenstr_is(MQTTString s, const char* want)
{
    return s.cstring == NULL && s.lenstring.len == (int)strlen(want)
           && memcmp(s.lenstring.data, want, strlen(want)) == 0;
}

static void test_connect(void)
{
    MQTTPacket_connectData d = MQTTPacket_connectData_initializer;
    MQTTPacket_connectData out = MQTTPacket_connectData_initializer;
    /* Spec 3.1.2.10: protocol "MQTT", level 4, flags 0xCE (user name,
     * password, will QoS 1, will flag, clean session), keep alive 10. */
    static const unsigned char want[] = {
        0x10, 0x22, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xCE, 0x00, 0x0A,
        0x00, 0x03, 'c', 'i', 'd',
        0x00, 0x03, 'w', '/', 't',
        0x00, 0x04, 'g', 'o', 'n', 'e',
        0x00, 0x02, 'u', 's',
        0x00, 0x02, 'p', 'w'};
    static const unsigned char minimal[] = {
        0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00};
    static const unsigned char v31[] = {
        0x10, 0x13, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x00, 0x00, 0x05,
        0x00, 0x05, 'o', 'l', 'd', 'i', 'e'};
    int len;

    d.clientID = cstr("cid");
    d.keepAliveInterval = 10;
    d.willFlag = 1;
    d.will.topicName = cstr("w/t");
    d.will.message.lenstring.data = "gone";
    d.will.message.lenstring.len = 4;
    d.will.qos = 1;
    d.username = cstr("us");
    d.password = cstr("pw");
    len = MQTTSerialize_connect(buf, sizeof buf, &d);
    check_wire(len, want, sizeof want);
    CHECK_EQ(MQTTSerialize_connectLength(&d), (int)sizeof want - 2);

    CHECK_EQ(MQTTDeserialize_connect(&out, buf, len), 1);
    CHECK(lenstr_is(out.clientID, "cid"));
    CHECK(out.keepAliveInterval == 10 && out.cleansession == 1 && out.willFlag == 1);
    CHECK(out.will.qos == 1 && out.will.retained == 0);
    CHECK(lenstr_is(out.will.topicName, "w/t") && lenstr_is(out.will.message, "gone"));
    CHECK(lenstr_is(out.username, "us") && lenstr_is(out.password, "pw"));
    CHECK(memcmp(out.struct_id, "MQTC", 4) == 0 && out.MQTTVersion == 4); /* not written */

    /* Defaults only: empty client id, clean session, keep alive 60. */
    {
        MQTTPacket_connectData plain = MQTTPacket_connectData_initializer;
        len = MQTTSerialize_connect(buf, sizeof buf, &plain);
        check_wire(len, minimal, sizeof minimal);
    }
    /* MQTT 3.1: "MQIsdp", level 3 (every MQTTVersion other than 4). */
    {
        MQTTPacket_connectData old = MQTTPacket_connectData_initializer;
        old.MQTTVersion = 3;
        old.cleansession = 0;
        old.keepAliveInterval = 5;
        old.clientID = cstr("oldie");
        len = MQTTSerialize_connect(buf, sizeof buf, &old);
        check_wire(len, v31, sizeof v31);
        CHECK_EQ(MQTTDeserialize_connect(&out, buf, len), 1);
        CHECK(out.cleansession == 0 && lenstr_is(out.clientID, "oldie"));
    }

    /* Bad input: NULL, one byte short, invalid options. */
    CHECK_EQ(MQTTSerialize_connect(NULL, 100, &d), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK_EQ(MQTTSerialize_connect(buf, (int)sizeof want - 1, &d), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK(MQTTSerialize_connect(buf, sizeof buf, NULL) <= 0);
    d.will.qos = 3;
    CHECK(MQTTSerialize_connect(buf, sizeof buf, &d) <= 0);
    d.will.qos = 1;
    d.will.topicName = cstr("w/#"); /* wildcard in a will topic */
    CHECK(MQTTSerialize_connect(buf, sizeof buf, &d) <= 0);
    CHECK_EQ(MQTTDeserialize_connect(NULL, (unsigned char*)want, sizeof want), 0);
    CHECK_EQ(MQTTDeserialize_connect(&out, (unsigned char*)want, sizeof want - 1), 0);
    CHECK_EQ(MQTTDeserialize_connect(&out, NULL, 10), 0);
}

static void test_connack(void)
{
    static const unsigned char accepted[] = {0x20, 0x02, 0x00, 0x00};
    static const unsigned char present[] = {0x20, 0x02, 0x01, 0x00};
    static const unsigned char refused[] = {0x20, 0x02, 0x00, 0x05};
    unsigned char sp = 9, rc = 9;
    int len, i;

    len = MQTTSerialize_connack(buf, sizeof buf, 0, 0);
    check_wire(len, accepted, 4);
    len = MQTTSerialize_connack(buf, sizeof buf, 0, 1);
    check_wire(len, present, 4);
    CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, buf, len), 1);
    CHECK(sp == 1 && rc == 0);
    len = MQTTSerialize_connack(buf, sizeof buf, MQTT_NOT_AUTHORIZED, 0);
    check_wire(len, refused, 4);
    CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, buf, len), 1);
    CHECK(sp == 0 && rc == 5);

    /* Defect 11: exactly 4 bytes are needed, and 3 are refused. */
    memset(buf, 0xAA, sizeof buf);
    CHECK_EQ(MQTTSerialize_connack(buf, 3, 0, 0), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK(buf[3] == 0xAA);
    /* Defect 9: every truncation fails and fills nothing, also a body-less
     * CONNACK (which Paho took as "accepted"). */
    for (i = 0; i < 4; i++) {
        sp = rc = 9;
        CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, (unsigned char*)refused, i), 0);
        CHECK(sp == 9 && rc == 9);
    }
    {
        unsigned char bodyless[] = {0x20, 0x00, 0x00, 0x00};
        CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, bodyless, 4), 0);
        CHECK(sp == 9 && rc == 9);
    }
    CHECK_EQ(MQTTDeserialize_connack(NULL, &rc, (unsigned char*)accepted, 4), 0);
    CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, (unsigned char*)present + 0, 2), 0);
    /* Reserved flag bits set: malformed. */
    {
        unsigned char reserved[] = {0x20, 0x02, 0x02, 0x00};
        sp = rc = 9;
        CHECK_EQ(MQTTDeserialize_connack(&sp, &rc, reserved, 4), 0);
        CHECK(sp == 9 && rc == 9);
    }
}

/* Paho embedded-C's own packet test (MQTTPacket/test/test1.c, test 6) sends
 * a CONNACK with return code 77 and a session and reads it back: the
 * serializer writes any code, as Paho's does (issue 21, item 5), and the
 * deserializer reads it back as written. MQTTConnectWithResults is where a
 * code above 5 is refused (test_paho_defects). */
static void test_connack_any_code(void)
{
    static const unsigned char want77[2][4] = {{0x20, 0x02, 0x00, 0x4D}, {0x20, 0x02, 0x01, 0x4D}};
    unsigned char out[100];
    unsigned char session_present;
    char text[64];
    int rc, code;

    for (session_present = 0; session_present < 2; session_present++) {
        /* As test 6 does it: a 100-byte buffer, deserialized with its full length. */
        unsigned char sp2 = (unsigned char)!session_present, rc2 = 0;
        memset(out, 0xEE, sizeof out);
        rc = MQTTSerialize_connack(out, sizeof out, 77, session_present);
        CHECK_EQ(rc, 4);
        CHECK_BYTES(out, rc, want77[session_present], 4);
        CHECK(out[4] == 0xEE);
        CHECK_EQ(MQTTDeserialize_connack(&sp2, &rc2, out, sizeof out), 1);
        CHECK_EQ(rc2, 77);
        CHECK_EQ(sp2, session_present);
        /* ... and with exactly its own length. */
        sp2 = 9;
        rc2 = 9;
        CHECK_EQ(MQTTDeserialize_connack(&sp2, &rc2, out, rc), 1);
        CHECK(sp2 == session_present && rc2 == 77);
        MQTTFormat_toClientString(text, sizeof text, out, rc);
        CHECK(strcmp(text, session_present ? "CONNACK session present 1, rc 77"
                                           : "CONNACK session present 0, rc 77") == 0);
    }
    /* Every code byte, both ways, with and without a session. */
    for (code = 0; code < 256; code++) {
        for (session_present = 0; session_present < 2; session_present++) {
            unsigned char sp2 = 9, rc2 = 9;
            CHECK_EQ(MQTTSerialize_connack(out, 4, (unsigned char)code, session_present), 4);
            CHECK(out[0] == 0x20 && out[1] == 0x02 && out[2] == session_present && out[3] == code);
            CHECK_EQ(MQTTDeserialize_connack(&sp2, &rc2, out, 4), 1);
            CHECK(sp2 == session_present && rc2 == code);
        }
    }
    /* Still exactly 4 bytes needed (defect 11). */
    CHECK_EQ(MQTTSerialize_connack(out, 3, 77, 1), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK_EQ(MQTTSerialize_connack(NULL, 4, 77, 1), MQTTPACKET_BUFFER_TOO_SHORT);
    /* embermq's own codec stays strict about what a broker may send. */
    CHECK_EQ(emq_paho_codec_reencode(want77[0], 4, out, sizeof out), -1);
    CHECK_EQ(emq_paho_codec_reencode(want77[1], 4, out, sizeof out), -1);
}

static void test_publish(void)
{
    /* Spec 3.3.2.3: topic "a/b", packet id 10. */
    static const unsigned char qos1[] = {0x33, 0x0C, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A,
                                         'h', 'e', 'l', 'l', 'o'};
    static const unsigned char qos0[] = {0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'};
    unsigned char dup = 9, retained = 9, *payload = NULL;
    unsigned short id = 0;
    int qos = 9, payloadlen = -1, len, i;
    MQTTString topic = MQTTString_initializer;

    len = MQTTSerialize_publish(buf, sizeof buf, 0, 1, 1, 10, cstr("a/b"), (unsigned char*)"hello", 5);
    check_wire(len, qos1, sizeof qos1);
    CHECK_EQ(MQTTSerialize_publishLength(1, cstr("a/b"), 5), (int)sizeof qos1 - 2);
    CHECK_EQ(MQTTDeserialize_publish(&dup, &qos, &retained, &id, &topic, &payload, &payloadlen, buf, len), 1);
    CHECK(dup == 0 && qos == 1 && retained == 1 && id == 10);
    CHECK(lenstr_is(topic, "a/b") && topic.lenstring.data == (char*)buf + 4);
    CHECK(payloadlen == 5 && payload == buf + 9 && memcmp(payload, "hello", 5) == 0);

    /* QoS 0: no packet id on the wire, *packetid left alone. */
    len = MQTTSerialize_publish(buf, sizeof buf, 0, 0, 0, 77, cstr("a/b"), (unsigned char*)"hi", 2);
    check_wire(len, qos0, sizeof qos0);
    id = 4242;
    CHECK_EQ(MQTTDeserialize_publish(&dup, &qos, &retained, &id, &topic, &payload, &payloadlen, buf, len), 1);
    CHECK(qos == 0 && id == 4242 && payloadlen == 2);

    /* QoS 2 with DUP, an empty payload and a 200-byte one (2-byte length). */
    len = MQTTSerialize_publish(buf, sizeof buf, 1, 2, 0, 65535, cstr("x"), NULL, 0);
    {
        static const unsigned char want[] = {0x3C, 0x05, 0x00, 0x01, 'x', 0xFF, 0xFF};
        check_wire(len, want, sizeof want);
    }
    {
        unsigned char big[200];
        unsigned char again[512];
        memset(big, 'z', sizeof big);
        len = MQTTSerialize_publish(buf, sizeof buf, 0, 1, 0, 3, cstr("t"), big, sizeof big);
        CHECK_EQ(len, 3 + 3 + 2 + 200);
        CHECK(buf[1] == ((205 & 0x7F) | 0x80) && buf[2] == 1);
        CHECK_EQ(emq_paho_codec_reencode(buf, len, again, sizeof again), len);
        CHECK_BYTES(again, len, buf, len);
        CHECK_EQ(MQTTDeserialize_publish(&dup, &qos, &retained, &id, &topic, &payload, &payloadlen, buf, len), 1);
        CHECK(payloadlen == 200 && payload[199] == 'z' && id == 3);
    }

    /* Defect 13: both cstring and lenstring set: lenstring is written and
     * the length is computed from it. */
    {
        MQTTString both = MQTTString_initializer;
        both.cstring = "a/much/longer/topic";
        both.lenstring.data = "a/b";
        both.lenstring.len = 3;
        len = MQTTSerialize_publish(buf, sizeof buf, 0, 1, 1, 10, both, (unsigned char*)"hello", 5);
        check_wire(len, qos1, sizeof qos1);
        CHECK_EQ(MQTTSerialize_publishLength(1, both, 5), (int)sizeof qos1 - 2);
        CHECK_EQ(MQTTstrlen(both), 19); /* MQTTstrlen keeps its own rule */
    }

    /* Bad input. */
    CHECK_EQ(MQTTSerialize_publish(buf, (int)sizeof qos1 - 1, 0, 1, 1, 10, cstr("a/b"), (unsigned char*)"hello", 5),
             MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK(MQTTSerialize_publish(buf, sizeof buf, 0, 3, 0, 1, cstr("a/b"), NULL, 0) <= 0);
    CHECK(MQTTSerialize_publish(buf, sizeof buf, 0, 1, 0, 0, cstr("a/b"), NULL, 0) <= 0); /* id 0 */
    CHECK(MQTTSerialize_publish(buf, sizeof buf, 0, 0, 0, 0, cstr("a/+"), NULL, 0) <= 0);
    CHECK(MQTTSerialize_publish(buf, sizeof buf, 0, 0, 0, 0, cstr(""), NULL, 0) <= 0);
    CHECK(MQTTSerialize_publish(buf, sizeof buf, 0, 0, 0, 0, cstr("a"), NULL, 5) <= 0);
    for (i = 0; i < (int)sizeof qos1; i++) {
        id = 1;
        CHECK_EQ(MQTTDeserialize_publish(&dup, &qos, &retained, &id, &topic, &payload, &payloadlen,
                                         (unsigned char*)qos1, i), 0);
        CHECK(id == 1);
    }
    CHECK_EQ(MQTTDeserialize_publish(NULL, &qos, &retained, &id, &topic, &payload, &payloadlen,
                                     (unsigned char*)qos1, sizeof qos1), 0);
}

static void test_acks(void)
{
    static const struct {
        unsigned char type;
        unsigned char first;
    } acks[] = {{PUBACK, 0x40}, {PUBREC, 0x50}, {PUBREL, 0x62}, {PUBCOMP, 0x70}, {UNSUBACK, 0xB0}};
    unsigned char type, dup;
    unsigned short id;
    size_t i;
    int len, n;

    for (i = 0; i < sizeof acks / sizeof acks[0]; i++) {
        unsigned char want[4] = {0, 0x02, 0x00, 0x0A};
        want[0] = acks[i].first;
        len = MQTTSerialize_ack(buf, sizeof buf, acks[i].type, 0, 10);
        check_wire(len, want, 4);
        type = dup = 9;
        id = 0;
        CHECK_EQ(MQTTDeserialize_ack(&type, &dup, &id, buf, len), 1);
        CHECK(type == acks[i].type && dup == 0 && id == 10);
        for (n = 0; n < 4; n++) {
            id = 1;
            CHECK_EQ(MQTTDeserialize_ack(&type, &dup, &id, want, n), 0);
            CHECK(id == 1);
        }
        CHECK_EQ(MQTTSerialize_ack(buf, 3, acks[i].type, 0, 10), MQTTPACKET_BUFFER_TOO_SHORT);
    }
    {
        static const unsigned char puback[] = {0x40, 0x02, 0x12, 0x34};
        static const unsigned char pubrel[] = {0x62, 0x02, 0x00, 0x07};
        static const unsigned char pubcomp[] = {0x70, 0x02, 0xFF, 0xFE};
        static const unsigned char unsuback[] = {0xB0, 0x02, 0x00, 0x0A};
        len = MQTTSerialize_puback(buf, sizeof buf, 0x1234);
        check_wire(len, puback, 4);
        len = MQTTSerialize_pubrel(buf, sizeof buf, 0, 7);
        check_wire(len, pubrel, 4);
        len = MQTTSerialize_pubcomp(buf, sizeof buf, 0xFFFE);
        check_wire(len, pubcomp, 4);
        len = MQTTSerialize_unsuback(buf, sizeof buf, 10);
        check_wire(len, unsuback, 4);
        CHECK_EQ(MQTTDeserialize_unsuback(&id, buf, len), 1);
        CHECK(id == 10);
        /* Defect 11: 4 bytes, not 2. */
        CHECK_EQ(MQTTSerialize_unsuback(buf, 2, 10), MQTTPACKET_BUFFER_TOO_SHORT);
        CHECK_EQ(MQTTSerialize_unsuback(buf, 3, 10), MQTTPACKET_BUFFER_TOO_SHORT);
        /* Defect 10: unsuback accepts only UNSUBACK. */
        id = 1;
        CHECK_EQ(MQTTDeserialize_unsuback(&id, (unsigned char*)puback, 4), 0);
        CHECK(id == 1);
        /* PUBREL with wrong flag bits is malformed in 3.1.1. */
        {
            unsigned char bad[] = {0x60, 0x02, 0x00, 0x07};
            CHECK_EQ(MQTTDeserialize_ack(&type, &dup, &id, bad, 4), 0);
        }
    }
    CHECK(MQTTSerialize_ack(buf, sizeof buf, PUBACK, 0, 0) <= 0); /* id 0 */
    CHECK(MQTTSerialize_ack(buf, sizeof buf, CONNECT, 0, 1) <= 0);
    CHECK_EQ(MQTTSerialize_ack(NULL, 4, PUBACK, 0, 1), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK_EQ(MQTTDeserialize_ack(NULL, &dup, &id, buf, 4), 0);
}

static void test_subscribe(void)
{
    /* Spec 3.8.3.1 and 3.9.3 examples, packet id 10. */
    static const unsigned char sub[] = {0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x01,
                                        0x00, 0x03, 'c', '/', 'd', 0x02};
    static const unsigned char suback[] = {0x90, 0x06, 0x00, 0x0A, 0x00, 0x01, 0x02, 0x80};
    MQTTString filters[2];
    MQTTString out[3];
    int qoss[2] = {1, 2};
    int got_qos[3] = {-1, -1, -1};
    int granted[5] = {0, 1, 2, 0x80, 77};
    int count = 0, len, i;
    unsigned char dup = 9;
    unsigned short id = 0;

    filters[0] = cstr("a/b");
    filters[1] = cstr("c/d");
    len = MQTTSerialize_subscribe(buf, sizeof buf, 0, 10, 2, filters, qoss);
    check_wire(len, sub, sizeof sub);
    CHECK_EQ(MQTTSerialize_subscribeLength(2, filters), (int)sizeof sub - 2);
    CHECK_EQ(MQTTDeserialize_subscribe(&dup, &id, 3, &count, out, got_qos, buf, len), 1);
    CHECK(dup == 0 && id == 10 && count == 2);
    CHECK(lenstr_is(out[0], "a/b") && lenstr_is(out[1], "c/d"));
    CHECK(got_qos[0] == 1 && got_qos[1] == 2 && got_qos[2] == -1);
    /* Server side: more filters than maxcount is -1 (nothing stored past it). */
    got_qos[1] = -1;
    CHECK_EQ(MQTTDeserialize_subscribe(&dup, &id, 1, &count, out, got_qos, buf, len), MQTTPACKET_READ_ERROR);
    CHECK(got_qos[1] == -1);
    CHECK_EQ(MQTTDeserialize_subscribe(&dup, &id, 3, &count, out, got_qos, buf, len - 1), MQTTPACKET_READ_ERROR);

    len = MQTTSerialize_suback(buf, sizeof buf, 10, 4, granted);
    check_wire(len, suback, sizeof suback);
    /* Defect 11: 4 + count bytes. */
    CHECK_EQ(MQTTSerialize_suback(buf, 7, 10, 4, granted), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK(MQTTSerialize_suback(buf, sizeof buf, 10, 5, granted) <= 0); /* 77 is no code */

    /* Defects 3 and 8: at most maxcount codes stored, 0x80 read unsigned. */
    {
        int codes[5] = {-1, -1, -1, -1, 12345};
        unsigned short pid = 0;
        CHECK_EQ(MQTTDeserialize_suback(&pid, 4, &count, codes, (unsigned char*)suback, sizeof suback), 1);
        CHECK(pid == 10 && count == 4);
        CHECK(codes[0] == 0 && codes[1] == 1 && codes[2] == 2 && codes[3] == 0x80 && codes[4] == 12345);
        for (i = 0; i < 5; i++) codes[i] = -1;
        codes[4] = 12345;
        count = -7;
        CHECK_EQ(MQTTDeserialize_suback(&pid, 3, &count, codes, (unsigned char*)suback, sizeof suback),
                 MQTTPACKET_READ_ERROR);
        CHECK(codes[3] == -1 && codes[4] == 12345 && count == -7);
        for (i = 0; i < (int)sizeof suback; i++) {
            CHECK_EQ(MQTTDeserialize_suback(&pid, 4, &count, codes, (unsigned char*)suback, i), 0);
        }
        CHECK_EQ(MQTTDeserialize_suback(&pid, 4, &count, codes, (unsigned char*)sub, sizeof sub), 0);
    }

    /* Bad input. */
    CHECK_EQ(MQTTSerialize_subscribe(buf, (int)sizeof sub - 1, 0, 10, 2, filters, qoss), MQTTPACKET_BUFFER_TOO_SHORT);
    qoss[1] = 3;
    CHECK(MQTTSerialize_subscribe(buf, sizeof buf, 0, 10, 2, filters, qoss) <= 0);
    qoss[1] = 2;
    filters[1] = cstr("c/#/d");
    CHECK(MQTTSerialize_subscribe(buf, sizeof buf, 0, 10, 2, filters, qoss) <= 0);
    CHECK(MQTTSerialize_subscribe(buf, sizeof buf, 0, 10, 0, filters, qoss) <= 0);
    CHECK(MQTTSerialize_subscribe(buf, sizeof buf, 0, 10, 1, NULL, qoss) <= 0);
}

static void test_unsubscribe(void)
{
    /* Spec 3.10.3 example. */
    static const unsigned char unsub[] = {0xA2, 0x0C, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b',
                                          0x00, 0x03, 'c', '/', 'd'};
    MQTTString filters[2];
    MQTTString out[2];
    int count = 0, len;
    unsigned char dup = 9;
    unsigned short id = 0;

    filters[0] = cstr("a/b");
    filters[1].cstring = NULL;
    filters[1].lenstring.data = "c/dXXX";
    filters[1].lenstring.len = 3;
    len = MQTTSerialize_unsubscribe(buf, sizeof buf, 0, 10, 2, filters);
    check_wire(len, unsub, sizeof unsub);
    CHECK_EQ(MQTTSerialize_unsubscribeLength(2, filters), (int)sizeof unsub - 2);
    CHECK_EQ(MQTTDeserialize_unsubscribe(&dup, &id, 2, &count, out, buf, len), 1);
    CHECK(id == 10 && count == 2 && lenstr_is(out[0], "a/b") && lenstr_is(out[1], "c/d"));
    /* Defect 10: max_count is enforced. */
    count = -1;
    CHECK_EQ(MQTTDeserialize_unsubscribe(&dup, &id, 1, &count, out, buf, len), 0);
    CHECK(count == -1);
    CHECK_EQ(MQTTDeserialize_unsubscribe(&dup, &id, 2, &count, out, buf, len - 1), 0);
    CHECK_EQ(MQTTSerialize_unsubscribe(buf, (int)sizeof unsub - 1, 0, 10, 2, filters), MQTTPACKET_BUFFER_TOO_SHORT);
}

static void test_zero_length(void)
{
    static const unsigned char pingreq[] = {0xC0, 0x00};
    static const unsigned char pingresp[] = {0xD0, 0x00};
    static const unsigned char disconnect[] = {0xE0, 0x00};
    int len;
    len = MQTTSerialize_pingreq(buf, sizeof buf);
    check_wire(len, pingreq, 2);
    len = MQTTSerialize_zero(buf, sizeof buf, PINGRESP);
    check_wire(len, pingresp, 2);
    len = MQTTSerialize_disconnect(buf, sizeof buf);
    check_wire(len, disconnect, 2);
    CHECK_EQ(MQTTSerialize_disconnect(buf, 1), MQTTPACKET_BUFFER_TOO_SHORT);
    CHECK_EQ(MQTTSerialize_pingreq(NULL, 0), MQTTPACKET_BUFFER_TOO_SHORT);
}

/* ---- helpers --------------------------------------------------------------- */

static void test_helpers(void)
{
    static const struct {
        int value;
        int len;
        unsigned char bytes[4];
    } lengths[] = {{0, 1, {0x00}}, {127, 1, {0x7F}}, {128, 2, {0x80, 0x01}}, {16383, 2, {0xFF, 0x7F}},
                   {16384, 3, {0x80, 0x80, 0x01}}, {2097151, 3, {0xFF, 0xFF, 0x7F}},
                   {2097152, 4, {0x80, 0x80, 0x80, 0x01}}, {268435455, 4, {0xFF, 0xFF, 0xFF, 0x7F}}};
    unsigned char out[16];
    unsigned char* p;
    size_t i;
    int value;
    MQTTString s = MQTTString_initializer;

    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        CHECK_EQ(MQTTPacket_encode(out, lengths[i].value), lengths[i].len);
        CHECK_BYTES(out, lengths[i].len, lengths[i].bytes, lengths[i].len);
        value = -1;
        CHECK_EQ(MQTTPacket_decodeBuf(out, &value), lengths[i].len);
        CHECK_EQ(value, lengths[i].value);
        CHECK_EQ(MQTTPacket_len(lengths[i].value), 1 + lengths[i].len + lengths[i].value);
    }
    {
        unsigned char five[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};
        CHECK(MQTTPacket_decodeBuf(five, &value) < 0);
        CHECK_EQ(MQTTPacket_encode(out, 268435456), 0);
    }

    p = out;
    writeInt(&p, 0xBEEF);
    writeChar(&p, (char)0x80);
    writeCString(&p, "ab");
    s.lenstring.data = "xyz";
    s.lenstring.len = 3;
    writeMQTTString(&p, s);
    CHECK(p == out + 2 + 1 + 4 + 5);
    {
        static const unsigned char want[] = {0xBE, 0xEF, 0x80, 0x00, 0x02, 'a', 'b', 0x00, 0x03, 'x', 'y', 'z'};
        CHECK_BYTES(out, 12, want, 12);
    }
    p = out;
    CHECK_EQ(readInt(&p), 0xBEEF);
    CHECK(readChar(&p) == (char)0x80);
    CHECK(p == out + 3);
    CHECK_EQ(readMQTTLenString(&s, &p, out + 6), 0); /* runs past enddata */
    CHECK(p == out + 3);
    CHECK_EQ(readMQTTLenString(&s, &p, out + 7), 1);
    CHECK(p == out + 7 && s.cstring == NULL && s.lenstring.len == 2 && s.lenstring.data == (char*)out + 5);
    CHECK_EQ(getLenStringLen((char*)out + 7), 3);
    /* bufchar reads on from where the last decodeBuf started. */
    {
        unsigned char enc[4], two[2];
        CHECK_EQ(MQTTPacket_encode(enc, 200), 2);
        CHECK_EQ(MQTTPacket_decodeBuf(enc, &value), 2);
        CHECK_EQ(bufchar(two, 2), 2);
        CHECK_BYTES(two, 2, enc, 2);
    }

    CHECK_EQ(MQTTstrlen(cstr("hello")), 5);
    CHECK_EQ(MQTTPacket_equals(&s, "ab"), 1);
    CHECK_EQ(MQTTPacket_equals(&s, "abc"), 0);
    CHECK_EQ(MQTTPacket_equals(&s, "a"), 0);
    {
        MQTTString mqtt = cstr("MQTT"), isdp = cstr("MQIsdp");
        CHECK_EQ(MQTTPacket_checkVersion(&mqtt, 4), 1);
        CHECK_EQ(MQTTPacket_checkVersion(&isdp, 3), 1);
        CHECK_EQ(MQTTPacket_checkVersion(&mqtt, 3), 0);
    }
}

/* A byte stream for the readers: serves `stream`, `step` bytes per call
 * at most (readnb), with a "no data" answer every other call. */
static const unsigned char* stream;
static int stream_len, stream_at;

static int getfn(unsigned char* dst, int count)
{
    if (count < 0 || stream_at + count > stream_len) {
        return -1;
    }
    memcpy(dst, stream + stream_at, (size_t)count);
    stream_at += count;
    return count;
}

static int getcharfn(unsigned char* dst, int count)
{
    return getfn(dst, count);
}

static int nb_calls;

static int getfn_nb(void* sck, unsigned char* dst, int count)
{
    int n;
    (void)sck;
    if (++nb_calls % 2 == 0) {
        return 0;
    }
    n = count < 3 ? count : 3;
    if (stream_at + n > stream_len) {
        n = stream_len - stream_at;
    }
    if (n <= 0) {
        return stream_at >= stream_len ? 0 : -1;
    }
    memcpy(dst, stream + stream_at, (size_t)n);
    stream_at += n;
    return n;
}

static void test_readers(void)
{
    unsigned char data[400];
    unsigned char small[32];
    int big_len, small_len, len, rc, value, i;
    MQTTTransport trp;

    /* A 300-byte PUBLISH, then a PUBACK and a 20-byte PUBLISH. */
    {
        unsigned char payload[290];
        memset(payload, 'p', sizeof payload);
        big_len = MQTTSerialize_publish(data, sizeof data, 0, 0, 0, 0, cstr("big"), payload, sizeof payload);
        CHECK(big_len > 290);
    }
    len = MQTTSerialize_puback(data + big_len, (int)sizeof data - big_len, 99);
    small_len = MQTTSerialize_publish(data + big_len + len, (int)sizeof data - big_len - len, 0, 1, 0, 5,
                                      cstr("s"), (unsigned char*)"tiny", 4);
    stream = data;
    stream_len = big_len + len + small_len;

    /* MQTTPacket_read: the oversized packet is consumed whole, then the
     * next packets come out in step. */
    stream_at = 0;
    CHECK_EQ(MQTTPacket_read(small, sizeof small, getfn), -1);
    CHECK_EQ(stream_at, big_len);
    CHECK_EQ(MQTTPacket_read(small, sizeof small, getfn), PUBACK);
    CHECK_BYTES(small, 4, data + big_len, 4);
    CHECK_EQ(MQTTPacket_read(small, sizeof small, getfn), PUBLISH);
    CHECK_BYTES(small, small_len, data + big_len + len, small_len);
    CHECK_EQ(MQTTPacket_read(small, sizeof small, getfn), -1); /* end of stream */
    CHECK_EQ(MQTTPacket_read(small, sizeof small, NULL), -1);
    CHECK_EQ(MQTTPacket_read(NULL, 0, getfn), -1);

    /* MQTTPacket_decode through getcharfn. */
    stream = (const unsigned char*)"\x80\x80\x01";
    stream_len = 3;
    stream_at = 0;
    CHECK_EQ(MQTTPacket_decode(getcharfn, &value), 3);
    CHECK_EQ(value, 16384);
    CHECK(MQTTPacket_decode(getcharfn, &value) < 0); /* no more bytes */

    /* MQTTPacket_readnb: at most 3 bytes per call, "no data" in between. */
    stream = data;
    stream_len = big_len + len + small_len;
    stream_at = big_len;
    memset(&trp, 0, sizeof trp);
    trp.getfn = getfn_nb;
    nb_calls = 0;
    for (i = 0, rc = 0; rc == 0 && i < 100; i++) {
        rc = MQTTPacket_readnb(small, sizeof small, &trp);
    }
    CHECK_EQ(rc, PUBACK);
    CHECK_BYTES(small, 4, data + big_len, 4);
    CHECK(trp.state == 0);
    for (i = 0, rc = 0; rc == 0 && i < 100; i++) {
        rc = MQTTPacket_readnb(small, sizeof small, &trp);
    }
    CHECK_EQ(rc, PUBLISH);
    CHECK_BYTES(small, small_len, data + big_len + len, small_len);
    /* Too big for the buffer: -1 and the state starts over. */
    stream_at = 0;
    for (i = 0, rc = 0; rc == 0 && i < 100; i++) {
        rc = MQTTPacket_readnb(small, sizeof small, &trp);
    }
    CHECK_EQ(rc, -1);
    CHECK(trp.state == 0);
    CHECK_EQ(MQTTPacket_readnb(small, sizeof small, NULL), -1);
}

/* ---- formatting --------------------------------------------------------------- */

static void test_format(void)
{
    char text[256];
    char tiny[8 + 4];
    int len, need;

    CHECK(strcmp(MQTTPacket_getName(PUBLISH), "PUBLISH") == 0);
    CHECK(strcmp(MQTTPacket_getName(0), "RESERVED") == 0);
    CHECK(strcmp(MQTTPacket_getName(DISCONNECT), "DISCONNECT") == 0);
    CHECK(MQTTPacket_getName(15) != NULL && MQTTPacket_getName(500) != NULL);
    CHECK(strcmp(MQTTPacket_names[SUBACK], "SUBACK") == 0);

    len = MQTTSerialize_publish(buf, sizeof buf, 0, 1, 0, 10, cstr("a/b"), (unsigned char*)"hello", 5);
    CHECK(MQTTFormat_toClientString(text, sizeof text, buf, len) == text);
    CHECK(strstr(text, "PUBLISH") != NULL && strstr(text, "a/b") != NULL && strstr(text, "hello") != NULL);
    len = MQTTSerialize_connack(buf, sizeof buf, 0, 1);
    MQTTFormat_toClientString(text, sizeof text, buf, len);
    CHECK(strcmp(text, "CONNACK session present 1, rc 0") == 0);
    CHECK_EQ(MQTTStringFormat_ack(text, sizeof text, PUBACK, 0, 7), (int)strlen("PUBACK, packet id 7"));
    CHECK(strcmp(text, "PUBACK, packet id 7") == 0);

    /* snprintf rules: the needed length, a NUL, never past the buffer
     * (defect 11: toServerString wrote one byte past strbuf). */
    memset(tiny, '#', sizeof tiny);
    need = MQTTStringFormat_connack(tiny, 8, 0, 0);
    CHECK_EQ(need, (int)strlen("CONNACK session present 0, rc 0"));
    CHECK(tiny[7] == '\0' && strlen(tiny) == 7);
    CHECK(tiny[8] == '#' && tiny[11] == '#');
    {
        MQTTPacket_connectData d = MQTTPacket_connectData_initializer;
        d.clientID = cstr("a-client-with-a-long-id");
        len = MQTTSerialize_connect(buf, sizeof buf, &d);
        memset(tiny, '#', sizeof tiny);
        CHECK(MQTTFormat_toServerString(tiny, 8, buf, len) == tiny);
        CHECK(tiny[7] == '\0' && tiny[8] == '#');
        MQTTFormat_toServerString(text, sizeof text, buf, len);
        CHECK(strstr(text, "CONNECT") != NULL && strstr(text, "a-client-with-a-long-id") != NULL);
        /* A client never receives CONNECT: strbuf is left alone. */
        strcpy(text, "untouched");
        MQTTFormat_toClientString(text, sizeof text, buf, len);
        CHECK(strcmp(text, "untouched") == 0);
    }
}

/* ---- defect 12: decodeBuf is re-entrant ---------------------------------------- */

static void* decode_many(void* arg)
{
    unsigned char* bytes = arg;
    int i, value, expect = bytes[0] == 0x80 ? 16384 : 127;
    for (i = 0; i < 200000; i++) {
        value = -1;
        if (MQTTPacket_decodeBuf(bytes, &value) < 1 || value != expect) {
            return (void*)1;
        }
    }
    return NULL;
}

static void test_decodebuf_threads(void)
{
    static unsigned char a[] = {0x80, 0x80, 0x01, 0x00};
    static unsigned char b[] = {0x7F, 0x00, 0x00, 0x00};
    pthread_t ta, tb;
    void *ra, *rb;
    CHECK(pthread_create(&ta, NULL, decode_many, a) == 0);
    CHECK(pthread_create(&tb, NULL, decode_many, b) == 0);
    CHECK(pthread_join(ta, &ra) == 0 && pthread_join(tb, &rb) == 0);
    CHECK(ra == NULL && rb == NULL);
}

int main(void)
{
    test_connect();
    test_connack();
    test_connack_any_code();
    test_publish();
    test_acks();
    test_subscribe();
    test_unsubscribe();
    test_zero_length();
    test_helpers();
    test_readers();
    test_format();
    test_decodebuf_threads();
    printf("paho packet: every packet type matches the spec bytes and embermq's codec; "
           "bad input, readers, helpers and formatting ok\n");
    return 0;
}
