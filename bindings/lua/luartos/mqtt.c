/*
 * Lua RTOS's `mqtt` module (the Lua RTOS wiki page, and the module's
 * subscribe/publish/connected as the Lua RTOS sources define them) over
 * embermq's C API.
 *
 *   client = mqtt.client(clientid, host, port, secure[, ca_file[, persistence[, folder]]])
 *   client:connect(username, password[, cleansession])   -- blocks; raises on failure
 *   client:subscribe(topic, qos, function(length, payload, topic_length, topic) ... end)
 *   client:publish(topic, payload, qos[, retained])
 *   client:connected() -> bool
 *   client:disconnect()
 *
 * Errors are Lua RTOS exceptions: "<code>:<message> (<detail>)", the codes
 * in mqtt.error. Lua RTOS runs a message callback in a callback thread of
 * its own; here embermq's network thread queues the message and the
 * callback runs on the Lua thread, in a coroutine the shim starts
 * (luartos_shim.lua), while the script waits (tmr.delay, thread.sleep,
 * connect) or after it. README.md has the mapping.
 */
#include "emqlua.h"

#define RT_CLIENT "mqtt.cli"

/* Lua RTOS: DRIVER_EXCEPTION_BASE(MQTT_DRIVER_ID) | n, MQTT_DRIVER_ID 12. */
#define RT_EXC(n) ((12 << 24) | (n))
enum {
    RT_CANT_CREATE_CLIENT = RT_EXC(0),
    RT_CANT_SET_CALLBACKS = RT_EXC(1),
    RT_CANT_CONNECT = RT_EXC(2),
    RT_CANT_SUBSCRIBE = RT_EXC(3),
    RT_CANT_PUBLISH = RT_EXC(4),
    RT_CANT_DISCONNECT = RT_EXC(5),
    RT_NOT_ENOUGH_MEMORY = RT_EXC(6),
};

static const struct {
    const char *key;
    const char *msg;
    int code;
} rt_errors[] = {
    {"CannotCreateClient", "can't create client", RT_CANT_CREATE_CLIENT},
    {"CannotSetCallbacks", "can't set callbacks", RT_CANT_SET_CALLBACKS},
    {"CannotConnect", "can't connect", RT_CANT_CONNECT},
    {"CannotSubscribeToTopic", "can't subscribe to topic", RT_CANT_SUBSCRIBE},
    {"CannotPublishToTopic", "can't publish to topic", RT_CANT_PUBLISH},
    {"CannotDisconnect", "can't disconnect", RT_CANT_DISCONNECT},
    {"NotEnoughMemory", "not enough memory", RT_NOT_ENOUGH_MEMORY},
};

/* luaL_exception_extended: "<code>:<message> (<detail>)" */
static int rt_raise(lua_State *L, int code, const char *detail)
{
    const char *msg = "error";
    size_t i;
    for (i = 0; i < sizeof rt_errors / sizeof rt_errors[0]; i++)
        if (rt_errors[i].code == code)
            msg = rt_errors[i].msg;
    if (detail != NULL)
        return luaL_error(L, "%d:%s (%s)", code, msg, detail);
    return luaL_error(L, "%d:%s", code, msg);
}

/* What a Paho MQTTAsync error would have said, for embermq's. */
static const char *rt_detail(emq_err err)
{
    switch (err) {
    case EMQ_ERR_NOT_CONNECTED:
        return "client is disconnected";
    case EMQ_ERR_INVALID_UTF8:
        return "an invalid UTF-8 string has been detected";
    case EMQ_ERR_NULL_CHARACTER:
        return "the topic has been truncated (the topic string includes embedded NULL characters";
    case EMQ_ERR_INVALID_QOS:
        return "a qos parameter is not 0, 1 or 2";
    case EMQ_ERR_INFLIGHT_FULL:
        return "maximum number of messages allowed to be simultaneously in-flight has been reached";
    case EMQ_ERR_STORE_FULL:
        return "no more messages can be buffered";
    default:
        return emq_err_str((int)err);
    }
}

enum { RT_MESSAGE = 1 };

/* A subscribed filter: its Lua callbacks are subs[filter] in the user
 * value; embermq's handler for it gets this slot as user_data. */
typedef struct rt_slot {
    struct rt_slot *next;
    struct rt_client *owner;
    char *filter;
} rt_slot;

typedef struct rt_client {
    int id;
    unsigned session;
    int anchored;
    emq_client *c;
    int started; /* the network thread runs (after a successful connect) */
    char *host;
    long port;
    int secure;
    char *client_id;
    rt_slot *slots;
} rt_client;

static rt_client *rt_check(lua_State *L)
{
    rt_client *m = (rt_client *)emqlua_testudata(L, 1, RT_CLIENT);
    if (m == NULL)
        luaL_argerror(L, 1, "mqtt client expected (call it as client:method(...))");
    if (m->c == NULL)
        luaL_argerror(L, 1, "mqtt client was collected");
    return m;
}

/* --- embermq's handler: network thread; it only queues ------------------ */

static void rt_on_message(void *ud, emq_client *c, const emq_message *msg)
{
    rt_slot *slot = (rt_slot *)ud;
    emqlua_ev *e = emqlua_ev_new(RT_MESSAGE, slot->owner->id, slot->owner->session, msg->topic,
                                 msg->topic_len, msg->payload, msg->payload_len, NULL, 0);
    (void)c;
    if (e != NULL)
        e->tag = (uintptr_t)slot;
    emqlua_push(e);
}

/* --- dispatch on the Lua thread ----------------------------------------- */

#define RT_RUNNER "embermq.lua.luartos.runner"

/* Calls every callback of the message's filter as
 * callback(payload_length, payload, topic_length, topic), each through the
 * shim's runner (a callback thread) if one is set. */
static void rt_dispatch(lua_State *L, emqlua_ev *e)
{
    rt_client *m;
    rt_slot *slot, *s;
    int ud, list, n, i;
    emqlua_push_obj(L, e->id);
    m = (rt_client *)emqlua_testudata(L, -1, RT_CLIENT);
    if (m == NULL || m->c == NULL || m->session != e->session) {
        free(e);
        return;
    }
    ud = lua_gettop(L);
    slot = (rt_slot *)e->tag;
    for (s = m->slots; s != NULL && s != slot; s = s->next)
        ;
    if (s == NULL) {
        free(e);
        return; /* unsubscribed since */
    }
    emqlua_getcb(L, ud, "subs");
    lua_getfield(L, -1, slot->filter);
    list = lua_gettop(L);
    if (!lua_istable(L, list)) {
        free(e);
        return;
    }
    n = (int)emqlua_rawlen(L, list);
    lua_pushinteger(L, (lua_Integer)e->data_len);
    lua_pushlstring(L, e->data, e->data_len);
    lua_pushinteger(L, (lua_Integer)e->topic_len);
    lua_pushlstring(L, e->topic, e->topic_len);
    free(e);
    for (i = 1; i <= n; i++) {
        int j;
        lua_getfield(L, LUA_REGISTRYINDEX, RT_RUNNER);
        lua_rawgeti(L, list, i);
        lua_getfield(L, -1, "fn");
        lua_remove(L, -2);
        if (!lua_isfunction(L, -2)) {
            lua_remove(L, -2); /* no runner: call it here */
            for (j = 1; j <= 4; j++)
                lua_pushvalue(L, list + j);
            lua_call(L, 4, 0);
        } else {
            for (j = 1; j <= 4; j++)
                lua_pushvalue(L, list + j);
            lua_call(L, 5, 0);
        }
    }
}

/* _host.set_runner(fn): fn(callback, ...) runs a callback (in a thread). */
static int rt_set_runner(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, RT_RUNNER);
    return 0;
}

/* --- methods ---------------------------------------------------------- */

/* Lua RTOS's connection settings: keepalive 20 s, a 20 s connect timeout,
 * automatic reconnect (Paho: 1 s doubling to 10 s) once connected. */
static void rt_options(rt_client *m, emq_options *o, const char *user, const char *pass,
                       size_t pass_len, int clean)
{
    emq_options_default(o);
    o->client_id = m->client_id;
    o->username = user;
    o->password = (const uint8_t *)pass;
    o->password_len = pass != NULL ? pass_len : 0;
    o->clean_session = clean != 0;
    o->keepalive_secs = 20;
    o->command_timeout_ms = 20000;
    o->transport = m->secure ? EMQ_TRANSPORT_TLS : EMQ_TRANSPORT_TCP;
    o->auto_reconnect = true;
    o->reconnect_min_ms = 1000;
    o->reconnect_max_ms = 10000;
    o->reconnect_after_connack_only = true;
    o->queue_offline = true; /* subscribe before connect: sent at connect */
    o->all_matching_handlers = true;
    o->log_level = EMQ_LOG_NONE;
}

/* mqtt.client(clientid, host, port, secure[, ca_file[, persistence[, folder]]]) */
static int rt_client_new(lua_State *L)
{
    size_t idlen, hlen;
    const char *id = emqlua_checkstr(L, 1, &idlen, "clientid");
    const char *host = emqlua_checkstr(L, 2, &hlen, "host");
    long port = emqlua_checkrange(L, 3, 1, 65535, "port");
    const char *ca_file = NULL;
    rt_client *m;
    emq_options o;
    emq_tls_options tls;
    emq_err err;
    luaL_checktype(L, 4, LUA_TBOOLEAN);
    if (!lua_isnoneornil(L, 5))
        ca_file = emqlua_checkcstr(L, 5, "ca_file");
    if (lua_gettop(L) > 5) {
        luaL_checktype(L, 6, LUA_TBOOLEAN); /* persistence: see README */
        if (!lua_isnoneornil(L, 7))
            emqlua_checkstr(L, 7, NULL, "persistence folder");
    }
    if (strlen(id) != idlen || strlen(host) != hlen || hlen == 0)
        luaL_error(L, "clientid and host must be strings without NUL bytes (host not empty)");

    m = (rt_client *)lua_newuserdata(L, sizeof(rt_client));
    memset(m, 0, sizeof *m);
    luaL_getmetatable(L, RT_CLIENT);
    lua_setmetatable(L, -2);
    emqlua_newuv(L);
    lua_newtable(L);
    emqlua_setcb(L, -2, "subs");
    m->id = emqlua_register(L, -1);
    m->port = port;
    m->secure = lua_toboolean(L, 4);
    emqlua_setstr(L, &m->host, NULL, host, hlen);
    emqlua_setstr(L, &m->client_id, NULL, id, idlen);

    rt_options(m, &o, NULL, NULL, 0, 0);
    emq_tls_options_default(&tls);
    if (m->secure) {
        /* Paho: the server is verified when a trust store is given. */
        tls.ca_file = ca_file;
        tls.verify_mode = ca_file != NULL ? EMQ_TLS_VERIFY_REQUIRED : EMQ_TLS_VERIFY_NONE;
        o.tls = &tls;
    }
    err = emq_client_new(&o, &m->c);
    if (err != EMQ_OK) {
        m->c = NULL;
        return rt_raise(L, RT_CANT_CREATE_CLIENT, emq_err_str(err));
    }
    return 1;
}

static void rt_stop(rt_client *m)
{
    if (m->started) {
        emq_client_stop(m->c); /* DISCONNECT if connected; the thread ends */
        m->started = 0;
    }
}

/* client:connect(username, password[, cleansession]) */
static int rt_connect(lua_State *L)
{
    rt_client *m = rt_check(L);
    size_t ulen, plen;
    const char *user = emqlua_checkstr(L, 2, &ulen, "username");
    const char *pass = emqlua_checkstr(L, 3, &plen, "password");
    int clean = 0;
    emq_options o;
    emq_err err;
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TBOOLEAN);
        clean = lua_toboolean(L, 4);
    }
    if (strlen(user) != ulen)
        luaL_argerror(L, 2, "username contains a NUL byte");
    if (emq_client_is_connected(m->c))
        return rt_raise(L, RT_CANT_CONNECT, "already connected");
    rt_stop(m); /* a reconnecting network thread gives way to this connect */

    /* "" means none, as Lua RTOS passes only non-empty ones to Paho. */
    rt_options(m, &o, ulen ? user : NULL, plen ? pass : NULL, plen, clean);
    if (o.password != NULL && o.username == NULL)
        return rt_raise(L, RT_CANT_CONNECT, "a password needs a username");
    err = emq_client_reconfigure(m->c, &o);
    if (err == EMQ_OK)
        err = emq_client_connect(m->c, m->host, (uint16_t)m->port);
    if (err == EMQ_ERR_CONNECTION_REFUSED) {
        static const char *const refused[] = {
            "connection refused",
            "connection refused, unacceptable protocol version",
            "connection refused, identifier rejected",
            "connection refused, server unavailable",
            "connection refused, bad username or password",
            "connection refused, not authorized",
        };
        uint8_t rc = emq_client_last_return_code(m->c);
        return rt_raise(L, RT_CANT_CONNECT, refused[rc <= 5 ? rc : 0]);
    }
    if (err == EMQ_ERR_TIMEOUT)
        return rt_raise(L, RT_CANT_CONNECT, "timeout");
    if (err != EMQ_OK)
        return rt_raise(L, RT_CANT_CONNECT, emq_err_str(err));
    /* Connected: the network thread keeps it alive, receives, reconnects. */
    m->session++;
    err = emq_client_start(m->c);
    if (err != EMQ_OK) {
        emq_client_disconnect(m->c);
        return rt_raise(L, RT_CANT_CONNECT, emq_err_str(err));
    }
    m->started = 1;
    emqlua_anchor(L, m->id, 1, &m->anchored);
    return 0;
}

/* client:connected() -> bool */
static int rt_connected(lua_State *L)
{
    rt_client *m = rt_check(L);
    lua_pushboolean(L, emq_client_is_connected(m->c));
    return 1;
}

/* client:subscribe(topic, qos, callback) */
static int rt_subscribe(lua_State *L)
{
    rt_client *m = rt_check(L);
    const char *topic = emqlua_checkcstr(L, 2, "topic");
    int req_qos = (int)emqlua_checkrange(L, 3, 0, 2, "qos");
    int qos = req_qos;
    rt_slot *slot;
    emq_err err;
    int list, n, i;
    luaL_checktype(L, 4, LUA_TFUNCTION);
    err = emq_topic_filter_check(topic);
    if (err != EMQ_OK)
        return rt_raise(L, RT_CANT_SUBSCRIBE, rt_detail(err));

    /* subs[topic] = { {fn = f, qos = q}, ... }: the same (topic, qos,
     * function) twice is one subscription, as in Lua RTOS. */
    emqlua_getcb(L, 1, "subs");
    lua_getfield(L, -1, topic);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, topic);
    }
    list = lua_gettop(L);
    n = (int)emqlua_rawlen(L, list);
    for (i = 1; i <= n; i++) {
        int same;
        lua_rawgeti(L, list, i);
        lua_getfield(L, -1, "fn");
        lua_getfield(L, -2, "qos");
        same = lua_rawequal(L, -2, 4) && lua_tointeger(L, -1) == req_qos;
        lua_pop(L, 3);
        if (same)
            return 0;
    }
    for (slot = m->slots; slot != NULL && strcmp(slot->filter, topic) != 0; slot = slot->next)
        ;
    if (slot == NULL) {
        slot = (rt_slot *)calloc(1, sizeof *slot);
        if (slot == NULL || (slot->filter = emqlua_strdup(topic, strlen(topic))) == NULL) {
            free(slot);
            return rt_raise(L, RT_NOT_ENOUGH_MEMORY, NULL);
        }
        slot->owner = m;
        slot->next = m->slots;
        m->slots = slot;
    }
    /* One embermq subscription per filter, at the highest QoS asked. */
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        lua_getfield(L, -1, "qos");
        if (lua_tointeger(L, -1) > qos)
            qos = (int)lua_tointeger(L, -1);
        lua_pop(L, 2);
    }
    err = emq_client_subscribe_handler(m->c, topic, (uint8_t)qos, rt_on_message, slot, NULL);
    if (err != EMQ_OK)
        return rt_raise(L, RT_CANT_SUBSCRIBE, rt_detail(err));
    lua_newtable(L);
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "fn");
    lua_pushinteger(L, req_qos);
    lua_setfield(L, -2, "qos");
    lua_rawseti(L, list, n + 1);
    return 0;
}

/* client:publish(topic, payload, qos[, retained]) */
static int rt_publish(lua_State *L)
{
    rt_client *m = rt_check(L);
    size_t plen;
    const char *topic = emqlua_checkcstr(L, 2, "topic");
    const char *payload = emqlua_checkstr(L, 3, &plen, "payload");
    int qos = (int)emqlua_checkrange(L, 4, 0, 2, "qos");
    int retained = 0;
    emq_err err;
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TBOOLEAN);
        retained = lua_toboolean(L, 5);
    }
    /* Paho MQTTAsync refuses while disconnected (no offline buffering
     * without persistence). */
    if (!emq_client_is_connected(m->c))
        return rt_raise(L, RT_CANT_PUBLISH, rt_detail(EMQ_ERR_NOT_CONNECTED));
    err = emq_client_publish(m->c, topic, (const uint8_t *)payload, plen, (uint8_t)qos,
                             retained != 0, NULL);
    if (err != EMQ_OK)
        return rt_raise(L, RT_CANT_PUBLISH, rt_detail(err));
    return 0;
}

/* client:disconnect() */
static int rt_disconnect(lua_State *L)
{
    rt_client *m = rt_check(L);
    rt_stop(m);
    emq_client_disconnect(m->c); /* also ends a reconnect in progress */
    m->session++;
    emqlua_unanchor(L, m->id, &m->anchored);
    emqlua_forget(m->id);
    return 0;
}

static int rt_gc(lua_State *L)
{
    rt_client *m = (rt_client *)emqlua_testudata(L, 1, RT_CLIENT);
    rt_slot *s, *next;
    if (m == NULL)
        return 0;
    if (m->c != NULL) {
        emq_client_free(m->c); /* stops the thread first */
        m->c = NULL;
    }
    emqlua_forget(m->id);
    for (s = m->slots; s != NULL; s = next) {
        next = s->next;
        free(s->filter);
        free(s);
    }
    m->slots = NULL;
    free(m->host);
    free(m->client_id);
    m->host = m->client_id = NULL;
    return 0;
}

static int rt_tostring(lua_State *L)
{
    lua_pushfstring(L, "mqtt.cli: %p", lua_touserdata(L, 1));
    return 1;
}

static const luaL_Reg rt_methods[] = {
    {"connect", rt_connect},     {"connected", rt_connected}, {"disconnect", rt_disconnect},
    {"subscribe", rt_subscribe}, {"publish", rt_publish},     {NULL, NULL},
};

EMQLUA_EXPORT int luaopen_mqtt(lua_State *L)
{
    static const emqlua_intconst consts[] = {
        {"QOS0", 0},
        {"QOS1", 1},
        {"QOS2", 2},
        /* Paho's MQTTCLIENT_PERSISTENCE_DEFAULT / NONE / USER */
        {"PERSISTENCE_FILE", 0},
        {"PERSISTENCE_NONE", 1},
        {"PERSISTENCE_USER", 2},
    };
    size_t i;
    emqlua_dispatch_one = rt_dispatch;
    emqlua_init_tables(L);
    if (emqlua_register_class(L, RT_CLIENT, rt_methods, rt_gc, rt_tostring)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_getfield(L, -1, "__index");
    lua_newtable(L);
    lua_pushcfunction(L, rt_client_new);
    lua_setfield(L, -2, "client");
    emqlua_setints(L, consts, sizeof consts / sizeof consts[0]);
    lua_newtable(L);
    for (i = 0; i < sizeof rt_errors / sizeof rt_errors[0]; i++) {
        lua_pushinteger(L, rt_errors[i].code);
        lua_setfield(L, -2, rt_errors[i].key);
    }
    lua_setfield(L, -2, "error");
    emqlua_host_table(L, -2);
    lua_getfield(L, -1, "_host");
    lua_pushcfunction(L, rt_set_runner);
    lua_setfield(L, -2, "set_runner");
    lua_pop(L, 1);
    return 1;
}
