/* file_outbox: see file_outbox.h. */
#define _POSIX_C_SOURCE 200809L

#include "file_outbox.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void entry_path(const file_outbox *box, uint64_t sequence, uint16_t id, char *out,
                       size_t size)
{
    snprintf(out, size, "%s/%020" PRIu64 "-%05u.msg", box->dir, sequence, (unsigned)id);
}

static emq_err store(void *user_data, uint16_t packet_id, const uint8_t *packet, size_t len)
{
    file_outbox *box = user_data;
    char path[600], tmp[610];
    FILE *f;
    uint64_t sequence = box->next_sequence++;
    entry_path(box, sequence, packet_id, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        return EMQ_ERR_IO;
    }
    if (fwrite(packet, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        remove(tmp);
        return EMQ_ERR_IO;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return EMQ_ERR_IO;
    }
    box->sequence_of[packet_id] = sequence + 1;
    return EMQ_OK;
}

static void forget(void *user_data, uint16_t packet_id)
{
    file_outbox *box = user_data;
    char path[600];
    if (box->sequence_of[packet_id] == 0) {
        return;
    }
    entry_path(box, box->sequence_of[packet_id] - 1, packet_id, path, sizeof path);
    remove(path);
    box->sequence_of[packet_id] = 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one entry file and hands it to the client. */
static emq_err restore_file(file_outbox *box, emq_client *client, const char *name)
{
    char path[600];
    uint8_t *packet;
    long size;
    uint64_t sequence;
    unsigned id;
    FILE *f;
    emq_err err;
    if (sscanf(name, "%20" SCNu64 "-%5u.msg", &sequence, &id) != 2 || id > 65535) {
        return EMQ_OK; /* not ours */
    }
    snprintf(path, sizeof path, "%s/%s", box->dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return EMQ_ERR_IO;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    packet = malloc(size > 0 ? (size_t)size : 1);
    if (packet == NULL || size <= 0 || fread(packet, 1, (size_t)size, f) != (size_t)size) {
        free(packet);
        fclose(f);
        return EMQ_ERR_IO;
    }
    fclose(f);
    err = emq_client_restore(client, packet, (size_t)size);
    free(packet);
    if (err != EMQ_OK) {
        /* A damaged entry is dropped, not allowed to block the outbox. */
        fprintf(stderr, "file_outbox: dropping %s: %s\n", name, emq_err_str((int)err));
        remove(path);
        return EMQ_OK;
    }
    box->sequence_of[id] = sequence + 1;
    if (sequence >= box->next_sequence) {
        box->next_sequence = sequence + 1;
    }
    return EMQ_OK;
}

static emq_err load(void *user_data, emq_client *client)
{
    file_outbox *box = user_data;
    DIR *dir = opendir(box->dir);
    struct dirent *entry;
    char **names = NULL;
    size_t count = 0, capacity = 0, i;
    emq_err err = EMQ_OK;
    if (dir == NULL) {
        return EMQ_ERR_IO;
    }
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len < 4 || strcmp(entry->d_name + len - 4, ".msg") != 0) {
            continue;
        }
        if (count == capacity) {
            char **grown = realloc(names, (capacity = capacity * 2 + 16) * sizeof *names);
            if (grown == NULL) {
                err = EMQ_ERR_NO_MEMORY;
                break;
            }
            names = grown;
        }
        names[count] = strdup(entry->d_name);
        if (names[count] == NULL) {
            err = EMQ_ERR_NO_MEMORY;
            break;
        }
        count++;
    }
    closedir(dir);
    /* Zero-padded sequence numbers: name order is publish order. */
    qsort(names, count, sizeof *names, by_name);
    for (i = 0; i < count; i++) {
        if (err == EMQ_OK) {
            err = restore_file(box, client, names[i]);
        }
        free(names[i]);
    }
    free(names);
    return err;
}

int file_outbox_open(file_outbox *box, const char *dir)
{
    struct stat st;
    memset(box, 0, sizeof *box);
    if (strlen(dir) >= sizeof box->dir) {
        return -1;
    }
    strcpy(box->dir, dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

emq_persistence file_outbox_hooks(file_outbox *box)
{
    emq_persistence hooks;
    hooks.store = store;
    hooks.remove = forget;
    hooks.load = load;
    hooks.user_data = box;
    return hooks;
}

int file_outbox_count(const file_outbox *box)
{
    int count = 0;
    size_t i;
    for (i = 0; i < 65536; i++) {
        count += box->sequence_of[i] != 0;
    }
    return count;
}
