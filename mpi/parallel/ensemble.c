/* ensemble: member-score statistics over rm_comm (see ensemble.h for who scores what). */
#include "ensemble.h"

#include <math.h>

#include "core/core.h"

/* Samples per SUM-allreduce: the (Σr, Σr², count) buffer lives on the stack (no allocation). */
#define ENSEMBLE_CHUNK 128

int ensemble_scores_sample(const oo_layout *lay, int rank, int member, int sample) {
  int rep = layout_replica(lay, rank, member);
  return rep >= 0 && sample % lay->n_replicas[member] == rep;
}

int ensemble_stats(const oo_comms *c, const oo_layout *lay, int n,
                   const float *local, // (n,K)
                   float *mean,        // (n)
                   float *var,         // (n)
                   float *min,         // (n)
                   float *matrix) {    // (n,K) or NULL
  REQUIRE(c->rm_comm != MPI_COMM_NULL,
          "ensemble_stats called on rank %d, which is not an RM rank (layout.rm_ranks)", c->rank);
  REQUIRE(c->k == lay->k && lay->n_ranks == c->size,
          "ensemble_stats: communicators (K=%d, P=%d) and layout (K=%d, P=%d) disagree", c->k,
          c->size, lay->k, lay->n_ranks);
  const int K = lay->k;
  /* Local contributions that break the ownership rule (ensemble_scores_sample): counted here,
   * summed with the statistics so every RM rank fails alike instead of one rank leaving. */
  int bad_local = 0, bad_sample = -1, bad_member = -1;
  double send[3 * ENSEMBLE_CHUNK + 1], recv[3 * ENSEMBLE_CHUNK + 1];
  double bad_total = 0;
  for (int i0 = 0; i0 < n; i0 += ENSEMBLE_CHUNK) {
    int cn = n - i0 < ENSEMBLE_CHUNK ? n - i0 : ENSEMBLE_CHUNK;
    for (int ii = 0; ii < cn; ii++) {
      int i = i0 + ii;
      double s = 0, s2 = 0, cnt = 0;
      float lo = INFINITY;
      for (int m = 0; m < K; m++) {
        float r = local[(size_t)i * K + m];
        int scored = !isnan(r);
        if (scored != ensemble_scores_sample(lay, c->rank, m, i)) {
          if (!bad_local++) bad_sample = i, bad_member = m;
        }
        if (!scored) continue;
        s += r;
        s2 += (double)r * r;
        cnt += 1;
        if (r < lo) lo = r;
      }
      send[3 * ii] = s;
      send[3 * ii + 1] = s2;
      send[3 * ii + 2] = cnt;
      min[i] = lo;
    }
    send[3 * cn] = bad_local;
    CHECK_MPI(MPI_Allreduce(send, recv, 3 * cn + 1, MPI_DOUBLE, MPI_SUM, c->rm_comm));
    bad_total += recv[3 * cn];
    for (int ii = 0; ii < cn; ii++) {
      int i = i0 + ii;
      if (recv[3 * ii + 2] != K) bad_total += 1; /* also caught above; belt and braces */
      double mu = recv[3 * ii] / K;
      mean[i] = (float)mu;
      double v = recv[3 * ii + 1] / K - mu * mu;
      var[i] = (float)(v > 0 ? v : 0);
    }
  }
  if (bad_total > 0) {
    if (bad_local)
      OO_FAIL("ensemble_stats: scores do not follow ensemble_scores_sample on the RM ranks; on "
              "rank %d, %d (sample, member) entries are wrong, first: sample %d member %d %s "
              "(a NaN score counts as not scored)",
              c->rank, bad_local, bad_sample, bad_member,
              ensemble_scores_sample(lay, c->rank, bad_member, bad_sample)
                  ? "is missing here"
                  : "was scored here but belongs to another rank");
    OO_FAIL("ensemble_stats: scores do not follow ensemble_scores_sample on another RM rank "
            "(this rank %d is consistent; see that rank's message)", c->rank);
  }
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, min, n, MPI_FLOAT, MPI_MIN, c->rm_comm));
  if (!matrix) return OO_OK;

  for (size_t e = 0; e < (size_t)n * K; e++) matrix[e] = isnan(local[e]) ? -INFINITY : local[e];
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, matrix, n * K, MPI_FLOAT, MPI_MAX, c->rm_comm));
  for (int i = 0; i < n; i++) { /* two-pass variance from the exact matrix */
    const float *row = matrix + (size_t)i * K;
    double mu = 0, v = 0;
    for (int m = 0; m < K; m++) mu += row[m];
    mu /= K;
    for (int m = 0; m < K; m++) v += (row[m] - mu) * (row[m] - mu);
    mean[i] = (float)mu;
    var[i] = (float)(v / K);
  }
  return OO_OK;
}
