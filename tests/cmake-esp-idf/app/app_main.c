/* The fake ESP-IDF project's `main` component: an application using the
 * embermq component. Calls into the Rust archive so the link needs it (and,
 * through its panic handler, the component's emq_platform_abort). */
#include <stdio.h>
#include "embermq.h"

int app_main(void);

int app_main(void)
{
    struct emq_client *client = NULL;
    /* Every argument missing: EMQ_ERR_NULL_POINTER, nothing touched. */
    enum emq_err err = emq_client_init(NULL, 0, NULL, NULL, NULL, NULL, &client);
    printf("fake app: storage %zu bytes, init without arguments -> %d\n",
           emq_client_storage_size(), (int)err);
    return err == EMQ_ERR_NULL_POINTER ? 0 : 1;
}
