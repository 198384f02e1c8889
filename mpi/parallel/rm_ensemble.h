/* rm_ensemble: the trained proxy members (rm.h5) as hosted by this rank, and the one scoring
 * path that BoN and PPO share: every RM rank scores its share of a batch with its members, one
 * collective assembles the (n,K) matrix on every rank of the world (ensemble.h), and statistics and
 * objectives are computed from it locally (rlhf.h ensemble_row_stats, ensemble_objective_rows).
 *
 * rm.h5 layout: root attributes k, normalize, config_hash; group member_<m> per member (a reward
 * checkpoint with reward_shift/reward_scale set by the RM stage); metrics/... (see stage_rm.c).
 */
#ifndef OO_RM_ENSEMBLE_H
#define OO_RM_ENSEMBLE_H

#include "comm.h"
#include "layout.h"
#include "model/gpt.h"
#include "rlhf/gold.h"

typedef struct {
  int k;                          /* members in the ensemble */
  int n_local;                    /* members hosted by this rank */
  int member_id[CFG_MAX_MEMBERS];  /* (n_local) global member index of each hosted member */
  gpt models[CFG_MAX_MEMBERS];     /* (n_local) hosted members, calibrated by their shift/scale */
  int chunk;                      /* sequences per forward pass */
  /* scratch, grown on demand (no allocation once sized for the largest batch) */
  int cap_n, cap_T;               /* capacity of the scratch below */
  int *sel_tok;                   /* (cap_n, cap_T) selected sequences */
  int *sel_len;                   /* (cap_n) */
  int *sel_idx;                   /* (cap_n) their sample index */
  float *sel_out;                 /* (cap_n) scores */
  float *local;                   /* (cap_n * k + 1) this rank's scores, NaN where not scored (ensemble_gather) */
  double *laplace_sigma[CFG_MAX_MEMBERS]; /* (n_local) (C+1,C+1) Laplace posteriors from rm.h5 laplace/, or NULL */
  double *laplace_mean[CFG_MAX_MEMBERS];  /* (n_local) (C) their reference features phi_mean, or NULL */
} rm_ensemble;

/* Loads the members this rank hosts (layout) from rm.h5; checks k, kinds and dims against the
 * expected config (n_ctx, size), naming the file and member on error. Not collective. */
int rm_ensemble_load(rm_ensemble *e, const char *path, const oo_layout *lay, int rank, int expect_k,
                     int n_ctx, int d_model, int n_layer, int n_head);
void rm_ensemble_free(rm_ensemble *e);

/* Collective on c->world. Every rank passes the same n sequences tok (n,Tmax) with lengths len
 * (n); the reward of each member is read at position len-1 and calibrated. On return every rank
 * holds matrix (n,k), exact (each entry computed by the one rank that owns it). */
int rm_ensemble_score(rm_ensemble *e, const oo_comms *c, const oo_layout *lay, const int *tok, const int *len,
                      int n, int Tmax, float *matrix); // matrix: (n,k)

/* WARM (rm.h5 group warm, written by the rm stage with rm.warm) as a scorer for gold_score_all:
 * a reward checkpoint with its own calibration. Not collective. */
int rm_warm_load(gold_model *g, const char *rm_path);

/* Collective on c->world, for an ensemble loaded with Laplace posteriors (rm.laplace): out (n,k)
 * on every rank = each member's predictive variance (laplace_variance, centred on phi_mean) /
 * reward_scale^2 of each sequence (calibrated units), phi its final-LayerNorm output at position len-1. Member m's
 * sample i is computed by the rank that scores it (ensemble_scores_sample) with a full forward
 * (chunks of e->chunk), and a SUM-allreduce assembles out (one contributor per entry: exact). */
int rm_ensemble_laplace_var(rm_ensemble *e, const oo_comms *c, const oo_layout *lay, const int *tok, const int *len,
                            int n, int Tmax, float *out);

/* Collective on c->world. Every rank passes the same n sequences tok (n,Tmax) with lengths len
 * (n); RM rank r computes the calibrated gold score of the samples i with
 * layout_gold_scores_sample(lay, r, i) (data-parallel over RM ranks), every other entry is 0, and
 * a SUM-allreduce over the world gives every rank out (n): exact, since each entry has one
 * contributor. g is used on RM ranks only (others may pass an unloaded gold). With several RM
 * ranks the selected rows (whole blocks of LAYOUT_GOLD_BLOCK = GOLD_CHUNK samples, layout.h) are
 * copied to one buffer grown to the largest batch; a score depends on its gold chunk's
 * composition (gpt_score_last), and every chunk is the same block of samples whatever the RM
 * rank count, so the scores are bitwise independent of it (tests bon_stage, test_bon_dist). */
int gold_score_all(gold_model *g, const oo_comms *c, const oo_layout *lay, const int *tok, // (n,Tmax)
                   const int *len, // (n)
                   int n, int Tmax,
                   float *out);    // (n), on every rank

#endif
