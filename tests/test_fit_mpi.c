/* ScaLAPACK pdgels over the ranks of a communicator against serial dgels, on sizes that leave
 * partial blocks and idle ranks (m not a multiple of the block, m < ranks x block, block 1 so
 * the solution spans grid rows). Every rank must return the same answer. Run on 1, 2, 4 ranks. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "fit/fit.h"
#include "fit_dist.h"
#include "rlhf/rlhf.h"
#include "testing.h"

/* Largest |x - y| over ranks of a value every rank computed: 0 means all ranks agree. */
static double rank_spread(double v, MPI_Comm comm) {
  double lo, hi;
  MPI_Allreduce(&v, &lo, 1, MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(&v, &hi, 1, MPI_DOUBLE, MPI_MAX, comm);
  return hi - lo;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm); /* the test's own communicator */
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);

  const int ms[] = {2, 3, 7, 13, 50, 101, 1000};
  const int mbs[] = {1, 2, 4, 7, 64};
  double worst = 0;
  for (int a = 0; a < 7; a++)
    for (int c = 0; c < 5; c++)
      for (int n = 2; n <= 3; n++) {
        int m = ms[a], mb = mbs[c];
        if (m < n) continue;
        /* the same data on every rank: the stream depends only on (m, mb, n) */
        oo_rng r = oo_rng_make(11, RNG_TEST, (uint64_t)m * 100 + mb, (uint64_t)n);
        double *A = xmalloc(sizeof(double) * m * n), *b = xmalloc(sizeof(double) * m);
        for (int i = 0; i < m * n; i++) A[i] = oo_rng_normal(&r);
        for (int i = 0; i < m; i++) b[i] = oo_rng_normal(&r);
        double xs[3], xd[3];
        EXPECT_OK(fit_lstsq(xs, A, b, m, n));
        EXPECT_OK(fit_lstsq_dist(xd, A, b, m, n, mb, comm));
        for (int j = 0; j < n; j++) {
          double tol = 1e-10 * fmax(1.0, fabs(xs[j]));
          worst = fmax(worst, fabs(xd[j] - xs[j]));
          EXPECT_MSG(fabs(xd[j] - xs[j]) <= tol, "m=%d mb=%d n=%d x[%d]: pdgels %.17g dgels %.17g",
                     m, mb, n, j, xd[j], xs[j]);
          EXPECT(rank_spread(xd[j], comm) == 0.0);
        }
        xfree(&A);
        xfree(&b);
      }

  /* the fits themselves: a noisy BoN curve and an RL curve with a d = 0 point */
  enum { M = 15 };
  double d[M], y[M];
  oo_rng r = oo_rng_make(12, RNG_TEST, 0, 0);
  for (int form = 0; form < 2; form++) {
    for (int i = 0; i < M; i++) {
      d[i] = form == FIT_BON ? sqrt(bon_kl(pow(2.0, i))) : 0.5 * i;
      y[i] = fit_form_eval((fit_form)form, 0.5, 0.1, d[i]) + 0.02 * oo_rng_normal(&r);
    }
    fit_result fs, fd;
    EXPECT_OK(fit_gold_curve(&fs, (fit_form)form, d, y, M));
    EXPECT_OK(fit_gold_curve_dist(&fd, (fit_form)form, d, y, M, 4, comm));
    EXPECT_NEAR(fd.alpha, fs.alpha, 1e-10);
    EXPECT_NEAR(fd.beta, fs.beta, 1e-10);
    EXPECT_NEAR(fd.r2, fs.r2, 1e-10);
    EXPECT(fd.n_used == fs.n_used && fd.has_peak == fs.has_peak);
    EXPECT(rank_spread(fd.alpha, comm) == 0.0 && rank_spread(fd.beta, comm) == 0.0);
  }
  /* an error every rank detects alike returns on every rank (no hang) */
  double z[3] = {0, 0, 0};
  fit_result fe;
  EXPECT(fit_gold_curve_dist(&fe, FIT_RL, z, y, 3, 4, comm) != OO_OK);
  /* one distinct d: exactly rank deficient; pdgels may see a zero or a rounding-sized pivot
   * depending on the BLAS kernel, and both must be reported (fit_qr_rank_deficient) */
  double one[3] = {2, 2, 2};
  EXPECT(fit_gold_curve_dist(&fe, FIT_BON, one, y, 3, 1, comm) != OO_OK);
  EXPECT(strstr(oo_error_message(), "rank deficient") != NULL);

  int local = test_failures, total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, comm);
  double worst_all = 0;
  MPI_Allreduce(&worst, &worst_all, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (rank == 0)
    printf("%d ranks: largest |pdgels - dgels| %.3g, %d failures over all ranks\n", size,
           worst_all, total);
  int rc = TEST_SUMMARY();
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return total ? 1 : rc;
}
