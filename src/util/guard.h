/* Guards: turn a fault while reading mapped bytes (SIGBUS: the file shrank
 * under its mapping) and out-of-memory into error values.
 *
 * The worker enters a guard around everything it does with one file or
 * member; a SIGBUS or a failed allocation in that thread jumps back to the
 * guard, which reports "the file changed while being read" or "out of
 * memory" for that file alone, and the sweep goes on. Memory that a library
 * held at that moment is leaked (bounded per event); our own per-file
 * allocations live in the job's arena and are freed as usual.
 *
 * Usage (sigsetjmp must be called in the frame that stays active):
 *   cs_guard g;
 *   cs_guard_enter(&g);
 *   if (sigsetjmp(g.jb, 1) == 0) { ...work... } else { ...g.why... }
 *   cs_guard_leave(&g);
 * Locals changed between the two and read after a jump must be volatile. */
#ifndef CS_UTIL_GUARD_H
#define CS_UTIL_GUARD_H

#include <setjmp.h>

typedef enum cs_guard_why {
    CS_GUARD_NONE = 0,
    CS_GUARD_FAULT,     /* SIGBUS: mapped bytes vanished */
    CS_GUARD_NOMEM      /* an allocation failed */
} cs_guard_why;

typedef struct cs_guard {
    sigjmp_buf jb;
    struct cs_guard *prev;
    volatile cs_guard_why why;
} cs_guard;

/* Install the process-wide SIGBUS handler (once; chains to a handler that
 * was there before for faults outside any guard). */
void cs_guard_install(void);
void cs_guard_enter(cs_guard *g);
void cs_guard_leave(cs_guard *g);
/* Is a guard active in this thread? */
int cs_guard_active(void);
/* Jump to the innermost guard with why; returns only when none is active. */
void cs_guard_fail(cs_guard_why why);
const char *cs_guard_message(cs_guard_why why);

#endif
