/* ppo_math: per-token rewards, GAE, whitening, clipped losses with their gradients, KL
 * estimators, entropy and the adaptive KL controller (see rlhf.h).
 *
 * Layout: (B,T) row-major with lens (B); token t of response b is valid when t < lens[b].
 * Losses are means over valid tokens and accumulate in double. */
#include <math.h>

#include "rlhf/rlhf.h"

static long valid_tokens(const int *lens, int B, int T) {
  long n = 0;
  for (int b = 0; b < B; b++) n += lens[b] < T ? lens[b] : T;
  return n;
}

static int len_of(const int *lens, int b, int T) { return lens[b] < T ? lens[b] : T; }

void ppo_rewards(float *rewards, const float *logp, const float *logp_ref, const float *score,
                 const int *lens, int B, int T, double beta, double score_clip) {
  for (int b = 0; b < B; b++) {
    int n = len_of(lens, b, T);
    const float *lp = logp + (size_t)b * T, *lr = logp_ref + (size_t)b * T;
    float *r = rewards + (size_t)b * T;
    for (int t = 0; t < T; t++) r[t] = t < n ? (float)(-beta * ((double)lp[t] - lr[t])) : 0.0f;
    if (n > 0) {
      double s = score[b];
      if (score_clip > 0) s = s < -score_clip ? -score_clip : (s > score_clip ? score_clip : s);
      r[n - 1] = (float)(r[n - 1] + s);
    }
  }
}

void ppo_gae(float *adv, float *returns, const float *rewards, const float *values,
             const int *lens, int B, int T, double gamma, double lambda) {
  for (int b = 0; b < B; b++) {
    int n = len_of(lens, b, T);
    const float *r = rewards + (size_t)b * T, *v = values + (size_t)b * T;
    float *a = adv + (size_t)b * T, *ret = returns + (size_t)b * T;
    double next_value = 0.0, next_adv = 0.0; /* bootstrap 0 after the last token */
    for (int t = T - 1; t >= n; t--) a[t] = ret[t] = 0.0f;
    for (int t = n - 1; t >= 0; t--) {
      double delta = r[t] + gamma * next_value - v[t];
      next_adv = delta + gamma * lambda * next_adv;
      next_value = v[t];
      a[t] = (float)next_adv;
      ret[t] = (float)(next_adv + v[t]);
    }
  }
}

double ppo_whiten(float *adv, const int *lens, int B, int T) {
  long n = valid_tokens(lens, B, T);
  if (n == 0) return 0.0;
  double s = 0.0, ss = 0.0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < len_of(lens, b, T); t++) s += adv[(size_t)b * T + t];
  double mean = s / n;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < len_of(lens, b, T); t++) {
      double d = adv[(size_t)b * T + t] - mean;
      ss += d * d;
    }
  double inv = 1.0 / sqrt(ss / n + 1e-8);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < len_of(lens, b, T); t++) {
      float *a = adv + (size_t)b * T + t;
      *a = (float)((*a - mean) * inv);
    }
  return mean;
}

double ppo_policy_loss(float *dlogp, ppo_loss_stats *stats, const float *logp,
                       const float *logp_old, const float *adv, const int *lens, int B, int T,
                       double eps) {
  long n = valid_tokens(lens, B, T);
  double loss = 0.0, clipped = 0.0, kl = 0.0;
  for (int b = 0; b < B; b++) {
    int len = len_of(lens, b, T);
    for (int t = 0; t < T; t++) {
      size_t i = (size_t)b * T + t;
      if (t >= len) {
        if (dlogp) dlogp[i] = 0.0f;
        continue;
      }
      double log_ratio = (double)logp[i] - logp_old[i], ratio = exp(log_ratio), A = adv[i];
      double rc = ratio < 1 - eps ? 1 - eps : (ratio > 1 + eps ? 1 + eps : ratio);
      double l1 = -A * ratio, l2 = -A * rc;
      /* the clipped term is taken when strictly larger; its derivative in logp is 0 */
      int take_clipped = l2 > l1;
      loss += take_clipped ? l2 : l1;
      clipped += take_clipped;
      kl += (ratio - 1.0) - log_ratio;
      if (dlogp) dlogp[i] = take_clipped ? 0.0f : (float)(-A * ratio / n);
    }
  }
  if (stats) {
    stats->clip_frac = n ? clipped / n : 0.0;
    stats->approx_kl = n ? kl / n : 0.0;
  }
  return n ? loss / n : 0.0;
}

double ppo_value_loss(float *dv, ppo_loss_stats *stats, const float *v, const float *v_old,
                      const float *returns, const int *lens, int B, int T, double c) {
  long n = valid_tokens(lens, B, T);
  double loss = 0.0, clipped = 0.0;
  for (int b = 0; b < B; b++) {
    int len = len_of(lens, b, T);
    for (int t = 0; t < T; t++) {
      size_t i = (size_t)b * T + t;
      if (t >= len) {
        if (dv) dv[i] = 0.0f;
        continue;
      }
      double lo = (double)v_old[i] - c, hi = (double)v_old[i] + c, x = v[i], ret = returns[i];
      double vc = x < lo ? lo : (x > hi ? hi : x);
      double e1 = (x - ret) * (x - ret), e2 = (vc - ret) * (vc - ret);
      int take_clipped = e2 > e1; /* then vc != x, so vc is at a bound: derivative 0 */
      loss += 0.5 * (take_clipped ? e2 : e1);
      clipped += take_clipped;
      if (dv) dv[i] = take_clipped ? 0.0f : (float)((x - ret) / n);
    }
  }
  if (stats) {
    stats->clip_frac = n ? clipped / n : 0.0;
    stats->approx_kl = 0.0;
  }
  return n ? loss / n : 0.0;
}

void ppo_kl_estimates(double *k1, double *k2, double *k3, const float *logp,
                      const float *logp_ref, const int *lens, int B, int T) {
  for (int b = 0; b < B; b++) {
    double s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (int t = 0; t < len_of(lens, b, T); t++) {
      size_t i = (size_t)b * T + t;
      double lr = (double)logp[i] - logp_ref[i];
      s1 += lr;
      s2 += 0.5 * lr * lr;
      s3 += expm1(-lr) + lr; /* exp(-lr) - 1 + lr, accurate for small lr */
    }
    if (k1) k1[b] = s1;
    if (k2) k2[b] = s2;
    if (k3) k3[b] = s3;
  }
}

double ppo_entropy_mean(const float *logits, const int *lens, int B, int T, int V) {
  long n = valid_tokens(lens, B, T);
  double total = 0.0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < len_of(lens, b, T); t++) {
      const float *z = logits + ((size_t)b * T + t) * V;
      double zmax = z[0];
      for (int j = 1; j < V; j++)
        if (z[j] > zmax) zmax = z[j];
      /* H = log S - sum e_j (z_j - zmax) / S with e_j = exp(z_j - zmax), S = sum e_j */
      double S = 0.0, Sz = 0.0;
      for (int j = 0; j < V; j++) {
        double d = z[j] - zmax, e = exp(d);
        S += e;
        Sz += e * d;
      }
      total += log(S) - Sz / S;
    }
  return n ? total / n : 0.0;
}

double ppo_kl_adaptive(double beta, double kl, double target, int n_steps, int horizon) {
  double err = (kl - target) / target;
  err = err < -0.2 ? -0.2 : (err > 0.2 ? 0.2 : err);
  return beta * (1.0 + err * n_steps / horizon);
}
