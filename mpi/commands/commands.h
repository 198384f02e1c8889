/* commands: the subcommands of the overopt program, one function each, called by main.c.
 *
 * Convention: argv[0] is the subcommand's name ("check"), its arguments follow; the return
 * value is the process exit code (options.h: 0 ok, 1 runtime error, 2 usage, 3 stopped). A command
 * prints its own errors. Each command's option table (cmd_<name>_spec, next to its code) drives
 * its parsing, its --help and the README's command reference.
 */
#ifndef OO_COMMANDS_H
#define OO_COMMANDS_H

#include "options.h"

/* overopt check CONFIG [--set key=value ...] | overopt check --reference
 * Loads, overrides, validates and prints the resolved config (or the markdown reference of
 * every key). Single process, no MPI: call it on rank 0 only. */
int cmd_check(int argc, char **argv);

/* further commands: add their declarations below */

/* overopt layout CONFIG [-n P] [--set key=value ...]: prints the rank roles and member
 * placement for P ranks (default: the world size). Single process: rank 0 only. */
int cmd_layout(int argc, char **argv);
/* overopt fit DIR (cmd_fit.c; the fits are postprocess.h's): collective on the world. */
int cmd_fit(int argc, char **argv);

/* overopt report DIR: DIR/report/<plot>.png and report.md from the run's CSV files. Rank 0 only. */
int cmd_report(int argc, char **argv);

/* overopt summary DIR [--replicates R] (cmd_summary.c): summary.csv/.h5 and fits_summary.csv
 * over the replicates DIR/rep<i>. Rank 0 only. */
int cmd_summary(int argc, char **argv);

/* overopt bench [--config F] [--quick]: training step, KV-cache sampling and reward scoring
 * throughput as a ratio to OpenBLAS sgemm on the same shapes, one BLAS thread; then a PPO step
 * and a best-of-n round at the config's sizes (bench_rlhf.h). Rank 0 only. */
int cmd_bench(int argc, char **argv);

/* overopt run CONFIG [--set ...] [--force] [--until STAGE] and overopt stage NAME CONFIG [--set ...]
 * (run.c): collective on the world (every rank runs the stages). */
int cmd_run(int argc, char **argv);
int cmd_stage(int argc, char **argv);

/* overopt bon-curves RUN_DIR [--uwo-lambda L ...] [--normalize center|zscore] (cmd_bon_curves.c):
 * recomputes bon.h5's curves and bon.csv from the stored scores. Rank 0 only. */
int cmd_bon_curves(int argc, char **argv);

/* User tools (cmd_tools.c), not collective: */
int cmd_sample(int argc, char **argv);  /* overopt sample --model F --prompt TEXT [...]: TSV samples */
int cmd_logprob(int argc, char **argv); /* overopt logprob --model F --text FILE: log p per line */
int cmd_score(int argc, char **argv);   /* overopt score --model F --text FILE: reward per line */

int cmd_plan(int argc, char **argv);    /* overopt plan CONFIG -n P: cost per stage (cmd_plan.c) */

/* overopt launch LAUNCHER ARGS... (cmd_launch.c): runs the launcher as a child, SIGTERM/SIGINT to
 * this process become SIGUSR1 for it; not an MPI process: main.c calls it before MPI_Init. */
int cmd_launch(int argc, char **argv);

extern const oo_cmd_spec cmd_run_spec, cmd_stage_spec, cmd_check_spec, cmd_layout_spec, cmd_plan_spec,
    cmd_sample_spec, cmd_logprob_spec, cmd_score_spec, cmd_bench_spec, cmd_sweep_spec, cmd_fit_spec,
    cmd_report_spec, cmd_bon_curves_spec, cmd_summary_spec, cmd_launch_spec;

/* Every command's table, in help order (commands.c). */
const oo_cmd_spec *const *oo_commands(int *n);

#endif
