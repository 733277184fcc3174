/* g.c — the coordinator's G (README "Scale-out"): how far a sharded series
 * is on disk without a hole, from each shard's complete prefix. */
#include "scale.h"

uint64_t swmrbus__scale_g(const uint64_t *complete, size_t shards)
{
    uint64_t g = UINT64_MAX;
    if (shards == 0) return 0;
    for (size_t k = 0; k < shards; k++) {
        /* shard k's first missing row holds global frame complete[k]*S + k */
        uint64_t first_missing;
        if (complete[k] > (UINT64_MAX - k) / shards) first_missing = UINT64_MAX;
        else first_missing = complete[k] * shards + k;
        if (first_missing < g) g = first_missing;
    }
    return g;
}
