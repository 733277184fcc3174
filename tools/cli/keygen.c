/* keygen.c — `swmrbus keygen NAME [--dir D]`: a CURVE certificate pair,
 * D/NAME.key (public) and D/NAME.key_secret (public and secret, mode 0600),
 * in the format of czmq's zcert and pyzmq's zmq.auth.create_certificates,
 * which swmrbus_cert_load and zmq.auth.load_certificate read. Never
 * overwrites a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "swmrbus/curve.h"

void swmrbus_cli_keygen_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus keygen - write a CURVE certificate pair\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus keygen NAME [--dir DIR]\n"
            "\n"
            "DESCRIPTION\n"
            "    Writes DIR/NAME.key (the public certificate: give it to the other side,\n"
            "    e.g. into a server's `allow` directory, or as a client's `server_key`)\n"
            "    and DIR/NAME.key_secret (public and secret key, mode 0600: it stays on\n"
            "    this host, as a socket's `secret_key`). The format is the one czmq's\n"
            "    zcert and pyzmq's zmq.auth.create_certificates write. An existing file\n"
            "    is never overwritten. DIR (default .) must exist.\n"
            "\n"
            "EXIT STATUS\n"
            "    0   both files written\n"
            "    1   a file could not be written (or exists)\n"
            "    2   usage error\n");
}

static void usage(void)
{
    fprintf(stderr, "usage: swmrbus keygen NAME [--dir DIR]\n"
                    "  writes DIR/NAME.key (public certificate: give it to the other side)\n"
                    "  and DIR/NAME.key_secret (mode 0600: keep it here); DIR defaults to .\n");
}

/* Creates path (O_EXCL: never overwrites) with mode and writes text. */
static int write_new(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        fprintf(stderr, "swmrbus keygen: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (refusing to overwrite a key)" : "");
        return -1;
    }
    size_t len = strlen(text), off = 0;
    int rc = 0;
    /* the umask may have removed bits of mode; a secret file must be 0600 */
    if (fchmod(fd, mode) != 0) rc = -1;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = -1;
        else off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    if (close(fd) != 0) rc = -1;
    if (rc != 0) {
        fprintf(stderr, "swmrbus keygen: %s: %s\n", path, strerror(errno));
        unlink(path);
    }
    return rc;
}

static int valid_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 200) return 0;
    for (; *s; s++)
        if (strchr("/\"'", *s) || (unsigned char)*s < 0x21 || *s == 0x7f) return 0;
    return 1;
}

int swmrbus_cli_keygen(int argc, char **argv)
{
    const char *name = NULL, *dir = ".";
    char pub[SWMRBUS_CURVE_Z85_LEN + 1], sec[SWMRBUS_CURVE_Z85_LEN + 1];
    char ppath[4096], spath[4096], when[64], text[1024];
    int status = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (argv[i][0] == '-' || name) {
            usage();
            return 2;
        } else name = argv[i];
    }
    if (!name) {
        usage();
        return 2;
    }
    if (!valid_name(name)) {
        fprintf(stderr, "swmrbus keygen: NAME must be a file name (no '/', quotes, spaces or control "
                        "characters)\n");
        return 2;
    }
    if ((size_t)snprintf(ppath, sizeof ppath, "%s/%s.key", dir, name) >= sizeof ppath ||
        (size_t)snprintf(spath, sizeof spath, "%s/%s.key_secret", dir, name) >= sizeof spath) {
        fprintf(stderr, "swmrbus keygen: path too long\n");
        return 2;
    }
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "swmrbus keygen: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));

    /* The secret file first: a public certificate without its secret would
     * be useless. */
    snprintf(text, sizeof text,
             "#   ****  Generated on %s by swmrbus keygen  ****\n"
             "#   ZeroMQ CURVE **Secret** Certificate\n"
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
             "\n"
             "metadata\n"
             "    name = \"%s\"\n"
             "curve\n"
             "    public-key = \"%s\"\n"
             "    secret-key = \"%s\"\n",
             when, name, pub, sec);
    if (write_new(spath, 0600, text) != 0) goto out;
    snprintf(text, sizeof text,
             "#   ****  Generated on %s by swmrbus keygen  ****\n"
             "#   ZeroMQ CURVE Public Certificate\n"
             "#   Exchange securely, or use a secure mechanism to verify the contents\n"
             "#   of this file after exchange.\n"
             "\n"
             "metadata\n"
             "    name = \"%s\"\n"
             "curve\n"
             "    public-key = \"%s\"\n",
             when, name, pub);
    if (write_new(ppath, 0644, text) != 0) {
        unlink(spath);
        goto out;
    }
    printf("%s\n%s\n", ppath, spath);
    status = 0;
out:
    explicit_bzero(sec, sizeof sec);
    explicit_bzero(text, sizeof text);
    return status;
}
