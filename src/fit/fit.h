/* fit: Gao et al.'s functional forms for gold reward versus d = sqrt(KL), and the linear fits
 * of their coefficients across a scaling sweep.
 *
 *   BoN: gold(d) = d (alpha - beta d)       peak d* = alpha / (2 beta), gold* = alpha^2 / (4 beta)
 *   RL:  gold(d) = d (alpha - beta ln d)    peak d* = exp(alpha / beta - 1), gold* = beta d*
 *
 * Both are linear in (alpha, beta), so a fit is one least-squares solve on the (m,2) design
 * matrix [d, -d^2] or [d, -d ln d]. The serial solve is LAPACK dgels (from OpenBLAS); the
 * distributed one (mpi/parallel/fit_dist.h) is ScaLAPACK pdgels on the same design matrix, and both
 * share fit_design and fit_finish so they differ only in the solver.
 *
 * Matrices here are column-major (LAPACK's convention): A[i + j*m] is row i, column j.
 */
#ifndef OO_FIT_H
#define OO_FIT_H

typedef enum {
  FIT_BON = 0, /* gold = d (alpha - beta d) */
  FIT_RL = 1,  /* gold = d (alpha - beta ln d); points with d <= 0 are skipped */
} fit_form;

typedef struct {
  fit_form form;    /* which functional form */
  double alpha;     /* linear coefficient */
  double beta;      /* curvature coefficient; > 0 means the gold score peaks */
  double r2;        /* 1 - SS_res / SS_tot of gold over the points used (NaN if SS_tot = 0) */
  int has_peak;     /* 1 when beta > 0; 0: gold grows without bound, d_star = +inf */
  double d_star;    /* argmax over d >= 0 (BoN: max(alpha/2beta, 0)); +inf without a peak */
  double gold_star; /* gold at d_star; NaN without a peak */
  int n_used;       /* points that entered the fit */
} fit_result;

/* "bon" | "rl" for reports. */
const char *fit_form_name(fit_form form);

/* The form's value at d (RL at d <= 0 is 0, its limit). */
double fit_form_eval(fit_form form, double alpha, double beta, double d);

/* Builds the design matrix A (m_used,2) column-major and the target y (m_used) from the points
 * the form accepts (RL drops d <= 0), in input order. A and y hold room for m rows. */
void fit_design(double *A,          // (m,2) column-major, first *m_used rows written
                double *y,          // (m)
                int *m_used,
                fit_form form,
                const double *d,    // (m) sqrt(KL)
                const double *gold, // (m)
                int m);

/* Fills r (form, alpha, beta, r2, peak, n_used) from coefficients coef = {alpha, beta} and the
 * design the fit was solved on. */
void fit_finish(fit_result *r, fit_form form, const double *coef, // coef: (2)
                const double *A, const double *y, int m_used);   // A: (m_used,2), y: (m_used)

/* Numerical rank test on the R factor of a Householder QR of A (m,n) column-major: returns the
 * first column j whose pivot |R_jj| <= FIT_RANK_FACTOR * max(m,n) * eps * max_k ||A(:,k)||_2,
 * or -1 when every pivot is larger. Why this threshold: the computed R is the exact R of
 * A + dA with ||dA(:,k)|| <= c m eps ||A(:,k)|| (Higham, Accuracy and Stability, Thm 19.4; c a
 * small constant), so a column that depends exactly on earlier ones gets a pivot of that
 * size, not 0; which rounding noise it gets depends on the BLAS kernel (issue #10: Intel's
 * SkylakeX kernels give a tiny non-zero pivot where others give 0). A pivot below it also
 * means cond(A) > 1 / (FIT_RANK_FACTOR max(m,n) eps): the solution would carry no digits. */
#define FIT_RANK_FACTOR 10.0 /* covers the constant c of the QR backward-error bound */
int fit_qr_rank_deficient(const double *r_diag, // (n) diagonal of R
                          const double *A,      // (m,n) column-major, the matrix factored
                          int m, int n);

/* Least squares min ||A x - b|| by LAPACK dgels (QR), A (m,n) column-major with m >= n and full
 * column rank. A and b are not modified. Fails on a rank-deficient A, exactly (dgels info) or
 * numerically (fit_qr_rank_deficient). */
int fit_lstsq(double *x,       // (n) solution
              const double *A, // (m,n) column-major
              const double *b, // (m)
              int m, int n);

/* Fits a form to a curve (serial). Needs at least 2 usable points with a full-rank design
 * (for example two distinct positive d). */
int fit_gold_curve(fit_result *r, fit_form form,
                   const double *d,    // (m) sqrt(KL)
                   const double *gold, // (m)
                   int m);

/* Ordinary least squares y = a + b x (for scaling fits such as alpha against log10 params).
 * r2 may be NULL. Needs m >= 2 and x not all equal. */
int fit_linear(double *a, double *b, double *r2,
               const double *x, // (m)
               const double *y, // (m)
               int m);

#endif
