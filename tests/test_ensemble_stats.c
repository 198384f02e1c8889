/* test_ensemble_stats: ensemble_stats over rm_comm equals a single-process computation from the
 * full score matrix, for K = 5 and 3, every rm_ranks setting of this world, and batch sizes
 * crossing the internal chunk; min and matrix exactly, mean and var to 1e-6 relative. Also:
 * a missing or doubly-scored entry fails on every RM rank alike. Run on 1, 2 and 4 ranks. */
#include <math.h>
#include <string.h>

#include "comm.h"
#include "core/core.h"
#include "ensemble.h"
#include "layout.h"
#include "testing.h"

/* Score of (sample i, member m): the same on every rank; an offset makes |mean| >> std for
 * some samples so a naive Σr² − K·mean² variance would show cancellation. */
static float score(int i, int m) {
  oo_rng g = oo_rng_make(1234, RNG_TEST, (uint64_t)i, (uint64_t)m);
  float offset = (i % 3 == 0) ? 300.0f : 0.0f;
  return offset + 2.0f * oo_rng_normal(&g);
}

static double rel_err(double got, double want) {
  return fabs(got - want) / fmax(fabs(want), 1e-6);
}

static double worst_mean = 0, worst_var = 0; /* largest relative errors seen */

static void run_case(int P, int rank, int k, int rm, int n, int with_matrix) {
  oo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.rm.k = k;
  cfg.layout.rm_ranks = rm;
  oo_layout lay;
  oo_comms c;
  EXPECT_OK(layout_build(&lay, P, &cfg));
  EXPECT_OK(comm_build(&c, MPI_COMM_WORLD, &lay));
  if (lay.ranks[rank].is_rm) {
    float *local = xmalloc_floats((size_t)n * k), *matrix = xmalloc_floats((size_t)n * k);
    float *mean = xmalloc_floats(n), *var = xmalloc_floats(n), *mn = xmalloc_floats(n);
    for (int i = 0; i < n; i++)
      for (int m = 0; m < k; m++)
        local[i * k + m] = ensemble_scores_sample(&lay, rank, m, i) ? score(i, m) : NAN;
    EXPECT_OK(ensemble_stats(&c, &lay, n, local, mean, var, mn, with_matrix ? matrix : NULL));
    for (int i = 0; i < n; i++) {
      double s = 0, v = 0;
      float lo = INFINITY;
      for (int m = 0; m < k; m++) {
        float r = score(i, m);
        s += r;
        lo = r < lo ? r : lo;
        if (with_matrix) EXPECT(matrix[i * k + m] == r);
      }
      double mu = s / k;
      for (int m = 0; m < k; m++) v += (score(i, m) - mu) * (score(i, m) - mu);
      v /= k;
      EXPECT(mn[i] == lo);
      double em = rel_err(mean[i], mu), ev = rel_err(var[i], v);
      worst_mean = fmax(worst_mean, em);
      /* Without the matrix the variance is Σr²/K − mean²: accurate only relative to mean². */
      if (with_matrix) worst_var = fmax(worst_var, ev);
      EXPECT_MSG(em <= 1e-6, "mean P=%d k=%d rm=%d i=%d: %.9g vs %.9g", P, k, rm, i, mean[i], mu);
      EXPECT_MSG(with_matrix ? ev <= 1e-6 : fabs(var[i] - v) <= 1e-6 * (v + mu * mu),
                 "var P=%d k=%d rm=%d i=%d matrix=%d: %.9g vs %.9g", P, k, rm, i, with_matrix,
                 var[i], v);
    }
    /* Ownership errors are detected on every RM rank alike. Drop the owner's score of
     * (sample 1, member 0), then have every RM rank score (sample 0, all members). */
    if (n >= 2) {
      int owner = layout_member_rank(&lay, 0, 1 % lay.n_replicas[0]);
      if (rank == owner) local[1 * k + 0] = NAN;
      EXPECT(ensemble_stats(&c, &lay, n, local, mean, var, mn, NULL) != 0);
      EXPECT_MSG(strstr(oo_error_message(), "ensemble_scores_sample"), "%s", oo_error_message());
      if (rank == owner) local[1 * k + 0] = score(1, 0);
      for (int m = 0; m < k; m++) local[m] = score(0, m);
      if (lay.n_rm > 1) /* then some rank claims a member it does not host */
        EXPECT(ensemble_stats(&c, &lay, n, local, mean, var, mn, matrix) != 0);
    }
    xfree(&local);
    xfree(&matrix);
    xfree(&mean);
    xfree(&var);
    xfree(&mn);
  } else {
    float dummy[1];
    EXPECT(ensemble_stats(&c, &lay, 1, dummy, dummy, dummy, dummy, NULL) != 0); /* not RM */
  }
  comm_free(&c);
  layout_free(&lay);
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int P = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long live0 = oo_mem_live_blocks();
  const int ks[] = {5, 3}, ns[] = {1, 7, 300};
  for (int ki = 0; ki < 2; ki++)
    for (int rm = 0; rm <= P; rm++)
      for (int ni = 0; ni < 3; ni++)
        for (int wm = 0; wm <= 1; wm++) run_case(P, rank, ks[ki], rm, ns[ni], wm);
  EXPECT(oo_mem_live_blocks() == live0);
  double wm = 0, wv = 0;
  MPI_Reduce(&worst_mean, &wm, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(&worst_var, &wv, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    printf("ensemble_stats on %d ranks: largest relative error mean %.3g, var (matrix) %.3g; "
           "%d failures over all ranks\n", P, wm, wv, all);
  int rc = TEST_SUMMARY();
  MPI_Finalize();
  return all ? 1 : rc;
}
