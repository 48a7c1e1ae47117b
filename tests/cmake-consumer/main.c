/* Smallest embermq consumer: links the library and checks two calls. */
#include <stdio.h>
#include <string.h>

#include "embermq.h"

int main(void)
{
    emq_options options;
    emq_client *client = NULL;
    const char *version = emq_version();

    if (version == NULL || version[0] == '\0') {
        fprintf(stderr, "consumer: emq_version() returned nothing\n");
        return 1;
    }
    if (emq_options_default(&options) != EMQ_OK || options.keepalive_secs != 60 ||
        options.protocol_level != 4) {
        fprintf(stderr, "consumer: emq_options_default gave unexpected defaults\n");
        return 1;
    }
    if (emq_client_new(&options, &client) != EMQ_OK || client == NULL) {
        fprintf(stderr, "consumer: emq_client_new failed\n");
        return 1;
    }
    emq_client_free(client);
    printf("consumer: embermq %s linked and working\n", version);
    return 0;
}
