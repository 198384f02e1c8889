/* bench: model throughput measured against OpenBLAS sgemm in the same run (DESIGN.md §3:
 * performance is a ratio to sgemm, never an absolute time in a test).
 *
 * For one model shape it times, each as the best of several repetitions:
 * - sgemm alone on exactly the linear-layer products of one training step (forward, input
 *   gradient and weight gradient of qkv, proj, fc, fcproj and the tied LM head, weighted by
 *   how often each occurs), on those of one KV-cache decode step at the sampling batch, and on
 *   those of a reward model's forward (the four layer products, B_sample x T rows);
 * - a full training step: zero_grad, forward, cross-entropy, backward, clip, AdamW;
 * - KV-cache sampling (gpt_generate) of the sampling batch;
 * - reward scoring (a reward model's forward) of the sampling batch at full length.
 * Single process; uses the BLAS thread count the caller set.
 */
#ifndef OO_MODEL_BENCH_H
#define OO_MODEL_BENCH_H

#include "model/gpt.h"

#define BENCH_SAMPLE_REPS 2
/* The streaming-read reference: far larger than a last-level cache, as a sampling run's KV cache
 * is (C256 L6 T256, 64 sequences: 200 MB) */
#define BENCH_STREAM_BYTES ((size_t)256 << 20)
_Static_assert(BENCH_STREAM_BYTES / sizeof(float) <= 2147483647, "the streaming reference sums with kern_sum (int n)");

typedef struct {
  gpt_dims d;   /* model shape (d.T is the sequence length used) */
  int B;        /* training batch */
  int B_sample; /* sampling / scoring batch (64) */
  int reps;     /* repetitions; the best is kept (sampling: at most BENCH_SAMPLE_REPS, its runs are long) */
  int max_new;  /* tokens generated per sequence (0: n_ctx - 1) */
} bench_opts;

typedef struct {
  double sgemm_train_gflops;  /* sgemm on the training step's linear shapes */
  double sgemm_sample_gflops; /* sgemm on one decode step's linear shapes (M = B_sample) */
  double sgemm_score_gflops;  /* sgemm on a reward model's forward shapes (M = B_sample x T, no LM head) */
  double train_ms;            /* best training step */
  double train_tok_s;         /* tokens per second */
  double train_gflops;        /* gpt_train_flops_per_token * tokens / time */
  double train_ratio;         /* train_gflops / sgemm_train_gflops */
  double sample_tok_s;        /* generated tokens per second */
  double sample_gflops;       /* (2 * matmul params + attention) per processed position */
  double sample_ratio;        /* sample_gflops / sgemm_sample_gflops */
  double score_seq_s;         /* reward model forward: sequences per second */
  double score_gflops;        /* forward FLOPs / time */
  double score_ratio;         /* score_gflops / sgemm_score_gflops */
  double kv_gbytes;           /* keys and values the sampling run read (B_sample x L x 2 x C x (t+1) floats a
                               * position t) */
  double kv_gbps;             /* kv_gbytes / sampling time */
  double stream_gbps;         /* streaming read of BENCH_STREAM_BYTES, interleaved with the sampling runs */
  double sample_roofline;     /* the sampling ratio if the products ran at sgemm64's rate and then the cache
                               * streamed at stream_gbps, one after the other */
} bench_result;

/* Runs every measurement for one shape. Returns a status (allocation or sampling errors). */
int bench_model(const bench_opts *o, bench_result *r);
/* Prints the table header and one row per shape. */
void bench_print_header(FILE *f);
void bench_print_row(FILE *f, const bench_opts *o, const bench_result *r);
/* One line per shape on the sampling run's memory traffic and its serial roofline. */
void bench_print_memory(FILE *f, const bench_opts *o, const bench_result *r);

/* CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID; wall time if it is missing). */
double bench_clock(void);

#endif
