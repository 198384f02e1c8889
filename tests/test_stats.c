/* test_stats: src/stats against closed forms and published tables.
 * - I_x(a, b) against the binomial sum for integer a, b, and the closed forms I_x(a, 1) = x^a,
 *   I_x(1, b) = 1 − (1−x)^b, I_x(1/2, 1/2) = (2/π) asin √x, at many x (incl. both sides of the
 *   symmetry switch);
 * - the t CDF against Cauchy (df 1) and df 2 closed forms;
 * - t(0.975, df) against the textbook table (6 decimals: tolerance 5e-7 plus rounding);
 * - mean, sd and the interval on a small sample, and NaN for one value;
 * - Spearman's rank correlation against a brute-force one (ranks by counting, ties averaged),
 *   on data with many ties, and its known values (+1, -1, NaN for a constant side).
 * Prints the largest difference seen per group. */
#include <math.h>
#define PI 3.14159265358979323846
#include <stdio.h>

#include "core/core.h"
#include "stats/stats.h"
#include "testing.h"

static double binom_sum(int a, int b, double x) { /* I_x(a,b) = P(Bin(a+b−1, x) >= a) */
  int n = a + b - 1;
  double s = 0;
  for (int j = a; j <= n; j++) {
    double c = exp(lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0));
    s += c * pow(x, j) * pow(1 - x, n - j);
  }
  return s;
}

static void check_betainc(void) {
  double worst = 0;
  const int ab[][2] = {{1, 1}, {2, 3}, {3, 2}, {5, 7}, {10, 4}, {20, 30}, {50, 50}};
  for (int k = 0; k < (int)(sizeof ab / sizeof ab[0]); k++)
    for (int i = 0; i <= 40; i++) {
      double x = i / 40.0, got = stats_betainc(ab[k][0], ab[k][1], x), want = binom_sum(ab[k][0], ab[k][1], x);
      worst = fmax(worst, fabs(got - want));
      EXPECT_MSG(fabs(got - want) < 1e-12, "I_%g(%d,%d) = %.15g, binomial sum %.15g", x, ab[k][0], ab[k][1], got, want);
    }
  for (int i = 1; i < 50; i++) {
    double x = i / 50.0;
    double d1 = fabs(stats_betainc(2.5, 1, x) - pow(x, 2.5));
    double d2 = fabs(stats_betainc(1, 3.5, x) - (1 - pow(1 - x, 3.5)));
    double d3 = fabs(stats_betainc(0.5, 0.5, x) - 2 / PI * asin(sqrt(x)));
    worst = fmax(worst, fmax(d1, fmax(d2, d3)));
    EXPECT_MSG(d1 < 1e-13 && d2 < 1e-13 && d3 < 1e-13, "x = %g: closed forms differ by %g %g %g", x, d1, d2, d3);
  }
  EXPECT_NEAR(stats_betainc(2, 3, 0.5), 0.6875, 1e-15);
  EXPECT(isnan(stats_betainc(-1, 1, 0.5)) && isnan(stats_betainc(1, 1, 1.5)));
  printf("incomplete beta: largest difference %.3g\n", worst);
}

static void check_t_cdf(void) {
  double worst = 0;
  for (int i = -40; i <= 40; i++) {
    double t = i / 4.0;
    double d1 = fabs(stats_t_cdf(t, 1) - (0.5 + atan(t) / PI));
    double d2 = fabs(stats_t_cdf(t, 2) - (0.5 + t / (2 * sqrt(2 + t * t))));
    worst = fmax(worst, fmax(d1, d2));
    EXPECT_MSG(d1 < 1e-14 && d2 < 1e-14, "t = %g: df 1 off by %g, df 2 off by %g", t, d1, d2);
  }
  EXPECT_NEAR(stats_t_cdf(1.959963985, INFINITY), 0.975, 1e-9);
  EXPECT_NEAR(stats_t_quantile(0.025, 4), -2.776445, 1e-6);
  EXPECT_NEAR(stats_t_quantile(0.5, 7), 0, 0);
  printf("t CDF: largest difference %.3g\n", worst);
}

static void check_t95(void) {
  /* Two-sided 95% quantiles as printed in textbook tables (6 decimals). */
  const double table[][2] = {{1, 12.706205}, {2, 4.302653}, {3, 3.182446}, {4, 2.776445},
                             {5, 2.570582},  {6, 2.446912}, {10, 2.228139}, {30, 2.042272},
                             {1000, 1.962339}, {1e7, 1.959964}, {INFINITY, 1.959964}};
  double worst = 0;
  for (int k = 0; k < (int)(sizeof table / sizeof table[0]); k++) {
    double got = stats_t95(table[k][0]);
    worst = fmax(worst, fabs(got - table[k][1]));
    EXPECT_MSG(fabs(got - table[k][1]) <= 5e-7 + 1e-12, "t95(df %g) = %.9f, table %.6f", table[k][0], got, table[k][1]);
    /* lgamma of large arguments carries ~1e-16 relative of a ~df·ln df value into the CDF */
    EXPECT_NEAR(stats_t_cdf(got, table[k][0]), 0.975, table[k][0] > 1e4 ? 1e-9 : 1e-13);
  }
  EXPECT(isnan(stats_t95(0)) && isnan(stats_t_quantile(1, 3)));
  printf("t95 vs table: largest difference %.3g\n", worst);
}

static void check_ci(void) {
  const double x[4] = {1, 2, 4, 7};
  stats_ci c = stats_mean_ci(x, 4);
  EXPECT_NEAR(c.mean, 3.5, 1e-15);
  EXPECT_NEAR(c.sd, sqrt(7.0), 1e-14); /* squares about 3.5: 6.25+2.25+0.25+12.25 = 21, /3 */
  EXPECT_NEAR(c.lo, 3.5 - 3.182446305284263 * sqrt(7.0) / 2, 1e-9);
  EXPECT_NEAR(c.hi, 3.5 + 3.182446305284263 * sqrt(7.0) / 2, 1e-9);
  stats_ci one = stats_mean_ci(x, 1);
  EXPECT(one.mean == 1 && isnan(one.sd) && isnan(one.lo) && isnan(one.hi));
}

/* Fractional rank of x[i] by counting: 1 + #{x_j < x_i} + (#{x_j == x_i} - 1)/2. */
static double brute_rank(const double *x, int n, int i) {
  int less = 0, equal = 0;
  for (int j = 0; j < n; j++) {
    less += x[j] < x[i];
    equal += x[j] == x[i];
  }
  return 1 + less + 0.5 * (equal - 1);
}

static void check_spearman(void) {
  enum { N = 60 };
  double x[N], y[N], work[2 * N], worst = 0;
  int iwork[N];
  oo_rng r = oo_rng_make(7, RNG_TEST, 0, 0);
  for (int trial = 0; trial < 40; trial++) {
    int n = 2 + trial % (N - 1), levels = trial % 3 == 0 ? 3 : trial % 3 == 1 ? 10 : 1000000;
    for (int i = 0; i < n; i++) {
      x[i] = (double)oo_rng_below(&r, (uint64_t)levels);
      y[i] = trial % 2 ? x[i] + (double)oo_rng_below(&r, (uint64_t)levels) : (double)oo_rng_below(&r, (uint64_t)levels);
    }
    double rx[N], ry[N], sx = 0, sy = 0;
    for (int i = 0; i < n; i++) {
      rx[i] = brute_rank(x, n, i);
      ry[i] = brute_rank(y, n, i);
      sx += rx[i] / n;
      sy += ry[i] / n;
    }
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
      sxy += (rx[i] - sx) * (ry[i] - sy);
      sxx += (rx[i] - sx) * (rx[i] - sx);
      syy += (ry[i] - sy) * (ry[i] - sy);
    }
    double want = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN, got = stats_spearman(x, y, n, work, iwork);
    if (isnan(want)) {
      EXPECT_MSG(isnan(got), "trial %d: constant side, got %g", trial, got);
      continue;
    }
    worst = fmax(worst, fabs(got - want));
    EXPECT_MSG(fabs(got - want) < 1e-12, "trial %d (n %d, %d levels): %.15g, brute force %.15g", trial, n, levels, got,
               want);
    double ranks[N];
    stats_ranks(ranks, iwork, x, n);
    for (int i = 0; i < n; i++) EXPECT(ranks[i] == rx[i]);
  }
  printf("spearman: largest difference from brute force %.3g\n", worst);
  double a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 20, 40, 50}, c[5] = {5, 4, 3, 2, 1}, k[5] = {2, 2, 2, 2, 2};
  EXPECT_NEAR(stats_spearman(a, c, 5, work, iwork), -1.0, 1e-15);
  EXPECT_NEAR(stats_spearman(a, a, 5, work, iwork), 1.0, 1e-15);
  EXPECT(isnan(stats_spearman(a, k, 5, work, iwork)) && isnan(stats_spearman(a, b, 1, work, iwork)));
  /* b's ranks are 1, 2.5, 2.5, 4, 5: r = 9.5 / sqrt(10 * 9.5) */
  EXPECT_NEAR(stats_spearman(a, b, 5, work, iwork), 9.5 / sqrt(95.0), 1e-15);
}

int main(void) {
  check_spearman();
  check_betainc();
  check_t_cdf();
  check_t95();
  check_ci();
  return TEST_SUMMARY();
}
