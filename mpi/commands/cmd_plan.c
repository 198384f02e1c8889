/* cmd_plan: `overopt plan CONFIG -n P` prints, per stage, the FLOPs, the memory per rank, the
 * disk written and the wall time estimated on P ranks (see plan.h for the model). Not collective:
 * rank 0 alone, nothing runs.
 *
 * The estimate counts model FLOPs only (matrix products and attention): training 3x a forward
 * pass, sampling at `bench`'s KV-cache rate, scoring at its forward rate, each divided over the
 * ranks a stage uses. Stages per replicate run ceil(R/G) rounds on groups of P/G ranks, G as
 * `overopt run` picks it (run_replicate_groups). Communication, I/O and evaluation passes that
 * are not listed are left out: expect the estimate to run low on many ranks.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "core/core.h"
#include "core/metrics.h"
#include "io/config.h"
#include "model/gpt.h"
#include "plan.h"
#include "run.h"

/* Per-rank GFLOP/s when no bench.json exists: one core of a 2020s x86 server with OpenBLAS at
 * the quickstart's sizes (d128 L4 T96); README "Sizing a run" documents them. */
#define PLAN_DEFAULT_TRAIN 8.0
#define PLAN_DEFAULT_SAMPLE 3.0
#define PLAN_DEFAULT_SCORE 8.0

static const oo_option opts[] = {
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 1, "libconfig file"},
    {"--ranks", "-n", OPT_VALUE, "P", "1", 0, "MPI ranks of the run"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key"},
    {"--bench", NULL, OPT_VALUE, "FILE", "~/.cache/overopt/bench.json", 0,
     "rates written by `overopt bench` (built-in defaults when missing)"},
    {"--calibrate", NULL, OPT_VALUE, "RUN_DIR", NULL, 0,
     "fit each stage's efficiency to a finished run (its config.cfg and run.log) into FILE.calib.json, then plan"},
};
const oo_cmd_spec cmd_plan_spec = {
    "plan", "FLOPs, memory per rank, disk and estimated wall time per stage on P ranks, before running",
    "overopt plan configs/paper-scale.cfg -n 64", opts, OO_N_OPTS(opts), cmd_plan, 0};

int plan_default_bench_path(char *out, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int n = xdg && *xdg ? snprintf(out, cap, "%s/overopt/bench.json", xdg)
                      : snprintf(out, cap, "%s/.cache/overopt/bench.json", home && *home ? home : ".");
  REQUIRE(n > 0 && (size_t)n < cap, "cache path too long");
  return OO_OK;
}

int plan_mkdir_for(const char *path) {
  char dir[4400];
  REQUIRE(strlen(path) < sizeof dir, "path too long: %s", path);
  memcpy(dir, path, strlen(path) + 1);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return OO_OK;
  *slash = 0;
  return oo_mkdir_p(dir);
}

#define PLAN_N_STAGES 7 /* rows of plan_rows */

typedef struct {
  double train, sample, score;     /* GFLOP/s of one rank */
  char source[4400];               /* where they came from */
  double eff[PLAN_N_STAGES];       /* per stage: model-FLOP time / measured time (1 = uncalibrated) */
  char calib_source[4400];         /* the calibration file, "" if none */
} plan_rates;

/* The first "key": number in a JSON text (bench.json puts the means first). */
static int json_number(const char *text, const char *key, double *out) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(text, pat);
  if (!p) return 0;
  char *end;
  double v = strtod(p + strlen(pat), &end);
  if (end == p + strlen(pat) || !(v > 0) || !isfinite(v)) return 0;
  *out = v;
  return 1;
}

static int load_rates(const char *path, int explicit_path, plan_rates *r) {
  *r = (plan_rates){PLAN_DEFAULT_TRAIN, PLAN_DEFAULT_SAMPLE, PLAN_DEFAULT_SCORE, "", {1, 1, 1, 1, 1, 1, 1}, ""};
  FILE *f = fopen(path, "r");
  if (!f) {
    REQUIRE(!explicit_path, "cannot read --bench '%s': %s", path, strerror(errno));
    snprintf(r->source, sizeof r->source, "built-in defaults (no %s: run `overopt bench --config CONFIG`)", path);
    return OO_OK;
  }
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  REQUIRE(json_number(text, "train_gflops", &r->train) && json_number(text, "sample_gflops", &r->sample) &&
              json_number(text, "score_gflops", &r->score),
          "'%s' lacks train_gflops, sample_gflops or score_gflops: rerun `overopt bench`", path);
  snprintf(r->source, sizeof r->source, "%s", path);
  return OO_OK;
}

static const char *const stage_names[PLAN_N_STAGES] = {"pretrain", "gold", "bon_samples", "prefs", "rm", "bon", "ppo"};

/* FILE.calib.json (written by --calibrate): {"pretrain": e, ...}, each stage's efficiency. */
static void load_calibration(const char *bench, plan_rates *r) {
  char path[4300], text[4096];
  snprintf(path, sizeof path, "%s.calib.json", bench);
  FILE *f = fopen(path, "r");
  if (!f) return;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  for (int i = 0; i < PLAN_N_STAGES; i++) json_number(text, stage_names[i], &r->eff[i]);
  snprintf(r->calib_source, sizeof r->calib_source, "%s", path);
}

/* ---- the cost model ------------------------------------------------------------------------- */

typedef struct {
  gpt_dims d;         /* shape */
  double params;      /* parameter count */
  double train_tok;   /* training FLOPs per token (6N + attention) */
  double fwd_tok;     /* forward FLOPs per position */
} plan_model;

/* fwd_tok counts what a forward of this kind multiplies (a reward model has no LM head), as
 * `overopt bench` counts its scoring rate. */
static plan_model model_of(const cfg_size *s, int T, gpt_kind kind) {
  plan_model m = {{GPT_VOCAB, T, s->d_model, s->n_layer, s->n_head}, 0, 0, 0};
  double C = s->d_model, L = s->n_layer;
  m.params = GPT_VOCAB * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + C + 1; /* with a scalar head */
  m.train_tok = gpt_train_flops_per_token(m.d, T);
  m.fwd_tok = gpt_forward_flops_per_token(m.d, kind, T);
  return m;
}

/* Bytes of one rank training m on `tokens` tokens of its share of a batch: parameters,
 * gradients, two Adam moments, and activations (about 16 C per layer and the logits per token). */
static double train_bytes(const plan_model *m, double tokens) {
  return 16 * m->params + 4 * tokens * (16.0 * m->d.C * m->d.L + 2.0 * m->d.V);
}

typedef struct {
  const char *name;   /* stage */
  int per_replicate;  /* 1: runs once per replicate */
  double flops;       /* model FLOPs of one execution */
  double seconds;     /* on its ranks, one execution */
  double mem;         /* bytes per rank */
  double disk;        /* bytes written, one execution */
} plan_row;

/* Seconds for FLOPs split by kind over `ranks` ranks. */
static double secs(const plan_rates *r, double train, double sample, double score, int ranks) {
  return (train / r->train + sample / r->sample + score / r->score) / 1e9 / (ranks > 0 ? ranks : 1);
}

static int plan_rows(const oo_config *c, int P, int G, const plan_rates *rt, plan_row *row) {
  const int T = c->pretrain.n_ctx, Tq = c->prefs.prompt_len + c->prefs.response_len;
  const int Pr = P / G; /* ranks of one replicate group */
  plan_model pol = model_of(&c->pretrain.policy, T, GPT_LM), rm = model_of(&c->rm.size, T, GPT_REWARD),
             gold = model_of(&c->gold.size, T, strcmp(c->gold.kind, "teacher") ? GPT_REWARD : GPT_LM);
  const int K = c->rm.k;
  int n = 0;
  /* pretrain: pi_init, the proxy's LM when it differs and rm.init = pretrained, the teacher's LM */
  double tok = (double)c->pretrain.steps * c->pretrain.batch * T, tr = tok * pol.train_tok, mem = 0, disk = 4 * pol.params;
  mem = train_bytes(&pol, (double)c->pretrain.batch * T / P);
  if (!strcmp(c->rm.init, "pretrained") && memcmp(&c->rm.size, &c->pretrain.policy, sizeof c->rm.size)) {
    tr += tok * rm.train_tok, disk += 4 * rm.params;
    mem = fmax(mem, train_bytes(&rm, (double)c->pretrain.batch * T / P));
  }
  if (!strcmp(c->gold.kind, "teacher")) {
    tr += (double)c->gold.teacher_steps * c->pretrain.batch * T * gold.train_tok, disk += 4 * gold.params;
    mem = fmax(mem, train_bytes(&gold, (double)c->pretrain.batch * T / P));
  }
  row[n++] = (plan_row){"pretrain", 0, tr, secs(rt, tr, 0, 0, P), mem, disk};
  /* gold: calibration responses of pi_init scored by the gold */
  double pos = (double)c->gold.calib_prompts * Tq;
  row[n++] = (plan_row){"gold", 0, pos * (pol.fwd_tok + gold.fwd_tok), secs(rt, 0, pos * pol.fwd_tok, pos * gold.fwd_tok, P),
                        4 * (pol.params + gold.params) + 4.0 * Tq * (c->gold.calib_prompts / P + 1) * pol.d.V, 4 * gold.params};
  /* bon_samples: N samples per evaluation prompt, scored by the gold */
  double nb = (double)c->bon.n_prompts * c->bon.n_samples;
  pos = nb * Tq;
  row[n++] = (plan_row){"bon_samples", 0, pos * (pol.fwd_tok + gold.fwd_tok),
                        secs(rt, 0, pos * pol.fwd_tok, pos * gold.fwd_tok, P),
                        4 * (pol.params + gold.params) + 2.0 * 4 * pol.d.L * 64 * T * pol.d.C, nb * (c->prefs.response_len + 8)};
  /* prefs: two responses per pair, labelled by the gold */
  double pairs = (double)c->prefs.n_train + c->prefs.n_test;
  pos = 2 * pairs * Tq;
  row[n++] = (plan_row){"prefs", 1, pos * (pol.fwd_tok + gold.fwd_tok), secs(rt, 0, pos * pol.fwd_tok, pos * gold.fwd_tok, Pr),
                        4 * (pol.params + gold.params) + 2.0 * 4 * pol.d.L * 64 * T * pol.d.C, 2 * pairs * (Tq + 8)};
  /* rm: K members, epochs over the training pairs (two sequences each), test scores */
  double rtr = (double)K * c->rm.epochs * c->prefs.n_train * 2 * Tq * rm.train_tok;
  double rsc = (double)K * (2.0 * c->prefs.n_test + nb) * Tq * rm.fwd_tok; /* test pairs, calibration on pi_init's */
  int members_per_rank = (K + Pr - 1) / Pr;
  row[n++] = (plan_row){"rm", 1, rtr + rsc, secs(rt, rtr, 0, rsc, Pr),
                        members_per_rank * train_bytes(&rm, 2.0 * c->rm.batch * Tq / (Pr > K ? Pr / K : 1)), K * 4 * rm.params};
  /* bon: every member scores every best-of-n sample */
  pos = nb * Tq * K;
  row[n++] = (plan_row){"bon", 1, pos * rm.fwd_tok, secs(rt, 0, 0, pos * rm.fwd_tok, Pr), K * 4 * rm.params + 4 * nb * (K + 1),
                        4 * nb * (K + 1) + 4096};
  /* ppo: per objective and beta, steps of rollouts (sampled), scores (members, reference, value,
   * gold), epochs of policy and value training; evaluations every eval_every steps */
  double runs = (double)c->ppo.n_objectives * c->ppo.n_betas, B = c->ppo.batch, S = c->ppo.steps;
  double n_eval = (c->ppo.eval_every > 0 ? S / c->ppo.eval_every : 0) + 1;
  double samp = S * B * Tq * pol.fwd_tok + n_eval * c->ppo.n_eval_prompts * Tq * pol.fwd_tok;
  double scor = S * B * Tq * (K * rm.fwd_tok + 2 * pol.fwd_tok + gold.fwd_tok) +
                n_eval * c->ppo.n_eval_prompts * Tq * (K * rm.fwd_tok + gold.fwd_tok + pol.fwd_tok);
  double ptr = S * c->ppo.epochs * B * Tq * 2 * pol.train_tok;
  row[n++] = (plan_row){"ppo", 1, runs * (samp + scor + ptr), runs * secs(rt, ptr, samp, scor, Pr),
                        2 * train_bytes(&pol, (double)c->ppo.minibatch * Tq / Pr) + 4 * (pol.params + K * rm.params + gold.params),
                        runs * (4 * 3 * pol.params + S * 31 * 8 + n_eval * c->ppo.n_eval_prompts * Tq)};
  for (int i = 0; i < n; i++) row[i].seconds /= rt->eff[i];
  return n;
}

/* Sum of the measured "== STAGE[ (replicate i)]: done in X s" lines of a run.log, and their count. */
static int measured_seconds(const char *log_path, const char *stage, double *sum, int *count) {
  FILE *f = fopen(log_path, "r");
  REQUIRE(f, "cannot read '%s': %s (--calibrate needs a finished run directory)", log_path, strerror(errno));
  char line[1024], a[64], b[64];
  snprintf(a, sizeof a, "== %s: done in ", stage);
  snprintf(b, sizeof b, "== %s (replicate ", stage);
  *sum = 0, *count = 0;
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, a);
    if (!p && (p = strstr(line, b)) != NULL) p = strstr(p, "): done in ") ? strstr(p, "): done in ") + 2 : NULL;
    else if (p) p += strlen(a) - strlen("done in ");
    if (!p || strncmp(p, "done in ", 8)) continue;
    *sum += strtod(p + 8, NULL), (*count)++;
  }
  fclose(f);
  return OO_OK;
}

/* --calibrate RUN_DIR: each stage's efficiency = the model-FLOP estimate of that run (its own
 * config.cfg and world size, the current rates) / its measured time; written to BENCH.calib.json. */
static int calibrate(const char *dir, const char *bench, plan_rates *rt) {
  char cfg_path[4400], log_path[4400], prov[4400], out[4300], text[8192];
  CHECK(oo_path_join(cfg_path, sizeof cfg_path, dir, "config.cfg"));
  CHECK(oo_path_join(log_path, sizeof log_path, dir, "run.log"));
  CHECK(oo_path_join(prov, sizeof prov, dir, "provenance.json"));
  double P = 1;
  FILE *pf = fopen(prov, "r");
  REQUIRE(pf, "cannot read '%s': %s (a run of this overopt writes it)", prov, strerror(errno));
  size_t n = fread(text, 1, sizeof text - 1, pf);
  fclose(pf);
  text[n] = 0;
  REQUIRE(json_number(text, "world_size", &P), "'%s' has no world_size", prov);
  oo_config *cfg = xmalloc(sizeof *cfg);
  cfg_defaults(cfg);
  int rc = cfg_load(cfg, cfg_path);
  plan_rates raw = *rt;
  for (int i = 0; i < PLAN_N_STAGES; i++) raw.eff[i] = 1;
  plan_row row[8];
  if (!rc) plan_rows(cfg, (int)P, run_replicate_groups(cfg, (int)P), &raw, row);
  xfree(&cfg);
  CHECK(rc);
  snprintf(out, sizeof out, "%s.calib.json", bench);
  CHECK(plan_mkdir_for(out));
  FILE *f = fopen(out, "w");
  REQUIRE(f, "cannot write '%s': %s", out, strerror(errno));
  fprintf(f, "{\"calibrated_from\": ");
  oo_json_string(f, dir);
  printf("calibration from %s (%g ranks): estimate / measured per stage\n", dir, P);
  for (int i = 0; i < PLAN_N_STAGES; i++) {
    double sum = 0;
    int count = 0;
    rc = measured_seconds(log_path, stage_names[i], &sum, &count);
    if (rc) break;
    double e = count && sum > 0 && row[i].seconds > 0 ? row[i].seconds / (sum / count) : 1;
    rt->eff[i] = e;
    fprintf(f, ", \"%s\": %.4g", stage_names[i], e);
    printf("  %-12s model %.2f s, measured %.2f s (%d run%s): efficiency %.3g\n", stage_names[i], row[i].seconds,
           count ? sum / count : 0.0, count, count == 1 ? "" : "s", e);
  }
  fprintf(f, "}\n");
  if (fclose(f) && !rc) rc = oo_error_at(__FILE__, __LINE__, "cannot write '%s'", out);
  snprintf(rt->calib_source, sizeof rt->calib_source, "%s", out);
  printf("\n");
  return rc;
}

/* "1.2 TFLOP", "340 MB", "1 h 02 min" */
static void human(double v, const char *const *units, double step, char *out, size_t cap) {
  int u = 0;
  while (v >= step && units[u + 1]) v /= step, u++;
  snprintf(out, cap, v < 10 && u ? "%.1f %s" : "%.0f %s", v, units[u]);
}
static void flops_text(double v, char *o, size_t cap) {
  static const char *const u[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP", NULL};
  human(v, u, 1000, o, cap);
}
static void bytes_text(double v, char *o, size_t cap) {
  static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB", NULL};
  human(v, u, 1000, o, cap);
}
static void time_text(double s, char *o, size_t cap) {
  if (s < 60) snprintf(o, cap, "%.1f s", s);
  else if (s < 3600) snprintf(o, cap, "%.1f min", s / 60);
  else if (s < 86400 * 2) snprintf(o, cap, "%.1f h", s / 3600);
  else snprintf(o, cap, "%.1f days", s / 86400);
}

static int plan_run(const oo_args *a) {
  const char *path = opt_str(a, "CONFIG");
  long P = 1;
  CHECK(opt_long(a, "-n", 1, 10000000, &P));
  oo_config *cfg = xmalloc(sizeof *cfg);
  cfg_defaults(cfg);
  int rc = cfg_load(cfg, path);
  for (int i = 0; !rc && i < opt_given(a, "--set"); i++) rc = cfg_set(cfg, opt_item(a, "--set", i));
  if (!rc) rc = cfg_validate(cfg, path);
  char bench[4096];
  plan_rates rt;
  if (!rc) {
    if (opt_given(a, "--bench")) snprintf(bench, sizeof bench, "%s", opt_str(a, "--bench"));
    else rc = plan_default_bench_path(bench, sizeof bench);
  }
  if (!rc) rc = load_rates(bench, opt_given(a, "--bench"), &rt);
  if (!rc) load_calibration(bench, &rt);
  if (!rc && opt_given(a, "--calibrate")) rc = calibrate(opt_str(a, "--calibrate"), bench, &rt);
  if (rc) {
    xfree(&cfg);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  const int R = cfg->run.replicates, G = run_replicate_groups(cfg, (int)P);
  const int rounds = (R + G - 1) / G;
  plan_row row[8];
  int n = plan_rows(cfg, (int)P, G, &rt, row);
  printf("plan of %s on %ld rank%s: %d replicate%s in %d group%s of %ld rank%s (%d round%s)\n", path, P,
         P == 1 ? "" : "s", R, R == 1 ? "" : "s", G, G == 1 ? "" : "s", P / G, P / G == 1 ? "" : "s", rounds,
         rounds == 1 ? "" : "s");
  printf("rates per rank: train %.3g, sample %.3g, score %.3g GFLOP/s from %s\n", rt.train, rt.sample, rt.score,
         rt.source);
  if (rt.calib_source[0]) {
    printf("stage efficiencies from %s:", rt.calib_source);
    for (int i = 0; i < PLAN_N_STAGES; i++) printf(" %s %.2g", stage_names[i], rt.eff[i]);
    printf("\n");
  } else {
    printf("no calibration: times are model FLOPs at the bench rates (a lower bound; see --calibrate)\n");
  }
  printf("\n");
  printf("| stage | runs | FLOPs | memory per rank | disk written | estimated wall time |\n|---|---|---|---|---|---|\n");
  double total_s = 0, total_f = 0, total_d = 0, peak = 0;
  for (int i = 0; i < n; i++) {
    const plan_row *r = &row[i];
    int times = r->per_replicate ? R : 1;
    double wall = r->seconds * (r->per_replicate ? rounds : 1);
    char f[32], m[32], d[32], t[32];
    flops_text(r->flops * times, f, sizeof f);
    bytes_text(r->mem, m, sizeof m);
    bytes_text(r->disk * times, d, sizeof d);
    time_text(wall, t, sizeof t);
    printf("| %s | %d | %s | %s | %s | %s |\n", r->name, times, f, m, d, t);
    total_s += wall, total_f += r->flops * times, total_d += r->disk * times, peak = fmax(peak, r->mem);
  }
  char f[32], m[32], d[32], t[32];
  flops_text(total_f, f, sizeof f);
  bytes_text(peak, m, sizeof m);
  bytes_text(total_d, d, sizeof d);
  time_text(total_s, t, sizeof t);
  printf("| total | | %s | %s (peak) | %s | %s (%.0f core-hours) |\n", f, m, d, t, total_s * P / 3600);
  printf("\nFLOPs count the model's matrix products and attention only; memory is parameters, gradients, Adam\n"
         "moments and activations of a rank's share of a batch; times scale the FLOPs by the bench rates and the\n"
         "stage efficiencies of a calibration run (README \"Sizing a run\").\n");
  xfree(&cfg);
  return fflush(stdout) ? oo_error_at(__FILE__, __LINE__, "cannot write to stdout") : OO_OK;
}

int cmd_plan(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_plan_spec, argc, argv, &a) || opt_long(&a, "-n", 1, 10000000, &(long){0}))
    return opts_usage_error(&cmd_plan_spec);
  return plan_run(&a) == OO_OK ? 0 : opts_runtime_error("plan");
}
