/* report: plots (gnuplot) and a markdown summary of a run or sweep directory, made from the
 * CSV files the stages write. Single process, no MPI.
 *
 * Input formats (fixed here; the stages write them, tests/report_data/run1 has examples):
 *   bon.csv          objective,n,kl,proxy,gold,gold_se      objectives single, mean, wco,
 *                    uwo_<lambda>, and member_<j> (each single member's own curve)
 *   ppo_<tag>.csv    step,kl,kl_k1,kl_k2,kl_k3,proxy,gold,ens_var,entropy,clipfrac,vf_loss,
 *                    eval_kl,eval_proxy,eval_gold           (eval_* NaN on steps without eval)
 *   fits.csv         source,curve,form,alpha,beta,r2,d_star,gold_star
 *   rm_members.csv   member,epoch,train_loss,train_acc,test_acc,gold_agree
 *   winrates.csv     source,objective,winrate,se            (optional)
 *   uncertainty.csv  source,set,n,samples,spearman          (optional; issue #15)
 *   sweep.csv        point,<axis keys...>,alpha_bon,beta_bon,alpha_rl,beta_rl,rm_params
 *   config.cfg       the resolved config (copied into report.md)
 * Columns are found by header name (extra columns are allowed, order is free); every row has
 * the header's field count; numbers are strtod text, "nan" allowed. Errors name file and line.
 *
 * Outputs: DIR/report/{bon_objectives,bon_scatter,ppo_objectives,ppo_step,ppo_variance,
 * pretrain_loss,rm_accuracy,sweep_alpha_beta}.png (each only when its input exists: bon.csv,
 * bon.h5, ppo_<tag>.csv, lm_<size>_train.csv, rm_members.csv, sweep.csv) and DIR/report/report.md.
 * Every figure comes with <figure>.csv, one row per point it draws (panel,series,role,x,y,y_lo,
 * y_hi; docs/formats.md "Figures"). Style (issue #14): one axis per objective against sqrt(KL),
 * gold solid, proxy dashed; fitted forms only over the data's sqrt(KL) range, dotted to at most
 * 1.5x beyond; PPO x = sqrt of the running maximum of the KL; noisy per-step series as an EMA
 * over their faint raw values.
 *
 * Replicates: when DIR/summary.csv exists (src/stats/summary.h), the report is the replicate
 * report instead: bon_objectives.png and ppo_objectives.png (one axis per curve: mean gold with
 * its 95% band, each replicate, mean proxy dashed), bon_gold.png and ppo_gold.png with 95% bands and per-replicate lines (from
 * DIR/rep<i>/), the paired differences (bon_diff, ppo_diff), the best-of-n picks of rep0,
 * the pretraining loss, verdict tables that claim only what the intervals support,
 * fits_summary.csv. Definitions: docs/statistics.md.
 */
#ifndef OO_REPORT_H
#define OO_REPORT_H

#include <stddef.h>

/* ---- CSV tables ------------------------------------------------------------------------- */

typedef struct {
  char path[4096]; /* the file read (for error messages) */
  int n_cols;      /* fields in the header line */
  int n_rows;      /* data rows (blank lines and '#' comment lines skipped) */
  int header_line; /* 1-based line number of the header (after any leading comment lines) */
  char **names;    /* (n_cols) header names, pointing into buf */
  char **cells;    /* (n_rows * n_cols) cell text row-major, pointing into buf */
  int *lines;      /* (n_rows) 1-based line number of each row in the file */
  char *buf;       /* the file's bytes, cut into cells in place */
} csv_table;

/* Reads a comma-separated file with a header line. Errors: missing/unreadable file, empty
 * file, a row whose field count differs from the header's (names path:line). */
int csv_read(csv_table *t, const char *path);
void csv_free(csv_table *t);
/* Index of the column named name; error naming the file, the column and the header. */
int csv_col(const csv_table *t, const char *name, int *col);
/* Cell (row, col) as a number; error naming path:line, the column and the text. */
int csv_num(const csv_table *t, int row, int col, double *out);
const char *csv_cell(const csv_table *t, int row, int col);
/* PPO curves start at (0, 0) like BoN's: the first row of a ppo_<tag>.csv with finite values in
 * columns kl_col and val_col (the step-0 evaluation, i.e. pi_init on the evaluation prompts)
 * gives the origin subtracted from val_col. *origin = 0 when no such row exists. */
int ppo_eval_origin(const csv_table *t, int kl_col, int val_col, double *origin);
/* Names of dir's ppo_<tag>.csv files (xstrdup'ed, sorted by strcmp) into *names (xmalloc; free
 * each and the array with xfree); *n = count. */
int ppo_list_files(const char *dir, char ***names, int *n);

/* ---- the report ------------------------------------------------------------------------- */

/* Writes DIR/report/<plot>.png and DIR/report/report.md from the CSV files in dir (or, when
 * dir has summary.csv, the replicate report from it and dir/rep<i>/); the path of
 * report.md goes to md_path (cap bytes). Plots whose inputs are missing are skipped with a
 * warning and a note in report.md; it is an error when dir holds none of the inputs.
 * gnuplot is run through popen (env OVEROPT_GNUPLOT overrides the command "gnuplot"). */
int report_write(const char *dir, char *md_path, size_t cap);

#endif
