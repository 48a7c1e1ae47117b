/* emq_client_set_log_level, in both builds: the level filters what reaches
 * on_log_event (and on hosts on_log) from the next event on; an invalid
 * level is refused and changes nothing. */
#include "harness.h"
#include "rec_ext.h"

static void cycle(emq_client *c, xrec *x)
{
    test_connect(c, &x->r);
    CHECK_OK(emq_client_disconnect(c));
}

int main(void)
{
    static xrec x;
    emq_client *c;
    char id[64];
    emq_options o = xrec_options(id, sizeof id, "emq-loglevel");
    CHECK(o.log_level == EMQ_LOG_INFO); /* the default */
    c = xrec_client(&o, &x);

    /* NONE: a whole connect and disconnect without one event. */
    CHECK_OK(emq_client_set_log_level(c, EMQ_LOG_NONE));
    cycle(c, &x);
    CHECK(x.r.connects == 1 && x.r.disconnects == 1);
    CHECK(x.events == 0);
    CHECK(x.log_lines == 0);

    /* Invalid levels are refused; NONE stays. */
    CHECK_ERR(emq_client_set_log_level(c, 99), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_set_log_level(c, -1), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_set_log_level(c, EMQ_LOG_DEBUG + 1), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(emq_client_set_log_level(NULL, EMQ_LOG_INFO), EMQ_ERR_NULL_POINTER);
    cycle(c, &x);
    CHECK(x.r.connects == 2);
    CHECK(x.events == 0);
    CHECK(x.log_lines == 0);

    /* INFO: the connection's lifecycle, CONNECTING first. */
    CHECK_OK(emq_client_set_log_level(c, EMQ_LOG_INFO));
    test_connect(c, &x.r);
    CHECK(x.event_count[EMQ_LOG_CONNECTING] == 1);
    CHECK(x.event_count[EMQ_LOG_CONNECTED] == 1);
    CHECK(x.connected_value == 0); /* no session present */
    CHECK(x.events >= 2);
    CHECK(x.event_order[0] == EMQ_LOG_CONNECTING);
#ifdef EMBERMQ_FIRMWARE
    CHECK(x.log_lines == 0); /* firmware: events only, never text */
#else
    CHECK(x.log_lines == x.events); /* hosts: one line per event */
#endif
    CHECK_OK(emq_client_disconnect(c));
    CHECK(x.event_count[EMQ_LOG_DISCONNECTED] == 1);

    /* ERROR: a successful connect logs nothing at that level. */
    CHECK_OK(emq_client_set_log_level(c, EMQ_LOG_ERROR));
    {
        int events = x.events;
        cycle(c, &x);
        CHECK(x.events == events);
    }

    /* DEBUG takes everything INFO did, too. */
    CHECK_OK(emq_client_set_log_level(c, EMQ_LOG_DEBUG));
    test_connect(c, &x.r);
    CHECK(x.event_count[EMQ_LOG_CONNECTING] == 2);
    CHECK(x.event_count[EMQ_LOG_CONNECTED] == 2);
    CHECK_OK(emq_client_disconnect(c));

    CHECK_OK(test_client_free(c));
    printf("test_log_level (%s build): ok, %d events\n", TEST_BUILD, x.events);
    return 0;
}
