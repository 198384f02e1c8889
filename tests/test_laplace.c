/* test_laplace: the last-layer Laplace posterior (mpi/parallel/laplace.h) on 1, 2 and 4 ranks.
 * - Lambda against a dense brute-force build: alpha I + sum p (1 - p) d d^T computed here from the
 *   features, each pair's term added on the rank that holds the pair and summed by an allreduce
 *   (as the rm stage does), compared with one process's own sum;
 * - Sigma = Lambda^-1 and log det Lambda against Gauss-Jordan elimination in long double, for the
 *   LAPACK and the ScaLAPACK paths, and the two paths against each other;
 * - alpha: the brute-force Laplace marginal likelihood on the same grid peaks where
 *   laplace_posterior says, for either path (threshold forced low and high);
 * - laplace_variance against the quadratic form written out, with and without centring.
 * Tolerances: Cholesky solves are backward stable, so Sigma's entries are within
 * c D u cond(Lambda) max|Sigma| of the exact inverse; cond <= trace(Lambda) / alpha (the smallest
 * eigenvalue is at least alpha, the largest at most the trace); c = 8 covers factor and solve.
 * Prints the largest difference relative to that bound. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "laplace.h"
#include "testing.h"

/* Inverse and log det of the (D,D) column-major matrix A by Gauss-Jordan with partial pivoting. */
static void brute_inverse(double *inv, double *log_det, const double *A, int D) {
  long double *a = xmalloc(sizeof(long double) * (size_t)D * 2 * D);
  for (int i = 0; i < D; i++)
    for (int j = 0; j < 2 * D; j++) a[(size_t)i * 2 * D + j] = j < D ? A[(size_t)j * D + i] : (j - D == i);
  long double ld = 0;
  for (int c = 0; c < D; c++) {
    int piv = c;
    for (int r = c + 1; r < D; r++)
      if (fabsl(a[(size_t)r * 2 * D + c]) > fabsl(a[(size_t)piv * 2 * D + c])) piv = r;
    if (piv != c)
      for (int j = 0; j < 2 * D; j++) {
        long double t = a[(size_t)c * 2 * D + j];
        a[(size_t)c * 2 * D + j] = a[(size_t)piv * 2 * D + j];
        a[(size_t)piv * 2 * D + j] = t;
      }
    long double p = a[(size_t)c * 2 * D + c];
    ld += logl(fabsl(p));
    for (int j = 0; j < 2 * D; j++) a[(size_t)c * 2 * D + j] /= p;
    for (int r = 0; r < D; r++) {
      if (r == c) continue;
      long double f = a[(size_t)r * 2 * D + c];
      for (int j = 0; j < 2 * D; j++) a[(size_t)r * 2 * D + j] -= f * a[(size_t)c * 2 * D + j];
    }
  }
  for (int i = 0; i < D; i++)
    for (int j = 0; j < D; j++) inv[(size_t)j * D + i] = (double)a[(size_t)i * 2 * D + D + j];
  *log_det = (double)ld;
  xfree(&a);
}

static void run_case(int C, int B, MPI_Comm comm, int rank, int size) {
  const int D = C + 1;
  float *phi_c = xmalloc(sizeof(float) * (size_t)B * C), *phi_r = xmalloc(sizeof(float) * (size_t)B * C);
  float *theta = xmalloc(sizeof(float) * D);
  oo_rng r = oo_rng_make(11, RNG_TEST, (uint64_t)C, 0); /* the same data on every rank */
  for (int i = 0; i < B * C; i++) {
    phi_c[i] = (float)oo_rng_normal(&r);
    phi_r[i] = (float)oo_rng_normal(&r);
  }
  for (int i = 0; i < D; i++) theta[i] = (float)(0.3 * oo_rng_normal(&r));
  /* each rank adds its slice of the pairs; the allreduce sums them */
  double *G = xcalloc((size_t)D * D, sizeof(double)), *G1 = xcalloc((size_t)D * D, sizeof(double)), ll = 0, ll1 = 0;
  int a = rank * B / size, b = (rank + 1) * B / size;
  laplace_ggn_add(G, &ll, phi_c + (size_t)a * C, phi_r + (size_t)a * C, theta, b - a, C);
  MPI_Allreduce(MPI_IN_PLACE, G, D * D, MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, &ll, 1, MPI_DOUBLE, MPI_SUM, comm);
  laplace_ggn_add(G1, &ll1, phi_c, phi_r, theta, B, C);
  /* dense brute force of the GGN */
  double *Gb = xcalloc((size_t)D * D, sizeof(double)), llb = 0, worst_g = 0, gmax = 0;
  for (int p = 0; p < B; p++) {
    double d[64], m = 0;
    for (int c = 0; c < C; c++) {
      d[c] = (double)phi_c[(size_t)p * C + c] - phi_r[(size_t)p * C + c];
      m += theta[c] * d[c];
    }
    d[C] = 0;
    double s = 1.0 / (1.0 + exp(-m));
    llb += log(s);
    for (int i = 0; i < D; i++)
      for (int j = 0; j < D; j++) Gb[(size_t)j * D + i] += s * (1 - s) * d[i] * d[j];
  }
  for (int i = 0; i < D * D; i++) gmax = fmax(gmax, fabs(Gb[i]));
  for (int i = 0; i < D * D; i++) {
    worst_g = fmax(worst_g, fabs(G[i] - Gb[i]));
    EXPECT_MSG(fabs(G[i] - Gb[i]) <= 1e-12 * gmax && fabs(G1[i] - Gb[i]) <= 1e-12 * gmax, "G[%d] %.17g, brute %.17g", i,
               G[i], Gb[i]);
  }
  EXPECT_NEAR(ll, llb, 1e-10 * fabs(llb));
  /* Sigma and log det at a fixed alpha, both paths, against Gauss-Jordan */
  const double alpha = 0.7;
  double *L = xmalloc(sizeof(double) * (size_t)D * D), *inv = xmalloc(sizeof(double) * (size_t)D * D), ld_b = 0;
  memcpy(L, Gb, sizeof(double) * (size_t)D * D);
  double trace = 0;
  for (int i = 0; i < D; i++) {
    L[(size_t)i * D + i] += alpha;
    trace += L[(size_t)i * D + i];
  }
  brute_inverse(inv, &ld_b, L, D);
  double smax = 0;
  for (int i = 0; i < D * D; i++) smax = fmax(smax, fabs(inv[i]));
  const double tol = 8.0 * D * 0x1p-53 * (trace / alpha) * smax;
  double *S[2], ld[2], worst = 0;
  for (int path = 0; path < 2; path++) {
    S[path] = xmalloc(sizeof(double) * (size_t)D * D);
    EXPECT_OK(laplace_factor(&ld[path], S[path], G, alpha, D, path, comm));
    EXPECT_NEAR(ld[path], ld_b, 8.0 * D * 0x1p-53 * (trace / alpha) * (1 + fabs(ld_b)));
    for (int i = 0; i < D * D; i++) {
      worst = fmax(worst, fabs(S[path][i] - inv[i]) / tol);
      EXPECT_MSG(fabs(S[path][i] - inv[i]) <= tol, "%s path, C %d, entry %d: %.17g, Gauss-Jordan %.17g (tol %.3g)",
                 path ? "ScaLAPACK" : "LAPACK", C, i, S[path][i], inv[i], tol);
    }
  }
  for (int i = 0; i < D * D; i++) EXPECT(fabs(S[0][i] - S[1][i]) <= 2 * tol);
  /* alpha by marginal likelihood, brute force on the same grid */
  double norm2 = 0, best = -INFINITY, best_alpha = 0;
  for (int i = 0; i < D; i++) norm2 += (double)theta[i] * theta[i];
  for (int g = 0; g < LAPLACE_GRID; g++) {
    double al = pow(10.0, -4.0 + 8.0 * g / (LAPLACE_GRID - 1)), l2;
    memcpy(L, Gb, sizeof(double) * (size_t)D * D);
    for (int i = 0; i < D; i++) L[(size_t)i * D + i] += al;
    brute_inverse(inv, &l2, L, D);
    double lml = llb - 0.5 * al * norm2 + 0.5 * D * log(al) - 0.5 * l2;
    if (lml > best) best = lml, best_alpha = al;
  }
  for (int path = 0; path < 2; path++) {
    laplace_post post;
    EXPECT_OK(laplace_posterior(&post, G, theta, ll, D, path ? 2 : 1 << 20, comm));
    EXPECT_MSG(post.alpha == best_alpha && post.scalapack == path, "%s: alpha %g, brute force %g",
               path ? "ScaLAPACK" : "LAPACK", post.alpha, best_alpha);
    EXPECT_NEAR(post.log_ml, best, 1e-9 * (1 + fabs(best)));
    /* the variance of one sample against the quadratic form */
    double q = 0;
    for (int i = 0; i < D; i++)
      for (int j = 0; j < D; j++)
        q += (i < C ? phi_c[i] : 1.0) * post.Sigma[(size_t)j * D + i] * (j < C ? phi_c[j] : 1.0);
    EXPECT_NEAR(laplace_variance(post.Sigma, phi_c, NULL, D), q, 1e-12 * (1 + fabs(q)));
    /* centred: x = [phi_c - phi_r; 0] */
    double mu[64], q2 = 0;
    for (int i = 0; i < C; i++) mu[i] = phi_r[i];
    for (int i = 0; i < C; i++)
      for (int j = 0; j < C; j++)
        q2 += (phi_c[i] - mu[i]) * post.Sigma[(size_t)j * D + i] * (phi_c[j] - mu[j]);
    EXPECT_NEAR(laplace_variance(post.Sigma, phi_c, mu, D), q2, 1e-12 * (1 + fabs(q2)));
    if (rank == 0)
      printf("laplace C %d on %d rank(s), %s (grid %d x %d): alpha %g, log ML %.6f\n", C, size,
             path ? "ScaLAPACK" : "LAPACK", post.grid_rows, post.grid_cols, post.alpha, post.log_ml);
    laplace_free(&post);
  }
  if (rank == 0) printf("laplace C %d: largest |Sigma - Gauss-Jordan| / tolerance %.3g\n", C, worst);
  xfree(&S[0]);
  xfree(&S[1]);
  xfree(&L);
  xfree(&inv);
  xfree(&G);
  xfree(&G1);
  xfree(&Gb);
  xfree(&phi_c);
  xfree(&phi_r);
  xfree(&theta);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  run_case(5, 40, MPI_COMM_WORLD, rank, size);
  run_case(40, 300, MPI_COMM_WORLD, rank, size); /* D = 41 spreads over a 2 x 2 grid in blocks of 10 */
  int fails = TEST_SUMMARY();
  MPI_Allreduce(MPI_IN_PLACE, &fails, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return fails;
}
