/* codec.c — the registry of built-in decoders and zero-copy slices
 * (swmrbus/codec.h). Each codec lives in a file of its own (codec_*.c) and
 * is listed here. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/codec.h"

extern const swmrbus_decoder_vtable swmrbus__codec_karabo; /* codec_karabo.c */

/* The built-in decoders (add a codec: its vtable here). */
extern const swmrbus_decoder_vtable swmrbus__codec_dectris2; /* codec_dectris2.c */
extern const swmrbus_decoder_vtable swmrbus__codec_dectris1; /* codec_dectris1.c */
static const swmrbus_decoder_vtable *const decoders[] = {
    &swmrbus__codec_dectris2,
    &swmrbus__codec_dectris1,
    &swmrbus__codec_karabo,
    NULL,
};

/* The built-in encoders (a source's out.protocol). */
extern const swmrbus_encoder_vtable swmrbus__encoder_dectris2; /* encode_dectris2.c */
extern const swmrbus_encoder_vtable swmrbus__encoder_karabo;   /* codec_karabo_enc.c */
static const swmrbus_encoder_vtable *const encoders[] = {
    &swmrbus__encoder_dectris2,
    &swmrbus__encoder_karabo,
    NULL,
};

const swmrbus_encoder_vtable *swmrbus_encoder_find(const char *protocol)
{
    for (size_t i = 0; protocol && encoders[i]; i++)
        if (strcmp(encoders[i]->protocol, protocol) == 0) return encoders[i];
    return NULL;
}

/* "swmrbus, a, b, ...": the native protocol, then every vtable's name. The
 * lists are constant: built once (pthread_once), so config loading from
 * several threads at once stays race-free. */
static void list_names(char *out, size_t cap, const char *const *names)
{
    size_t n = (size_t)snprintf(out, cap, "%s", SWMRBUS_PROTOCOL_NATIVE);
    for (size_t i = 0; names[i] && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ", %s", names[i]);
}

static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static char encoder_names[512], decoder_names[512];

static void build_names(void)
{
    const char *names[64];
    size_t k = 0;
    for (size_t i = 0; encoders[i] && k + 1 < 64; i++) names[k++] = encoders[i]->protocol;
    names[k] = NULL;
    list_names(encoder_names, sizeof encoder_names, names);
    k = 0;
    for (size_t i = 0; decoders[i] && k + 1 < 64; i++) names[k++] = decoders[i]->protocol;
    names[k] = NULL;
    list_names(decoder_names, sizeof decoder_names, names);
}

const char *swmrbus_encoder_names(void)
{
    pthread_once(&names_once, build_names);
    return encoder_names;
}

const swmrbus_decoder_vtable *swmrbus_decoder_find(const char *protocol)
{
    for (size_t i = 0; protocol && decoders[i]; i++)
        if (strcmp(decoders[i]->protocol, protocol) == 0) return decoders[i];
    return NULL;
}

const char *swmrbus_decoder_names(void)
{
    pthread_once(&names_once, build_names);
    return decoder_names;
}

/* The reference a slice holds: a copy of the source message. */
static void release_slice(void *data, void *hint)
{
    (void)data;
    zmq_msg_t *ref = hint;
    zmq_msg_close(ref);
    free(ref);
}

swmrbus_err swmrbus_msg_slice(zmq_msg_t *out, zmq_msg_t *src, const void *data, size_t len)
{
    const char *base = zmq_msg_data(src), *p = data;
    size_t size = zmq_msg_size(src);
    if (!p || p < base || (size_t)(p - base) > size || len > size - (size_t)(p - base))
        return SWMRBUS_EINVAL;
    zmq_msg_t *ref = malloc(sizeof *ref);
    if (!ref) return SWMRBUS_ENOMEM;
    zmq_msg_init(ref);
    /* A small message is copied by ZeroMQ (its data live inside the msg):
     * then the slice copies too, which is cheap at that size. */
    if (zmq_msg_copy(ref, src) != 0) {
        free(ref);
        return SWMRBUS_ENOMEM;
    }
    const char *rb = zmq_msg_data(ref);
    if (rb != base) {
        int rc = zmq_msg_init_size(out, len);
        if (rc == 0) memcpy(zmq_msg_data(out), p, len);
        zmq_msg_close(ref);
        free(ref);
        return rc == 0 ? SWMRBUS_OK : SWMRBUS_ENOMEM;
    }
    if (zmq_msg_init_data(out, (void *)(uintptr_t)p, len, release_slice, ref) != 0) {
        zmq_msg_close(ref);
        free(ref);
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}
