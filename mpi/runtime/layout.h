/* layout: a pure function from the world size P and the config to each rank's roles. No MPI:
 * it is computed identically on every rank (and by `overopt layout` for any P) and tested alone.
 *
 * Rules (DESIGN.md "Roles, communicators, collectives"):
 * - rank 0 is the controller; roles may overlap, so P = 1 hosts everything on rank 0.
 * - rollout ranks are the first n_rollout ranks (layout.rollout_ranks, 0 = every rank).
 * - RM ranks are the last n_rm ranks (layout.rm_ranks, 0 = every rank); rm_index j counts
 *   them from 0.
 * - members over RM ranks: if n_rm <= K, RM rank j hosts every member m with m % n_rm == j
 *   (one replica each); if n_rm > K, RM rank j hosts the single member j % K as replica j / K,
 *   so member m has n_rm / K replicas plus one if m < n_rm % K.
 *   Invariants: every member is hosted at least once, every RM rank hosts >= 1 member, a rank
 *   hosts a member at most once, and the replica indices of member m are 0..n_replicas[m]-1.
 * - gold: every RM rank hosts the gold RM; gold scoring is data-parallel over RM ranks in
 *   contiguous blocks of LAYOUT_GOLD_BLOCK samples: block i / LAYOUT_GOLD_BLOCK goes to the RM rank
 *   with rm_index == block % n_rm (layout_gold_scores_sample). A block is one forward chunk of the
 *   gold (GOLD_CHUNK), so every score comes from the same rows whatever the rank count, and gold
 *   scores are bitwise independent of it (strided rows gave differences of ~1e-6 from BLAS
 *   rounding on batches of other composition).
 */
#ifndef OO_LAYOUT_H
#define OO_LAYOUT_H

#include <stdio.h>

#include "io/config.h"

typedef struct {
  int is_controller; /* 1 on rank 0 only */
  int is_rollout;    /* holds policy, reference and value model */
  int is_rm;         /* hosts ensemble members and the gold RM */
  int hosts_gold;    /* == is_rm: gold scoring is data-parallel over RM ranks */
  int rollout_index; /* index among rollout ranks, -1 if not a rollout rank */
  int rm_index;      /* index among RM ranks, -1 if not an RM rank */
  int n_members;     /* number of members this rank hosts (0 unless is_rm) */
} oo_rank_role;

typedef struct {
  int n_ranks;         /* world size P */
  int k;               /* ensemble members K */
  int n_rollout;       /* rollout ranks: 0 .. n_rollout-1 */
  int n_rm;            /* RM ranks: first_rm .. P-1 */
  int first_rm;        /* P - n_rm */
  oo_rank_role *ranks; /* (P) roles per rank */
  int *replica;        /* (P,K) replica index of member m on rank r, -1 if r does not host m */
  int *n_replicas;     /* (K) replica count per member */
} oo_layout;

/* Builds the layout of P ranks from cfg->rm.k and cfg->layout. Errors name the offending key
 * (layout.rollout_ranks, layout.rm_ranks, rm.k) and the fix. Free with layout_free. */
int layout_build(oo_layout *lay, int P, const oo_config *cfg);
void layout_free(oo_layout *lay);
/* Replica index of member on rank, or -1 if rank does not host it. */
int layout_replica(const oo_layout *lay, int rank, int member);
/* World rank hosting replica `replica` of member. */
int layout_member_rank(const oo_layout *lay, int member, int replica);
/* 1 if this rank computes the gold score of sample ((sample / LAYOUT_GOLD_BLOCK) % n_rm == rm_index). */
#define LAYOUT_GOLD_BLOCK 32 /* equals GOLD_CHUNK (rlhf/gold.h), checked in rm_ensemble.c */
/* Sequences per call of the stages' batched work. Each fixes how the work is cut (the same for any
 * rank count) and the size of the KV cache behind the call, which mem_budget.c counts:
 * best-of-n generation (stage_bon.c), pi_init sampling and its gold chunks (sampling.c), and a
 * member's scoring chunk (rm_ensemble.c). */
#define LAYOUT_BON_UNIT 256
#define LAYOUT_SAMPLE_UNIT 64
#define LAYOUT_RM_CHUNK 32
int layout_gold_scores_sample(const oo_layout *lay, int rank, int sample);
/* Human table: rank, roles, members ("m0(r0/2) m3": replica 0 of 2; no suffix = sole copy),
 * then a summary line. */
void layout_print(const oo_layout *lay, FILE *out);

#endif
