/* Best-of-n: the estimator against brute-force enumeration, weight sums, identical members,
 * gold alignment through the sort, KL_bon values, objectives and the default grid. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "rlhf/rlhf.h"
#include "testing.h"

/* The objective of one sample computed directly here (independent of rlhf.c). */
static double direct_objective(obj_kind kind, const float *R, int K, double lambda, int member) {
  double s = 0, mn = R[0];
  for (int j = 0; j < K; j++) {
    s += R[j];
    if (R[j] < mn) mn = R[j];
  }
  double mean = s / K, v = 0;
  for (int j = 0; j < K; j++) v += (R[j] - mean) * (R[j] - mean) / K;
  switch (kind) {
    case OBJ_SINGLE: return R[member];
    case OBJ_MEAN: return mean;
    case OBJ_WCO: return mn;
    case OBJ_UWO: return mean - lambda * v;
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
  for (int kind = OBJ_SINGLE; kind <= OBJ_UWO; kind++) {
    obj_spec spec = {(obj_kind)kind, 0.5, 0};
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
  enum { P = 4, N = 64, K = 5 };
  float *proxy = xmalloc(sizeof(float) * P * N * K), *gold = xmalloc(sizeof(float) * P * N);
  oo_rng r = oo_rng_make(2, RNG_TEST, 0, 0);
  for (int i = 0; i < P * N; i++) {
    float s = oo_rng_normal(&r);
    for (int j = 0; j < K; j++) proxy[i * K + j] = s;
    gold[i] = oo_rng_normal(&r);
  }
  int grid[8], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 8, N));
  bon_curve c[4];
  for (int kind = 0; kind < 4; kind++) {
    obj_spec spec = {(obj_kind)kind, 0.5, 0};
    EXPECT_OK(bon_curve_compute(&c[kind], proxy, gold, P, N, K, &spec, grid, G));
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
  for (int i = 0; i < P * N; i++) mean_gold += gold[i] / (P * N);
  EXPECT_NEAR(c[OBJ_MEAN].gold[0], mean_gold, 1e-12);
  for (int kind = 0; kind < 4; kind++) bon_curve_free(&c[kind]);
  xfree(&proxy);
  xfree(&gold);
}

/* gold is a known decreasing affine function of the score s_i every objective is an affine
 * function of: expected gold must equal that function of the expected objective. Sorting gold
 * on its own (ascending) or leaving it in sample order would break the identity. */
static void test_alignment(void) {
  enum { P = 3, N = 1000, K = 4 };
  float *proxy = xmalloc(sizeof(float) * P * N * K), *gold = xmalloc(sizeof(float) * P * N);
  const float delta[K] = {0.5f, -0.25f, 0.0f, 0.75f}; /* member offsets */
  double dmean = 0.25, dmin = -0.25, dvar = 0;
  for (int j = 0; j < K; j++) dvar += (delta[j] - dmean) * (delta[j] - dmean) / K;
  oo_rng r = oo_rng_make(3, RNG_TEST, 0, 0);
  for (int p = 0; p < P; p++) {
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
    obj_spec spec = {(obj_kind)kind, lambda, 0};
    bon_curve c;
    EXPECT_OK(bon_curve_compute(&c, proxy, gold, P, N, K, &spec, grid, G));
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
  obj_spec spec = {OBJ_MEAN, 0, 0};
  bon_curve c;
  EXPECT(bon_curve_compute(&c, p, gd, 1, 4, 1, &spec, bad, 2) != OO_OK);
  EXPECT(strstr(oo_error_message(), "outside 1..N") != NULL);
  /* objectives by hand: R = {1, 2, 3, 6}: mean 3, min 1, population variance 3.5 */
  float R[4] = {1, 2, 3, 6};
  EXPECT_NEAR(ensemble_objective_mean(R, 4), 3.0, 1e-15);
  EXPECT_NEAR(ensemble_objective_wco(R, 4), 1.0, 1e-15);
  EXPECT_NEAR(ensemble_objective_uwo(R, 4, 0.5), 3.0 - 0.5 * 3.5, 1e-15);
  float rows[8] = {1, 2, 3, 6, 4, 4, 4, 4}, out[2];
  obj_spec uwo = {OBJ_UWO, 0.5, 0}, single = {OBJ_SINGLE, 0, 3}, bad_member = {OBJ_SINGLE, 0, 4};
  EXPECT_OK(ensemble_objective_rows(out, &uwo, rows, 2, 4));
  EXPECT_NEAR(out[0], 1.25, 1e-6);
  EXPECT_NEAR(out[1], 4.0, 1e-6);
  EXPECT_OK(ensemble_objective_rows(out, &single, rows, 2, 4));
  EXPECT(out[0] == 6.0f && out[1] == 4.0f);
  EXPECT(ensemble_objective_rows(out, &bad_member, rows, 2, 4) != OO_OK);
  obj_kind k;
  EXPECT_OK(obj_parse(&k, "wco"));
  EXPECT(k == OBJ_WCO && strcmp(obj_name(OBJ_UWO), "uwo") == 0);
  EXPECT(obj_parse(&k, "worst") != OO_OK);
}

/* Paper scale, timed: N = 12,600, the default grid, a few prompts. */
static void test_scale(void) {
  enum { P = 8, N = 12600, K = 5 };
  float *proxy = xmalloc(sizeof(float) * P * N * K), *gold = xmalloc(sizeof(float) * P * N);
  oo_rng r = oo_rng_make(4, RNG_TEST, 0, 0);
  for (size_t i = 0; i < (size_t)P * N * K; i++) proxy[i] = oo_rng_normal(&r);
  for (size_t i = 0; i < (size_t)P * N; i++) gold[i] = oo_rng_normal(&r);
  int grid[32], G = 0;
  EXPECT_OK(bon_default_grid(grid, &G, 32, N));
  obj_spec spec = {OBJ_UWO, 0.5, 0};
  bon_curve c;
  double t0 = oo_now();
  EXPECT_OK(bon_curve_compute(&c, proxy, gold, P, N, K, &spec, grid, G));
  double dt = oo_now() - t0;
  /* gold independent of proxy: every n has expected gold near the overall mean */
  for (int g = 0; g < G; g++) EXPECT(fabs(c.gold[g]) < 6 * c.gold_se[g]);
  printf("scale: P=%d N=%d G=%d uwo curve in %.3f s (%.1f ms per prompt)\n", P, N, G, dt,
         1e3 * dt / P);
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
  test_scale();
  EXPECT(oo_mem_live_blocks() == live);
  return TEST_SUMMARY();
}
