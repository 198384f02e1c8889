/* summary: statistics over the replicates of one run directory (issue #10, items 3-4).
 * Single process, no MPI: the driver calls summary_write once, after every replicate finished.
 *
 * Input: DIR/rep<i>/ for i < R, each with the per-run CSVs of src/report/report.h: bon.csv,
 * ppo_<tag>.csv, fits.csv. rep0 decides which files take part (bon.csv and/or ppo_<tag>.csv,
 * fits.csv optional); every other replicate must have the same files with the same objectives,
 * n grid and fits, or it is an error naming the replicate's directory or file and line.
 *
 * Output (definitions in docs/statistics.md):
 *   DIR/summary.csv   method,objective,x,replicates,gold_mean,gold_sd,gold_ci_lo,gold_ci_hi,
 *                     diff_mean,diff_ci_lo,diff_ci_hi,wins
 *                     method bon: x = n; method ppo (tags without a beta) or ppo_beta<b> (tags
 *                     <objective>_beta<b>): x on SUMMARY_GRID points of a common sqrt(KL) grid
 *   DIR/summary.h5    the same columns as datasets, plus gold_replicates and diff_replicates
 *   DIR/fits_summary.csv  curve,form,parameter,replicates,mean,sd,ci_lo,ci_hi (when rep0 has
 *                     fits.csv)
 *   DIR/uncertainty_summary.csv  source,set,parameter,replicates,mean,sd,ci_lo,ci_hi (when rep0
 *                     has uncertainty.csv: Spearman of each uncertainty source with |proxy - gold|)
 * Each is written to a temporary file and renamed, so a failure leaves no partial file.
 */
#ifndef OO_SUMMARY_H
#define OO_SUMMARY_H

#include "stats/stats.h"

#define SUMMARY_GRID 11 /* points of a PPO method's sqrt(KL) grid, 0 .. the common maximum */

typedef struct {
  char method[64];     /* bon, ppo, ppo_beta<b> */
  char objective[96];  /* single, mean, wco, uwo_<lambda>, ... */
  double x;            /* n (bon) or sqrt(KL) in nats^0.5 (ppo methods) */
  stats_ci gold;       /* gold over replicates (PPO: relative to pi_init's evaluation) */
  stats_ci diff;       /* paired gold(objective) − gold(single) at the same x; NaN without single */
  int wins;            /* replicates with diff > 0 */
} summary_row;

typedef struct {
  int R;               /* replicates */
  int n_rows;          /* rows: methods, then objectives, then x ascending */
  summary_row *rows;   /* (n_rows) */
  double *gold;        /* (n_rows, R) each replicate's gold at the row's x */
  double *diff;        /* (n_rows, R) each replicate's paired difference */
  double *proxy;       /* (n_rows, R) each replicate's proxy objective at the row's x (PPO: relative
                        * to pi_init's evaluation, interpolated as gold); drawn by the report only */
  char left_out[256];  /* PPO methods without a sqrt(KL) grid (no KL > 0), ", "-separated; "" if none */
} summary_table;

/* Reads DIR/rep0 .. rep<R-1> and fills t (free with summary_free). R >= 1. */
int summary_compute(summary_table *t, const char *dir, int R);
void summary_free(summary_table *t);

/* summary_compute, then writes DIR/summary.csv, DIR/summary.h5, DIR/fits_summary.csv and
 * DIR/uncertainty_summary.csv. */
int summary_write(const char *dir, int R);

/* Number of consecutive replicate directories DIR/rep0, rep1, ... (0 when rep0 is missing). */
int summary_count_replicates(const char *dir);

/* Paired drop of objective's gold from its peak to the method's largest x ("overoptimizes"):
 * x_peak = the x where the mean gold over replicates is largest (the first such x); per
 * replicate, drop_i = gold_i(x_peak) − gold_i(x_end); *drop = mean and 95% interval of drop_i,
 * *wins = replicates with drop_i > 0. x_peak == x_end gives drop 0. Error if no such rows. */
int summary_peak_drop(const summary_table *t, const char *method, const char *objective,
                      double *x_peak, double *x_end, stats_ci *drop, int *wins);

#endif
