/* bench: training, sampling and scoring throughput as a ratio to OpenBLAS sgemm on the
 * model's own matrix shapes, all measured in the same run (bench.h).
 *
 * FLOP counts (only matrix products; what the sgemm reference also counts):
 * - training: gpt_train_flops_per_token (6 * matmul parameters + causal attention) per token;
 * - sampling: a position t (0-based) costs 2 * matmul parameters + 4*L*C*(t+1) (Q K^T and P V
 *   over t+1 cached keys); every position fed through the model counts;
 * - scoring: a reward model's forward, gpt_forward_flops_per_token: no LM head (until
 *   2026-11-27 its 2 V C FLOPs a position were counted, though a reward model never computes
 *   them: scoring ratios read ~4% high at C128, ~1.4% at C256).
 * Times are CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID), each the best of reps
 * runs after a warm-up: on a shared machine wall time mostly measures the other processes,
 * while thread CPU time only counts the cycles we ran. With one BLAS thread OpenBLAS computes
 * in the calling thread, so nothing is missed. The sgemm reference is measured in rounds
 * interleaved with the model's timings so both see the same cache and frequency conditions.
 * Each figure has its own reference: the training step's products (forward, input and weight
 * gradients, B x T rows), one decode step's (B_sample rows) and a reward model's forward
 * (B_sample x T rows, no LM head). Until 2026-11-27 scoring was divided by the training
 * reference, a mix of other shapes measured earlier in the run.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "model/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "model/kernels.h"

/* CPU seconds of this thread (see the file comment); wall time if that clock is missing. */
double bench_clock(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return oo_now();
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Matrix parameters that multiply an activation (wpe, LayerNorm and biases do not). */
static double matmul_params(gpt_dims d) { return 12.0 * d.L * (double)d.C * d.C + (double)d.V * d.C; }

/* One sgemm shape C(M,N) = op(A) op(B) with K inner, occurring `count` times per step. */
typedef struct {
  int M, N, K;   /* sizes */
  int ta, tb;    /* transpose A / B (row-major) */
  double count;  /* occurrences per step */
} gemm_shape;

/* The sgemm reference: buffers for the largest shape and the best time of each shape. It is
 * measured one round at a time, interleaved with the model's own timings, so that both see the
 * same background load on a shared machine. */
typedef struct {
  gemm_shape sh[16]; /* shapes */
  int n;             /* shape count */
  double best[16];   /* best seconds per shape */
  float *a, *b, *c;  /* operands, sized for the largest shape */
} gemm_ref;

static void ref_init(gemm_ref *g) {
  size_t amax = 0, bmax = 0, cmax = 0;
  for (int i = 0; i < g->n; i++) {
    const gemm_shape *s = &g->sh[i];
    size_t a = (size_t)s->M * s->K, b = (size_t)s->K * s->N, c = (size_t)s->M * s->N;
    amax = a > amax ? a : amax, bmax = b > bmax ? b : bmax, cmax = c > cmax ? c : cmax;
    g->best[i] = 1e30;
  }
  g->a = xmalloc_floats(amax), g->b = xmalloc_floats(bmax), g->c = xmalloc_floats(cmax);
  oo_rng r = oo_rng_make(1, RNG_TEST, 0, 0);
  for (size_t i = 0; i < amax; i++) g->a[i] = oo_rng_uniform(&r) - 0.5f;
  for (size_t i = 0; i < bmax; i++) g->b[i] = oo_rng_uniform(&r) - 0.5f;
  memset(g->c, 0, sizeof(float) * cmax);
}

/* One round: each shape once (repeat times, best kept); record=0 only warms up. */
static void ref_free(gemm_ref *g) { xfree(&g->a), xfree(&g->b), xfree(&g->c); }

static void ref_round(gemm_ref *g, int repeat, int record) {
  for (int i = 0; i < g->n; i++) {
    const gemm_shape *s = &g->sh[i];
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    for (int k = 0; k < repeat; k++) {
      double t0 = bench_clock();
      cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->M,
                  s->N, s->K, 1.0f, g->a, lda, g->b, ldb, 0.0f, g->c, s->N);
      double t = bench_clock() - t0;
      if (record && t < g->best[i]) g->best[i] = t;
    }
  }
}

/* Aggregate GFLOP/s: sum of flops / sum of best times, each weighted by its count per step. */
static double ref_gflops(gemm_ref *g) {
  double flops = 0.0, secs = 0.0;
  for (int i = 0; i < g->n; i++) {
    flops += g->sh[i].count * 2.0 * g->sh[i].M * g->sh[i].N * g->sh[i].K;
    secs += g->sh[i].count * g->best[i];
  }
  return flops / secs * 1e-9;
}

/* The linear layers of a step with M rows: forward, and with backward the input and weight
 * gradients; the LM head with lm_head (a reward model has none). Returns the number of shapes
 * written to sh (at most 15). */
static int linear_shapes(gpt_dims d, int M, int backward, int lm_head, gemm_shape *sh) {
  const int C = d.C;
  const int io[5][2] = {{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}, {C, d.V}}; /* (in, out) */
  int n = 0;
  for (int i = 0; i < (lm_head ? 5 : 4); i++) {
    const int in = io[i][0], out = io[i][1];
    const double cnt = i < 4 ? d.L : 1.0; /* layer products L times, the LM head once */
    sh[n++] = (gemm_shape){M, out, in, 0, 1, cnt}; /* y = x W^T */
    if (!backward) continue;
    sh[n++] = (gemm_shape){M, in, out, 0, 0, cnt}; /* dx = dy W */
    sh[n++] = (gemm_shape){out, in, M, 1, 0, cnt}; /* dW = dy^T x */
  }
  return n;
}

/* The streaming-read reference for the KV-cache path, whose decode attention reads every cached
 * key and value of its sequences once per layer and step (the cache of 64 sequences does not fit
 * in a last-level cache): the best rate of summing a BENCH_STREAM_BYTES buffer, measured in
 * rounds between the sampling runs like the sgemm reference. KERN_HOT: vector loads, as the
 * attention's. */
typedef struct {
  float *x;    /* BENCH_STREAM_BYTES of floats */
  size_t n;    /* their count */
  double best; /* best seconds of one pass */
  volatile float sink; /* the sums, stored so no pass is optimized away */
} stream_ref;

/* kern_sum compiled in this KERN_HOT clone (vector loads); n fits an int (BENCH_STREAM_BYTES / 4) */
KERN_HOT static float stream_sum(const float *x, size_t n) { return kern_sum(x, (int)n); }

static void stream_round(stream_ref *s, int record) {
  const double t0 = bench_clock();
  s->sink += stream_sum(s->x, s->n);
  const double t = bench_clock() - t0;
  if (record && t < s->best) s->best = t;
}

static double train_step(gpt *m, const int *tok, const int *tgt, int B, int T) {
  const gpt_optim opt = {.lr_max = 1e-4f, .lr_min = 1e-4f, .weight_decay = 0.1f, .max_norm = 1.0f};
  double t0 = bench_clock();
  gpt_zero_grad(m);
  gpt_forward(m, tok, B, T);
  float *dl = gpt_dlogits_buffer(m);
  gpt_cross_entropy(gpt_logits(m), tgt, B * T, m->d.V, dl);
  gpt_backward(m, dl);
  gpt_optim_update(m, &opt, opt.lr_max, gpt_grad_norm(m)); /* the stages' step, on one process */
  return bench_clock() - t0;
}

int bench_model(const bench_opts *o, bench_result *r) {
  memset(r, 0, sizeof *r);
  const gpt_dims d = o->d;
  const int T = d.T, B = o->B, BS = o->B_sample;
  const double n_params = matmul_params(d);

  gemm_ref ref_train = {.n = linear_shapes(d, B * T, 1, 1, ref_train.sh)};
  gemm_ref ref_sample = {.n = linear_shapes(d, BS, 0, 1, ref_sample.sh)};
  gemm_ref ref_score = {.n = linear_shapes(d, BS * T, 0, 0, ref_score.sh)};
  ref_init(&ref_train);
  ref_init(&ref_sample);
  ref_init(&ref_score);

  /* training step, interleaved with the sgemm reference on its shapes */
  gpt m;
  CHECK(gpt_create(&m, d, GPT_LM));
  gpt_init_weights(&m, 1, 0.02f, 0.0f);
  gpt_alloc_train(&m);
  gpt_reserve(&m, B, T);
  int *tok = xmalloc(sizeof(int) * (size_t)(B > BS ? B : BS) * T);
  int *tgt = xmalloc(sizeof(int) * (size_t)B * T);
  oo_rng rng = oo_rng_make(2, RNG_TEST, 0, 0);
  for (int i = 0; i < (B > BS ? B : BS) * T; i++) tok[i] = i % T == 0 ? GPT_EOT : (int)oo_rng_below(&rng, 256);
  for (int i = 0; i < B * T; i++) tgt[i] = (int)oo_rng_below(&rng, 256);
  double best = 1e30;
  for (int rep = 0; rep <= o->reps; rep++) { /* rep 0 is the warm-up */
    ref_round(&ref_train, 1, rep > 0);
    double t = train_step(&m, tok, tgt, B, T);
    if (rep > 0 && t < best) best = t;
  }
  r->sgemm_train_gflops = ref_gflops(&ref_train);
  r->train_ms = best * 1e3;
  r->train_tok_s = B * T / best;
  r->train_gflops = gpt_train_flops_per_token(d, T) * B * T / best * 1e-9;
  r->train_ratio = r->train_gflops / r->sgemm_train_gflops;
  gpt_free(&m);

  /* sampling with the KV cache: a bare end-of-text prompt, every sequence to max_new tokens */
  int rc = OO_OK;
  gpt lm;
  gpt_kvcache kv;
  memset(&kv, 0, sizeof kv);
  stream_ref stream = {0};
  CHECK(gpt_create(&lm, d, GPT_LM));
  gpt_init_weights(&lm, 3, 0.02f, 0.0f);
  const int max_new = o->max_new > 0 && o->max_new < T ? o->max_new : T - 1;
  int *prompt = xmalloc(sizeof(int) * (size_t)BS);
  int *out_tok = xmalloc(sizeof(int) * (size_t)BS * max_new);
  int *out_len = xmalloc(sizeof(int) * (size_t)BS);
  oo_rng *rngs = xmalloc(sizeof(oo_rng) * (size_t)BS);
  for (int b = 0; b < BS; b++) prompt[b] = GPT_EOT;
  const gpt_sample_opts so = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .max_new = max_new, .stop_at_eot = 0};
  CHECK_GOTO(rc, gpt_kv_create(&kv, &lm, BS), done);
  best = 1e30;
  long generated = 0;
  stream.n = BENCH_STREAM_BYTES / sizeof(float), stream.best = 1e30;
  stream.x = xmalloc_floats(stream.n);
  for (size_t i = 0; i < stream.n; i++) stream.x[i] = (float)(i & 7); /* touched: no zero pages */
  const int sample_reps = o->reps > BENCH_SAMPLE_REPS ? BENCH_SAMPLE_REPS : o->reps;
  for (int rep = 0; rep <= sample_reps; rep++) {
    for (int b = 0; b < BS; b++) rngs[b] = oo_rng_make(4, RNG_SAMPLE, (uint64_t)b, (uint64_t)rep);
    ref_round(&ref_sample, 5, rep > 0);
    for (int k = 0; k < 3; k++) stream_round(&stream, rep > 0);
    double t0 = bench_clock();
    CHECK_GOTO(rc, gpt_generate(&lm, &kv, prompt, 1, BS, &so, rngs, out_tok, out_len, NULL), done);
    double t = bench_clock() - t0;
    if (rep > 0 && t < best) {
      best = t;
      generated = 0;
      for (int b = 0; b < BS; b++) generated += out_len[b];
    }
  }
  {
    /* positions fed: the prompt's one and every generated token but the last */
    const double positions = (double)(generated / BS);
    const double cached = positions * (positions + 1.0) / 2.0; /* sum over positions t of t+1 */
    const double gf_products = 2.0 * n_params * positions * BS * 1e-9;
    const double gf = gf_products + 4.0 * d.L * (double)d.C * cached * BS * 1e-9; /* + Q K^T and P V */
    r->sample_tok_s = generated / best;
    r->sample_gflops = gf / best;
    r->sgemm_sample_gflops = ref_gflops(&ref_sample);
    r->sample_ratio = r->sample_gflops / r->sgemm_sample_gflops;
    r->kv_gbytes = 2.0 * d.L * (double)d.C * cached * BS * sizeof(float) * 1e-9; /* keys and values of 0..t */
    r->kv_gbps = r->kv_gbytes / best;
    r->stream_gbps = (double)stream.n * sizeof(float) / stream.best * 1e-9;
    const double t_roof = gf_products / r->sgemm_sample_gflops + r->kv_gbytes / r->stream_gbps;
    r->sample_roofline = gf / t_roof / r->sgemm_sample_gflops;
  }

  /* reward scoring: a reward model's forward over BS full-length sequences */
  {
    gpt rm;
    CHECK_GOTO(rc, gpt_create(&rm, d, GPT_REWARD), done);
    gpt_init_weights(&rm, 5, 0.02f, 0.02f);
    best = 1e30;
    for (int rep = 0; rep <= o->reps; rep++) {
      ref_round(&ref_score, 1, rep > 0);
      double t0 = bench_clock();
      gpt_forward(&rm, tok, BS, T);
      double t = bench_clock() - t0;
      if (rep > 0 && t < best) best = t;
    }
    const double flops = gpt_forward_flops_per_token(d, GPT_REWARD, T) * BS * T; /* no LM head */
    r->score_seq_s = BS / best;
    r->score_gflops = flops / best * 1e-9;
    r->sgemm_score_gflops = ref_gflops(&ref_score);
    r->score_ratio = r->score_gflops / r->sgemm_score_gflops;
    gpt_free(&rm);
  }
done:
  ref_free(&ref_train);
  ref_free(&ref_sample);
  ref_free(&ref_score);
  xfree(&stream.x);
  gpt_kv_free(&kv);
  gpt_free(&lm);
  xfree(&prompt), xfree(&out_tok), xfree(&out_len), xfree(&rngs), xfree(&tok), xfree(&tgt);
  return rc;
}

void bench_print_header(FILE *f) {
  fprintf(f, "%-22s | %7s %8s %7s %7s %5s | %7s %7s %7s %5s | %7s %7s %7s %5s\n", "model (C,L,NH,T) xB",
          "sgemm", "step ms", "tok/s", "GFLOP/s", "ratio", "sgemm64", "tok/s", "GFLOP/s", "ratio", "sgemmF",
          "seq/s", "GFLOP/s", "ratio");
  fprintf(f, "%-22s | %-41s | %-31s | %-29s\n", "", "training step (fwd+bwd+AdamW)",
          "KV-cache sampling (batch)", "reward scoring (forward)");
}

void bench_print_memory(FILE *f, const bench_opts *o, const bench_result *r) {
  fprintf(f,
          "C%d L%d NH%d T%d x%d sampling: %.2f GB of cached keys and values read at %.1f GB/s (streaming read"
          " %.1f GB/s); serial roofline %.2f (products at the sgemm64 rate, then the cache at the streaming rate)\n",
          o->d.C, o->d.L, o->d.NH, o->d.T, o->B, r->kv_gbytes, r->kv_gbps, r->stream_gbps, r->sample_roofline);
}

void bench_print_row(FILE *f, const bench_opts *o, const bench_result *r) {
  char name[64];
  snprintf(name, sizeof name, "C%d L%d NH%d T%d x%d", o->d.C, o->d.L, o->d.NH, o->d.T, o->B);
  fprintf(f, "%-22s | %7.1f %8.1f %7.0f %7.1f %5.2f | %7.1f %7.0f %7.1f %5.2f | %7.1f %7.1f %7.1f %5.2f\n", name,
          r->sgemm_train_gflops, r->train_ms, r->train_tok_s, r->train_gflops, r->train_ratio,
          r->sgemm_sample_gflops, r->sample_tok_s, r->sample_gflops, r->sample_ratio, r->sgemm_score_gflops,
          r->score_seq_s, r->score_gflops, r->score_ratio);
}
