/* Out-of-range option values are refused with a named error, never trusted:
 * an enum-typed field set to a value outside its enum (log_level is read as
 * an int for exactly this reason), and sizes too large to allocate. */
#include "harness.h"

static emq_err try_new(const emq_options *o)
{
    emq_client *client = (emq_client *)1; /* must be reset to NULL on failure */
    emq_err err = emq_client_new(o, &client);
    if (err != EMQ_OK)
        CHECK(client == NULL);
    emq_client_free(err == EMQ_OK ? client : NULL);
    return err;
}

int main(void)
{
    emq_options o;

    CHECK_OK(emq_options_default(&o));
    o.log_level = 9;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_ARGUMENT);
    o.log_level = -1;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_ARGUMENT);
    o.log_level = EMQ_LOG_DEBUG;
    CHECK_OK(try_new(&o));

    /* Larger than any MQTT packet: refused before allocating. */
    CHECK_OK(emq_options_default(&o));
    o.store_size = (size_t)1 << 40;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(emq_options_default(&o));
    o.rx_buffer_size = (size_t)-1;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_ARGUMENT);

    /* protocol_level outside 3..5 and will QoS 3. */
    CHECK_OK(emq_options_default(&o));
    o.protocol_level = 6;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_PROTOCOL);
    CHECK_OK(emq_options_default(&o));
    o.will_topic = "w";
    o.will_qos = 3;
    CHECK_ERR(try_new(&o), EMQ_ERR_INVALID_QOS);
    return 0;
}
