/* tools/cli/cli.h — the swmrbus command's subcommands (each in its own file). */
#ifndef SWMRBUS_CLI_H
#define SWMRBUS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "swmrbus/host.h"

struct msgpack_object;

/* Each subcommand: run(argc, argv) with argv[0] the command's name, returns
 * the exit status (0 done, 1 failed, 2 usage); help(to) prints its short
 * manual page (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS). */
int swmrbus_cli_run(int argc, char **argv);
void swmrbus_cli_run_help(FILE *to);
int swmrbus_cli_demo(int argc, char **argv);
void swmrbus_cli_demo_help(FILE *to);
int swmrbus_cli_recover(int argc, char **argv);
void swmrbus_cli_recover_help(FILE *to);
int swmrbus_cli_ctl(int argc, char **argv);
void swmrbus_cli_ctl_help(FILE *to);
int swmrbus_cli_tail(int argc, char **argv);
void swmrbus_cli_tail_help(FILE *to);
int swmrbus_cli_check(int argc, char **argv);
void swmrbus_cli_check_help(FILE *to);
int swmrbus_cli_version(int argc, char **argv);
void swmrbus_cli_version_help(FILE *to);
int swmrbus_cli_keygen(int argc, char **argv);
void swmrbus_cli_keygen_help(FILE *to);

/* Creates a host with every built-in kind registered. */
swmrbus_host *swmrbus_cli_host(void);

/* True when kind is one that swmrbus_cli_host registers (built in); any
 * other kind is an outside plugin. */
bool swmrbus_cli_builtin_kind(const char *kind);

/* Blocks SIGINT/SIGTERM (to be taken with sigtimedwait), ignores SIGPIPE
 * and SIGXFSZ (so a file size limit gives EFBIG, not death). Call before
 * any thread starts. */
void swmrbus_cli_signals(void);

/* Keeps freed frame memory in malloc's arenas (mallopt: trim threshold 64
 * MiB, mmap threshold 32 MiB) so that ZeroMQ's I/O thread does not fault in
 * a fresh page per 4 KiB received. Process-wide: the command calls it before
 * it starts a host; the library never does. */
void swmrbus_cli_tune_heap(void);

/* Runs the host until every component returned or SIGINT/SIGTERM came, then
 * stops it. Calls tick(user) about every 200 ms when given; tick returning
 * non-zero stops the host too. Returns the host's result. */
swmrbus_err swmrbus_cli_wait(swmrbus_host *h, int (*tick)(void *), void *user);

/* ---- shared by the commands (cli_util.c) ---- */

/* Prints a msgpack object as JSON on one line: strings escaped per RFC 8259
 * (invalid UTF-8 becomes U+FFFD), bin as a string, NaN/inf/ext as null, map
 * keys that are not strings as strings. The object must come from a message
 * that swmrbus_msgpack_scan accepted (depth <= SWMRBUS_MAX_DEPTH). */
void swmrbus_cli_json(FILE *to, const struct msgpack_object *o);

/* Prints len bytes as a JSON string (quotes included). */
void swmrbus_cli_json_str(FILE *to, const char *s, size_t len);

/* Prints len bytes from the wire as text for a terminal: control characters
 * (C0, DEL, C1) and bytes that are not valid UTF-8 become '?', so the output
 * is valid UTF-8 and nothing read off the wire can move the cursor. */
void swmrbus_cli_text(FILE *to, const char *s, size_t len);

/* Parses a decimal number of seconds > 0 and <= one day ("5", "0.5") into
 * milliseconds (at least 1). Returns false when s is not one. */
bool swmrbus_cli_parse_seconds(const char *s, int *ms);

/* Parses a decimal unsigned integer (digits only, no sign, fits in 64 bits). */
bool swmrbus_cli_parse_u64(const char *s, unsigned long long *out);

/* CURVE for a client command's socket (ctl, tail): this side's secret
 * certificate (--secret-key FILE) and the server's public certificate
 * (--server-key FILE), as a component's `curve: {secret_key, server_key}`. */
typedef struct swmrbus_cli_curve {
    const char *secret_key;
    const char *server_key;
} swmrbus_cli_curve;

/* Takes argv[*i] when it is --secret-key or --server-key (and its value,
 * advancing *i): 1 taken, 0 not a CURVE option, -1 the value is missing
 * (a message on stderr, prefixed by cmd). */
int swmrbus_cli_curve_arg(swmrbus_cli_curve *c, int argc, char **argv, int *i,
                          const char *cmd);

/* Applies c to sock before it connects: nothing when neither file was given;
 * both files are needed otherwise. Returns false with a one-line message on
 * stderr (prefixed by cmd, naming the file) when a file is missing,
 * unreadable, malformed or the secret one lacks its secret key. */
bool swmrbus_cli_curve_apply(const swmrbus_cli_curve *c, void *sock, const char *cmd);

/* True when argv[1..argc-1] holds --help or -h. */
bool swmrbus_cli_wants_help(int argc, char **argv);

#endif
