/*
 * MQTT over TLS through the C API, against the TLS listeners that
 * scripts/with-broker.sh adds when EMQ_BROKER_TLS_DIR is set (certificates
 * generated at test time by examples/gen_test_certs.rs).
 */
#include "harness.h"

#define KEY_PASSWORD "embermq-key-pass" /* tests/support/certs.rs */

static char cert_dir[512];

static uint16_t env_port(const char *name)
{
    const char *text = getenv(name);
    long value = text != NULL ? strtol(text, NULL, 10) : 0;
    if (value <= 0 || value > 65535) {
        fprintf(stderr, "%s is not set: run with EMQ_BROKER_TLS_DIR\n", name);
        exit(1);
    }
    return (uint16_t)value;
}

static const char *cert(const char *name)
{
    static char paths[8][600];
    static unsigned next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", cert_dir, name);
    return path;
}

/* The whole file, NUL-terminated (malloc'd). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    size = ftell(f);
    CHECK(size > 0);
    rewind(f);
    data = malloc((size_t)size + 1);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    data[size] = '\0';
    fclose(f);
    return data;
}

/* Log lines seen at WARNING. */
static int warnings;

static void count_warnings(void *ud, emq_log_level level, const char *line)
{
    (void)ud;
    if (level == EMQ_LOG_WARNING && strstr(line, "TLS") != NULL) {
        warnings++;
    }
}

/* A client with `tls` and the recorder; *err gets emq_client_new's result. */
static emq_client *tls_client(const emq_tls_options *tls, rec *r, size_t buffer, emq_err *err)
{
    emq_options options;
    emq_client *client = NULL;
    emq_callbacks cb = rec_callbacks();
    char id[64];
    CHECK_OK(emq_options_default(&options));
    options.client_id = test_unique(id, sizeof id, "emq-tls");
    options.tls = tls;
    options.rx_buffer_size = buffer;
    options.tx_buffer_size = buffer;
    options.store_size = 2 * buffer;
    *err = emq_client_new(&options, &client);
    if (*err != EMQ_OK) {
        CHECK(client == NULL);
        return NULL;
    }
    cb.on_log = count_warnings;
    CHECK_OK(emq_client_set_callbacks(client, &cb, r));
    return client;
}

static emq_client *tls_client_ok(const emq_tls_options *tls, rec *r, size_t buffer)
{
    emq_err err;
    emq_client *client = tls_client(tls, r, buffer, &err);
    CHECK_OK(err);
    return client;
}

static emq_tls_options trusting_test_ca(void)
{
    emq_tls_options tls;
    CHECK_OK(emq_tls_options_default(&tls));
    CHECK(tls.verify_mode == EMQ_TLS_VERIFY_REQUIRED);
    tls.ca_file = cert("ca.pem");
    return tls;
}

/* Connects to 127.0.0.1:port and returns the result; frees nothing. */
static emq_err try_connect(emq_client *client, uint16_t port)
{
    return emq_client_connect(client, test_host(), port);
}

/* Publishes `len` patterned bytes at `qos` to our own subscription and
 * checks they come back intact and are acknowledged. */
static void round_trip(emq_client *client, rec *r, const char *topic, size_t len, uint8_t qos)
{
    uint8_t *payload = malloc(len > 0 ? len : 1);
    uint16_t id = 0;
    size_t i;
    const rec_message *got;
    CHECK(payload != NULL);
    for (i = 0; i < len; i++) {
        payload[i] = (uint8_t)(i * 31 + i / 251);
    }
    rec_free(r);
    CHECK_OK(emq_client_publish(client, topic, payload, len, qos, false, &id));
    CHECK(id != 0);
    POLL_UNTIL(client, rec_find(r, topic) != NULL && rec_was_published(r, id), 20000);
    got = rec_find(r, topic);
    CHECK(got->payload_len == len);
    CHECK(len == 0 || memcmp(got->payload, payload, len) == 0);
    CHECK(got->qos == qos);
    CHECK(r->message_count == 1); /* exactly once */
    free(payload);
}

static void server_authentication_and_payloads(uint16_t port)
{
    static const size_t sizes[] = {0, 1, 1000, 64 * 1024, 256 * 1024};
    emq_tls_options tls = trusting_test_ca();
    rec r = {0};
    emq_client *client = tls_client_ok(&tls, &r, 300 * 1024);
    char topic[96];
    size_t i;
    uint8_t qos;
    CHECK_OK(try_connect(client, port));
    CHECK(r.connects == 1 && r.connect_code == 0);
    CHECK_OK(emq_client_tls_verify_result(client));
    CHECK(warnings == 0);
    test_unique(topic, sizeof topic, "embermq/tls");
    test_subscribe(client, &r, topic, 2);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (qos = 1; qos <= 2; qos++) {
            round_trip(client, &r, topic, sizes[i], qos);
        }
    }
    CHECK_OK(emq_client_disconnect(client));
    rec_free(&r);
    CHECK_OK(emq_client_free(client));
}

static void ca_as_pem_data_and_uri(uint16_t port)
{
    emq_tls_options tls;
    rec r = {0};
    emq_client *client;
    char uri[128];
    char *ca = read_file(cert("ca.pem"));
    CHECK_OK(emq_tls_options_default(&tls));
    tls.ca_pem = ca;
    client = tls_client_ok(&tls, &r, 16 * 1024);
    free(ca); /* copied by emq_client_new */
    snprintf(uri, sizeof uri, "mqtts://localhost:%u", (unsigned)port);
    CHECK_OK(emq_client_connect_uri(client, uri));
    CHECK_OK(emq_client_tls_verify_result(client));
    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_free(client));
}

static void scheme_selects_tls(uint16_t tls_port)
{
    rec r = {0};
    emq_client *client = test_client(NULL, &r);
    char uri[128];
    /* No TLS options: mqtts:// uses TLS with the public roots, which do not
     * know the test CA, so the handshake (not MQTT) fails. */
    snprintf(uri, sizeof uri, "mqtts://localhost:%u", (unsigned)tls_port);
    CHECK_ERR(emq_client_connect_uri(client, uri), EMQ_ERR_TLS_CERT_NOT_TRUSTED);
    CHECK(!emq_client_is_connected(client));
    /* The plain listener through mqtt:// still works on the same client. */
    snprintf(uri, sizeof uri, "mqtt://%s:%u", test_host(), (unsigned)test_port());
    CHECK_OK(emq_client_connect_uri(client, uri));
    CHECK_ERR(emq_client_tls_verify_result(client), EMQ_ERR_TLS_NOT_VERIFIED);
    CHECK_OK(emq_client_disconnect(client));
    CHECK_ERR(emq_client_connect_uri(client, "http://localhost"), EMQ_ERR_INVALID_URI);
    CHECK_ERR(emq_client_connect_uri(client, "mqtt://host:99999"), EMQ_ERR_INVALID_URI);
    CHECK_ERR(emq_client_connect_uri(client, NULL), EMQ_ERR_NULL_POINTER);
    CHECK_OK(emq_client_free(client));
}

static void wrong_ca_and_expired(uint16_t port, uint16_t expired_port)
{
    emq_tls_options tls = trusting_test_ca();
    rec r = {0};
    emq_client *client;
    tls.ca_file = cert("other-ca.pem");
    client = tls_client_ok(&tls, &r, 16 * 1024);
    CHECK_ERR(try_connect(client, port), EMQ_ERR_TLS_CERT_NOT_TRUSTED);
    CHECK(emq_client_state(client) == EMQ_STATE_DISCONNECTED);
    CHECK_OK(emq_client_free(client));

    tls = trusting_test_ca();
    client = tls_client_ok(&tls, &r, 16 * 1024);
    CHECK_ERR(try_connect(client, expired_port), EMQ_ERR_TLS_CERT_EXPIRED);
    /* The same client connects to a good listener afterwards. */
    CHECK_OK(try_connect(client, port));
    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_free(client));
}

static void host_name_mismatch(uint16_t port)
{
    const int modes[] = {EMQ_TLS_VERIFY_REQUIRED, EMQ_TLS_VERIFY_OPTIONAL, EMQ_TLS_VERIFY_NONE};
    const emq_err connect_result[] = {EMQ_ERR_TLS_HOSTNAME_MISMATCH, EMQ_OK, EMQ_OK};
    const emq_err verify_result[] = {EMQ_ERR_TLS_HOSTNAME_MISMATCH, EMQ_ERR_TLS_HOSTNAME_MISMATCH,
                                     EMQ_ERR_TLS_NOT_VERIFIED};
    int i;
    for (i = 0; i < 3; i++) {
        emq_tls_options tls = trusting_test_ca();
        rec r = {0};
        emq_client *client;
        tls.verify_mode = modes[i];
        tls.server_name = "not-this-broker.example";
        client = tls_client_ok(&tls, &r, 16 * 1024);
        warnings = 0;
        CHECK_ERR(try_connect(client, port), connect_result[i]);
        CHECK_ERR(emq_client_tls_verify_result(client), verify_result[i]);
        if (connect_result[i] == EMQ_OK) {
            CHECK(emq_client_is_connected(client));
            CHECK(warnings == 1); /* accepted, but said so */
            CHECK_OK(emq_client_disconnect(client));
        }
        CHECK_OK(emq_client_free(client));
    }
}

static void mutual_tls(uint16_t mtls_port)
{
    emq_tls_options tls = trusting_test_ca();
    rec r = {0};
    emq_client *client;
    emq_err err;

    /* Without a client certificate: refused. */
    client = tls_client_ok(&tls, &r, 16 * 1024);
    CHECK_ERR(try_connect(client, mtls_port), EMQ_ERR_TLS_HANDSHAKE_FAILED);
    CHECK(!emq_client_is_connected(client));
    CHECK_OK(emq_client_free(client));

    /* With one, its key encrypted: accepted, and messages flow. */
    tls.client_cert_file = cert("client.pem");
    tls.client_key_file = cert("client-enc.key");
    tls.client_key_password = KEY_PASSWORD;
    client = tls_client_ok(&tls, &r, 16 * 1024);
    CHECK_OK(try_connect(client, mtls_port));
    {
        char topic[96];
        test_unique(topic, sizeof topic, "embermq/mtls");
        test_subscribe(client, &r, topic, 1);
        round_trip(client, &r, topic, 100, 1);
        rec_free(&r);
    }
    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_free(client));

    /* RSA key in PKCS#1 PEM. */
    tls.client_cert_file = cert("rsa-client.pem");
    tls.client_key_file = cert("rsa-client-pkcs1.key");
    tls.client_key_password = NULL;
    client = tls_client_ok(&tls, &r, 16 * 1024);
    CHECK_OK(try_connect(client, mtls_port));
    CHECK_OK(emq_client_disconnect(client));
    CHECK_OK(emq_client_free(client));

    /* Wrong and missing passwords are named errors, at creation. */
    tls.client_cert_file = cert("client.pem");
    tls.client_key_file = cert("client-enc.key");
    tls.client_key_password = "wrong password";
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_TLS_KEY_PASSWORD);
    tls.client_key_password = NULL;
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_TLS_KEY_PASSWORD);
}

static void bad_settings(void)
{
    emq_tls_options tls = trusting_test_ca();
    rec r = {0};
    emq_err err;

    tls.ca_file = "/nonexistent/ca.pem";
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_TLS_FILE);

    tls = trusting_test_ca();
    tls.ca_pem = "this is not PEM";
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_TLS_BAD_PEM);

    tls = trusting_test_ca();
    tls.client_cert_file = cert("client.pem");
    tls.client_key_file = cert("x25519.key");
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_TLS_UNSUPPORTED_KEY);

    tls = trusting_test_ca();
    tls.verify_mode = 3;
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_INVALID_ARGUMENT);

    tls = trusting_test_ca();
    tls.alpn_count = 1; /* with a NULL array */
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_INVALID_ARGUMENT);

    tls = trusting_test_ca();
    tls.client_cert_file = cert("client.pem"); /* a certificate without its key */
    CHECK(tls_client(&tls, &r, 16 * 1024, &err) == NULL);
    CHECK_ERR(err, EMQ_ERR_INVALID_ARGUMENT);

    CHECK_ERR(emq_tls_options_default(NULL), EMQ_ERR_NULL_POINTER);
    CHECK_ERR(emq_client_tls_verify_result(NULL), EMQ_ERR_NULL_POINTER);
}

int main(void)
{
    const char *dir = getenv("EMQ_TEST_CERT_DIR");
    uint16_t port = env_port("EMQ_TEST_TLS_PORT");
    uint16_t mtls_port = env_port("EMQ_TEST_MTLS_PORT");
    uint16_t expired_port = env_port("EMQ_TEST_EXPIRED_PORT");
    CHECK(dir != NULL && strlen(dir) < sizeof cert_dir);
    snprintf(cert_dir, sizeof cert_dir, "%s", dir);

    server_authentication_and_payloads(port);
    ca_as_pem_data_and_uri(port);
    scheme_selects_tls(port);
    wrong_ca_and_expired(port, expired_port);
    host_name_mismatch(port);
    mutual_tls(mtls_port);
    bad_settings();
    printf("test_tls: ok\n");
    return 0;
}
