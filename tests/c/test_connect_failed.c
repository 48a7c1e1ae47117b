/* on_connect_failed for every failed attempt in every mode, the reconnect
 * policy options, emq_client_last_error and emq_connack_str, in both builds
 * (the network thread on hosts only):
 *   1. a blocking emq_client_connect to a closed port: one on_connect_failed
 *      with the error it also returns; last_error agrees; a later
 *      successful connect makes last_error EMQ_OK;
 *   2. auto_reconnect against a closed port: poll makes attempt after
 *      attempt, each reported to on_connect_failed (and announced by one
 *      EMQ_LOG_CONNECTING);
 *   3. hosts: the network thread (emq_client_set_server, emq_client_start)
 *      reports its failed attempts to on_connect_failed too;
 *   4. reconnect_fixed_interval: every EMQ_LOG_RECONNECT_SCHEDULED delay is
 *      reconnect_min_ms exactly; the default backoff grows;
 *   5. reconnect_after_connack_only: a failed first attempt is final, while
 *      a connection that got its CONNACK is reconnected after a loss;
 *   6. emq_connack_str. */
#include "harness.h"
#include "net_util.h"
#include "rec_ext.h"

#ifndef EMBERMQ_FIRMWARE
#include <pthread.h>
#endif

/* A failure to reach a closed port: what each build calls it. */
static bool connect_failure(emq_err err)
{
    return err == EMQ_ERR_CONNECT_FAILED || err == EMQ_ERR_IO;
}

static void blocking_connect(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = xrec_options(id, sizeof id, "emq-cfail");
    uint16_t port = test_closed_port();
    emq_err err;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    CHECK_ERR(emq_client_last_error(c), EMQ_OK); /* nothing failed yet */

    err = emq_client_connect(c, test_host(), port);
    CHECK(connect_failure(err));
    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], err);
    CHECK(x.failed_code[0] == 0);
    CHECK(x.r.connects == 0 && x.r.disconnects == 0);
    CHECK(strcmp(x.order, "F") == 0);
    CHECK_ERR(emq_client_last_error(c), err);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(x.event_count[EMQ_LOG_CONNECTING] == 1);
    CHECK(x.event_count[EMQ_LOG_CONNECT_FAILED] == 1);
    CHECK(x.scheduled == 0); /* no auto_reconnect */

    /* Not reconnecting: poll makes no attempt. */
    xrec_poll_for(c, 150);
    CHECK(x.failed == 1);

    /* A second failure is reported again, then a success clears last_error. */
    CHECK_ERR(emq_client_connect(c, test_host(), port), err);
    CHECK(x.failed == 2);
    CHECK_ERR(x.failed_reason[1], err);
    test_connect(c, &x.r);
    CHECK(x.failed == 2);
    CHECK_ERR(emq_client_last_error(c), EMQ_OK);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_ERR(emq_client_last_error(c), EMQ_OK); /* asked for: no failure */

    CHECK_OK(test_client_free(c));
    printf("blocking connect: %d (%s), reported once per attempt\n", (int)err,
           emq_err_str((int)err));
}

static emq_options reconnecting(char *id, size_t size, uint32_t min_ms, uint32_t max_ms)
{
    emq_options o = xrec_options(id, size, "emq-cfail-re");
    o.auto_reconnect = true;
    o.reconnect_min_ms = min_ms;
    o.reconnect_max_ms = max_ms;
    o.log_level = EMQ_LOG_INFO;
    return o;
}

static void poll_reconnects(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = reconnecting(id, sizeof id, 40, 80);
    uint16_t port = test_closed_port();
    emq_err first;
    int i;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);

    first = emq_client_connect(c, test_host(), port);
    CHECK(connect_failure(first));
    CHECK(x.failed == 1);
    CHECK(x.scheduled == 1);

    /* Poll makes the next attempts as their backoff passes. */
    STEP_UNTIL(x.failed >= 5, CHECK_OK(emq_client_poll(c, 20)), 10000);
    /* Each attempt: one EMQ_LOG_CONNECTING, one on_connect_failed, one
     * schedule (checked between polls, when every report is out). */
    CHECK(x.event_count[EMQ_LOG_CONNECTING] == x.failed);
    CHECK(x.event_count[EMQ_LOG_CONNECT_FAILED] == x.failed);
    CHECK(x.scheduled == x.failed);
    for (i = 0; i < x.failed && i < XREC_MAX; i++) {
        CHECK(connect_failure(x.failed_reason[i]));
        CHECK(x.failed_code[i] == 0);
    }
    CHECK(x.r.connects == 0 && x.r.disconnects == 0);
    CHECK_ERR(emq_client_last_error(c), x.failed_reason[(x.failed - 1) % XREC_MAX]);

    /* emq_client_disconnect ends the reconnecting. */
    CHECK_ERR(emq_client_disconnect(c), EMQ_ERR_NOT_CONNECTED);
    {
        int failed = x.failed;
        xrec_poll_for(c, 200);
        CHECK(x.failed == failed);
    }
    CHECK_OK(test_client_free(c));
    printf("poll reconnects: %d attempts, each reported\n", x.failed);
}

static void fixed_interval(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = reconnecting(id, sizeof id, 60, 5000);
    uint16_t port = test_closed_port();
    int i;
    memset(&x, 0, sizeof x);
    o.reconnect_fixed_interval = true;
    c = xrec_client(&o, &x);

    CHECK(connect_failure(emq_client_connect(c, test_host(), port)));
    STEP_UNTIL(x.scheduled >= 6, CHECK_OK(emq_client_poll(c, 20)), 10000);
    for (i = 0; i < x.scheduled && i < XREC_MAX; i++) {
        CHECK(x.scheduled_ms[i] == 60);
    }
    CHECK(x.failed == x.scheduled);
    CHECK_OK(test_client_free(c));
    printf("fixed interval: %d delays, all 60 ms\n", x.scheduled);
}

static void growing_backoff(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = reconnecting(id, sizeof id, 60, 5000);
    uint16_t port = test_closed_port();
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    CHECK(!o.reconnect_fixed_interval); /* the default */

    CHECK(connect_failure(emq_client_connect(c, test_host(), port)));
    STEP_UNTIL(x.scheduled >= 3, CHECK_OK(emq_client_poll(c, 20)), 10000);
    /* 60, then doubling with +-25 % jitter: 90..150, 180..300. */
    CHECK(x.scheduled_ms[0] == 60);
    CHECK(x.scheduled_ms[1] > x.scheduled_ms[0]);
    CHECK(x.scheduled_ms[2] > x.scheduled_ms[1]);
    CHECK(x.scheduled_ms[1] >= 90 && x.scheduled_ms[1] <= 150);
    CHECK(x.scheduled_ms[2] >= 180 && x.scheduled_ms[2] <= 300);
    CHECK_OK(test_client_free(c));
    printf("backoff: delays %u, %u, %u ms\n", (unsigned)x.scheduled_ms[0],
           (unsigned)x.scheduled_ms[1], (unsigned)x.scheduled_ms[2]);
}

/* Cuts `c`'s link: a second client takes its client id over. */
static void take_over(const char *id)
{
    emq_options o;
    emq_client *kicker = NULL;
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    CHECK_OK(test_client_new(&o, &kicker));
    CHECK_OK(emq_client_connect(kicker, test_host(), test_port()));
    CHECK_OK(test_client_free(kicker)); /* without DISCONNECT */
}

static void after_connack_only(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = reconnecting(id, sizeof id, 40, 80);
    uint16_t port = test_closed_port();
    memset(&x, 0, sizeof x);
    o.reconnect_after_connack_only = true;
    c = xrec_client(&o, &x);

    /* A failed first attempt is reported and not retried. */
    CHECK(connect_failure(emq_client_connect(c, test_host(), port)));
    CHECK(x.failed == 1);
    CHECK(x.scheduled == 0);
    xrec_poll_for(c, 5 * 80); /* several reconnect intervals */
    CHECK(x.failed == 1);
    CHECK(x.event_count[EMQ_LOG_CONNECTING] == 1);
    CHECK(x.scheduled == 0);
    CHECK_ERR(emq_client_poll(c, 10), EMQ_ERR_NOT_CONNECTED);

    /* A connection that got its CONNACK is reconnected after a loss. */
    test_connect(c, &x.r);
    take_over(id);
    XPOLL_UNTIL(c, x.r.disconnects == 1 && x.r.connects == 2 && emq_client_is_connected(c),
                10000);
    CHECK(x.failed == 1);
    CHECK(x.scheduled == 1);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
    printf("after connack only: first failure final, a lost connection reconnected\n");
}

#ifndef EMBERMQ_FIRMWARE
/* The network thread runs the callbacks: counted under a lock. */
typedef struct thread_rec {
    pthread_mutex_t mu;
    int failed, connects, disconnects, bad_reason;
    emq_err last_reason;
} thread_rec;

static void thread_on_failed(void *ud, emq_client *c, emq_err reason, uint8_t code)
{
    thread_rec *t = ud;
    (void)c;
    pthread_mutex_lock(&t->mu);
    t->failed++;
    t->last_reason = reason;
    t->bad_reason += !connect_failure(reason) || code != 0;
    pthread_mutex_unlock(&t->mu);
}

static void thread_on_connect(void *ud, emq_client *c, bool sp, uint8_t code)
{
    thread_rec *t = ud;
    (void)c;
    (void)sp;
    (void)code;
    pthread_mutex_lock(&t->mu);
    t->connects++;
    pthread_mutex_unlock(&t->mu);
}

static void thread_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    thread_rec *t = ud;
    (void)c;
    (void)reason;
    pthread_mutex_lock(&t->mu);
    t->disconnects++;
    pthread_mutex_unlock(&t->mu);
}

static int thread_failed(thread_rec *t)
{
    int n;
    pthread_mutex_lock(&t->mu);
    n = t->failed;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void network_thread(void)
{
    thread_rec t;
    emq_client *c;
    emq_callbacks cb;
    char id[64], uri[64];
    emq_options o = reconnecting(id, sizeof id, 40, 80);
    memset(&t, 0, sizeof t);
    CHECK(pthread_mutex_init(&t.mu, NULL) == 0);
    CHECK_OK(emq_client_new(&o, &c));
    cb = no_callbacks();
    cb.on_connect_failed = thread_on_failed;
    cb.on_connect = thread_on_connect;
    cb.on_disconnect = thread_on_disconnect;
    CHECK_OK(emq_client_set_callbacks(c, &cb, &t));

    snprintf(uri, sizeof uri, "mqtt://127.0.0.1:%u", (unsigned)test_closed_port());
    CHECK_OK(emq_client_set_server(c, uri));
    CHECK_OK(emq_client_start(c));
    WAIT_UNTIL(thread_failed(&t) >= 3, 10000);
    CHECK_OK(emq_client_stop(c));

    /* Stopped: the counts no longer move. */
    CHECK(t.bad_reason == 0);
    CHECK(t.connects == 0);
    /* emq_client_start's contract: the thread's failed attempts also go
     * to on_disconnect with their reason. */
    CHECK(t.disconnects == t.failed);
    CHECK_ERR(emq_client_last_error(c), t.last_reason);
    {
        int failed = t.failed;
        sleep_ms(200);
        CHECK(thread_failed(&t) == failed);
    }
    CHECK_OK(emq_client_free(c));
    pthread_mutex_destroy(&t.mu);
    printf("network thread: %d failed attempts reported to on_connect_failed\n", t.failed);
}
#endif

static void connack_strings(void)
{
    const char *s[8];
    int i, j;
    for (i = 0; i <= 5; i++) {
        s[i] = emq_connack_str((uint8_t)i);
        CHECK(s[i] != NULL && s[i][0] != '\0');
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s[i], s[j]) != 0);
        }
    }
    s[6] = emq_connack_str(6);
    s[7] = emq_connack_str(255);
    CHECK(s[6] != NULL && s[6][0] != '\0');
    CHECK(s[7] != NULL && strcmp(s[6], s[7]) == 0); /* one "unknown" text */
    for (i = 0; i <= 5; i++) {
        CHECK(strcmp(s[6], s[i]) != 0);
    }
    CHECK(strstr(s[6], "unknown") != NULL);
    printf("connack strings: 0 \"%s\" .. 5 \"%s\", other \"%s\"\n", s[0], s[5], s[6]);
}

int main(void)
{
    connack_strings();
    blocking_connect();
    poll_reconnects();
    fixed_interval();
    growing_backoff();
    after_connack_only();
#ifndef EMBERMQ_FIRMWARE
    network_thread();
#endif
    printf("test_connect_failed (%s build): ok\n", TEST_BUILD);
    return 0;
}
