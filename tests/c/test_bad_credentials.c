/* A broker with a password file refuses a wrong password (CONNACK 4 or 5)
 * and accepts the right one. Needs EMQ_BROKER_PASSWD (see CMakeLists.txt). */
#include "harness.h"

static emq_client *client_with_login(rec *r, const char *user, const char *pass)
{
    emq_options o;
    char id[64];
    CHECK_OK(emq_options_default(&o));
    o.client_id = test_unique(id, sizeof id, "emq-auth");
    o.username = user;
    o.password = (const uint8_t *)pass;
    o.password_len = strlen(pass);
    return test_client(&o, r);
}

int main(void)
{
    const char *user = getenv("EMQ_TEST_USERNAME");
    const char *pass = getenv("EMQ_TEST_PASSWORD");
    rec bad_rec = {0}, anon_rec = {0}, good_rec = {0};
    emq_client *bad, *anon, *good;
    uint8_t code;

    CHECK(user != NULL && pass != NULL); /* set by with-broker.sh */

    /* Wrong password: refused, code reported to on_connect and the query. */
    bad = client_with_login(&bad_rec, user, "definitely-wrong");
    CHECK_ERR(emq_client_connect(bad, test_host(), test_port()), EMQ_ERR_CONNECTION_REFUSED);
    CHECK(bad_rec.connects == 1);
    code = bad_rec.connect_code;
    CHECK(code == 4 || code == 5);
    CHECK(emq_client_last_return_code(bad) == code);
    CHECK(!emq_client_is_connected(bad));
    CHECK(emq_client_state(bad) == EMQ_STATE_DISCONNECTED);
    CHECK_ERR(emq_client_publish(bad, "x", NULL, 0, 0, false, NULL), EMQ_ERR_NOT_CONNECTED);

    /* No credentials at all: refused too (allow_anonymous false). */
    anon = test_client(NULL, &anon_rec);
    CHECK_ERR(emq_client_connect(anon, test_host(), test_port()), EMQ_ERR_CONNECTION_REFUSED);
    CHECK(anon_rec.connects == 1);
    CHECK(anon_rec.connect_code != 0);
    CHECK(emq_client_last_return_code(anon) == anon_rec.connect_code);

    /* The right password connects; the same refused client can retry too. */
    good = client_with_login(&good_rec, user, pass);
    test_connect(good, &good_rec);
    CHECK(emq_client_last_return_code(good) == 0);
    CHECK_OK(emq_client_disconnect(good));
    CHECK(good_rec.disconnects == 1 && good_rec.disconnect_reason == EMQ_OK);

    CHECK_OK(test_client_free(bad));
    CHECK_OK(test_client_free(anon));
    CHECK_OK(test_client_free(good));
    printf("bad_credentials: refused with code %u, right password accepted\n", (unsigned)code);
    return 0;
}
