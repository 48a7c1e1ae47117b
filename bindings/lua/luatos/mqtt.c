/*
 * LuatOS's `mqtt` module (components/network/libemqtt/luat_lib_mqtt.c's
 * documentation) over embermq's C API.
 *
 *   mqttc = mqtt.create(adapter, host, port[, ssl[, isipv6 | opts]])
 *   mqttc:auth([client_id[, username[, password[, cleanSession]]]])
 *   mqttc:keepalive([time]) / mqttc:will(topic, payload[, qos[, retain]])
 *   mqttc:autoreconn(reconnect[, reconnect_time]) / mqttc:debug(onoff)
 *   mqttc:on(function(mqtt_client, event, data, payload, metas) ... end)
 *   mqttc:connect() / mqttc:disconnect() / mqttc:close()
 *   mqttc:subscribe(topic | {topic = qos, ...}[, qos]) -> message id | nil
 *   mqttc:unsubscribe(topic | {topic, ...})
 *   mqttc:publish(topic, data[, qos[, retain]]) -> message id | nil
 *   mqttc:ready() -> bool, mqttc:state() -> number
 *
 * As on the device (the network task posts to the Lua task's message
 * bus), embermq's network thread only queues events; the callback runs
 * when sys.run (luatos_shim.lua) takes them. README.md has the mapping.
 */
#include "emqlua.h"

#define LT_CLIENT "MQTTCTRL*"

enum { LT_CONACK = 1, LT_RECV, LT_SENT, LT_DISCONNECT, LT_SUBACK, LT_UNSUBACK, LT_ERROR, LT_LOG, LT_PONG };

/* QoS 2 messages whose "sent" went out at PUBREC (their PUBCOMP must not
 * report again); more at once than this report at PUBCOMP instead. */
#define LT_PUBRECS 32

/* mqttc:state() values (luat_mqtt.h LUAT_MQTT_STATE_E). */
enum { STATE_DISCONNECT = 0, STATE_SCONNECT = 1, STATE_MQTT = 2, STATE_READY = 3 };
/* The "disconnect" event's data when no CONNACK code applies (libemqtt's
 * MQTT_ERROR_STATE_SOCKET). */
#define ERROR_STATE_SOCKET (-1)

typedef struct {
    int id;
    unsigned session;
    int anchored;
    int closed;
    emq_client *c;
    /* create() */
    char *host;
    long port;
    int tls;
    /* auth(), keepalive(), will(), autoreconn(), debug() */
    char *client_id, *username, *password;
    size_t password_len;
    int clean;
    long keepalive;
    char *will_topic, *will_payload;
    size_t will_len;
    int will_qos, will_retain;
    int autoreconn;
    long reconnect_ms;
    int debug;
    /* network-thread side */
    int was_connected;
    int pending; /* connect() asked, its first attempt not over: state 1 */
    uint16_t pubrecs[LT_PUBRECS]; /* network thread only */
    int pubrec_count;
} lt_client;

static lt_client *lt_check(lua_State *L)
{
    lt_client *m = (lt_client *)emqlua_testudata(L, 1, LT_CLIENT);
    if (m == NULL)
        luaL_argerror(L, 1, "mqtt client expected (call it as mqttc:method(...))");
    if (m->closed || m->c == NULL)
        luaL_argerror(L, 1, "mqtt client is closed (mqttc:close() released it)");
    return m;
}

/* --- embermq callbacks: network thread (or inside a publish); they queue - */

static void lt_post(lt_client *m, int kind, long a, long b)
{
    emqlua_ev *e = emqlua_ev_new(kind, m->id, EMQLUA_LOAD(m->session), NULL, 0, NULL, 0, NULL, 0);
    if (e != NULL) {
        e->a = a;
        e->b = b;
    }
    emqlua_push(e);
}

static void lt_on_connect(void *ud, emq_client *c, bool sp, uint8_t rc)
{
    lt_client *m = (lt_client *)ud;
    (void)c;
    (void)sp;
    if (rc == 0) {
        EMQLUA_STORE(m->was_connected, 1);
        EMQLUA_STORE(m->pending, 0);
        /* Unacknowledged messages were dropped with the last connection
         * (no retransmission): no PUBCOMP comes for those. */
        m->pubrec_count = 0;
        lt_post(m, LT_CONACK, 0, 0);
    }
}

/* "error" kinds (the document's later versions): data is one of these. */
enum { ERR_CONNECT = 1, ERR_CONACK, ERR_TX, ERR_OTHER };

static void lt_on_connect_failed(void *ud, emq_client *c, emq_err reason, uint8_t rc)
{
    lt_client *m = (lt_client *)ud;
    (void)c;
    EMQLUA_STORE(m->pending, 0);
    if (reason == EMQ_ERR_CONNECTION_REFUSED) {
        lt_post(m, LT_ERROR, ERR_CONACK, rc);
        lt_post(m, LT_DISCONNECT, rc, 0);
    } else {
        lt_post(m, LT_ERROR, ERR_CONNECT, (long)reason);
        lt_post(m, LT_DISCONNECT, ERROR_STATE_SOCKET, 0);
    }
}

static void lt_on_disconnect(void *ud, emq_client *c, emq_err reason)
{
    lt_client *m = (lt_client *)ud;
    (void)c;
    if (!EMQLUA_LOAD(m->was_connected))
        return; /* a failed attempt: lt_on_connect_failed told it */
    EMQLUA_STORE(m->was_connected, 0);
    /* A lost connection is a network error first ("tx" when a write
     * failed, "other" else), as the firmware reports; disconnect() is not. */
    if (reason != EMQ_OK)
        lt_post(m, LT_ERROR, reason == EMQ_ERR_SEND_BUFFER_FULL ? ERR_TX : ERR_OTHER, (long)reason);
    lt_post(m, LT_DISCONNECT, ERROR_STATE_SOCKET, (long)reason);
}

static void lt_on_message(void *ud, emq_client *c, const emq_message *msg)
{
    lt_client *m = (lt_client *)ud;
    emqlua_ev *e = emqlua_ev_new(LT_RECV, m->id, EMQLUA_LOAD(m->session), msg->topic, msg->topic_len,
                                 msg->payload, msg->payload_len, NULL, 0);
    (void)c;
    if (e != NULL) {
        e->qos = msg->qos;
        e->retain = msg->retain;
        e->dup = msg->dup;
        e->a = msg->packet_id;
    }
    emqlua_push(e);
}

static void lt_on_overflow(void *ud, emq_client *c, const emq_message *msg, size_t size)
{
    lt_client *m = (lt_client *)ud;
    char line[200];
    (void)c;
    /* libemqtt cannot take such a message either; say so with debug on. */
    if (!EMQLUA_LOAD(m->debug))
        return;
    snprintf(line, sizeof line, "message of %zu bytes on %.*s exceeds rxSize: dropped", size,
             (int)(msg->topic_len > 100 ? 100 : msg->topic_len), msg->topic);
    emqlua_push(emqlua_ev_new(LT_LOG, m->id, EMQLUA_LOAD(m->session), NULL, 0, line, strlen(line), NULL, 0));
}

/* LuatOS counts a QoS 2 publish as sent at PUBREC (libemqtt queues PUBREL
 * and forgets it): "sent" then, and not again at PUBCOMP. */
static void lt_on_pubrec(void *ud, emq_client *c, uint16_t packet_id)
{
    lt_client *m = (lt_client *)ud;
    (void)c;
    if (m->pubrec_count == LT_PUBRECS)
        return; /* on_published reports it */
    m->pubrecs[m->pubrec_count++] = packet_id;
    lt_post(m, LT_SENT, packet_id, 0);
}

static void lt_on_published(void *ud, emq_client *c, uint16_t packet_id)
{
    lt_client *m = (lt_client *)ud;
    int i;
    (void)c;
    for (i = 0; packet_id != 0 && i < m->pubrec_count; i++) {
        if (m->pubrecs[i] == packet_id) {
            m->pubrecs[i] = m->pubrecs[--m->pubrec_count];
            return; /* reported at PUBREC */
        }
    }
    lt_post(m, LT_SENT, packet_id, 0);
}

/* Later LuatOS versions: a "pong" event for each PINGRESP. */
static void lt_on_pingresp(void *ud, emq_client *c)
{
    (void)c;
    lt_post((lt_client *)ud, LT_PONG, 0, 0);
}

static void lt_on_subscribed(void *ud, emq_client *c, uint16_t packet_id, const uint8_t *granted,
                             size_t count)
{
    lt_client *m = (lt_client *)ud;
    emqlua_ev *e = emqlua_ev_new(LT_SUBACK, m->id, EMQLUA_LOAD(m->session), NULL, 0, NULL, 0, granted, count);
    (void)c;
    if (e != NULL)
        e->a = packet_id;
    emqlua_push(e);
}

static void lt_on_unsubscribed(void *ud, emq_client *c, uint16_t packet_id)
{
    (void)c;
    lt_post((lt_client *)ud, LT_UNSUBACK, packet_id, 0);
}

static void lt_on_log(void *ud, emq_log_level level, const char *message)
{
    lt_client *m = (lt_client *)ud;
    (void)level;
    if (EMQLUA_LOAD(m->debug))
        emqlua_push(emqlua_ev_new(LT_LOG, m->id, EMQLUA_LOAD(m->session), NULL, 0, message, strlen(message),
                                  NULL, 0));
}

/* --- dispatch on the Lua thread ----------------------------------------- */

/* Calls the on() callback: (client, event, <nargs values on top>). */
static void lt_call(lua_State *L, int ud, const char *event, int nargs)
{
    emqlua_callcb(L, ud, "cb", event, nargs);
}

static void lt_dispatch(lua_State *L, emqlua_ev *e)
{
    lt_client *m;
    int ud;
    emqlua_push_obj(L, e->id);
    m = (lt_client *)emqlua_testudata(L, -1, LT_CLIENT);
    if (m == NULL || m->closed || m->session != e->session) {
        free(e);
        return;
    }
    ud = lua_gettop(L);
    switch (e->kind) {
    case LT_CONACK:
        free(e);
        lt_call(L, ud, "conack", 0);
        break;
    case LT_RECV:
        lua_pushlstring(L, e->topic, e->topic_len);
        lua_pushlstring(L, e->data, e->data_len);
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, e->a);
        lua_setfield(L, -2, "message_id");
        lua_pushinteger(L, e->qos);
        lua_setfield(L, -2, "qos");
        lua_pushinteger(L, e->retain);
        lua_setfield(L, -2, "retain");
        lua_pushinteger(L, e->dup);
        lua_setfield(L, -2, "dup");
        free(e);
        lt_call(L, ud, "recv", 3);
        break;
    case LT_SENT:
        lua_pushinteger(L, e->a);
        free(e);
        lt_call(L, ud, "sent", 1);
        break;
    case LT_DISCONNECT:
        lua_pushinteger(L, e->a);
        free(e);
        /* Without autoreconn nothing more will come until connect(). */
        if (!m->autoreconn)
            emqlua_unanchor(L, m->id, &m->anchored);
        lt_call(L, ud, "disconnect", 1);
        break;
    case LT_SUBACK: {
        /* One "suback" per topic: data true and the granted QoS, or false
         * and the failure code (0x80). */
        size_t i, n = e->nbytes;
        uint8_t granted[64];
        if (n > sizeof granted)
            n = sizeof granted;
        memcpy(granted, e->bytes, n);
        free(e);
        for (i = 0; i < n; i++) {
            lua_pushboolean(L, granted[i] <= 2);
            lua_pushinteger(L, granted[i]);
            lt_call(L, ud, "suback", 2);
        }
        break;
    }
    case LT_UNSUBACK:
        free(e);
        lt_call(L, ud, "unsuback", 0);
        break;
    case LT_PONG:
        free(e);
        lt_call(L, ud, "pong", 0);
        break;
    case LT_ERROR: {
        static const char *const kinds[] = {"other", "connect", "conack", "tx", "other"};
        long kind = e->a, code = e->b;
        free(e);
        lua_pushstring(L, kinds[kind >= 1 && kind <= 4 ? kind : 0]);
        lua_pushinteger(L, code);
        lt_call(L, ud, "error", 2);
        break;
    }
    case LT_LOG:
        /* debug(true): the library's log lines, through log.debug if the
         * firmware's log module is there, else print. */
        lua_getglobal(L, "log");
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "debug");
            lua_pushstring(L, "mqtt");
        } else {
            lua_pop(L, 1);
            lua_getglobal(L, "print");
            lua_pushstring(L, "D/mqtt");
        }
        lua_pushlstring(L, e->data, e->data_len);
        free(e);
        if (lua_isfunction(L, -3))
            lua_call(L, 2, 0);
        break;
    default:
        free(e);
        break;
    }
}

/* --- options ---------------------------------------------------------- */

/* The options of the current settings. `tls` (create only) may be NULL. */
static void lt_options(lt_client *m, emq_options *o, const emq_tls_options *tls, long rx_size,
                       long conn_timeout)
{
    emq_options_default(o);
    o->client_id = m->client_id;
    o->username = m->username;
    o->password = (const uint8_t *)m->password;
    o->password_len = m->password_len;
    o->keepalive_secs = (uint16_t)m->keepalive;
    o->clean_session = m->clean != 0;
    if (m->will_topic != NULL) {
        o->will_topic = m->will_topic;
        o->will_payload = (const uint8_t *)m->will_payload;
        o->will_payload_len = m->will_len;
        o->will_qos = (uint8_t)m->will_qos;
        o->will_retain = m->will_retain != 0;
    }
    if (rx_size > 0) {
        o->rx_buffer_size = (size_t)rx_size;
        if (o->tx_buffer_size < (size_t)rx_size)
            o->tx_buffer_size = (size_t)rx_size;
    }
    if (conn_timeout > 0)
        o->command_timeout_ms = (uint32_t)conn_timeout * 1000u;
    o->tls = tls;
    o->transport = m->tls ? EMQ_TRANSPORT_TLS : EMQ_TRANSPORT_TCP;
    o->auto_reconnect = m->autoreconn != 0;
    o->reconnect_fixed_interval = true;
    o->reconnect_min_ms = (uint32_t)m->reconnect_ms;
    o->reconnect_max_ms = (uint32_t)m->reconnect_ms;
    /* "no uplink retry/retransmission mechanism", and the application
     * subscribes again in its conack handler. */
    o->drop_unacked_on_loss = true;
    o->queue_offline = false;
    o->resubscribe = false;
    o->log_level = m->debug ? EMQ_LOG_DEBUG : EMQ_LOG_NONE;
}

static void lt_release(lt_client *m)
{
    if (m->c != NULL) {
        emq_client_stop(m->c);
        emq_client_free(m->c);
        m->c = NULL;
    }
}

/* A string field of a table argument (nil: *out untouched). */
static void lt_strfield(lua_State *L, int t, const char *name, const char **out)
{
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pushfstring(L, "%s: string expected, got %s", name, luaL_typename(L, -1));
            luaL_argerror(L, t, lua_tostring(L, -1));
        }
        *out = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* still referenced by the table */
}

/* mqtt.create(adapter, host, port[, ssl[, isipv6 | opts]]) */
static int lt_create(lua_State *L)
{
    size_t hlen;
    const char *host;
    long port, rx_size = 32 * 1024, conn_timeout = 0;
    emq_tls_options tls;
    int use_tls = 0;
    lt_client *m;
    emq_options o;
    emq_callbacks cb;
    emq_err err;

    if (!lua_isnoneornil(L, 1))
        emqlua_checkrange(L, 1, 0, 255, "adapter");
    host = emqlua_checkstr(L, 2, &hlen, "host");
    if (hlen == 0 || strlen(host) != hlen)
        luaL_argerror(L, 2, "host must be a non-empty string");
    port = emqlua_checkrange(L, 3, 1, 65535, "port");
    emq_tls_options_default(&tls);
    if (lua_type(L, 4) == LUA_TBOOLEAN) {
        use_tls = lua_toboolean(L, 4);
        tls.verify_mode = EMQ_TLS_VERIFY_NONE; /* "encryption without certificate" */
    } else if (lua_istable(L, 4)) {
        use_tls = 1;
        tls.verify_mode = EMQ_TLS_VERIFY_REQUIRED;
        lua_getfield(L, 4, "verify");
        if (!lua_isnil(L, -1))
            tls.verify_mode = (int)emqlua_checkrange(L, -1, 0, 2, "ssl.verify (0/1/2)");
        lua_pop(L, 1);
        lt_strfield(L, 4, "server_cert", &tls.ca_pem);
        lt_strfield(L, 4, "client_cert", &tls.client_cert_pem);
        lt_strfield(L, 4, "client_key", &tls.client_key_pem);
        lt_strfield(L, 4, "client_password", &tls.client_key_password);
    } else if (!lua_isnoneornil(L, 4)) {
        luaL_argerror(L, 4, "ssl: boolean or table expected");
    }
    if (lua_istable(L, 5)) {
        lua_getfield(L, 5, "rxSize");
        if (!lua_isnil(L, -1))
            rx_size = emqlua_checkrange(L, -1, 64, 16L * 1024 * 1024, "opts.rxSize");
        lua_pop(L, 1);
        lua_getfield(L, 5, "conn_timeout");
        if (!lua_isnil(L, -1)) {
            conn_timeout = emqlua_checkrange(L, -1, 0, 3600, "opts.conn_timeout (s)");
            conn_timeout = conn_timeout < 5 ? 5 : conn_timeout > 120 ? 120 : conn_timeout;
        }
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 5) && lua_type(L, 5) != LUA_TBOOLEAN) {
        luaL_argerror(L, 5, "isipv6: boolean or table expected");
    }

    m = (lt_client *)lua_newuserdata(L, sizeof(lt_client));
    memset(m, 0, sizeof *m);
    luaL_getmetatable(L, LT_CLIENT);
    lua_setmetatable(L, -2);
    emqlua_newuv(L);
    m->id = emqlua_register(L, -1);
    m->port = port;
    m->tls = use_tls;
    m->clean = 1;
    m->keepalive = 240;
    m->reconnect_ms = 3000;
    emqlua_setstr(L, &m->host, NULL, host, hlen);

    /* TLS and the buffer sizes are fixed at creation, as here. */
    lt_options(m, &o, use_tls ? &tls : NULL, rx_size, conn_timeout);
    err = emq_client_new(&o, &m->c);
    if (err != EMQ_OK) {
        m->c = NULL;
        m->closed = 1;
        lua_pushnil(L);
        lua_pushstring(L, emq_err_str(err));
        return 2; /* "otherwise nil" (and why) */
    }
    emq_callbacks_default(&cb);
    cb.on_connect = lt_on_connect;
    cb.on_connect_failed = lt_on_connect_failed;
    cb.on_disconnect = lt_on_disconnect;
    cb.on_message = lt_on_message;
    cb.on_overflow = lt_on_overflow;
    cb.on_published = lt_on_published;
    cb.on_pubrec = lt_on_pubrec;
    cb.on_pingresp = lt_on_pingresp;
    cb.on_subscribed = lt_on_subscribed;
    cb.on_unsubscribed = lt_on_unsubscribed;
    cb.on_log = lt_on_log;
    emq_client_set_callbacks(m->c, &cb, m);
    return 1;
}

/* mqttc:auth([client_id[, username[, password[, cleanSession]]]]) */
static int lt_auth(lua_State *L)
{
    lt_client *m = lt_check(L);
    size_t ilen = 0, ulen = 0, plen = 0;
    const char *id = NULL, *user = NULL, *pass = NULL;
    if (!lua_isnoneornil(L, 2))
        id = emqlua_checkstr(L, 2, &ilen, "client_id");
    if (!lua_isnoneornil(L, 3))
        user = emqlua_checkstr(L, 3, &ulen, "username");
    if (!lua_isnoneornil(L, 4))
        pass = emqlua_checkstr(L, 4, &plen, "password");
    if (!lua_isnoneornil(L, 5))
        luaL_checktype(L, 5, LUA_TBOOLEAN);
    if ((id != NULL && strlen(id) != ilen) || (user != NULL && strlen(user) != ulen))
        luaL_error(L, "client_id and username must not contain NUL bytes");
    /* "" is no username / password, as libemqtt sends none then. */
    emqlua_setstr(L, &m->client_id, NULL, ilen ? id : NULL, ilen);
    emqlua_setstr(L, &m->username, NULL, ulen ? user : NULL, ulen);
    emqlua_setstr(L, &m->password, &m->password_len, plen ? pass : NULL, plen);
    m->clean = lua_isnoneornil(L, 5) ? 1 : lua_toboolean(L, 5);
    if (ilen == 0)
        m->clean = 1; /* "cleanSession is not configurable" without a client id */
    return 0;
}

/* mqttc:keepalive([time]): seconds, default 240, at least 15, at most 600 */
static int lt_keepalive(lua_State *L)
{
    lt_client *m = lt_check(L);
    long t = emqlua_optrange(L, 2, 240, 0, 65535, "time (s)");
    m->keepalive = t < 15 ? 15 : t > 600 ? 600 : t;
    return 0;
}

/* mqttc:will(topic, payload[, qos[, retain]]) -> bool */
static int lt_will(lua_State *L)
{
    lt_client *m = lt_check(L);
    size_t tlen, plen;
    const char *topic = emqlua_checkstr(L, 2, &tlen, "topic");
    const char *payload = emqlua_checkstr(L, 3, &plen, "payload");
    int qos = (int)emqlua_optrange(L, 4, 0, 0, 2, "qos");
    int retain = (int)emqlua_optrange(L, 5, 0, 0, 1, "retain");
    if (strlen(topic) != tlen || emq_topic_name_check(topic) != EMQ_OK) {
        lua_pushboolean(L, 0);
        return 1;
    }
    emqlua_setstr(L, &m->will_topic, NULL, topic, tlen);
    emqlua_setstr(L, &m->will_payload, &m->will_len, payload, plen);
    m->will_qos = qos;
    m->will_retain = retain;
    lua_pushboolean(L, 1);
    return 1;
}

/* mqttc:autoreconn(reconnect[, reconnect_time]) */
static int lt_autoreconn(lua_State *L)
{
    lt_client *m = lt_check(L);
    long ms;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TBOOLEAN);
        m->autoreconn = lua_toboolean(L, 2);
    }
    ms = emqlua_optrange(L, 3, 3000, 0, 24L * 3600 * 1000, "reconnect_time (ms)");
    m->reconnect_ms = m->autoreconn && ms < 1000 ? 1000 : ms;
    return 0;
}

/* mqttc:debug(onoff) */
static int lt_debug(lua_State *L)
{
    lt_client *m = lt_check(L);
    if (lua_type(L, 2) == LUA_TBOOLEAN) {
        int on = lua_toboolean(L, 2);
        EMQLUA_STORE(m->debug, on);
        emq_client_set_log_level(m->c, on ? EMQ_LOG_DEBUG : EMQ_LOG_NONE);
    } else if (!lua_isnoneornil(L, 2)) {
        luaL_argerror(L, 2, "boolean expected");
    }
    return 0;
}

/* mqttc:on(cb) */
static int lt_on(lua_State *L)
{
    lt_check(L);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    emqlua_setcb(L, 1, "cb");
    return 0;
}

/* mqttc:connect() -> bool */
static int lt_connect(lua_State *L)
{
    lt_client *m = lt_check(L);
    emq_options o;
    emq_err err;
    char uri[600];
    if (emq_client_state(m->c) != EMQ_STATE_DISCONNECTED || EMQLUA_LOAD(m->pending))
        return lua_pushboolean(L, 0), 1;
    if (m->anchored)
        emq_client_disconnect(m->c); /* ends a pending automatic reconnect */
    lt_options(m, &o, NULL, 0, 0);
    err = emq_client_reconfigure(m->c, &o);
    if (err == EMQ_OK && !emqlua_uri(uri, sizeof uri, m->host, m->port, m->tls))
        err = EMQ_ERR_INVALID_URI;
    if (err == EMQ_OK) {
        EMQLUA_STORE(m->session, m->session + 1);
        EMQLUA_STORE(m->was_connected, 0);
        EMQLUA_STORE(m->pending, 1);
        err = emq_client_set_server(m->c, uri);
    }
    if (err == EMQ_OK)
        err = emq_client_start(m->c);
    if (err != EMQ_OK) {
        EMQLUA_STORE(m->pending, 0);
        lua_pushboolean(L, 0);
        lua_pushstring(L, emq_err_str(err));
        return 2;
    }
    emqlua_anchor(L, m->id, 1, &m->anchored);
    lua_pushboolean(L, 1);
    return 1;
}

/* mqttc:disconnect() -> bool */
static int lt_disconnect(lua_State *L)
{
    lt_client *m = lt_check(L);
    /* DISCONNECT; the "disconnect" event follows if it was connected. */
    emq_client_disconnect(m->c);
    EMQLUA_STORE(m->pending, 0);
    emqlua_unanchor(L, m->id, &m->anchored);
    lua_pushboolean(L, 1);
    return 1;
}

/* mqttc:publish(topic, data[, qos[, retain]]) -> message id | nil */
static int lt_publish(lua_State *L)
{
    lt_client *m = lt_check(L);
    size_t plen;
    const char *topic = emqlua_checkcstr(L, 2, "topic");
    const char *data = emqlua_checkstr(L, 3, &plen, "data");
    int qos = (int)emqlua_optrange(L, 4, 0, 0, 2, "qos");
    int retain = (int)emqlua_optrange(L, 5, 0, 0, 1, "retain");
    uint16_t id = 0;
    emq_err err = emq_client_publish(m->c, topic, (const uint8_t *)data, plen, (uint8_t)qos,
                                     retain != 0, &id);
    return emqlua_push_id(L, err, id);
}

#define LT_MAX_FILTERS 64

/* mqttc:subscribe(topic[, qos]) or mqttc:subscribe({[topic] = qos, ...}) -> id | nil */
static int lt_subscribe(lua_State *L)
{
    lt_client *m = lt_check(L);
    uint16_t id = 0;
    emq_err err;
    if (lua_istable(L, 2)) {
        emq_subscription subs[LT_MAX_FILTERS];
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_argerror(L, 2, "table keys must be topic strings");
            if (n == LT_MAX_FILTERS)
                luaL_argerror(L, 2, "too many topics at once (at most 64)");
            subs[n].filter = lua_tostring(L, -2);
            if (!lua_isnil(L, -1) && (!emqlua_isinteger(L, -1) || lua_tonumber(L, -1) < 0 ||
                                      lua_tonumber(L, -1) > 2))
                luaL_error(L, "bad argument #1 to 'subscribe' (qos of '%s' must be 0, 1 or 2)",
                           lua_tostring(L, -2));
            subs[n].qos = (uint8_t)lua_tonumber(L, -1);
            n++;
            lua_pop(L, 1);
        }
        if (n == 0)
            luaL_argerror(L, 2, "no topics in the table");
        err = emq_client_subscribe_many(m->c, subs, n, &id);
    } else {
        const char *topic = emqlua_checkcstr(L, 2, "topic (string or table)");
        int qos = (int)emqlua_optrange(L, 3, 0, 0, 2, "qos");
        err = emq_client_subscribe(m->c, topic, (uint8_t)qos, &id);
    }
    return emqlua_push_id(L, err, id);
}

/* mqttc:unsubscribe(topic) or mqttc:unsubscribe({topic, ...}) */
static int lt_unsubscribe(lua_State *L)
{
    lt_client *m = lt_check(L);
    if (lua_istable(L, 2)) {
        const char *filters[LT_MAX_FILTERS];
        size_t i, n = emqlua_rawlen(L, 2);
        if (n == 0)
            luaL_argerror(L, 2, "no topics in the table (a list of topics expected)");
        if (n > LT_MAX_FILTERS)
            luaL_argerror(L, 2, "too many topics at once (at most 64)");
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, 2, (int)i + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, 2, "list of topic strings expected");
            filters[i] = lua_tostring(L, -1);
            lua_pop(L, 1); /* still referenced by the table */
        }
        emq_client_unsubscribe_many(m->c, filters, n, NULL);
    } else {
        emq_client_unsubscribe(m->c, emqlua_checkcstr(L, 2, "topic (string or table)"), NULL);
    }
    return 0;
}

/* mqttc:ready() -> bool */
static int lt_ready(lua_State *L)
{
    lt_client *m = lt_check(L);
    lua_pushboolean(L, emq_client_is_connected(m->c));
    return 1;
}

/* mqttc:state() -> number */
static int lt_state(lua_State *L)
{
    lt_client *m = lt_check(L);
    int st;
    switch (emq_client_state(m->c)) {
    case EMQ_STATE_CONNECTING:
        st = STATE_SCONNECT;
        break;
    case EMQ_STATE_WAITING_CONNACK:
        st = STATE_MQTT;
        break;
    case EMQ_STATE_CONNECTED:
        st = STATE_READY;
        break;
    default:
        /* connect() was called and the network thread has not begun yet */
        st = EMQLUA_LOAD(m->pending) ? STATE_SCONNECT : STATE_DISCONNECT;
        break;
    }
    lua_pushinteger(L, st);
    return 1;
}

/* mqttc:close(): released, unusable afterwards; no more callbacks. */
static int lt_close(lua_State *L)
{
    lt_client *m = (lt_client *)emqlua_testudata(L, 1, LT_CLIENT);
    if (m == NULL)
        luaL_argerror(L, 1, "mqtt client expected (call it as mqttc:method(...))");
    lt_release(m);
    m->closed = 1;
    EMQLUA_STORE(m->session, m->session + 1);
    emqlua_unanchor(L, m->id, &m->anchored);
    emqlua_forget(m->id);
    lua_pushnil(L);
    emqlua_setcb(L, 1, "cb");
    return 0;
}

static int lt_gc(lua_State *L)
{
    lt_client *m = (lt_client *)emqlua_testudata(L, 1, LT_CLIENT);
    if (m == NULL)
        return 0;
    lt_release(m);
    emqlua_forget(m->id);
    free(m->host);
    free(m->client_id);
    free(m->username);
    free(m->password);
    free(m->will_topic);
    free(m->will_payload);
    m->host = m->client_id = m->username = m->password = m->will_topic = m->will_payload = NULL;
    return 0;
}

static int lt_tostring(lua_State *L)
{
    lt_client *m = (lt_client *)emqlua_testudata(L, 1, LT_CLIENT);
    lua_pushfstring(L, "MQTTCTRL*: %p", (void *)m);
    return 1;
}

static const luaL_Reg lt_methods[] = {
    {"auth", lt_auth},
    {"keepalive", lt_keepalive},
    {"on", lt_on},
    {"connect", lt_connect},
    {"autoreconn", lt_autoreconn},
    {"publish", lt_publish},
    {"subscribe", lt_subscribe},
    {"unsubscribe", lt_unsubscribe},
    {"disconnect", lt_disconnect},
    {"close", lt_close},
    {"ready", lt_ready},
    {"will", lt_will},
    {"debug", lt_debug},
    {"state", lt_state},
    {NULL, NULL},
};

EMQLUA_EXPORT int luaopen_mqtt(lua_State *L)
{
    static const emqlua_intconst states[] = {
        {"STATE_DISCONNECT", STATE_DISCONNECT},
        {"STATE_SCONNECT", STATE_SCONNECT},
        {"STATE_MQTT", STATE_MQTT},
        {"STATE_READY", STATE_READY},
    };
    emqlua_dispatch_one = lt_dispatch;
    emqlua_init_tables(L);
    emqlua_register_class(L, LT_CLIENT, lt_methods, lt_gc, lt_tostring);
    lua_getfield(L, -1, "__index");
    /* The module table holds create and, as in LuatOS, the methods too
     * (mqtt.publish(mqttc, ...) works as mqttc:publish(...)). */
    lua_newtable(L);
    emqlua_setfuncs(L, lt_methods);
    lua_pushcfunction(L, lt_create);
    lua_setfield(L, -2, "create");
    emqlua_setints(L, states, sizeof states / sizeof states[0]);
    emqlua_host_table(L, -2);
    return 1;
}
