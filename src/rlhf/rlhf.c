/* rlhf: Bradley-Terry loss, ensemble objectives and calibration (see rlhf.h).
 *
 * All accumulation is in double; nothing here allocates. */
#include "rlhf/rlhf.h"

#include <math.h>
#include <string.h>

#include "core/core.h"

/* softplus(x) = log(1 + e^x) without overflow (x large) or loss of precision (x very negative). */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
/* sigmoid(x) without overflow for either sign. */
static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

double rm_bt_loss(float *dchosen, float *drejected, double *accuracy, const float *chosen,
                  const float *rejected, int B) {
  double loss = 0.0;
  long correct = 0;
  for (int b = 0; b < B; b++) {
    double margin = (double)chosen[b] - (double)rejected[b];
    loss += softplus(-margin); /* -log sigmoid(margin) */
    correct += margin > 0;
    /* d/dmargin softplus(-margin) = -sigmoid(-margin) */
    double g = B > 0 ? -sigmoid(-margin) / B : 0.0;
    if (dchosen) dchosen[b] = (float)g;
    if (drejected) drejected[b] = (float)-g;
  }
  if (accuracy) *accuracy = B > 0 ? (double)correct / B : 0.0;
  return B > 0 ? loss / B : 0.0;
}

void rm_weight_average(float *out, const float *const *params, int K, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (int m = 0; m < K; m++) s += params[m][i];
    out[i] = (float)(s / K);
  }
}

/* ---- objectives ----------------------------------------------------------------------------- */

static const char *const obj_names[] = {"single", "mean", "wco", "uwo", "softmin", "warm", "laplace_uwo", "ens_laplace"};

int obj_parse(obj_kind *kind, const char *name) {
  for (int i = 0; i <= OBJ_ENS_LAPLACE; i++)
    if (strcmp(name, obj_names[i]) == 0) {
      *kind = (obj_kind)i;
      return OO_OK;
    }
  OO_FAIL("unknown objective '%s': use one of single, mean, wco, uwo, softmin, warm, laplace_uwo, ens_laplace", name);
}

const char *obj_name(obj_kind kind) {
  return (kind >= OBJ_SINGLE && kind <= OBJ_ENS_LAPLACE) ? obj_names[kind] : "unknown";
}

double ensemble_objective_mean(const float *scores, int K) {
  double s = 0.0;
  for (int i = 0; i < K; i++) s += scores[i];
  return s / K;
}

double ensemble_objective_wco(const float *scores, int K) {
  double m = scores[0];
  for (int i = 1; i < K; i++)
    if (scores[i] < m) m = scores[i];
  return m;
}

double ensemble_variance(const float *scores, int K) {
  double mean = ensemble_objective_mean(scores, K), var = 0.0;
  for (int i = 0; i < K; i++) {
    double d = scores[i] - mean;
    var += d * d;
  }
  return var / K;
}

double ensemble_objective_uwo(const float *scores, int K, double lambda) {
  return ensemble_objective_mean(scores, K) - lambda * ensemble_variance(scores, K);
}

double ensemble_objective_softmin(const float *scores, int K, double tau) {
  /* Shifting by the minimum makes every exponent <= 0 (no overflow) and one term exactly 1 (the
   * sum never underflows to 0); expm1/log1p keep the small terms when tau >> spread, where
   * log of a sum near 1 would lose them and the result would fall back to the minimum. */
  double m = ensemble_objective_wco(scores, K), s = 0.0;
  for (int i = 0; i < K; i++) s += expm1(-((double)scores[i] - m) / tau);
  return m - tau * log1p(s / K);
}

double ensemble_objective(const obj_spec *spec, const float *scores, int K) {
  switch (spec->kind) {
    case OBJ_SINGLE: return scores[spec->member];
    case OBJ_MEAN: return ensemble_objective_mean(scores, K);
    case OBJ_WCO: return ensemble_objective_wco(scores, K);
    case OBJ_UWO: return ensemble_objective_uwo(scores, K, spec->lambda);
    case OBJ_SOFTMIN: return ensemble_objective_softmin(scores, K, spec->tau);
    case OBJ_WARM:
    case OBJ_LAPLACE_UWO:
    case OBJ_ENS_LAPLACE: return NAN; /* not functions of the member scores alone */
  }
  return NAN;
}

void ensemble_row_stats(float *mean, float *var, float *min, const float *scores, long n, int K) {
  for (long i = 0; i < n; i++) {
    const float *r = scores + i * K;
    if (mean) mean[i] = (float)ensemble_objective_mean(r, K);
    if (var) var[i] = (float)ensemble_variance(r, K);
    if (min) min[i] = (float)ensemble_objective_wco(r, K);
  }
}

int ensemble_objective_rows(float *out, const obj_spec *spec, const float *scores, const float *V, long n, int K) {
  REQUIRE(K >= 1, "ensemble objective needs at least one member, got K = %d", K);
  REQUIRE(spec->kind >= OBJ_SINGLE && spec->kind <= OBJ_ENS_LAPLACE, "unknown objective kind %d", (int)spec->kind);
  REQUIRE(spec->kind != OBJ_WARM, "objective 'warm' is WARM's own score, not a function of the member scores");
  const int laplace = spec->kind == OBJ_LAPLACE_UWO || spec->kind == OBJ_ENS_LAPLACE;
  REQUIRE(!laplace || V, "objective '%s' needs the members' Laplace variances (rm.laplace)", obj_name(spec->kind));
  REQUIRE(spec->kind != OBJ_SOFTMIN || (isfinite(spec->tau) && spec->tau > 0),
          "objective 'softmin' needs a temperature tau > 0, got %g (ppo.softmin_tau, bon.softmin_tau)", spec->tau);
  REQUIRE((spec->kind != OBJ_SINGLE && spec->kind != OBJ_LAPLACE_UWO) || (spec->member >= 0 && spec->member < K),
          "objective '%s' uses member %d but the ensemble has K = %d members (ppo.member)", obj_name(spec->kind),
          spec->member, K);
  for (long i = 0; i < n; i++) {
    const float *r = scores + i * K;
    if (!laplace) {
      out[i] = (float)ensemble_objective(spec, r, K);
    } else if (spec->kind == OBJ_LAPLACE_UWO) {
      out[i] = (float)((double)r[spec->member] - spec->lambda * V[i * K + spec->member]);
    } else {
      double within = 0;
      for (int m = 0; m < K; m++) within += V[i * K + m];
      out[i] = (float)(ensemble_objective_mean(r, K) - spec->lambda * (ensemble_variance(r, K) + within / K));
    }
  }
  return OO_OK;
}

/* ---- calibration ---------------------------------------------------------------------------- */

void calib_mean_std(double *mean, double *std, const float *x, long n) {
  if (n <= 0) {
    *mean = 0.0;
    *std = 0.0;
    return;
  }
  double s = 0.0;
  for (long i = 0; i < n; i++) s += x[i];
  double m = s / n, ss = 0.0;
  for (long i = 0; i < n; i++) {
    double d = x[i] - m;
    ss += d * d;
  }
  *mean = m;
  *std = sqrt(ss / n);
}

void calib_apply(float *x, long n, double shift, double scale) {
  double inv = 1.0 / scale;
  for (long i = 0; i < n; i++) x[i] = (float)((x[i] - shift) * inv);
}
