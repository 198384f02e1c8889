/* test_allreduce: dp_allreduce_grads (mpi/runtime/collectives.h) on a tiny model's flat gradient buffer,
 * against the scaled sum computed directly (every rank can compute every rank's gradient here).
 * 1. Dyadic gradients and a power-of-two scale: every partial sum is exact, so the result must
 *    equal the direct sum to the bit.
 * 2. Random gradients, uneven rows per rank (scale = local rows / global rows, the stages' use):
 *    within the float summation bound (P - 1) u sum_r |scale_r g_r| of the direct double sum.
 * 3. Every rank of the communicator ends with the same bits (replicas must stay identical).
 * 4. On a split communicator (even / odd world ranks) only that communicator's ranks are summed;
 *    a communicator of one rank only scales.
 * 5. A model without gradients is refused on every rank alike, before any collective.
 * 6. train_step (mpi/runtime/train_step.h), the optimizer step every stage uses: the update equals
 *    gpt_optim_update of one process applied to the summed gradient, bitwise, and the replicas stay
 *    identical; the loss sums are summed; a NaN in one rank's gradient (directly, or through the
 *    OVEROPT_TEST_NONFINITE hook) is skipped by every rank alike within run.skip_nonfinite
 *    (weights and moments unchanged, the step consumed) and stops every rank alike beyond it.
 * Run on 2 and 4 ranks. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectives.h"
#include "comm.h"
#include "core/core.h"
#include "model/gpt.h"
#include "testing.h"
#include "train_step.h"

static const gpt_dims dims = {GPT_VOCAB, 8, 16, 1, 2};
static double worst_ratio = 0; /* largest |got - want| / bound seen in case 2 */

/* Gradient entry i of (world) rank r in case 1: a multiple of 2^-4 in [-8, 8 + P]. */
static float dyadic(int r, size_t i) { return (float)((int)(i % 17) - 8 + r) * 0.0625f; }

static float random_grad(int r, size_t i) {
  oo_rng g = oo_rng_make(99, RNG_TEST, (uint64_t)r, (uint64_t)i);
  return oo_rng_normal(&g);
}

/* Ranks of comm agree bitwise on m's gradients. */
static int same_on_all_ranks(const gpt *m, MPI_Comm comm) {
  float *root = xmalloc_floats(m->n_params);
  memcpy(root, m->grads, sizeof(float) * m->n_params);
  MPI_Bcast(root, (int)m->n_params, MPI_FLOAT, 0, comm);
  int same = memcmp(root, m->grads, sizeof(float) * m->n_params) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, comm);
  xfree(&root);
  return all;
}

/* Cases 1-3 on comm, whose ranks are the world ranks members[0..n). */
static void run_cases(gpt *m, MPI_Comm comm, const int *members, int n, int me) {
  const size_t np = m->n_params;
  /* 1. exact */
  for (size_t i = 0; i < np; i++) m->grads[i] = dyadic(me, i);
  EXPECT_OK(dp_allreduce_grads(m, comm, 0.5f));
  size_t wrong = 0;
  for (size_t i = 0; i < np; i++) {
    double want = 0;
    for (int q = 0; q < n; q++) want += 0.5 * dyadic(members[q], i);
    wrong += (double)m->grads[i] != want;
  }
  EXPECT_MSG(wrong == 0, "%zu of %zu dyadic sums differ from the exact sum (%d ranks)", wrong, np, n);
  EXPECT(same_on_all_ranks(m, comm));

  /* 2. rows r + 1 on world rank r: scale = (r + 1) / sum of rows */
  int rows_total = 0;
  for (int q = 0; q < n; q++) rows_total += members[q] + 1;
  for (size_t i = 0; i < np; i++) m->grads[i] = random_grad(me, i);
  EXPECT_OK(dp_allreduce_grads(m, comm, (float)(me + 1) / (float)rows_total));
  wrong = 0;
  for (size_t i = 0; i < np; i++) {
    double want = 0, mag = 0;
    for (int q = 0; q < n; q++) {
      float term = random_grad(members[q], i) * ((float)(members[q] + 1) / (float)rows_total);
      want += term;
      mag += fabs(term);
    }
    const double bound = (n - 1) * 0x1p-24 * mag + 0x1p-24 * fabs(want); /* sum order, final rounding */
    const double err = fabs((double)m->grads[i] - want);
    if (bound > 0 && err / bound > worst_ratio) worst_ratio = err / bound;
    wrong += err > bound;
  }
  EXPECT_MSG(wrong == 0, "%zu of %zu scaled sums outside the float summation bound (%d ranks)", wrong, np, n);
  EXPECT(same_on_all_ranks(m, comm));

  /* scale 1: a plain sum */
  for (size_t i = 0; i < np; i++) m->grads[i] = dyadic(me, i);
  EXPECT_OK(dp_allreduce_grads(m, comm, 1.0f));
  wrong = 0;
  for (size_t i = 0; i < np; i++) {
    double want = 0;
    for (int q = 0; q < n; q++) want += dyadic(members[q], i);
    wrong += (double)m->grads[i] != want;
  }
  EXPECT_MSG(wrong == 0, "%zu of %zu unscaled sums wrong (%d ranks)", wrong, np, n);
}

/* Ranks of comm agree bitwise on n floats at x. */
static int same_floats(const float *x, size_t n, MPI_Comm comm) {
  float *root = xmalloc_floats(n);
  memcpy(root, x, sizeof(float) * n);
  MPI_Bcast(root, (int)n, MPI_FLOAT, 0, comm);
  int same = memcmp(root, x, sizeof(float) * n) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, comm);
  xfree(&root);
  return all;
}

/* 6. train_step on the world. */
static void run_train_step(int me, int P) {
  gpt m, ref;
  EXPECT_OK(gpt_create(&m, dims, GPT_LM));
  EXPECT_OK(gpt_create(&ref, dims, GPT_LM));
  gpt_init_weights(&m, 5, 0.1f, 0.0f);
  gpt_alloc_train(&m);
  gpt_alloc_train(&ref);
  const size_t np = m.n_params;
  const gpt_optim opt = {1e-3f, 1e-4f, 2, 10, 0.1f, 1e9f}; /* no clip: the summed gradient stays visible */
  train_step_ctx ts;
  train_step_init(&ts, "unit", MPI_COMM_WORLD, me, &opt, 2);
  for (long step = 1; step <= 3; step++) {
    for (size_t i = 0; i < np; i++) m.grads[i] = random_grad(me + 10 * (int)step, i);
    memcpy(ref.params, m.params, sizeof(float) * np);
    memcpy(ref.adam_m, m.adam_m, sizeof(float) * np);
    memcpy(ref.adam_v, m.adam_v, sizeof(float) * np);
    ref.step = m.step;
    double sums[2] = {me + 1.0, 1.0};
    const float lr = gpt_optim_lr(&opt, step - 1);
    EXPECT_OK(train_step(&ts, (gpt *[]){&m}, 1, 1.0f / (float)P, sums, 2, P, step, lr));
    EXPECT(!ts.skipped_last && sums[0] == P * (P + 1) / 2.0 && sums[1] == P);
    memcpy(ref.grads, m.grads, sizeof(float) * np); /* the summed gradient (unclipped) */
    gpt_optim_update(&ref, &opt, lr, gpt_grad_norm(&ref));
    EXPECT_MSG(!memcmp(ref.params, m.params, sizeof(float) * np) && ref.step == m.step,
               "step %ld: train_step differs from gpt_optim_update on the summed gradient", step);
    EXPECT(same_floats(m.params, np, MPI_COMM_WORLD) && same_floats(m.adam_v, np, MPI_COMM_WORLD));
  }
  /* a NaN on the last rank: skipped everywhere (1 of 2), then through the test hook (2 of 2) */
  memcpy(ref.params, m.params, sizeof(float) * np);
  memcpy(ref.adam_m, m.adam_m, sizeof(float) * np);
  long step0 = m.step;
  for (size_t i = 0; i < np; i++) m.grads[i] = random_grad(me, i);
  if (me == P - 1) m.grads[7] = NAN;
  double loss = 1.0;
  EXPECT_OK(train_step(&ts, (gpt *[]){&m}, 1, 1.0f, &loss, 1, 1.0, 4, 1e-3f));
  EXPECT(ts.skipped_last && ts.guard.skipped == 1 && m.step == step0 + 1);
  EXPECT(!memcmp(ref.params, m.params, sizeof(float) * np) && !memcmp(ref.adam_m, m.adam_m, sizeof(float) * np));
  setenv("OVEROPT_TEST_NONFINITE", "unit:5", 1);
  for (size_t i = 0; i < np; i++) m.grads[i] = random_grad(me, i);
  loss = 1.0;
  EXPECT_OK(train_step(&ts, (gpt *[]){&m}, 1, 1.0f, &loss, 1, 1.0, 5, 1e-3f));
  EXPECT(ts.skipped_last && ts.guard.skipped == 2 && !memcmp(ref.params, m.params, sizeof(float) * np));
  /* beyond run.skip_nonfinite: every rank stops with the message */
  for (size_t i = 0; i < np; i++) m.grads[i] = random_grad(me, i);
  setenv("OVEROPT_TEST_NONFINITE", "unit:4,6", 1);
  loss = 1.0;
  EXPECT(train_step(&ts, (gpt *[]){&m}, 1, 1.0f, &loss, 1, 1.0, 6, 1e-3f) != OO_OK);
  EXPECT_MSG(strstr(oo_error_message(), "unit: step 6: the gradient norm is not finite"), "%s", oo_error_message());
  oo_error_clear();
  unsetenv("OVEROPT_TEST_NONFINITE");
  gpt_free(&m);
  gpt_free(&ref);
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int P = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long live = oo_mem_live_blocks();
  gpt m;
  EXPECT_OK(gpt_create(&m, dims, GPT_LM));

  /* 5. before gpt_alloc_train: refused everywhere, no collective entered */
  EXPECT(dp_allreduce_grads(&m, MPI_COMM_WORLD, 1.0f) != 0);
  EXPECT(strstr(oo_error_message(), "model has no gradients") != NULL);

  gpt_alloc_train(&m);
  int world[64];
  for (int q = 0; q < P && q < 64; q++) world[q] = q;
  run_cases(&m, MPI_COMM_WORLD, world, P, rank);

  /* 4. even and odd world ranks apart */
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  int members[64], n = 0;
  for (int q = rank % 2; q < P && n < 64; q += 2) members[n++] = q;
  run_cases(&m, half, members, n, rank);
  MPI_Comm_free(&half);
  gpt_free(&m);
  run_train_step(rank, P);
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);

  double worst_all = 0;
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&worst_ratio, &worst_all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0)
    printf("test_allreduce on %d ranks (%zu parameters): largest error %.3g of the summation bound; "
           "%d failures over all ranks\n", P, m.n_params, worst_all, all);
  int rc = TEST_SUMMARY();
  MPI_Finalize();
  return all ? 1 : rc;
}
