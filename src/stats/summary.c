/* summary: the replicate table (summary.csv/.h5) and fits_summary.csv; see summary.h and
 * docs/statistics.md for every definition.
 *
 * Flow: define the rows (bon: rep0's objectives and n grid; ppo: every replicate's evaluation
 * curve, then each method's sqrt(KL) grid), allocate the (rows, R) value matrices, fill them from
 * every replicate, then the paired differences and the statistics per row.
 * Invariants: rows of one (method, objective) are contiguous with x ascending; a replicate whose
 * files differ from rep0's in which objectives, n or curves they hold is an error, never a gap.
 */
#define _POSIX_C_SOURCE 200809L
#include "stats/summary.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "io/h5io.h"
#include "report/report.h"

/* ---- paths and rows ---------------------------------------------------------------------- */

static int rep_dir(char *out, size_t cap, const char *dir, int rep) {
  int n = snprintf(out, cap, "%s/rep%d", dir, rep);
  REQUIRE(n > 0 && (size_t)n < cap, "path too long: '%s/rep%d'", dir, rep);
  return OO_OK;
}

static int rep_file(char *out, size_t cap, const char *dir, int rep, const char *name) {
  char rd[4200];
  CHECK(rep_dir(rd, sizeof rd, dir, rep));
  return oo_path_join(out, cap, rd, name);
}

/* The error for a file rep0 has and replicate rep lacks. */
static int missing_in_replicate(const char *dir, int rep, const char *name) {
  char rd[4200];
  CHECK(rep_dir(rd, sizeof rd, dir, rep));
  OO_FAIL("replicate directory '%s' has no %s (rep0 has one; every replicate needs the same "
          "files: did replicate %d finish?)", rd, name, rep);
}

int summary_count_replicates(const char *dir) {
  char rd[4200];
  struct stat sb;
  int R = 0;
  while (R < 100000 && !rep_dir(rd, sizeof rd, dir, R) && stat(rd, &sb) == 0 && S_ISDIR(sb.st_mode)) R++;
  oo_error_clear();
  return R;
}

static int add_row(summary_table *t, int *cap, const char *method, const char *objective, double x) {
  REQUIRE(strlen(method) < sizeof t->rows[0].method && strlen(objective) < sizeof t->rows[0].objective,
          "method '%s' or objective '%s' name too long", method, objective);
  if (t->n_rows == *cap) t->rows = xrealloc(t->rows, (size_t)(*cap = *cap ? 2 * *cap : 64) * sizeof *t->rows);
  summary_row *r = &t->rows[t->n_rows++];
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", method);
  snprintf(r->objective, sizeof r->objective, "%s", objective);
  r->x = x;
  return OO_OK;
}

static int find_row(const summary_table *t, const char *method, const char *objective, double x) {
  for (int r = 0; r < t->n_rows; r++)
    if (t->rows[r].x == x && !strcmp(t->rows[r].objective, objective) && !strcmp(t->rows[r].method, method))
      return r;
  return -1;
}

void summary_free(summary_table *t) {
  xfree(&t->rows);
  xfree(&t->gold);
  xfree(&t->proxy);
  xfree(&t->diff);
  t->n_rows = 0;
}

/* ---- best-of-n --------------------------------------------------------------------------- */

static int is_member(const char *objective) { return strncmp(objective, "member_", 7) == 0; }

/* Reads bon.csv's objective, n, gold and proxy columns; n must be a positive integer. */
static int bon_open(csv_table *csv, const char *path, int col[4]) {
  CHECK(csv_read(csv, path));
  static const char *const names[] = {"objective", "n", "gold", "proxy"};
  int rc = OO_OK;
  for (int k = 0; k < 4 && !rc; k++) rc = csv_col(csv, names[k], &col[k]);
  if (rc) csv_free(csv);
  return rc;
}

static int bon_n(const csv_table *csv, int r, int col, double *n) {
  CHECK(csv_num(csv, r, col, n));
  REQUIRE(*n >= 1 && *n == floor(*n), "%s:%d: n = %s is not a positive integer", csv->path,
          csv->lines[r], csv_cell(csv, r, col));
  return OO_OK;
}

/* Rows bon/<objective>/<n> for rep0's bon.csv (member_<j> rows left out): objectives in order of
 * first appearance, n ascending within each. */
static int bon_define(summary_table *t, int *cap, const char *path) {
  csv_table csv;
  int col[4], first = t->n_rows, rc = OO_OK;
  CHECK(bon_open(&csv, path, col));
  for (int r = 0; r < csv.n_rows && !rc; r++) {
    const char *obj = csv_cell(&csv, r, col[0]);
    double n;
    CHECK_GOTO(rc, bon_n(&csv, r, col[1], &n), done);
    if (is_member(obj) || find_row(t, "bon", obj, n) >= 0) continue; /* duplicates: bon_fill */
    CHECK_GOTO(rc, add_row(t, cap, "bon", obj, n), done);
  }
  /* group the rows of each objective (stable, in order of first appearance), then sort each
   * group by n (insertion sort: the file is normally sorted already) */
  int n = t->n_rows - first;
  summary_row *grouped = xmalloc((size_t)(n ? n : 1) * sizeof *grouped);
  char *used = xcalloc((size_t)(n ? n : 1), 1);
  for (int i = 0, k = 0; i < n; i++)
    for (int j = i; j < n && !used[i]; j++)
      if (!used[j] && !strcmp(t->rows[first + j].objective, t->rows[first + i].objective)) {
        grouped[k++] = t->rows[first + j];
        used[j] = 1;
      }
  memcpy(t->rows + first, grouped, (size_t)n * sizeof *grouped);
  xfree(&grouped);
  xfree(&used);
  for (int i = first + 1; i < t->n_rows; i++)
    for (int j = i; j > first; j--) {
      summary_row *a = &t->rows[j - 1], *b = &t->rows[j];
      if (strcmp(a->objective, b->objective) || a->x <= b->x) break;
      summary_row tmp = *a;
      *a = *b;
      *b = tmp;
    }
  if (!rc && n == 0) rc = oo_error_at(__FILE__, __LINE__, "%s: no data rows (besides member_<j>)", path);
done:
  csv_free(&csv);
  return rc;
}

/* Fills column rep of t->gold for the bon rows from one replicate's bon.csv; every bon row must
 * appear exactly once. */
static int bon_fill(summary_table *t, const char *path, int rep) {
  csv_table csv;
  int col[4], rc = OO_OK;
  CHECK(bon_open(&csv, path, col));
  char *seen = xcalloc((size_t)t->n_rows, 1);
  for (int r = 0; r < csv.n_rows && !rc; r++) {
    const char *obj = csv_cell(&csv, r, col[0]);
    double n, gold, proxy;
    if (is_member(obj)) continue;
    CHECK_GOTO(rc, bon_n(&csv, r, col[1], &n), done);
    CHECK_GOTO(rc, csv_num(&csv, r, col[2], &gold), done);
    CHECK_GOTO(rc, csv_num(&csv, r, col[3], &proxy), done);
    int row = find_row(t, "bon", obj, n);
    if (row < 0 || seen[row]) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: objective '%s' at n = %.0f %s", path, csv.lines[r], obj, n,
                       row < 0 ? "is not in rep0's bon.csv (replicates must share objectives and n)"
                               : "appears twice");
      goto done;
    }
    seen[row] = 1;
    t->gold[(size_t)row * t->R + rep] = gold;
    t->proxy[(size_t)row * t->R + rep] = proxy;
  }
  for (int row = 0; row < t->n_rows && !rc; row++)
    if (!strcmp(t->rows[row].method, "bon") && !seen[row])
      rc = oo_error_at(__FILE__, __LINE__, "%s: no row for objective '%s' at n = %.0f (rep0's bon.csv has one)",
                       path, t->rows[row].objective, t->rows[row].x);
done:
  xfree(&seen);
  csv_free(&csv);
  return rc;
}

/* ---- PPO --------------------------------------------------------------------------------- */

typedef struct {
  char tag[96];         /* file name between ppo_ and .csv */
  char method[64];      /* ppo, or ppo_beta<b> for tags <objective>_beta<b> */
  char objective[96];   /* the tag without its _beta<b> */
} ppo_tag;

typedef struct {
  int n;                /* evaluation rows */
  double *x;            /* (n) sqrt of the running maximum of eval_kl, non-decreasing */
  double *g;            /* (n) eval_gold − the step-0 evaluation's eval_gold; g[0] = 0 */
  double *p;            /* (n) eval_proxy − the step-0 evaluation's eval_proxy (the report's) */
  char path[4400];      /* the file, for messages */
} ppo_curve;

static int parse_tag(ppo_tag *p, const char *file) {
  size_t len = strlen(file) - 8; /* "ppo_" + tag + ".csv" */
  REQUIRE(len < sizeof p->tag, "PPO file name '%s' too long", file);
  memcpy(p->tag, file + 4, len);
  p->tag[len] = 0;
  const char *beta = NULL;
  for (const char *s = strstr(p->tag, "_beta"); s; s = strstr(s + 1, "_beta")) beta = s;
  if (beta && beta > p->tag && beta[5]) {
    REQUIRE(strlen(beta) < sizeof p->method - 3, "PPO file name '%s': beta suffix too long", file);
    snprintf(p->method, sizeof p->method, "ppo%s", beta); /* "ppo" + "_beta<b>" */
    snprintf(p->objective, sizeof p->objective, "%.*s", (int)(beta - p->tag), p->tag);
  } else {
    snprintf(p->method, sizeof p->method, "ppo");
    snprintf(p->objective, sizeof p->objective, "%s", p->tag);
  }
  return OO_OK;
}

static void curve_free(ppo_curve *c) {
  xfree(&c->x);
  xfree(&c->g);
  xfree(&c->p);
}

/* One replicate's evaluation curve from ppo_<tag>.csv: rows with finite eval_kl and eval_gold,
 * gold relative to the first of them (ppo_eval_origin, as the single-run report does), x = sqrt
 * of the running maximum of eval_kl (negative estimates count as 0). */
static int curve_load(ppo_curve *c, const char *path) {
  memset(c, 0, sizeof *c);
  snprintf(c->path, sizeof c->path, "%s", path);
  csv_table csv;
  CHECK(csv_read(&csv, path));
  int kl_col, gold_col, proxy_col, rc = csv_col(&csv, "eval_kl", &kl_col);
  double origin = 0, origin_p = 0, run_max = 0;
  if (!rc) rc = csv_col(&csv, "eval_gold", &gold_col);
  if (!rc) rc = csv_col(&csv, "eval_proxy", &proxy_col);
  if (!rc) rc = ppo_eval_origin(&csv, kl_col, gold_col, &origin);
  if (!rc) rc = ppo_eval_origin(&csv, kl_col, proxy_col, &origin_p);
  if (rc) goto done;
  c->x = xmalloc((size_t)(csv.n_rows ? csv.n_rows : 1) * sizeof *c->x);
  c->g = xmalloc((size_t)(csv.n_rows ? csv.n_rows : 1) * sizeof *c->g);
  c->p = xmalloc((size_t)(csv.n_rows ? csv.n_rows : 1) * sizeof *c->p);
  for (int r = 0; r < csv.n_rows; r++) {
    double kl, gold, proxy;
    CHECK_GOTO(rc, csv_num(&csv, r, kl_col, &kl), done);
    CHECK_GOTO(rc, csv_num(&csv, r, gold_col, &gold), done);
    CHECK_GOTO(rc, csv_num(&csv, r, proxy_col, &proxy), done);
    if (!isfinite(kl) || !isfinite(gold)) continue;
    if (kl > run_max) run_max = kl;
    c->x[c->n] = sqrt(run_max);
    c->g[c->n] = gold - origin;
    c->p[c->n] = proxy - origin_p;
    c->n++;
  }
  if (c->n == 0)
    rc = oo_error_at(__FILE__, __LINE__, "%s: no evaluation rows (finite eval_kl and eval_gold): "
                     "set ppo.eval_every so the PPO stage evaluates", path);
done:
  csv_free(&csv);
  if (rc) curve_free(c);
  return rc;
}

/* Value y (c->g or c->p) of curve c at sqrt(KL) = x: linear between the two consecutive rows whose
 * running-max sqrt(KL) first brackets x (x[k-1] < x <= x[k]); y[0] (= 0, pi_init) for x <= x[0];
 * NaN when the curve never reaches x. */
static double curve_at(const ppo_curve *c, const double *y, double x) {
  if (x <= c->x[0]) return y[0];
  for (int k = 1; k < c->n; k++)
    if (c->x[k] >= x) {
      double w = (x - c->x[k - 1]) / (c->x[k] - c->x[k - 1]);
      return y[k - 1] + w * (y[k] - y[k - 1]);
    }
  return NAN;
}

typedef struct {
  int n_tags;          /* PPO files in rep0 */
  ppo_tag *tags;       /* (n_tags) sorted by tag */
  ppo_curve *curves;   /* (n_tags, R) */
  int *first_row;      /* (n_tags) row of the tag's x = 0; -1 when its method has no grid */
} ppo_data;

static void ppo_data_free(ppo_data *p, int R) {
  if (p->curves)
    for (int i = 0; i < p->n_tags * R; i++) curve_free(&p->curves[i]);
  xfree(&p->curves);
  xfree(&p->tags);
  xfree(&p->first_row);
}

/* Reads every replicate's curves for rep0's PPO tags and defines each method's grid rows. */
static int ppo_define(summary_table *t, int *cap, ppo_data *p, const char *dir, int R) {
  char rd[4200], path[4400];
  char **files = NULL;
  int n_files = 0, rc = OO_OK;
  CHECK(rep_dir(rd, sizeof rd, dir, 0));
  CHECK(ppo_list_files(rd, &files, &p->n_tags));
  p->tags = xcalloc((size_t)(p->n_tags ? p->n_tags : 1), sizeof *p->tags);
  p->curves = xcalloc((size_t)(p->n_tags ? p->n_tags : 1) * R, sizeof *p->curves);
  p->first_row = xmalloc((size_t)(p->n_tags ? p->n_tags : 1) * sizeof *p->first_row);
  for (int k = 0; k < p->n_tags; k++) p->first_row[k] = -1; /* -1: the tag's method has no grid */
  for (int k = 0; k < p->n_tags && !rc; k++) rc = parse_tag(&p->tags[k], files[k]);
  for (int i = 0; i < R && !rc; i++) {
    char **other = NULL;
    CHECK_GOTO(rc, rep_dir(rd, sizeof rd, dir, i), done);
    CHECK_GOTO(rc, ppo_list_files(rd, &other, &n_files), done);
    for (int k = 0; k < n_files; k++) xfree(&other[k]);
    xfree(&other);
    for (int k = 0; k < p->n_tags && !rc; k++) {
      CHECK_GOTO(rc, oo_path_join(path, sizeof path, rd, files[k]), done);
      if (!oo_file_exists(path)) {
        rc = missing_in_replicate(dir, i, files[k]);
        goto done;
      }
      CHECK_GOTO(rc, curve_load(&p->curves[(size_t)k * R + i], path), done);
    }
    if (!rc && n_files != p->n_tags)
      rc = oo_error_at(__FILE__, __LINE__, "replicate directory '%s' has %d ppo_<tag>.csv files, rep0 has %d "
                       "(every replicate needs the same files)", rd, n_files, p->n_tags);
  }
  /* Each method's grid: SUMMARY_GRID points from 0 to the smallest, over its objectives and the
   * replicates, of the largest sqrt(KL) reached, so no curve is extrapolated. */
  for (int k = 0; k < p->n_tags && !rc; k++) {
    const char *method = p->tags[k].method;
    int seen_before = 0;
    for (int j = 0; j < k; j++) seen_before |= !strcmp(p->tags[j].method, method);
    if (seen_before) continue;
    double x_max = INFINITY;
    const char *limiting = "";
    for (int j = k; j < p->n_tags; j++) {
      if (strcmp(p->tags[j].method, method)) continue;
      for (int i = 0; i < R; i++) {
        const ppo_curve *c = &p->curves[(size_t)j * R + i];
        if (c->x[c->n - 1] < x_max) x_max = c->x[c->n - 1], limiting = c->path;
      }
    }
    if (!(x_max > 0)) { /* e.g. a few PPO steps whose KL estimates are all <= 0: no KL axis */
      LOG_WARN("summary: PPO method '%s' left out: %s never has an evaluation KL above 0, so its "
               "objectives have no common sqrt(KL) grid", method, limiting);
      size_t used = strlen(t->left_out);
      snprintf(t->left_out + used, sizeof t->left_out - used, "%s%s", used ? ", " : "", method);
      continue;
    }
    for (int j = k; j < p->n_tags && !rc; j++) {
      if (strcmp(p->tags[j].method, method)) continue;
      p->first_row[j] = t->n_rows;
      for (int g = 0; g < SUMMARY_GRID && !rc; g++)
        rc = add_row(t, cap, method, p->tags[j].objective,
                     g == SUMMARY_GRID - 1 ? x_max : x_max * g / (SUMMARY_GRID - 1));
    }
  }
done:
  for (int k = 0; k < p->n_tags; k++) xfree(&files[k]);
  xfree(&files);
  return rc;
}

static int ppo_fill(summary_table *t, const ppo_data *p) {
  for (int k = 0; k < p->n_tags; k++)
    for (int g = 0; g < SUMMARY_GRID && p->first_row[k] >= 0; g++) {
      int row = p->first_row[k] + g;
      for (int i = 0; i < t->R; i++) {
        const ppo_curve *c = &p->curves[(size_t)k * t->R + i];
        double v = curve_at(c, c->g, t->rows[row].x);
        REQUIRE(!isnan(v), "%s: no value at sqrt(KL) = %.9g (internal: the grid exceeds the curve)", c->path,
                t->rows[row].x);
        t->gold[(size_t)row * t->R + i] = v;
        t->proxy[(size_t)row * t->R + i] = curve_at(c, c->p, t->rows[row].x);
      }
    }
  return OO_OK;
}

/* ---- the table --------------------------------------------------------------------------- */

/* Paired differences against single of the same method at the same x, and each row's stats. */
static void finish_rows(summary_table *t) {
  int R = t->R;
  for (int r = 0; r < t->n_rows; r++) {
    summary_row *row = &t->rows[r];
    int s = find_row(t, row->method, "single", row->x);
    row->wins = 0;
    for (int i = 0; i < R; i++) {
      double d = s >= 0 ? t->gold[(size_t)r * R + i] - t->gold[(size_t)s * R + i] : NAN;
      t->diff[(size_t)r * R + i] = d;
      row->wins += d > 0;
    }
    row->gold = stats_mean_ci(t->gold + (size_t)r * R, R);
    row->diff = stats_mean_ci(t->diff + (size_t)r * R, R);
  }
}

int summary_compute(summary_table *t, const char *dir, int R) {
  memset(t, 0, sizeof *t);
  REQUIRE(R >= 1, "replicates = %d: need at least 1", R);
  t->R = R;
  char rd[4200], path[4400];
  struct stat sb;
  for (int i = 0; i < R; i++) {
    CHECK(rep_dir(rd, sizeof rd, dir, i));
    REQUIRE(stat(rd, &sb) == 0 && S_ISDIR(sb.st_mode),
            "replicate directory '%s' not found (expected %d replicates, rep0 .. rep%d, in '%s')", rd, R,
            R - 1, dir);
  }
  int cap = 0, rc = OO_OK;
  ppo_data ppo = {0};
  CHECK(rep_file(path, sizeof path, dir, 0, "bon.csv"));
  int has_bon = oo_file_exists(path);
  if (has_bon) CHECK_GOTO(rc, bon_define(t, &cap, path), fail);
  CHECK_GOTO(rc, ppo_define(t, &cap, &ppo, dir, R), fail);
  if (t->n_rows == 0) {
    rc = oo_error_at(__FILE__, __LINE__, "'%s/rep0' has neither bon.csv nor a PPO run with evaluation KL "
                     "above 0: nothing to summarize (did the replicates run?)", dir);
    goto fail;
  }
  t->gold = xmalloc((size_t)t->n_rows * R * sizeof *t->gold);
  t->proxy = xmalloc((size_t)t->n_rows * R * sizeof *t->proxy);
  t->diff = xmalloc((size_t)t->n_rows * R * sizeof *t->diff);
  for (int i = 0; i < R && has_bon; i++) {
    CHECK_GOTO(rc, rep_file(path, sizeof path, dir, i, "bon.csv"), fail);
    if (!oo_file_exists(path)) {
      rc = missing_in_replicate(dir, i, "bon.csv");
      goto fail;
    }
    CHECK_GOTO(rc, bon_fill(t, path, i), fail);
  }
  CHECK_GOTO(rc, ppo_fill(t, &ppo), fail);
  finish_rows(t);
  ppo_data_free(&ppo, R);
  return OO_OK;
fail:
  ppo_data_free(&ppo, R);
  summary_free(t);
  return rc;
}

int summary_peak_drop(const summary_table *t, const char *method, const char *objective,
                      double *x_peak, double *x_end, stats_ci *drop, int *wins) {
  int peak = -1, end = -1;
  for (int r = 0; r < t->n_rows; r++) {
    const summary_row *row = &t->rows[r];
    if (strcmp(row->method, method) || strcmp(row->objective, objective)) continue;
    if (peak < 0 || row->gold.mean > t->rows[peak].gold.mean) peak = r;
    if (end < 0 || row->x > t->rows[end].x) end = r;
  }
  REQUIRE(peak >= 0, "summary has no rows for method '%s', objective '%s'", method, objective);
  double *d = xmalloc((size_t)t->R * sizeof *d);
  *wins = 0;
  for (int i = 0; i < t->R; i++) {
    d[i] = t->gold[(size_t)peak * t->R + i] - t->gold[(size_t)end * t->R + i];
    *wins += d[i] > 0;
  }
  *drop = stats_mean_ci(d, t->R);
  *x_peak = t->rows[peak].x;
  *x_end = t->rows[end].x;
  xfree(&d);
  return OO_OK;
}

/* ---- writers ----------------------------------------------------------------------------- */

static void put_num(FILE *f, const char *sep, double v) {
  if (isnan(v)) fprintf(f, "%snan", sep); /* never "-nan" */
  else fprintf(f, "%s%.9g", sep, v);
}

/* Writes path through path.tmp: body prints the content; every write and the close are checked. */
static int write_atomic(const char *path, void (*body)(FILE *f, const void *ctx), const void *ctx) {
  char tmp[4500];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  REQUIRE(n > 0 && (size_t)n < sizeof tmp, "path too long: '%s'", path);
  FILE *f = fopen(tmp, "w");
  REQUIRE(f, "cannot write '%s': %s", tmp, strerror(errno));
  body(f, ctx);
  int bad = ferror(f), err = errno;
  if (fclose(f) != 0 && !bad) bad = 1, err = errno;
  if (bad) {
    remove(tmp);
    OO_FAIL("error writing '%s': %s", tmp, strerror(err));
  }
  REQUIRE(rename(tmp, path) == 0, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
  return OO_OK;
}

static void summary_csv_body(FILE *f, const void *ctx) {
  const summary_table *t = ctx;
  fprintf(f, "method,objective,x,replicates,gold_mean,gold_sd,gold_ci_lo,gold_ci_hi,diff_mean,"
             "diff_ci_lo,diff_ci_hi,wins\n");
  for (int r = 0; r < t->n_rows; r++) {
    const summary_row *row = &t->rows[r];
    fprintf(f, "%s,%s", row->method, row->objective);
    put_num(f, ",", row->x);
    fprintf(f, ",%d", t->R);
    const double v[] = {row->gold.mean, row->gold.sd, row->gold.lo, row->gold.hi,
                        row->diff.mean, row->diff.lo, row->diff.hi};
    for (int k = 0; k < 7; k++) put_num(f, ",", v[k]);
    fprintf(f, ",%d\n", row->wins);
  }
}

static int summary_h5_body(h5_writer *w, const summary_table *t) {
  /* units and descriptions: src/io/h5_catalog.c */
  static const char *const cols[] = {"method", "objective", "x", "replicates", "gold_mean", "gold_sd",
                                     "gold_ci_lo", "gold_ci_hi", "diff_mean", "diff_ci_lo", "diff_ci_hi", "wins"};
  int n = t->n_rows, R = t->R;
  long dims1[1] = {n}, dims2[2] = {n, R};
  double *col = xmalloc((size_t)(n ? n : 1) * sizeof *col);
  int *icol = xmalloc((size_t)(n ? n : 1) * sizeof *icol), rc = OO_OK;
  CHECK_GOTO(rc, h5_write_str(w, "method", n, t->rows[0].method, sizeof *t->rows), done);
  CHECK_GOTO(rc, h5_write_str(w, "objective", n, t->rows[0].objective, sizeof *t->rows), done);
  for (int k = 2; k < 12; k++) {
    for (int r = 0; r < n; r++) {
      const summary_row *row = &t->rows[r];
      const double v[] = {row->x, R, row->gold.mean, row->gold.sd, row->gold.lo, row->gold.hi,
                          row->diff.mean, row->diff.lo, row->diff.hi, row->wins};
      col[r] = v[k - 2];
      icol[r] = (int)v[k - 2];
    }
    if (k == 3 || k == 11) CHECK_GOTO(rc, h5_write_i32(w, cols[k], 1, dims1, icol), done);
    else CHECK_GOTO(rc, h5_write_f64(w, cols[k], 1, dims1, col), done);
  }
  CHECK_GOTO(rc, h5_write_f64(w, "gold_replicates", 2, dims2, t->gold), done);
  CHECK_GOTO(rc, h5_write_f64(w, "diff_replicates", 2, dims2, t->diff), done);
  CHECK_GOTO(rc, h5_attr_write_int(w, "/", "replicates", R), done);
  CHECK_GOTO(rc, h5_attr_write_int(w, "/", "ppo_grid_points", SUMMARY_GRID), done);
  CHECK_GOTO(rc, h5_attr_write_double(w, "/", "t_quantile", R > 1 ? stats_t95(R - 1) : NAN), done);
  CHECK_GOTO(rc, h5_attr_write_str(w, "/", "definitions", "docs/statistics.md"), done);
done:
  xfree(&col);
  xfree(&icol);
  return rc;
}

/* ---- fits_summary.csv, uncertainty_summary.csv --------------------------------------------- */

/* Keyed summaries: fits.csv (curve, form; alpha, beta, d_star, gold_star) and uncertainty.csv
 * (source, set; spearman). Each replicate's file has one row per key; the table gives, per key and
 * parameter, the mean and 95% interval over the replicates whose value is finite. */
typedef struct {
  const char *file;               /* per-replicate file, e.g. fits.csv */
  const char *out;                /* summary file, e.g. fits_summary.csv */
  const char *key[2];             /* the two key columns */
  const char *const *par;         /* the parameter columns */
  int n_par;                      /* their count */
} keyed_spec;

static const char *const fit_params[] = {"alpha", "beta", "d_star", "gold_star"};
static const char *const unc_params[] = {"spearman"};
static const keyed_spec fits_spec = {"fits.csv", "fits_summary.csv", {"curve", "form"}, fit_params, 4};
static const keyed_spec unc_spec = {"uncertainty.csv", "uncertainty_summary.csv", {"source", "set"}, unc_params, 1};

typedef struct {
  const keyed_spec *spec; /* which file */
  int n_keys;             /* keys of any replicate's file, first appearance order */
  int cap;                /* allocated keys */
  char (*k0)[128];        /* (n_keys) first key column */
  char (*k1)[128];        /* (n_keys) second key column */
  double *v;              /* (n_keys, n_par, R); NaN where a replicate has no such row */
  int R;                  /* replicates */
} keyed_data;

static int keyed_key(keyed_data *kd, const char *k0, const char *k1) {
  const int n_par = kd->spec->n_par;
  for (int k = 0; k < kd->n_keys; k++)
    if (!strcmp(kd->k0[k], k0) && !strcmp(kd->k1[k], k1)) return k;
  if (kd->n_keys == kd->cap) {
    kd->cap = kd->cap ? 2 * kd->cap : 16;
    kd->k0 = xrealloc(kd->k0, (size_t)kd->cap * sizeof *kd->k0);
    kd->k1 = xrealloc(kd->k1, (size_t)kd->cap * sizeof *kd->k1);
    kd->v = xrealloc(kd->v, (size_t)kd->cap * n_par * kd->R * sizeof *kd->v);
  }
  int k = kd->n_keys++;
  snprintf(kd->k0[k], sizeof kd->k0[k], "%s", k0);
  snprintf(kd->k1[k], sizeof kd->k1[k], "%s", k1);
  for (int i = 0; i < n_par * kd->R; i++) kd->v[(size_t)k * n_par * kd->R + i] = NAN;
  return k;
}

/* One replicate's file. The fit stage leaves out curves it cannot fit, so a key missing from some
 * replicates is allowed (it counts like a non-finite value); twice is not. */
static int keyed_read(keyed_data *kd, const char *path, int rep) {
  const keyed_spec *sp = kd->spec;
  csv_table csv;
  CHECK(csv_read(&csv, path));
  int col[2 + 8], rc = OO_OK;
  for (int k = 0; k < 2; k++) CHECK_GOTO(rc, csv_col(&csv, sp->key[k], &col[k]), done);
  for (int p = 0; p < sp->n_par; p++) CHECK_GOTO(rc, csv_col(&csv, sp->par[p], &col[2 + p]), done);
  char *seen = xcalloc((size_t)(kd->n_keys + csv.n_rows + 1), 1); /* by key: this file adds <= n_rows */
  for (int r = 0; r < csv.n_rows; r++) {
    const char *k0 = csv_cell(&csv, r, col[0]), *k1 = csv_cell(&csv, r, col[1]);
    if (strlen(k0) >= sizeof kd->k0[0] || strlen(k1) >= sizeof kd->k1[0]) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: %s '%.40s...' or %s name too long", path, csv.lines[r], sp->key[0],
                       k0, sp->key[1]);
      break;
    }
    int key = keyed_key(kd, k0, k1);
    if (seen[key]) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: the row of %s '%s', %s '%s' appears twice", path, csv.lines[r],
                       sp->key[0], k0, sp->key[1], k1);
      break;
    }
    seen[key] = 1;
    for (int p = 0; p < sp->n_par && !rc; p++)
      rc = csv_num(&csv, r, col[2 + p], &kd->v[((size_t)key * sp->n_par + p) * kd->R + rep]);
    if (rc) break;
  }
  xfree(&seen);
done:
  csv_free(&csv);
  return rc;
}

static void keyed_csv_body(FILE *f, const void *ctx) {
  const keyed_data *kd = ctx;
  const keyed_spec *sp = kd->spec;
  fprintf(f, "%s,%s,parameter,replicates,mean,sd,ci_lo,ci_hi\n", sp->key[0], sp->key[1]);
  double *finite = xmalloc((size_t)kd->R * sizeof *finite);
  for (int k = 0; k < kd->n_keys; k++)
    for (int p = 0; p < sp->n_par; p++) {
      const double *v = kd->v + ((size_t)k * sp->n_par + p) * kd->R;
      int n = 0;
      for (int i = 0; i < kd->R; i++)
        if (isfinite(v[i])) finite[n++] = v[i];
      stats_ci c = stats_mean_ci(finite, n);
      fprintf(f, "%s,%s,%s,%d", kd->k0[k], kd->k1[k], sp->par[p], n);
      put_num(f, ",", c.mean);
      put_num(f, ",", c.sd);
      put_num(f, ",", c.lo);
      put_num(f, ",", c.hi);
      fprintf(f, "\n");
    }
  xfree(&finite);
}

/* DIR/<spec->out> from every replicate's <spec->file> when rep0 has one; otherwise a stale summary
 * from an earlier run is removed, so the report never shows other replicates' values. */
static int keyed_summary_write(const keyed_spec *spec, const char *dir, int R) {
  char path[4400], out[4400];
  CHECK(rep_file(path, sizeof path, dir, 0, spec->file));
  CHECK(oo_path_join(out, sizeof out, dir, spec->out));
  if (!oo_file_exists(path)) {
    REQUIRE(remove(out) == 0 || errno == ENOENT, "cannot remove the stale '%s': %s", out, strerror(errno));
    return OO_OK;
  }
  keyed_data kd = {0};
  kd.spec = spec;
  kd.R = R;
  int rc = OO_OK;
  for (int i = 0; i < R && !rc; i++) {
    CHECK_GOTO(rc, rep_file(path, sizeof path, dir, i, spec->file), done);
    if (!oo_file_exists(path)) {
      rc = missing_in_replicate(dir, i, spec->file);
      break;
    }
    rc = keyed_read(&kd, path, i);
  }
  if (!rc) rc = write_atomic(out, keyed_csv_body, &kd);
done:
  xfree(&kd.k0);
  xfree(&kd.k1);
  xfree(&kd.v);
  return rc;
}

int summary_write(const char *dir, int R) {
  summary_table t;
  char path[4400];
  CHECK(summary_compute(&t, dir, R));
  int rc = oo_path_join(path, sizeof path, dir, "summary.csv");
  if (!rc) rc = write_atomic(path, summary_csv_body, &t);
  if (!rc) rc = oo_path_join(path, sizeof path, dir, "summary.h5");
  if (!rc) {
    h5_writer w;
    rc = h5_create(&w, path);
    if (!rc) rc = summary_h5_body(&w, &t);
    if (!rc) rc = h5_commit(&w);
    else h5_discard(&w);
  }
  summary_free(&t);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  CHECK(keyed_summary_write(&fits_spec, dir, R));
  return keyed_summary_write(&unc_spec, dir, R);
}
