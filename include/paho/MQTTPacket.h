/*
 * embermq Paho embedded-C compatibility: MQTTPacket.h.
 *
 * Source-compatible with Eclipse Paho MQTT embedded-C's MQTTPacket.h (the
 * stateless packet encoder/decoder). Written from the API description in
 * shared/paho-embedded-api.md; implemented in Rust over embermq's codec
 * (src/paho/). Link libembermq built with the cargo feature `paho`.
 */
#if !defined(MQTTPACKET_H_)
#define MQTTPACKET_H_

#include <stddef.h>

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

enum errors
{
    MQTTPACKET_BUFFER_TOO_SHORT = -2,
    MQTTPACKET_READ_ERROR = -1,
    MQTTPACKET_READ_COMPLETE
};

enum msgTypes
{
    CONNECT = 1, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL,
    PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK,
    PINGREQ, PINGRESP, DISCONNECT
};

/* The fixed header byte. `.byte` is the wire byte; `.bits` assumes the
 * compiler allocates bit-fields from the least significant bit, unless
 * REVERSED is defined (MSB first). */
typedef union
{
    unsigned char byte;
#if defined(REVERSED)
    struct
    {
        unsigned int type : 4;
        unsigned int dup : 1;
        unsigned int qos : 2;
        unsigned int retain : 1;
    } bits;
#else
    struct
    {
        unsigned int retain : 1;
        unsigned int qos : 2;
        unsigned int dup : 1;
        unsigned int type : 4;
    } bits;
#endif
} MQTTHeader;

typedef struct
{
    int len;
    char* data;
} MQTTLenString;

typedef struct
{
    char* cstring;
    MQTTLenString lenstring;
} MQTTString;

#define MQTTString_initializer {NULL, {0, NULL}}

int MQTTstrlen(MQTTString mqttstring);

#include "MQTTConnect.h"
#include "MQTTPublish.h"
#include "MQTTSubscribe.h"
#include "MQTTUnsubscribe.h"
#include "MQTTFormat.h"

DLLExport int MQTTSerialize_ack(unsigned char* buf, int buflen, unsigned char type, unsigned char dup, unsigned short packetid);
DLLExport int MQTTDeserialize_ack(unsigned char* packettype, unsigned char* dup, unsigned short* packetid, unsigned char* buf, int buflen);

int MQTTPacket_len(int rem_len);
DLLExport int MQTTPacket_equals(MQTTString* a, char* b);

DLLExport int MQTTPacket_encode(unsigned char* buf, int length);
int MQTTPacket_decode(int (*getcharfn)(unsigned char*, int), int* value);
int MQTTPacket_decodeBuf(unsigned char* buf, int* value);

int readInt(unsigned char** pptr);
char readChar(unsigned char** pptr);
void writeChar(unsigned char** pptr, char c);
void writeInt(unsigned char** pptr, int anInt);
int readMQTTLenString(MQTTString* mqttstring, unsigned char** pptr, unsigned char* enddata);
void writeCString(unsigned char** pptr, const char* string);
void writeMQTTString(unsigned char** pptr, MQTTString mqttstring);

DLLExport int MQTTPacket_read(unsigned char* buf, int buflen, int (*getfn)(unsigned char*, int));

typedef struct {
    int (*getfn)(void *, unsigned char*, int); /* -1: error, 0: no data yet, else bytes read */
    void *sck;  /* passed to getfn */
    int multiplier;
    int rem_len;
    int len;
    char state; /* set to 0 before the first call */
} MQTTTransport;

int MQTTPacket_readnb(unsigned char* buf, int buflen, MQTTTransport *trp);

#if defined(__cplusplus)
}
#endif

#endif /* MQTTPACKET_H_ */
