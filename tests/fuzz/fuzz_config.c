/* fuzz_config.c — libFuzzer target for swmrbus_config_parse (YAML or JSON
 * text, as a config file holds).
 *
 * Input: the text. Checks besides "no crash, no UB, no leak" (libFuzzer's
 * LeakSanitizer; the ctest replay also fails if anything reaches stderr, so
 * libcyaml's log never does): the result is OK, ECONFIG or ENOMEM; the error
 * text is one line without control characters, empty exactly on success; a
 * loaded config holds what config.h promises (names unique and non-empty,
 * every number within its SWMRBUS_CFG_* bound, message caps that do not
 * wrap); parsing the same text again gives the same result and text. Time
 * and memory stay bounded: YAML aliases are refused, the text is at most
 * 1 MiB (libFuzzer's -timeout and -rss_limit_mb catch a regression). */
#include <stdint.h>

#include "fuzz_check.h"
#include "swmrbus/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool err_line(const char *err, size_t cap)
{
    if (!memchr(err, '\0', cap)) return false;
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) return false;
    return true;
}

static void check_socket(const swmrbus_socket_cfg *s)
{
    if (!s->present) {
        CHECK(s->n_endpoints == 0);
        return;
    }
    CHECK(s->n_endpoints >= 1 && s->n_endpoints <= SWMRBUS_MAX_ENDPOINTS);
    for (unsigned i = 0; i < SWMRBUS_MAX_ENDPOINTS; i++) {
        CHECK((i < s->n_endpoints) == (s->endpoints[i] != NULL));
        if (s->endpoints[i]) CHECK(strstr(s->endpoints[i], "://") != NULL);
    }
    CHECK(s->hwm >= (int)SWMRBUS_CFG_HWM_MIN && s->hwm <= (int)SWMRBUS_CFG_HWM_MAX);
}

static void check_component(const swmrbus_component_cfg *c)
{
    CHECK(c->name && c->name[0] && strlen(c->name) <= SWMRBUS_NAME_MAX);
    CHECK(c->kind && c->kind[0]);
    CHECK(c->file && c->file[0] && !strchr(c->file, '/'));
    check_socket(&c->in);
    check_socket(&c->out);
    check_socket(&c->notify);
    check_socket(&c->control);
    if (!strcmp(c->kind, "sink")) CHECK(c->dir && c->in.present);
    CHECK(c->flush_frames >= 1 && c->flush_frames <= SWMRBUS_CFG_FLUSH_FRAMES_MAX);
    CHECK(c->flush_ms <= SWMRBUS_CFG_MS_MAX && c->linger_ms <= SWMRBUS_CFG_MS_MAX);
    CHECK(c->idle_close_ms <= SWMRBUS_CFG_MS_MAX && c->stale_ms <= SWMRBUS_CFG_MS_MAX);
    const swmrbus_limits *l = &c->limits;
    CHECK(l->max_header_bytes >= SWMRBUS_CFG_HEADER_BYTES_MIN &&
          l->max_header_bytes <= SWMRBUS_CFG_HEADER_BYTES_MAX);
    CHECK(l->max_frame_bytes >= 1 && l->max_frame_bytes <= SWMRBUS_CFG_FRAME_BYTES_MAX);
    CHECK(l->max_frames >= 1 && l->max_frames <= SWMRBUS_CFG_FRAMES_MAX);
    CHECK(l->max_open_series >= 1 && l->max_open_series <= SWMRBUS_CFG_OPEN_SERIES_MAX);
    CHECK(l->max_queue_bytes >= 1 && l->max_queue_bytes <= SWMRBUS_CFG_QUEUE_BYTES_MAX);
    int64_t fm = swmrbus_limits_frame_msg_max(l), nm = swmrbus_limits_notice_msg_max(l);
    CHECK(fm > 0 && (uint64_t)fm == 8 * l->max_frame_bytes + l->max_header_bytes + 65536);
    CHECK(nm > 0 && (uint64_t)nm == l->max_header_bytes + 4096);
    CHECK(c->sim_series <= SWMRBUS_CFG_SIM_SERIES_MAX);
    CHECK(c->sim_frames <= SWMRBUS_CFG_SIM_FRAMES_MAX);
    uint64_t raw = swmrbus_format_raw_bytes(&c->sim_format);
    CHECK(raw >= 1 && raw <= SWMRBUS_CFG_FRAME_BYTES_MAX);
    CHECK(c->sim_rate_hz >= 0 && c->sim_rate_hz == c->sim_rate_hz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swmrbus_config *cfg = (swmrbus_config *)&cfg, *again = NULL;
    char err[256], err2[256];
    memset(err, 'X', sizeof err);

    swmrbus_err rc = swmrbus_config_parse((const char *)data, size, &cfg, err, sizeof err);
    CHECK(rc == SWMRBUS_OK || rc == SWMRBUS_ECONFIG || rc == SWMRBUS_ENOMEM);
    CHECK(err_line(err, sizeof err));
    CHECK((rc == SWMRBUS_OK) == (err[0] == '\0'));
    CHECK((rc == SWMRBUS_OK) == (cfg != NULL));

    swmrbus_err rc2 = swmrbus_config_parse((const char *)data, size, &again, err2, sizeof err2);
    CHECK(rc2 == rc && strcmp(err, err2) == 0);
    swmrbus_config_destroy(&again);

    if (rc == SWMRBUS_OK) {
        CHECK(cfg->n_components >= 1);
        for (size_t i = 0; i < cfg->n_components; i++) {
            check_component(&cfg->components[i]);
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(cfg->components[i].name, cfg->components[j].name) != 0);
        }
    }
    swmrbus_config_destroy(&cfg);
    CHECK(cfg == NULL);
    return 0;
}
