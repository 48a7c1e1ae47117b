/* embermq on bare metal: QEMU boards (mps2-an386 Cortex-M4, mps2-an385
 * Cortex-M3, microbit Cortex-M0, riscv32 virt as RV32IMC; see board.h),
 * no RTOS, no heap.
 *
 * The MQTT transport is the board's UART byte stream; scripts/run-baremetal.sh
 * starts QEMU with `-serial tcp:127.0.0.1:PORT`, so the stream goes
 * straight to a mosquitto listening there. The firmware connects,
 * subscribes at QoS 2, publishes at QoS 0, 1 and 2, checks that it
 * receives each of its own messages at that QoS, unsubscribes and
 * disconnects. It prints the result and the deepest stack use (the thread
 * stack is painted before the first embermq call) over semihosting, and
 * exits with 0 on success, 1 on failure.
 *
 * Built with EMBERMQ_EXAMPLE_RESILIENT=1 (the embermq-qemu-resilient
 * target) it is the firmware that survives a cut link instead: automatic
 * reconnect, resubscribe, per-filter handlers and log events, with an
 * exchange that must complete across the cut the harness makes (see
 * "the resilient variant" below). Everything else is shared.
 *
 * Built with EMBERMQ_EXAMPLE_MQTT5=1 (the embermq-qemu-mqtt5 target,
 * linked with a library built with the mqtt5 feature, whose CMake target
 * defines EMBERMQ_MQTT5) it is the minimal firmware at protocol level 5:
 * the same calls and checks, except that it subscribes with
 * emq_client_subscribe_v5 and publishes its QoS 2 message with
 * emq_client_publish_v5 and a User Property, which must come back with
 * that message (emq_client_received_properties in on_message) and with no
 * other. */
#include <stdalign.h>
#include <string.h>

#include "board.h"

#define EMBERMQ_FIRMWARE 1
#include "embermq.h"

#ifndef EMBERMQ_EXAMPLE_RESILIENT
#define EMBERMQ_EXAMPLE_RESILIENT 0
#endif
#ifndef EMBERMQ_EXAMPLE_MQTT5
#define EMBERMQ_EXAMPLE_MQTT5 0
#endif
#if EMBERMQ_EXAMPLE_MQTT5 && EMBERMQ_EXAMPLE_RESILIENT
#error "EMBERMQ_EXAMPLE_MQTT5 and EMBERMQ_EXAMPLE_RESILIENT are two different firmwares"
#endif
#if EMBERMQ_EXAMPLE_MQTT5 && !defined(EMBERMQ_MQTT5)
#error "EMBERMQ_EXAMPLE_MQTT5 needs an embermq library built with the mqtt5 feature (EMBERMQ_MQTT5)"
#endif

#if EMBERMQ_EXAMPLE_RESILIENT
#define EXAMPLE "embermq-qemu-resilient"
#define TOPIC_BASE "embermq/qemu-resilient"
#define RUN_TIMEOUT_MS 30000u
#elif EMBERMQ_EXAMPLE_MQTT5
#define EXAMPLE "embermq-qemu-mqtt5"
#define TOPIC_BASE "embermq/qemu-mqtt5"
#define RUN_TIMEOUT_MS 20000u
/* The User Property the QoS 2 message carries there and back. */
#define USER_PROPERTY_NAME "sent-with"
#define USER_PROPERTY_VALUE "emq_client_publish_v5"
#define PROGRESS_NOTE " at protocol level 5"
#else
#define EXAMPLE "embermq-qemu"
#define TOPIC_BASE "embermq/qemu"
#define RUN_TIMEOUT_MS 20000u
#endif
#ifndef PROGRESS_NOTE
#define PROGRESS_NOTE ""
#endif
#define STACK_PAINT 0xC5C5C5C5u

/* The client and its buffers: static, sized at compile time. */
static alignas(EMQ_CLIENT_STORAGE_ALIGN) uint8_t client_storage[EMQ_CLIENT_STORAGE_SIZE];
static uint8_t rx_buffer[256], tx_buffer[256], store_buffer[256];

/* The stack pointer inside run(), whose frame calls every embermq function:
 * the stack below it is embermq's (and the callbacks it calls). */
static uintptr_t run_sp;

#if !EMBERMQ_EXAMPLE_RESILIENT
static struct {
    int messages;
    bool got_qos[3];
    bool bad_message;
    int subacks, unsubacks, published;
    uint8_t granted;
#if EMBERMQ_EXAMPLE_MQTT5
    bool bad_property;
#endif
} seen;
#endif

/* --- embermq's panic hook: report and fail ------------------------------------ */

void emq_platform_abort(void)
{
    semihost_write("FAIL: embermq panicked (emq_platform_abort)\n");
    semihost_exit(false);
}

/* --- transport: the UART byte stream ------------------------------------------ */

static uint32_t clock_ms(void)
{
    return board_now_ms();
}

static int uart_send(void *user_data, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    size_t i;
    (void)user_data;
    (void)timeout_ms; /* the UART always drains */
    for (i = 0; i < len; i++) {
        uart_write_byte(buf[i]);
    }
    return (int)len;
}

static int uart_recv(void *user_data, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    uint32_t start = board_now_ms();
    size_t n = 0;
    unsigned idle = 0;
    (void)user_data;
    /* Wait (bounded by timeout_ms) for the first byte ... */
    while (!uart_read_byte(&buf[0])) {
        if (board_now_ms() - start >= timeout_ms) {
            return 0;
        }
    }
    n = 1;
    /* ... then take what follows closely, until a short pause. */
    while (n < len && idle < 20000u) {
        if (uart_read_byte(&buf[n])) {
            n++;
            idle = 0;
        } else {
            idle++;
        }
    }
    return (int)n;
}

/* --- callbacks ----------------------------------------------------------------- */

#if !EMBERMQ_EXAMPLE_RESILIENT
static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    static const char prefix[] = TOPIC_BASE "/qos";
    char want[24];
    (void)user_data;
    (void)client;
    seen.messages++;
    if (m->topic_len != sizeof prefix || memcmp(m->topic, prefix, sizeof prefix - 1) != 0 ||
        m->qos > 2 || m->topic[sizeof prefix - 1] != (char)('0' + m->qos)) {
        seen.bad_message = true;
        return;
    }
    memcpy(want, "hello at qos ", 13);
    want[13] = (char)('0' + m->qos);
    if (m->payload_len != 14 || memcmp(m->payload, want, 14) != 0) {
        seen.bad_message = true;
        return;
    }
#if EMBERMQ_EXAMPLE_MQTT5
    {
        /* The QoS 2 message (emq_client_publish_v5) brings its User
         * Property back; the other two have none. */
        static const char name[] = USER_PROPERTY_NAME, value[] = USER_PROPERTY_VALUE;
        emq_properties props;
        emq_property p;
        bool has = emq_client_received_properties(client, &props) == EMQ_OK &&
                   emq_properties_get(&props, EMQ_PROP_USER_PROPERTY, &p);
        if (m->qos == 2 ? !has || p.data_len != sizeof name - 1 ||
                              memcmp(p.data, name, sizeof name - 1) != 0 ||
                              p.value_len != sizeof value - 1 ||
                              memcmp(p.value, value, sizeof value - 1) != 0
                        : has) {
            seen.bad_property = true;
        }
    }
#endif
    seen.got_qos[m->qos] = true;
}

static void on_subscribed(void *user_data, emq_client *client, uint16_t packet_id,
                          const uint8_t *granted, size_t count)
{
    (void)user_data;
    (void)client;
    (void)packet_id;
    seen.subacks++;
    seen.granted = count == 1 ? granted[0] : 0x80;
}

static void on_unsubscribed(void *user_data, emq_client *client, uint16_t packet_id)
{
    (void)user_data;
    (void)client;
    (void)packet_id;
    seen.unsubacks++;
}

static void on_published(void *user_data, emq_client *client, uint16_t packet_id)
{
    (void)user_data;
    (void)client;
    (void)packet_id;
    seen.published++;
}
#endif

/* --- reporting ----------------------------------------------------------------- */

static void report(const char *label, uint32_t value)
{
    char digits[11];
    semihost_write(label);
    semihost_write(board_utoa(value, digits));
    semihost_write("\n");
}

/* The error code as a number: emq_err_str() would link its message table
 * (about 2 KB), which this size-measured firmware leaves out. */
static int fail(const char *what, emq_err err)
{
    semihost_write("FAIL: ");
    semihost_write(what);
    report(": emq_err ", (uint32_t)err);
    return 1;
}

#define TRY(what, call)                      \
    do {                                     \
        emq_err err_ = (call);               \
        if (err_ != EMQ_OK) {                \
            return fail((what), err_);       \
        }                                    \
    } while (0)

/* Everything below the caller's frame down to `floor`, filled with the paint. */
static void paint_stack(uintptr_t below)
{
    volatile uint32_t *word = _thread_stack_bottom;
    while ((uintptr_t)word < below) {
        *word++ = STACK_PAINT;
    }
}

static uint32_t stack_used_below(uintptr_t top)
{
    const uint32_t *word = _thread_stack_bottom;
    while ((uintptr_t)word < top && *word == STACK_PAINT) {
        word++;
    }
    return (uint32_t)(top - (uintptr_t)word);
}

#if !EMBERMQ_EXAMPLE_RESILIENT
__attribute__((noinline)) static int run(emq_client **out)
{
    static const emq_transport transport = {NULL, uart_send, uart_recv, NULL, NULL};
    const emq_buffers buffers = {.rx = rx_buffer,
                                 .rx_size = sizeof rx_buffer,
                                 .tx = tx_buffer,
                                 .tx_size = sizeof tx_buffer,
                                 .store = store_buffer,
                                 .store_size = sizeof store_buffer};
    emq_callbacks callbacks;
    emq_options options;
    emq_client *client;
    uint16_t id;
    uint32_t deadline = board_now_ms() + RUN_TIMEOUT_MS;
    int qos;

    run_sp = board_current_sp();
    TRY("options", emq_options_default(&options));
    options.client_id = EXAMPLE "-" BOARD_NAME;
    options.keepalive_secs = 30;
    options.command_timeout_ms = 5000;
#if EMBERMQ_EXAMPLE_MQTT5
    options.protocol_level = 5;
#endif
    TRY("init", emq_client_init(client_storage, sizeof client_storage, &options, &transport,
                                clock_ms, &buffers, &client));
    *out = client;
    emq_callbacks_default(&callbacks);
    callbacks.on_message = on_message;
    callbacks.on_subscribed = on_subscribed;
    callbacks.on_unsubscribed = on_unsubscribed;
    callbacks.on_published = on_published;
    TRY("callbacks", emq_client_set_callbacks(client, &callbacks, NULL));

    TRY("connect", emq_client_connect(client, NULL, 0));
    semihost_write(EXAMPLE ": connected over UART0" PROGRESS_NOTE "\n");
#if EMBERMQ_EXAMPLE_MQTT5
    {
        /* No Local off: the firmware receives its own messages. */
        static const emq_subscription_v5 subscription = {.filter = TOPIC_BASE "/#", .qos = 2};
        TRY("subscribe_v5", emq_client_subscribe_v5(client, &subscription, 1, NULL, 0, &id));
    }
#else
    TRY("subscribe", emq_client_subscribe(client, TOPIC_BASE "/#", 2, &id));
#endif
    TRY("wait SUBACK", emq_client_wait(client, id, 5000));
    if (seen.subacks != 1 || seen.granted != 2) {
        return fail("SUBACK", EMQ_ERR_PROTOCOL_VIOLATION);
    }
    semihost_write(EXAMPLE ": subscribed to " TOPIC_BASE "/# at QoS 2\n");

    for (qos = 0; qos <= 2; qos++) {
        char topic[] = TOPIC_BASE "/qos0";
        char payload[] = "hello at qos 0";
        topic[sizeof topic - 2] = (char)('0' + qos);
        payload[sizeof payload - 2] = (char)('0' + qos);
#if EMBERMQ_EXAMPLE_MQTT5
        if (qos == 2) {
            static const emq_property user_property = {
                .id = EMQ_PROP_USER_PROPERTY,
                .data = USER_PROPERTY_NAME,
                .data_len = sizeof USER_PROPERTY_NAME - 1,
                .value = USER_PROPERTY_VALUE,
                .value_len = sizeof USER_PROPERTY_VALUE - 1};
            TRY("publish_v5", emq_client_publish_v5(client, topic, (const uint8_t *)payload,
                                                    sizeof payload - 1, 2, false,
                                                    &user_property, 1, &id));
            TRY("wait PUBCOMP", emq_client_wait(client, id, 5000));
            continue;
        }
#endif
        TRY("publish", emq_client_publish(client, topic, (const uint8_t *)payload,
                                          sizeof payload - 1, (uint8_t)qos, false, &id));
        if (qos > 0) {
            TRY("wait PUBACK/PUBCOMP", emq_client_wait(client, id, 5000));
        }
    }
    while (seen.messages < 3) {
        if ((int32_t)(board_now_ms() - deadline) >= 0) {
            return fail("receiving own messages", EMQ_ERR_TIMEOUT);
        }
        TRY("poll", emq_client_poll(client, 100));
    }
    if (seen.bad_message || !seen.got_qos[0] || !seen.got_qos[1] || !seen.got_qos[2] ||
        seen.published != 3) {
        return fail("received messages differ from those sent", EMQ_ERR_PROTOCOL_VIOLATION);
    }
#if EMBERMQ_EXAMPLE_MQTT5
    if (seen.bad_property) {
        return fail("the User Property did not come back with the QoS 2 message alone",
                    EMQ_ERR_PROTOCOL_VIOLATION);
    }
    semihost_write(EXAMPLE ": published and received QoS 0, 1 and 2 (QoS 2 with its User Property)\n");
#else
    semihost_write(EXAMPLE ": published and received QoS 0, 1 and 2\n");
#endif

    TRY("unsubscribe", emq_client_unsubscribe(client, TOPIC_BASE "/#", &id));
    TRY("wait UNSUBACK", emq_client_wait(client, id, 5000));
    if (seen.unsubacks != 1) {
        return fail("UNSUBACK", EMQ_ERR_PROTOCOL_VIOLATION);
    }
    TRY("disconnect", emq_client_disconnect(client));
    TRY("deinit", emq_client_deinit(client));
    return 0;
}
#else /* EMBERMQ_EXAMPLE_RESILIENT */

/* --- the resilient variant -------------------------------------------------------
 *
 * Automatic reconnect with a short backoff, a 2 s keepalive (a UART has no
 * disconnect signal: a dead link shows as a PINGRESP that does not come, at
 * most 3 s after the last packet), resubscribe from a subscription table
 * in table memory, one handler per filter (emq_client_subscribe_handler),
 * and the log events counted and printed. The exchange runs in rounds:
 * each publishes QoS 0, 1 and 2 to the three filters and waits for all
 * three to come back. A round the cut interrupts is tried again once the
 * client is connected and its outbox empty: the session is clean, so what
 * the broker had in flight towards the firmware is gone, and the QoS 1/2
 * copies the client resends after CONNACK reach the broker before its new
 * SUBSCRIBE (a QoS 1 copy is routed on arrival, to no one; mosquitto
 * routes a QoS 2 one on PUBREL, after the SUBSCRIBE, so that one comes
 * back, counted as late). The harness cuts the link once mid-run
 * (scripts/link-cut-proxy.py); the run fails unless the client lost the
 * link, reconnected and resubscribed. */

#define ROUNDS 6u
#define TRIES_PER_ROUND 5u
#define TRY_MS 1500u
#define FILTERS 3u

/* Table memory: packet ids, inbound QoS 2 ids, the subscription table. */
static alignas(8) uint8_t table_memory[256];

static struct {
    /* The link, from on_connect, on_disconnect and on_log_event. */
    uint32_t connacks, refusals, losses, attempts, failed_attempts;
    uint32_t resubscribes, resubscribe_failures;
    emq_err last_loss;
    /* Subscriptions: filters granted in all, and since the last CONNACK. */
    uint32_t filters_granted, filters_refused, granted_in_session, unsubacks;
    /* The exchange: the current try's payload and what came back. */
    char payload[32];
    size_t payload_len;
    bool got[3];
    uint32_t rounds, tries, late, duplicates, qos2_duplicates, misrouted, unrouted;
    size_t table_bytes;
} link;

static void log_line(const char *what, uint32_t value)
{
    char digits[11];
    semihost_write(EXAMPLE ": [");
    semihost_write(board_utoa(board_now_ms(), digits));
    semihost_write(" ms] ");
    report(what, value);
}

static void on_connect(void *user_data, emq_client *client, bool session_present,
                       uint8_t return_code)
{
    (void)user_data;
    (void)client;
    (void)session_present;
    if (return_code == 0) {
        link.connacks++;
        link.granted_in_session = 0;
    } else {
        link.refusals++;
    }
}

static void on_disconnect(void *user_data, emq_client *client, emq_err reason)
{
    (void)user_data;
    if (reason != EMQ_OK) {
        link.losses++;
        link.last_loss = reason;
        log_line("on_disconnect: link lost, emq_client_last_error ",
                 (uint32_t)emq_client_last_error(client));
    }
}

static void on_log_event(void *user_data, emq_client *client, const emq_log_event *e)
{
    (void)user_data;
    (void)client;
    switch (e->code) {
    case EMQ_LOG_CONNECTING:
        link.attempts++;
        log_line("log: connecting, failed attempts before: ", e->value);
        break;
    case EMQ_LOG_CONNECTED:
        log_line("log: connected, session present: ", e->value);
        break;
    case EMQ_LOG_CONNECT_FAILED:
        link.failed_attempts++;
        log_line("log: connect failed, emq_err ", (uint32_t)e->error);
        break;
    case EMQ_LOG_CONNECTION_LOST:
        log_line("log: connection lost, emq_err ", (uint32_t)e->error);
        break;
    case EMQ_LOG_RECONNECT_SCHEDULED:
        log_line("log: reconnect scheduled in (ms): ", e->value);
        break;
    case EMQ_LOG_RESUBSCRIBING:
        link.resubscribes++;
        log_line("log: resubscribing, filters: ", e->value);
        break;
    case EMQ_LOG_RESUBSCRIBE_FAILED:
        link.resubscribe_failures++;
        log_line("log: resubscribe failed, emq_err ", (uint32_t)e->error);
        break;
    case EMQ_LOG_DISCONNECTED:
        log_line("log: disconnected, value: ", e->value);
        break;
    case EMQ_LOG_OVERFLOW:
        log_line("log: events dropped: ", e->value);
        break;
    default:
        log_line("log: event code ", (uint32_t)e->code);
        break;
    }
}

static void on_subscribed(void *user_data, emq_client *client, uint16_t packet_id,
                          const uint8_t *granted, size_t count)
{
    size_t i;
    (void)user_data;
    (void)client;
    (void)packet_id;
    for (i = 0; i < count; i++) {
        if (granted[i] <= 2) {
            link.filters_granted++;
            link.granted_in_session++;
        } else {
            link.filters_refused++;
        }
    }
}

static void on_unsubscribed(void *user_data, emq_client *client, uint16_t packet_id)
{
    (void)user_data;
    (void)client;
    (void)packet_id;
    link.unsubacks++;
}

/* Messages no handler took: there should be none. */
static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    (void)user_data;
    (void)client;
    (void)m;
    link.unrouted++;
}

/* The handler of filter TOPIC_BASE "/qos<N>", subscribed at QoS N
 * (user_data: N). */
static void on_exchange(void *user_data, emq_client *client, const emq_message *m)
{
    static const char prefix[] = TOPIC_BASE "/qos";
    const unsigned qos = (unsigned)(uintptr_t)user_data;
    (void)client;
    if (qos > 2 || m->qos != qos || m->topic_len != sizeof prefix ||
        memcmp(m->topic, prefix, sizeof prefix - 1) != 0 ||
        m->topic[sizeof prefix - 1] != (char)('0' + qos)) {
        link.misrouted++;
        return;
    }
    if (m->payload_len != link.payload_len ||
        memcmp(m->payload, link.payload, link.payload_len) != 0) {
        link.late++; /* an earlier try's message */
        return;
    }
    if (link.got[qos]) {
        if (qos == 2) {
            link.qos2_duplicates++;
        } else {
            link.duplicates++;
        }
        return;
    }
    link.got[qos] = true;
}

/* One bounded turn of the event loop: poll drives reconnects too. */
static emq_err turn(emq_client *client, uint32_t deadline)
{
    if ((int32_t)(board_now_ms() - deadline) >= 0) {
        return EMQ_ERR_TIMEOUT;
    }
    return emq_client_poll(client, 20);
}

/* "round R try T": the payload of all three messages of a try. */
static void start_try(unsigned round, unsigned try_no)
{
    char digits[11];
    size_t n;
    memcpy(link.payload, "round ", 6);
    n = 6;
    board_utoa(round, digits);
    memcpy(&link.payload[n], digits, strlen(digits));
    n += strlen(digits);
    memcpy(&link.payload[n], " try ", 5);
    n += 5;
    board_utoa(try_no, digits);
    memcpy(&link.payload[n], digits, strlen(digits));
    n += strlen(digits);
    link.payload_len = n;
    memset(link.got, 0, sizeof link.got);
}

static bool try_complete(void)
{
    return link.got[0] && link.got[1] && link.got[2];
}

static int exchange(emq_client *client, uint32_t deadline)
{
    unsigned round, try_no, qos;
    for (round = 1; round <= ROUNDS; round++) {
        for (try_no = 1;; try_no++) {
            uint32_t until;
            bool sent = true;
            if (try_no > TRIES_PER_ROUND) {
                return fail("a round did not complete", EMQ_ERR_TIMEOUT);
            }
            /* Connected, and nothing of an earlier try still in the outbox. */
            while (!emq_client_is_connected(client) || emq_client_queued(client) != 0) {
                TRY("waiting for the link", turn(client, deadline));
            }
            start_try(round, try_no);
            link.tries++;
            for (qos = 0; qos <= 2 && sent; qos++) {
                char topic[] = TOPIC_BASE "/qos0";
                emq_err err;
                topic[sizeof topic - 2] = (char)('0' + qos);
                err = emq_client_publish(client, topic, (const uint8_t *)link.payload,
                                         link.payload_len, (uint8_t)qos, false, NULL);
                if (err == EMQ_ERR_NOT_CONNECTED) {
                    sent = false; /* lost meanwhile: try again */
                } else if (err != EMQ_OK) {
                    return fail("publish", err);
                }
            }
            until = board_now_ms() + TRY_MS;
            while (sent && !try_complete() && (int32_t)(board_now_ms() - until) < 0) {
                TRY("poll", turn(client, deadline));
            }
            /* From here on, this try's messages count as late. */
            link.payload_len = 0;
            if (try_complete()) {
                break;
            }
            log_line("round not completed, trying it again: ", round);
        }
        link.rounds++;
    }
    return 0;
}

__attribute__((noinline)) static int run(emq_client **out)
{
    static const emq_transport transport = {NULL, uart_send, uart_recv, NULL, NULL};
    static const char *const filters[FILTERS] = {TOPIC_BASE "/qos0", TOPIC_BASE "/qos1",
                                                 TOPIC_BASE "/qos2"};
    emq_buffers buffers = {.rx = rx_buffer,
                           .rx_size = sizeof rx_buffer,
                           .tx = tx_buffer,
                           .tx_size = sizeof tx_buffer,
                           .store = store_buffer,
                           .store_size = sizeof store_buffer,
                           .packet_ids = 4,
                           .inbound_qos2 = 4,
                           .subscriptions = 4,
                           .subscription_bytes = 96};
    emq_callbacks callbacks;
    emq_options options;
    emq_client *client;
    emq_err err;
    uint16_t id;
    uint32_t deadline = board_now_ms() + RUN_TIMEOUT_MS;
    unsigned qos;

    run_sp = board_current_sp();
    link.table_bytes = emq_tables_size(&buffers);
    if (link.table_bytes > sizeof table_memory) {
        return fail("table memory smaller than emq_tables_size()", EMQ_ERR_BUFFER_TOO_SMALL);
    }
    buffers.tables = table_memory;
    buffers.tables_size = link.table_bytes;
    TRY("options", emq_options_default(&options));
    options.client_id = EXAMPLE "-" BOARD_NAME;
    options.keepalive_secs = 2;
    options.command_timeout_ms = 2000;
    options.auto_reconnect = true;
    options.reconnect_min_ms = 250;
    options.reconnect_max_ms = 1000;
    options.resubscribe = true;
    TRY("init", emq_client_init(client_storage, sizeof client_storage, &options, &transport,
                                clock_ms, &buffers, &client));
    *out = client;
    emq_callbacks_default(&callbacks);
    callbacks.on_connect = on_connect;
    callbacks.on_disconnect = on_disconnect;
    callbacks.on_message = on_message;
    callbacks.on_subscribed = on_subscribed;
    callbacks.on_unsubscribed = on_unsubscribed;
    callbacks.on_log_event = on_log_event;
    TRY("callbacks", emq_client_set_callbacks(client, &callbacks, NULL));

    /* QEMU opens the UART's socket (reconnect=...) while the firmware
     * starts, so the first CONNECT may go nowhere: poll retries it. */
    err = emq_client_connect(client, NULL, 0);
    if (err != EMQ_OK) {
        log_line("first connect failed, retrying; emq_err ", (uint32_t)err);
    }
    while (!emq_client_is_connected(client)) {
        TRY("connecting", turn(client, deadline));
    }
    semihost_write(EXAMPLE ": connected over UART0\n");

    for (qos = 0; qos < FILTERS; qos++) {
        TRY("subscribe", emq_client_subscribe_handler(client, filters[qos], (uint8_t)qos,
                                                      on_exchange, (void *)(uintptr_t)qos, NULL));
    }
    while (link.filters_granted + link.filters_refused < FILTERS) {
        TRY("waiting for SUBACKs", turn(client, deadline));
    }
    if (link.filters_refused != 0) {
        return fail("SUBACK refused a filter", EMQ_ERR_PROTOCOL_VIOLATION);
    }
    semihost_write(EXAMPLE ": subscribed with handlers to " TOPIC_BASE "/qos0, 1 and 2\n");

    if (exchange(client, deadline) != 0) {
        return 1;
    }
    if (link.refusals != 0 || link.resubscribe_failures != 0) {
        return fail("a CONNACK refused or a resubscribe failed", EMQ_ERR_CONNECTION_REFUSED);
    }
    if (link.misrouted != 0 || link.unrouted != 0 || link.qos2_duplicates != 0) {
        return fail("messages reached the wrong handler or came twice at QoS 2",
                    EMQ_ERR_PROTOCOL_VIOLATION);
    }
    semihost_write(EXAMPLE ": published and received QoS 0, 1 and 2 in every round\n");
    /* A cut before the first CONNACK is only a failed attempt: the harness
     * cuts later, so a connection must have been lost and made again. */
    if (link.losses < 1 || link.connacks < 2) {
        return fail("no connection was lost and made again (was the link cut?)",
                    EMQ_ERR_NOT_CONNECTED);
    }
    /* Every CONNACK said "no session" (clean session): each reconnect must
     * have subscribed again, and this session holds every filter. */
    if (link.resubscribes < link.connacks - 1 || link.granted_in_session < FILTERS) {
        return fail("a reconnect did not resubscribe", EMQ_ERR_PROTOCOL_VIOLATION);
    }

    TRY("unsubscribe", emq_client_unsubscribe_many(client, filters, FILTERS, &id));
    while (link.unsubacks < 1) {
        TRY("waiting for UNSUBACK", turn(client, deadline));
    }
    TRY("disconnect", emq_client_disconnect(client));
    TRY("deinit", emq_client_deinit(client));
    return 0;
}

/* The counts behind the verdict, also after a failure. */
static void report_link(void)
{
    report(EXAMPLE ": link lost (on_disconnect): ", link.losses);
    report(EXAMPLE ": last reason (emq_err): ", (uint32_t)link.last_loss);
    report(EXAMPLE ": connection attempts: ", link.attempts);
    report(EXAMPLE ": failed attempts: ", link.failed_attempts);
    report(EXAMPLE ": reconnected (CONNACKs after the first): ",
           link.connacks ? link.connacks - 1 : 0);
    report(EXAMPLE ": resubscribed: ", link.resubscribes);
    report(EXAMPLE ": filters granted (SUBACK): ", link.filters_granted);
    report(EXAMPLE ": rounds completed: ", link.rounds);
    report(EXAMPLE ": tries: ", link.tries);
    report(EXAMPLE ": late messages of earlier tries: ", link.late);
    report(EXAMPLE ": QoS 0/1 duplicates: ", link.duplicates);
    report(EXAMPLE ": table bytes (emq_tables_size): ", (uint32_t)link.table_bytes);
}
#endif /* EMBERMQ_EXAMPLE_RESILIENT */

int main(void)
{
    emq_client *client = NULL;
    uintptr_t top;
    int result;

    board_init();
    if (emq_client_storage_size() > EMQ_CLIENT_STORAGE_SIZE) {
        return fail("EMQ_CLIENT_STORAGE_SIZE differs from the library", EMQ_ERR_INVALID_ARGUMENT);
    }
    /* Paint the free thread stack, leaving a margin for this frame. */
    top = board_current_sp();
    paint_stack(top - 64);
    result = run(&client);
#if EMBERMQ_EXAMPLE_RESILIENT
    report_link();
#endif
    report(EXAMPLE ": client storage bytes: ", emq_client_storage_size());
    report(EXAMPLE ": deepest stack below main (bytes): ", stack_used_below(top));
    report(EXAMPLE ": deepest stack in embermq calls (bytes): ", stack_used_below(run_sp));
    semihost_write(result == 0 ? "PASS\n" : "FAIL\n");
    (void)client;
    return result;
}
