/* mem_budget: per-rank memory estimate from the config (see mem_budget.h). */
#include "mem_budget.h"

#include <string.h>

#include "core/core.h"
#include "layout.h"
#include "model/gpt.h"
#include "rlhf/gold.h"

static const char *const STAGES[] = {"pretrain", "gold", "prefs", "rm", "bon", "ppo"};
#define N_STAGES 6

static void add(mem_budget *b, const char *stage, const char *key, double bytes, const char *what) {
  if (b->n == BUDGET_MAX_ITEMS || bytes <= 0) return;
  budget_item *it = &b->item[b->n++];
  it->stage = stage;
  it->key = key;
  it->bytes = bytes;
  snprintf(it->what, sizeof it->what, "%s", what);
}

/* A model as two items: its parameters (and training state) under size_key, its activations
 * at B x T under batch_key. */
static void add_model(mem_budget *b, const char *stage, const cfg_size *s, int T, gpt_kind kind, int B, int train,
                      int copies, const char *size_key, const char *batch_key, const char *name) {
  gpt_dims d = {GPT_VOCAB, T, s->d_model, s->n_layer, s->n_head};
  if (B < 1) B = 1;
  double fixed = gpt_memory_bytes(d, kind, 0, T, train), all = gpt_memory_bytes(d, kind, B, T, train);
  char what[80];
  snprintf(what, sizeof what, "%d x %s %s", copies, name, train ? "(training)" : "(inference)");
  add(b, stage, size_key, fixed * copies, what);
  snprintf(what, sizeof what, "%s activations, %d sequences of %d", name, B, T);
  add(b, stage, batch_key, (all - fixed) * copies, what);
}

/* `copies` KV caches (gpt_kv_memory_bytes) of B slots and `rows` rows per call (<= 0: the default)
 * for a model of size s at n_ctx T: generation keeps one per batch of slots; gpt_score_last one
 * per scoring model, B = its chunk, rows = chunk x sequence length. */
static void add_cache(mem_budget *b, const char *stage, const cfg_size *s, int T, int B, int rows, int copies,
                      const char *key, const char *name) {
  gpt_dims d = {GPT_VOCAB, T, s->d_model, s->n_layer, s->n_head};
  char what[80];
  snprintf(what, sizeof what, "%d x %s KV cache, %d slots", copies, name, B);
  add(b, stage, key, gpt_kv_memory_bytes(d, B, rows) * copies, what);
}

/* The scoring caches of a stage: `hosted` members' (chunks of LAYOUT_RM_CHUNK; 0: none) and, for a
 * reward-model gold, the gold's (chunks of gold_chunk), each over sequences of seqT tokens. */
static void add_scoring_caches(mem_budget *b, const char *stage, const oo_config *c, int T, int seqT, int hosted,
                               int gold_chunk) {
  if (hosted > 0)
    add_cache(b, stage, &c->rm.size, T, LAYOUT_RM_CHUNK, LAYOUT_RM_CHUNK * seqT, hosted, "rm.k", "RM member scoring");
  if (strcmp(c->gold.kind, "teacher"))
    add_cache(b, stage, &c->gold.size, T, gold_chunk, gold_chunk * seqT, 1, "gold.size.d_model", "gold scoring");
}

static int share(long n, int ranks) { return (int)((n + ranks - 1) / ranks); }

void mem_budget_estimate(const oo_config *c, int ranks, mem_budget *b) {
  memset(b, 0, sizeof *b);
  if (ranks < 1) ranks = 1;
  b->ranks = ranks;
  const int T = c->pretrain.n_ctx, seqT = c->prefs.prompt_len + c->prefs.response_len + 2, K = c->rm.k;
  const long N = (long)c->prefs.n_train + c->prefs.n_test;
  const int gold_kind_lm = !strcmp(c->gold.kind, "teacher");
  char what[80];

  /* pretrain: one LM at a time, the largest counts: the policy, the rm size (rm.init =
   * pretrained) or the teacher (gold.kind = teacher). */
  const cfg_size *lms[3] = {&c->pretrain.policy, NULL, NULL};
  const char *lm_keys[3] = {"pretrain.policy.d_model", "rm.size.d_model", "gold.size.d_model"};
  if (!strcmp(c->rm.init, "pretrained")) lms[1] = &c->rm.size;
  if (gold_kind_lm) lms[2] = &c->gold.size;
  int big = 0;
  for (int i = 1; i < 3; i++) {
    if (!lms[i]) continue;
    gpt_dims di = {GPT_VOCAB, T, lms[i]->d_model, lms[i]->n_layer, lms[i]->n_head};
    gpt_dims db = {GPT_VOCAB, T, lms[big]->d_model, lms[big]->n_layer, lms[big]->n_head};
    if (gpt_memory_bytes(di, GPT_LM, 1, T, 1) > gpt_memory_bytes(db, GPT_LM, 1, T, 1)) big = i;
  }
  add_model(b, "pretrain", lms[big], T, GPT_LM, share(c->pretrain.batch, ranks), 1, 1, lm_keys[big], "pretrain.batch",
            "LM");

  /* gold: the gold RM scores pi_init's samples of calib_prompts prompts. */
  add_model(b, "gold", &c->pretrain.policy, T, GPT_LM, 64, 0, 1, "pretrain.policy.d_model", "gold.calib_prompts",
            "policy LM");
  add_model(b, "gold", &c->gold.size, T, gold_kind_lm ? GPT_LM : GPT_REWARD, 64, 0, 1, "gold.size.d_model",
            "gold.calib_prompts", "gold model");
  add_cache(b, "gold", &c->pretrain.policy, T, LAYOUT_SAMPLE_UNIT, 0, 1, "pretrain.policy.d_model", "pi_init");
  add_scoring_caches(b, "gold", c, T, seqT, 0, LAYOUT_SAMPLE_UNIT);

  /* prefs: sampling with pi_init, gold scores, and N pairs of token arrays (ints) on every rank. */
  add_model(b, "prefs", &c->pretrain.policy, T, GPT_LM, 64, 0, 1, "pretrain.policy.d_model", "prefs.n_train",
            "policy LM");
  add_model(b, "prefs", &c->gold.size, T, GPT_REWARD, 64, 0, 1, "gold.size.d_model", "prefs.n_train", "gold model");
  add_cache(b, "prefs", &c->pretrain.policy, T, LAYOUT_SAMPLE_UNIT, 0, 1, "pretrain.policy.d_model", "pi_init");
  add_scoring_caches(b, "prefs", c, T, seqT, 0, LAYOUT_SAMPLE_UNIT);
  double pair_bytes = 4.0 * (c->prefs.prompt_len + 2.0 * (c->prefs.response_len + 1) + 2 + 2 + 3 + 2.0 * seqT + 2);
  snprintf(what, sizeof what, "%ld preference pairs", N);
  add(b, "prefs", "prefs.n_train", pair_bytes * (double)N * 2, what); /* the arrays and one packed copy */

  /* rm: the members this rank hosts, each training on its share of a batch (at most the
   * training set), plus the pairs and the trunk LM. */
  int hosted = share(K, ranks), replicas = ranks > K ? ranks / K : 1;
  int bpairs = c->rm.batch < c->prefs.n_train ? c->rm.batch : c->prefs.n_train;
  add_model(b, "rm", &c->rm.size, T, GPT_REWARD, 2 * share(bpairs, replicas), 1, hosted, "rm.k", "rm.batch",
            "RM member");
  add(b, "rm", "prefs.n_train", pair_bytes * (double)N * 2, "preference pairs");
  add_model(b, "rm", &c->rm.size, T, GPT_LM, 1, 0, 1, "rm.size.d_model", "rm.batch", "trunk LM");

  /* bon: proxy scores of K members and the gold score per sample, the policy and the RMs. */
  double n_bon = (double)c->bon.n_prompts * c->bon.n_samples;
  snprintf(what, sizeof what, "%.0f samples x (%d members + gold) scores", n_bon, K);
  add(b, "bon", "bon.n_samples", 4.0 * n_bon * (K + 1) * 2, what);
  add_model(b, "bon", &c->pretrain.policy, T, GPT_LM, 64, 0, 1, "pretrain.policy.d_model", "bon.n_samples",
            "policy LM");
  add_model(b, "bon", &c->rm.size, T, GPT_REWARD, 64, 0, K, "rm.k", "bon.n_samples", "RM member");
  add_model(b, "bon", &c->gold.size, T, GPT_REWARD, 64, 0, 1, "gold.size.d_model", "bon.n_samples", "gold model");
  add_cache(b, "bon", &c->pretrain.policy, T, LAYOUT_BON_UNIT, 0, 1, "pretrain.policy.d_model", "policy");
  add_scoring_caches(b, "bon", c, T, seqT, hosted, GOLD_CHUNK);

  /* ppo: the policy and value trained on a minibatch, the reference, the K members and the
   * gold scoring a batch of rollouts. */
  int mb = share(c->ppo.minibatch, ranks), bt = share(c->ppo.batch, ranks);
  add_model(b, "ppo", &c->pretrain.policy, T, GPT_LM, mb, 1, 1, "pretrain.policy.d_model", "ppo.minibatch", "policy");
  add_model(b, "ppo", &c->pretrain.policy, T, GPT_VALUE, mb, 1, 1, "pretrain.policy.d_model", "ppo.minibatch",
            "value model");
  add_model(b, "ppo", &c->pretrain.policy, T, GPT_LM, bt, 0, 1, "pretrain.policy.d_model", "ppo.batch", "reference");
  add_model(b, "ppo", &c->rm.size, T, GPT_REWARD, bt, 0, K, "rm.k", "ppo.batch", "RM member");
  add_model(b, "ppo", &c->gold.size, T, GPT_REWARD, bt, 0, 1, "gold.size.d_model", "ppo.batch", "gold model");
  const long rollouts = c->ppo.batch > c->ppo.n_eval_prompts ? c->ppo.batch : c->ppo.n_eval_prompts;
  add_cache(b, "ppo", &c->pretrain.policy, T, share(rollouts, ranks), 0, 1, "ppo.batch", "policy");
  add_scoring_caches(b, "ppo", c, T, seqT, hosted, GOLD_CHUNK);
  snprintf(what, sizeof what, "%d rollouts x %d steps of PPO state", c->ppo.batch, seqT);
  add(b, "ppo", "ppo.batch", 4.0 * c->ppo.batch * seqT * 12, what);
}

static double stage_total(const mem_budget *b, const char *stage, const char **key) {
  double sum = 0, top = -1;
  for (int i = 0; i < b->n; i++) {
    if (strcmp(b->item[i].stage, stage)) continue;
    sum += b->item[i].bytes;
    if (b->item[i].bytes > top) {
      top = b->item[i].bytes;
      if (key) *key = b->item[i].key;
    }
  }
  return sum;
}

double mem_budget_peak(const mem_budget *b, const char **stage, const char **key) {
  double peak = 0;
  for (int s = 0; s < N_STAGES; s++) {
    const char *k = NULL;
    double t = stage_total(b, STAGES[s], &k);
    if (t > peak) {
      peak = t;
      if (stage) *stage = STAGES[s];
      if (key) *key = k;
    }
  }
  return peak;
}

void mem_budget_print(const mem_budget *b, double limit, FILE *out) {
  char num[32], lim[32];
  const char *stage = "?", *key = "?";
  double peak = mem_budget_peak(b, &stage, &key);
  oo_bytes_text(peak, num, sizeof num);
  oo_bytes_text(limit, lim, sizeof lim);
  fprintf(out, "// memory per rank (estimate for %d rank%s): peak %s in stage %s (largest item: %s); limit %s\n",
          b->ranks, b->ranks == 1 ? "" : "s", num, stage, key, lim);
  for (int s = 0; s < N_STAGES; s++) {
    double t = stage_total(b, STAGES[s], NULL);
    oo_bytes_text(t, num, sizeof num);
    fprintf(out, "//   %-8s %10s:", STAGES[s], num);
    for (int i = 0; i < b->n; i++) {
      if (strcmp(b->item[i].stage, STAGES[s]) || b->item[i].bytes < 0.005 * t) continue;
      oo_bytes_text(b->item[i].bytes, num, sizeof num);
      fprintf(out, " %s %s (%s);", b->item[i].key, num, b->item[i].what);
    }
    fprintf(out, "\n");
  }
}

int mem_budget_check(const mem_budget *b, double limit) {
  const char *stage = "?", *key = "?";
  double peak = mem_budget_peak(b, &stage, &key);
  char num[32], lim[32];
  oo_bytes_text(peak, num, sizeof num);
  oo_bytes_text(limit, lim, sizeof lim);
  REQUIRE(peak <= limit,
          "the config needs about %s per rank in stage %s, more than the limit of %s (physical memory, or "
          "OVEROPT_MEM_LIMIT); the biggest item is driven by '%s': lower it", num, stage, lim, key);
  return OO_OK;
}
