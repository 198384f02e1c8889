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

/* Eigenvalues of the symmetric n x n matrix S (n <= 3, row-major, destroyed) by cyclic Jacobi
 * rotations; they are left on the diagonal. */
static void sym_eigen(double *S, int n) {
  for (int sweep = 0; sweep < 50; sweep++)
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        double apq = S[p * n + q];
        if (fabs(apq) < 1e-300) continue;
        double theta = (S[q * n + q] - S[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), sn = t * c;
        for (int k = 0; k < n; k++) { /* S <- J^T S J with J the (p,q) rotation */
          double skp = S[k * n + p], skq = S[k * n + q];
          S[k * n + p] = c * skp - sn * skq;
          S[k * n + q] = sn * skp + c * skq;
        }
        for (int k = 0; k < n; k++) {
          double spk = S[p * n + k], sqk = S[q * n + k];
          S[p * n + k] = c * spk - sn * sqk;
          S[q * n + k] = sn * spk + c * sqk;
        }
      }
}

/* How far two backward-stable least-squares solutions of min ||A x - b|| (A (m,n)
 * column-major, n <= 3) may lie apart: each is the exact solution for a perturbation of A and b
 * of relative size c m n eps (Householder QR; Higham, Accuracy and Stability, Thm 20.3), and
 * such a perturbation moves x by at most that times (kappa + kappa^2 ||r|| / (||A|| ||x||)) ||x||
 * (Golub and Van Loan, Thm 5.3.1), kappa = sigma_max / sigma_min from the eigenvalues of A^T A.
 * Twice that (two solutions) with c = 10. */
static double lstsq_tolerance(const double *A, const double *b, const double *x, int m, int n) {
  double S[9] = {0}, rr = 0, xx = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int k = 0; k < m; k++) S[i * n + j] += A[k + i * m] * A[k + j * m];
  sym_eigen(S, n);
  double lmax = 0, lmin = INFINITY;
  for (int i = 0; i < n; i++) lmax = fmax(lmax, S[i * n + i]), lmin = fmin(lmin, S[i * n + i]);
  const double kappa = sqrt(lmax / lmin), norm_a = sqrt(lmax);
  for (int k = 0; k < m; k++) {
    double r = b[k];
    for (int j = 0; j < n; j++) r -= A[k + j * m] * x[j];
    rr += r * r;
  }
  for (int j = 0; j < n; j++) xx += x[j] * x[j];
  const double nx = sqrt(xx);
  return 2 * 10.0 * m * n * 0x1p-52 * (kappa + kappa * kappa * sqrt(rr) / (norm_a * nx)) * nx;
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
        const double tol = lstsq_tolerance(A, b, xs, m, n);
        for (int j = 0; j < n; j++) {
          worst = fmax(worst, fabs(xd[j] - xs[j]));
          EXPECT_MSG(fabs(xd[j] - xs[j]) <= tol, "m=%d mb=%d n=%d x[%d]: pdgels %.17g dgels %.17g (tolerance %.3g)",
                     m, mb, n, j, xd[j], xs[j], tol);
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
    double Ad[2 * M], yd[M], coef[2] = {fs.alpha, fs.beta};
    int m_used = 0;
    fit_design(Ad, yd, &m_used, (fit_form)form, d, y, M);
    const double tol = lstsq_tolerance(Ad, yd, coef, m_used, 2);
    EXPECT_NEAR(fd.alpha, fs.alpha, tol);
    EXPECT_NEAR(fd.beta, fs.beta, tol);
    /* r2 = 1 - SS_res / SS_tot moves with the coefficients by at most 2 ||r|| ||A dx|| / SS_tot,
     * ||A dx|| <= ||A||_F sqrt(2) tol; plus 4 m eps for the rounding of r2's own sums */
    double ss_tot = 0, mean = 0, fro = 0;
    for (int i = 0; i < m_used; i++) mean += yd[i] / m_used;
    for (int i = 0; i < m_used; i++) ss_tot += (yd[i] - mean) * (yd[i] - mean);
    for (int i = 0; i < 2 * m_used; i++) fro += Ad[i] * Ad[i];
    EXPECT_NEAR(fd.r2, fs.r2, 2 * sqrt((1 - fs.r2) * ss_tot) * sqrt(fro) * 2 * tol / ss_tot + 4.0 * m_used * 0x1p-52);
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
