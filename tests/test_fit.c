/* Functional-form fits: exact recovery from curves made by the forms, peaks, no-peak handling,
 * noisy data against a direct normal-equations solve, the linear scaling fit and errors. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "fit/fit.h"
#include "rlhf/rlhf.h"
#include "testing.h"

enum { M = 15 };

/* The BoN grid's d = sqrt(KL_bon(n)) for n = 1, 2, 4, ..., 8192, 12600 (d = 0 included). */
static void bon_d(double *d) {
  for (int i = 0; i < M - 1; i++) d[i] = sqrt(bon_kl(pow(2.0, i)));
  d[M - 1] = sqrt(bon_kl(12600));
}

/* Solves the 2x2 normal equations (X^T X) c = X^T y by Cramer's rule. */
static void normal_equations(double *c, fit_form form, const double *d, const double *y, int m) {
  double s11 = 0, s12 = 0, s22 = 0, t1 = 0, t2 = 0;
  for (int i = 0; i < m; i++) {
    if (form == FIT_RL && d[i] <= 0) continue;
    double x1 = d[i], x2 = form == FIT_BON ? -d[i] * d[i] : -d[i] * log(d[i]);
    s11 += x1 * x1;
    s12 += x1 * x2;
    s22 += x2 * x2;
    t1 += x1 * y[i];
    t2 += x2 * y[i];
  }
  double det = s11 * s22 - s12 * s12;
  c[0] = (t1 * s22 - s12 * t2) / det;
  c[1] = (s11 * t2 - s12 * t1) / det;
}

/* Tolerances of the coefficient checks: dgels (Householder QR) is backward stable, so its alpha
 * and beta are within about c m n eps kappa |x| of the exact ones for data the form fits exactly
 * (Golub and Van Loan, Thm 5.3.1, residual 0), and within c m n eps kappa^2 |x| ||r|| / ||A||
 * more for noisy data, as is the Cramer's-rule normal-equations solve. The designs here have
 * kappa = 13.7 (BoN grid [d, -d^2]) and 15.9 (RL grid [d, -d ln d]); with m = 15, n = 2, c = 10
 * and |x| < 1 that is below 1.5e-12 and 2e-11 (kappa^2 term), so 1e-10 holds for every BLAS
 * kernel and still catches any real error in the design or the solve. */
static void test_exact(void) {
  double d[M], y[M];
  bon_d(d);
  /* BoN */
  double a = 0.6, b = 0.1;
  for (int i = 0; i < M; i++) y[i] = d[i] * (a - b * d[i]);
  fit_result r;
  EXPECT_OK(fit_gold_curve(&r, FIT_BON, d, y, M));
  EXPECT_NEAR(r.alpha, a, 1e-10);
  EXPECT_NEAR(r.beta, b, 1e-10);
  EXPECT_NEAR(r.r2, 1.0, 1e-12);
  EXPECT(r.has_peak && r.n_used == M);
  EXPECT_NEAR(r.d_star, a / (2 * b), 1e-9);
  EXPECT_NEAR(r.gold_star, a * a / (4 * b), 1e-9);
  printf("bon exact: alpha %.15g beta %.15g r2 %.15g d* %.6g gold* %.6g\n", r.alpha, r.beta, r.r2,
         r.d_star, r.gold_star);
  /* RL: d = 0 is skipped */
  a = 0.35;
  b = 0.15;
  double dr[M];
  for (int i = 0; i < M; i++) {
    dr[i] = 0.75 * i; /* 0 .. 10.5 */
    y[i] = fit_form_eval(FIT_RL, a, b, dr[i]);
  }
  EXPECT_OK(fit_gold_curve(&r, FIT_RL, dr, y, M));
  EXPECT(r.n_used == M - 1);
  EXPECT_NEAR(r.alpha, a, 1e-10);
  EXPECT_NEAR(r.beta, b, 1e-10);
  EXPECT_NEAR(r.r2, 1.0, 1e-12);
  double ds = exp(a / b - 1);
  EXPECT(r.has_peak);
  EXPECT_NEAR(r.d_star, ds, 1e-8);
  EXPECT_NEAR(r.gold_star, b * ds, 1e-9);
  /* the peak is the maximum of the form */
  EXPECT(fit_form_eval(FIT_RL, a, b, ds) > fit_form_eval(FIT_RL, a, b, ds * 1.01));
  EXPECT(fit_form_eval(FIT_RL, a, b, ds) > fit_form_eval(FIT_RL, a, b, ds * 0.99));
  printf("rl exact: alpha %.15g beta %.15g d* %.6g gold* %.6g\n", r.alpha, r.beta, r.d_star,
         r.gold_star);
}

static void test_noisy_and_no_peak(void) {
  double d[M], y[M], c[2];
  bon_d(d);
  oo_rng g = oo_rng_make(1, RNG_TEST, 0, 0);
  for (int form = 0; form < 2; form++) {
    for (int i = 0; i < M; i++)
      y[i] = fit_form_eval((fit_form)form, 0.5, 0.12, d[i]) + 0.05 * oo_rng_normal(&g);
    fit_result r;
    EXPECT_OK(fit_gold_curve(&r, (fit_form)form, d, y, M));
    normal_equations(c, (fit_form)form, d, y, M);
    EXPECT_NEAR(r.alpha, c[0], 1e-10);
    EXPECT_NEAR(r.beta, c[1], 1e-10);
    EXPECT(r.r2 < 1.0 && r.r2 > 0.5);
    printf("%s noisy: alpha %.6f beta %.6f (normal equations %.6f %.6f) r2 %.4f\n",
           fit_form_name((fit_form)form), r.alpha, r.beta, c[0], c[1], r.r2);
  }
  /* a curve that keeps rising: beta < 0, no peak */
  for (int i = 0; i < M; i++) y[i] = d[i] * (0.3 + 0.05 * d[i]);
  fit_result r;
  EXPECT_OK(fit_gold_curve(&r, FIT_BON, d, y, M));
  EXPECT_NEAR(r.beta, -0.05, 1e-10);
  EXPECT(!r.has_peak && isinf(r.d_star) && r.d_star > 0 && isnan(r.gold_star));
}

static void test_linear_and_errors(void) {
  double x[5] = {6.5, 7, 7.5, 8, 9.5}, y[5], a, b, r2;
  for (int i = 0; i < 5; i++) y[i] = 0.49 + 0.065 * (x[i] - 6.5);
  EXPECT_OK(fit_linear(&a, &b, &r2, x, y, 5));
  EXPECT_NEAR(b, 0.065, 1e-12);
  EXPECT_NEAR(a, 0.49 - 0.065 * 6.5, 1e-12);
  EXPECT_NEAR(r2, 1.0, 1e-12);
  double same[3] = {1, 1, 1};
  EXPECT(fit_linear(&a, &b, NULL, same, y, 3) != OO_OK);
  EXPECT(strstr(oo_error_message(), "all 3 x values are equal") != NULL);
  /* RL with only d = 0 points, and a rank-deficient design (one distinct d) */
  double z[3] = {0, 0, 0}, one[3] = {2, 2, 2};
  fit_result r;
  EXPECT(fit_gold_curve(&r, FIT_RL, z, y, 3) != OO_OK);
  EXPECT(strstr(oo_error_message(), "0 usable points") != NULL);
  EXPECT(fit_gold_curve(&r, FIT_BON, one, y, 3) != OO_OK);
  printf("expected error: %s\n", oo_error_message());
  EXPECT(strstr(oo_error_message(), "rank deficient") != NULL);
}

/* The numerical rank test (fit_qr_rank_deficient): its threshold is
 * FIT_RANK_FACTOR max(m,n) eps max_k ||A(:,k)||, so a pivot at 1e-3 of that is deficient and one
 * at 1e3 of it is not, on any BLAS kernel; and fit_lstsq reports a design whose second column
 * is the first times -2, whether dgels sees a zero pivot or rounding noise (SkylakeX). */
static void test_rank_threshold(void) {
  enum { m = 3, n = 2 };
  double A[m * n] = {2, 2, 2, -4, -4, -4};
  const double tol = FIT_RANK_FACTOR * m * DBL_EPSILON * sqrt(48.0); /* ||A(:,2)|| = sqrt(48) */
  double r[2] = {-sqrt(12.0), 1e-3 * tol};
  EXPECT(fit_qr_rank_deficient(r, A, m, n) == 1);
  r[1] = 1e3 * tol;
  EXPECT(fit_qr_rank_deficient(r, A, m, n) == -1);
  r[1] = NAN;
  EXPECT(fit_qr_rank_deficient(r, A, m, n) == 1);
  double x[2], b[3] = {1, 2, 3};
  EXPECT(fit_lstsq(x, A, b, m, n) != OO_OK);
  EXPECT(strstr(oo_error_message(), "rank deficient") != NULL);
  /* distinct d, however close together, are full rank: d = 1 and 1 + 1e-6 */
  double d[3] = {1, 1 + 1e-6, 1 + 2e-6}, y[3] = {0.5, 0.5, 0.5};
  fit_result f;
  EXPECT_OK(fit_gold_curve(&f, FIT_BON, d, y, 3));
}

int main(void) {
  long live = oo_mem_live_blocks();
  test_exact();
  test_noisy_and_no_peak();
  test_linear_and_errors();
  test_rank_threshold();
  EXPECT(oo_mem_live_blocks() == live);
  return TEST_SUMMARY();
}
