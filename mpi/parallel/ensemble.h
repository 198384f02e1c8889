/* ensemble: statistics over the K proxy members' scores of a batch, combined over rm_comm.
 * Used by BoN and PPO alike.
 *
 * Who scores what: replica j of member m (layout.h) scores the samples i with
 * i % n_replicas[m] == j (ensemble_scores_sample), so each (sample, member) is scored exactly
 * once across the RM ranks, and the result does not depend on the number of ranks.
 *
 * Collectives: (Σr, Σr², count) are SUM-allreduced in double and min r MIN-allreduced, giving
 * mean / variance / min for the objectives (DESIGN.md); if matrix is requested, the full (n,K)
 * matrix is assembled on every RM rank by a MAX-allreduce in which each entry has exactly one
 * contributor (the others send -inf), so it is exact. With the matrix available, the variance is
 * recomputed two-pass from it (Σr² − K·mean² cancels when |mean| >> std); without it, the
 * variance is the double-precision Σr²/K − mean², clamped at 0.
 */
#ifndef OO_ENSEMBLE_H
#define OO_ENSEMBLE_H

#include "comm.h"
#include "layout.h"

/* 1 if `rank` must score `sample` with `member` (it hosts the member and its replica index is
 * sample % n_replicas[member]). */
int ensemble_scores_sample(const oo_layout *lay, int rank, int member, int sample);

/* Collective on c->rm_comm (call on every RM rank with the same n; an error on non-RM ranks).
 * local: (n,K) scores this rank computed, NaN where it did not score (member not hosted or
 * sample owned by another replica). Outputs, on every RM rank: mean (n) over members,
 * var (n) population variance over members, min (n), matrix (n,K) or NULL. Fails on every
 * RM rank alike if some (sample, member) was scored by no rank or by several (a NaN score
 * counts as not scored). No allocation. */
int ensemble_stats(const oo_comms *c, const oo_layout *lay, int n,
                   const float *local, // (n,K)
                   float *mean,        // (n)
                   float *var,         // (n)
                   float *min,         // (n)
                   float *matrix);     // (n,K) or NULL

#endif
