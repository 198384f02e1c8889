/* PPO and reward-model math: GAE against the direct sum, loss gradients against central finite
 * differences, KL estimators and entropy against hand values, whitening, rewards, the adaptive
 * KL controller, the Bradley-Terry loss and calibration.
 *
 * Finite differences: inputs are floats on a 2^-8 grid and the step is 2^-10, so x +- h is
 * exact in float and the losses (accumulated in double) make the difference quotient accurate
 * to O(h^2); points within a few steps of a kink (clip boundaries) are moved off it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "rlhf/rlhf.h"
#include "testing.h"

enum { B = 4, T = 7 };
static const int lens[B] = {7, 3, 0, 5};
static const double H = 1.0 / 1024;

static float grid_normal(oo_rng *r, double scale) {
  return (float)(round(oo_rng_normal(r) * scale * 256.0) / 256.0);
}

static void test_gae(void) {
  oo_rng r = oo_rng_make(1, RNG_TEST, 0, 0);
  float rew[B * T], val[B * T], adv[B * T], ret[B * T];
  for (int i = 0; i < B * T; i++) {
    rew[i] = oo_rng_normal(&r);
    val[i] = oo_rng_normal(&r);
  }
  double gammas[2] = {1.0, 0.9}, lam = 0.95, worst = 0;
  for (int gi = 0; gi < 2; gi++) {
    double gamma = gammas[gi];
    memset(adv, 0x7f, sizeof adv); /* padding must be overwritten with 0 */
    ppo_gae(adv, ret, rew, val, lens, B, T, gamma, lam);
    for (int b = 0; b < B; b++) {
      int n = lens[b];
      for (int t = 0; t < T; t++) {
        int i = b * T + t;
        if (t >= n) {
          EXPECT(adv[i] == 0.0f && ret[i] == 0.0f);
          continue;
        }
        double a = 0; /* sum_l (gamma lambda)^l delta_{t+l}, delta with v_n = 0 */
        for (int l = 0; t + l < n; l++) {
          int u = t + l;
          double vnext = u + 1 < n ? val[b * T + u + 1] : 0.0;
          double delta = rew[b * T + u] + gamma * vnext - val[b * T + u];
          a += pow(gamma * lam, l) * delta;
        }
        worst = fmax(worst, fabs(adv[i] - a));
        EXPECT_NEAR(adv[i], a, 1e-5);
        EXPECT_NEAR(ret[i], a + val[i], 1e-5);
      }
    }
  }
  printf("gae: largest difference to the direct sum %.3g\n", worst);
}

static void test_whiten(void) {
  oo_rng r = oo_rng_make(2, RNG_TEST, 0, 0);
  float adv[B * T];
  for (int i = 0; i < B * T; i++) adv[i] = 3.0f + 2.0f * oo_rng_normal(&r);
  for (int b = 0; b < B; b++)
    for (int t = lens[b]; t < T; t++) adv[b * T + t] = 99.0f; /* padding: never read */
  ppo_whiten(adv, lens, B, T);
  double s = 0, ss = 0;
  int n = 0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      if (t >= lens[b]) {
        EXPECT(adv[b * T + t] == 99.0f);
        continue;
      }
      s += adv[b * T + t];
      ss += adv[b * T + t] * adv[b * T + t];
      n++;
    }
  EXPECT_NEAR(s / n, 0.0, 1e-6);
  EXPECT_NEAR(sqrt(ss / n - (s / n) * (s / n)), 1.0, 1e-6);
}

/* log ratio kinks of the surrogate at log(1 +- eps): keep every token 4 steps away */
static void test_policy_loss(void) {
  oo_rng r = oo_rng_make(3, RNG_TEST, 0, 0);
  float logp[B * T], old[B * T], adv[B * T], g[B * T];
  double eps = 0.2;
  for (int i = 0; i < B * T; i++) {
    old[i] = grid_normal(&r, 1.0) - 2.0f;
    adv[i] = grid_normal(&r, 1.0);
    for (;;) {
      float lr = grid_normal(&r, 0.3);
      if (fabs(lr - log(1 + eps)) > 4 * H && fabs(lr - log(1 - eps)) > 4 * H) {
        logp[i] = old[i] + lr; /* both on the 2^-8 grid: exact */
        break;
      }
    }
  }
  ppo_loss_stats st;
  ppo_policy_loss(g, &st, logp, old, adv, lens, B, T, eps);
  EXPECT(st.clip_frac > 0 && st.clip_frac < 1); /* both branches are exercised */
  double worst = 0, gmax = 0;
  for (int i = 0; i < B * T; i++) {
    float keep = logp[i];
    logp[i] = (float)(keep + H);
    double lp = ppo_policy_loss(NULL, NULL, logp, old, adv, lens, B, T, eps);
    logp[i] = (float)(keep - H);
    double lm = ppo_policy_loss(NULL, NULL, logp, old, adv, lens, B, T, eps);
    logp[i] = keep;
    double fd = (lp - lm) / (2 * H);
    worst = fmax(worst, fabs(fd - g[i]));
    gmax = fmax(gmax, fabs(g[i]));
  }
  EXPECT_MSG(worst < 1e-6 * fmax(gmax, 1.0), "largest gradient error %.3g", worst);
  printf("policy loss: largest |fd - grad| %.3g (largest grad %.3g, clip frac %.3f)\n", worst,
         gmax, st.clip_frac);
  /* ratio 1 everywhere: loss = -mean(A), approx_kl 0 */
  double mean_adv = 0;
  int n = 0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < lens[b]; t++, n++) mean_adv += adv[b * T + t];
  double l0 = ppo_policy_loss(NULL, &st, old, old, adv, lens, B, T, eps);
  EXPECT_NEAR(l0, -mean_adv / n, 1e-12);
  EXPECT_NEAR(st.approx_kl, 0.0, 1e-15);
  EXPECT(st.clip_frac == 0.0);
}

/* value kinks at v_old +- c and where the two squared errors cross (v = 2R - bound) */
static void test_value_loss(void) {
  oo_rng r = oo_rng_make(4, RNG_TEST, 0, 0);
  float v[B * T], vold[B * T], returns[B * T], g[B * T];
  double c = 0.2;
  for (int i = 0; i < B * T; i++) {
    vold[i] = grid_normal(&r, 1.0);
    returns[i] = vold[i] + grid_normal(&r, 0.3);
    for (;;) {
      float x = vold[i] + grid_normal(&r, 0.3);
      double lo = vold[i] - c, hi = vold[i] + c;
      double kinks[4] = {lo, hi, 2 * returns[i] - lo, 2 * returns[i] - hi};
      int ok = 1;
      for (int k = 0; k < 4; k++) ok &= fabs(x - kinks[k]) > 4 * H;
      if (ok) {
        v[i] = x;
        break;
      }
    }
  }
  ppo_loss_stats st;
  ppo_value_loss(g, &st, v, vold, returns, lens, B, T, c);
  EXPECT(st.clip_frac > 0 && st.clip_frac < 1);
  double worst = 0, gmax = 0;
  for (int i = 0; i < B * T; i++) {
    float keep = v[i];
    v[i] = (float)(keep + H);
    double lp = ppo_value_loss(NULL, NULL, v, vold, returns, lens, B, T, c);
    v[i] = (float)(keep - H);
    double lm = ppo_value_loss(NULL, NULL, v, vold, returns, lens, B, T, c);
    v[i] = keep;
    double fd = (lp - lm) / (2 * H);
    worst = fmax(worst, fabs(fd - g[i]));
    gmax = fmax(gmax, fabs(g[i]));
  }
  EXPECT_MSG(worst < 1e-6 * fmax(gmax, 1.0), "largest gradient error %.3g", worst);
  printf("value loss: largest |fd - grad| %.3g (largest grad %.3g, clip frac %.3f)\n", worst, gmax,
         st.clip_frac);
  /* one token by hand: v = 1, v_old = 0, returns = 0, c = 0.2: max(1, 0.04) / 2 */
  float v1 = 1, vo1 = 0, r1 = 0, g1;
  int len1 = 1;
  EXPECT_NEAR(ppo_value_loss(&g1, NULL, &v1, &vo1, &r1, &len1, 1, 1, 0.2), 0.5, 1e-15);
  EXPECT_NEAR(g1, 1.0, 1e-7);
  /* v = 0.2, v_old = 1, returns = 0.1: the clipped 0.8 is further from returns: 0.5 * 0.7^2, zero gradient */
  v1 = 0.2f; vo1 = 1; r1 = 0.1f;
  EXPECT_NEAR(ppo_value_loss(&g1, NULL, &v1, &vo1, &r1, &len1, 1, 1, 0.2), 0.5 * 0.49, 1e-6);
  EXPECT(g1 == 0.0f);
}

static void test_kl_entropy_rewards(void) {
  /* lr = {0.5, -0.25, 1.0} on response 0, {} on response 1 */
  float logp[6] = {-1.5f, -2.25f, -1.0f, 0, 0, 0}, ref[6] = {-2.0f, -2.0f, -2.0f, 0, 0, 0};
  int L[2] = {3, 0};
  double k1[2], k2[2], k3[2];
  ppo_kl_estimates(k1, k2, k3, logp, ref, L, 2, 3);
  EXPECT_NEAR(k1[0], 1.25, 1e-15);
  EXPECT_NEAR(k2[0], (0.25 + 0.0625 + 1.0) / 2, 1e-15);
  EXPECT_NEAR(k3[0], 0.1065306597126334 + 0.0340254166877415 + 0.3678794411714423, 1e-14);
  EXPECT(k1[1] == 0 && k2[1] == 0 && k3[1] == 0);
  /* rewards: -beta lr per token, clipped score on the last */
  float rw[6], score[2] = {25.0f, -3.0f};
  ppo_rewards(rw, logp, ref, score, L, 2, 3, 0.1, 10.0);
  EXPECT_NEAR(rw[0], -0.05, 1e-7);
  EXPECT_NEAR(rw[1], 0.025, 1e-7);
  EXPECT_NEAR(rw[2], -0.1 + 10.0, 1e-6);
  EXPECT(rw[3] == 0 && rw[4] == 0 && rw[5] == 0);
  ppo_rewards(rw, logp, ref, score, L, 2, 3, 0.0, 0.0); /* no clip */
  EXPECT_NEAR(rw[2], 25.0, 1e-6);
  /* entropy: uniform over V is log V; a two-point distribution by hand */
  enum { V = 5 };
  float logits[2 * V] = {3, 3, 3, 3, 3, 0, -1e4f, -1e4f, -1e4f, (float)log(3.0)};
  int one[1] = {2};
  double p = 0.25, q = 0.75, want = log(V) / 2 + (-p * log(p) - q * log(q)) / 2;
  EXPECT_NEAR(ppo_entropy_mean(logits, one, 1, 2, V), want, 1e-7);
  /* adaptive KL controller */
  EXPECT_NEAR(ppo_kl_adaptive(0.1, 12.0, 6.0, 32, 10000), 0.1 * (1 + 0.2 * 32 / 10000.0), 1e-15);
  EXPECT_NEAR(ppo_kl_adaptive(0.1, 6.6, 6.0, 1, 10), 0.1 * (1 + 0.1 / 10), 1e-15);
  EXPECT_NEAR(ppo_kl_adaptive(0.1, 0.0, 6.0, 5, 10), 0.1 * (1 - 0.2 * 0.5), 1e-15);
}

static void test_bt_and_calibration(void) {
  float ch[4] = {1.0f, 0.0f, 100.0f, -100.0f}, rj[4] = {0.0f, 0.0f, -100.0f, 100.0f};
  float dc[4], dr[4];
  double acc;
  double loss = rm_bt_loss(dc, dr, &acc, ch, rj, 4);
  double want = (log1p(exp(-1.0)) + log(2.0) + 0.0 + 200.0) / 4;
  EXPECT_NEAR(loss, want, 1e-12);
  EXPECT(isfinite(loss));
  EXPECT_NEAR(acc, 0.5, 1e-15); /* the tie counts as wrong */
  EXPECT_NEAR(dc[1], -0.5 / 4, 1e-7);
  EXPECT_NEAR(dc[3], -1.0 / 4, 1e-7);
  EXPECT_NEAR(dc[2], 0.0, 1e-12);
  /* finite differences on a 2^-8 grid */
  oo_rng r = oo_rng_make(5, RNG_TEST, 0, 0);
  float c8[8], r8[8], g8c[8], g8r[8];
  for (int i = 0; i < 8; i++) {
    c8[i] = grid_normal(&r, 2.0);
    r8[i] = grid_normal(&r, 2.0);
  }
  rm_bt_loss(g8c, g8r, NULL, c8, r8, 8);
  double worst = 0;
  for (int i = 0; i < 8; i++) {
    float keep = c8[i];
    c8[i] = (float)(keep + H);
    double lp = rm_bt_loss(NULL, NULL, NULL, c8, r8, 8);
    c8[i] = (float)(keep - H);
    double lm = rm_bt_loss(NULL, NULL, NULL, c8, r8, 8);
    c8[i] = keep;
    worst = fmax(worst, fabs((lp - lm) / (2 * H) - g8c[i]));
    EXPECT(g8r[i] == -g8c[i]);
  }
  EXPECT_MSG(worst < 1e-7, "largest gradient error %.3g", worst);
  printf("bt loss: largest |fd - grad| %.3g\n", worst);
  /* calibration */
  float x[4] = {1, 2, 3, 6};
  double m, s;
  calib_mean_std(&m, &s, x, 4);
  EXPECT_NEAR(m, 3.0, 1e-15);
  EXPECT_NEAR(s, sqrt(3.5), 1e-15);
  calib_apply(x, 4, m, s);
  calib_mean_std(&m, &s, x, 4);
  EXPECT_NEAR(m, 0.0, 1e-7);
  EXPECT_NEAR(s, 1.0, 1e-7);
}

int main(void) {
  test_gae();
  test_whiten();
  test_policy_loss();
  test_value_loss();
  test_kl_entropy_rewards();
  test_bt_and_calibration();
  return TEST_SUMMARY();
}
