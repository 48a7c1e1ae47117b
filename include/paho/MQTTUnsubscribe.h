/*
 * embermq Paho embedded-C compatibility: MQTTUnsubscribe.h.
 * UNSUBSCRIBE and UNSUBACK. Self-contained.
 */
#if !defined(MQTTUNSUBSCRIBE_H_)
#include "MQTTPacket.h"
#endif

#if !defined(MQTTUNSUBSCRIBE_H_)
#define MQTTUNSUBSCRIBE_H_

#if defined(__cplusplus)
extern "C" {
#endif

#if !defined(DLLImport)
  #define DLLImport
#endif
#if !defined(DLLExport)
  #define DLLExport
#endif

DLLExport int MQTTSerialize_unsubscribe(unsigned char* buf, int buflen, unsigned char dup, unsigned short packetid,
        int count, MQTTString topicFilters[]);

DLLExport int MQTTDeserialize_unsubscribe(unsigned char* dup, unsigned short* packetid, int max_count, int* count, MQTTString topicFilters[],
        unsigned char* buf, int len);

DLLExport int MQTTSerialize_unsuback(unsigned char* buf, int buflen, unsigned short packetid);

DLLExport int MQTTDeserialize_unsuback(unsigned short* packetid, unsigned char* buf, int len);

#if defined(__cplusplus)
}
#endif

#endif /* MQTTUNSUBSCRIBE_H_ */
