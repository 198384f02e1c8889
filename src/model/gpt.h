/* gpt: byte-level GPT-2-style decoder (DESIGN.md "Model"), as LM, reward or value model.
 *
 * Conventions: B batch, T time, C channels, V vocab (257), L layers, NH heads, hs = C/NH.
 * Linear layers compute y = x W^T + b with W stored [out, in]. Parameters, gradients and
 * AdamW moments are each one flat buffer with the same offsets (gpt_tensors points into them),
 * so a gradient allreduce or an optimizer step is one call. Token 256 is end-of-text; every
 * sequence starts with it. Backward passes accumulate into grads; gpt_zero_grad zeroes them.
 * No allocation inside forward/backward/step/generate once gpt_reserve (or the first call at
 * the largest B and T) has sized the buffers.
 */
#ifndef OO_GPT_H
#define OO_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define GPT_VOCAB 257
#define GPT_EOT 256
#define GPT_NUM_TENSORS 18

/* GPT_LM_VALUE is an LM with a scalar value head on the same trunk (PPO with ppo.value = head,
 * as trlx): the LM's tensors followed by head_w and head_b, so its first n_params(LM) floats are
 * an LM (gpt_lm_view); forward fills both gpt_logits and gpt_scalar_out. */
typedef enum { GPT_LM = 0, GPT_REWARD = 1, GPT_VALUE = 2, GPT_LM_VALUE = 3 } gpt_kind;

static inline int gpt_kind_has_logits(gpt_kind k) { return k == GPT_LM || k == GPT_LM_VALUE; }
static inline int gpt_kind_has_scalar(gpt_kind k) { return k != GPT_LM; }

typedef struct {
  int V;  /* vocabulary, always GPT_VOCAB */
  int T;  /* context n_ctx (maximum sequence length) */
  int C;  /* d_model */
  int L;  /* n_layer */
  int NH; /* n_head */
} gpt_dims;

/* Named pointers into one flat buffer, in this order (the checkpoint's dataset order). */
typedef struct {
  float *wte;       /* (V,C) token embedding, tied LM head */
  float *wpe;       /* (T,C) position embedding */
  float *ln1_w;     /* (L,C) */
  float *ln1_b;     /* (L,C) */
  float *qkv_w;     /* (L,3C,C) rows: all q, then k, then v */
  float *qkv_b;     /* (L,3C) */
  float *attproj_w; /* (L,C,C) */
  float *attproj_b; /* (L,C) */
  float *ln2_w;     /* (L,C) */
  float *ln2_b;     /* (L,C) */
  float *fc_w;      /* (L,4C,C) */
  float *fc_b;      /* (L,4C) */
  float *fcproj_w;  /* (L,C,4C) */
  float *fcproj_b;  /* (L,C) */
  float *lnf_w;     /* (C) */
  float *lnf_b;     /* (C) */
  float *head_w;    /* (C) scalar head (reward/value/lm_value; empty for LM) */
  float *head_b;    /* (1) scalar head bias (reward/value/lm_value) */
} gpt_tensors;

/* Tensor table: names, ranks and dims for a model (used by checkpoints and tests). */
extern const char *const gpt_tensor_names[GPT_NUM_TENSORS];
/* For tensor i: writes its rank and dims; returns its element count (0 = absent for this kind). */
size_t gpt_tensor_shape(gpt_dims d, gpt_kind kind, int i, int *rank, long dims[3]);

typedef struct gpt_acts gpt_acts; /* training activations (gpt.c) */
struct gpt_kvcache;               /* the sampling cache (below) */

typedef struct {
  gpt_dims d;           /* dimensions */
  gpt_kind kind;        /* LM, reward or value */
  size_t n_params;      /* total parameter count */
  float *params;        /* (n_params) */
  gpt_tensors p;        /* views into params */
  float *grads;         /* (n_params) or NULL until gpt_alloc_train */
  gpt_tensors g;        /* views into grads */
  float *adam_m;        /* (n_params) first moment or NULL */
  float *adam_v;        /* (n_params) second moment or NULL */
  long step;            /* optimizer steps taken */
  float reward_shift;   /* calibration: reward = (raw - shift) / scale */
  float reward_scale;   /* 1 when uncalibrated */
  gpt_acts *acts;       /* forward/backward buffers, sized for B_cap x T_cap */
  int B_cap;            /* activation capacity: batch */
  int T_cap;            /* activation capacity: time */
  int B_cur;            /* B of the last forward */
  int T_cur;            /* T of the last forward */
  int *score_buf;       /* scratch of gpt_mean_logprob, grown on demand */
  size_t score_buf_cap; /* its capacity in ints */
  struct gpt_kvcache *score_kv; /* cache of gpt_score_last, grown on demand */
} gpt;

/* ---- lifetime ------------------------------------------------------------------------------ */
int gpt_create(gpt *m, gpt_dims d, gpt_kind kind); /* params zeroed; validates dims */
void gpt_free(gpt *m);
/* GPT-2 initialization: N(0, std) weights, residual projections std/sqrt(2L), LayerNorm
 * weights 1, biases 0; the scalar head N(0, head_std). Deterministic in seed. */
void gpt_init_weights(gpt *m, uint64_t seed, float std, float head_std);
/* Copies every tensor both models have (same dims required): LM -> reward/value trunk. */
int gpt_copy_trunk(gpt *dst, const gpt *src);
/* The LM part of an LM or GPT_LM_VALUE model as a GPT_LM sharing m's parameters (no gradients,
 * no activations): for writing or sampling it as a plain LM. Valid while m lives. */
gpt gpt_lm_view(const gpt *m);
/* Allocates grads and Adam moments (zeroed); activations already sized for inference are laid
 * out again for training (every layer's, and backward's buffers). */
void gpt_alloc_train(gpt *m);
/* Sizes activation buffers for B x T, for training once gpt_alloc_train has run (no-op if the
 * buffers already have that layout and are large enough). */
void gpt_reserve(gpt *m, int B, int T);
/* Bytes a model of dims d holds once gpt_reserve(B, T) has run: parameters, activations and,
 * with train, gradients and Adam moments. Allocates nothing of that size (for memory budgets). */
double gpt_memory_bytes(gpt_dims d, gpt_kind kind, int B, int T, int train);

/* ---- forward / backward --------------------------------------------------------------- */
/* Forward over tokens (B,T) with T <= d.T. Results in gpt_logits (LM, lm_value) and/or
 * gpt_scalar_out (reward/value/lm_value: the head applied at every position, raw, uncalibrated). */
void gpt_forward(gpt *m, const int *tokens, int B, int T);
float *gpt_logits(gpt *m);     /* (B,T,V) of the last forward (LM, lm_value) */
float *gpt_scalar_out(gpt *m); /* (B,T) of the last forward (reward/value/lm_value) */
float *gpt_final_ln(gpt *m);   /* (B,T,C) final LayerNorm output of the last forward: the head's input */
/* Backward of the last forward. dout is (B,T,V) dlogits for LM and lm_value (the value head
 * then gets no gradient), (B,T) for scalar heads. Accumulates into grads (the model must have
 * gpt_alloc_train). */
void gpt_backward(gpt *m, const float *dout);
/* Backward of the last forward of a GPT_LM_VALUE model through both heads at once (one pass
 * through the trunk for the sum of both losses): dlogits (B,T,V) and dscalar (B,T); either may be
 * NULL (that head contributes nothing). */
void gpt_backward_heads(gpt *m, const float *dlogits, const float *dscalar);
float *gpt_dlogits_buffer(gpt *m); /* (B,T,V) scratch owned by the model, for dout (LM/lm_value: dlogits) */
float *gpt_dscalar_buffer(gpt *m); /* (B,T) scratch for the scalar head's dout (reward/value/lm_value) */
void gpt_zero_grad(gpt *m);

/* Mean cross-entropy of logits (N,V) against targets (N) (-1 = ignored). If dlogits is not
 * NULL writes d(mean loss)/d(logits) there. Returns the mean loss over counted targets. */
float gpt_cross_entropy(const float *logits, const int *targets, int N, int V, float *dlogits);
/* Per-position log p(target) and entropy from logits (N,V); targets -1 give 0. */
void gpt_logprobs(const float *logits, const int *targets, int N, int V, float *logp, float *entropy);
/* dlogits (N,V) = dlogp[i] * d logp/d logits + dent[i] * d entropy/d logits (dent may be NULL). */
void gpt_logprobs_backward(const float *logits, const int *targets, int N, int V, const float *dlogp,
                           const float *dent, float *dlogits);

/* ---- optimizer ---------------------------------------------------------------------------- */
typedef struct {
  float lr;           /* this step's learning rate */
  float beta1, beta2; /* 0.9, 0.95 */
  float eps;          /* 1e-8 */
  float weight_decay; /* applied to matrices and embeddings, not to LayerNorm or biases */
} gpt_adamw;
/* Global L2 norm of the gradients (float partial sums per 4096, double across, rounded to float). */
float gpt_grad_norm(const gpt *m);
/* Clipping given the norm: grads *= max_norm / norm when norm > max_norm > 0 (else unchanged). */
void gpt_clip_grad_to(gpt *m, float norm, float max_norm);
void gpt_adamw_step(gpt *m, const gpt_adamw *opt);
/* Linear warm-up to lr_max over warmup steps, then cosine to lr_min at total. */
float gpt_lr_schedule(long step, long warmup, long total, float lr_max, float lr_min);

/* What a training loop fixes once about its optimizer: AdamW with beta1 0.9, beta2 0.95 and eps
 * 1e-8 for every model of this program, its schedule and the gradient clip. The distributed step
 * (mpi/runtime/train_step.h) sums the gradient over ranks and calls gpt_optim_update. */
typedef struct {
  float lr_max, lr_min; /* gpt_lr_schedule: linear warm-up to lr_max, then cosine to lr_min */
  long warmup, total;   /* warm-up steps; the cosine reaches lr_min at step total */
  float weight_decay;   /* AdamW decay of matrices and embeddings (not LayerNorm, biases) */
  float max_norm;       /* global gradient-norm clip, <= 0: none */
} gpt_optim;
/* The learning rate of step (0-based): gpt_lr_schedule over o's settings. */
float gpt_optim_lr(const gpt_optim *o, long step);
/* One optimizer step given the gradient's global norm (of the gradient summed over ranks, so
 * every replica takes the same step): gpt_clip_grad_to(norm, o->max_norm), then AdamW at lr. */
void gpt_optim_update(gpt *m, const gpt_optim *o, float lr, float norm);
/* Model FLOPs per token for a training step (6 * params plus attention), for bench. */
double gpt_train_flops_per_token(gpt_dims d, int T);
/* Forward FLOPs per position of a full T-token sequence for a model of this kind: 2 * the matrix
 * parameters it multiplies (the tied LM head only with logits, the C-wide scalar head only with
 * a scalar) plus causal attention. A reward model computes no logits, so its forward is about
 * 2 V C FLOPs a position cheaper than an LM's (4% at C128 L4). */
double gpt_forward_flops_per_token(gpt_dims d, gpt_kind kind, int T);

/* ---- sampling (gpt_sample.c) ---------------------------------------------------------------- */
typedef struct gpt_kvcache {
  gpt_dims d;      /* model dims */
  int B;           /* batch capacity (cache slots) */
  int rows;        /* rows one internal forward call takes (>= B; prompts go several positions at once) */
  float *k;        /* (L,B,T,C) cached keys */
  float *v;        /* (L,B,T,C) cached values */
  float *scratch;  /* per-step buffers */
  size_t scratch_n;
  float *wp;       /* the model's linear weights packed for kern_linear_packed, refreshed by every
                    * gpt_generate / gpt_score_last call (the weights may have changed between calls) */
  size_t wp_n;
} gpt_kvcache;

typedef struct {
  float temperature; /* > 0 */
  float top_p;       /* (0,1], 1 = off */
  int top_k;         /* 0 = off */
  int max_new;       /* tokens to generate at most */
  int stop_at_eot;   /* stop a sequence when it emits end-of-text */
} gpt_sample_opts;

/* A cache of B slots for m's dims: keys and values 2*L*B*T*C floats, one packed copy of the
 * linear weights (about the parameter count) and per-step scratch; all of it touched here, so
 * generation allocates nothing and takes no page faults. */
int gpt_kv_create(gpt_kvcache *kv, const gpt *m, int B);
void gpt_kv_free(gpt_kvcache *kv);
/* Bytes of a cache of B slots for dims d with `rows` rows per forward call (<= 0: what
 * gpt_kv_create picks): what gpt_kv_create allocates, or gpt_score_last for its chunk (B =
 * chunk, rows = chunk * Tmax). For the memory estimate (`overopt check`). */
double gpt_kv_memory_bytes(gpt_dims d, int B, int rows);
/* Generates continuations of B prompts of equal length Tp (prompt (B,Tp), each starting with
 * GPT_EOT). Sequence b draws from rng[b] only, so its tokens do not depend on B or on the
 * other sequences. out_tokens (B,max_new) is padded with -1 after a sequence ends; out_len (B)
 * counts generated tokens including a final GPT_EOT. out_logp (B,max_new), if not NULL, gets
 * log p(token) under the unmodified model distribution (temperature 1, no truncation). */
int gpt_generate(gpt *m, gpt_kvcache *kv, const int *prompt, int Tp, int B, const gpt_sample_opts *o,
                 oo_rng *rng, int *out_tokens, int *out_len, float *out_logp);

/* ---- checkpoints (gpt_io.c): DESIGN.md "Checkpoint (HDF5)", docs/formats.md ------------- */
#include "io/h5io.h"
/* Writes the model under group `group` ("" for the file root, "member_3" for an ensemble
 * member): attributes format, n_layer, n_head, d_model, n_ctx, vocab_size, kind,
 * reward_shift, reward_scale on the group, and the float32 datasets. with_optim adds the
 * subgroup "optim" (adam_m, adam_v, step) so training can resume. */
int gpt_write(const gpt *m, h5_writer *w, const char *group, int with_optim);
/* Reads a model from group `group`; validates every attribute and dataset shape, naming the
 * file, group and dataset that is wrong. expect_kind -1 accepts any kind. Creates m. */
int gpt_read(gpt *m, h5_reader *r, const char *group, int expect_kind, int with_optim);
/* Whole-file conveniences: config_text (may be NULL) is stored as root attribute "config". */
int gpt_save(const gpt *m, const char *path, const char *config_text, int with_optim);
int gpt_load(gpt *m, const char *path, int expect_kind);

/* ---- scoring (gpt_score.c, gpt_sample.c) ----------------------------------------------------- */
/* Sequences are (n,Tmax) padded (the padding value is never read) with lens (n), 1 <= lens <= Tmax
 * <= n_ctx, in chunks of `chunk` consecutive sequences.
 * gpt_score_last (gpt_sample.c) runs each chunk through the KV-cache path: the longest prefix
 * all the chunk's sequences share (a best-of-n or PPO prompt) goes through the model once, then
 * every remaining position of every sequence in one batch; the head is applied at the last
 * positions only. Grows the model's score_kv to (chunk, chunk*Tmax rows) on demand.
 * gpt_mean_logprob runs gpt_forward on each chunk with T = the longest length in it, reserving
 * the model for (chunk,Tmax) and a (chunk,Tmax) int buffer.
 * A result depends on its sequence and on its chunk's composition only (the chunk fixes the
 * sgemm shapes; differences are float rounding). */
/* raw[i] = the scalar head (reward model; raw, uncalibrated) at position lens[i]-1. */
void gpt_score_last(gpt *m, const int *tokens, // (n,Tmax)
                    const int *lens,           // (n)
                    int n, int Tmax, int chunk,
                    float *raw);               // (n)
/* out[i] = mean over t in [start, lens[i]) of log p(tokens[i,t] | tokens[i,<t]) under the LM
 * (0 when lens[i] <= start); start >= 1. */
void gpt_mean_logprob(gpt *lm, const int *tokens, // (n,Tmax)
                      const int *lens,            // (n)
                      int n, int Tmax, int start, int chunk,
                      float *out);                // (n)

#endif
