/* The background network thread and calls from many threads:
 *   publishers  8 threads x 10,000 QoS 1 publishes on one client at once;
 *               every one acknowledged, received once and in order.
 *   echo        a client that publishes at QoS 2 from inside on_message,
 *               10,000 messages there and back, each exactly once.
 *   stop        stop from inside a callback returns at once, the thread
 *               ends after the callback; free there is refused; publish,
 *               subscribe, unsubscribe and disconnect there work.
 *   modes       poll and the thread exclude each other by name.
 *   burst       20,000 QoS 0 publishes in a tight loop on a running
 *               client (written in bursts, the tail by the network
 *               thread), then nothing but waiting: all arrive, in order.
 *   starting    right after start the state is no longer DISCONNECTED;
 *               stop during a CONNACK wait gives the attempt up at once.
 *   cycles      create/start/stop/free cycles (1,000 by default; run under
 *               valgrind by scripts/test-c.sh for leaks).
 * Usage: test_threads <case> (under scripts/with-broker.sh). */
#include "harness.h"
#include "net_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define PUBLISHERS 8
#define PER_PUBLISHER 10000
#define ECHOES 10000

static char server_uri[128];


static const char *uri(void)
{
    snprintf(server_uri, sizeof server_uri, "mqtt://%s:%u", test_host(), (unsigned)test_port());
    return server_uri;
}

static emq_client *new_client(const char *prefix, uint16_t outbox)
{
    emq_options o;
    emq_client *c = NULL;
    char id[64];
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, prefix);
    o.command_timeout_ms = 10000;
    o.outbox_max_messages = outbox;
    o.store_size = (size_t)outbox * 128 + 4096;
    o.inflight_window = 20;
    CHECK_OK(emq_client_new(&o, &c));
    CHECK_OK(emq_client_set_server(c, uri()));
    return c;
}

/* --- publishers ------------------------------------------------------------ */

typedef struct sink {
    atomic_int connects;
    atomic_int subscribed;
    atomic_long received;
    atomic_long duplicates;
    atomic_long out_of_order;
    /* Next expected sequence number per publisher thread (network thread only). */
    uint32_t next[PUBLISHERS];
} sink;

static void sink_on_connect(void *ud, emq_client *c, bool sp, uint8_t code)
{
    sink *s = ud;
    (void)c;
    (void)sp;
    if (code == 0) {
        atomic_fetch_add(&s->connects, 1);
    }
}

static void sink_on_subscribed(void *ud, emq_client *c, uint16_t id, const uint8_t *granted,
                               size_t count)
{
    sink *s = ud;
    (void)c;
    (void)id;
    CHECK(count == 1 && granted[0] == 1);
    atomic_fetch_add(&s->subscribed, 1);
}

static void sink_on_message(void *ud, emq_client *c, const emq_message *m)
{
    sink *s = ud;
    uint32_t thread, seq;
    (void)c;
    CHECK(m->payload_len == 8);
    memcpy(&thread, m->payload, 4);
    memcpy(&seq, m->payload + 4, 4);
    CHECK(thread < PUBLISHERS);
    if (seq < s->next[thread]) {
        atomic_fetch_add(&s->duplicates, 1);
        return;
    }
    if (seq != s->next[thread]) {
        atomic_fetch_add(&s->out_of_order, 1);
    }
    s->next[thread] = seq + 1;
    atomic_fetch_add(&s->received, 1);
}

typedef struct publisher {
    emq_client *client;
    char topic[128];
    uint32_t thread;
    long failures;
} publisher;

static atomic_long acked;

static void count_published(void *ud, emq_client *c, uint16_t id)
{
    (void)ud;
    (void)c;
    CHECK(id != 0);
    atomic_fetch_add(&acked, 1);
}

static void *publish_thread(void *arg)
{
    publisher *p = arg;
    uint32_t seq;
    for (seq = 0; seq < PER_PUBLISHER; seq++) {
        uint8_t payload[8];
        uint16_t id = 0;
        emq_err err;
        memcpy(payload, &p->thread, 4);
        memcpy(payload + 4, &seq, 4);
        /* The client waits for outbox room itself; STORE_FULL after its
         * command timeout would be a failure. */
        err = emq_client_publish(p->client, p->topic, payload, sizeof payload, 1, false, &id);
        if (err != EMQ_OK || id == 0) {
            fprintf(stderr, "publisher %u: seq %u: %s\n", p->thread, seq, emq_err_str(err));
            p->failures++;
        }
    }
    return NULL;
}

static void test_publishers(void)
{
    static sink s;
    static publisher pubs[PUBLISHERS];
    pthread_t threads[PUBLISHERS];
    emq_callbacks scb = no_callbacks(), pcb = no_callbacks();
    emq_client *sub = new_client("thr-sub", 64);
    emq_client *pub = new_client("thr-pub", 1000);
    char base[96], filter[128];
    uint64_t started;
    int i;

    test_unique(base, sizeof base, "threads/pub");
    snprintf(filter, sizeof filter, "%s/+", base);
    scb.on_connect = sink_on_connect;
    scb.on_subscribed = sink_on_subscribed;
    scb.on_message = sink_on_message;
    CHECK_OK(emq_client_set_callbacks(sub, &scb, &s));
    CHECK_OK(emq_client_start(sub));
    WAIT_UNTIL(emq_client_is_connected(sub), 20000);
    CHECK_OK(emq_client_subscribe(sub, filter, 1, NULL));
    WAIT_UNTIL(atomic_load(&s.subscribed) == 1, 20000);

    pcb.on_published = count_published;
    CHECK_OK(emq_client_set_callbacks(pub, &pcb, NULL));
    CHECK_OK(emq_client_start(pub));
    WAIT_UNTIL(emq_client_is_connected(pub), 20000);

    started = test_now_ms();
    for (i = 0; i < PUBLISHERS; i++) {
        pubs[i].client = pub;
        pubs[i].thread = (uint32_t)i;
        snprintf(pubs[i].topic, sizeof pubs[i].topic, "%s/%d", base, i);
        CHECK(pthread_create(&threads[i], NULL, publish_thread, &pubs[i]) == 0);
    }
    for (i = 0; i < PUBLISHERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(pubs[i].failures == 0);
    }
    WAIT_UNTIL(atomic_load(&acked) == (long)PUBLISHERS * PER_PUBLISHER, 60000);
    WAIT_UNTIL(atomic_load(&s.received) == (long)PUBLISHERS * PER_PUBLISHER, 60000);
    printf("publishers: %d threads x %d QoS 1: acked %ld, received %ld, duplicates %ld, "
           "out of order %ld, %llu ms\n",
           PUBLISHERS, PER_PUBLISHER, atomic_load(&acked), atomic_load(&s.received),
           atomic_load(&s.duplicates), atomic_load(&s.out_of_order),
           (unsigned long long)(test_now_ms() - started));
    CHECK(atomic_load(&s.duplicates) == 0);
    CHECK(atomic_load(&s.out_of_order) == 0);
    CHECK(emq_client_queued(pub) == 0);
    for (i = 0; i < PUBLISHERS; i++) {
        CHECK(s.next[i] == PER_PUBLISHER);
    }
    CHECK_OK(emq_client_stop(pub));
    CHECK_OK(emq_client_stop(sub));
    CHECK(!emq_client_is_connected(pub));
    CHECK_OK(emq_client_free(pub));
    CHECK_OK(emq_client_free(sub));
}

/* --- echo ------------------------------------------------------------------- */

typedef struct echoer {
    char in[96], out[96];
    atomic_int subscribed;
    atomic_long echoed;
    atomic_long failures;
} echoer;

static void echo_on_subscribed(void *ud, emq_client *c, uint16_t id, const uint8_t *granted,
                               size_t count)
{
    echoer *e = ud;
    (void)c;
    (void)id;
    CHECK(count == 1 && granted[0] == 2);
    atomic_fetch_add(&e->subscribed, 1);
}

static void echo_on_message(void *ud, emq_client *c, const emq_message *m)
{
    echoer *e = ud;
    uint16_t id = 0;
    emq_err err = emq_client_publish(c, e->out, m->payload, m->payload_len, 2, false, &id);
    if (err != EMQ_OK || id == 0) {
        fprintf(stderr, "echo publish: %s\n", emq_err_str(err));
        atomic_fetch_add(&e->failures, 1);
        return;
    }
    atomic_fetch_add(&e->echoed, 1);
}

typedef struct tester {
    atomic_int subscribed;
    atomic_long received;
    atomic_long wrong;
    uint32_t next;
} tester;

static void tester_on_subscribed(void *ud, emq_client *c, uint16_t id, const uint8_t *granted,
                                 size_t count)
{
    tester *t = ud;
    (void)c;
    (void)id;
    CHECK(count == 1 && granted[0] == 2);
    atomic_fetch_add(&t->subscribed, 1);
}

static void tester_on_message(void *ud, emq_client *c, const emq_message *m)
{
    tester *t = ud;
    uint32_t seq;
    (void)c;
    CHECK(m->payload_len == 4 && m->qos == 2);
    memcpy(&seq, m->payload, 4);
    if (seq != t->next) {
        atomic_fetch_add(&t->wrong, 1);
    }
    t->next = seq + 1;
    atomic_fetch_add(&t->received, 1);
}

static void test_echo(void)
{
    static echoer e;
    static tester t;
    emq_callbacks ecb = no_callbacks(), tcb = no_callbacks();
    /* A callback cannot wait for outbox room (it runs on the thread that
     * makes room), so the echo client's outbox holds the whole burst. */
    emq_client *echo = new_client("thr-echo", ECHOES);
    emq_client *test = new_client("thr-test", 2000);
    uint32_t seq;
    uint64_t started;

    test_unique(e.in, sizeof e.in, "threads/echo/in");
    test_unique(e.out, sizeof e.out, "threads/echo/out");
    ecb.on_subscribed = echo_on_subscribed;
    ecb.on_message = echo_on_message;
    CHECK_OK(emq_client_set_callbacks(echo, &ecb, &e));
    CHECK_OK(emq_client_start(echo));
    WAIT_UNTIL(emq_client_is_connected(echo), 20000);
    CHECK_OK(emq_client_subscribe(echo, e.in, 2, NULL));
    WAIT_UNTIL(atomic_load(&e.subscribed) == 1, 20000);

    tcb.on_subscribed = tester_on_subscribed;
    tcb.on_message = tester_on_message;
    CHECK_OK(emq_client_set_callbacks(test, &tcb, &t));
    CHECK_OK(emq_client_start(test));
    WAIT_UNTIL(emq_client_is_connected(test), 20000);
    CHECK_OK(emq_client_subscribe(test, e.out, 2, NULL));
    WAIT_UNTIL(atomic_load(&t.subscribed) == 1, 20000);

    started = test_now_ms();
    for (seq = 0; seq < ECHOES; seq++) {
        CHECK_OK(emq_client_publish(test, e.in, (const uint8_t *)&seq, 4, 2, false, NULL));
    }
    WAIT_UNTIL(atomic_load(&t.received) >= ECHOES || atomic_load(&e.failures) > 0, 120000);
    WAIT_UNTIL(emq_client_queued(echo) == 0 && emq_client_queued(test) == 0, 10000);
    sleep_ms(200); /* a duplicate would arrive now */
    printf("echo: %d QoS 2 messages: echoed %ld, received %ld, out of order %ld, "
           "failures %ld, %llu ms\n",
           ECHOES, atomic_load(&e.echoed), atomic_load(&t.received), atomic_load(&t.wrong),
           atomic_load(&e.failures), (unsigned long long)(test_now_ms() - started));
    CHECK(atomic_load(&e.failures) == 0);
    CHECK(atomic_load(&e.echoed) == ECHOES);
    CHECK(atomic_load(&t.received) == ECHOES);
    CHECK(atomic_load(&t.wrong) == 0);
    CHECK(t.next == ECHOES);
    CHECK_OK(emq_client_free(test)); /* free stops a running client first */
    CHECK_OK(emq_client_free(echo));
}

/* --- stop inside a callback ------------------------------------------------ */

typedef struct stopper {
    emq_client *client;
    char topic[96], other[96];
    atomic_int messages;
    atomic_int subscribed;
    atomic_int unsubscribed;
    atomic_int disconnects;
    emq_err disconnect_reason;
    emq_err stop_err, publish_err, subscribe_err, unsubscribe_err, poll_err;
    emq_err publish_in_disconnect_err;
    uint64_t stop_took_ms;
    pthread_t callback_thread;
} stopper;

static void stopper_on_subscribed(void *ud, emq_client *c, uint16_t id, const uint8_t *g,
                                  size_t n)
{
    stopper *s = ud;
    (void)c;
    (void)id;
    (void)g;
    (void)n;
    atomic_fetch_add(&s->subscribed, 1);
}

static void stopper_on_unsubscribed(void *ud, emq_client *c, uint16_t id)
{
    stopper *s = ud;
    (void)c;
    (void)id;
    atomic_fetch_add(&s->unsubscribed, 1);
}

static void stopper_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    stopper *s = ud;
    s->disconnect_reason = reason;
    /* Runs on the ending thread while emq_client_stop waits for it: a
     * publish here must answer, not wait for the thread. */
    s->publish_in_disconnect_err =
        emq_client_publish(c, s->topic, (const uint8_t *)"bye", 3, 1, false, NULL);
    atomic_fetch_add(&s->disconnects, 1);
}

static void stopper_on_message(void *ud, emq_client *c, const emq_message *m)
{
    stopper *s = ud;
    uint64_t before;
    (void)m;
    CHECK(c == s->client);
    if (atomic_fetch_add(&s->messages, 1) != 0) {
        return;
    }
    s->callback_thread = pthread_self();
    s->poll_err = emq_client_poll(c, 0);
    s->publish_err = emq_client_publish(c, s->topic, (const uint8_t *)"again", 5, 1, false, NULL);
    s->subscribe_err = emq_client_subscribe(c, s->other, 1, NULL);
    s->unsubscribe_err = emq_client_unsubscribe(c, s->other, NULL);
    before = test_now_ms();
    s->stop_err = emq_client_stop(c);
    s->stop_took_ms = test_now_ms() - before;
    /* Still inside the callback: the thread ends only after we return. */
    sleep_ms(100);
}

static void test_stop_in_callback(void)
{
    static stopper s;
    emq_callbacks cb = no_callbacks();
    emq_client *c = new_client("thr-stop", 64);
    uint64_t deadline;

    s.client = c;
    test_unique(s.topic, sizeof s.topic, "threads/stop");
    test_unique(s.other, sizeof s.other, "threads/stop-other");
    cb.on_message = stopper_on_message;
    cb.on_subscribed = stopper_on_subscribed;
    cb.on_unsubscribed = stopper_on_unsubscribed;
    cb.on_disconnect = stopper_on_disconnect;
    CHECK_OK(emq_client_set_callbacks(c, &cb, &s));
    CHECK_OK(emq_client_start(c));
    CHECK_OK(emq_client_start(c)); /* already running: fine */
    WAIT_UNTIL(emq_client_is_connected(c), 20000);
    CHECK_OK(emq_client_subscribe(c, s.topic, 1, NULL));
    WAIT_UNTIL(atomic_load(&s.subscribed) == 1, 20000);
    CHECK_OK(emq_client_publish(c, s.topic, (const uint8_t *)"stop", 4, 1, false, NULL));
    /* The thread stops after the first message's callback and disconnects. */
    WAIT_UNTIL(atomic_load(&s.disconnects) == 1, 20000);
    CHECK(s.disconnect_reason == EMQ_OK);
    CHECK_ERR(s.poll_err, EMQ_ERR_IN_CALLBACK);
    CHECK_OK(s.stop_err);
    CHECK(s.stop_took_ms < 50);
    CHECK_OK(s.publish_err);
    CHECK_OK(s.subscribe_err);
    CHECK_OK(s.unsubscribe_err);
    CHECK(!pthread_equal(s.callback_thread, pthread_self()));
    CHECK(!emq_client_is_connected(c));
    /* Nothing more is delivered: the "again" echo found no thread running. */
    deadline = test_now_ms() + 300;
    while (test_now_ms() < deadline) {
        sleep_ms(10);
    }
    CHECK(atomic_load(&s.messages) == 1);
    CHECK_ERR(emq_client_poll(c, 0), EMQ_ERR_THREAD_DRIVEN);
    /* Stop again from outside, then start again: it reconnects. */
    CHECK_OK(emq_client_stop(c));
    CHECK_OK(emq_client_start(c));
    WAIT_UNTIL(emq_client_is_connected(c), 20000);
    CHECK_OK(emq_client_stop(c));
    CHECK(!emq_client_is_connected(c));
    CHECK(atomic_load(&s.disconnects) == 2);
    CHECK_ERR(s.publish_in_disconnect_err, EMQ_ERR_NOT_CONNECTED);
    CHECK_OK(emq_client_free(c));
    printf("stop: stop inside on_message returned in %llu ms\n",
           (unsigned long long)s.stop_took_ms);
}

/* --- modes ----------------------------------------------------------------- */

static void test_modes(void)
{
    emq_client *polled = new_client("thr-poll", 16);
    emq_client *threaded = new_client("thr-thread", 16);
    uint16_t id = 0;
    char topic[96];

    CHECK_OK(emq_client_connect_uri(polled, uri()));
    CHECK_OK(emq_client_poll(polled, 0));
    CHECK_ERR(emq_client_start(polled), EMQ_ERR_POLL_DRIVEN);
    CHECK_OK(emq_client_stop(polled)); /* nothing runs: nothing to stop */
    CHECK_OK(emq_client_poll(polled, 0));

    CHECK_OK(emq_client_start(threaded));
    WAIT_UNTIL(emq_client_is_connected(threaded), 20000);
    CHECK_ERR(emq_client_poll(threaded, 0), EMQ_ERR_THREAD_DRIVEN);
    /* wait works with the thread: it waits for the thread's progress. */
    test_unique(topic, sizeof topic, "threads/modes");
    CHECK_OK(emq_client_publish(threaded, topic, (const uint8_t *)"x", 1, 2, false, &id));
    CHECK(id != 0);
    CHECK_OK(emq_client_wait(threaded, id, 5000));
    CHECK(emq_client_inflight(threaded) == 0);
    /* disconnect leaves the thread idle; connect from here hands the new
     * connection to it. */
    CHECK_OK(emq_client_disconnect(threaded));
    CHECK(!emq_client_is_connected(threaded));
    CHECK_OK(emq_client_connect_uri(threaded, uri()));
    CHECK_OK(emq_client_publish(threaded, topic, (const uint8_t *)"y", 1, 1, false, &id));
    CHECK_OK(emq_client_wait(threaded, id, 5000));
    CHECK_ERR(emq_client_start(NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_stop(NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_set_server(threaded, "nope://x"), EMQ_ERR_INVALID_URI);
    CHECK_ERR(emq_client_set_server(threaded, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_OK(emq_client_free(threaded));
    CHECK_OK(emq_client_free(polled));
    printf("modes: poll and thread exclude each other; wait works with the thread\n");
}

/* --- burst ------------------------------------------------------------------ */

#define BURST 20000

typedef struct burst_sink {
    atomic_long received;
    atomic_long out_of_order;
} burst_sink;

static void burst_on_message(void *ud, emq_client *c, const emq_message *m)
{
    burst_sink *s = ud;
    uint32_t seq;
    (void)c;
    CHECK(m->payload_len == sizeof seq);
    memcpy(&seq, m->payload, sizeof seq);
    if ((long)seq != atomic_load(&s->received)) {
        atomic_fetch_add(&s->out_of_order, 1);
    }
    atomic_fetch_add(&s->received, 1);
}

static void test_burst(void)
{
    emq_client *pub = new_client("thr-burst-pub", 16);
    emq_client *sub = new_client("thr-burst-sub", 16);
    emq_callbacks cb = no_callbacks();
    burst_sink sink = {0};
    char topic[96];
    uint16_t id = 0;
    uint32_t seq;
    uint64_t began;

    test_unique(topic, sizeof topic, "threads/burst");
    cb.on_message = burst_on_message;
    CHECK_OK(emq_client_set_callbacks(sub, &cb, &sink));
    CHECK_OK(emq_client_start(sub));
    WAIT_UNTIL(emq_client_is_connected(sub), 20000);
    CHECK_OK(emq_client_subscribe(sub, topic, 0, &id));
    CHECK_OK(emq_client_wait(sub, id, 5000));

    CHECK_OK(emq_client_start(pub));
    WAIT_UNTIL(emq_client_is_connected(pub), 20000);
    began = test_now_ms();
    for (seq = 0; seq < BURST; seq++) {
        CHECK_OK(emq_client_publish(pub, topic, (const uint8_t *)&seq, sizeof seq, 0, false, NULL));
    }
    /* Nothing more from this thread: the network thread writes the rest. */
    WAIT_UNTIL(atomic_load(&sink.received) == BURST, 20000);
    CHECK(atomic_load(&sink.out_of_order) == 0);
    CHECK_OK(emq_client_free(pub));
    CHECK_OK(emq_client_free(sub));
    printf("burst: %d QoS 0 publishes received in order in %llu ms\n", BURST,
           (unsigned long long)(test_now_ms() - began));
}

/* --- starting --------------------------------------------------------------- */

typedef struct attempt_log {
    atomic_int failures;
    atomic_int reason;
} attempt_log;

static void log_connect_failed(void *ud, emq_client *c, emq_err reason, uint8_t code)
{
    attempt_log *log = ud;
    (void)c;
    (void)code;
    atomic_store(&log->reason, (int)reason);
    atomic_fetch_add(&log->failures, 1);
}

static void test_starting(void)
{
    emq_client *c = new_client("thr-start", 16);
    emq_callbacks cb = no_callbacks();
    attempt_log log = {0};
    uint16_t silent_port;
    int silent = test_silent_listener(&silent_port);
    char silent_uri[64];
    uint64_t stop_began, stop_took;
    emq_state seen;

    /* No gap between start and the thread's first step. */
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_start(c));
    seen = emq_client_state(c);
    CHECK(seen != EMQ_STATE_DISCONNECTED);
    WAIT_UNTIL(emq_client_is_connected(c), 20000);
    CHECK_OK(emq_client_stop(c));
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_free(c));

    /* A broker that takes the connection and never answers: the thread
     * waits for CONNACK (command_timeout_ms is 10 s) until stop ends it. */
    c = new_client("thr-silent", 16);
    cb.on_connect_failed = log_connect_failed;
    CHECK_OK(emq_client_set_callbacks(c, &cb, &log));
    snprintf(silent_uri, sizeof silent_uri, "mqtt://127.0.0.1:%u", (unsigned)silent_port);
    CHECK_OK(emq_client_set_server(c, silent_uri));
    CHECK_OK(emq_client_start(c));
    WAIT_UNTIL(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK, 5000);
    stop_began = test_now_ms();
    CHECK_OK(emq_client_stop(c));
    stop_took = test_now_ms() - stop_began;
    CHECK(stop_took < 5000);
    CHECK(atomic_load(&log.failures) == 1);
    CHECK(atomic_load(&log.reason) == EMQ_ERR_CONNECTION_CLOSED);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_free(c));
    close(silent);
    printf("starting: state %d right after start; stop ended a CONNACK wait in %llu ms\n",
           (int)seen, (unsigned long long)stop_took);
}

/* --- cycles ---------------------------------------------------------------- */

static void test_cycles(void)
{
    const char *env = getenv("EMQ_TEST_CYCLES");
    long cycles = env != NULL ? strtol(env, NULL, 10) : 1000;
    long i;
    uint64_t started = test_now_ms();
    CHECK(cycles > 0 && cycles <= 100000);
    for (i = 0; i < cycles; i++) {
        emq_client *c = new_client("thr-cycle", 16);
        CHECK_OK(emq_client_start(c));
        if (i % 10 == 0) {
            /* Some cycles connect fully before stopping. */
            WAIT_UNTIL(emq_client_is_connected(c), 20000);
        }
        if (i % 2 == 0) {
            CHECK_OK(emq_client_stop(c));
        }
        CHECK_OK(emq_client_free(c)); /* stops a running client first */
    }
    printf("cycles: %ld create/start/stop/free cycles in %llu ms\n", cycles,
           (unsigned long long)(test_now_ms() - started));
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "";
    if (strcmp(which, "publishers") == 0) {
        test_publishers();
    } else if (strcmp(which, "echo") == 0) {
        test_echo();
    } else if (strcmp(which, "stop") == 0) {
        test_stop_in_callback();
    } else if (strcmp(which, "modes") == 0) {
        test_modes();
    } else if (strcmp(which, "burst") == 0) {
        test_burst();
    } else if (strcmp(which, "starting") == 0) {
        test_starting();
    } else if (strcmp(which, "cycles") == 0) {
        test_cycles();
    } else {
        fprintf(stderr, "usage: %s publishers|echo|stop|modes|burst|starting|cycles\n", argv[0]);
        return 2;
    }
    return 0;
}
