/* emq_client_set_lock (the lock-hooks feature): one firmware client used
 * from several pthreads, the hooks over an error-checking pthread mutex.
 *
 *   1. Hooks with a NULL member are EMQ_ERR_NULL_POINTER and change
 *      nothing; emq_client_set_lock(client, NULL) removes them.
 *   2. While one thread waits in emq_client_poll (inside the transport's
 *      recv, with a long timeout), a second thread's emq_client_poll,
 *      emq_client_wait and emq_client_connect get EMQ_ERR_BUSY, and a
 *      publish from a third goes out (and its echo ends the wait).
 *   3. One thread polls in a loop while two others publish QoS 1 and QoS 0
 *      messages to a topic the client subscribes to: every QoS 1 message
 *      is acknowledged (on_published with the ids publish gave) and
 *      received, every QoS 0 publish completes.
 * Throughout: the hooks (checking wrappers over the mutex hooks of the
 * BSD-socket port, port/sockets) are never taken twice by one thread,
 * always released by the thread that took them, and never held while a
 * callback or a waiting recv runs. test-c.sh runs this
 * under valgrind too. */
#include "fw_posix.h"

#include <pthread.h>
#include <stdalign.h>

#define Q1_COUNT 200
#define Q0_COUNT 200

/* --- the lock hooks --------------------------------------------------------- */

static emq_port_mutex client_mu; /* the port's mutex, under port_hooks */
static emq_lock port_hooks;
static _Thread_local int held_here; /* this thread holds client_mu */
static unsigned long lock_calls;    /* guarded by client_mu */

static void hook_lock(void *ud)
{
    CHECK(ud == &client_mu);
    CHECK(held_here == 0); /* never twice from one thread */
    port_hooks.lock(port_hooks.user_data);
    held_here = 1;
    lock_calls++;
}

static void hook_unlock(void *ud)
{
    CHECK(ud == &client_mu);
    CHECK(held_here == 1);
    held_here = 0;
    port_hooks.unlock(port_hooks.user_data);
}

static unsigned long lock_count(void)
{
    unsigned long n;
    port_hooks.lock(port_hooks.user_data);
    n = lock_calls;
    port_hooks.unlock(port_hooks.user_data);
    return n;
}

/* --- transport: fw_posix's, noting when recv waits -------------------------- */

static pthread_mutex_t flag_mu = PTHREAD_MUTEX_INITIALIZER;
static int long_recvs_in;  /* threads inside a recv of >= 1000 ms */
static int recv_waits_locked; /* recvs that waited with the lock held */

static int flag_get(void)
{
    int n;
    pthread_mutex_lock(&flag_mu);
    n = long_recvs_in;
    pthread_mutex_unlock(&flag_mu);
    return n;
}

static int t_recv(void *ud, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    bool long_wait = timeout_ms >= 1000;
    int r;
    if (timeout_ms > 0 && held_here) {
        pthread_mutex_lock(&flag_mu);
        recv_waits_locked++;
        pthread_mutex_unlock(&flag_mu);
    }
    if (long_wait) {
        pthread_mutex_lock(&flag_mu);
        long_recvs_in++;
        pthread_mutex_unlock(&flag_mu);
    }
    r = fw_recv(ud, buf, len, timeout_ms);
    if (long_wait) {
        pthread_mutex_lock(&flag_mu);
        long_recvs_in--;
        pthread_mutex_unlock(&flag_mu);
    }
    return r;
}

/* --- recorder, shared by the threads ---------------------------------------- */

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int connects, disconnects, subscribed, callbacks_locked;
    int published0;                 /* on_published(0): QoS 0, in publishers */
    int published1;                 /* on_published(id != 0) */
    int acked[65536];               /* on_published per packet id */
    int got1[Q1_COUNT], got0[Q0_COUNT], echo, unexpected;
} r;

static void note_callback(void)
{
    if (held_here) {
        r.callbacks_locked++;
    }
}

static void on_connect(void *ud, emq_client *c, bool sp, uint8_t code)
{
    (void)ud;
    (void)c;
    (void)sp;
    pthread_mutex_lock(&rec_mu);
    note_callback();
    r.connects += code == 0;
    pthread_mutex_unlock(&rec_mu);
}

static void on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    (void)ud;
    (void)c;
    (void)reason;
    pthread_mutex_lock(&rec_mu);
    note_callback();
    r.disconnects++;
    pthread_mutex_unlock(&rec_mu);
}

static void on_subscribed(void *ud, emq_client *c, uint16_t id, const uint8_t *g, size_t n)
{
    (void)ud;
    (void)c;
    (void)id;
    pthread_mutex_lock(&rec_mu);
    note_callback();
    r.subscribed += n == 1 && g[0] == 1;
    pthread_mutex_unlock(&rec_mu);
}

static void on_published(void *ud, emq_client *c, uint16_t id)
{
    (void)ud;
    (void)c;
    pthread_mutex_lock(&rec_mu);
    note_callback();
    if (id == 0) {
        r.published0++;
    } else {
        r.published1++;
        r.acked[id]++;
    }
    pthread_mutex_unlock(&rec_mu);
}

static void on_message(void *ud, emq_client *c, const emq_message *m)
{
    char text[32];
    unsigned seq;
    (void)ud;
    (void)c;
    pthread_mutex_lock(&rec_mu);
    note_callback();
    if (m->payload_len < sizeof text) {
        memcpy(text, m->payload, m->payload_len);
        text[m->payload_len] = '\0';
        if (sscanf(text, "q1-%u", &seq) == 1 && seq < Q1_COUNT && m->qos == 1) {
            r.got1[seq]++;
        } else if (sscanf(text, "q0-%u", &seq) == 1 && seq < Q0_COUNT && m->qos == 0) {
            r.got0[seq]++;
        } else if (strcmp(text, "echo") == 0) {
            r.echo++;
        } else {
            r.unexpected++;
        }
    } else {
        r.unexpected++;
    }
    pthread_mutex_unlock(&rec_mu);
}

/* --- the client -------------------------------------------------------------- */

static alignas(EMQ_CLIENT_STORAGE_ALIGN) uint8_t storage[EMQ_CLIENT_STORAGE_SIZE];
static alignas(8) uint8_t tables[4096];
static uint8_t rx[1024], tx[1024], store[16384];
static emq_client *client;
static char topic[128];

static emq_lock hooks(void)
{
    emq_lock l;
    l.lock = hook_lock;
    l.unlock = hook_unlock;
    l.user_data = &client_mu;
    return l;
}

static void set_lock_checks(void)
{
    emq_lock l = hooks(), bad;
    unsigned long before;

    CHECK_ERR(emq_client_set_lock(NULL, &l), EMQ_ERR_NULL_POINTER);
    CHECK_OK(emq_client_set_lock(client, &l));
    before = lock_count();
    (void)emq_client_queued(client);
    CHECK(lock_count() > before); /* the hooks are used */

    /* A missing member: refused, the hooks set stay. */
    bad = l;
    bad.lock = NULL;
    CHECK_ERR(emq_client_set_lock(client, &bad), EMQ_ERR_NULL_POINTER);
    bad = l;
    bad.unlock = NULL;
    CHECK_ERR(emq_client_set_lock(client, &bad), EMQ_ERR_NULL_POINTER);
    before = lock_count();
    (void)emq_client_state(client);
    CHECK(lock_count() > before);

    /* NULL removes them. */
    CHECK_OK(emq_client_set_lock(client, NULL));
    before = lock_count();
    (void)emq_client_queued(client);
    (void)emq_client_state(client);
    CHECK(lock_count() == before);

    CHECK_OK(emq_client_set_lock(client, &l));
}

/* --- 2. EMQ_ERR_BUSY --------------------------------------------------------- */

static emq_err long_poll_result = EMQ_ERR_PANIC;
static emq_err busy_poll = EMQ_OK, busy_wait = EMQ_OK, busy_connect = EMQ_OK;

static void *long_poller(void *arg)
{
    (void)arg;
    long_poll_result = emq_client_poll(client, 5000);
    return NULL;
}

static void *second_poller(void *arg)
{
    (void)arg;
    WAIT_UNTIL(flag_get() == 1, 5000); /* the first waits in recv */
    busy_poll = emq_client_poll(client, 0);
    busy_wait = emq_client_wait(client, 1, 10);
    busy_connect = emq_client_connect(client, test_host(), test_port());
    return NULL;
}

static void busy(void)
{
    pthread_t a, b;
    uint64_t t0 = test_now_ms();
    int echo;
    CHECK(pthread_create(&a, NULL, long_poller, NULL) == 0);
    CHECK(pthread_create(&b, NULL, second_poller, NULL) == 0);
    CHECK(pthread_join(b, NULL) == 0);
    CHECK_ERR(busy_poll, EMQ_ERR_BUSY);
    CHECK_ERR(busy_wait, EMQ_ERR_BUSY);
    CHECK_ERR(busy_connect, EMQ_ERR_BUSY);
    CHECK(flag_get() == 1); /* the first still waits */
    /* Publishing goes on meanwhile; the echo ends the first one's wait. */
    CHECK_OK(emq_client_publish(client, topic, (const uint8_t *)"echo", 4, 0, false, NULL));
    CHECK(pthread_join(a, NULL) == 0);
    CHECK_OK(long_poll_result);
    pthread_mutex_lock(&rec_mu);
    echo = r.echo;
    pthread_mutex_unlock(&rec_mu);
    CHECK(echo == 1);
    CHECK(test_now_ms() - t0 < 5000); /* ended by the echo, not the timeout */
    CHECK(emq_client_is_connected(client));
    printf("busy: second poll, wait and connect got EMQ_ERR_BUSY; publish went on\n");
}

/* --- 3. pollers and publishers ----------------------------------------------- */

static volatile int stop_polling; /* set by main after the publishers */
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static int polls, poll_errors, refused_in_callback;
static uint16_t q1_ids[Q1_COUNT];
static int full_retries[2];

static bool should_stop(void)
{
    bool s;
    pthread_mutex_lock(&stop_mu);
    s = stop_polling != 0;
    pthread_mutex_unlock(&stop_mu);
    return s;
}

static void *poller(void *arg)
{
    (void)arg;
    /* Bounded: main stops it (and main's own waits are bounded). */
    while (!should_stop()) {
        emq_err err = emq_client_poll(client, 50);
        polls++;
        /* A publisher thread inside its QoS 0 on_published: the firmware
         * cannot tell which task runs a callback (no task identity in the
         * lock hooks), so a poll then is refused as from inside one. */
        if (err == EMQ_ERR_IN_CALLBACK) {
            refused_in_callback++;
            sleep_ms(1);
            continue;
        }
        if (err != EMQ_OK) {
            fprintf(stderr, "poller: %d (%s)\n", (int)err, emq_err_str((int)err));
            poll_errors++;
            sleep_ms(5);
        }
    }
    return NULL;
}

static void *publisher(void *arg)
{
    int qos = *(const int *)arg, i, count = qos == 1 ? Q1_COUNT : Q0_COUNT;
    uint64_t deadline = test_now_ms() + 60000;
    for (i = 0; i < count; i++) {
        char payload[32];
        int len = snprintf(payload, sizeof payload, "q%d-%d", qos, i);
        uint16_t id = 0;
        for (;;) {
            emq_err err = emq_client_publish(client, topic, (const uint8_t *)payload,
                                             (size_t)len, (uint8_t)qos, false, &id);
            if (err == EMQ_OK) {
                break;
            }
            /* The outbox or the packet ids are full: the poller frees them. */
            CHECK(err == EMQ_ERR_STORE_FULL || err == EMQ_ERR_INFLIGHT_FULL);
            CHECK(test_now_ms() < deadline);
            full_retries[qos]++;
            sleep_ms(1);
        }
        if (qos == 1) {
            CHECK(id != 0);
            q1_ids[i] = id;
        } else {
            CHECK(id == 0);
        }
    }
    return NULL;
}

static int published0_before; /* the echo of busy() */

static bool all_done(void)
{
    bool done;
    int i;
    pthread_mutex_lock(&rec_mu);
    done = r.published1 >= Q1_COUNT && r.published0 - published0_before >= Q0_COUNT;
    for (i = 0; i < Q1_COUNT && done; i++) {
        done = r.got1[i] > 0;
    }
    pthread_mutex_unlock(&rec_mu);
    return done && emq_client_queued(client) == 0;
}

static void threads(void)
{
    pthread_t p, pub[2];
    int qos[2] = {1, 0}, i, got0 = 0;
    uint64_t t0 = test_now_ms();
    published0_before = r.published0;
    CHECK(published0_before == 1);
    CHECK(pthread_create(&p, NULL, poller, NULL) == 0);
    for (i = 0; i < 2; i++) {
        CHECK(pthread_create(&pub[i], NULL, publisher, &qos[i]) == 0);
    }
    for (i = 0; i < 2; i++) {
        CHECK(pthread_join(pub[i], NULL) == 0);
    }
    WAIT_UNTIL(all_done(), 60000);
    pthread_mutex_lock(&stop_mu);
    stop_polling = 1;
    pthread_mutex_unlock(&stop_mu);
    CHECK(pthread_join(p, NULL) == 0);

    /* Every QoS 1 publish acknowledged once, with the id publish gave. */
    CHECK(poll_errors == 0);
    CHECK(r.published1 == Q1_COUNT);
    for (i = 0; i < Q1_COUNT; i++) {
        CHECK(r.acked[q1_ids[i]] > 0);
        CHECK(r.got1[i] >= 1);
    }
    {
        /* Ids are in use once at a time: acknowledgements per id add up. */
        int sum = 0, k;
        for (k = 0; k < 65536; k++) {
            sum += r.acked[k];
        }
        CHECK(sum == Q1_COUNT);
    }
    CHECK(r.published0 - published0_before == Q0_COUNT);
    for (i = 0; i < Q0_COUNT; i++) {
        CHECK(r.got0[i] <= 1);
        got0 += r.got0[i];
    }
    CHECK(r.unexpected == 0);
    CHECK(r.disconnects == 0);
    CHECK(emq_client_is_connected(client));
    CHECK(emq_client_inflight(client) == 0);
    printf("threads: %d QoS 1 acknowledged and received, %d/%d QoS 0 received, %d polls, "
           "%d/%d waits for room, %d ms\n",
           Q1_COUNT, got0, Q0_COUNT, polls, full_retries[1], full_retries[0],
           (int)(test_now_ms() - t0));
}

int main(void)
{
    static fw_net net;
    emq_transport transport = fw_transport(&net);
    emq_buffers buffers;
    emq_options o;
    emq_callbacks cb;
    char id[64];
    uint16_t pid = 0;

    CHECK_ERR(emq_port_mutex_init(NULL, &port_hooks), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_port_mutex_init(&client_mu, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_OK(emq_port_mutex_init(&client_mu, &port_hooks));
    CHECK(port_hooks.user_data == &client_mu);
    transport.recv = t_recv;
    snprintf(id, sizeof id, "emq-fw-lock-%ld", (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/fw-lock/%ld", (long)getpid());

    memset(&buffers, 0, sizeof buffers);
    buffers.rx = rx;
    buffers.rx_size = sizeof rx;
    buffers.tx = tx;
    buffers.tx_size = sizeof tx;
    buffers.store = store;
    buffers.store_size = sizeof store;
    buffers.packet_ids = 32;
    buffers.inbound_qos2 = 8;
    buffers.subscriptions = 4;
    buffers.subscription_bytes = 256;
    buffers.tables_size = emq_tables_size(&buffers);
    CHECK(buffers.tables_size <= sizeof tables);
    buffers.tables = tables;

    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.command_timeout_ms = 5000;
    o.keepalive_secs = 30;
    CHECK_OK(emq_client_init(storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                             &client));
    set_lock_checks();
    CHECK_OK(emq_callbacks_default(&cb));
    cb.on_connect = on_connect;
    cb.on_disconnect = on_disconnect;
    cb.on_subscribed = on_subscribed;
    cb.on_published = on_published;
    cb.on_message = on_message;
    CHECK_OK(emq_client_set_callbacks(client, &cb, NULL));

    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(r.connects == 1);
    CHECK_OK(emq_client_subscribe(client, topic, 1, &pid));
    CHECK_OK(emq_client_wait(client, pid, 5000));
    CHECK(r.subscribed == 1);

    busy();
    threads();

    CHECK_OK(emq_client_disconnect(client));
    CHECK(r.disconnects == 1);
    CHECK(r.callbacks_locked == 0);   /* no callback ran with the lock held */
    CHECK(recv_waits_locked == 0);    /* no recv waited with it held */
    CHECK(held_here == 0);
    CHECK_OK(emq_client_deinit(client));
    emq_port_mutex_deinit(&client_mu);
    printf("test_fw_lock: ok (%lu lock calls, %d polls refused during another thread's callback)\n", lock_calls,
           refused_in_callback);
    return 0;
}
