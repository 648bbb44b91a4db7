/* perfgate's callgrind client requests, built on first use with the system
 * compiler (see _callgrind.py). Valgrind starts with instrumentation off; these
 * switch it on and off around the benchmarked calls only, so interpreter
 * start-up, imports, collection and fixtures run at valgrind's uninstrumented
 * speed. Outside valgrind every request is a no-op. */
#include <valgrind/callgrind.h>

int perfgate_on_valgrind(void) { return RUNNING_ON_VALGRIND ? 1 : 0; }
void perfgate_start_instrumentation(void) { CALLGRIND_START_INSTRUMENTATION; }
void perfgate_stop_instrumentation(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void perfgate_zero(void) { CALLGRIND_ZERO_STATS; }
void perfgate_toggle_collect(void) { CALLGRIND_TOGGLE_COLLECT; }
void perfgate_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
