/* train_step: the distributed optimizer step and its non-finite guard (see train_step.h). */
#define _POSIX_C_SOURCE 200809L
#include "train_step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collectives.h"
#include "comm.h"
#include "core/core.h"

int train_guard_check(train_guard *g, const char *stage, long step, int rank, double loss, double grad_norm,
                      int warn, int *skip) {
  *skip = 0;
  if (isfinite(loss) && isfinite(grad_norm)) return OO_OK;
  const char *which = isfinite(loss) ? "gradient norm" : "loss";
  if (g->skipped < g->skip_max) {
    g->skipped++;
    *skip = 1;
    if (warn)
      LOG_WARN("%s: step %ld: the %s is not finite (loss %g, gradient norm %g): batch skipped, %d of "
               "run.skip_nonfinite = %d", stage, step, which, loss, grad_norm, g->skipped, g->skip_max);
    return OO_OK;
  }
  OO_FAIL("%s: step %ld: the %s is not finite (loss %g, gradient norm %g) on rank %d%s: training diverged or its "
          "input holds NaN/inf; lower the learning rate or check the input files (or let run.skip_nonfinite skip "
          "such batches), then rerun the stage",
          stage, step, which, loss, grad_norm, rank, g->skip_max > 0 ? " after the allowed skips" : "");
}

void train_step_init(train_step_ctx *t, const char *what, MPI_Comm comm, int rank, const gpt_optim *opt,
                     int skip_max) {
  memset(t, 0, sizeof *t);
  snprintf(t->what, sizeof t->what, "%s", what);
  t->comm = comm;
  t->rank = rank;
  t->opt = *opt;
  t->guard.skip_max = skip_max;
}

/* OVEROPT_TEST_NONFINITE = "WHAT:STEP[,STEP...]": 1 if this is a poisoned step of t's model. */
static int test_poisoned(const train_step_ctx *t, long step) {
  const char *env = getenv("OVEROPT_TEST_NONFINITE");
  if (!env || !*env) return 0;
  const char *colon = strrchr(env, ':');
  if (!colon || (size_t)(colon - env) != strlen(t->what) || strncmp(env, t->what, strlen(t->what))) return 0;
  for (const char *p = colon + 1; *p;) {
    char *end;
    long s = strtol(p, &end, 10);
    if (end == p) return 0;
    if (s == step) return 1;
    p = *end == ',' ? end + 1 : end;
  }
  return 0;
}

int train_step(train_step_ctx *t, gpt *const *models, int n_models, float scale, double *sums, int n_sums,
               double loss_div, long step, float lr) {
  REQUIRE(n_models >= 1 && n_models <= 2, "train_step: %d models (1 or 2)", n_models); /* before any collective */
  int size = 1, crank = 0;
  CHECK_MPI(MPI_Comm_size(t->comm, &size));
  CHECK_MPI(MPI_Comm_rank(t->comm, &crank));
  if (test_poisoned(t, step) && crank == size - 1) models[0]->grads[0] = NAN;
  double t0 = oo_now();
  for (int i = 0; i < n_models; i++) CHECK(dp_allreduce_grads(models[i], t->comm, scale));
  if (n_sums > 0 && size > 1) CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, n_sums, MPI_DOUBLE, MPI_SUM, t->comm));
  t->t_comm += oo_now() - t0;
  float norms[2];
  double worst = 0; /* the first non-finite norm, else the first: what the guard reports */
  for (int i = 0; i < n_models; i++) {
    norms[i] = gpt_grad_norm(models[i]);
    if (i == 0 || (isfinite(worst) && !isfinite(norms[i]))) worst = norms[i];
  }
  t->norm = norms[0];
  const double loss = n_sums > 0 ? sums[0] / loss_div : 0.0; /* no sums: only the norms are checked */
  int skip = 0;
  CHECK(train_guard_check(&t->guard, t->what, step, t->rank, loss, worst, crank == 0, &skip));
  t->skipped_last = skip;
  for (int i = 0; i < n_models; i++) {
    if (skip) models[i]->step++; /* the batch is consumed; weights and moments stay */
    else gpt_optim_update(models[i], &t->opt, lr, norms[i]);
  }
  return OO_OK;
}
