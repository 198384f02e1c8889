/* test_abort: errors and stop signals across ranks.
 *   test_abort fail   every rank runs a long loop of collectives; the rank named by env
 *                     OO_TEST_FAIL_RANK instead fails a REQUIRE two calls deep (or, with
 *                     OO_TEST_FAIL_MODE=fatal, an OO_FATAL) and ends the job through
 *                     oo_mpi_die / the fatal handler. Without the env it exits 0.
 *                     tests/abort.sh checks exit code, time and stderr.
 *   test_abort stop   rank min(2, P-1) raises SIGUSR1 on itself at step 5; every rank must see
 *                     oo_stop_requested at that same step.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "core/core.h"
#include "testing.h"

static int inner(int rank) {
  REQUIRE(rank < 0, "injected failure on rank %d (OO_TEST_FAIL_RANK)", rank);
  return OO_OK;
}

static int outer(int rank) {
  CHECK(inner(rank));
  return OO_OK;
}

static int run_fail(int rank) {
  const char *env = getenv("OO_TEST_FAIL_RANK");
  const char *mode = getenv("OO_TEST_FAIL_MODE");
  int fail_rank = env ? atoi(env) : -1;
  if (rank == fail_rank) {
    double t0 = oo_now();
    while (oo_now() - t0 < 0.3) {
    } /* let the other ranks reach their collectives */
    if (mode && !strcmp(mode, "fatal")) OO_FATAL("injected fatal error on rank %d", rank);
    int rc = outer(rank);
    if (rc) oo_mpi_die(rc);
  }
  /* Long enough that the job would hang for minutes if the abort did not reach every rank. */
  double x = 1, sum = 0;
  for (long i = 0; i < 20000000; i++) {
    if (MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
    if (fail_rank < 0 && i >= 1000) break; /* no failure injected: a short, passing run */
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return 0;
}

static int run_stop(int rank, int P) {
  const int raiser = P > 2 ? 2 : P - 1, raise_step = 5;
  oo_signals_install();
  int seen = -1;
  for (int step = 0; step < 20; step++) {
    if (rank == raiser && step == raise_step) raise(SIGUSR1);
    if (oo_stop_requested(MPI_COMM_WORLD)) {
      seen = step;
      break;
    }
  }
  int lo = 0, hi = 0;
  MPI_Allreduce(&seen, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&seen, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_MSG(seen == raise_step, "rank %d saw the stop at step %d, expected %d", rank, seen,
             raise_step);
  EXPECT_MSG(lo == hi, "ranks disagree: stop seen at steps %d..%d", lo, hi);
  if (rank == 0) printf("stop raised on rank %d at step %d, seen by all %d ranks at step %d..%d\n",
                        raiser, raise_step, P, lo, hi);
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return all ? 1 : 0;
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  oo_error_set_debug(1); /* the test checks the location and trace, which only --debug shows */
  int rank = oo_log_rank(), P = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  int rc = argc > 1 && !strcmp(argv[1], "stop") ? run_stop(rank, P) : run_fail(rank);
  MPI_Finalize();
  return rc;
}
