/* swmrbus/curve.h — CURVE security: certificate files and the process's
 * ZAP handler.
 *
 * Certificates are the files czmq's zcert and pyzmq's
 * zmq.auth.create_certificates write: NAME.key holds the public key,
 * NAME.key_secret the public and the secret key, both Z85 text in ZPL
 * ("metadata" and "curve" sections, comments). A socket's `curve` config
 * (see config.h) names this side's secret certificate and, on a binding
 * socket, the allowed clients' public certificates; swmrbus_socket_open()
 * applies it, and the first CURVE server socket of a ZeroMQ context starts
 * that context's ZAP handler, which admits exactly the allowed keys of the
 * socket a client connects to and denies (and counts) every other client. */
#ifndef SWMRBUS_CURVE_H
#define SWMRBUS_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_CURVE_KEY_BYTES 32
#define SWMRBUS_CURVE_Z85_LEN 40      /* characters of a key in Z85 */
#define SWMRBUS_CERT_MAX_BYTES 65536  /* a certificate file larger than this is refused */
#define SWMRBUS_CURVE_MAX_ALLOW 4096  /* public certificates in one allow set */

/* One certificate. The text forms are NUL-terminated Z85. */
typedef struct swmrbus_cert {
    uint8_t public_key[SWMRBUS_CURVE_KEY_BYTES];
    uint8_t secret_key[SWMRBUS_CURVE_KEY_BYTES];    /* zero when !has_secret */
    char public_txt[SWMRBUS_CURVE_Z85_LEN + 1];
    char secret_txt[SWMRBUS_CURVE_Z85_LEN + 1];     /* "" when !has_secret */
    bool has_secret;
} swmrbus_cert;

/* Parses a certificate of len bytes (name is the file name used in error
 * texts). Strict: ZPL lines indented by multiples of 4 spaces, comments
 * ('#') and blank lines; top-level sections "metadata" (any name = "value"
 * children, ignored) and "curve" (public-key, optional secret-key, each at
 * most once, 40 Z85 characters, quoted or not). A secret key must belong to
 * the public key. On error returns EINVAL and err holds "NAME:LINE: problem"
 * (or "NAME: problem"); *out is zeroed. Thread-safe. */
SWMRBUS_API swmrbus_err swmrbus_cert_parse(const char *text, size_t len, const char *name,
                                           swmrbus_cert *out, char *err, size_t errlen);

/* Reads and parses the file at path (at most SWMRBUS_CERT_MAX_BYTES; a
 * regular file). EIO when it cannot be read, EINVAL when malformed; err
 * names the file. Thread-safe. */
SWMRBUS_API swmrbus_err swmrbus_cert_load(const char *path, swmrbus_cert *out, char *err,
                                          size_t errlen);

/* Loads an allow set: path is one public certificate file, or a directory
 * whose files named *.key are public certificates (other files are ignored;
 * an empty set is an error). On success *keys is a malloc'ed array of *n
 * distinct keys (free() it). EIO, EINVAL, ELIMIT (more than
 * SWMRBUS_CURVE_MAX_ALLOW), ENOMEM; err names the file. Thread-safe. */
SWMRBUS_API swmrbus_err swmrbus_cert_load_allow(const char *path,
                                                uint8_t (**keys)[SWMRBUS_CURVE_KEY_BYTES],
                                                size_t *n, char *err, size_t errlen);

/* Clients refused at the security handshake by the CURVE server sockets of
 * the component named component, over every ZeroMQ context of the process
 * that is still alive: keys not in the socket's allow set (ZAP status 400)
 * and clients whose handshake failed (no CURVE, or a wrong server key).
 * 0 for an unknown name. Thread-safe; what the status reply reports as
 * auth_denied. */
SWMRBUS_API uint64_t swmrbus_auth_denied(const char *component);

#ifdef __cplusplus
}
#endif
#endif
