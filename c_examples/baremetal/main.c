/* embermq on bare metal: QEMU mps2-an386 (Cortex-M4), no RTOS, no heap.
 *
 * The MQTT transport is UART0's byte stream; scripts/run-baremetal.sh
 * starts QEMU with `-serial tcp:127.0.0.1:PORT`, so the stream goes
 * straight to a mosquitto listening there. The firmware connects,
 * subscribes at QoS 2, publishes at QoS 0, 1 and 2, checks that it
 * receives each of its own messages at that QoS, unsubscribes and
 * disconnects. It prints the result and the deepest stack use (the thread
 * stack is painted before the first embermq call) over semihosting, and
 * exits with 0 on success, 1 on failure. */
#include <stdalign.h>
#include <string.h>

#include "board.h"

#define EMBERMQ_FIRMWARE 1
#include "embermq.h"

#define TOPIC_BASE "embermq/qemu"
#define RUN_TIMEOUT_MS 20000u
#define STACK_PAINT 0xC5C5C5C5u

/* The client and its buffers: static, sized at compile time. */
static alignas(EMQ_CLIENT_STORAGE_ALIGN) uint8_t client_storage[EMQ_CLIENT_STORAGE_SIZE];
static uint8_t rx_buffer[256], tx_buffer[256], store_buffer[256];

extern uint32_t _thread_stack_bottom[];

/* The stack pointer inside run(), whose frame calls every embermq function:
 * the stack below it is embermq's (and the callbacks it calls). */
static uintptr_t run_sp;

static struct {
    int messages;
    bool got_qos[3];
    bool bad_message;
    int subacks, unsubacks, published;
    uint8_t granted;
} seen;

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

static inline __attribute__((always_inline)) uintptr_t current_sp(void)
{
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

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

    run_sp = current_sp();
    TRY("options", emq_options_default(&options));
    options.client_id = "embermq-qemu-mps2-an386";
    options.keepalive_secs = 30;
    options.command_timeout_ms = 5000;
    TRY("init", emq_client_init(client_storage, sizeof client_storage, &options, &transport,
                                clock_ms, &buffers, &client));
    *out = client;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.on_message = on_message;
    callbacks.on_subscribed = on_subscribed;
    callbacks.on_unsubscribed = on_unsubscribed;
    callbacks.on_published = on_published;
    TRY("callbacks", emq_client_set_callbacks(client, &callbacks, NULL));

    TRY("connect", emq_client_connect(client, NULL, 0));
    semihost_write("embermq-qemu: connected over UART0\n");
    TRY("subscribe", emq_client_subscribe(client, TOPIC_BASE "/#", 2, &id));
    TRY("wait SUBACK", emq_client_wait(client, id, 5000));
    if (seen.subacks != 1 || seen.granted != 2) {
        return fail("SUBACK", EMQ_ERR_PROTOCOL_VIOLATION);
    }
    semihost_write("embermq-qemu: subscribed to " TOPIC_BASE "/# at QoS 2\n");

    for (qos = 0; qos <= 2; qos++) {
        char topic[] = TOPIC_BASE "/qos0";
        char payload[] = "hello at qos 0";
        topic[sizeof topic - 2] = (char)('0' + qos);
        payload[sizeof payload - 2] = (char)('0' + qos);
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
    semihost_write("embermq-qemu: published and received QoS 0, 1 and 2\n");

    TRY("unsubscribe", emq_client_unsubscribe(client, TOPIC_BASE "/#", &id));
    TRY("wait UNSUBACK", emq_client_wait(client, id, 5000));
    if (seen.unsubacks != 1) {
        return fail("UNSUBACK", EMQ_ERR_PROTOCOL_VIOLATION);
    }
    TRY("disconnect", emq_client_disconnect(client));
    TRY("deinit", emq_client_deinit(client));
    return 0;
}

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
    top = current_sp();
    paint_stack(top - 64);
    result = run(&client);
    report("embermq-qemu: client storage bytes: ", emq_client_storage_size());
    report("embermq-qemu: deepest stack below main (bytes): ", stack_used_below(top));
    report("embermq-qemu: deepest stack in embermq calls (bytes): ", stack_used_below(run_sp));
    semihost_write(result == 0 ? "PASS\n" : "FAIL\n");
    (void)client;
    return result;
}
