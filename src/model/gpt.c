/* gpt: lifetime, tensor table, forward/backward (LM, reward and value kinds), losses,
 * log-probabilities, AdamW, clipping, schedule and FLOP count (gpt.h).
 *
 * Invariants:
 * - params, grads, adam_m and adam_v are flat buffers with the same offsets; the tensors lie
 *   in gpt_tensor_names order with no padding, so n_params is the exact parameter count.
 * - Activations live in one allocation (gpt_acts) sized for B_cap x T_cap. A model without
 *   gradients keeps one layer's worth of activations and reuses it for every layer
 *   (inference); gpt_alloc_train switches to one set per layer so backward can run.
 * - forward/backward/step never allocate once gpt_reserve has sized the buffers.
 */
#include "model/gpt.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "model/kernels.h"

const char *const gpt_tensor_names[GPT_NUM_TENSORS] = {
    "wte",   "wpe",  "ln1_w",    "ln1_b",  "qkv_w", "qkv_b", "attproj_w", "attproj_b", "ln2_w",
    "ln2_b", "fc_w", "fc_b", "fcproj_w", "fcproj_b", "lnf_w", "lnf_b", "head_w",    "head_b"};

/* offsets of the named pointers in gpt_tensors, in tensor order */
static const size_t tensor_field[GPT_NUM_TENSORS] = {
    offsetof(gpt_tensors, wte),       offsetof(gpt_tensors, wpe),      offsetof(gpt_tensors, ln1_w),
    offsetof(gpt_tensors, ln1_b),     offsetof(gpt_tensors, qkv_w),    offsetof(gpt_tensors, qkv_b),
    offsetof(gpt_tensors, attproj_w), offsetof(gpt_tensors, attproj_b), offsetof(gpt_tensors, ln2_w),
    offsetof(gpt_tensors, ln2_b),     offsetof(gpt_tensors, fc_w),     offsetof(gpt_tensors, fc_b),
    offsetof(gpt_tensors, fcproj_w),  offsetof(gpt_tensors, fcproj_b), offsetof(gpt_tensors, lnf_w),
    offsetof(gpt_tensors, lnf_b),     offsetof(gpt_tensors, head_w),   offsetof(gpt_tensors, head_b)};

static float **tensor_ptr(gpt_tensors *t, int i) { return (float **)((char *)t + tensor_field[i]); }

/* Weight decay applies to matrices and embeddings (and the scalar head's weight vector, the
 * [1,C] matrix of a Linear(C,1)); never to LayerNorm parameters or biases. */
static int tensor_decays(int i) {
  switch (i) {
  case 0: case 1: case 4: case 6: case 10: case 12: case 16: return 1;
  default: return 0;
  }
}

size_t gpt_tensor_shape(gpt_dims d, gpt_kind kind, int i, int *rank, long dims[3]) {
  const long V = d.V, T = d.T, C = d.C, L = d.L;
  long r = 1, a = 0, b = 0, c = 0;
  switch (i) {
  case 0: r = 2, a = V, b = C; break;
  case 1: r = 2, a = T, b = C; break;
  case 2: case 3: case 7: case 8: case 9: case 13: r = 2, a = L, b = C; break;
  case 4: r = 3, a = L, b = 3 * C, c = C; break;
  case 5: r = 2, a = L, b = 3 * C; break;
  case 6: r = 3, a = L, b = C, c = C; break;
  case 10: r = 3, a = L, b = 4 * C, c = C; break;
  case 11: r = 2, a = L, b = 4 * C; break;
  case 12: r = 3, a = L, b = C, c = 4 * C; break;
  case 14: case 15: r = 1, a = C; break;
  case 16: r = 1, a = kind == GPT_LM ? 0 : C; break;
  case 17: r = 1, a = kind == GPT_LM ? 0 : 1; break;
  default: r = 1, a = 0; break;
  }
  if (rank) *rank = (int)r;
  if (dims) dims[0] = a, dims[1] = b, dims[2] = c;
  return (size_t)(r == 1 ? a : r == 2 ? a * b : a * b * c);
}

static void set_views(gpt_tensors *t, float *base, gpt_dims d, gpt_kind kind) {
  size_t off = 0;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    size_t n = gpt_tensor_shape(d, kind, i, NULL, NULL);
    *tensor_ptr(t, i) = (base && n) ? base + off : NULL;
    off += n;
  }
}

/* ---- activations --------------------------------------------------------------------------- */

typedef struct {
  float *ln1;      /* (B,T,C) */
  float *ln1_mean; /* (B,T) */
  float *ln1_rstd; /* (B,T) */
  float *qkv;      /* (B,T,3C) */
  float *atty;     /* (B,T,C) attention output before the projection */
  float *att;      /* (B,NH,T,T) softmax probabilities, for backward; NULL for inference */
  float *res2;     /* (B,T,C) residual after attention */
  float *ln2;      /* (B,T,C) */
  float *ln2_mean; /* (B,T) */
  float *ln2_rstd; /* (B,T) */
  float *fch;      /* (B,T,4C) fc output, GELU input; training: overwritten by gelu'(input) */
  float *fch_gelu; /* (B,T,4C); = fch for inference (GELU in place, one stream less) */
  float *res3;     /* (B,T,C) residual after the MLP: the layer output */
} layer_acts;

struct gpt_acts {
  int B, T;           /* capacity */
  int Bc;             /* sequences per forward chunk: the layer buffers hold Bc x T rows */
  int slots;          /* layer activation sets: L when training, 1 for inference */
  int train;          /* laid out for training: backward's buffers, attention probabilities */
  int fwd_valid;      /* a forward has filled the buffers since they were allocated */
  float *mem;         /* the one allocation */
  int *tokens;        /* (B,T) tokens of the last forward (for the embedding backward) */
  layer_acts *layers; /* (slots) views into mem */
  float *encoded;     /* (B,T,C) */
  float *lnf;         /* (B,T,C) */
  float *lnf_mean;    /* (B,T) */
  float *lnf_rstd;    /* (B,T) */
  float *logits;      /* (B,T,V) LM only */
  float *out;         /* (B,T) scalar heads only */
  float *dout;        /* (B,T,V) LM/lm_value or (B,T) scalar: gpt_dlogits_buffer; training only */
  float *dscalar;     /* (B,T) lm_value: gpt_dscalar_buffer (= dout for scalar kinds); training only */
  float *dres;        /* (B,T,C) gradient of the residual stream; training only */
  float *dbuf;        /* (B,T,C) gradient scratch; training only */
  float *dqkv;        /* (B,T,3C) training only */
  float *dfch;        /* (B,T,4C) training only */
  float *datt;        /* (T,T) + kern_attention_scratch: attention backward scratch; training only */
  float *attk;        /* (kern_attention_scratch) attention forward scratch */
};

/* Sequences per chunk of an inference forward: about 128K floats of rows x C (1024 rows at
 * C = 128, 512 at C = 256), so one chunk's activations stay in L2/L3 through every layer instead
 * of each layer streaming B x T rows through DRAM (7% faster scoring at C128 T128 B64 on a
 * Zen 4). Rows are independent, so chunking changes results only as the batch size does: not
 * at all where OpenBLAS multiplies a chunk's shapes with the kernel it uses for the whole
 * batch (test_gpt_train). */
static int forward_chunk_seqs(gpt_dims d, int B, int T) {
  int seqs = 131072 / (d.C * T);
  seqs = seqs < 1 ? 1 : seqs;
  return seqs < B ? seqs : B;
}

/* Assigns the views for capacity B x T (base NULL: only counts). Returns floats needed. */
static size_t acts_layout(struct gpt_acts *a, float *base, gpt_dims d, gpt_kind kind, int train) {
  const size_t C = d.C, T = a->T;
  a->Bc = train ? a->B : forward_chunk_seqs(d, a->B, a->T);
  a->train = train;
  const size_t N = (size_t)a->B * a->T, Nc = (size_t)a->Bc * a->T; /* all rows; one chunk's */
  size_t off = 0;
#define TAKE(ptr, count)                                                                      \
  do {                                                                                        \
    (ptr) = base ? base + off : NULL;                                                         \
    off += ((size_t)(count) + 15) & ~(size_t)15; /* 64-byte aligned starts */                 \
  } while (0)
  for (int s = 0; s < a->slots; s++) {
    layer_acts *la = &a->layers[s];
    TAKE(la->ln1, Nc * C);
    TAKE(la->ln1_mean, Nc);
    TAKE(la->ln1_rstd, Nc);
    TAKE(la->qkv, Nc * 3 * C);
    TAKE(la->atty, Nc * C);
    if (train) TAKE(la->att, (size_t)a->B * d.NH * T * T);
    else la->att = NULL; /* inference keeps no attention probabilities */
    TAKE(la->res2, Nc * C);
    TAKE(la->ln2, Nc * C);
    TAKE(la->ln2_mean, Nc);
    TAKE(la->ln2_rstd, Nc);
    TAKE(la->fch, Nc * 4 * C);
    if (train) TAKE(la->fch_gelu, Nc * 4 * C);
    else la->fch_gelu = la->fch; /* GELU in place: only backward needs its input kept */
    TAKE(la->res3, Nc * C);
  }
  TAKE(a->attk, kern_attention_scratch((int)T, d.C, d.NH));
  TAKE(a->encoded, Nc * C);
  TAKE(a->lnf, N * C);
  TAKE(a->lnf_mean, N);
  TAKE(a->lnf_rstd, N);
  const size_t head_n = gpt_kind_has_logits(kind) ? N * (size_t)d.V : N;
  a->logits = a->out = NULL;
  if (gpt_kind_has_logits(kind)) TAKE(a->logits, N * (size_t)d.V);
  if (gpt_kind_has_scalar(kind)) TAKE(a->out, N);
  a->dscalar = NULL;
  if (train) {
    TAKE(a->dout, head_n);
    if (kind == GPT_LM_VALUE) TAKE(a->dscalar, N);
    else if (kind != GPT_LM) a->dscalar = a->dout;
    TAKE(a->dres, N * C);
    TAKE(a->dbuf, N * C);
    TAKE(a->dqkv, N * 3 * C);
    TAKE(a->dfch, N * 4 * C);
    TAKE(a->datt, T * T + kern_attention_scratch((int)T, d.C, d.NH));
  } else {
    a->dout = a->dres = a->dbuf = a->dqkv = a->dfch = a->datt = NULL;
  }
#undef TAKE
  return off;
}

static void acts_free(gpt *m) {
  if (!m->acts) return;
  xfree(&m->acts->mem);
  xfree(&m->acts->tokens);
  xfree(&m->acts->layers);
  xfree(&m->acts);
  m->B_cap = m->T_cap = 0;
}

double gpt_memory_bytes(gpt_dims d, gpt_kind kind, int B, int T, int train) {
  double params = 0;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    params += (double)gpt_tensor_shape(d, kind, i, &rank, dims);
  }
  struct gpt_acts a;
  memset(&a, 0, sizeof a);
  a.B = B;
  a.T = T;
  a.slots = train ? d.L : 1;
  a.layers = xcalloc((size_t)a.slots, sizeof *a.layers);
  double acts = (double)acts_layout(&a, NULL, d, kind, train) + (double)B * T; /* + tokens */
  xfree(&a.layers);
  return sizeof(float) * (params * (train ? 4 : 1) + acts);
}

void gpt_reserve(gpt *m, int B, int T) {
  if (B < 1 || T < 1 || T > m->d.T)
    OO_FATAL("gpt_reserve: B=%d T=%d outside 1..n_ctx=%d", B, T, m->d.T);
  const int train = m->grads != NULL;
  const int slots = train ? m->d.L : 1;
  struct gpt_acts *a = m->acts;
  /* the layout, not the slot count: with L = 1 both layouts have one slot */
  if (a && B <= a->B && T <= a->T && a->train == train) return;
  if (a) { /* grow to cover both the old and the new request */
    B = B > a->B ? B : a->B;
    T = T > a->T ? T : a->T;
  }
  acts_free(m);
  a = xcalloc(1, sizeof *a);
  a->B = B;
  a->T = T;
  a->slots = slots;
  a->layers = xcalloc((size_t)slots, sizeof *a->layers);
  a->tokens = xmalloc(sizeof(int) * (size_t)B * T);
  const size_t n = acts_layout(a, NULL, m->d, m->kind, train);
  a->mem = xmalloc_floats(n);
  acts_layout(a, a->mem, m->d, m->kind, train);
  m->acts = a;
  m->B_cap = B;
  m->T_cap = T;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

int gpt_create(gpt *m, gpt_dims d, gpt_kind kind) {
  memset(m, 0, sizeof *m);
  REQUIRE(d.V == GPT_VOCAB, "gpt: vocab_size %d, expected %d (byte-level: 256 bytes + end-of-text)",
          d.V, GPT_VOCAB);
  REQUIRE(d.T >= 1 && d.C >= 1 && d.L >= 1 && d.NH >= 1,
          "gpt: n_ctx=%d d_model=%d n_layer=%d n_head=%d must all be >= 1", d.T, d.C, d.L, d.NH);
  REQUIRE(d.C % d.NH == 0, "gpt: n_head=%d does not divide d_model=%d", d.NH, d.C);
  REQUIRE(kind == GPT_LM || kind == GPT_REWARD || kind == GPT_VALUE || kind == GPT_LM_VALUE, "gpt: unknown kind %d",
          (int)kind);
  m->d = d;
  m->kind = kind;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) m->n_params += gpt_tensor_shape(d, kind, i, NULL, NULL);
  m->params = xmalloc_floats(m->n_params);
  memset(m->params, 0, sizeof(float) * m->n_params);
  set_views(&m->p, m->params, d, kind);
  set_views(&m->g, NULL, d, kind);
  m->reward_scale = 1.0f;
  return OO_OK;
}

void gpt_free(gpt *m) {
  acts_free(m);
  if (m->score_kv) gpt_kv_free(m->score_kv);
  xfree(&m->score_kv);
  xfree(&m->score_buf);
  xfree(&m->params);
  xfree(&m->grads);
  xfree(&m->adam_m);
  xfree(&m->adam_v);
  memset(m, 0, sizeof *m);
}

void gpt_init_weights(gpt *m, uint64_t seed, float std, float head_std) {
  const float resid_std = std / sqrtf(2.0f * (float)m->d.L);
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    float *p = *tensor_ptr(&m->p, i);
    size_t n = gpt_tensor_shape(m->d, m->kind, i, NULL, NULL);
    if (!n) continue;
    float s = 0.0f, fill = 0.0f;
    switch (i) {
    case 0: case 1: case 4: case 10: s = std; break;
    case 6: case 12: s = resid_std; break;
    case 16: s = head_std; break;
    case 2: case 8: case 14: fill = 1.0f; break; /* LayerNorm weights */
    default: break;                              /* biases */
    }
    if (s > 0.0f) {
      oo_rng r = oo_rng_make(seed, RNG_INIT, (uint64_t)i, 0);
      for (size_t j = 0; j < n; j++) p[j] = s * oo_rng_normal(&r);
    } else {
      for (size_t j = 0; j < n; j++) p[j] = fill;
    }
  }
}

int gpt_copy_trunk(gpt *dst, const gpt *src) {
  REQUIRE(dst->d.V == src->d.V && dst->d.T == src->d.T && dst->d.C == src->d.C &&
              dst->d.L == src->d.L && dst->d.NH == src->d.NH,
          "gpt_copy_trunk: dims differ (dst n_ctx=%d d_model=%d n_layer=%d n_head=%d, src %d %d %d %d):"
          " initialize a model from a checkpoint of the same size",
          dst->d.T, dst->d.C, dst->d.L, dst->d.NH, src->d.T, src->d.C, src->d.L, src->d.NH);
  gpt_tensors sv = src->p; /* copy: tensor_ptr takes a non-const struct */
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    size_t nd = gpt_tensor_shape(dst->d, dst->kind, i, NULL, NULL);
    size_t ns = gpt_tensor_shape(src->d, src->kind, i, NULL, NULL);
    if (nd && nd == ns) memcpy(*tensor_ptr(&dst->p, i), *tensor_ptr(&sv, i), sizeof(float) * nd);
  }
  return OO_OK;
}

gpt gpt_lm_view(const gpt *m) {
  gpt v;
  memset(&v, 0, sizeof v);
  v.d = m->d;
  v.kind = GPT_LM;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) v.n_params += gpt_tensor_shape(m->d, GPT_LM, i, NULL, NULL);
  v.params = m->params; /* the LM's tensors come first in both kinds */
  set_views(&v.p, v.params, v.d, GPT_LM);
  set_views(&v.g, NULL, v.d, GPT_LM);
  v.step = m->step;
  v.reward_shift = 0.0f;
  v.reward_scale = 1.0f;
  return v;
}

void gpt_alloc_train(gpt *m) {
  if (!m->grads) {
    m->grads = xmalloc_floats(m->n_params);
    m->adam_m = xmalloc_floats(m->n_params);
    m->adam_v = xmalloc_floats(m->n_params);
    memset(m->grads, 0, sizeof(float) * m->n_params);
    memset(m->adam_m, 0, sizeof(float) * m->n_params);
    memset(m->adam_v, 0, sizeof(float) * m->n_params);
    set_views(&m->g, m->grads, m->d, m->kind);
  }
  if (m->acts) gpt_reserve(m, m->acts->B, m->acts->T); /* per-layer activations for backward */
}

/* ---- forward / backward -------------------------------------------------------------------- */

static layer_acts *layer_at(struct gpt_acts *a, int l) { return &a->layers[l < a->slots ? l : a->slots - 1]; }

/* Sequences b0..b0+nb-1 through every layer. The layer buffers hold the chunk from their row
 * 0: inference reuses them for every chunk; training runs one chunk of all rows (Bc = B), which
 * backward reads. The final LayerNorm and the heads write rows b0*T.. of the full-size outputs. */
static void forward_chunk(gpt *m, const int *tokens, int b0, int nb, int T) {
  struct gpt_acts *a = m->acts;
  const gpt_dims d = m->d;
  const int C = d.C, N = nb * T;
  const size_t fo = (size_t)b0 * T; /* first output row */
  const gpt_tensors *p = &m->p;

  kern_encoder_forward(a->encoded, tokens + fo, p->wte, p->wpe, nb, T, C);
  const float *res = a->encoded;
  for (int l = 0; l < d.L; l++) {
    layer_acts *la = layer_at(a, l);
    const size_t lC = (size_t)l * C;
    kern_layernorm_forward(la->ln1, la->ln1_mean, la->ln1_rstd, res, p->ln1_w + lC, p->ln1_b + lC, N, C);
    kern_linear_forward(la->qkv, la->ln1, p->qkv_w + lC * 3 * C, p->qkv_b + 3 * lC, NULL, N, C, 3 * C);
    kern_attention_forward(la->atty, la->att, a->attk, la->qkv, nb, T, C, d.NH);
    kern_linear_forward(la->res2, la->atty, p->attproj_w + lC * C, p->attproj_b + lC, res, N, C, C);
    kern_layernorm_forward(la->ln2, la->ln2_mean, la->ln2_rstd, la->res2, p->ln2_w + lC, p->ln2_b + lC, N, C);
    kern_linear_forward(la->fch, la->ln2, p->fc_w + lC * 4 * C, p->fc_b + 4 * lC, NULL, N, C, 4 * C);
    if (la->fch_gelu != la->fch) kern_gelu_forward_train(la->fch_gelu, la->fch, la->fch, (long)N * 4 * C);
    else kern_gelu_forward(la->fch_gelu, la->fch, (long)N * 4 * C);
    kern_linear_forward(la->res3, la->fch_gelu, p->fcproj_w + lC * 4 * C, p->fcproj_b + lC, la->res2, N,
                        4 * C, C);
    res = la->res3;
  }
  float *lnf = a->lnf + fo * C;
  kern_layernorm_forward(lnf, a->lnf_mean + fo, a->lnf_rstd + fo, res, p->lnf_w, p->lnf_b, N, C);
  if (gpt_kind_has_logits(m->kind))
    kern_linear_forward(a->logits + fo * d.V, lnf, p->wte, NULL, NULL, N, C, d.V); /* tied head */
  if (gpt_kind_has_scalar(m->kind))
    kern_scalar_head(a->out + fo, lnf, p->head_w, p->head_b, N, C);
}

void gpt_forward(gpt *m, const int *tokens, int B, int T) {
  gpt_reserve(m, B, T);
  struct gpt_acts *a = m->acts;
  const gpt_dims d = m->d;
  const int N = B * T;
  for (int i = 0; i < N; i++)
    if (tokens[i] < 0 || tokens[i] >= d.V)
      OO_FATAL("gpt_forward: token %d at (b=%d, t=%d) outside 0..%d", tokens[i], i / T, i % T, d.V - 1);
  memcpy(a->tokens, tokens, sizeof(int) * (size_t)N);
  m->B_cur = B;
  m->T_cur = T;
  for (int b0 = 0; b0 < B; b0 += a->Bc) forward_chunk(m, a->tokens, b0, B - b0 < a->Bc ? B - b0 : a->Bc, T);
  a->fwd_valid = 1;
}

float *gpt_logits(gpt *m) { return m->acts ? m->acts->logits : NULL; }
float *gpt_scalar_out(gpt *m) { return m->acts ? m->acts->out : NULL; }
float *gpt_final_ln(gpt *m) { return m->acts ? m->acts->lnf : NULL; }
float *gpt_dlogits_buffer(gpt *m) { return m->acts ? m->acts->dout : NULL; }
float *gpt_dscalar_buffer(gpt *m) { return m->acts ? m->acts->dscalar : NULL; }

void gpt_backward(gpt *m, const float *dout) {
  if (gpt_kind_has_logits(m->kind)) gpt_backward_heads(m, dout, NULL);
  else gpt_backward_heads(m, NULL, dout);
}

void gpt_backward_heads(gpt *m, const float *dlogits, const float *dscalar) {
  struct gpt_acts *a = m->acts;
  if (!m->grads || !a || !a->fwd_valid || !a->train)
    OO_FATAL("gpt_backward: needs gpt_alloc_train and then a forward (grads %s, forward %s)",
             m->grads ? "yes" : "no", a && a->fwd_valid ? "yes" : "no");
  const gpt_dims d = m->d;
  const int B = m->B_cur, T = m->T_cur, C = d.C, N = B * T;
  const gpt_tensors *p = &m->p, *g = &m->g;

  if ((dlogits && !gpt_kind_has_logits(m->kind)) || (dscalar && !gpt_kind_has_scalar(m->kind)))
    OO_FATAL("gpt_backward_heads: the model (kind %d) lacks a head given a gradient", (int)m->kind);
  /* heads: dlnf into dbuf (the scalar head's share goes through dres, zeroed right after) */
  if (dlogits) kern_linear_backward(a->dbuf, g->wte, NULL, dlogits, a->lnf, p->wte, N, C, d.V);
  if (dscalar) {
    float *dst = dlogits ? a->dres : a->dbuf;
    kern_linear_backward(dst, g->head_w, g->head_b, dscalar, a->lnf, p->head_w, N, C, 1);
    if (dlogits)
      for (size_t i = 0; i < (size_t)N * C; i++) a->dbuf[i] += dst[i];
  }
  if (!dlogits && !dscalar) memset(a->dbuf, 0, sizeof(float) * (size_t)N * C);
  memset(a->dres, 0, sizeof(float) * (size_t)N * C);
  kern_layernorm_backward(a->dres, g->lnf_w, g->lnf_b, a->dbuf, a->layers[d.L - 1].res3, p->lnf_w,
                          a->lnf_mean, a->lnf_rstd, N, C);

  for (int l = d.L - 1; l >= 0; l--) {
    layer_acts *la = &a->layers[l];
    const float *res_in = l == 0 ? a->encoded : a->layers[l - 1].res3;
    const size_t lC = (size_t)l * C;
    /* MLP: dres is d(res3) */
    kern_linear_backward(a->dfch, g->fcproj_w + lC * 4 * C, g->fcproj_b + lC, a->dres, la->fch_gelu,
                         p->fcproj_w + lC * 4 * C, N, 4 * C, C);
    kern_gelu_backward(a->dfch, la->fch, a->dfch, (long)N * 4 * C); /* fch holds gelu' */
    kern_linear_backward(a->dbuf, g->fc_w + lC * 4 * C, g->fc_b + 4 * lC, a->dfch, la->ln2,
                         p->fc_w + lC * 4 * C, N, C, 4 * C);
    kern_layernorm_backward(a->dres, g->ln2_w + lC, g->ln2_b + lC, a->dbuf, la->res2, p->ln2_w + lC,
                            la->ln2_mean, la->ln2_rstd, N, C);
    /* attention: dres is now d(res2) */
    kern_linear_backward(a->dbuf, g->attproj_w + lC * C, g->attproj_b + lC, a->dres, la->atty,
                         p->attproj_w + lC * C, N, C, C);
    kern_attention_backward(a->dqkv, a->datt, a->dbuf, la->qkv, la->att, B, T, C, d.NH);
    kern_linear_backward(a->dbuf, g->qkv_w + lC * 3 * C, g->qkv_b + 3 * lC, a->dqkv, la->ln1,
                         p->qkv_w + lC * 3 * C, N, C, 3 * C);
    kern_layernorm_backward(a->dres, g->ln1_w + lC, g->ln1_b + lC, a->dbuf, res_in, p->ln1_w + lC,
                            la->ln1_mean, la->ln1_rstd, N, C);
  }
  kern_encoder_backward(g->wte, g->wpe, a->dres, a->tokens, B, T, C);
}

void gpt_zero_grad(gpt *m) {
  if (m->grads) memset(m->grads, 0, sizeof(float) * m->n_params);
}

/* ---- losses and log-probabilities ---------------------------------------------------------- */

KERN_HOT float gpt_cross_entropy(const float *logits, const int *targets, int N, int V, float *dlogits) {
  int count = 0;
  for (int i = 0; i < N; i++) count += targets[i] >= 0;
  const float inv = count ? 1.0f / (float)count : 0.0f;
  double loss = 0.0;
  for (int i = 0; i < N; i++) {
    const float *z = logits + (size_t)i * V;
    float *dz = dlogits ? dlogits + (size_t)i * V : NULL;
    const int y = targets[i];
    if (y < 0) {
      if (dz) memset(dz, 0, sizeof(float) * (size_t)V);
      continue;
    }
    const float lse = kern_logsumexp_row(z, dz, V);
    loss += (double)lse - z[y];
    if (dz) {
      for (int j = 0; j < V; j++) dz[j] *= inv;
      dz[y] -= inv;
    }
  }
  return count ? (float)(loss / count) : 0.0f;
}

/* sum_j softmax(z)_j z_j given lse, in chunks so the exp loop vectorizes */
KERN_INLINE float expected_logit(const float *z, float lse, int V) {
  float tmp[256];
  float s = 0.0f;
  for (int j0 = 0; j0 < V; j0 += 256) {
    const int n = V - j0 < 256 ? V - j0 : 256;
    for (int j = 0; j < n; j++) tmp[j] = kern_expf(z[j0 + j] - lse);
    s += kern_dot(tmp, z + j0, n);
  }
  return s;
}

KERN_HOT void gpt_logprobs(const float *logits, const int *targets, int N, int V, float *logp, float *entropy) {
  for (int i = 0; i < N; i++) {
    const float *z = logits + (size_t)i * V;
    const int y = targets[i];
    if (y < 0) {
      if (logp) logp[i] = 0.0f;
      if (entropy) entropy[i] = 0.0f;
      continue;
    }
    const float lse = kern_logsumexp_row(z, NULL, V);
    if (logp) logp[i] = z[y] - lse;
    if (entropy) entropy[i] = lse - expected_logit(z, lse, V); /* H = lse - E_p[z] */
  }
}

void gpt_logprobs_backward(const float *logits, const int *targets, int N, int V, const float *dlogp,
                           const float *dent, float *dlogits) {
  for (int i = 0; i < N; i++) {
    const float *z = logits + (size_t)i * V;
    float *dz = dlogits + (size_t)i * V;
    const int y = targets[i];
    if (y < 0) {
      memset(dz, 0, sizeof(float) * (size_t)V);
      continue;
    }
    const float lse = kern_logsumexp_row(z, dz, V); /* dz holds p */
    const float gl = dlogp ? dlogp[i] : 0.0f;
    const float ge = dent ? dent[i] : 0.0f;
    /* d logp/dz_j = [j=y] - p_j;  dH/dz_j = -p_j (log p_j + H), log p_j = z_j - lse */
    const float H = lse - kern_dot(dz, z, V);
    const float c = H - lse;
    for (int j = 0; j < V; j++) dz[j] = -dz[j] * (gl + ge * (z[j] + c));
    dz[y] += gl;
  }
}

/* ---- optimizer ----------------------------------------------------------------------------- */

KERN_HOT float gpt_grad_norm(const gpt *m) {
  double ss = 0.0;
  const size_t chunk = 4096; /* float partial sums per chunk, double across chunks */
  for (size_t i = 0; i < m->n_params; i += chunk) {
    const int n = (int)(m->n_params - i < chunk ? m->n_params - i : chunk);
    ss += kern_dot(m->grads + i, m->grads + i, n);
  }
  return (float)sqrt(ss);
}

KERN_HOT void gpt_clip_grad_to(gpt *m, float norm, float max_norm) {
  if (max_norm > 0.0f && norm > max_norm) {
    const float s = max_norm / norm;
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= s;
  }
}

/* sqrt(v) for v >= 0 without libm, so the AdamW loop vectorizes (sqrtf keeps errno semantics
 * under -std=c17 and is not vectorized by GCC): bit-trick estimate (error < 4%) and three Newton
 * steps (quadratic: 4e-2 -> 8e-4 -> 3e-7 -> float rounding). v = 0 gives ~1e-20. */
KERN_INLINE float adam_sqrt(float v) {
  int32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits = 0x1fbd1df5 + (bits >> 1);
  float y;
  memcpy(&y, &bits, sizeof y);
  y = 0.5f * (y + v / y);
  y = 0.5f * (y + v / y);
  y = 0.5f * (y + v / y);
  return y;
}

KERN_HOT void gpt_adamw_step(gpt *m, const gpt_adamw *opt) {
  if (!m->grads) OO_FATAL("gpt_adamw_step: call gpt_alloc_train first");
  m->step++;
  const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, lr = opt->lr;
  const float bc1 = (float)(1.0 - pow(b1, (double)m->step));
  const float bc2 = (float)(1.0 - pow(b2, (double)m->step));
  size_t off = 0;
  for (int t = 0; t < GPT_NUM_TENSORS; t++) {
    const size_t n = gpt_tensor_shape(m->d, m->kind, t, NULL, NULL);
    const float wd = tensor_decays(t) ? opt->weight_decay : 0.0f;
    float *restrict p = m->params + off, *restrict mm = m->adam_m + off, *restrict vv = m->adam_v + off;
    const float *restrict g = m->grads + off;
    for (size_t i = 0; i < n; i++) {
      const float gi = g[i];
      const float mi = b1 * mm[i] + (1.0f - b1) * gi;
      const float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
      mm[i] = mi;
      vv[i] = vi;
      const float mhat = mi / bc1, vhat = vi / bc2;
      p[i] -= lr * (mhat / (adam_sqrt(vhat) + eps) + wd * p[i]);
    }
    off += n;
  }
}

float gpt_lr_schedule(long step, long warmup, long total, float lr_max, float lr_min) {
  /* step counts from 0: step warmup-1 reaches lr_max (the first step is not wasted at lr 0) */
  if (step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
  if (step >= total || total <= warmup) return lr_min;
  const double frac = (double)(step - warmup) / (double)(total - warmup);
  return lr_min + (float)(0.5 * (1.0 + cos(3.14159265358979323846 * frac))) * (lr_max - lr_min);
}

float gpt_optim_lr(const gpt_optim *o, long step) {
  return gpt_lr_schedule(step, o->warmup, o->total, o->lr_max, o->lr_min);
}

void gpt_optim_update(gpt *m, const gpt_optim *o, float lr, float norm) {
  gpt_clip_grad_to(m, norm, o->max_norm);
  const gpt_adamw opt = {lr, 0.9f, 0.95f, 1e-8f, o->weight_decay};
  gpt_adamw_step(m, &opt);
}

/* FLOPs of one training token (forward + backward = 3x forward), counting only matrix
 * products, which is what sgemm is compared against:
 * - 6 * (parameters that multiply an activation): per layer qkv 3C^2 + proj C^2 + fc 4C^2 +
 *   fcproj 4C^2, plus the tied LM head V*C; wpe, LayerNorm and biases do no products.
 * - causal attention: the query at position t (0-based) takes 2*C*(t+1) for Q K^T and as many
 *   for P V summed over heads; averaged over t < T that is 2*C*(T+1) forward per layer,
 *   6*C*(T+1) with backward. Work above the diagonal is not counted (it is not needed). */
double gpt_forward_flops_per_token(gpt_dims d, gpt_kind kind, int T) {
  const double C = d.C, L = d.L;
  const double matmul_params = L * 12.0 * C * C + (gpt_kind_has_logits(kind) ? (double)d.V * C : 0.0) +
                               (gpt_kind_has_scalar(kind) ? C : 0.0);
  return 2.0 * matmul_params + 2.0 * L * C * (T + 1.0);
}

double gpt_train_flops_per_token(gpt_dims d, int T) {
  const double C = d.C, L = d.L;
  const double matmul_params = L * 12.0 * C * C + (double)d.V * C;
  return 6.0 * matmul_params + 6.0 * L * C * (T + 1.0);
}
