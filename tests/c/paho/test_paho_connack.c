/*
 * CONNACK return codes through MQTTConnectWithResults, against a mosquitto
 * that requires a login (EMQ_BROKER_PASSWD): a wrong password is refused
 * with a positive code (not FAILURE) and leaves the client disconnected,
 * MQTT 3.1 ("MQIsdp") with the right login is accepted, and a CONNECT that
 * gets no CONNACK in time is FAILURE.
 */
#include "MQTTClient.h"
#include "paho_harness.h"

int main(void)
{
    Network n;
    MQTTClient c;
    static unsigned char sendbuf[256], readbuf[256];
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    MQTTConnackData data;
    char id[64];
    char* user = getenv("EMQ_TEST_USERNAME");
    char* pass = getenv("EMQ_TEST_PASSWORD");
    int rc;

    CHECK(user != NULL && pass != NULL);
    NetworkInit(&n);
    MQTTClientInit(&c, &n, 3000, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);

    /* Wrong password: refused with the broker's code (4 or 5), not FAILURE. */
    CHECK_EQ(NetworkConnect(&n, test_host(), test_port()), 0);
    opts.clientID = cstr((char*)test_unique(id, sizeof id, "paho-connack"));
    opts.username = cstr(user);
    opts.password = cstr("not-the-password");
    data.rc = 0;
    data.sessionPresent = 9;
    rc = MQTTConnectWithResults(&c, &opts, &data);
    CHECK(rc == MQTT_BAD_USERNAME_OR_PASSWORD || rc == MQTT_NOT_AUTHORIZED);
    CHECK(data.rc == rc && data.sessionPresent == 0);
    CHECK(MQTTIsConnected(&c) == 0);
    NetworkDisconnect(&n);

    /* The right login over MQTT 3.1: accepted (NULL results are fine). */
    CHECK_EQ(NetworkConnect(&n, test_host(), test_port()), 0);
    opts.MQTTVersion = 3;
    opts.password = cstr(pass);
    CHECK_EQ(MQTTConnectWithResults(&c, &opts, NULL), SUCCESS);
    CHECK(MQTTIsConnected(&c) == 1);
    CHECK_EQ(MQTTDisconnect(&c), SUCCESS);
    NetworkDisconnect(&n);

    /* No network at all: FAILURE, never a crash. */
    {
        Network dead;
        MQTTClient d;
        NetworkInit(&dead);
        MQTTClientInit(&d, &dead, 200, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
        CHECK_EQ(MQTTConnect(&d, &opts), FAILURE);
        MQTTClientInit(&d, NULL, 200, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
        CHECK_EQ(MQTTConnect(&d, &opts), FAILURE);
        CHECK_EQ(MQTTConnect(NULL, &opts), FAILURE);
        CHECK_EQ(MQTTYield(NULL, 10), FAILURE);
        CHECK_EQ(MQTTIsConnected(NULL), 0);
    }
    printf("paho connack: refused login returned code %d; MQTT 3.1 login accepted\n", rc);
    return 0;
}
