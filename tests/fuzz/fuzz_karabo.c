/* fuzz_karabo.c — libFuzzer target for the Karabo bridge decoder
 * (plugin/src/codec_karabo.c), replayed by `make test` under gcc.
 *
 * Input: the parts of one or more bridge messages, each part as a 4-byte
 * little-endian length and its bytes; a length of 0xffffffff ends a message
 * (so one input can open a series and then feed it). Promises checked: every
 * message the decoder emits is a header swmrbus_header_decode accepts, a
 * start has named datasets, a frame has one payload per dataset of its
 * series with exactly that dataset's raw size; nothing leaks (ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "swmrbus/codec.h"
#include "swmrbus/log.h"
#include "swmrbus/wire.h"

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

typedef struct seen {
    uint64_t series;
    size_t n;
    uint64_t raw[SWMRBUS_MAX_DATASETS];
    swmrbus_limits lim;
} seen;

static int keep_raw(const swmrbus_dataset *d, size_t index, void *user)
{
    seen *s = user;
    CHECK(index < SWMRBUS_MAX_DATASETS);
    s->raw[index] = swmrbus_format_raw_bytes(&d->format);
    s->n = index + 1;
    return 0;
}

static void on_emit(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n)
{
    seen *s = user;
    swmrbus_header h;
    swmrbus_reason r;
    char why[200];
    CHECK(swmrbus_header_decode(zmq_msg_data(header), zmq_msg_size(header), &s->lim, &h, &r,
                                why, sizeof why) == SWMRBUS_OK);
    if (h.type == SWMRBUS_MSG_START) {
        CHECK(n == 0 && h.n_datasets > 0);
        s->series = h.series;
        CHECK(swmrbus_datasets_foreach(h.datasets, keep_raw, s) == SWMRBUS_OK);
        CHECK(s->n == h.n_datasets);
    } else if (h.type == SWMRBUS_MSG_FRAME) {
        CHECK(h.series == s->series && n == s->n);
        for (size_t i = 0; i < n; i++) CHECK(zmq_msg_size(&payloads[i]) == s->raw[i]);
    } else {
        CHECK(n == 0);
    }
    zmq_msg_close(header);
    for (size_t i = 0; i < n; i++) zmq_msg_close(&payloads[i]);
}

static void on_reject(void *user, swmrbus_reason reason, bool has_series, uint64_t series,
                      const char *why)
{
    (void)user, (void)has_series, (void)series;
    CHECK(reason < SWMRBUS_R_COUNT && why && why[0]);
}

static void drop_log(swmrbus_log_level level, const char *component, const char *line,
                     void *user)
{
    (void)level, (void)component, (void)line, (void)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zmq_msg_t parts[64];
    static seen s;
    swmrbus_log_set_handler(drop_log, NULL);
    swmrbus_component_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "fuzz";
    swmrbus_limits_default(&cfg.limits);
    cfg.limits.max_frame_bytes = 1 << 20;
    memset(&s, 0, sizeof s);
    s.lim = cfg.limits;
    const swmrbus_decoder_vtable *vt = swmrbus_decoder_find("karabo-bridge");
    CHECK(vt && vt->request && strcmp(vt->request, "next") == 0);
    void *st = NULL;
    char err[200];
    CHECK(vt->create(&cfg, &st, err, sizeof err) == SWMRBUS_OK);
    const swmrbus_decode_sink out = {.emit = on_emit, .reject = on_reject, .user = &s};
    size_t off = 0;
    while (off < size) {
        int n = 0;
        while (off < size && n < 64) {
            uint32_t len = 0;
            size_t k = size - off < 4 ? size - off : 4;
            memcpy(&len, data + off, k);
            off += k;
            if (len == 0xffffffffu) break;
            if (len > size - off) len = (uint32_t)(size - off);
            zmq_msg_init_size(&parts[n], len);
            if (len) memcpy(zmq_msg_data(&parts[n]), data + off, len);
            off += len;
            n++;
        }
        if (n > 0) vt->feed(st, parts, n, &out);
        for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    }
    vt->destroy(&st);
    CHECK(st == NULL);
    return 0;
}
