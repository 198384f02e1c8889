/* test_ensemble_gather: the one collective of ensemble scoring. Every rank passes the scores it
 * owns (ensemble_scores_sample) and NaN elsewhere; the assembled (n,K) matrix must be bitwise the
 * scores themselves on every rank of the world (RM or not), for K = 5 and 3, every rm_ranks
 * setting of this world and batch sizes 1, 7 and 300; then the statistics computed from it
 * locally (ensemble_row_stats) equal those of the single-process matrix bitwise. A missing or
 * doubly-scored entry fails on every rank alike. Run on 1, 2 and 4 ranks. */
#include <math.h>
#include <string.h>

#include "comm.h"
#include "core/core.h"
#include "ensemble.h"
#include "layout.h"
#include "rlhf/rlhf.h"
#include "testing.h"

/* Score of (sample i, member m): the same on every rank. */
static float score(int i, int m) {
  oo_rng g = oo_rng_make(1234, RNG_TEST, (uint64_t)i, (uint64_t)m);
  float offset = (i % 3 == 0) ? 300.0f : 0.0f;
  return offset + 2.0f * oo_rng_normal(&g);
}

static void run_case(int P, int rank, int k, int rm, int n) {
  oo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.rm.k = k;
  cfg.layout.rm_ranks = rm;
  oo_layout lay;
  oo_comms c;
  EXPECT_OK(layout_build(&lay, P, &cfg));
  EXPECT_OK(comm_build(&c, MPI_COMM_WORLD, &lay));
  float *buf = xmalloc_floats((size_t)n * k + 1), *want = xmalloc_floats((size_t)n * k);
  float *s1 = xmalloc_floats(3 * (size_t)n), *s2 = xmalloc_floats(3 * (size_t)n);
  for (int i = 0; i < n; i++)
    for (int m = 0; m < k; m++) {
      want[i * k + m] = score(i, m);
      buf[i * k + m] = ensemble_scores_sample(&lay, rank, m, i) ? score(i, m) : NAN;
    }
  EXPECT_OK(ensemble_gather(&c, &lay, n, buf));
  EXPECT_MSG(!memcmp(buf, want, sizeof(float) * (size_t)n * k), "P=%d k=%d rm=%d n=%d: matrix differs", P, k, rm, n);
  ensemble_row_stats(s1, s1 + n, s1 + 2 * n, buf, n, k);
  ensemble_row_stats(s2, s2 + n, s2 + 2 * n, want, n, k);
  EXPECT(!memcmp(s1, s2, sizeof(float) * 3 * (size_t)n));
  /* Ownership errors are detected on every rank alike. Drop the owner's score of
   * (sample 1, member 0), then have every rank score (sample 0, all members). */
  if (n >= 2) {
    int owner = layout_member_rank(&lay, 0, 1 % lay.n_replicas[0]);
    for (int i = 0; i < n; i++)
      for (int m = 0; m < k; m++) buf[i * k + m] = ensemble_scores_sample(&lay, rank, m, i) ? score(i, m) : NAN;
    if (rank == owner) buf[1 * k + 0] = NAN;
    EXPECT(ensemble_gather(&c, &lay, n, buf) != 0);
    EXPECT_MSG(strstr(oo_error_message(), "ensemble_scores_sample"), "%s", oo_error_message());
    for (int i = 0; i < n; i++)
      for (int m = 0; m < k; m++) buf[i * k + m] = ensemble_scores_sample(&lay, rank, m, i) ? score(i, m) : NAN;
    for (int m = 0; m < k; m++) buf[m] = score(0, m);
    if (P > 1) /* then some rank claims a member it does not host */
      EXPECT(ensemble_gather(&c, &lay, n, buf) != 0);
  }
  xfree(&buf);
  xfree(&want);
  xfree(&s1);
  xfree(&s2);
  comm_free(&c);
  layout_free(&lay);
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int P = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long live0 = oo_mem_live_blocks();
  const int ks[] = {5, 3}, ns[] = {1, 7, 300};
  for (int ki = 0; ki < 2; ki++)
    for (int rm = 0; rm <= P; rm++)
      for (int ni = 0; ni < 3; ni++) run_case(P, rank, ks[ki], rm, ns[ni]);
  EXPECT(oo_mem_live_blocks() == live0);
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("ensemble_gather on %d ranks: %d failures over all ranks\n", P, all);
  int rc = TEST_SUMMARY();
  MPI_Finalize();
  return all ? 1 : rc;
}
