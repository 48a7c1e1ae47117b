/* The file-backed outbox (c_examples/file_outbox.c) across a "reboot":
 * messages published offline survive freeing the client and arrive after
 * the new client connects; acknowledged entries leave the disk. */
#include "harness.h"

#include <dirent.h>

#include "../../c_examples/file_outbox.h"

#define PER_QOS 20

struct tally {
    int count[2][PER_QOS]; /* [qos-1][seq] */
};

static void count_message(void *ud, emq_client *c, const emq_message *m)
{
    struct tally *t = ud;
    unsigned seq = 0;
    (void)c;
    CHECK(m->qos == 1 || m->qos == 2);
    CHECK(m->payload_len < 16);
    {
        char text[16];
        memcpy(text, m->payload, m->payload_len);
        text[m->payload_len] = '\0';
        CHECK(sscanf(text, "seq:%u", &seq) == 1 && seq < PER_QOS);
    }
    t->count[m->qos - 1][seq]++;
}

static bool all_arrived(const struct tally *t)
{
    int q, i;
    for (q = 0; q < 2; q++) {
        for (i = 0; i < PER_QOS; i++) {
            if (t->count[q][i] == 0) {
                return false;
            }
        }
    }
    return true;
}

static int files_in(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    int n = 0;
    CHECK(dir != NULL);
    while ((e = readdir(dir)) != NULL) {
        n += strstr(e->d_name, ".msg") != NULL;
    }
    closedir(dir);
    return n;
}

static emq_client *publisher(file_outbox *box, const char *id)
{
    emq_options options;
    emq_client *client = NULL;
    CHECK_OK(emq_options_default(&options));
    options.client_id = id;
    options.clean_session = false;
    options.queue_offline = true;
    options.persistence = file_outbox_hooks(box);
    CHECK_OK(test_client_new(&options, &client));
    return client;
}

int main(void)
{
    static file_outbox box; /* 512 KiB: not on the stack */
    char dir[] = "/tmp/embermq-outbox-XXXXXX";
    char id[64], filter[96], topic[2][96];
    struct tally tally;
    emq_callbacks cb;
    emq_options sub_options;
    emq_client *sub = NULL, *pub;
    uint64_t deadline;
    int q, i;
    uint16_t pid;

    CHECK(mkdtemp(dir) != NULL);
    memset(&tally, 0, sizeof tally);
    test_unique(id, sizeof id, "emq-outbox-pub");
    snprintf(filter, sizeof filter, "outbox/%ld/#", (long)getpid());

    CHECK_OK(emq_options_default(&sub_options));
    sub_options.client_id = "emq-outbox-sub";
    CHECK_OK(test_client_new(&sub_options, &sub));
    emq_callbacks_default(&cb);
    cb.on_message = count_message;
    CHECK_OK(emq_client_set_callbacks(sub, &cb, &tally));
    CHECK_OK(emq_client_connect(sub, test_host(), test_port()));
    CHECK_OK(emq_client_subscribe(sub, filter, 2, &pid));
    CHECK_OK(emq_client_wait(sub, pid, 5000));

    /* 1. Offline: QoS 1/2 go to the outbox (and to disk); QoS 0 does not. */
    CHECK(file_outbox_open(&box, dir) == 0);
    pub = publisher(&box, id);
    CHECK_ERR(emq_client_publish(pub, "outbox/x", (const uint8_t *)"x", 1, 0, false, NULL),
              EMQ_ERR_NOT_CONNECTED);
    for (q = 0; q < 2; q++) {
        snprintf(topic[q], sizeof topic[q], "outbox/%ld/q%d", (long)getpid(), q + 1);
        for (i = 0; i < PER_QOS; i++) {
            char payload[16];
            int len = snprintf(payload, sizeof payload, "seq:%d", i);
            CHECK_OK(emq_client_publish(pub, topic[q], (const uint8_t *)payload, (size_t)len,
                                        (uint8_t)(q + 1), false, &pid));
            CHECK(pid != 0);
        }
    }
    CHECK(emq_client_queued(pub) == 2 * PER_QOS);
    CHECK(files_in(dir) == 2 * PER_QOS);

    /* 2. "Reboot": the client and its RAM are gone, the files stay. */
    CHECK_OK(test_client_free(pub));
    CHECK(file_outbox_open(&box, dir) == 0);
    pub = publisher(&box, id);
    CHECK(emq_client_queued(pub) == 2 * PER_QOS);

    /* 3. Connected: everything arrives, in order per topic, and the disk
     * empties as acknowledgements come in. */
    CHECK_OK(emq_client_connect(pub, test_host(), test_port()));
    deadline = test_now_ms() + 10000;
    while (!(all_arrived(&tally) && emq_client_queued(pub) == 0)) {
        CHECK(test_now_ms() < deadline);
        CHECK_OK(emq_client_poll(pub, 10));
        CHECK_OK(emq_client_poll(sub, 10));
    }
    for (i = 0; i < PER_QOS; i++) {
        CHECK(tally.count[1][i] == 1); /* QoS 2: exactly once */
    }
    CHECK(files_in(dir) == 0);
    CHECK(file_outbox_count(&box) == 0);
    CHECK_OK(emq_client_disconnect(pub));
    CHECK_OK(test_client_free(pub));

    /* 4. A damaged file is dropped at load, not fatal. */
    {
        char path[600];
        FILE *f;
        snprintf(path, sizeof path, "%s/%020d-%05d.msg", dir, 99, 7);
        f = fopen(path, "wb");
        CHECK(f != NULL);
        fputs("garbage", f);
        fclose(f);
        CHECK(file_outbox_open(&box, dir) == 0);
        pub = publisher(&box, id);
        CHECK(emq_client_queued(pub) == 0);
        CHECK(files_in(dir) == 0);
        CHECK_OK(test_client_free(pub));
    }

    CHECK_OK(emq_client_disconnect(sub));
    CHECK_OK(test_client_free(sub));
    CHECK(rmdir(dir) == 0);
    printf("test_file_outbox: ok\n");
    return 0;
}
