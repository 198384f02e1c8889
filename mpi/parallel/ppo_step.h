/* ppo_step: one PPO run's distributed state and its step (DESIGN.md "Roles, communicators,
 * collectives"), separated from the stage so tests can drive it with models built in memory.
 *
 * Roles: rollout ranks (policy_comm) hold the policy, the frozen reference pi_init and the value
 * function: with ppo.value = head a scalar head on the policy's trunk (policy of kind
 * GPT_LM_VALUE, no value model), with ppo.value = model a separate GPT_VALUE model; RM ranks hold the proxy members (rm_ensemble) and the gold; rank 0, the controller, is
 * always rollout rank 0 (layout.h), so it holds every rollout-side array without a gather.
 *
 * One step (ppo_step), collective on comms->world:
 *   1. rollout rank q generates rows [q*n/n_roll, (q+1)*n/n_roll) of the n = ppo.batch rollouts: row i of
 *      step s answers PPO_TRAIN prompt (s*n + i) mod count with stream
 *      oo_rng_make(seed, RNG_PPO, s*n + i, 0), so the tokens do not depend on n_roll;
 *   2. the tokens reach every rank by one MPI_Allgatherv over world (non-rollout ranks send 0);
 *   3. rm_ensemble_score and gold_score_all score all n sequences; the allreduce that ends each
 *      leaves every score on every rank (no scatter of rewards is needed), and the
 *      objective is computed from the member-score matrix locally (ensemble_objective_rows);
 *   4. rollout ranks teacher-force their rows through policy, reference (and value model) and
 *      share the per-token arrays (log p, log p_ref, values, entropy) by MPI_Allgatherv over
 *      policy_comm. Rewards, GAE and the whitening then run on the whole batch on every rollout
 *      rank: the whitening statistics are those of the global batch (computed from the gathered
 *      arrays rather than an allreduce of count/sum/sumsq, which makes them bit-identical for any n_roll);
 *   5. ppo.epochs epochs over minibatches of ppo.minibatch rollouts in an order shuffled by
 *      oo_rng_make(seed, RNG_PPO, step, 0xE0 + epoch); rollout rank q takes rows
 *      [q*mb/n_roll, (q+1)*mb/n_roll) of each minibatch. The losses are means over the minibatch's valid
 *      tokens: each rank differentiates the mean over its own tokens and the gradient allreduce
 *      scales by its share of the minibatch's tokens, so every rank takes the single-process
 *      step (up to summation order). The optimizer step is train_step (mpi/runtime/train_step.h)
 *      with ppo_optim: clip 1.0, AdamW (weight decay 0). With the value head the loss is policy
 *      loss + vf_coef * value loss through one forward and one backward of the policy, and the
 *      clip is over the joint gradient (trlx); with a value model each model is clipped by its
 *      own norm, and a non-finite minibatch (run.skip_nonfinite) is skipped by both.
 * Sequences are [EOT, prompt (prompt_len bytes), response (<= response_len bytes), EOT if emitted],
 * Tmax = prompt_len + response_len + 2, padded with EOT. Response token j sits at position Tp + j
 * (Tp = prompt_len + 1) and is predicted by the
 * logits at Tp - 1 + j, where the value of its state is read too. Per-token arrays are (n, Tr)
 * with Tr = response_len + 1.
 * No allocation inside ppo_step or ppo_eval: ppo_ctx_init sizes every buffer and the models'
 * activations (the scorers of rm_ensemble/gold may allocate per call; see their headers).
 */
#ifndef OO_PPO_STEP_H
#define OO_PPO_STEP_H

#include <stdint.h>

#include "comm.h"
#include "io/config.h"
#include "layout.h"
#include "model/gpt.h"
#include "rlhf/gold.h"
#include "rlhf/rlhf.h"
#include "rm_ensemble.h"
#include "train_step.h"

#define PPO_N_SAMPLES 4 /* decoded eval samples kept per evaluation */
#define PPO_SAMPLE_CHARS 512 /* capacity of one decoded sample */

/* The controller's command for one step, broadcast over world as bytes. */
typedef struct {
  long step;   /* step index (0-based) */
  double lr;   /* learning rate of this step */
  double beta; /* KL coefficient of this step */
  int stop;    /* 1: stop at this boundary, nothing else is done */
} ppo_cmd;

/* Metrics of one step, valid on rank 0 (the controller). */
typedef struct {
  double kl_k1, kl_k2, kl_k3;   /* mean over rollouts of the per-response KL estimates (nats) */
  double proxy;                 /* mean proxy objective (ensemble objective of the members) */
  double gold;                  /* mean gold score */
  double objective;             /* mean of the score optimized (proxy objective or gold) */
  double ens_var;               /* mean population variance over members */
  double entropy;               /* mean policy entropy over response tokens at the rollout */
  double resp_len;              /* mean response tokens (including a final EOT) */
  double policy_loss;           /* token-weighted mean of the clipped surrogate over minibatches */
  double clipfrac;              /* token-weighted clip fraction over minibatches */
  double approx_kl;             /* token-weighted k3 estimate of KL(old || new) over minibatches */
  double vf_loss;               /* token-weighted clipped value loss (before vf_coef) */
  double member_score[CFG_MAX_MEMBERS]; /* (K) mean score of each member */
  double t_generate;            /* seconds in generation (rank 0) */
  double t_score;               /* seconds in rm_ensemble_score + gold_score_all (rank 0) */
  double t_update;              /* seconds in teacher forcing, GAE and the PPO epochs (rank 0) */
  double t_mpi;                 /* seconds in this module's own collectives (rank 0) */
} ppo_metrics;

/* Metrics of one evaluation, valid on rank 0. */
typedef struct {
  double kl_k1, kl_k2, kl_k3; /* mean KL estimates over the eval responses */
  double proxy;               /* mean proxy objective */
  double gold;                /* mean gold score */
  char samples[PPO_N_SAMPLES][PPO_SAMPLE_CHARS]; /* decoded "prompt|response" of the first ones */
  double sample_gold[PPO_N_SAMPLES];  /* their gold scores */
  double sample_proxy[PPO_N_SAMPLES]; /* their proxy objectives */
  int n_samples;              /* decoded samples kept (<= PPO_N_SAMPLES) */
} ppo_eval_metrics;

/* What a PPO run needs; models are owned by the caller. Pointers unused by a rank's roles may
 * be NULL (policy/ref/value off rollout ranks, gold off RM ranks). ens must exist on every rank
 * with ens->k = K (rm_ensemble_load gives that). */
typedef struct {
  const oo_config *cfg;   /* resolved config (ppo.*, prefs.prompt_len/response_len, run.seed) */
  const oo_comms *comms;  /* world, policy_comm, rm_comm */
  const oo_layout *lay;   /* roles */
  obj_spec obj;           /* proxy objective of this run */
  int use_gold;           /* 1: optimize the gold score (ppo.reward = gold) */
  gpt *policy;            /* LM (GPT_LM_VALUE with ppo.value = head) being trained (gpt_alloc_train by init) */
  gpt *ref;               /* frozen pi_init */
  gpt *value;             /* GPT_VALUE being trained (ppo.value = model), NULL with ppo.value = head */
  rm_ensemble *ens;       /* proxy members hosted here */
  gold_model *gold;       /* gold RM (RM ranks) */
  gold_model *warm;       /* WARM (RM ranks; objective warm), or NULL */
  const int *train_prompts; /* (n_train, Tp) PPO_TRAIN prompts, each [EOT, prompt_len bytes] */
  int n_train;            /* PPO_TRAIN prompts */
  const int *eval_prompts;  /* (n_eval, Tp) PPO_EVAL prompts */
  int n_eval;             /* PPO_EVAL prompts */

  /* derived sizes */
  int value_head;         /* 1: ppo.value = head (values from the policy's scalar head) */
  int prompt_len, response_len; /* prompt bytes, response bytes (prefs.prompt_len, prefs.response_len) */
  int Tp, Tmax, Tr;       /* prompt_len+1, prompt_len+response_len+2, response_len+1 */
  int K;                  /* members */
  int n_roll, roll_rank;  /* rollout ranks, this rank's index (-1 if not rollout) */
  int n_cap;              /* rows of the global arrays: max(ppo.batch, n_eval) */
  int gen_cap;            /* rows this rank generates at most */
  int fwd_cap;            /* rows per teacher-forced forward */

  /* buffers (allocated once by ppo_ctx_init) */
  int *tok;               /* (n_cap, Tmax) sequences, EOT padded */
  int *len;               /* (n_cap) sequence lengths */
  int *rlen;              /* (n_cap) response tokens = len - Tp */
  float *matrix;          /* (n_cap, K) member scores */
  float *var;             /* (n_cap) population variance over members (rank 0, for the metrics) */
  float *gold_s;          /* (n_cap) gold scores */
  float *proxy_s;         /* (n_cap) proxy objective */
  float *lvar;            /* (n_cap, K) members' Laplace variances (laplace_uwo, ens_laplace) */
  float *score;           /* (n_cap) the score optimized */
  float *logp, *logp_ref, *values, *ent; /* (n_cap, Tr) per response token */
  float *rewards, *adv, *ret;            /* (n_cap, Tr) */
  double *k1, *k2, *k3;   /* (n_cap) per-response KL estimates */
  int *gen_prompt;        /* (gen_cap, Tp) */
  int *gen_tok;           /* (gen_cap, Tr) */
  int *gen_len;           /* (gen_cap) */
  oo_rng *gen_rng;        /* (gen_cap) */
  gpt_kvcache kv;         /* generation cache for gen_cap rows */
  int *order;             /* (batch) minibatch order */
  int *mb_rows;           /* (fwd_cap) global row of each local minibatch row */
  int *fwd_tok;           /* (fwd_cap, Tmax) teacher-forcing input */
  int *mb_rlen;           /* (fwd_cap) */
  float *mb_logp, *mb_old, *mb_adv, *mb_ret, *mb_vold, *mb_v, *mb_dlogp, *mb_dv; /* (fwd_cap, Tr) */
  int *cnt, *disp;        /* (world size) Allgatherv counts and displacements */
  double t_mpi;           /* running seconds in this module's collectives */
  train_step_ctx train;   /* the optimizer step of policy (and value model) over policy_comm; its
                           * guard counts the batches skipped in this run (run.skip_nonfinite) */
} ppo_ctx;

/* Sizes and allocates every buffer, gpt_alloc_train on policy (and value), reserves the models'
 * activations and the KV cache. Not collective. The caller fills the fields above "derived
 * sizes" first. Free with ppo_ctx_free (the models stay the caller's). */
int ppo_ctx_init(ppo_ctx *x);
void ppo_ctx_free(ppo_ctx *x);

/* Collective on world: one PPO step with cmd (identical on every rank). m is filled on rank 0. */
int ppo_step(ppo_ctx *x, const ppo_cmd *cmd, ppo_metrics *m);

/* Collective on world: samples one response per eval prompt (stream (seed, RNG_PPO, i, 0xEEEE)
 * for eval prompt i, the same at every evaluation), scores gold and proxy, and estimates the KL by
 * teacher forcing policy and reference. e is filled on rank 0. */
int ppo_eval(ppo_ctx *x, ppo_eval_metrics *e);

/* AdamW, schedule and clip of the policy and value function: the schedule gives the controller's
 * ppo_cmd.lr of step s (gpt_optim_lr), weight decay 0, clip 1.0. Not collective. */
gpt_optim ppo_optim(const oo_config *cfg);

/* Collective on world: the controller's command (rank 0's cmd) to every rank. */
int ppo_bcast_cmd(ppo_ctx *x, ppo_cmd *cmd);

#endif
