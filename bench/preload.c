/*
 * LD_PRELOAD helper for the benchmark programs:
 *  - counts heap allocations (malloc, calloc, realloc, aligned) in every
 *    thread; the programs read the count through bench_malloc_calls();
 *  - with BENCH_FORCE_NODELAY=1, sets TCP_NODELAY on every TCP socket that
 *    connects, for libraries without that option (Paho C).
 * glibc's __libc_* entry points are the real allocator, so no dlsym is
 * needed for them (dlsym itself allocates).
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

static atomic_ulong allocation_count;

unsigned long bench_malloc_calls(void)
{
    return atomic_load_explicit(&allocation_count, memory_order_relaxed);
}

static void count_one(void)
{
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
    count_one();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    count_one();
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    count_one();
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
    count_one();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    count_one();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *ptr;
    count_one();
    ptr = __libc_memalign(alignment, size);
    if (ptr == NULL) {
        return 12; /* ENOMEM */
    }
    *out = ptr;
    return 0;
}

int connect(int fd, const struct sockaddr *address, socklen_t address_len)
{
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    const char *force = getenv("BENCH_FORCE_NODELAY");
    int result, type = 0;
    socklen_t type_len = sizeof type;

    if (real_connect == NULL) {
        *(void **)&real_connect = dlsym(RTLD_NEXT, "connect");
    }
    if (force != NULL && strcmp(force, "1") == 0 &&
        (address->sa_family == AF_INET || address->sa_family == AF_INET6) &&
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM) {
        int one = 1;
        /* Before connect, so the CONNECT packet goes out the same way. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    result = real_connect(fd, address, address_len);
    return result;
}
