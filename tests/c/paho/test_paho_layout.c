/*
 * Layout of the public Paho structs (spec sections 2.3, 4.3, 4.4, 4.8 and
 * 5.2/5.3): sizeof and offsetof checked at compile time with
 * _Static_assert, on the host (x86_64, Linux port: 16-byte Timer) and,
 * compile-only, with arm-none-eabi-gcc for Cortex-M (4-byte Timer, short
 * enums; and -fno-short-enums, which gives the xtensa / rv32 figures).
 * On the host the program also checks the bit-field unions, the
 * initializers and DefaultClient at run time.
 */
#include <stddef.h>

#include "MQTTClient.h"

#define SA(cond) _Static_assert(cond, #cond)

#define N MAX_MESSAGE_HANDLERS
#define T sizeof(Timer)

#if defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
/* LP64 */
SA(sizeof(enum QoS) == 4);
SA(sizeof(MQTTMessage) == 24);
SA(offsetof(MQTTMessage, retained) == 4);
SA(offsetof(MQTTMessage, dup) == 5);
SA(offsetof(MQTTMessage, id) == 6);
SA(offsetof(MQTTMessage, payload) == 8);
SA(offsetof(MQTTMessage, payloadlen) == 16);
SA(sizeof(MessageData) == 16 && offsetof(MessageData, topicName) == 8);
SA(sizeof(MQTTSubackData) == 4);
SA(sizeof(MQTTLenString) == 16 && offsetof(MQTTLenString, data) == 8);
SA(sizeof(MQTTString) == 24 && offsetof(MQTTString, lenstring) == 8);
SA(sizeof(MQTTPacket_willOptions) == 64);
SA(offsetof(MQTTPacket_willOptions, struct_version) == 4);
SA(offsetof(MQTTPacket_willOptions, topicName) == 8);
SA(offsetof(MQTTPacket_willOptions, message) == 32);
SA(offsetof(MQTTPacket_willOptions, retained) == 56);
SA(offsetof(MQTTPacket_willOptions, qos) == 57);
SA(sizeof(MQTTPacket_connectData) == 160);
SA(offsetof(MQTTPacket_connectData, MQTTVersion) == 8);
SA(offsetof(MQTTPacket_connectData, clientID) == 16);
SA(offsetof(MQTTPacket_connectData, keepAliveInterval) == 40);
SA(offsetof(MQTTPacket_connectData, cleansession) == 42);
SA(offsetof(MQTTPacket_connectData, willFlag) == 43);
SA(offsetof(MQTTPacket_connectData, will) == 48);
SA(offsetof(MQTTPacket_connectData, username) == 112);
SA(offsetof(MQTTPacket_connectData, password) == 136);
SA(sizeof(MQTTTransport) == 32);
SA(offsetof(MQTTTransport, sck) == 8);
SA(offsetof(MQTTTransport, multiplier) == 16);
SA(offsetof(MQTTTransport, rem_len) == 20);
SA(offsetof(MQTTTransport, len) == 24);
SA(offsetof(MQTTTransport, state) == 28);
SA(sizeof(struct MessageHandlers) == 16 && offsetof(struct MessageHandlers, fp) == 8);
SA(offsetof(MQTTClient, command_timeout_ms) == 4);
SA(offsetof(MQTTClient, buf_size) == 8);
SA(offsetof(MQTTClient, readbuf_size) == 16);
SA(offsetof(MQTTClient, buf) == 24);
SA(offsetof(MQTTClient, readbuf) == 32);
SA(offsetof(MQTTClient, keepAliveInterval) == 40);
SA(offsetof(MQTTClient, ping_outstanding) == 44);
SA(offsetof(MQTTClient, isconnected) == 48);
SA(offsetof(MQTTClient, cleansession) == 52);
SA(offsetof(MQTTClient, messageHandlers) == 56);
SA(offsetof(MQTTClient, defaultMessageHandler) == 56 + 16 * N);
SA(offsetof(MQTTClient, ipstack) == 64 + 16 * N);
SA(offsetof(MQTTClient, last_sent) == 72 + 16 * N);
SA(offsetof(MQTTClient, last_received) == 72 + 16 * N + T);
#if !defined(MQTT_TASK)
SA(sizeof(MQTTClient) == ((72 + 16 * N + 2 * T + 7) / 8) * 8);
#endif
#if defined(__MQTT_LINUX_)
SA(sizeof(Timer) == 16 && sizeof(Network) == 24);
SA(offsetof(Network, mqttread) == 8 && offsetof(Network, mqttwrite) == 16);
#if N == 5 && !defined(MQTT_TASK)
/* The measured figures of spec section 5.2 (x86_64, Linux port). */
SA(sizeof(MQTTClient) == 184);
SA(offsetof(MQTTClient, defaultMessageHandler) == 136);
SA(offsetof(MQTTClient, ipstack) == 144);
SA(offsetof(MQTTClient, last_sent) == 152);
SA(offsetof(MQTTClient, last_received) == 168);
#endif
#endif

#elif defined(__arm__) || defined(__xtensa__) || (defined(__riscv) && __riscv_xlen == 32)
/* ILP32 */
#if defined(__ARM_EABI__) && __ARM_SIZEOF_MINIMAL_ENUM == 1
/* arm-none-eabi with short enums (its default) */
SA(sizeof(enum QoS) == 1);
SA(sizeof(MQTTMessage) == 16);
SA(offsetof(MQTTMessage, retained) == 1);
SA(offsetof(MQTTMessage, dup) == 2);
SA(offsetof(MQTTMessage, id) == 4);
SA(sizeof(MQTTSubackData) == 1);
#else
/* 4-byte enums: xtensa, rv32, ARM with -fno-short-enums */
SA(sizeof(enum QoS) == 4);
SA(sizeof(MQTTMessage) == 16);
SA(offsetof(MQTTMessage, retained) == 4);
SA(offsetof(MQTTMessage, dup) == 5);
SA(offsetof(MQTTMessage, id) == 6);
SA(sizeof(MQTTSubackData) == 4);
#endif
SA(offsetof(MQTTMessage, payload) == 8);
SA(offsetof(MQTTMessage, payloadlen) == 12);
SA(sizeof(MessageData) == 8 && offsetof(MessageData, topicName) == 4);
SA(sizeof(MQTTLenString) == 8 && offsetof(MQTTLenString, data) == 4);
SA(sizeof(MQTTString) == 12 && offsetof(MQTTString, lenstring) == 4);
SA(sizeof(MQTTPacket_willOptions) == 36);
SA(offsetof(MQTTPacket_willOptions, topicName) == 8);
SA(offsetof(MQTTPacket_willOptions, message) == 20);
SA(offsetof(MQTTPacket_willOptions, retained) == 32);
SA(offsetof(MQTTPacket_willOptions, qos) == 33);
SA(sizeof(MQTTPacket_connectData) == 88);
SA(offsetof(MQTTPacket_connectData, MQTTVersion) == 8);
SA(offsetof(MQTTPacket_connectData, clientID) == 12);
SA(offsetof(MQTTPacket_connectData, keepAliveInterval) == 24);
SA(offsetof(MQTTPacket_connectData, cleansession) == 26);
SA(offsetof(MQTTPacket_connectData, willFlag) == 27);
SA(offsetof(MQTTPacket_connectData, will) == 28);
SA(offsetof(MQTTPacket_connectData, username) == 64);
SA(offsetof(MQTTPacket_connectData, password) == 76);
SA(sizeof(MQTTTransport) == 24);
SA(offsetof(MQTTTransport, sck) == 4);
SA(offsetof(MQTTTransport, multiplier) == 8);
SA(offsetof(MQTTTransport, rem_len) == 12);
SA(offsetof(MQTTTransport, len) == 16);
SA(offsetof(MQTTTransport, state) == 20);
SA(sizeof(struct MessageHandlers) == 8 && offsetof(struct MessageHandlers, fp) == 4);
SA(offsetof(MQTTClient, command_timeout_ms) == 4);
SA(offsetof(MQTTClient, buf_size) == 8);
SA(offsetof(MQTTClient, readbuf_size) == 12);
SA(offsetof(MQTTClient, buf) == 16);
SA(offsetof(MQTTClient, readbuf) == 20);
SA(offsetof(MQTTClient, keepAliveInterval) == 24);
SA(offsetof(MQTTClient, ping_outstanding) == 28);
SA(offsetof(MQTTClient, isconnected) == 32);
SA(offsetof(MQTTClient, cleansession) == 36);
SA(offsetof(MQTTClient, messageHandlers) == 40);
SA(offsetof(MQTTClient, defaultMessageHandler) == 40 + 8 * N);
SA(offsetof(MQTTClient, ipstack) == 44 + 8 * N);
SA(offsetof(MQTTClient, last_sent) == 48 + 8 * N);
SA(offsetof(MQTTClient, last_received) == 48 + 8 * N + T);
#if !defined(MQTT_TASK)
SA(sizeof(MQTTClient) == ((48 + 8 * N + 2 * T + 3) / 4) * 4);
#endif
#if defined(FIRMWARE_PLATFORM_H)
SA(sizeof(Timer) == 4 && sizeof(Network) == 12);
#if N == 5 && !defined(MQTT_TASK)
/* The measured figures of spec section 5.2 (Cortex-M4, xtensa-lx106). */
SA(sizeof(MQTTClient) == 96);
SA(offsetof(MQTTClient, defaultMessageHandler) == 80);
SA(offsetof(MQTTClient, ipstack) == 84);
SA(offsetof(MQTTClient, last_sent) == 88);
SA(offsetof(MQTTClient, last_received) == 92);
#endif
#endif

#else
#error "no expected layout for this target"
#endif

/* Every target */
SA(sizeof(MQTTConnackData) == 2 && offsetof(MQTTConnackData, sessionPresent) == 1);
SA(sizeof(MQTTHeader) == 4 && sizeof(MQTTConnectFlags) == 4 && sizeof(MQTTConnackFlags) == 4);
SA(QOS0 == 0 && QOS1 == 1 && QOS2 == 2 && SUBFAIL == 0x80);
SA(BUFFER_OVERFLOW == -2 && FAILURE == -1 && SUCCESS == 0);
SA(MQTTPACKET_BUFFER_TOO_SHORT == -2 && MQTTPACKET_READ_ERROR == -1 && MQTTPACKET_READ_COMPLETE == 0);
SA(CONNECT == 1 && PUBLISH == 3 && SUBACK == 9 && DISCONNECT == 14);
SA(MQTT_UNNACCEPTABLE_PROTOCOL == 1 && MQTT_NOT_AUTHORIZED == 5);
SA(MAX_PACKET_ID == 65535);

#if defined(__linux__)
#include <stdio.h>
#include <string.h>

#define CHECK(expr)                                                         \
    do {                                                                    \
        if (!(expr)) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,          \
                    __LINE__, #expr);                                       \
            return 1;                                                       \
        }                                                                   \
    } while (0)

static MQTTPacket_connectData global_options = MQTTPacket_connectData_initializer;
/* DefaultClient sets only the first nine members, as in Paho. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static MQTTClient global_client = DefaultClient;

int main(void)
{
    MQTTHeader h;
    MQTTConnectFlags f;
    MQTTConnackFlags a;
    MQTTString s = MQTTString_initializer;
    MQTTPacket_willOptions w = MQTTPacket_willOptions_initializer;
    MQTTPacket_connectData d = MQTTPacket_connectData_initializer;

    /* Bit-fields over the wire byte (little-endian allocation, no REVERSED). */
    h.byte = 0x3B; /* PUBLISH, dup, QoS 1, retain */
    CHECK(h.bits.type == 3 && h.bits.dup == 1 && h.bits.qos == 1 && h.bits.retain == 1);
    h.byte = 0;
    h.bits.type = PUBREL;
    h.bits.qos = 1;
    CHECK(h.byte == 0x62);
    f.all = 0;
    f.bits.username = 1;
    f.bits.cleansession = 1;
    f.bits.willQoS = 2;
    CHECK(f.all == 0x92);
    a.all = 0x01;
    CHECK(a.bits.sessionpresent == 1 && a.bits.reserved == 0);

    /* Initializers, in declarations and compound literals. */
    CHECK(s.cstring == NULL && s.lenstring.len == 0 && s.lenstring.data == NULL);
    CHECK(memcmp(w.struct_id, "MQTW", 4) == 0 && w.qos == 0 && w.retained == 0);
    CHECK(memcmp(d.struct_id, "MQTC", 4) == 0 && d.struct_version == 0);
    CHECK(d.MQTTVersion == 4 && d.keepAliveInterval == 60 && d.cleansession == 1);
    CHECK(d.willFlag == 0 && memcmp(d.will.struct_id, "MQTW", 4) == 0);
    CHECK(d.username.cstring == NULL && d.password.lenstring.data == NULL);
    CHECK(((MQTTPacket_connectData)MQTTPacket_connectData_initializer).keepAliveInterval == 60);
    CHECK(global_options.MQTTVersion == 4);
    CHECK(global_client.next_packetid == 0 && global_client.buf == NULL && global_client.isconnected == 0);
    CHECK(global_client.ipstack == NULL && global_client.defaultMessageHandler == NULL);

    printf("layout: MQTTClient %zu bytes (MAX_MESSAGE_HANDLERS %d, Timer %zu, Network %zu), "
           "MQTTMessage %zu, connectData %zu, MQTTTransport %zu; bit-fields and initializers ok\n",
           sizeof(MQTTClient), MAX_MESSAGE_HANDLERS, sizeof(Timer), sizeof(Network),
           sizeof(MQTTMessage), sizeof(MQTTPacket_connectData), sizeof(MQTTTransport));
    return 0;
}
#endif
