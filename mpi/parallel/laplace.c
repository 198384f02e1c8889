/* laplace: last-layer Laplace posterior of a reward head (see laplace.h).
 *
 * Invariants: every rank of the communicator passes the same G and theta and gets the same
 * alpha, log_ml and Sigma (the ScaLAPACK path assembles Sigma with one SUM-allreduce in which each
 * entry has exactly one contributor, so it is exact). Matrices are column-major, D x D.
 */
#include "laplace.h"

#include <math.h>
#include <string.h>

#include "comm.h"
#include "blacs.h"
#include "core/core.h"

/* LAPACK (inside OpenBLAS) and ScaLAPACK/BLACS (libscalapack-openmpi), Fortran convention:
 * arguments by reference, hidden character lengths last; the BLACS ones are in blacs.h. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info, size_t uplo_len);
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *info,
              size_t uplo_len);
void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia, const int *ja,
              const int *desca, double *b, const int *ib, const int *jb, const int *descb, int *info,
              size_t uplo_len);

void laplace_ggn_add(double *G, double *loglik, const float *phi_c, const float *phi_r, const float *theta, int B,
                     int C) {
  const int D = C + 1;
  double d[LAPLACE_MAX_C];
  for (int b = 0; b < B; b++) {
    const float *pc = phi_c + (size_t)b * C, *pr = phi_r + (size_t)b * C;
    double margin = 0;
    for (int c = 0; c < C; c++) {
      d[c] = (double)pc[c] - (double)pr[c];
      margin += theta[c] * d[c];
    }
    /* log sigmoid(m) = -softplus(-m); p (1 - p) = sigmoid(m) sigmoid(-m) */
    double lp = margin > 0 ? -log1p(exp(-margin)) : margin - log1p(exp(margin));
    double p = exp(lp), h = p * (margin > 0 ? exp(-margin) * p : 1.0 - p);
    *loglik += lp;
    for (int j = 0; j < C; j++) { /* lower and upper triangle alike: G stays exactly symmetric */
      double hj = h * d[j];
      double *col = G + (size_t)j * D;
      for (int i = 0; i < C; i++) col[i] += hj * d[i];
    }
  }
}

double laplace_variance(const double *Sigma, const float *phi, const double *phi_mean, int D) {
  double x[LAPLACE_MAX_C + 1], v = 0;
  for (int i = 0; i < D - 1; i++) x[i] = phi[i] - (phi_mean ? phi_mean[i] : 0.0);
  x[D - 1] = phi_mean ? 0.0 : 1.0;
  for (int j = 0; j < D; j++) {
    double s = 0;
    const double *col = Sigma + (size_t)j * D;
    for (int i = 0; i < D; i++) s += col[i] * x[i];
    v += x[j] * s;
  }
  return v;
}

/* LAPACK: every rank factors its own copy (the same input and code give the same result). */
static int factor_lapack(double *log_det, double *Sigma, const double *G, double alpha, int D) {
  double *a = xmalloc(sizeof(double) * (size_t)D * D);
  memcpy(a, G, sizeof(double) * (size_t)D * D);
  for (int i = 0; i < D; i++) a[(size_t)i * D + i] += alpha;
  int info = 0;
  dpotrf_("L", &D, a, &D, &info, 1);
  if (info != 0) {
    xfree(&a);
    OO_FAIL("laplace: the precision (D = %d, alpha = %g) is not positive definite (dpotrf info %d)", D, alpha, info);
  }
  double ld = 0;
  for (int i = 0; i < D; i++) ld += 2.0 * log(a[(size_t)i * D + i]);
  *log_det = ld;
  if (Sigma) {
    memset(Sigma, 0, sizeof(double) * (size_t)D * D);
    for (int i = 0; i < D; i++) Sigma[(size_t)i * D + i] = 1.0;
    dpotrs_("L", &D, &D, a, &D, Sigma, &D, &info, 1);
  }
  xfree(&a);
  REQUIRE(info == 0, "laplace: dpotrs info %d", info);
  return OO_OK;
}

/* The most square grid rows x cols = P with rows <= cols. */
static void grid_shape(int P, int *rows, int *cols) {
  int r = 1;
  for (int d = 1; d * d <= P; d++)
    if (P % d == 0) r = d;
  *rows = r;
  *cols = P / r;
}

/* Global index of local index l in a block-cyclic distribution (source process 0). */
static int local_to_global(int l, int nb, int me, int np) { return (l / nb) * nb * np + me * nb + l % nb; }

static int factor_scalapack(double *log_det, double *Sigma, const double *G, double alpha, int D, MPI_Comm comm) {
  int P = 0;
  CHECK_MPI(MPI_Comm_size(comm, &P));
  int rows, cols;
  grid_shape(P, &rows, &cols);
  int handle = Csys2blacs_handle(comm), ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", rows, cols);
  int nprow = 0, npcol = 0, myrow = -1, mycol = -1;
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  /* block size: 64 for large D, smaller so that a small D still spreads over every process */
  int nb = D / (2 * (rows > cols ? rows : cols));
  nb = nb < 2 ? 2 : nb > 64 ? 64 : nb;
  const int zero = 0, one = 1;
  int rc = OO_OK, info = 0, desc[9];
  double *a = NULL, *b = NULL, ld = 0;
  if (nprow != rows || npcol != cols || myrow < 0) {
    rc = oo_error_at(__FILE__, __LINE__, "laplace: BLACS grid over %d ranks came back %d x %d", P, nprow, npcol);
    goto done;
  }
  int mloc = numroc_(&D, &nb, &myrow, &zero, &nprow), nloc = numroc_(&D, &nb, &mycol, &zero, &npcol);
  int lld = mloc > 1 ? mloc : 1;
  descinit_(desc, &D, &D, &nb, &nb, &zero, &zero, &ctxt, &lld, &info);
  if (info != 0) {
    rc = oo_error_at(__FILE__, __LINE__, "laplace: descinit rejected argument %d (D = %d, nb = %d)", -info, D, nb);
    goto done;
  }
  a = xcalloc((size_t)lld * (nloc > 0 ? nloc : 1), sizeof(double));
  b = xcalloc((size_t)lld * (nloc > 0 ? nloc : 1), sizeof(double));
  for (int lj = 0; lj < nloc; lj++) {
    int gj = local_to_global(lj, nb, mycol, npcol);
    for (int li = 0; li < mloc; li++) {
      int gi = local_to_global(li, nb, myrow, nprow);
      a[(size_t)lj * lld + li] = G[(size_t)gj * D + gi] + (gi == gj ? alpha : 0.0);
      b[(size_t)lj * lld + li] = gi == gj ? 1.0 : 0.0;
    }
  }
  pdpotrf_("L", &D, a, &one, &one, desc, &info, 1);
  int bad = info;
  CHECK_MPI_GOTO(rc, MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm), done);
  if (bad != 0) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "laplace: the precision (D = %d, alpha = %g) is not positive definite (pdpotrf info %d)", D, alpha,
                     bad);
    goto done;
  }
  for (int lj = 0; lj < nloc; lj++) {
    int gj = local_to_global(lj, nb, mycol, npcol);
    for (int li = 0; li < mloc; li++)
      if (local_to_global(li, nb, myrow, nprow) == gj) ld += 2.0 * log(a[(size_t)lj * lld + li]);
  }
  CHECK_MPI_GOTO(rc, MPI_Allreduce(MPI_IN_PLACE, &ld, 1, MPI_DOUBLE, MPI_SUM, comm), done);
  *log_det = ld;
  if (Sigma) {
    pdpotrs_("L", &D, &D, a, &one, &one, desc, b, &one, &one, desc, &info, 1);
    if (info != 0) {
      rc = oo_error_at(__FILE__, __LINE__, "laplace: pdpotrs info %d", info);
      goto done;
    }
    memset(Sigma, 0, sizeof(double) * (size_t)D * D);
    for (int lj = 0; lj < nloc; lj++) {
      int gj = local_to_global(lj, nb, mycol, npcol);
      for (int li = 0; li < mloc; li++)
        Sigma[(size_t)gj * D + local_to_global(li, nb, myrow, nprow)] = b[(size_t)lj * lld + li];
    }
    /* each entry has exactly one owner: the sum is the assembly, exact */
    CHECK_MPI_GOTO(rc, MPI_Allreduce(MPI_IN_PLACE, Sigma, D * D, MPI_DOUBLE, MPI_SUM, comm), done);
  }
done:
  xfree(&a);
  xfree(&b);
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(handle);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

int laplace_factor(double *log_det, double *Sigma, const double *G, double alpha, int D, int use_scalapack,
                   MPI_Comm comm) {
  REQUIRE(D >= 1 && isfinite(alpha) && alpha > 0, "laplace: D = %d, alpha = %g (need D >= 1, alpha > 0)", D, alpha);
  if (use_scalapack) return factor_scalapack(log_det, Sigma, G, alpha, D, comm);
  return factor_lapack(log_det, Sigma, G, alpha, D);
}

int laplace_posterior(laplace_post *out, const double *G, const float *theta, double loglik, int D, int scalapack_min,
                      MPI_Comm comm) {
  memset(out, 0, sizeof *out);
  REQUIRE(D >= 2 && D <= LAPLACE_MAX_C + 1, "laplace: D = %d head parameters (C + 1) must be 2 .. %d", D, LAPLACE_MAX_C + 1);
  int P = 1;
  CHECK_MPI(MPI_Comm_size(comm, &P));
  const int use = D >= scalapack_min;
  double norm2 = 0;
  for (int i = 0; i < D; i++) norm2 += (double)theta[i] * theta[i];
  double best = -INFINITY, best_alpha = 1, best_ld = 0;
  for (int g = 0; g < LAPLACE_GRID; g++) {
    double alpha = pow(10.0, -4.0 + 8.0 * g / (LAPLACE_GRID - 1)), ld = 0;
    CHECK(laplace_factor(&ld, NULL, G, alpha, D, use, comm));
    double lml = loglik - 0.5 * alpha * norm2 + 0.5 * D * log(alpha) - 0.5 * ld;
    if (lml > best) {
      best = lml;
      best_alpha = alpha;
      best_ld = ld;
    }
  }
  out->D = D;
  out->alpha = best_alpha;
  out->log_ml = best;
  out->log_det = best_ld;
  out->scalapack = use;
  if (use) grid_shape(P, &out->grid_rows, &out->grid_cols);
  else out->grid_rows = out->grid_cols = 1;
  out->Sigma = xmalloc(sizeof(double) * (size_t)D * D);
  int rc = laplace_factor(&best_ld, out->Sigma, G, best_alpha, D, use, comm);
  if (rc) {
    laplace_free(out);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

void laplace_free(laplace_post *p) {
  xfree(&p->Sigma);
  xfree(&p->phi_mean);
  memset(p, 0, sizeof *p);
}
