/* emq_options.all_matching_handlers, in both builds: with it, a message
 * goes to every handler whose filter matches, in subscription order; by
 * default only to the first; a message no handler matches goes to
 * on_message either way.
 *
 * Each client subscribes handlers on the overlapping filters <base>/a/+ and
 * <base>/a/# and a plain subscription on <base>/other, publishes one QoS 1
 * message to <base>/a/b and then a marker to <base>/other. The broker may
 * send a client one copy of a/b per matching subscription (mosquitto 2
 * does); so the calls are checked per copy: every copy makes the same
 * sequence of handler calls, and the marker (published after a/b, to the
 * same client) arrives after every copy. */
#include "harness.h"

#define CALLS_MAX 16

typedef struct calls {
    char seq[CALLS_MAX + 1]; /* handler letters in call order */
    int n;
    int on_message_marker, on_message_other, wrong;
} calls;

static char base[96];

static void note(calls *k, char who, const emq_message *m)
{
    char want[160];
    snprintf(want, sizeof want, "%s/a/b", base);
    if (m->topic_len != strlen(want) || memcmp(m->topic, want, m->topic_len) != 0 ||
        m->payload_len != 1 || m->payload[0] != 'x') {
        k->wrong++;
        return;
    }
    CHECK(k->n < CALLS_MAX);
    k->seq[k->n++] = who;
    k->seq[k->n] = '\0';
}

/* Two handlers, each with its own user_data. */
static calls *current;
static int plus_token, hash_token;
static void handler_plus(void *ud, emq_client *c, const emq_message *m)
{
    (void)c;
    CHECK(ud == &plus_token);
    note(current, '+', m);
}

static void handler_hash(void *ud, emq_client *c, const emq_message *m)
{
    (void)c;
    CHECK(ud == &hash_token);
    note(current, '#', m);
}

static void on_message(void *ud, emq_client *c, const emq_message *m)
{
    calls *k = ud;
    char marker[160];
    (void)c;
    snprintf(marker, sizeof marker, "%s/other", base);
    if (m->topic_len == strlen(marker) && memcmp(m->topic, marker, m->topic_len) == 0) {
        k->on_message_marker++;
    } else {
        k->on_message_other++;
    }
}

/* Runs one client; `plus_first`: subscribe the a/+ handler before a/#.
 * Returns the number of copies of a/b that arrived. */
static int run(bool all, bool plus_first, calls *k)
{
    emq_options o;
    emq_callbacks cb;
    emq_client *c;
    char id[64], plus[160], hash[160], other[160], topic[160];
    uint16_t pid = 0;
    int copies;
    memset(k, 0, sizeof *k);
    current = k;
    snprintf(plus, sizeof plus, "%s/a/+", base);
    snprintf(hash, sizeof hash, "%s/a/#", base);
    snprintf(other, sizeof other, "%s/other", base);
    snprintf(topic, sizeof topic, "%s/a/b", base);

    CHECK_OK(emq_options_default(&o));
    CHECK(!o.all_matching_handlers); /* the default */
    o.client_id = test_unique(id, sizeof id, "emq-allh");
    o.all_matching_handlers = all;
    CHECK_OK(test_client_new(&o, &c));
    cb = no_callbacks();
    cb.on_message = on_message;
    CHECK_OK(emq_client_set_callbacks(c, &cb, k));
    CHECK_OK(emq_client_connect(c, test_host(), test_port()));

    if (plus_first) {
        CHECK_OK(emq_client_subscribe_handler(c, plus, 1, handler_plus, &plus_token, &pid));
        CHECK_OK(emq_client_wait(c, pid, 5000));
        CHECK_OK(emq_client_subscribe_handler(c, hash, 1, handler_hash, &hash_token, &pid));
    } else {
        CHECK_OK(emq_client_subscribe_handler(c, hash, 1, handler_hash, &hash_token, &pid));
        CHECK_OK(emq_client_wait(c, pid, 5000));
        CHECK_OK(emq_client_subscribe_handler(c, plus, 1, handler_plus, &plus_token, &pid));
    }
    CHECK_OK(emq_client_wait(c, pid, 5000));
    CHECK_OK(emq_client_subscribe(c, other, 1, &pid));
    CHECK_OK(emq_client_wait(c, pid, 5000));

    CHECK_OK(emq_client_publish(c, topic, (const uint8_t *)"x", 1, 1, false, &pid));
    CHECK_OK(emq_client_publish(c, other, (const uint8_t *)"m", 1, 1, false, &pid));
    POLL_UNTIL(c, k->on_message_marker > 0, 5000);
    test_poll_for(c, 100);

    CHECK(k->wrong == 0);
    CHECK(k->on_message_marker == 1);
    CHECK(k->on_message_other == 0); /* a/b never reached on_message */
    CHECK_OK(emq_client_disconnect(c));
    CHECK_OK(test_client_free(c));

    {
        /* Handler calls per copy: two with all_matching_handlers, else one. */
        int per_copy = all ? 2 : 1, i;
        CHECK(k->n > 0 && k->n % per_copy == 0);
        copies = k->n / per_copy;
        for (i = 0; i < k->n; i++) {
            char first = plus_first ? '+' : '#', second = plus_first ? '#' : '+';
            CHECK(k->seq[i] == (i % per_copy == 0 ? first : second));
        }
    }
    printf("all_matching_handlers=%d, %s first: calls \"%s\" (%d cop%s of the message)\n",
           (int)all, plus_first ? "a/+" : "a/#", k->seq, copies, copies == 1 ? "y" : "ies");
    return copies;
}

int main(void)
{
    calls k;
    snprintf(base, sizeof base, "embermq/test/allh/%ld", (long)getpid());
    run(true, true, &k);   /* "+#" per copy */
    run(true, false, &k);  /* "#+" per copy: subscription order, not filter */
    run(false, true, &k);  /* "+" only */
    run(false, false, &k); /* "#" only */
    printf("test_all_handlers (%s build): ok\n", TEST_BUILD);
    return 0;
}
