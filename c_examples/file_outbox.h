/*
 * file_outbox: a file-backed outbox persistence for hosts, built on
 * embermq's emq_persistence hooks. Every unacknowledged QoS 1/2 message is
 * one file "<sequence>-<packet id>.msg" in a directory; writes go to a
 * temporary file renamed into place, so a crash leaves either the old state
 * or the new one. Firmware does the same with its flash API.
 *
 *   file_outbox box;
 *   file_outbox_open(&box, "/var/lib/app/outbox");
 *   options.persistence = file_outbox_hooks(&box);
 *   emq_client_new(&options, &client);   // reloads what was left
 */
#ifndef FILE_OUTBOX_H
#define FILE_OUTBOX_H

#include <stdint.h>

#include "embermq.h"

typedef struct file_outbox {
    char dir[512];
    uint64_t next_sequence;
    /* Sequence number of the file holding each packet id (0: none). */
    uint64_t sequence_of[65536];
} file_outbox;

/* Uses (and creates if needed) `dir`. Returns 0, or -1 if it is unusable. */
int file_outbox_open(file_outbox *box, const char *dir);

/* The hooks to put in emq_options.persistence. */
emq_persistence file_outbox_hooks(file_outbox *box);

/* Entries currently saved (for tests and diagnostics). */
int file_outbox_count(const file_outbox *box);

#endif
