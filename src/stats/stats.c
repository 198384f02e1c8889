/* stats: mean, sd, Student-t CDF and quantile, t intervals (see stats.h).
 *
 * The t CDF uses P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2). The continued fraction converges in
 * O(√max(a, b)) terms, so even df = 10⁷ needs a few thousand; df = INFINITY takes the normal
 * CDF through erfc instead. Quantiles bisect the CDF, which is monotone, to the last bit.
 */
#include "stats/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

double stats_mean(const double *x, int n) {
  if (n < 1) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

double stats_sd(const double *x, int n) {
  if (n < 2) return NAN;
  double m = stats_mean(x, n), ss = 0;
  for (int i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
  return sqrt(ss / (n - 1));
}

/* The continued fraction of I_x(a, b)·a·B(a, b) / (x^a (1−x)^b): 1/(1+ d1/(1+ d2/(1+ ...))) with
 * d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)),
 * evaluated forward with the modified Lentz method (C, D kept away from zero by TINY). */
static double betainc_fraction(double a, double b, double x) {
  const double TINY = 1e-300, EPS = 1e-16;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (fabs(d) < TINY) d = TINY;
  d = 1 / d;
  double f = d;
  for (int m = 1; m <= 100000; m++) {
    for (int odd = 0; odd < 2; odd++) {
      double coef = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                        : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + coef * d;
      if (fabs(d) < TINY) d = TINY;
      c = 1 + coef / c;
      if (fabs(c) < TINY) c = TINY;
      d = 1 / d;
      double delta = c * d;
      f *= delta;
      if (odd && fabs(delta - 1) < EPS) return f;
    }
  }
  return f; /* not reached for the a, b of a t distribution below df ~ 10^9 */
}

double stats_betainc(double a, double b, double x) {
  if (!(a > 0 && b > 0 && x >= 0 && x <= 1)) return NAN;
  if (x == 0 || x == 1) return x;
  double log_front = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
  /* The fraction converges fast for x < (a+1)/(a+b+2); beyond it use the symmetry
   * I_x(a, b) = 1 − I_{1−x}(b, a). */
  if (x < (a + 1) / (a + b + 2)) return exp(log_front) * betainc_fraction(a, b, x) / a;
  return 1 - exp(log_front) * betainc_fraction(b, a, 1 - x) / b;
}

double stats_t_cdf(double t, double df) {
  if (isnan(t) || !(df > 0)) return NAN;
  if (isinf(df)) return 0.5 * erfc(-t / sqrt(2.0));
  if (isinf(t)) return t > 0 ? 1 : 0;
  double tail = 0.5 * stats_betainc(df / 2, 0.5, df / (df + t * t)); /* P(T > |t|) */
  return t > 0 ? 1 - tail : tail;
}

double stats_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
  if (p < 0.5) return -stats_t_quantile(1 - p, df);
  if (p == 0.5) return 0;
  double lo = 0, hi = 1;
  while (stats_t_cdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return INFINITY;
  }
  /* Bisection until the bracket stops shrinking: the CDF is monotone, so this is exact to
   * the resolution of the CDF itself. */
  for (int it = 0; it < 2000 && hi - lo > 2 * DBL_EPSILON * hi; it++) {
    double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (stats_t_cdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

double stats_t95(double df) { return stats_t_quantile(0.975, df); }

stats_ci stats_mean_ci(const double *x, int n) {
  stats_ci c = {n, stats_mean(x, n), stats_sd(x, n), NAN, NAN};
  if (n >= 2) {
    double half = stats_t95(n - 1) * c.sd / sqrt((double)n);
    c.lo = c.mean - half;
    c.hi = c.mean + half;
  }
  return c;
}

/* ---- rank correlation ------------------------------------------------------------------------ */

static const double *rank_keys; /* qsort has no context argument: the keys of the current sort (not
                                   thread-safe; overopt ranks are single-threaded outside BLAS) */

static int cmp_by_key(const void *a, const void *b) {
  double x = rank_keys[*(const int *)a], y = rank_keys[*(const int *)b];
  if (x < y) return -1;
  if (x > y) return 1;
  return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); /* stable */
}

void stats_ranks(double *rank, int *order, const double *x, int n) {
  for (int i = 0; i < n; i++) order[i] = i;
  rank_keys = x;
  qsort(order, (size_t)n, sizeof(int), cmp_by_key);
  rank_keys = NULL;
  for (int i = 0; i < n;) {
    int j = i + 1;
    while (j < n && x[order[j]] == x[order[i]]) j++;
    double r = 0.5 * (i + 1 + j); /* mean of ranks i+1 .. j */
    for (int k = i; k < j; k++) rank[order[k]] = r;
    i = j;
  }
}

double stats_spearman(const double *x, const double *y, int n, double *work, int *iwork) {
  if (n < 2) return NAN;
  double *rx = work, *ry = work + n;
  stats_ranks(rx, iwork, x, n);
  stats_ranks(ry, iwork, y, n);
  const double mean = 0.5 * (n + 1); /* the mean of any fractional ranking of n values */
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; i++) {
    double a = rx[i] - mean, b = ry[i] - mean;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  if (sxx == 0 || syy == 0) return NAN;
  return sxy / sqrt(sxx * syy);
}
