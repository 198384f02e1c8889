/* test_bon_dist: the distributed scorers of the bon stage (and PPO) against a single process.
 * Random tiny reward members (written to a temporary rm.h5 and loaded with rm_ensemble_load) and a
 * random gold score n random sequences; rm_ensemble_score's matrix and gold_score_all's scores on
 * every rank, for every rm_ranks setting of this world, must equal gpt_score_last / gold_score over
 * all n sequences in one process (chunks of 32). Member scores: tolerance tol_gpt_forward
 * (testing.h): rows are strided over RM ranks when a member has several replicas, which changes
 * the composition (and the padded length) of each forward chunk, so results may differ in the
 * last bits; the test prints how many scores were bitwise equal and the largest difference. Gold
 * scores: bitwise equal, since the gold's rows go to RM ranks in whole chunks (layout.h).
 * Run on 1, 2 and 4 ranks. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"
#include "core/core.h"
#include "layout.h"
#include "model/gpt.h"
#include "rlhf/gold.h"
#include "rm_ensemble.h"
#include "testing.h"

enum { K = 3, NSEQ = 150, TMAX = 30 };
static const gpt_dims DIMS = {GPT_VOCAB, 48, 32, 1, 2};

static double worst = 0;       /* largest relative difference seen */
static long n_exact = 0, n_cmp = 0;

static void compare(float got, float want, const char *what, int rm, int i) {
  double d = fabs((double)got - want) / fmax(1.0, fabs((double)want));
  worst = fmax(worst, d);
  n_cmp++;
  n_exact += got == want;
  EXPECT_MSG(d <= tol_gpt_forward(DIMS.C, DIMS.L, DIMS.T, 1.0), "%s rm_ranks=%d sample %d: %.9g vs %.9g", what,
             rm, i, got, want);
}

static void make_member(gpt *m, int j) {
  gpt_create(m, DIMS, GPT_REWARD);
  gpt_init_weights(m, 100 + (uint64_t)j, 0.2f, 1.0f);
  m->reward_shift = 0.25f * (float)(j + 1);
  m->reward_scale = 0.5f + (float)j;
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) return 1;
  int rank, P;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);

  /* rm.h5 with K random members, written by rank 0. */
  int pid = (int)getpid();
  MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
  char path[256];
  snprintf(path, sizeof path, "/tmp/test_bon_dist_%d.h5", pid);
  gpt members[K];
  for (int j = 0; j < K; j++) make_member(&members[j], j);
  if (rank == 0) {
    h5_writer w;
    EXPECT_OK(h5_create(&w, path));
    EXPECT_OK(h5_attr_write_int(&w, "/", "k", K));
    for (int j = 0; j < K; j++) {
      char g[32];
      snprintf(g, sizeof g, "member_%d", j);
      EXPECT_OK(gpt_write(&members[j], &w, g, 0));
    }
    EXPECT_OK(h5_commit(&w));
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* The gold: a random reward model with a calibration, the same on every rank. */
  gold_model gold;
  memset(&gold, 0, sizeof gold);
  gold.kind = GOLD_RANDOM;
  gpt_create(&gold.model, DIMS, GPT_REWARD);
  gpt_init_weights(&gold.model, 999, 0.2f, 1.0f);
  EXPECT_OK(gold_set_calibration(&gold, 0.3, 1.7));

  /* n random sequences [EOT, bytes...] of random lengths, -1 padded. */
  int *tok = xmalloc(sizeof(int) * NSEQ * TMAX), *len = xmalloc(sizeof(int) * NSEQ);
  oo_rng r = oo_rng_make(5, RNG_TEST, 1, 0);
  for (int i = 0; i < NSEQ; i++) {
    len[i] = 1 + (int)oo_rng_below(&r, TMAX);
    for (int t = 0; t < TMAX; t++)
      tok[i * TMAX + t] = t == 0 ? GPT_EOT : t < len[i] ? (int)oo_rng_below(&r, GPT_VOCAB) : -1;
  }

  /* Single-process reference. */
  float want[NSEQ * K], want_gold[NSEQ], raw[NSEQ];
  for (int j = 0; j < K; j++) {
    gpt_score_last(&members[j], tok, len, NSEQ, TMAX, 32, raw);
    for (int i = 0; i < NSEQ; i++) want[i * K + j] = (raw[i] - members[j].reward_shift) / members[j].reward_scale;
  }
  EXPECT_OK(gold_score(&gold, tok, len, NSEQ, TMAX, want_gold));

  float matrix[NSEQ * K], got_gold[NSEQ];
  for (int rm = 0; rm <= P; rm++) {
    if (rm == P && P > 1) continue; /* rm_ranks = P is the same layout as 0 */
    oo_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rm.k = K;
    cfg.layout.rm_ranks = rm;
    oo_layout lay;
    oo_comms c;
    EXPECT_OK(layout_build(&lay, P, &cfg));
    EXPECT_OK(comm_build(&c, MPI_COMM_WORLD, &lay));
    rm_ensemble e;
    EXPECT_OK(rm_ensemble_load(&e, path, &lay, rank, K, DIMS.T, DIMS.C, DIMS.L, DIMS.NH));
    /* Twice: the second call reuses the scratch sized by the first. */
    for (int rep = 0; rep < 2; rep++) {
      memset(matrix, 0, sizeof matrix);
      memset(got_gold, 0, sizeof got_gold);
      EXPECT_OK(rm_ensemble_score(&e, &c, &lay, tok, len, NSEQ, TMAX, matrix));
      EXPECT_OK(gold_score_all(&gold, &c, &lay, tok, len, NSEQ, TMAX, got_gold));
      for (int i = 0; i < NSEQ; i++) {
        for (int j = 0; j < K; j++) compare(matrix[i * K + j], want[i * K + j], "member score", rm, i);
        EXPECT_MSG(got_gold[i] == want_gold[i], "gold score rm_ranks=%d sample %d: %.9g vs %.9g (must be bitwise)", rm,
                   i, got_gold[i], want_gold[i]);
      }
    }
    rm_ensemble_free(&e);
    comm_free(&c);
    layout_free(&lay);
  }
  if (rank == 0) remove(path);
  for (int j = 0; j < K; j++) gpt_free(&members[j]);
  gold_free(&gold);
  xfree(&tok);
  xfree(&len);
  printf("rank %d of %d: %ld of %ld scores bitwise equal to the single-process ones; largest relative "
         "difference %.3g\n",
         rank, P, n_exact, n_cmp, worst);
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  int code = TEST_SUMMARY();
  MPI_Finalize();
  return code || all ? 1 : 0;
}
