/* Automatic reconnect and resubscribe, in both builds, with links cut in
 * the middle of the traffic.
 *
 * Cuts: a second client connecting with the same client id makes mosquitto
 * drop the first (a session takeover, a real broker behaviour, so it works
 * in both builds); the firmware build also cuts the socket under the
 * client (fw_net_cut: shut down both ways, the next send or recv fails).
 *
 * 1. Stream: client A (persistent session, auto_reconnect with a short
 *    reconnect_min_ms, queue_offline) subscribes to its own QoS 1 and QoS 2
 *    topics and publishes 40 QoS 1 and 40 QoS 2 messages in bursts; after
 *    some bursts its link is cut while messages are in flight, and the next
 *    burst goes out (or into the outbox) before it has reconnected. A and
 *    an observer O that is never cut each get every QoS 1 message at least
 *    once and every QoS 2 message exactly once; A sees one on_disconnect per
 *    cut and one on_connect per connection, each reconnect resuming the
 *    session (so no resubscribe), every publish completes once.
 * 2. Resubscribe: client C (clean session, auto_reconnect) subscribes to a
 *    QoS 1 and a QoS 2 filter and a per-filter handler; after each cut it
 *    reconnects without a session, subscribes again to all three
 *    (on_subscribed with the granted QoS, EMQ_LOG_RESUBSCRIBING), and
 *    messages on each filter keep arriving, the handler's to the handler. */
#include "harness.h"

#define PER_QOS 40
#define BURST 8
#define BURSTS (2 * PER_QOS / BURST)
#define ROUNDS 4 /* resubscribe: cuts, plus the round before the first */

typedef struct peer {
    emq_client *client;
    const char *topic[2]; /* the QoS 1 and QoS 2 stream topics */
    int connects, refused, resumed, disconnects, wrong_last_error, odd_reasons;
    int subscribed, granted[3], granted_refused, resubscribing, resubscribed_filters;
    int published, messages, dups, unexpected;
    int got[2][PER_QOS]; /* deliveries per [qos - 1][seq] */
    int round_got[3][ROUNDS]; /* resubscribe: [q1, q2, handler][round] */
    int handler_on_message; /* a handler's message that reached on_message */
} peer;

static void on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    peer *p = ud;
    (void)c;
    p->connects++;
    p->refused += code != 0;
    p->resumed += session_present;
}

static void on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    peer *p = ud;
    p->disconnects++;
    if (reason == EMQ_OK) {
        return; /* emq_client_disconnect */
    }
    /* A lost link: the broker closed it or the socket failed. */
    if (reason != EMQ_ERR_CONNECTION_CLOSED && reason != EMQ_ERR_IO) {
        fprintf(stderr, "on_disconnect: %d (%s)\n", (int)reason, emq_err_str((int)reason));
        p->odd_reasons++;
    }
    /* The query agrees with the callback (allowed inside callbacks). */
    if (emq_client_last_error(c) != reason) {
        p->wrong_last_error++;
    }
}

/* "seq:<n>" with n < PER_QOS, or -1. */
static int seq_of(const emq_message *m)
{
    char text[16];
    unsigned seq;
    if (m->payload_len >= sizeof text) {
        return -1;
    }
    memcpy(text, m->payload, m->payload_len);
    text[m->payload_len] = '\0';
    if (sscanf(text, "seq:%u", &seq) != 1 || seq >= PER_QOS) {
        return -1;
    }
    return (int)seq;
}

static bool topic_is(const emq_message *m, const char *topic)
{
    return m->topic_len == strlen(topic) && memcmp(m->topic, topic, m->topic_len) == 0;
}

/* Stream messages: on topic[0] at QoS 1, on topic[1] at QoS 2. */
static void on_stream_message(void *ud, emq_client *c, const emq_message *m)
{
    peer *p = ud;
    int q, seq = seq_of(m);
    (void)c;
    p->messages++;
    p->dups += m->dup;
    for (q = 0; q < 2; q++) {
        if (topic_is(m, p->topic[q]) && m->qos == q + 1 && seq >= 0) {
            p->got[q][seq]++;
            return;
        }
    }
    p->unexpected++;
}

static void on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    peer *p = ud;
    (void)c;
    p->published += packet_id != 0;
}

static void on_subscribed(void *ud, emq_client *c, uint16_t packet_id, const uint8_t *granted,
                          size_t count)
{
    peer *p = ud;
    size_t i;
    (void)c;
    (void)packet_id;
    p->subscribed++;
    for (i = 0; i < count; i++) {
        if (granted[i] <= 2) {
            p->granted[granted[i]]++;
        } else {
            p->granted_refused++;
        }
    }
}

static void on_log_event(void *ud, emq_client *c, const emq_log_event *e)
{
    peer *p = ud;
    (void)c;
    if (e->code == EMQ_LOG_RESUBSCRIBING) {
        p->resubscribing++;
        p->resubscribed_filters += (int)e->value;
    }
}

static emq_callbacks peer_callbacks(void)
{
    emq_callbacks cb;
    emq_callbacks_default(&cb);
    cb.on_connect = on_connect;
    cb.on_disconnect = on_disconnect;
    cb.on_message = on_stream_message;
    cb.on_published = on_published;
    cb.on_subscribed = on_subscribed;
    cb.on_log_event = on_log_event;
    return cb;
}

static emq_client *peer_client(peer *p, const emq_options *o, emq_callbacks cb)
{
    CHECK_OK(test_client_new(o, &p->client));
    CHECK_OK(emq_client_set_callbacks(p->client, &cb, p));
    CHECK_OK(emq_client_connect(p->client, test_host(), test_port()));
    CHECK(p->connects == 1 && p->refused == 0);
    return p->client;
}

static emq_options reconnecting_options(const char *id, bool clean_session)
{
    emq_options o;
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.clean_session = clean_session;
    o.keepalive_secs = 10;
    o.command_timeout_ms = 5000;
    o.auto_reconnect = true;
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 400;
    o.log_level = EMQ_LOG_INFO;
    return o;
}

/* One turn for every client of the test. */
static void poll_all(peer *const *peers, int n, uint32_t timeout_ms)
{
    int i;
    for (i = 0; i < n; i++) {
        CHECK_OK(emq_client_poll(peers[i]->client, i == 0 ? timeout_ms : 0));
    }
}

/* Cut `p`'s link: `kind` 0 by a takeover (a client with the same id, and
 * the given clean_session, connects and goes away without DISCONNECT),
 * 1 by cutting the socket (firmware build). */
static void cut(peer *p, const char *id, bool kicker_clean, int kind)
{
    emq_options o;
    emq_client *kicker = NULL;
    if (kind == 1) {
        CHECK(test_client_cut(p->client));
        return;
    }
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.clean_session = kicker_clean;
    CHECK_OK(test_client_new(&o, &kicker));
    CHECK_OK(emq_client_connect(kicker, test_host(), test_port()));
    CHECK(emq_client_is_connected(kicker));
    CHECK_OK(test_client_free(kicker)); /* no DISCONNECT: the socket closes */
}

/* The kinds of cut this build has: the firmware build alternates. */
static int cut_kind(int n)
{
#ifdef EMBERMQ_FIRMWARE
    return n % 2;
#else
    (void)n;
    return 0;
#endif
}

/* Polls everyone until `p` has seen `cuts` disconnects and is connected
 * again after them. */
static void await_reconnected(peer *p, int cuts, peer *const *peers, int n)
{
    STEP_UNTIL(p->disconnects == cuts && p->connects == cuts + 1 &&
                   emq_client_is_connected(p->client),
               poll_all(peers, n, 20), 10000);
    CHECK_ERR(emq_client_last_error(p->client), EMQ_OK);
}

/* Publishes "seq:<seq>" on p's stream topic for `qos`; a full outbox is
 * waited out (bounded), as a firmware loop would. Returns whether it had
 * to poll for that. */
static bool publish_seq(peer *p, int qos, int seq, peer *const *peers, int n)
{
    char payload[16];
    int len = snprintf(payload, sizeof payload, "seq:%d", seq);
    uint64_t deadline = test_now_ms() + 10000;
    bool polled = false;
    for (;;) {
        uint16_t id = 0;
        emq_err err = emq_client_publish(p->client, p->topic[qos - 1], (const uint8_t *)payload,
                                         (size_t)len, (uint8_t)qos, false, &id);
        if (err == EMQ_OK) {
            CHECK(id != 0);
            return polled;
        }
        CHECK_ERR(err, EMQ_ERR_STORE_FULL);
        CHECK(test_now_ms() < deadline);
        poll_all(peers, n, 20);
        polled = true;
    }
}

static bool stream_complete(const peer *p)
{
    int q, i;
    for (q = 0; q < 2; q++) {
        for (i = 0; i < PER_QOS; i++) {
            if (p->got[q][i] == 0) {
                return false;
            }
        }
    }
    return true;
}

/* Every QoS 1 message at least once, every QoS 2 message exactly once. */
static void check_stream(const peer *p, const char *who)
{
    int i, lost = 0, twice = 0, q1_again = 0;
    for (i = 0; i < PER_QOS; i++) {
        lost += p->got[0][i] == 0;
        lost += p->got[1][i] == 0;
        twice += p->got[1][i] > 1;
        q1_again += p->got[0][i] > 1;
    }
    printf("%s: %d messages, %d with DUP, %d QoS 1 redelivered, %d lost, %d QoS 2 twice\n", who,
           p->messages, p->dups, q1_again, lost, twice);
    CHECK(lost == 0);
    CHECK(twice == 0);
    CHECK(p->unexpected == 0);
}

static void stream_test(void)
{
    static peer a, o;
    peer *peers[2] = {&a, &o};
    emq_options opts;
    emq_subscription subs[2];
    char id[64], obs_id[64], base[96], q1[128], q2[128], all[128];
    uint16_t pid;
    uint64_t deadline;
    int burst, i, cuts = 0, socket_cuts = 0;
    bool just_cut = false;

    snprintf(base, sizeof base, "embermq/test/reconnect/%ld/stream", (long)getpid());
    snprintf(q1, sizeof q1, "%s/q1", base);
    snprintf(q2, sizeof q2, "%s/q2", base);
    snprintf(all, sizeof all, "%s/#", base);
    a.topic[0] = o.topic[0] = q1;
    a.topic[1] = o.topic[1] = q2;

    /* O: never cut, sees what A's publishes made of it at the broker. */
    CHECK_OK(emq_options_default(&opts));
    opts.client_id = test_unique(obs_id, sizeof obs_id, "emq-reconnect-obs");
    peer_client(&o, &opts, peer_callbacks());
    CHECK_OK(emq_client_subscribe(o.client, all, 2, &pid));
    CHECK_OK(emq_client_wait(o.client, pid, 5000));
    CHECK(o.subscribed == 1 && o.granted[2] == 1);

    /* A: persistent session, offline queueing, reconnects by itself. */
    opts = reconnecting_options(test_unique(id, sizeof id, "emq-reconnect-a"), false);
    opts.queue_offline = true;
    peer_client(&a, &opts, peer_callbacks());
    CHECK(a.resumed == 0); /* a new session */
    subs[0].filter = q1;
    subs[0].qos = 1;
    subs[1].filter = q2;
    subs[1].qos = 2;
    CHECK_OK(emq_client_subscribe_many(a.client, subs, 2, &pid));
    CHECK_OK(emq_client_wait(a.client, pid, 5000));
    CHECK(a.subscribed == 1 && a.granted[1] == 1 && a.granted[2] == 1);

    /* Bursts of publishes without waiting for acknowledgements. After the
     * odd bursts the link is cut with messages in flight, and the next
     * burst goes out on the dead link or into the outbox: A reconnects
     * only when polled after it. */
    for (burst = 0; burst < BURSTS; burst++) {
        bool cut_now = burst % 2 == 1 && burst < BURSTS - 1, polled = false;
        if (cut_now && cuts > 0) {
            await_reconnected(&a, cuts, peers, 2);
        }
        for (i = burst * BURST; i < (burst + 1) * BURST; i++) {
            polled |= publish_seq(&a, 1 + i % 2, i / 2, peers, 2);
        }
        if (just_cut && !polled) {
            CHECK(a.connects == cuts); /* published before reconnecting */
        }
        just_cut = false;
        if (cut_now) {
            int kind = cut_kind(cuts);
            CHECK(emq_client_inflight(a.client) > 0); /* mid-stream */
            cut(&a, id, false, kind);
            socket_cuts += kind;
            cuts++;
            just_cut = true;
        } else {
            poll_all(peers, 2, 0);
        }
    }
    await_reconnected(&a, cuts, peers, 2);

    /* Everything arrives and A's outbox empties (check_stream names what
     * is missing if not), then late duplicates would arrive. */
    deadline = test_now_ms() + 20000;
    while (!(stream_complete(&a) && stream_complete(&o) && emq_client_queued(a.client) == 0) &&
           test_now_ms() < deadline) {
        poll_all(peers, 2, 10);
    }
    deadline = test_now_ms() + 300;
    while (test_now_ms() < deadline) {
        poll_all(peers, 2, 10);
    }
    check_stream(&a, "stream, A (cut)");
    check_stream(&o, "stream, observer");
    CHECK(emq_client_queued(a.client) == 0);

    CHECK(cuts >= 3);
    CHECK(a.disconnects == cuts);
    CHECK(a.connects == cuts + 1 && a.refused == 0);
    CHECK(a.resumed == cuts); /* every reconnect resumed the session */
    CHECK(a.subscribed == 1); /* so nothing was subscribed again */
    CHECK(a.resubscribing == 0);
    CHECK(a.published == 2 * PER_QOS); /* each publish completed once */
    CHECK(a.odd_reasons == 0 && a.wrong_last_error == 0);
    CHECK(emq_client_inflight(a.client) == 0);
    CHECK(o.disconnects == 0 && o.connects == 1);
#ifdef EMBERMQ_FIRMWARE
    /* The transport was opened once per connection and closed per loss. */
    CHECK(test_client_net(a.client)->connects == cuts + 1);
    CHECK(test_client_net(a.client)->closes == cuts);
    CHECK(test_client_net(a.client)->cuts == socket_cuts);
    CHECK(socket_cuts >= 1);
#else
    CHECK(socket_cuts == 0);
#endif
    printf("stream: %d cuts (%d socket), %d reconnects\n", cuts, socket_cuts, a.connects - 1);

    CHECK_OK(emq_client_disconnect(a.client));
    CHECK(a.disconnects == cuts + 1);
    /* Disconnected on purpose: no reconnect. */
    CHECK_ERR(emq_client_poll(a.client, 100), EMQ_ERR_NOT_CONNECTED);
    CHECK(a.connects == cuts + 1);
    CHECK_OK(test_client_free(a.client));
    CHECK_OK(emq_client_disconnect(o.client));
    CHECK_OK(test_client_free(o.client));
}

/* --- resubscribe -------------------------------------------------------- */

static int current_round;

/* Messages on the resubscribe topics, counted per round. */
static void on_round_message(void *ud, emq_client *c, const emq_message *m)
{
    peer *p = ud;
    (void)c;
    p->messages++;
    if (topic_is(m, p->topic[0]) && m->qos == 1) {
        p->round_got[0][current_round]++;
    } else if (topic_is(m, p->topic[1]) && m->qos == 2) {
        p->round_got[1][current_round]++;
    } else if (m->topic_len >= 2 && memcmp(m->topic + m->topic_len - 2, "/x", 2) == 0) {
        p->handler_on_message++; /* should have gone to the handler */
    } else {
        p->unexpected++;
    }
}

static void handler(void *ud, emq_client *c, const emq_message *m)
{
    peer *p = ud;
    (void)c;
    if (m->qos == 1) {
        p->round_got[2][current_round]++;
    } else {
        p->unexpected++;
    }
}

static void resubscribe_test(void)
{
    static peer c, pub;
    peer *peers[2] = {&c, &pub};
    emq_options opts;
    emq_callbacks cb = peer_callbacks();
    emq_subscription subs[2];
    char id[64], pub_id[64], base[96], q1[128], q2[128], hf[128], ht[128];
    uint16_t pid;
    int round, k, cuts = 0, socket_cuts = 0;

    snprintf(base, sizeof base, "embermq/test/reconnect/%ld/resub", (long)getpid());
    snprintf(q1, sizeof q1, "%s/q1", base);
    snprintf(q2, sizeof q2, "%s/q2", base);
    snprintf(hf, sizeof hf, "%s/h/+", base);
    snprintf(ht, sizeof ht, "%s/h/x", base);
    c.topic[0] = q1;
    c.topic[1] = q2;

    CHECK_OK(emq_options_default(&opts));
    opts.client_id = test_unique(pub_id, sizeof pub_id, "emq-reconnect-pub");
    peer_client(&pub, &opts, peer_callbacks());

    /* C: clean session, so every reconnect starts without subscriptions. */
    opts = reconnecting_options(test_unique(id, sizeof id, "emq-reconnect-c"), true);
    cb.on_message = on_round_message;
    peer_client(&c, &opts, cb);
    subs[0].filter = q1;
    subs[0].qos = 1;
    subs[1].filter = q2;
    subs[1].qos = 2;
    CHECK_OK(emq_client_subscribe_many(c.client, subs, 2, &pid));
    CHECK_OK(emq_client_wait(c.client, pid, 5000));
    CHECK_OK(emq_client_subscribe_handler(c.client, hf, 1, handler, &c, &pid));
    CHECK_OK(emq_client_wait(c.client, pid, 5000));
    CHECK(c.subscribed == 2);
    CHECK(c.granted[1] == 2 && c.granted[2] == 1 && c.granted_refused == 0);

    for (round = 0; round < ROUNDS; round++) {
        int subscribed = c.subscribed, granted1 = c.granted[1], granted2 = c.granted[2];
        current_round = round;
        if (round > 0) {
            /* Cut; C reconnects without a session and subscribes again. */
            int kind = cut_kind(cuts);
            cut(&c, id, true, kind);
            socket_cuts += kind;
            cuts++;
            await_reconnected(&c, cuts, peers, 2);
            STEP_UNTIL(c.resubscribing == cuts && c.granted[1] - granted1 == 2 &&
                           c.granted[2] - granted2 == 1,
                       poll_all(peers, 2, 20), 5000);
            CHECK(c.subscribed > subscribed); /* on_subscribed fired again */
            CHECK(c.granted_refused == 0);
        }
        /* Messages on every filter arrive, the handler's to the handler. */
        CHECK_OK(emq_client_publish(pub.client, q1, (const uint8_t *)"a", 1, 1, false, NULL));
        CHECK_OK(emq_client_publish(pub.client, q2, (const uint8_t *)"b", 1, 2, false, NULL));
        CHECK_OK(emq_client_publish(pub.client, ht, (const uint8_t *)"c", 1, 1, false, NULL));
        STEP_UNTIL(c.round_got[0][round] >= 1 && c.round_got[1][round] >= 1 &&
                       c.round_got[2][round] >= 1,
                   poll_all(peers, 2, 20), 5000);
    }
    /* Late duplicates would arrive now. */
    {
        uint64_t deadline = test_now_ms() + 200;
        while (test_now_ms() < deadline) {
            poll_all(peers, 2, 10);
        }
    }
    for (round = 0; round < ROUNDS; round++) {
        for (k = 0; k < 3; k++) {
            /* Clean session, published after the SUBACK: exactly once. */
            CHECK(c.round_got[k][round] == 1);
        }
    }
    CHECK(c.handler_on_message == 0 && c.unexpected == 0);
    CHECK(c.disconnects == cuts && c.connects == cuts + 1 && c.refused == 0);
    CHECK(c.resumed == 0); /* clean session: never a session present */
    CHECK(c.resubscribing == cuts);
    CHECK(c.resubscribed_filters == 3 * cuts); /* q1, q2 and the handler's */
    CHECK(c.odd_reasons == 0 && c.wrong_last_error == 0);
    CHECK(pub.disconnects == 0);
#ifdef EMBERMQ_FIRMWARE
    CHECK(test_client_net(c.client)->connects == cuts + 1);
    CHECK(test_client_net(c.client)->cuts == socket_cuts);
#endif
    printf("resubscribe: %d cuts (%d socket), subscribed again each time\n", cuts, socket_cuts);

    CHECK_OK(emq_client_disconnect(c.client));
    CHECK_OK(test_client_free(c.client));
    CHECK_OK(emq_client_disconnect(pub.client));
    CHECK_OK(test_client_free(pub.client));
}

int main(void)
{
    stream_test();
    resubscribe_test();
    printf("test_reconnect (%s build): ok\n", TEST_BUILD);
    return 0;
}
