/*
 * embermq Paho embedded-C compatibility: MQTTPublish.h.
 * PUBLISH and its acknowledgements. Self-contained.
 */
#if !defined(MQTTPUBLISH_H_)
#include "MQTTPacket.h"
#endif

#if !defined(MQTTPUBLISH_H_)
#define MQTTPUBLISH_H_

#if defined(__cplusplus)
extern "C" {
#endif

#if !defined(DLLImport)
  #define DLLImport
#endif
#if !defined(DLLExport)
  #define DLLExport
#endif

DLLExport int MQTTSerialize_publish(unsigned char* buf, int buflen, unsigned char dup, int qos, unsigned char retained, unsigned short packetid,
        MQTTString topicName, unsigned char* payload, int payloadlen);

DLLExport int MQTTDeserialize_publish(unsigned char* dup, int* qos, unsigned char* retained, unsigned short* packetid, MQTTString* topicName,
        unsigned char** payload, int* payloadlen, unsigned char* buf, int len);

DLLExport int MQTTSerialize_puback(unsigned char* buf, int buflen, unsigned short packetid);
DLLExport int MQTTSerialize_pubrel(unsigned char* buf, int buflen, unsigned char dup, unsigned short packetid);
DLLExport int MQTTSerialize_pubcomp(unsigned char* buf, int buflen, unsigned short packetid);

#if defined(__cplusplus)
}
#endif

#endif /* MQTTPUBLISH_H_ */
