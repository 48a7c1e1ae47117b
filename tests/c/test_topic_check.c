/* emq_topic_name_check, emq_topic_filter_check and emq_topic_matches: MQTT
 * 3.1.1's topic rules (section 4.7) without a client, in both builds. */
#include "harness.h"

#define NAME(s, want) CHECK_ERR(emq_topic_name_check(s), want)
#define FILTER(s, want) CHECK_ERR(emq_topic_filter_check(s), want)
/* A NUL-terminated name, its whole length. */
#define MATCH(f, n) emq_topic_matches((f), (n), strlen(n))

static void names(void)
{
    NAME("a", EMQ_OK);
    NAME("a/b/c", EMQ_OK);
    NAME("/", EMQ_OK);        /* two empty levels */
    NAME("a//b", EMQ_OK);     /* an empty level inside */
    NAME("/a/", EMQ_OK);
    NAME("$SYS/broker", EMQ_OK);
    NAME(" ", EMQ_OK);        /* a space is a character like any other */
    NAME("caf\xc3\xa9/\xe2\x82\xac", EMQ_OK); /* UTF-8: café/€ */
    NAME("", EMQ_ERR_EMPTY_TOPIC);
    NAME("+", EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    NAME("#", EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    NAME("a/+", EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    NAME("a/#", EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    NAME("a+", EMQ_ERR_WILDCARD_IN_TOPIC_NAME); /* even inside a level */
    NAME("a#b", EMQ_ERR_WILDCARD_IN_TOPIC_NAME);
    NAME(NULL, EMQ_ERR_NULL_POINTER);
    NAME("\xff", EMQ_ERR_INVALID_UTF8);
    NAME("a/\xc3", EMQ_ERR_INVALID_UTF8);    /* truncated sequence */
    NAME("\xc0\x80", EMQ_ERR_INVALID_UTF8);  /* overlong encoding of U+0000 */
    NAME("\xed\xa0\x80", EMQ_ERR_INVALID_UTF8); /* a UTF-16 surrogate */
}

static void filters(void)
{
    FILTER("a", EMQ_OK);
    FILTER("a/b", EMQ_OK);
    FILTER("+", EMQ_OK);
    FILTER("#", EMQ_OK);
    FILTER("a/+", EMQ_OK);
    FILTER("a/#", EMQ_OK);
    FILTER("+/+", EMQ_OK);
    FILTER("+/a/#", EMQ_OK);
    FILTER("/#", EMQ_OK);
    FILTER("a//+", EMQ_OK);
    FILTER("$SYS/#", EMQ_OK);
    FILTER("", EMQ_ERR_EMPTY_TOPIC);
    FILTER("a/#/b", EMQ_ERR_INVALID_TOPIC_FILTER); /* # not last */
    FILTER("#/a", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER("a#", EMQ_ERR_INVALID_TOPIC_FILTER);    /* # not a whole level */
    FILTER("a/b#", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER("a+", EMQ_ERR_INVALID_TOPIC_FILTER);    /* + not a whole level */
    FILTER("+a", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER("a/+b/c", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER("##", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER("++", EMQ_ERR_INVALID_TOPIC_FILTER);
    FILTER(NULL, EMQ_ERR_NULL_POINTER);
    FILTER("\xff/#", EMQ_ERR_INVALID_UTF8);
    FILTER("a/\xc3", EMQ_ERR_INVALID_UTF8);
}

/* Names and filters at and just past the 65,535-byte limit of an MQTT string. */
static void lengths(void)
{
    size_t max = 65535;
    char *s = malloc(max + 2);
    CHECK(s != NULL);
    memset(s, 'a', max + 1);
    s[max] = '\0';
    NAME(s, EMQ_OK);
    FILTER(s, EMQ_OK);
    CHECK(emq_topic_matches(s, s, max));
    s[max] = 'a';
    s[max + 1] = '\0';
    NAME(s, EMQ_ERR_STRING_TOO_LONG);
    FILTER(s, EMQ_ERR_STRING_TOO_LONG);
    CHECK(!emq_topic_matches(s, s, max + 1));
    s[max - 1] = '#';
    s[max - 2] = '/';
    s[max] = '\0';
    FILTER(s, EMQ_OK); /* "aaa.../#", 65,535 bytes */
    free(s);
}

static void matching(void)
{
    /* Exact levels. */
    CHECK(MATCH("a/b", "a/b"));
    CHECK(!MATCH("a/b", "a/c"));
    CHECK(!MATCH("a/b", "a/b/c"));
    CHECK(!MATCH("a/b/c", "a/b"));
    CHECK(!MATCH("A", "a")); /* case-sensitive */
    /* + is exactly one level, possibly empty. */
    CHECK(MATCH("a/+", "a/b"));
    CHECK(MATCH("a/+", "a/")); /* an empty level */
    CHECK(!MATCH("a/+", "a/b/c"));
    CHECK(!MATCH("a/+", "a"));
    CHECK(MATCH("+/b", "a/b"));
    CHECK(MATCH("+", "a"));
    CHECK(!MATCH("+", "/a"));
    CHECK(MATCH("+/+", "/a"));
    CHECK(MATCH("+/+", "/"));
    CHECK(MATCH("a/+/c", "a//c"));
    CHECK(!MATCH("a/+/c", "a/b/d"));
    /* # is the rest, including the parent level itself. */
    CHECK(MATCH("#", "a"));
    CHECK(MATCH("#", "a/b/c"));
    CHECK(MATCH("#", "/"));
    CHECK(MATCH("a/#", "a/b"));
    CHECK(MATCH("a/#", "a/b/c"));
    CHECK(MATCH("a/#", "a")); /* "sport/#" matches "sport" (4.7.1.2) */
    CHECK(!MATCH("a/#", "b/a"));
    CHECK(!MATCH("a/#", "ab"));
    CHECK(MATCH("+/#", "a/b/c"));
    /* $ topics: not matched by a leading wildcard (4.7.2). */
    CHECK(!MATCH("#", "$SYS/broker/uptime"));
    CHECK(!MATCH("+/broker/uptime", "$SYS/broker/uptime"));
    CHECK(!MATCH("+", "$SYS"));
    CHECK(MATCH("$SYS/#", "$SYS/broker/uptime"));
    CHECK(MATCH("$SYS/+/uptime", "$SYS/broker/uptime"));
    CHECK(MATCH("a/#", "a/$b")); /* only a leading $ is special */
    /* The name is name_len bytes, not up to its NUL. */
    CHECK(emq_topic_matches("a/b", "a/bc", 3));
    CHECK(!emq_topic_matches("a/bc", "a/bc", 3));
    CHECK(emq_topic_matches("a/+", "a/b/c/d", 3));
    CHECK(!emq_topic_matches("a/+", "a/b/c/d", 5));
    CHECK(emq_topic_matches("a/#", "a/b/c/d", 7));
    CHECK(!emq_topic_matches("a", "ab", 0)); /* an empty name is invalid */
    /* An embedded NUL inside name_len: not a valid name. */
    CHECK(!emq_topic_matches("a/+", "a/\0b", 4));
    CHECK(!emq_topic_matches("#", "a\0", 2));
    /* Invalid or missing arguments never match. */
    CHECK(!emq_topic_matches(NULL, "a", 1));
    CHECK(!emq_topic_matches("a", NULL, 1));
    CHECK(!emq_topic_matches(NULL, NULL, 0));
    CHECK(!MATCH("a/#/b", "a/x/b"));   /* invalid filter */
    CHECK(!MATCH("a+", "a+"));         /* invalid filter, same bytes */
    CHECK(!MATCH("", ""));
    CHECK(!MATCH("#", "a/+"));         /* a wildcard in the name */
    CHECK(!MATCH("+/+", "a/#"));
    CHECK(!MATCH("#", "\xff"));        /* invalid UTF-8 name */
    CHECK(!MATCH("\xff", "\xff"));
    CHECK(MATCH("caf\xc3\xa9/+", "caf\xc3\xa9/x"));
}

int main(void)
{
    names();
    filters();
    lengths();
    matching();
    printf("test_topic_check (%s build): ok\n", TEST_BUILD);
    return 0;
}
