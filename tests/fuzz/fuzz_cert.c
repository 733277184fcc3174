/* fuzz_cert.c — libFuzzer target for the CURVE certificate parser
 * (swmrbus_cert_parse). Besides "no crash, no UB, no leak" it checks its
 * promises: on success the Z85 texts decode to the binary keys and a secret
 * key belongs to the public key; on failure the error is one non-empty line
 * naming the file and the output is zeroed. A broken promise aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "swmrbus/curve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swmrbus_cert c;
    char err[256] = "";
    swmrbus_err rc = swmrbus_cert_parse((const char *)data, size, "f.key", &c, err, sizeof err);
    if (rc == SWMRBUS_OK) {
        uint8_t key[32];
        CHECK(strlen(c.public_txt) == 40);
        CHECK(zmq_z85_decode(key, c.public_txt) != NULL);
        CHECK(memcmp(key, c.public_key, 32) == 0);
        if (c.has_secret) {
            char pub[41];
            CHECK(strlen(c.secret_txt) == 40);
            CHECK(zmq_z85_decode(key, c.secret_txt) != NULL);
            CHECK(memcmp(key, c.secret_key, 32) == 0);
            CHECK(zmq_curve_public(pub, c.secret_txt) == 0);
            CHECK(strcmp(pub, c.public_txt) == 0);
        } else {
            CHECK(c.secret_txt[0] == '\0');
        }
    } else {
        static const swmrbus_cert zero;
        CHECK(rc == SWMRBUS_EINVAL);
        CHECK(strncmp(err, "f.key", 5) == 0);
        CHECK(strchr(err, '\n') == NULL);
        CHECK(memcmp(&c, &zero, sizeof c) == 0);
    }
    return 0;
}
