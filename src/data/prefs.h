/* prefs: the preference set prefs.h5, written by the prefs stage (mpi/stages/stage_prefs.c) and read
 * here for the RM stage. Rank-local, no MPI.
 *
 * prefs.h5 (docs/formats.md): N = n_train + n_test pairs, train first; prompt_len and
 * response_len are prefs.prompt_len and prefs.response_len.
 *   prompt [N,prompt_len] int32 bytes; resp [N,2,response_len+1] int32 tokens (may end with end-of-text 256), -1
 *   after resp_len; resp_len [N,2] int32 (>= 1); gold [N,2] float32 calibrated gold scores;
 *   label_clean [N] int32 (index of the response with the higher gold score, ties 0);
 *   label_train [N] int32 (label_clean with train labels flipped by the noise); split [N] int32
 *   (0 train, 1 test); root attributes n_train, n_test, noise, noise_mode, noise_realised
 *   (flipped / n_train) and run_stamp's (config_hash, config, ...).
 * The sequences a model reads are [EOT, prompt bytes, response tokens] (DESIGN.md "Sequences").
 */
#ifndef OO_DATA_PREFS_H
#define OO_DATA_PREFS_H

#include <stddef.h>

#include "io/config.h"
#include "io/h5io.h"

typedef struct {
  int n;               /* pairs N = n_train + n_test, train first */
  int n_train;         /* training pairs (labels may be flipped) */
  int n_test;          /* test pairs (clean labels) */
  int prompt_len;      /* prompt bytes */
  int response_len;    /* response bytes at most */
  int seq_T;           /* 1 + prompt_len + response_len + 1: row length of seq */
  int *prompt;         /* (N,prompt_len) prompt bytes */
  int *resp;           /* (N,2,response_len+1) response tokens, -1 padded */
  int *resp_len;       /* (N,2) response lengths in tokens (>= 1) */
  float *gold;         /* (N,2) calibrated gold scores */
  int *label_clean;    /* (N) index of the gold-preferred response */
  int *label_train;    /* (N) label the proxies train on */
  int *split;          /* (N) 0 train, 1 test */
  int *seq;            /* (N,2,seq_T) [EOT, prompt, response], padded with GPT_EOT */
  int *seq_len;        /* (N,2) 1 + prompt_len + resp_len */
  double noise;        /* configured epsilon */
  double noise_realised; /* flipped / n_train */
  char noise_mode[16]; /* exact | bernoulli */
} prefs_data;

/* Reads prefs.h5 and validates it against the config (prefs.n_train, n_test, prompt_len,
 * response_len): errors name the file, the dataset or attribute, its shape and the expected one.
 * Builds seq/seq_len for each (pair, side). Free with prefs_free. Rank-local. */
int prefs_load(prefs_data *p, const char *path, const oo_config *cfg);
void prefs_free(prefs_data *p);
/* Writes p's datasets (prompt, resp, resp_len, gold, label_clean, label_train, split) and root
 * attributes (n_train, n_test, noise, noise_mode, noise_realised) into an open writer; seq and
 * seq_len are not stored (prefs_load rebuilds them). The caller adds run_stamp and commits. */
int prefs_write(const prefs_data *p, h5_writer *w);

/* Sequence of (pair, side), [EOT, prompt, response], padded with GPT_EOT to seq_T. */
static inline const int *prefs_seq(const prefs_data *p, int pair, int side) {
  return p->seq + ((size_t)pair * 2 + (size_t)side) * (size_t)p->seq_T;
}
static inline int prefs_seq_len(const prefs_data *p, int pair, int side) { return p->seq_len[pair * 2 + side]; }

#endif
