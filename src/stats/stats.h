/* stats: the few statistics the replicate summaries need, in plain C (no MPI, no BLAS).
 *
 * Mean and sample standard deviation over replicates, the Student-t distribution (CDF through
 * the regularized incomplete beta function, quantile by bisection on the CDF) and the two-sided
 * 95% t interval mean ± t(0.975, n−1)·sd/√n. Definitions are in docs/statistics.md.
 * Invariants: functions are pure; a quantity that is undefined for the input (sd of one value,
 * an interval from one replicate) is NaN, never an error.
 */
#ifndef OO_STATS_H
#define OO_STATS_H

double stats_mean(const double *x, int n); /* NaN when n < 1 */
double stats_sd(const double *x, int n);   /* sample sd (divisor n−1); NaN when n < 2 */

/* Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1 (NaN outside), by the
 * continued fraction of the incomplete beta, evaluated with the modified Lentz method on
 * whichever of I_x(a, b) and 1 − I_{1−x}(b, a) converges faster. */
double stats_betainc(double a, double b, double x);
/* P(T <= t) for Student's t with df > 0 degrees of freedom (df = INFINITY: standard normal). */
double stats_t_cdf(double t, double df);
/* The p-quantile (0 < p < 1) of Student's t with df > 0 (INFINITY: normal); NaN outside. */
double stats_t_quantile(double p, double df);
/* The two-sided 95% quantile t(0.975, df), e.g. 12.706205 for df = 1, 2.042272 for df = 30. */
double stats_t95(double df);

/* Mean, sd and two-sided 95% Student-t interval of n values (NaN values propagate). */
typedef struct {
  int n;        /* values */
  double mean;  /* arithmetic mean */
  double sd;    /* sample sd (n − 1); NaN when n < 2 */
  double lo;    /* mean − t(0.975, n−1)·sd/√n; NaN when n < 2 */
  double hi;    /* mean + t(0.975, n−1)·sd/√n; NaN when n < 2 */
} stats_ci;

stats_ci stats_mean_ci(const double *x, int n);

/* Ranks 1..n of x in ascending order, ties given the average of the ranks they span (fractional
 * ranking), written to rank (n). order (n) is scratch. NaN values are not allowed (the caller
 * drops them). Sorting is O(n log n) (qsort on indices). */
void stats_ranks(double *rank, int *order, const double *x, int n);
/* Spearman's rank correlation of x and y: the Pearson correlation of their fractional ranks
 * (stats_ranks), so ties are handled exactly. NaN when n < 2 or either side is constant.
 * work: (2n) doubles and iwork (n) ints of scratch. */
double stats_spearman(const double *x, const double *y, int n, double *work, int *iwork);

#endif
