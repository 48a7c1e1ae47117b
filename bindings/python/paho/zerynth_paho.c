/*
 * The Paho embedded-C calls that Zerynth's lightweight MQTT module makes
 * from its C side (its natives _mqtt_init, _mqtt_set_username_pw,
 * _mqtt_set_will, _mqtt_connect, _mqtt_subscribe, _mqtt_publish,
 * _mqtt_cycle, _mqtt_unsubscribe, _mqtt_disconnect), in that module's
 * shape: one client in static storage with fixed 2 KiB buffers, the
 * connect data filled field by field from MQTTPacket_connectData_initializer,
 * C strings for topics, one message handler for every subscription that
 * copies the message out, and a cycle of MQTTYield calls. Built against
 * include/paho only and linked with embermq (cargo feature `paho`); run by
 * scripts/test-python.sh under scripts/with-broker.sh.
 *
 * Checks: CONNACK accepted; SUBACK grants; QoS 0, 1 and 2 publishes
 * complete and come back to the handler with their topic, payload and QoS;
 * a wildcard subscription gets its matching message; no delivery after
 * MQTTUnsubscribe; the last will is published when a second client's
 * connection is cut without DISCONNECT; MQTTDisconnect ends the session.
 */
#include "MQTTClient.h"
#include "paho_harness.h"

#define ZERYNTH_BUF_SIZE 2048   /* mqtt_sendbuf / mqtt_readbuf in Zerynth's glue */
#define COMMAND_TIMEOUT_MS 5000 /* Zerynth passes command_timeout from Python */
#define CYCLE_MS 50             /* Zerynth's select_loop_time: one MQTTYield per cycle */

/* What the handler saw: Zerynth copies topic and payload into Python
 * strings for the reception thread; here into a small table. */
struct received {
    char topic[128];
    char payload[64];
    int qos;
};
static struct received inbox[16];
static int inbox_count;

static void messages_handler(MessageData* data)
{
    struct received* r;
    int tlen = data->topicName->lenstring.len;
    int plen = (int)data->message->payloadlen;
    if (inbox_count == (int)(sizeof inbox / sizeof inbox[0])) {
        return; /* Zerynth drops a message when its slots are full, too */
    }
    r = &inbox[inbox_count++];
    CHECK(tlen < (int)sizeof r->topic && plen < (int)sizeof r->payload);
    memcpy(r->topic, data->topicName->lenstring.data, (size_t)tlen);
    r->topic[tlen] = '\0';
    memcpy(r->payload, data->message->payload, (size_t)plen);
    r->payload[plen] = '\0';
    r->qos = (int)data->message->qos;
}

/* _mqtt_cycle until `want` messages are in the inbox, at most 5 s. */
static void cycle_until(MQTTClient* c, int want)
{
    uint64_t deadline = test_now_ms() + 5000;
    while (inbox_count < want) {
        CHECK(test_now_ms() < deadline);
        CHECK_EQ(MQTTYield(c, CYCLE_MS), SUCCESS);
    }
}

/* _mqtt_cycle for `ms` milliseconds. */
static void cycle_for(MQTTClient* c, int ms)
{
    uint64_t end = test_now_ms() + (uint64_t)ms;
    while (test_now_ms() < end) {
        CHECK_EQ(MQTTYield(c, CYCLE_MS), SUCCESS);
    }
}

/* _mqtt_publish: the topic as a C string, the payload by pointer and length. */
static int publish(MQTTClient* c, const char* topic, enum QoS qos, const char* text, int retained)
{
    MQTTMessage message;
    memset(&message, 0, sizeof message);
    message.qos = qos;
    message.retained = (unsigned char)retained;
    message.payload = (void*)text;
    message.payloadlen = strlen(text);
    return MQTTPublish(c, topic, &message);
}

static int find(const char* topic, const char* payload, int qos)
{
    int i;
    for (i = 0; i < inbox_count; i++) {
        if (strcmp(inbox[i].topic, topic) == 0 && strcmp(inbox[i].payload, payload) == 0
            && inbox[i].qos == qos) {
            return 1;
        }
    }
    return 0;
}

/* _mqtt_init + _mqtt_set_will + _mqtt_connect for one client. */
static void zerynth_connect(MQTTClient* c, Network* n, unsigned char* sendbuf, unsigned char* readbuf,
                            MQTTPacket_connectData* data, char* client_id, const char* will_topic)
{
    NetworkInit(n);
    MQTTClientInit(c, n, COMMAND_TIMEOUT_MS, sendbuf, ZERYNTH_BUF_SIZE, readbuf, ZERYNTH_BUF_SIZE);
    data->clientID.cstring = client_id;
    data->cleansession = 1;
    if (will_topic != NULL) {
        data->willFlag = 1;
        data->will.topicName.cstring = (char*)will_topic;
        data->will.message.cstring = "zerynth device gone";
        data->will.retained = 0;
        data->will.qos = 1;
    }
    /* Zerynth opens the socket in Python and hands Paho its descriptor;
     * the Linux port's NetworkConnect does both here. */
    CHECK_EQ(NetworkConnect(n, test_host(), test_port()), 0);
    data->keepAliveInterval = 60;
    data->MQTTVersion = 4;
    CHECK_EQ(MQTTConnect(c, data), SUCCESS);
    CHECK(MQTTIsConnected(c));
}

int main(void)
{
    static unsigned char sendbuf[ZERYNTH_BUF_SIZE], readbuf[ZERYNTH_BUF_SIZE];
    static unsigned char sendbuf2[ZERYNTH_BUF_SIZE], readbuf2[ZERYNTH_BUF_SIZE];
    MQTTPacket_connectData data = MQTTPacket_connectData_initializer;
    MQTTPacket_connectData data2 = MQTTPacket_connectData_initializer;
    MQTTClient client, device;
    Network network, device_network;
    char id[64], device_id[64], base[64], topic[96], filter[96], wild[96], wild_topic[96], will[96];
    int before;

    test_unique(id, sizeof id, "zerynth-paho");
    test_unique(device_id, sizeof device_id, "zerynth-device");
    snprintf(base, sizeof base, "zerynth/paho/%ld", (long)getpid());
    snprintf(topic, sizeof topic, "%s/samples", base);
    snprintf(filter, sizeof filter, "%s/samples", base);
    snprintf(wild, sizeof wild, "%s/wild/+", base);
    snprintf(wild_topic, sizeof wild_topic, "%s/wild/x", base);
    snprintf(will, sizeof will, "%s/will", base);

    zerynth_connect(&client, &network, sendbuf, readbuf, &data, id, NULL);

    /* _mqtt_subscribe: one handler for every topic; SUBACK is waited for. */
    CHECK_EQ(MQTTSubscribe(&client, filter, QOS2, messages_handler), SUCCESS);
    CHECK_EQ(MQTTSubscribe(&client, wild, QOS1, messages_handler), SUCCESS);
    CHECK_EQ(MQTTSubscribe(&client, will, QOS1, messages_handler), SUCCESS);

    /* _mqtt_publish at each QoS (1 and 2 wait for PUBACK / PUBCOMP). */
    CHECK_EQ(publish(&client, topic, QOS0, "{\"rand\": 0}", 0), SUCCESS);
    CHECK_EQ(publish(&client, topic, QOS1, "{\"rand\": 1}", 0), SUCCESS);
    CHECK_EQ(publish(&client, topic, QOS2, "{\"rand\": 2}", 0), SUCCESS);
    CHECK_EQ(publish(&client, wild_topic, QOS1, "wild", 0), SUCCESS);
    cycle_until(&client, 4);
    CHECK(find(topic, "{\"rand\": 0}", 0));
    CHECK(find(topic, "{\"rand\": 1}", 1));
    CHECK(find(topic, "{\"rand\": 2}", 2));
    CHECK(find(wild_topic, "wild", 1));

    /* A second device with a last will, cut without DISCONNECT. */
    zerynth_connect(&device, &device_network, sendbuf2, readbuf2, &data2, device_id, will);
    NetworkDisconnect(&device_network);
    cycle_until(&client, 5);
    CHECK(find(will, "zerynth device gone", 1));

    /* _mqtt_unsubscribe: nothing more on that topic. */
    CHECK_EQ(MQTTUnsubscribe(&client, filter), SUCCESS);
    before = inbox_count;
    CHECK_EQ(publish(&client, topic, QOS1, "after unsubscribe", 0), SUCCESS);
    cycle_for(&client, 300);
    CHECK_EQ(inbox_count, before);

    /* _mqtt_disconnect */
    CHECK_EQ(MQTTDisconnect(&client), SUCCESS);
    CHECK(!MQTTIsConnected(&client));
    CHECK_EQ(publish(&client, topic, QOS0, "after disconnect", 0), FAILURE);
    NetworkDisconnect(&network);

    printf("zerynth_paho: connect, subscribe x3, publish QoS 0/1/2, yield, will, unsubscribe, "
           "disconnect: ok (%d messages)\n", inbox_count);
    return 0;
}
