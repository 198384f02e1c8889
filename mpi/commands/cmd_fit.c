/* cmd_fit: `overopt fit DIR`: the fits of a run directory, or of every point of a sweep directory
 * and the scaling fits across them (the work is postprocess.c's). */
#include <stdio.h>

#include "comm.h"
#include "commands.h"
#include "core/core.h"
#include "postprocess.h"

static const oo_option fit_opts[] = {
    {"DIR", NULL, OPT_POSITIONAL, NULL, NULL, 1, "a run directory, or a sweep directory with point_<i>/ subdirectories"},
};
const oo_cmd_spec cmd_fit_spec = {
    "fit", "fit the functional forms to every curve of a run directory, or across a sweep directory",
    "mpirun -n 2 overopt fit runs/quickstart", fit_opts, OO_N_OPTS(fit_opts), cmd_fit, 1};

int cmd_fit(int argc, char **argv) {
  int rank;
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  oo_args a;
  if (opts_parse(&cmd_fit_spec, argc, argv, &a)) { /* every rank parses alike */
    if (rank == 0) opts_usage_error(&cmd_fit_spec);
    return -OO_EXIT_USAGE;
  }
  const char *dir = opt_str(&a, "DIR");
  int sweep = rank == 0 ? fit_is_sweep_dir(dir) : 0;
  CHECK_MPI(MPI_Bcast(&sweep, 1, MPI_INT, 0, MPI_COMM_WORLD));
  int rc = sweep ? fit_sweep_dir(dir, MPI_COMM_WORLD) : fit_run_dir(dir, MPI_COMM_WORLD);
  if (rc) { /* every rank agrees (fit_dir broadcasts rank 0's status); rank 0 holds the message */
    if (rank == 0) fprintf(stderr, "overopt fit: error: %s\n", oo_error_message());
    return -1;
  }
  if (rank == 0) printf("fits: %s/fits.csv%s\n", dir, sweep ? " (and sweep.csv)" : "");
  return 0;
}

