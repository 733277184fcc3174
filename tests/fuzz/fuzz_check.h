/* fuzz_check.h — what every fuzz target checks besides "no crash". */
#ifndef SWMRBUS_FUZZ_CHECK_H
#define SWMRBUS_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken promise aborts: libFuzzer and the replay both report it. */
#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* An error text: NUL-terminated inside its buffer, one printable line. */
static inline bool one_line(const char *why, size_t cap)
{
    if (!memchr(why, '\0', cap)) return false;
    for (const char *c = why; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) return false;
    return true;
}

#endif
