/* User tools that apply a checkpoint to text (DESIGN.md "Command line"):
 *   overopt sample  --model F --prompt TEXT [-n N] [--temperature T] [--top-p P] [--top-k K]
 *                   [--max-tokens M] [--seed S]
 *   overopt logprob --model F --text FILE     (FILE - reads standard input)
 *   overopt score   --model F --text FILE [--uwo-lambda L]
 * Not collective: main runs them on rank 0. Each prints its own error to stderr and returns
 * the exit code (0, 1 on a runtime error, 2 on a usage error). Output is TSV on stdout with a
 * header row whose first column is `index`, the 0-based line (or sample) number, and whose names
 * carry units (logprob_nats: natural log; bytes: the line's length, one token a byte); text is
 * escaped (\t \n \\ and other non-printable bytes as \xHH) so every record is one line.
 * Every sequence is [256, bytes...] (DESIGN.md "Sequences"): logprob sums log p(byte) over the
 * line's bytes, score reads the reward at the last position. Input lines are split at '\n'
 * (the '\n' itself is not part of the line); a line may hold any other byte.
 * score on an ensemble file (rm.h5 of the rm stage: root attribute k, groups member_<m>) prints
 * one column per member and the objectives mean, wco and uwo_<lambda> (score_ensemble).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "io/config.h"
#include "model/gpt.h"
#include "rlhf/rlhf.h"

#define TOOLS_BATCH 16        /* lines per forward pass in logprob/score */
#define TOOLS_SAMPLE_BATCH 64 /* sequences per gpt_generate call */

/* ---- command-line parsing ------------------------------------------------------------------ */

static const oo_option sample_opts[] = {
    {"--model", NULL, OPT_VALUE, "FILE", NULL, 1, "LM checkpoint (lm_<size>.h5 of a run, or a PPO policy)"},
    {"--prompt", NULL, OPT_VALUE, "TEXT", NULL, 1, "prompt bytes (an empty prompt is --prompt '')"},
    {"--samples", "-n", OPT_VALUE, "N", "1", 0, "samples to draw"},
    {"--temperature", NULL, OPT_VALUE, "T", "1", 0, "sampling temperature (> 0)"},
    {"--top-p", NULL, OPT_VALUE, "P", "1", 0, "nucleus mass in (0, 1], 1 = off"},
    {"--top-k", NULL, OPT_VALUE, "K", "0", 0, "keep the K most likely bytes, 0 = off"},
    {"--max-tokens", NULL, OPT_VALUE, "M", "what the context leaves", 0, "bytes generated at most per sample (more than the context leaves is an error)"},
    {"--seed", NULL, OPT_VALUE, "S", "1", 0, "sample i draws from the stream (S, i): output does not depend on -n"},
};
static const oo_option logprob_opts[] = {
    {"--model", NULL, OPT_VALUE, "FILE", NULL, 1, "LM checkpoint"},
    {"--text", NULL, OPT_VALUE, "FILE", NULL, 1, "one sequence per line; - reads standard input"},
};
static const oo_option score_opts[] = {
    {"--model", NULL, OPT_VALUE, "FILE", NULL, 1, "reward checkpoint, or an ensemble (rm.h5 of a run: every member)"},
    {"--text", NULL, OPT_VALUE, "FILE", NULL, 1, "one sequence per line; - reads standard input"},
    {"--uwo-lambda", NULL, OPT_VALUE, "L", "0.5", 0, "variance penalty of the uwo column (ensembles only)"},
};
const oo_cmd_spec cmd_sample_spec = {
    "sample", "sample from an LM checkpoint (TSV: index, text; index from 0)",
    "overopt sample --model runs/quickstart/lm_d128L4H4.h5 --prompt 'Q: ' -n 4 --top-p 0.9", sample_opts,
    OO_N_OPTS(sample_opts), cmd_sample, 0};
const oo_cmd_spec cmd_logprob_spec = {
    "logprob", "log-probability of each line of a text file under an LM checkpoint (TSV: index, logprob_nats, bytes)",
    "printf 'hello\\n' | overopt logprob --model runs/quickstart/lm_d128L4H4.h5 --text -", logprob_opts,
    OO_N_OPTS(logprob_opts), cmd_logprob, 0};
const oo_cmd_spec cmd_score_spec = {
    "score", "reward of each line under a reward checkpoint or every member of an ensemble (TSV, index from 0)",
    "overopt score --model runs/quickstart/rm.h5 --text lines.txt --uwo-lambda 0.1", score_opts,
    OO_N_OPTS(score_opts), cmd_score, 0};

typedef struct {
  const char *cmd;       /* command name, for messages */
  const char *model;     /* --model */
  const char *prompt;    /* --prompt (sample) */
  const char *text;      /* --text FILE (logprob, score); "-" = standard input */
  long n;                /* -n samples */
  double temperature;    /* --temperature */
  double top_p;          /* --top-p */
  long top_k;            /* --top-k */
  long max_tokens;       /* --max-tokens */
  long seed;             /* --seed */
  double uwo_lambda;     /* --uwo-lambda (score on an ensemble); NAN = not given */
  int uwo_given;         /* 1 if --uwo-lambda was on the command line */
} tool_args;

/* Parses and range-checks the arguments of one tool; a failure is a usage error (exit 2). */
static int parse_tool_args(const oo_cmd_spec *spec, tool_args *t, int argc, char **argv) {
  oo_args a;
  memset(t, 0, sizeof *t);
  t->cmd = spec->name;
  CHECK(opts_parse(spec, argc, argv, &a));
  t->model = opt_str(&a, "--model");
  if (spec == &cmd_sample_spec) {
    t->prompt = opt_str(&a, "--prompt");
    CHECK(opt_long(&a, "-n", 1, 1000000, &t->n));
    CHECK(opt_double(&a, "--temperature", 1e-6, 1e6, &t->temperature));
    CHECK(opt_double(&a, "--top-p", 1e-9, 1.0, &t->top_p));
    CHECK(opt_long(&a, "--top-k", 0, GPT_VOCAB, &t->top_k));
    t->max_tokens = -1; /* not given: what the context leaves after the prompt */
    CHECK(opt_long(&a, "--max-tokens", 0, 1L << 30, &t->max_tokens));
    CHECK(opt_long(&a, "--seed", 0, 0x7fffffffffffffffL, &t->seed));
  } else {
    t->text = opt_str(&a, "--text");
  }
  if (spec == &cmd_score_spec) {
    CHECK(opt_double(&a, "--uwo-lambda", 0.0, 1e6, &t->uwo_lambda));
    t->uwo_given = opt_given(&a, "--uwo-lambda") > 0;
  }
  return OO_OK;
}

/* ---- text ---------------------------------------------------------------------------------- */

/* Prints bytes with \t \n \\ escaped and other non-printable bytes as \xHH. */
static void print_escaped(FILE *f, const int *tokens, int n) {
  for (int i = 0; i < n; i++) {
    int c = tokens[i];
    if (c == '\t') fputs("\\t", f);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\\') fputs("\\\\", f);
    else if (c >= 0x20 && c < 0x7f) fputc(c, f);
    else fprintf(f, "\\x%02X", c & 0xff);
  }
}

/* The lines of a text file: data owns the bytes, line i is data[start[i] .. start[i]+len[i]). */
typedef struct {
  char *data;   /* file contents */
  long *start;  /* (n) offset of each line */
  int *len;     /* (n) bytes of each line, without '\n' */
  int n;        /* number of lines */
} text_lines;

static void text_lines_free(text_lines *t) {
  xfree(&t->data);
  xfree(&t->start);
  xfree(&t->len);
  t->n = 0;
}

/* Reads FILE and splits it at '\n' (a final '\n' ends the last line rather than starting an
 * empty one). Every line must fit the context: 1 + len <= n_ctx. */
static int text_lines_read(text_lines *t, const char *cmd, const char *path, int n_ctx) {
  memset(t, 0, sizeof *t);
  int is_stdin = !strcmp(path, "-");
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  REQUIRE(f, "%s: cannot open text file '%s': %s", cmd, path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  t->data = xmalloc(cap);
  for (;;) {
    if (n == cap) t->data = xrealloc(t->data, cap *= 2);
    size_t got = fread(t->data + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  if (!is_stdin) fclose(f);
  if (bad) {
    text_lines_free(t);
    OO_FAIL("%s: error reading text file '%s'", cmd, path);
  }
  long n_lines = 0;
  for (size_t i = 0; i < n; i++) n_lines += t->data[i] == '\n';
  if (n > 0 && t->data[n - 1] != '\n') n_lines++;
  t->start = xmalloc((size_t)(n_lines ? n_lines : 1) * sizeof *t->start);
  t->len = xmalloc((size_t)(n_lines ? n_lines : 1) * sizeof *t->len);
  size_t s = 0;
  for (size_t i = 0; i <= n && t->n < n_lines; i++) {
    if (i == n || t->data[i] == '\n') {
      size_t len = i - s;
      if (len + 1 > (size_t)n_ctx) {
        int line = t->n + 1;
        text_lines_free(t);
        OO_FAIL("%s: '%s' line %d has %zu bytes; the model's context (n_ctx=%d) holds at most %d bytes "
                "after the start token: shorten or split the line",
                cmd, path, line, len, n_ctx, n_ctx - 1);
      }
      t->start[t->n] = (long)s;
      t->len[t->n] = (int)len;
      t->n++;
      s = i + 1;
    }
  }
  return OO_OK;
}

/* Fills tokens (B,Tb) with [256, bytes of line first+b, 256 padding...]; returns Tb, the
 * longest sequence of the batch. Padding follows each line, so causal attention never sees it. */
static int batch_tokens(const text_lines *t, int first, int B, int *tokens) {
  int Tb = 1;
  for (int b = 0; b < B; b++) Tb = t->len[first + b] + 1 > Tb ? t->len[first + b] + 1 : Tb;
  for (int b = 0; b < B; b++) {
    const unsigned char *s = (const unsigned char *)t->data + t->start[first + b];
    int *row = tokens + (size_t)b * Tb;
    row[0] = GPT_EOT;
    for (int j = 0; j < Tb - 1; j++) row[j + 1] = j < t->len[first + b] ? s[j] : GPT_EOT;
  }
  return Tb;
}

/* ---- sample ---------------------------------------------------------------------------------- */

static int sample_run(const tool_args *args) {
  const tool_args a = *args;
  gpt m;
  CHECK(gpt_load(&m, a.model, GPT_LM));
  int rc = OO_OK;
  int Tp = 1 + (int)strlen(a.prompt);
  int B = a.n < TOOLS_SAMPLE_BATCH ? (int)a.n : TOOLS_SAMPLE_BATCH;
  int max_new = (int)a.max_tokens;
  gpt_kvcache kv = {0};
  int *prompt = NULL, *out = NULL, *len = NULL;
  oo_rng *rng = NULL;
  if (Tp >= m.d.T) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "sample: the prompt has %d bytes but model '%s' has context n_ctx=%d, which leaves no room "
                     "for a response: use a prompt of at most %d bytes",
                     Tp - 1, a.model, m.d.T, m.d.T - 2);
    goto done;
  }
  if (max_new < 0) max_new = m.d.T - Tp;
  if (max_new > m.d.T - Tp) { /* once clamped silently, after allocating by it (#12) */
    rc = oo_error_at(__FILE__, __LINE__,
                     "sample: --max-tokens %d does not fit: model '%s' has context n_ctx=%d and the prompt takes %d "
                     "(with its end-of-text), which leaves at most %d new tokens",
                     max_new, a.model, m.d.T, Tp, m.d.T - Tp);
    goto done;
  }
  CHECK_GOTO(rc, gpt_kv_create(&kv, &m, B), done);
  prompt = xmalloc((size_t)B * Tp * sizeof *prompt);
  out = xmalloc((size_t)B * (max_new ? max_new : 1) * sizeof *out);
  len = xmalloc((size_t)B * sizeof *len);
  rng = xmalloc((size_t)B * sizeof *rng);
  for (int b = 0; b < B; b++) {
    prompt[(size_t)b * Tp] = GPT_EOT;
    for (int j = 1; j < Tp; j++) prompt[(size_t)b * Tp + j] = (unsigned char)a.prompt[j - 1];
  }
  gpt_sample_opts o = {.temperature = (float)a.temperature, .top_p = (float)a.top_p, .top_k = (int)a.top_k,
                       .max_new = max_new, .stop_at_eot = 1};
  printf("index\ttext\n");
  for (long first = 0; first < a.n; first += B) {
    int nb = a.n - first < B ? (int)(a.n - first) : B;
    /* Sample i's stream depends only on (seed, i): the output does not depend on batching. */
    for (int b = 0; b < nb; b++) rng[b] = oo_rng_make((uint64_t)a.seed, RNG_SAMPLE, 0, (uint64_t)(first + b));
    CHECK_GOTO(rc, gpt_generate(&m, &kv, prompt, Tp, nb, &o, rng, out, len, NULL), done);
    for (int b = 0; b < nb; b++) {
      int n = len[b];
      if (n > 0 && out[(size_t)b * max_new + n - 1] == GPT_EOT) n--; /* end-of-text is not text */
      printf("%ld\t", first + b);
      print_escaped(stdout, out + (size_t)b * max_new, n);
      putchar('\n');
    }
  }
  fflush(stdout);
done:
  xfree(&prompt);
  xfree(&out);
  xfree(&len);
  xfree(&rng);
  if (kv.k) gpt_kv_free(&kv);
  gpt_free(&m);
  return rc;
}

/* ---- logprob ------------------------------------------------------------------------------ */

static int logprob_run(const tool_args *args) {
  const tool_args a = *args;
  gpt m;
  CHECK(gpt_load(&m, a.model, GPT_LM));
  text_lines t;
  int rc = text_lines_read(&t, "logprob", a.text, m.d.T);
  if (rc) {
    gpt_free(&m);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  int V = m.d.V, Tmax = 1;
  for (int i = 0; i < t.n; i++) Tmax = t.len[i] + 1 > Tmax ? t.len[i] + 1 : Tmax;
  int Bmax = t.n < TOOLS_BATCH ? (t.n ? t.n : 1) : TOOLS_BATCH;
  size_t N = (size_t)Bmax * Tmax;
  int *tokens = xmalloc(N * sizeof *tokens), *targets = xmalloc(N * sizeof *targets);
  float *logp = xmalloc(N * sizeof *logp), *ent = xmalloc(N * sizeof *ent);
  gpt_reserve(&m, Bmax, Tmax);
  printf("index\tlogprob_nats\tbytes\n"); /* natural log, summed over the line's bytes */
  for (int first = 0; first < t.n; first += Bmax) {
    int B = t.n - first < Bmax ? t.n - first : Bmax;
    int Tb = batch_tokens(&t, first, B, tokens);
    /* target of position j is token j+1 within the line; padding and the last position: -1 */
    for (int b = 0; b < B; b++)
      for (int j = 0; j < Tb; j++)
        targets[(size_t)b * Tb + j] = j < t.len[first + b] ? tokens[(size_t)b * Tb + j + 1] : -1;
    gpt_forward(&m, tokens, B, Tb);
    gpt_logprobs(gpt_logits(&m), targets, B * Tb, V, logp, ent);
    for (int b = 0; b < B; b++) {
      double sum = 0.0;
      for (int j = 0; j < t.len[first + b]; j++) sum += logp[(size_t)b * Tb + j];
      printf("%d\t%.9g\t%d\n", first + b, sum, t.len[first + b]);
    }
  }
  fflush(stdout);
  xfree(&tokens);
  xfree(&targets);
  xfree(&logp);
  xfree(&ent);
  text_lines_free(&t);
  gpt_free(&m);
  return OO_OK;
}

/* ---- score --------------------------------------------------------------------------------- */

/* The reward models a score file names: one reward checkpoint today (K = 1). An ensemble file
 * plugs in here by loading its K members; scoring and printing already handle K columns. */
typedef struct {
  int K;        /* members */
  gpt *members; /* (K) reward models, calibrated by their own reward_shift/reward_scale */
} reward_set;

static int reward_set_load(reward_set *s, const char *path) {
  s->K = 1;
  s->members = xcalloc(1, sizeof *s->members);
  int rc = gpt_load(&s->members[0], path, GPT_REWARD);
  if (rc) {
    xfree(&s->members);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

static void reward_set_free(reward_set *s) {
  for (int k = 0; k < s->K; k++) gpt_free(&s->members[k]);
  xfree(&s->members);
  s->K = 0;
}

/* ---- score: ensembles ---------------------------------------------------------------------- */

/* 1 if path opens as HDF5 and its root has attribute k (an ensemble written by the rm stage).
 * 0 otherwise, also when it does not open: the single-model path reports that. */
static int is_ensemble_file(const char *path) {
  h5_reader r;
  if (h5_open(&r, path)) {
    oo_error_clear();
    return 0;
  }
  int has = h5_attr_has(&r, "/", "k");
  h5_close(&r);
  return has;
}

/* Loads members 0..k-1 of an ensemble file (k from its root attribute). Checks that k is in range,
 * that every group member_<m> (m < k) exists and is a reward checkpoint, and that there is no
 * group member_<k> (a k that does not match the members). */
static int ensemble_set_load(reward_set *s, const char *path) {
  memset(s, 0, sizeof *s);
  h5_reader r;
  CHECK(h5_open(&r, path));
  long k = 0;
  char group[32];
  int rc = h5_attr_read_int(&r, "/", "k", &k);
  if (!rc && (k < 1 || k > CFG_MAX_MEMBERS))
    rc = oo_error_at(__FILE__, __LINE__,
                     "%s: root attribute k = %ld, but an ensemble has 1 to %d members: the file is damaged or "
                     "was not written by `overopt stage rm`; rerun the rm stage",
                     path, k, CFG_MAX_MEMBERS);
  if (!rc) {
    snprintf(group, sizeof group, "member_%ld", k);
    if (h5_has(&r, group))
      rc = oo_error_at(__FILE__, __LINE__,
                       "%s: root attribute k = %ld but the file also holds group '%s': k does not match the "
                       "members; rerun the rm stage",
                       path, k, group);
  }
  if (!rc) s->members = xcalloc((size_t)k, sizeof *s->members);
  for (int m = 0; m < k && !rc; m++) {
    snprintf(group, sizeof group, "member_%d", m);
    if (!h5_has(&r, group)) {
      rc = oo_error_at(__FILE__, __LINE__, "%s: member %d (group '%s') is missing (root attribute k = %ld)", path,
                       m, group, k);
      break;
    }
    rc = gpt_read(&s->members[m], &r, group, GPT_REWARD, 0);
    if (!rc) s->K = m + 1;
  }
  h5_close(&r);
  if (rc) {
    reward_set_free(s);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

/* Calibrated rewards r (B,K) of lines first..first+B-1: each member's (raw - reward_shift) /
 * reward_scale at the last position of [256, bytes of the line]. tokens (B,Tmax) is scratch. */
static void score_lines(reward_set *rs, const text_lines *t, int first, int B, int *tokens, float *r) {
  int Tb = batch_tokens(t, first, B, tokens);
  for (int k = 0; k < rs->K; k++) {
    gpt *m = &rs->members[k];
    gpt_forward(m, tokens, B, Tb);
    const float *raw = gpt_scalar_out(m); /* (B,Tb) */
    for (int b = 0; b < B; b++)
      r[(size_t)b * rs->K + k] = (raw[(size_t)b * Tb + t->len[first + b]] - m->reward_shift) / m->reward_scale;
  }
}

/* score: one reward checkpoint prints "reward\ttokens" per line; an ensemble file (root attribute
 * k, groups member_<m>) prints line, member_0..member_<K-1>, mean, wco, uwo_<lambda> per line
 * (numbered from 1), objectives from rlhf.h over the calibrated members. */
static int score_run(const tool_args *args) {
  const tool_args a = *args;
  int ensemble = is_ensemble_file(a.model);
  REQUIRE(ensemble || !a.uwo_given,
          "score: --uwo-lambda applies to an ensemble file (root attribute k, groups member_<m>); '%s' is not one",
          a.model);
  double lambda = a.uwo_lambda;
  /* the objective columns, computed by the per-sample function best-of-n and PPO use */
  const obj_spec columns[3] = {{.kind = OBJ_MEAN}, {.kind = OBJ_WCO}, {.kind = OBJ_UWO, .lambda = lambda}};
  reward_set rs;
  CHECK(ensemble ? ensemble_set_load(&rs, a.model) : reward_set_load(&rs, a.model));
  int n_ctx = rs.members[0].d.T;
  for (int k = 1; k < rs.K; k++) n_ctx = rs.members[k].d.T < n_ctx ? rs.members[k].d.T : n_ctx;
  text_lines t;
  int rc = text_lines_read(&t, "score", a.text, n_ctx);
  if (rc) {
    reward_set_free(&rs);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  int Tmax = 1;
  for (int i = 0; i < t.n; i++) Tmax = t.len[i] + 1 > Tmax ? t.len[i] + 1 : Tmax;
  int Bmax = t.n < TOOLS_BATCH ? (t.n ? t.n : 1) : TOOLS_BATCH;
  int *tokens = xmalloc((size_t)Bmax * Tmax * sizeof *tokens);
  float *r = xmalloc((size_t)Bmax * rs.K * sizeof *r); /* (B,K) calibrated rewards */
  for (int k = 0; k < rs.K; k++) gpt_reserve(&rs.members[k], Bmax, Tmax);
  if (ensemble) {
    printf("index"); /* calibrated rewards: each member in std units of pi_init's responses (zscore) */
    for (int k = 0; k < rs.K; k++) printf("\tmember_%d", k);
    printf("\tmean\twco\tuwo_%g\n", lambda);
  } else {
    printf("index\treward\tbytes\n");
  }
  for (int first = 0; first < t.n; first += Bmax) {
    int B = t.n - first < Bmax ? t.n - first : Bmax;
    score_lines(&rs, &t, first, B, tokens, r);
    for (size_t i = 0; i < (size_t)B * rs.K && !rc; i++) /* finite weights can still overflow: never print nan */
      if (!isfinite(r[i]))
        rc = oo_error_at(__FILE__, __LINE__, "score: line %zu of '%s' scores %g under member %zu of '%s': the "
                         "checkpoint's weights overflow on this input; it cannot be used as is",
                         first + i / rs.K + 1, a.text, (double)r[i], i % rs.K, a.model);
    if (rc) break;
    for (int b = 0; b < B; b++) {
      const float *row = r + (size_t)b * rs.K;
      if (!ensemble) {
        printf("%d\t%.9g\t%d\n", first + b, row[0], t.len[first + b]);
        continue;
      }
      printf("%d", first + b);
      for (int k = 0; k < rs.K; k++) printf("\t%.9g", row[k]);
      for (int o = 0; o < 3; o++) printf("\t%.9g", ensemble_objective(&columns[o], row, rs.K));
      printf("\n");
    }
  }
  fflush(stdout);
  xfree(&tokens);
  xfree(&r);
  text_lines_free(&t);
  reward_set_free(&rs);
  return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
}

/* ---- entry points (commands.h convention: print our own errors, return the exit code) ---- */

/* Parses (a failure is a usage error, exit 2), then runs (a failure is a runtime error, exit 1). */
static int tool_main(const oo_cmd_spec *spec, int (*run)(const tool_args *), int argc, char **argv) {
  tool_args t;
  if (parse_tool_args(spec, &t, argc, argv)) return opts_usage_error(spec);
  return run(&t) == OO_OK ? 0 : opts_runtime_error(spec->name);
}

int cmd_sample(int argc, char **argv) { return tool_main(&cmd_sample_spec, sample_run, argc, argv); }
int cmd_logprob(int argc, char **argv) { return tool_main(&cmd_logprob_spec, logprob_run, argc, argv); }
int cmd_score(int argc, char **argv) { return tool_main(&cmd_score_spec, score_run, argc, argv); }
