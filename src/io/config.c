/* config: the schema table, libconfig loading, --set overrides, cross-key validation, the
 * resolved-config writer, the markdown reference and the stage hashes (see config.h).
 *
 * Invariants:
 * - SCHEMA below is the only list of keys. Defaults are text and go through the same parser
 *   and range checks as a --set, so a default outside its own range fails every test.
 * - Every value reaches the struct through set_value(): one place for type and range checks.
 * - A config is plain bytes: cfg_defaults zeroes the whole struct first and string/list
 *   writes clear their whole field, so two equal configs compare equal with memcmp.
 * - Values are written with the shortest text that reads back to the same double, so
 *   cfg_write -> cfg_load is exact and cfg_hash is stable across runs and platforms.
 */
#define _POSIX_C_SOURCE 200809L
#include "io/config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/machine.h"

/* ---- the schema -------------------------------------------------------------------------- */

typedef enum {
  K_INT,        /* int */
  K_BOOL,       /* int 0 or 1, written true/false */
  K_FLOAT,      /* double; integer literals accepted */
  K_STR,        /* char[size] */
  K_ENUM,       /* char[size], one of choices */
  K_FLOAT_LIST, /* double[cap] with an int count */
  K_ENUM_LIST,  /* char[cap][size] with an int count, each one of choices */
  K_SWEEP,      /* the sweep axes (file only) */
} key_type;

typedef struct {
  const char *key;     /* full dotted name, e.g. "rm.size.d_model" */
  key_type type;       /* value type */
  size_t off;          /* offset of the value (of element 0 for lists) in oo_config */
  size_t size;         /* strings: capacity; lists: element size */
  size_t cap;          /* lists: element capacity */
  size_t count_off;    /* lists: offset of the int element count */
  const char *def;     /* default, as --set text */
  double lo, hi;       /* accepted numeric range (per element for lists) */
  int lo_open;         /* 1: lo itself is not accepted */
  const char *choices; /* enums: "a|b|c" */
  const char *doc;     /* one line for the reference */
} cfg_key;

#define FSIZE(f) sizeof(((oo_config *)0)->f)
#define FELEM(f) sizeof(((oo_config *)0)->f[0])
#define INT(k, f, d, lo, hi, doc) {k, K_INT, offsetof(oo_config, f), FSIZE(f), 0, 0, d, lo, hi, 0, NULL, doc}
#define BOOL(k, f, d, doc) {k, K_BOOL, offsetof(oo_config, f), FSIZE(f), 0, 0, d, 0, 1, 0, NULL, doc}
#define FLT(k, f, d, lo, hi, doc) {k, K_FLOAT, offsetof(oo_config, f), FSIZE(f), 0, 0, d, lo, hi, 0, NULL, doc}
#define FLT_GT(k, f, d, lo, hi, doc) {k, K_FLOAT, offsetof(oo_config, f), FSIZE(f), 0, 0, d, lo, hi, 1, NULL, doc}
#define STR(k, f, d, doc) {k, K_STR, offsetof(oo_config, f), FSIZE(f), 0, 0, d, 0, 0, 0, NULL, doc}
#define ENUM(k, f, d, ch, doc) {k, K_ENUM, offsetof(oo_config, f), FSIZE(f), 0, 0, d, 0, 0, 0, ch, doc}
#define FLIST(k, f, n, d, lo, hi, doc)                                                          \
  {k, K_FLOAT_LIST, offsetof(oo_config, f), FELEM(f), FSIZE(f) / FELEM(f), offsetof(oo_config, n), \
   d, lo, hi, 0, NULL, doc}
#define ELIST(k, f, n, d, ch, doc)                                                             \
  {k, K_ENUM_LIST, offsetof(oo_config, f), FELEM(f), FSIZE(f) / FELEM(f), offsetof(oo_config, n), \
   d, 0, 0, 0, ch, doc}
#define SIZE3(g, f, dm, nl, nh, what)                                                         \
  INT(g ".d_model", f.d_model, dm, 8, 4096, "channels C of the " what),                      \
  INT(g ".n_layer", f.n_layer, nl, 1, 64, "layers L of the " what),                           \
  INT(g ".n_head", f.n_head, nh, 1, 64, "attention heads NH of the " what " (divides d_model)")
#define BIG 1e9

static const cfg_key SCHEMA[] = {
    STR("run.name", run.name, "quickstart", "run name: output goes to out_dir/name (no '/')"),
    STR("run.out_dir", run.out_dir, "runs", "parent directory of run directories"),
    INT("run.world_seed", run.world_seed, "1234", 0, INT_MAX,
        "seed of the world every replicate shares: corpus split, pi_init, gold, evaluation prompts and samples"),
    INT("run.seed", run.seed, "1", 0, INT_MAX - 64,
        "seed of replicate 0 (preference sample, label flips, members, PPO); replicate i uses seed + i"),
    INT("run.replicates", run.replicates, "1", 1, 64,
        "replicates R of the experiment, sharing the world; R >= 2 writes rep<i>/ and summary.csv"),
    INT("run.threads", run.threads, "1", 1, 64, "BLAS threads per rank (ranks x threads <= cores)"),
    INT("run.watchdog_s", run.watchdog_s, "60", 0, 86400,
        "seconds one MPI operation may wait before the job ends naming the rank, stage and operation (a lost or "
        "stalled rank); 0 = no limit"),
    INT("run.skip_nonfinite", run.skip_nonfinite, "0", 0, 1000000,
        "training batches (pretrain, rm, ppo) whose loss or gradient norm is NaN or inf that are skipped, counted "
        "and reported, before training stops; 0 = stop at the first"),
    STR("run.blas_kernel", run.blas_kernel, "",
        "OpenBLAS kernel to run, e.g. Haswell (the same code on AMD and Intel), SkylakeX, Zen, Sandybridge, "
        "Prescott; empty = OpenBLAS's own choice, widened to the CPU's widest kernel where OpenBLAS does not know "
        "the CPU and falls back to narrower vectors (docs/reproducibility.md)"),

    STR("corpus.path", corpus.path, "/usr/share/games/fortunes", "corpus file or directory of files"),
    ENUM("corpus.delimiter", corpus.delimiter, "percent", "percent|blank",
         "document separator: a line '%' (fortune files) or blank lines"),
    FLT("corpus.val_fraction", corpus.val_fraction, "0.05", 0, 0.5, "fraction of documents held out for validation"),
    INT("corpus.min_doc_bytes", corpus.min_doc_bytes, "16", 0, 1 << 20, "documents shorter than this are dropped"),

    INT("pretrain.n_ctx", pretrain.n_ctx, "96", 16, 1024, "context length T of every model"),
    SIZE3("pretrain.policy", pretrain.policy, "128", "4", "4", "policy (pi_init)"),
    INT("pretrain.steps", pretrain.steps, "400", 0, BIG, "optimizer steps per base LM"),
    INT("pretrain.batch", pretrain.batch, "16", 1, 65536, "sequences per step (global, split over ranks)"),
    FLT_GT("pretrain.lr", pretrain.lr, "3e-3", 0, 1, "peak learning rate (AdamW)"),
    INT("pretrain.warmup", pretrain.warmup, "20", 0, BIG, "linear warm-up steps"),
    FLT("pretrain.weight_decay", pretrain.weight_decay, "0.0", 0, 10, "AdamW weight decay"),
    FLT("pretrain.grad_clip", pretrain.grad_clip, "1.0", 0, 1e6, "global gradient-norm clip, 0 = off"),
    INT("pretrain.eval_every", pretrain.eval_every, "100", 0, BIG, "validation loss every N steps, 0 = only at the end"),

    ENUM("gold.kind", gold.kind, "random", "random|teacher|checkpoint",
         "gold RM: seeded random transformer, RM on a separately pretrained teacher LM, or a checkpoint"),
    SIZE3("gold.size", gold.size, "128", "4", "4", "gold RM (random) or teacher LM (teacher)"),
    FLT_GT("gold.init_scale", gold.init_scale, "0.06", 0, 10, "random: std of the gold RM's initialization"),
    STR("gold.checkpoint", gold.checkpoint, "", "checkpoint: path of a reward checkpoint (required for that kind)"),
    INT("gold.teacher_steps", gold.teacher_steps, "600", 0, BIG, "teacher: pretraining steps of the teacher LM"),
    INT("gold.calib_prompts", gold.calib_prompts, "256", 1, 1000000,
        "prompts whose pi_init responses calibrate the gold to mean 0, std 1"),

    INT("prefs.prompt_len", prefs.prompt_len, "32", 1, 1024, "prompt bytes (a prefix of a corpus document)"),
    INT("prefs.response_len", prefs.response_len, "40", 1, 1024, "maximum response bytes"),
    INT("prefs.n_train", prefs.n_train, "1000", 1, BIG, "training preference pairs"),
    INT("prefs.n_test", prefs.n_test, "500", 1, BIG, "test preference pairs (clean labels)"),
    FLT_GT("prefs.temperature", prefs.temperature, "1.0", 0, 10, "sampling temperature of pi_init"),
    FLT_GT("prefs.top_p", prefs.top_p, "1.0", 0, 1, "nucleus sampling mass, 1 = off"),
    FLT("prefs.noise", prefs.noise, "0.25", 0, 0.5, "label noise epsilon: fraction of training labels flipped"),
    ENUM("prefs.noise_mode", prefs.noise_mode, "exact", "exact|bernoulli",
         "flip exactly round(eps*n_train) labels, or each label with probability eps"),

    INT("rm.k", rm.k, "5", 1, CFG_MAX_MEMBERS, "proxy ensemble members (differ only in seed)"),
    SIZE3("rm.size", rm.size, "64", "2", "4", "proxy RM"),
    INT("rm.epochs", rm.epochs, "2", 1, 1000, "passes over the training pairs"),
    INT("rm.batch", rm.batch, "16", 1, 65536, "pairs per optimizer step"),
    FLT_GT("rm.lr", rm.lr, "1e-4", 0, 1, "peak learning rate"),
    FLT("rm.weight_decay", rm.weight_decay, "0.0", 0, 10, "AdamW weight decay"),
    INT("rm.warmup", rm.warmup, "10", 0, BIG, "linear warm-up steps"),
    ENUM("rm.init", rm.init, "scratch", "pretrained|scratch",
         "trunk from the base LM of the same size, or random"),
    ENUM("rm.normalize", rm.normalize, "zscore", "center|zscore",
         "per member on pi_init responses: shift to mean 0, or also scale to std 1"),
    ELIST("rm.diversity", rm.diversity, rm.n_diversity, "[finetune]", "finetune|bootstrap|pretrain",
          "what makes members differ: finetune = init seed and data order; bootstrap adds a resample of the pairs; "
          "pretrain gives member m >= 1 its own trunk pretrained from its own seed (needs rm.init = pretrained)"),
    BOOL("rm.warm", rm.warm, "false",
         "also write WARM, the members' weight average, to rm.h5 (needs rm.init = pretrained): objective/curve warm"),
    BOOL("rm.laplace", rm.laplace, "false",
         "also a last-layer Laplace posterior of each member's head (rm.h5 laplace/member_<m>): curves laplace_uwo, ens_laplace"),
    INT("rm.laplace_scalapack_min", rm.laplace_scalapack_min, "512", 2, 1 << 20,
        "Laplace: factor the (C+1)^2 precision with ScaLAPACK over the member's ranks when C+1 >= this, else LAPACK"),

    INT("bon.n_prompts", bon.n_prompts, "32", 1, 1000000, "evaluation prompts"),
    INT("bon.n_samples", bon.n_samples, "512", 1, 100000, "N samples per prompt (n runs up to N)"),
    FLIST("bon.uwo_lambda", bon.uwo_lambda, bon.n_uwo_lambda, "[0.5]", 0, 100,
          "uwo variance penalties, one curve each"),
    FLIST("bon.softmin_tau", bon.softmin_tau, bon.n_softmin_tau, "[1.0]", 1e-3, 1e6,
          "soft-minimum temperatures, one curve softmin_<tau> each (tau = 1/(2 lambda) matches uwo to second order)"),
    FLT_GT("bon.top_p", bon.top_p, "1.0", 0, 1, "nucleus sampling mass of the BoN samples"),

    ELIST("ppo.objectives", ppo.objectives, ppo.n_objectives, "[single, mean, wco, uwo]",
          "single|mean|wco|uwo|softmin|warm|laplace_uwo|ens_laplace",
          "objectives optimized, one PPO run each (warm needs rm.warm, laplace_uwo and ens_laplace rm.laplace)"),
    FLIST("ppo.betas", ppo.betas, ppo.n_betas, "[0.0]", 0, 100, "KL coefficients, one PPO run each"),
    FLT("ppo.uwo_lambda", ppo.uwo_lambda, "0.1", 0, 100, "uwo variance penalty"),
    FLT("ppo.softmin_tau", ppo.softmin_tau, "5.0", 1e-3, 1e6, "softmin temperature (5 = 1/(2 x 0.1), uwo's lambda)"),
    INT("ppo.member", ppo.member, "0", 0, 63, "the member optimized by 'single' (< rm.k)"),
    ENUM("ppo.kl_mode", ppo.kl_mode, "fixed", "fixed|adaptive", "fixed beta or adaptive KL controller"),
    FLT_GT("ppo.kl_target", ppo.kl_target, "6.0", 0, 1000, "adaptive: target KL in nats per response"),
    INT("ppo.kl_horizon", ppo.kl_horizon, "10000", 1, BIG, "adaptive: controller horizon in steps"),
    ENUM("ppo.kl_estimator", ppo.kl_estimator, "k1", "k1|k2|k3", "KL estimator on the curves"),
    INT("ppo.steps", ppo.steps, "60", 1, BIG, "PPO steps (rollout batches)"),
    INT("ppo.batch", ppo.batch, "32", 1, 65536, "rollouts per step (global)"),
    INT("ppo.minibatch", ppo.minibatch, "8", 1, 65536, "rollouts per minibatch (global, divides ppo.batch)"),
    INT("ppo.epochs", ppo.epochs, "2", 1, 100, "PPO epochs per rollout batch"),
    FLT_GT("ppo.lr", ppo.lr, "3e-4", 0, 1, "peak learning rate"),
    FLT("ppo.lr_final", ppo.lr_final, "1e-5", 0, 1, "cosine decay ends here (<= ppo.lr)"),
    INT("ppo.warmup", ppo.warmup, "5", 0, BIG, "linear warm-up steps"),
    FLT_GT("ppo.clip", ppo.clip, "0.2", 0, 10, "surrogate ratio clip"),
    FLT_GT("ppo.vf_clip", ppo.vf_clip, "0.2", 0, 1e6, "value-function clip"),
    FLT("ppo.vf_coef", ppo.vf_coef, "0.1", 0, 100, "value loss coefficient"),
    /* head by default: trlx's (Coste et al.'s) layout and ~40% less update time; it changes the
     * quickstart's curves (README "ppo.value = head"), model reproduces the earlier ones (#11) */
    ENUM("ppo.value", ppo.value, "head", "head|model",
         "head: scalar value head on the policy's trunk, one backward for both losses (trlx); model: separate value model"),
    FLT("ppo.gae_lambda", ppo.gae_lambda, "0.95", 0, 1, "GAE lambda (gamma = 1)"),
    FLT("ppo.reward_clip", ppo.reward_clip, "10.0", 0, 1e6, "|objective| clipped to this, 0 = off"),
    FLT_GT("ppo.temperature", ppo.temperature, "1.0", 0, 10, "rollout sampling temperature"),
    INT("ppo.eval_every", ppo.eval_every, "10", 0, BIG, "evaluation every N steps, 0 = only at the end"),
    INT("ppo.n_eval_prompts", ppo.n_eval_prompts, "64", 1, 1000000, "prompts per evaluation"),
    ENUM("ppo.reward", ppo.reward, "proxy", "proxy|gold",
         "what PPO optimizes: the proxy objective, or the gold score (sanity check)"),

    INT("layout.rollout_ranks", layout.rollout_ranks, "0", 0, 1000000, "ranks holding the policy, 0 = every rank"),
    INT("layout.rm_ranks", layout.rm_ranks, "0", 0, 1000000, "ranks holding the reward models, 0 = every rank"),
    INT("layout.replicate_groups", layout.replicate_groups, "0", 0, 1000000,
        "groups of ranks running replicates side by side (divides the rank count), 0 = automatic"),

    {"sweep.axes", K_SWEEP, offsetof(oo_config, sweep), FSIZE(sweep), 0, 0, "()", 0, 0, 0, NULL,
     "sweep axes: ( { key = \"rm.size.d_model\"; values = [32, 64]; }, ... ); the sweep runs every combination"},

    STR("slurm.partition", slurm.partition, "", "sbatch --partition, empty = the cluster's default"),
    STR("slurm.account", slurm.account, "", "sbatch --account (the allocation charged), empty = your default"),
    STR("slurm.time", slurm.time, "01:00:00", "sbatch --time per run"),
    INT("slurm.ntasks", slurm.ntasks, "2", 1, 100000, "sbatch --ntasks (MPI ranks per run)"),
    INT("slurm.nodes", slurm.nodes, "0", 0, 100000, "sbatch --nodes, 0 = let Slurm choose"),
    INT("slurm.ntasks_per_node", slurm.ntasks_per_node, "0", 0, 100000,
        "sbatch --ntasks-per-node (with nodes: ntasks = nodes x this), 0 = let Slurm choose"),
    STR("slurm.setup", slurm.setup, "", "script sourced before launching (module load, environment), empty = none"),
    STR("slurm.launcher", slurm.launcher, "mpirun", "launcher and its arguments, word-split: mpirun --bind-to core, srun --mpi=pmix"),
    STR("slurm.extra", slurm.extra, "", "extra #SBATCH lines, ';'-separated"),
};
#define N_KEYS ((int)(sizeof SCHEMA / sizeof SCHEMA[0]))

/* Where each key got its value in the most recent cfg_load (and the --set overrides after it):
 * "file.cfg:12", "--set" or "" (the default). Kept beside the config, not in it, so configs stay
 * plain comparable bytes; cross-key messages use it only for the path it was recorded for. */
static char g_origin[sizeof SCHEMA / sizeof SCHEMA[0]][160];
static char g_origin_sweep[sizeof SCHEMA / sizeof SCHEMA[0]][160]; /* the line of the key's sweep axis */
static char g_origin_path[1024];
static int g_in_sweep_point; /* 1 while check_sweep_points checks a point: swept keys come from their axis */

static void origin_record_in(char (*table)[160], const cfg_key *k, const char *where) {
  char *o = table[k - SCHEMA];
  snprintf(o, sizeof g_origin[0], "%.150s", where);
  size_t n = strlen(o); /* where is "file:line: " or "--set '...': " */
  while (n && (o[n - 1] == ' ' || o[n - 1] == ':')) o[--n] = 0;
  if (!strncmp(o, "--set", 5)) o[5] = 0;
}
static void origin_record(const cfg_key *k, const char *where) { origin_record_in(g_origin, k, where); }

static const cfg_key *find_key(const char *name) {
  for (int i = 0; i < N_KEYS; i++)
    if (!strcmp(SCHEMA[i].key, name)) return &SCHEMA[i];
  return NULL;
}

/* A group is a proper dotted prefix of some key ("rm", "rm.size"). */
static int is_group(const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < N_KEYS; i++)
    if (!strncmp(SCHEMA[i].key, name, n) && SCHEMA[i].key[n] == '.') return 1;
  return 0;
}

/* Nearest key or group name to s, or NULL. */
static const char *nearest_known(const char *s) {
  static char groups[N_KEYS * 2][64]; /* every proper prefix; rebuilt per call (error path) */
  const char *names[N_KEYS * 3];
  int n = 0, ng = 0;
  for (int i = 0; i < N_KEYS; i++) {
    names[n++] = SCHEMA[i].key;
    for (const char *d = strchr(SCHEMA[i].key, '.'); d && ng < N_KEYS * 2; d = strchr(d + 1, '.')) {
      size_t len = (size_t)(d - SCHEMA[i].key);
      if (len >= 64) continue;
      memcpy(groups[ng], SCHEMA[i].key, len);
      groups[ng][len] = 0;
      int dup = 0;
      for (int g = 0; g < ng; g++) dup |= !strcmp(groups[g], groups[ng]);
      if (!dup) names[n++] = groups[ng++];
    }
  }
  return oo_nearest_name(s, names, n);
}

static int choice_ok(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *c = choices; c; c = strchr(c, '|')) {
    if (*c == '|') c++;
    if (!strncmp(c, s, n) && (c[n] == '|' || c[n] == 0)) return 1;
  }
  return 0;
}

static const char *nearest_choice(const char *choices, const char *s) {
  static char buf[8][32];
  const char *names[8];
  int n = 0;
  for (const char *c = choices; *c && n < 8;) {
    size_t len = strcspn(c, "|");
    snprintf(buf[n], sizeof buf[n], "%.*s", (int)len, c);
    names[n] = buf[n];
    n++;
    c += len + (c[len] == '|');
  }
  return oo_nearest_name(s, names, n);
}

/* "a|b|c" -> "a, b, c" */
static void choices_text(const char *choices, char *out, size_t cap) {
  size_t j = 0;
  for (const char *c = choices; *c && j + 3 < cap; c++) {
    if (*c == '|') {
      out[j++] = ',';
      out[j++] = ' ';
    } else {
      out[j++] = *c;
    }
  }
  out[j] = 0;
}

/* ---- value text ------------------------------------------------------------------------- */

/* Shortest decimal that reads back to v, always in float syntax for libconfig ("10.0",
 * "1.0e-05"): the same text on every platform with a correctly rounding printf. */
static void format_double(double v, char *out, size_t cap) {
  int digits = 1;
  if (fabs(v) >= 1 && isfinite(v)) digits = (int)floor(log10(fabs(v))) + 1;
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec > digits ? prec : (digits > 17 ? 17 : digits), v);
    if (strtod(out, NULL) == v) break;
  }
  if (!strpbrk(out, ".eEni")) {
    strncat(out, ".0", cap - strlen(out) - 1);
  } else if (strchr(out, 'e') && !strchr(out, '.')) {
    char tmp[64];
    char *e = strchr(out, 'e');
    snprintf(tmp, sizeof tmp, "%.*s.0%s", (int)(e - out), out, e);
    snprintf(out, cap, "%s", tmp);
  }
}

/* Appends s as a libconfig string literal. */
static void quote(char *out, size_t cap, const char *s) {
  size_t j = strlen(out);
  if (j + 1 < cap) out[j++] = '"';
  for (; *s && j + 5 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[j++] = '\\';
      out[j++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      j += (size_t)snprintf(out + j, cap - j, "\\x%02x", c);
    } else {
      out[j++] = (char)c;
    }
  }
  if (j + 1 < cap) out[j++] = '"';
  out[j] = 0;
}

static void append(char *out, size_t cap, const char *s) {
  size_t j = strlen(out);
  snprintf(out + j, cap > j ? cap - j : 0, "%s", s);
}

/* The value of key k in cfg as libconfig text (single line). */
static void format_value(const oo_config *cfg, const cfg_key *k, char *out, size_t cap) {
  const char *base = (const char *)cfg + k->off;
  char num[64];
  out[0] = 0;
  switch (k->type) {
  case K_INT: snprintf(out, cap, "%d", *(const int *)base); break;
  case K_BOOL: snprintf(out, cap, "%s", *(const int *)base ? "true" : "false"); break;
  case K_FLOAT: format_double(*(const double *)base, out, cap); break;
  case K_STR:
  case K_ENUM: quote(out, cap, base); break;
  case K_FLOAT_LIST:
  case K_ENUM_LIST: {
    int n = *(const int *)((const char *)cfg + k->count_off);
    append(out, cap, "[");
    for (int i = 0; i < n; i++) {
      if (i) append(out, cap, ", ");
      if (k->type == K_FLOAT_LIST) {
        format_double(((const double *)base)[i], num, sizeof num);
        append(out, cap, num);
      } else {
        quote(out, cap, base + (size_t)i * k->size);
      }
    }
    append(out, cap, "]");
    break;
  }
  case K_SWEEP: {
    append(out, cap, "(");
    for (int a = 0; a < cfg->sweep.n_axes; a++) {
      const cfg_axis *ax = &cfg->sweep.axes[a];
      const cfg_key *ak = find_key(ax->key);
      append(out, cap, a ? ",\n    { key = " : "\n    { key = "); /* one axis a line */
      quote(out, cap, ax->key);
      append(out, cap, "; values = [");
      for (int v = 0; v < ax->n_values; v++) {
        if (v) append(out, cap, ", ");
        /* numbers stay numbers (canonical text from load); anything else is a string, which
         * the loader turns back into the same --set text */
        if (ak && (ak->type == K_INT || ak->type == K_FLOAT))
          append(out, cap, ax->values[v]);
        else
          quote(out, cap, ax->values[v]);
      }
      append(out, cap, "]; }");
    }
    append(out, cap, cfg->sweep.n_axes ? "\n  )" : ")");
    break;
  }
  }
}

/* "1 .. 64", "> 0 .. 1", "center, zscore": what a key accepts, for messages and the reference. */
static void accepted_text(const cfg_key *k, char *out, size_t cap) {
  char lo[64], hi[64];
  switch (k->type) {
  case K_INT:
    snprintf(out, cap, "%.0f .. %.0f", k->lo, k->hi);
    break;
  case K_FLOAT:
  case K_FLOAT_LIST:
    format_double(k->lo, lo, sizeof lo);
    format_double(k->hi, hi, sizeof hi);
    snprintf(out, cap, "%s%s .. %s%s", k->lo_open ? "> " : "", lo, hi,
             k->type == K_FLOAT_LIST ? " each, 1 to 16 values" : "");
    break;
  case K_BOOL: snprintf(out, cap, "true, false"); break;
  case K_STR: snprintf(out, cap, "text, at most %zu bytes", k->size - 1); break;
  case K_ENUM: choices_text(k->choices, out, cap); break;
  case K_ENUM_LIST:
    choices_text(k->choices, out, cap);
    append(out, cap, " (1 to 16 of them)");
    break;
  case K_SWEEP: snprintf(out, cap, "up to %d axes of up to %d values", CFG_MAX_AXES, CFG_MAX_VALUES); break;
  }
}

static const char *type_name(key_type t) {
  switch (t) {
  case K_INT: return "int";
  case K_BOOL: return "bool";
  case K_FLOAT: return "float";
  case K_STR: return "string";
  case K_ENUM: return "string (one of a set)";
  case K_FLOAT_LIST: return "list of floats";
  case K_ENUM_LIST: return "list of strings";
  case K_SWEEP: return "list of axes";
  }
  return "?";
}

/* ---- setting values ------------------------------------------------------------------------ */

typedef enum { V_INT, V_FLOAT, V_STR, V_BOOL, V_GROUP, V_LIST } value_kind;
typedef struct {
  value_kind kind; /* what the file or the --set text holds */
  long long i;     /* V_INT, V_BOOL */
  double f;        /* V_FLOAT */
  const char *s;   /* V_STR */
} cfg_value;

/* "float 2.5", "string \"abc\"", "a group" for type errors. */
static void value_desc(const cfg_value *v, char *out, size_t cap) {
  char num[64];
  switch (v->kind) {
  case V_INT: snprintf(out, cap, "int %lld", v->i); break;
  case V_FLOAT:
    format_double(v->f, num, sizeof num);
    snprintf(out, cap, "float %s", num);
    break;
  case V_STR:
    snprintf(out, cap, "string ");
    quote(out, cap, v->s);
    break;
  case V_BOOL: snprintf(out, cap, "bool %s", v->i ? "true" : "false"); break;
  case V_GROUP: snprintf(out, cap, "a group { ... }"); break;
  case V_LIST: snprintf(out, cap, "a list"); break;
  }
}

/* Stores v as element idx of key k (idx 0 for scalars), checking type and range. where is the
 * message prefix ("file.cfg:12: " or "--set 'rm.k=3': "). */
static int set_element(oo_config *cfg, const cfg_key *k, int idx, const cfg_value *v, const char *where) {
  char *base = (char *)cfg + k->off;
  char name[96], got[320], acc[160];
  int is_list = k->type == K_FLOAT_LIST || k->type == K_ENUM_LIST;
  if (is_list)
    snprintf(name, sizeof name, "%s[%d]", k->key, idx);
  else
    snprintf(name, sizeof name, "%s", k->key);
  value_desc(v, got, sizeof got);
  accepted_text(k, acc, sizeof acc);

  switch (k->type) {
  case K_INT: {
    REQUIRE(v->kind == V_INT, "%swrong type for '%s': expected int, got %s", where, name, got);
    REQUIRE(v->i >= (long long)k->lo && v->i <= (long long)k->hi,
            "%s'%s' = %lld is out of range: accepted %s", where, name, v->i, acc);
    *(int *)base = (int)v->i;
    return OO_OK;
  }
  case K_BOOL: {
    REQUIRE(v->kind == V_BOOL, "%swrong type for '%s': expected true or false, got %s", where, name, got);
    *(int *)base = (int)v->i;
    return OO_OK;
  }
  case K_FLOAT:
  case K_FLOAT_LIST: {
    REQUIRE(v->kind == V_INT || v->kind == V_FLOAT, "%swrong type for '%s': expected float, got %s",
            where, name, got);
    double x = v->kind == V_INT ? (double)v->i : v->f;
    int ok = (k->lo_open ? x > k->lo : x >= k->lo) && x <= k->hi; /* false for NaN */
    char num[64];
    format_double(x, num, sizeof num);
    REQUIRE(ok, "%s'%s' = %s is out of range: accepted %s", where, name, num, acc);
    ((double *)base)[idx] = x;
    return OO_OK;
  }
  case K_STR:
  case K_ENUM:
  case K_ENUM_LIST: {
    const char *want = k->type == K_STR ? "string" : "string (one of a set)";
    REQUIRE(v->kind == V_STR, "%swrong type for '%s': expected %s, got %s", where, name, want, got);
    size_t len = strlen(v->s);
    REQUIRE(len < k->size, "%s'%s' is too long (%zu bytes): at most %zu bytes", where, name, len,
            k->size - 1);
    if (k->type != K_STR && !choice_ok(k->choices, v->s)) {
      const char *near = nearest_choice(k->choices, v->s);
      char hint[64] = "";
      if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
      OO_FAIL("%s'%s' = \"%s\" is not accepted: accepted values are %s%s", where, name, v->s, acc, hint);
    }
    char *dst = base + (size_t)idx * k->size;
    memset(dst, 0, k->size);
    memcpy(dst, v->s, len);
    return OO_OK;
  }
  case K_SWEEP: break;
  }
  OO_FAIL("%s'%s' can only be set in a config file (sweep = { axes = ( ... ); };)", where, k->key);
}

/* Stores a whole list value: 1..cap elements, the rest of the array cleared. */
static int set_list(oo_config *cfg, const cfg_key *k, const cfg_value *vals, int n, const char *where) {
  REQUIRE(n >= 1 && (size_t)n <= k->cap, "%s'%s' has %d values: accepted 1 to %zu values", where,
          k->key, n, k->cap);
  memset((char *)cfg + k->off, 0, k->size * k->cap);
  for (int i = 0; i < n; i++) CHECK(set_element(cfg, k, i, &vals[i], where));
  *(int *)((char *)cfg + k->count_off) = n;
  return OO_OK;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

/* Classifies --set text for key k: quoted text is a string; for string keys any text is;
 * otherwise an integer, a float, true/false, or (a type error later) a string. */
static cfg_value parse_text(const cfg_key *k, char *text) {
  cfg_value v = {V_STR, 0, 0, text};
  size_t n = strlen(text);
  if (n >= 2 && (text[0] == '"' || text[0] == '\'') && text[n - 1] == text[0]) {
    text[n - 1] = 0;
    v.s = text + 1;
    return v;
  }
  if (k->type == K_STR || k->type == K_ENUM || k->type == K_ENUM_LIST || !n) return v;
  char *end;
  errno = 0;
  long long i = strtoll(text, &end, 10);
  if (!*end && !errno) {
    v.kind = V_INT;
    v.i = i;
    return v;
  }
  double f = strtod(text, &end);
  if (!*end) {
    v.kind = V_FLOAT;
    v.f = f;
  } else if (!strcmp(text, "true") || !strcmp(text, "false")) {
    v.kind = V_BOOL;
    v.i = text[0] == 't';
  }
  return v;
}

/* Sets key k from text ("3", "0.1", "wco", "[0.01, 0.1]", "wco,uwo"). Not atomic. */
static int set_text(oo_config *cfg, const cfg_key *k, const char *text, const char *where) {
  char buf[1024];
  REQUIRE(strlen(text) < sizeof buf, "%svalue of '%s' is too long", where, k->key);
  snprintf(buf, sizeof buf, "%s", text);
  char *t = trim(buf);
  if (k->type != K_FLOAT_LIST && k->type != K_ENUM_LIST) {
    cfg_value v = parse_text(k, t);
    return set_element(cfg, k, 0, &v, where);
  }
  size_t n = strlen(t);
  if (n >= 2 && ((t[0] == '[' && t[n - 1] == ']') || (t[0] == '(' && t[n - 1] == ')'))) {
    t[n - 1] = 0;
    t = trim(t + 1);
  }
  cfg_value vals[CFG_LIST + 1];
  int count = 0;
  for (char *p = t; *t && p;) { /* counts every element, keeps CFG_LIST + 1 */
    char *comma = strchr(p, ',');
    if (comma) *comma = 0;
    if (count < CFG_LIST + 1) vals[count] = parse_text(k, trim(p));
    count++;
    p = comma ? comma + 1 : NULL;
  }
  return set_list(cfg, k, vals, count, where);
}

static int unknown_key(const char *where, const char *name) {
  const char *near = nearest_known(name);
  if (near) OO_FAIL("%sunknown key '%s' (did you mean '%s'?)", where, name, near);
  OO_FAIL("%sunknown key '%s' (`overopt check --reference` lists every key)", where, name);
}

/* "key=value" -> the config; not atomic (cfg_set is). */
static int set_assignment(oo_config *cfg, const char *assignment, const char *where) {
  const char *eq = strchr(assignment, '=');
  REQUIRE(eq, "%sexpected key=value, e.g. --set rm.k=3", where);
  char name[128];
  REQUIRE((size_t)(eq - assignment) < sizeof name, "%skey is too long", where);
  snprintf(name, sizeof name, "%.*s", (int)(eq - assignment), assignment);
  char *key = trim(name);
  const cfg_key *k = find_key(key);
  if (!k && is_group(key)) {
    for (int i = 0; i < N_KEYS; i++)
      if (!strncmp(SCHEMA[i].key, key, strlen(key)) && SCHEMA[i].key[strlen(key)] == '.')
        OO_FAIL("%s'%s' is a group of keys: set one of them, e.g. '%s'", where, key, SCHEMA[i].key);
  }
  if (!k) return unknown_key(where, key);
  CHECK(set_text(cfg, k, eq + 1, where));
  origin_record(k, "--set");
  return OO_OK;
}

void cfg_defaults(oo_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  memset(g_origin, 0, sizeof g_origin);
  memset(g_origin_sweep, 0, sizeof g_origin_sweep);
  g_origin_path[0] = 0;
  for (int i = 0; i < N_KEYS; i++) {
    if (SCHEMA[i].type == K_SWEEP) continue; /* no axes: zeroed above */
    if (set_text(cfg, &SCHEMA[i], SCHEMA[i].def, "schema default: "))
      OO_FATAL("config schema is broken: %s", oo_error_message());
  }
}

int cfg_set(oo_config *cfg, const char *assignment) {
  char where[320];
  snprintf(where, sizeof where, "--set '%.280s': ", assignment);
  oo_config *tmp = xmalloc(sizeof *tmp);
  memcpy(tmp, cfg, sizeof *tmp);
  int rc = set_assignment(tmp, assignment, where);
  if (!rc) memcpy(cfg, tmp, sizeof *tmp); /* all or nothing */
  xfree(&tmp);
  return rc;
}

/* ---- cross-key checks ------------------------------------------------------------------- */

/* " (file.cfg:12)", " (--set)" or " (default)": where key got its value, when cfg was loaded
 * from path; "" otherwise. Four rotating buffers, so one message can name four keys. */
static const char *at(const char *key, const char *path) {
  static char buf[4][200];
  static int next;
  const cfg_key *k = find_key(key);
  if (!k || !path || strcmp(path, g_origin_path)) return "";
  char *b = buf[next++ % 4];
  const char *o = g_origin[k - SCHEMA];
  if (g_in_sweep_point && g_origin_sweep[k - SCHEMA][0]) o = g_origin_sweep[k - SCHEMA];
  snprintf(b, sizeof buf[0], " (%s)", o[0] ? o : "default");
  return b;
}

/* Returns 1 and a message naming the keys, and where each was set, when cfg breaks a rule
 * between keys. */
static int cross_check(const oo_config *c, const char *path, char *msg, size_t cap) {
  const struct {
    const char *name;
    const cfg_size *s;
  } sizes[] = {{"pretrain.policy", &c->pretrain.policy}, {"gold.size", &c->gold.size}, {"rm.size", &c->rm.size}};
  for (int i = 0; i < 3; i++)
    if (sizes[i].s->d_model % sizes[i].s->n_head) {
      char nh[80], dm[80];
      snprintf(nh, sizeof nh, "%s.n_head", sizes[i].name);
      snprintf(dm, sizeof dm, "%s.d_model", sizes[i].name);
      snprintf(msg, cap, "'%s'%s = %d does not divide '%s'%s = %d: choose a head count that divides d_model", nh,
               at(nh, path), sizes[i].s->n_head, dm, at(dm, path), sizes[i].s->d_model);
      return 1;
    }
  int need = c->prefs.prompt_len + c->prefs.response_len + 2;
  if (need > c->pretrain.n_ctx) {
    snprintf(msg, cap,
             "'prefs.prompt_len'%s + 'prefs.response_len'%s + 2 = %d exceeds 'pretrain.n_ctx'%s = %d (a sequence "
             "is end-of-text, prompt, response, end-of-text): raise pretrain.n_ctx or shorten the prompt or response",
             at("prefs.prompt_len", path), at("prefs.response_len", path), need, at("pretrain.n_ctx", path),
             c->pretrain.n_ctx);
    return 1;
  }
  if (c->ppo.batch % c->ppo.minibatch) {
    snprintf(msg, cap, "'ppo.minibatch'%s = %d does not divide 'ppo.batch'%s = %d", at("ppo.minibatch", path),
             c->ppo.minibatch, at("ppo.batch", path), c->ppo.batch);
    return 1;
  }
  if (c->ppo.member >= c->rm.k) {
    snprintf(msg, cap, "'ppo.member'%s = %d must be below 'rm.k'%s = %d (members are numbered from 0)",
             at("ppo.member", path), c->ppo.member, at("rm.k", path), c->rm.k);
    return 1;
  }
  int own_trunks = 0;
  for (int i = 0; i < c->rm.n_diversity; i++) own_trunks |= !strcmp(c->rm.diversity[i], "pretrain");
  if (own_trunks && strcmp(c->rm.init, "pretrained")) {
    snprintf(msg, cap, "'rm.diversity'%s has \"pretrain\" (each member fine-tunes its own pretrained trunk) but "
             "'rm.init'%s = \"%s\": set rm.init = \"pretrained\", or drop \"pretrain\" from rm.diversity",
             at("rm.diversity", path), at("rm.init", path), c->rm.init);
    return 1;
  }
  if (own_trunks && c->rm.warm) {
    snprintf(msg, cap, "'rm.warm'%s = true averages the members' weights, which is defined only for members that share "
             "an initialization, but 'rm.diversity'%s has \"pretrain\" (a trunk per member): drop one of them",
             at("rm.warm", path), at("rm.diversity", path));
    return 1;
  }
  if (c->rm.warm && strcmp(c->rm.init, "pretrained")) {
    snprintf(msg, cap, "'rm.warm'%s = true averages the members' weights, which is defined only for members that share "
             "an initialization: set 'rm.init'%s = \"pretrained\" (with rm.diversity finetune or bootstrap) or rm.warm = false",
             at("rm.warm", path), at("rm.init", path));
    return 1;
  }
  for (int o = 0; o < c->ppo.n_objectives; o++)
    if (!strcmp(c->ppo.objectives[o], "warm") && !c->rm.warm) {
      snprintf(msg, cap, "'ppo.objectives'%s names \"warm\" but 'rm.warm'%s = false: set rm.warm = true so the rm stage "
               "writes WARM", at("ppo.objectives", path), at("rm.warm", path));
      return 1;
    }
  for (int o = 0; o < c->ppo.n_objectives; o++)
    if (strstr(c->ppo.objectives[o], "laplace") && !c->rm.laplace) {
      snprintf(msg, cap, "'ppo.objectives'%s names \"%s\" but 'rm.laplace'%s = false: set rm.laplace = true so the rm "
               "stage writes the members' Laplace posteriors", at("ppo.objectives", path), c->ppo.objectives[o],
               at("rm.laplace", path));
      return 1;
    }
  if (c->bon.n_samples < 1) {
    snprintf(msg, cap, "'bon.n_samples' = %d must be at least 1", c->bon.n_samples);
    return 1;
  }
  if (!strcmp(c->gold.kind, "checkpoint") && !c->gold.checkpoint[0]) {
    snprintf(msg, cap, "'gold.kind'%s = \"checkpoint\" requires 'gold.checkpoint'%s, the path of a reward checkpoint",
             at("gold.kind", path), at("gold.checkpoint", path));
    return 1;
  }
  if (c->ppo.lr_final > c->ppo.lr) {
    char a[64], b[64];
    format_double(c->ppo.lr_final, a, sizeof a);
    format_double(c->ppo.lr, b, sizeof b);
    snprintf(msg, cap, "'ppo.lr_final'%s = %s exceeds 'ppo.lr'%s = %s: the schedule decays from ppo.lr to ppo.lr_final",
             at("ppo.lr_final", path), a, at("ppo.lr", path), b);
    return 1;
  }
  if (!c->run.name[0] || strchr(c->run.name, '/') || !strcmp(c->run.name, ".") || !strcmp(c->run.name, "..")) {
    snprintf(msg, cap, "'run.name' = \"%s\" must be a directory name (not empty, no '/'); use run.out_dir for the parent",
             c->run.name);
    return 1;
  }
  if (c->run.blas_kernel[0] && !oo_blas_kernel_known(c->run.blas_kernel)) {
    snprintf(msg, cap, "'run.blas_kernel' = \"%s\" is not an OpenBLAS kernel: accepted \"\" (the machine's own) or one of %s",
             c->run.blas_kernel, OO_BLAS_KERNELS);
    return 1;
  }
  const char *nonempty[] = {"run.out_dir", c->run.out_dir, "corpus.path", c->corpus.path, "slurm.time", c->slurm.time,
                            "slurm.launcher", c->slurm.launcher};
  for (int i = 0; i < 8; i += 2)
    if (!nonempty[i + 1][0]) {
      snprintf(msg, cap, "'%s' must not be empty", nonempty[i]);
      return 1;
    }
  if (c->slurm.nodes > 0 && c->slurm.ntasks_per_node > 0 && c->slurm.nodes * c->slurm.ntasks_per_node != c->slurm.ntasks) {
    snprintf(msg, cap, "'slurm.ntasks' = %d but slurm.nodes x slurm.ntasks_per_node = %d x %d = %d: make them agree "
             "(or set one of nodes, ntasks_per_node to 0)", c->slurm.ntasks, c->slurm.nodes, c->slurm.ntasks_per_node,
             c->slurm.nodes * c->slurm.ntasks_per_node);
    return 1;
  }
  return 0;
}

/* Every combination of the sweep's axis values must be a valid config. */
static int check_sweep_points(const oo_config *cfg, const char *path) {
  int n_axes = cfg->sweep.n_axes;
  if (!n_axes) return OO_OK;
  int idx[CFG_MAX_AXES] = {0};
  int rc = OO_OK;
  oo_config *pt = xmalloc(sizeof *pt);
  for (;;) {
    memcpy(pt, cfg, sizeof *pt);
    char point[CFG_MAX_AXES * 140] = "";
    for (int a = 0; a < n_axes && !rc; a++) {
      const cfg_axis *ax = &cfg->sweep.axes[a];
      rc = set_text(pt, find_key(ax->key), ax->values[idx[a]], "sweep: ");
      size_t len = strlen(point);
      snprintf(point + len, sizeof point - len, "%s%s=%s", a ? ", " : "", ax->key, ax->values[idx[a]]);
    }
    char msg[1024];
    g_in_sweep_point = 1;
    int bad = !rc && cross_check(pt, path, msg, sizeof msg);
    g_in_sweep_point = 0;
    if (bad)
      rc = oo_error_at(__FILE__, __LINE__, "%s: sweep point (%s) is invalid: %s", path, point, msg);
    if (rc) break;
    int a = 0;
    while (a < n_axes && ++idx[a] == cfg->sweep.axes[a].n_values) idx[a++] = 0;
    if (a == n_axes) break;
  }
  xfree(&pt);
  return rc;
}

int cfg_validate(const oo_config *cfg, const char *path) {
  char msg[1024];
  if (!path) path = "config";
  if (cross_check(cfg, path, msg, sizeof msg)) OO_FAIL("%s: %s", path, msg);
  CHECK(check_sweep_points(cfg, path));
  return OO_OK;
}

/* ---- loading ------------------------------------------------------------------------------- */

static void where_at(char *out, size_t cap, const char *path, const config_setting_t *s) {
  const char *file = config_setting_source_file(s);
  snprintf(out, cap, "%s:%d: ", file ? file : path, (int)config_setting_source_line(s));
}

static cfg_value value_of(const config_setting_t *s) {
  cfg_value v = {V_LIST, 0, 0, NULL};
  switch (config_setting_type(s)) {
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64: v.kind = V_INT; v.i = config_setting_get_int64(s); break;
  case CONFIG_TYPE_FLOAT: v.kind = V_FLOAT; v.f = config_setting_get_float(s); break;
  case CONFIG_TYPE_STRING: v.kind = V_STR; v.s = config_setting_get_string(s); break;
  case CONFIG_TYPE_BOOL: v.kind = V_BOOL; v.i = config_setting_get_bool(s); break;
  case CONFIG_TYPE_GROUP: v.kind = V_GROUP; break;
  default: break;
  }
  return v;
}

/* sweep.axes = ( { key = "..."; values = [ ... ]; }, ... ); values kept as --set text. */
static int load_sweep(oo_config *cfg, const config_setting_t *axes, const char *path) {
  char where[600];
  where_at(where, sizeof where, path, axes);
  memset(&cfg->sweep, 0, sizeof cfg->sweep);
  int n = config_setting_length(axes);
  REQUIRE(config_setting_is_list(axes) || (config_setting_is_array(axes) && n == 0),
          "%swrong type for 'sweep.axes': expected a list ( { key = \"...\"; values = [...]; }, ... )", where);
  REQUIRE(n <= CFG_MAX_AXES, "%s'sweep.axes' has %d axes: at most %d", where, n, CFG_MAX_AXES);
  oo_config *scratch = xmalloc(sizeof *scratch);
  int rc = OO_OK;
  for (int a = 0; a < n && !rc; a++) {
    const config_setting_t *g = config_setting_get_elem(axes, (unsigned)a);
    cfg_axis *ax = &cfg->sweep.axes[a];
    where_at(where, sizeof where, path, g);
    if (!config_setting_is_group(g)) {
      rc = oo_error_at(__FILE__, __LINE__, "%s'sweep.axes[%d]': expected a group { key = \"...\"; values = [...]; }",
                       where, a);
      break;
    }
    const config_setting_t *key = NULL, *values = NULL;
    for (int i = 0; i < config_setting_length(g) && !rc; i++) {
      const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
      const char *mn = config_setting_name(m);
      if (!strcmp(mn, "key")) {
        key = m;
      } else if (!strcmp(mn, "values")) {
        values = m;
      } else {
        const char *fields[] = {"key", "values"};
        const char *near = oo_nearest_name(mn, fields, 2);
        where_at(where, sizeof where, path, m);
        rc = oo_error_at(__FILE__, __LINE__, "%sunknown key 'sweep.axes[%d].%s' (an axis has 'key' and 'values'%s%s%s)",
                         where, a, mn, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
      }
    }
    if (rc) break;
    if (!key || !values || config_setting_type(key) != CONFIG_TYPE_STRING) {
      rc = oo_error_at(__FILE__, __LINE__, "%s'sweep.axes[%d]' needs key = \"section.name\" (a string) and values = [...]",
                       where, a);
      break;
    }
    const char *kn = config_setting_get_string(key);
    where_at(where, sizeof where, path, key);
    const cfg_key *k = find_key(kn);
    if (!k) {
      rc = unknown_key(where, kn);
      break;
    }
    if (k->type == K_SWEEP) {
      rc = oo_error_at(__FILE__, __LINE__, "%sa sweep axis cannot sweep 'sweep.axes'", where);
      break;
    }
    if (!strcmp(kn, "run.blas_kernel")) { /* chosen once per process, before MPI_Init */
      rc = oo_error_at(__FILE__, __LINE__, "%s'run.blas_kernel' cannot be a sweep axis: OpenBLAS picks its kernel "
                       "once per process; run one sweep per kernel", where);
      break;
    }
    for (int b = 0; b < a && !rc; b++)
      if (!strcmp(cfg->sweep.axes[b].key, kn))
        rc = oo_error_at(__FILE__, __LINE__, "%s'%s' is swept by two axes: merge their values", where, kn);
    if (rc) break;
    snprintf(ax->key, sizeof ax->key, "%s", kn);
    origin_record_in(g_origin_sweep, k, where);
    where_at(where, sizeof where, path, values);
    int nv = config_setting_length(values);
    if (!config_setting_is_array(values) && !config_setting_is_list(values)) {
      rc = oo_error_at(__FILE__, __LINE__, "%swrong type for 'sweep.axes[%d].values': expected a list [v1, v2, ...]",
                       where, a);
      break;
    }
    if (nv < 1 || nv > CFG_MAX_VALUES) {
      rc = oo_error_at(__FILE__, __LINE__, "%s'sweep.axes[%d].values' has %d values: accepted 1 to %d", where, a, nv,
                       CFG_MAX_VALUES);
      break;
    }
    for (int i = 0; i < nv && !rc; i++) {
      cfg_value v = value_of(config_setting_get_elem(values, (unsigned)i));
      char *text = ax->values[i];
      if (v.kind == V_INT && k->type == K_FLOAT)
        format_double((double)v.i, text, sizeof ax->values[i]);
      else if (v.kind == V_INT)
        snprintf(text, sizeof ax->values[i], "%lld", v.i);
      else if (v.kind == V_FLOAT)
        format_double(v.f, text, sizeof ax->values[i]);
      else if (v.kind == V_STR && strlen(v.s) < sizeof ax->values[i])
        snprintf(text, sizeof ax->values[i], "%s", v.s);
      else {
        char got[320];
        value_desc(&v, got, sizeof got);
        rc = oo_error_at(__FILE__, __LINE__, "%s'sweep.axes[%d].values[%d]': expected a number or a string of at most "
                         "63 bytes, got %s", where, a, i, got);
        break;
      }
      /* validate like --set on a scratch copy */
      char w2[800];
      snprintf(w2, sizeof w2, "%ssweep axis '%s', value %s: ", where, kn, text);
      memcpy(scratch, cfg, sizeof *scratch);
      rc = set_text(scratch, k, text, w2);
      for (int j = 0; j < i && !rc; j++)
        if (!strcmp(ax->values[j], text))
          rc = oo_error_at(__FILE__, __LINE__, "%ssweep axis '%s' lists the value %s twice", where, kn, text);
    }
    ax->n_values = nv;
    cfg->sweep.n_axes = a + 1;
  }
  xfree(&scratch);
  return rc;
}

static int walk_group(oo_config *cfg, const config_setting_t *group, const char *prefix, const char *path) {
  for (int i = 0; i < config_setting_length(group); i++) {
    const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
    char name[256], where[600];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", config_setting_name(s));
    where_at(where, sizeof where, path, s);
    const cfg_key *k = find_key(name);
    cfg_value v = value_of(s);
    if (!k && is_group(name)) {
      if (v.kind != V_GROUP) {
        char got[320];
        value_desc(&v, got, sizeof got);
        OO_FAIL("%swrong type for '%s': expected a group %s = { ... };, got %s", where, name,
                config_setting_name(s), got);
      }
      CHECK(walk_group(cfg, s, name, path));
    } else if (!k) {
      return unknown_key(where, name);
    } else if (k->type == K_SWEEP) {
      CHECK(load_sweep(cfg, s, path));
    } else if ((k->type == K_FLOAT_LIST || k->type == K_ENUM_LIST) && v.kind == V_LIST) {
      origin_record(k, where);
      cfg_value vals[CFG_LIST];
      int n = config_setting_length(s);
      REQUIRE(n >= 1 && n <= CFG_LIST, "%s'%s' has %d values: accepted 1 to %d values", where, name, n, CFG_LIST);
      for (int j = 0; j < n; j++) vals[j] = value_of(config_setting_get_elem(s, (unsigned)j));
      CHECK(set_list(cfg, k, vals, n, where));
    } else if (k->type == K_FLOAT_LIST || k->type == K_ENUM_LIST) {
      CHECK(set_list(cfg, k, &v, 1, where)); /* a scalar is a list of one */
      origin_record(k, where);
    } else {
      CHECK(set_element(cfg, k, 0, &v, where));
      origin_record(k, where);
    }
  }
  return OO_OK;
}

/* libconfig 1.5 reads a decimal literal without an L suffix as a 32-bit int and wraps it
 * (n_ctx = 4294967344 would read as 48). widen_literals returns a copy of the config text with
 * an L appended to every integer literal outside the int range, so libconfig reads it as a
 * 64-bit integer and set_element's range check names the key, the line and the range.
 * Literals beyond 64 bits are an error here. Strings and comments are skipped. The caller frees
 * the copy. Files pulled in with @include are not rewritten, only checked (rewrite = 0:
 * any literal that would wrap is an error naming the file and line). */
static int widen_literals(const char *text, const char *file, int rewrite, char **out) {
  size_t n = strlen(text);
  char *o = rewrite ? xmalloc(2 * n + 1) : NULL; /* at most one L per byte */
  size_t j = 0;
  int line = 1;
  char last_name[64] = "";
  for (size_t i = 0; i < n;) {
    char c = text[i];
    size_t start = i;
    if (c == '"') { /* string: copy through the closing quote */
      for (i++; i < n && text[i] != '"'; i++) {
        if (text[i] == '\\' && i + 1 < n) i++;
        if (text[i] == '\n') line++;
      }
      i += i < n;
    } else if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
      while (i < n && text[i] != '\n') i++;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      for (i += 2; i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/'); i++) line += text[i] == '\n';
      i = i + 2 < n ? i + 2 : n;
    } else if (c == '@') { /* @include "file" */
      while (i < n && text[i] != '\n') i++;
    } else if (isalpha((unsigned char)c) || c == '_' || c == '*') { /* a name: may hold digits */
      while (i < n && (isalnum((unsigned char)text[i]) || strchr("_*-", text[i]))) i++;
      snprintf(last_name, sizeof last_name, "%.*s", (int)(i - start), text + start);
    } else if (isdigit((unsigned char)c)) {
      int hex = c == '0' && i + 1 < n && (text[i + 1] == 'x' || text[i + 1] == 'X');
      i += hex ? 2 : 0;
      while (i < n && (hex ? isxdigit((unsigned char)text[i]) : isdigit((unsigned char)text[i]))) i++;
      int is_float = !hex && i < n && strchr(".eE", text[i]);
      if (is_float) {
        while (i < n && (isalnum((unsigned char)text[i]) || strchr(".+-", text[i]))) i++;
      } else if (i >= n || text[i] != 'L') {
        errno = 0;
        unsigned long long v = strtoull(text + start, NULL, hex ? 16 : 10);
        if (errno == ERANGE || v > (unsigned long long)LLONG_MAX) {
          xfree(&o);
          OO_FAIL("%s:%d: '%s' = %.*s does not fit a 64-bit integer; see `overopt check --reference` for the "
                  "accepted range", file, line, last_name, (int)(i - start), text + start);
        }
        if (v > (unsigned long long)INT_MAX) {
          if (!rewrite)
            OO_FAIL("%s:%d: '%s' = %.*s does not fit a 32-bit integer (libconfig would read it wrapped); see "
                    "`overopt check --reference` for the accepted range", file, line, last_name,
                    (int)(i - start), text + start);
          memcpy(o + j, text + start, i - start);
          j += i - start;
          o[j++] = 'L';
          continue;
        }
      }
    } else {
      line += c == '\n';
      i++;
    }
    if (o) {
      memcpy(o + j, text + start, i - start);
      j += i - start;
    }
  }
  if (o) {
    o[j] = 0;
    *out = o;
  }
  return OO_OK;
}

/* Reads a whole file into a NUL-terminated buffer (xfree it). */
static int read_text(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  REQUIRE(f, "cannot read config file '%s': %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n + 1 < cap || feof(f) || ferror(f)) break;
    REQUIRE(cap < ((size_t)16 << 20), "config file '%s' is larger than 16 MiB: is it a config?", path);
    cap *= 2;
    buf = xrealloc(buf, cap);
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    xfree(&buf);
    OO_FAIL("cannot read config file '%s'", path);
  }
  buf[n] = 0;
  *out = buf;
  return OO_OK;
}

/* Checks that every @include'd file of text (the contents of path; includes resolve relative to
 * dir) can be read and holds no integer literal that would wrap. */
static int check_includes(const char *text, const char *path, const char *dir, int depth) {
  REQUIRE(depth < 10, "config @include nesting is deeper than 10 (an include loop?)");
  for (const char *p = strstr(text, "@include"); p; p = strstr(p + 1, "@include")) {
    const char *q = strchr(p, '"');
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (!e) continue; /* libconfig reports the syntax error */
    char inc[1024];
    if (q[1] == '/' || !dir[0])
      snprintf(inc, sizeof inc, "%.*s", (int)(e - q - 1), q + 1);
    else
      snprintf(inc, sizeof inc, "%s/%.*s", dir, (int)(e - q - 1), q + 1);
    char *t = NULL;
    if (read_text(inc, &t)) { /* libconfig would only say "cannot open include file" */
      int line = 1;
      for (const char *c = text; c < p; c++) line += *c == '\n';
      oo_error_clear();
      OO_FAIL("%s:%d: cannot read the included file '%s': %s", path, line, inc, strerror(errno));
    }
    int rc = widen_literals(t, inc, 0, NULL);
    if (!rc) rc = check_includes(t, inc, dir, depth + 1);
    xfree(&t);
    CHECK(rc);
  }
  return OO_OK;
}

int cfg_load(oo_config *cfg, const char *path) {
  cfg_defaults(cfg);
  snprintf(g_origin_path, sizeof g_origin_path, "%s", path);
  char *raw = NULL, *text = NULL;
  CHECK(read_text(path, &raw));
  int wrc = widen_literals(raw, path, 1, &text);
  xfree(&raw);
  CHECK(wrc);
  config_t lc;
  config_init(&lc);
  /* @include "base.cfg" resolves next to the including file */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = 0;
    config_set_include_dir(&lc, dir);
  } else {
    dir[0] = 0;
  }
  wrc = check_includes(text, path, dir, 0);
  int read_ok = !wrc && config_read_string(&lc, text);
  xfree(&text);
  if (wrc) {
    config_destroy(&lc);
    return oo_error_trace(wrc, __FILE__, __LINE__);
  }
  if (!read_ok) {
    const char *file = config_error_file(&lc);
    int rc = config_error_type(&lc) == CONFIG_ERR_FILE_IO
                 ? oo_error_at(__FILE__, __LINE__, "cannot read config file '%s': %s", file ? file : path,
                               config_error_text(&lc))
                 : oo_error_at(__FILE__, __LINE__, "%s:%d: syntax error%s%s%s", file ? file : path,
                               config_error_line(&lc),
                               strcmp(config_error_text(&lc), "syntax error") ? ": " : "",
                               strcmp(config_error_text(&lc), "syntax error") ? config_error_text(&lc) : "",
                               strstr(config_error_text(&lc), "mismatched element type")
                                   ? " (an array [...] holds one type: write 1.0, not 1, among floats)"
                                   : "");
    config_destroy(&lc);
    return rc;
  }
  int rc = walk_group(cfg, config_root_setting(&lc), "", path);
  config_destroy(&lc);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  CHECK(cfg_validate(cfg, path));
  return OO_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

#define VALUE_CAP 8192 /* fits the longest value: 6 sweep axes of 8 values */

/* The dotted components of a key ("rm.size.d_model" -> rm, size, d_model); returns the count. */
static int key_components(const char *key, char comps[4][64]) {
  int nc = 0;
  for (const char *p = key; *p && nc < 4; nc++) {
    size_t len = strcspn(p, ".");
    snprintf(comps[nc], sizeof comps[nc], "%.*s", (int)len, p);
    p += len + (p[len] == '.');
  }
  return nc;
}

/* How many of the depth groups open while writing (open[]) are also groups of this key. */
static int groups_in_common(char open[4][64], int depth, char comps[4][64], int nc) {
  int common = 0;
  while (common < depth && common < nc - 1 && !strcmp(open[common], comps[common])) common++;
  return common;
}

int cfg_write(const oo_config *cfg, FILE *out) {
  char open[4][64]; /* the groups currently open */
  int depth = 0;
  char *value = xmalloc(VALUE_CAP);
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &SCHEMA[i];
    char comps[4][64];
    int nc = key_components(k->key, comps);
    int common = groups_in_common(open, depth, comps, nc);
    while (depth > common) fprintf(out, "%*s};\n", 2 * --depth, "");
    while (depth < nc - 1) {
      if (depth == 0 && i) fprintf(out, "\n");
      fprintf(out, "%*s%s = {\n", 2 * depth, "", comps[depth]);
      memcpy(open[depth], comps[depth], sizeof open[depth]);
      depth++;
    }
    format_value(cfg, k, value, VALUE_CAP);
    fprintf(out, "%*s%s = %s;\n", 2 * depth, "", comps[nc - 1], value);
  }
  while (depth > 0) fprintf(out, "%*s};\n", 2 * --depth, "");
  xfree(&value);
  REQUIRE(!ferror(out), "cannot write the config: %s", strerror(errno));
  return OO_OK;
}

/* A JSON string: '"' and '\\' escaped, control bytes as \u00XX. */
static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

/* The value of key k as JSON: numbers as cfg_write writes them (valid JSON), strings escaped for
 * JSON, sweep axes as [{"key": ..., "values": [...]}] with each value as its --set text. */
static void json_value(FILE *out, const oo_config *cfg, const cfg_key *k, char *value) {
  const char *base = (const char *)cfg + k->off;
  int n = k->count_off ? *(const int *)((const char *)cfg + k->count_off) : 0;
  switch (k->type) {
  case K_STR:
  case K_ENUM: json_string(out, base); break;
  case K_ENUM_LIST:
    fputc('[', out);
    for (int i = 0; i < n; i++) fputs(i ? ", " : "", out), json_string(out, base + (size_t)i * k->size);
    fputc(']', out);
    break;
  case K_SWEEP:
    fputc('[', out);
    for (int a = 0; a < cfg->sweep.n_axes; a++) {
      const cfg_axis *ax = &cfg->sweep.axes[a];
      fprintf(out, "%s{\"key\": ", a ? ", " : "");
      json_string(out, ax->key);
      fputs(", \"values\": [", out);
      const cfg_key *ak = find_key(ax->key); /* numbers stay numbers, as in cfg_write */
      for (int v = 0; v < ax->n_values; v++) {
        fputs(v ? ", " : "", out);
        if (ak && (ak->type == K_INT || ak->type == K_FLOAT)) fputs(ax->values[v], out);
        else json_string(out, ax->values[v]);
      }
      fputs("]}", out);
    }
    fputc(']', out);
    break;
  default: /* K_INT, K_FLOAT, K_FLOAT_LIST */
    format_value(cfg, k, value, VALUE_CAP);
    fputs(value, out);
  }
}

int cfg_write_json(const oo_config *cfg, FILE *out) {
  char open[4][64]; /* the objects currently open, as in cfg_write */
  int depth = 0;
  char *value = xmalloc(VALUE_CAP);
  fputc('{', out);
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &SCHEMA[i];
    char comps[4][64];
    int nc = key_components(k->key, comps);
    int common = groups_in_common(open, depth, comps, nc);
    while (depth > common) fprintf(out, "\n%*s}", 2 * depth--, "");
    if (i) fputc(',', out); /* whatever follows has a sibling before it at this depth */
    while (depth < nc - 1) {
      fprintf(out, "\n%*s", 2 * (depth + 1), "");
      json_string(out, comps[depth]);
      fputs(": {", out);
      memcpy(open[depth], comps[depth], sizeof open[depth]);
      depth++;
    }
    fprintf(out, "\n%*s", 2 * (depth + 1), "");
    json_string(out, comps[nc - 1]);
    fputs(": ", out);
    json_value(out, cfg, k, value);
  }
  while (depth > 0) fprintf(out, "\n%*s}", 2 * depth--, "");
  fputs("\n}\n", out);
  xfree(&value);
  REQUIRE(!ferror(out), "cannot write the config as JSON: %s", strerror(errno));
  return OO_OK;
}

char *cfg_to_string(const oo_config *cfg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) OO_FATAL("open_memstream failed: %s", strerror(errno));
  if (cfg_write(cfg, f)) OO_FATAL("%s", oo_error_message());
  fclose(f);
  char *s = xstrdup(buf);
  free(buf); /* allocated by open_memstream, not xmalloc */
  return s;
}

int cfg_reference(FILE *out) {
  oo_config *def = xmalloc(sizeof *def);
  cfg_defaults(def);
  char *value = xmalloc(VALUE_CAP);
  char acc[200];
  fprintf(out, "| key | type | default | accepted | description |\n");
  fprintf(out, "|---|---|---|---|---|\n");
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &SCHEMA[i];
    format_value(def, k, value, VALUE_CAP);
    accepted_text(k, acc, sizeof acc);
    fprintf(out, "| `%s` | %s | `%s` | %s | ", k->key, type_name(k->type), value, acc);
    for (const char *d = k->doc; *d; d++) {
      if (*d == '|') fputc('\\', out); /* a bare | would end the table cell */
      fputc(*d, out);
    }
    fprintf(out, " |\n");
  }
  xfree(&value);
  xfree(&def);
  REQUIRE(!ferror(out), "cannot write the config reference: %s", strerror(errno));
  return OO_OK;
}

uint64_t cfg_hash(const oo_config *cfg, const char *const *prefixes) {
  uint64_t h = 0;
  char *line = xmalloc(VALUE_CAP + 128);
  char *value = xmalloc(VALUE_CAP);
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &SCHEMA[i];
    int match = !prefixes;
    for (const char *const *p = prefixes; p && *p && !match; p++) match = !strncmp(k->key, *p, strlen(*p));
    if (!match) continue;
    format_value(cfg, k, value, VALUE_CAP);
    int n = snprintf(line, VALUE_CAP + 128, "%s = %s\n", k->key, value);
    h = oo_hash_bytes(line, (size_t)n, h);
  }
  xfree(&line);
  xfree(&value);
  return h;
}

void cfg_size_name(const cfg_size *s, char *out, int cap) {
  snprintf(out, (size_t)(cap > 0 ? cap : 0), "d%dL%dH%d", s->d_model, s->n_layer, s->n_head);
}

/* ---- sweep axes --------------------------------------------------------------------------- */

int cfg_sweep_points(const oo_config *cfg) {
  if (cfg->sweep.n_axes == 0) return 0;
  int n = 1;
  for (int a = 0; a < cfg->sweep.n_axes; a++) n *= cfg->sweep.axes[a].n_values;
  return n;
}

int cfg_sweep_point_sets(const oo_config *cfg, int i, char sets[][160], int cap) {
  int stride = cfg_sweep_points(cfg), na = cfg->sweep.n_axes < cap ? cfg->sweep.n_axes : cap;
  for (int a = 0; a < na; a++) {
    const cfg_axis *ax = &cfg->sweep.axes[a];
    stride /= ax->n_values;
    snprintf(sets[a], 160, "%s=%s", ax->key, ax->values[(i / stride) % ax->n_values]);
  }
  return na;
}
