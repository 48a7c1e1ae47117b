/* Helpers of the MQTT 5 C tests: building emq_property values to send,
 * and finding bytes in what a scripted peer read. */
#ifndef EMBERMQ_TEST_V5_UTIL_H
#define EMBERMQ_TEST_V5_UTIL_H

#include <stdbool.h>
#include <string.h>

#include "embermq.h"

/* A string (or binary) property over `text`, without its NUL. */
static inline emq_property text_prop(uint8_t id, const char *text)
{
    emq_property p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.data = text;
    p.data_len = strlen(text);
    return p;
}

/* An integer property. */
static inline emq_property number_prop(uint8_t id, uint32_t number)
{
    emq_property p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.number = number;
    return p;
}

/* A User Property name=value. */
static inline emq_property user_prop(const char *name, const char *value)
{
    emq_property p = text_prop(EMQ_PROP_USER_PROPERTY, name);
    p.value = value;
    p.value_len = strlen(value);
    return p;
}

/* True when `n` bytes of `needle` occur in `hay[0..len)`. */
static inline bool contains(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
    size_t i;
    for (i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

#endif
