/* emq_client_connect_start, the non-blocking connect, in both builds,
 * against a broker that requires a login (EMQ_BROKER_PASSWD, see
 * CMakeLists.txt):
 *   1. it returns once CONNECT is written (state WAITING_CONNACK, no
 *      callback yet); a second connect_start or connect meanwhile is
 *      EMQ_ERR_ALREADY_CONNECTED and changes nothing; poll then reports
 *      on_connect(session_present 0, code 0);
 *   2. a refusal (wrong password) arrives through poll as on_connect(4 or 5)
 *      and on_connect_failed(EMQ_ERR_CONNECTION_REFUSED, same code);
 *   3. a listener that accepts TCP and never answers: on_connect_failed
 *      (EMQ_ERR_TIMEOUT, 0) after command_timeout_ms, state DISCONNECTED;
 *   4. connect_start to a closed port fails in the call itself (the
 *      transport opens there) and reports on_connect_failed once. */
#include "harness.h"
#include "net_util.h"
#include "rec_ext.h"

static const char *user, *pass;

static emq_options login_options(char *id, size_t size, const char *password)
{
    emq_options o = xrec_options(id, size, "emq-cstart");
    o.username = user;
    o.password = (const uint8_t *)password;
    o.password_len = strlen(password);
    return o;
}

/* on_connect that also tries connect_start inside the callback (refused). */
static emq_err in_callback_result = EMQ_OK;
static void on_connect_try_again(void *ud, emq_client *c, bool session_present, uint8_t code)
{
    xrec_on_connect(ud, c, session_present, code);
    in_callback_result = emq_client_connect_start(c, test_host(), test_port());
}

static void accepted(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = login_options(id, sizeof id, pass);
    emq_callbacks cb = xrec_callbacks();
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);
    cb.on_connect = on_connect_try_again;
    CHECK_OK(emq_client_set_callbacks(c, &cb, &x));

    /* Arguments. */
    CHECK_ERR(emq_client_connect_start(NULL, test_host(), test_port()), EMQ_ERR_NULL_POINTER);
#ifndef EMBERMQ_FIRMWARE
    CHECK_ERR(emq_client_connect_start(c, NULL, test_port()), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_connect_start(c, test_host(), 0), EMQ_ERR_INVALID_ARGUMENT);
#endif
    CHECK(x.r.connects == 0 && x.failed == 0);

    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    /* CONNECT written, CONNACK not read yet: no callback so far. */
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    CHECK(!emq_client_is_connected(c));
    CHECK(x.r.connects == 0 && x.failed == 0 && x.r.disconnects == 0);

    /* A second attempt while this one is in progress is refused and
     * changes nothing (the first completes below, once). */
    CHECK_ERR(emq_client_connect_start(c, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);
    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    CHECK(x.r.connects == 0 && x.failed == 0 && x.r.disconnects == 0);

    POLL_UNTIL(c, x.r.connects > 0, 5000);
    CHECK(x.r.connects == 1);
    CHECK_ERR(in_callback_result, EMQ_ERR_IN_CALLBACK); /* refused inside callbacks */
    CHECK(x.r.connect_code == 0);
    CHECK(!x.r.session_present);
    CHECK(x.failed == 0);
    CHECK(emq_client_state(c) == EMQ_STATE_CONNECTED);
    CHECK(emq_client_last_return_code(c) == 0);
    CHECK_ERR(emq_client_last_error(c), EMQ_OK);
    CHECK(strcmp(x.order, "C") == 0);

    /* Connected: both kinds of connect are refused, the link stays. */
    CHECK_ERR(emq_client_connect_start(c, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);
    CHECK_ERR(emq_client_connect(c, test_host(), test_port()), EMQ_ERR_ALREADY_CONNECTED);
    CHECK(emq_client_is_connected(c));
    test_poll_for(c, 100); /* nothing more happens */
    CHECK(x.r.connects == 1 && x.failed == 0 && x.r.disconnects == 0);

    /* The connection works: a QoS 1 round trip to itself. */
    {
        char topic[96];
        uint16_t pid = 0;
        snprintf(topic, sizeof topic, "embermq/test/cstart/%ld", (long)getpid());
        test_subscribe(c, &x.r, topic, 1);
        CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"hi", 2, 1, false, &pid));
        CHECK(pid != 0);
        POLL_UNTIL(c, x.r.message_count == 1 && rec_was_published(&x.r, pid), 5000);
    }

    /* After a disconnect, connect_start connects again. */
    CHECK_OK(emq_client_disconnect(c));
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    POLL_UNTIL(c, x.r.connects == 2, 5000);
    CHECK(x.r.connect_code == 0 && x.failed == 0);
    CHECK(emq_client_is_connected(c));

    CHECK_OK(emq_client_disconnect(c));
    rec_free(&x.r);
    CHECK_OK(test_client_free(c));
    printf("accepted: on_connect through poll, second attempts refused\n");
}

static void refused(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = login_options(id, sizeof id, "definitely-wrong");
    uint8_t code;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);

    CHECK_OK(emq_client_connect_start(c, test_host(), test_port()));
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    CHECK(x.r.connects == 0 && x.failed == 0);
    XPOLL_UNTIL(c, x.failed > 0, 5000);

    /* on_connect hears the refusal, then on_connect_failed, once each. */
    CHECK(x.r.connects == 1);
    code = x.r.connect_code;
    CHECK(code == 4 || code == 5);
    CHECK(!x.r.session_present);
    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], EMQ_ERR_CONNECTION_REFUSED);
    CHECK(x.failed_code[0] == code);
    CHECK(strcmp(x.order, "CF") == 0);
    CHECK(x.r.disconnects == 0); /* never connected */
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK(emq_client_last_return_code(c) == code);
    CHECK_ERR(emq_client_last_error(c), EMQ_ERR_CONNECTION_REFUSED);
    CHECK(x.event_count[EMQ_LOG_CONNECT_REFUSED] == 1);

    /* No automatic reconnect: nothing more happens. */
    xrec_poll_for(c, 200);
    CHECK(x.r.connects == 1 && x.failed == 1);
    CHECK_ERR(emq_client_poll(c, 10), EMQ_ERR_NOT_CONNECTED);

    CHECK_OK(test_client_free(c));
    printf("refused: on_connect(%u) and on_connect_failed(CONNECTION_REFUSED, %u)\n",
           (unsigned)code, (unsigned)code);
}

/* A listener that accepts and never answers: the CONNACK deadline
 * (command_timeout_ms) ends the attempt, whether poll is called in short
 * turns or once with a long timeout, and the blocking connect too. */
static void silent_broker(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = login_options(id, sizeof id, pass);
    uint16_t port = 0;
    int listener = test_silent_listener(&port);
    uint64_t started;
    int elapsed, blocking, long_poll;
    const uint32_t timeout = 300;
    memset(&x, 0, sizeof x);
    o.command_timeout_ms = timeout;
    c = xrec_client(&o, &x);

    /* connect_start, then polls in short turns. */
    started = test_now_ms();
    CHECK_OK(emq_client_connect_start(c, test_host(), port));
    CHECK(emq_client_state(c) == EMQ_STATE_WAITING_CONNACK);
    CHECK(x.failed == 0);
    XPOLL_UNTIL(c, x.failed > 0, 5000);
    elapsed = (int)(x.failed_at_ms - started);

    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], EMQ_ERR_TIMEOUT);
    CHECK(x.failed_code[0] == 0);
    CHECK(x.r.connects == 0); /* no CONNACK, so no on_connect */
    CHECK(x.r.disconnects == 0);
    /* About command_timeout_ms after the start: never before it (the
     * client's ms clock may round by one), and not much after. */
    CHECK(elapsed + 1 >= (int)timeout);
    CHECK(elapsed < (int)timeout + 1000);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_last_error(c), EMQ_ERR_TIMEOUT);
    CHECK(x.event_count[EMQ_LOG_CONNECT_FAILED] == 1);

    /* The blocking connect to it times out the same way. */
    started = test_now_ms();
    CHECK_ERR(emq_client_connect(c, test_host(), port), EMQ_ERR_TIMEOUT);
    blocking = (int)(test_now_ms() - started);
    CHECK(blocking + 1 >= (int)timeout);
    CHECK(blocking < (int)timeout + 500);
    CHECK(x.failed == 2);
    CHECK_ERR(x.failed_reason[1], EMQ_ERR_TIMEOUT);
    CHECK(x.r.connects == 0);

    /* connect_start, then one long poll: the timeout is due at
     * command_timeout_ms, within the poll. */
    started = test_now_ms();
    CHECK_OK(emq_client_connect_start(c, test_host(), port));
    (void)xrec_poll(c, 3000);
    CHECK(x.failed == 3);
    CHECK_ERR(x.failed_reason[2], EMQ_ERR_TIMEOUT);
    long_poll = (int)(x.failed_at_ms - started);
    CHECK(long_poll + 1 >= (int)timeout);
    CHECK(long_poll < (int)timeout + 500);

    CHECK_OK(test_client_free(c));
    close(listener);
    printf("silent broker: on_connect_failed(TIMEOUT) after %d ms polling in 20 ms turns, "
           "%d ms blocking, %d ms in poll(3000) (command timeout %u ms)\n",
           elapsed, blocking, long_poll, (unsigned)timeout);
}

static void closed_port(void)
{
    xrec x;
    emq_client *c;
    char id[64];
    emq_options o = login_options(id, sizeof id, pass);
    uint16_t port = test_closed_port();
    emq_err err;
    memset(&x, 0, sizeof x);
    c = xrec_client(&o, &x);

    /* Opening the transport happens in the call: its failure is the
     * result, reported to on_connect_failed before it returns. */
    err = emq_client_connect_start(c, test_host(), port);
    CHECK(err != EMQ_OK);
    CHECK(x.failed == 1);
    CHECK_ERR(x.failed_reason[0], err);
    CHECK(x.failed_code[0] == 0);
    CHECK(x.r.connects == 0);
    CHECK(emq_client_state(c) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_last_error(c), err);

    CHECK_OK(test_client_free(c));
    printf("closed port: connect_start returned %d (%s)\n", (int)err, emq_err_str((int)err));
}

int main(void)
{
    user = getenv("EMQ_TEST_USERNAME");
    pass = getenv("EMQ_TEST_PASSWORD");
    CHECK(user != NULL && pass != NULL); /* with-broker.sh, EMQ_BROKER_PASSWD */
    accepted();
    refused();
    silent_broker();
    closed_port();
    printf("test_connect_start (%s build): ok\n", TEST_BUILD);
    return 0;
}
