/*
 * A firmware platform header like those of Cortex-M / ESP8266 ports: a
 * 4-byte Timer (a tick deadline) and a 12-byte Network (a socket handle
 * and the two callbacks, by name). Used by the cross-compiled layout check
 * (scripts/test-c.sh) with -DMQTTCLIENT_PLATFORM_HEADER=firmware_platform.h.
 */
#ifndef FIRMWARE_PLATFORM_H
#define FIRMWARE_PLATFORM_H

typedef struct Timer
{
    unsigned int end_tick;
} Timer;

typedef struct Network Network;
struct Network
{
    int handle;
    int (*mqttread)(Network*, unsigned char*, int, int);
    int (*mqttwrite)(Network*, unsigned char*, int, int);
};

void TimerInit(Timer*);
char TimerIsExpired(Timer*);
void TimerCountdownMS(Timer*, unsigned int);
void TimerCountdown(Timer*, unsigned int);
int TimerLeftMS(Timer*);

#if defined(MQTT_TASK)
typedef struct Mutex { void* sem; } Mutex;
typedef struct Thread { void* task; } Thread;
void MutexInit(Mutex*);
int MutexLock(Mutex*);
int MutexUnlock(Mutex*);
int ThreadStart(Thread*, void (*fn)(void*), void* arg);
#endif

#endif
