/* ppo_step: the distributed PPO step and evaluation (see ppo_step.h for the protocol). */
#include "ppo_step.h"

#include <math.h>
#include <string.h>

#include "train_step.h"
#include "core/core.h"

/* gold_score_all lives in rm_ensemble.h (the gold's data-parallel scorer over the RM ranks). */

/* Rows [*lo, *hi) of n that rollout rank q of n_roll owns (contiguous blocks). */
static void row_range(int n, int q, int n_roll, int *lo, int *hi) {
  *lo = (int)((long)q * n / n_roll);
  *hi = (int)((long)(q + 1) * n / n_roll);
}

/* Times an MPI call into x->t_mpi and turns a failure into an error. */
#define TIMED_MPI(x, call)                                                                    \
  do {                                                                                        \
    double t0_ = oo_now();                                                                    \
    int rc_ = (call);                                                                         \
    (x)->t_mpi += oo_now() - t0_;                                                             \
    if (rc_ != MPI_SUCCESS) return oo_mpi_error_at(rc_, __FILE__, __LINE__, #call);           \
  } while (0)
#define TIMED(x, call)                                                                        \
  do {                                                                                        \
    double t0_ = oo_now();                                                                    \
    int rc_ = (call);                                                                         \
    (x)->t_mpi += oo_now() - t0_;                                                             \
    if (rc_) return oo_error_trace(rc_, __FILE__, __LINE__);                                  \
  } while (0)

/* ---- set-up ---------------------------------------------------------------------------------- */

int ppo_ctx_init(ppo_ctx *x) {
  const oo_config *cfg = x->cfg;
  const oo_comms *c = x->comms;
  const oo_layout *lay = x->lay;
  x->prompt_len = cfg->prefs.prompt_len;
  x->response_len = cfg->prefs.response_len;
  x->Tp = x->prompt_len + 1;
  x->Tmax = x->prompt_len + x->response_len + 2;
  x->Tr = x->response_len + 1;
  x->K = cfg->rm.k;
  x->n_roll = lay->n_rollout;
  x->roll_rank = lay->ranks[c->rank].is_rollout ? lay->ranks[c->rank].rollout_index : -1;
  REQUIRE(x->ens && x->ens->k == x->K, "ppo: the ensemble holds %d members but rm.k = %d", x->ens ? x->ens->k : 0,
          x->K);
  for (int q = 0; q < c->size; q++)
    REQUIRE(q >= x->n_roll || (lay->ranks[q].is_rollout && lay->ranks[q].rollout_index == q),
            "internal: rollout ranks must be the first %d world ranks", x->n_roll);
  REQUIRE(lay->ranks[0].is_rollout, "internal: the controller (rank 0) must be a rollout rank");
  const int B = cfg->ppo.batch, mb = cfg->ppo.minibatch;
  REQUIRE(mb >= 1 && B % mb == 0, "'ppo.minibatch' = %d must divide 'ppo.batch' = %d", mb, B);
  REQUIRE(x->n_train >= 1, "ppo: no PPO training prompts (the prompt pool is used up by the other stages)");
  REQUIRE(x->n_eval >= 1, "ppo: no PPO evaluation prompts (ppo.n_eval_prompts)");
  x->value_head = !strcmp(cfg->ppo.value, "head");
  if (x->roll_rank >= 0) {
    REQUIRE(x->policy && x->ref && (x->value_head || x->value), "internal: rollout rank %d lacks a model", c->rank);
    REQUIRE(x->policy->d.T >= x->Tmax,
            "ppo: a sequence of 1 + prefs.prompt_len + prefs.response_len + 1 = %d tokens does not fit the "
            "policy's n_ctx = %d: raise pretrain.n_ctx or shorten prompts/responses",
            x->Tmax, x->policy->d.T);
    REQUIRE(x->ref->kind == GPT_LM &&
                (x->value_head ? x->policy->kind == GPT_LM_VALUE && !x->value
                               : x->policy->kind == GPT_LM && x->value->kind == GPT_VALUE),
            "internal: ppo models have the wrong kinds for ppo.value = %s", cfg->ppo.value);
  }
  if (lay->ranks[c->rank].is_rm) REQUIRE(x->gold, "internal: RM rank %d lacks the gold", c->rank);
  if (strcmp(cfg->ppo.kl_estimator, "k1") && strcmp(cfg->ppo.kl_estimator, "k2") &&
      strcmp(cfg->ppo.kl_estimator, "k3"))
    OO_FAIL("ppo.kl_estimator = '%s': expected k1, k2 or k3", cfg->ppo.kl_estimator);

  x->n_cap = B > x->n_eval ? B : x->n_eval;
  x->gen_cap = (x->n_cap + x->n_roll - 1) / x->n_roll;
  x->fwd_cap = (mb + x->n_roll - 1) / x->n_roll;
  const size_t N = (size_t)x->n_cap, Tr = (size_t)x->Tr;
  x->tok = xmalloc(sizeof(int) * N * (size_t)x->Tmax);
  x->len = xmalloc(sizeof(int) * N);
  x->rlen = xmalloc(sizeof(int) * N);
  x->matrix = xmalloc_floats(N * (size_t)x->K);
  x->var = xmalloc_floats(N);
  x->gold_s = xmalloc_floats(N);
  x->proxy_s = xmalloc_floats(N);
  x->lvar = xmalloc_floats(N * (size_t)x->K);
  x->score = xmalloc_floats(N);
  x->logp = xcalloc(N * Tr, sizeof(float));
  x->logp_ref = xcalloc(N * Tr, sizeof(float));
  x->values = xcalloc(N * Tr, sizeof(float));
  x->ent = xcalloc(N * Tr, sizeof(float));
  x->rewards = xcalloc(N * Tr, sizeof(float));
  x->adv = xcalloc(N * Tr, sizeof(float));
  x->ret = xcalloc(N * Tr, sizeof(float));
  x->k1 = xmalloc(sizeof(double) * N);
  x->k2 = xmalloc(sizeof(double) * N);
  x->k3 = xmalloc(sizeof(double) * N);
  x->order = xmalloc(sizeof(int) * (size_t)B);
  x->cnt = xmalloc(sizeof(int) * (size_t)c->size);
  x->disp = xmalloc(sizeof(int) * (size_t)c->size);
  memset(&x->kv, 0, sizeof x->kv);
  if (x->roll_rank >= 0) {
    const size_t G = (size_t)x->gen_cap, F = (size_t)x->fwd_cap;
    x->gen_prompt = xmalloc(sizeof(int) * G * (size_t)x->Tp);
    x->gen_tok = xmalloc(sizeof(int) * G * Tr);
    x->gen_len = xmalloc(sizeof(int) * G);
    x->gen_rng = xmalloc(sizeof(oo_rng) * G);
    x->mb_rows = xmalloc(sizeof(int) * F);
    x->fwd_tok = xmalloc(sizeof(int) * F * (size_t)x->Tmax);
    x->mb_rlen = xmalloc(sizeof(int) * F);
    float **bufs[] = {&x->mb_logp, &x->mb_old, &x->mb_adv, &x->mb_ret, &x->mb_vold, &x->mb_v, &x->mb_dlogp, &x->mb_dv};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) *bufs[i] = xcalloc(F * Tr, sizeof(float));
    gpt_alloc_train(x->policy);
    gpt_reserve(x->policy, x->fwd_cap, x->Tmax);
    gpt_reserve(x->ref, x->fwd_cap, x->Tmax);
    if (!x->value_head) {
      gpt_alloc_train(x->value);
      gpt_reserve(x->value, x->fwd_cap, x->Tmax);
    }
    CHECK(gpt_kv_create(&x->kv, x->policy, x->gen_cap));
  }
  x->t_mpi = 0;
  const gpt_optim opt = ppo_optim(cfg);
  train_step_init(&x->train, "ppo", c->policy_comm, c->rank, &opt, cfg->run.skip_nonfinite);
  return OO_OK;
}

gpt_optim ppo_optim(const oo_config *cfg) {
  /* no weight decay; clip 1.0 (trlx) over the joint gradient with ppo.value = head */
  const gpt_optim o = {(float)cfg->ppo.lr, (float)cfg->ppo.lr_final, cfg->ppo.warmup, cfg->ppo.steps, 0.0f, 1.0f};
  return o;
}

void ppo_ctx_free(ppo_ctx *x) {
  void **bufs[] = {(void **)&x->tok,     (void **)&x->len,      (void **)&x->rlen,     (void **)&x->matrix,
                   (void **)&x->var,     (void **)&x->gold_s,
                   (void **)&x->proxy_s, (void **)&x->score,    (void **)&x->logp,     (void **)&x->logp_ref,
                   (void **)&x->values,  (void **)&x->ent,      (void **)&x->rewards,  (void **)&x->adv,
                   (void **)&x->ret,     (void **)&x->k1,       (void **)&x->k2,       (void **)&x->k3,
                   (void **)&x->order,   (void **)&x->cnt,      (void **)&x->disp,     (void **)&x->gen_prompt,
                   (void **)&x->gen_tok, (void **)&x->gen_len,  (void **)&x->gen_rng,  (void **)&x->mb_rows,
                   (void **)&x->fwd_tok, (void **)&x->mb_rlen,  (void **)&x->mb_logp,  (void **)&x->mb_old,
                   (void **)&x->mb_adv,  (void **)&x->mb_ret,   (void **)&x->mb_vold,  (void **)&x->mb_v,
                   (void **)&x->mb_dlogp, (void **)&x->mb_dv, (void **)&x->lvar};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) xfree_ptr(bufs[i]);
  if (x->kv.k) gpt_kv_free(&x->kv);
}

/* ---- rollouts ------------------------------------------------------------------------------- */

/* Rollout ranks: generate this rank's rows of n sequences into x->tok / x->len / x->rlen.
 * eval = 0: row i answers train prompt (step*batch + i) mod n_train with stream
 * (seed, RNG_PPO, step*batch + i, 0); eval = 1: eval prompt i, stream (seed, RNG_PPO, i, 0xEEEE). The streams do
 * not depend on the objective or beta: the PPO runs of one replicate see common random numbers
 * (same prompts, same uniform draws), which makes their paired comparison less noisy (#10). */
static int generate_rows(ppo_ctx *x, int n, int eval, long step) {
  if (x->roll_rank < 0) return OO_OK;
  const oo_config *cfg = x->cfg;
  int lo, hi;
  row_range(n, x->roll_rank, x->n_roll, &lo, &hi);
  const int nb = hi - lo, Tp = x->Tp, Tr = x->Tr, Tmax = x->Tmax, response_len = x->response_len;
  if (nb == 0) return OO_OK;
  const uint64_t seed = (uint64_t)cfg->run.seed;
  for (int r = 0; r < nb; r++) {
    const int i = lo + r;
    const int *prompt;
    if (eval) {
      prompt = x->eval_prompts + (size_t)i * Tp;
      x->gen_rng[r] = oo_rng_make(seed, RNG_PPO, (uint64_t)i, 0xEEEE);
    } else {
      const uint64_t g = (uint64_t)step * (uint64_t)cfg->ppo.batch + (uint64_t)i;
      prompt = x->train_prompts + (size_t)(g % (uint64_t)x->n_train) * Tp;
      x->gen_rng[r] = oo_rng_make(seed, RNG_PPO, g, 0);
    }
    memcpy(x->gen_prompt + (size_t)r * Tp, prompt, sizeof(int) * (size_t)Tp);
  }
  gpt_sample_opts o = {(float)cfg->ppo.temperature, 1.0f, 0, response_len + 1, 1};
  CHECK(gpt_generate(x->policy, &x->kv, x->gen_prompt, Tp, nb, &o, x->gen_rng, x->gen_tok, x->gen_len, NULL));
  for (int r = 0; r < nb; r++) {
    const int *gen = x->gen_tok + (size_t)r * Tr;
    int n_resp = x->gen_len[r];
    if (n_resp == response_len + 1 && gen[response_len] != GPT_EOT)
      n_resp = response_len; /* response_len bytes, no end-of-text */
    int *seq = x->tok + (size_t)(lo + r) * Tmax;
    memcpy(seq, x->gen_prompt + (size_t)r * Tp, sizeof(int) * (size_t)Tp);
    memcpy(seq + Tp, gen, sizeof(int) * (size_t)n_resp);
    for (int t = Tp + n_resp; t < Tmax; t++) seq[t] = GPT_EOT;
    x->len[lo + r] = Tp + n_resp;
    x->rlen[lo + r] = n_resp;
  }
  return OO_OK;
}

/* Collective on world: every rank receives all n sequences (rollout ranks hold theirs). */
static int share_tokens(ppo_ctx *x, int n) {
  const oo_comms *c = x->comms;
  for (int q = 0; q < c->size; q++) {
    int lo = 0, hi = 0;
    if (q < x->n_roll) row_range(n, q, x->n_roll, &lo, &hi);
    x->cnt[q] = hi - lo;
    x->disp[q] = lo;
  }
  TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_INT, x->len, x->cnt, x->disp, MPI_INT, c->world));
  for (int q = 0; q < c->size; q++) {
    x->cnt[q] *= x->Tmax;
    x->disp[q] *= x->Tmax;
  }
  TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_INT, x->tok, x->cnt, x->disp, MPI_INT, c->world));
  for (int i = 0; i < n; i++) x->rlen[i] = x->len[i] - x->Tp;
  return OO_OK;
}

/* Collective on world: member scores, ensemble statistics, gold, proxy objective and the score
 * optimized, for all n sequences, on every rank. */
static int score_rows(ppo_ctx *x, int n) {
  CHECK(rm_ensemble_score(x->ens, x->comms, x->lay, x->tok, x->len, n, x->Tmax, x->matrix));
  CHECK(gold_score_all(x->gold, x->comms, x->lay, x->tok, x->len, n, x->Tmax, x->gold_s));
  if (x->obj.kind == OBJ_WARM) { /* WARM's own score (issue #15) */
    CHECK(gold_score_all(x->warm, x->comms, x->lay, x->tok, x->len, n, x->Tmax, x->proxy_s));
  } else {
    const int laplace = x->obj.kind == OBJ_LAPLACE_UWO || x->obj.kind == OBJ_ENS_LAPLACE;
    if (laplace) CHECK(rm_ensemble_laplace_var(x->ens, x->comms, x->lay, x->tok, x->len, n, x->Tmax, x->lvar));
    CHECK(ensemble_objective_rows(x->proxy_s, &x->obj, x->matrix, laplace ? x->lvar : NULL, n, x->K));
  }
  memcpy(x->score, x->use_gold ? x->gold_s : x->proxy_s, sizeof(float) * (size_t)n);
  return OO_OK;
}

/* Packs rows[0..nb) of x->tok into x->fwd_tok (nb, T) with T the longest length; returns T. */
static int pack_rows(ppo_ctx *x, const int *rows, int nb) {
  int T = 1;
  for (int b = 0; b < nb; b++)
    if (x->len[rows[b]] > T) T = x->len[rows[b]];
  for (int b = 0; b < nb; b++)
    memcpy(x->fwd_tok + (size_t)b * T, x->tok + (size_t)rows[b] * x->Tmax, sizeof(int) * (size_t)T);
  return T;
}

/* Per response token of row b of the last forward of an LM: log p (and entropy if ent). */
static void response_logprobs(const ppo_ctx *x, const float *logits, int T, int b, int rlen, float *logp,
                              float *ent) {
  const int *targets = x->fwd_tok + (size_t)b * T + x->Tp;
  gpt_logprobs(logits + ((size_t)b * T + x->Tp - 1) * GPT_VOCAB, targets, rlen, GPT_VOCAB, logp, ent);
  for (int j = rlen; j < x->Tr; j++) {
    logp[j] = 0.0f;
    if (ent) ent[j] = 0.0f;
  }
}

/* Row b of the last forward's scalar output (B,T) as per-response-token values (Tr), 0 past rlen. */
static void response_values(const ppo_ctx *x, const float *v, int T, int b, int rlen, float *out) {
  for (int j = 0; j < x->Tr; j++) out[j] = j < rlen ? v[(size_t)b * T + x->Tp - 1 + j] : 0.0f;
}

/* Rollout ranks: teacher-forces this rank's rows of n through policy, reference (and value
 * model, unless the value is the policy's head) into x->logp, x->ent, x->logp_ref (x->values);
 * then shares them over policy_comm so every rollout rank holds all n rows. Collective on
 * policy_comm. */
static int teacher_force(ppo_ctx *x, int n, int with_value) {
  if (x->roll_rank < 0) return OO_OK;
  int lo, hi;
  row_range(n, x->roll_rank, x->n_roll, &lo, &hi);
  const int Tr = x->Tr;
  for (int c0 = lo; c0 < hi; c0 += x->fwd_cap) {
    const int nb = hi - c0 < x->fwd_cap ? hi - c0 : x->fwd_cap;
    for (int b = 0; b < nb; b++) x->mb_rows[b] = c0 + b;
    const int T = pack_rows(x, x->mb_rows, nb);
    gpt_forward(x->policy, x->fwd_tok, nb, T);
    const float *lg = gpt_logits(x->policy);
    for (int b = 0; b < nb; b++) {
      const int i = c0 + b;
      response_logprobs(x, lg, T, b, x->rlen[i], x->logp + (size_t)i * Tr, x->ent + (size_t)i * Tr);
    }
    if (with_value && x->value_head) /* the same forward gave the values */
      for (int b = 0; b < nb; b++)
        response_values(x, gpt_scalar_out(x->policy), T, b, x->rlen[c0 + b], x->values + (size_t)(c0 + b) * Tr);
    gpt_forward(x->ref, x->fwd_tok, nb, T);
    lg = gpt_logits(x->ref);
    for (int b = 0; b < nb; b++) {
      const int i = c0 + b;
      response_logprobs(x, lg, T, b, x->rlen[i], x->logp_ref + (size_t)i * Tr, NULL);
    }
    if (with_value && !x->value_head) {
      gpt_forward(x->value, x->fwd_tok, nb, T);
      for (int b = 0; b < nb; b++)
        response_values(x, gpt_scalar_out(x->value), T, b, x->rlen[c0 + b], x->values + (size_t)(c0 + b) * Tr);
    }
  }
  for (int q = 0; q < x->n_roll; q++) {
    int a, e;
    row_range(n, q, x->n_roll, &a, &e);
    x->cnt[q] = (e - a) * Tr;
    x->disp[q] = a * Tr;
  }
  MPI_Comm pc = x->comms->policy_comm;
  TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x->logp, x->cnt, x->disp, MPI_FLOAT, pc));
  TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x->logp_ref, x->cnt, x->disp, MPI_FLOAT, pc));
  TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x->ent, x->cnt, x->disp, MPI_FLOAT, pc));
  if (with_value)
    TIMED_MPI(x, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x->values, x->cnt, x->disp, MPI_FLOAT, pc));
  ppo_kl_estimates(x->k1, x->k2, x->k3, x->logp, x->logp_ref, x->rlen, n, Tr);
  return OO_OK;
}

static double mean_f(const float *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return n ? s / n : NAN;
}
static double mean_d(const double *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return n ? s / n : NAN;
}

/* ---- the update ------------------------------------------------------------------------------ */

/* Clipped value loss of the values v (B,T) of the last forward into x->mb_v / x->mb_dv, and its
 * gradient times vf_coef into dv (B,T) (zero outside the response tokens). Returns the loss. */
static double value_loss(ppo_ctx *x, const float *v, int nb, int T, float *dv) {
  const int Tr = x->Tr;
  for (int b = 0; b < nb; b++) response_values(x, v, T, b, x->mb_rlen[b], x->mb_v + (size_t)b * Tr);
  ppo_loss_stats vs;
  double vl = ppo_value_loss(x->mb_dv, &vs, x->mb_v, x->mb_vold, x->mb_ret, x->mb_rlen, nb, Tr, x->cfg->ppo.vf_clip);
  memset(dv, 0, sizeof(float) * (size_t)nb * T);
  for (int b = 0; b < nb; b++)
    for (int j = 0; j < x->mb_rlen[b]; j++)
      dv[(size_t)b * T + x->Tp - 1 + j] = (float)x->cfg->ppo.vf_coef * x->mb_dv[(size_t)b * Tr + j];
  return vl;
}

/* Rollout ranks: one minibatch (global rows rows[0..mb)) of the PPO update. acc gets this rank's
 * token-weighted sums {policy loss, clip fraction, approx kl, value loss, tokens}.
 * ppo.value = head: one forward and one backward of the policy for policy loss + vf_coef * value
 * loss, one clip over all its gradients; model: the policy and the value model each take their
 * own forward, backward, clip and AdamW step. */
static int update_minibatch(ppo_ctx *x, const int *rows, int mb, double lr, double acc[5]) {
  const oo_config *cfg = x->cfg;
  const int Tr = x->Tr, Tp = x->Tp, V = GPT_VOCAB;
  long G = 0;
  for (int r = 0; r < mb; r++) G += x->rlen[rows[r]];
  int lo, hi;
  row_range(mb, x->roll_rank, x->n_roll, &lo, &hi);
  const int nb = hi - lo;
  long ntok = 0;
  double mb_loss = 0; /* this rank's policy loss + vf_coef value loss, mean over its tokens */
  gpt_zero_grad(x->policy);
  if (!x->value_head) gpt_zero_grad(x->value);
  for (int b = 0; b < nb; b++) {
    const int i = rows[lo + b];
    x->mb_rows[b] = i;
    x->mb_rlen[b] = x->rlen[i];
    ntok += x->rlen[i];
    memcpy(x->mb_old + (size_t)b * Tr, x->logp + (size_t)i * Tr, sizeof(float) * (size_t)Tr);
    memcpy(x->mb_adv + (size_t)b * Tr, x->adv + (size_t)i * Tr, sizeof(float) * (size_t)Tr);
    memcpy(x->mb_ret + (size_t)b * Tr, x->ret + (size_t)i * Tr, sizeof(float) * (size_t)Tr);
    memcpy(x->mb_vold + (size_t)b * Tr, x->values + (size_t)i * Tr, sizeof(float) * (size_t)Tr);
  }
  if (nb > 0 && ntok > 0) {
    const int T = pack_rows(x, x->mb_rows, nb);
    /* policy: clipped surrogate, mean over this rank's tokens */
    gpt_forward(x->policy, x->fwd_tok, nb, T);
    const float *lg = gpt_logits(x->policy);
    for (int b = 0; b < nb; b++) response_logprobs(x, lg, T, b, x->mb_rlen[b], x->mb_logp + (size_t)b * Tr, NULL);
    ppo_loss_stats ps;
    double pl = ppo_policy_loss(x->mb_dlogp, &ps, x->mb_logp, x->mb_old, x->mb_adv, x->mb_rlen, nb, Tr,
                                cfg->ppo.clip);
    float *dl = gpt_dlogits_buffer(x->policy);
    memset(dl, 0, sizeof(float) * (size_t)nb * T * V);
    for (int b = 0; b < nb; b++)
      gpt_logprobs_backward(lg + ((size_t)b * T + Tp - 1) * V, x->fwd_tok + (size_t)b * T + Tp, x->mb_rlen[b], V,
                            x->mb_dlogp + (size_t)b * Tr, NULL, dl + ((size_t)b * T + Tp - 1) * V);
    double vl;
    if (x->value_head) { /* value loss on the same forward; one backward for both */
      float *dv = gpt_dscalar_buffer(x->policy);
      vl = value_loss(x, gpt_scalar_out(x->policy), nb, T, dv);
      gpt_backward_heads(x->policy, dl, dv);
    } else {
      gpt_backward(x->policy, dl);
      gpt_forward(x->value, x->fwd_tok, nb, T);
      float *dv = gpt_dlogits_buffer(x->value);
      vl = value_loss(x, gpt_scalar_out(x->value), nb, T, dv);
      gpt_backward(x->value, dv);
    }
    mb_loss = pl + cfg->ppo.vf_coef * vl;
    acc[0] += pl * (double)ntok;
    acc[1] += ps.clip_frac * (double)ntok;
    acc[2] += ps.approx_kl * (double)ntok;
    acc[3] += vl * (double)ntok;
    acc[4] += (double)ntok;
  }
  /* Each rank differentiated the mean over its ntok tokens: weight by ntok / G, then sum. The
   * minibatch's loss (policy + vf_coef value, summed over ranks / G) is what the guard checks. */
  const float scale = G > 0 ? (float)((double)ntok / (double)G) : 0.0f;
  gpt *models[2] = {x->policy, x->value};
  double loss = mb_loss * (double)ntok;
  const double t0 = x->train.t_comm;
  /* the guard's step is the run's optimizer update (epochs x minibatches per PPO step), 1-based */
  int rc = train_step(&x->train, models, x->value_head ? 1 : 2, scale, &loss, 1, G > 0 ? (double)G : 1.0,
                      x->policy->step + 1, (float)lr);
  x->t_mpi += x->train.t_comm - t0;
  CHECK(rc);
  return OO_OK;
}

int ppo_bcast_cmd(ppo_ctx *x, ppo_cmd *cmd) {
  TIMED_MPI(x, MPI_Bcast(cmd, (int)sizeof *cmd, MPI_BYTE, 0, x->comms->world));
  return OO_OK;
}

int ppo_step(ppo_ctx *x, const ppo_cmd *cmd, ppo_metrics *m) {
  const oo_config *cfg = x->cfg;
  const oo_comms *c = x->comms;
  const int n = cfg->ppo.batch, mb = cfg->ppo.minibatch, Tr = x->Tr;
  const double t_mpi0 = x->t_mpi;
  memset(m, 0, sizeof *m);

  double t0 = oo_now();
  CHECK(generate_rows(x, n, 0, cmd->step));
  CHECK(share_tokens(x, n));
  double t1 = oo_now();
  CHECK(score_rows(x, n));
  double t2 = oo_now();

  double acc[5] = {0, 0, 0, 0, 0};
  if (x->roll_rank >= 0) {
    CHECK(teacher_force(x, n, 1));
    ppo_rewards(x->rewards, x->logp, x->logp_ref, x->score, x->rlen, n, Tr, cmd->beta, cfg->ppo.reward_clip);
    ppo_gae(x->adv, x->ret, x->rewards, x->values, x->rlen, n, Tr, 1.0, cfg->ppo.gae_lambda);
    ppo_whiten(x->adv, x->rlen, n, Tr);
    for (int e = 0; e < cfg->ppo.epochs; e++) {
      for (int i = 0; i < n; i++) x->order[i] = i;
      oo_rng r = oo_rng_make((uint64_t)cfg->run.seed, RNG_PPO, (uint64_t)cmd->step, 0xE0 + (uint64_t)e);
      oo_rng_shuffle(&r, x->order, n);
      for (int k = 0; k < n / mb; k++) CHECK(update_minibatch(x, x->order + (size_t)k * mb, mb, cmd->lr, acc));
    }
    if (c->policy_size > 1)
      TIMED_MPI(x, MPI_Reduce(c->policy_rank == 0 ? MPI_IN_PLACE : acc, acc, 5, MPI_DOUBLE, MPI_SUM, 0,
                              c->policy_comm));
  }
  double t3 = oo_now();

  if (c->rank == 0) {
    m->kl_k1 = mean_d(x->k1, n);
    m->kl_k2 = mean_d(x->k2, n);
    m->kl_k3 = mean_d(x->k3, n);
    m->proxy = mean_f(x->proxy_s, n);
    m->gold = mean_f(x->gold_s, n);
    m->objective = mean_f(x->score, n);
    ensemble_row_stats(NULL, x->var, NULL, x->matrix, n, x->K);
    m->ens_var = mean_f(x->var, n);
    double es = 0;
    long nt = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < x->rlen[i]; j++) es += x->ent[(size_t)i * Tr + j];
      nt += x->rlen[i];
    }
    m->entropy = nt ? es / (double)nt : NAN;
    m->resp_len = (double)nt / n;
    for (int k = 0; k < x->K; k++) {
      double s = 0;
      for (int i = 0; i < n; i++) s += x->matrix[(size_t)i * x->K + k];
      m->member_score[k] = s / n;
    }
    const double tok = acc[4] > 0 ? acc[4] : NAN;
    m->policy_loss = acc[0] / tok;
    m->clipfrac = acc[1] / tok;
    m->approx_kl = acc[2] / tok;
    m->vf_loss = acc[3] / tok;
    m->t_generate = t1 - t0;
    m->t_score = t2 - t1;
    m->t_update = t3 - t2;
    m->t_mpi = x->t_mpi - t_mpi0;
  }
  return OO_OK;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

/* "prompt|response" with printable ASCII kept, newlines as \n, EOT as <eot>, other bytes \xNN. */
static void decode_sample(const int *seq, int len, int Tp, char *out, size_t cap) {
  size_t o = 0;
  out[0] = '\0';
  for (int t = 1; t < len && o + 8 < cap; t++) {
    if (t == Tp) out[o++] = '|';
    int b = seq[t];
    int w;
    if (b == GPT_EOT) w = snprintf(out + o, cap - o, "<eot>");
    else if (b == '\n') w = snprintf(out + o, cap - o, "\\n");
    else if (b == '\\') w = snprintf(out + o, cap - o, "\\\\");
    else if (b >= 32 && b < 127) w = snprintf(out + o, cap - o, "%c", b);
    else w = snprintf(out + o, cap - o, "\\x%02x", b);
    if (w < 0) break;
    o += (size_t)w;
    if (o >= cap) o = cap - 1;
  }
  out[o] = '\0';
}

int ppo_eval(ppo_ctx *x, ppo_eval_metrics *e) {
  const int n = x->n_eval;
  memset(e, 0, sizeof *e);
  CHECK(generate_rows(x, n, 1, 0));
  CHECK(share_tokens(x, n));
  CHECK(score_rows(x, n));
  CHECK(teacher_force(x, n, 0));
  if (x->comms->rank == 0) {
    e->kl_k1 = mean_d(x->k1, n);
    e->kl_k2 = mean_d(x->k2, n);
    e->kl_k3 = mean_d(x->k3, n);
    e->proxy = mean_f(x->proxy_s, n);
    e->gold = mean_f(x->gold_s, n);
    e->n_samples = n < PPO_N_SAMPLES ? n : PPO_N_SAMPLES;
    for (int i = 0; i < e->n_samples; i++) {
      decode_sample(x->tok + (size_t)i * x->Tmax, x->len[i], x->Tp, e->samples[i], PPO_SAMPLE_CHARS);
      e->sample_gold[i] = x->gold_s[i];
      e->sample_proxy[i] = x->proxy_s[i];
    }
  }
  return OO_OK;
}
