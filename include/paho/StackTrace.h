/*
 * embermq Paho embedded-C compatibility: StackTrace.h.
 * Paho's trace macros, all empty (NOSTACKTRACE is forced to 1). Kept because
 * firmware relies on the <stdio.h> it pulls in.
 */
#if !defined(STACKTRACE_H_)
#define STACKTRACE_H_

#include <stdio.h>

#undef NOSTACKTRACE
#define NOSTACKTRACE 1

#define FUNC_ENTRY
#define FUNC_ENTRY_NOLOG
#define FUNC_ENTRY_MED
#define FUNC_ENTRY_MAX
#define FUNC_EXIT
#define FUNC_EXIT_NOLOG
#define FUNC_EXIT_MED
#define FUNC_EXIT_MAX
#define FUNC_EXIT_RC(x)
#define FUNC_EXIT_MED_RC(x)
#define FUNC_EXIT_MAX_RC(x)

#endif /* STACKTRACE_H_ */
