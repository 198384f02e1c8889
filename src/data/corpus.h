/* corpus: a text corpus as documents of raw bytes, split by document into train and validation,
 * with LM batches and a prompt pool for the RLHF stages.
 *
 * Invariants:
 * - Tokens are bytes 0..255 plus end-of-text CORPUS_EOT (256). Bytes are kept as unsigned char.
 * - Documents are trimmed of surrounding whitespace, non-empty and at least min_doc_bytes long,
 *   in load order (files sorted by name, documents in file order).
 * - The split is a function of (n_docs, val_fraction, seed) only; each split lists its
 *   documents in ascending index order. After corpus_load every document is in train and
 *   validation is empty, until corpus_split.
 * - A split's LM stream is "EOT doc EOT doc ... " over its documents in order, read cyclically;
 *   corpus_lm_batch draws windows from it and never allocates.
 * - Nothing here knows about MPI: every rank loads the same corpus and gets the same result.
 */
#ifndef OO_CORPUS_H
#define OO_CORPUS_H

#include <stdint.h>

#include "core/core.h"
#include "io/config.h"

#define CORPUS_EOT 256

enum { CORPUS_TRAIN = 0, CORPUS_VAL = 1 };

typedef struct {
  unsigned char *bytes; /* (n_bytes) all documents back to back, trimmed */
  long n_bytes;         /* total document bytes */
  long *doc_start;      /* (n_docs) offset of each document in bytes */
  int *doc_len;         /* (n_docs) length of each document in bytes */
  int n_docs;           /* documents kept */
  int n_files;          /* files read */
  long bytes_read;      /* raw bytes read from the files */
  int *split_docs[2];   /* [split] (split_n[split]) document indices, ascending */
  int split_n[2];       /* documents in train / validation */
  long *split_off[2];   /* [split] (split_n+1) stream offset of each document's EOT; last = length */
} oo_corpus;

/* Loads a file, or every regular file of a directory (sorted by name; hidden files and the
 * strfile indexes *.dat and *.u8 skipped). delimiter "percent": documents are separated by
 * lines holding only '%' (fortune files); "blank": by one or more blank lines. Documents
 * shorter than min_doc_bytes after trimming are dropped. Errors name the path and the fix:
 * missing path, unreadable file, binary file, no documents. */
int corpus_load(oo_corpus *c, const char *path, const char *delimiter, int min_doc_bytes);
void corpus_free(oo_corpus *c);

/* Deterministic split by document: round(val_fraction * n_docs) documents (at least one when
 * val_fraction > 0) go to validation, chosen by a shuffle keyed by seed. Fails when either
 * side would be empty (val_fraction > 0) or val_fraction is outside [0, 1). */
int corpus_split(oo_corpus *c, double val_fraction, uint64_t seed);

/* B windows of T+1 consecutive stream tokens of one split, each starting at a uniformly random
 * stream position drawn from r (B draws): tokens = window[0..T), targets = window[1..T].
 * Deterministic given r's state. The split must be non-empty (fatal otherwise). */
void corpus_lm_batch(const oo_corpus *c, int split, oo_rng *r, int B, int T,
                     int *tokens,   // (B,T)
                     int *targets); // (B,T)

/* Byte-level unigram entropy in bits per token of the train stream (bytes plus one EOT per
 * document): an LM that beats it has learned more than byte frequencies. */
double corpus_unigram_entropy_bits(const oo_corpus *c);

/* ---- prompts ------------------------------------------------------------------------------- */

/* The prompt pool: every TRAIN document with at least prompt_len bytes, in an order shuffled
 * by seed (stable for the same corpus, split, prompt_len and seed). *doc_idx is allocated with
 * xmalloc (caller frees with xfree). Fails if no document is long enough. */
int corpus_prompt_pool(const oo_corpus *c, int prompt_len, uint64_t seed, int **doc_idx, int *n);

/* tokens = [EOT, first prompt_len bytes of document doc]; the document must be long enough. */
void corpus_prompt(const oo_corpus *c, int doc, int prompt_len,
                   int *tokens); // (prompt_len+1)

/* Stages take disjoint consecutive ranges of the pool, in this fixed order; PPO training takes
 * everything left after the others (and cycles through it). */
enum corpus_prompt_use {
  PROMPTS_PREFS_TRAIN = 0, /* prefs.n_train prompts, one pair each */
  PROMPTS_PREFS_TEST,      /* prefs.n_test */
  PROMPTS_GOLD_CALIB,      /* gold.calib_prompts */
  PROMPTS_BON_EVAL,        /* bon.n_prompts */
  PROMPTS_PPO_EVAL,        /* ppo.n_eval_prompts */
  PROMPTS_PPO_TRAIN,       /* the rest of the pool (need = -1) */
  PROMPTS_N_USES
};
/* The counts above from a config (PROMPTS_PPO_TRAIN gets -1 = the rest). */
void corpus_prompt_needs(const oo_config *cfg, int need[PROMPTS_N_USES]);
/* Range [*first, *first + *count) of a pool of n_pool entries for `use`, given every use's
 * need (need[u] >= 0; only the last use may be -1 = the rest, which must be non-empty).
 * Fails, naming every need, if the pool is too small. */
int corpus_prompt_range(int n_pool, const int need[PROMPTS_N_USES], int use, int *first,
                        int *count);

#endif
