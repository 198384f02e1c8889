/* gpt_sample: batched autoregressive generation with a key/value cache (gpt.h "sampling"), and
 * scoring of sequences that share a prefix through the same cache (gpt_score_last).
 *
 * The core is forward_rows: n rows, row i being token tok[i] at position pos[i] of cache slot
 * slot[i], go through the layers together (each linear layer is one kern_linear_packed product
 * with M = n, on weights packed once per gpt_generate / gpt_score_last call); a row's
 * key and value enter its slot before attention, and its attention reads the slot's positions
 * 0..pos[i], so one call may hold several positions of a slot (in increasing order) as long as
 * the earlier positions are cached or in the call.
 * gpt_generate feeds each distinct prompt once (all its positions in one call; rows with the
 * same prompt copy its cached keys/values), then samples one token per step for every sequence
 * still active, one call per step with M = (active rows). Invariants:
 * - Row i of a step belongs to cache slot act[i]; finished sequences are dropped from act, so
 *   later steps cost nothing for them.
 * - Sequence b draws exactly one oo_rng_uniform(&rng[b]) per generated token, and its
 *   arithmetic never mixes with other rows, so its tokens depend on neither B nor position.
 * - Nothing is allocated after gpt_kv_create: all per-step buffers live in kv->scratch.
 * LayerNorm and GELU are the training forward's kernels (kernels.h). The linear layers are
 * kern_linear_packed rather than the forward's sgemm: same math, each element one fmaf chain, so
 * a sampled token depends on neither the batch nor the BLAS kernel; at rounding level the
 * logits differ from gpt_forward's (tests/test_gpt_sample.c bounds it). Attention has its own
 * loop here, since one query row per sequence reads a cache rather than a (T,T) block.
 */
#include <math.h>
#include <string.h>

#include "model/gpt.h"
#include "model/kernels.h"

_Static_assert(sizeof(int) == sizeof(float), "kv->scratch holds int regions as float slots");

#define GPT_SAMPLE_SEL 64 /* rows per head_rows call when picking rows out of a forward */

/* ---- cache -------------------------------------------------------------------------------- */

/* Scratch layout, in float slots, for batch capacity B (slots) and `rows` rows per forward call. */
typedef struct {
  size_t x, xn, qkv, att, fch, fcg, mean, rstd, logits, scores, probs, heap, tok, act, pos, src, uord, total;
} scratch_layout;

static scratch_layout scratch_plan(gpt_dims d, int B, int rows) {
  scratch_layout s;
  size_t o = 0, Bs = (size_t)rows, C = (size_t)d.C, Bslots = (size_t)B;
#define TAKE(field, n)                                                                        \
  do {                                                                                        \
    s.field = o;                                                                              \
    o += ((size_t)(n) + 15) / 16 * 16; /* keep every region 64-byte aligned */                \
  } while (0)
  TAKE(x, Bs * C);               /* (rows,C) residual stream */
  TAKE(xn, Bs * C);              /* (rows,C) LayerNorm output */
  TAKE(qkv, Bs * 3 * C);         /* (rows,3C) */
  TAKE(att, Bs * C);             /* (rows,C) attention output */
  TAKE(fch, Bs * 4 * C);         /* (rows,4C) MLP hidden before GELU */
  TAKE(fcg, Bs * 4 * C);         /* (rows,4C) MLP hidden after GELU */
  TAKE(mean, Bs);                /* (rows) LayerNorm statistics (unused after the call) */
  TAKE(rstd, Bs);                /* (rows) */
  TAKE(logits, Bslots * (size_t)d.V); /* (B,V) */
  TAKE(scores, (size_t)d.NH * (size_t)kern_pad8(d.T) + 2 * C); /* (NH,Tp) weights of one row, (2,C) sums */
  TAKE(probs, (size_t)d.V);      /* (V) sampling distribution of one row */
  TAKE(heap, (size_t)d.V);       /* (V) int: candidate order for top-k / top-p */
  TAKE(tok, Bs);                 /* (rows) int: token fed, per row */
  TAKE(act, Bs);                 /* (rows) int: cache slot of each row */
  TAKE(pos, Bs);                 /* (rows) int: position of each row */
  TAKE(src, Bslots);             /* (B) int: per slot, the slot whose prompt it shares (itself if first) */
  TAKE(uord, Bslots);            /* (B) int: per slot, the rank of its prompt among the distinct ones */
#undef TAKE
  s.total = o;
  return s;
}

/* Keys are cached in tiles of 8 positions, (Tt, C, 8) per slot with Tt = ceil(T/8): key (t, c)
 * is at tile t/8, offset c*8 + t%8, so attention reads 8 positions' scores as one vector.
 * Values keep the (T, C) layout. Floats per slot of keys: */
static size_t kv_key_slot(gpt_dims d) { return (size_t)kern_pad8(d.T) * (size_t)d.C; }
/* &key(t, c) of a slot's tiles; the next channel is 8 floats on */
KERN_INLINE const float *kv_key_at(const float *K, int t, int c, int C) {
  return K + (size_t)(t / 8) * 8 * (size_t)C + (size_t)c * 8 + (size_t)(t % 8);
}

/* Packed linear weights (kern_pack_weights) in kv->wp: per layer qkv, attproj, fc, fcproj, then
 * the LM head (wte), whatever the model's kind. Offsets in floats. */
typedef struct {
  size_t qkv, proj, fc, fcproj, layer, head, total;
} pack_layout;

static pack_layout pack_plan(gpt_dims d) {
  pack_layout p;
  p.qkv = 0;
  p.proj = p.qkv + kern_packed_size(3 * d.C, d.C);
  p.fc = p.proj + kern_packed_size(d.C, d.C);
  p.fcproj = p.fc + kern_packed_size(4 * d.C, d.C);
  p.layer = p.fcproj + kern_packed_size(d.C, 4 * d.C);
  p.head = (size_t)d.L * p.layer;
  p.total = p.head + kern_packed_size(d.V, d.C);
  return p;
}

/* Packs m's current weights into kv->wp: about one read and one write of the parameters, against
 * OpenBLAS packing every weight of every layer on every step. */
static void kv_pack(gpt_kvcache *kv, const gpt *m) {
  const gpt_dims d = m->d;
  const pack_layout pl = pack_plan(d);
  const size_t Cs = (size_t)d.C;
  for (int l = 0; l < d.L; l++) {
    float *w = kv->wp + (size_t)l * pl.layer;
    const size_t lC = (size_t)l * Cs;
    kern_pack_weights(w + pl.qkv, m->p.qkv_w + lC * 3 * Cs, 3 * d.C, d.C);
    kern_pack_weights(w + pl.proj, m->p.attproj_w + lC * Cs, d.C, d.C);
    kern_pack_weights(w + pl.fc, m->p.fc_w + lC * 4 * Cs, 4 * d.C, d.C);
    kern_pack_weights(w + pl.fcproj, m->p.fcproj_w + lC * 4 * Cs, d.C, 4 * d.C);
  }
  if (gpt_kind_has_logits(m->kind)) kern_pack_weights(kv->wp + pl.head, m->p.wte, d.V, d.C);
}

/* Rows per forward call of a cache for B slots: enough for every position of a few prompts at
 * once, so a prompt's products have M = Tp or more. */
static int default_rows(const gpt_dims d, int B) {
  int rows = 4 * d.T;
  return rows > B ? rows : B;
}

/* Floats of each buffer of a cache of B slots with `rows` rows per call: what kv_create_rows
 * allocates and gpt_kv_memory_bytes counts. */
typedef struct {
  size_t k, v, scratch, wp;
} kv_sizes;

static kv_sizes kv_plan(gpt_dims d, int B, int rows) {
  return (kv_sizes){(size_t)d.L * (size_t)B * kv_key_slot(d), (size_t)d.L * (size_t)B * (size_t)d.T * (size_t)d.C,
                    scratch_plan(d, B, rows).total, pack_plan(d).total};
}

static int kv_create_rows(gpt_kvcache *kv, const gpt *m, int B, int rows) {
  memset(kv, 0, sizeof *kv);
  gpt_dims d = m->d;
  REQUIRE(B >= 1, "gpt_kv_create: batch capacity must be >= 1, got %d", B);
  REQUIRE(d.L >= 1 && d.C >= 1 && d.T >= 1 && d.NH >= 1 && d.C % d.NH == 0 && d.V == GPT_VOCAB,
          "gpt_kv_create: invalid model dims (L=%d C=%d T=%d NH=%d V=%d)", d.L, d.C, d.T, d.NH, d.V);
  const kv_sizes z = kv_plan(d, B, rows);
  kv->d = d;
  kv->B = B;
  kv->rows = rows;
  kv->k = xmalloc_floats(z.k);
  kv->v = xmalloc_floats(z.v);
  kv->scratch_n = z.scratch;
  kv->scratch = xmalloc_floats(z.scratch);
  kv->wp_n = z.wp;
  kv->wp = xmalloc_floats(z.wp);
  /* Touch every page now: first-touch page faults inside generation cost ~10% of a run. */
  memset(kv->k, 0, z.k * sizeof(float));
  memset(kv->v, 0, z.v * sizeof(float));
  memset(kv->scratch, 0, z.scratch * sizeof(float));
  memset(kv->wp, 0, z.wp * sizeof(float));
  return OO_OK;
}

int gpt_kv_create(gpt_kvcache *kv, const gpt *m, int B) {
  REQUIRE(B >= 1, "gpt_kv_create: batch capacity must be >= 1, got %d", B);
  return kv_create_rows(kv, m, B, default_rows(m->d, B));
}

double gpt_kv_memory_bytes(gpt_dims d, int B, int rows) {
  if (B < 1) B = 1;
  const kv_sizes z = kv_plan(d, B, rows > 0 ? rows : default_rows(d, B));
  return sizeof(float) * ((double)z.k + (double)z.v + (double)z.scratch + (double)z.wp);
}

void gpt_kv_free(gpt_kvcache *kv) {
  xfree(&kv->k);
  xfree(&kv->v);
  xfree(&kv->scratch);
  xfree(&kv->wp);
  memset(kv, 0, sizeof *kv);
}

/* ---- kernels (one row at a time) ------------------------------------------------------- */

/* softmax in place over s[0..n) */
KERN_INLINE void softmax_inplace(float *s, int n) {
  float mx = kern_max(s, n);
  float inv = 1.0f / kern_exp_sum(s, mx, n);
  for (int t = 0; t < n; t++) s[t] *= inv;
}

#define ATT_PREFETCH 16 /* rows ahead that attend_row_v8 asks for */
#define ATT_VROWS 8    /* value rows per block of the output pass (even: E and O alternate) */

/* Prefetch of 8 rows of C floats with low temporal locality (prefetcht2: to L2, not L1). The
 * cache of 64 sequences is read once per step and is much larger than L3. With the key tiles
 * (one fmaf chain per 8 scores) the non-temporal hint, which helped the older layout by about
 * 4%, became the slower one: 3291-3597 tokens/s against 3798-3844 with this hint at C256 T256
 * batch 64 (three interleaved runs each, Zen 4); at C128 T128 the two are within the noise.
 * A prefetch never faults, so one past the slot's rows is harmless. */
KERN_INLINE void prefetch_rows(const float *p, size_t C) {
  for (size_t i = 0; i < 8 * C; i += 16) __builtin_prefetch(p + i, 0, 1);
}

/* The next row's cache (its key tiles, then its values), streamed into L2 while this row
 * computes from it: ATT_STREAM lines ahead per step of the inner loops, which issue about 1.2
 * times as many as the next row needs. Without it one row's arithmetic (7 us at C256, position
 * 128, with the data in L2) and its DRAM traffic (10 us) took turns: 20.7 us per row, 12.8
 * GB/s, against 12.7-13.3 us (20 GB/s) with it, in a stand-alone loop over 64 slots x 6 layers
 * (Zen 4). Two rows at position 255 fill the 1 MB L2, so the gain falls to 15% there. */
#define ATT_STREAM 3
typedef struct {
  const char *p, *end, *p2, *end2; /* keys [p, end), then values [p2, end2) */
} att_stream;

KERN_INLINE void att_stream_step(att_stream *st) {
  for (int j = 0; j < ATT_STREAM; j++) {
    if (st->p < st->end) {
      __builtin_prefetch(st->p, 0, 1);
      st->p += 64;
    } else if (st->p2 < st->end2) {
      __builtin_prefetch(st->p2, 0, 1);
      st->p2 += 64;
    }
  }
}

/* One 32-column block of the output pass over value rows t0..t1-1 (v: row t0, column c):
 * E (O) += the weights of even (odd) t times the row's 32 values. s0..s3 are the weights of
 * columns c, c+8, c+16, c+24; passed the same pointer (a block inside one head), the inlined
 * copy broadcasts each row's weight once instead of four times. */
KERN_INLINE void value_block32(float *E, float *O, const float *v, size_t Cs, int t0, int t1, const float *s0,
                               const float *s1, const float *s2, const float *s3, att_stream *st) {
  v8f e0 = v8_load(E), e1 = v8_load(E + 8), e2 = v8_load(E + 16), e3 = v8_load(E + 24);
  v8f o0 = v8_load(O), o1 = v8_load(O + 8), o2 = v8_load(O + 16), o3 = v8_load(O + 24);
  int i = t0;
  for (; i + 2 <= t1; i += 2, v += 2 * Cs) {
    att_stream_step(st);
    e0 = v8_fma(v8_splat(s0[i]), v8_load(v), e0);
    e1 = v8_fma(v8_splat(s1[i]), v8_load(v + 8), e1);
    e2 = v8_fma(v8_splat(s2[i]), v8_load(v + 16), e2);
    e3 = v8_fma(v8_splat(s3[i]), v8_load(v + 24), e3);
    o0 = v8_fma(v8_splat(s0[i + 1]), v8_load(v + Cs), o0);
    o1 = v8_fma(v8_splat(s1[i + 1]), v8_load(v + Cs + 8), o1);
    o2 = v8_fma(v8_splat(s2[i + 1]), v8_load(v + Cs + 16), o2);
    o3 = v8_fma(v8_splat(s3[i + 1]), v8_load(v + Cs + 24), o3);
  }
  if (i < t1) { /* the last row of an odd n: an even t */
    e0 = v8_fma(v8_splat(s0[i]), v8_load(v), e0);
    e1 = v8_fma(v8_splat(s1[i]), v8_load(v + 8), e1);
    e2 = v8_fma(v8_splat(s2[i]), v8_load(v + 16), e2);
    e3 = v8_fma(v8_splat(s3[i]), v8_load(v + 24), e3);
  }
  v8_store(E, e0), v8_store(E + 8, e1), v8_store(E + 16, e2), v8_store(E + 24, e3);
  v8_store(O, o0), v8_store(O + 8, o1), v8_store(O + 16, o2), v8_store(O + 24, o3);
}

/* Causal attention of one row at position pos over its cache slot, all heads; hs % 8 == 0.
 * q (C) is the row's query; K points at the slot's keys in tiles of 8 positions (kv_key_at),
 * V at its (T,C) values; out (C). Scores: a tile is (C, 8), so the 8 positions of a tile are
 * the 8 lanes of one vector and a score is one fmaf chain over its head's channels in increasing
 * order, with no horizontal sums (a (T,C) key layout needed a shuffle tree per 8 scores, and
 * was the slower half of this function). Both passes stream the slot's memory in order, every
 * head at once: the time here is memory traffic (the cache of 64 sequences does not fit in L3).
 * Each output column is the FMA chain over even t plus the chain over odd t, each in
 * increasing t. Results do not depend on the batch, the position's neighbours or the CPU. */
KERN_HOT static void attend_row_v8(float *out,     // (C)
                                   const float *q, // (C)
                                   const float *K, // (Tt,C,8) key tiles of this slot and layer
                                   const float *V, // (T,C) values of this slot and layer
                                   float *scores,  // (NH,Tp) scratch, then (2,C)
                                   int pos, int C, int NH, int T,
                                   const float *nK, // the next row's key tiles, or NULL
                                   const float *nV, // the next row's values
                                   int npos) {      // the next row's position
  const int hs = C / NH, n = pos + 1, Tp = kern_pad8(T);
  const float scale = 1.0f / sqrtf((float)hs);
  const size_t Cs = (size_t)C;
  const v8f vs = v8_splat(scale);
  att_stream st = {NULL, NULL, NULL, NULL};
  if (nK) {
    st.p = (const char *)nK, st.end = st.p + (size_t)kern_pad8(npos + 1) * Cs * sizeof(float);
    st.p2 = (const char *)nV, st.end2 = st.p2 + (size_t)(npos + 1) * Cs * sizeof(float);
  }
  for (int t = 0; t < n; t += 8) {
    const float *k = K + (size_t)t * Cs; /* tile t/8: (C, 8) */
    prefetch_rows(t + ATT_PREFETCH < n ? k + ATT_PREFETCH * Cs : V + (size_t)(t + ATT_PREFETCH - n) * Cs, Cs);
    int h = 0;
    for (; h + 4 <= NH; h += 4) { /* four heads' chains at once: one chain alone waits on each fmaf */
      const float *k0 = k + (size_t)h * hs * 8, *q0 = q + (size_t)h * hs;
      const size_t ks = (size_t)hs * 8;
      v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
      for (int c = 0; c < hs; c++) {
        att_stream_step(&st);
        a0 = v8_fma(v8_splat(q0[c]), v8_load(k0 + (size_t)c * 8), a0);
        a1 = v8_fma(v8_splat(q0[hs + c]), v8_load(k0 + ks + (size_t)c * 8), a1);
        a2 = v8_fma(v8_splat(q0[2 * hs + c]), v8_load(k0 + 2 * ks + (size_t)c * 8), a2);
        a3 = v8_fma(v8_splat(q0[3 * hs + c]), v8_load(k0 + 3 * ks + (size_t)c * 8), a3);
      }
      float *sc = scores + (size_t)h * Tp + t; /* lanes past pos are never read */
      v8_store(sc, a0 * vs), v8_store(sc + Tp, a1 * vs), v8_store(sc + 2 * Tp, a2 * vs), v8_store(sc + 3 * Tp, a3 * vs);
    }
    for (; h < NH; h++) {
      const float *kh = k + (size_t)h * hs * 8, *qh = q + (size_t)h * hs;
      v8f a = {0};
      for (int c = 0; c < hs; c++) a = v8_fma(v8_splat(qh[c]), v8_load(kh + (size_t)c * 8), a);
      v8_store(scores + (size_t)h * Tp + t, a * vs);
    }
  }
  for (int h = 0; h < NH; h++) softmax_inplace(scores + (size_t)h * Tp, n);
  /* out = E + O, E (O) the FMA chains over even (odd) t, kept in the scratch between blocks of 8
   * rows and in registers for 32 columns within one */
  float *E = scores + (size_t)NH * Tp, *O = E + Cs;
  memset(E, 0, 2 * Cs * sizeof(float));
  for (int t0 = 0; t0 < n; t0 += ATT_VROWS) {
    const int t1 = t0 + ATT_VROWS < n ? t0 + ATT_VROWS : n;
    for (int r = t0 + ATT_PREFETCH; r < t1 + ATT_PREFETCH && r + 8 <= n; r += 8) prefetch_rows(V + (size_t)r * Cs, Cs);
    int c = 0;
    if (hs % 32 == 0) /* a 32-column block lies in one head: the same weights for its four vectors */
      for (; c + 32 <= C; c += 32) {
        const float *s = scores + (size_t)(c / hs) * Tp;
        value_block32(E + c, O + c, V + (size_t)t0 * Cs + c, Cs, t0, t1, s, s, s, s, &st);
      }
    for (; c + 32 <= C; c += 32)
      value_block32(E + c, O + c, V + (size_t)t0 * Cs + c, Cs, t0, t1, scores + (size_t)(c / hs) * Tp,
                    scores + (size_t)((c + 8) / hs) * Tp, scores + (size_t)((c + 16) / hs) * Tp,
                    scores + (size_t)((c + 24) / hs) * Tp, &st);
    for (; c < C; c += 8) {
      const float *s = scores + (size_t)(c / hs) * Tp;
      v8f e = v8_load(E + c), o = v8_load(O + c);
      const float *v = V + (size_t)t0 * Cs + c;
      int i = t0;
      for (; i + 2 <= t1; i += 2, v += 2 * Cs) {
        e = v8_fma(v8_splat(s[i]), v8_load(v), e);
        o = v8_fma(v8_splat(s[i + 1]), v8_load(v + Cs), o);
      }
      if (i < t1) e = v8_fma(v8_splat(s[i]), v8_load(v), e);
      v8_store(E + c, e), v8_store(O + c, o);
    }
  }
  for (int c = 0; c < C; c += 8) v8_store(out + c, v8_load(E + c) + v8_load(O + c));
}

/* The same for any head size, plain loops (scores: attend_row_v8's bits). */
KERN_HOT static void attend_row_scalar(float *out, const float *q, const float *K, const float *V, float *scores, int pos,
                              int C, int NH, int T) {
  int hs = C / NH, n = pos + 1, Tp = kern_pad8(T);
  float scale = 1.0f / sqrtf((float)hs);
  for (int h = 0; h < NH; h++) {
    float *s = scores + (size_t)h * Tp;
    for (int t = 0; t < n; t++) { /* the same fmaf chain as attend_row_v8's lane for t */
      const float *k = kv_key_at(K, t, h * hs, C), *qh = q + h * hs;
      float d = 0.0f;
      for (int j = 0; j < hs; j++) d = fmaf(qh[j], k[(size_t)j * 8], d);
      s[t] = d * scale;
    }
    softmax_inplace(s, n);
    float *oh = out + h * hs;
    for (int j = 0; j < hs; j++) oh[j] = 0.0f;
    for (int t = 0; t < n; t++)
      for (int j = 0; j < hs; j++) oh[j] = fmaf(s[t], V[(size_t)t * C + h * hs + j], oh[j]);
  }
}



/* Feeds the n rows of the scratch (token tok[i] at position pos[i] of slot act[i]) through
 * every layer; stores their keys and values in the cache. The residual stream after the last
 * layer is left in the scratch's x (n,C); head_rows applies the final LayerNorm and a head.
 * keep (increasing row indices, n_keep of them), if not NULL, keeps only those rows after the
 * last layer's keys and values (a scorer needs the last position of each sequence): x then
 * holds (n_keep,C), and act/pos are compacted the same way. */
static void forward_rows(const gpt *m, gpt_kvcache *kv, const scratch_layout *sl, int n, const int *keep,
                         int n_keep) {
  gpt_dims d = m->d;
  int C = d.C, T = d.T, NH = d.NH;
  const gpt_tensors *p = &m->p;
  float *S = kv->scratch;
  float *x = S + sl->x, *xn = S + sl->xn, *qkv = S + sl->qkv, *att = S + sl->att;
  float *fch = S + sl->fch, *scores = S + sl->scores;
  const int *tok = (const int *)(S + sl->tok);
  int *act = (int *)(S + sl->act), *posv = (int *)(S + sl->pos);
  size_t Cs = (size_t)C;
  const pack_layout pl = pack_plan(d);

  for (int i = 0; i < n; i++) {
    const float *te = p->wte + (size_t)tok[i] * Cs, *pe = p->wpe + (size_t)posv[i] * Cs;
    float *xi = x + (size_t)i * Cs;
    for (int c = 0; c < C; c++) xi[c] = te[c] + pe[c];
  }
  float *mean = S + sl->mean, *rstd = S + sl->rstd, *fcg = S + sl->fcg;
  for (int l = 0; l < d.L; l++) {
    size_t lC = (size_t)l * Cs;
    kern_layernorm_forward(xn, mean, rstd, x, p->ln1_w + lC, p->ln1_b + lC, n, C);
    const float *wl = kv->wp + (size_t)l * pl.layer;
    kern_linear_packed(qkv, xn, wl + pl.qkv, p->qkv_b + 3 * lC, NULL, n, C, 3 * C);
    const size_t KS = kv_key_slot(d);
    float *Kl = kv->k + (size_t)l * kv->B * KS, *Vl = kv->v + (size_t)l * kv->B * T * Cs;
    for (int i = 0; i < n; i++) { /* every key and value first: later rows of a slot read earlier ones */
      const float *qi = qkv + (size_t)i * 3 * Cs;
      float *kt = (float *)kv_key_at(Kl + (size_t)act[i] * KS, posv[i], 0, C);
      for (int c = 0; c < C; c++) kt[(size_t)c * 8] = qi[Cs + c];
      memcpy(Vl + (size_t)act[i] * T * Cs + (size_t)posv[i] * Cs, qi + 2 * Cs, Cs * sizeof(float));
    }
    if (keep && l == d.L - 1) { /* past the last keys and values only the kept rows matter */
      for (int j = 0; j < n_keep; j++) { /* keep is increasing: row keep[j] moves down to j */
        const int i = keep[j];
        if (i == j) continue;
        memcpy(x + (size_t)j * Cs, x + (size_t)i * Cs, Cs * sizeof(float));
        memcpy(qkv + (size_t)j * 3 * Cs, qkv + (size_t)i * 3 * Cs, Cs * sizeof(float)); /* the query */
        act[j] = act[i];
        posv[j] = posv[i];
      }
      n = n_keep;
    }
    for (int i = 0; i < n; i++) {
      const float *Ki = Kl + (size_t)act[i] * KS, *Vi = Vl + (size_t)act[i] * T * Cs;
      const float *qi = qkv + (size_t)i * 3 * Cs;
      const int nx = i + 1 < n; /* attend_row_v8 streams the next row's slot, from its first keys on */
      if ((C / NH) % 8 == 0)
        attend_row_v8(att + (size_t)i * Cs, qi, Ki, Vi, scores, posv[i], C, NH, T, nx ? Kl + (size_t)act[i + 1] * KS : NULL,
                      nx ? Vl + (size_t)act[i + 1] * T * Cs : NULL, nx ? posv[i + 1] : 0);
      else
        attend_row_scalar(att + (size_t)i * Cs, qi, Ki, Vi, scores, posv[i], C, NH, T);
    }
    kern_linear_packed(x, att, wl + pl.proj, p->attproj_b + lC, x, n, C, C);
    kern_layernorm_forward(xn, mean, rstd, x, p->ln2_w + lC, p->ln2_b + lC, n, C);
    kern_linear_packed(fch, xn, wl + pl.fc, p->fc_b + 4 * lC, NULL, n, C, 4 * C);
    kern_gelu_forward(fcg, fch, (long)n * 4 * C);
    kern_linear_packed(x, fcg, wl + pl.fcproj, p->fcproj_b + lC, x, n, 4 * C, C);
  }
}

/* Final LayerNorm and the LM head (logits (nsel,V) into out) or the scalar head (raw (nsel)
 * into out) on nsel rows of the scratch's x: rows idx[0..nsel), or the first nsel if idx is
 * NULL. Gathered rows go through att (nsel <= rows). */
static void head_rows(const gpt *m, gpt_kvcache *kv, const scratch_layout *sl, const int *idx, int nsel,
                      int logits, float *out) {
  const gpt_dims d = m->d;
  const size_t Cs = (size_t)d.C;
  float *S = kv->scratch, *x = S + sl->x, *xn = S + sl->xn;
  if (idx) {
    float *g = S + sl->att;
    for (int i = 0; i < nsel; i++) memcpy(g + (size_t)i * Cs, x + (size_t)idx[i] * Cs, Cs * sizeof(float));
    x = g;
  }
  kern_layernorm_forward(xn, S + sl->mean, S + sl->rstd, x, m->p.lnf_w, m->p.lnf_b, nsel, d.C);
  if (logits)
    kern_linear_packed(out, xn, kv->wp + pack_plan(d).head, NULL, NULL, nsel, d.C, d.V);
  else
    kern_scalar_head(out, xn, m->p.head_w, m->p.head_b, nsel, d.C);
}

/* Copies positions [0, np) of slot `from` to slot `to` in every layer's keys and values. */
static void copy_prefix(gpt_kvcache *kv, int from, int to, int np) {
  const size_t TC = (size_t)kv->d.T * kv->d.C, n = (size_t)np * kv->d.C, KS = kv_key_slot(kv->d);
  const size_t nk = (size_t)kern_pad8(np) * kv->d.C; /* whole tiles: lanes past np are rewritten before use */
  for (int l = 0; l < kv->d.L; l++) {
    memcpy(kv->k + (size_t)(l * kv->B + to) * KS, kv->k + (size_t)(l * kv->B + from) * KS, nk * sizeof(float));
    const size_t layer = (size_t)l * kv->B * TC;
    memcpy(kv->v + layer + (size_t)to * TC, kv->v + layer + (size_t)from * TC, n * sizeof(float));
  }
}

/* ---- sampling ---------------------------------------------------------------------------- */

/* Candidate order: higher probability first, lower token id first among equals. */
static inline int ranks_before(const float *pr, int a, int b) {
  return pr[a] > pr[b] || (pr[a] == pr[b] && a < b);
}

static void sift_down(int *heap, int n, int i, const float *pr) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, best = i;
    if (l < n && ranks_before(pr, heap[l], heap[best])) best = l;
    if (r < n && ranks_before(pr, heap[r], heap[best])) best = r;
    if (best == i) return;
    int t = heap[i];
    heap[i] = heap[best];
    heap[best] = t;
    i = best;
  }
}

/* Draws a token from logits z (V) under options o with one uniform from rng; *logp gets
 * log p(token) under the plain model (softmax of z). probs (V) and heap (V) are scratch. */
KERN_HOT static int sample_row(const float *z, int V, const gpt_sample_opts *o, oo_rng *rng, float *probs,
                      int *heap, float *logp) {
  float zmax = kern_max(z, V);
  float invT = 1.0f / o->temperature;
  float total = 0.0f;
  for (int j = 0; j < V; j++) {
    probs[j] = kern_expf((z[j] - zmax) * invT);
    total += probs[j];
  }
  float u = oo_rng_uniform(rng);
  int truncate = (o->top_k > 0 && o->top_k < V) || o->top_p < 1.0f;
  int tok = -1;
  if (!truncate) {
    float target = u * total, cum = 0.0f;
    for (int j = 0; j < V; j++) {
      if (probs[j] <= 0.0f) continue;
      tok = j; /* fallback when rounding leaves target >= cum at the end */
      cum += probs[j];
      if (cum > target) break;
    }
  } else {
    /* Pop candidates in descending order from a max-heap into heap[n_heap..V) reversed:
     * popped[k] = the (k+1)-th most likely token. */
    for (int j = 0; j < V; j++) heap[j] = j;
    for (int i = V / 2 - 1; i >= 0; i--) sift_down(heap, V, i, probs);
    int k_max = (o->top_k > 0 && o->top_k < V) ? o->top_k : V;
    int use_p = o->top_p < 1.0f;
    float p_target = o->top_p * total; /* without top-k the nucleus is over the full mass */
    int n_heap = V, n_kept = 0;
    float kept = 0.0f;
    int *popped = heap; /* popped tokens go to the tail slots the shrinking heap frees */
    while (n_kept < k_max && n_heap > 0) {
      int top = heap[0];
      heap[0] = heap[--n_heap];
      sift_down(heap, n_heap, 0, probs);
      popped[n_heap] = top;
      n_kept++;
      kept += probs[top];
      if (use_p && k_max == V && kept >= p_target) break;
    }
    /* popped in descending order: popped[V-1], popped[V-2], ... */
    if (use_p && k_max < V) { /* nucleus of the renormalized top-k */
      float lim = o->top_p * kept, cum = 0.0f;
      int n = 0;
      for (; n < n_kept; n++) {
        cum += probs[popped[V - 1 - n]];
        if (cum >= lim) {
          n++;
          break;
        }
      }
      n_kept = n;
      kept = cum;
    }
    float target = u * kept, cum = 0.0f;
    for (int n = 0; n < n_kept; n++) {
      tok = popped[V - 1 - n];
      cum += probs[tok];
      if (cum > target) break;
    }
  }
  *logp = z[tok] - kern_logsumexp_row(z, NULL, V); /* temperature 1, no truncation */
  return tok;
}

/* ---- generation -------------------------------------------------------------------------- */

int gpt_generate(gpt *m, gpt_kvcache *kv, const int *prompt, int Tp, int B, const gpt_sample_opts *o,
                 oo_rng *rng, int *out_tokens, int *out_len, float *out_logp) {
  gpt_dims d = m->d;
  REQUIRE(gpt_kind_has_logits(m->kind), "gpt_generate: the model is not a language model (kind %d)", (int)m->kind);
  REQUIRE(kv->k && kv->d.L == d.L && kv->d.C == d.C && kv->d.T == d.T && kv->d.NH == d.NH &&
              kv->d.V == d.V,
          "gpt_generate: the KV cache was created for other model dims; call gpt_kv_create for this model");
  REQUIRE(B >= 1 && B <= kv->B, "gpt_generate: batch %d exceeds the KV cache capacity %d", B, kv->B);
  REQUIRE(Tp >= 1 && Tp <= d.T, "gpt_generate: prompt length %d must be in [1, n_ctx=%d]", Tp, d.T);
  REQUIRE(o->temperature > 0.0f, "gpt_generate: temperature must be > 0, got %g", (double)o->temperature);
  REQUIRE(o->top_p > 0.0f && o->top_p <= 1.0f, "gpt_generate: top_p must be in (0,1], got %g",
          (double)o->top_p);
  REQUIRE(o->top_k >= 0, "gpt_generate: top_k must be >= 0 (0 = off), got %d", o->top_k);
  REQUIRE(o->max_new >= 0, "gpt_generate: max_new must be >= 0, got %d", o->max_new);
  for (int b = 0; b < B; b++) {
    REQUIRE(prompt[(size_t)b * Tp] == GPT_EOT, "gpt_generate: prompt %d does not start with end-of-text (256)", b);
    for (int t = 0; t < Tp; t++) {
      int x = prompt[(size_t)b * Tp + t];
      REQUIRE(x >= 0 && x < d.V, "gpt_generate: prompt %d position %d has token %d outside [0,%d)", b, t, x, d.V);
    }
  }

  int max_new = o->max_new;
  for (size_t i = 0; i < (size_t)B * max_new; i++) {
    out_tokens[i] = -1;
    if (out_logp) out_logp[i] = 0.0f;
  }
  for (int b = 0; b < B; b++) out_len[b] = 0;
  int n_gen = max_new < d.T - Tp ? max_new : d.T - Tp; /* prompt + response fit the context */
  if (n_gen <= 0) return OO_OK;

  kv_pack(kv, m);
  scratch_layout sl = scratch_plan(d, kv->B, kv->rows);
  float *S = kv->scratch;
  int *tok = (int *)(S + sl.tok), *act = (int *)(S + sl.act), *posv = (int *)(S + sl.pos);
  int *heap = (int *)(S + sl.heap), *src = (int *)(S + sl.src), *uord = (int *)(S + sl.uord);
  float *logits = S + sl.logits, *probs = S + sl.probs;

  /* Prompts: src[b] = the first slot with b's prompt, uord[b] = that prompt's rank among the
   * distinct ones. Each distinct prompt goes through the model once, all its positions in one
   * call (calls of up to kv->rows rows, slot-major, so a slot's positions arrive in order); the
   * logits at its last position go to logits row uord[b]. */
  int n_u = 0;
  for (int b = 0; b < B; b++) {
    src[b] = b;
    for (int a = 0; a < b; a++)
      if (src[a] == a && !memcmp(prompt + (size_t)a * Tp, prompt + (size_t)b * Tp, sizeof(int) * (size_t)Tp)) {
        src[b] = a;
        break;
      }
    uord[b] = src[b] == b ? n_u++ : uord[src[b]];
  }
  int n = 0, u_first = 0, n_last = 0; /* rows queued, ordinal of the call's first prompt, prompts ending in it */
  for (int b = 0; b <= B; b++) {
    if (b < B && src[b] != b) continue;
    const int need = b < B ? (Tp < kv->rows ? Tp : kv->rows) : 0;
    if (n > 0 && (b == B || n + need > kv->rows)) {
      forward_rows(m, kv, &sl, n, NULL, 0);
      int sel[GPT_SAMPLE_SEL], ns = 0, u = u_first;
      for (int i = 0; i <= n; i++) { /* the rows at a last prompt position, in ordinal order */
        if ((i == n && ns > 0) || ns == GPT_SAMPLE_SEL || ns == kv->rows) {
          head_rows(m, kv, &sl, sel, ns, 1, logits + (size_t)u * d.V);
          u += ns;
          ns = 0;
        }
        if (i < n && posv[i] == Tp - 1) sel[ns++] = i;
      }
      u_first += n_last;
      n = n_last = 0;
    }
    if (b == B) break;
    for (int t0 = 0; t0 < Tp; t0 += kv->rows) { /* a prompt longer than a call takes several */
      const int nt = Tp - t0 < kv->rows ? Tp - t0 : kv->rows;
      for (int t = 0; t < nt; t++, n++) act[n] = b, posv[n] = t0 + t, tok[n] = prompt[(size_t)b * Tp + t0 + t];
      if (t0 + nt < Tp) {
        forward_rows(m, kv, &sl, n, NULL, 0);
        n = 0;
      }
    }
    n_last++;
  }
  for (int b = 0; b < B; b++)
    if (src[b] != b) copy_prefix(kv, src[b], b, Tp);

  n = B;
  for (int b = 0; b < B; b++) act[b] = b;
  for (int pos = Tp - 1; n > 0; pos++) {
    if (pos >= Tp) { /* the prompt's last position was fed above */
      for (int i = 0; i < n; i++) posv[i] = pos;
      forward_rows(m, kv, &sl, n, NULL, 0);
      head_rows(m, kv, &sl, NULL, n, 1, logits);
    }
    int s = pos - (Tp - 1); /* index of the token being generated */
    int kept = 0;
    for (int i = 0; i < n; i++) {
      int b = act[i];
      float lp;
      const float *z = logits + (size_t)(s == 0 ? uord[b] : i) * d.V;
      int t = sample_row(z, d.V, o, &rng[b], probs, heap, &lp);
      out_tokens[(size_t)b * max_new + s] = t;
      if (out_logp) out_logp[(size_t)b * max_new + s] = lp;
      out_len[b] = s + 1;
      int done = (o->stop_at_eot && t == GPT_EOT) || s + 1 >= n_gen;
      if (!done) { /* compact: row kept becomes row `kept` of the next step */
        act[kept] = b;
        tok[kept] = t;
        kept++;
      }
    }
    n = kept;
  }
  return OO_OK;
}

/* ---- scoring --------------------------------------------------------------------------------- */

void gpt_score_last(gpt *m, const int *tokens, const int *lens, int n, int Tmax, int chunk, float *raw) {
  const gpt_dims d = m->d;
  if (!gpt_kind_has_scalar(m->kind)) OO_FATAL("gpt_score_last: the model is a language model; it needs a scalar head");
  if (n < 0 || Tmax < 1 || Tmax > d.T || chunk < 1)
    OO_FATAL("gpt_score_last: n=%d Tmax=%d chunk=%d (need n >= 0, 1 <= Tmax <= n_ctx=%d, chunk >= 1)", n, Tmax, chunk,
             d.T);
  for (int i = 0; i < n; i++) {
    if (lens[i] < 1 || lens[i] > Tmax)
      OO_FATAL("gpt_score_last: sequence %d has length %d outside 1..%d", i, lens[i], Tmax);
    for (int t = 0; t < lens[i]; t++) {
      const int x = tokens[(size_t)i * Tmax + t];
      if (x < 0 || x >= d.V) OO_FATAL("gpt_score_last: token %d at (b=%d, t=%d) outside 0..%d", x, i, t, d.V - 1);
    }
  }
  if (n == 0) return;
  const int cap = chunk < n ? chunk : n;
  gpt_kvcache *kv = m->score_kv;
  if (!kv || kv->B < cap || kv->rows < cap * Tmax) { /* grown, never shrunk: no allocation once sized */
    const int B = kv && kv->B > cap ? kv->B : cap;
    const int rows = kv && kv->rows > cap * Tmax ? kv->rows : cap * Tmax;
    if (kv) gpt_kv_free(kv);
    else kv = m->score_kv = xmalloc(sizeof *kv);
    if (kv_create_rows(kv, m, B, rows)) OO_FATAL("gpt_score_last: %s", oo_error_message());
  }
  kv_pack(kv, m);
  scratch_layout sl = scratch_plan(d, kv->B, kv->rows);
  float *S = kv->scratch;
  int *tok = (int *)(S + sl.tok), *act = (int *)(S + sl.act), *posv = (int *)(S + sl.pos);
  int *last = (int *)(S + sl.src); /* (B) row of each sequence's last position */
  for (int c0 = 0; c0 < n; c0 += chunk) {
    const int nc = n - c0 < chunk ? n - c0 : chunk;
    const int *seq0 = tokens + (size_t)c0 * Tmax;
    /* shared prefix: at most min(len) - 1 positions, so every sequence keeps its last one */
    int L0 = lens[c0] - 1;
    for (int i = 1; i < nc && L0 > 0; i++) {
      const int *seq = seq0 + (size_t)i * Tmax;
      if (lens[c0 + i] - 1 < L0) L0 = lens[c0 + i] - 1;
      int t = 0;
      while (t < L0 && seq[t] == seq0[t]) t++;
      L0 = t;
    }
    if (L0 > 0) {
      for (int t = 0; t < L0; t++) act[t] = 0, posv[t] = t, tok[t] = seq0[t];
      forward_rows(m, kv, &sl, L0, NULL, 0);
      for (int i = 1; i < nc; i++) copy_prefix(kv, 0, i, L0);
    }
    int nr = 0;
    for (int i = 0; i < nc; i++) {
      const int *seq = seq0 + (size_t)i * Tmax;
      for (int t = L0; t < lens[c0 + i]; t++, nr++) act[nr] = i, posv[nr] = t, tok[nr] = seq[t];
      last[i] = nr - 1;
    }
    forward_rows(m, kv, &sl, nr, last, nc);
    head_rows(m, kv, &sl, NULL, nc, 0, raw + c0);
  }
}
