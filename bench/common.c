/*
 * The scenarios every backend runs, and their report (key=value lines on
 * stdout, read by bench/run.py).
 *
 *   bench_<library> pub     publish --count messages, wait for every ack
 *   bench_<library> sub     subscribe, print "ready", receive --count messages
 *   bench_<library> latency publish to its own subscription, --warmup + --count times
 *
 * Options: --host H --port P (default $EMQ_TEST_HOST/$EMQ_TEST_PORT), --qos Q,
 * --size BYTES, --count N, --window W, --topic T, --warmup N, --timeout-s S,
 * --library-nodelay (keep the library's TCP_NODELAY default).
 */
#define _GNU_SOURCE

#include "common.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* How long the driver lets a waiting client sleep between checks. */
#define WAIT_SLICE_MS 100
/* The subscriber stops after this long without a message once one came
 * (the rest are lost). */
#define SUBSCRIBER_IDLE_MS 2000

struct counters {
    atomic_long received;
    atomic_long acked;
    atomic_long bad_payloads;
    atomic_llong first_receive_ns;
    atomic_llong last_receive_ns;
    /* Steady-state window of the subscriber: from message steady_from on. */
    long steady_from;
    atomic_long steady_allocs;
    atomic_llong steady_cpu_us;
    size_t expected_size;
    /* For threaded backends: wakes bench_wait_for_event. */
    atomic_long event_seq;
    atomic_int waiting;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static struct counters counters = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

/* Set by bench/preload.c when it is LD_PRELOADed; NULL otherwise. */
static unsigned long (*malloc_calls)(void);

void bench_fail(const char *fmt, ...)
{
    va_list args;
    fprintf(stderr, "bench_%s: ", bench_backend.name);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long allocations(void)
{
    return malloc_calls != NULL ? (long)malloc_calls() : -1;
}

static long long cpu_us(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
           usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/* Peak resident set size of this process in KiB (VmHWM). */
static long peak_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, status) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(status);
    return kib;
}

void bench_notify(void)
{
    atomic_fetch_add(&counters.event_seq, 1);
    if (atomic_load(&counters.waiting)) {
        pthread_mutex_lock(&counters.lock);
        pthread_cond_broadcast(&counters.cond);
        pthread_mutex_unlock(&counters.lock);
    }
}

void bench_message_received(const void *payload, size_t len)
{
    long received;
    int64_t now = bench_now_ns();
    (void)payload;
    if (len != counters.expected_size) {
        atomic_fetch_add(&counters.bad_payloads, 1);
    }
    received = atomic_fetch_add(&counters.received, 1) + 1;
    if (received == 1) {
        atomic_store(&counters.first_receive_ns, now);
    }
    if (received == counters.steady_from) {
        atomic_store(&counters.steady_allocs, allocations());
        atomic_store(&counters.steady_cpu_us, cpu_us());
    }
    atomic_store(&counters.last_receive_ns, now);
    if (bench_backend.threaded) {
        bench_notify();
    }
}

void bench_publish_acked(void)
{
    atomic_fetch_add(&counters.acked, 1);
    if (bench_backend.threaded) {
        bench_notify();
    }
}

void bench_wait_for_event(int timeout_ms)
{
    struct timespec until;
    long seen;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)timeout_ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&counters.lock);
    atomic_store(&counters.waiting, 1);
    seen = atomic_load(&counters.event_seq);
    /* Sequentially consistent: a callback that bumped event_seq before
     * seeing waiting=1 is caught by this comparison. */
    while (atomic_load(&counters.event_seq) == seen) {
        if (pthread_cond_timedwait(&counters.cond, &counters.lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    atomic_store(&counters.waiting, 0);
    pthread_mutex_unlock(&counters.lock);
}

/* --- arguments ------------------------------------------------------------ */

struct args {
    const char *role;
    struct bench_config config;
    long warmup;
    int timeout_s;
};

static long number_arg(const char *name, const char *text, long min, long max)
{
    char *end;
    long value;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max) {
        bench_fail("%s: '%s' is not a number in %ld..%ld", name, text, min, max);
    }
    return value;
}

static struct args parse_args(int argc, char **argv)
{
    struct args args;
    const char *env_host = getenv("EMQ_TEST_HOST");
    const char *env_port = getenv("EMQ_TEST_PORT");
    int i;

    memset(&args, 0, sizeof args);
    args.config.host = env_host != NULL && env_host[0] != '\0' ? env_host : "127.0.0.1";
    args.config.port = env_port != NULL ? (int)number_arg("EMQ_TEST_PORT", env_port, 1, 65535)
                                        : 1883;
    args.config.payload_size = 64;
    args.config.count = 1000;
    args.config.window = 20;
    args.config.topic = "bench/topic";
    args.config.nodelay = true;
    args.warmup = 100;
    args.timeout_s = 60;

    if (argc < 2) {
        bench_fail("usage: %s pub|sub|latency [--host H] [--port P] [--qos Q] [--size BYTES] "
                   "[--count N] [--window W] [--topic T] [--warmup N] [--timeout-s S] "
                   "[--library-nodelay]",
                   argv[0]);
    }
    args.role = argv[1];
    for (i = 2; i < argc; i++) {
        const char *name = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(name, "--library-nodelay") == 0) {
            args.config.nodelay = false;
            continue;
        }
        if (value == NULL) {
            bench_fail("%s needs a value", name);
        }
        i++;
        if (strcmp(name, "--host") == 0) {
            args.config.host = value;
        } else if (strcmp(name, "--port") == 0) {
            args.config.port = (int)number_arg(name, value, 1, 65535);
        } else if (strcmp(name, "--qos") == 0) {
            args.config.qos = (int)number_arg(name, value, 0, 2);
        } else if (strcmp(name, "--size") == 0) {
            /* At least room for the sequence number. */
            args.config.payload_size = (size_t)number_arg(name, value, 8, 1 << 20);
        } else if (strcmp(name, "--count") == 0) {
            args.config.count = number_arg(name, value, 0, 100000000);
        } else if (strcmp(name, "--window") == 0) {
            args.config.window = (int)number_arg(name, value, 1, 65535);
        } else if (strcmp(name, "--topic") == 0) {
            args.config.topic = value;
        } else if (strcmp(name, "--warmup") == 0) {
            args.warmup = number_arg(name, value, 0, 1000000);
        } else if (strcmp(name, "--timeout-s") == 0) {
            args.timeout_s = (int)number_arg(name, value, 1, 3600);
        } else {
            bench_fail("unknown option %s", name);
        }
    }
    return args;
}

/* --- scenarios ------------------------------------------------------------ */

static void *connect_or_fail(const struct args *args, const char *role)
{
    char client_id[64];
    void *conn;
    snprintf(client_id, sizeof client_id, "bench-%s-%s-%ld", bench_backend.name, role,
             (long)getpid());
    conn = bench_backend.connect(&args->config, client_id);
    if (conn == NULL) {
        bench_fail("cannot connect to %s:%d", args->config.host, args->config.port);
    }
    return conn;
}

static void check_deadline(int64_t deadline_ns, const char *what)
{
    if (bench_now_ns() > deadline_ns) {
        bench_fail("time bound reached while %s", what);
    }
}

/* Runs the backend's loop (or waits for its thread) once. */
static void drive(void *conn, int timeout_ms)
{
    if (bench_backend.loop(conn, timeout_ms) != BENCH_OK) {
        bench_fail("connection lost");
    }
}

static void publish_one(void *conn, const struct bench_config *config, const uint8_t *payload,
                        long *published, int64_t deadline_ns)
{
    for (;;) {
        int status;
        if (bench_backend.driver_keeps_window && config->qos > 0 &&
            *published - atomic_load(&counters.acked) >= config->window) {
            check_deadline(deadline_ns, "waiting for room in the window");
            drive(conn, 1);
            continue;
        }
        status = bench_backend.publish(conn, config->topic, payload, config->payload_size,
                                       config->qos);
        if (status == BENCH_OK) {
            (*published)++;
            return;
        }
        if (status != BENCH_WOULD_BLOCK) {
            bench_fail("publish failed");
        }
        check_deadline(deadline_ns, "waiting for room in the window");
        drive(conn, 1);
    }
}

static void wait_for_acks(void *conn, long published, int64_t deadline_ns)
{
    while (atomic_load(&counters.acked) < published) {
        check_deadline(deadline_ns, "waiting for acknowledgements");
        drive(conn, WAIT_SLICE_MS);
    }
}

static uint8_t *make_payload(size_t size)
{
    uint8_t *payload = malloc(size);
    if (payload == NULL) {
        bench_fail("out of memory");
    }
    memset(payload, 'x', size);
    return payload;
}

static int run_publisher(const struct args *args)
{
    const struct bench_config *config = &args->config;
    int64_t deadline_ns = bench_now_ns() + (int64_t)args->timeout_s * 1000000000;
    uint8_t *payload = make_payload(config->payload_size);
    /* Steady state: leave the first tenth out (buffers warming up). */
    long steady_from = config->count / 10;
    long published = 0, steady_allocs = 0, end_allocs;
    long long steady_cpu = 0, end_cpu;
    int64_t first_ns, last_publish_ns, done_ns;
    void *conn = connect_or_fail(args, "pub");
    long i;

    first_ns = bench_now_ns();
    for (i = 0; i < config->count; i++) {
        if (i == steady_from) {
            steady_allocs = allocations();
            steady_cpu = cpu_us();
        }
        memcpy(payload, &i, sizeof i); /* a sequence number, for debugging */
        publish_one(conn, config, payload, &published, deadline_ns);
    }
    last_publish_ns = bench_now_ns();
    if (config->qos > 0) {
        wait_for_acks(conn, published, deadline_ns);
    }
    if (bench_backend.flush(conn, 10000) != BENCH_OK) {
        bench_fail("could not write out the last messages");
    }
    done_ns = bench_now_ns();
    end_allocs = allocations();
    end_cpu = cpu_us();

    printf("published=%ld\n", published);
    printf("acked=%ld\n", atomic_load(&counters.acked));
    printf("first_publish_ns=%lld\n", (long long)first_ns);
    printf("last_publish_ns=%lld\n", (long long)last_publish_ns);
    printf("done_ns=%lld\n", (long long)done_ns);
    if (config->count - steady_from > 0) {
        double steady = (double)(config->count - steady_from);
        if (steady_allocs >= 0 && end_allocs >= 0) {
            printf("allocs_per_msg=%.3f\n", (double)(end_allocs - steady_allocs) / steady);
        }
        printf("cpu_us_per_msg=%.3f\n", (double)(end_cpu - steady_cpu) / steady);
    }
    printf("peak_rss_kib=%ld\n", peak_rss_kib());
    bench_backend.disconnect(conn);
    free(payload);
    return 0;
}

static int run_subscriber(const struct args *args)
{
    const struct bench_config *config = &args->config;
    int64_t deadline_ns = bench_now_ns() + (int64_t)args->timeout_s * 1000000000;
    long received, steady;
    void *conn = connect_or_fail(args, "sub");

    counters.expected_size = config->payload_size;
    counters.steady_from = config->count / 10 > 0 ? config->count / 10 : 1;
    if (bench_backend.subscribe(conn, config->topic, config->qos) != BENCH_OK) {
        bench_fail("subscribe failed");
    }
    printf("ready\n");
    fflush(stdout);

    while (atomic_load(&counters.received) < config->count) {
        int64_t now = bench_now_ns();
        long long last = atomic_load(&counters.last_receive_ns);
        if (now > deadline_ns) {
            break;
        }
        if (last != 0 && now - last > (int64_t)SUBSCRIBER_IDLE_MS * 1000000) {
            break;
        }
        drive(conn, WAIT_SLICE_MS);
    }
    received = atomic_load(&counters.received);
    steady = received - counters.steady_from;
    printf("received=%ld\n", received);
    printf("bad_payloads=%ld\n", atomic_load(&counters.bad_payloads));
    printf("first_receive_ns=%lld\n", atomic_load(&counters.first_receive_ns));
    printf("last_receive_ns=%lld\n", atomic_load(&counters.last_receive_ns));
    if (steady > 0) {
        long end_allocs = allocations();
        long start_allocs = atomic_load(&counters.steady_allocs);
        if (start_allocs >= 0 && end_allocs >= 0) {
            printf("allocs_per_msg=%.3f\n", (double)(end_allocs - start_allocs) / (double)steady);
        }
        printf("cpu_us_per_msg=%.3f\n",
               (double)(cpu_us() - atomic_load(&counters.steady_cpu_us)) / (double)steady);
    }
    printf("peak_rss_kib=%ld\n", peak_rss_kib());
    bench_backend.disconnect(conn);
    return 0;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static int64_t percentile(const int64_t *sorted, long n, double fraction)
{
    long rank = (long)(fraction * (double)n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    return sorted[rank > n ? n - 1 : rank - 1];
}

static int run_latency(const struct args *args)
{
    const struct bench_config *config = &args->config;
    int64_t deadline_ns = bench_now_ns() + (int64_t)args->timeout_s * 1000000000;
    long total = args->warmup + config->count;
    int64_t *samples = calloc((size_t)(config->count > 0 ? config->count : 1), sizeof *samples);
    uint8_t *payload = make_payload(config->payload_size);
    long published = 0, i;
    double sum_us = 0;
    void *conn = connect_or_fail(args, "latency");

    if (samples == NULL) {
        bench_fail("out of memory");
    }
    counters.expected_size = config->payload_size;
    if (bench_backend.subscribe(conn, config->topic, config->qos) != BENCH_OK) {
        bench_fail("subscribe failed");
    }
    for (i = 0; i < total; i++) {
        long before = atomic_load(&counters.received);
        int64_t start = bench_now_ns();
        memcpy(payload, &i, sizeof i);
        publish_one(conn, config, payload, &published, deadline_ns);
        while (atomic_load(&counters.received) == before) {
            check_deadline(deadline_ns, "waiting for the round trip");
            drive(conn, WAIT_SLICE_MS);
        }
        if (i >= args->warmup) {
            samples[i - args->warmup] = atomic_load(&counters.last_receive_ns) - start;
            sum_us += (double)samples[i - args->warmup] / 1000.0;
        }
        /* The PUBACK is awaited outside the timed part. */
        if (config->qos > 0) {
            wait_for_acks(conn, published, deadline_ns);
        }
    }
    if (config->count > 0) {
        qsort(samples, (size_t)config->count, sizeof *samples, compare_i64);
        printf("p50_us=%.1f\n", (double)percentile(samples, config->count, 0.50) / 1000.0);
        printf("p99_us=%.1f\n", (double)percentile(samples, config->count, 0.99) / 1000.0);
        printf("mean_us=%.1f\n", sum_us / (double)config->count);
    }
    printf("round_trips=%ld\n", config->count);
    printf("peak_rss_kib=%ld\n", peak_rss_kib());
    bench_backend.disconnect(conn);
    free(samples);
    free(payload);
    return 0;
}

int main(int argc, char **argv)
{
    struct args args = parse_args(argc, argv);
    *(void **)&malloc_calls = dlsym(RTLD_DEFAULT, "bench_malloc_calls");
    if (strcmp(args.role, "pub") == 0) {
        return run_publisher(&args);
    }
    if (strcmp(args.role, "sub") == 0) {
        return run_subscriber(&args);
    }
    if (strcmp(args.role, "latency") == 0) {
        return run_latency(&args);
    }
    bench_fail("unknown role '%s' (pub, sub or latency)", args.role);
}
