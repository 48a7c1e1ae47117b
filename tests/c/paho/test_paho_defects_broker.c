/*
 * The client-side Paho defects again, against a real mosquitto over the
 * Linux port:
 *   1  a 4 KiB message into a 256-byte readbuf: MQTTYield returns
 *      BUFFER_OVERFLOW, the connection stays up and in step, and the next
 *      messages arrive intact;
 *   2  `a/#` matches `a`;
 *   5  MQTTYield(5 ms) in a loop with keepalive 1 s for 3.5 s: pings go
 *      out and are answered, no false disconnect;
 *   6  every mqttwrite limited to 3 bytes: publishes still arrive intact.
 */
#include "MQTTClient.h"
#include "paho_harness.h"

static int received;
static size_t last_len;
static char last_payload[64];

static void on_message(MessageData* md)
{
    received++;
    last_len = md->message->payloadlen;
    if (last_len < sizeof last_payload) {
        memcpy(last_payload, md->message->payload, last_len);
        last_payload[last_len] = '\0';
    }
}

static int pingreqs;
static int max_write = 1 << 30;

static int limited_write(Network* n, unsigned char* buf, int len, int timeout_ms)
{
    if (len >= 2 && buf[0] == 0xC0 && buf[1] == 0x00) {
        pingreqs++;
    }
    return linux_write(n, buf, len < max_write ? len : max_write, timeout_ms);
}

static void connect_to_broker(MQTTClient* c, Network* n, unsigned short keepalive)
{
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    char id[64];
    NetworkInit(n);
    n->mqttwrite = limited_write;
    CHECK_EQ(NetworkConnect(n, test_host(), test_port()), 0);
    opts.clientID = cstr((char*)test_unique(id, sizeof id, "paho-defects"));
    opts.keepAliveInterval = keepalive;
    CHECK_EQ(MQTTConnect(c, &opts), SUCCESS);
}

static int publish(MQTTClient* c, const char* topic, int qos, const void* data, size_t len)
{
    MQTTMessage m;
    memset(&m, 0, sizeof m);
    m.qos = (enum QoS)qos;
    m.payload = (void*)data;
    m.payloadlen = len;
    return MQTTPublish(c, topic, &m);
}

int main(void)
{
    Network na, nb;
    MQTTClient a, b;
    static unsigned char a_send[512], a_read[256], b_send[8192], b_read[256];
    static unsigned char big[4096];
    char topic[128], parent[96], filter[128];
    uint64_t deadline;
    int rc, i;

    snprintf(topic, sizeof topic, "embermq/paho-defects/%ld/t", (long)getpid());
    snprintf(parent, sizeof parent, "embermq/paho-defects/%ld", (long)getpid());
    snprintf(filter, sizeof filter, "%s/#", parent);
    memset(big, 'x', sizeof big);

    MQTTClientInit(&a, &na, 3000, a_send, sizeof a_send, a_read, sizeof a_read);
    MQTTClientInit(&b, &nb, 3000, b_send, sizeof b_send, b_read, sizeof b_read);
    connect_to_broker(&a, &na, 1);
    connect_to_broker(&b, &nb, 30);
    CHECK_EQ(MQTTSubscribe(&a, filter, QOS1, on_message), SUCCESS);

    /* 2: `a/#` matches `a`. */
    CHECK_EQ(publish(&b, parent, 1, "parent", 6), SUCCESS);
    deadline = test_now_ms() + 5000;
    while (received == 0 && test_now_ms() < deadline) {
        CHECK_EQ(MQTTYield(&a, 20), SUCCESS);
    }
    CHECK(received == 1 && strcmp(last_payload, "parent") == 0);

    /* 1: too large for a's 256-byte readbuf. */
    CHECK_EQ(publish(&b, topic, 1, big, sizeof big), SUCCESS);
    CHECK_EQ(publish(&b, topic, 1, "after-1", 7), SUCCESS);
    rc = SUCCESS;
    deadline = test_now_ms() + 5000;
    while (rc == SUCCESS && test_now_ms() < deadline) {
        rc = MQTTYield(&a, 20);
    }
    CHECK_EQ(rc, BUFFER_OVERFLOW);
    CHECK(MQTTIsConnected(&a) == 1 && received == 1);
    deadline = test_now_ms() + 5000;
    while (received < 2 && test_now_ms() < deadline) {
        CHECK_EQ(MQTTYield(&a, 20), SUCCESS);
    }
    CHECK(received == 2 && strcmp(last_payload, "after-1") == 0);

    /* 6: writes of at most 3 bytes (b publishes, a's acks too). */
    max_write = 3;
    for (i = 0; i < 10; i++) {
        char text[16];
        snprintf(text, sizeof text, "small-%d", i);
        CHECK_EQ(publish(&b, topic, i % 3, text, strlen(text)), SUCCESS);
        deadline = test_now_ms() + 5000;
        while (received < 3 + i && test_now_ms() < deadline) {
            CHECK_EQ(MQTTYield(&a, 20), SUCCESS);
        }
        CHECK(received == 3 + i && strcmp(last_payload, text) == 0);
    }
    max_write = 1 << 30;

    /* 5: short yields with keepalive 1 s; b stays quiet. */
    pingreqs = 0;
    deadline = test_now_ms() + 3500;
    while (test_now_ms() < deadline) {
        CHECK_EQ(MQTTYield(&a, 5), SUCCESS);
    }
    CHECK(MQTTIsConnected(&a) == 1 && pingreqs >= 2);
    CHECK_EQ(publish(&b, topic, 1, "still-here", 10), SUCCESS);
    deadline = test_now_ms() + 5000;
    while (strcmp(last_payload, "still-here") != 0 && test_now_ms() < deadline) {
        CHECK_EQ(MQTTYield(&a, 5), SUCCESS);
    }
    CHECK(strcmp(last_payload, "still-here") == 0);

    CHECK_EQ(MQTTDisconnect(&a), SUCCESS);
    CHECK_EQ(MQTTDisconnect(&b), SUCCESS);
    NetworkDisconnect(&na);
    NetworkDisconnect(&nb);
    printf("paho defects (broker): oversized message skipped in step, a/# matched a, "
           "3-byte writes, %d pings with 5 ms yields\n", pingreqs);
    return 0;
}
