/* embermq's panic hook for ESP-IDF (the component compiles this file): a
 * panic in embermq is a bug, never bad input; abort() prints the backtrace
 * and restarts the chip as the project's panic settings say. */
#include <stdlib.h>

void emq_platform_abort(void);

void emq_platform_abort(void)
{
    abort();
}
