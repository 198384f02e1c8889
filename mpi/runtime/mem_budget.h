/* mem_budget: an estimate, from the config alone, of the memory one rank needs in each stage,
 * itemized by the config key that drives each item, so `overopt check` can print it and refuse
 * a config that cannot fit before any stage allocates (#12).
 *
 * The estimate counts what scales with the config (model parameters, gradients and Adam
 * moments, activations at the batch a rank runs, the KV caches of generation and scoring, the
 * per-pair and per-sample arrays) and omits
 * fixed overheads (MPI, HDF5, code: tens of MB). With ranks = 1 it is an upper bound for any
 * rank count: more ranks split the batches, while models are replicated.
 */
#ifndef OO_MEM_BUDGET_H
#define OO_MEM_BUDGET_H

#include <stdio.h>

#include "io/config.h"

#define BUDGET_MAX_ITEMS 64

typedef struct {
  const char *stage; /* "pretrain", "gold", "prefs", "rm", "bon", "ppo" */
  const char *key;   /* the config key that drives it, e.g. "rm.batch" */
  char what[80];     /* e.g. "activations of 2 x 16 pairs" */
  double bytes;      /* per rank */
} budget_item;

typedef struct {
  budget_item item[BUDGET_MAX_ITEMS]; /* in stage order */
  int n;                              /* items used */
  int ranks;                          /* the rank count it was computed for */
} mem_budget;

/* Fills b for cfg run on `ranks` ranks (>= 1). Not collective. */
void mem_budget_estimate(const oo_config *cfg, int ranks, mem_budget *b);
/* Bytes of the stage needing the most (the peak: stages run one after another); *stage and
 * *key (either may be NULL) receive that stage and its largest item's key. */
double mem_budget_peak(const mem_budget *b, const char **stage, const char **key);
/* Prints the per-stage totals and items, and the peak against limit. */
void mem_budget_print(const mem_budget *b, double limit, FILE *out);
/* An error naming the peak stage, its biggest key and the limit when the peak exceeds limit. */
int mem_budget_check(const mem_budget *b, double limit);

#endif
