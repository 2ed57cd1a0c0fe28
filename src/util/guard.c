#define _GNU_SOURCE
#include "util/guard.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

static _Thread_local cs_guard *current;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    cs_guard *g = current;
    if (g) {
        g->why = CS_GUARD_FAULT;
        siglongjmp(g->jb, 1);
    }
    /* not inside a guard: whoever was there before decides */
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, ctx);
    } else if (previous.sa_handler == SIG_IGN) {
        return;
    } else if (previous.sa_handler != SIG_DFL) {
        previous.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* returning re-executes the access: default action */
    }
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous);
}

void cs_guard_install(void)
{
    pthread_once(&installed, install);
}

void cs_guard_enter(cs_guard *g)
{
    g->why = CS_GUARD_NONE;
    g->prev = current;
    current = g;
}

void cs_guard_leave(cs_guard *g)
{
    current = g->prev;
}

int cs_guard_active(void)
{
    return current != NULL;
}

void cs_guard_fail(cs_guard_why why)
{
    cs_guard *g = current;
    if (!g)
        return;
    g->why = why;
    siglongjmp(g->jb, 1);
}

const char *cs_guard_message(cs_guard_why why)
{
    switch (why) {
    case CS_GUARD_FAULT:
        return "the file shrank or vanished while being read";
    case CS_GUARD_NOMEM:
        return "out of memory";
    default:
        return "no error";
    }
}
