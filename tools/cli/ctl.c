/* ctl.c — `swmrbus ctl ENDPOINT status|flush|close [SERIES]`: one control
 * request, the reply printed as JSON. */
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"

static void print_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: printf("null"); break;
    case MSGPACK_OBJECT_BOOLEAN: printf(o->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: printf("%.6g", o->via.f64); break;
    case MSGPACK_OBJECT_STR:
        putchar('"');
        for (uint32_t i = 0; i < o->via.str.size; i++) {
            unsigned char c = (unsigned char)o->via.str.ptr[i];
            if (c == '"' || c == '\\') printf("\\%c", c);
            else if (c < 0x20) printf("\\u%04x", c);
            else putchar(c);
        }
        putchar('"');
        break;
    case MSGPACK_OBJECT_ARRAY:
        putchar('[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) printf(", ");
            print_json(&o->via.array.ptr[i]);
        }
        putchar(']');
        break;
    case MSGPACK_OBJECT_MAP:
        putchar('{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i) printf(", ");
            print_json(&o->via.map.ptr[i].key);
            printf(": ");
            print_json(&o->via.map.ptr[i].val);
        }
        putchar('}');
        break;
    default: printf("\"<%d>\"", (int)o->type); break;
    }
}

int swmrbus_cli_ctl(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[2], "status") && strcmp(argv[2], "flush") &&
                     strcmp(argv[2], "close"))) {
        fprintf(stderr, "usage: swmrbus ctl ENDPOINT status|flush|close [SERIES]\n");
        return 2;
    }
    int status = 1;
    void *ctx = zmq_ctx_new();
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 10000, linger = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, argc > 3 ? 2 : 1);
    msgpack_pack_str_with_body(&pk, "cmd", 3);
    msgpack_pack_str_with_body(&pk, argv[2], strlen(argv[2]));
    if (argc > 3) {
        msgpack_pack_str_with_body(&pk, "series", 6);
        msgpack_pack_uint64(&pk, strtoull(argv[3], NULL, 10));
    }
    zmq_msg_t rep;
    zmq_msg_init(&rep);
    if (zmq_connect(req, argv[1]) != 0 || zmq_send(req, sb.data, sb.size, 0) < 0 ||
        zmq_msg_recv(&rep, req, 0) < 0) {
        fprintf(stderr, "swmrbus ctl: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        goto out;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, zmq_msg_data(&rep), zmq_msg_size(&rep), NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        print_json(&up.data);
        putchar('\n');
        status = 0;
    } else {
        fprintf(stderr, "swmrbus ctl: the reply is not msgpack\n");
    }
    msgpack_unpacked_destroy(&up);
out:
    zmq_msg_close(&rep);
    msgpack_sbuffer_destroy(&sb);
    zmq_close(req);
    zmq_ctx_term(ctx);
    return status;
}
