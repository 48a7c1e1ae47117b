/*
 * embermq Paho embedded-C compatibility: MQTTClient.h.
 *
 * Source-compatible with Eclipse Paho MQTT embedded-C's MQTTClient-C API,
 * written from the API description in shared/paho-embedded-api.md. The
 * client is src/paho/c/MQTTClient.c: compile it with the firmware's own
 * flags (MQTTCLIENT_PLATFORM_HEADER, MAX_MESSAGE_HANDLERS, MQTT_TASK, enum
 * size) and link libembermq built with the cargo feature `paho`.
 *
 * The platform header (MQTTCLIENT_PLATFORM_HEADER, e.g. MQTTLinux.h) must
 * define the types Timer and Network (Network with the members mqttread
 * and mqttwrite) and, with MQTT_TASK, Mutex and Thread; or the includer
 * declares them before including this header.
 */
#if !defined(MQTT_CLIENT_H)
#define MQTT_CLIENT_H

#if defined(__cplusplus)
 extern "C" {
#endif

#if defined(WIN32_DLL) || defined(WIN64_DLL)
  #define DLLImport __declspec(dllimport)
  #define DLLExport __declspec(dllexport)
#elif defined(LINUX_SO)
  #define DLLImport extern
  #define DLLExport __attribute__ ((visibility ("default")))
#else
  #define DLLImport
  #define DLLExport
#endif

#include "MQTTPacket.h"

#if defined(MQTTCLIENT_PLATFORM_HEADER)
/* Paho's stringification helpers; visible to the includer, as in Paho. */
#define xstr(s) str(s)
#define str(s) #s
#include xstr(MQTTCLIENT_PLATFORM_HEADER)
#endif

#define MAX_PACKET_ID 65535 /* largest MQTT packet identifier */

#if !defined(MAX_MESSAGE_HANDLERS)
#define MAX_MESSAGE_HANDLERS 5 /* handler slots; every translation unit must agree */
#endif

enum QoS { QOS0, QOS1, QOS2, SUBFAIL=0x80 };

/* SUCCESS is 0; every failure is negative */
enum returnCode { BUFFER_OVERFLOW = -2, FAILURE = -1, SUCCESS = 0 };

/* The platform supplies these (section 3.2 of the API description). */
extern void TimerInit(Timer*);
extern char TimerIsExpired(Timer*);
extern void TimerCountdownMS(Timer*, unsigned int);
extern void TimerCountdown(Timer*, unsigned int);
extern int TimerLeftMS(Timer*);

typedef struct MQTTMessage
{
    enum QoS qos;
    unsigned char retained;
    unsigned char dup;
    unsigned short id;
    void *payload;
    size_t payloadlen;
} MQTTMessage;

typedef struct MessageData
{
    MQTTMessage* message;
    MQTTString* topicName;
} MessageData;

typedef struct MQTTConnackData
{
    unsigned char rc;
    unsigned char sessionPresent;
} MQTTConnackData;

typedef struct MQTTSubackData
{
    enum QoS grantedQoS;
} MQTTSubackData;

typedef void (*messageHandler)(MessageData*);

typedef struct MQTTClient
{
    unsigned int next_packetid;      /* last packet id handed out */
    unsigned int command_timeout_ms; /* per-call timeout */
    size_t buf_size;                 /* send buffer size */
    size_t readbuf_size;             /* receive buffer size */
    unsigned char* buf;              /* send buffer (caller-owned) */
    unsigned char* readbuf;          /* receive buffer: the last packet read */
    unsigned int keepAliveInterval;  /* seconds; 0 = no keepalive */
    char ping_outstanding;
    int isconnected;
    int cleansession;

    struct MessageHandlers
    {
        const char* topicFilter;
        void (*fp) (MessageData*);
    } messageHandlers[MAX_MESSAGE_HANDLERS]; /* topicFilter NULL: slot free */

    void (*defaultMessageHandler) (MessageData*);

    Network* ipstack;
    Timer last_sent;                 /* restarted by every complete send */
    Timer last_received;             /* restarted by every complete receive */
#if defined(MQTT_TASK)
    Mutex mutex;
    Thread thread;
#endif
} MQTTClient;

#define DefaultClient {0, 0, 0, 0, NULL, NULL, 0, 0, 0}

/* Stores the network, timeout and buffers; does no I/O. next_packetid = 1. */
DLLExport void MQTTClientInit(MQTTClient* client, Network* network, unsigned int command_timeout_ms,
        unsigned char* sendbuf, size_t sendbuf_size, unsigned char* readbuf, size_t readbuf_size);

/* Sends CONNECT over the (already connected) network and waits for CONNACK.
 * Returns the CONNACK return code (0 accepted, 1-5 refused) or FAILURE;
 * data (may be NULL) gets the return code and session-present flag. */
DLLExport int MQTTConnectWithResults(MQTTClient* client, MQTTPacket_connectData* options,
        MQTTConnackData* data);

/* MQTTConnectWithResults without results. */
DLLExport int MQTTConnect(MQTTClient* client, MQTTPacket_connectData* options);

/* Publishes and waits for the handshake of its QoS (PUBACK / PUBCOMP).
 * For QoS 1 and 2 the packet id used is stored in message->id. */
DLLExport int MQTTPublish(MQTTClient* client, const char*, MQTTMessage*);

/* Adds, replaces (non-NULL handler) or removes (NULL) the local handler of
 * a filter; nothing is sent. The filter string is stored, not copied. */
DLLExport int MQTTSetMessageHandler(MQTTClient* c, const char* topicFilter, messageHandler messageHandler);

/* MQTTSubscribeWithResults without results. */
DLLExport int MQTTSubscribe(MQTTClient* client, const char* topicFilter, enum QoS, messageHandler);

/* Subscribes to one filter and waits for SUBACK. data->grantedQoS is the
 * broker's code; with 0x80 (refused) the handler is not registered. */
DLLExport int MQTTSubscribeWithResults(MQTTClient* client, const char* topicFilter, enum QoS, messageHandler, MQTTSubackData* data);

/* Unsubscribes and waits for UNSUBACK, then removes the filter's handler. */
DLLExport int MQTTUnsubscribe(MQTTClient* client, const char* topicFilter);

/* Sends DISCONNECT and closes the session; the network stays open. */
DLLExport int MQTTDisconnect(MQTTClient* client);

/* Handles incoming packets and keepalive for `time` ms. SUCCESS, or the
 * first failure (BUFFER_OVERFLOW: a message larger than readbuf was
 * skipped, acknowledged if QoS 1/2 so the broker moves on, and the
 * connection is still usable; FAILURE: connection lost). */
DLLExport int MQTTYield(MQTTClient* client, int time);

/* The isconnected field. */
DLLExport int MQTTIsConnected(MQTTClient* client);

#if defined(MQTT_TASK)
/* Starts MQTTRun in a platform thread (ThreadStart); do not call MQTTYield afterwards. */
DLLExport int MQTTStartTask(MQTTClient* client);
#endif

#if defined(__cplusplus)
     }
#endif

#endif /* MQTT_CLIENT_H */
