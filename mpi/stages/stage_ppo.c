/* stage_ppo: one PPO run per objective in ppo.objectives and per beta in ppo.betas, against the
 * proxy ensemble (or, with ppo.reward = gold, against the gold as a sanity check), evaluated by
 * the gold. The step itself is mpi/parallel/ppo_step.c; this file sequences runs, commands, evaluations,
 * metrics, artifacts, resume and stop.
 *
 * Invariants:
 * - Run r (objective o, beta b in config order, r = o * n_betas + b) has tag = objective name,
 *   plus "_beta<b>" (%g) when there are several betas, and run index r. Its rollout streams are
 *   keyed by step and row only, so every run of a replicate shares them (common random numbers:
 *   paired comparisons, ppo_step.c). Its hash covers the upstream stages' keys, the ppo.* keys that shape a run
 *   (not the objective and beta lists), the objective (member for single and laplace_uwo, lambda
 *   for uwo and the Laplace objectives, tau for softmin), beta
 *   and r. ppo_<tag>.h5 with that hash is skipped.
 * - Artifacts (rank 0): ppo_<tag>_policy.h5 (the final policy, an LM checkpoint), ppo_<tag>.csv
 *   (written live as ppo_<tag>.csv.part, renamed at the end), ppo_<tag>.h5 last: one dataset per
 *   metric named after it with one row per step (the CSV has the same columns but the
 *   wall-clock t_*, so that it is the same for the same run), member_score
 *   (steps, K), and per evaluation a group samples/step_<s> with the datasets text (strings
 *   "prompt|response", escaped), gold and proxy, one entry per sample.
 * - Rows: the rollout metrics of row s describe the policy that generated step s's rollouts
 *   (before its update); an evaluation at step s (s % eval_every == 0, s = 0, s = steps - 1) runs
 *   before the update too, so eval_* and kl/proxy/gold of a row describe the same policy.
 *   eval_* are NaN on rows without an evaluation.
 * - Stop: the controller turns oo_stop_requested into the command's stop flag; the run then
 *   writes ppo_<tag>.partial.h5 (policy (with its value head, kind lm_value, when ppo.value = head)
 *   and value model (ppo.value = model) with AdamW state, beta, step, rows so far,
 *   samples) and every rank returns OO_OK with oo_stopped(). A rerun with the same hash resumes from it and
 *   continues bit-identically (every random stream is keyed by step, not drawn in sequence).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/metrics.h"
#include "data/corpus.h"
#include "ppo_step.h"
#include "rlhf/rlhf.h"
#include "run.h"
#include "sampling.h"

/* ---- metric table ----------------------------------------------------------------------------- */

enum {
  COL_STEP, COL_KL, COL_K1, COL_K2, COL_K3, COL_PROXY, COL_GOLD, COL_VAR, COL_ENT, COL_CLIP, COL_VF, COL_EVAL_KL,
  COL_EVAL_PROXY, COL_EVAL_GOLD, COL_OBJECTIVE, COL_POLICY_LOSS, COL_APPROX_KL, COL_BETA, COL_LR, COL_RESP_LEN, COL_EVAL_K1, COL_EVAL_K2,
  COL_EVAL_K3, /* the CSV columns end here: the wall-clock times below are in the .h5 and metrics.jsonl only, so
                  that the CSV, whose hash the .h5, fits.h5 and the report record, is the same for the same run */
  COL_T_GENERATE, COL_T_SCORE, COL_T_UPDATE, COL_T_EVAL, COL_T_MPI, COL_T_STEP, N_COL
};
#define N_CSV_COL COL_T_GENERATE
static const char *const col_names[N_COL] = {
    "step",        "kl",          "kl_k1",     "kl_k2",      "kl_k3",      "proxy",      "gold",
    "ens_var",     "entropy",     "clipfrac",  "vf_loss",    "eval_kl",    "eval_proxy", "eval_gold",
    "objective",   "policy_loss", "approx_kl", "beta",       "lr",         "resp_len",   "eval_kl_k1",
    "eval_kl_k2",  "eval_kl_k3",  "t_generate", "t_score",   "t_update",   "t_eval",     "t_mpi",
    "t_step"};

typedef struct {
  int steps;               /* rows allocated (ppo.steps) */
  int K;                   /* members */
  double *col[N_COL];      /* [N_COL] (steps) each */
  double *member;          /* (steps, K) mean score of each member */
  ppo_eval_metrics *evals; /* (n_eval_cap) evaluations in step order */
  int *eval_step;          /* (n_eval_cap) step of each evaluation */
  int n_evals;             /* evaluations recorded */
  int n_eval_cap;          /* capacity */
} ppo_table;

static int eval_due(const oo_config *cfg, long s) {
  int every = cfg->ppo.eval_every;
  return s == 0 || s == cfg->ppo.steps - 1 || (every > 0 && s % every == 0);
}

static void table_alloc(ppo_table *t, const oo_config *cfg) {
  memset(t, 0, sizeof *t);
  t->steps = cfg->ppo.steps;
  t->K = cfg->rm.k;
  for (int c = 0; c < N_COL; c++) t->col[c] = xmalloc(sizeof(double) * (size_t)t->steps);
  t->member = xmalloc(sizeof(double) * (size_t)t->steps * t->K);
  for (long s = 0; s < t->steps; s++) t->n_eval_cap += eval_due(cfg, s);
  t->evals = xcalloc((size_t)t->n_eval_cap, sizeof(ppo_eval_metrics));
  t->eval_step = xcalloc((size_t)t->n_eval_cap, sizeof(int));
}

static void table_free(ppo_table *t) {
  for (int c = 0; c < N_COL; c++) xfree(&t->col[c]);
  xfree(&t->member);
  xfree(&t->evals);
  xfree(&t->eval_step);
}

static const char *kl_pick(const oo_config *cfg, double k1, double k2, double k3, double *out) {
  *out = !strcmp(cfg->ppo.kl_estimator, "k2") ? k2 : !strcmp(cfg->ppo.kl_estimator, "k3") ? k3 : k1;
  return cfg->ppo.kl_estimator;
}

/* Rank 0: row s of the table from a step's metrics (and its evaluation, or NULL). */
static void table_row(ppo_table *t, const oo_config *cfg, long s, const ppo_cmd *cmd, const ppo_metrics *m,
                      const ppo_eval_metrics *e, double t_eval, double t_step) {
  double v[N_COL];
  v[COL_STEP] = (double)s;
  kl_pick(cfg, m->kl_k1, m->kl_k2, m->kl_k3, &v[COL_KL]);
  v[COL_K1] = m->kl_k1;
  v[COL_K2] = m->kl_k2;
  v[COL_K3] = m->kl_k3;
  v[COL_PROXY] = m->proxy;
  v[COL_GOLD] = m->gold;
  v[COL_VAR] = m->ens_var;
  v[COL_ENT] = m->entropy;
  v[COL_CLIP] = m->clipfrac;
  v[COL_VF] = m->vf_loss;
  v[COL_OBJECTIVE] = m->objective;
  v[COL_POLICY_LOSS] = m->policy_loss;
  v[COL_APPROX_KL] = m->approx_kl;
  v[COL_BETA] = cmd->beta;
  v[COL_LR] = cmd->lr;
  v[COL_RESP_LEN] = m->resp_len;
  v[COL_EVAL_KL] = v[COL_EVAL_PROXY] = v[COL_EVAL_GOLD] = NAN;
  v[COL_EVAL_K1] = v[COL_EVAL_K2] = v[COL_EVAL_K3] = NAN;
  if (e) {
    kl_pick(cfg, e->kl_k1, e->kl_k2, e->kl_k3, &v[COL_EVAL_KL]);
    v[COL_EVAL_PROXY] = e->proxy;
    v[COL_EVAL_GOLD] = e->gold;
    v[COL_EVAL_K1] = e->kl_k1;
    v[COL_EVAL_K2] = e->kl_k2;
    v[COL_EVAL_K3] = e->kl_k3;
    if (t->n_evals < t->n_eval_cap) {
      t->evals[t->n_evals] = *e;
      t->eval_step[t->n_evals++] = (int)s;
    }
  }
  v[COL_T_GENERATE] = m->t_generate;
  v[COL_T_SCORE] = m->t_score;
  v[COL_T_UPDATE] = m->t_update;
  v[COL_T_EVAL] = t_eval;
  v[COL_T_MPI] = m->t_mpi;
  v[COL_T_STEP] = t_step;
  for (int c = 0; c < N_COL; c++) t->col[c][s] = v[c];
  for (int k = 0; k < t->K; k++) t->member[(size_t)s * t->K + k] = m->member_score[k];
}

static void csv_header(FILE *f) {
  for (int c = 0; c < N_CSV_COL; c++) fprintf(f, "%s%s", c ? "," : "", col_names[c]);
  fprintf(f, "\n");
}

static void csv_row(FILE *f, const ppo_table *t, long s) {
  fprintf(f, "%ld", s);
  for (int c = 1; c < N_CSV_COL; c++) fprintf(f, ",%.17g", t->col[c][s]);
  fprintf(f, "\n");
  fflush(f);
}

/* Metrics (rows [0, rows)) and evaluation samples into an open writer. */
static int table_write(h5_writer *w, const ppo_table *t, long rows) {
  if (rows > 0) {
    long d1[1] = {rows}, d2[2] = {rows, t->K};
    for (int c = 0; c < N_COL; c++) CHECK(h5_write_f64(w, col_names[c], 1, d1, t->col[c]));
    CHECK(h5_write_f64(w, "member_score", 2, d2, t->member));
  }
  CHECK(h5_group(w, "samples"));
  for (int i = 0; i < t->n_evals; i++) {
    const ppo_eval_metrics *e = &t->evals[i];
    char g[64], name[96];
    long n = e->n_samples;
    snprintf(g, sizeof g, "samples/step_%d", t->eval_step[i]);
    CHECK(h5_group(w, g));
    snprintf(name, sizeof name, "%s/text", g);
    CHECK(h5_write_str(w, name, n, e->samples[0], PPO_SAMPLE_CHARS));
    snprintf(name, sizeof name, "%s/gold", g);
    CHECK(h5_write_f64(w, name, 1, &n, e->sample_gold));
    snprintf(name, sizeof name, "%s/proxy", g);
    CHECK(h5_write_f64(w, name, 1, &n, e->sample_proxy));
  }
  return OO_OK;
}

/* Reads rows [0, rows) and the samples of their evaluations back (resume). */
static int table_read(h5_reader *r, ppo_table *t, const oo_config *cfg, long rows) {
  if (rows > 0) {
    long d1[1] = {rows}, d2[2] = {rows, t->K};
    for (int c = 0; c < N_COL; c++) CHECK(h5_read_f64(r, col_names[c], 1, d1, t->col[c]));
    CHECK(h5_read_f64(r, "member_score", 2, d2, t->member));
  }
  t->n_evals = 0;
  for (long s = 0; s < rows; s++) {
    if (!eval_due(cfg, s) || t->n_evals >= t->n_eval_cap) continue;
    ppo_eval_metrics *e = &t->evals[t->n_evals];
    memset(e, 0, sizeof *e);
    char name[96];
    long n = 0;
    size_t stride = 0;
    char *text = NULL;
    snprintf(name, sizeof name, "samples/step_%ld/text", s);
    CHECK(h5_read_str_alloc(r, name, &n, &text, &stride));
    int rc = OO_OK;
    if (n > PPO_N_SAMPLES) rc = oo_error_at(__FILE__, __LINE__, "'%s': %s has %ld samples (at most %d)", r->path, name, n, PPO_N_SAMPLES);
    e->n_samples = (int)n;
    for (int j = 0; !rc && j < e->n_samples; j++)
      snprintf(e->samples[j], PPO_SAMPLE_CHARS, "%s", text + (size_t)j * stride);
    xfree(&text);
    CHECK(rc);
    e->kl_k1 = t->col[COL_EVAL_K1][s];
    e->kl_k2 = t->col[COL_EVAL_K2][s];
    e->kl_k3 = t->col[COL_EVAL_K3][s];
    e->proxy = t->col[COL_EVAL_PROXY][s];
    e->gold = t->col[COL_EVAL_GOLD][s];
    long dn[1] = {n};
    snprintf(name, sizeof name, "samples/step_%ld/gold", s);
    if (n) CHECK(h5_read_f64(r, name, 1, dn, e->sample_gold));
    snprintf(name, sizeof name, "samples/step_%ld/proxy", s);
    if (n) CHECK(h5_read_f64(r, name, 1, dn, e->sample_proxy));
    t->eval_step[t->n_evals++] = (int)s;
  }
  return OO_OK;
}

/* ---- one run ---------------------------------------------------------------------------------- */

typedef struct {
  char tag[64];      /* objective [+ _beta<b>] */
  obj_spec obj;      /* proxy objective */
  double beta;       /* initial KL coefficient */
  int index;         /* run index r */
  char hash[32];     /* config hash of the run */
} ppo_job;

/* Keys that shape every run (the objective/beta lists are not among them: adding an objective
 * does not redo the others). */
static const char *const ppo_keys[] = {"run.world_seed", "run.seed", "corpus.", "pretrain.", "gold.", "prefs.", "rm.", "ppo.kl_",
                                       "ppo.steps", "ppo.batch", "ppo.minibatch", "ppo.epochs", "ppo.lr",
                                       "ppo.warmup", "ppo.clip", "ppo.vf_", "ppo.value", "ppo.gae_lambda", "ppo.reward",
                                       "ppo.temperature", "ppo.eval_every", "ppo.n_eval_prompts", NULL};

static void job_hash(const oo_config *cfg, uint64_t inputs_hash, ppo_job *j) {
  uint64_t h = cfg_hash(cfg, ppo_keys);
  h = oo_hash_bytes(&inputs_hash, sizeof inputs_hash, h); /* pi_init, gold.h5, rm.h5, corpus (run.h) */
  const char *name = obj_name(j->obj.kind);
  h = oo_hash_bytes(name, strlen(name), h);
  if (j->obj.kind == OBJ_SINGLE || j->obj.kind == OBJ_LAPLACE_UWO)
    h = oo_hash_bytes(&j->obj.member, sizeof j->obj.member, h);
  if (j->obj.kind == OBJ_LAPLACE_UWO || j->obj.kind == OBJ_ENS_LAPLACE)
    h = oo_hash_bytes(&j->obj.lambda, sizeof j->obj.lambda, h);
  if (j->obj.kind == OBJ_UWO) h = oo_hash_bytes(&j->obj.lambda, sizeof j->obj.lambda, h);
  if (j->obj.kind == OBJ_SOFTMIN) h = oo_hash_bytes(&j->obj.tau, sizeof j->obj.tau, h);
  h = oo_hash_bytes(&j->beta, sizeof j->beta, h);
  h = oo_hash_bytes(&j->index, sizeof j->index, h);
  snprintf(j->hash, sizeof j->hash, "%016llx", (unsigned long long)h);
}

static void zero_optim(gpt *m) {
  memset(m->adam_m, 0, sizeof(float) * m->n_params);
  memset(m->adam_v, 0, sizeof(float) * m->n_params);
  memset(m->grads, 0, sizeof(float) * m->n_params);
  m->step = 0;
}

/* Rollout ranks: policy <- pi_init, value function <- pi_init's trunk with a zero head (the
 * policy's own head with ppo.value = head), AdamW state zeroed. */
static int reset_models(ppo_ctx *x) {
  if (x->roll_rank < 0) return OO_OK;
  gpt *ms[2] = {x->policy, x->value};
  for (int i = 0; i < 2 && ms[i]; i++) {
    memset(ms[i]->params, 0, sizeof(float) * ms[i]->n_params);
    CHECK(gpt_copy_trunk(ms[i], x->ref));
    zero_optim(ms[i]);
  }
  return OO_OK;
}

/* Rank 0: writes the partial (with_state) or final results file. */
static int write_results(const oo_run *run, const ppo_ctx *x, const ppo_job *j, const ppo_table *t, const char *path,
                         long rows, double beta_next, int with_state) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  int rc = run_stamp_hash(run, &w, j->hash);
  if (!rc) rc = h5_attr_write_str(&w, "/", "tag", j->tag);
  if (!rc) rc = h5_attr_write_str(&w, "/", "objective", obj_name(j->obj.kind));
  if (!rc && j->obj.kind == OBJ_SOFTMIN) rc = h5_attr_write_double(&w, "/", "softmin_tau", j->obj.tau);
  if (!rc) rc = h5_attr_write_str(&w, "/", "reward", run->cfg.ppo.reward);
  if (!rc) rc = h5_attr_write_double(&w, "/", "beta", j->beta);
  if (!rc) rc = h5_attr_write_int(&w, "/", "steps_done", rows);
  if (!rc) rc = h5_attr_write_str(&w, "/", "kl_estimator", run->cfg.ppo.kl_estimator);
  if (!rc && x->train.guard.skipped > 0) /* minibatches skipped by run.skip_nonfinite; absent: none */
    rc = h5_attr_write_int(&w, "/", "skipped_batches", x->train.guard.skipped);
  if (!rc) rc = table_write(&w, t, rows);
  if (!rc && with_state) {
    rc = h5_attr_write_double(&w, "/", "beta_next", beta_next);
    if (!rc) rc = gpt_write(x->policy, &w, "policy", 1);
    if (!rc && x->value) rc = gpt_write(x->value, &w, "value", 1);
  }
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

/* The final policy as an LM checkpoint (a value head is training state, not part of the policy). */
static int write_policy(const oo_run *run, const char *hash, const gpt *policy, const char *path) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  gpt lm = gpt_lm_view(policy);
  int rc = gpt_write(&lm, &w, "", 0);
  if (!rc) rc = run_stamp_hash(run, &w, hash);
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

/* Rank 0: loads a partial with the run's hash into the models and the table. 0 if there is none
 * (or it does not fit: the run then starts over, with a warning). */
static int try_resume(ppo_ctx *x, ppo_table *t, const char *partial, const char *hash, long *step, double *beta) {
  if (!oo_file_exists(partial)) return 0;
  h5_reader r;
  if (h5_open(&r, partial)) { /* a damaged resume file is not used, but never silently (#12) */
    LOG_WARN("ppo: ignoring %s (%s); starting over", partial, oo_error_message());
    oo_error_clear();
    return 0;
  }
  char got[64] = "";
  long s = 0;
  double b = 0;
  gpt pol, val;
  memset(&pol, 0, sizeof pol);
  memset(&val, 0, sizeof val);
  int ok = h5_attr_read_str(&r, "/", "config_hash", got, sizeof got) == OO_OK && strcmp(got, hash) == 0;
  if (!ok) oo_error_at(__FILE__, __LINE__, "its config hash %s is not this run's %s", got, hash);
  if (ok) ok = h5_attr_read_int(&r, "/", "steps_done", &s) == OO_OK && s >= 0 && s <= t->steps;
  if (ok) ok = h5_attr_read_double(&r, "/", "beta_next", &b) == OO_OK;
  if (ok)
    ok = gpt_read(&pol, &r, "policy", (int)x->policy->kind, 1) == OO_OK && pol.n_params == x->policy->n_params;
  if (ok && x->value)
    ok = gpt_read(&val, &r, "value", GPT_VALUE, 1) == OO_OK && val.n_params == x->value->n_params;
  if (ok) ok = table_read(&r, t, x->cfg, s) == OO_OK;
  long skipped = 0;
  if (ok && h5_attr_has(&r, "/", "skipped_batches"))
    ok = h5_attr_read_int(&r, "/", "skipped_batches", &skipped) == OO_OK && skipped >= 0 && skipped <= INT_MAX;
  if (!ok) LOG_WARN("ppo: ignoring %s (%s); starting over", partial, oo_error_message());
  h5_close(&r);
  oo_error_clear();
  if (ok) {
    gpt *dst[2] = {x->policy, x->value}, *src[2] = {&pol, &val};
    for (int i = 0; i < 2 && dst[i]; i++) {
      memcpy(dst[i]->params, src[i]->params, sizeof(float) * dst[i]->n_params);
      memcpy(dst[i]->adam_m, src[i]->adam_m, sizeof(float) * dst[i]->n_params);
      memcpy(dst[i]->adam_v, src[i]->adam_v, sizeof(float) * dst[i]->n_params);
      dst[i]->step = src[i]->step;
    }
    *step = s;
    *beta = b;
    x->train.guard.skipped = (int)skipped;
  }
  gpt_free(&pol);
  gpt_free(&val);
  return ok;
}

/* Collective on policy_comm: the models of rank 0 (policy rank 0) to every rollout rank. */
static int share_models(ppo_ctx *x) {
  if (x->roll_rank < 0 || x->comms->policy_size == 1) return OO_OK;
  MPI_Comm pc = x->comms->policy_comm;
  gpt *ms[2] = {x->policy, x->value};
  for (int i = 0; i < 2 && ms[i]; i++) {
    int n = (int)ms[i]->n_params;
    CHECK_MPI(MPI_Bcast(ms[i]->params, n, MPI_FLOAT, 0, pc));
    CHECK_MPI(MPI_Bcast(ms[i]->adam_m, n, MPI_FLOAT, 0, pc));
    CHECK_MPI(MPI_Bcast(ms[i]->adam_v, n, MPI_FLOAT, 0, pc));
    CHECK_MPI(MPI_Bcast(&ms[i]->step, 1, MPI_LONG, 0, pc));
  }
  return OO_OK;
}

static int run_one(oo_run *run, ppo_ctx *x, const ppo_job *j) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *c = &run->comms;
  const int steps = cfg->ppo.steps, is0 = c->rank == 0;
  char path[4400], partial[4400], csv_part[4400], csv_path[4400], pol_path[4400], name[256];
  snprintf(name, sizeof name, "ppo_%s.h5", j->tag);
  CHECK(run_path(run, name, path, sizeof path));
  snprintf(name, sizeof name, "ppo_%s.partial.h5", j->tag);
  CHECK(run_path(run, name, partial, sizeof partial));
  snprintf(name, sizeof name, "ppo_%s.csv", j->tag);
  CHECK(run_path(run, name, csv_path, sizeof csv_path));
  snprintf(name, sizeof name, "ppo_%s.csv.part", j->tag);
  CHECK(run_path(run, name, csv_part, sizeof csv_part));
  snprintf(name, sizeof name, "ppo_%s_policy.h5", j->tag);
  CHECK(run_path(run, name, pol_path, sizeof pol_path));

  x->obj = j->obj;
  x->use_gold = !strcmp(cfg->ppo.reward, "gold");
  snprintf(x->train.what, sizeof x->train.what, "ppo %s", j->tag); /* messages, OVEROPT_TEST_NONFINITE */
  x->train.guard.skipped = 0;
  CHECK(reset_models(x));

  ppo_table t;
  memset(&t, 0, sizeof t);
  if (is0) table_alloc(&t, cfg);
  long start = 0;
  double beta = j->beta;
  int resumed = is0 ? try_resume(x, &t, partial, j->hash, &start, &beta) : 0;
  CHECK_MPI(MPI_Bcast(&resumed, 1, MPI_INT, 0, c->world));
  if (resumed) {
    CHECK_MPI(MPI_Bcast(&start, 1, MPI_LONG, 0, c->world));
    CHECK_MPI(MPI_Bcast(&x->train.guard.skipped, 1, MPI_INT, 0, c->world));
    CHECK(share_models(x));
    LOG_INFO("ppo %s: resuming at step %ld of %d from %s", j->tag, start, steps, partial);
  }
  FILE *csv = NULL;
  if (is0) {
    csv = fopen(csv_part, "w");
    REQUIRE(csv, "cannot write '%s': check the run directory's permissions and free space", csv_part);
    csv_header(csv);
    for (long s = 0; s < start; s++) csv_row(csv, &t, s);
  }
  LOG_INFO("ppo %s: objective %s, reward %s, beta %g (%s), %d steps of %d rollouts (minibatch %d, %d epochs) on %d "
           "rollout rank(s), %d RM rank(s), value %s",
           j->tag, obj_name(j->obj.kind), cfg->ppo.reward, j->beta, cfg->ppo.kl_mode, steps, cfg->ppo.batch,
           cfg->ppo.minibatch, cfg->ppo.epochs, run->layout.n_rollout, run->layout.n_rm, cfg->ppo.value);
  oo_progress prog;
  char what[96];
  snprintf(what, sizeof what, "ppo %s", j->tag);
  oo_progress_start(&prog, what, steps, "step");
  const int adaptive = !strcmp(cfg->ppo.kl_mode, "adaptive");
  const gpt_optim opt = ppo_optim(cfg); /* the schedule of cmd.lr */
  double sum_t[6] = {0, 0, 0, 0, 0, 0}; /* generate, score, update, eval, mpi, step */
  int rc = OO_OK;
  long s;
  for (s = start; s < steps; s++) { /* no allocation in this loop */
    double ts = oo_now();
    ppo_cmd cmd = {s, 0, beta, 0};
    int stop = oo_stop_requested(c->world);
    if (is0) {
      cmd.lr = gpt_optim_lr(&opt, s);
      cmd.stop = stop;
    }
    rc = ppo_bcast_cmd(x, &cmd);
    if (rc || cmd.stop) break;
    ppo_eval_metrics ev, *evp = NULL;
    double te = oo_now();
    if (eval_due(cfg, s)) {
      rc = ppo_eval(x, &ev);
      if (rc) break;
      evp = &ev;
    }
    te = oo_now() - te;
    ppo_metrics m;
    const int skipped0 = x->train.guard.skipped;
    rc = ppo_step(x, &cmd, &m);
    if (rc) break;
    if (is0 && x->train.guard.skipped != skipped0)
      metrics_emit(prog.what, s, "skipped_batches", (double)x->train.guard.skipped, NULL);
    if (is0) {
      double tstep = oo_now() - ts;
      table_row(&t, cfg, s, &cmd, &m, evp, te, tstep);
      csv_row(csv, &t, s);
      double kl = t.col[COL_KL][s];
      char extra[200];
      snprintf(extra, sizeof extra, "%s %.3f proxy %.3f gold %.3f%s beta %.3g", cfg->ppo.kl_estimator, kl, m.proxy,
               m.gold, evp ? " (eval)" : "", cmd.beta);
      oo_progress_update(&prog, s + 1, (double)(s + 1 - start), extra);
      double row[N_COL]; /* every per-step metric of ppo_<tag>.h5 */
      for (int c = 0; c < N_COL; c++) row[c] = t.col[c][s];
      metrics_row(prog.what, s, col_names + 1, row + 1, N_COL - 1); /* col 0 is the step */
      double add[6] = {m.t_generate, m.t_score, m.t_update, te, m.t_mpi, tstep};
      for (int i = 0; i < 6; i++) sum_t[i] += add[i];
      if (adaptive) beta = ppo_kl_adaptive(beta, kl, cfg->ppo.kl_target, 1, cfg->ppo.kl_horizon);
    }
  }
  if (csv) { /* every write, the flush, the fsync and the close checked (#12): a full disk is an error */
    int bad = ferror(csv) || fflush(csv) != 0 || fsync(fileno(csv)) != 0;
    int err = errno;
    if (fclose(csv) != 0 && !bad) bad = 1, err = errno;
    if (bad) unlink(csv_part);
    if (bad && !rc) rc = oo_error_at(__FILE__, __LINE__, "cannot write '%s': %s", csv_part, strerror(err));
  }
  if (!rc && s < steps) { /* stopped at the boundary of step s */
    if (is0) rc = write_results(run, x, j, &t, partial, s, beta, 1);
    if (is0) table_free(&t);
    CHECK(oo_agree(c->world, rc, "rank 0 could not write the state to resume PPO"));
    LOG_INFO("ppo %s: stopped at step %ld of %d; %s holds the state to resume", j->tag, s, steps, partial);
    return OO_OK; /* oo_stopped(): the stage ends here */
  }
  if (!rc && is0) {
    long done = steps - start;
    if (done > 0)
      LOG_INFO("ppo %s: per step %.3f s: generate %.3f, score %.3f, update %.3f, eval %.3f; MPI (own collectives) "
               "%.3f s = %.1f%%",
               j->tag, sum_t[5] / done, sum_t[0] / done, sum_t[1] / done, sum_t[2] / done, sum_t[3] / done,
               sum_t[4] / done, sum_t[5] > 0 ? 100.0 * sum_t[4] / sum_t[5] : 0.0);
    LOG_INFO("ppo %s: final %s %.3f, proxy %.3f, gold %.3f (step 0: %s %.3f, proxy %.3f, gold %.3f)", j->tag,
             cfg->ppo.kl_estimator, t.col[COL_KL][steps - 1], t.col[COL_PROXY][steps - 1],
             t.col[COL_GOLD][steps - 1], cfg->ppo.kl_estimator, t.col[COL_KL][0], t.col[COL_PROXY][0],
             t.col[COL_GOLD][0]);
    if (x->train.guard.skipped)
      LOG_WARN("ppo %s: %d minibatch%s with a non-finite loss or gradient skipped (run.skip_nonfinite = %d)", j->tag,
               x->train.guard.skipped, x->train.guard.skipped == 1 ? "" : "es", cfg->run.skip_nonfinite);
    rc = write_policy(run, j->hash, x->policy, pol_path);
    if (!rc && rename(csv_part, csv_path) != 0)
      rc = oo_error_at(__FILE__, __LINE__, "cannot rename '%s' to '%s'", csv_part, csv_path);
    if (!rc) rc = write_results(run, x, j, &t, path, steps, beta, 0);
    if (!rc) unlink(partial);
  }
  if (is0) table_free(&t);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  CHECK(oo_agree(c->world, rc, "rank 0 could not write the PPO results")); /* rank 0 finished writing */
  return OO_OK;
}

/* ---- the stage -------------------------------------------------------------------------------- */

int stage_ppo(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *c = &run->comms;
  const oo_layout *lay = &run->layout;
  const int nb = cfg->ppo.n_betas, nj = cfg->ppo.n_objectives * nb;
  REQUIRE(nj >= 1, "ppo.objectives and ppo.betas must each name at least one value");
  ppo_job *jobs = xcalloc((size_t)nj, sizeof(ppo_job));
  int n_todo = 0;
  int *todo = xcalloc((size_t)nj, sizeof(int));
  int rc = OO_OK;
  for (int o = 0; o < cfg->ppo.n_objectives && !rc; o++)
    for (int b = 0; b < nb && !rc; b++) {
      ppo_job *j = &jobs[o * nb + b];
      rc = obj_parse(&j->obj.kind, cfg->ppo.objectives[o]);
      j->obj.lambda = cfg->ppo.uwo_lambda;
      j->obj.tau = cfg->ppo.softmin_tau;
      j->obj.member = cfg->ppo.member;
      j->beta = cfg->ppo.betas[b];
      j->index = o * nb + b;
      if (nb > 1) snprintf(j->tag, sizeof j->tag, "%s_beta%g", cfg->ppo.objectives[o], j->beta);
      else snprintf(j->tag, sizeof j->tag, "%s", cfg->ppo.objectives[o]);
      job_hash(cfg, run->inputs_hash, j);
      char file[128];
      snprintf(file, sizeof file, "ppo_%s.h5", j->tag);
      if (!run->force && artifact_current_all(run, run->scope, file, j->hash))
        LOG_INFO("ppo %s: %s is up to date, skipped", j->tag, file);
      else todo[n_todo++] = o * nb + b;
    }
  if (rc || n_todo == 0) {
    xfree(&jobs);
    xfree(&todo);
    if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
    return OO_OK;
  }

  /* Prompts (every rank), models by role. */
  int *train_p = NULL, *eval_p = NULL, n_train = 0, n_eval = 0;
  uint64_t *train_s = NULL, *eval_s = NULL;
  gpt ref, policy, value;
  memset(&ref, 0, sizeof ref);
  memset(&policy, 0, sizeof policy);
  memset(&value, 0, sizeof value);
  rm_ensemble ens;
  memset(&ens, 0, sizeof ens);
  gold_model gold, warm;
  memset(&gold, 0, sizeof gold);
  memset(&warm, 0, sizeof warm);
  int any_warm = 0;
  for (int o = 0; o < cfg->ppo.n_objectives; o++) any_warm |= !strcmp(cfg->ppo.objectives[o], "warm");
  ppo_ctx x;
  memset(&x, 0, sizeof x);
  int ctx_ready = 0;
  char path[4400];
  rc = sample_prompts(cfg, PROMPTS_PPO_TRAIN, &train_p, &train_s, &n_train);
  if (!rc) rc = sample_prompts(cfg, PROMPTS_PPO_EVAL, &eval_p, &eval_s, &n_eval);
  const oo_rank_role *me = &lay->ranks[c->rank];
  if (!rc && me->is_rollout) {
    rc = pretrain_lm_path(run, &cfg->pretrain.policy, path, sizeof path);
    if (!rc) rc = gpt_load(&ref, path, GPT_LM);
    const int head = !strcmp(cfg->ppo.value, "head");
    if (!rc) rc = gpt_create(&policy, ref.d, head ? GPT_LM_VALUE : GPT_LM);
    if (!rc && !head) rc = gpt_create(&value, ref.d, GPT_VALUE);
  }
  if (!rc) rc = run_path(run, "rm.h5", path, sizeof path);
  if (!rc)
    rc = rm_ensemble_load(&ens, path, lay, c->rank, cfg->rm.k, cfg->pretrain.n_ctx, cfg->rm.size.d_model,
                          cfg->rm.size.n_layer, cfg->rm.size.n_head);
  if (!rc && me->is_rm) {
    rc = run_world_path(run, "gold.h5", path, sizeof path);
    if (!rc) rc = gold_load(&gold, path);
    if (!rc && any_warm) rc = run_path(run, "rm.h5", path, sizeof path);
    if (!rc && any_warm) rc = rm_warm_load(&warm, path);
  }
  if (!rc) {
    x.cfg = cfg;
    x.comms = c;
    x.lay = lay;
    x.policy = me->is_rollout ? &policy : NULL;
    x.ref = me->is_rollout ? &ref : NULL;
    x.value = me->is_rollout && strcmp(cfg->ppo.value, "head") ? &value : NULL;
    x.ens = &ens;
    x.gold = &gold;
    x.warm = any_warm ? &warm : NULL;
    x.train_prompts = train_p;
    x.n_train = n_train;
    x.eval_prompts = eval_p;
    x.n_eval = n_eval;
    rc = ppo_ctx_init(&x);
    ctx_ready = !rc;
  }
  LOG_INFO("ppo: %d run(s) to do, %d PPO training prompts, %d eval prompts", n_todo, n_train, n_eval);
  for (int i = 0; i < n_todo && !rc && !oo_stopped(); i++) {
    rc = run_one(run, &x, &jobs[todo[i]]);
  }
  if (ctx_ready) ppo_ctx_free(&x);
  gpt_free(&ref);
  gpt_free(&policy);
  gpt_free(&value);
  rm_ensemble_free(&ens);
  if (me->is_rm) gold_free(&gold);
  gold_free(&warm);
  xfree(&train_p);
  xfree(&train_s);
  xfree(&eval_p);
  xfree(&eval_s);
  xfree(&jobs);
  xfree(&todo);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}
