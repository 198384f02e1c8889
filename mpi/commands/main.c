/* overopt: command-line entry point. Thin: global options, then one command from the table.
 *
 * MPI is initialized for every command but `launch`, which runs the MPI launcher. Commands follow commands.h: argv[0] is the command's
 * name, the return value is the exit code, the command prints its own errors. A command that is
 * not collective runs on rank 0 and its exit code is broadcast, so every rank exits alike; a
 * collective command that fails on any rank ends the job through oo_mpi_die (MPI_Abort).
 * `overopt CMD --help` is answered here from the command's option table (options.h), for every
 * command alike; `overopt help --markdown` prints the README's command reference.
 */
#include <stdio.h>
#include <string.h>

#include "blas_pin.h"
#include "comm.h"
#include "commands.h"
#include "core/core.h"
#include "core/machine.h"
#include "model/kernels.h"
#include "provenance.h"

static int n_commands;
static const oo_cmd_spec *const *commands;

static void print_usage(FILE *out) {
  fprintf(out,
          "overopt %s: reward-model overoptimization experiments (synthetic RLHF) with MPI\n\n"
          "usage: [mpirun -n P] overopt COMMAND [arguments] [--quiet] [--debug]\n"
          "       overopt COMMAND --help | overopt help [COMMAND | --markdown] | overopt --version\n\ncommands:\n",
          OVEROPT_VERSION);
  for (int i = 0; i < n_commands; i++)
    fprintf(out, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\noptions (anywhere on the line):\n  --quiet, -q   warnings and errors only\n"
               "  --debug       errors name the source location and call trace\n"
               "exit codes: 0 ok, 1 runtime error, 2 usage error, 3 stopped on a signal (rerun to continue)\n");
}

static const oo_cmd_spec *find_command(const char *name) {
  for (int i = 0; i < n_commands; i++)
    if (!strcmp(name, commands[i]->name)) return commands[i];
  return NULL;
}

static void unknown_command(const char *name) {
  const char *names[32];
  int n = n_commands < 32 ? n_commands : 32;
  for (int i = 0; i < n; i++) names[i] = commands[i]->name;
  const char *near = oo_nearest_name(name, names, n);
  fprintf(stderr, "overopt: unknown command '%s'", name);
  if (near) fprintf(stderr, " (did you mean '%s'?)", near);
  fprintf(stderr, "; commands:");
  for (int i = 0; i < n_commands; i++) fprintf(stderr, "%s %s", i ? "," : "", commands[i]->name);
  fprintf(stderr, " (overopt --help)\n");
}

/* Runs argv[0] (a command name); returns the exit code, the same on every rank. */
static int dispatch(int argc, char **argv, int rank) {
  const oo_cmd_spec *cmd = find_command(argv[0]);
  if (!cmd) {
    if (rank == 0) unknown_command(argv[0]);
    return OO_EXIT_USAGE;
  }
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) opts_print_help(cmd, stdout);
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
  CHECK_MPI_DIE(MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD));
  return code;
}

int main(int argc, char **argv) {
  /* launch starts the MPI launcher as a child: this process must not be an MPI process itself
   * (global options before it have nothing to do; everything after it is the launcher's) */
  int cmd = 1;
  while (cmd < argc && (!strcmp(argv[cmd], "--quiet") || !strcmp(argv[cmd], "-q") || !strcmp(argv[cmd], "--debug")))
    cmd++;
  if (cmd + 1 < argc && !strcmp(argv[cmd], "launch") && strcmp(argv[cmd + 1], "--help") && strcmp(argv[cmd + 1], "-h"))
    return cmd_launch(argc - cmd, argv + cmd);
  /* OpenBLAS chose its kernel when it loaded: a pinned kernel needs a fresh image (issue #10) */
  char kernel[32];
  const char *kernel_source;
  blas_pin_requested(kernel, sizeof kernel, &kernel_source, argc, argv);
  oo_blas_kernel_pin(kernel, argv);
  if (oo_blas_kernel_require(kernel, kernel_source)) { /* every rank checks its own CPU */
    fprintf(stderr, "overopt: %s\n", oo_error_message());
    return 2;
  }
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int rank = oo_log_rank();
  commands = oo_commands(&n_commands);
  provenance_set_argv(argc, argv);
  /* Global options anywhere on the line, removed before the command sees its arguments. */
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
      oo_log_set_level(OO_LOG_WARN);
    else if (!strcmp(argv[i], "--debug"))
      oo_error_set_debug(1);
    else
      argv[1 + n++] = argv[i];
  }
  argc = 1 + n;

  int code = 0;
  if (argc < 2) {
    if (rank == 0) print_usage(stderr);
    code = OO_EXIT_USAGE;
  } else if (!strcmp(argv[1], "help") && argc == 3 && !strcmp(argv[2], "--markdown")) {
    if (rank == 0) opts_print_markdown(commands, n_commands, stdout);
  } else if (!strcmp(argv[1], "help") && argc == 3 && find_command(argv[2])) {
    if (rank == 0) opts_print_help(find_command(argv[2]), stdout);
  } else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || (!strcmp(argv[1], "help") && argc == 2)) {
    if (rank == 0) print_usage(stdout);
  } else if (!strcmp(argv[1], "help")) {
    if (rank == 0) unknown_command(argv[2]);
    code = OO_EXIT_USAGE;
  } else if (!strcmp(argv[1], "--version")) {
    const char *was = oo_blas_kernel_fallback(); /* the kernel OpenBLAS chose, where the guard switched */
    if (rank == 0)
      printf("overopt %s\nCPU %s, BLAS kernel %s%s%s%s, project kernels %s\n", OVEROPT_VERSION, oo_cpu_model(),
             oo_blas_kernel(), was ? " (OpenBLAS chose " : "", was ? was : "", was ? ")" : "", kern_describe());
  } else {
    code = dispatch(argc - 1, argv + 1, rank);
  }
  CHECK_MPI_DIE(MPI_Finalize());
  return code;
}
