/*
 * A minimal "firmware" for the Cortex-M link check (scripts/check-paho-firmware.sh):
 * the platform functions of firmware_platform.h over a fake tick counter
 * and a Network that has nothing to read, plus a main that uses the Paho
 * API. It is linked, not run: the point is that MQTTClient.c compiled with
 * the firmware's flags and libembermq for thumbv7em-none-eabihf resolve
 * each other.
 */
#include "MQTTClient.h"

static volatile unsigned int ticks;

void TimerInit(Timer* t) { t->end_tick = 0; }
char TimerIsExpired(Timer* t) { return (int)(t->end_tick - ++ticks) <= 0; }
void TimerCountdownMS(Timer* t, unsigned int ms) { t->end_tick = ticks + ms; }
void TimerCountdown(Timer* t, unsigned int s) { t->end_tick = ticks + s * 1000u; }
int TimerLeftMS(Timer* t) { int left = (int)(t->end_tick - ticks); return left > 0 ? left : 0; }

#if defined(MQTT_TASK)
void MutexInit(Mutex* m) { m->sem = 0; }
int MutexLock(Mutex* m) { (void)m; return 0; }
int MutexUnlock(Mutex* m) { (void)m; return 0; }
int ThreadStart(Thread* t, void (*fn)(void*), void* arg) { (void)fn; (void)arg; t->task = 0; return 1; }
#endif

static int net_read(Network* n, unsigned char* b, int len, int timeout_ms) { (void)n; (void)b; (void)len; (void)timeout_ms; return 0; }
static int net_write(Network* n, unsigned char* b, int len, int timeout_ms) { (void)n; (void)b; (void)timeout_ms; return len; }

/* embermq's no_std panic hook: reset, log or halt. */
void emq_platform_abort(void) { for (;;) { } }

static void on_message(MessageData* md) { (void)md; }

int main(void)
{
    static unsigned char sendbuf[256], readbuf[256];
    static Network net;
    static MQTTClient c;
    MQTTPacket_connectData opts = MQTTPacket_connectData_initializer;
    MQTTMessage m = {QOS1, 0, 0, 0, "hi", 2};
    net.mqttread = net_read;
    net.mqttwrite = net_write;
    MQTTClientInit(&c, &net, 1000, sendbuf, sizeof sendbuf, readbuf, sizeof readbuf);
    opts.clientID.cstring = "cortex-m";
    (void)MQTTConnect(&c, &opts);
    (void)MQTTSubscribe(&c, "a/#", QOS1, on_message);
    (void)MQTTPublish(&c, "a/b", &m);
    (void)MQTTYield(&c, 10);
#if defined(MQTT_TASK)
    (void)MQTTStartTask(&c);
#endif
    return MQTTDisconnect(&c);
}
