/* bench_rlhf: `overopt bench`'s PPO-step and best-of-n-round rows (bench_rlhf.c). */
#ifndef OO_BENCH_RLHF_H
#define OO_BENCH_RLHF_H

#include <stdio.h>

#include "io/config.h"

typedef struct {
  double ppo_s;                                  /* seconds per PPO step, ppo.value = head */
  double ppo_generate_s, ppo_score_s, ppo_update_s; /* its split (ppo_metrics) */
  double ppo_model_s;                            /* seconds per PPO step, ppo.value = model */
  double ppo_model_update_s;                     /* its update */
  double bon_s;                                  /* seconds per best-of-n round */
  double bon_generate_s, bon_score_s;            /* its split */
  int bon_samples;                               /* samples per round */
} bench_rlhf_result;

/* Times one PPO step (both value modes) and one best-of-n round at cfg's sizes on this process
 * alone (MPI_COMM_SELF); reps repetitions after a warm-up. Random models; gold forced random. */
int bench_rlhf(const oo_config *cfg, int reps, bench_rlhf_result *r);
void bench_rlhf_print(FILE *f, const oo_config *cfg, const bench_rlhf_result *r);

#endif
