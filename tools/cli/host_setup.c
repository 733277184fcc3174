/* host_setup.c — the host with the built-in kinds, signals and the wait loop
 * shared by `run` and `demo`. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "scale.h"
#include "sim.h"
#include "swmrbus/log.h"
#include "swmrbus/sink.h"
#ifdef SWMRBUS_HAVE_SOURCE
#include "swmrbus/source.h"
#endif

swmrbus_host *swmrbus_cli_host(void)
{
    swmrbus_host *h = NULL;
    if (swmrbus_host_create(&h) != SWMRBUS_OK) return NULL;
    swmrbus_host_register(h, swmrbus_sink_component());
    swmrbus_host_register(h, swmrbus_sim_component());
    swmrbus_host_register(h, swmrbus_shard_component()); /* issue 12 */
    swmrbus_host_register(h, swmrbus_coord_component()); /* issue 12 */
#ifdef SWMRBUS_HAVE_SOURCE
    swmrbus_host_register(h, swmrbus_source_component());
#endif
    return h;
}

bool swmrbus_cli_builtin_kind(const char *kind)
{
    const swmrbus_component_vtable *vt[] = {
        swmrbus_sink_component(), swmrbus_sim_component(),
        swmrbus_shard_component(), swmrbus_coord_component(), /* issue 12 */
#ifdef SWMRBUS_HAVE_SOURCE
        swmrbus_source_component(),
#endif
    };
    for (size_t i = 0; i < sizeof vt / sizeof vt[0]; i++)
        if (vt[i] && vt[i]->kind && strcmp(vt[i]->kind, kind) == 0) return true;
    return false;
}

/* The heap the frames pass through (malloc's, process-wide): ZeroMQ's I/O
 * thread allocates every received message in its arena and the writer
 * frees it a batch later, a few MiB at a time. With glibc's defaults the
 * arena's top is given back to the kernel whenever 128 KiB of it are free
 * (and messages from 128 KiB up are mmap-ed each) until a freed mmap raises
 * both thresholds, so the I/O thread took a fresh zeroed page, a page fault,
 * for every 4 KiB received: 8 % of the sink's CPU at 16 KiB frames (perf).
 * Keeping TRIM_KEEP free at the top and taking messages up to MMAP_BELOW
 * from the heap ends that; what stays mapped is bounded by the queue the
 * memory bound already counts (the peak is the same: only the giving back
 * after a burst goes). Set by the swmrbus command, not by the library: a process that embeds
 * libswmrbus keeps its own malloc settings (README "Performance"). */
#define TRIM_KEEP (64 << 20)
#define MMAP_BELOW (32 << 20) /* glibc's largest: HEAP_MAX_SIZE / 2 on 64-bit */

void swmrbus_cli_tune_heap(void)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_BELOW);
    mallopt(M_TRIM_THRESHOLD, TRIM_KEEP);
}

void swmrbus_cli_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

swmrbus_err swmrbus_cli_wait(swmrbus_host *h, int (*tick)(void *), void *user)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec slice = {0, 200000000L};
    while (swmrbus_host_running(h) > 0) {
        int sig = sigtimedwait(&set, NULL, &slice);
        if (sig == SIGINT || sig == SIGTERM) {
            swmrbus_log(SWMRBUS_LOG_INFO, NULL, "%s: stopping (flushing and closing files)",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (tick && tick(user)) break;
    }
    swmrbus_host_stop(h);
    return swmrbus_host_wait(h, -1);
}
