/* A transport whose connect answers EMQ_TRANSPORT_IN_PROGRESS (as a modem
 * or a non-blocking lwIP socket would): emq_client_connect_start returns at
 * once in EMQ_STATE_CONNECTING and poll asks the transport again until it
 * is open, then CONNACK arrives through poll; the blocking connect asks
 * again within its timeout; a transport that never finishes gives
 * on_connect_failed(EMQ_ERR_TIMEOUT) and is closed; disconnect abandons an
 * attempt in progress. */
#include "fw_harness.h"

static fw_storage storage;
static uint8_t rx[256], tx[256], store[256];

/* The POSIX transport behind a connect that is "in progress" for the
 * first `pending` calls of each attempt. */
typedef struct slow_net {
    fw_net net;
    int pending;      /* calls still to answer "in progress" */
    int per_attempt;  /* what `pending` starts at for each attempt */
    int calls;        /* connect calls in all */
    uint32_t last_timeout;
} slow_net;

static int slow_connect(void *ud, const char *host, uint16_t port, uint32_t timeout_ms)
{
    slow_net *s = ud;
    s->calls++;
    s->last_timeout = timeout_ms;
    if (s->pending > 0) {
        s->pending--;
        return EMQ_TRANSPORT_IN_PROGRESS;
    }
    s->pending = s->per_attempt;
    return fw_connect(&s->net, host, port, timeout_ms);
}

static int slow_send(void *ud, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    return fw_send(&((slow_net *)ud)->net, buf, len, timeout_ms);
}

static int slow_recv(void *ud, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    return fw_recv(&((slow_net *)ud)->net, buf, len, timeout_ms);
}

static void slow_close(void *ud)
{
    slow_net *s = ud;
    s->pending = s->per_attempt;
    fw_close(&s->net);
}

static int failed;
static emq_err failed_reason;

static void on_connect_failed(void *ud, emq_client *c, emq_err reason, uint8_t code)
{
    (void)ud;
    (void)c;
    (void)code;
    failed++;
    failed_reason = reason;
}

int main(void)
{
    slow_net s;
    emq_transport t = {slow_connect, slow_send, slow_recv, slow_close, &s};
    emq_buffers b = {.rx = rx,
                     .rx_size = sizeof rx,
                     .tx = tx,
                     .tx_size = sizeof tx,
                     .store = store,
                     .store_size = sizeof store};
    emq_callbacks cb = fw_callbacks();
    emq_options o;
    emq_client *c;
    fw_rec r;
    char id[64];
    int polls;

    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    s.net.sock.fd = -1;
    s.per_attempt = s.pending = 3;
    snprintf(id, sizeof id, "emq-fw-progress-%ld", (long)getpid());
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.command_timeout_ms = 500;
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &t, fw_clock_ms, &b, &c));
    cb.on_connect_failed = on_connect_failed;
    CHECK_OK(emq_client_set_callbacks(c, &cb, &r));

    /* Non-blocking: in progress after the call, opened by poll. */
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    CHECK(s.calls == 1);
    CHECK(emq_client_state(c) == EMQ_STATE_CONNECTING);
    CHECK_ERR(emq_client_connect_start(c, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);
    CHECK(s.calls == 1);
    for (polls = 0; polls < 100 && r.connects == 0; polls++) {
        CHECK_OK(emq_client_poll(c, 10));
    }
    CHECK(r.connects == 1 && r.connect_code == 0);
    CHECK(s.calls == 4); /* three "in progress", then open */
    CHECK(s.last_timeout == 0);
    CHECK(emq_client_is_connected(c));
    CHECK(failed == 0);
    CHECK_OK(emq_client_disconnect(c));

    /* Blocking: asks again within the connect call. */
    s.calls = 0;
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));
    CHECK(s.calls == 4);
    CHECK(emq_client_is_connected(c));
    CHECK(r.connects == 2);
    CHECK_OK(emq_client_disconnect(c));

    /* Never finishes: the command timeout ends the attempt, reported once. */
    s.per_attempt = s.pending = 1000000;
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    for (polls = 0; polls < 1000 && failed == 0; polls++) {
        CHECK(emq_client_state(c) == EMQ_STATE_CONNECTING);
        emq_client_poll(c, 5);
        sleep_ms(2);
    }
    CHECK(failed == 1);
    CHECK_ERR(failed_reason, EMQ_ERR_TIMEOUT);
    CHECK_ERR(emq_client_last_error(c), EMQ_ERR_TIMEOUT);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_TIMEOUT);
    CHECK(failed == 2);

    /* Disconnect abandons an attempt in progress. */
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    CHECK(emq_client_state(c) == EMQ_STATE_CONNECTING);
    CHECK_OK(emq_client_disconnect(c));
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_poll(c, 0), EMQ_ERR_NOT_CONNECTED);

    CHECK_OK(emq_client_deinit(c));
    printf("fw connect in progress: polled open, blocking retry, timeout, abandon\n");
    return 0;
}
