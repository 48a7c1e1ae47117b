/* emq_options.drop_unacked_on_loss, in both builds: QoS 1/2 messages sent
 * and not acknowledged when the link goes are dropped (on_dropped with
 * their packet ids and the loss's reason), never resent.
 *
 * Client P talks to the broker through a proxy of this test (proxy.h), so
 * the cut comes exactly where wanted: P publishes a few messages and waits
 * for their PUBACKs, then the proxy holds P's traffic, P publishes more,
 * and the proxy cuts the link. Every published id must end in exactly one
 * of on_published and on_dropped: the acknowledged ones in on_published,
 * the held ones in on_dropped, each once, with the reason on_disconnect
 * got; the outbox is empty afterwards. A subscriber S sees what reached
 * the broker; after P reconnects and a marker message of P's has reached S
 * (P would have resent dropped messages before it), S has seen:
 *   round 1 (both directions held: the broker never got the messages):
 *     none of the dropped messages;
 *   round 2 (only the PUBACKs held: the broker got them): each once.
 * The firmware build adds round 3: test_client_cut right after publishing
 * (the socket is shut down under P); the invariant holds, and S sees each
 * message at most once. */
#include "harness.h"
#include "proxy.h"
#include "rec_ext.h"

#define ROUND_MAX 8

static char topic[128];

typedef struct sub_rec {
    int got[4][ROUND_MAX]; /* deliveries per [round][seq] ("r<round>-<seq>") */
    int markers[4];        /* "m<round>" */
    int unexpected;
} sub_rec;

static void on_sub_message(void *ud, emq_client *c, const emq_message *m)
{
    sub_rec *s = ud;
    char text[32];
    unsigned round, seq;
    (void)c;
    if (m->payload_len >= sizeof text) {
        s->unexpected++;
        return;
    }
    memcpy(text, m->payload, m->payload_len);
    text[m->payload_len] = '\0';
    if (sscanf(text, "r%u-%u", &round, &seq) == 2 && round < 4 && seq < ROUND_MAX) {
        s->got[round][seq]++;
    } else if (sscanf(text, "m%u", &round) == 1 && round < 4) {
        s->markers[round]++;
    } else {
        s->unexpected++;
    }
}

/* Publishes "r<round>-<seq>" from P at `qos`. */
static uint16_t publish_seq(emq_client *p, int round, int seq, uint8_t qos)
{
    char payload[32];
    int len = snprintf(payload, sizeof payload, "r%d-%d", round, seq);
    uint16_t id = 0;
    CHECK_OK(emq_client_publish(p, topic, (const uint8_t *)payload, (size_t)len, qos, false, &id));
    CHECK(id != 0);
    return id;
}

static int count_id(const uint16_t *ids, int n, uint16_t id)
{
    int i, k = 0;
    for (i = 0; i < n; i++) {
        k += ids[i] == id;
    }
    return k;
}

/* Each id in `ids` is in exactly one of on_published and on_dropped, and
 * every dropped id is one of them; returns how many were dropped. */
static int check_outcomes(const xrec *x, const uint16_t *ids, int n, int dropped_before)
{
    int i, dropped = 0;
    for (i = 0; i < n; i++) {
        int acked = count_id(x->r.published, x->r.published_count, ids[i]);
        int lost = count_id(x->dropped_id + dropped_before, x->dropped - dropped_before, ids[i]);
        if (acked + lost != 1) {
            fprintf(stderr, "id %u: %d times published, %d times dropped\n", (unsigned)ids[i],
                    acked, lost);
        }
        CHECK(acked + lost == 1);
        dropped += lost;
    }
    for (i = dropped_before; i < x->dropped; i++) {
        CHECK(count_id(ids, n, x->dropped_id[i]) == 1);
    }
    CHECK(dropped == x->dropped - dropped_before);
    return dropped;
}

/* Polls P until on_disconnect reports the loss; poll's result then is the
 * reason (no auto_reconnect). */
static emq_err await_loss(emq_client *p, xrec *x, int disconnects)
{
    emq_err last = EMQ_OK;
    STEP_UNTIL(x->r.disconnects == disconnects, last = emq_client_poll(p, 20), 5000);
    CHECK(x->r.disconnect_reason != EMQ_OK);
    CHECK_ERR(last, x->r.disconnect_reason);
    return x->r.disconnect_reason;
}

/* Reconnects P through the proxy, publishes marker "m<round>" and polls
 * both clients until S has it and P's outbox is empty. */
static void reconnect_and_mark(emq_client *p, xrec *x, emq_client *s, sub_rec *sr, int round,
                               uint16_t proxy_port)
{
    char marker[8];
    uint16_t id = 0;
    int len = snprintf(marker, sizeof marker, "m%d", round);
    int connects = x->r.connects;
    CHECK_OK(emq_client_connect(p, test_host(), proxy_port));
    CHECK(x->r.connects == connects + 1 && x->r.connect_code == 0);
    CHECK(!x->r.session_present);
    CHECK_OK(emq_client_publish(p, topic, (const uint8_t *)marker, (size_t)len, 1, false, &id));
    CHECK_OK(emq_client_wait(p, id, 5000));
    CHECK(rec_was_published(&x->r, id));
    STEP_UNTIL(sr->markers[round] > 0, CHECK_OK(emq_client_poll(s, 20)), 5000);
    /* Late arrivals (a resend would have come before the marker). */
    {
        uint64_t until = test_now_ms() + 100;
        while (test_now_ms() < until) {
            CHECK_OK(emq_client_poll(s, 10));
            CHECK_OK(emq_client_poll(p, 0));
        }
    }
    CHECK(sr->markers[round] == 1);
    CHECK(emq_client_queued(p) == 0);
}

/* One round: `acked` messages acknowledged first, then the proxy holds
 * (up: also P -> broker), `held` more are published, and the link is cut. */
static void proxy_round(emq_client *p, xrec *x, emq_client *s, sub_rec *sr, test_proxy *px,
                        int round, int acked, int held, bool hold_up)
{
    uint16_t ids[ROUND_MAX];
    int i, n = acked + held, dropped_before = x->dropped, published_before = x->r.published_count;
    int disconnects = x->r.disconnects, dropped;
    emq_err reason;
    CHECK(n <= ROUND_MAX);

    for (i = 0; i < acked; i++) {
        ids[i] = publish_seq(p, round, i, 1);
        CHECK_OK(emq_client_wait(p, ids[i], 5000));
    }
    test_proxy_hold(px, hold_up, true);
    for (i = acked; i < n; i++) {
        /* With both directions held, the last one at QoS 2 (its PUBREC
         * never comes either). Not otherwise: mosquitto hands a QoS 2
         * message on at PUBREL, which would never be sent. */
        ids[i] = publish_seq(p, round, i, hold_up && i == n - 1 ? 2 : 1);
    }
    CHECK(emq_client_queued(p) == held);
    CHECK(emq_client_inflight(p) == held); /* all on the wire */
    if (!hold_up) {
        /* The broker has them: S gets each (PUBACKs are what is held). */
        for (i = acked; i < n; i++) {
            STEP_UNTIL(sr->got[round][i] > 0, CHECK_OK(emq_client_poll(s, 20)), 5000);
        }
    }
    CHECK(x->r.published_count == published_before + acked);
    CHECK(x->dropped == dropped_before);

    test_proxy_cut(px);
    reason = await_loss(p, x, disconnects + 1);
    CHECK(reason == EMQ_ERR_CONNECTION_CLOSED || reason == EMQ_ERR_IO);

    dropped = check_outcomes(x, ids, n, dropped_before);
    CHECK(dropped == held); /* the held ones, exactly */
    for (i = acked; i < n; i++) {
        CHECK(count_id(x->dropped_id + dropped_before, x->dropped - dropped_before, ids[i]) == 1);
    }
    for (i = dropped_before; i < x->dropped; i++) {
        CHECK_ERR(x->dropped_reason[i], reason);
    }
    CHECK(emq_client_queued(p) == 0);
    CHECK(emq_client_inflight(p) == 0);
    /* on_dropped before on_disconnect. */
    CHECK(x->order[x->order_len - 1] == 'D');
    CHECK(x->order[x->order_len - 2] == 'X');

    reconnect_and_mark(p, x, s, sr, round, px->port);
    CHECK(x->dropped == dropped_before + held); /* nothing more dropped */
    CHECK(x->r.published_count == published_before + acked + 1); /* + the marker */
    for (i = 0; i < n; i++) {
        int want = i < acked || !hold_up ? 1 : 0;
        if (sr->got[round][i] != want) {
            fprintf(stderr, "round %d: message %d seen %d times, expected %d\n", round, i,
                    sr->got[round][i], want);
        }
        CHECK(sr->got[round][i] == want);
    }
    printf("round %d: %d acknowledged, %d dropped (reason %s), none resent\n", round, acked,
           dropped, emq_err_str((int)reason));
}

#ifdef EMBERMQ_FIRMWARE
/* The socket shut down under P right after publishing. */
static void cut_round(emq_client *p, xrec *x, emq_client *s, sub_rec *sr, uint16_t proxy_port)
{
    const int round = 3, n = 5;
    uint16_t ids[ROUND_MAX];
    int i, dropped_before = x->dropped, published_before = x->r.published_count, dropped;
    emq_err reason;
    for (i = 0; i < n; i++) {
        ids[i] = publish_seq(p, round, i, 1);
    }
    CHECK(test_client_cut(p));
    reason = await_loss(p, x, x->r.disconnects + 1);
    dropped = check_outcomes(x, ids, n, dropped_before);
    for (i = dropped_before; i < x->dropped; i++) {
        CHECK_ERR(x->dropped_reason[i], reason);
    }
    CHECK(emq_client_queued(p) == 0);
    reconnect_and_mark(p, x, s, sr, round, proxy_port);
    CHECK(x->dropped == dropped_before + dropped);
    CHECK(x->r.published_count == published_before + (n - dropped) + 1);
    for (i = 0; i < n; i++) {
        CHECK(sr->got[round][i] <= 1); /* never resent */
    }
    printf("round %d (socket cut): %d acknowledged, %d dropped\n", round, n - dropped, dropped);
}
#endif

int main(void)
{
    static xrec x;
    static sub_rec sr;
    static test_proxy px;
    emq_client *p, *s = NULL;
    emq_options o;
    emq_callbacks cb;
    char id[64], sub_id[64];
    uint16_t pid;

    snprintf(topic, sizeof topic, "embermq/test/drop/%ld", (long)getpid());
    test_proxy_start(&px);

    /* S: straight to the broker, QoS 2 so it sees what P sent as sent. */
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(sub_id, sizeof sub_id, "emq-drop-sub");
    CHECK_OK(test_client_new(&o, &s));
    cb = no_callbacks();
    cb.on_message = on_sub_message;
    CHECK_OK(emq_client_set_callbacks(s, &cb, &sr));
    CHECK_OK(emq_client_connect(s, test_host(), test_port()));
    CHECK_OK(emq_client_subscribe(s, topic, 2, &pid));
    CHECK_OK(emq_client_wait(s, pid, 5000));

    /* P: through the proxy, dropping unacknowledged messages on a loss,
     * clean session, no automatic reconnect. */
    o = xrec_options(id, sizeof id, "emq-drop-p");
    o.drop_unacked_on_loss = true;
    p = xrec_client(&o, &x);
    CHECK_OK(emq_client_connect(p, test_host(), px.port));
    CHECK(x.r.connects == 1 && x.r.connect_code == 0);

    proxy_round(p, &x, s, &sr, &px, 1, 3, 4, true);
    proxy_round(p, &x, s, &sr, &px, 2, 2, 4, false);
#ifdef EMBERMQ_FIRMWARE
    cut_round(p, &x, s, &sr, px.port);
#endif
    CHECK(sr.unexpected == 0);
    CHECK(test_proxy_accepted(&px) == x.r.connects);

    CHECK_OK(emq_client_disconnect(p));
    CHECK_OK(test_client_free(p));
    CHECK_OK(emq_client_disconnect(s));
    CHECK_OK(test_client_free(s));
    test_proxy_stop(&px);
    printf("test_drop_unacked (%s build): ok\n", TEST_BUILD);
    return 0;
}
