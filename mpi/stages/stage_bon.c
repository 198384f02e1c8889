/* stage_bon: best-of-n against the proxy ensemble, in two stages.
 * - bon_samples (world): pi_init writes N = bon.n_samples responses to each of n_prompts = bon.n_prompts
 *   evaluation prompts and the gold scores them; bon_samples.h5 keeps tokens, lengths and gold.
 * - bon (replicate): the replicate's members score those samples; rank 0 keeps the (n_prompts,N,K) proxy
 *   scores and turns them into one curve per objective with the unbiased estimator (rlhf.h
 *   bon_curve_compute). Every replicate and objective is evaluated on the same samples (common
 *   random numbers), and sampling is paid once per world.
 *
 * Invariants:
 * - Prompts are the pool range PROMPTS_BON_EVAL (disjoint from the preference, calibration and
 *   PPO prompts). Sample s of the prompt at pool index q draws from (world_seed, RNG_BON, q, s) with
 *   temperature 1, top-p bon.top_p, at most prefs.response_len bytes, stopping at end-of-text.
 * - (prompt, sample) pairs are flattened to g = p*N + s and cut into units of BON_UNIT
 *   consecutive indices; each unit is one gpt_generate batch. A round is world_size units: rank r
 *   generates unit r of the round, the round's tokens are allgathered, then scored by the gold
 *   (gold_score_all) or, in the bon stage, by every member (rm_ensemble_score). Units and streams
 *   do not depend on the rank count, so the tokens are identical for any world size, and so are
 *   gold scores (whole forward chunks per RM rank) and member scores while each member has one
 *   replica (chunks of 32 stay globally aligned).
 * - Memory: every rank holds the world's tokens in the bon stage (n_prompts*N*Tmax ints); O(n_prompts*N*K) floats
 *   on rank 0. Nothing is allocated inside the round loops except by the scorers below them.
 * - bon.h5 and bon.csv are written by bon_write (below), which `overopt bon-curves` shares:
 *   proxy [n_prompts,N,K], gold [n_prompts,N] (as calibrated by the rm and gold stages, never modified),
 *   prompt_doc [n_prompts], uwo_lambda [n], softmin_tau [n], curves/<objective>/{n,kl,proxy,gold,gold_se} and for single
 *   member_proxy [K,G], member_gold [K,G], proxy_spread, gold_spread. With rm.warm, warm [n_prompts,N]
 *   (WARM's calibrated scores, scored like the gold: rows split over the RM ranks) and the curve
 *   warm (WARM normalized like a member: shift curves/warm_shift, scale curves/warm_scale). With
 *   rm.laplace, laplace_var [n_prompts,N,K] (each member's Laplace predictive variance, calibrated units)
 *   and per uwo lambda the curves laplace_uwo_<lambda> and ens_laplace_<lambda> (laplace_scores).
 * - The bon stage (not bon-curves) also writes uncertainty.csv and residual_corr.csv (below).
 * - Curve normalization (DESIGN.md §1): the curves use each member's scores shifted to mean 0 over
 *   all n_prompts*N samples (these are pi_init's samples), and with `zscore` also scaled to std 1; the
 *   gold is shifted to mean 0 over the same samples (its scale stays the gold stage's, std 1 on
 *   pi_init's calibration responses). So every curve starts at gold 0 (and single/mean at proxy
 *   0) at n = 1. The shifts and scales are stored: curves/member_shift, curves/member_scale,
 *   attribute gold_shift on curves.
 * - A stop request ends either stage between rounds (oo_stopped()); rank 0 writes the rounds done
 *   to a resume file under the stage's hash and layout (bon_samples.partial.h5: tokens, lens,
 *   gold; bon.partial.h5: proxy and, when enabled, warm and laplace_var; the first samples_done
 *   rows). A rerun with the same hash and layout reads it, skips those rounds and ends with the
 *   same bits as an uninterrupted run; the file is removed once the stage's artifact is written.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "data/corpus.h"
#include "model/gpt.h"
#include "rlhf/gold.h"
#include "rlhf/rlhf.h"
#include "rm_ensemble.h"
#include "run.h"
#include "stats/stats.h"

/* 256 sequences per gpt_generate batch (layout.h); a round is BON_UNIT * world_size. Each step of
 * a batch multiplies all active rows at once: 256 rows cost ~10% less per sample than 64 (#11) */
#define BON_UNIT LAYOUT_BON_UNIT
#define BON_GRID_CAP 64 /* n grid points at most (log2 N + 2) */
#define BON_MAX_CURVES (4 + 4 * CFG_LIST) /* single mean wco, uwo, softmin, warm, laplace_uwo, ens_laplace */

/* ---- curves and outputs (shared with `overopt bon-curves`) --------------------------------- */

typedef struct {
  char name[32];  /* single, mean, wco, uwo_<lambda>, softmin_<tau>, warm */
  bon_curve c;    /* the curve */
  const char *objective; /* the objective attribute when it is not obj_name(c.obj.kind) (warm), or NULL */
} bon_named_curve;

/* Column m of x (n,K) shifted to mean 0 (and with zscore scaled to std 1) into out (n,K). */
static void normalize_column(const float *x, float *out, long n, int K, int m, int zscore, double *shift,
                             double *scale) {
  double sum = 0, ss = 0;
  for (long i = 0; i < n; i++) sum += x[i * K + m];
  double mean = sum / n;
  for (long i = 0; i < n; i++) {
    double d = x[i * K + m] - mean;
    ss += d * d;
  }
  double sd = sqrt(ss / n);
  *shift = mean;
  *scale = zscore && sd > 0 ? sd : 1.0;
  for (long i = 0; i < n; i++) out[i * K + m] = (float)((x[i * K + m] - mean) / *scale);
}

/* The Laplace objectives on the normalized member scores `scores` (n,K) through the one local scoring step
 * (ensemble_objective_rows), with each member's variance in the same units (laplace_var /
 * scale^2): ens = 0: out (n,K), column m = member m's laplace_uwo (each member alone, as `single`
 * has one curve per member); ens = 1: out (n) = ens_laplace. */
static int laplace_scores(float *out, const bon_scores *s, const float *scores, const double *scale, double lambda,
                          int ens) {
  const long n = (long)s->n_prompts * s->N;
  const int K = s->K;
  float *V = xmalloc_floats((size_t)n * K), *col = ens ? NULL : xmalloc_floats((size_t)n);
  for (long i = 0; i < n; i++)
    for (int m = 0; m < K; m++) V[i * K + m] = (float)(s->laplace_var[i * K + m] / (scale[m] * scale[m]));
  int rc = OO_OK;
  if (ens) {
    const obj_spec spec = {.kind = OBJ_ENS_LAPLACE, .lambda = lambda};
    rc = ensemble_objective_rows(out, &spec, scores, V, n, K);
  }
  for (int m = 0; m < K && !ens && !rc; m++) {
    const obj_spec spec = {.kind = OBJ_LAPLACE_UWO, .lambda = lambda, .member = m};
    rc = ensemble_objective_rows(col, &spec, scores, V, n, K);
    for (long i = 0; i < n && !rc; i++) out[i * K + m] = col[i];
  }
  xfree(&V);
  xfree(&col);
  return rc;
}

/* uncertainty.csv: how well each source of uncertainty ranks the proxy's error (docs/uncertainty.md).
 * On the normalized member scores `scores` (n,K) and gold g (n): error_i = |mean_m scores[i,m] - g_i|; sources
 * ensemble = population variance of scores[i,:] over members, laplace = mean_m of the members' Laplace
 * variances (in the same units), both = their sum, and laplace_member = member m's variance
 * against |scores[i,m] - g_i| pooled over members. Sets: pi_init (every sample) and bon_<n> for each grid
 * n >= 2: per prompt the ceil(N/n) samples with the highest ensemble mean, the top quantile
 * best-of-n draws its pick from. Rows: source,set,n,samples,spearman. */
static int write_uncertainty(const bon_scores *s, const float *scores, const float *g, const double *scale,
                             const int *grid, int G, const char *path) {
  const long n = (long)s->n_prompts * s->N;
  const int K = s->K, lap = s->laplace_var != NULL;
  double *u = xmalloc(sizeof(double) * 3 * (size_t)n), *err = xmalloc(sizeof(double) * (size_t)n);
  double *mean = xmalloc(sizeof(double) * (size_t)n), *xs = xmalloc(sizeof(double) * (size_t)n * K);
  double *ys = xmalloc(sizeof(double) * (size_t)n * K), *work = xmalloc(sizeof(double) * 2 * (size_t)n * K);
  int *iwork = xmalloc(sizeof(int) * (size_t)n * K), *order = xmalloc(sizeof(int) * (size_t)s->N);
  double *rank = xmalloc(sizeof(double) * (size_t)s->N);
  char *keep = xmalloc((size_t)n);
  for (long i = 0; i < n; i++) {
    double m = 0, between = 0, within = 0;
    for (int k = 0; k < K; k++) m += scores[i * K + k] / (double)K;
    for (int k = 0; k < K; k++) {
      between += (scores[i * K + k] - m) * (scores[i * K + k] - m) / K;
      if (lap) within += s->laplace_var[i * K + k] / (scale[k] * scale[k]) / K;
    }
    mean[i] = m;
    err[i] = fabs(m - g[i]);
    u[i] = between, u[n + i] = within, u[2 * n + i] = between + within;
  }
  atomic_file af;
  CHECK(atomic_open(&af, path));
  fprintf(af.f, "source,set,n,samples,spearman\n");
  static const char *const names[4] = {"ensemble", "laplace", "both", "laplace_member"};
  for (int gi = 0; gi < G; gi++) {
    const int nn = gi == 0 ? 1 : grid[gi];
    if (gi > 0 && nn < 2) continue;
    const int top = (s->N + nn - 1) / nn;
    for (int p = 0; p < s->n_prompts; p++) { /* the prompt's samples ranked by the ensemble mean */
      stats_ranks(rank, order, mean + (size_t)p * s->N, s->N);
      for (int j = 0; j < s->N; j++) keep[(size_t)p * s->N + j] = rank[j] > s->N - top;
    }
    char set[32];
    if (nn == 1) snprintf(set, sizeof set, "pi_init");
    else snprintf(set, sizeof set, "bon_%d", nn);
    for (int src = 0; src < (lap ? 4 : 1); src++) {
      long c = 0;
      for (long i = 0; i < n; i++) {
        if (!keep[i]) continue;
        if (src < 3) {
          xs[c] = u[src * n + i], ys[c++] = err[i];
        } else {
          for (int k = 0; k < K; k++)
            xs[c] = s->laplace_var[i * K + k] / (scale[k] * scale[k]), ys[c++] = fabs(scores[i * K + k] - g[i]);
        }
      }
      double rho = stats_spearman(xs, ys, (int)c, work, iwork);
      fprintf(af.f, "%s,%s,%d,%ld,%.6f\n", names[src], set, nn, c, rho);
      if (nn == 1) LOG_INFO("bon: Spearman(%s uncertainty, |proxy - gold|) on pi_init's samples: %.3f", names[src], rho);
    }
  }
  xfree(&u);
  xfree(&err);
  xfree(&mean);
  xfree(&xs);
  xfree(&ys);
  xfree(&work);
  xfree(&iwork);
  xfree(&order);
  xfree(&rank);
  xfree(&keep);
  CHECK(atomic_commit(&af));
  return OO_OK;
}

/* residual_corr.csv: do members make the same mistakes (Eisenstein et al.)? Residual of member m
 * on sample i: e_im = z(scores[:,m])_i - z(gold)_i with z standardizing over all n_prompts*N samples of pi_init;
 * one row member_a,member_b,pearson per pair a < b, and the mean over pairs in the log. */
static int write_residual_corr(const bon_scores *s, const float *scores, const float *g, const char *path) {
  const long n = (long)s->n_prompts * s->N;
  const int K = s->K;
  double *e = xmalloc(sizeof(double) * (size_t)n * K), gm = 0, gs = 0;
  for (long i = 0; i < n; i++) gm += g[i] / (double)n;
  for (long i = 0; i < n; i++) gs += (g[i] - gm) * (g[i] - gm) / n;
  gs = gs > 0 ? sqrt(gs) : 1.0;
  for (int m = 0; m < K; m++) {
    double mu = 0, sd = 0;
    for (long i = 0; i < n; i++) mu += scores[i * K + m] / (double)n;
    for (long i = 0; i < n; i++) sd += (scores[i * K + m] - mu) * (scores[i * K + m] - mu) / n;
    sd = sd > 0 ? sqrt(sd) : 1.0;
    for (long i = 0; i < n; i++) e[(size_t)m * n + i] = (scores[i * K + m] - mu) / sd - (g[i] - gm) / gs;
  }
  atomic_file af;
  CHECK(atomic_open(&af, path));
  fprintf(af.f, "member_a,member_b,pearson\n");
  double sum = 0;
  int pairs = 0;
  for (int a = 0; a < K; a++)
    for (int b = a + 1; b < K; b++) {
      const double *x = e + (size_t)a * n, *y = e + (size_t)b * n;
      double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
      for (long i = 0; i < n; i++) mx += x[i] / n, my += y[i] / n;
      for (long i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
      }
      double r = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
      fprintf(af.f, "%d,%d,%.6f\n", a, b, r);
      sum += r;
      pairs++;
    }
  xfree(&e);
  CHECK(atomic_commit(&af));
  if (pairs) LOG_INFO("bon: members' residuals (z(proxy) - z(gold)) correlate %.3f on average over %d pairs", sum / pairs,
                      pairs);
  return OO_OK;
}

/* Per-member shift/scale and gold shift over every sample; writes normalized copies. */
static void normalize_scores(const bon_scores *s, int zscore, float *proxy_n, // (n_prompts,N,K)
                             float *gold_n,                                    // (n_prompts,N)
                             double *shift, double *scale,                     // (K) each
                             double *gold_shift) {
  const long n = (long)s->n_prompts * s->N;
  const int K = s->K;
  for (int m = 0; m < K; m++) normalize_column(s->proxy, proxy_n, n, K, m, zscore, &shift[m], &scale[m]);
  double gs = 0;
  for (long i = 0; i < n; i++) gs += s->gold[i];
  *gold_shift = gs / n;
  for (long i = 0; i < n; i++) gold_n[i] = (float)(s->gold[i] - *gold_shift);
}

static int write_curve_h5(h5_writer *w, const bon_named_curve *nc) {
  const bon_curve *c = &nc->c;
  char name[96];
  long G = c->G, dims2[2] = {c->K, c->G};
#define CURVE_F64(field, rank, dims)                                                          \
  do {                                                                                        \
    snprintf(name, sizeof name, "curves/%.31s/%s", nc->name, #field);                            \
    CHECK(h5_write_f64(w, name, rank, dims, c->field));                                       \
  } while (0)
  snprintf(name, sizeof name, "curves/%.31s/n", nc->name);
  CHECK(h5_write_i32(w, name, 1, &G, c->n));
  CURVE_F64(kl, 1, &G);
  CURVE_F64(proxy, 1, &G);
  CURVE_F64(gold, 1, &G);
  CURVE_F64(gold_se, 1, &G);
  if (c->obj.kind == OBJ_SINGLE) {
    CURVE_F64(member_proxy, 2, dims2);
    CURVE_F64(member_gold, 2, dims2);
    CURVE_F64(proxy_spread, 1, &G);
    CURVE_F64(gold_spread, 1, &G);
  }
#undef CURVE_F64
  snprintf(name, sizeof name, "curves/%.31s", nc->name);
  CHECK(h5_attr_write_str(w, name, "objective", nc->objective ? nc->objective : obj_name(c->obj.kind)));
  if (c->obj.kind == OBJ_UWO || (nc->objective && strstr(nc->objective, "laplace")))
    CHECK(h5_attr_write_double(w, name, "lambda", c->obj.lambda));
  if (c->obj.kind == OBJ_SOFTMIN) CHECK(h5_attr_write_double(w, name, "tau", c->obj.tau));
  return OO_OK;
}

static int write_h5(const bon_scores *s, const bon_named_curve *cv, int n_cv, const double *shift,
                    const double *scale, double gold_shift, const double *warm_cal, const char *path,
                    int (*stamp)(void *ctx, h5_writer *w), void *ctx) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  long d3[3] = {s->n_prompts, s->N, s->K}, dK = s->K, dP = s->n_prompts, dL = s->n_uwo_lambda, dT = s->n_softmin_tau;
  int rc = h5_write_f32(&w, "proxy", 3, d3, s->proxy);
  if (!rc) rc = h5_write_f32(&w, "gold", 2, d3, s->gold);
  if (!rc) rc = h5_write_i32(&w, "prompt_doc", 1, &dP, s->prompt_doc);
  if (!rc && dL > 0) rc = h5_write_f64(&w, "uwo_lambda", 1, &dL, s->uwo_lambda);
  if (!rc && dT > 0) rc = h5_write_f64(&w, "softmin_tau", 1, &dT, s->softmin_tau);
  if (!rc) rc = h5_write_f64(&w, "curves/member_shift", 1, &dK, shift);
  if (!rc) rc = h5_write_f64(&w, "curves/member_scale", 1, &dK, scale);
  if (!rc && s->warm) rc = h5_write_f32(&w, "warm", 2, d3, s->warm);
  if (!rc && s->laplace_var) rc = h5_write_f32(&w, "laplace_var", 3, d3, s->laplace_var);
  if (!rc && s->warm) rc = h5_attr_write_double(&w, "curves", "warm_shift", warm_cal[0]);
  if (!rc && s->warm) rc = h5_attr_write_double(&w, "curves", "warm_scale", warm_cal[1]);
  if (!rc) rc = h5_attr_write_double(&w, "curves", "gold_shift", gold_shift);
  if (!rc) rc = h5_attr_write_str(&w, "curves", "normalize", s->normalize);
  if (!rc) rc = h5_attr_write_str(&w, "/", "normalize", s->normalize);
  if (!rc) rc = h5_attr_write_int(&w, "/", "n_prompts", s->n_prompts);
  if (!rc) rc = h5_attr_write_int(&w, "/", "n_samples", s->N);
  if (!rc) rc = h5_attr_write_int(&w, "/", "k", s->K);
  for (int i = 0; i < n_cv && !rc; i++) rc = write_curve_h5(&w, &cv[i]);
  if (!rc && stamp) rc = stamp(ctx, &w);
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

static void csv_rows(FILE *f, const char *name, const bon_curve *c, const double *proxy, const double *gold) {
  for (int g = 0; g < c->G; g++)
    fprintf(f, "%s,%d,%.6f,%.6f,%.6f,%.6f\n", name, c->n[g], c->kl[g], proxy[g], gold[g], c->gold_se[g]);
}

static int write_csv(const bon_named_curve *cv, int n_cv, const char *path) {
  atomic_file af;
  CHECK(atomic_open(&af, path));
  FILE *f = af.f;
  fprintf(f, "objective,n,kl,proxy,gold,gold_se\n");
  const bon_curve *single = NULL;
  for (int i = 0; i < n_cv; i++) {
    csv_rows(f, cv[i].name, &cv[i].c, cv[i].c.proxy, cv[i].c.gold);
    if (cv[i].c.obj.kind == OBJ_SINGLE && !cv[i].objective) single = &cv[i].c;
  }
  /* Each member's own curve, with the standard error of single (a member alone has none). */
  for (int m = 0; single && m < single->K; m++) {
    char name[32];
    snprintf(name, sizeof name, "member_%d", m);
    csv_rows(f, name, single, single->member_proxy + (size_t)m * single->G,
             single->member_gold + (size_t)m * single->G);
  }
  CHECK(atomic_commit(&af));
  return OO_OK;
}

/* Index of the largest of x[0..G). */
static int argmax(const double *x, int G) {
  int b = 0;
  for (int g = 1; g < G; g++)
    if (x[g] > x[b]) b = g;
  return b;
}

static void log_summary(const bon_named_curve *nc) {
  const bon_curve *c = &nc->c;
  int G = c->G, pk = argmax(c->gold, G);
  char extra[96] = "";
  if (c->obj.kind == OBJ_SINGLE) {
    /* A member overoptimizes when its gold ends clearly below its own peak. */
    int falls = 0;
    double tol = fmax(0.05, 2.0 * c->gold_se[G - 1]);
    for (int m = 0; m < c->K; m++) {
      const double *mg = c->member_gold + (size_t)m * G;
      falls += mg[G - 1] < mg[argmax(mg, G)] - tol;
    }
    snprintf(extra, sizeof extra, "; %d of %d members peak then fall (by > %.3f)", falls, c->K, tol);
  }
  LOG_INFO("bon %-9s gold %.3f at n=1, peak %.3f at n=%d, %.3f +- %.3f at n=%d; proxy %.3f at n=%d%s", nc->name,
           c->gold[0], c->gold[pk], c->n[pk], c->gold[G - 1], c->gold_se[G - 1], c->n[G - 1], c->proxy[G - 1],
           c->n[G - 1], extra);
}

int bon_write(const bon_scores *s, const char *h5_path, const char *csv_path, int (*stamp)(void *ctx, h5_writer *w),
              void *ctx) {
  REQUIRE(s->n_prompts >= 1 && s->N >= 1 && s->K >= 1, "bon: n_prompts = %d, N = %d, K = %d (each must be >= 1)",
          s->n_prompts, s->N, s->K);
  REQUIRE(s->n_uwo_lambda >= 0 && s->n_uwo_lambda <= CFG_LIST, "bon: %d uwo lambdas (at most %d)", s->n_uwo_lambda,
          CFG_LIST);
  int zscore = strcmp(s->normalize, "zscore") == 0;
  REQUIRE(zscore || strcmp(s->normalize, "center") == 0, "bon: normalize '%s' must be center or zscore",
          s->normalize);
  REQUIRE(s->n_softmin_tau >= 0 && s->n_softmin_tau <= CFG_LIST, "bon: %d softmin temperatures (at most %d)",
          s->n_softmin_tau, CFG_LIST);
  const int n_ens = 3 + s->n_uwo_lambda + s->n_softmin_tau, n_warm = s->warm != NULL;
  const int n_lap = s->laplace_var ? 2 * s->n_uwo_lambda : 0, n_cv = n_ens + n_warm + n_lap;
  bon_named_curve cv[BON_MAX_CURVES];
  memset(cv, 0, sizeof cv);
  snprintf(cv[0].name, sizeof cv[0].name, "single");
  snprintf(cv[1].name, sizeof cv[1].name, "mean");
  snprintf(cv[2].name, sizeof cv[2].name, "wco");
  obj_spec spec[BON_MAX_CURVES] = {{.kind = OBJ_SINGLE}, {.kind = OBJ_MEAN}, {.kind = OBJ_WCO}};
  for (int l = 0; l < s->n_uwo_lambda + s->n_softmin_tau; l++) {
    const int uwo = l < s->n_uwo_lambda, i = 3 + l;
    const double v = uwo ? s->uwo_lambda[l] : s->softmin_tau[l - s->n_uwo_lambda];
    REQUIRE(isfinite(v) && (uwo ? v >= 0 : v > 0), "bon: %s %g must be finite and %s", uwo ? "uwo lambda" : "softmin tau",
            v, uwo ? ">= 0" : "> 0");
    spec[i] = uwo ? (obj_spec){.kind = OBJ_UWO, .lambda = v} : (obj_spec){.kind = OBJ_SOFTMIN, .tau = v};
    snprintf(cv[i].name, sizeof cv[i].name, "%s_%g", uwo ? "uwo" : "softmin", v);
    for (int j = 3; j < i; j++)
      REQUIRE(strcmp(cv[j].name, cv[i].name) != 0, "bon: %s %g is listed twice", uwo ? "uwo lambda" : "softmin tau", v);
  }
  if (s->warm) { /* WARM is one reward model: the curve of its own (normalized) score */
    snprintf(cv[n_ens].name, sizeof cv[n_ens].name, "warm");
    cv[n_ens].objective = "warm";
    spec[n_ens] = (obj_spec){.kind = OBJ_MEAN};
  }
  for (int l = 0; l < n_lap; l++) { /* laplace_uwo_<lambda> (per member, like single), ens_laplace_<lambda> */
    const int i = n_ens + n_warm + l, ens = l >= s->n_uwo_lambda;
    const double lambda = s->uwo_lambda[l % s->n_uwo_lambda];
    snprintf(cv[i].name, sizeof cv[i].name, "%s_%g", ens ? "ens_laplace" : "laplace_uwo", lambda);
    cv[i].objective = ens ? "ens_laplace" : "laplace_uwo";
    spec[i] = (obj_spec){.kind = ens ? OBJ_MEAN : OBJ_SINGLE, .lambda = lambda};
  }
  int grid[BON_GRID_CAP], G = 0;
  CHECK(bon_default_grid(grid, &G, BON_GRID_CAP, s->N));

  const size_t n = (size_t)s->n_prompts * s->N;
  float *proxy_n = xmalloc_floats(n * s->K), *gold_n = xmalloc_floats(n), *warm_n = NULL;
  double *shift = xmalloc(sizeof(double) * s->K), *scale = xmalloc(sizeof(double) * s->K), gold_shift = 0;
  double warm_cal[2] = {0, 1};
  normalize_scores(s, zscore, proxy_n, gold_n, shift, scale, &gold_shift);
  if (s->warm) {
    warm_n = xmalloc_floats(n);
    normalize_column(s->warm, warm_n, (long)n, 1, 0, zscore, &warm_cal[0], &warm_cal[1]);
  }
  int rc = OO_OK, done = 0;
  if (s->uncertainty_csv) rc = write_uncertainty(s, proxy_n, gold_n, scale, grid, G, s->uncertainty_csv);
  if (!rc && s->residual_csv) rc = write_residual_corr(s, proxy_n, gold_n, s->residual_csv);
  double t0 = oo_now();
  for (; done < n_cv && !rc; done++) {
    if (done < n_ens) {
      rc = bon_curve_compute(&cv[done].c, proxy_n, gold_n, s->n_prompts, s->N, s->K, &spec[done], grid, G);
    } else if (done < n_ens + n_warm) {
      rc = bon_curve_compute(&cv[done].c, warm_n, gold_n, s->n_prompts, s->N, 1, &spec[done], grid, G);
    } else { /* the Laplace objectives as scores: (n_prompts,N,K) laplace_uwo, (n_prompts,N) ens_laplace */
      const int ens = spec[done].kind == OBJ_MEAN, Kc = ens ? 1 : s->K;
      float *score = xmalloc_floats(n * Kc);
      rc = laplace_scores(score, s, proxy_n, scale, spec[done].lambda, ens);
      if (!rc) rc = bon_curve_compute(&cv[done].c, score, gold_n, s->n_prompts, s->N, Kc, &spec[done], grid, G);
      xfree(&score);
    }
  }
  if (rc && done > 0) done--; /* bon_curve_compute freed the failed curve */
  xfree(&proxy_n);
  xfree(&gold_n);
  xfree(&warm_n);
  if (!rc) {
    LOG_INFO("bon: %d curves over %d prompts x %d samples x %d members in %.2f s (normalize %s; gold shifted by "
             "%.4f)",
             n_cv, s->n_prompts, s->N, s->K, oo_now() - t0, s->normalize, -gold_shift);
    for (int i = 0; i < n_cv; i++) log_summary(&cv[i]);
    rc = write_csv(cv, n_cv, csv_path); /* first: the stamp records its content hash (artifact.h) */
  }
  if (!rc) rc = write_h5(s, cv, n_cv, shift, scale, gold_shift, warm_cal, h5_path, stamp, ctx);
  if (!rc) LOG_INFO("bon: wrote %s and %s", h5_path, csv_path);
  for (int i = 0; i < done; i++) bon_curve_free(&cv[i].c);
  xfree(&shift);
  xfree(&scale);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* ---- the stage --------------------------------------------------------------------------- */

/* Every rank alike: the PROMPTS_BON_EVAL prompts (n_prompts, prompt_len+1) [EOT, bytes], their pool
 * indices (stream ids) and corpus documents. Arrays are xmalloc'ed. */
static int bon_prompts(const oo_config *cfg, int **prompts, uint64_t **stream, int **doc, int *count) {
  *prompts = NULL, *stream = NULL, *doc = NULL, *count = 0;
  oo_corpus c;
  CHECK(corpus_load(&c, cfg->corpus.path, cfg->corpus.delimiter, cfg->corpus.min_doc_bytes));
  int rc = corpus_split(&c, cfg->corpus.val_fraction, (uint64_t)cfg->run.world_seed);
  int *pool = NULL, n_pool = 0, first = 0, n = 0, need[PROMPTS_N_USES];
  if (!rc) rc = corpus_prompt_pool(&c, cfg->prefs.prompt_len, (uint64_t)cfg->run.world_seed, &pool, &n_pool);
  corpus_prompt_needs(cfg, need);
  if (!rc) rc = corpus_prompt_range(n_pool, need, PROMPTS_BON_EVAL, &first, &n);
  if (!rc) {
    const int P1 = cfg->prefs.prompt_len + 1;
    *prompts = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1) * P1);
    *stream = xmalloc(sizeof(uint64_t) * (size_t)(n > 0 ? n : 1));
    *doc = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
      corpus_prompt(&c, pool[first + i], cfg->prefs.prompt_len, *prompts + (size_t)i * P1);
      (*stream)[i] = (uint64_t)(first + i);
      (*doc)[i] = pool[first + i];
    }
    *count = n;
  }
  xfree(&pool);
  corpus_free(&c);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

typedef struct {
  int n_prompts, N, K;  /* prompts, samples per prompt, members */
  int Tp, response_len, Tmax; /* prompt tokens (with EOT), response bytes, sequence cap */
  long total;           /* n_prompts*N samples */
  int round_cap;        /* BON_UNIT * world size */
  const int *prompts;   /* (n_prompts,Tp) */
  const uint64_t *stream; /* (n_prompts) */
  /* per-rank buffers, sized before the loop */
  int *batch_prompt;    /* (BON_UNIT,Tp) */
  oo_rng *rng;          /* (BON_UNIT) */
  int *gen;             /* (BON_UNIT,response_len+1) generated tokens */
  int *gen_len;         /* (BON_UNIT) */
  int *my_tok;          /* (BON_UNIT,Tmax) this rank's unit as sequences, -1 padded */
  int *my_len;          /* (BON_UNIT) */
  int *round_tok;       /* (round_cap,Tmax) the round on every rank */
  int *round_len;       /* (round_cap) */
  int *cnt, *disp;      /* (world) allgatherv counts/displacements (in sequences) */
  int *cnt_t, *disp_t;  /* (world) the same in tokens */
  float *goldv;         /* (round_cap) */
  int *tok;             /* rank 0: (n_prompts*N,Tmax) every sample */
  int *len;             /* rank 0: (n_prompts*N) */
  float *gold;          /* rank 0: (n_prompts*N) */
  long done;            /* samples done: from a resume file before sample_world, then up to a stop */
} bon_work;

static void work_free(bon_work *w) {
  xfree(&w->batch_prompt);
  xfree(&w->rng);
  xfree(&w->gen);
  xfree(&w->gen_len);
  xfree(&w->my_tok);
  xfree(&w->my_len);
  xfree(&w->round_tok);
  xfree(&w->round_len);
  xfree(&w->cnt);
  xfree(&w->disp);
  xfree(&w->cnt_t);
  xfree(&w->disp_t);
  xfree(&w->goldv);
  xfree(&w->tok);
  xfree(&w->len);
  xfree(&w->gold);
}

/* ---- resume files (#12) ---------------------------------------------------------------------- */

/* One dataset of a resume file: rows [0, done) of `data`, `cols` values a row (0: one value, 1-D). */
typedef struct {
  const char *name;
  int is_int;
  int cols;
  void *data;
} bon_part;

/* Rank 0: the resume file of a stopped bon_samples / bon stage: the first `done` samples' rows of
 * each part (whole rounds), under the stage's hash and the layout the rounds were cut for; written
 * whole or not at all (h5io). A failure only warns: the stage then starts over on a rerun. */
static void partial_write(const oo_run *run, const char *path, long done, const bon_part *parts, int n_parts) {
  h5_writer h;
  int rc = h5_create(&h, path);
  if (rc) goto out;
  for (int i = 0; i < n_parts && !rc; i++) {
    long dims[2] = {done, parts[i].cols};
    int rank = parts[i].cols ? 2 : 1;
    rc = parts[i].is_int ? h5_write_i32(&h, parts[i].name, rank, dims, parts[i].data)
                         : h5_write_f32(&h, parts[i].name, rank, dims, parts[i].data);
  }
  if (!rc) rc = h5_attr_write_str(&h, "/", "config_hash", run->stage_hash);
  if (!rc) rc = h5_attr_write_int(&h, "/", "samples_done", done);
  if (!rc) rc = h5_attr_write_int(&h, "/", "world_size", run->comms.size);
  if (!rc) rc = h5_attr_write_int(&h, "/", "rm_ranks", run->layout.n_rm);
  if (rc) h5_discard(&h);
  else rc = h5_commit(&h);
out:
  if (rc) LOG_WARN("%s: could not write the resume file '%s' (a rerun starts over): %s", run->stage, path,
                   oo_error_message());
  else LOG_INFO("%s: stopped after %ld samples; %s holds them, to resume from", run->stage, done, path);
  oo_error_clear();
}

/* Rank 0: the samples done in the resume file at path, read into rows [0, done) of the parts; 0
 * when there is none or it is not usable (another config or layout, damaged: with a warning). The
 * rounds are BON_UNIT * world size samples, so a resume needs the same world size and RM ranks
 * to cut the same rounds and forward chunks, hence the same bits. */
static long partial_read(const oo_run *run, const char *path, long total, long round_cap, const bon_part *parts,
                         int n_parts) {
  h5_reader r;
  if (!resume_open(&r, path, run->stage_hash, run->stage, "starting over")) return 0;
  long done = 0, size = 0, n_rm = 0;
  int rc = h5_attr_read_int(&r, "/", "samples_done", &done);
  if (!rc) rc = h5_attr_read_int(&r, "/", "world_size", &size);
  if (!rc) rc = h5_attr_read_int(&r, "/", "rm_ranks", &n_rm);
  if (!rc && (size != run->comms.size || n_rm != run->layout.n_rm))
    rc = oo_error_at(__FILE__, __LINE__, "it was written by %ld ranks (%ld RM ranks), this run has %d (%d)", size,
                     n_rm, run->comms.size, run->layout.n_rm);
  if (!rc && (done <= 0 || done >= total || done % round_cap))
    rc = oo_error_at(__FILE__, __LINE__, "it holds %ld samples, not whole rounds of %ld below %ld", done, round_cap,
                     total);
  for (int i = 0; i < n_parts && !rc; i++) {
    long dims[2] = {done, parts[i].cols};
    int rank = parts[i].cols ? 2 : 1;
    rc = parts[i].is_int ? h5_read_i32(&r, parts[i].name, rank, dims, parts[i].data)
                         : h5_read_f32(&r, parts[i].name, rank, dims, parts[i].data);
  }
  h5_close(&r);
  if (rc) {
    LOG_WARN("%s: not resuming from '%s' (starting over): %s", run->stage, path, oo_error_message());
    oo_error_clear();
    return 0;
  }
  LOG_INFO("%s: resuming with %ld of %ld samples done, from %s", run->stage, done, total, path);
  return done;
}

/* Collective on world: rank 0 looks for a resume file (parts on rank 0 only) and every rank gets
 * the samples done (0: start over). */
static long partial_resume(const oo_run *run, const char *path, long total, long round_cap, const bon_part *parts,
                           int n_parts) {
  long done = run->comms.rank == 0 ? partial_read(run, path, total, round_cap, parts, n_parts) : 0;
  CHECK_MPI_DIE(MPI_Bcast(&done, 1, MPI_LONG, 0, run->comms.world));
  return done;
}

/* Generates global samples [a, a+nb) into w->my_tok / w->my_len (no allocation). */
static int generate_unit(const oo_run *run, bon_work *w, gpt *policy, gpt_kvcache *kv, long a, int nb) {
  const int Tp = w->Tp, max_new = w->response_len + 1;
  for (int r = 0; r < nb; r++) {
    long g = a + r;
    int p = (int)(g / w->N), s = (int)(g % w->N);
    memcpy(w->batch_prompt + (size_t)r * Tp, w->prompts + (size_t)p * Tp, sizeof(int) * (size_t)Tp);
    w->rng[r] = oo_rng_make((uint64_t)run->cfg.run.world_seed, RNG_BON, w->stream[p], (uint64_t)s);
  }
  gpt_sample_opts opts = {1.0f, (float)run->cfg.bon.top_p, 0, max_new, 1};
  CHECK(gpt_generate(policy, kv, w->batch_prompt, Tp, nb, &opts, w->rng, w->gen, w->gen_len, NULL));
  for (int r = 0; r < nb; r++) {
    const int *gen = w->gen + (size_t)r * max_new;
    int n_resp = w->gen_len[r];
    if (n_resp == max_new && gen[max_new - 1] != GPT_EOT)
      n_resp = w->response_len; /* response_len bytes, no end-of-text */
    int *seq = w->my_tok + (size_t)r * w->Tmax;
    memcpy(seq, w->batch_prompt + (size_t)r * Tp, sizeof(int) * (size_t)Tp);
    memcpy(seq + Tp, gen, sizeof(int) * (size_t)n_resp);
    for (int t = Tp + n_resp; t < w->Tmax; t++) seq[t] = -1;
    w->my_len[r] = Tp + n_resp;
  }
  return OO_OK;
}

/* Samples in round [r0, r0+nr) generated by world rank q (unit q of the round). */
static int unit_count(long r0, long total, int q) {
  long a = r0 + (long)q * BON_UNIT;
  long b = a + BON_UNIT < total ? a + BON_UNIT : total;
  return b > a ? (int)(b - a) : 0;
}

/* Collective on world: every round generated, gathered and gold-scored; rank 0 keeps the tokens,
 * lengths and gold scores. On a stop request it returns OO_OK early, with oo_stopped(). */
static int sample_world(oo_run *run, bon_work *w, gpt *policy, gold_model *gold) {
  const oo_comms *c = &run->comms;
  gpt_kvcache kv;
  memset(&kv, 0, sizeof kv);
  CHECK(gpt_kv_create(&kv, policy, BON_UNIT));
  long n_rounds = (w->total + w->round_cap - 1) / w->round_cap, first = w->done / w->round_cap; /* resumed */
  oo_progress prog;
  oo_progress_start(&prog, "bon sampling", n_rounds, "sample");
  double t_gen = 0, t_score = 0, t_start = oo_now();
  int rc = OO_OK;
  for (long rd = first; rd < n_rounds && !rc; rd++) { /* no allocation in this loop */
    long r0 = rd * w->round_cap;
    int nr = (int)(w->total - r0 < w->round_cap ? w->total - r0 : w->round_cap);
    int nb = unit_count(r0, w->total, c->rank);
    double t0 = oo_now();
    if (nb > 0) rc = generate_unit(run, w, policy, &kv, r0 + (long)c->rank * BON_UNIT, nb);
    rc = oo_agree(c->world, rc, "bon: generation failed on another rank");
    if (rc) break;
    for (int q = 0; q < c->size; q++) {
      w->cnt[q] = unit_count(r0, w->total, q);
      w->disp[q] = q * BON_UNIT < nr ? q * BON_UNIT : nr;
      w->cnt_t[q] = w->cnt[q] * w->Tmax;
      w->disp_t[q] = w->disp[q] * w->Tmax;
    }
    CHECK_MPI_GOTO(rc, MPI_Allgatherv(w->my_tok, nb * w->Tmax, MPI_INT, w->round_tok, w->cnt_t, w->disp_t, MPI_INT, c->world), done);
    CHECK_MPI_GOTO(rc, MPI_Allgatherv(w->my_len, nb, MPI_INT, w->round_len, w->cnt, w->disp, MPI_INT, c->world), done);
    double t1 = oo_now();
    rc = gold_score_all(gold, c, &run->layout, w->round_tok, w->round_len, nr, w->Tmax, w->goldv);
    if (rc) break;
    double t2 = oo_now();
    t_gen += t1 - t0;
    t_score += t2 - t1;
    if (c->rank == 0) {
      memcpy(w->tok + (size_t)r0 * w->Tmax, w->round_tok, sizeof(int) * (size_t)nr * w->Tmax);
      memcpy(w->len + r0, w->round_len, sizeof(int) * (size_t)nr);
      memcpy(w->gold + r0, w->goldv, sizeof(float) * (size_t)nr);
      char extra[160];
      /* the rest of the stage (a resume skipped the first w->done samples) */
      const double projected = (t2 - t_start) * (double)(w->total - w->done) / (double)(r0 + nr - w->done);
      snprintf(extra, sizeof extra, "projected total %02d:%02d for %ld samples | rank 0: generation %.0f%%, gold scoring %.0f%%",
               (int)(projected / 60), (int)projected % 60, w->total - w->done, 100 * t_gen / (t2 - t_start),
               100 * t_score / (t2 - t_start));
      oo_progress_update(&prog, rd + 1, (double)(r0 + nr), extra);
    }
    if (rd + 1 < n_rounds && oo_stop_requested(c->world)) {
      gpt_kv_free(&kv);
      w->done = r0 + nr; /* whole rounds: the caller writes the resume file */
      LOG_INFO("bon: stop requested after %ld of %ld samples", r0 + nr, w->total);
      return OO_OK;
    }
  }
done:
  gpt_kv_free(&kv);
  CHECK(rc);
  double dt = oo_now() - t_start;
  LOG_INFO("bon: generated and gold-scored %ld samples in %.1f s: %.1f samples/s on %d rank%s (rank 0: generation "
           "%.1f s, gold scoring %.1f s)",
           w->total - w->done, dt, (w->total - w->done) / dt, c->size, c->size == 1 ? "" : "s", t_gen, t_score);
  return OO_OK;
}

static int stamp_run(void *ctx, h5_writer *w) { return run_stamp((const oo_run *)ctx, w); }

/* Rank 0: bon_samples.h5 (tokens, lens, gold, prompt_doc). */
static int write_samples(const oo_run *run, const bon_work *w, const int *doc, const char *path) {
  h5_writer h;
  CHECK(h5_create(&h, path));
  long dt[2] = {w->total, w->Tmax}, dn = w->total, dp = w->n_prompts;
  int rc = run_stamp(run, &h);
  if (!rc) rc = h5_write_i32(&h, "tokens", 2, dt, w->tok);
  if (!rc) rc = h5_write_i32(&h, "lens", 1, &dn, w->len);
  if (!rc) rc = h5_write_f32(&h, "gold", 1, &dn, w->gold);
  if (!rc) rc = h5_write_i32(&h, "prompt_doc", 1, &dp, doc);
  if (!rc) rc = h5_attr_write_int(&h, "/", "prompts", w->n_prompts);
  if (!rc) rc = h5_attr_write_int(&h, "/", "samples_per_prompt", w->N);
  if (rc) {
    h5_discard(&h);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&h));
  LOG_INFO("bon: wrote %s (%ld samples of pi_init with their gold scores)", path, w->total);
  return OO_OK;
}

static void bon_shape(const oo_config *cfg, bon_work *w) {
  memset(w, 0, sizeof *w);
  w->N = cfg->bon.n_samples;
  w->K = cfg->rm.k;
  w->Tp = cfg->prefs.prompt_len + 1;
  w->response_len = cfg->prefs.response_len;
  w->Tmax = cfg->prefs.prompt_len + w->response_len + 2;
}

/* World stage: pi_init's N samples per evaluation prompt and their gold scores, computed once
 * and rescored by every replicate's members (stage_bon). */
int stage_bon_samples(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *c = &run->comms;
  const int is_rm = run->layout.ranks[c->rank].is_rm;
  bon_work w;
  bon_shape(cfg, &w);
  char policy_path[4400], gold_path[4400], out_path[4400], partial[4400];
  CHECK(pretrain_lm_path(run, &cfg->pretrain.policy, policy_path, sizeof policy_path));
  CHECK(run_world_path(run, "gold.h5", gold_path, sizeof gold_path));
  CHECK(run_world_path(run, "bon_samples.h5", out_path, sizeof out_path));
  CHECK(run_world_path(run, "bon_samples.partial.h5", partial, sizeof partial));
  REQUIRE(oo_file_exists(policy_path), "bon: pi_init '%s' does not exist: run `overopt stage pretrain` first",
          policy_path);
  REQUIRE(oo_file_exists(gold_path), "bon: the gold '%s' does not exist: run `overopt stage gold` first", gold_path);
  REQUIRE(w.Tmax <= cfg->pretrain.n_ctx,
          "bon: a sequence of 1 + %d + %d + 1 tokens does not fit pretrain.n_ctx = %d: lower prefs.prompt_len or "
          "prefs.response_len",
          cfg->prefs.prompt_len, w.response_len, cfg->pretrain.n_ctx);
  int *prompts = NULL, *doc = NULL;
  uint64_t *stream = NULL;
  CHECK(bon_prompts(cfg, &prompts, &stream, &doc, &w.n_prompts));
  w.prompts = prompts;
  w.stream = stream;
  w.total = (long)w.n_prompts * w.N;
  w.round_cap = BON_UNIT * c->size;
  gpt policy;
  gold_model gold;
  memset(&policy, 0, sizeof policy);
  memset(&gold, 0, sizeof gold);
  int rc = gpt_load(&policy, policy_path, GPT_LM);
  if (!rc && is_rm) rc = gold_load(&gold, gold_path);
  if (!rc && is_rm && gold.model.d.T < w.Tmax)
    rc = oo_error_at(__FILE__, __LINE__, "bon: the gold '%s' has n_ctx %d < %d tokens per sequence", gold_path,
                     gold.model.d.T, w.Tmax);
  if (rc) oo_mpi_die(rc); /* a load failed on this rank while others may be in collectives */
  w.batch_prompt = xmalloc(sizeof(int) * (size_t)BON_UNIT * w.Tp);
  w.rng = xmalloc(sizeof(oo_rng) * BON_UNIT);
  w.gen = xmalloc(sizeof(int) * (size_t)BON_UNIT * (w.response_len + 1));
  w.gen_len = xmalloc(sizeof(int) * BON_UNIT);
  w.my_tok = xmalloc(sizeof(int) * (size_t)BON_UNIT * w.Tmax);
  w.my_len = xmalloc(sizeof(int) * BON_UNIT);
  w.round_tok = xmalloc(sizeof(int) * (size_t)w.round_cap * w.Tmax);
  w.round_len = xmalloc(sizeof(int) * (size_t)w.round_cap);
  w.cnt = xmalloc(sizeof(int) * (size_t)c->size);
  w.disp = xmalloc(sizeof(int) * (size_t)c->size);
  w.cnt_t = xmalloc(sizeof(int) * (size_t)c->size);
  w.disp_t = xmalloc(sizeof(int) * (size_t)c->size);
  w.goldv = xmalloc_floats((size_t)w.round_cap);
  if (c->rank == 0) {
    w.tok = xmalloc(sizeof(int) * (size_t)w.total * w.Tmax);
    w.len = xmalloc(sizeof(int) * (size_t)w.total);
    w.gold = xmalloc_floats((size_t)w.total);
  }
  char size[32];
  cfg_size_name(&cfg->pretrain.policy, size, sizeof size);
  LOG_INFO("bon: pi_init %s writes %d responses (temperature 1, top-p %g, at most %d bytes) to each of %d prompts = "
           "%ld samples, scored by the %s gold; rounds of %d samples",
           size, w.N, cfg->bon.top_p, w.response_len, w.n_prompts, w.total, cfg->gold.kind, w.round_cap);
  const bon_part parts[3] = {{"tokens", 1, w.Tmax, w.tok}, {"lens", 1, 0, w.len}, {"gold", 0, 0, w.gold}};
  w.done = partial_resume(run, partial, w.total, w.round_cap, parts, 3);
  rc = sample_world(run, &w, &policy, &gold);
  if (rc == OO_OK && c->rank == 0) {
    if (oo_stopped()) partial_write(run, partial, w.done, parts, 3);
    else rc = write_samples(run, &w, doc, out_path);
    if (!rc && !oo_stopped()) unlink(partial); /* the resume file of a stop before, if any */
  }
  rc = oo_agree(c->world, rc, "rank 0 could not write the best-of-n samples");
  work_free(&w);
  gpt_free(&policy);
  gold_free(&gold);
  xfree(&prompts);
  xfree(&stream);
  xfree(&doc);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* The world's samples, read on every rank and checked against the config. */
typedef struct {
  int *tok;    /* (n,Tmax) */
  int *len;    /* (n) */
  float *gold; /* (n) */
  int *doc;    /* (n_prompts) */
} bon_world;

static void world_free(bon_world *b) {
  xfree(&b->tok);
  xfree(&b->len);
  xfree(&b->gold);
  xfree(&b->doc);
}

static int world_read(bon_world *b, const char *path, const bon_work *w) {
  memset(b, 0, sizeof *b);
  h5_reader r;
  CHECK(h5_open(&r, path));
  long dt[2] = {w->total, w->Tmax}, dn = w->total, dp = w->n_prompts;
  b->tok = xmalloc(sizeof(int) * (size_t)w->total * w->Tmax);
  b->len = xmalloc(sizeof(int) * (size_t)w->total);
  b->gold = xmalloc_floats((size_t)w->total);
  b->doc = xmalloc(sizeof(int) * (size_t)(w->n_prompts > 0 ? w->n_prompts : 1));
  int rc = h5_read_i32(&r, "tokens", 2, dt, b->tok);
  if (!rc) rc = h5_read_i32(&r, "lens", 1, &dn, b->len);
  if (!rc) rc = h5_read_f32(&r, "gold", 1, &dn, b->gold);
  if (!rc) rc = h5_read_i32(&r, "prompt_doc", 1, &dp, b->doc);
  h5_close(&r);
  for (long i = 0; !rc && i < w->total; i++)
    if (b->len[i] < w->Tp || b->len[i] > w->Tmax || !isfinite(b->gold[i]))
      rc = oo_error_at(__FILE__, __LINE__, "%s: sample %ld has length %d (expected %d..%d) or gold %g: the file is "
                       "damaged; delete it and rerun `overopt run` to sample again", path, i, b->len[i], w->Tp,
                       w->Tmax, (double)b->gold[i]);
  if (rc) {
    world_free(b);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

/* Replicate stage: this replicate's members score the world's samples; rank 0 writes the curves. */
int stage_bon(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *c = &run->comms;
  bon_work w;
  bon_shape(cfg, &w);
  w.n_prompts = cfg->bon.n_prompts;
  char samples_path[4400], rm_path[4400], h5_path[4400], csv_path[4400], unc_path[4400], res_path[4400],
      partial[4400];
  CHECK(run_path(run, "bon.partial.h5", partial, sizeof partial));
  CHECK(run_world_path(run, "bon_samples.h5", samples_path, sizeof samples_path));
  CHECK(run_path(run, "rm.h5", rm_path, sizeof rm_path));
  CHECK(run_path(run, "bon.h5", h5_path, sizeof h5_path));
  CHECK(run_path(run, "bon.csv", csv_path, sizeof csv_path));
  CHECK(run_path(run, "uncertainty.csv", unc_path, sizeof unc_path));
  CHECK(run_path(run, "residual_corr.csv", res_path, sizeof res_path));
  REQUIRE(oo_file_exists(rm_path), "bon: the ensemble '%s' does not exist: run `overopt stage rm` first", rm_path);
  REQUIRE(oo_file_exists(samples_path),
          "bon: the world's samples '%s' do not exist: run `overopt stage bon_samples` first", samples_path);
  /* The sample file holds the prompts the pool gives (bon.n_prompts at most). */
  h5_reader r;
  CHECK(h5_open(&r, samples_path));
  long n_prompts = 0, N = 0;
  int rc = h5_attr_read_int(&r, "/", "prompts", &n_prompts);
  if (!rc) rc = h5_attr_read_int(&r, "/", "samples_per_prompt", &N);
  h5_close(&r);
  CHECK(rc);
  REQUIRE(N == w.N && n_prompts >= 1 && n_prompts <= cfg->bon.n_prompts,
          "bon: '%s' holds %ld x %ld samples but the config asks for bon.n_prompts = %d x bon.n_samples = %d: rerun "
          "`overopt run` so the bon_samples stage redoes it", samples_path, n_prompts, N, cfg->bon.n_prompts, w.N);
  w.n_prompts = (int)n_prompts;
  w.total = n_prompts * N;
  w.round_cap = BON_UNIT * c->size;
  bon_world b;
  memset(&b, 0, sizeof b);
  rm_ensemble ens;
  memset(&ens, 0, sizeof ens);
  rc = world_read(&b, samples_path, &w);
  if (!rc)
    rc = rm_ensemble_load(&ens, rm_path, &run->layout, c->rank, w.K, cfg->pretrain.n_ctx, cfg->rm.size.d_model,
                          cfg->rm.size.n_layer, cfg->rm.size.n_head);
  gold_model warm; /* WARM scored like the gold: a reward checkpoint, rows split over RM ranks */
  memset(&warm, 0, sizeof warm);
  if (!rc && cfg->rm.warm && run->layout.ranks[c->rank].is_rm) rc = rm_warm_load(&warm, rm_path);
  if (rc) oo_mpi_die(rc); /* a load failed on this rank while others may be in collectives */
  float *warmv = cfg->rm.warm ? xmalloc_floats((size_t)w.round_cap) : NULL;
  float *lvar = cfg->rm.laplace ? xmalloc_floats((size_t)w.round_cap * w.K) : NULL;
  float *lvar_all = cfg->rm.laplace && c->rank == 0 ? xmalloc_floats((size_t)w.total * w.K) : NULL;
  float *warm_all = cfg->rm.warm && c->rank == 0 ? xmalloc_floats((size_t)w.total) : NULL;
  float *matrix = xmalloc_floats((size_t)w.round_cap * w.K);
  float *proxy = c->rank == 0 ? xmalloc_floats((size_t)w.total * w.K) : NULL;
  long n_rounds = (w.total + w.round_cap - 1) / w.round_cap;
  /* rank 0's score arrays, also the resume file's datasets (a stop before: skip its rounds) */
  bon_part parts[3] = {{"proxy", 0, w.K, proxy}};
  int n_parts = 1;
  if (warm_all) parts[n_parts++] = (bon_part){"warm", 0, 0, warm_all};
  if (lvar_all) parts[n_parts++] = (bon_part){"laplace_var", 0, w.K, lvar_all};
  w.done = partial_resume(run, partial, w.total, w.round_cap, parts, n_parts);
  oo_progress prog;
  oo_progress_start(&prog, "bon scoring", n_rounds, "sample");
  double t0 = oo_now();
  double cpu[3] = {0, 0, 0}; /* CPU seconds: members' scores, WARM, Laplace variances (issue #15 item 6) */
  for (long rd = w.done / w.round_cap; rd < n_rounds && !rc; rd++) { /* no allocation in this loop */
    long r0 = rd * w.round_cap;
    int nr = (int)(w.total - r0 < w.round_cap ? w.total - r0 : w.round_cap);
    double u = oo_cpu_now(), u1;
    rc = rm_ensemble_score(&ens, c, &run->layout, b.tok + (size_t)r0 * w.Tmax, b.len + r0, nr, w.Tmax, matrix);
    cpu[0] += (u1 = oo_cpu_now()) - u;
    if (!rc && warmv)
      rc = gold_score_all(&warm, c, &run->layout, b.tok + (size_t)r0 * w.Tmax, b.len + r0, nr, w.Tmax, warmv);
    cpu[1] += (u = oo_cpu_now()) - u1;
    if (!rc && lvar)
      rc = rm_ensemble_laplace_var(&ens, c, &run->layout, b.tok + (size_t)r0 * w.Tmax, b.len + r0, nr, w.Tmax, lvar);
    cpu[2] += oo_cpu_now() - u;
    if (rc) break;
    if (c->rank == 0) {
      memcpy(proxy + (size_t)r0 * w.K, matrix, sizeof(float) * (size_t)nr * w.K);
      if (warm_all) memcpy(warm_all + r0, warmv, sizeof(float) * (size_t)nr);
      if (lvar_all) memcpy(lvar_all + (size_t)r0 * w.K, lvar, sizeof(float) * (size_t)nr * w.K);
      oo_progress_update(&prog, rd + 1, (double)(r0 + nr), NULL);
    }
    if (rd + 1 < n_rounds && oo_stop_requested(c->world)) {
      w.done = r0 + nr; /* whole rounds, written to the resume file below */
      LOG_INFO("bon: stop requested after %ld of %ld samples", r0 + nr, w.total);
      break;
    }
  }
  if (!rc && !oo_stopped())
    LOG_INFO("bon: %d members scored %ld samples in %.1f s on %d rank%s", w.K, w.total - w.done, oo_now() - t0, c->size,
             c->size == 1 ? "" : "s");
  { /* every rank gets here (the loop's errors and stops are collective; oo_agree follows) */
    int crc = OO_MPI_RC(MPI_Allreduce(MPI_IN_PLACE, cpu, 3, MPI_DOUBLE, MPI_SUM, c->world));
    if (!rc) rc = crc;
  }
  if (!rc && !oo_stopped())
    LOG_INFO("bon: CPU time over %d rank%s: members' scores %.3f s, WARM %.3f s, Laplace variances %.3f s", c->size,
             c->size == 1 ? "" : "s", cpu[0], cpu[1], cpu[2]);
  if (rc == OO_OK && !oo_stopped() && c->rank == 0) {
    bon_scores s = {proxy, b.gold, b.doc, w.n_prompts, w.N, w.K, cfg->bon.uwo_lambda, cfg->bon.n_uwo_lambda,
                    cfg->rm.normalize, cfg->bon.softmin_tau, cfg->bon.n_softmin_tau, warm_all,
                    lvar_all, unc_path, res_path};
    rc = bon_write(&s, h5_path, csv_path, stamp_run, run);
    if (!rc) unlink(partial); /* the resume file of a stop before, if any */
  }
  if (rc == OO_OK && oo_stopped() && c->rank == 0) partial_write(run, partial, w.done, parts, n_parts);
  rc = oo_agree(c->world, rc, "rank 0 could not compute or write the best-of-n curves");
  xfree(&matrix);
  xfree(&proxy);
  xfree(&warmv);
  xfree(&warm_all);
  xfree(&lvar);
  xfree(&lvar_all);
  gold_free(&warm);
  world_free(&b);
  rm_ensemble_free(&ens);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}
