/* bench/seqwrite.c — the file-system ceiling: plain sequential write(2)s of
 * the same bytes a frame stream carries, one call per frame, into a new file
 * (through the page cache, no fsync: the sink's H5Fflush does not fsync
 * either).
 *
 *   bench_seqwrite --file PATH --frames N (--bytes B | --payload FILE)
 *
 * JSON: {"t_first": wall ns before the first write, "t_done": after the
 *        last, "frames", "bytes", "cpu_s", "maxrss_kb"} */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    const char *path = NULL, *payload_path = NULL;
    uint64_t frames = 0, nbytes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--file")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--payload")) payload_path = argv[i + 1];
        else if (!strcmp(argv[i], "--frames")) frames = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--bytes")) nbytes = strtoull(argv[i + 1], NULL, 10);
        else goto usage;
    }
    if (!path || !frames || (!nbytes && !payload_path)) goto usage;
    uint8_t *buf;
    size_t len;
    if (payload_path) {
        buf = bench_read_file(payload_path, &len);
    } else {
        len = (size_t)nbytes;
        buf = malloc(len);
        if (buf)
            for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(i >> 1);
    }
    if (!buf) {
        fprintf(stderr, "bench_seqwrite: no payload\n");
        return 1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    uint64_t t_first = bench_wall_ns(), bytes = 0;
    for (uint64_t f = 0; f < frames; f++) {
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(fd, buf + done, len - done);
            if (w <= 0) {
                perror("write");
                return 1;
            }
            done += (size_t)w;
        }
        bytes += len;
    }
    uint64_t t_done = bench_wall_ns();
    close(fd);
    double cpu;
    long rss;
    bench_self_usage(&cpu, &rss);
    printf("{\"t_first\": %llu, \"t_done\": %llu, \"frames\": %llu, \"bytes\": %llu, "
           "\"cpu_s\": %.4f, \"maxrss_kb\": %ld}\n",
           (unsigned long long)t_first, (unsigned long long)t_done, (unsigned long long)frames,
           (unsigned long long)bytes, cpu, rss);
    free(buf);
    return 0;
usage:
    fprintf(stderr, "usage: bench_seqwrite --file PATH --frames N (--bytes B | --payload FILE)\n");
    return 2;
}
