/* fit: least-squares fits of Gao et al.'s functional forms and of linear scaling laws (see
 * fit.h). Serial; the distributed solve lives in mpi/parallel/fit_dist.c and reuses fit_design and
 * fit_finish. */
#include "fit/fit.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/core.h"

/* LAPACK (shipped inside OpenBLAS), Fortran calling convention: every argument by reference,
 * plus the hidden length of each character argument at the end (gfortran passes size_t). */
void dgels_(const char *trans, const int *m, const int *n, const int *nrhs, double *a,
            const int *lda, double *b, const int *ldb, double *work, const int *lwork, int *info,
            size_t trans_len);

const char *fit_form_name(fit_form form) { return form == FIT_RL ? "rl" : "bon"; }

double fit_form_eval(fit_form form, double alpha, double beta, double d) {
  if (form == FIT_BON) return d * (alpha - beta * d);
  return d > 0 ? d * (alpha - beta * log(d)) : 0.0;
}

void fit_design(double *A, double *y, int *m_used, fit_form form, const double *d,
                const double *gold, int m) {
  int k = 0;
  for (int i = 0; i < m; i++) {
    if (form == FIT_RL && !(d[i] > 0)) continue; /* ln d undefined; the form is 0 there */
    A[k] = d[i];
    y[k] = gold[i];
    k++;
  }
  /* second column after the first is complete: column j starts at j * k */
  int j = 0;
  for (int i = 0; i < m; i++) {
    if (form == FIT_RL && !(d[i] > 0)) continue;
    A[k + j] = form == FIT_BON ? -d[i] * d[i] : -d[i] * log(d[i]);
    j++;
  }
  *m_used = k;
}

void fit_finish(fit_result *r, fit_form form, const double *coef, const double *A,
                const double *y, int m_used) {
  memset(r, 0, sizeof(*r));
  r->form = form;
  r->alpha = coef[0];
  r->beta = coef[1];
  r->n_used = m_used;
  double mean = 0.0, ss_tot = 0.0, ss_res = 0.0;
  for (int i = 0; i < m_used; i++) mean += y[i];
  mean /= m_used > 0 ? m_used : 1;
  for (int i = 0; i < m_used; i++) {
    double pred = coef[0] * A[i] + coef[1] * A[m_used + i];
    ss_res += (y[i] - pred) * (y[i] - pred);
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  r->r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : NAN;
  if (r->beta > 0) {
    r->has_peak = 1;
    if (form == FIT_BON) {
      double ds = r->alpha / (2.0 * r->beta);
      r->d_star = ds > 0 ? ds : 0.0; /* alpha <= 0: gold only falls, its max over d >= 0 is 0 */
      r->gold_star = fit_form_eval(form, r->alpha, r->beta, r->d_star);
    } else {
      r->d_star = exp(r->alpha / r->beta - 1.0);
      r->gold_star = r->beta * r->d_star;
    }
  } else {
    r->has_peak = 0; /* beta <= 0: no overoptimization within the form */
    r->d_star = INFINITY;
    r->gold_star = NAN;
  }
}

int fit_qr_rank_deficient(const double *r_diag, const double *A, int m, int n) {
  double norm_max = 0.0;
  for (int k = 0; k < n; k++) {
    double ss = 0.0;
    for (int i = 0; i < m; i++) ss += A[i + (size_t)k * m] * A[i + (size_t)k * m];
    norm_max = fmax(norm_max, sqrt(ss));
  }
  const double tol = FIT_RANK_FACTOR * (m > n ? m : n) * DBL_EPSILON * norm_max;
  for (int j = 0; j < n; j++)
    if (!(fabs(r_diag[j]) > tol)) return j; /* NaN counts as deficient */
  return -1;
}

int fit_lstsq(double *x, const double *A, const double *b, int m, int n) {
  REQUIRE(n >= 1 && m >= n, "least squares needs at least as many points as unknowns: m = %d, n = %d", m, n);
  double *a = xmalloc(sizeof(double) * (size_t)m * n), *bb = xmalloc(sizeof(double) * m);
  memcpy(a, A, sizeof(double) * (size_t)m * n);
  memcpy(bb, b, sizeof(double) * m);
  int nrhs = 1, lwork = -1, info = 0, rc = OO_OK;
  double query = 0.0;
  dgels_("N", &m, &n, &nrhs, a, &m, bb, &m, &query, &lwork, &info, 1);
  lwork = (int)query;
  double *work = xmalloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1));
  if (info == 0) dgels_("N", &m, &n, &nrhs, a, &m, bb, &m, work, &lwork, &info, 1);
  double *r_diag = xmalloc(sizeof(double) * n);
  for (int j = 0; j < n; j++) r_diag[j] = a[j + (size_t)j * m]; /* dgels leaves R in a */
  const int weak = info == 0 ? fit_qr_rank_deficient(r_diag, A, m, n) : -1;
  if (info > 0 || weak >= 0)
    rc = oo_error_at(__FILE__, __LINE__,
                     "least squares: the (%d,%d) design matrix is rank deficient (%s %d): "
                     "the fit needs distinct positive d values", m, n,
                     info > 0 ? "dgels info" : "negligible QR pivot in column", info > 0 ? info : weak + 1);
  else if (info < 0)
    rc = oo_error_at(__FILE__, __LINE__, "dgels rejected argument %d", -info);
  else
    memcpy(x, bb, sizeof(double) * n);
  xfree(&r_diag);
  xfree(&a);
  xfree(&bb);
  xfree(&work);
  return rc;
}

int fit_gold_curve(fit_result *r, fit_form form, const double *d, const double *gold, int m) {
  REQUIRE(m >= 0, "fit: negative point count %d", m);
  double *A = xmalloc(sizeof(double) * 2 * (size_t)(m > 0 ? m : 1));
  double *y = xmalloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
  int m_used = 0, rc = OO_OK;
  double coef[2];
  fit_design(A, y, &m_used, form, d, gold, m);
  if (m_used < 2) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "fit %s: %d usable points (of %d), need at least 2%s", fit_form_name(form),
                     m_used, m, form == FIT_RL ? " with d > 0" : "");
    goto done;
  }
  CHECK_GOTO(rc, fit_lstsq(coef, A, y, m_used, 2), done);
  fit_finish(r, form, coef, A, y, m_used);
done:
  xfree(&A);
  xfree(&y);
  return rc;
}

int fit_linear(double *a, double *b, double *r2, const double *x, const double *y, int m) {
  REQUIRE(m >= 2, "linear fit needs at least 2 points, got %d", m);
  double mx = 0.0, my = 0.0;
  for (int i = 0; i < m; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= m;
  my /= m;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (int i = 0; i < m; i++) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  REQUIRE(sxx > 0, "linear fit: all %d x values are equal (%g), the slope is undefined", m, mx);
  *b = sxy / sxx;
  *a = my - *b * mx;
  if (r2) {
    double ss_res = 0.0;
    for (int i = 0; i < m; i++) {
      double e = y[i] - (*a + *b * x[i]);
      ss_res += e * e;
    }
    *r2 = syy > 0 ? 1.0 - ss_res / syy : NAN;
  }
  return OO_OK;
}
