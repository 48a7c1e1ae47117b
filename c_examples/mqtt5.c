/*
 * mqtt5: MQTT 5 request/response with properties.
 *
 *   mqtt5 [host] [port]
 *
 * Defaults: $EMQ_TEST_HOST / $EMQ_TEST_PORT, then 127.0.0.1:1883.
 *
 * Connects with protocol_level 5 (a session expiry, a user property in
 * CONNECT, a will with properties) and prints the CONNACK's properties.
 * Subscribes to a request topic and a response topic, each with its own
 * Subscription Identifier, publishes a request carrying a Response Topic
 * and Correlation Data, answers it in on_message (the responder's half) and
 * checks that the answer carries the same Correlation Data (the requester's
 * half). Then unsubscribes and disconnects with a reason string.
 *
 * Requester and responder are one client here, so the example needs
 * nothing but a broker; in a real system they are two programs.
 * Exits 0 when the round trip and the unsubscribe completed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "embermq.h"

/* Subscription Identifiers: the broker puts the matching one into each
 * message it delivers, so on_message can route without comparing topics. */
#define SUB_ID_REQUESTS 1
#define SUB_ID_RESPONSES 2

#define WAIT_MS 5000

/* Everything the callbacks need, passed to them as user_data. */
struct app {
    char request_topic[96];
    char response_topic[96];
    char correlation[32]; /* binary in MQTT; text here for readable logs */
    size_t correlation_len;
    bool answered;      /* the responder published its answer */
    bool response_ok;   /* the answer came back with our correlation data */
    bool unsubacked;    /* the UNSUBACK came, every filter removed */
    bool failed;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Properties to send: fill id and the fields its type uses, zero the rest. */
static emq_property number_property(uint8_t id, uint32_t number)
{
    emq_property p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.number = number;
    return p;
}

static emq_property binary_property(uint8_t id, const void *data, size_t len)
{
    emq_property p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.data = data;
    p.data_len = len;
    return p;
}

static emq_property text_property(uint8_t id, const char *text)
{
    return binary_property(id, text, strlen(text));
}

static emq_property user_property(const char *name, const char *value)
{
    emq_property p = text_property(EMQ_PROP_USER_PROPERTY, name);
    p.value = value;
    p.value_len = strlen(value);
    return p;
}

/* emq_property carries no type tag: which fields hold the value depends on
 * the id (MQTT 5.0 table 2-4). */
enum property_kind { KIND_NUMBER, KIND_TEXT, KIND_BINARY, KIND_PAIR };

static const char *property_name(uint8_t id, enum property_kind *kind)
{
    *kind = KIND_NUMBER;
    switch (id) {
    case EMQ_PROP_PAYLOAD_FORMAT_INDICATOR: return "payload format indicator";
    case EMQ_PROP_MESSAGE_EXPIRY_INTERVAL: return "message expiry interval";
    case EMQ_PROP_CONTENT_TYPE: *kind = KIND_TEXT; return "content type";
    case EMQ_PROP_RESPONSE_TOPIC: *kind = KIND_TEXT; return "response topic";
    case EMQ_PROP_CORRELATION_DATA: *kind = KIND_BINARY; return "correlation data";
    case EMQ_PROP_SUBSCRIPTION_IDENTIFIER: return "subscription identifier";
    case EMQ_PROP_SESSION_EXPIRY_INTERVAL: return "session expiry interval";
    case EMQ_PROP_ASSIGNED_CLIENT_IDENTIFIER: *kind = KIND_TEXT; return "assigned client id";
    case EMQ_PROP_SERVER_KEEP_ALIVE: return "server keep alive";
    case EMQ_PROP_AUTHENTICATION_METHOD: *kind = KIND_TEXT; return "authentication method";
    case EMQ_PROP_AUTHENTICATION_DATA: *kind = KIND_BINARY; return "authentication data";
    case EMQ_PROP_RESPONSE_INFORMATION: *kind = KIND_TEXT; return "response information";
    case EMQ_PROP_SERVER_REFERENCE: *kind = KIND_TEXT; return "server reference";
    case EMQ_PROP_REASON_STRING: *kind = KIND_TEXT; return "reason string";
    case EMQ_PROP_RECEIVE_MAXIMUM: return "receive maximum";
    case EMQ_PROP_TOPIC_ALIAS_MAXIMUM: return "topic alias maximum";
    case EMQ_PROP_TOPIC_ALIAS: return "topic alias";
    case EMQ_PROP_MAXIMUM_QOS: return "maximum qos";
    case EMQ_PROP_RETAIN_AVAILABLE: return "retain available";
    case EMQ_PROP_USER_PROPERTY: *kind = KIND_PAIR; return "user property";
    case EMQ_PROP_MAXIMUM_PACKET_SIZE: return "maximum packet size";
    case EMQ_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE: return "wildcard subscription available";
    case EMQ_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE: return "subscription id available";
    case EMQ_PROP_SHARED_SUBSCRIPTION_AVAILABLE: return "shared subscription available";
    default: return "property";
    }
}

/* Prints every property of a received packet, in the order they came.
 * Strings point into the packet and are not NUL-terminated. */
static void print_properties(const char *packet, const emq_properties *props)
{
    emq_property p;
    size_t cursor = 0, i;
    enum property_kind kind;
    while (emq_properties_next(props, &cursor, &p)) {
        const char *name = property_name(p.id, &kind);
        printf("  %s %s (0x%02X): ", packet, name, (unsigned)p.id);
        switch (kind) {
        case KIND_TEXT:
            printf("\"%.*s\"\n", (int)p.data_len, p.data);
            break;
        case KIND_BINARY:
            for (i = 0; i < p.data_len; i++) {
                printf("%02x", (unsigned)(unsigned char)p.data[i]);
            }
            printf(" (%zu bytes)\n", p.data_len);
            break;
        case KIND_PAIR:
            printf("%.*s=%.*s\n", (int)p.data_len, p.data, (int)p.value_len, p.value);
            break;
        case KIND_NUMBER:
            printf("%lu\n", (unsigned long)p.number);
            break;
        }
    }
}

static void on_connect(void *user_data, emq_client *client, bool session_present,
                       uint8_t reason_code)
{
    emq_properties props;
    (void)user_data;
    /* Over MQTT 5 this is a reason code: 0x00 success, 0x80 and up refused
     * (0x86 bad user name or password, 0x87 not authorized, ...). */
    if (reason_code == 0x00) {
        printf("connected: session present %d\n", (int)session_present);
    } else {
        printf("connect refused: 0x%02X %s\n", (unsigned)reason_code, emq_reason_str(reason_code));
    }
    /* The CONNACK's properties: the broker's limits (embermq obeys them by
     * itself), an assigned client id, a refusal's reason string. */
    if (emq_client_received_properties(client, &props) == EMQ_OK) {
        print_properties("CONNACK", &props);
    }
}

static void on_disconnect(void *user_data, emq_client *client, emq_err reason)
{
    emq_properties props;
    (void)user_data;
    printf("disconnected: %s\n", emq_err_str(reason));
    /* The broker may end the connection with a DISCONNECT of its own: its
     * reason code, and properties such as a reason string or another
     * server to use. */
    if (reason == EMQ_ERR_SERVER_DISCONNECTED) {
        uint8_t code = emq_client_last_return_code(client);
        printf("  broker's reason: 0x%02X %s\n", (unsigned)code, emq_reason_str(code));
        if (emq_client_received_properties(client, &props) == EMQ_OK) {
            print_properties("DISCONNECT", &props);
        }
    }
}

static void on_subscribed(void *user_data, emq_client *client, uint16_t packet_id,
                          const uint8_t *reason_codes, size_t count)
{
    struct app *app = user_data;
    size_t i;
    (void)client;
    /* MQTT 5 SUBACK: the granted QoS (0x00..0x02) or a refusal (0x80 and up). */
    for (i = 0; i < count; i++) {
        printf("subscribed: packet id %u filter %zu: 0x%02X %s\n", (unsigned)packet_id, i,
               (unsigned)reason_codes[i], emq_reason_str(reason_codes[i]));
        if (reason_codes[i] >= 0x80) {
            app->failed = true;
        }
    }
}

static void on_unsuback(void *user_data, emq_client *client, uint16_t packet_id,
                        const uint8_t *reason_codes, size_t count)
{
    struct app *app = user_data;
    bool all_removed = count > 0;
    size_t i;
    (void)client;
    /* 0x00 success, 0x11 no subscription existed, 0x80 and up refused. */
    for (i = 0; i < count; i++) {
        printf("unsubscribed: packet id %u filter %zu: 0x%02X %s\n", (unsigned)packet_id, i,
               (unsigned)reason_codes[i], emq_reason_str(reason_codes[i]));
        if (reason_codes[i] >= 0x80) {
            all_removed = false;
        }
    }
    app->unsubacked = all_removed;
    if (!all_removed) {
        app->failed = true;
    }
}

static void on_published(void *user_data, emq_client *client, uint16_t packet_id)
{
    (void)user_data;
    (void)client;
    printf("published: packet id %u acknowledged\n", (unsigned)packet_id);
}

static void on_publish_failed(void *user_data, emq_client *client, uint16_t packet_id,
                              uint8_t reason_code)
{
    struct app *app = user_data;
    emq_properties props;
    /* The broker refused a QoS 1/2 message (PUBACK/PUBREC 0x80 and up): it
     * is gone from the outbox, on_published will not come for it. */
    printf("publish refused: packet id %u: 0x%02X %s\n", (unsigned)packet_id,
           (unsigned)reason_code, emq_reason_str(reason_code));
    if (emq_client_received_properties(client, &props) == EMQ_OK) {
        print_properties("PUBACK", &props);
    }
    app->failed = true;
}

/* The responder's half: answer on the request's Response Topic and echo
 * its Correlation Data, so the requester can match answer to request. */
static void answer(struct app *app, emq_client *client, const emq_properties *request,
                   const emq_property *response_topic)
{
    static const char reply[] = "{\"status\":\"ok\"}";
    char topic[128];
    emq_property props[2];
    size_t count = 0;
    uint16_t packet_id = 0;
    emq_err err;

    /* Property strings are not NUL-terminated; publish takes a C string. */
    if (response_topic->data_len == 0 || response_topic->data_len >= sizeof topic) {
        printf("error: response topic of %zu bytes\n", response_topic->data_len);
        app->failed = true;
        return;
    }
    memcpy(topic, response_topic->data, response_topic->data_len);
    topic[response_topic->data_len] = '\0';

    /* A received property can be sent as it is: the same struct. Its bytes
     * live until on_message returns, and publish encodes them at once. */
    if (emq_properties_get(request, EMQ_PROP_CORRELATION_DATA, &props[count])) {
        count++;
    }
    props[count++] = text_property(EMQ_PROP_CONTENT_TYPE, "application/json");

    /* Publishing from inside a callback is allowed. */
    err = emq_client_publish_v5(client, topic, (const uint8_t *)reply, strlen(reply), 1, false,
                                props, count, &packet_id);
    if (err != EMQ_OK) {
        printf("error: answering on %s: %s\n", topic, emq_err_str(err));
        app->failed = true;
        return;
    }
    printf("answered on %s (packet id %u)\n", topic, (unsigned)packet_id);
    app->answered = true;
}

/* The requester's half: accept only the answer to our request. */
static void check_response(struct app *app, const emq_message *m, const emq_properties *props)
{
    emq_property correlation;
    if (!emq_properties_get(props, EMQ_PROP_CORRELATION_DATA, &correlation) ||
        correlation.data_len != app->correlation_len ||
        memcmp(correlation.data, app->correlation, app->correlation_len) != 0) {
        /* A late answer to an earlier request, or someone else's. */
        printf("response: correlation data does not match; ignored\n");
        return;
    }
    printf("response: correlation data matches the request\n");
    if (m->payload_len == 0) {
        printf("error: empty response\n");
        app->failed = true;
        return;
    }
    app->response_ok = true;
}

static void on_message(void *user_data, emq_client *client, const emq_message *m)
{
    struct app *app = user_data;
    emq_properties props;
    emq_property response_topic, sub_id;
    emq_err err;

    /* topic and payload are not NUL-terminated: print with lengths. */
    printf("message: %.*s qos %u: %.*s\n", (int)m->topic_len, m->topic, (unsigned)m->qos,
           (int)m->payload_len, (const char *)m->payload);
    /* This PUBLISH's properties, valid (like m) until on_message returns. */
    err = emq_client_received_properties(client, &props);
    if (err != EMQ_OK) {
        printf("error: received properties: %s\n", emq_err_str(err));
        app->failed = true;
        return;
    }
    print_properties("PUBLISH", &props);

    if (emq_properties_get(&props, EMQ_PROP_RESPONSE_TOPIC, &response_topic)) {
        answer(app, client, &props, &response_topic);
    } else if (emq_properties_get(&props, EMQ_PROP_SUBSCRIPTION_IDENTIFIER, &sub_id) &&
               sub_id.number == SUB_ID_RESPONSES) {
        check_response(app, m, &props);
    }
}

/* Subscribes to one filter with a Subscription Identifier and waits for the
 * SUBACK. */
static emq_err subscribe(emq_client *client, const char *filter, uint32_t subscription_id)
{
    emq_subscription_v5 sub;
    emq_property props[1];
    uint16_t packet_id = 0;
    emq_err err;

    memset(&sub, 0, sizeof sub);
    sub.filter = filter;
    sub.qos = 1;
    /* No Local off: requester and responder are the same client here, so it
     * must receive its own publishes. */
    sub.no_local = false;
    sub.retain_as_published = false;
    sub.retain_handling = 0;
    props[0] = number_property(EMQ_PROP_SUBSCRIPTION_IDENTIFIER, subscription_id);
    err = emq_client_subscribe_v5(client, &sub, 1, props, 1, &packet_id);
    if (err == EMQ_OK) {
        err = emq_client_wait(client, packet_id, WAIT_MS);
    }
    return err;
}

/* Drives the client until *done or a failure the callbacks saw, at most
 * WAIT_MS; returns what poll returned (EMQ_OK unless the link was lost). */
static emq_err poll_until(emq_client *client, const bool *done, const struct app *app)
{
    long deadline = now_ms() + WAIT_MS;
    while (!*done && !app->failed && now_ms() < deadline) {
        emq_err err = emq_client_poll(client, 100);
        if (err != EMQ_OK) {
            return err;
        }
    }
    return EMQ_OK;
}

static int give_up(emq_client *client, const char *why)
{
    fprintf(stderr, "mqtt5: %s\n", why);
    emq_client_free(client);
    return 1;
}

static int fail(emq_client *client, const char *what, emq_err err)
{
    fprintf(stderr, "mqtt5: %s failed: %s\n", what, emq_err_str(err));
    emq_client_free(client);
    return 1;
}

int main(int argc, char **argv)
{
    static const char will_payload[] = "offline";
    static const char request[] = "{\"cmd\":\"get_status\"}";
    const char *host = argc > 1 ? argv[1] : getenv("EMQ_TEST_HOST");
    const char *port_text = argc > 2 ? argv[2] : getenv("EMQ_TEST_PORT");
    int port = port_text != NULL ? atoi(port_text) : 1883;
    struct app app;
    emq_options options;
    emq_callbacks callbacks;
    emq_client *client = NULL;
    emq_property connect_props[1], will_props[3], props[5];
    const char *filters[2];
    char will_topic[96];
    uint16_t packet_id = 0;
    emq_err err;

    if (host == NULL || host[0] == '\0') {
        host = "127.0.0.1";
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "mqtt5: bad port '%s'\nusage: %s [host] [port]\n", port_text, argv[0]);
        return 1;
    }

    memset(&app, 0, sizeof app);
    snprintf(app.request_topic, sizeof app.request_topic, "embermq/mqtt5/%ld/request",
             (long)getpid());
    snprintf(app.response_topic, sizeof app.response_topic, "embermq/mqtt5/%ld/response",
             (long)getpid());
    snprintf(will_topic, sizeof will_topic, "embermq/mqtt5/%ld/status", (long)getpid());
    app.correlation_len = (size_t)snprintf(app.correlation, sizeof app.correlation,
                                           "req-%ld-1", (long)getpid());

    /* 1. Create an MQTT 5 client: start from the defaults, change what you
     * need. Hosts copy the property arrays; firmware (emq_client_init)
     * keeps pointers, so there they must outlive the client. */
    emq_options_default(&options);
    options.protocol_level = 5;
    /* Empty: the broker assigns an id (printed from the CONNACK). A device
     * sets its own, e.g. its serial number, to resume its session. */
    options.client_id = "";
    options.keepalive_secs = 30;
    options.command_timeout_ms = WAIT_MS;
    /* The broker keeps the session (subscriptions, queued QoS 1/2
     * messages) for 60 s after the connection closes, so a device that
     * reconnects within that time misses nothing. */
    options.session_expiry_secs = 60;
    /* At most 10 unacknowledged QoS 1/2 messages from the broker at once. */
    options.receive_maximum = 10;
    connect_props[0] = user_property("firmware", "1.4.2");
    options.connect_properties = connect_props;
    options.connect_property_count = 1;
    /* The will: published if the link dies without a DISCONNECT, 5 s
     * later (Will Delay Interval), so a quick reconnect suppresses it. */
    options.will_topic = will_topic;
    options.will_payload = (const uint8_t *)will_payload;
    options.will_payload_len = strlen(will_payload);
    options.will_qos = 1;
    will_props[0] = number_property(EMQ_PROP_WILL_DELAY_INTERVAL, 5);
    will_props[1] = text_property(EMQ_PROP_CONTENT_TYPE, "text/plain");
    will_props[2] = user_property("reason", "link lost");
    options.will_properties = will_props;
    options.will_property_count = 3;
    err = emq_client_new(&options, &client);
    if (err != EMQ_OK) {
        fprintf(stderr, "mqtt5: emq_client_new failed: %s\n", emq_err_str(err));
        return 1;
    }

    emq_callbacks_default(&callbacks);
    callbacks.on_connect = on_connect;
    callbacks.on_disconnect = on_disconnect;
    callbacks.on_subscribed = on_subscribed;
    callbacks.on_unsuback = on_unsuback;
    callbacks.on_published = on_published;
    callbacks.on_publish_failed = on_publish_failed;
    callbacks.on_message = on_message;
    emq_client_set_callbacks(client, &callbacks, &app);

    /* 2. Connect (blocks until CONNACK or command_timeout_ms). */
    printf("connecting to %s:%d with MQTT 5\n", host, port);
    err = emq_client_connect(client, host, (uint16_t)port);
    if (err == EMQ_ERR_CONNECTION_REFUSED) {
        uint8_t code = emq_client_last_return_code(client);
        fprintf(stderr, "mqtt5: refused: 0x%02X %s\n", (unsigned)code, emq_reason_str(code));
    }
    if (err != EMQ_OK) {
        return fail(client, "connect", err);
    }

    /* 3. Subscribe to requests and to responses, each with its own id. */
    err = subscribe(client, app.request_topic, SUB_ID_REQUESTS);
    if (err == EMQ_OK) {
        err = subscribe(client, app.response_topic, SUB_ID_RESPONSES);
    }
    if (err != EMQ_OK) {
        return fail(client, "subscribe", err);
    }
    if (app.failed) {
        return give_up(client, "the broker refused a subscription");
    }

    /* 4. Publish the request: where to answer, and what to echo back. */
    props[0] = text_property(EMQ_PROP_RESPONSE_TOPIC, app.response_topic);
    props[1] = binary_property(EMQ_PROP_CORRELATION_DATA, app.correlation, app.correlation_len);
    props[2] = text_property(EMQ_PROP_CONTENT_TYPE, "application/json");
    props[3] = user_property("sender", "mqtt5-example");
    /* Dropped by the broker if nobody took it within 30 s. */
    props[4] = number_property(EMQ_PROP_MESSAGE_EXPIRY_INTERVAL, 30);
    err = emq_client_publish_v5(client, app.request_topic, (const uint8_t *)request,
                                strlen(request), 1, false, props, 5, &packet_id);
    if (err != EMQ_OK) {
        return fail(client, "publish", err);
    }
    printf("request: %s packet id %u\n", app.request_topic, (unsigned)packet_id);

    /* 5. Drive the client until the answer is back (at most WAIT_MS). */
    err = poll_until(client, &app.response_ok, &app);
    if (err != EMQ_OK) {
        return fail(client, "poll", err);
    }
    if (!app.response_ok) {
        return give_up(client, app.answered ? "no matching response came back"
                                            : "the request was not answered");
    }

    /* 6. Unsubscribe from both; on_unsuback prints a code per filter. */
    filters[0] = app.request_topic;
    filters[1] = app.response_topic;
    props[0] = user_property("why", "done");
    err = emq_client_unsubscribe_v5(client, filters, 2, props, 1, &packet_id);
    if (err == EMQ_OK) {
        err = poll_until(client, &app.unsubacked, &app);
    }
    if (err != EMQ_OK) {
        return fail(client, "unsubscribe", err);
    }
    if (!app.unsubacked) {
        return give_up(client, "the unsubscribe did not complete");
    }

    /* 7. Clean shutdown: DISCONNECT 0x00 (normal: the broker discards the
     * will) with a reason string for the broker's log, and Session Expiry
     * 0 to drop the session now instead of in 60 s (allowed only because
     * CONNECT's was not 0). Then free. */
    props[0] = text_property(EMQ_PROP_REASON_STRING, "example finished");
    props[1] = number_property(EMQ_PROP_SESSION_EXPIRY_INTERVAL, 0);
    err = emq_client_disconnect_v5(client, 0x00, props, 2);
    if (err != EMQ_OK) {
        return fail(client, "disconnect", err);
    }
    emq_client_free(client);
    printf("mqtt5: ok\n");
    return 0;
}
