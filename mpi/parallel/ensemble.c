/* ensemble: the score matrix over the world (see ensemble.h for who scores what). */
#include "ensemble.h"

#include <math.h>

#include "core/core.h"

int ensemble_scores_sample(const oo_layout *lay, int rank, int member, int sample) {
  int rep = layout_replica(lay, rank, member);
  return rep >= 0 && sample % lay->n_replicas[member] == rep;
}

int ensemble_gather(const oo_comms *c, const oo_layout *lay, int n, float *buf) {
  REQUIRE(c->k == lay->k && lay->n_ranks == c->size,
          "ensemble_gather: communicators (K=%d, P=%d) and layout (K=%d, P=%d) disagree", c->k, c->size, lay->k,
          lay->n_ranks);
  const int K = lay->k;
  /* Entries that break the ownership rule are counted, and the count travels with the matrix, so
   * every rank fails alike instead of one rank leaving the collective. */
  int bad_local = 0, bad_sample = -1, bad_member = -1;
  for (int i = 0; i < n; i++)
    for (int m = 0; m < K; m++) {
      float *r = &buf[(size_t)i * K + m];
      int scored = !isnan(*r);
      if (scored != ensemble_scores_sample(lay, c->rank, m, i) && !bad_local++) bad_sample = i, bad_member = m;
      if (!scored) *r = -INFINITY;
    }
  const size_t nk = (size_t)n * K;
  REQUIRE(nk < (size_t)1 << 31, "ensemble_gather: %d samples x %d members exceed one collective", n, K);
  buf[nk] = (float)bad_local;
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)nk + 1, MPI_FLOAT, MPI_MAX, c->world));
  if (buf[nk] > 0) {
    if (bad_local)
      OO_FAIL("ensemble_gather: scores do not follow ensemble_scores_sample; on rank %d, %d (sample, member) entries "
              "are wrong, first: sample %d member %d %s (a NaN score counts as not scored)",
              c->rank, bad_local, bad_sample, bad_member,
              ensemble_scores_sample(lay, c->rank, bad_member, bad_sample)
                  ? "is missing here"
                  : "was scored here but belongs to another rank");
    OO_FAIL("ensemble_gather: scores do not follow ensemble_scores_sample on another rank (this rank %d is "
            "consistent; see that rank's message)", c->rank);
  }
  return OO_OK;
}
