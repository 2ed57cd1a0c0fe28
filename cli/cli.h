/* What the CLI's commands share. */
#ifndef CS_CLI_H
#define CS_CLI_H

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

/* "chainsweep: MESSAGE" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* chainsweep sim add|build|query (cli/sim.c) */
int cli_sim(int argc, char **argv);

#endif
