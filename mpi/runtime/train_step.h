/* train_step: the one data-parallel optimizer step of every model this program trains (the base
 * LMs in pretrain, the reward members in rm, the policy and value function in ppo):
 *   gradients scaled by this rank's share of the batch and summed over the model's replicas (one
 *   allreduce of the flat buffer, collectives.h), the loss's partial sums summed alike, the global
 *   gradient norm, the non-finite check (#12), the clip and AdamW at the caller's learning rate
 *   (src/model/gpt.h gpt_optim_update: the single-process math).
 *
 * Non-finite batches: a loss or gradient norm that is NaN or inf either stops training with the
 * stage, step and rank named, or, with run.skip_nonfinite = N > 0, skips the batch: the update is
 * not applied (weights and AdamW moments unchanged) but the step is consumed (m->step advances, so
 * the data and the schedule move on), the batch is counted, and the (N+1)-th such batch stops as
 * before. The check is on the summed loss and the norm of the summed gradient, which every rank of
 * the communicator holds alike, so all ranks take the same decision and none waits in a collective.
 *
 * OVEROPT_TEST_NONFINITE (tests only, inactive unless set): "WHAT:STEP[,STEP...]" poisons one
 * gradient entry with NaN on the communicator's last rank before the allreduce of step STEP
 * (1-based) of the model named WHAT (e.g. "rm member 1:3", "pretrain d32L1H2:2,5", "ppo mean:1"),
 * so the decision can be tested across ranks. A step is one optimizer update: in ppo that is one
 * minibatch (ppo.epochs x ppo.batch / ppo.minibatch updates per PPO step), counted over the run.
 */
#ifndef OO_TRAIN_STEP_H
#define OO_TRAIN_STEP_H

#include <mpi.h>

#include "model/gpt.h"

/* How many non-finite batches a training loop may skip, and how many it has. */
typedef struct {
  int skip_max; /* run.skip_nonfinite: 0 = stop at the first */
  int skipped;  /* batches skipped so far */
} train_guard;

/* Not collective. OO_OK with *skip = 0 if loss and grad_norm are finite; OO_OK with *skip = 1 if
 * not and g->skipped < g->skip_max (counted; a warning names the batch when warn); otherwise an
 * error such as "pretrain d32L1H2: step 17: the loss is not finite (loss nan, gradient norm 0.7) on
 * rank 1 ...". stage names the stage and model; step counts from 1; rank is the world rank. Call
 * it with values every rank of the training group holds alike. */
int train_guard_check(train_guard *g, const char *stage, long step, int rank, double loss, double grad_norm,
                      int warn, int *skip);

typedef struct {
  char what[96];     /* the model in messages and OVEROPT_TEST_NONFINITE: "pretrain d32L1H2", "rm member 2" */
  MPI_Comm comm;     /* the model's replicas: gradients and loss sums are summed over it */
  int rank;          /* world rank, for messages */
  gpt_optim opt;     /* schedule, AdamW decay and clip */
  train_guard guard; /* non-finite batches skipped and allowed */
  float norm;        /* gradient norm of the last call's first model, before clipping */
  int skipped_last;  /* 1 when the last call skipped its batch */
  double t_comm;     /* seconds in this module's collectives, summed over calls */
} train_step_ctx;

/* Not collective: t for a model trained on comm with opt; skip_max from run.skip_nonfinite. */
void train_step_init(train_step_ctx *t, const char *what, MPI_Comm comm, int rank, const gpt_optim *opt,
                     int skip_max);

/* Collective on t->comm. For each of models[0..n_models) (their gradients of this rank's share):
 * grads *= scale and summed over comm; sums[0..n_sums) summed over comm in place; the loss
 * sums[0] / loss_div (with n_sums = 0 only the norms are checked) and each model's global
 * gradient norm go through train_guard_check; then every model is clipped to t->opt.max_norm by
 * its own norm and takes AdamW at lr, or, for a skipped batch, none does. step is 1-based (for
 * messages: the model's optimizer update, skipped ones included). Returns OO_OK (t->skipped_last says which) or the guard's error on every rank alike. */
int train_step(train_step_ctx *t, gpt *const *models, int n_models, float scale, double *sums, int n_sums,
               double loss_div, long step, float lr);

#endif
