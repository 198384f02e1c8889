/* test_gpt_sample: KV-cache generation (gpt_generate) against the full forward pass.
 * - greedy (top_k = 1) picks the argmax of the full forward's logits at every position, and
 *   out_logp equals the full forward's log-softmax (also for sampled tokens);
 * - a sequence's tokens do not depend on the batch size or its position in the batch;
 * - top_p -> 0 and top_k = 1 are greedy; EOT stops a sequence and pads with -1;
 * - the empirical distribution of first tokens matches softmax(logits / temperature), also
 *   after top-k and top-p truncation, within 3 sigma;
 * - gpt_kv_memory_bytes counts what gpt_kv_create allocates, and the process grows by about that;
 * - with --dump (tests/sample.cmake, test kv_blas_free): the path's bits for two OpenBLAS kernels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gpt.h"
#include "testing.h"

/* log-softmax of z (V) at index j, in double */
static double log_softmax_at(const float *z, int V, int j) {
  double mx = z[0];
  for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
  double s = 0.0;
  for (int v = 0; v < V; v++) s += exp((double)z[v] - mx);
  return (double)z[j] - mx - log(s);
}

/* argmax (lowest index among equals) and the gap to the runner-up */
static int argmax_gap(const float *z, int V, float *gap) {
  int best = 0;
  for (int v = 1; v < V; v++)
    if (z[v] > z[best]) best = v;
  float second = -INFINITY;
  for (int v = 0; v < V; v++)
    if (v != best && z[v] > second) second = z[v];
  *gap = z[best] - second;
  return best;
}

static void make_prompts(int *prompt, int B, int Tp, uint64_t seed) {
  oo_rng r = oo_rng_make(seed, RNG_TEST, 1, 0);
  for (int b = 0; b < B; b++) {
    prompt[(size_t)b * Tp] = GPT_EOT;
    for (int t = 1; t < Tp; t++) prompt[(size_t)b * Tp + t] = (int)oo_rng_below(&r, 256);
  }
}

/* Runs gpt_generate and checks every generated token's out_logp (and, if greedy, the token
 * itself) against a full forward over prompt + generated tokens. */
static void check_against_full_forward(gpt *m, const gpt_sample_opts *o, int greedy, const char *what) {
  int B = 3, Tp = 4, T = m->d.T, V = m->d.V;
  int max_new = o->max_new;
  int *prompt = malloc(sizeof(int) * B * Tp), *out = malloc(sizeof(int) * B * max_new);
  int *len = malloc(sizeof(int) * B), *full = malloc(sizeof(int) * B * T);
  float *logp = malloc(sizeof(float) * B * max_new);
  oo_rng rng[3];
  for (int b = 0; b < B; b++) rng[b] = oo_rng_make(11, RNG_SAMPLE, 0, (uint64_t)b);
  make_prompts(prompt, B, Tp, 5);
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, m, B));
  EXPECT_OK(gpt_generate(m, &kv, prompt, Tp, B, o, rng, out, len, logp));
  int n = len[0];
  for (int b = 0; b < B; b++) {
    EXPECT_MSG(len[b] == T - Tp, "%s: sequence %d generated %d tokens, expected %d (context full)", what, b,
               len[b], T - Tp);
    n = len[b] < n ? len[b] : n;
    for (int t = 0; t < Tp; t++) full[(size_t)b * T + t] = prompt[(size_t)b * Tp + t];
    for (int s = 0; s < T - Tp; s++) full[(size_t)b * T + Tp + s] = out[(size_t)b * max_new + s] < 0 ? 0 : out[(size_t)b * max_new + s];
  }
  gpt_forward(m, full, B, T);
  const float *logits = gpt_logits(m);
  double max_err = 0.0, max_ratio = 0.0; /* ratio: error / its tolerance */
  int mismatches = 0, close_calls = 0;
  for (int b = 0; b < B; b++)
    for (int s = 0; s < n; s++) {
      const float *z = logits + ((size_t)b * T + Tp - 1 + s) * V;
      int tok = out[(size_t)b * max_new + s];
      double ref = log_softmax_at(z, V, tok);
      double err = fabs(ref - logp[(size_t)b * max_new + s]);
      max_err = err > max_err ? err : max_err;
      const double tol = tol_gpt_forward(m->d.C, m->d.L, m->d.T, fabs(ref));
      max_ratio = err / tol > max_ratio ? err / tol : max_ratio;
      if (greedy) {
        float gap;
        int am = argmax_gap(z, V, &gap);
        /* a near tie may legitimately go either way: both logits may move by the tolerance */
        if (gap < 2.0 * tol_gpt_forward(m->d.C, m->d.L, m->d.T, fabs(z[am]))) close_calls++;
        else if (am != tok) mismatches++;
      }
    }
  printf("%s: %d positions x %d sequences, max |out_logp - full log-softmax| = %.3g, argmax mismatches %d "
         "(near ties skipped: %d)\n",
         what, n, B, max_err, mismatches, close_calls);
  EXPECT_MSG(max_ratio <= 1.0, "%s: out_logp differs from the full forward by %g (%.3g x tol_gpt_forward)", what,
             max_err, max_ratio);
  EXPECT_MSG(mismatches == 0, "%s: %d greedy tokens differ from the full forward's argmax", what, mismatches);
  gpt_kv_free(&kv);
  free(prompt), free(out), free(len), free(full), free(logp);
}

static void test_full_forward(gpt *m) {
  int max_new = m->d.T; /* more than fits: the context limit must stop generation */
  gpt_sample_opts greedy = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 1, .max_new = max_new, .stop_at_eot = 0};
  printf("model C=%d NH=%d T=%d\n", m->d.C, m->d.NH, m->d.T);
  check_against_full_forward(m, &greedy, 1, "greedy top_k=1");
  gpt_sample_opts sampled = {.temperature = 0.8f, .top_p = 0.9f, .top_k = 40, .max_new = max_new, .stop_at_eot = 0};
  check_against_full_forward(m, &sampled, 0, "sampled T=0.8 top_p=0.9 top_k=40");
}

/* Sequence at batch position 2 of 5 equals the same key generated alone. */
static void test_batch_independence(gpt *m) {
  int Tp = 3, max_new = 12, B = 5, pos = 2;
  int prompt[5 * 3], out5[5 * 12], len5[5], out1[12], len1[1];
  float lp5[5 * 12], lp1[12];
  make_prompts(prompt, B, Tp, 9);
  gpt_sample_opts o = {.temperature = 1.1f, .top_p = 0.95f, .top_k = 100, .max_new = max_new, .stop_at_eot = 1};
  oo_rng rng5[5], rng1[1];
  for (int b = 0; b < B; b++) rng5[b] = oo_rng_make(3, RNG_SAMPLE, 1, (uint64_t)(b == pos ? 7 : 100 + b));
  rng1[0] = oo_rng_make(3, RNG_SAMPLE, 1, 7);
  gpt_kvcache kv5, kv1;
  EXPECT_OK(gpt_kv_create(&kv5, m, 8)); /* capacity larger than the batch */
  EXPECT_OK(gpt_kv_create(&kv1, m, 1));
  EXPECT_OK(gpt_generate(m, &kv5, prompt, Tp, B, &o, rng5, out5, len5, lp5));
  EXPECT_OK(gpt_generate(m, &kv1, prompt + pos * Tp, Tp, 1, &o, rng1, out1, len1, lp1));
  EXPECT(len5[pos] == len1[0]);
  int same = 1;
  float max_d = 0.0f;
  for (int s = 0; s < max_new; s++) {
    same &= out5[pos * max_new + s] == out1[s];
    float d = fabsf(lp5[pos * max_new + s] - lp1[s]);
    max_d = d > max_d ? d : max_d;
  }
  printf("batch independence: tokens %s, max logp difference %.3g\n", same ? "identical" : "DIFFER", max_d);
  EXPECT_MSG(same, "sequence 2 of a batch of 5 differs from the same stream generated alone");
  /* every product of the KV-cache path computes a row alone (kern_linear_packed, LayerNorm, the
   * attention): batch 5 and batch 1 must give the same bits, not just close ones */
  EXPECT_MSG(max_d == 0.0f, "batch 5 vs 1: log-probabilities differ by %.3g (a row's result depends on its batch)",
             (double)max_d);
  /* The other sequences used other keys: they should not all equal sequence pos. */
  int differs = 0;
  for (int b = 0; b < B; b++)
    if (b != pos) differs |= memcmp(out5 + b * max_new, out5 + pos * max_new, sizeof(int) * max_new) != 0;
  EXPECT(differs);
  gpt_kv_free(&kv5);
  gpt_kv_free(&kv1);
}

/* Repeated prompts (fed once, their cache copied) give each sequence what it gets alone; the
 * cache's row capacity smaller than the prompts forces prompts over several forward calls. */
static void test_shared_prompts(gpt *m) {
  enum { B = 6, TP = 8, MAX_NEW = 10 };
  int prompt[B * TP], out[B * MAX_NEW], len[B], out1[MAX_NEW], len1[1];
  float lp[B * MAX_NEW], lp1[MAX_NEW];
  make_prompts(prompt, B, TP, 21);
  const int same_as[B] = {0, 0, 2, 0, 2, 5}; /* sequences 1 and 3 repeat prompt 0, 4 repeats 2 */
  for (int b = 0; b < B; b++) memcpy(prompt + b * TP, prompt + same_as[b] * TP, sizeof(int) * TP);
  gpt_sample_opts o = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .max_new = MAX_NEW, .stop_at_eot = 1};
  oo_rng rng[B], r1[1];
  for (int b = 0; b < B; b++) rng[b] = oo_rng_make(8, RNG_SAMPLE, 2, (uint64_t)b);
  gpt_kvcache kv, kv1;
  EXPECT_OK(gpt_kv_create(&kv, m, B));
  EXPECT_OK(gpt_kv_create(&kv1, m, 1));
  int same = 1;
  float max_d = 0.0f;
  for (int rows = 0; rows < 2; rows++) {
    if (rows) kv.rows = B; /* fewer rows than a prompt (the least a cache has): the long-prompt path */
    for (int b = 0; b < B; b++) rng[b] = oo_rng_make(8, RNG_SAMPLE, 2, (uint64_t)b);
    EXPECT_OK(gpt_generate(m, &kv, prompt, TP, B, &o, rng, out, len, lp));
    for (int b = 0; b < B; b++) {
      r1[0] = oo_rng_make(8, RNG_SAMPLE, 2, (uint64_t)b);
      EXPECT_OK(gpt_generate(m, &kv1, prompt + b * TP, TP, 1, &o, r1, out1, len1, lp1));
      same &= len[b] == len1[0] && !memcmp(out + b * MAX_NEW, out1, sizeof out1);
      for (int s = 0; s < len1[0]; s++) max_d = fmaxf(max_d, fabsf(lp[b * MAX_NEW + s] - lp1[s]));
    }
  }
  printf("shared prompts: tokens %s, max logp difference %.3g\n", same ? "identical" : "DIFFER", max_d);
  EXPECT_MSG(same, "a sequence whose prompt repeats another's differs from the same stream generated alone");
  EXPECT_MSG(max_d == 0.0f, "shared prompts: log-probabilities differ by %.3g from the sequence alone", (double)max_d);
  gpt_kv_free(&kv);
  gpt_kv_free(&kv1);
}

/* top_k = 1 and a tiny top_p both give the greedy sequence, whatever the temperature. */
static void test_greedy_equivalents(gpt *m) {
  int Tp = 2, max_new = 10, B = 4;
  int prompt[4 * 2], a[40], b[40], c[40], la[4], lb[4], lc[4];
  make_prompts(prompt, B, Tp, 21);
  oo_rng r[4];
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, m, B));
  gpt_sample_opts ok1 = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 1, .max_new = max_new, .stop_at_eot = 0};
  gpt_sample_opts op = {.temperature = 1.7f, .top_p = 1e-6f, .top_k = 0, .max_new = max_new, .stop_at_eot = 0};
  gpt_sample_opts ok2 = {.temperature = 0.3f, .top_p = 0.5f, .top_k = 1, .max_new = max_new, .stop_at_eot = 0};
  for (int i = 0; i < B; i++) r[i] = oo_rng_make(1, RNG_SAMPLE, 0, (uint64_t)i);
  EXPECT_OK(gpt_generate(m, &kv, prompt, Tp, B, &ok1, r, a, la, NULL));
  for (int i = 0; i < B; i++) r[i] = oo_rng_make(2, RNG_SAMPLE, 0, (uint64_t)i);
  EXPECT_OK(gpt_generate(m, &kv, prompt, Tp, B, &op, r, b, lb, NULL));
  for (int i = 0; i < B; i++) r[i] = oo_rng_make(3, RNG_SAMPLE, 0, (uint64_t)i);
  EXPECT_OK(gpt_generate(m, &kv, prompt, Tp, B, &ok2, r, c, lc, NULL));
  EXPECT_MSG(memcmp(a, b, sizeof a) == 0, "top_p=1e-6 differs from top_k=1");
  EXPECT_MSG(memcmp(a, c, sizeof a) == 0, "top_k=1 depends on temperature or seed");
  gpt_kv_free(&kv);
}

/* A model whose next-token distribution is the same at every position: lnf_w = 0 makes the final
 * LayerNorm output lnf_b, so logits = wte lnf_b. EOT gets probability about p_eot. */
static void make_constant_model(gpt *m, float eot_logit) {
  gpt_dims d = {.V = GPT_VOCAB, .T = 32, .C = 16, .L = 1, .NH = 2};
  EXPECT_OK(gpt_create(m, d, GPT_LM));
  gpt_init_weights(m, 4, 0.3f, 0.0f);
  for (int c = 0; c < d.C; c++) {
    m->p.lnf_w[c] = 0.0f;
    m->p.lnf_b[c] = c == 0 ? 1.0f : 0.0f;
  }
  /* logit of token v = wte[v][0] */
  for (int v = 0; v < d.V; v++) m->p.wte[(size_t)v * d.C] = v == GPT_EOT ? eot_logit : 0.01f * (float)(v % 7);
}

static void test_eot(void) {
  gpt m;
  make_constant_model(&m, 5.2f); /* p(EOT) = e^5.2 / (e^5.2 + ~256 e^0.03) ~ 0.43 */
  int B = 8, Tp = 1, max_new = 10;
  int prompt[8], out[80], len[8];
  float lp[80];
  for (int b = 0; b < B; b++) prompt[b] = GPT_EOT;
  oo_rng r[8];
  for (int b = 0; b < B; b++) r[b] = oo_rng_make(5, RNG_SAMPLE, 0, (uint64_t)b);
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, &m, B));
  gpt_sample_opts o = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .max_new = max_new, .stop_at_eot = 1};
  EXPECT_OK(gpt_generate(&m, &kv, prompt, Tp, B, &o, r, out, len, lp));
  int early = 0, ok = 1;
  for (int b = 0; b < B; b++) {
    const int *row = out + b * max_new;
    EXPECT(len[b] >= 1 && len[b] <= max_new);
    for (int s = 0; s < len[b] - 1; s++) ok &= row[s] >= 0 && row[s] < GPT_EOT;
    if (len[b] < max_new) {
      early++;
      ok &= row[len[b] - 1] == GPT_EOT;
    }
    for (int s = len[b]; s < max_new; s++) ok &= row[s] == -1 && lp[b * max_new + s] == 0.0f;
  }
  EXPECT_MSG(ok, "stop_at_eot: a sequence continued past EOT or was not padded with -1");
  EXPECT_MSG(early >= 2, "only %d of %d sequences stopped at EOT (p(EOT) ~ 0.43 per step)", early, B);
  /* Without stop_at_eot every sequence runs to max_new and EOT appears inside. */
  for (int b = 0; b < B; b++) r[b] = oo_rng_make(5, RNG_SAMPLE, 0, (uint64_t)b);
  o.stop_at_eot = 0;
  EXPECT_OK(gpt_generate(&m, &kv, prompt, Tp, B, &o, r, out, len, lp));
  int inner_eot = 0;
  for (int b = 0; b < B; b++) {
    EXPECT(len[b] == max_new);
    for (int s = 0; s < max_new - 1; s++) inner_eot += out[b * max_new + s] == GPT_EOT;
  }
  EXPECT(inner_eot > 0);
  gpt_kv_free(&kv);
  gpt_free(&m);
}

/* First-token frequencies over many independent streams against softmax(z / temperature),
 * restricted to the top-k, then to the nucleus of mass top_p, renormalized. Bins: the 4 likeliest tokens
 * and the rest; each within 3 sigma of the expected count. */
static void check_distribution(gpt *m, float temperature, int top_k, float top_p, const char *what) {
  enum { N = 6000, BB = 100, TP = 3 };
  int V = m->d.V;
  int prompt[BB * TP], out[BB], len[BB];
  make_prompts(prompt, 1, TP, 77);
  for (int b = 1; b < BB; b++) memcpy(prompt + b * TP, prompt, sizeof(int) * TP);
  gpt_forward(m, prompt, 1, TP);
  const float *z = gpt_logits(m) + (size_t)(TP - 1) * V;
  double p[GPT_VOCAB], mx = -INFINITY, sum = 0.0;
  for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
  int order[GPT_VOCAB];
  for (int v = 0; v < V; v++) order[v] = v;
  for (int i = 0; i < V; i++) /* selection sort by logit, descending (V is small) */
    for (int j = i + 1; j < V; j++)
      if (z[order[j]] > z[order[i]]) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  for (int v = 0; v < V; v++) p[v] = 0.0;
  int kept = top_k > 0 ? top_k : V;
  for (int i = 0; i < kept; i++) sum += p[order[i]] = exp(((double)z[order[i]] - mx) / temperature);
  for (int v = 0; v < V; v++) p[v] /= sum;
  if (top_p < 1.0f) { /* nucleus: the smallest prefix with mass >= top_p, renormalized */
    double cum = 0.0;
    int n = 0;
    while (n < kept && cum < top_p) cum += p[order[n++]];
    for (int i = n; i < kept; i++) p[order[i]] = 0.0;
    for (int i = 0; i < n; i++) p[order[i]] /= cum;
    kept = n;
  }
  long count[GPT_VOCAB] = {0};
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, m, BB));
  gpt_sample_opts o = {.temperature = temperature, .top_p = top_p, .top_k = top_k, .max_new = 1, .stop_at_eot = 1};
  oo_rng r[BB];
  for (int first = 0; first < N; first += BB) {
    for (int b = 0; b < BB; b++) r[b] = oo_rng_make(99, RNG_SAMPLE, 0, (uint64_t)(first + b));
    EXPECT_OK(gpt_generate(m, &kv, prompt, TP, BB, &o, r, out, len, NULL));
    for (int b = 0; b < BB; b++) count[out[b]]++;
  }
  double worst = 0.0, rest_p = 1.0;
  long rest_n = N, outside = 0;
  for (int i = 0; i < 5; i++) {
    double pi = i < 4 ? p[order[i]] : rest_p;
    long ni = i < 4 ? count[order[i]] : rest_n;
    if (i < 4) {
      rest_p -= pi;
      rest_n -= ni;
    }
    double sigma = sqrt(N * pi * (1.0 - pi)) + 1e-12;
    double zscore = fabs((double)ni - N * pi) / sigma;
    if (pi * N > 5 && zscore > worst) worst = zscore;
    EXPECT_MSG(pi * N <= 5 || zscore <= 3.0, "%s: bin %d has %ld draws, expected %.1f (z = %.2f)", what, i, ni,
               N * pi, zscore);
  }
  for (int i = kept; i < V; i++) outside += count[order[i]];
  printf("%s: p(top4) = %.3f %.3f %.3f %.3f, worst |z| = %.2f, draws outside the kept set %ld\n", what, p[order[0]],
         p[order[1]], p[order[2]], p[order[3]], worst, outside);
  EXPECT_MSG(outside == 0, "%s: %ld draws outside the %d kept tokens", what, outside, kept);
  gpt_kv_free(&kv);
}

static void test_bad_input(gpt *m) {
  int prompt[2] = {65, 66}, out[4], len[1];
  oo_rng r = oo_rng_make(1, RNG_TEST, 0, 0);
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, m, 1));
  gpt_sample_opts o = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .max_new = 4, .stop_at_eot = 1};
  EXPECT(gpt_generate(m, &kv, prompt, 2, 1, &o, &r, out, len, NULL) != 0);
  EXPECT(strstr(oo_error_message(), "end-of-text") != NULL);
  prompt[0] = GPT_EOT;
  EXPECT(gpt_generate(m, &kv, prompt, 2, 2, &o, &r, out, len, NULL) != 0); /* B > capacity */
  o.temperature = 0.0f;
  EXPECT(gpt_generate(m, &kv, prompt, 2, 1, &o, &r, out, len, NULL) != 0);
  gpt_kv_free(&kv);
}

/* --dump PREFIX: writes the bits of what the KV-cache path computes for a fixed random LM and
 * reward model (generated tokens, their out_logp, gpt_score_last's scores) to PREFIX.kv, and
 * of the full forward's logits (sgemm) to PREFIX.fwd. tests/sample.cmake runs it under two
 * OpenBLAS kernels: the .kv files must be identical (the path uses no BLAS), the .fwd files
 * must differ (the control: the kernels do round differently). */
static int dump(const char *prefix) {
  gpt_dims d = {.V = GPT_VOCAB, .T = 40, .C = 64, .L = 2, .NH = 4};
  gpt lm, rm;
  EXPECT_OK(gpt_create(&lm, d, GPT_LM));
  EXPECT_OK(gpt_create(&rm, d, GPT_REWARD));
  gpt_init_weights(&lm, 5, 0.2f, 0.0f);
  gpt_init_weights(&rm, 6, 0.2f, 0.5f);
  enum { B = 6, TP = 8, NEW = 24 };
  int prompt[B * TP], tok[B * NEW], len[B], seqs[B * (TP + NEW)], lens[B];
  float logp[B * NEW], score[B];
  make_prompts(prompt, B, TP, 11);
  oo_rng rng[B];
  for (int b = 0; b < B; b++) rng[b] = oo_rng_make(7, RNG_SAMPLE, (uint64_t)b, 0);
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, &lm, B));
  const gpt_sample_opts o = {.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .max_new = NEW, .stop_at_eot = 0};
  EXPECT_OK(gpt_generate(&lm, &kv, prompt, TP, B, &o, rng, tok, len, logp));
  for (int b = 0; b < B; b++) {
    memcpy(seqs + b * (TP + NEW), prompt + b * TP, sizeof(int) * TP);
    memcpy(seqs + b * (TP + NEW) + TP, tok + b * NEW, sizeof(int) * NEW);
    lens[b] = TP + len[b];
  }
  gpt_score_last(&rm, seqs, lens, B, TP + NEW, 4, score);
  gpt_reserve(&lm, B, TP + NEW);
  gpt_forward(&lm, seqs, B, TP + NEW);
  char path[512];
  snprintf(path, sizeof path, "%s.kv", prefix);
  FILE *f = fopen(path, "wb");
  EXPECT_MSG(f != NULL, "cannot write %s", path);
  if (f) {
    fwrite(tok, sizeof tok, 1, f), fwrite(logp, sizeof logp, 1, f), fwrite(score, sizeof score, 1, f);
    fclose(f);
  }
  snprintf(path, sizeof path, "%s.fwd", prefix);
  f = fopen(path, "wb");
  EXPECT_MSG(f != NULL, "cannot write %s", path);
  if (f) {
    fwrite(gpt_logits(&lm), sizeof(float), (size_t)B * (TP + NEW) * d.V, f);
    fclose(f);
  }
  gpt_kv_free(&kv);
  gpt_free(&lm), gpt_free(&rm);
  return TEST_SUMMARY();
}

/* Resident bytes of this process from /proc/self/statm, or -1 where there is none. */
static double resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = -1;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    fclose(f);
  }
  return res < 0 ? -1.0 : (double)res * 4096.0;
}

/* gpt_kv_memory_bytes (the memory estimate's count) is what gpt_kv_create allocates: keys and
 * values from their layout here, scratch and packed weights from the cache's own sizes; and the
 * process grows by that much when the cache is created (gpt_kv_create touches every page). The
 * growth may exceed the estimate by 2 MiB per buffer (4 buffers rounded to huge pages) and, under
 * AddressSanitizer, by its 1/8 shadow; it may not fall short of it by more than 2%. */
static void test_kv_memory(void) {
  gpt m;
  gpt_dims d = {.V = GPT_VOCAB, .T = 256, .C = 128, .L = 4, .NH = 4};
  EXPECT_OK(gpt_create(&m, d, GPT_LM));
  const int B = 64;
  const double est = gpt_kv_memory_bytes(d, B, 0), before = resident_bytes();
  gpt_kvcache kv;
  EXPECT_OK(gpt_kv_create(&kv, &m, B));
  const double after = resident_bytes();
  const double keys = (double)d.L * B * ((d.T + 7) / 8 * 8) * d.C, values = (double)d.L * B * d.T * d.C;
  const double alloc = 4.0 * (keys + values + (double)kv.scratch_n + (double)kv.wp_n);
  EXPECT_MSG(est == alloc, "gpt_kv_memory_bytes %.0f, gpt_kv_create allocated %.0f", est, alloc);
  if (before > 0 && after > 0) {
#if defined(__SANITIZE_ADDRESS__)
    const double shadow = est / 8;
#else
    const double shadow = 0.0;
#endif
    const double grew = after - before, hi = est + shadow + 4 * 2097152.0;
    printf("%-34s estimate %.1f MB, resident grew %.1f MB\n", "kv cache memory", est / 1e6, grew / 1e6);
    EXPECT_MSG(grew >= 0.98 * est && grew <= hi, "creating the cache grew the process by %.1f MB, estimate %.1f MB",
               grew / 1e6, est / 1e6);
  }
  gpt_kv_free(&kv);
  gpt_free(&m);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
  test_kv_memory(); /* first: no freed (still resident) memory yet that the allocator could reuse */
  gpt m;
  gpt_dims d = {.V = GPT_VOCAB, .T = 24, .C = 32, .L = 2, .NH = 4};
  EXPECT_OK(gpt_create(&m, d, GPT_LM));
  gpt_init_weights(&m, 1234, 0.3f, 0.0f); /* large std: peaked, position-dependent logits */
  gpt_reserve(&m, 3, d.T);
  long live = oo_mem_live_blocks();
  test_full_forward(&m); /* head size 8: the vectorized attention */
  gpt odd; /* head size 6: the scalar attention path */
  gpt_dims d6 = {.V = GPT_VOCAB, .T = 16, .C = 24, .L = 2, .NH = 4};
  EXPECT_OK(gpt_create(&odd, d6, GPT_LM));
  gpt_init_weights(&odd, 99, 0.3f, 0.0f);
  test_full_forward(&odd);
  gpt_free(&odd);
  gpt tail; /* T = 21: the last key tile holds 5 positions */
  gpt_dims d21 = {.V = GPT_VOCAB, .T = 21, .C = 32, .L = 2, .NH = 4};
  EXPECT_OK(gpt_create(&tail, d21, GPT_LM));
  gpt_init_weights(&tail, 77, 0.3f, 0.0f);
  test_full_forward(&tail);
  gpt_free(&tail);
  test_batch_independence(&m);
  test_shared_prompts(&m);
  test_greedy_equivalents(&m);
  test_eot();
  check_distribution(&m, 1.0f, 0, 1.0f, "distribution T=1");
  check_distribution(&m, 1.6f, 0, 1.0f, "distribution T=1.6");
  check_distribution(&m, 1.0f, 3, 1.0f, "distribution top_k=3");
  check_distribution(&m, 1.0f, 0, 0.4f, "distribution top_p=0.4");
  check_distribution(&m, 0.7f, 6, 0.8f, "distribution T=0.7 top_k=6 top_p=0.8");
  test_bad_input(&m);
  EXPECT_MSG(oo_mem_live_blocks() == live, "leaked %ld blocks", oo_mem_live_blocks() - live);
  gpt_free(&m);
  return TEST_SUMMARY();
}
