/* fuzz_dectris_check.h — the promises both Dectris decoders keep, checked
 * by fuzz_dectris1.c and fuzz_dectris2.c: every emitted header is one that
 * swmrbus_header_decode accepts (why it was refused is printed first); a
 * frame carries a part per channel (1 to 16), a start one per start array
 * (raw, exactly its size) and a 2-D format, an end none; every payload byte
 * is readable; every rejection has a reason and a one-line text. */
#ifndef SWMRBUS_FUZZ_DECTRIS_CHECK_H
#define SWMRBUS_FUZZ_DECTRIS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "fuzz_check.h"
#include "swmrbus/codec.h"

typedef struct dx_parts {
    zmq_msg_t *p;
    size_t n;
} dx_parts;

static int dx_array_fits(const swmrbus_dataset *d, size_t k, void *user)
{
    dx_parts *a = user;
    CHECK(k < a->n && d->format.encoding == SWMRBUS_ENC_RAW &&
          swmrbus_format_raw_bytes(&d->format) == zmq_msg_size(&a->p[k]));
    return 0;
}

/* Checks one emitted message (not closed here); *h receives its header. */
static inline void dx_check_emitted(zmq_msg_t *header, zmq_msg_t *payloads, size_t n,
                                    swmrbus_header *h)
{
    swmrbus_limits lim;
    swmrbus_reason reason;
    char why[160];
    swmrbus_limits_default(&lim);
    if (swmrbus_header_decode(zmq_msg_data(header), zmq_msg_size(header), &lim, h, &reason,
                              why, sizeof why) != SWMRBUS_OK)
        fprintf(stderr, "emitted header refused: %s\n", why);
    CHECK(swmrbus_header_decode(zmq_msg_data(header), zmq_msg_size(header), &lim, h, &reason,
                                why, sizeof why) == SWMRBUS_OK);
    if (h->type == SWMRBUS_MSG_FRAME) /* a part a channel (at most 16) */
        CHECK(n >= 1 && n <= 16);
    else
        CHECK(n == (h->type == SWMRBUS_MSG_START ? h->n_arrays : 0u));
    if (h->type == SWMRBUS_MSG_START && h->n_arrays) { /* start arrays: raw, exactly their size */
        dx_parts a = {payloads, n};
        CHECK(swmrbus_datasets_foreach(h->arrays, dx_array_fits, &a) == SWMRBUS_OK);
    }
    if (h->type == SWMRBUS_MSG_START) CHECK(h->has_format && h->format.ndim == 2);
    for (size_t k = 0; h->type == SWMRBUS_MSG_FRAME && k < n; k++) {
        const uint8_t *p = zmq_msg_data(&payloads[k]);
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < zmq_msg_size(&payloads[k]); i++) sum = (uint8_t)(sum + p[i]);
        (void)sum;
    }
}

static inline void dx_on_reject(void *user, swmrbus_reason reason, bool has_series,
                                uint64_t series, const char *why)
{
    (void)user;
    (void)has_series;
    (void)series;
    CHECK(reason < SWMRBUS_R_COUNT);
    CHECK(why && why[0] && one_line(why, strlen(why) + 1));
}

#endif
