/* rlhf: the reward-model, best-of-n and PPO arithmetic of the overoptimization experiment.
 *
 * Pure single-process functions over plain arrays: no MPI, no model, no I/O. Every result
 * depends only on the inputs (no hidden state, no random draws), so each is tested alone
 * against a direct computation (tests/test_bon.c, tests/test_ppo_math.c).
 *
 * Conventions:
 * - Dimension letters: B responses (or pairs) in a batch, T padded response length, K
 *   ensemble members, n_prompts prompts, N samples per prompt, G points of an n grid, V vocabulary.
 * - Batched per-token arrays are (B,T) row-major with lens (B): token t of response b is valid
 *   when t < lens[b]; padding is written as 0 and never read.
 * - Sums are accumulated in double; float inputs and outputs match the model's precision.
 * - Gradients of losses are *written* (not accumulated): a loss is where backward starts.
 * - Functions that cannot fail return their value; fallible ones return OO_OK or an error.
 */
#ifndef OO_RLHF_H
#define OO_RLHF_H

#include <stddef.h>

/* ---- reward model: Bradley-Terry ------------------------------------------------------- */

/* Mean over B pairs of -log sigmoid(chosen - rejected) = softplus(rejected - chosen), computed
 * without overflow for any margin. Writes d loss / d score for each score (the 1/B of the mean
 * included; dchosen[b] = -drejected[b]) when the pointers are non-NULL, and the fraction of pairs
 * with chosen > rejected (ties count as wrong) into *accuracy when non-NULL. B = 0 gives 0. */
double rm_bt_loss(float *dchosen,         // (B) or NULL
                  float *drejected,       // (B) or NULL
                  double *accuracy,       // scalar or NULL
                  const float *chosen,    // (B) scores of the preferred responses
                  const float *rejected,  // (B) scores of the other responses
                  int B);

/* WARM (Rame et al. 2024): out[i] = (1/K) sum_m params[m][i], summed in double and rounded once
 * to float, so |out[i] - exact mean| <= 2^-24 |exact mean| + K 2^-53 max_m |params[m][i]| (the
 * double sum of K floats carries at most K - 1 roundings of 2^-53 relative to the running sum).
 * Defined for members that share an initialization (the same pretrained trunk): the caller
 * checks that. out may not alias a member. */
void rm_weight_average(float *out,                   // (n)
                       const float *const *params,   // (K) pointers to (n) each
                       int K, size_t n);

/* ---- ensemble objectives ---------------------------------------------------------------- */

/* How the member scores r_0..r_{K-1} (`scores`) of one sample become the score that is optimized. */
typedef enum {
  OBJ_SINGLE = 0, /* one member alone (bon: every member in turn, averaged) */
  OBJ_MEAN = 1,   /* (1/K) sum r_i */
  OBJ_WCO = 2,    /* worst case: min_i r_i */
  OBJ_UWO = 3,    /* uncertainty weighted: mean - lambda * population variance over members */
  OBJ_SOFTMIN = 4, /* soft minimum -tau log((1/K) sum exp(-r_i/tau)): mean as tau -> inf, wco as
                      tau -> 0, ~ uwo with lambda = 1/(2 tau) between (docs/uncertainty.md) */
  OBJ_WARM = 5,    /* WARM, the members' weight average: its own score, not a function of the r_i
                      (the caller scores it; ensemble_objective_rows refuses it) */
  OBJ_LAPLACE_UWO = 6, /* member score r_m - lambda * its Laplace variance (ensemble_objective_rows with V) */
  OBJ_ENS_LAPLACE = 7, /* mean - lambda * (population variance + mean Laplace variance) (idem) */
} obj_kind;

typedef struct {
  obj_kind kind; /* which objective */
  double lambda; /* uwo: weight of the variance penalty (Coste: 0.5 bon, 0.1 ppo) */
  int member;    /* single: the member used by ensemble_objective_rows (0..K-1) */
  double tau;    /* softmin: temperature, > 0 */
} obj_spec;

/* "single" | "mean" | "wco" | "uwo" | "softmin" | "warm" | "laplace_uwo" | "ens_laplace" <-> obj_kind. Parsing fails naming the accepted values. */
int obj_parse(obj_kind *kind, const char *name);
const char *obj_name(obj_kind kind);

double ensemble_objective_mean(const float *scores, int K); // scores: (K)
double ensemble_objective_wco(const float *scores, int K);  // scores: (K)
/* Population variance over members (1/K) sum (r_i - mean)^2, two passes in double (no
 * cancellation when |mean| >> spread). */
double ensemble_variance(const float *scores, int K); // scores: (K)
/* mean - lambda * ensemble_variance: the population variance, as in Coste et al.'s BoN code and
 * paper (their PPO code uses the unbiased variance: 1.25x the penalty at K=5). */
double ensemble_objective_uwo(const float *scores, int K, double lambda); // scores: (K)
/* Soft minimum m - tau * log1p((1/K) sum expm1(-(r_i - m)/tau)) with m = min_i r_i, which equals
 * -tau log((1/K) sum exp(-r_i/tau)) without overflow for any tau > 0 and without cancellation for
 * large tau. For spread D = max - min: min <= result <= min + tau log K, and
 * 0 <= mean - result <= D^2/(8 tau) (Hoeffding's lemma). */
double ensemble_objective_softmin(const float *scores, int K, double tau); // scores: (K)
/* The objective of one sample; single returns scores[spec->member]. NaN for warm, laplace_uwo and
 * ens_laplace (not functions of the scores alone: ensemble_objective_rows takes the Laplace variances). */
double ensemble_objective(const obj_spec *spec, const float *scores, int K); // scores: (K)

/* The one local scoring step of PPO, best-of-n and `overopt score`: the members' scores of n
 * samples as one (n,K) matrix (mpi/parallel/rm_ensemble.h assembles it with one collective) and
 * everything derived from it row by row. */

/* Statistics of each row of scores: mean (ensemble_objective_mean), population variance
 * (ensemble_variance) and min, each rounded once to float. Any output may be NULL. */
void ensemble_row_stats(float *mean,     // (n) or NULL
                        float *var,      // (n) or NULL
                        float *min,      // (n) or NULL
                        const float *scores,  // (n,K) member scores, row-major
                        long n, int K);
/* out[i] = objective of row i. The Laplace objectives also need each member's last-layer
 * Laplace variance V (same units as scores^2): laplace_uwo: out[i] = scores[i,m] - lambda V[i,m] with
 * m = spec->member; ens_laplace: out[i] = mean_m scores[i,m] - lambda (ensemble_variance of scores[i,:] +
 * mean_m V[i,m]). V is not read by the others and may be NULL there. Fails for warm (WARM's own
 * score), a Laplace objective without V, spec->member out of range for single or laplace_uwo, or
 * spec->tau not a finite positive number for softmin. */
int ensemble_objective_rows(float *out,          // (n)
                            const obj_spec *spec,
                            const float *scores,      // (n,K) member scores
                            const float *V,      // (n,K) their Laplace variances, or NULL
                            long n, int K);

/* ---- calibration ------------------------------------------------------------------------- */

/* Mean and population standard deviation of x (double accumulation, two passes). n = 0 gives
 * mean 0 and std 0. */
void calib_mean_std(double *mean, double *std, const float *x, long n); // x: (n)
/* x <- (x - shift) / scale in place, the checkpoint convention reward = (raw - shift) / scale.
 * scale must be non-zero (a zero-std calibration set is reported by the caller). */
void calib_apply(float *x, long n, double shift, double scale); // x: (n)

/* ---- best-of-n --------------------------------------------------------------------------- */

/* KL(best-of-n || pi_init) = log n - (n-1)/n nats (analytic; 0 at n = 1, 8.43 at n = 12,500). */
double bon_kl(double n);

/* Weights of the unbiased best-of-n estimator (Nakano et al.; Coste App. B): with N samples
 * sorted ascending by the objective, w[i] (0-based i) = C(i, n-1) / C(N, n) for i >= n-1 and 0
 * below, computed in log space with lgamma. They sum to 1 (to ~1e-12 at N = 12,600). Requires
 * 1 <= n <= N. */
void bon_weights(double *w, int N, int n); // w: (N)

/* Expected value of the best of n draws without replacement from N samples, given the values
 * carried by the samples in ascending order of the objective (the objective itself, or the
 * gold score of each sample). Computes the weights on the fly; to reuse them over many prompts
 * use bon_weights and bon_weighted_sum. Requires 1 <= n <= N. */
double bon_expected(const double *sorted_values, int N, int n); // sorted_values: (N)
/* sum_{i >= n-1} w[i] * sorted_values[i], with w from bon_weights(w, N, n). */
double bon_weighted_sum(const double *w, const double *sorted_values, int N, int n); // (N), (N)

/* The default n grid: 1, 2, 4, ..., the largest power of two <= N, then N if it is not a
 * power of two. Writes at most cap values and the count into *G; fails if cap is too small. */
int bon_default_grid(int *grid, int *G, int cap, int N); // grid: (cap)

/* Curves of one objective over an n grid for one prompt set. Averages are over prompts; for
 * single they are over prompts and then over members, and the per-member curves are kept. */
typedef struct {
  obj_spec obj;         /* the objective the curve optimizes */
  int n_prompts;                /* prompts */
  int N;                /* samples per prompt */
  int K;                /* members */
  int G;                /* grid points */
  int *n;               /* (G) best-of-n sizes */
  double *kl;           /* (G) bon_kl(n) nats */
  double *proxy;        /* (G) mean over prompts of the expected objective of the chosen sample */
  double *gold;         /* (G) mean over prompts of the expected gold of the chosen sample */
  double *gold_se;      /* (G) standard error over prompts of the per-prompt expected gold
                           (single: of the per-prompt gold averaged over members) */
  double *proxy_spread; /* (G) single: sample std over members of member_proxy; else 0 */
  double *gold_spread;  /* (G) single: sample std over members of member_gold; else 0 */
  double *member_proxy; /* (K,G) single: member j's own curve; NULL for other objectives */
  double *member_gold;  /* (K,G) single: gold when member j is the objective; else NULL */
} bon_curve;

/* Computes the curve of spec->kind over grid. For each prompt the N samples are ordered by
 * the objective (among equal objectives the later sample ranks higher, so the result is
 * deterministic), each sample
 * carrying its own gold score; each n's expectation uses weights computed once per n.
 * Cost O(n_prompts * (N log N + G * N)) per objective (times K for single). Fails on a non-finite
 * score, n outside 1..N, or an unsorted grid. Free with bon_curve_free. */
int bon_curve_compute(bon_curve *c,
                      const float *proxy, // (n_prompts,N,K) member scores of each sample
                      const float *gold,  // (n_prompts,N) gold score of each sample
                      int n_prompts, int N, int K,
                      const obj_spec *spec,
                      const int *grid,    // (G) increasing n values, 1 <= n <= N
                      int G);
void bon_curve_free(bon_curve *c);

/* ---- PPO --------------------------------------------------------------------------------- */

/* Per-token rewards (Ziegler et al.; Coste Eq. 2): rewards[b,t] = -beta * (logp - logp_ref) for
 * each response token, plus the objective score at the last token, clipped to
 * [-score_clip, score_clip] when score_clip > 0. A response of length 0 gets no reward. */
void ppo_rewards(float *rewards,        // (B,T)
                 const float *logp,     // (B,T) log pi(y_t) of the sampled tokens
                 const float *logp_ref, // (B,T) log pi_init(y_t)
                 const float *score,    // (B) objective score of each response
                 const int *lens,       // (B)
                 int B, int T, double beta, double score_clip);

/* Generalized advantage estimation per response: delta_t = r_t + gamma v_{t+1} - v_t with
 * v = 0 after the last token, A_t = sum_l (gamma lambda)^l delta_{t+l}, returns ret_t = A_t + v_t.
 * adv and returns may not alias rewards or values. */
void ppo_gae(float *adv,           // (B,T)
             float *returns,       // (B,T)
             const float *rewards, // (B,T)
             const float *values,  // (B,T) value-head outputs at the rollout
             const int *lens,      // (B)
             int B, int T, double gamma, double lambda);

/* adv <- (adv - mean) / sqrt(var + 1e-8) with mean and population variance over every valid
 * token of the batch. Returns the mean before whitening. */
double ppo_whiten(float *adv, const int *lens, int B, int T); // adv: (B,T), lens: (B)

/* Statistics a loss reports besides its value. */
typedef struct {
  double clip_frac; /* fraction of valid tokens whose clipped term was taken (zero gradient) */
  double approx_kl; /* policy loss: mean of (ratio - 1) - log ratio, the k3 estimate of
                       KL(old || new); value loss: 0 */
} ppo_loss_stats;

/* Clipped surrogate: mean over valid tokens of max(-A r, -A clip(r, 1-eps, 1+eps)) with
 * r = exp(logp - logp_old). Writes d loss / d logp (zero on padding) when dlogp is non-NULL,
 * and stats when non-NULL. */
double ppo_policy_loss(float *dlogp,            // (B,T) or NULL
                       ppo_loss_stats *stats,   // or NULL
                       const float *logp,       // (B,T) under the current parameters
                       const float *logp_old,   // (B,T) at the rollout
                       const float *adv,        // (B,T) (whitened) advantages
                       const int *lens,         // (B)
                       int B, int T, double eps);

/* Clipped value loss: 0.5 * mean over valid tokens of max((v - returns)^2, (vc - returns)^2) with
 * vc = clip(v, v_old - c, v_old + c). Writes d loss / d v when dv is non-NULL. */
double ppo_value_loss(float *dv,              // (B,T) or NULL
                      ppo_loss_stats *stats,  // or NULL
                      const float *v,         // (B,T) current values
                      const float *v_old,     // (B,T) values at the rollout
                      const float *returns,   // (B,T) GAE returns
                      const int *lens,        // (B)
                      int B, int T, double c);

/* KL(pi || pi_init) estimates for each response from lr_t = logp_t - logp_ref_t over its valid
 * tokens: k1 = sum lr, k2 = sum lr^2 / 2, k3 = sum (exp(-lr) - 1 + lr). Any output may be NULL. */
void ppo_kl_estimates(double *k1, double *k2, double *k3, // (B) each, or NULL
                      const float *logp,                   // (B,T)
                      const float *logp_ref,               // (B,T)
                      const int *lens, int B, int T);      // lens: (B)

/* Mean over valid tokens of the entropy of softmax(logits) (nats). logits[b,t,:] is the
 * distribution token t of response b was drawn from. */
double ppo_entropy_mean(const float *logits, // (B,T,V)
                        const int *lens,     // (B)
                        int B, int T, int V);

/* Adaptive KL controller (Ziegler et al. 2019): returns
 * beta * (1 + clip((kl - target) / target, -0.2, 0.2) * n_steps / horizon).
 * target > 0 and horizon > 0; a fixed-beta run simply does not call it. */
double ppo_kl_adaptive(double beta, double kl, double target, int n_steps, int horizon);

#endif
