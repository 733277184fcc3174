/* fuzz_dectris1.c — libFuzzer target for the Dectris stream v1 decoder
 * (plugin/src/codec_dectris1.c).
 *
 * Input: a sequence of multipart messages, each a byte (its part count is
 * that byte % 10 + 1) and per part a 2-byte little-endian length and that
 * many bytes (cut short at the end of the input), fed in order to one
 * decoder state, which is then destroyed. Checks the decoder's promises as
 * fuzz_dectris2.c does: emitted headers decode, a frame carries exactly one
 * payload, rejections have a reason and a one-line text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "swmrbus/codec.h"
#include "swmrbus/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 10

static int array_fits(const swmrbus_dataset *d, size_t k, void *user)
{
    struct { zmq_msg_t *p; size_t n; } *a = user;
    CHECK(k < a->n && d->format.encoding == SWMRBUS_ENC_RAW &&
          swmrbus_format_raw_bytes(&d->format) == zmq_msg_size(&a->p[k]));
    return 0;
}

static void on_emit(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n)
{
    (void)user;
    swmrbus_limits lim;
    swmrbus_header h;
    swmrbus_reason reason;
    char why[160];
    swmrbus_limits_default(&lim);
    CHECK(swmrbus_header_decode(zmq_msg_data(header), zmq_msg_size(header), &lim, &h, &reason,
                                why, sizeof why) == SWMRBUS_OK);
    if (h.type == SWMRBUS_MSG_FRAME) /* a part a channel (at most 16) */
        CHECK(n >= 1 && n <= 16);
    else
        CHECK(n == (h.type == SWMRBUS_MSG_START ? h.n_arrays : 0u));
    if (h.type == SWMRBUS_MSG_START && h.n_arrays) { /* start arrays: raw, exactly their size */
        struct { zmq_msg_t *p; size_t n; } a = {payloads, n};
        CHECK(swmrbus_datasets_foreach(h.arrays, array_fits, &a) == SWMRBUS_OK);
    }
    if (h.type == SWMRBUS_MSG_START) CHECK(h.has_format && h.format.ndim == 2);
    for (size_t k = 0; h.type == SWMRBUS_MSG_FRAME && k < n; k++) {
        const uint8_t *p = zmq_msg_data(&payloads[k]);
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < zmq_msg_size(&payloads[k]); i++) sum = (uint8_t)(sum + p[i]);
        (void)sum;
    }
    zmq_msg_close(header);
    for (size_t i = 0; i < n; i++) zmq_msg_close(&payloads[i]);
}

static void on_reject(void *user, swmrbus_reason reason, bool has_series, uint64_t series,
                      const char *why)
{
    (void)user;
    (void)has_series;
    (void)series;
    CHECK(reason < SWMRBUS_R_COUNT);
    CHECK(why && why[0] && one_line(why, strlen(why) + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const swmrbus_decoder_vtable *vt = swmrbus_decoder_find("dectris-stream1");
    CHECK(vt != NULL);
    swmrbus_component_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    swmrbus_limits_default(&cfg.limits);
    cfg.limits.max_open_series = 2;
    cfg.max_start_bytes = 8192;
    void *st = NULL;
    char err[128];
    CHECK(vt->create(&cfg, &st, err, sizeof err) == SWMRBUS_OK);
    const swmrbus_decode_sink out = {on_emit, on_reject, NULL, NULL};
    size_t pos = 0;
    while (pos < size) {
        int n = data[pos++] % MAX_PARTS + 1;
        zmq_msg_t parts[MAX_PARTS];
        for (int i = 0; i < n; i++) {
            size_t len = 0;
            if (size - pos >= 2) {
                len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
                pos += 2;
            } else {
                pos = size;
            }
            if (len > size - pos) len = size - pos;
            CHECK(zmq_msg_init_size(&parts[i], len) == 0);
            if (len) memcpy(zmq_msg_data(&parts[i]), data + pos, len);
            pos += len;
        }
        vt->feed(st, parts, n, &out);
        for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    }
    vt->destroy(&st);
    CHECK(st == NULL);
    return 0;
}
