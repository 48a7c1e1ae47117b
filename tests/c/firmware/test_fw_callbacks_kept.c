/* What emq_client_set_callbacks keeps: a copy by default, or with the
 * cargo feature borrowed-callbacks (EMBERMQ_BORROWED_CALLBACKS) the
 * caller's struct itself. Built against both libraries: a callback changed
 * in the caller's struct after the call is the one that runs only when the
 * struct is borrowed; a borrowed struct must be this library's own layout;
 * the borrowed client needs less storage. The message goes through a real
 * broker: subscribe, publish QoS 1 to itself, poll until it arrives. */
#include <stddef.h>

#include "fw_harness.h"

static fw_storage storage;
static uint8_t rx[512], tx[512], store[512];
static int first_calls, second_calls;

static void first_on_message(void *ud, emq_client *c, const emq_message *m)
{
    first_calls++;
    fw_on_message(ud, c, m);
}

static void second_on_message(void *ud, emq_client *c, const emq_message *m)
{
    second_calls++;
    fw_on_message(ud, c, m);
}

/* The last client's callbacks, on the heap: on_message ends the client and
 * frees them, as an application ending its MQTT task may. */
static emq_callbacks *heap_callbacks;
static int ending_calls;

static void ending_on_message(void *ud, emq_client *c, const emq_message *m)
{
    (void)ud;
    (void)m;
    ending_calls++;
    CHECK_OK(emq_client_deinit(c));
    free(heap_callbacks);
    heap_callbacks = NULL;
}

int main(void)
{
    fw_net net;
    emq_transport transport = fw_transport(&net);
    emq_buffers buffers = {.rx = rx, .rx_size = sizeof rx, .tx = tx, .tx_size = sizeof tx, .store = store, .store_size = sizeof store};
    emq_options o;
    emq_callbacks cb = fw_callbacks(), older = fw_callbacks();
    emq_client *client;
    fw_rec r;
    char id[64], topic[128];
    uint16_t sub_id, pub_id;
#ifdef EMBERMQ_BORROWED_CALLBACKS
    const bool borrowed = true;
#else
    const bool borrowed = false;
#endif

    /* Every client feature is on in these test libraries: the copy fills
     * the storage the header declares for that, the borrowed pointer not. */
    if (borrowed) {
        CHECK(emq_client_storage_size() < EMQ_CLIENT_STORAGE_SIZE);
    } else {
        CHECK(emq_client_storage_size() == EMQ_CLIENT_STORAGE_SIZE);
    }

    snprintf(id, sizeof id, "emq-fw-kept-%d-%ld", borrowed, (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/fw/kept/%d/%ld", borrowed, (long)getpid());
    memset(&r, 0, sizeof r);
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.command_timeout_ms = 3000;
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                             &client));

    /* A layout older than this library's (ending before on_pubrec): read
     * as far as it goes when copied, refused when it would be borrowed. */
    older.struct_size = offsetof(emq_callbacks, on_pubrec);
    CHECK_ERR(emq_client_set_callbacks(client, &older, &r),
              borrowed ? EMQ_ERR_STRUCT_SIZE : EMQ_OK);
    cb.struct_size = sizeof cb + 1;
    CHECK_ERR(emq_client_set_callbacks(client, &cb, &r), EMQ_ERR_STRUCT_SIZE);
    cb.struct_size = sizeof cb;

    cb.on_message = first_on_message;
    CHECK_OK(emq_client_set_callbacks(client, &cb, &r));
    /* Changed after the call (between calls on the client, on purpose):
     * seen only through a borrowed struct. */
    cb.on_message = second_on_message;

    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK(r.connects == 1);
    CHECK_OK(emq_client_subscribe(client, topic, 1, &sub_id));
    CHECK_OK(emq_client_wait(client, sub_id, 3000));
    CHECK_OK(emq_client_publish(client, topic, (const uint8_t *)"kept", 4, 1, false, &pub_id));
    CHECK_OK(emq_client_wait(client, pub_id, 3000));
    POLL_UNTIL(client, r.messages == 1, 3000);
    CHECK(r.payload_len[0] == 4 && memcmp(r.payload[0], "kept", 4) == 0);
    CHECK(first_calls == (borrowed ? 0 : 1));
    CHECK(second_calls == (borrowed ? 1 : 0));

    /* NULL removes them all, in both: nothing more is recorded. */
    CHECK_OK(emq_client_set_callbacks(client, NULL, NULL));
    CHECK_OK(emq_client_publish(client, topic, (const uint8_t *)"none", 4, 1, false, &pub_id));
    CHECK_OK(emq_client_wait(client, pub_id, 3000));
    CHECK_OK(emq_client_poll(client, 200));
    CHECK(r.messages == 1 && first_calls + second_calls == 1);

    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_deinit(client));

    /* A callback that ends the client and frees the callbacks while more
     * messages wait in the same read: no callback runs after it and the
     * freed struct is not read again (valgrind, in test-c.sh, reports any
     * read of it). */
    CHECK_OK(emq_client_init(&storage, sizeof storage, &o, &transport, fw_clock_ms, &buffers,
                             &client));
    heap_callbacks = malloc(sizeof *heap_callbacks);
    CHECK(heap_callbacks != NULL);
    *heap_callbacks = fw_callbacks();
    heap_callbacks->on_message = ending_on_message;
    CHECK_OK(emq_client_set_callbacks(client, heap_callbacks, &r));
    CHECK_OK(emq_client_connect(client, test_host(), test_port()));
    CHECK_OK(emq_client_subscribe(client, topic, 1, &sub_id));
    CHECK_OK(emq_client_wait(client, sub_id, 3000));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(emq_client_publish(client, topic, (const uint8_t *)"end", 3, 0, false, NULL));
    }
    STEP_UNTIL(ending_calls > 0, CHECK_OK(emq_client_poll(client, 20)), 3000);
    CHECK(ending_calls == 1 && heap_callbacks == NULL);
    printf("test_fw_callbacks_kept (%s): ok\n", borrowed ? "borrowed" : "copied");
    return 0;
}
