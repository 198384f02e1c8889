/* plan: what a config will cost before it is submitted (`overopt plan CONFIG -n P`, cmd_plan.c).
 *
 * Per stage: FLOPs from the model shapes and step counts (gpt_train_flops_per_token and the
 * forward cost of sampling and scoring), memory per rank (parameters, gradients, Adam moments and
 * activations of the rank's share of a batch), bytes written, and the wall time on P ranks from
 * per-rank GFLOP/s rates that `overopt bench` measured on this machine (bench.json) or, without
 * one, documented defaults. Stages per replicate count R times, divided among replicate groups.
 */
#ifndef OO_PLAN_H
#define OO_PLAN_H

#include <stddef.h>

/* ~/.cache/overopt/bench.json ($XDG_CACHE_HOME/overopt/bench.json when set). */
int plan_default_bench_path(char *out, size_t cap);
/* mkdir -p of the directory part of path. */
int plan_mkdir_for(const char *path);

#endif
