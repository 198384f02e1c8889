/* fit_dist: least squares by ScaLAPACK pdgels on a P x 1 BLACS grid over a communicator (see
 * fit_dist.h).
 *
 * Distribution: global row i (0-based) of A and b lives on grid row (i / mb) % P at local row
 * (i / (mb P)) mb + i % mb; all n columns form one column block. The solution's n rows may
 * span several grid rows when mb < n, so each rank contributes the rows it owns and one
 * allreduce (sum) gives every rank the same x.
 */
#include "fit_dist.h"

#include <stddef.h>
#include <string.h>

#include "blacs.h"
#include "comm.h"
#include "core/core.h"

/* ScaLAPACK (Fortran convention: arguments by reference); BLACS in blacs.h. */
void pdgels_(const char *trans, const int *m, const int *n, const int *nrhs, double *a,
             const int *ia, const int *ja, const int *desca, double *b, const int *ib,
             const int *jb, const int *descb, double *work, const int *lwork, int *info,
             size_t trans_len);

int fit_lstsq_dist(double *x, const double *A, const double *b, int m, int n, int mb,
                   MPI_Comm comm) {
  REQUIRE(n >= 1 && m >= n,
          "distributed least squares needs at least as many points as unknowns: m = %d, n = %d",
          m, n);
  if (mb <= 0) mb = 64;
  int P = 0, rc = OO_OK;
  CHECK_MPI(MPI_Comm_size(comm, &P));

  /* BLACS grid P x 1 over exactly the ranks of comm */
  int handle = Csys2blacs_handle(comm), ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", P, 1);
  int nprow = 0, npcol = 0, myrow = -1, mycol = -1;
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  const int zero = 0, one = 1;
  int lld = 1, desca[9], descb[9], info = 0;
  double *a = NULL, *bl = NULL, *work = NULL, *xs = NULL, *rd = NULL;
  if (nprow != P || npcol != 1 || myrow < 0) { /* the same on every rank */
    rc = oo_error_at(__FILE__, __LINE__, "BLACS grid over %d ranks came back %d x %d (row %d)", P,
                     nprow, npcol, myrow);
    goto done;
  }
  int mloc = numroc_(&m, &mb, &myrow, &zero, &nprow);
  lld = mloc > 1 ? mloc : 1;
  a = xcalloc((size_t)lld * n, sizeof(double));
  bl = xcalloc((size_t)lld, sizeof(double));
  xs = xcalloc((size_t)2 * n, sizeof(double));
  for (int i = 0; i < m; i++) {
    if ((i / mb) % nprow != myrow) continue;
    int li = (i / (mb * nprow)) * mb + i % mb;
    for (int j = 0; j < n; j++) a[li + (size_t)j * lld] = A[i + (size_t)j * m];
    bl[li] = b[i];
  }
  descinit_(desca, &m, &n, &mb, &n, &zero, &zero, &ctxt, &lld, &info);
  if (info == 0) descinit_(descb, &m, &one, &mb, &one, &zero, &zero, &ctxt, &lld, &info);
  if (info != 0) {
    rc = oo_error_at(__FILE__, __LINE__, "descinit rejected argument %d (m = %d, mb = %d)", -info,
                     m, mb);
    goto done;
  }
  double query = 0.0;
  int lwork = -1;
  pdgels_("N", &m, &n, &one, a, &one, &one, desca, bl, &one, &one, descb, &query, &lwork, &info, 1);
  if (info == 0) {
    lwork = (int)query + 1;
    work = xmalloc(sizeof(double) * (size_t)lwork);
    pdgels_("N", &m, &n, &one, a, &one, &one, desca, bl, &one, &one, descb, work, &lwork, &info,
            1);
  }
  /* every rank must take the same branch: agree on the worst info */
  int info_max = info, info_min = info;
  CHECK_MPI_GOTO(rc, MPI_Allreduce(&info, &info_max, 1, MPI_INT, MPI_MAX, comm), done);
  CHECK_MPI_GOTO(rc, MPI_Allreduce(&info, &info_min, 1, MPI_INT, MPI_MIN, comm), done);
  if (info_min < 0) {
    rc = oo_error_at(__FILE__, __LINE__, "pdgels rejected argument %d (m = %d, n = %d, mb = %d)",
                     -info_min, m, n, mb);
    goto done;
  }
  if (info_max > 0) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "least squares: the (%d,%d) design matrix is rank deficient (pdgels info %d):"
                     " the fit needs distinct positive d values", m, n, info_max);
    goto done;
  }
  /* rows 0..n-1 of b hold x and the diagonal of a holds R's pivots: gather both (2n values)
   * from whichever grid rows own them, then apply the serial fit's numerical rank test */
  rd = xcalloc((size_t)2 * n, sizeof(double));
  for (int i = 0; i < n; i++)
    if ((i / mb) % nprow == myrow) {
      const int li = (i / (mb * nprow)) * mb + i % mb;
      xs[i] = bl[li];
      xs[n + i] = a[li + (size_t)i * lld];
    }
  CHECK_MPI_GOTO(rc, MPI_Allreduce(xs, rd, 2 * n, MPI_DOUBLE, MPI_SUM, comm), done);
  const int weak = fit_qr_rank_deficient(rd + n, A, m, n); /* the same on every rank */
  if (weak >= 0) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "least squares: the (%d,%d) design matrix is rank deficient (negligible QR pivot"
                     " in column %d): the fit needs distinct positive d values", m, n, weak + 1);
    goto done;
  }
  memcpy(x, rd, sizeof(double) * n);

done:
  xfree(&a);
  xfree(&bl);
  xfree(&work);
  xfree(&xs);
  xfree(&rd);
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(handle);
  return rc;
}

int fit_gold_curve_dist(fit_result *r, fit_form form, const double *d, const double *gold, int m,
                        int mb, MPI_Comm comm) {
  REQUIRE(m >= 0, "fit: negative point count %d", m);
  double *A = xmalloc(sizeof(double) * 2 * (size_t)(m > 0 ? m : 1));
  double *y = xmalloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
  int m_used = 0, rc = OO_OK;
  double coef[2];
  fit_design(A, y, &m_used, form, d, gold, m);
  if (m_used < 2) { /* the same on every rank: inputs are replicated */
    rc = oo_error_at(__FILE__, __LINE__, "fit %s: %d usable points (of %d), need at least 2%s",
                     fit_form_name(form), m_used, m, form == FIT_RL ? " with d > 0" : "");
    goto done;
  }
  CHECK_GOTO(rc, fit_lstsq_dist(coef, A, y, m_used, 2, mb, comm), done);
  fit_finish(r, form, coef, A, y, m_used);
done:
  xfree(&A);
  xfree(&y);
  return rc;
}
