/* gpt_score: batched log-likelihood of whole sequences under an LM (gpt.h "scoring"); the
 * reward scorer gpt_score_last lives in gpt_sample.c, on the KV-cache path.
 *
 * Sequences arrive as a padded (n,Tmax) array with lengths. They are processed in chunks of
 * `chunk` consecutive sequences; each chunk is compacted into a (nc,Tc) block, Tc = the longest
 * length in the chunk, with padding replaced by end-of-text, and run through gpt_forward.
 * Invariants:
 * - Positions at or after a sequence's length never influence its result (causal attention),
 *   so the padding value is irrelevant: callers may pad with -1.
 * - A sequence's result depends only on its own tokens and on the composition of its chunk
 *   (the chunk fixes the sgemm shapes). Callers that need results independent of how work is
 *   split (over ranks) pass globally aligned chunks: see mpi/prefs.h.
 * - One (chunk,Tmax) int buffer is allocated per call, outside the chunk loop; the model's
 *   activations are reserved once for (chunk,Tmax).
 */
#include <math.h>
#include <string.h>

#include "model/gpt.h"

/* Checks the shapes shared by both scorers and returns the compaction buffer. */
static int *score_setup(gpt *m, const int *lens, int n, int Tmax, int chunk, const char *who) {
  if (n < 0 || Tmax < 1 || Tmax > m->d.T || chunk < 1)
    OO_FATAL("%s: n=%d Tmax=%d chunk=%d (need n >= 0, 1 <= Tmax <= n_ctx=%d, chunk >= 1)", who, n, Tmax, chunk,
             m->d.T);
  for (int i = 0; i < n; i++)
    if (lens[i] < 1 || lens[i] > Tmax) OO_FATAL("%s: sequence %d has length %d outside 1..%d", who, i, lens[i], Tmax);
  if (n == 0) return NULL;
  int cap = chunk < n ? chunk : n;
  gpt_reserve(m, cap, Tmax);
  size_t need = (size_t)cap * (size_t)Tmax; /* grown, never shrunk: no allocation once sized */
  if (need > m->score_buf_cap) {
    xfree(&m->score_buf);
    m->score_buf = xmalloc(sizeof(int) * need);
    m->score_buf_cap = need;
  }
  return m->score_buf;
}

/* Copies sequences [c0, c0+nc) into buf as (nc,Tc), padding with end-of-text; returns Tc. */
static int compact_chunk(int *buf, // (nc,Tc)
                         const int *tokens, const int *lens, int c0, int nc, int Tmax) {
  int Tc = 1;
  for (int i = 0; i < nc; i++)
    if (lens[c0 + i] > Tc) Tc = lens[c0 + i];
  for (int i = 0; i < nc; i++) {
    const int *src = tokens + (size_t)(c0 + i) * Tmax;
    int *dst = buf + (size_t)i * Tc, len = lens[c0 + i];
    memcpy(dst, src, sizeof(int) * (size_t)len);
    for (int t = len; t < Tc; t++) dst[t] = GPT_EOT;
  }
  return Tc;
}

void gpt_mean_logprob(gpt *lm, const int *tokens, const int *lens, int n, int Tmax, int start, int chunk,
                      float *out) {
  if (!gpt_kind_has_logits(lm->kind)) OO_FATAL("gpt_mean_logprob: the model is not a language model (kind %d)", (int)lm->kind);
  if (start < 1) OO_FATAL("gpt_mean_logprob: start = %d must be >= 1 (position 0 has no prefix)", start);
  int *buf = score_setup(lm, lens, n, Tmax, chunk, "gpt_mean_logprob");
  const int V = lm->d.V;
  for (int c0 = 0; c0 < n; c0 += chunk) {
    int nc = n - c0 < chunk ? n - c0 : chunk;
    int Tc = compact_chunk(buf, tokens, lens, c0, nc, Tmax);
    gpt_forward(lm, buf, nc, Tc);
    const float *logits = gpt_logits(lm); /* (nc,Tc,V) */
    for (int i = 0; i < nc; i++) {
      const int *seq = buf + (size_t)i * Tc;
      int len = lens[c0 + i];
      double sum = 0;
      for (int t = start; t < len; t++) { /* token t is predicted by the logits at t-1 */
        const float *z = logits + ((size_t)i * Tc + (size_t)(t - 1)) * V;
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        double se = 0;
        for (int v = 0; v < V; v++) se += exp((double)z[v] - zmax);
        sum += (double)z[seq[t]] - zmax - log(se);
      }
      out[c0 + i] = len > start ? (float)(sum / (len - start)) : 0.0f;
    }
  }
}
