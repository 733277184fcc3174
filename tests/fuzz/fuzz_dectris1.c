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
#include "fuzz_dectris_check.h"
#include "swmrbus/codec.h"
#include "swmrbus/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 10

static void on_emit(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n)
{
    (void)user;
    swmrbus_header h;
    dx_check_emitted(header, payloads, n, &h);
    zmq_msg_close(header);
    for (size_t i = 0; i < n; i++) zmq_msg_close(&payloads[i]);
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
    const swmrbus_decode_sink out = {on_emit, dx_on_reject, NULL, NULL};
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
