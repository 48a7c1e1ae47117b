/*
 * The recorder of harness.h plus the callbacks the "one client" work added:
 * on_connect_failed, on_dropped and on_log_event (and, on hosts, on_log),
 * with the order callbacks came in. For single-threaded tests (the poll
 * loop or the caller runs every callback); a test with a network thread
 * reads the counts under its own lock or after emq_client_stop.
 * Include after harness.h.
 */
#ifndef EMBERMQ_TEST_REC_EXT_H
#define EMBERMQ_TEST_REC_EXT_H

#define XREC_MAX 64
#define XREC_CODES 17 /* emq_log_code values are 1..16 */

typedef struct xrec {
    rec r; /* first, so the rec_* callbacks can be handed an xrec */
    /* on_connect_failed, in order (the first XREC_MAX kept) */
    int failed;
    emq_err failed_reason[XREC_MAX];
    uint8_t failed_code[XREC_MAX];
    uint64_t failed_at_ms; /* test_now_ms() at the latest */
    /* on_dropped */
    int dropped;
    uint16_t dropped_id[XREC_MAX];
    emq_err dropped_reason[XREC_MAX];
    /* on_log_event: count per code, and the values of the first XREC_MAX
     * EMQ_LOG_RECONNECT_SCHEDULED events */
    int events;
    int event_count[XREC_CODES];
    emq_log_code event_order[XREC_MAX]; /* the first XREC_MAX codes */
    int scheduled;
    uint32_t scheduled_ms[XREC_MAX];
    uint32_t connected_value; /* value of the latest EMQ_LOG_CONNECTED */
    /* on_log (hosts only) */
    int log_lines;
    /* Every callback in order, one letter each: C on_connect,
     * F on_connect_failed, D on_disconnect, X on_dropped, P on_published. */
    char order[256];
    int order_len;
} xrec;

static inline void xrec_note(xrec *x, char what)
{
    if (x->order_len < (int)sizeof x->order - 1) {
        x->order[x->order_len++] = what;
        x->order[x->order_len] = '\0';
    }
}

static inline void xrec_on_connect(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    xrec_note(ud, 'C');
    rec_on_connect(ud, c, session_present, code);
}

static inline void xrec_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    xrec_note(ud, 'D');
    rec_on_disconnect(ud, c, reason);
}

static inline void xrec_on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    xrec_note(ud, 'P');
    rec_on_published(ud, c, packet_id);
}

static inline void xrec_on_connect_failed(void *ud, emq_client *c, emq_err reason, uint8_t code)
{
    xrec *x = ud;
    (void)c;
    xrec_note(x, 'F');
    if (x->failed < XREC_MAX) {
        x->failed_reason[x->failed] = reason;
        x->failed_code[x->failed] = code;
    }
    x->failed++;
    x->failed_at_ms = test_now_ms();
}

static inline void xrec_on_dropped(void *ud, emq_client *c, uint16_t packet_id, emq_err reason)
{
    xrec *x = ud;
    (void)c;
    xrec_note(x, 'X');
    CHECK(x->dropped < XREC_MAX);
    x->dropped_id[x->dropped] = packet_id;
    x->dropped_reason[x->dropped] = reason;
    x->dropped++;
}

static inline void xrec_on_log_event(void *ud, emq_client *c, const emq_log_event *e)
{
    xrec *x = ud;
    (void)c;
    CHECK(e != NULL);
    CHECK((int)e->code >= 1 && (int)e->code < XREC_CODES);
    if (x->events < XREC_MAX) {
        x->event_order[x->events] = e->code;
    }
    x->events++;
    x->event_count[e->code]++;
    if (e->code == EMQ_LOG_RECONNECT_SCHEDULED) {
        if (x->scheduled < XREC_MAX) {
            x->scheduled_ms[x->scheduled] = e->value;
        }
        x->scheduled++;
    }
    if (e->code == EMQ_LOG_CONNECTED) {
        x->connected_value = e->value;
    }
}

static inline void xrec_on_log(void *ud, emq_log_level level, const char *line)
{
    xrec *x = ud;
    (void)level;
    CHECK(line != NULL);
    x->log_lines++;
}

static inline emq_callbacks xrec_callbacks(void)
{
    emq_callbacks cb = rec_callbacks();
    cb.on_connect = xrec_on_connect;
    cb.on_disconnect = xrec_on_disconnect;
    cb.on_published = xrec_on_published;
    cb.on_connect_failed = xrec_on_connect_failed;
    cb.on_dropped = xrec_on_dropped;
    cb.on_log_event = xrec_on_log_event;
    cb.on_log = xrec_on_log;
    return cb;
}

/* A client with the xrec callbacks. */
static inline emq_client *xrec_client(const emq_options *options, xrec *x)
{
    emq_client *client = NULL;
    emq_callbacks cb = xrec_callbacks();
    CHECK_OK(test_client_new(options, &client));
    CHECK(client != NULL);
    CHECK_OK(emq_client_set_callbacks(client, &cb, x));
    return client;
}

/* Options with a unique client id (`id` holds it) and a short command timeout. */
static inline emq_options xrec_options(char *id, size_t id_size, const char *prefix)
{
    emq_options o;
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, id_size, prefix);
    o.command_timeout_ms = 5000;
    return o;
}

/* One poll while a connection may be failing: EMQ_OK, or
 * EMQ_ERR_NOT_CONNECTED once the client has no connection (and is not
 * reconnecting). Returns what poll said. */
static inline emq_err xrec_poll(emq_client *client, uint32_t timeout_ms)
{
    emq_err err = emq_client_poll(client, timeout_ms);
    if (err != EMQ_OK && err != EMQ_ERR_NOT_CONNECTED) {
        fprintf(stderr, "poll: %d (%s)\n", (int)err, emq_err_str((int)err));
        CHECK(err == EMQ_OK || err == EMQ_ERR_NOT_CONNECTED);
    }
    return err;
}

/* Polls until `cond` holds, tolerating EMQ_ERR_NOT_CONNECTED; fails after `ms`. */
#define XPOLL_UNTIL(client, cond, ms) STEP_UNTIL(cond, xrec_poll((client), 20), ms)

/* Polls for `ms` (bounded), tolerating EMQ_ERR_NOT_CONNECTED. On hosts a
 * disconnected client's poll returns at once, so idle in short naps. */
static inline void xrec_poll_for(emq_client *client, uint32_t ms)
{
    uint64_t deadline = test_now_ms() + ms;
    while (test_now_ms() < deadline) {
        if (xrec_poll(client, 10) == EMQ_ERR_NOT_CONNECTED) {
            sleep_ms(5);
        }
    }
}

#endif
