/* emq_client_reconfigure, in both builds, against a broker that requires a
 * login (EMQ_BROKER_PASSWD, see CMakeLists.txt):
 *   1. while connected or connecting: EMQ_ERR_ALREADY_CONNECTED and nothing
 *      changes (the old credentials still connect afterwards);
 *   2. a client refused for a wrong password, reconfigured with the right
 *      one, connects;
 *   3. a handler subscribed before (clean session) still gets its messages
 *      after reconfigure + reconnect: the filter is subscribed again;
 *   4. NULL options, NULL client, and bad options give the same error
 *      emq_client_new / emq_client_init gives, and change nothing.
 * Firmware builds borrow the strings of reconfigured options: the ones
 * used here are string literals or getenv's, valid to the end. */
#include "harness.h"
#include "rec_ext.h"

static const char *user, *pass;

static emq_options login(const char *id, const char *password)
{
    emq_options o;
    CHECK_OK(emq_options_default(&o));
    o.client_id = id;
    o.username = user;
    o.password = (const uint8_t *)password;
    o.password_len = strlen(password);
    o.command_timeout_ms = 5000;
    return o;
}

static void while_connected(void)
{
    static char id[64];
    xrec x;
    emq_client *c;
    emq_options good, bad;
    test_unique(id, sizeof id, "emq-reconf-a");
    good = login(id, pass);
    bad = login(id, "definitely-wrong");
    memset(&x, 0, sizeof x);
    c = xrec_client(&good, &x);

    test_connect(c, &x.r);
    CHECK_ERR(emq_client_reconfigure(c, &bad), EMQ_ERR_ALREADY_CONNECTED);
    CHECK(emq_client_is_connected(c));
    test_poll_for(c, 50);
    CHECK(x.r.disconnects == 0);
    CHECK_OK(emq_client_disconnect(c));

    /* The wrong password was not taken: the old one still connects. */
    test_connect(c, &x.r);
    CHECK_OK(emq_client_disconnect(c));

    /* Connecting (CONNECT sent, no CONNACK yet) counts as connected. */
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    CHECK_ERR(emq_client_reconfigure(c, &bad), EMQ_ERR_ALREADY_CONNECTED);
    POLL_UNTIL(c, x.r.connects == 3, 5000);
    CHECK(x.r.connect_code == 0 && x.failed == 0);
    CHECK_OK(emq_client_disconnect(c));
    test_connect(c, &x.r);
    CHECK(x.failed == 0);
    CHECK_OK(emq_client_disconnect(c));

    CHECK_OK(test_client_free(c));
    printf("while connected: refused, settings unchanged\n");
}

static void fix_credentials(void)
{
    static char id[64];
    xrec x;
    emq_client *c;
    emq_options good, bad;
    uint8_t code;
    test_unique(id, sizeof id, "emq-reconf-b");
    good = login(id, pass);
    bad = login(id, "definitely-wrong");
    memset(&x, 0, sizeof x);
    c = xrec_client(&bad, &x);

    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_CONNECTION_REFUSED);
    code = x.r.connect_code;
    CHECK(code == 4 || code == 5);
    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], EMQ_ERR_CONNECTION_REFUSED);
    CHECK(x.failed_code[0] == code);

    CHECK_OK(emq_client_reconfigure(c, &good));
    test_connect(c, &x.r);
    CHECK(x.failed == 1);
    CHECK(emq_client_last_return_code(c) == 0);
    CHECK_ERR(emq_client_last_error(c), EMQ_OK);
    CHECK_OK(emq_client_disconnect(c));

    /* And back: the wrong password is refused again. */
    CHECK_OK(emq_client_reconfigure(c, &bad));
    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_CONNECTION_REFUSED);
    CHECK(x.failed == 2);

    CHECK_OK(test_client_free(c));
    printf("credentials: refused (%u), reconfigured, connected\n", (unsigned)code);
}

/* Handler for the subscription made before the reconfigure. */
static int handled, handled_wrong;
static void handler(void *ud, emq_client *c, const emq_message *m)
{
    (void)c;
    if (ud == &handled && m->qos == 1 && m->payload_len == 5 &&
        memcmp(m->payload, "after", 5) == 0) {
        handled++;
    } else {
        handled_wrong++;
    }
}

static void handler_survives(void)
{
    static char id[64], pub_id[64];
    static char filter[128], topic[128];
    xrec x, px;
    emq_client *c, *pub;
    emq_options o, po;
    uint16_t pid = 0;
    int subscribed;
    test_unique(id, sizeof id, "emq-reconf-c");
    snprintf(filter, sizeof filter, "embermq/test/reconf/%ld/+", (long)getpid());
    snprintf(topic, sizeof topic, "embermq/test/reconf/%ld/x", (long)getpid());
    o = login(id, pass);
    CHECK(o.clean_session && o.resubscribe); /* the defaults */
    memset(&x, 0, sizeof x);
    memset(&px, 0, sizeof px);
    c = xrec_client(&o, &x);
    po = login(test_unique(pub_id, sizeof pub_id, "emq-reconf-pub"), pass);
    pub = xrec_client(&po, &px);
    test_connect(pub, &px.r);

    test_connect(c, &x.r);
    CHECK_OK(emq_client_subscribe_handler(c, filter, 1, handler, &handled, &pid));
    CHECK_OK(emq_client_wait(c, pid, 5000));
    CHECK(x.r.subscribed_count == 1 && x.r.granted[0] == 1);
    CHECK_OK(emq_client_disconnect(c));

    /* New settings (another keepalive and log level): the subscription
     * table with its handler stays. */
    o.keepalive_secs = 30;
    o.log_level = EMQ_LOG_DEBUG;
    CHECK_OK(emq_client_reconfigure(c, &o));
    subscribed = x.r.subscribed_count;
    test_connect(c, &x.r);
    CHECK(!x.r.session_present); /* clean session: the broker forgot it */
    /* Subscribed again by the client, then the handler gets a message. */
    POLL_UNTIL(c, x.r.subscribed_count == subscribed + 1, 5000);
    CHECK(x.event_count[EMQ_LOG_RESUBSCRIBING] == 1);
    CHECK(x.r.granted_count == 1 && x.r.granted[0] == 1);
    CHECK_OK(emq_client_publish(pub, topic, (const uint8_t *)"after", 5, 1, false, &pid));
    CHECK_OK(emq_client_wait(pub, pid, 5000));
    POLL_UNTIL(c, handled == 1, 5000);
    test_poll_for(c, 100);
    CHECK(handled == 1 && handled_wrong == 0);
    CHECK(x.r.message_count == 0); /* nothing reached on_message */

    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(emq_client_disconnect(pub));
    CHECK_OK(test_client_free(c));
    CHECK_OK(test_client_free(pub));
    printf("handler: subscribed again after reconfigure, message routed to it\n");
}

/* What emq_client_new (or emq_client_init) says of `o`. */
static emq_err creation_error(const emq_options *o)
{
    emq_client *tmp = NULL;
    emq_err err = test_client_new(o, &tmp);
    if (err == EMQ_OK) {
        CHECK_OK(test_client_free(tmp));
    }
    return err;
}

static void bad_options(void)
{
    static char id[64];
    xrec x;
    emq_client *c;
    emq_options good, o;
    emq_err want;
    int i;
    test_unique(id, sizeof id, "emq-reconf-d");
    good = login(id, pass);
    memset(&x, 0, sizeof x);
    c = xrec_client(&good, &x);

    CHECK_ERR(emq_client_reconfigure(c, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_reconfigure(NULL, &good), EMQ_ERR_NULL_POINTER);

    for (i = 0; i < 7; i++) {
        o = login(id, "definitely-wrong"); /* would be refused if taken */
        switch (i) {
        case 0: o.log_level = 99; break;
        case 1: o.protocol_level = 7; break;
        case 2: o.username = NULL; break; /* a password without a user name */
        case 3: o.reconnect_max_ms = o.reconnect_min_ms - 1; break;
        case 4: o.command_timeout_ms = 0; break;
        case 5: o.will_topic = "a/+"; break;
        case 6: o.struct_size = 0; break;
        }
        want = creation_error(&o);
        CHECK(want != EMQ_OK);
        CHECK_ERR(emq_client_reconfigure(c, &o), want);
        if (i == 0) {
            CHECK_ERR(want, EMQ_ERR_INVALID_ARGUMENT);
        }
    }

    /* None of them was taken: the right password still connects. */
    test_connect(c, &x.r);
    CHECK(x.failed == 0);
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));
    printf("bad options: refused as at creation, old settings kept\n");
}

int main(void)
{
    user = getenv("EMQ_TEST_USERNAME");
    pass = getenv("EMQ_TEST_PASSWORD");
    CHECK(user != NULL && pass != NULL); /* with-broker.sh, EMQ_BROKER_PASSWD */
    while_connected();
    fix_credentials();
    handler_survives();
    bad_options();
    printf("test_reconfigure (%s build): ok\n", TEST_BUILD);
    return 0;
}
