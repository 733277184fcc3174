/* codec_dectris1.c — `in.protocol: dectris-stream1`: the legacy Dectris
 * stream (SIMPLON API, "stream" interface, format legacy: multipart
 * JSON + binary) into wire protocol v1.
 *
 *   [dheader-1.0 {series, header_detail}, (basic|all: the detector config),
 *    (all: dflatfield-1.0, blob, dpixelmask-1.0, blob, dcountrate_table-1.0,
 *    blob), (appendix)]
 *        -> the series is remembered (NXmx fields of the config as meta);
 *           flatfield, mask and the countrate table (shape [w, h] -> [h,
 *           w], as the legacy file writer's detectorSpecific/
 *           countrate_correction_table) go out with the start as start
 *           arrays
 *   [dimage-1.0 {series, frame}, dimage_d-1.0 {shape [x, y], type,
 *    encoding, size}, blob, (dconfig-1.0 {start_time, stop_time,
 *    real_time}), (appendix)]
 *        -> on the series' first image a swmrbus start (dtype `type`,
 *           shape [y, x], encoding: `<` raw, `bsN-lz4<` bslz4 (N must be the
 *           type's bits), `lz4<` lz4), then a frame at row frame - the
 *           series' first frame. raw and bslz4 blobs (the bslz4 blob is the
 *           HDF5 filter's chunk, 12-byte header included) are zero-copy
 *           slices; an `lz4<` blob is a bare LZ4 block and gets the 16-byte
 *           framing of filter 32004 (one block): a copy.
 *   [dseries_end-1.0 {series}] -> end (frames = highest row + 1)
 *
 * JSON is parsed with jansson, one part at a time, each part bounded
 * before it is parsed (limits.max_header_bytes; the config part:
 * limits.max_start_bytes); nothing is allocated from a value read off the
 * wire. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_dectris.h"

#define D1 "dectris-stream1"

typedef struct d1_state {
    swmrbus__dx dx;
} d1_state;

/* One JSON object from a part no larger than max; NULL with why set. */
static json_t *load(zmq_msg_t *part, uint64_t max, const char *what, char *why, size_t n)
{
    size_t len = zmq_msg_size(part);
    if (len > max) {
        snprintf(why, n, "%s of %zu bytes exceeds the limit (%llu)", what, len,
                 (unsigned long long)max);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(zmq_msg_data(part), len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char text[80];
        snprintf(why, n, "%s: not JSON (%s at byte %d)", what,
                 swmrbus__dx_printable(text, sizeof text, je.text, strlen(je.text)), je.position);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, n, "%s: not a JSON object", what);
        return NULL;
    }
    return j;
}

static bool get_uint(json_t *o, const char *key, uint64_t *v)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < 0) return false;
    *v = (uint64_t)json_integer_value(x);
    return true;
}

static bool htype_is(json_t *o, const char *h)
{
    const char *s = json_string_value(json_object_get(o, "htype"));
    return s && strcmp(s, h) == 0;
}

/* ---- the global header ---------------------------------------------- */

static const struct {
    const char *key, *nx;
    char kind; /* f float, s string, b bool, i integer */
} config_fields[] = {
    {"beam_center_x", "beam_center_x", 'f'},
    {"beam_center_y", "beam_center_y", 'f'},
    {"count_time", "count_time", 'f'},
    {"frame_time", "frame_time", 'f'},
    {"sensor_thickness", "sensor_thickness", 'f'},
    {"x_pixel_size", "x_pixel_size", 'f'},
    {"y_pixel_size", "y_pixel_size", 'f'},
    {"wavelength", "incident_wavelength", 'f'},
    {"photon_energy", "incident_energy", 'f'},
    {"threshold_energy", "threshold_energy", 'f'},
    {"sensor_material", "sensor_material", 's'},
    {"description", "description", 's'},
    {"detector_number", "serial_number", 's'},
    {"data_collection_date", "arm_date", 's'},
    {"countrate_correction_applied", "countrate_correction_applied", 'b'},
    {"flatfield_correction_applied", "flatfield_applied", 'b'},
    {"pixel_mask_applied", "pixel_mask_applied", 'b'},
    {"virtual_pixel_correction_applied", "virtual_pixel_correction_applied", 'b'},
    {"countrate_correction_count_cutoff", "saturation_value", 'i'},
};

static const char *const axes[] = {"omega", "kappa", "phi", "chi", "two_theta"};

static void config_meta(json_t *cfg, swmrbus__dx_meta *m, swmrbus__dx_series *se)
{
    for (size_t i = 0; i < sizeof config_fields / sizeof config_fields[0]; i++) {
        json_t *v = json_object_get(cfg, config_fields[i].key);
        if (!v) continue;
        switch (config_fields[i].kind) {
        case 'f':
            if (json_is_number(v)) swmrbus__dx_meta_f64(m, config_fields[i].nx, json_number_value(v));
            break;
        case 's':
            if (json_is_string(v) && json_string_length(v) <= 4096)
                swmrbus__dx_meta_str(m, config_fields[i].nx, json_string_value(v),
                                     json_string_length(v));
            break;
        case 'b':
            if (json_is_boolean(v)) swmrbus__dx_meta_bool(m, config_fields[i].nx, json_is_true(v));
            break;
        case 'i':
            if (json_is_integer(v)) {
                swmrbus__dx_meta_key(m, config_fields[i].nx);
                m->e |= msgpack_pack_int64(&m->pk, json_integer_value(v));
            }
            break;
        }
    }
    for (size_t a = 0; a < sizeof axes / sizeof axes[0]; a++) {
        static const char *const what[] = {"start", "increment"};
        for (size_t w = 0; w < 2; w++) {
            char key[48], nx[64];
            snprintf(key, sizeof key, "%s_%s", axes[a], what[w]);
            snprintf(nx, sizeof nx, "goniometer_%s_%s", axes[a], what[w]);
            json_t *v = json_object_get(cfg, key);
            if (json_is_number(v)) swmrbus__dx_meta_f64(m, nx, json_number_value(v));
        }
    }
    uint64_t nimages, ntrigger;
    if (get_uint(cfg, "nimages", &nimages) && get_uint(cfg, "ntrigger", &ntrigger) &&
        nimages > 0 && ntrigger > 0 && nimages <= UINT64_MAX / ntrigger) {
        se->has_frames = true;
        se->frames = nimages * ntrigger;
    }
}

static void on_header(d1_state *s, json_t *h, zmq_msg_t *parts, int n,
                      const swmrbus_decode_sink *out)
{
    char why[240];
    json_t *cfg = NULL;
    swmrbus__dx_series se;
    memset(&se, 0, sizeof se);
    if (!get_uint(h, "series", &se.id)) {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, false, 0,
                    D1 ": dheader-1.0 without series (an unsigned integer)");
        return;
    }
    const char *detail = json_string_value(json_object_get(h, "header_detail"));
    if (!detail) detail = "basic";
    bool has_config = strcmp(detail, "basic") == 0 || strcmp(detail, "all") == 0;
    if (!has_config && strcmp(detail, "none") != 0) {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, se.id,
                    D1 ": dheader-1.0 header_detail: expected all, basic or none");
        return;
    }
    uint64_t total = 0;
    for (int i = 0; i < n && i < SWMRBUS_CODEC_MAX_PARTS; i++) total += zmq_msg_size(&parts[i]);
    if (total > s->dx.max_start_bytes) {
        snprintf(why, sizeof why, D1 ": global header of %llu bytes exceeds "
                 "limits.max_start_bytes (%llu)", (unsigned long long)total,
                 (unsigned long long)s->dx.max_start_bytes);
        out->reject(out->user, SWMRBUS_R_LIMIT, true, se.id, why);
        return;
    }
    if (has_config && n < 2) {
        out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, se.id,
                    D1 ": dheader-1.0 with header_detail basic/all but no config part");
        return;
    }
    swmrbus__dx_meta m;
    swmrbus__dx_meta_begin(&s->dx, &m);
    if (has_config) {
        char jwhy[200];
        if (!(cfg = load(&parts[1], s->dx.max_start_bytes, "the detector config", jwhy,
                         sizeof jwhy))) {
            snprintf(why, sizeof why, D1 ": %s", jwhy);
            out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, se.id, why);
            return;
        }
        config_meta(cfg, &m, &se);
        json_t *date = json_object_get(cfg, "data_collection_date");
        if (json_is_string(date) &&
            !swmrbus__dx_rfc3339(json_string_value(date), json_string_length(date), &se.epoch_ns))
            se.epoch_ns = 0;
        json_decref(cfg);
    }
    /* the header appendix (when the DCU has one): after the config and, for
     * all, the three tables with their blobs */
    int app = strcmp(detail, "all") == 0 ? 8 : has_config ? 2 : 1;
    if (n > app && zmq_msg_size(&parts[app]) <= SWMRBUS__DX_USER_DATA_MAX) {
        json_error_t je;
        json_t *a = json_loadb(zmq_msg_data(&parts[app]), zmq_msg_size(&parts[app]),
                               JSON_DECODE_ANY, &je);
        char *text = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (text) swmrbus__dx_meta_user_data(&m, text, strlen(text));
        free(text);
        json_decref(a);
    }
    /* all: dflatfield-1.0 + blob, dpixelmask-1.0 + blob (shape [x, y], type):
     * kept as slices, written as start arrays (README "Start arrays") */
    for (int t = 0; t < 2 && strcmp(detail, "all") == 0; t++) {
        int at = 2 + 2 * t;
        const char *htype = t ? "dpixelmask-1.0" : "dflatfield-1.0";
        char jwhy[200];
        json_t *a = n > at + 1 ? load(&parts[at], s->dx.lim.max_header_bytes, htype, jwhy,
                                      sizeof jwhy)
                               : NULL;
        json_t *shape = json_object_get(a, "shape");
        const char *type = json_string_value(json_object_get(a, "type"));
        if (a && htype_is(a, htype) && type && json_is_array(shape) &&
            json_array_size(shape) == 2 && json_is_integer(json_array_get(shape, 0)) &&
            json_is_integer(json_array_get(shape, 1)) &&
            json_integer_value(json_array_get(shape, 0)) >= 1 &&
            json_integer_value(json_array_get(shape, 1)) >= 1)
            (void)swmrbus__dx_array_add(&s->dx, &se, t ? "pixel_mask" : "flatfield",
                                        "threshold_1", swmrbus_dtype_parse(type, strlen(type)),
                                        (uint64_t)json_integer_value(json_array_get(shape, 1)),
                                        (uint64_t)json_integer_value(json_array_get(shape, 0)),
                                        &parts[at + 1], zmq_msg_data(&parts[at + 1]),
                                        zmq_msg_size(&parts[at + 1]));
        json_decref(a);
    }
    /* all: dcountrate_table-1.0 + blob (shape [w, h], type): where the
     * legacy Dectris file writer keeps it */
    if (strcmp(detail, "all") == 0 && n > 7) {
        char jwhy[200];
        json_t *a = load(&parts[6], s->dx.lim.max_header_bytes, "dcountrate_table-1.0", jwhy,
                         sizeof jwhy);
        json_t *shape = json_object_get(a, "shape");
        const char *type = json_string_value(json_object_get(a, "type"));
        if (a && htype_is(a, "dcountrate_table-1.0") && type && json_is_array(shape) &&
            json_array_size(shape) == 2 && json_is_integer(json_array_get(shape, 0)) &&
            json_is_integer(json_array_get(shape, 1)) &&
            json_integer_value(json_array_get(shape, 0)) >= 1 &&
            json_integer_value(json_array_get(shape, 1)) >= 1) {
            uint64_t dims[2] = {(uint64_t)json_integer_value(json_array_get(shape, 1)),
                                (uint64_t)json_integer_value(json_array_get(shape, 0))};
            (void)swmrbus__dx_array_det(&s->dx, &se, "detectorSpecific/countrate_correction_table",
                                        swmrbus_dtype_parse(type, strlen(type)), 2, dims,
                                        &parts[7], zmq_msg_data(&parts[7]),
                                        zmq_msg_size(&parts[7]));
        }
        json_decref(a);
    }
    se.n_channels = 1;
    swmrbus__dx_open(&s->dx, &se, &m, NULL, 0, out);
}

/* ---- images ---------------------------------------------------------- */

static void on_image(d1_state *s, json_t *h, zmq_msg_t *parts, int n,
                     const swmrbus_decode_sink *out)
{
    char why[240], jwhy[200];
    uint64_t id = 0, frame = 0;
    json_t *d = NULL;
    if (!get_uint(h, "series", &id) || !get_uint(h, "frame", &frame)) {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, false, 0,
                    D1 ": dimage-1.0 without series or frame (unsigned integers)");
        return;
    }
    if (n < 3) {
        snprintf(why, sizeof why, D1 ": an image of %d parts (dimage, dimage_d, blob, ...)", n);
        out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, id, why);
        return;
    }
    swmrbus__dx_series *se = swmrbus__dx_find(&s->dx, id);
    if (!se) {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, id,
                    D1 ": image for a series with no dheader (or ended)");
        return;
    }
    if (!(d = load(&parts[1], s->dx.lim.max_header_bytes, "dimage_d-1.0", jwhy, sizeof jwhy))) {
        snprintf(why, sizeof why, D1 ": %s", jwhy);
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, id, why);
        return;
    }
    swmrbus_format f;
    memset(&f, 0, sizeof f);
    json_t *shape = json_object_get(d, "shape");
    const char *type = json_string_value(json_object_get(d, "type"));
    const char *enc = json_string_value(json_object_get(d, "encoding"));
    uint64_t x = 0, y = 0, size = 0;
    bool has_size = get_uint(d, "size", &size);
    if (!htype_is(d, "dimage_d-1.0") || !json_is_array(shape) || json_array_size(shape) != 2 ||
        !json_is_integer(json_array_get(shape, 0)) || !json_is_integer(json_array_get(shape, 1)) ||
        json_integer_value(json_array_get(shape, 0)) < 1 ||
        json_integer_value(json_array_get(shape, 1)) < 1 || !type || !enc) {
        snprintf(why, sizeof why, D1 ": dimage_d-1.0 needs shape [x, y], type, encoding");
        goto bad;
    }
    x = (uint64_t)json_integer_value(json_array_get(shape, 0));
    y = (uint64_t)json_integer_value(json_array_get(shape, 1));
    f.dtype = swmrbus_dtype_parse(type, strlen(type));
    f.ndim = 2;
    f.shape[0] = y; /* the stream says [x, y] */
    f.shape[1] = x;
    size_t isz = swmrbus_dtype_size(f.dtype);
    char t[40];
    if (f.dtype == SWMRBUS_DTYPE_NONE) {
        snprintf(why, sizeof why, D1 ": dimage_d-1.0 type \"%s\" unknown",
                 swmrbus__dx_printable(t, sizeof t, type, strlen(type)));
        goto bad;
    }
    unsigned bits = 0;
    if (strcmp(enc, "<") == 0) {
        f.encoding = SWMRBUS_ENC_RAW;
    } else if (strcmp(enc, "lz4<") == 0) {
        f.encoding = SWMRBUS_ENC_LZ4;
    } else if (strlen(enc) <= 12 && sscanf(enc, "bs%2u-lz4<", &bits) == 1 &&
               snprintf(t, sizeof t, "bs%u-lz4<", bits) > 0 && strcmp(t, enc) == 0) {
        f.encoding = SWMRBUS_ENC_BSLZ4;
        if (bits != 8 * isz) {
            snprintf(why, sizeof why, D1 ": encoding %s on %s data (element size disagrees)",
                     swmrbus__dx_printable(t, sizeof t, enc, strlen(enc)), type);
            json_decref(d);
            out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, id, why);
            return;
        }
    } else {
        snprintf(why, sizeof why, D1 ": encoding \"%s\" not supported (<, lz4<, bsN-lz4<)",
                 swmrbus__dx_printable(t, sizeof t, enc, strlen(enc)));
        goto bad;
    }
    json_decref(d);
    d = NULL;
    zmq_msg_t *blob = &parts[2];
    size_t len = zmq_msg_size(blob);
    if (has_size && size != len) {
        snprintf(why, sizeof why, D1 ": dimage_d-1.0 size %llu, the blob has %zu bytes",
                 (unsigned long long)size, len);
        out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, id, why);
        return;
    }
    zmq_msg_t pl;
    if (f.encoding != SWMRBUS_ENC_LZ4) {
        if (swmrbus_msg_slice(&pl, blob, zmq_msg_data(blob), len) != SWMRBUS_OK) {
            out->reject(out->user, SWMRBUS_R_LIMIT, true, id, D1 ": out of memory");
            return;
        }
    } else {
        /* a bare LZ4 block: filter 32004's framing of one block */
        uint64_t raw = swmrbus_format_raw_bytes(&f);
        if (raw == 0 || raw > UINT32_MAX || raw > s->dx.lim.max_frame_bytes || len == 0 ||
            len == raw || len > s->dx.lim.max_frame_bytes) {
            snprintf(why, sizeof why, D1 ": lz4< blob of %zu bytes for a %llu-byte image "
                     "(empty, too large, or as large as the image: not storable as filter 32004 "
                     "chunk)", len, (unsigned long long)raw);
            out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, id, why);
            return;
        }
        if (zmq_msg_init_size(&pl, 16 + len) != 0) {
            out->reject(out->user, SWMRBUS_R_LIMIT, true, id, D1 ": out of memory");
            return;
        }
        uint8_t *p = zmq_msg_data(&pl);
        for (int i = 0; i < 8; i++) p[i] = (uint8_t)(raw >> (56 - 8 * i));
        for (int i = 0; i < 4; i++) p[8 + i] = (uint8_t)(raw >> (24 - 8 * i));
        for (int i = 0; i < 4; i++) p[12 + i] = (uint8_t)((uint64_t)len >> (24 - 8 * i));
        memcpy(p + 16, zmq_msg_data(blob), len);
    }
    /* dconfig-1.0 start_time / stop_time / real_time (ns): the frame's
     * times; start_time after the series' data_collection_date: its ts */
    uint64_t ts = 0, v_ns = 0;
    double times[3] = {NAN, NAN, NAN};
    static const char *const tkeys[3] = {"start_time", "stop_time", "real_time"};
    json_t *c = n >= 4 ? load(&parts[3], s->dx.lim.max_header_bytes, "dconfig-1.0", jwhy,
                              sizeof jwhy)
                       : NULL;
    if (c && htype_is(c, "dconfig-1.0")) {
        for (int i = 0; i < 3; i++)
            if (get_uint(c, tkeys[i], &v_ns)) times[i] = (double)v_ns / 1e9;
        if (se->epoch_ns && get_uint(c, "start_time", &v_ns) &&
            v_ns <= UINT64_MAX - se->epoch_ns)
            ts = se->epoch_ns + v_ns;
    }
    json_decref(c);
    swmrbus__dx_image_ts(&s->dx, se, f, frame, ts, times, &pl, 1, out);
    return;
bad:
    json_decref(d);
    out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, id, why);
}

/* ---- the vtable ------------------------------------------------------ */

static swmrbus_err d1_create(const swmrbus_component_cfg *cfg, void **state, char *err,
                             size_t errlen)
{
    d1_state *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    swmrbus_err rc = swmrbus__dx_init(&s->dx, cfg, D1, err, errlen);
    if (rc != SWMRBUS_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return SWMRBUS_OK;
}

static void d1_feed(void *state, zmq_msg_t *parts, int n, const swmrbus_decode_sink *out)
{
    d1_state *s = state;
    char why[240], jwhy[200];
    if (n < 1 || n > SWMRBUS_CODEC_MAX_PARTS) {
        snprintf(why, sizeof why, D1 ": a message of %d parts", n);
        out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, false, 0, why);
        return;
    }
    json_t *h = load(&parts[0], s->dx.lim.max_header_bytes, "the first part", jwhy, sizeof jwhy);
    if (!h) {
        snprintf(why, sizeof why, D1 ": %s", jwhy);
        out->reject(out->user, SWMRBUS_R_BAD_MSGPACK, false, 0, why);
        return;
    }
    if (htype_is(h, "dheader-1.0")) {
        on_header(s, h, parts, n, out);
    } else if (htype_is(h, "dimage-1.0")) {
        on_image(s, h, parts, n, out);
    } else if (htype_is(h, "dseries_end-1.0")) {
        uint64_t id;
        if (get_uint(h, "series", &id)) swmrbus__dx_end(&s->dx, id, out);
        else
            out->reject(out->user, SWMRBUS_R_BAD_HEADER, false, 0,
                        D1 ": dseries_end-1.0 without series (an unsigned integer)");
    } else {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, false, 0,
                    D1 ": htype: expected dheader-1.0, dimage-1.0 or dseries_end-1.0");
    }
    json_decref(h);
}

static void d1_destroy(void **state)
{
    d1_state *s = state ? *state : NULL;
    if (!s) return;
    swmrbus__dx_fini(&s->dx);
    free(s);
    *state = NULL;
}

const swmrbus_decoder_vtable swmrbus__codec_dectris1 = {
    D1, d1_create, d1_feed, NULL, d1_destroy,
};
