/* gold: the gold reward model, the stand-in for human judgement (DESIGN.md §1). It labels the
 * preference pairs and scores everything that is evaluated; nothing is ever optimized against it.
 *
 * Kinds (config gold.kind):
 * - random:     a GPT_REWARD model of size gold.size with seeded random weights (std
 *               gold.init_scale, head std gold.init_scale): a rich random function of the whole
 *               text, read at the last position.
 * - teacher:    the LM lm_teacher_<gold.size>.h5 trained by the pretrain stage (its own seed,
 *               never π_init even at π_init's size); the reward is the mean per-token
 *               log-likelihood of the response (positions response_start..len-1, including a
 *               final end-of-text). It punishes gibberish that a proxy may like.
 * - checkpoint: a reward checkpoint (gold.checkpoint), read at the last position; its own
 *               calibration attributes are ignored (the gold stage recalibrates).
 * Invariants:
 * - Sequences follow DESIGN.md "Sequences": [256, prompt bytes, response bytes, 256 if emitted].
 * - gold_score returns (raw - shift) / scale; gold_build leaves shift 0, scale 1 (raw scores) and
 *   the gold stage sets them so pi_init's responses score mean 0, std 1. shift and scale are
 *   float-representable so a saved and reloaded gold scores bit-identically.
 * - Scoring runs in chunks of GOLD_CHUNK (or the caller's chunk) consecutive sequences (see
 *   gpt_score_last): a score is independent of the rank count when the caller's chunks are
 *   globally aligned.
 * No MPI here: every rank that scores holds its own copy.
 */
#ifndef OO_GOLD_H
#define OO_GOLD_H

#include "io/config.h"
#include "io/h5io.h"
#include "model/gpt.h"

typedef enum { GOLD_RANDOM = 0, GOLD_TEACHER = 1, GOLD_CHECKPOINT = 2 } gold_kind;

#define GOLD_CHUNK 32 /* default sequences per forward */

typedef struct {
  gold_kind kind;     /* random | teacher | checkpoint */
  gpt model;          /* GPT_REWARD (random, checkpoint) or GPT_LM (teacher) */
  double shift;       /* calibration: score = (raw - shift) / scale */
  double scale;       /* > 0; 1 when uncalibrated */
  int response_start; /* teacher: first scored position = 1 + prefs.prompt_len; 0 otherwise */
  int *sel_tok;       /* scratch of the distributed scorer (gold_score_all): (sel_cap_n, sel_cap_T) */
  int *sel_len;       /* (sel_cap_n) */
  int *sel_idx;       /* (sel_cap_n) */
  float *sel_out;     /* (sel_cap_n) */
  int sel_cap_n;      /* capacity in sequences; grown on demand, never shrunk */
  int sel_cap_T;      /* capacity in positions */
} gold_model;

/* "random" | "teacher" | "checkpoint" <-> gold_kind; parsing fails naming the accepted values. */
int gold_kind_parse(gold_kind *kind, const char *name);
const char *gold_kind_name(gold_kind kind);

/* Creates the uncalibrated gold of cfg->gold.kind. lm_teacher_path is the teacher LM's file
 * (pretrain_teacher_path: lm_teacher_<gold.size>.h5; only read for teacher, may be NULL
 * otherwise). Checks that the model's context holds 1 + prompt_len + response_len + 1 tokens.
 * Free with gold_free. */
int gold_build(gold_model *g, const oo_config *cfg, const char *lm_teacher_path);
void gold_free(gold_model *g);

/* out[i] = calibrated gold score of sequence i (tokens padded, any padding value). */
int gold_score(gold_model *g, const int *tokens, // (n,Tmax)
               const int *lens,                  // (n) 1 <= lens[i] <= Tmax
               int n, int Tmax,
               float *out);                      // (n)
/* The same in chunks of `chunk` sequences (<= 0: GOLD_CHUNK), for a caller whose chunks must
 * align with a rank-count independent unit (pi_init_sample). */
int gold_score_chunked(gold_model *g, int chunk, const int *tokens, // (n,Tmax)
                       const int *lens,                             // (n)
                       int n, int Tmax, float *out);                // (n)

/* Sets the calibration (rounded to float); scale must be finite and > 0. */
int gold_set_calibration(gold_model *g, double shift, double scale);

/* gold.h5: the model as a checkpoint at the file root (gpt_write; its reward_shift and
 * reward_scale attributes hold the calibration) plus root attributes gold_kind and
 * response_start. gold_save writes into an open writer (the caller adds run_stamp and commits). */
int gold_save(const gold_model *g, h5_writer *w);
/* Reads and validates gold.h5 (errors name the file and the attribute). */
int gold_load(gold_model *g, const char *path);

#endif
