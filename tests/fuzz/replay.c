/* replay.c — runs fuzz inputs through LLVMFuzzerTestOneInput without
 * libFuzzer, so the corpora replay under any compiler in `make test`.
 *
 * Usage: <target>_replay PATH...   (each PATH a corpus directory or a file)
 * Prints "replayed N inputs". A missing path, an unreadable file or a
 * directory with no files is an error (exit 1): an empty corpus proves
 * nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file at path and feeds it to the target (from an exact-size
 * heap copy, so ASan catches reads past its end). 0 on success. */
static int replay_file(const char *path)
{
    int rc = 1;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    if (!buf || (size > 0 && fread(buf, 1, size, f) != size)) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, size);
    rc = 0;
out:
    free(buf);
    if (f) fclose(f);
    return rc;
}

/* Replays every regular file in dir; adds them to *count. 0 on success. */
static int replay_dir(const char *dir, size_t *count)
{
    int rc = 1;
    size_t before = *count;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.') continue;
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof path) {
            fprintf(stderr, "replay: %s/%s: path too long\n", dir, e->d_name);
            goto out;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (replay_file(path) != 0) goto out;
        (*count)++;
    }
    if (*count == before) {
        fprintf(stderr, "replay: %s: no inputs\n", dir);
        goto out;
    }
    rc = 0;
out:
    if (d) closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 1;
    }
    for (int k = 1; k < argc; k++) {
        struct stat st;
        if (stat(argv[k], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[k], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? replay_dir(argv[k], &count) != 0
                                : replay_file(argv[k]) != 0)
            return 1;
        if (!S_ISDIR(st.st_mode)) count++;
    }
    printf("replayed %zu inputs\n", count);
    return 0;
}
