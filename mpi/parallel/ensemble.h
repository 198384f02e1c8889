/* ensemble: the one collective of ensemble scoring. Every RM rank scores its share of a batch
 * with the members it hosts; ensemble_gather assembles the full (n,K) score matrix on every rank
 * of the world; the statistics and objectives are then a local function of that matrix
 * (src/rlhf/rlhf.h: ensemble_row_stats, ensemble_objective_rows), the same in PPO, best-of-n and
 * `overopt score`.
 *
 * Who scores what: replica j of member m (layout.h) scores the samples i with
 * i % n_replicas[m] == j (ensemble_scores_sample), so each (sample, member) is scored exactly
 * once across the RM ranks, and the result does not depend on the number of ranks.
 *
 * Collective: one MAX-allreduce over world in which each entry has exactly one contributor (the
 * others send -inf), so the matrix is exact (bitwise the scores the owners computed). One extra
 * entry carries the largest count of ownership violations on any rank, so every rank fails alike
 * when some (sample, member) was scored by the wrong rank or not at all.
 */
#ifndef OO_ENSEMBLE_H
#define OO_ENSEMBLE_H

#include "comm.h"
#include "layout.h"

/* 1 if `rank` must score `sample` with `member` (it hosts the member and its replica index is
 * sample % n_replicas[member]). */
int ensemble_scores_sample(const oo_layout *lay, int rank, int member, int sample);

/* Collective on c->world (every rank, the same n). buf holds n*K + 1 floats: on entry this rank's
 * scores (n,K) row-major, NaN where it did not score (a rank that hosts no member passes all NaN),
 * the last float is scratch; on return buf[0 .. n*K) is the full matrix on every rank. Fails on
 * every rank alike if some (sample, member) was scored by a rank that does not own it, or is
 * missing on its owner (a NaN score counts as not scored). No allocation. */
int ensemble_gather(const oo_comms *c, const oo_layout *lay, int n,
                    float *buf); // (n*K + 1)

#endif
