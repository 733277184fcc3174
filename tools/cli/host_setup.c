/* host_setup.c — the host with the built-in kinds, signals and the wait loop
 * shared by `run` and `demo`. */
#include <errno.h>
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
