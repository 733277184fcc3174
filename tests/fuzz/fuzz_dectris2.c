/* fuzz_dectris2.c — libFuzzer target for the Dectris stream v2 decoder
 * (plugin/src/codec_dectris2.c).
 *
 * Input: a sequence of messages, each a 2-byte little-endian length and
 * that many bytes (the last one takes what is left), fed in order to one
 * decoder state (so start -> image -> end paths are reached), which is then
 * destroyed. Besides "no crash, no UB, no leak" it checks the decoder's
 * promises: every emitted header is a wire protocol v1 header that
 * swmrbus_header_decode accepts, a frame carries exactly one payload lying
 * inside the message fed (zero-copy), start and end none; every rejection
 * has a reason and a one-line text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_dectris_check.h"
#include "swmrbus/codec.h"
#include "swmrbus/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx {
    const uint8_t *msg;
    size_t len;
} ctx;

static void on_emit(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n)
{
    ctx *c = user;
    swmrbus_header h;
    dx_check_emitted(header, payloads, n, &h);
    if (h.type == SWMRBUS_MSG_FRAME) {
        const uint8_t *p = zmq_msg_data(&payloads[0]);
        size_t len = zmq_msg_size(&payloads[0]);
        /* a slice of the message (ZeroMQ copies a very small one) */
        if (len > 64) CHECK(p >= c->msg && p + len <= c->msg + c->len);
    }
    zmq_msg_close(header);
    for (size_t i = 0; i < n; i++) zmq_msg_close(&payloads[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const swmrbus_decoder_vtable *vt = swmrbus_decoder_find("dectris-stream2");
    CHECK(vt != NULL);
    swmrbus_component_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    swmrbus_limits_default(&cfg.limits);
    cfg.limits.max_open_series = 2; /* eviction reached */
    cfg.max_start_bytes = 4096;
    void *st = NULL;
    char err[128];
    CHECK(vt->create(&cfg, &st, err, sizeof err) == SWMRBUS_OK);
    size_t pos = 0;
    while (pos < size) {
        size_t n = size - pos;
        size_t at = pos;
        if (n >= 2) {
            size_t want = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
            at = pos + 2;
            n = want < size - at ? want : size - at;
        } else {
            at = size;
            n = 0;
        }
        zmq_msg_t m;
        CHECK(zmq_msg_init_size(&m, n) == 0);
        if (n) memcpy(zmq_msg_data(&m), data + at, n);
        ctx c = {zmq_msg_data(&m), n};
        const swmrbus_decode_sink out = {on_emit, dx_on_reject, &c, NULL};
        vt->feed(st, &m, 1, &out);
        zmq_msg_close(&m);
        pos = at + n;
        if (n == 0 && at >= size) break;
    }
    vt->destroy(&st);
    CHECK(st == NULL);
    return 0;
}
