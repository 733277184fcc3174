/* tools/cli/cli.h — the swmrbus command's subcommands (each in its own file). */
#ifndef SWMRBUS_CLI_H
#define SWMRBUS_CLI_H

#include "swmrbus/host.h"

int swmrbus_cli_run(int argc, char **argv);
int swmrbus_cli_demo(int argc, char **argv);
int swmrbus_cli_recover(int argc, char **argv);
int swmrbus_cli_ctl(int argc, char **argv);
int swmrbus_cli_keygen(int argc, char **argv);

/* Creates a host with every built-in kind registered. */
swmrbus_host *swmrbus_cli_host(void);

/* Blocks SIGINT/SIGTERM (to be taken with sigtimedwait), ignores SIGPIPE
 * and SIGXFSZ (so a file size limit gives EFBIG, not death). Call before
 * any thread starts. */
void swmrbus_cli_signals(void);

/* Runs the host until every component returned or SIGINT/SIGTERM came, then
 * stops it. Calls tick(user) about every 200 ms when given; tick returning
 * non-zero stops the host too. Returns the host's result. */
swmrbus_err swmrbus_cli_wait(swmrbus_host *h, int (*tick)(void *), void *user);

#endif
