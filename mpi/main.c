/* overopt: command-line entry point. Thin: global options, then one command from the table.
 *
 * MPI is initialized for every command. Commands follow commands.h: argv[0] is the command's
 * name, the return value is the exit code, the command prints its own errors. A command that is
 * not collective runs on rank 0 and its exit code is broadcast, so every rank exits alike; a
 * collective command that fails on any rank ends the job through oo_mpi_die (MPI_Abort).
 * `overopt CMD --help` is answered here from the table, for every command alike.
 */
#include <stdio.h>
#include <string.h>

#include "comm.h"
#include "commands.h"
#include "core/core.h"
#include "sweep.h"

static const oo_command commands[] = {
    {"check", cmd_check, "CONFIG [--set key=value ...] | --reference",
     "validate a config and print it resolved (or the reference of every key)", 0},
    {"layout", cmd_layout, "CONFIG [-n P] [--set key=value ...]",
     "print rank roles and ensemble-member placement for P ranks (default: world size)", 0},
    {"sample", cmd_sample, "--model FILE --prompt TEXT [...]", "sample from a checkpoint (TSV)",
     0},
    {"logprob", cmd_logprob, "--model FILE --text FILE",
     "log-probability of each line of a text file under a checkpoint", 0},
    {"score", cmd_score, "--model FILE --text FILE",
     "reward of each line of a text file under a reward checkpoint", 0},
    {"run", cmd_run, "CONFIG [--set key=value ...] [--force] [--until STAGE]",
     "run every stage (skipping those whose artifacts are up to date)", 1},
    {"stage", cmd_stage, "NAME CONFIG [--set key=value ...]",
     "run one stage (pretrain, gold, prefs, rm, bon, ppo, fit, report), even if up to date", 1},
    {"bon-curves", cmd_bon_curves, "RUN_DIR [--uwo-lambda L ...]", "recompute best-of-n curves from stored scores", 0},
    {"fit", cmd_fit, "DIR",
     "fit the functional forms to every curve of a run directory, or across a sweep directory", 1},
    {"sweep", cmd_sweep, "CONFIG [--set key=value ...] [--point I] [--slurm] [--dry-run]",
     "run every point of a config's sweep axes (or one point, or submit them as a Slurm job array)", 1},
    {"report", cmd_report, "DIR", "plots and report.md of a run or sweep directory", 0},
    {"bench", cmd_bench, "[--config F] [--quick]",
     "time sgemm, a training step, sampling and scoring (ratios to sgemm), a PPO step and a best-of-n round", 0},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static void print_usage(FILE *out) {
  fprintf(out,
          "overopt %s: reward-model overoptimization experiments (synthetic RLHF) with MPI\n\n"
          "usage: [mpirun -n P] overopt COMMAND [arguments] [--quiet]\n"
          "       overopt COMMAND --help | overopt --help | overopt --version\n\ncommands:\n",
          OVEROPT_VERSION);
  for (int i = 0; i < n_commands; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(out, "\noptions (anywhere on the line):\n  --quiet, -q   warnings and errors only\n");
}

static const oo_command *find_command(const char *name) {
  for (int i = 0; i < n_commands; i++)
    if (!strcmp(name, commands[i].name)) return &commands[i];
  return NULL;
}

static void unknown_command(const char *name) {
  const char *names[32];
  int n = n_commands < 32 ? n_commands : 32;
  for (int i = 0; i < n; i++) names[i] = commands[i].name;
  const char *near = oo_nearest_name(name, names, n);
  fprintf(stderr, "overopt: unknown command '%s'", name);
  if (near) fprintf(stderr, " (did you mean '%s'?)", near);
  fprintf(stderr, "; commands:");
  for (int i = 0; i < n_commands; i++) fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
  fprintf(stderr, " (overopt --help)\n");
}

/* Runs argv[0] (a command name); returns the exit code, the same on every rank. */
static int dispatch(int argc, char **argv, int rank) {
  const oo_command *cmd = find_command(argv[0]);
  if (!cmd) {
    if (rank == 0) unknown_command(argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) printf("usage: overopt %s %s\n  %s\n", cmd->name, cmd->usage, cmd->help);
      return 0;
    }
  if (cmd->collective) {
    /* code < 0: every rank agrees on exit code -code (a bad config found on rank 0 and
     * broadcast, or a clean stop); the command already printed why. code > 0: this rank failed
     * on its own, others may be waiting in a collective. */
    int code = cmd->run(argc, argv);
    if (code > 0) oo_mpi_die(code);
    return -code;
  }
  int code = rank == 0 ? cmd->run(argc, argv) : 0;
  fflush(stdout);
  if (MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) oo_mpi_die(1);
  return code;
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int rank = oo_log_rank();
  /* Global options anywhere on the line, removed before the command sees its arguments. */
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
      oo_log_set_level(OO_LOG_WARN);
    else
      argv[1 + n++] = argv[i];
  }
  argc = 1 + n;

  int code = 0;
  if (argc < 2) {
    if (rank == 0) print_usage(stderr);
    code = 2;
  } else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    if (rank == 0) print_usage(stdout);
  } else if (!strcmp(argv[1], "--version")) {
    if (rank == 0) printf("overopt %s\n", OVEROPT_VERSION);
  } else {
    code = dispatch(argc - 1, argv + 1, rank);
  }
  MPI_Finalize();
  return code;
}
