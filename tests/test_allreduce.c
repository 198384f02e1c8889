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
 * Run on 2 and 4 ranks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "collectives.h"
#include "comm.h"
#include "core/core.h"
#include "model/gpt.h"
#include "testing.h"

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
