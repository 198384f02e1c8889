/* report: plots and report.md of a run or sweep directory (see report.h for the formats).
 *
 * Flow: read each CSV into series (one named curve of a few columns each), write one gnuplot
 * script per plot into a popen'ed gnuplot (data inline as datablocks), then the markdown.
 * Invariants: curves are sorted by x before plotting and summarising; a missing optional input
 * skips its plots and says so; a malformed input is an error naming file and line.
 */
#define _POSIX_C_SOURCE 200809L
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "io/h5io.h"
#include "stats/summary.h"

/* ---- CSV -------------------------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  REQUIRE(f, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    if (got == 0) break;
    n += got;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    xfree(&buf);
    OO_FAIL("error reading '%s'", path);
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return OO_OK;
}

/* Splits line (NUL-terminated, modified in place) at commas into fields[0..cap); returns the
 * field count (may exceed cap: only the first cap are stored). */
static int split_fields(char *line, char **fields, int cap) {
  int n = 0;
  char *p = line;
  for (;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = 0;
    /* trim spaces */
    while (*p == ' ' || *p == '\t') p++;
    char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = 0;
    if (n < cap) fields[n] = p;
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  return n;
}

void csv_free(csv_table *t) {
  xfree(&t->names);
  xfree(&t->cells);
  xfree(&t->lines);
  xfree(&t->buf);
  t->n_rows = t->n_cols = 0;
}

int csv_read(csv_table *t, const char *path) {
  memset(t, 0, sizeof *t);
  REQUIRE(strlen(path) < sizeof t->path, "path too long: '%s'", path);
  snprintf(t->path, sizeof t->path, "%s", path);
  size_t len;
  CHECK(read_file(path, &t->buf, &len));
  int rc = OO_OK, cap_rows = 64, line_no = 0;
  char *p = t->buf;
  while (p && *p) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    line_no++;
    char *line = p;
    p = nl ? nl + 1 : NULL;
    while (*line == ' ' || *line == '\t') line++;
    if (*line == 0 || *line == '\r' || *line == '#') continue;
    if (!t->names) {
      int n = 1;
      for (const char *q = line; *q; q++) n += *q == ',';
      t->names = xmalloc((size_t)n * sizeof *t->names);
      t->n_cols = split_fields(line, t->names, n);
      t->cells = xmalloc((size_t)cap_rows * n * sizeof *t->cells);
      t->lines = xmalloc((size_t)cap_rows * sizeof *t->lines);
      t->header_line = line_no;
      continue;
    }
    if (t->n_rows == cap_rows) {
      cap_rows *= 2;
      t->cells = xrealloc(t->cells, (size_t)cap_rows * t->n_cols * sizeof *t->cells);
      t->lines = xrealloc(t->lines, (size_t)cap_rows * sizeof *t->lines);
    }
    char **row = t->cells + (size_t)t->n_rows * t->n_cols;
    int n = split_fields(line, row, t->n_cols);
    if (n != t->n_cols) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: %d fields, but the header (line %d) has %d: %s",
                       path, line_no, n, t->header_line, t->n_cols, "every row needs one value per header column");
      break;
    }
    t->lines[t->n_rows++] = line_no;
  }
  if (!rc && !t->names) rc = oo_error_at(__FILE__, __LINE__, "%s: empty file (no header line)", path);
  if (rc) csv_free(t);
  return rc;
}

int csv_col(const csv_table *t, const char *name, int *col) {
  for (int j = 0; j < t->n_cols; j++)
    if (strcmp(t->names[j], name) == 0) {
      *col = j;
      return OO_OK;
    }
  char header[1024] = "";
  for (int j = 0; j < t->n_cols; j++) {
    strncat(header, j ? "," : "", sizeof header - strlen(header) - 1);
    strncat(header, t->names[j], sizeof header - strlen(header) - 1);
  }
  OO_FAIL("%s:%d: no column '%s' in the header '%s'", t->path, t->header_line, name, header);
}

const char *csv_cell(const csv_table *t, int row, int col) {
  return t->cells[(size_t)row * t->n_cols + col];
}

int ppo_eval_origin(const csv_table *t, int kl_col, int val_col, double *origin) {
  *origin = 0;
  for (int r = 0; r < t->n_rows; r++) {
    double kl = NAN, v = NAN;
    CHECK(csv_num(t, r, kl_col, &kl));
    CHECK(csv_num(t, r, val_col, &v));
    if (isfinite(kl) && isfinite(v)) {
      *origin = v;
      return OO_OK;
    }
  }
  return OO_OK;
}

int csv_num(const csv_table *t, int row, int col, double *out) {
  const char *s = csv_cell(t, row, col);
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  REQUIRE(*s && *end == 0, "%s:%d: column '%s': '%s' is not a number", t->path, t->lines[row],
          t->names[col], s);
  *out = v;
  return OO_OK;
}

/* Looks up several columns at once; names is NULL-terminated. */
static int csv_cols(const csv_table *t, const char *const *names, int *cols) {
  for (int i = 0; names[i]; i++) CHECK(csv_col(t, names[i], &cols[i]));
  return OO_OK;
}

/* ---- series: named curves of up to SERIES_COLS columns --------------------------------- */

#define SERIES_COLS 5
#define SERIES_MAX 256

typedef struct {
  char name[96];            /* objective, tag, member or column label */
  int n;                    /* points */
  int cap;                  /* allocated points */
  double *v[SERIES_COLS];   /* (SERIES_COLS, cap) columns; meaning set by each loader */
} series;

typedef struct {
  int n;                    /* series in use */
  series s[SERIES_MAX];     /* in order of first appearance */
} series_set;

static int series_get(series_set *set, const char *name, series **out) {
  for (int i = 0; i < set->n; i++)
    if (strcmp(set->s[i].name, name) == 0) {
      *out = &set->s[i];
      return OO_OK;
    }
  REQUIRE(set->n < SERIES_MAX, "more than %d curves (at '%s')", SERIES_MAX, name);
  size_t len = strlen(name);
  REQUIRE(len < sizeof set->s[0].name, "curve name '%.40s...' longer than %zu characters", name,
          sizeof set->s[0].name - 1);
  series *s = &set->s[set->n++];
  memset(s, 0, sizeof *s);
  memcpy(s->name, name, len);
  s->name[len] = 0;
  *out = s;
  return OO_OK;
}

static void series_push(series *s, const double *vals) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 32;
    for (int c = 0; c < SERIES_COLS; c++) s->v[c] = xrealloc(s->v[c], (size_t)s->cap * sizeof(double));
  }
  for (int c = 0; c < SERIES_COLS; c++) s->v[c][s->n] = vals[c];
  s->n++;
}

/* Points over every series of set (0: nothing to draw). */
static long set_points(const series_set *set) {
  long n = 0;
  for (int i = 0; i < set->n; i++) n += set->s[i].n;
  return n;
}

static void series_set_free(series_set *set) {
  for (int i = 0; i < set->n; i++)
    for (int c = 0; c < SERIES_COLS; c++) xfree(&set->s[i].v[c]);
  set->n = 0;
}

/* Sorts the points of s by column 0 (insertion sort: curves are short and nearly sorted). */
static void series_sort(series *s) {
  for (int i = 1; i < s->n; i++)
    for (int j = i; j > 0 && s->v[0][j - 1] > s->v[0][j]; j--)
      for (int c = 0; c < SERIES_COLS; c++) {
        double t = s->v[c][j];
        s->v[c][j] = s->v[c][j - 1];
        s->v[c][j - 1] = t;
      }
}

static int is_member(const char *name) { return strncmp(name, "member_", 7) == 0; }

/* ---- inputs ------------------------------------------------------------------------------ */

enum { BON_X, BON_GOLD, BON_PROXY, BON_SE };     /* bon series columns; x = sqrt(KL) */
enum { PPO_X, PPO_GOLD, PPO_PROXY };             /* ppo curve columns */
enum { VAR_STEP, VAR_ENS };                      /* ppo variance columns */
enum { STEP_X, STEP_GOLD, STEP_SQRT_KL, STEP_EVAL_GOLD, STEP_EVAL_SQRT_KL }; /* ppo per-step columns */
enum { LOSS_STEP, LOSS_VALUE };                  /* pretraining loss columns */
enum { RM_EPOCH, RM_TEST, RM_TRAIN };            /* rm accuracy columns */
enum { SW_X, SW_ABON, SW_BBON, SW_ARL, SW_BRL };  /* sweep: x = log10(rm_params) */

static double sqrt_kl(double kl) { return kl > 0 ? sqrt(kl) : 0.0; }

static int load_bon(const char *path, series_set *set) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"objective", "kl", "proxy", "gold", "gold_se", NULL};
  int col[5], rc = csv_cols(&t, names, col);
  for (int r = 0; r < t.n_rows && !rc; r++) {
    double kl, v[SERIES_COLS] = {0};
    series *s = NULL;
    CHECK_GOTO(rc, csv_num(&t, r, col[1], &kl), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[2], &v[BON_PROXY]), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[3], &v[BON_GOLD]), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[4], &v[BON_SE]), done);
    if (kl < -1e-9 || isnan(kl)) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: kl = %s; BoN KL is log n - (n-1)/n >= 0", path,
                       t.lines[r], csv_cell(&t, r, col[1]));
      break;
    }
    v[BON_X] = sqrt_kl(kl);
    CHECK_GOTO(rc, series_get(set, csv_cell(&t, r, col[0]), &s), done);
    series_push(s, v);
  }
done:
  csv_free(&t);
  for (int i = 0; i < set->n; i++) series_sort(&set->s[i]);
  if (!rc && set->n == 0) rc = oo_error_at(__FILE__, __LINE__, "%s: no data rows", path);
  return rc;
}

/* One PPO run: the gold/proxy curve against sqrt(KL) (eval points where any exist, else training
 * batches), the ensemble variance per step, and the per-step series (STEP_* columns). KL is not
 * monotone in the step, so the curve's x is sqrt of the running maximum of the KL (a negative
 * estimate counts as 0): the convention of the summary (docs/statistics.md), under which a line
 * never runs backwards. tag is the file name between "ppo_" and ".csv". */
static int load_ppo(const char *path, const char *tag, series_set *curves, series_set *var, series_set *steps) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"step",    "kl",        "proxy",      "gold", "ens_var",
                                      "eval_kl", "eval_proxy", "eval_gold", NULL};
  int col[8], rc = csv_cols(&t, names, col), n_eval = 0;
  series *c = NULL, *w = NULL, *st = NULL;
  if (!rc) rc = series_get(curves, tag, &c);
  if (!rc) rc = series_get(var, tag, &w);
  if (!rc) rc = series_get(steps, tag, &st);
  double g0 = 0, p0 = 0; /* pi_init's eval gold and proxy: eval curves start at (0, 0) */
  if (!rc) rc = ppo_eval_origin(&t, col[5], col[7], &g0);
  if (!rc) rc = ppo_eval_origin(&t, col[5], col[6], &p0);
  for (int pass = 0; pass < 2 && !rc; pass++) {
    /* pass 0: eval points, the variance and the steps; pass 1 (only without eval points): training */
    if (pass == 1 && n_eval > 0) break;
    double kl_max = 0;
    for (int r = 0; r < t.n_rows; r++) {
      double x[8];
      for (int k = 0; k < 8; k++) CHECK_GOTO(rc, csv_num(&t, r, col[k], &x[k]), done);
      if (pass == 0) {
        double vv[SERIES_COLS] = {x[0], x[4]};
        if (!isnan(x[4])) series_push(w, vv);
        double sv[SERIES_COLS] = {x[0], x[3], sqrt_kl(x[1]), x[7], isnan(x[5]) ? NAN : sqrt_kl(x[5])};
        series_push(st, sv);
        if (!isnan(x[5]) && !isnan(x[7])) {
          kl_max = fmax(kl_max, x[5]);
          double cv[SERIES_COLS] = {sqrt_kl(kl_max), x[7] - g0, x[6] - p0};
          series_push(c, cv);
          n_eval++;
        }
      } else if (!isnan(x[1]) && !isnan(x[3])) {
        kl_max = fmax(kl_max, x[1]);
        double cv[SERIES_COLS] = {sqrt_kl(kl_max), x[3], x[2]};
        series_push(c, cv);
      }
    }
  }
done:
  csv_free(&t);
  if (!rc && c->n == 0) rc = oo_error_at(__FILE__, __LINE__, "%s: no rows with a finite kl and gold", path);
  return rc;
}

static int load_rm(const char *path, series_set *set) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"member", "epoch", "test_acc", "train_acc", NULL};
  int col[4], rc = csv_cols(&t, names, col);
  for (int r = 0; r < t.n_rows && !rc; r++) {
    double v[SERIES_COLS] = {0};
    char name[96];
    series *s = NULL;
    CHECK_GOTO(rc, csv_num(&t, r, col[1], &v[RM_EPOCH]), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[2], &v[RM_TEST]), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[3], &v[RM_TRAIN]), done);
    snprintf(name, sizeof name, "member %.80s", csv_cell(&t, r, col[0]));
    CHECK_GOTO(rc, series_get(set, name, &s), done);
    series_push(s, v);
  }
done:
  csv_free(&t);
  for (int i = 0; i < set->n; i++) series_sort(&set->s[i]);
  return rc;
}

/* sweep.csv: one series "sweep" with x = log10(rm_params). keys gets the axis columns'
 * names joined by ", " (those between "point" and "alpha_bon"). */
static int load_sweep(const char *path, series_set *set, csv_table *keep) {
  CHECK(csv_read(keep, path));
  static const char *const names[] = {"alpha_bon", "beta_bon", "alpha_rl", "beta_rl", "rm_params", NULL};
  int col[5], rc = csv_cols(keep, names, col);
  series *s = NULL;
  if (!rc) rc = series_get(set, "sweep", &s);
  for (int r = 0; r < keep->n_rows && !rc; r++) {
    double v[SERIES_COLS], params;
    for (int k = 0; k < 4; k++) CHECK_GOTO(rc, csv_num(keep, r, col[k], &v[1 + k]), done);
    CHECK_GOTO(rc, csv_num(keep, r, col[4], &params), done);
    if (!(params > 0)) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: rm_params = %s must be > 0", path, keep->lines[r],
                       csv_cell(keep, r, col[4]));
      break;
    }
    v[SW_X] = log10(params);
    series_push(s, v);
  }
done:
  if (!rc) series_sort(s);
  return rc;
}

/* ---- gnuplot ----------------------------------------------------------------------------- */

/* Colours chosen to stay distinct from each other (and from the pale member lines). */
static const char *const palette[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
#define N_PALETTE ((int)(sizeof palette / sizeof palette[0]))

/* Fixed colours for the objectives of the papers, so every plot agrees. */
static const char *objective_color(const char *name, int index) {
  static const char *const fixed[][2] = {
      {"single", "#d62728"}, {"mean", "#1f77b4"}, {"wco", "#2ca02c"}, {"uwo", "#ff7f0e"}};
  for (int i = 0; i < 4; i++)
    if (strncmp(name, fixed[i][0], strlen(fixed[i][0])) == 0) return fixed[i][1];
  return palette[(index + 4) % N_PALETTE];
}

typedef struct {
  FILE *f;              /* pipe into gnuplot */
  char png[4096];       /* output file */
  char plot[16384];     /* the plot command being assembled (the current panel's) */
  int n_items;          /* items in plot */
  atomic_file csv;      /* <figure>.csv: every point drawn (FIG_CSV_HEADER) */
  char panel[200];      /* current panel (the csv's first column) */
  int n_blocks;         /* data blocks sent ($d0, $d1, ...) */
  int multi;            /* 1 inside set multiplot */
} gp_plot;

/* Every figure's CSV: one row per point drawn, long format. role says how it is drawn
 * (docs/formats.md "Figures"); y_lo, y_hi are a band's edges, nan otherwise. */
#define FIG_CSV_HEADER "panel,series,role,x,y,y_lo,y_hi"
/* Fitted forms are drawn over the fitted data's range and continued (dotted) to this multiple
 * of the data's largest sqrt(KL): never beyond 1.5x (issue #14). */
#define FIT_EXTEND 1.25
#define FIT_POINTS 60

typedef struct {
  char cmd[1024];       /* gnuplot command (env OVEROPT_GNUPLOT or "gnuplot") */
  int cairo;            /* pngcairo available */
} gp_env;

static int gp_detect(gp_env *g) {
  const char *env = getenv("OVEROPT_GNUPLOT");
  snprintf(g->cmd, sizeof g->cmd, "%s", env && *env ? env : "gnuplot");
  char probe[1200], line[512];
  snprintf(probe, sizeof probe, "%s -e 'set terminal' 2>&1", g->cmd);
  FILE *p = popen(probe, "r");
  REQUIRE(p, "cannot run '%s': %s", probe, strerror(errno));
  int found_png = 0;
  g->cairo = 0;
  while (fgets(line, sizeof line, p)) {
    if (strstr(line, "pngcairo")) g->cairo = 1;
    if (strstr(line, " png ")) found_png = 1;
  }
  int st = pclose(p);
  REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "gnuplot ('%s') not found or not working: install Debian package gnuplot-nox (or set "
          "OVEROPT_GNUPLOT to a gnuplot command)", g->cmd);
  REQUIRE(g->cairo || found_png, "gnuplot ('%s') has neither the pngcairo nor the png terminal: "
          "install Debian package gnuplot-nox", g->cmd);
  return OO_OK;
}

/* Starts figure outdir/name (a .png) and its CSV (the same name, .csv). With panels > 1 the
 * figure is a grid of that many axes, at most 3 per row, each started by gp_panel; title is
 * then the figure's. */
static int gp_begin_grid(gp_plot *gp, const gp_env *g, const char *outdir, const char *name, const char *title,
                         const char *xlabel, const char *ylabel, int panels) {
  memset(gp, 0, sizeof *gp);
  CHECK(oo_path_join(gp->png, sizeof gp->png, outdir, name));
  remove(gp->png); /* a stale plot must not pass for a new one */
  char csv[4096];
  size_t len = strlen(gp->png);
  REQUIRE(len > 4 && !strcmp(gp->png + len - 4, ".png"), "figure '%s' must end in .png", gp->png);
  snprintf(csv, sizeof csv, "%.*s.csv", (int)(len - 4), gp->png);
  CHECK(atomic_open(&gp->csv, csv));
  fprintf(gp->csv.f, FIG_CSV_HEADER "\n");
  /* gnuplot ignores the stop signals: a SIGUSR1 or SIGTERM forwarded to the job while a plot
   * is drawn is the ranks' to act on at the next boundary, not a reason to lose the plot */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "trap '' USR1 TERM; exec %s", g->cmd);
  gp->f = popen(cmd, "w");
  if (!gp->f) {
    atomic_abort(&gp->csv);
    OO_FAIL("cannot start gnuplot ('%s'): %s", g->cmd, strerror(errno));
  }
  FILE *f = gp->f;
  int cols = panels < 3 ? panels : 3, rows = (panels + cols - 1) / cols;
  int width = panels > 1 ? 560 * cols : 1000, height = panels > 1 ? 440 * rows + 60 : 700;
  if (g->cairo)
    fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'Sans,12' linewidth 1\n", width, height);
  else
    fprintf(f, "set terminal png size %d,%d noenhanced\n", width, height);
  fprintf(f, "set output '%s'\n", gp->png);
  fprintf(f, "set xlabel '%s'\nset ylabel '%s'\n", xlabel, ylabel);
  fprintf(f, "set grid lc rgb '#dddddd' lt 1\nset border lw 1\nset samples 300\nset datafile missing 'nan'\n");
  if (panels > 1) {
    fprintf(f, "set key inside right bottom box spacing 1.1 font ',10'\n");
    fprintf(f, "set multiplot layout %d,%d title '%s' font ',14'\n", rows, cols, title);
    gp->multi = 1;
  } else {
    fprintf(f, "set key outside right top box opaque spacing 1.2 width 1\n");
    fprintf(f, "set title '%s' font ',14'\n", title);
    snprintf(gp->panel, sizeof gp->panel, "main");
  }
  return OO_OK;
}

static int gp_begin(gp_plot *gp, const gp_env *g, const char *outdir, const char *name, const char *title,
                    const char *xlabel, const char *ylabel) {
  return gp_begin_grid(gp, g, outdir, name, title, xlabel, ylabel, 1);
}

/* Sends n points (x, y[, lo, hi]) as data block $d<i> (its name into blk) and writes them to the
 * figure's CSV as (panel, series, role); lo and hi may be NULL. Non-finite values go as nan
 * (gnuplot's missing value). */
static void fig_data(gp_plot *gp, char *blk, size_t cap, const char *series_name, const char *role, int n,
                     const double *x, const double *y, const double *lo, const double *hi) {
  snprintf(blk, cap, "$d%d", gp->n_blocks++);
  fprintf(gp->f, "%s << EOD\n", blk);
  for (int i = 0; i < n; i++) {
    double v[4] = {x[i], y[i], lo ? lo[i] : NAN, hi ? hi[i] : NAN};
    char t[4][32];
    for (int k = 0; k < 4; k++) {
      if (isfinite(v[k])) snprintf(t[k], sizeof t[k], "%.9g", v[k]);
      else snprintf(t[k], sizeof t[k], "nan");
    }
    fprintf(gp->f, "%s %s %s %s\n", t[0], t[1], t[2], t[3]);
    fprintf(gp->csv.f, "%s,%s,%s,%s,%s,%s,%s\n", gp->panel, series_name, role, t[0], t[1], t[2], t[3]);
  }
  fprintf(gp->f, "EOD\n");
}

/* Starts a panel of a multiplot: draws the previous panel's plot command, sets the title. */
static void gp_panel(gp_plot *gp, const char *title) {
  if (!gp->multi) { /* one axis: the figure's title stays */
    snprintf(gp->panel, sizeof gp->panel, "%s", title);
    return;
  }
  if (gp->plot[0]) fprintf(gp->f, "%s\n", gp->plot);
  gp->plot[0] = 0;
  gp->n_items = 0;
  snprintf(gp->panel, sizeof gp->panel, "%s", title);
  fprintf(gp->f, "set title '%s'\n", title);
}

/* Closes gnuplot and drops the CSV (error paths). */
static void gp_abort(gp_plot *gp) {
  if (gp->f) pclose(gp->f);
  gp->f = NULL;
  atomic_abort(&gp->csv);
}

/* Appends one item ("$b0 using 1:2 with lines ...") to the plot command. */
static int gp_item(gp_plot *gp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gp_item(gp_plot *gp, const char *fmt, ...) {
  size_t len = strlen(gp->plot);
  if (len == 0) len = (size_t)snprintf(gp->plot, sizeof gp->plot, "plot ");
  else len += (size_t)snprintf(gp->plot + len, sizeof gp->plot - len, ", \\\n  ");
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(gp->plot + len, sizeof gp->plot - len, fmt, ap);
  va_end(ap);
  REQUIRE(n >= 0 && len + (size_t)n < sizeof gp->plot, "plot command for '%s' too long", gp->png);
  gp->n_items++;
  return OO_OK;
}

/* Sends the pending plot command, closes gnuplot, checks that a PNG came out and commits the
 * figure's CSV beside it. */
static int gp_end(gp_plot *gp) {
  if (gp->plot[0]) fprintf(gp->f, "%s\n", gp->plot);
  if (gp->multi) fprintf(gp->f, "unset multiplot\n");
  fprintf(gp->f, "unset output\nexit\n");
  int st = pclose(gp->f);
  gp->f = NULL;
  if (!(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    atomic_abort(&gp->csv);
    OO_FAIL("gnuplot failed while drawing '%s' (its message is above)", gp->png);
  }
  struct stat sb;
  if (stat(gp->png, &sb) != 0 || sb.st_size == 0) {
    unlink(gp->png); /* no empty image left as an artifact */
    atomic_abort(&gp->csv);
    OO_FAIL("gnuplot wrote no image '%s' (is the disk full? check its free space)", gp->png);
  }
  return atomic_commit(&gp->csv);
}

/* A fitted form of Gao et al. (form "bon": d(a - b d); "rl": d(a - b ln d)) at x. */
typedef struct {
  char curve[96]; /* objective or tag */
  char form[8];   /* bon | rl */
  double alpha;   /* fitted alpha */
  double beta;    /* fitted beta */
} fit_row;

static double fit_eval(const fit_row *f, double x) {
  if (!strcmp(f->form, "bon")) return x * (f->alpha - f->beta * x);
  return x > 0 ? x * (f->alpha - f->beta * log(x)) : 0.0;
}

/* The fit over the fitted data's range [0, xmax] (role fit, dash-dot) and its dotted continuation
 * to FIT_EXTEND * xmax (role fit_extension): a fit is never drawn far from its data (#14). */
static int plot_fit(gp_plot *gp, const fit_row *f, double xmax, const char *color) {
  double x[FIT_POINTS + 1], y[FIT_POINTS + 1];
  char blk[32], name[128];
  snprintf(name, sizeof name, "%s fit", f->curve);
  for (int seg = 0; seg < 2; seg++) {
    double a = seg ? xmax : 0, b = seg ? FIT_EXTEND * xmax : xmax;
    for (int i = 0; i <= FIT_POINTS; i++) {
      x[i] = a + (b - a) * i / FIT_POINTS;
      y[i] = fit_eval(f, x[i]);
    }
    fig_data(gp, blk, sizeof blk, name, seg ? "fit_extension" : "fit", FIT_POINTS + 1, x, y, NULL, NULL);
    if (seg)
      CHECK(gp_item(gp, "%s using 1:2 with lines lw 1.5 dt 3 lc rgb '%s' notitle", blk, color));
    else
      CHECK(gp_item(gp, "%s using 1:2 with lines lw 1.5 dt 4 lc rgb '%s' title 'gold fit %s (dotted: beyond the data)'",
                    blk, color, !strcmp(f->form, "bon") ? "d(a-b d)" : "d(a-b ln d)"));
  }
  return OO_OK;
}

static double series_xmax(const series *s) {
  double m = 0;
  for (int i = 0; i < s->n; i++)
    if (isfinite(s->v[0][i]) && s->v[0][i] > m) m = s->v[0][i];
  return m;
}

/* One axis per objective (or PPO run) against sqrt(KL), in the style of Gao et al. and Coste et al.:
 * gold solid, proxy dashed, the gold's 95% band over prompts where se_col >= 0 (best-of-n's
 * gold_se), the fitted form of form fit_form over the data's range (dotted beyond, at most
 * FIT_EXTEND x), and in the `single` axis each member's gold faint. */
static int plot_objectives(const gp_env *g, const char *outdir, const char *png, const char *title,
                           const series_set *set, int se_col, const fit_row *fits, int n_fits, const char *fit_form) {
  int panels = 0, has_members = 0, rc = OO_OK, k = 0;
  for (int i = 0; i < set->n; i++) {
    if (is_member(set->s[i].name)) has_members = 1;
    else panels++;
  }
  gp_plot gp;
  CHECK(gp_begin_grid(&gp, g, outdir, png, title, "sqrt(KL) (nats^0.5)", "score (gold: std of pi_init)", panels));
  fprintf(gp.f, "set style fill transparent solid 0.18 noborder\n");
  for (int i = 0; i < set->n; i++) {
    const series *s = &set->s[i];
    if (is_member(s->name)) continue;
    const char *color = objective_color(s->name, k);
    const fit_row *fit = NULL;
    for (int f = 0; f < n_fits; f++)
      if (!strcmp(fits[f].curve, s->name) && !strcmp(fits[f].form, fit_form)) fit = &fits[f];
    double xmax = series_xmax(s);
    gp_panel(&gp, s->name);
    fprintf(gp.f, "set xrange [0:%.9g]\n", (xmax > 0 ? xmax : 1) * (fit ? FIT_EXTEND : 1.03));
    char blk[32];
    if (!strcmp(s->name, "single") && has_members) {
      int titled = 0;
      for (int j = 0; j < set->n; j++) {
        const series *m = &set->s[j];
        if (!is_member(m->name)) continue;
        fig_data(&gp, blk, sizeof blk, m->name, "member_gold", m->n, m->v[0], m->v[BON_GOLD], NULL, NULL);
        CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with lines lw 1 lc rgb '#f0a0a0' %s", blk,
                               titled++ ? "notitle" : "title 'gold of each member'"), fail);
      }
    }
    if (se_col >= 0) {
      double *lo = xmalloc(sizeof(double) * (size_t)(s->n + 1)), *hi = xmalloc(sizeof(double) * (size_t)(s->n + 1));
      for (int j = 0; j < s->n; j++) {
        lo[j] = s->v[BON_GOLD][j] - 1.96 * s->v[se_col][j];
        hi[j] = s->v[BON_GOLD][j] + 1.96 * s->v[se_col][j];
      }
      fig_data(&gp, blk, sizeof blk, s->name, "gold_band", s->n, s->v[0], s->v[BON_GOLD], lo, hi);
      xfree(&lo);
      xfree(&hi);
      CHECK_GOTO(rc, gp_item(&gp, "%s using 1:3:4 with filledcurves lc rgb '%s' title 'gold 95%% (prompts)'", blk,
                             color), fail);
    }
    fig_data(&gp, blk, sizeof blk, s->name, "gold", s->n, s->v[0], s->v[BON_GOLD], NULL, NULL);
    CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with linespoints lw 2.5 pt 7 ps 0.8 lc rgb '%s' title 'gold'", blk,
                           color), fail);
    fig_data(&gp, blk, sizeof blk, s->name, "proxy", s->n, s->v[0], s->v[BON_PROXY], NULL, NULL);
    CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with lines lw 2 dt 2 lc rgb '%s' title 'proxy'", blk, color), fail);
    if (fit && xmax > 0) CHECK_GOTO(rc, plot_fit(&gp, fit, xmax, color), fail);
    k++;
  }
  return gp_end(&gp);
fail:
  gp_abort(&gp);
  return rc;
}

/* The objective's colour; members (each a line of its own) cycle the palette. */
static const char *series_color(const char *name, int index) {
  return strncmp(name, "member", 6) == 0 ? palette[index % N_PALETTE] : objective_color(name, index);
}

/* hex colour "#rrggbb" mixed with white: share f of white. */
static void lighten(const char *hex, double f, char out[8]) {
  unsigned v = (unsigned)strtoul(hex + 1, NULL, 16), c[3] = {v >> 16 & 255, v >> 8 & 255, v & 255};
  for (int i = 0; i < 3; i++) c[i] = (unsigned)lround(c[i] + f * (255.0 - c[i]));
  snprintf(out, 8, "#%02x%02x%02x", c[0] & 255, c[1] & 255, c[2] & 255);
}

/* EMA_ALPHA: weight of the newest value in the smoothed curves (bias-corrected exponential moving
 * average, as TensorBoard's smoothing 0.9): out_i = m_i / w_i with m_i = (1-a) m_{i-1} + a y_i,
 * w_i = (1-a) w_{i-1} + a; NaN values are skipped (the average carries over). */
#define EMA_ALPHA 0.1
static void ema(const double *y, double *out, int n) {
  double m = 0, w = 0;
  for (int i = 0; i < n; i++) {
    if (isfinite(y[i])) {
      m = (1 - EMA_ALPHA) * m + EMA_ALPHA * y[i];
      w = (1 - EMA_ALPHA) * w + EMA_ALPHA;
    }
    out[i] = w > 0 ? m / w : NAN;
  }
}

/* Column ycol of each series against column 0: the raw values faint (role raw), their EMA thick
 * (role ema). */
static int plot_smoothed(const gp_env *g, const char *outdir, const char *png, const char *title, const char *xlabel,
                         const char *ylabel, const series_set *set, int ycol) {
  gp_plot gp;
  int rc = gp_begin(&gp, g, outdir, png, title, xlabel, ylabel);
  for (int i = 0; i < set->n && !rc; i++) {
    const series *s = &set->s[i];
    if (s->n == 0) continue; /* e.g. pretrain.steps = 0: an empty table */
    const char *color = series_color(s->name, i);
    double *sm = xmalloc(sizeof(double) * (size_t)(s->n + 1));
    ema(s->v[ycol], sm, s->n);
    char blk[32];
    fig_data(&gp, blk, sizeof blk, s->name, "raw", s->n, s->v[0], s->v[ycol], NULL, NULL);
    char pale[8];
    lighten(color, 0.7, pale);
    rc = gp_item(&gp, "%s using 1:2 with lines lw 1 lc rgb '%s' notitle", blk, pale);
    fig_data(&gp, blk, sizeof blk, s->name, "ema", s->n, s->v[0], sm, NULL, NULL);
    xfree(&sm);
    if (!rc) rc = gp_item(&gp, "%s using 1:2 with lines lw 2.5 lc rgb '%s' title '%s (EMA 0.1)'", blk, color, s->name);
  }
  if (rc) {
    gp_abort(&gp);
    return rc;
  }
  return gp_end(&gp);
}

/* Column ycol of each series against column 0 as thick lines (role y_role), and column y2col
 * (>= 0) dashed in the same colour (role y2_role; the y label explains the dashes). */
static int plot_lines(const gp_env *g, const char *outdir, const char *png, const char *title, const char *xlabel,
                      const char *ylabel, const series_set *set, int ycol, const char *y_role, int y2col,
                      const char *y2_role, const char *extra) {
  gp_plot gp;
  CHECK(gp_begin(&gp, g, outdir, png, title, xlabel, ylabel));
  if (extra) fprintf(gp.f, "%s\n", extra);
  int rc = OO_OK;
  for (int i = 0; i < set->n; i++) {
    const series *s = &set->s[i];
    char blk[32];
    const char *color = series_color(s->name, i);
    fig_data(&gp, blk, sizeof blk, s->name, y_role, s->n, s->v[0], s->v[ycol], NULL, NULL);
    CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with linespoints lw 2 pt %d ps 1 lc rgb '%s' title '%s'",
                           blk, 4 + 2 * (i % 6), color, s->name), fail);
    if (y2col >= 0) {
      fig_data(&gp, blk, sizeof blk, s->name, y2_role, s->n, s->v[0], s->v[y2col], NULL, NULL);
      CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with lines lw 1.2 dt 2 lc rgb '%s' notitle", blk, color), fail);
    }
  }
  return gp_end(&gp);
fail:
  gp_abort(&gp);
  return rc;
}

static int plot_sweep(const gp_env *g, const char *outdir, const series *s) {
  gp_plot gp;
  CHECK(gp_begin_grid(&gp, g, outdir, "sweep_alpha_beta.png", "Functional-form coefficients across the sweep",
                      "log10(RM parameters)", "", 2));
  fprintf(gp.f, "set offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08\nset xtics 0.5\n");
  static const char *const what[2] = {"alpha (initial slope)", "beta (overoptimization)"};
  int rc = OO_OK;
  for (int p = 0; p < 2 && !rc; p++) {
    char b1[32], b2[32];
    gp_panel(&gp, what[p]);
    /* alpha grows with size, beta falls */
    fprintf(gp.f, "set ylabel '%s'\nset key inside %s right box opaque\n", p ? "beta" : "alpha", p ? "top" : "bottom");
    fig_data(&gp, b1, sizeof b1, "BoN", p ? "beta" : "alpha", s->n, s->v[SW_X], s->v[p ? SW_BBON : SW_ABON], NULL, NULL);
    fig_data(&gp, b2, sizeof b2, "RL", p ? "beta" : "alpha", s->n, s->v[SW_X], s->v[p ? SW_BRL : SW_ARL], NULL, NULL);
    rc = gp_item(&gp, "%s using 1:2 with linespoints lw 2.5 pt 7 lc rgb '%s' title 'BoN'", b1, palette[1]);
    if (!rc) rc = gp_item(&gp, "%s using 1:2 with linespoints lw 2.5 pt 5 dt 2 lc rgb '%s' title 'RL'", b2, palette[0]);
  }
  if (rc) {
    gp_abort(&gp);
    return rc;
  }
  return gp_end(&gp);
}

/* ---- summaries --------------------------------------------------------------------------- */

typedef struct {
  double final_x;    /* sqrt(KL) of the last point */
  double final_gold; /* gold at the last point */
  double peak_gold;  /* max gold */
  double peak_x;     /* sqrt(KL) at the max */
  int peak_index;    /* index of the max */
} curve_summary;

static curve_summary summarize(const series *s, int ycol) {
  curve_summary c = {s->v[0][s->n - 1], s->v[ycol][s->n - 1], -INFINITY, 0, 0};
  for (int i = 0; i < s->n; i++)
    if (s->v[ycol][i] > c.peak_gold) {
      c.peak_gold = s->v[ycol][i];
      c.peak_x = s->v[0][i];
      c.peak_index = i;
    }
  return c;
}

/* A member overoptimizes when its gold peaks before the last point and the last point is
 * below the peak by more than max(0.05, 2 standard errors), the larger of the two points' SEs. */
static int overoptimizes(const series *s) {
  curve_summary c = summarize(s, BON_GOLD);
  if (c.peak_index >= s->n - 1) return 0;
  double se = fmax(s->v[BON_SE][c.peak_index], s->v[BON_SE][s->n - 1]);
  if (!isfinite(se)) se = 0;
  return c.final_gold < c.peak_gold - fmax(0.05, 2 * se);
}

static void md_curve_table(FILE *md, const series_set *set, const char *what) {
  fprintf(md, "| %s | points | final sqrt(KL) | final gold | final proxy | peak gold | sqrt(KL) at peak |\n"
              "|---|---:|---:|---:|---:|---:|---:|\n", what);
  for (int i = 0; i < set->n; i++) {
    const series *s = &set->s[i];
    if (is_member(s->name)) continue;
    curve_summary c = summarize(s, 1);
    fprintf(md, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |\n", s->name, s->n, c.final_x,
            c.final_gold, s->v[2][s->n - 1], c.peak_gold, c.peak_x);
  }
  fprintf(md, "\n");
}

static int md_copy_file(FILE *md, const char *path) {
  char *buf;
  size_t len;
  CHECK(read_file(path, &buf, &len));
  fprintf(md, "<details><summary>config.cfg</summary>\n\n```\n%s%s```\n\n</details>\n\n", buf,
          len && buf[len - 1] == '\n' ? "" : "\n");
  xfree(&buf);
  return OO_OK;
}

/* The largest sqrt(KL) of curve name in set (0 when absent). */
static double curve_xmax(const series_set *set, const char *name) {
  for (int i = 0; i < set->n; i++)
    if (!strcmp(set->s[i].name, name)) return series_xmax(&set->s[i]);
  return 0;
}

/* fits.csv as a table; a peak d* beyond the curve's data (bon in bon, rl in ppo) is flagged as an
 * extrapolation (#14: a PPO peak at sqrt(KL) = 11,000 was printed without a caveat). */
static int md_fits(FILE *md, const char *path, const series_set *bon, const series_set *ppo, fit_row **rows,
                   int *n_rows) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"source", "curve", "form", "alpha", "beta", "r2", "d_star", "gold_star", NULL};
  int col[8], rc = csv_cols(&t, names, col);
  if (rc) goto done;
  *rows = xcalloc((size_t)(t.n_rows ? t.n_rows : 1), sizeof **rows);
  fprintf(md, "## Fitted functional forms (fits.csv)\n\nd = sqrt(KL); BoN: gold(d) = d(α − β·d), "
              "RL: gold(d) = d(α − β·ln d); d* and gold* are the fitted peak.\n\n"
              "| source | curve | form | α | β | R² | d* | gold* | note |\n|---|---|---|---:|---:|---:|---:|---:|---|\n");
  for (int r = 0; r < t.n_rows; r++) {
    double v[5];
    for (int k = 0; k < 5; k++) CHECK_GOTO(rc, csv_num(&t, r, col[3 + k], &v[k]), done);
    const char *form = csv_cell(&t, r, col[2]);
    if (strcmp(form, "bon") != 0 && strcmp(form, "rl") != 0) {
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: form '%s' is neither 'bon' nor 'rl'", path, t.lines[r], form);
      goto done;
    }
    fit_row *f = &(*rows)[(*n_rows)++];
    snprintf(f->curve, sizeof f->curve, "%s", csv_cell(&t, r, col[1]));
    snprintf(f->form, sizeof f->form, "%s", form);
    f->alpha = v[0];
    f->beta = v[1];
    double xmax = curve_xmax(strcmp(form, "bon") ? ppo : bon, f->curve);
    char note[128] = "";
    if (xmax > 0 && v[3] > xmax)
      snprintf(note, sizeof note, "peak extrapolated: the data end at sqrt(KL) = %.3g", xmax);
    fprintf(md, "| %s | %s | %s | %.4g | %.4g | %.3f | %.4g | %.4g | %s |\n", csv_cell(&t, r, col[0]),
            f->curve, form, v[0], v[1], v[2], v[3], v[4], note);
  }
  fprintf(md, "\n");
done:
  csv_free(&t);
  return rc;
}

static int md_winrates(FILE *md, const char *path) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"source", "objective", "winrate", "se", NULL};
  int col[4], rc = csv_cols(&t, names, col);
  if (rc) goto done;
  fprintf(md, "## Win rates against π_init (winrates.csv)\n\n| source | objective | win rate | ± se |\n"
              "|---|---|---:|---:|\n");
  for (int r = 0; r < t.n_rows; r++) {
    double w, se;
    CHECK_GOTO(rc, csv_num(&t, r, col[2], &w), done);
    CHECK_GOTO(rc, csv_num(&t, r, col[3], &se), done);
    fprintf(md, "| %s | %s | %.3f | %.3f |\n", csv_cell(&t, r, col[0]), csv_cell(&t, r, col[1]), w, se);
  }
  fprintf(md, "\n");
done:
  csv_free(&t);
  return rc;
}

/* uncertainty.csv (issue #15): Spearman of each uncertainty source with |proxy - gold|, one row per
 * source and set. */
static int md_uncertainty(FILE *md, const char *path) {
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"source", "set", "samples", "spearman", NULL};
  int col[4], rc = csv_cols(&t, names, col);
  if (rc) goto done;
  fprintf(md, "## Uncertainty quality (uncertainty.csv)\n\nSpearman correlation of each uncertainty with |proxy − gold| "
              "(docs/uncertainty.md).\n\n| source | set | samples | spearman |\n|---|---|---:|---:|\n");
  for (int r = 0; r < t.n_rows; r++) {
    double rho;
    CHECK_GOTO(rc, csv_num(&t, r, col[3], &rho), done);
    fprintf(md, "| %s | %s | %s | %.3f |\n", csv_cell(&t, r, col[0]), csv_cell(&t, r, col[1]), csv_cell(&t, r, col[2]),
            rho);
  }
  fprintf(md, "\n");
done:
  csv_free(&t);
  return rc;
}

/* ---- the report -------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ppo_list_files(const char *dir, char ***names, int *n) {
  DIR *d = opendir(dir);
  REQUIRE(d, "cannot read directory '%s': %s", dir, strerror(errno));
  int cap = 16;
  *n = 0;
  *names = xmalloc((size_t)cap * sizeof **names);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 8 || strncmp(e->d_name, "ppo_", 4) != 0 || strcmp(e->d_name + len - 4, ".csv") != 0) continue;
    if (*n == cap) *names = xrealloc(*names, (size_t)(cap *= 2) * sizeof **names);
    (*names)[(*n)++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(*names, (size_t)*n, sizeof **names, cmp_str);
  return OO_OK;
}

/* PPO against the step: gold (left) and sqrt(KL) (right) of every run; the rollouts' values faint
 * (role rollout), the evaluations' solid with points (role eval). */
static int plot_ppo_steps(const gp_env *g, const char *outdir, const series_set *steps) {
  gp_plot gp;
  CHECK(gp_begin_grid(&gp, g, outdir, "ppo_step.png", "PPO against the step (faint: rollouts; points: evaluations)",
                      "PPO step", "", 2));
  static const char *const panel[2] = {"gold vs step", "sqrt(KL) vs step"};
  static const int cols[2][2] = {{STEP_GOLD, STEP_EVAL_GOLD}, {STEP_SQRT_KL, STEP_EVAL_SQRT_KL}};
  int rc = OO_OK;
  for (int p = 0; p < 2 && !rc; p++) {
    gp_panel(&gp, panel[p]);
    fprintf(gp.f, "set ylabel '%s'\n", p ? "sqrt(KL) (nats^0.5)" : "gold score (std of pi_init)");
    for (int i = 0; i < steps->n && !rc; i++) {
      const series *s = &steps->s[i];
      char b1[32], b2[32], pale[8];
      const char *color = objective_color(s->name, i);
      lighten(color, 0.65, pale);
      fig_data(&gp, b1, sizeof b1, s->name, "rollout", s->n, s->v[STEP_X], s->v[cols[p][0]], NULL, NULL);
      fig_data(&gp, b2, sizeof b2, s->name, "eval", s->n, s->v[STEP_X], s->v[cols[p][1]], NULL, NULL);
      rc = gp_item(&gp, "%s using 1:2 with lines lw 1 lc rgb '%s' notitle", b1, pale);
      /* eval rows are every eval_every steps: connect them across the NaN rows between */
      if (!rc) rc = gp_item(&gp, "%s using 1:($2 == $2 ? $2 : 1/0) with linespoints lw 2.5 pt 7 ps 0.8 lc rgb '%s' "
                                 "title '%s'", b2, color, s->name);
    }
  }
  if (rc) {
    gp_abort(&gp);
    return rc;
  }
  return gp_end(&gp);
}

/* Best-of-n picks: for every evaluation prompt of dir/bon.h5, the sample each objective picks from
 * all N (single = member 0, mean, wco), its proxy objective against its gold, over every sample
 * faint (mean objective). Scores are normalized as the curves are (curves/member_shift,
 * member_scale, curves@gold_shift). *drawn = 0 when the file has no scores to draw. */
static int plot_bon_scatter(const gp_env *g, const char *outdir, const char *h5path, int *drawn) {
  h5_reader r;
  *drawn = 0;
  CHECK(h5_open(&r, h5path));
  long d3[H5IO_MAX_RANK], d2[H5IO_MAX_RANK], dk[1];
  float *proxy = NULL, *gold = NULL;
  double *shift = NULL, *scale = NULL, gold_shift = 0;
  int rc = h5_read_f32_alloc(&r, "proxy", 3, d3, &proxy);
  if (!rc) rc = h5_read_f32_alloc(&r, "gold", 2, d2, &gold);
  long n_prompts = d3[0], N = d3[1], K = d3[2];
  if (!rc && (d2[0] != n_prompts || d2[1] != N))
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': gold [%ld,%ld] does not match proxy [%ld,%ld,%ld]", h5path,
                     d2[0], d2[1], n_prompts, N, K);
  if (!rc) {
    dk[0] = K;
    shift = xmalloc(sizeof(double) * (size_t)K);
    scale = xmalloc(sizeof(double) * (size_t)K);
    rc = h5_read_f64(&r, "curves/member_shift", 1, dk, shift);
  }
  if (!rc) rc = h5_read_f64(&r, "curves/member_scale", 1, dk, scale);
  if (!rc && h5_attr_has(&r, "curves", "gold_shift")) rc = h5_attr_read_double(&r, "curves", "gold_shift", &gold_shift);
  h5_close(&r);
  gp_plot gp;
  int open = 0;
  enum { N_OBJ = 3 };
  static const char *const obj[N_OBJ] = {"single", "mean", "wco"};
  double *ax = NULL, *ay = NULL, *px = NULL, *py = NULL;
  if (rc || n_prompts * N == 0 || K == 0) goto done;
  ax = xmalloc(sizeof(double) * (size_t)(n_prompts * N));
  ay = xmalloc(sizeof(double) * (size_t)(n_prompts * N));
  px = xmalloc(sizeof(double) * (size_t)n_prompts * N_OBJ);
  py = xmalloc(sizeof(double) * (size_t)n_prompts * N_OBJ);
  for (long p = 0; p < n_prompts; p++) {
    double best[N_OBJ] = {-INFINITY, -INFINITY, -INFINITY};
    for (long n = 0; n < N; n++) {
      double v[N_OBJ] = {0}, sum = 0, mn = INFINITY;
      for (long m = 0; m < K; m++) {
        double z = (proxy[(p * N + n) * K + m] - shift[m]) / scale[m];
        sum += z;
        mn = fmin(mn, z);
        if (m == 0) v[0] = z;
      }
      v[1] = sum / K;
      v[2] = mn;
      double gz = gold[p * N + n] - gold_shift;
      ax[p * N + n] = v[1];
      ay[p * N + n] = gz;
      for (int o = 0; o < N_OBJ; o++)
        if (v[o] > best[o]) best[o] = v[o], px[o * n_prompts + p] = v[o], py[o * n_prompts + p] = gz;
    }
  }
  char title[160], blk[32];
  snprintf(title, sizeof title, "Best-of-%ld picks: gold vs proxy (%ld prompts; grey: every sample)", N, n_prompts);
  CHECK_GOTO(rc, gp_begin(&gp, g, outdir, "bon_scatter.png", title, "proxy objective of the pick (normalized)",
                          "gold score (std of pi_init)"), done);
  open = 1;
  fig_data(&gp, blk, sizeof blk, "all samples", "sample", (int)(n_prompts * N), ax, ay, NULL, NULL);
  CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with points pt 7 ps 0.3 lc rgb '#c8c8c8' title 'every sample (mean)'", blk),
             done);
  for (int o = 0; o < N_OBJ; o++) {
    fig_data(&gp, blk, sizeof blk, obj[o], "pick", (int)n_prompts, px + o * n_prompts, py + o * n_prompts, NULL, NULL);
    CHECK_GOTO(rc, gp_item(&gp, "%s using 1:2 with points pt %d ps 1.3 lc rgb '%s' title 'pick of %s%s'", blk,
                           5 + 2 * o, objective_color(obj[o], o), obj[o], o ? "" : " (member 0)"), done);
  }
  open = 0;
  rc = gp_end(&gp);
  if (!rc) *drawn = 1;
done:
  if (open) gp_abort(&gp);
  xfree(&proxy);
  xfree(&gold);
  xfree(&shift);
  xfree(&scale);
  xfree(&ax);
  xfree(&ay);
  xfree(&px);
  xfree(&py);
  return rc;
}

/* Every lm_<size>_train.csv of dir (step,loss,lr) into set, one series per size. */
static int load_pretrain(const char *dir, series_set *set) {
  DIR *d = opendir(dir);
  REQUIRE(d, "cannot read directory '%s': %s", dir, strerror(errno));
  char **names = NULL;
  int n = 0, rc = OO_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 13 || strncmp(e->d_name, "lm_", 3) || strcmp(e->d_name + len - 10, "_train.csv")) continue;
    names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    char path[4352], label[128];
    csv_table t;
    if (!rc) rc = oo_path_join(path, sizeof path, dir, names[i]);
    if (!rc) rc = csv_read(&t, path);
    if (!rc) {
      static const char *const cn[] = {"step", "loss", NULL};
      int col[2];
      series *s = NULL;
      snprintf(label, sizeof label, "%.*s", (int)strlen(names[i]) - 13, names[i] + 3);
      rc = csv_cols(&t, cn, col);
      if (!rc) rc = series_get(set, label, &s);
      for (int r = 0; r < t.n_rows && !rc; r++) {
        double v[SERIES_COLS] = {0};
        rc = csv_num(&t, r, col[0], &v[LOSS_STEP]);
        if (!rc) rc = csv_num(&t, r, col[1], &v[LOSS_VALUE]);
        if (!rc) series_push(s, v);
      }
      csv_free(&t);
    }
    xfree(&names[i]);
  }
  xfree(&names);
  return rc;
}

typedef struct {
  series_set bon;     /* bon.csv per objective and member */
  series_set ppo;     /* per PPO tag: gold/proxy vs sqrt(KL) */
  series_set var;     /* per PPO tag: ensemble variance vs step */
  series_set steps;   /* per PPO tag: gold and sqrt(KL) vs step (STEP_*) */
  series_set loss;    /* per LM size: pretraining loss vs step */
  series_set rm;      /* per member: accuracy vs epoch */
  series_set sweep;   /* one series across sweep points */
  csv_table sweep_t;  /* sweep.csv as read (for the table) */
  fit_row *fits;      /* (n_fits) rows of fits.csv */
  int n_fits;         /* rows in fits */
  char **ppo_files;   /* (n_ppo) ppo_<tag>.csv names */
  int n_ppo;          /* PPO files */
} report_data;

static void report_data_free(report_data *d) {
  series_set_free(&d->bon);
  series_set_free(&d->ppo);
  series_set_free(&d->var);
  series_set_free(&d->steps);
  series_set_free(&d->loss);
  series_set_free(&d->rm);
  series_set_free(&d->sweep);
  csv_free(&d->sweep_t);
  xfree(&d->fits);
  for (int i = 0; i < d->n_ppo; i++) xfree(&d->ppo_files[i]);
  xfree(&d->ppo_files);
}

static int have(const char *dir, const char *name, char *path, size_t cap) {
  if (oo_path_join(path, cap, dir, name)) return 0;
  return oo_file_exists(path);
}

/* Notes "skipped" lines for report.md and prints them as warnings. */
static void note_skip(FILE *md, const char *what, const char *why) {
  LOG_WARN("report: %s skipped: %s", what, why);
  fprintf(md, "- %s: skipped (%s)\n", what, why);
}

/* ---- the replicate report (DIR/summary.csv present; definitions in docs/statistics.md) ---- */

/* BoN's analytic KL of best-of-n against n, as the bon stage writes it. */
static double bon_sqrt_kl(double n) { return sqrt_kl(log(n) - (n - 1) / n); }

static int is_bon_method(const char *method) { return strcmp(method, "bon") == 0; }

/* Label of a (method, objective) curve in plots and tables: the objective, with the beta for
 * ppo_beta<b> methods. */
static void curve_label(char *out, size_t cap, const summary_row *r) {
  if (strncmp(r->method, "ppo_", 4) == 0) snprintf(out, cap, "%s %s", r->objective, r->method + 4);
  else snprintf(out, cap, "%s", r->objective);
}

/* End of the run of rows that share rows[r0]'s method (and objective, with same_objective):
 * summary tables keep each method's and each curve's rows contiguous. */
static int rows_end(const summary_table *t, int r0, int same_objective) {
  int r1 = r0 + 1;
  while (r1 < t->n_rows && !strcmp(t->rows[r1].method, t->rows[r0].method) &&
         (!same_objective || !strcmp(t->rows[r1].objective, t->rows[r0].objective)))
    r1++;
  return r1;
}

static void fmt_interval(char *out, size_t cap, stats_ci c) {
  if (isnan(c.lo)) snprintf(out, cap, "%+.3f [n/a]", c.mean);
  else snprintf(out, cap, "%+.3f [%+.3f, %+.3f]", c.mean, c.lo, c.hi);
}

/* Gold (diff = 0) or the paired difference objective − single (diff = 1, single left out)
 * against sqrt(KL) for the rows of BoN (bon = 1) or of the PPO methods: per curve a shaded 95%
 * band, thin lines for the replicates and the mean on top. */
static int plot_bands(const gp_env *g, const char *outdir, const char *png, const char *title,
                      const summary_table *t, int bon, int diff) {
  gp_plot gp;
  CHECK(gp_begin(&gp, g, outdir, png, title,
                 bon ? "sqrt(KL) = sqrt(log n - (n-1)/n) (nats^0.5); top axis: n" : "sqrt(KL) (nats^0.5)",
                 diff ? "gold(objective) - gold(single), same replicate (std of pi_init)"
                      : "gold score (std of pi_init)"));
  const double *values = diff ? t->diff : t->gold; /* (n_rows, R) */
  int R = t->R, rc = OO_OK, k = 0, method_index = 0;
  double xmax = 0;
  char last_method[64] = "";
  fprintf(gp.f, "set style fill transparent solid 0.18 noborder\n");
  for (int r = 0; r < t->n_rows; r++)
    if (is_bon_method(t->rows[r].method) == bon)
      xmax = fmax(xmax, bon ? bon_sqrt_kl(t->rows[r].x) : t->rows[r].x);
  fprintf(gp.f, "set xrange [0:%.9g]\n", xmax > 0 ? xmax * 1.03 : 1);
  if (bon) { /* n on the top axis */
    fprintf(gp.f, "set x2range [0:%.9g]\nset x2tics (", xmax > 0 ? xmax * 1.03 : 1);
    for (int r = 0, first = 1; r < t->n_rows && (first || !strcmp(t->rows[r].objective, t->rows[r - 1].objective)); r++)
      if (is_bon_method(t->rows[r].method)) {
        fprintf(gp.f, "%s'%.0f' %.9g", first ? "" : ", ", t->rows[r].x, bon_sqrt_kl(t->rows[r].x));
        first = 0;
      }
    fprintf(gp.f, ")\nset xtics nomirror\n");
  }
  int titled = 0;
  for (int r0 = 0, r1; r0 < t->n_rows; r0 = r1) {
    r1 = rows_end(t, r0, 1); /* rows [r0, r1) are one curve */
    const summary_row *h = &t->rows[r0];
    if (is_bon_method(h->method) != bon || (diff && (!strcmp(h->objective, "single") || isnan(h->diff.mean))))
      continue;
    if (strcmp(last_method, h->method)) method_index++;
    snprintf(last_method, sizeof last_method, "%s", h->method);
    int n = r1 - r0;
    double *x = xmalloc(sizeof(double) * (size_t)n * 4), *m = x + n, *lo = x + 2 * n, *hi = x + 3 * n;
    char label[200], blk[32], rep[232];
    curve_label(label, sizeof label, h);
    const char *color = objective_color(h->objective, k);
    for (int i = 0; i < R && !rc; i++) { /* each replicate, thin */
      for (int r = r0; r < r1; r++) {
        x[r - r0] = bon ? bon_sqrt_kl(t->rows[r].x) : t->rows[r].x;
        m[r - r0] = values[(size_t)r * R + i];
      }
      snprintf(rep, sizeof rep, "%s rep%d", label, i);
      fig_data(&gp, blk, sizeof blk, rep, "replicate", n, x, m, NULL, NULL);
      rc = gp_item(&gp, "%s using 1:2 with lines lw 0.8 dt %d lc rgb '%s' %s", blk, method_index, color,
                   titled++ ? "notitle" : "title 'each replicate'");
    }
    for (int r = r0; r < r1; r++) {
      const stats_ci *c = diff ? &t->rows[r].diff : &t->rows[r].gold;
      m[r - r0] = c->mean, lo[r - r0] = c->lo, hi[r - r0] = c->hi;
    }
    fig_data(&gp, blk, sizeof blk, label, R >= 2 ? "mean_band" : "mean", n, x, m, R >= 2 ? lo : NULL, R >= 2 ? hi : NULL);
    xfree(&x);
    if (!rc && R >= 2) rc = gp_item(&gp, "%s using 1:3:4 with filledcurves lc rgb '%s' notitle", blk, color);
    if (!rc)
      rc = gp_item(&gp, "%s using 1:2 with linespoints lw 2.5 dt %d pt %d ps 1.1 lc rgb '%s' title '%s (mean%s)'", blk,
                   method_index, 4 + 2 * (k % 6), color, label, R >= 2 ? ", 95% CI" : "");
    if (rc) goto fail;
    k++;
  }
  if (diff) CHECK_GOTO(rc, gp_item(&gp, "0 with lines lw 1.5 lc rgb '#000000' title 'no difference'"), fail);
  return gp_end(&gp);
fail:
  gp_abort(&gp);
  return rc;
}

/* One axis per curve of BoN (bon = 1) or of the PPO methods, in the style of the single-run
 * *_objectives figures: the mean gold over replicates solid with its 95% interval shaded (role
 * gold, the interval in y_lo, y_hi), each replicate's gold thin (role replicate) and the mean
 * proxy objective dashed (role proxy). */
static int plot_rep_objectives(const gp_env *g, const char *outdir, const char *png, const char *title,
                               const summary_table *t, int bon) {
  int panels = 0, R = t->R, rc = OO_OK, k = 0;
  for (int r0 = 0, r1; r0 < t->n_rows; r0 = r1) {
    r1 = rows_end(t, r0, 1);
    panels += is_bon_method(t->rows[r0].method) == bon;
  }
  gp_plot gp;
  CHECK(gp_begin_grid(&gp, g, outdir, png, title, bon ? "sqrt(KL) = sqrt(log n - (n-1)/n) (nats^0.5)" : "sqrt(KL) (nats^0.5)",
                      "score (gold: std of pi_init)", panels));
  fprintf(gp.f, "set style fill transparent solid 0.18 noborder\n");
  for (int r0 = 0, r1; r0 < t->n_rows && !rc; r0 = r1) {
    r1 = rows_end(t, r0, 1);
    const summary_row *h = &t->rows[r0];
    if (is_bon_method(h->method) != bon) continue;
    int n = r1 - r0;
    double *x = xmalloc(sizeof(double) * (size_t)n * 4), *y = x + n, *lo = x + 2 * n, *hi = x + 3 * n;
    char label[200], blk[32], rep[232], pale[8];
    curve_label(label, sizeof label, h);
    const char *color = objective_color(h->objective, k++);
    lighten(color, 0.5, pale);
    gp_panel(&gp, label);
    for (int r = r0; r < r1; r++) x[r - r0] = bon ? bon_sqrt_kl(t->rows[r].x) : t->rows[r].x;
    for (int i = 0; i < R && !rc; i++) {
      for (int r = r0; r < r1; r++) y[r - r0] = t->gold[(size_t)r * R + i];
      snprintf(rep, sizeof rep, "%s rep%d", label, i);
      fig_data(&gp, blk, sizeof blk, rep, "replicate", n, x, y, NULL, NULL);
      rc = gp_item(&gp, "%s using 1:2 with lines lw 0.8 lc rgb '%s' %s", blk, pale, i ? "notitle" : "title 'each replicate'");
    }
    for (int r = r0; r < r1; r++)
      y[r - r0] = t->rows[r].gold.mean, lo[r - r0] = t->rows[r].gold.lo, hi[r - r0] = t->rows[r].gold.hi;
    fig_data(&gp, blk, sizeof blk, label, "gold", n, x, y, R >= 2 ? lo : NULL, R >= 2 ? hi : NULL);
    if (!rc && R >= 2) rc = gp_item(&gp, "%s using 1:3:4 with filledcurves lc rgb '%s' title '95%% CI'", blk, color);
    if (!rc) rc = gp_item(&gp, "%s using 1:2 with linespoints lw 2.5 pt 7 ps 0.8 lc rgb '%s' title 'gold (mean)'", blk, color);
    for (int r = r0; r < r1; r++) {
      double sum = 0;
      for (int i = 0; i < R; i++) sum += t->proxy[(size_t)r * R + i];
      y[r - r0] = sum / R;
    }
    fig_data(&gp, blk, sizeof blk, label, "proxy", n, x, y, NULL, NULL);
    if (!rc) rc = gp_item(&gp, "%s using 1:2 with lines lw 2 dt 2 lc rgb '%s' title 'proxy (mean)'", blk, color);
    xfree(&x);
  }
  if (rc) {
    gp_abort(&gp);
    return rc;
  }
  return gp_end(&gp);
}

/* The verdict tables: objective − single at each method's largest x, and whether single
 * overoptimizes (paired peak − end). Claims only where the 95% interval excludes zero. */
static int md_verdicts(FILE *md, const summary_table *t) {
  int R = t->R;
  fprintf(md, "## Verdict: objective − single at the largest common KL\n\n"
              "Paired difference of gold within each replicate at the method's largest x (best-of-n: "
              "the largest n; PPO: the largest point of the common sqrt(KL) grid), mean and 95%% "
              "Student-t interval over %d replicate%s; wins = replicates where the objective's gold "
              "is higher. A claim is printed only when the interval excludes zero.\n\n"
              "| method | objective | at | objective − single [95%% CI] | wins | verdict |\n"
              "|---|---|---|---|---:|---|\n", R, R == 1 ? "" : "s");
  char buf[200];
  for (int r0 = 0, r1; r0 < t->n_rows; r0 = r1) {
    const char *method = t->rows[r0].method;
    int end = r0;
    r1 = rows_end(t, r0, 0);
    for (int r = r0; r < r1; r++)
      if (t->rows[r].x > t->rows[end].x) end = r;
    double x_end = t->rows[end].x;
    /* does single overoptimize in this method? (decides the wording of a positive difference) */
    int single_over = 0, has_single = 0;
    for (int r = r0; r < r1; r++) has_single |= !strcmp(t->rows[r].objective, "single");
    if (has_single) {
      double xp, xe;
      stats_ci drop;
      int w;
      CHECK(summary_peak_drop(t, method, "single", &xp, &xe, &drop, &w));
      single_over = xp < xe && drop.lo > 0;
    }
    for (int r = r0; r < r1; r++) {
      const summary_row *row = &t->rows[r];
      if (row->x != x_end || !strcmp(row->objective, "single")) continue;
      char at[96], verdict[200];
      if (is_bon_method(method)) snprintf(at, sizeof at, "n = %.0f", row->x);
      else snprintf(at, sizeof at, "sqrt(KL) = %.3f", row->x);
      fmt_interval(buf, sizeof buf, row->diff);
      if (!has_single) snprintf(verdict, sizeof verdict, "unresolved (no `single` in %s)", method);
      else if (R < 2) snprintf(verdict, sizeof verdict, "unresolved (one replicate: no interval)");
      else if (row->diff.lo > 0 && single_over)
        snprintf(verdict, sizeof verdict, "`%s` mitigates overoptimization (gold above single)", row->objective);
      else if (row->diff.lo > 0) snprintf(verdict, sizeof verdict, "`%s` gold above single", row->objective);
      else if (row->diff.hi < 0) snprintf(verdict, sizeof verdict, "`%s` gold below single", row->objective);
      else snprintf(verdict, sizeof verdict, "unresolved");
      fprintf(md, "| %s | %s | %s | %s | %d/%d | %s |\n", method, row->objective, at, buf, row->wins, R, verdict);
    }
  }
  fprintf(md, "\n## Does single overoptimize?\n\n"
              "x_peak is where single's mean gold over replicates is largest; per replicate, drop = "
              "gold(x_peak) − gold(largest x); \"single overoptimizes\" when the mean gold peaks "
              "before the largest x and the 95%% interval of the drop excludes zero. x_peak is chosen "
              "from the same replicates, so the interval is somewhat optimistic.\n\n"
              "| method | peak of mean gold | at | largest x | peak − end [95%% CI] | replicates with a drop | verdict |\n"
              "|---|---:|---|---|---|---:|---|\n");
  for (int r0 = 0, r1; r0 < t->n_rows; r0 = r1) {
    const char *method = t->rows[r0].method;
    int has_single = 0, peak = -1;
    r1 = rows_end(t, r0, 0);
    for (int r = r0; r < r1; r++)
      if (!strcmp(t->rows[r].objective, "single")) {
        has_single = 1;
        if (peak < 0 || t->rows[r].gold.mean > t->rows[peak].gold.mean) peak = r;
      }
    if (has_single) {
      double xp, xe;
      stats_ci drop;
      int w;
      CHECK(summary_peak_drop(t, method, "single", &xp, &xe, &drop, &w));
      const char *verdict = xp >= xe ? "unresolved (mean gold peaks at the largest x)"
                            : R < 2 ? "unresolved (one replicate: no interval)"
                            : drop.lo > 0 ? "single overoptimizes" : "unresolved";
      char at[64], end[64];
      snprintf(at, sizeof at, is_bon_method(method) ? "n = %.0f" : "sqrt(KL) = %.3f", xp);
      snprintf(end, sizeof end, is_bon_method(method) ? "n = %.0f" : "sqrt(KL) = %.3f", xe);
      fmt_interval(buf, sizeof buf, drop);
      fprintf(md, "| %s | %.3f | %s | %s | %s | %d/%d | %s |\n", method, t->rows[peak].gold.mean, at, end, buf,
              w, R, verdict);
    }
  }
  fprintf(md, "\n");
  return OO_OK;
}

/* Gold per curve at its largest x and its peak (means over replicates, 95% intervals). */
static void md_replicate_curves(FILE *md, const summary_table *t) {
  fprintf(md, "## Gold per objective (summary.csv)\n\n"
              "| method | objective | largest x | gold there [95%% CI] | sd | peak mean gold | x at peak |\n"
              "|---|---|---:|---|---:|---:|---:|\n");
  for (int r0 = 0, r1; r0 < t->n_rows; r0 = r1) {
    int end = r0, peak = r0;
    r1 = rows_end(t, r0, 1);
    for (int r = r0; r < r1; r++) {
      if (t->rows[r].x > t->rows[end].x) end = r;
      if (t->rows[r].gold.mean > t->rows[peak].gold.mean) peak = r;
    }
    char buf[200];
    fmt_interval(buf, sizeof buf, t->rows[end].gold);
    fprintf(md, "| %s | %s | %.4g | %s | %.3f | %.3f | %.4g |\n", t->rows[r0].method, t->rows[r0].objective,
            t->rows[end].x, buf, t->rows[end].gold.sd, t->rows[peak].gold.mean, t->rows[peak].x);
  }
  fprintf(md, "\n");
}

/* fits_summary.csv as a table. */
static int md_fits_summary(FILE *md, const char *path) {
  csv_table c;
  CHECK(csv_read(&c, path));
  static const char *const names[] = {"curve", "form", "parameter", "replicates", "mean", "sd", "ci_lo", "ci_hi", NULL};
  int col[8], rc = csv_cols(&c, names, col);
  if (rc) goto done;
  fprintf(md, "## Fitted functional forms over replicates (fits_summary.csv)\n\n"
              "Mean and 95%% interval over the replicates whose fit gave a finite value.\n\n"
              "| curve | form | parameter | replicates | mean | sd | 95%% CI |\n|---|---|---|---:|---:|---:|---|\n");
  for (int r = 0; r < c.n_rows; r++) {
    double v[5];
    for (int k = 0; k < 5; k++) CHECK_GOTO(rc, csv_num(&c, r, col[3 + k], &v[k]), done);
    fprintf(md, "| %s | %s | %s | %.0f | %.4g | %.3g | ", csv_cell(&c, r, col[0]), csv_cell(&c, r, col[1]),
            csv_cell(&c, r, col[2]), v[0], v[1], v[2]);
    if (isnan(v[3])) fprintf(md, "n/a |\n");
    else fprintf(md, "[%.4g, %.4g] |\n", v[3], v[4]);
  }
  fprintf(md, "\n");
done:
  csv_free(&c);
  return rc;
}

/* uncertainty_summary.csv (issue #15) as one table: a row per set (pi_init, bon_<n>), a column per
 * source, each cell the mean Spearman over replicates with its 95% interval. */
static int md_uncertainty_summary(FILE *md, const char *path) {
  csv_table c;
  CHECK(csv_read(&c, path));
  static const char *const names[] = {"source", "set", "replicates", "mean", "ci_lo", "ci_hi", NULL};
  int col[6], rc = csv_cols(&c, names, col);
  if (rc) goto done;
  enum { MAX_SRC = 8 };
  const char *src[MAX_SRC];
  int n_src = 0;
  for (int r = 0; r < c.n_rows; r++) {
    const char *s = csv_cell(&c, r, col[0]);
    int k = 0;
    while (k < n_src && strcmp(src[k], s)) k++;
    if (k == n_src && n_src < MAX_SRC) src[n_src++] = s;
  }
  fprintf(md, "## Uncertainty quality over replicates (uncertainty_summary.csv)\n\n"
              "Spearman correlation of each uncertainty with |proxy − gold| (docs/uncertainty.md): mean and 95%% "
              "interval over the replicates with a finite value; `pi_init` is every sample of π_init, `bon_<n>` the "
              "top ⌈N/n⌉ samples per prompt by ensemble mean.\n\n| set |");
  for (int k = 0; k < n_src; k++) fprintf(md, " %s |", src[k]);
  fprintf(md, "\n|---|");
  for (int k = 0; k < n_src; k++) fprintf(md, "---|");
  fprintf(md, "\n");
  for (int r = 0; r < c.n_rows; r++) { /* a row per set, at its first appearance */
    const char *set = csv_cell(&c, r, col[1]);
    int first = 1;
    for (int q = 0; q < r && first; q++) first = strcmp(csv_cell(&c, q, col[1]), set) != 0;
    if (!first) continue;
    fprintf(md, "| %s |", set);
    for (int k = 0; k < n_src; k++) {
      int q = 0;
      while (q < c.n_rows && (strcmp(csv_cell(&c, q, col[0]), src[k]) || strcmp(csv_cell(&c, q, col[1]), set))) q++;
      double v[3] = {NAN, NAN, NAN};
      for (int j = 0; j < 3 && q < c.n_rows; j++) CHECK_GOTO(rc, csv_num(&c, q, col[3 + j], &v[j]), done);
      if (q == c.n_rows || isnan(v[0])) fprintf(md, " – |");
      else if (isnan(v[1])) fprintf(md, " %+.3f (R = %s) |", v[0], csv_cell(&c, q, col[2]));
      else fprintf(md, " %+.3f [%+.3f, %+.3f] |", v[0], v[1], v[2]);
    }
    fprintf(md, "\n");
  }
  fprintf(md, "\n");
done:
  csv_free(&c);
  return rc;
}

/* R from summary.csv's replicates column; the table is recomputed from DIR/rep<i> (for the
 * replicate lines and the paired peak − end) and must match summary.csv row for row. */
static int load_replicate_summary(const char *dir, const char *path, summary_table *t) {
  csv_table c;
  CHECK(csv_read(&c, path));
  static const char *const names[] = {"method", "objective", "x", "replicates", NULL};
  int col[4], rc = csv_cols(&c, names, col);
  double R = 0, x;
  if (!rc && c.n_rows == 0) rc = oo_error_at(__FILE__, __LINE__, "%s: no data rows", path);
  if (!rc) rc = csv_num(&c, 0, col[3], &R);
  if (!rc && !(R >= 1 && R == floor(R) && R <= 100000))
    rc = oo_error_at(__FILE__, __LINE__, "%s:%d: replicates = %s is not a positive integer", path, c.lines[0],
                     csv_cell(&c, 0, col[3]));
  if (!rc) rc = summary_compute(t, dir, (int)R);
  if (!rc && t->n_rows != c.n_rows)
    rc = oo_error_at(__FILE__, __LINE__, "%s has %d rows but its replicates give %d: it is stale (run "
                     "`overopt summary %s`)", path, c.n_rows, t->n_rows, dir);
  for (int r = 0; r < c.n_rows && !rc; r++) {
    const summary_row *row = &t->rows[r];
    CHECK_GOTO(rc, csv_num(&c, r, col[2], &x), done);
    if (strcmp(csv_cell(&c, r, col[0]), row->method) || strcmp(csv_cell(&c, r, col[1]), row->objective) ||
        !(fabs(x - row->x) <= 1e-6 * fmax(1, fabs(row->x))))
      rc = oo_error_at(__FILE__, __LINE__, "%s:%d: row %s,%s,%s but the replicates give %s,%s,%.9g: it is "
                       "stale (run `overopt summary %s`)", path, c.lines[r], csv_cell(&c, r, col[0]),
                       csv_cell(&c, r, col[1]), csv_cell(&c, r, col[2]), row->method, row->objective, row->x, dir);
  }
done:
  csv_free(&c);
  if (rc && t->rows) summary_free(t);
  return rc;
}

static int report_replicates(const char *dir, const char *outdir, FILE *md, const char *summary_path) {
  summary_table t = {0};
  CHECK(load_replicate_summary(dir, summary_path, &t));
  series_set *loss = xcalloc(1, sizeof *loss); /* large for the stack */
  char path[4352];
  int rc = OO_OK, has_bon = 0, has_ppo = 0;
  gp_env g;
  CHECK_GOTO(rc, gp_detect(&g), done);
  for (int r = 0; r < t.n_rows; r++) {
    has_bon |= is_bon_method(t.rows[r].method);
    has_ppo |= !is_bon_method(t.rows[r].method);
  }
  fprintf(md, "# overopt report: %d replicates\n\nRun directory: `%s` (replicates `rep0` .. `rep%d`; "
              "summary.csv, summary.h5, fits_summary.csv, uncertainty_summary.csv). Definitions: docs/statistics.md.\n\n"
              "Gold is calibrated to mean 0, std 1 on π_init's samples; PPO gold is relative to π_init's "
              "evaluation and PPO x is sqrt of the running maximum of the evaluation KL (nats^0.5).\n\n",
              t.R, dir, t.R - 1);
  if (t.left_out[0])
    fprintf(md, "**Left out:** PPO method(s) %s: some replicate's objective never has an evaluation KL above "
                "0, so there is no common sqrt(KL) grid (docs/statistics.md).\n\n", t.left_out);
  CHECK_GOTO(rc, md_verdicts(md, &t), done);
  md_replicate_curves(md, &t);
  if (have(dir, "fits_summary.csv", path, sizeof path)) CHECK_GOTO(rc, md_fits_summary(md, path), done);
  if (have(dir, "uncertainty_summary.csv", path, sizeof path)) CHECK_GOTO(rc, md_uncertainty_summary(md, path), done);
  if (have(dir, "config.cfg", path, sizeof path)) CHECK_GOTO(rc, md_copy_file(md, path), done);
  fprintf(md, "## Plots\n\nShaded: 95%% interval of the mean over replicates; thin lines: each replicate; "
              "thick: the mean.\n\n");
  if (has_bon) {
    CHECK_GOTO(rc, plot_bands(&g, outdir, "bon_gold.png", "Best-of-n: gold vs KL over replicates", &t, 1, 0), done);
    CHECK_GOTO(rc, plot_bands(&g, outdir, "bon_diff.png", "Best-of-n: objective - single, paired within replicates",
                              &t, 1, 1), done);
    CHECK_GOTO(rc, plot_rep_objectives(&g, outdir, "bon_objectives.png",
                                       "Best-of-n: gold and proxy per objective over replicates", &t, 1), done);
    fprintf(md, "![Best-of-n gold and proxy per objective](bon_objectives.png)\n\n"
                "![Best-of-n gold over replicates](bon_gold.png)\n\n![Best-of-n objective − single](bon_diff.png)\n\n");
  }
  if (has_ppo) {
    CHECK_GOTO(rc, plot_bands(&g, outdir, "ppo_gold.png", "PPO: gold vs KL over replicates (common grid)", &t, 0, 0),
               done);
    CHECK_GOTO(rc, plot_bands(&g, outdir, "ppo_diff.png", "PPO: objective - single, paired within replicates",
                              &t, 0, 1), done);
    CHECK_GOTO(rc, plot_rep_objectives(&g, outdir, "ppo_objectives.png",
                                       "PPO: gold and proxy per objective over replicates (common grid)", &t, 0), done);
    fprintf(md, "![PPO gold and proxy per objective](ppo_objectives.png)\n\n"
                "![PPO gold over replicates](ppo_gold.png)\n\n![PPO objective − single](ppo_diff.png)\n\n");
  }
  if (oo_path_join(path, sizeof path, dir, "rep0/bon.h5") == OO_OK && oo_file_exists(path)) {
    int drawn;
    CHECK_GOTO(rc, plot_bon_scatter(&g, outdir, path, &drawn), done);
    if (drawn) fprintf(md, "![Best-of-n picks of replicate 0: gold vs proxy](bon_scatter.png)\n\n");
  }
  CHECK_GOTO(rc, load_pretrain(dir, loss), done);
  if (set_points(loss)) {
    CHECK_GOTO(rc, plot_smoothed(&g, outdir, "pretrain_loss.png", "Pretraining loss (faint: per step)", "step",
                                 "loss (nats/byte)", loss, LOSS_VALUE), done);
    fprintf(md, "![Pretraining loss](pretrain_loss.png)\n\n");
  }
done:
  series_set_free(loss);
  xfree(&loss);
  summary_free(&t);
  return rc;
}

static int report_body(const char *dir, const char *outdir, FILE *md, report_data *d) {
  char path[4352];
  if (have(dir, "summary.csv", path, sizeof path)) return report_replicates(dir, outdir, md, path);
  int has_bon = have(dir, "bon.csv", path, sizeof path);
  if (has_bon) CHECK(load_bon(path, &d->bon));
  int has_rm = have(dir, "rm_members.csv", path, sizeof path);
  if (has_rm) CHECK(load_rm(path, &d->rm));
  int has_sweep = have(dir, "sweep.csv", path, sizeof path);
  if (has_sweep) CHECK(load_sweep(path, &d->sweep, &d->sweep_t));
  CHECK(ppo_list_files(dir, &d->ppo_files, &d->n_ppo));
  for (int i = 0; i < d->n_ppo; i++) {
    char tag[256];
    snprintf(tag, sizeof tag, "%.*s", (int)strlen(d->ppo_files[i]) - 8, d->ppo_files[i] + 4);
    CHECK(oo_path_join(path, sizeof path, dir, d->ppo_files[i]));
    CHECK(load_ppo(path, tag, &d->ppo, &d->var, &d->steps));
  }
  CHECK(load_pretrain(dir, &d->loss));
  REQUIRE(has_bon || has_rm || has_sweep || d->n_ppo > 0,
          "no report inputs in '%s': expected bon.csv, ppo_<tag>.csv, rm_members.csv or sweep.csv "
          "(written by the bon, ppo, rm and sweep stages: run `overopt run CONFIG` first)", dir);
  gp_env g;
  CHECK(gp_detect(&g));

  /* ---- setting ---- */
  fprintf(md, "# overopt report\n\nRun directory: `%s`\n\n## Setting\n\n", dir);
  if (has_bon) {
    int n_members = 0;
    fprintf(md, "- Best-of-n objectives:");
    for (int i = 0, k = 0; i < d->bon.n; i++) {
      if (is_member(d->bon.s[i].name)) n_members++;
      else fprintf(md, "%s `%s`", k++ ? "," : "", d->bon.s[i].name);
    }
    fprintf(md, "; %d single-member curves\n", n_members);
  }
  if (d->n_ppo) {
    fprintf(md, "- PPO runs:");
    for (int i = 0; i < d->ppo.n; i++) fprintf(md, "%s `%s`", i ? "," : "", d->ppo.s[i].name);
    fprintf(md, "\n");
  }
  if (has_rm) fprintf(md, "- Proxy reward-model members: %d\n", d->rm.n);
  if (has_sweep) fprintf(md, "- Sweep points: %d\n", d->sweep_t.n_rows);
  fprintf(md, "\nGold is calibrated to mean 0, std 1 on π_init's samples; x axes are sqrt(KL(π‖π_init)) "
              "in nats^0.5.\n\n");
  if (have(dir, "config.cfg", path, sizeof path)) CHECK(md_copy_file(md, path));
  else fprintf(md, "(no config.cfg in the run directory)\n\n");

  /* ---- tables ---- */
  if (has_bon) {
    fprintf(md, "## Best-of-n: final and peak gold per objective (bon.csv)\n\n");
    md_curve_table(md, &d->bon, "objective");
    int n_members = 0, n_over = 0;
    for (int i = 0; i < d->bon.n; i++)
      if (is_member(d->bon.s[i].name)) {
        n_members++;
        n_over += overoptimizes(&d->bon.s[i]);
      }
    if (n_members)
      fprintf(md, "**Overoptimization:** %d of %d single members peak and then fall (gold peaks before "
                  "the last point and the last gold < peak − max(0.05, 2·gold_se)).\n\n", n_over, n_members);
    else
      fprintf(md, "No `member_<j>` rows in bon.csv: overoptimization of single members not counted.\n\n");
  }
  if (d->n_ppo) {
    fprintf(md, "## PPO: final and peak gold per run (ppo_<tag>.csv; eval points where present)\n\n");
    md_curve_table(md, &d->ppo, "run");
  }
  if (have(dir, "fits.csv", path, sizeof path)) CHECK(md_fits(md, path, &d->bon, &d->ppo, &d->fits, &d->n_fits));
  if (have(dir, "winrates.csv", path, sizeof path)) CHECK(md_winrates(md, path));
  if (have(dir, "uncertainty.csv", path, sizeof path)) CHECK(md_uncertainty(md, path));
  if (has_sweep) {
    fprintf(md, "## Sweep (sweep.csv)\n\n|");
    for (int j = 0; j < d->sweep_t.n_cols; j++) fprintf(md, " %s |", d->sweep_t.names[j]);
    fprintf(md, "\n|");
    for (int j = 0; j < d->sweep_t.n_cols; j++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (int r = 0; r < d->sweep_t.n_rows; r++) {
      fprintf(md, "|");
      for (int j = 0; j < d->sweep_t.n_cols; j++) fprintf(md, " %s |", csv_cell(&d->sweep_t, r, j));
      fprintf(md, "\n");
    }
    fprintf(md, "\n");
  }

  /* ---- plots ---- */
  fprintf(md, "## Plots\n\nEvery figure's points are also in a CSV of the same name (docs/formats.md "
              "\"Figures\"). Gold solid, proxy dashed; fitted forms dash-dotted over the data's range and "
              "dotted at most %.2gx beyond it.\n\n", FIT_EXTEND);
  if (has_bon) {
    CHECK(plot_objectives(&g, outdir, "bon_objectives.png", "Best-of-n: gold and proxy vs KL per objective", &d->bon, BON_SE,
                          d->fits, d->n_fits, "bon"));
    fprintf(md, "![Best-of-n gold and proxy](bon_objectives.png)\n\n");
  } else {
    note_skip(md, "bon_objectives.png", "no bon.csv");
  }
  if (have(dir, "bon.h5", path, sizeof path)) {
    int drawn;
    CHECK(plot_bon_scatter(&g, outdir, path, &drawn));
    if (drawn) fprintf(md, "![Best-of-n picks: gold vs proxy](bon_scatter.png)\n\n");
  }
  if (d->n_ppo) {
    CHECK(plot_objectives(&g, outdir, "ppo_objectives.png", "PPO: gold and proxy vs KL per run (x: running max of the KL)",
                          &d->ppo, -1, d->fits, d->n_fits, "rl"));
    CHECK(plot_ppo_steps(&g, outdir, &d->steps));
    fprintf(md, "![PPO gold and proxy](ppo_objectives.png)\n\n![PPO against the step](ppo_step.png)\n\n");
    if (set_points(&d->var)) {
      CHECK(plot_smoothed(&g, outdir, "ppo_variance.png", "PPO: ensemble variance of the proxy scores (faint: raw)",
                          "PPO step", "ensemble variance (member scores^2)", &d->var, VAR_ENS));
      fprintf(md, "![PPO ensemble variance](ppo_variance.png)\n\n");
    } else {
      note_skip(md, "ppo_variance.png", "no finite ens_var in ppo_<tag>.csv");
    }
  } else {
    note_skip(md, "ppo_objectives.png, ppo_step.png, ppo_variance.png", "no ppo_<tag>.csv");
  }
  if (set_points(&d->loss)) {
    CHECK(plot_smoothed(&g, outdir, "pretrain_loss.png", "Pretraining loss (faint: per step)", "step",
                        "loss (nats/byte)", &d->loss, LOSS_VALUE));
    fprintf(md, "![Pretraining loss](pretrain_loss.png)\n\n");
  }
  if (has_rm) {
    CHECK(plot_lines(&g, outdir, "rm_accuracy.png", "Proxy reward models: accuracy per epoch",
                     "epoch", "accuracy (solid: test, clean labels; dashed: train, noisy labels)", &d->rm,
                     RM_TEST, "test_acc", RM_TRAIN, "train_acc", "set xtics 1"));
    fprintf(md, "![RM accuracy](rm_accuracy.png)\n\n");
  } else {
    note_skip(md, "rm_accuracy.png", "no rm_members.csv");
  }
  if (has_sweep) {
    /* the coefficients against the RM size: drawn when at least two points differ in size and
     * have a fitted coefficient (a sweep over seeds, noise or pairs has one size) */
    const series *sw = &d->sweep.s[0];
    int distinct = 0, fitted = 0;
    for (int i = 0; i < sw->n; i++) {
      if (i > 0 && sw->v[SW_X][i] != sw->v[SW_X][0]) distinct = 1;
      for (int c = SW_ABON; c <= SW_BRL; c++) fitted += isfinite(sw->v[c][i]) != 0;
    }
    if (distinct && fitted) {
      CHECK(plot_sweep(&g, outdir, sw));
      fprintf(md, "\n![Sweep alpha and beta](sweep_alpha_beta.png)\n\n");
    } else {
      note_skip(md, "sweep_alpha_beta.png", "fewer than two RM sizes with a fitted coefficient in the sweep");
    }
  }
  return OO_OK;
}

int report_write(const char *dir, char *md_path, size_t cap) {
  struct stat sb;
  REQUIRE(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), "run directory '%s' not found", dir);
  char outdir[4200];
  CHECK(oo_path_join(outdir, sizeof outdir, dir, "report"));
  CHECK(oo_mkdir_p(outdir));
  CHECK(oo_path_join(md_path, cap, outdir, "report.md"));
  atomic_file md;
  CHECK(atomic_open(&md, md_path));
  report_data *d = xcalloc(1, sizeof *d);
  int rc = report_body(dir, outdir, md.f, d);
  report_data_free(d);
  xfree(&d);
  if (rc) {
    atomic_abort(&md);
    return rc;
  }
  CHECK(atomic_commit(&md));
  return OO_OK;
}
