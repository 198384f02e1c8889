/* commands: the subcommands of the overopt program, one function each, called by main.c.
 *
 * Convention: argv[0] is the subcommand's name ("check"), its arguments follow; the return
 * value is the process exit code (0 success). A command prints its own errors.
 */
#ifndef OO_COMMANDS_H
#define OO_COMMANDS_H

/* overopt check CONFIG [--set key=value ...] | overopt check --reference
 * Loads, overrides, validates and prints the resolved config (or the markdown reference of
 * every key). Single process, no MPI: call it on rank 0 only. */
int cmd_check(int argc, char **argv);

/* further commands: add their declarations below */

/* overopt layout CONFIG [-n P] [--set key=value ...]: prints the rank roles and member
 * placement for P ranks (default: the world size). Single process: rank 0 only. */
int cmd_layout(int argc, char **argv);

/* overopt report DIR: DIR/report/<plot>.png and report.md from the run's CSV files. Rank 0 only. */
int cmd_report(int argc, char **argv);

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

/* main.c's dispatch table: one row per command. */
typedef struct {
  const char *name;                   /* as typed: overopt NAME ... */
  int (*run)(int argc, char **argv);  /* the command (convention above) */
  const char *usage;                  /* arguments after NAME, for overopt NAME --help */
  const char *help;                   /* one line for overopt --help */
  int collective;                     /* 1: every rank runs it and a failure aborts the job
                                         (oo_mpi_die); 0: rank 0 runs it, exit code broadcast */
} oo_command;


/* User tools (cmd_tools.c), not collective: */
int cmd_sample(int argc, char **argv);  /* overopt sample --model F --prompt TEXT [...]: TSV samples */
int cmd_logprob(int argc, char **argv); /* overopt logprob --model F --text FILE: log p per line */
int cmd_score(int argc, char **argv);   /* overopt score --model F --text FILE: reward per line */

#endif
