/* postprocess: the functional-form fits of a run directory's curves, the scaling fits across a
 * sweep directory (see sweep.h), and the report's freshness check (postprocess.h). The command
 * `overopt fit` that calls them is commands/cmd_fit.c.
 *
 * Curves (d = sqrt(max(KL, 0)), negative KL estimates clamped to 0):
 *   bon.csv        one curve per objective (single, mean, wco, uwo_*, member_<j>), form bon
 *   ppo_<tag>.csv  one curve per file, form rl; the eval_kl/eval_gold rows where any exist,
 *                  else kl/gold of every step; rl drops d = 0 points (fit_design)
 * Rows with a NaN/inf KL or gold are skipped; a curve with fewer than 2 distinct d > 0 is skipped
 * with a warning (its design would be rank deficient).
 *
 * Invariants: rank 0 reads every CSV and broadcasts the points and its status, so all ranks agree
 * on the curves, on every error (rank 0 holds the message) and on the fitted numbers; files are
 * written by rank 0 under a temporary name and renamed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "comm.h"
#include "core/core.h"
#include "fit/fit.h"
#include "fit_dist.h"
#include "io/h5io.h"
#include "model/gpt.h"
#include "report/report.h"
#include "postprocess.h"

#define FITS_HEADER "source,curve,form,alpha,beta,r2,d_star,gold_star"

typedef struct {
  char source[32];  /* bon | ppo | point_<i> | scaling */
  char curve[96];   /* objective, ppo tag, or scaled coefficient (alpha_bon, ...) */
  fit_form form;    /* the functional form */
  int m;            /* points of the curve */
  long off;         /* offset of its points in curve_set.d / .gold */
  int ok;           /* 1 if fitted (enough distinct d) */
  fit_result r;     /* the fit (valid when ok) */
} fit_curve;

typedef struct {
  fit_curve *c;     /* (n) curves */
  int n, cap;       /* count, capacity */
  double *d;        /* (n_pts) sqrt(KL) of every curve, concatenated */
  double *gold;     /* (n_pts) gold scores */
  long n_pts, cap_pts; /* count, capacity */
  uint64_t hash;    /* hash of the input files' names and bytes */
} curve_set;

static void curves_free(curve_set *s) {
  xfree(&s->c);
  xfree(&s->d);
  xfree(&s->gold);
  memset(s, 0, sizeof *s);
}

static fit_curve *curve_add(curve_set *s, const char *source, const char *curve, fit_form form) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->c = xrealloc(s->c, (size_t)s->cap * sizeof *s->c);
  }
  fit_curve *c = &s->c[s->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->source, sizeof c->source, "%s", source);
  snprintf(c->curve, sizeof c->curve, "%s", curve);
  c->form = form;
  c->off = s->n_pts;
  return c;
}

static void point_add(curve_set *s, fit_curve *c, double kl, double gold) {
  if (!isfinite(kl) || !isfinite(gold)) return;
  if (s->n_pts == s->cap_pts) {
    s->cap_pts = s->cap_pts ? 2 * s->cap_pts : 256;
    s->d = xrealloc(s->d, (size_t)s->cap_pts * sizeof *s->d);
    s->gold = xrealloc(s->gold, (size_t)s->cap_pts * sizeof *s->gold);
  }
  s->d[s->n_pts] = sqrt(kl > 0 ? kl : 0);
  s->gold[s->n_pts] = gold;
  s->n_pts++;
  c->m++;
}

/* Folds a file's name and bytes into h (FNV-1a). */
static int hash_file(const char *path, const char *name, uint64_t *h) {
  FILE *f = fopen(path, "rb");
  REQUIRE(f, "cannot read '%s': %s", path, strerror(errno));
  *h = oo_hash_bytes(name, strlen(name) + 1, *h);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) *h = oo_hash_bytes(buf, n, *h);
  int bad = ferror(f);
  fclose(f);
  REQUIRE(!bad, "cannot read '%s'", path);
  return OO_OK;
}

static int col_index(const csv_table *t, const char *name) {
  for (int j = 0; j < t->n_cols; j++)
    if (strcmp(t->names[j], name) == 0) return j;
  return -1;
}

/* bon.csv: one curve per objective, in order of first appearance. */
static int read_bon(curve_set *s, const char *path) {
  csv_table t;
  CHECK(csv_read(&t, path));
  int co, ck, cg, rc = csv_col(&t, "objective", &co);
  if (!rc) rc = csv_col(&t, "kl", &ck);
  if (!rc) rc = csv_col(&t, "gold", &cg);
  char *done = xcalloc((size_t)t.n_rows + 1, 1);
  for (int r = 0; r < t.n_rows && !rc; r++) {
    if (done[r]) continue;
    const char *name = csv_cell(&t, r, co);
    fit_curve *c = curve_add(s, "bon", name, FIT_BON);
    for (int q = r; q < t.n_rows && !rc; q++) {
      if (done[q] || strcmp(csv_cell(&t, q, co), name) != 0) continue;
      done[q] = 1;
      double kl, gold;
      rc = csv_num(&t, q, ck, &kl);
      if (!rc) rc = csv_num(&t, q, cg, &gold);
      if (!rc) point_add(s, c, kl, gold);
    }
  }
  xfree(&done);
  csv_free(&t);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

/* ppo_<tag>.csv: eval_kl/eval_gold rows where any exist (gold relative to the step-0 evaluation,
 * pi_init), else kl/gold. */
static int read_ppo(curve_set *s, const char *path, const char *tag) {
  csv_table t;
  CHECK(csv_read(&t, path));
  int ck, cg, rc = csv_col(&t, "kl", &ck);
  if (!rc) rc = csv_col(&t, "gold", &cg);
  int ek = col_index(&t, "eval_kl"), eg = col_index(&t, "eval_gold");
  int use_eval = 0;
  for (int r = 0; r < t.n_rows && !rc && ek >= 0 && eg >= 0 && !use_eval; r++) {
    double kl, gold;
    rc = csv_num(&t, r, ek, &kl);
    if (!rc) rc = csv_num(&t, r, eg, &gold);
    use_eval = !rc && isfinite(kl) && isfinite(gold);
  }
  double g0 = 0; /* eval curves start at (0, 0): pi_init's gold on the evaluation prompts */
  if (use_eval) {
    ck = ek, cg = eg;
    rc = ppo_eval_origin(&t, ek, eg, &g0);
  }
  fit_curve *c = rc ? NULL : curve_add(s, "ppo", tag, FIT_RL);
  for (int r = 0; r < t.n_rows && !rc; r++) {
    double kl, gold;
    rc = csv_num(&t, r, ck, &kl);
    if (!rc) rc = csv_num(&t, r, cg, &gold);
    if (!rc) point_add(s, c, kl, gold - g0);
  }
  csv_free(&t);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names in dir that start with prefix and end with suffix; free with names_free. */
static int list_names(const char *dir, const char *prefix, const char *suffix, char ***out, int *n) {
  DIR *d = opendir(dir);
  REQUIRE(d, "cannot read directory '%s': %s", dir, strerror(errno));
  int cap = 16;
  *n = 0;
  *out = xmalloc((size_t)cap * sizeof **out);
  struct dirent *e;
  size_t lp = strlen(prefix), ls = strlen(suffix);
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= lp + ls || strncmp(e->d_name, prefix, lp) != 0 || strcmp(e->d_name + len - ls, suffix) != 0) continue;
    if (*n == cap) *out = xrealloc(*out, (size_t)(cap *= 2) * sizeof **out);
    (*out)[(*n)++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(*out, (size_t)*n, sizeof **out, cmp_str);
  return OO_OK;
}

static void names_free(char ***names, int n) {
  for (int i = 0; i < n; i++) xfree(&(*names)[i]);
  xfree(names);
}

/* Rank 0: every curve of a run directory and the hash of its inputs. */
static int read_curves(curve_set *s, const char *dir) {
  char path[4400];
  memset(s, 0, sizeof *s);
  CHECK(oo_path_join(path, sizeof path, dir, "bon.csv"));
  if (oo_file_exists(path)) {
    CHECK(hash_file(path, "bon.csv", &s->hash));
    CHECK(read_bon(s, path));
  }
  char **names;
  int n;
  CHECK(list_names(dir, "ppo_", ".csv", &names, &n));
  int rc = OO_OK;
  for (int i = 0; i < n && !rc; i++) {
    char tag[256];
    snprintf(tag, sizeof tag, "%.*s", (int)strlen(names[i]) - 8, names[i] + 4);
    rc = oo_path_join(path, sizeof path, dir, names[i]);
    if (!rc) rc = hash_file(path, names[i], &s->hash);
    if (!rc) rc = read_ppo(s, path, tag);
  }
  names_free(&names, n);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

static int bcast_curves(curve_set *s, MPI_Comm comm) {
  long hdr[3] = {s->n, s->n_pts, (long)s->hash};
  CHECK_MPI(MPI_Bcast(hdr, 3, MPI_LONG, 0, comm));
  int rank;
  CHECK_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) {
    s->n = s->cap = (int)hdr[0];
    s->n_pts = s->cap_pts = hdr[1];
    s->hash = (uint64_t)hdr[2];
    s->c = xcalloc((size_t)(s->n ? s->n : 1), sizeof *s->c);
    s->d = xcalloc((size_t)(s->n_pts ? s->n_pts : 1), sizeof *s->d);
    s->gold = xcalloc((size_t)(s->n_pts ? s->n_pts : 1), sizeof *s->gold);
  }
  if (s->n) CHECK_MPI(MPI_Bcast(s->c, (int)(s->n * sizeof *s->c), MPI_BYTE, 0, comm));
  if (s->n_pts) {
    CHECK_MPI(MPI_Bcast(s->d, (int)s->n_pts, MPI_DOUBLE, 0, comm));
    CHECK_MPI(MPI_Bcast(s->gold, (int)s->n_pts, MPI_DOUBLE, 0, comm));
  }
  return OO_OK;
}

/* Distinct values of d > 0 among a curve's points (stops counting at 2). */
static int distinct_positive(const double *d, int m) {
  double first = 0;
  int n = 0;
  for (int i = 0; i < m && n < 2; i++) {
    if (!(d[i] > 0)) continue;
    if (n == 0) first = d[i], n = 1;
    else if (d[i] != first) n = 2;
  }
  return n;
}

/* Collective: fits every curve with ScaLAPACK over comm (rows spread over all ranks). */
static int fit_curves(curve_set *s, MPI_Comm comm) {
  int P, rank;
  CHECK_MPI(MPI_Comm_size(comm, &P));
  CHECK_MPI(MPI_Comm_rank(comm, &rank));
  for (int i = 0; i < s->n; i++) {
    fit_curve *c = &s->c[i];
    c->ok = distinct_positive(s->d + c->off, c->m) >= 2;
    if (!c->ok) {
      if (rank == 0)
        LOG_WARN("fit: %s curve '%s' has %d usable points with fewer than 2 distinct sqrt(KL) > 0: not fitted",
                 c->source, c->curve, c->m);
      continue;
    }
    int mb = (c->m + P - 1) / P;
    if (mb < 2) mb = 2;
    CHECK(fit_gold_curve_dist(&c->r, c->form, s->d + c->off, s->gold + c->off, c->m, mb, comm));
  }
  return OO_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void fmt_num(char *out, size_t cap, double x) {
  if (isnan(x)) snprintf(out, cap, "nan");
  else if (isinf(x)) snprintf(out, cap, x > 0 ? "inf" : "-inf");
  else snprintf(out, cap, "%.12g", x);
}

/* Rank 0: dir/fits.csv and dir/fits.h5 from the fitted curves (those with ok set). */
static int write_fits(const char *dir, const fit_curve *c, int n, uint64_t hash) {
  char path[4400];
  CHECK(oo_path_join(path, sizeof path, dir, "fits.csv"));
  atomic_file af;
  CHECK(atomic_open(&af, path));
  FILE *f = af.f;
  fprintf(f, "%s\n", FITS_HEADER);
  int n_ok = 0;
  for (int i = 0; i < n; i++) {
    if (!c[i].ok) continue;
    char v[5][40];
    fmt_num(v[0], 40, c[i].r.alpha);
    fmt_num(v[1], 40, c[i].r.beta);
    fmt_num(v[2], 40, c[i].r.r2);
    fmt_num(v[3], 40, c[i].r.d_star);
    fmt_num(v[4], 40, c[i].r.gold_star);
    fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s\n", c[i].source, c[i].curve, fit_form_name(c[i].form), v[0], v[1], v[2],
            v[3], v[4]);
    n_ok++;
  }
  CHECK(atomic_commit(&af));

  /* fits.h5: one table, row i = line i + 1 of fits.csv; "curves" names the rows. */
  CHECK(oo_path_join(path, sizeof path, dir, "fits.h5"));
  long dims[1] = {n_ok > 0 ? n_ok : 1};
  double *col = xcalloc((size_t)dims[0] * 5, sizeof(double));
  int *ints = xcalloc((size_t)dims[0] * 2, sizeof(int));
  size_t cap = (size_t)n_ok * 160 + 16;
  char *names = xcalloc(cap, 1);
  for (int i = 0, k = 0; i < n; i++) {
    if (!c[i].ok) continue;
    const fit_result *r = &c[i].r;
    double v[5] = {r->alpha, r->beta, r->r2, r->d_star, r->gold_star};
    for (int j = 0; j < 5; j++) col[j * dims[0] + k] = v[j];
    ints[k] = c[i].form;
    ints[dims[0] + k] = r->n_used;
    size_t len = strlen(names);
    snprintf(names + len, cap - len, "%s,%s,%s\n", c[i].source, c[i].curve, fit_form_name(c[i].form));
    k++;
  }
  char hex[32];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
  h5_writer w;
  int rc = h5_create(&w, path);
  static const char *const cols[5] = {"alpha", "beta", "r2", "d_star", "gold_star"};
  for (int j = 0; j < 5 && !rc && n_ok; j++) rc = h5_write_f64(&w, cols[j], 1, dims, col + j * dims[0]);
  if (!rc && n_ok) rc = h5_write_i32(&w, "form", 1, dims, ints);
  if (!rc && n_ok) rc = h5_write_i32(&w, "n_used", 1, dims, ints + dims[0]);
  if (!rc) rc = h5_attr_write_str(&w, "/", "curves", names);
  if (!rc) rc = h5_attr_write_str(&w, "/", "columns", "source,curve,form per line of 'curves'; form 0 = bon, 1 = rl");
  if (!rc) rc = h5_attr_write_int(&w, "/", "n_curves", n_ok);
  if (!rc) rc = h5_attr_write_str(&w, "/", "inputs_hash", hex);
  if (!rc) rc = h5_attr_write_str(&w, "/", "overopt_version", OVEROPT_VERSION);
  if (!rc) rc = h5_attr_write_str(&w, "/", "stage", "fit");
  if (!rc) rc = h5_commit(&w);
  else h5_discard(&w);
  xfree(&col);
  xfree(&ints);
  xfree(&names);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

static void log_table(const char *dir, const fit_curve *c, int n) {
  LOG_INFO("fit %s: %d curve%s (d = sqrt(KL); bon: d(a - b d), rl: d(a - b ln d))", dir, n, n == 1 ? "" : "s");
  LOG_INFO("  %-8s %-20s %-4s %12s %12s %8s %10s %10s %5s", "source", "curve", "form", "alpha", "beta", "r2",
           "d*", "gold*", "n");
  for (int i = 0; i < n; i++) {
    if (!c[i].ok) {
      LOG_INFO("  %-8s %-20s %-4s %12s", c[i].source, c[i].curve, fit_form_name(c[i].form), "(not fitted)");
      continue;
    }
    const fit_result *r = &c[i].r;
    LOG_INFO("  %-8s %-20s %-4s %12.6g %12.6g %8.4f %10.4g %10.4g %5d", c[i].source, c[i].curve,
             fit_form_name(c[i].form), r->alpha, r->beta, r->r2, r->d_star, r->gold_star, r->n_used);
  }
}

/* Hash recorded in dir/fits.h5, 0 if none. */
static uint64_t recorded_hash(const char *dir) {
  char path[4400], hex[64] = "";
  if (oo_path_join(path, sizeof path, dir, "fits.h5") || !oo_file_exists(path)) return 0;
  h5_reader r;
  if (h5_open(&r, path)) {
    oo_error_clear();
    return 0;
  }
  if (h5_attr_has(&r, "/", "inputs_hash")) h5_attr_read_str(&r, "/", "inputs_hash", hex, sizeof hex);
  h5_close(&r);
  oo_error_clear();
  return strtoull(hex, NULL, 16);
}

enum { FIT_IF_CHANGED = 1, FIT_NONE_OK = 2 };

/* Collective. *status: 0 fitted, 1 skipped (unchanged), 2 no curves. */
static int fit_dir(const char *dir, MPI_Comm comm, int mode, int *status) {
  int rank;
  CHECK_MPI(MPI_Comm_rank(comm, &rank));
  curve_set s;
  memset(&s, 0, sizeof s);
  int rc = rank == 0 ? read_curves(&s, dir) : OO_OK;
  int st = 0;
  if (rank == 0 && !rc) {
    if (s.n == 0) {
      st = 2;
      if (!(mode & FIT_NONE_OK))
        rc = oo_error_at(__FILE__, __LINE__, "no curves to fit in '%s': expected bon.csv or ppo_<tag>.csv (run "
                         "`overopt run CONFIG` first, or give a sweep directory with point_<i>/ subdirectories)", dir);
    } else if ((mode & FIT_IF_CHANGED) && recorded_hash(dir) == s.hash) {
      st = 1;
    }
  }
  rc = oo_agree(comm, rc, "rank 0 failed while reading the curves (its message above)");
  if (rc) {
    curves_free(&s);
    return rc;
  }
  rc = OO_MPI_RC(MPI_Bcast(&st, 1, MPI_INT, 0, comm));
  if (status) *status = st;
  if (rc || st) {
    curves_free(&s);
    return rc;
  }
  rc = bcast_curves(&s, comm);
  if (!rc) rc = fit_curves(&s, comm);
  if (!rc && rank == 0) {
    log_table(dir, s.c, s.n);
    rc = write_fits(dir, s.c, s.n, s.hash);
    if (!rc) LOG_INFO("fit: wrote %s/fits.csv and %s/fits.h5", dir, dir);
  }
  curves_free(&s);
  return oo_agree(comm, rc, "rank 0 failed while writing the fits (its message above)");
}

int fit_run_dir(const char *dir, MPI_Comm comm) { return fit_dir(dir, comm, 0, NULL); }

int fit_run_dir_changed(const char *dir, MPI_Comm comm, int *skipped) {
  int st = 0;
  CHECK(fit_dir(dir, comm, FIT_IF_CHANGED | FIT_NONE_OK, &st));
  if (skipped) *skipped = st != 0;
  return OO_OK;
}

/* ---- sweeps ----------------------------------------------------------------------------------- */

long sweep_rm_params(const oo_config *cfg) {
  gpt_dims d = {GPT_VOCAB, cfg->pretrain.n_ctx, cfg->rm.size.d_model, cfg->rm.size.n_layer, cfg->rm.size.n_head};
  long n = 0;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    n += (long)gpt_tensor_shape(d, GPT_REWARD, i, &rank, dims);
  }
  return n;
}

static int point_index(const char *name) {
  if (strncmp(name, "point_", 6) != 0 || !name[6]) return -1;
  char *end;
  long i = strtol(name + 6, &end, 10);
  return *end || i < 0 || i > 1000000 ? -1 : (int)i;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Sorted indices of dir's point_<i> subdirectories. */
static int list_points(const char *dir, int **idx, int *n) {
  *n = 0;
  *idx = NULL;
  DIR *d = opendir(dir);
  if (!d) return OO_OK;
  int cap = 16;
  *idx = xmalloc((size_t)cap * sizeof **idx);
  struct dirent *e;
  while ((e = readdir(d))) {
    int i = point_index(e->d_name);
    if (i < 0) continue;
    char path[4400];
    struct stat sb;
    if (oo_path_join(path, sizeof path, dir, e->d_name) || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      oo_error_clear();
      continue;
    }
    if (*n == cap) *idx = xrealloc(*idx, (size_t)(cap *= 2) * sizeof **idx);
    (*idx)[(*n)++] = i;
  }
  closedir(d);
  qsort(*idx, (size_t)*n, sizeof **idx, cmp_int);
  return OO_OK;
}

int fit_is_sweep_dir(const char *dir) {
  char path[4400];
  if (!oo_path_join(path, sizeof path, dir, "sweep.csv") && oo_file_exists(path)) return 1;
  if (!oo_path_join(path, sizeof path, dir, "sweep.cfg") && oo_file_exists(path)) return 1; /* --slurm wrote it */
  oo_error_clear();
  int *idx, n;
  list_points(dir, &idx, &n);
  xfree(&idx);
  return n > 0;
}

enum { SC_ABON, SC_BBON, SC_ARL, SC_BRL, N_SC };
static const char *const sc_names[N_SC] = {"alpha_bon", "beta_bon", "alpha_rl", "beta_rl"};

typedef struct {
  int index;              /* point index i */
  double v[N_SC];         /* alpha/beta of bon and rl for 'single' (NaN if absent) */
  fit_result fr[2];       /* the point's single fits (bon, rl) */
  int has[2];             /* 1 if fr[k] was found */
  long params;            /* proxy RM parameters (0 if the config is unreadable) */
  char values[CFG_MAX_AXES][64]; /* axis values of the point */
} sweep_point;

/* Rank 0: the point's single fits from its fits.csv (bon: curve single; rl: ppo tag single, else
 * the first tag starting with single_). */
/* A point run with replicates has no fits.csv of its own: its fits are the replicates' means in
 * fits_summary.csv (curve,form,parameter,replicates,mean,...). */
static int read_point_fits_summary(sweep_point *p, const char *path) {
  csv_table t;
  CHECK(csv_read(&t, path));
  int cc, cf, cp, cm, rc = csv_col(&t, "curve", &cc);
  if (!rc) rc = csv_col(&t, "form", &cf);
  if (!rc) rc = csv_col(&t, "parameter", &cp);
  if (!rc) rc = csv_col(&t, "mean", &cm);
  for (int r = 0; r < t.n_rows && !rc; r++) {
    const char *curve = csv_cell(&t, r, cc), *form = csv_cell(&t, r, cf), *par = csv_cell(&t, r, cp);
    int k = strcmp(form, "bon") == 0 ? 0 : strcmp(form, "rl") == 0 ? 1 : -1;
    if (k < 0 || strcmp(curve, "single") != 0) continue;
    double v;
    rc = csv_num(&t, r, cm, &v);
    if (rc || !isfinite(v)) continue;
    fit_result *f = &p->fr[k];
    f->form = (fit_form)k;
    f->r2 = NAN;
    if (!strcmp(par, "alpha")) f->alpha = v, p->v[2 * k] = v, p->has[k] = 1;
    else if (!strcmp(par, "beta")) f->beta = v, p->v[2 * k + 1] = v;
    else if (!strcmp(par, "d_star")) f->d_star = v;
    else if (!strcmp(par, "gold_star")) f->gold_star = v;
  }
  csv_free(&t);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

static int read_point_fits(sweep_point *p, const char *pdir) {
  char path[4400];
  CHECK(oo_path_join(path, sizeof path, pdir, "fits.csv"));
  if (!oo_file_exists(path)) {
    CHECK(oo_path_join(path, sizeof path, pdir, "fits_summary.csv"));
    return oo_file_exists(path) ? read_point_fits_summary(p, path) : OO_OK;
  }
  csv_table t;
  CHECK(csv_read(&t, path));
  static const char *const names[] = {"source", "curve", "form", "alpha", "beta", "r2", "d_star", "gold_star"};
  int col[8], rc = OO_OK;
  for (int j = 0; j < 8 && !rc; j++) rc = csv_col(&t, names[j], &col[j]);
  int best_rl = 0; /* 2: exact "single", 1: single_<...> */
  for (int r = 0; r < t.n_rows && !rc; r++) {
    const char *src = csv_cell(&t, r, col[0]), *curve = csv_cell(&t, r, col[1]), *form = csv_cell(&t, r, col[2]);
    int k = strcmp(form, "bon") == 0 ? 0 : strcmp(form, "rl") == 0 ? 1 : -1;
    int quality = strcmp(curve, "single") == 0 ? 2 : strncmp(curve, "single_", 7) == 0 ? 1 : 0;
    if (k < 0 || !quality) continue;
    if (k == 0 && (strcmp(src, "bon") != 0 || quality != 2)) continue;
    if (k == 1 && quality <= best_rl) continue;
    if (k == 1) best_rl = quality;
    fit_result *f = &p->fr[k];
    double v[5];
    for (int j = 0; j < 5 && !rc; j++) rc = csv_num(&t, r, col[3 + j], &v[j]);
    if (rc) break;
    f->form = (fit_form)k;
    f->alpha = v[0], f->beta = v[1], f->r2 = v[2], f->d_star = v[3], f->gold_star = v[4];
    p->has[k] = 1;
    p->v[2 * k] = v[0];
    p->v[2 * k + 1] = v[1];
  }
  csv_free(&t);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

/* Rank 0: after every point was fitted, sweep.csv and the sweep's fits.csv. */
static int write_sweep(const char *dir, const int *idx, int n) {
  sweep_point *pts = xcalloc((size_t)n, sizeof *pts);
  oo_config *cfg = xmalloc(sizeof *cfg);
  char keys[CFG_MAX_AXES][64];
  int n_axes = -1, rc = OO_OK;
  for (int p = 0; p < n && !rc; p++) {
    sweep_point *sp = &pts[p];
    sp->index = idx[p];
    for (int k = 0; k < N_SC; k++) sp->v[k] = NAN;
    char pname[32], pdir[4400], path[4500];
    snprintf(pname, sizeof pname, "point_%d", idx[p]);
    rc = oo_path_join(pdir, sizeof pdir, dir, pname);
    if (!rc) rc = read_point_fits(sp, pdir);
    if (rc) break;
    snprintf(path, sizeof path, "%s/config.cfg", pdir);
    if (!oo_file_exists(path)) {
      LOG_WARN("fit: %s has no config.cfg: its axis values and rm_params are unknown", pdir);
      continue;
    }
    rc = cfg_load(cfg, path);
    if (rc) break;
    sp->params = sweep_rm_params(cfg);
    char sets[CFG_MAX_AXES][160];
    int na = cfg_sweep_point_sets(cfg, idx[p], sets, CFG_MAX_AXES);
    if (n_axes < 0) {
      n_axes = na;
      for (int a = 0; a < na; a++) snprintf(keys[a], sizeof keys[a], "%s", cfg->sweep.axes[a].key);
    }
    for (int a = 0; a < na && a < n_axes; a++) {
      const char *eq = strchr(sets[a], '=');
      snprintf(sp->values[a], sizeof sp->values[a], "%s", eq ? eq + 1 : "");
      for (char *c = sp->values[a]; *c; c++)
        if (*c == ',') *c = ';'; /* list values: keep the CSV's field count */
    }
  }
  xfree(&cfg);
  if (n_axes < 0) n_axes = 0;

  /* Scaling fits: coefficient = a + b log10(rm_params). */
  fit_curve sc[N_SC];
  memset(sc, 0, sizeof sc);
  double x[4096], y[4096];
  for (int k = 0; k < N_SC && !rc; k++) {
    snprintf(sc[k].source, sizeof sc[k].source, "scaling");
    snprintf(sc[k].curve, sizeof sc[k].curve, "%s", sc_names[k]);
    sc[k].form = k < 2 ? FIT_BON : FIT_RL;
    int m = 0;
    for (int p = 0; p < n && m < 4096; p++)
      if (isfinite(pts[p].v[k]) && pts[p].params > 0) x[m] = log10((double)pts[p].params), y[m++] = pts[p].v[k];
    int distinct = 0;
    for (int i = 1; i < m; i++) distinct |= x[i] != x[0];
    if (m < 2 || !distinct) {
      LOG_WARN("fit: no scaling fit of %s: %d point%s with a fitted value and %s RM parameter count%s", sc_names[k], m,
               m == 1 ? "" : "s", distinct ? "distinct" : "no two distinct", m == 1 ? "" : "s");
      continue;
    }
    fit_result *r = &sc[k].r;
    r->form = sc[k].form;
    rc = fit_linear(&r->alpha, &r->beta, &r->r2, x, y, m);
    r->d_star = r->gold_star = NAN;
    r->n_used = m;
    sc[k].ok = !rc;
  }

  /* sweep.csv: point, axis values, the point's coefficients, rm_params, then the scaling law at
   * the point (alpha_bon_fit, ...). */
  char path[4400];
  atomic_file af = {0};
  FILE *f = NULL;
  if (!rc) rc = oo_path_join(path, sizeof path, dir, "sweep.csv");
  if (!rc) rc = atomic_open(&af, path);
  if (!rc) {
    f = af.f;
    fprintf(f, "point");
    for (int a = 0; a < n_axes; a++) fprintf(f, ",%s", keys[a]);
    fprintf(f, ",alpha_bon,beta_bon,alpha_rl,beta_rl,rm_params");
    for (int k = 0; k < N_SC; k++) fprintf(f, ",%s_fit", sc_names[k]);
    fprintf(f, "\n");
    for (int p = 0; p < n; p++) {
      fprintf(f, "%d", pts[p].index);
      for (int a = 0; a < n_axes; a++) fprintf(f, ",%s", pts[p].values[a]);
      char num[40];
      for (int k = 0; k < N_SC; k++) {
        fmt_num(num, sizeof num, pts[p].v[k]);
        fprintf(f, ",%s", num);
      }
      fprintf(f, ",%ld", pts[p].params);
      for (int k = 0; k < N_SC; k++) {
        double v = sc[k].ok && pts[p].params > 0 ? sc[k].r.alpha + sc[k].r.beta * log10((double)pts[p].params) : NAN;
        fmt_num(num, sizeof num, v);
        fprintf(f, ",%s", num);
      }
      fprintf(f, "\n");
    }
    rc = atomic_commit(&af);
  }

  /* fits.csv of the sweep: every point's single fits (source point_<i>), then the scaling rows
   * (alpha = intercept a, beta = slope b of coefficient = a + b log10(rm_params)). */
  if (!rc) {
    fit_curve *rows = xcalloc((size_t)(2 * n + N_SC), sizeof *rows);
    int nr = 0;
    for (int p = 0; p < n; p++)
      for (int k = 0; k < 2; k++) {
        if (!pts[p].has[k]) continue;
        fit_curve *c = &rows[nr++];
        snprintf(c->source, sizeof c->source, "point_%d", pts[p].index);
        snprintf(c->curve, sizeof c->curve, "single");
        c->form = (fit_form)k;
        c->r = pts[p].fr[k];
        c->ok = 1;
      }
    for (int k = 0; k < N_SC; k++) rows[nr++] = sc[k];
    rc = write_fits(dir, rows, nr, 0);
    if (!rc) {
      LOG_INFO("fit %s: %d point%s -> sweep.csv; scaling fits (coefficient = a + b log10(rm_params)):", dir, n,
               n == 1 ? "" : "s");
      for (int k = 0; k < N_SC; k++)
        if (sc[k].ok)
          LOG_INFO("  %-9s a = %10.5g  b = %10.5g  r2 = %.4f  (%d points)", sc_names[k], sc[k].r.alpha,
                   sc[k].r.beta, sc[k].r.r2, sc[k].r.n_used);
    }
    xfree(&rows);
  }
  xfree(&pts);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

int fit_sweep_dir(const char *dir, MPI_Comm comm) {
  int rank;
  CHECK_MPI(MPI_Comm_rank(comm, &rank));
  int *idx = NULL, n = 0;
  int rc = rank == 0 ? list_points(dir, &idx, &n) : OO_OK;
  if (rank == 0 && !rc && n == 0)
    rc = oo_error_at(__FILE__, __LINE__, "sweep directory '%s' has no point_<i>/ subdirectories: run `overopt sweep "
                     "CONFIG` (or its Slurm array) first", dir);
  rc = oo_agree(comm, rc, "rank 0 failed while listing the sweep points (its message above)");
  if (rc) {
    xfree(&idx);
    return rc;
  }
  CHECK_MPI(MPI_Bcast(&n, 1, MPI_INT, 0, comm));
  if (rank != 0) idx = xcalloc((size_t)n, sizeof *idx);
  CHECK_MPI(MPI_Bcast(idx, n, MPI_INT, 0, comm));
  for (int p = 0; p < n && !rc; p++) {
    char pdir[4400], name[32];
    snprintf(name, sizeof name, "point_%d", idx[p]);
    rc = oo_path_join(pdir, sizeof pdir, dir, name);
    int st = 0;
    if (!rc) rc = fit_dir(pdir, comm, FIT_NONE_OK, &st);
    if (!rc && st == 2 && rank == 0) LOG_WARN("fit: %s has no curves yet (bon.csv, ppo_<tag>.csv)", pdir);
  }
  if (!rc) rc = rank == 0 ? write_sweep(dir, idx, n) : OO_OK;
  xfree(&idx);
  return oo_agree(comm, rc, "rank 0 failed while writing the sweep fits (its message above)");
}

/* ---- the report step of `overopt run` ------------------------------------------------------------ */

int report_run_dir_changed(const char *dir, int *skipped, char *md_path, size_t cap) {
  static const char *const fixed[] = {"bon.csv", "fits.csv", "rm_members.csv", "winrates.csv", "config.cfg",
                                      "summary.csv", "fits_summary.csv", NULL};
  uint64_t h = 0;
  char path[4400];
  for (int i = 0; fixed[i]; i++) {
    CHECK(oo_path_join(path, sizeof path, dir, fixed[i]));
    if (oo_file_exists(path)) CHECK(hash_file(path, fixed[i], &h));
  }
  char **names;
  int n, rc = OO_OK;
  CHECK(list_names(dir, "ppo_", ".csv", &names, &n));
  for (int i = 0; i < n && !rc; i++) {
    rc = oo_path_join(path, sizeof path, dir, names[i]);
    if (!rc) rc = hash_file(path, names[i], &h);
  }
  names_free(&names, n);
  CHECK(rc);
  char want[32], got[64] = "", stamp[4400];
  snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
  CHECK(oo_path_join(stamp, sizeof stamp, dir, "report/inputs_hash.txt"));
  CHECK(oo_path_join(md_path, cap, dir, "report/report.md"));
  FILE *f = fopen(stamp, "r");
  if (f) {
    if (!fgets(got, sizeof got, f)) got[0] = 0;
    fclose(f);
    got[strcspn(got, "\n")] = 0;
  }
  *skipped = oo_file_exists(md_path) && strcmp(got, want) == 0;
  if (*skipped) return OO_OK;
  CHECK(report_write(dir, md_path, cap));
  char line[40];
  int len = snprintf(line, sizeof line, "%s\n", want);
  CHECK(atomic_write(stamp, line, (size_t)len));
  return OO_OK;
}
