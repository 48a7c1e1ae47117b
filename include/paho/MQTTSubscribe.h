/*
 * embermq Paho embedded-C compatibility: MQTTSubscribe.h.
 * SUBSCRIBE and SUBACK. Self-contained.
 */
#if !defined(MQTTSUBSCRIBE_H_)
#include "MQTTPacket.h"
#endif

#if !defined(MQTTSUBSCRIBE_H_)
#define MQTTSUBSCRIBE_H_

#if defined(__cplusplus)
extern "C" {
#endif

#if !defined(DLLImport)
  #define DLLImport
#endif
#if !defined(DLLExport)
  #define DLLExport
#endif

DLLExport int MQTTSerialize_subscribe(unsigned char* buf, int buflen, unsigned char dup, unsigned short packetid,
        int count, MQTTString topicFilters[], int requestedQoSs[]);

DLLExport int MQTTDeserialize_subscribe(unsigned char* dup, unsigned short* packetid,
        int maxcount, int* count, MQTTString topicFilters[], int requestedQoSs[], unsigned char* buf, int len);

DLLExport int MQTTSerialize_suback(unsigned char* buf, int buflen, unsigned short packetid, int count, int* grantedQoSs);

DLLExport int MQTTDeserialize_suback(unsigned short* packetid, int maxcount, int* count, int grantedQoSs[], unsigned char* buf, int len);

#if defined(__cplusplus)
}
#endif

#endif /* MQTTSUBSCRIBE_H_ */
