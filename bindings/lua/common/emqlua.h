/*
 * Shared plumbing of the Lua bindings (bindings/lua/<module>/mqtt.c): Lua
 * 5.1/5.3/5.4 compatibility, the event queue between embermq's callbacks
 * and the Lua thread, the table of live client objects, and the `_host`
 * functions the firmware shims drive their loops with.
 *
 * The dispatch rule: embermq runs its callbacks on its network thread (or
 * inside a call such as a QoS 0 publish). Those callbacks never touch the
 * Lua VM: they copy what they got into an event and append it to a queue
 * under a mutex of our own, which is never held while embermq or Lua runs.
 * The Lua thread takes events off the queue (`_host.dispatch`, called by
 * the shim's loop) and calls the Lua callbacks there, with no lock held.
 *
 * Header-only: each module is a single translation unit, so every module
 * (shared object) has its own queue.
 */
#ifndef EMQLUA_H
#define EMQLUA_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lauxlib.h"
#include "lua.h"
#include "embermq.h"

/* The module's entry point is the only symbol a module exports. */
#define EMQLUA_EXPORT __attribute__((visibility("default")))

/* --- Lua 5.1 / 5.3 / 5.4 ---------------------------------------------- */
#if LUA_VERSION_NUM == 501
#define emqlua_rawlen(L, i) lua_objlen(L, (i))
#define emqlua_getuv(L, i) lua_getfenv(L, (i))
#define emqlua_setuv(L, i) lua_setfenv(L, (i))
static void emqlua_setfuncs(lua_State *L, const luaL_Reg *l)
{
    for (; l->name != NULL; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
}
static void *emqlua_testudata(lua_State *L, int ud, const char *tname)
{
    void *p = lua_touserdata(L, ud);
    if (p != NULL && lua_getmetatable(L, ud)) {
        lua_getfield(L, LUA_REGISTRYINDEX, tname);
        if (!lua_rawequal(L, -1, -2))
            p = NULL;
        lua_pop(L, 2);
        return p;
    }
    return NULL;
}
#else
#define emqlua_rawlen(L, i) lua_rawlen(L, (i))
#if LUA_VERSION_NUM >= 504
#define emqlua_getuv(L, i) lua_getiuservalue(L, (i), 1)
#define emqlua_setuv(L, i) lua_setiuservalue(L, (i), 1)
#else
#define emqlua_getuv(L, i) lua_getuservalue(L, (i))
#define emqlua_setuv(L, i) lua_setuservalue(L, (i))
#endif
#define emqlua_setfuncs(L, l) luaL_setfuncs(L, (l), 0)
#define emqlua_testudata(L, i, t) luaL_testudata(L, (i), (t))
#endif

/* True for an integral number (5.1 has no integer subtype). */
static int emqlua_isinteger(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx))
        return 1;
#endif
    if (lua_isnumber(L, idx)) {
        lua_Number n = lua_tonumber(L, idx);
        if (n != n || n < -9.0e15 || n > 9.0e15)
            return 0; /* NaN, or too large to matter (and to cast) */
        return n == (lua_Number)(long long)n;
    }
    return 0;
}

/* Raises a bad-argument error for argument idx, or (idx < 0: a value on
 * the stack, e.g. a table field) a plain error naming it. */
static int emqlua_argerror(lua_State *L, int idx, const char *msg)
{
    if (idx < 0)
        return luaL_error(L, "bad value: %s", msg);
    return luaL_argerror(L, idx, msg);
}

/* An integer argument in [lo, hi]; raises "bad argument #n to 'f' (what)".
 * Numeric strings are taken, as luaL_checkinteger (the firmware's) does. */
static long emqlua_checkrange(lua_State *L, int idx, long lo, long hi, const char *what)
{
    long v;
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING && !lua_isnumber(L, idx))
        t = LUA_TNONE; /* not numeric */
    if ((t != LUA_TNUMBER && t != LUA_TSTRING) || !emqlua_isinteger(L, idx)) {
        lua_pushfstring(L, "%s expected, got %s", what,
                        t == LUA_TNUMBER ? "a fractional or huge number" : luaL_typename(L, idx));
        emqlua_argerror(L, idx, lua_tostring(L, -1));
    }
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        v = i < lo ? lo - 1 : i > hi ? hi + 1 : (long)i;
    } else
#endif
        v = (long)lua_tonumber(L, idx); /* integral and within +-9e15 */
    if (v < lo || v > hi) {
        lua_pushvalue(L, idx);
        lua_pushfstring(L, "%s out of range (%d..%d), got %s", what, (int)lo, (int)hi,
                        lua_tostring(L, -1));
        emqlua_argerror(L, idx, lua_tostring(L, -1));
    }
    return v;
}

static long emqlua_optrange(lua_State *L, int idx, long def, long lo, long hi, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return def;
    return emqlua_checkrange(L, idx, lo, hi, what);
}

/* A 0/1 flag given as a number, or a boolean. */
static int emqlua_checkflag(lua_State *L, int idx, const char *what)
{
    if (lua_type(L, idx) == LUA_TBOOLEAN)
        return lua_toboolean(L, idx);
    return emqlua_checkrange(L, idx, 0, 1, what) != 0;
}

static int emqlua_optflag(lua_State *L, int idx, int def, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return def;
    return emqlua_checkflag(L, idx, what);
}

/* A string argument (numbers are not converted: a firmware's
 * luaL_checkstring would, but a number where a topic is meant is a bug). */
static const char *emqlua_checkstr(lua_State *L, int idx, size_t *len, const char *what)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        lua_pushfstring(L, "%s (string) expected, got %s", what, luaL_typename(L, idx));
        luaL_argerror(L, idx, lua_tostring(L, -1));
    }
    return lua_tolstring(L, idx, len);
}

/* A string with no NUL byte inside, for the C strings embermq takes. */
static const char *emqlua_checkcstr(lua_State *L, int idx, const char *what)
{
    size_t len;
    const char *s = emqlua_checkstr(L, idx, &len, what);
    if (strlen(s) != len) {
        lua_pushfstring(L, "%s contains a NUL byte", what);
        luaL_argerror(L, idx, lua_tostring(L, -1));
    }
    return s;
}

static char *emqlua_strdup(const char *s, size_t len)
{
    char *d = (char *)malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Replaces *slot with a copy of s (NULL clears it). */
static void emqlua_setstr(lua_State *L, char **slot, size_t *slot_len, const char *s, size_t len)
{
    char *copy = NULL;
    if (s != NULL) {
        copy = emqlua_strdup(s, len);
        if (copy == NULL)
            luaL_error(L, "not enough memory");
    }
    free(*slot);
    *slot = copy;
    if (slot_len != NULL)
        *slot_len = s != NULL ? len : 0;
}

/* Flags shared between embermq's network thread and the Lua thread. */
#define EMQLUA_LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define EMQLUA_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

/* --- events ------------------------------------------------------------- */

typedef struct emqlua_ev {
    struct emqlua_ev *next;
    int kind;          /* the module's event kind */
    int id;            /* the client object's id */
    unsigned session;  /* the object's session when the event was made */
    long a, b;         /* numbers: reason, return code, packet id, ... */
    uintptr_t tag;     /* per-subscription handler tag */
    uint8_t qos, retain, dup;
    size_t total;      /* overflow: the whole payload's size */
    char *topic;
    size_t topic_len;
    char *data;
    size_t data_len;
    uint8_t *bytes;    /* granted QoS list of a SUBACK */
    size_t nbytes;
} emqlua_ev;

/* Bound on queued events; beyond it events are dropped and counted (a
 * firmware's task queue is bounded too). */
#define EMQLUA_QUEUE_MAX 100000

static pthread_mutex_t emqlua_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t emqlua_cv;
static pthread_once_t emqlua_once = PTHREAD_ONCE_INIT;
static emqlua_ev *emqlua_head, *emqlua_tail;
static size_t emqlua_count;
static unsigned long emqlua_dropped;

static void emqlua_init_cv(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&emqlua_cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* A new event with room for the topic, data and bytes given (copied). */
static emqlua_ev *emqlua_ev_new(int kind, int id, unsigned session, const char *topic,
                                size_t topic_len, const void *data, size_t data_len,
                                const uint8_t *bytes, size_t nbytes)
{
    size_t size = sizeof(emqlua_ev) + topic_len + 1 + data_len + 1 + nbytes;
    emqlua_ev *e = (emqlua_ev *)calloc(1, size);
    char *p;
    if (e == NULL)
        return NULL;
    e->kind = kind;
    e->id = id;
    e->session = session;
    p = (char *)(e + 1);
    e->topic = p;
    e->topic_len = topic_len;
    if (topic_len > 0)
        memcpy(p, topic, topic_len);
    p += topic_len + 1;
    e->data = p;
    e->data_len = data_len;
    if (data_len > 0)
        memcpy(p, data, data_len);
    p += data_len + 1;
    e->bytes = (uint8_t *)p;
    e->nbytes = nbytes;
    if (nbytes > 0)
        memcpy(p, bytes, nbytes);
    return e;
}

/* Appends an event (any thread). Never calls Lua or embermq. */
static void emqlua_push(emqlua_ev *e)
{
    if (e == NULL) {
        pthread_mutex_lock(&emqlua_mu);
        emqlua_dropped++;
        pthread_mutex_unlock(&emqlua_mu);
        return;
    }
    pthread_once(&emqlua_once, emqlua_init_cv);
    pthread_mutex_lock(&emqlua_mu);
    if (emqlua_count >= EMQLUA_QUEUE_MAX) {
        emqlua_dropped++;
        pthread_mutex_unlock(&emqlua_mu);
        free(e);
        return;
    }
    e->next = NULL;
    if (emqlua_tail != NULL)
        emqlua_tail->next = e;
    else
        emqlua_head = e;
    emqlua_tail = e;
    emqlua_count++;
    pthread_cond_broadcast(&emqlua_cv);
    pthread_mutex_unlock(&emqlua_mu);
}

static emqlua_ev *emqlua_pop(void)
{
    emqlua_ev *e;
    pthread_mutex_lock(&emqlua_mu);
    e = emqlua_head;
    if (e != NULL) {
        emqlua_head = e->next;
        if (emqlua_head == NULL)
            emqlua_tail = NULL;
        emqlua_count--;
    }
    pthread_mutex_unlock(&emqlua_mu);
    return e;
}

static double emqlua_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Waits up to ms for an event; returns whether one is queued. */
static int emqlua_wait(double ms)
{
    struct timespec until;
    int pending;
    pthread_once(&emqlua_once, emqlua_init_cv);
    if (ms < 0)
        ms = 0;
    if (ms > 86400000.0)
        ms = 86400000.0;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000.0);
    until.tv_nsec += (long)((ms - (double)(long long)(ms / 1000.0) * 1000.0) * 1e6);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&emqlua_mu);
    /* Bounded by the deadline: timedwait returns ETIMEDOUT once it passed. */
    while (emqlua_head == NULL) {
        if (pthread_cond_timedwait(&emqlua_cv, &emqlua_mu, &until) == ETIMEDOUT)
            break;
    }
    pending = emqlua_head != NULL;
    pthread_mutex_unlock(&emqlua_mu);
    return pending;
}

/* Drops every queued event of client `id` (it is closed or collected). */
static void emqlua_forget(int id)
{
    emqlua_ev **pp, *e, *keep_tail = NULL;
    pthread_mutex_lock(&emqlua_mu);
    pp = &emqlua_head;
    while ((e = *pp) != NULL) {
        if (e->id == id) {
            *pp = e->next;
            emqlua_count--;
            free(e);
        } else {
            keep_tail = e;
            pp = &e->next;
        }
    }
    emqlua_tail = keep_tail;
    pthread_mutex_unlock(&emqlua_mu);
}

/* --- client objects ----------------------------------------------------- *
 * registry[EMQLUA_OBJS]: id -> userdata, weak values (lookup for events).
 * registry[EMQLUA_ANCHORS]: id -> userdata while a connection is wanted,
 * so a client nobody references keeps working (as on the firmware). */
#define EMQLUA_OBJS "embermq.lua.objects"
#define EMQLUA_ANCHORS "embermq.lua.anchors"

static int emqlua_next_id = 1;
static int emqlua_anchored;

static void emqlua_init_tables(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, EMQLUA_OBJS);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_newtable(L);
        lua_pushstring(L, "v");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, EMQLUA_OBJS);
        lua_newtable(L);
        lua_setfield(L, LUA_REGISTRYINDEX, EMQLUA_ANCHORS);
    } else {
        lua_pop(L, 1);
    }
}

/* Registers the userdata at idx under a new id (returned). */
static int emqlua_register(lua_State *L, int idx)
{
    int id = emqlua_next_id++;
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_getfield(L, LUA_REGISTRYINDEX, EMQLUA_OBJS);
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    return id;
}

static void emqlua_push_obj(lua_State *L, int id)
{
    lua_getfield(L, LUA_REGISTRYINDEX, EMQLUA_OBJS);
    lua_rawgeti(L, -1, id);
    lua_remove(L, -2);
}

static void emqlua_anchor(lua_State *L, int id, int idx, int *anchored)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    if (*anchored)
        return;
    lua_getfield(L, LUA_REGISTRYINDEX, EMQLUA_ANCHORS);
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    *anchored = 1;
    emqlua_anchored++;
}

static void emqlua_unanchor(lua_State *L, int id, int *anchored)
{
    if (!*anchored)
        return;
    lua_getfield(L, LUA_REGISTRYINDEX, EMQLUA_ANCHORS);
    lua_pushnil(L);
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    *anchored = 0;
    emqlua_anchored--;
}

/* Pushes field `name` of the userdata's user value table (nil if none). */
static void emqlua_getcb(lua_State *L, int ud, const char *name)
{
    emqlua_getuv(L, ud);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* Sets field `name` of the user value table to the value on top (popped). */
static void emqlua_setcb(lua_State *L, int ud, const char *name)
{
    ud = ud < 0 ? lua_gettop(L) + ud + 1 : ud;
    emqlua_getuv(L, ud);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

/* Gives the new userdata on top a fresh user value table. */
static void emqlua_newuv(lua_State *L)
{
    lua_newtable(L);
    emqlua_setuv(L, -2);
}

/* --- the `_host` table: what the shims' loops need --------------------- */

/* The module's handler for one event: pushes what Lua needs, frees the
 * event, then calls Lua (so an error in a callback leaks nothing). */
static void (*emqlua_dispatch_one)(lua_State *L, emqlua_ev *e);

/* _host.dispatch([max]): runs up to max queued callbacks; returns how many
 * events were taken. Errors in callbacks propagate (as a firmware panics). */
static int emqlua_l_dispatch(lua_State *L)
{
    lua_Integer max = luaL_optinteger(L, 1, 1000);
    lua_Integer n = 0;
    emqlua_ev *e;
    while (n < max && (e = emqlua_pop()) != NULL) {
        int top = lua_gettop(L);
        n++;
        emqlua_dispatch_one(L, e);
        lua_settop(L, top);
    }
    lua_pushinteger(L, n);
    return 1;
}

/* _host.wait(ms): blocks until an event is queued or ms passed. */
static int emqlua_l_wait(lua_State *L)
{
    lua_pushboolean(L, emqlua_wait(luaL_optnumber(L, 1, 0)));
    return 1;
}

static int emqlua_l_now(lua_State *L)
{
    lua_pushnumber(L, emqlua_now_ms());
    return 1;
}

/* _host.active(): clients that want a connection (connected, connecting
 * or reconnecting); a host loop may end when none is left. */
static int emqlua_l_active(lua_State *L)
{
    lua_pushinteger(L, emqlua_anchored);
    return 1;
}

static int emqlua_l_pending(lua_State *L)
{
    size_t n;
    unsigned long dropped;
    pthread_mutex_lock(&emqlua_mu);
    n = emqlua_count;
    dropped = emqlua_dropped;
    pthread_mutex_unlock(&emqlua_mu);
    lua_pushinteger(L, (lua_Integer)n);
    lua_pushinteger(L, (lua_Integer)dropped);
    return 2;
}

static int emqlua_l_version(lua_State *L)
{
    lua_pushstring(L, emq_version());
    return 1;
}

/* Creates module._host (module table on top); methods at index `methods`
 * (0: none) is exposed as _host.methods for the shims. */
static void emqlua_host_table(lua_State *L, int methods)
{
    static const luaL_Reg host[] = {
        {"dispatch", emqlua_l_dispatch}, {"wait", emqlua_l_wait},
        {"now", emqlua_l_now},           {"active", emqlua_l_active},
        {"pending", emqlua_l_pending},   {"version", emqlua_l_version},
        {NULL, NULL}};
    methods = methods < 0 ? lua_gettop(L) + methods + 1 : methods;
    lua_newtable(L);
    emqlua_setfuncs(L, host);
    if (methods != 0) {
        lua_pushvalue(L, methods);
        lua_setfield(L, -2, "methods");
    }
    lua_setfield(L, -2, "_host");
}

/* Registers the class `name`: its metatable (luaL_newmetatable) with
 * __index a table of `methods`, __gc and __tostring. Leaves the metatable on
 * the stack; returns 1 if it was created now, 0 if it was there already. */
static inline int emqlua_register_class(lua_State *L, const char *name, const luaL_Reg *methods,
                                        lua_CFunction gc, lua_CFunction tostring)
{
    if (!luaL_newmetatable(L, name))
        return 0;
    lua_newtable(L);
    emqlua_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    return 1;
}

/* Calls callback `name` of the object at (absolute) index `ud` with the
 * object, then the string `event` unless NULL, then the `nargs` values on
 * top of the stack (popped). Only pops them if the callback is not set. */
static inline void emqlua_callcb(lua_State *L, int ud, const char *name, const char *event,
                                 int nargs)
{
    int base = lua_gettop(L) - nargs;
    emqlua_getcb(L, ud, name);
    if (!lua_isfunction(L, -1)) {
        lua_settop(L, base);
        return;
    }
    lua_insert(L, base + 1);
    lua_pushvalue(L, ud);
    lua_insert(L, base + 2);
    if (event != NULL) {
        lua_pushstring(L, event);
        lua_insert(L, base + 3);
    }
    lua_call(L, nargs + (event != NULL ? 2 : 1), 0);
}

/* Integer constants of a module table. */
typedef struct {
    const char *name;
    int value;
} emqlua_intconst;

/* Sets each of the `n` constants as a field of the table on top. */
static inline void emqlua_setints(lua_State *L, const emqlua_intconst *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        lua_pushinteger(L, c[i].value);
        lua_setfield(L, -2, c[i].name);
    }
}

/* Pushes a message id (returns 1), or nil and why (returns 2) if err. */
static inline int emqlua_push_id(lua_State *L, emq_err err, uint16_t id)
{
    if (err != EMQ_OK) {
        lua_pushnil(L);
        lua_pushstring(L, emq_err_str(err));
        return 2;
    }
    lua_pushinteger(L, id);
    return 1;
}

/* --- small embermq helpers --------------------------------------------- */

/* "mqtt://host:port" or "mqtts://...", brackets around IPv6 literals. */
static int emqlua_uri(char *buf, size_t size, const char *host, long port, int tls)
{
    const char *scheme = tls ? "mqtts" : "mqtt";
    int n;
    if (strchr(host, ':') != NULL && host[0] != '[')
        n = snprintf(buf, size, "%s://[%s]:%ld", scheme, host, port);
    else
        n = snprintf(buf, size, "%s://%s:%ld", scheme, host, port);
    return n > 0 && (size_t)n < size;
}

#endif /* EMQLUA_H */
