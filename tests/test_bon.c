/* Best-of-n: the estimator against brute-force enumeration, weight sums, identical members,
 * gold alignment through the sort, KL_bon values, objectives and the default grid; the soft
 * minimum against its definition, its limits and its second-order expansion. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "rlhf/rlhf.h"
#include "testing.h"

/* The objective of one sample computed directly here (independent of rlhf.c). */
static double direct_objective(obj_kind kind, const float *scores, int K, double lambda, int member) {
  double s = 0, mn = scores[0];
  for (int j = 0; j < K; j++) {
    s += scores[j];
    if (scores[j] < mn) mn = scores[j];
  }
  double mean = s / K, v = 0;
  for (int j = 0; j < K; j++) v += (scores[j] - mean) * (scores[j] - mean) / K;
  switch (kind) {
    case OBJ_SINGLE: return scores[member];
    case OBJ_MEAN: return mean;
    case OBJ_WCO: return mn;
    case OBJ_UWO: return mean - lambda * v;
    case OBJ_SOFTMIN: return ensemble_objective_softmin(scores, K, 1.0); /* its value: test_softmin */
    case OBJ_WARM:
    case OBJ_LAPLACE_UWO:
    case OBJ_ENS_LAPLACE: break; /* not functions of the scores alone */
  }
  return NAN;
}

/* Average over all n-subsets of {0..N) of the gold (and objective) of the subset's best sample
 * by the objective. */
static void brute_force(double *e_obj, double *e_gold, const double *obj, const float *gold,
                        int N, int n) {
  double so = 0, sg = 0;
  long count = 0;
  for (unsigned mask = 0; mask < (1u << N); mask++) {
    if (__builtin_popcount(mask) != n) continue;
    int best = -1;
    for (int i = 0; i < N; i++)
      if ((mask >> i & 1) && (best < 0 || obj[i] >= obj[best])) best = i; /* ties: later index */
    so += obj[best];
    sg += gold[best];
    count++;
  }
  *e_obj = so / count;
  *e_gold = sg / count;
}

/* data: 0 normal scores; 1 scores spanning 1e-20..1e20 of both signs and zeros of both signs
 * (exercises the sort's key mapping); 2 small integers (ties, broken by sample index). */
static void test_brute_force(int data) {
  enum { N = 10, K = 3 };
  oo_rng r = oo_rng_make(1, RNG_TEST, 1, (uint64_t)data);
  float proxy[N * K], gold[N];
  for (int i = 0; i < N * K; i++) {
    double z = oo_rng_normal(&r);
    proxy[i] = data == 0 ? (float)z
               : data == 1 ? (float)(z * pow(10.0, 40.0 * oo_rng_uniform(&r) - 20.0))
                           : (float)oo_rng_below(&r, 3);
  }
  if (data == 1) {
    proxy[0] = -0.0f;
    proxy[K] = 0.0f;
  }
  for (int i = 0; i < N; i++) gold[i] = oo_rng_normal(&r); /* unrelated to the proxy */
  int grid[N];
  for (int n = 1; n <= N; n++) grid[n - 1] = n;
  double max_err = 0;
  for (int kind = OBJ_SINGLE; kind <= OBJ_SOFTMIN; kind++) {
    obj_spec spec = {(obj_kind)kind, 0.5, 0, 1.0};
    bon_curve c;
    EXPECT_OK(bon_curve_compute(&c, proxy, gold, 1, N, K, &spec, grid, N));
    int M = kind == OBJ_SINGLE ? K : 1;
    for (int n = 1; n <= N; n++) {
      double mo = 0, mg = 0;
      for (int m = 0; m < M; m++) {
        double obj[N], eo, eg;
        for (int i = 0; i < N; i++) obj[i] = direct_objective((obj_kind)kind, proxy + i * K, K, 0.5, m);
        brute_force(&eo, &eg, obj, gold, N, n);
        if (kind == OBJ_SINGLE) {
          EXPECT_NEAR(c.member_proxy[m * N + n - 1], eo, 1e-12 * fmax(1.0, fabs(eo)));
          EXPECT_NEAR(c.member_gold[m * N + n - 1], eg, 1e-12);
        }
        mo += eo / M;
        mg += eg / M;
      }
      max_err = fmax(max_err, fabs(c.gold[n - 1] - mg));
      max_err = fmax(max_err, fabs(c.proxy[n - 1] - mo) / fmax(1.0, fabs(mo)));
      EXPECT_NEAR(c.gold[n - 1], mg, 1e-12);
      EXPECT_NEAR(c.proxy[n - 1], mo, 1e-12 * fmax(1.0, fabs(mo)));
    }
    EXPECT(c.member_gold == NULL || kind == OBJ_SINGLE);
    bon_curve_free(&c);
  }
  /* bon_expected on values sorted by hand */
  double vals[N];
  for (int i = 0; i < N; i++) vals[i] = proxy[i * K];
  for (int i = 1; i < N; i++) /* insertion sort */
    for (int j = i; j > 0 && vals[j] < vals[j - 1]; j--) {
      double t = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = t;
    }
  for (int n = 1; n <= N; n++) {
    double eo, eg, obj[N];
    for (int i = 0; i < N; i++) obj[i] = proxy[i * K];
    brute_force(&eo, &eg, obj, gold, N, n);
    EXPECT_NEAR(bon_expected(vals, N, n), eo, 1e-12 * fmax(1.0, fabs(eo)));
  }
  printf("brute force N=%d data %d: largest difference %.3g\n", N, data, max_err);
}

static void test_weights(void) {
  int Ns[] = {10, 100, 12600};
  double *w = xmalloc(sizeof(double) * 12600);
  double worst = 0;
  for (int a = 0; a < 3; a++) {
    int N = Ns[a];
    int ns[] = {1, 2, 3, N / 2, N - 1, N, 4096, 8192, 12500};
    for (int b = 0; b < 9; b++) {
      int n = ns[b];
      if (n < 1 || n > N) continue;
      bon_weights(w, N, n);
      double s = 0;
      for (int i = 0; i < N; i++) s += w[i];
      worst = fmax(worst, fabs(s - 1));
      EXPECT_MSG(fabs(s - 1) < 1e-9, "N=%d n=%d: weights sum to %.15g", N, n, s);
      EXPECT(n < 2 || w[n - 2] == 0.0);
      if (n == 1) EXPECT_NEAR(w[0], 1.0 / N, 1e-15);
      if (n == N) EXPECT_NEAR(w[N - 1], 1.0, 1e-12);
    }
  }
  /* exact small case: N=4, n=2: C(i,1)/C(4,2) = {0, 1, 2, 3}/6 */
  bon_weights(w, 4, 2);
  for (int i = 0; i < 4; i++) EXPECT_NEAR(w[i], i / 6.0, 1e-15);
  printf("weights: largest |sum - 1| %.3g\n", worst);
  xfree(&w);
}

static void test_identical_members(void) {
  enum { N_PROMPTS = 4, N = 64, K = 5 };
  float *proxy = xmalloc(sizeof(float) * N_PROMPTS * N * K), *gold = xmalloc(sizeof(float) * N_PROMPTS * N);
  oo_rng r = oo_rng_make(2, RNG_TEST, 0, 0);
  for (int i = 0; i < N_PROMPTS * N; i++) {
    float s = oo_rng_normal(&r);
    for (int j = 0; j < K; j++) proxy[i * K + j] = s;
    gold[i] = oo_rng_normal(&r);
  }
  int grid[8], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 8, N));
  bon_curve c[4];
  for (int kind = 0; kind < 4; kind++) {
    obj_spec spec = {(obj_kind)kind, 0.5, 0, 1.0};
    EXPECT_OK(bon_curve_compute(&c[kind], proxy, gold, N_PROMPTS, N, K, &spec, grid, G));
  }
  for (int kind = 1; kind < 4; kind++)
    for (int g = 0; g < G; g++) {
      EXPECT_NEAR(c[kind].gold[g], c[OBJ_SINGLE].gold[g], 1e-12);
      EXPECT_NEAR(c[kind].proxy[g], c[OBJ_SINGLE].proxy[g], 1e-12);
      EXPECT_NEAR(c[kind].gold_se[g], c[OBJ_SINGLE].gold_se[g], 1e-12);
    }
  for (int g = 0; g < G; g++) {
    EXPECT_NEAR(c[OBJ_SINGLE].gold_spread[g], 0.0, 1e-12);
    EXPECT_NEAR(c[OBJ_SINGLE].proxy_spread[g], 0.0, 1e-12);
  }
  /* the proxy curve rises with n (more selection), and n = 1 is the plain mean */
  for (int g = 1; g < G; g++) EXPECT(c[OBJ_MEAN].proxy[g] > c[OBJ_MEAN].proxy[g - 1]);
  double mean_gold = 0;
  for (int i = 0; i < N_PROMPTS * N; i++) mean_gold += gold[i] / (N_PROMPTS * N);
  EXPECT_NEAR(c[OBJ_MEAN].gold[0], mean_gold, 1e-12);
  for (int kind = 0; kind < 4; kind++) bon_curve_free(&c[kind]);
  xfree(&proxy);
  xfree(&gold);
}

/* gold is a known decreasing affine function of the score s_i every objective is an affine
 * function of: expected gold must equal that function of the expected objective. Sorting gold
 * on its own (ascending) or leaving it in sample order would break the identity. */
static void test_alignment(void) {
  enum { N_PROMPTS = 3, N = 1000, K = 4 };
  float *proxy = xmalloc(sizeof(float) * N_PROMPTS * N * K), *gold = xmalloc(sizeof(float) * N_PROMPTS * N);
  const float delta[K] = {0.5f, -0.25f, 0.0f, 0.75f}; /* member offsets */
  double dmean = 0.25, dmin = -0.25, dvar = 0;
  for (int j = 0; j < K; j++) dvar += (delta[j] - dmean) * (delta[j] - dmean) / K;
  oo_rng r = oo_rng_make(3, RNG_TEST, 0, 0);
  for (int p = 0; p < N_PROMPTS; p++) {
    int perm[N];
    for (int i = 0; i < N; i++) perm[i] = i;
    oo_rng_shuffle(&r, perm, N);
    for (int i = 0; i < N; i++) {
      /* distinct scores on a coarse grid so float sums stay exact; random order */
      float s = (float)perm[i] / 8.0f - 50.0f;
      for (int j = 0; j < K; j++) proxy[((size_t)p * N + i) * K + j] = s + delta[j];
      gold[(size_t)p * N + i] = -2.0f * s + 1.0f;
    }
  }
  int grid[16], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 16, N));
  double lambda = 0.5, worst = 0;
  for (int kind = 0; kind < 4; kind++) {
    obj_spec spec = {(obj_kind)kind, lambda, 0, 1.0};
    bon_curve c;
    EXPECT_OK(bon_curve_compute(&c, proxy, gold, N_PROMPTS, N, K, &spec, grid, G));
    for (int g = 0; g < G; g++) {
      double shift = kind == OBJ_MEAN ? dmean : kind == OBJ_WCO ? dmin
                     : kind == OBJ_UWO ? dmean - lambda * dvar : dmean; /* single: mean of deltas */
      double es = c.proxy[g] - shift; /* expected s */
      double want = -2.0 * es + 1.0;
      worst = fmax(worst, fabs(c.gold[g] - want));
      EXPECT_MSG(fabs(c.gold[g] - want) < 1e-9, "%s n=%d: gold %.12g, -2 E[s] + 1 = %.12g",
                 obj_name((obj_kind)kind), c.n[g], c.gold[g], want);
    }
    /* gold falls as the proxy is optimized harder: the extreme Goodhart case */
    EXPECT(c.gold[G - 1] < c.gold[0]);
    bon_curve_free(&c);
  }
  printf("alignment: largest |E[gold] - (-2 E[s] + 1)| %.3g\n", worst);
  xfree(&proxy);
  xfree(&gold);
}

static void test_kl_grid_objectives(void) {
  EXPECT_NEAR(bon_kl(1), 0.0, 1e-15);
  EXPECT_NEAR(bon_kl(12500), 8.43, 0.005);
  EXPECT_NEAR(bon_kl(2), log(2.0) - 0.5, 1e-15);
  int grid[32], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 32, 12600));
  EXPECT(G == 15 && grid[0] == 1 && grid[13] == 8192 && grid[14] == 12600);
  EXPECT_OK(bon_default_grid(grid, &G, 32, 16));
  EXPECT(G == 5 && grid[4] == 16);
  EXPECT(bon_default_grid(grid, &G, 3, 16) != OO_OK);
  /* a grid value above N is refused with a message */
  int bad[2] = {1, 20};
  float p[4] = {0}, gd[4] = {0};
  obj_spec spec = {OBJ_MEAN, 0, 0, 0};
  bon_curve c;
  EXPECT(bon_curve_compute(&c, p, gd, 1, 4, 1, &spec, bad, 2) != OO_OK);
  EXPECT(strstr(oo_error_message(), "outside 1..N") != NULL);
  /* objectives by hand: scores = {1, 2, 3, 6}: mean 3, min 1, population variance 3.5 */
  float scores[4] = {1, 2, 3, 6};
  EXPECT_NEAR(ensemble_objective_mean(scores, 4), 3.0, 1e-15);
  EXPECT_NEAR(ensemble_objective_wco(scores, 4), 1.0, 1e-15);
  EXPECT_NEAR(ensemble_objective_uwo(scores, 4, 0.5), 3.0 - 0.5 * 3.5, 1e-15);
  float rows[8] = {1, 2, 3, 6, 4, 4, 4, 4}, out[2];
  obj_spec uwo = {OBJ_UWO, 0.5, 0, 0}, single = {OBJ_SINGLE, 0, 3, 0}, bad_member = {OBJ_SINGLE, 0, 4, 0};
  EXPECT_OK(ensemble_objective_rows(out, &uwo, rows, NULL, 2, 4));
  EXPECT_NEAR(out[0], 1.25, 1e-6);
  EXPECT_NEAR(out[1], 4.0, 1e-6);
  EXPECT_OK(ensemble_objective_rows(out, &single, rows, NULL, 2, 4));
  EXPECT(out[0] == 6.0f && out[1] == 4.0f);
  EXPECT(ensemble_objective_rows(out, &bad_member, rows, NULL, 2, 4) != OO_OK);
  obj_kind k;
  EXPECT_OK(obj_parse(&k, "wco"));
  EXPECT(k == OBJ_WCO && strcmp(obj_name(OBJ_UWO), "uwo") == 0);
  EXPECT(obj_parse(&k, "worst") != OO_OK);
}

/* The soft minimum r(tau) = -tau log((1/K) sum exp(-R_i/tau)) of K members with spread
 * D = max - min, mean mu and population variance v. The bounds checked, each exact (no
 * asymptotics), so the tolerances below are only double rounding (1e-12 relative):
 * - definition: against the naive formula where it cannot overflow (|scores/tau| < 30);
 * - tau -> 0: 0 <= r - min <= tau log K (the sum holds the term 1 and is at most K);
 * - tau -> inf: 0 <= mu - r <= D^2/(8 tau) (Jensen; Hoeffding's lemma on the centred scores);
 * - second order: |r - (mu - v/(2 tau))| <= D^3/(6 tau^2): r = mu - tau c(-1/tau) with c the
 *   cumulant generating function of the centred scores, c(0) = c'(0) = 0, c''(0) = v, and c'''
 *   is a third central moment of a distribution on an interval of length D, so |c'''| <= D^3
 *   (Taylor with the Lagrange remainder);
 * - r is non-decreasing in tau (a power mean of exp(-scores)); identical members give their score exactly;
 *   scores of 1e30 do not overflow. Then best-of-n with tau -> 0 orders samples as wco and with
 *   tau -> inf as mean, so their gold curves agree. */
static void test_softmin(void) {
  enum { K = 5, ROWS = 200 };
  oo_rng r = oo_rng_make(5, RNG_TEST, 0, 0);
  double worst_def = 0, worst_order2 = 0;
  for (int row = 0; row < ROWS; row++) {
    float scores[K];
    double scale = row % 4 == 0 ? 0.1 : row % 4 == 1 ? 1.0 : row % 4 == 2 ? 3.0 : 10.0;
    for (int j = 0; j < K; j++) scores[j] = (float)(scale * oo_rng_normal(&r) + 2.0);
    double mu = ensemble_objective_mean(scores, K), mn = ensemble_objective_wco(scores, K), mx = scores[0], v = 0;
    for (int j = 0; j < K; j++) {
      mx = fmax(mx, scores[j]);
      v += (scores[j] - mu) * (scores[j] - mu) / K;
    }
    const double D = mx - mn, eps = 1e-12 * (1 + fabs(mu) + fabs(mn) + D);
    const double taus[] = {1e-4, 1e-2, 0.3, 1, 3, 10, 100, 1e4, 1e6};
    double prev = -INFINITY;
    for (size_t t = 0; t < sizeof taus / sizeof taus[0]; t++) {
      const double tau = taus[t], s = ensemble_objective_softmin(scores, K, tau);
      EXPECT_MSG(isfinite(s) && s >= prev - eps, "row %d tau %g: %.17g after %.17g", row, tau, s, prev);
      prev = s;
      EXPECT_MSG(s >= mn - eps && s <= mn + tau * log((double)K) + eps, "row %d tau %g: %.17g, min %.17g", row, tau, s,
                 mn);
      EXPECT_MSG(mu - s >= -eps && mu - s <= D * D / (8 * tau) + eps, "row %d tau %g: mean - r = %.3g > D^2/(8 tau) = %.3g",
                 row, tau, mu - s, D * D / (8 * tau));
      const double order2 = fabs(s - (mu - v / (2 * tau)));
      EXPECT_MSG(order2 <= D * D * D / (6 * tau * tau) + eps, "row %d tau %g: |r - (mu - v/(2 tau))| = %.3g > %.3g", row,
                 tau, order2, D * D * D / (6 * tau * tau));
      if (tau >= 10 && tau <= 100) worst_order2 = fmax(worst_order2, order2 * tau * tau / (D * D * D)); /* above: rounding */
      if (fabs(mn) / tau < 30 && D / tau < 30) {
        /* The naive sum S carries a relative error of about (K + 2 + max|scores|/tau) u (the rounding
         * of scores/tau amplified by exp, exp itself, the sum), so tau log S an absolute one of
         * ((K + 2) tau + max|scores|) u: the naive formula, not the stable one, sets the tolerance
         * (16x that, u = 2^-53). */
        double naive = 0, maxabs = fmax(fabs(mn), fabs(mx));
        for (int j = 0; j < K; j++) naive += exp(-scores[j] / tau) / K;
        naive = -tau * log(naive);
        const double tol = 16 * 0x1p-53 * ((K + 2) * tau + maxabs + fabs(naive));
        worst_def = fmax(worst_def, fabs(s - naive) / tol);
        EXPECT_NEAR(s, naive, tol);
      }
    }
  }
  printf("softmin: largest |r - naive| / tolerance %.3g; largest |r - (mu - v/(2 tau))| tau^2/D^3 %.3g (bound 1/6)\n",
         worst_def, worst_order2);
  float same[3] = {0.7f, 0.7f, 0.7f}, huge[3] = {1e30f, -1e30f, 0.0f};
  EXPECT(ensemble_objective_softmin(same, 3, 1e-3) == 0.7f && ensemble_objective_softmin(same, 3, 1e6) == 0.7f);
  double h = ensemble_objective_softmin(huge, 3, 1e-3);
  EXPECT(isfinite(h) && fabs(h - (double)huge[1]) <= 1e-15 * 1e30); /* min + tau log 3, tau absorbed */
  /* the Laplace objectives by hand: scores = {1, 2, 3, 6} (mean 3, population variance 3.5), V = {1, 0, 2, 1} */
  float Rl[4] = {1, 2, 3, 6}, Vl[4] = {1, 0, 2, 1}, o1;
  obj_spec lu = {.kind = OBJ_LAPLACE_UWO, .lambda = 0.5, .member = 2}, el = {.kind = OBJ_ENS_LAPLACE, .lambda = 0.5};
  EXPECT_OK(ensemble_objective_rows(&o1, &lu, Rl, Vl, 1, 4));
  EXPECT_NEAR(o1, 3.0 - 0.5 * 2.0, 1e-6);
  EXPECT_OK(ensemble_objective_rows(&o1, &el, Rl, Vl, 1, 4));
  EXPECT_NEAR(o1, 3.0 - 0.5 * (3.5 + 1.0), 1e-6);
  EXPECT(ensemble_objective_rows(&o1, &el, Rl, NULL, 1, 4) != OO_OK && ensemble_objective_rows(&o1, &lu, Rl, Vl, 1, 2) != OO_OK);
  obj_kind k;
  EXPECT_OK(obj_parse(&k, "ens_laplace"));
  EXPECT(k == OBJ_ENS_LAPLACE);
  EXPECT_OK(obj_parse(&k, "softmin"));
  EXPECT(k == OBJ_SOFTMIN && strcmp(obj_name(OBJ_SOFTMIN), "softmin") == 0);
  float out[3];
  obj_spec bad_tau = {OBJ_SOFTMIN, 0, 0, 0};
  EXPECT(ensemble_objective_rows(out, &bad_tau, same, NULL, 1, 3) != OO_OK);
  EXPECT(strstr(oo_error_message(), "tau > 0") != NULL);

  /* best-of-n: softmin with tau -> 0 ranks like wco, tau -> inf like mean */
  enum { N_PROMPTS = 3, N = 128 };
  float *proxy = xmalloc(sizeof(float) * N_PROMPTS * N * K), *gold = xmalloc(sizeof(float) * N_PROMPTS * N);
  for (int i = 0; i < N_PROMPTS * N * K; i++) proxy[i] = (float)oo_rng_normal(&r);
  for (int i = 0; i < N_PROMPTS * N; i++) gold[i] = (float)oo_rng_normal(&r);
  int grid[16], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 16, N));
  const obj_spec specs[4] = {{.kind = OBJ_WCO}, {.kind = OBJ_SOFTMIN, .tau = 1e-7}, {.kind = OBJ_MEAN},
                             {.kind = OBJ_SOFTMIN, .tau = 1e9}};
  bon_curve c[4];
  for (int i = 0; i < 4; i++) EXPECT_OK(bon_curve_compute(&c[i], proxy, gold, N_PROMPTS, N, K, &specs[i], grid, G));
  for (int g = 0; g < G; g++) {
    EXPECT_NEAR(c[1].gold[g], c[0].gold[g], 1e-12);
    EXPECT_NEAR(c[1].proxy[g], c[0].proxy[g], 1e-7 * log((double)K) + 1e-12);
    EXPECT_NEAR(c[3].gold[g], c[2].gold[g], 1e-12);
    EXPECT_NEAR(c[3].proxy[g], c[2].proxy[g], 1e-7);
  }
  for (int i = 0; i < 4; i++) bon_curve_free(&c[i]);
  xfree(&proxy);
  xfree(&gold);
}

/* WARM: rm_weight_average against the exact mean (long double sum of at most 64 floats of one
 * sign pattern is exact to 2^-64 relative), within rm.h's bound 2^-24 |mean| + K 2^-53 max|p|. */
/* ensemble_row_stats and ensemble_objective_rows, the local scoring step of PPO, best-of-n and
 * `overopt score`, against a long-double brute force on random (n,K) matrices, some rows offset
 * by 300 so |mean| >> spread (a one-pass Sigma r^2 - K mean^2 would cancel there). Tolerances:
 * the result is rounded once to float (2^-24 relative) after double sums of K terms (K 2^-53 of
 * the largest term): mean 2^-24 |mu| + K 2^-53 max|scores|; variance 2^-24 v + 4 K 2^-53 s (|mu| + s)
 * with s = max|scores - mu| (the double mean's error enters each deviation once); min exactly. Each
 * objective row is also bitwise the float of ensemble_objective, the per-sample function
 * best-of-n and `overopt score` call. */
static void test_row_stats(void) {
  enum { N = 257, KMAX = 7 };
  static float scores[N * KMAX], V[N * KMAX], mean[N], var[N], mn[N], out[N];
  double worst_m = 0, worst_v = 0;
  for (int K = 1; K <= KMAX; K += 3) {
    oo_rng g = oo_rng_make(17, RNG_TEST, (uint64_t)K, 0);
    for (int i = 0; i < N; i++)
      for (int m = 0; m < K; m++) {
        scores[i * K + m] = (i % 3 == 0 ? 300.0f : 0.0f) + 2.0f * (float)oo_rng_normal(&g);
        V[i * K + m] = (float)oo_rng_uniform(&g);
      }
    ensemble_row_stats(mean, var, mn, scores, N, K);
    for (int i = 0; i < N; i++) {
      const float *r = scores + i * K;
      long double mu = 0, v = 0, w = 0, maxabs = 0, s = 0;
      float lo = r[0];
      for (int m = 0; m < K; m++) mu += r[m], lo = r[m] < lo ? r[m] : lo, maxabs = fmaxl(maxabs, fabsl(r[m]));
      mu /= K;
      for (int m = 0; m < K; m++) v += (r[m] - mu) * (r[m] - mu), s = fmaxl(s, fabsl(r[m] - mu)), w += V[i * K + m];
      v /= K;
      const double tol_m = 0x1p-24 * (double)fabsl(mu) + K * 0x1p-53 * (double)maxabs;
      const double tol_v = 0x1p-24 * (double)v + 4 * K * 0x1p-53 * (double)(s * (fabsl(mu) + s));
      EXPECT_MSG(fabsl(mean[i] - mu) <= tol_m, "K %d row %d: mean %.9g vs %.12Lg", K, i, mean[i], mu);
      EXPECT_MSG(fabsl(var[i] - v) <= tol_v, "K %d row %d: var %.9g vs %.12Lg", K, i, var[i], v);
      EXPECT(mn[i] == lo);
      worst_m = fmax(worst_m, (double)fabsl(mean[i] - mu) / tol_m);
      worst_v = fmax(worst_v, (double)fabsl(var[i] - v) / tol_v);
      /* the objectives from the same row, by their definitions (DESIGN.md section 1) */
      const double lam = 0.5;
      const long double want[] = {r[K - 1], mu, lo, mu - lam * v, r[K - 1] - lam * V[i * K + K - 1],
                                  mu - lam * (v + w / K)};
      const obj_kind kinds[] = {OBJ_SINGLE, OBJ_MEAN, OBJ_WCO, OBJ_UWO, OBJ_LAPLACE_UWO, OBJ_ENS_LAPLACE};
      for (int k = 0; k < 6; k++) {
        obj_spec spec = {kinds[k], lam, K - 1, 1.0};
        EXPECT_OK(ensemble_objective_rows(out + i, &spec, r, V + i * K, 1, K));
        const double tol = 0x1p-24 * (double)fabsl(want[k]) + tol_m + lam * tol_v + 0x1p-24 * lam;
        EXPECT_MSG(fabsl(out[i] - want[k]) <= tol, "K %d row %d %s: %.9g vs %.12Lg", K, i, obj_name(kinds[k]),
                   out[i], want[k]);
        if (k < 4) EXPECT(out[i] == (float)ensemble_objective(&spec, r, K));
      }
    }
    /* the whole matrix in one call gives the rows of one call each */
    obj_spec sm = {OBJ_SOFTMIN, 0, 0, 3.0};
    EXPECT_OK(ensemble_objective_rows(out, &sm, scores, NULL, N, K));
    for (int i = 0; i < N; i++) EXPECT(out[i] == (float)ensemble_objective_softmin(scores + i * K, K, 3.0));
    ensemble_row_stats(NULL, var, NULL, scores, N, K); /* outputs are optional */
  }
  printf("ensemble_row_stats: largest error / tolerance: mean %.3g, variance %.3g\n", worst_m, worst_v);
}

static void test_warm_average(void) {
  enum { K = 7, n = 4096 };
  float *p[K], *out = xmalloc(sizeof(float) * n);
  oo_rng r = oo_rng_make(6, RNG_TEST, 0, 0);
  for (int m = 0; m < K; m++) {
    p[m] = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) p[m][i] = (float)(oo_rng_normal(&r) * pow(10.0, (double)(i % 7) - 3.0));
  }
  rm_weight_average(out, (const float *const *)p, K, n);
  double worst = 0;
  for (int i = 0; i < n; i++) {
    long double s = 0;
    double mx = 0;
    for (int m = 0; m < K; m++) {
      s += p[m][i];
      mx = fmax(mx, fabs(p[m][i]));
    }
    double mean = (double)(s / K), bound = 0x1p-24 * fabs(mean) + K * 0x1p-53 * mx;
    worst = fmax(worst, fabs(out[i] - mean) / bound);
    EXPECT_MSG(fabs(out[i] - mean) <= bound, "i %d: %.9g, mean %.17g", i, out[i], mean);
  }
  printf("warm average: largest |out - mean| / bound %.3g\n", worst);
  for (int m = 0; m < K; m++) xfree(&p[m]);
  xfree(&out);
}

/* Paper scale, timed: N = 12,600, the default grid, a few prompts. */
static void test_scale(void) {
  enum { N_PROMPTS = 8, N = 12600, K = 5 };
  float *proxy = xmalloc(sizeof(float) * N_PROMPTS * N * K), *gold = xmalloc(sizeof(float) * N_PROMPTS * N);
  oo_rng r = oo_rng_make(4, RNG_TEST, 0, 0);
  for (size_t i = 0; i < (size_t)N_PROMPTS * N * K; i++) proxy[i] = oo_rng_normal(&r);
  for (size_t i = 0; i < (size_t)N_PROMPTS * N; i++) gold[i] = oo_rng_normal(&r);
  int grid[32], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 32, N));
  obj_spec spec = {OBJ_UWO, 0.5, 0, 0};
  bon_curve c;
  double t0 = oo_now();
  EXPECT_OK(bon_curve_compute(&c, proxy, gold, N_PROMPTS, N, K, &spec, grid, G));
  double dt = oo_now() - t0;
  /* gold independent of proxy: every n has expected gold near the overall mean */
  for (int g = 0; g < G; g++) EXPECT(fabs(c.gold[g]) < 6 * c.gold_se[g]);
  printf("scale: n_prompts=%d N=%d G=%d uwo curve in %.3f s (%.1f ms per prompt)\n", N_PROMPTS, N, G, dt,
         1e3 * dt / N_PROMPTS);
  bon_curve_free(&c);
  xfree(&proxy);
  xfree(&gold);
}

int main(void) {
  long live = oo_mem_live_blocks();
  for (int data = 0; data < 3; data++) test_brute_force(data);
  test_weights();
  test_identical_members();
  test_alignment();
  test_kl_grid_objectives();
  test_softmin();
  test_row_stats();
  test_warm_average();
  test_scale();
  EXPECT(oo_mem_live_blocks() == live);
  return TEST_SUMMARY();
}
