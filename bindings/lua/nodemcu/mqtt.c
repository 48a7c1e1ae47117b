/*
 * NodeMCU's `mqtt` module (ESP32 documentation, with the ESP8266 module's
 * events and connect-failure reasons) over embermq's C API.
 *
 *   m = mqtt.Client(clientid, keepalive[, username, password, cleansession[, max_message_length]])
 *   m:lwt(topic, message[, qos[, retain]])
 *   m:on(event, function(client[, topic[, message]]))
 *   m:connect(host[, port[, secure[, autoreconnect]]][, function(client)[, function(client, reason)]])
 *   m:publish(topic, payload, qos, retain[, function(client)])
 *   m:subscribe(topic, qos[, function(client)]) / m:subscribe(table[, function(client)])
 *   m:unsubscribe(topic[, function(client)]) / m:unsubscribe(table[, function(client)])
 *   m:close()
 *
 * Like the firmware (esp-mqtt posts its events to the Lua task with
 * task_post), embermq's network thread only queues events; the Lua
 * callbacks run when the host loop (nodemcu_shim.lua, or anything calling
 * mqtt._host.dispatch) takes them. See README.md for the mapping.
 */
#include "emqlua.h"

#define NM_CLIENT "nodemcu.mqtt.client"

enum {
    NM_CONNECT = 1,
    NM_CONNFAIL,
    NM_OFFLINE,
    NM_MESSAGE,
    NM_OVERFLOW,
    NM_PUBACK,
    NM_SUBACK,
    NM_UNSUBACK,
};

/* Connect-failure reasons, as NodeMCU defines them. */
#define CONN_FAIL_SERVER_NOT_FOUND (-5)
#define CONN_FAIL_NOT_A_CONNACK_MSG (-4)
#define CONN_FAIL_DNS (-3)
#define CONN_FAIL_TIMEOUT_RECEIVING (-2)
#define CONN_FAIL_TIMEOUT_SENDING (-1)

/* Reconnect interval with autoreconnect (fixed, as esp-mqtt retries). */
#define NM_RECONNECT_MS 2000

typedef struct {
    int id;
    unsigned session;  /* bumped by connect and close: older events are stale */
    int anchored;
    emq_client *c;     /* NULL until connect, again after close */
    /* mqtt.Client() and lwt() settings, applied by connect */
    char *client_id, *username, *password;
    size_t password_len;
    long keepalive;
    int clean;
    long max_message;
    char *will_topic, *will_msg;
    size_t will_len;
    int will_qos, will_retain;
    /* Network-thread side (written only from embermq's callbacks, which one
     * thread runs at a time, or before the thread starts). */
    int was_connected;  /* connected now: a disconnect is "offline" */
    int ever_connected; /* this session got a CONNACK: no more connfail */
    int autoreconnect;  /* of the current session */
} nm_client;

static nm_client *nm_check(lua_State *L)
{
    nm_client *m = (nm_client *)emqlua_testudata(L, 1, NM_CLIENT);
    if (m == NULL)
        luaL_argerror(L, 1, "mqtt client expected (call it as client:method(...))");
    return m;
}

/* --- embermq callbacks: network thread; they only queue --------------- */

static void nm_post(nm_client *m, int kind, long a)
{
    emqlua_ev *e = emqlua_ev_new(kind, m->id, m->session, NULL, 0, NULL, 0, NULL, 0);
    if (e != NULL)
        e->a = a;
    emqlua_push(e);
}

static int nm_reason(emq_err err, uint8_t rc)
{
    switch (err) {
    case EMQ_ERR_CONNECTION_REFUSED:
        return rc;
    case EMQ_ERR_NAME_NOT_RESOLVED:
        return CONN_FAIL_DNS;
    case EMQ_ERR_TIMEOUT:
        return CONN_FAIL_TIMEOUT_RECEIVING;
    case EMQ_ERR_SEND_BUFFER_FULL:
        return CONN_FAIL_TIMEOUT_SENDING;
    case EMQ_ERR_CONNECTION_CLOSED:
    case EMQ_ERR_PROTOCOL_VIOLATION:
    case EMQ_ERR_UNEXPECTED_PACKET:
    case EMQ_ERR_INVALID_CONNACK_CODE:
    case EMQ_ERR_INVALID_CONNACK_FLAGS:
    case EMQ_ERR_MALFORMED_PACKET:
    case EMQ_ERR_MALFORMED_REMAINING_LENGTH:
    case EMQ_ERR_INVALID_PACKET_TYPE:
    case EMQ_ERR_INVALID_FLAGS:
        return CONN_FAIL_NOT_A_CONNACK_MSG;
    default:
        return CONN_FAIL_SERVER_NOT_FOUND;
    }
}

static void nm_on_connect(void *ud, emq_client *c, bool session_present, uint8_t rc)
{
    nm_client *m = (nm_client *)ud;
    (void)c;
    (void)session_present;
    if (rc != 0)
        return; /* refusals: nm_on_connect_failed */
    m->was_connected = 1;
    EMQLUA_STORE(m->ever_connected, 1);
    nm_post(m, NM_CONNECT, 0);
}

static void nm_on_connect_failed(void *ud, emq_client *c, emq_err reason, uint8_t rc)
{
    nm_client *m = (nm_client *)ud;
    (void)c;
    /* After a first CONNACK, autoreconnect's failed attempts are silent. */
    if (!EMQLUA_LOAD(m->ever_connected))
        nm_post(m, NM_CONNFAIL, nm_reason(reason, rc));
}

static void nm_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    nm_client *m = (nm_client *)ud;
    (void)c;
    if (m->was_connected) {
        m->was_connected = 0;
        nm_post(m, NM_OFFLINE, (long)reason);
    }
}

static void nm_on_message(void *ud, emq_client *c, const emq_message *msg)
{
    nm_client *m = (nm_client *)ud;
    (void)c;
    emqlua_push(emqlua_ev_new(NM_MESSAGE, m->id, m->session, msg->topic, msg->topic_len,
                              msg->payload, msg->payload_len, NULL, 0));
}

static void nm_on_overflow(void *ud, emq_client *c, const emq_message *msg, size_t size)
{
    nm_client *m = (nm_client *)ud;
    emqlua_ev *e = emqlua_ev_new(NM_OVERFLOW, m->id, m->session, msg->topic, msg->topic_len,
                                 msg->payload, msg->payload_len, NULL, 0);
    (void)c;
    if (e != NULL)
        e->total = size;
    emqlua_push(e);
}

static void nm_on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    (void)c;
    nm_post((nm_client *)ud, NM_PUBACK, packet_id);
}

static void nm_on_subscribed(void *ud, emq_client *c, uint16_t packet_id, const uint8_t *granted,
                             size_t count)
{
    nm_client *m = (nm_client *)ud;
    (void)c;
    emqlua_ev *e = emqlua_ev_new(NM_SUBACK, m->id, m->session, NULL, 0, NULL, 0, granted, count);
    if (e != NULL)
        e->a = packet_id;
    emqlua_push(e);
}

static void nm_on_unsubscribed(void *ud, emq_client *c, uint16_t packet_id)
{
    (void)c;
    nm_post((nm_client *)ud, NM_UNSUBACK, packet_id);
}

/* --- dispatch on the Lua thread ----------------------------------------- */

/* Calls field `name` of the client's callbacks with the client and the
 * `nargs` values on top of the stack (popped). Nothing if it is not set. */
static void nm_call(lua_State *L, int ud, const char *name, int nargs)
{
    emqlua_callcb(L, ud, name, NULL, nargs);
}

static void nm_dispatch(lua_State *L, emqlua_ev *e)
{
    nm_client *m;
    int ud;
    emqlua_push_obj(L, e->id);
    m = (nm_client *)emqlua_testudata(L, -1, NM_CLIENT);
    if (m == NULL || m->session != e->session || m->c == NULL) {
        free(e); /* closed, reconnected since, or collected */
        return;
    }
    ud = lua_gettop(L);
    switch (e->kind) {
    case NM_CONNECT:
        free(e);
        /* The one-shot callbacks of connect() go first, then both are
         * cleared (the firmware's order), then on("connect"). */
        emqlua_getcb(L, ud, "_connect_ok");
        lua_pushnil(L);
        emqlua_setcb(L, ud, "_connect_ok");
        lua_pushnil(L);
        emqlua_setcb(L, ud, "_connect_nok");
        if (lua_isfunction(L, -1)) {
            lua_pushvalue(L, ud);
            lua_call(L, 1, 0);
        } else {
            lua_pop(L, 1);
        }
        nm_call(L, ud, "connect", 0);
        break;
    case NM_CONNFAIL: {
        long reason = e->a;
        free(e);
        /* "No further callbacks": the attempt is over; the client stays
         * usable for another connect(). */
        emqlua_unanchor(L, m->id, &m->anchored);
        emqlua_getcb(L, ud, "_connect_nok");
        lua_pushnil(L);
        emqlua_setcb(L, ud, "_connect_ok");
        lua_pushnil(L);
        emqlua_setcb(L, ud, "_connect_nok");
        if (lua_isfunction(L, -1)) {
            lua_pushvalue(L, ud);
            lua_pushinteger(L, reason);
            lua_call(L, 2, 0);
        } else {
            lua_pop(L, 1);
        }
        lua_pushinteger(L, reason);
        nm_call(L, ud, "connfail", 1);
        break;
    }
    case NM_OFFLINE:
        free(e);
        /* Without autoreconnect the client is idle until connect(). */
        if (!m->autoreconnect)
            emqlua_unanchor(L, m->id, &m->anchored);
        nm_call(L, ud, "offline", 0);
        break;
    case NM_MESSAGE:
    case NM_OVERFLOW: {
        const char *name = e->kind == NM_MESSAGE ? "message" : "overflow";
        int nargs = 1;
        lua_pushlstring(L, e->topic, e->topic_len);
        /* No payload: the callback gets (client, topic), data is nil. */
        if (e->data_len > 0) {
            lua_pushlstring(L, e->data, e->data_len);
            nargs++;
        }
        free(e);
        nm_call(L, ud, name, nargs);
        break;
    }
    case NM_PUBACK:
        free(e);
        nm_call(L, ud, "_publish_ok", 0);
        nm_call(L, ud, "puback", 0);
        break;
    case NM_SUBACK:
        free(e);
        nm_call(L, ud, "_subscribe_ok", 0);
        nm_call(L, ud, "suback", 0);
        break;
    case NM_UNSUBACK:
        free(e);
        nm_call(L, ud, "_unsubscribe_ok", 0);
        nm_call(L, ud, "unsuback", 0);
        break;
    default:
        free(e);
        break;
    }
}

/* --- methods ---------------------------------------------------------- */

static void nm_release(nm_client *m)
{
    if (m->c != NULL) {
        /* stop: DISCONNECT and the thread has ended; free: the handle. */
        emq_client_stop(m->c);
        emq_client_free(m->c);
        m->c = NULL;
    }
}

/* mqtt.Client(clientid, keepalive[, username, password, cleansession[, max_message_length]]) */
static int nm_new(lua_State *L)
{
    size_t id_len, user_len = 0, pass_len = 0;
    const char *id = emqlua_checkstr(L, 1, &id_len, "clientid");
    long keepalive = emqlua_checkrange(L, 2, 0, 65535, "keepalive (seconds)");
    const char *user = NULL, *pass = NULL;
    int clean;
    long max_message;
    nm_client *m;

    if (strlen(id) != id_len)
        luaL_argerror(L, 1, "clientid contains a NUL byte");
    if (!lua_isnoneornil(L, 3))
        user = emqlua_checkstr(L, 3, &user_len, "username");
    if (!lua_isnoneornil(L, 4))
        pass = emqlua_checkstr(L, 4, &pass_len, "password");
    if (user != NULL && strlen(user) != user_len)
        luaL_argerror(L, 3, "username contains a NUL byte");
    clean = emqlua_optflag(L, 5, 1, "cleansession (0/1)");
    max_message = emqlua_optrange(L, 6, 0, 64, 256L * 1024 * 1024, "max_message_length");

    m = (nm_client *)lua_newuserdata(L, sizeof(nm_client));
    memset(m, 0, sizeof *m);
    luaL_getmetatable(L, NM_CLIENT);
    lua_setmetatable(L, -2);
    emqlua_newuv(L);
    m->id = emqlua_register(L, -1);
    m->keepalive = keepalive;
    m->clean = clean;
    m->max_message = max_message;
    emqlua_setstr(L, &m->client_id, NULL, id, id_len);
    if (user != NULL)
        emqlua_setstr(L, &m->username, NULL, user, user_len);
    if (pass != NULL)
        emqlua_setstr(L, &m->password, &m->password_len, pass, pass_len);
    return 1;
}

/* m:lwt(topic, message[, qos[, retain]]) */
static int nm_lwt(lua_State *L)
{
    nm_client *m = nm_check(L);
    size_t tlen, mlen;
    const char *topic = emqlua_checkstr(L, 2, &tlen, "topic");
    const char *msg = emqlua_checkstr(L, 3, &mlen, "message");
    int qos = (int)emqlua_optrange(L, 4, 0, 0, 2, "qos");
    int retain = emqlua_optflag(L, 5, 0, "retain (0/1)");
    if (strlen(topic) != tlen || emq_topic_name_check(topic) != EMQ_OK)
        luaL_argerror(L, 2, "invalid topic name");
    emqlua_setstr(L, &m->will_topic, NULL, topic, tlen);
    emqlua_setstr(L, &m->will_msg, &m->will_len, msg, mlen);
    m->will_qos = qos;
    m->will_retain = retain;
    return 0;
}

/* m:on(event, function) */
static int nm_on(lua_State *L)
{
    static const char *const events[] = {"connect", "connfail", "offline", "message",
                                         "overflow", "puback",   "suback",  "unsuback", NULL};
    nm_client *m = nm_check(L);
    int which = luaL_checkoption(L, 2, NULL, events);
    (void)m;
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    emqlua_setcb(L, 1, events[which]);
    return 0;
}

/* The TLS settings of connect's `secure` argument. */
typedef struct {
    int secure;
    emq_tls_options tls;
} nm_secure;

static void nm_tls_field(lua_State *L, int t, const char *name, const char **out)
{
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pushfstring(L, "secure.%s: PEM data (string) expected, got %s", name,
                            luaL_typename(L, -1));
            luaL_argerror(L, t, lua_tostring(L, -1));
        }
        *out = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the string stays referenced by the table */
}

/* m:connect(host[, port[, secure[, autoreconnect]]][, function(client)[, function(client, reason)]]) */
static int nm_connect(lua_State *L)
{
    nm_client *m = nm_check(L);
    const char *host = emqlua_checkcstr(L, 2, "host");
    long port = 1883;
    int autoreconnect = 0, have_port = 0, have_secure = 0, have_auto = 0, nfuncs = 0;
    int ok_idx = 0, fail_idx = 0;
    nm_secure sec;
    emq_options o;
    emq_callbacks cb;
    emq_err err;
    char uri[600];
    int i, top = lua_gettop(L);

    memset(&sec, 0, sizeof sec);
    emq_tls_options_default(&sec.tls);
    if (host[0] == '\0')
        luaL_argerror(L, 2, "host is empty");
    /* The optional arguments, told apart by type as the firmware does:
     * numbers are port, secure, autoreconnect in that order; a table is
     * secure; functions are the connect and failure callbacks. */
    for (i = 3; i <= top; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TNIL)
            continue;
        if (t == LUA_TFUNCTION) {
            if (nfuncs == 0)
                ok_idx = i;
            else if (nfuncs == 1)
                fail_idx = i;
            else
                luaL_argerror(L, i, "too many callback functions");
            nfuncs++;
            continue;
        }
        if (nfuncs > 0)
            luaL_argerror(L, i, "function expected (callbacks come last)");
        if (t == LUA_TNUMBER && !have_port && !have_secure) {
            port = emqlua_checkrange(L, i, 1, 65535, "port");
            have_port = 1;
        } else if ((t == LUA_TNUMBER || t == LUA_TBOOLEAN) && !have_secure) {
            sec.secure = emqlua_checkflag(L, i, "secure (0/1 or table)");
            have_secure = 1;
        } else if (t == LUA_TTABLE && !have_secure) {
            const char *client_cert = NULL, *client_key = NULL;
            sec.secure = 1;
            have_secure = 1;
            nm_tls_field(L, i, "ca_cert", &sec.tls.ca_pem);
            nm_tls_field(L, i, "client_cert", &client_cert);
            nm_tls_field(L, i, "client_key", &client_key);
            if ((client_cert == NULL) != (client_key == NULL))
                luaL_argerror(L, i, "secure: client_cert and client_key go together");
            sec.tls.client_cert_pem = client_cert;
            sec.tls.client_key_pem = client_key;
        } else if ((t == LUA_TNUMBER || t == LUA_TBOOLEAN) && !have_auto) {
            autoreconnect = emqlua_checkflag(L, i, "autoreconnect (0/1)");
            have_auto = 1;
        } else {
            luaL_argerror(L, i, "unexpected argument");
        }
    }
    /* esp-tls does not verify the server without a CA certificate. */
    sec.tls.verify_mode = sec.tls.ca_pem != NULL ? EMQ_TLS_VERIFY_REQUIRED : EMQ_TLS_VERIFY_NONE;

    if (m->c != NULL) {
        emq_state st = emq_client_state(m->c);
        if (m->anchored && (st != EMQ_STATE_DISCONNECTED || !EMQLUA_LOAD(m->ever_connected)))
            return lua_pushboolean(L, 0), 1; /* connected or connecting */
        nm_release(m);
    }

    emq_options_default(&o);
    o.client_id = m->client_id;
    o.username = m->username;
    o.password = (const uint8_t *)m->password;
    o.password_len = m->password_len;
    o.keepalive_secs = (uint16_t)m->keepalive;
    o.clean_session = m->clean != 0;
    if (m->will_topic != NULL) {
        o.will_topic = m->will_topic;
        o.will_payload = (const uint8_t *)m->will_msg;
        o.will_payload_len = m->will_len;
        o.will_qos = (uint8_t)m->will_qos;
        o.will_retain = m->will_retain != 0;
    }
    if (m->max_message > 0)
        o.rx_buffer_size = (size_t)m->max_message;
    o.transport = sec.secure ? EMQ_TRANSPORT_TLS : EMQ_TRANSPORT_TCP;
    if (sec.secure)
        o.tls = &sec.tls;
    o.auto_reconnect = autoreconnect != 0;
    o.reconnect_fixed_interval = true;
    o.reconnect_min_ms = NM_RECONNECT_MS;
    o.reconnect_max_ms = NM_RECONNECT_MS;
    o.reconnect_after_connack_only = true; /* a failed first connection is final */
    o.resubscribe = false;                 /* "all the subscriptions may be lost" */
    o.log_level = EMQ_LOG_NONE;

    if (!emqlua_uri(uri, sizeof uri, host, port, sec.secure))
        luaL_argerror(L, 2, "host name too long");
    err = emq_client_new(&o, &m->c);
    if (err != EMQ_OK) {
        m->c = NULL;
        lua_pushboolean(L, 0);
        lua_pushstring(L, emq_err_str(err));
        return 2;
    }
    m->session++;
    m->was_connected = 0;
    EMQLUA_STORE(m->ever_connected, 0);
    m->autoreconnect = autoreconnect;
    emq_callbacks_default(&cb);
    cb.on_connect = nm_on_connect;
    cb.on_connect_failed = nm_on_connect_failed;
    cb.on_disconnect = nm_on_disconnect;
    cb.on_message = nm_on_message;
    cb.on_overflow = nm_on_overflow;
    cb.on_published = nm_on_published;
    cb.on_subscribed = nm_on_subscribed;
    cb.on_unsubscribed = nm_on_unsubscribed;
    err = emq_client_set_callbacks(m->c, &cb, m);
    if (err == EMQ_OK)
        err = emq_client_set_server(m->c, uri);
    if (err == EMQ_OK) {
        lua_pushnil(L);
        emqlua_setcb(L, 1, "_connect_ok");
        lua_pushnil(L);
        emqlua_setcb(L, 1, "_connect_nok");
        if (ok_idx) {
            lua_pushvalue(L, ok_idx);
            emqlua_setcb(L, 1, "_connect_ok");
        }
        if (fail_idx) {
            lua_pushvalue(L, fail_idx);
            emqlua_setcb(L, 1, "_connect_nok");
        }
        emqlua_anchor(L, m->id, 1, &m->anchored);
        err = emq_client_start(m->c);
    }
    if (err != EMQ_OK) {
        emqlua_unanchor(L, m->id, &m->anchored);
        nm_release(m);
        lua_pushboolean(L, 0);
        lua_pushstring(L, emq_err_str(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* m:close() */
static int nm_close(lua_State *L)
{
    nm_client *m = nm_check(L);
    nm_release(m);
    m->session++;
    emqlua_unanchor(L, m->id, &m->anchored);
    emqlua_forget(m->id);
    return 0;
}

/* Stores fn at idx (if a function) as the persistent callback `name`. */
static void nm_opt_callback(lua_State *L, int idx, const char *name)
{
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TFUNCTION);
    lua_pushvalue(L, idx);
    emqlua_setcb(L, 1, name);
}

/* m:publish(topic, payload, qos, retain[, function(client)]) */
static int nm_publish(lua_State *L)
{
    nm_client *m = nm_check(L);
    size_t plen;
    const char *topic = emqlua_checkcstr(L, 2, "topic");
    const char *payload = emqlua_checkstr(L, 3, &plen, "payload");
    int qos = (int)emqlua_checkrange(L, 4, 0, 2, "qos");
    int retain = emqlua_checkflag(L, 5, "retain (0/1)");
    emq_err err;
    nm_opt_callback(L, 6, "_publish_ok");
    if (m->c == NULL)
        return lua_pushboolean(L, 0), 1;
    err = emq_client_publish(m->c, topic, (const uint8_t *)payload, plen, (uint8_t)qos,
                             retain != 0, NULL);
    lua_pushboolean(L, err == EMQ_OK);
    return 1;
}

#define NM_MAX_FILTERS 64

/* m:subscribe(topic, qos[, function(client)]) or m:subscribe(table[, function(client)]) */
static int nm_subscribe(lua_State *L)
{
    nm_client *m = nm_check(L);
    emq_err err;
    if (lua_istable(L, 2)) {
        emq_subscription subs[NM_MAX_FILTERS];
        size_t n = 0;
        nm_opt_callback(L, 3, "_subscribe_ok");
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "bad argument #1 to 'subscribe' (table keys must be topic strings)");
            if (n == NM_MAX_FILTERS)
                luaL_error(L, "bad argument #1 to 'subscribe' (at most %d topics at once)",
                           NM_MAX_FILTERS);
            if (!emqlua_isinteger(L, -1) || lua_tonumber(L, -1) < 0 || lua_tonumber(L, -1) > 2)
                luaL_error(L, "bad argument #1 to 'subscribe' (qos of '%s' must be 0, 1 or 2)",
                           lua_tostring(L, -2));
            subs[n].filter = lua_tostring(L, -2);
            subs[n].qos = (uint8_t)lua_tonumber(L, -1);
            n++;
            lua_pop(L, 1);
        }
        if (n == 0)
            luaL_argerror(L, 2, "no topics in the table");
        if (m->c == NULL)
            return lua_pushboolean(L, 0), 1;
        err = emq_client_subscribe_many(m->c, subs, n, NULL);
    } else {
        const char *topic = emqlua_checkcstr(L, 2, "topic (or table)");
        int qos = (int)emqlua_optrange(L, 3, 0, 0, 2, "qos");
        nm_opt_callback(L, 4, "_subscribe_ok");
        if (m->c == NULL)
            return lua_pushboolean(L, 0), 1;
        err = emq_client_subscribe(m->c, topic, (uint8_t)qos, NULL);
    }
    lua_pushboolean(L, err == EMQ_OK);
    return 1;
}

/* m:unsubscribe(topic[, function(client)]) or m:unsubscribe(table[, function(client)]) */
static int nm_unsubscribe(lua_State *L)
{
    nm_client *m = nm_check(L);
    emq_err err;
    if (lua_istable(L, 2)) {
        const char *filters[NM_MAX_FILTERS];
        size_t n = 0;
        nm_opt_callback(L, 3, "_unsubscribe_ok");
        lua_pushnil(L);
        /* {topic = anything, ...} as documented; {"t1", "t2"} as well. */
        while (lua_next(L, 2) != 0) {
            int key_is_topic = lua_type(L, -2) == LUA_TSTRING;
            if (!key_is_topic && lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "bad argument #1 to 'unsubscribe' (topics expected as keys)");
            if (n == NM_MAX_FILTERS)
                luaL_error(L, "bad argument #1 to 'unsubscribe' (at most %d topics at once)",
                           NM_MAX_FILTERS);
            filters[n++] = key_is_topic ? lua_tostring(L, -2) : lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        if (n == 0)
            luaL_argerror(L, 2, "no topics in the table");
        if (m->c == NULL)
            return lua_pushboolean(L, 0), 1;
        err = emq_client_unsubscribe_many(m->c, filters, n, NULL);
    } else {
        const char *topic = emqlua_checkcstr(L, 2, "topic (or table)");
        nm_opt_callback(L, 3, "_unsubscribe_ok");
        if (m->c == NULL)
            return lua_pushboolean(L, 0), 1;
        err = emq_client_unsubscribe(m->c, topic, NULL);
    }
    lua_pushboolean(L, err == EMQ_OK);
    return 1;
}

static int nm_gc(lua_State *L)
{
    nm_client *m = (nm_client *)emqlua_testudata(L, 1, NM_CLIENT);
    if (m == NULL)
        return 0;
    nm_release(m);
    emqlua_forget(m->id);
    free(m->client_id);
    free(m->username);
    free(m->password);
    free(m->will_topic);
    free(m->will_msg);
    m->client_id = m->username = m->password = m->will_topic = m->will_msg = NULL;
    return 0;
}

static int nm_tostring(lua_State *L)
{
    nm_client *m = nm_check(L);
    lua_pushfstring(L, "mqtt.client: %p", (void *)m);
    return 1;
}

static const luaL_Reg nm_methods[] = {
    {"lwt", nm_lwt},         {"on", nm_on},
    {"connect", nm_connect}, {"close", nm_close},
    {"publish", nm_publish}, {"subscribe", nm_subscribe},
    {"unsubscribe", nm_unsubscribe}, {NULL, NULL}};

EMQLUA_EXPORT int luaopen_mqtt(lua_State *L)
{
    static const luaL_Reg fns[] = {{"Client", nm_new}, {NULL, NULL}};
    static const emqlua_intconst consts[] = {
        {"CONN_FAIL_SERVER_NOT_FOUND", CONN_FAIL_SERVER_NOT_FOUND},
        {"CONN_FAIL_NOT_A_CONNACK_MSG", CONN_FAIL_NOT_A_CONNACK_MSG},
        {"CONN_FAIL_DNS", CONN_FAIL_DNS},
        {"CONN_FAIL_TIMEOUT_RECEIVING", CONN_FAIL_TIMEOUT_RECEIVING},
        {"CONN_FAIL_TIMEOUT_SENDING", CONN_FAIL_TIMEOUT_SENDING},
        {"CONNACK_ACCEPTED", 0},
        {"CONNACK_REFUSED_PROTOCOL_VER", 1},
        {"CONNACK_REFUSED_ID_REJECTED", 2},
        {"CONNACK_REFUSED_SERVER_UNAVAILABLE", 3},
        {"CONNACK_REFUSED_BAD_USER_OR_PASS", 4},
        {"CONNACK_REFUSED_NOT_AUTHORIZED", 5},
    };

    emqlua_dispatch_one = nm_dispatch;
    emqlua_init_tables(L);
    emqlua_register_class(L, NM_CLIENT, nm_methods, nm_gc, nm_tostring);
    lua_getfield(L, -1, "__index");
    lua_newtable(L);
    emqlua_setfuncs(L, fns);
    emqlua_setints(L, consts, sizeof consts / sizeof consts[0]);
    emqlua_host_table(L, -2);
    return 1;
}
