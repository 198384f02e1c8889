/* sampling: pi_init's responses to pool prompts, scored by the gold, spread over every rank;
 * shared by the gold stage (calibration) and the prefs stage (pairs).
 *
 * Sequences follow DESIGN.md "Sequences": [256, prompt bytes, response bytes, 256 if the policy
 * emitted it]; a response has at most prefs.response_len bytes, so Tmax = 1 + prompt_len + response_len + 1.
 *
 * Rank-count independence (pi_init_sample): the prompts are cut into units of
 * SAMPLE_UNIT_SEQS / per_prompt consecutive prompts; rank r of the world's P takes units
 * [r*U/P, (r+1)*U/P) (a contiguous block); each unit is one gpt_generate batch and one gold
 * chunk. Units are the same whatever the rank count and every random draw comes from a stream
 * keyed by (seed, purpose, stream id of the prompt, response index), so tokens and scores are
 * bit-identical for 1 or P ranks.
 *
 * Stop requests (#12): the ranks poll the request together (oo_stop_requested on the world) once
 * per round of units, every rank as often (the largest block's count), so a stop lands within
 * one unit of generation and gold scoring. The units done so far are gathered and written by
 * rank 0 to spec->partial (tokens, lens, scores, done per unit, under the stage's hash); a rerun
 * reads it back, skips those units and ends with the same bits as an uninterrupted run. The
 * stage removes the file once its artifact is written.
 */
#ifndef OO_SAMPLING_H
#define OO_SAMPLING_H

#include <stdint.h>

#include "io/config.h"
#include "model/gpt.h"
#include "rlhf/gold.h"
#include "run.h"

#define SAMPLE_UNIT_SEQS LAYOUT_SAMPLE_UNIT /* sequences per generation batch and gold chunk (64) */

typedef struct {
  int prompt_len;     /* prompt bytes */
  int response_len;   /* response bytes at most (a final end-of-text may follow) */
  int per_prompt;     /* responses per prompt */
  uint64_t seed;      /* run.world_seed (gold calibration) or run.seed (a replicate's preferences) */
  uint64_t purpose;   /* RNG purpose: response j of prompt i draws from (seed, purpose, stream[i], j) */
  float temperature;  /* sampling temperature */
  float top_p;        /* nucleus mass, 1 = off */
  const char *what;   /* label of the progress lines */
  const char *partial; /* resume file of a stopped sampling (rank 0 reads and writes it), or NULL */
} sample_spec;

/* Collective on run->comms.world. Returns OO_OK on every rank with oo_stopped() when a rank got a
 * stop request before the last unit, after writing spec->partial (see above).
 * Samples spec->per_prompt responses of the policy to each
 * prompt, gold-scores every sequence with gold_score (calibrated as the gold currently is), and
 * gathers the results to rank 0 in prompt order (response j of prompt i is row i*per_prompt+j).
 * Output arrays are written on rank 0 only (may be NULL elsewhere). Tmax = prompt_len + response_len + 2. */
int pi_init_sample(const oo_run *run, gpt *policy, gold_model *gold, const sample_spec *spec,
                   const int *prompts,     // (n_prompts, prompt_len+1) each [EOT, prompt bytes]
                   const uint64_t *stream, // (n_prompts) stream id of each prompt (its pool index)
                   int n_prompts,
                   int *tokens,            // rank 0: (n_prompts*per_prompt, Tmax), -1 padded
                   int *lens,              // rank 0: (n_prompts*per_prompt)
                   float *scores);         // rank 0: (n_prompts*per_prompt) gold scores

/* Every rank: loads and splits the corpus, takes the prompt pool range of `use`
 * (corpus_prompt_range) and fills *prompts (count, prompt_len+1) and *stream (count) = pool indices
 * (both xmalloc'ed; free with xfree). */
int sample_prompts(const oo_config *cfg, int use, int **prompts, uint64_t **stream, int *count);

#endif
