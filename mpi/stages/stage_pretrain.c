/* stage_pretrain: trains the byte-level base LMs (the policy size, the proxy RM size and, for a
 * `teacher` gold, the gold size) on the corpus, data-parallel over every rank.
 *
 * Invariants:
 * - The global batch is pretrain.batch rows; row i of step s is a window drawn from the stream
 *   keyed (world_seed, RNG_DATA, s, i), so the data does not depend on the rank count. Rank r trains
 *   rows [r*B/P, (r+1)*B/P); gradients are scaled by rows/B and summed over world, so every rank
 *   holds the gradient of the global mean loss and takes the same AdamW step.
 * - lm_<size>.h5 carries config_hash = hash(run.world_seed, corpus.*, pretrain.*, the corpus's
 *   content, size, steps); a file
 *   with the matching hash is skipped. lm_<size>.partial.h5 (with AdamW state) is written at
 *   every eval and on a stop request, and resumed from when its hash matches.
 * - Rank 0 also writes lm_<size>_train.csv (step,loss,lr: every step's global mean training loss
 *   in nats and its learning rate; the progress lines are rate-limited and show an EMA) next to
 *   the checkpoint when the LM is finished, before it (lm_<size>.h5 records its content hash).
 *   The partial file keeps the rows of the steps done (train_log/loss, train_log/lr), so after a
 *   resume the table holds every step, as an uninterrupted run's does (#12).
 * - A `teacher` gold's LM is its own job, lm_teacher_<gold size>.h5, initialized and fed from
 *   its own seed (keyed by the file's name, as a trunk): even at π_init's size it is a separate
 *   model, and gold.teacher_steps never changes π_init. (Until 2026-11-27 the two shared
 *   lm_<size>.h5 when the sizes matched, as the quickstart's do: π_init was then trained for
 *   max(pretrain.steps, gold.teacher_steps) steps and the gold was π_init's own likelihood.)
 * - stage_trunks (rm.diversity pretrain, issue #15): member m >= 1 fine-tunes its own trunk
 *   lm_<size>_trunk<m>.h5, pretrained like lm_<size>.h5 but from its own seed (initialization
 *   and data stream keyed by the file's name), on the member's ranks (member_comm[m]) while the
 *   other members' ranks pretrain theirs; member 0 keeps lm_<size>.h5. Each trunk's data is
 *   keyed by (seed, step, row) like the base LM's, so it does not depend on the rank count.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "core/metrics.h"
#include "data/corpus.h"
#include "model/gpt.h"
#include "run.h"
#include "train_step.h"

typedef struct {
  cfg_size size;      /* model size */
  int steps;          /* optimizer steps */
  char name[48];      /* e.g. d128L4H4, or d64L2H4_trunk1 for a member's own trunk */
  uint64_t data_seed; /* key of the training windows' streams: run.world_seed for the base LMs */
} lm_job;

/* The checkpoint file of an LM job, lm_<name>.h5, in the world directory. */
static int lm_job_file(const lm_job *job, char *out, size_t cap) {
  int n = snprintf(out, cap, "lm_%s.h5", job->name);
  REQUIRE(n > 0 && (size_t)n < cap, "internal: LM file name lm_%s.h5 too long", job->name);
  return OO_OK;
}

/* hash(name, run.world_seed): every LM's initialization, and the data stream of an LM that must
 * not share π_init's (a member's trunk, a teacher). */
static uint64_t own_seed(const oo_config *cfg, const lm_job *job) {
  return oo_hash_bytes(job->name, strlen(job->name), (uint64_t)cfg->run.world_seed);
}

static const char *const pretrain_keys[] = {"run.world_seed", "corpus.", "pretrain.", NULL};

static void lm_hash(const oo_run *run, const lm_job *job, char out[32]) {
  uint64_t h = cfg_hash(&run->cfg, pretrain_keys);
  h = oo_hash_bytes(&run->inputs_hash, sizeof run->inputs_hash, h); /* the corpus's content (run.h) */
  h = oo_hash_bytes(job->name, strlen(job->name), h);
  h = oo_hash_bytes(&job->steps, sizeof job->steps, h);
  snprintf(out, 32, "%016llx", (unsigned long long)h);
}

/* Mean validation loss over a fixed set of windows, split over ranks (collective on world).
 * NaN without a validation split (corpus.val_fraction = 0): every rank holds the same corpus,
 * so every rank returns before the collective. */
static float validation_loss(gpt *m, const oo_corpus *c, const oo_run *run, MPI_Comm comm, int rows, int T, int *tok,
                             int *tgt) {
  int rank, size;
  CHECK_MPI_DIE(MPI_Comm_rank(comm, &rank));
  CHECK_MPI_DIE(MPI_Comm_size(comm, &size));
  if (c->split_n[CORPUS_VAL] == 0) return NAN;
  int n_eval = 2 * run->cfg.pretrain.batch;
  double sum = 0;
  for (int base = 0; base < n_eval; base += size * rows) {
    int mine = 0;
    for (int i = 0; i < rows; i++) {
      int row = base + rank * rows + i;
      if (row >= n_eval) break;
      oo_rng r = oo_rng_make((uint64_t)run->cfg.run.world_seed, RNG_DATA, 1000000007ULL, (uint64_t)row);
      corpus_lm_batch(c, CORPUS_VAL, &r, 1, T, tok + (size_t)i * T, tgt + (size_t)i * T);
      mine++;
    }
    if (mine > 0) {
      gpt_forward(m, tok, mine, T);
      sum += (double)gpt_cross_entropy(gpt_logits(m), tgt, mine * T, GPT_VOCAB, NULL) * mine;
    }
  }
  CHECK_MPI_DIE(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, comm)); /* returns a loss, not a status */
  return (float)(sum / n_eval);
}

/* The leader (rank 0 of the LM's communicator): the LM to path; with_optim (a partial file) adds
 * the AdamW state and the training log of steps [0, m->step) (loss, lr: (steps) each). */
static int save_lm(const oo_run *run, int leader, const gpt *m, const char *path, const char *hash, int with_optim,
                   float val_loss, const double *loss, const float *lr, int skipped) {
  if (!leader) return OO_OK;
  h5_writer w;
  CHECK(h5_create(&w, path));
  int rc = gpt_write(m, &w, "", with_optim);
  if (!rc && with_optim && m->step > 0) {
    long n = m->step;
    double *lr64 = xmalloc(sizeof(double) * (size_t)n);
    for (long s = 0; s < n; s++) lr64[s] = lr[s];
    rc = h5_write_f64(&w, "train_log/loss", 1, &n, loss);
    if (!rc) rc = h5_write_f64(&w, "train_log/lr", 1, &n, lr64);
    xfree(&lr64);
  }
  if (!rc) rc = run_stamp_hash(run, &w, hash);
  if (!rc && !isnan(val_loss)) rc = h5_attr_write_double(&w, "/", "val_loss", val_loss); /* absent: no validation */
  if (!rc && skipped > 0) rc = h5_attr_write_int(&w, "/", "skipped_batches", skipped); /* absent: none */
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

/* The leader: rows step,loss,lr for steps first+1 .. last (loss/lr indexed by step - 1), written
 * atomically. */
static int write_train_csv(const oo_run *run, int leader, const lm_job *job, const double *loss, const float *lr,
                           long first, long last) {
  if (!leader) return OO_OK;
  char path[4400];
  snprintf(path, sizeof path, "%s/lm_%s_train.csv", run->world_dir, job->name);
  atomic_file af;
  CHECK(atomic_open(&af, path));
  fprintf(af.f, "step,loss,lr\n");
  for (long s = first; s < last; s++) {
    if (lr[s] == 0.0f) fprintf(af.f, "%ld,nan,0\n", s + 1); /* a skipped batch (run.skip_nonfinite) */
    else fprintf(af.f, "%ld,%.9g,%.9g\n", s + 1, loss[s], (double)lr[s]);
  }
  CHECK(atomic_commit(&af));
  return OO_OK;
}

/* The training log of steps [0, step) from a partial file into loss/lr; 0 if it has none (a file
 * of an older version: the table then starts at the resume step). */
static int read_train_log(h5_reader *r, long step, double *loss, float *lr) {
  if (step <= 0 || !h5_has(r, "train_log/loss") || !h5_has(r, "train_log/lr")) return 0;
  double *lr64 = xmalloc(sizeof(double) * (size_t)step);
  int ok = h5_read_f64(r, "train_log/loss", 1, &step, loss) == OO_OK &&
           h5_read_f64(r, "train_log/lr", 1, &step, lr64) == OO_OK;
  for (long s = 0; ok && s < step; s++) lr[s] = (float)lr64[s];
  xfree(&lr64);
  if (!ok) oo_error_clear();
  return ok;
}

static int try_resume(gpt *m, const char *partial, const char *hash, double *loss, float *lr, int *have_log) {
  h5_reader r;
  if (!resume_open(&r, partial, hash, "pretrain", "starting at step 0")) return 0;
  int ok = 1;
  gpt tmp;
  memset(&tmp, 0, sizeof tmp);
  if (gpt_read(&tmp, &r, "", GPT_LM, 1) != OO_OK) {
    ok = 0;
    LOG_WARN("pretrain: not resuming from '%s' (starting at step 0): %s", partial, oo_error_message());
  }
  *have_log = ok && tmp.n_params == m->n_params && read_train_log(&r, tmp.step, loss, lr);
  h5_close(&r);
  oo_error_clear();
  if (!ok) return 0;
  if (tmp.n_params != m->n_params) {
    gpt_free(&tmp);
    return 0;
  }
  memcpy(m->params, tmp.params, m->n_params * sizeof(float));
  memcpy(m->adam_m, tmp.adam_m, m->n_params * sizeof(float));
  memcpy(m->adam_v, tmp.adam_v, m->n_params * sizeof(float));
  m->step = tmp.step;
  gpt_free(&tmp);
  return 1;
}

/* Collective on comm: trains job data-parallel over comm's ranks, its rank 0 writing the files. */
static int train_lm(oo_run *run, const oo_corpus *corpus, const lm_job *job, const char *path, const char *hash,
                    MPI_Comm comm) {
  const oo_config *cfg = &run->cfg;
  int crank, csize;
  CHECK_MPI(MPI_Comm_rank(comm, &crank));
  CHECK_MPI(MPI_Comm_size(comm, &csize));
  const int leader = crank == 0;
  int Bg = cfg->pretrain.batch, T = cfg->pretrain.n_ctx;
  REQUIRE(Bg >= csize, "pretrain.batch = %d is smaller than the %d ranks: raise pretrain.batch", Bg, csize);
  int r0 = crank * Bg / csize, r1 = (crank + 1) * Bg / csize, rows = r1 - r0;
  gpt_dims d = {GPT_VOCAB, T, job->size.d_model, job->size.n_layer, job->size.n_head};
  gpt m;
  CHECK(gpt_create(&m, d, GPT_LM));
  gpt_init_weights(&m, own_seed(cfg, job), 0.02f, 0.0f);
  gpt_alloc_train(&m);
  int rows_cap = rows > 0 ? rows : 1;
  gpt_reserve(&m, rows_cap, T);
  int *tok = xmalloc(sizeof(int) * (size_t)rows_cap * T);
  int *tgt = xmalloc(sizeof(int) * (size_t)rows_cap * T);
  double *step_loss = xcalloc((size_t)job->steps + 1, sizeof(double)); /* (steps) for the train CSV */
  float *step_lr = xcalloc((size_t)job->steps + 1, sizeof(float));     /* (steps) */
  char partial[4400];
  snprintf(partial, sizeof partial, "%s/lm_%s.partial.h5", run->world_dir, job->name);
  int have_log = 0; /* rank 0: step_loss/step_lr hold the steps before the resume */
  int resumed = leader ? try_resume(&m, partial, hash, step_loss, step_lr, &have_log) : 0;
  CHECK_MPI(MPI_Bcast(&resumed, 1, MPI_INT, 0, comm));
  if (resumed) {
    CHECK_MPI(MPI_Bcast(m.params, (int)m.n_params, MPI_FLOAT, 0, comm));
    CHECK_MPI(MPI_Bcast(m.adam_m, (int)m.n_params, MPI_FLOAT, 0, comm));
    CHECK_MPI(MPI_Bcast(m.adam_v, (int)m.n_params, MPI_FLOAT, 0, comm));
    CHECK_MPI(MPI_Bcast(&m.step, 1, MPI_LONG, 0, comm));
    LOG_INFO("pretrain %s: resuming at step %ld from %s", job->name, m.step, partial);
  }
  LOG_INFO("pretrain %s: %zu parameters, %d steps of %d x %d tokens, unigram entropy %.3f bits/byte", job->name,
           m.n_params, job->steps, Bg, T, corpus_unigram_entropy_bits(corpus));
  oo_progress prog;
  char what[64];
  snprintf(what, sizeof what, "pretrain %s", job->name);
  oo_progress_start(&prog, what, job->steps, "tok");
  long start_step = m.step;
  float loss_ema = NAN, val = NAN;
  int rc = OO_OK;
  const gpt_optim opt = {(float)cfg->pretrain.lr, (float)cfg->pretrain.lr * 0.1f, cfg->pretrain.warmup, job->steps,
                         (float)cfg->pretrain.weight_decay, (float)cfg->pretrain.grad_clip};
  train_step_ctx ts;
  train_step_init(&ts, what, comm, run->comms.rank, &opt, cfg->run.skip_nonfinite);
  if (resumed) { /* the batches skipped before: rows of lr 0 in rank 0's train_log */
    for (long s = 0; s < m.step; s++) ts.guard.skipped += have_log && step_lr[s] == 0.0f;
    CHECK_MPI(MPI_Bcast(&ts.guard.skipped, 1, MPI_INT, 0, comm));
  }
  while (m.step < job->steps) {
    long s = m.step;
    for (int i = 0; i < rows; i++) {
      oo_rng r = oo_rng_make(job->data_seed, RNG_DATA, (uint64_t)s, (uint64_t)(r0 + i));
      corpus_lm_batch(corpus, CORPUS_TRAIN, &r, 1, T, tok + (size_t)i * T, tgt + (size_t)i * T);
    }
    gpt_zero_grad(&m);
    double loss = 0;
    if (rows > 0) {
      gpt_forward(&m, tok, rows, T);
      float *dl = gpt_dlogits_buffer(&m);
      loss = gpt_cross_entropy(gpt_logits(&m), tgt, rows * T, GPT_VOCAB, dl) * (double)rows / Bg;
      gpt_backward(&m, dl);
    }
    gpt *models[1] = {&m};
    const float lr = gpt_optim_lr(&opt, s);
    rc = train_step(&ts, models, 1, (float)rows / (float)Bg, &loss, 1, 1.0, s + 1, lr);
    if (rc) break; /* the same on every rank: all stop */
    /* a skipped batch is the table row "loss nan, lr 0" (no update); train_log keeps 0, 0 (finite) */
    step_loss[s] = ts.skipped_last ? 0.0 : loss;
    step_lr[s] = ts.skipped_last ? 0.0f : lr;
    if (!ts.skipped_last) loss_ema = isnan(loss_ema) ? (float)loss : 0.9f * loss_ema + 0.1f * (float)loss;
    int last = m.step == job->steps;
    int eval = cfg->pretrain.eval_every > 0 && (m.step % cfg->pretrain.eval_every == 0 || last);
    if (eval) val = validation_loss(&m, corpus, run, comm, rows_cap, T, tok, tgt);
    char extra[160];
    snprintf(extra, sizeof extra, "loss %.4f (%.3f bits/byte) val %.4f lr %.2e", loss_ema, loss_ema / 0.69314718055994531,
             val, step_lr[s]);
    oo_progress_update(&prog, m.step, (double)(m.step - start_step) * Bg * T, extra);
    metrics_emit(prog.what, m.step - 1, "loss", loss, "loss_ema", (double)loss_ema, "val_loss", eval ? (double)val : NAN,
                 "lr", (double)step_lr[s], "skipped_batches", (double)ts.guard.skipped, NULL);
    if (eval && !last) {
      rc = oo_agree(comm, save_lm(run, leader, &m, partial, hash, 1, val, step_loss, step_lr, ts.guard.skipped),
                    "rank 0 could not save the pretraining checkpoint");
      if (rc) break;
    }
    if (!last && oo_stop_requested(comm)) {
      rc = oo_agree(comm, save_lm(run, leader, &m, partial, hash, 1, val, step_loss, step_lr, ts.guard.skipped),
                    "rank 0 could not save the pretraining checkpoint");
      break; /* oo_stopped(): the stage ends after this LM */
    }
  }
  if (!rc && !oo_stopped()) {
    if (isnan(val)) val = validation_loss(&m, corpus, run, comm, rows_cap, T, tok, tgt);
    if (isnan(val))
      LOG_INFO("pretrain %s: final train loss %.4f, no validation (corpus.val_fraction = 0)", job->name, loss_ema);
    else
      LOG_INFO("pretrain %s: final train loss %.4f, validation loss %.4f (%.3f bits/byte)", job->name, loss_ema, val,
               val / 0.69314718055994531);
    if (ts.guard.skipped)
      LOG_WARN("pretrain %s: %d batch%s with a non-finite loss or gradient skipped (run.skip_nonfinite = %d)", job->name,
               ts.guard.skipped, ts.guard.skipped == 1 ? "" : "es", cfg->run.skip_nonfinite);
    /* the table first: lm_<size>.h5 records its content hash (artifact.h) */
    rc = write_train_csv(run, leader, job, step_loss, step_lr, have_log ? 0 : start_step, m.step);
    if (!rc) rc = save_lm(run, leader, &m, path, hash, 0, val, NULL, NULL, ts.guard.skipped);
    rc = oo_agree(comm, rc, "rank 0 could not write the pretrained LM");
    if (!rc && leader) unlink(partial);
  }
  xfree(&step_loss);
  xfree(&step_lr);
  xfree(&tok);
  xfree(&tgt);
  gpt_free(&m);
  CHECK(rc);
  return OO_OK;
}

/* A teacher gold's LM: lm_teacher_<gold size>.h5, its initialization and data stream keyed by
 * hash(name, run.world_seed) like a trunk's, so it is never π_init (see the file comment). */
static void teacher_job(const oo_config *cfg, lm_job *job) {
  char size[32];
  cfg_size_name(&cfg->gold.size, size, sizeof size);
  job->size = cfg->gold.size;
  job->steps = cfg->gold.teacher_steps;
  snprintf(job->name, sizeof job->name, "teacher_%s", size);
  job->data_seed = own_seed(cfg, job);
}

/* The LMs this config needs: π_init, the proxies' base LM when they start from it (rm.init =
 * pretrained; the same file as π_init's when the sizes match) and a teacher gold's own LM. */
static int lm_jobs(const oo_config *cfg, lm_job jobs[3]) {
  int n = 0;
  const int rm_lm = strcmp(cfg->rm.init, "pretrained") == 0;
  const cfg_size *sizes[2] = {&cfg->pretrain.policy, rm_lm ? &cfg->rm.size : NULL};
  for (int i = 0; i < 2; i++) {
    if (!sizes[i]) continue;
    char name[32];
    cfg_size_name(sizes[i], name, sizeof name);
    if (n == 1 && strcmp(jobs[0].name, name) == 0) continue;
    jobs[n].size = *sizes[i];
    jobs[n].steps = cfg->pretrain.steps;
    jobs[n].data_seed = (uint64_t)cfg->run.world_seed;
    snprintf(jobs[n].name, sizeof jobs[n].name, "%s", name);
    n++;
  }
  if (strcmp(cfg->gold.kind, "teacher") == 0) teacher_job(cfg, &jobs[n++]);
  return n;
}

int pretrain_teacher_file(const oo_config *cfg, char *out, size_t cap) {
  lm_job job;
  teacher_job(cfg, &job);
  return lm_job_file(&job, out, cap);
}

int pretrain_teacher_path(const oo_run *run, char *out, size_t cap) {
  char file[80];
  CHECK(pretrain_teacher_file(&run->cfg, file, sizeof file));
  return run_world_path(run, file, out, cap);
}

int pretrain_lm_path(const oo_run *run, const cfg_size *size, char *out, size_t cap) {
  lm_job job = {.size = *size};
  char file[80];
  cfg_size_name(size, job.name, sizeof job.name);
  CHECK(lm_job_file(&job, file, sizeof file));
  return run_world_path(run, file, out, cap);
}

int stage_pretrain(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  lm_job jobs[3];
  int n = lm_jobs(cfg, jobs);
  oo_corpus corpus;
  int corpus_loaded = 0;
  for (int j = 0; j < n; j++) {
    char hash[32], path[4400];
    lm_hash(run, &jobs[j], hash);
    char file[80];
    CHECK(lm_job_file(&jobs[j], file, sizeof file));
    CHECK(run_world_path(run, file, path, sizeof path));
    int current = !run->force && artifact_current_all(run, run->scope, file, hash);
    if (current) {
      LOG_INFO("pretrain %s: %s is up to date, skipped", jobs[j].name, path);
      continue;
    }
    if (!corpus_loaded) {
      CHECK(corpus_load(&corpus, cfg->corpus.path, cfg->corpus.delimiter, cfg->corpus.min_doc_bytes));
      CHECK(corpus_split(&corpus, cfg->corpus.val_fraction, (uint64_t)cfg->run.world_seed));
      corpus_loaded = 1;
      LOG_INFO("corpus %s: %d documents (%d train, %d validation), %ld bytes", cfg->corpus.path, corpus.n_docs,
               corpus.split_n[CORPUS_TRAIN], corpus.split_n[CORPUS_VAL], corpus.n_bytes);
    }
    int rc = train_lm(run, &corpus, &jobs[j], path, hash, run->comms.world);
    if (rc || oo_stopped()) { /* stopped: the remaining LMs on rerun */
      corpus_free(&corpus);
      return rc ? oo_error_trace(rc, __FILE__, __LINE__) : OO_OK;
    }
  }
  if (corpus_loaded) corpus_free(&corpus);
  return OO_OK;
}

/* ---- each member's own trunk (rm.diversity pretrain, issue #15) ----------------------------- */

int pretrain_trunks_wanted(const oo_config *cfg) {
  for (int i = 0; i < cfg->rm.n_diversity; i++)
    if (!strcmp(cfg->rm.diversity[i], "pretrain")) return 1;
  return 0;
}

/* Member m's trunk: lm_<size>.h5 for m = 0, lm_<size>_trunk<m>.h5 for m >= 1. Its initialization
 * (train_lm) and its data stream are both keyed by hash(name, run.world_seed). */
static void trunk_job(const oo_config *cfg, int m, lm_job *job) {
  char size[32];
  cfg_size_name(&cfg->rm.size, size, sizeof size);
  job->size = cfg->rm.size;
  job->steps = cfg->pretrain.steps;
  if (m == 0) snprintf(job->name, sizeof job->name, "%s", size);
  else snprintf(job->name, sizeof job->name, "%s_trunk%d", size, m);
  job->data_seed = m == 0 ? (uint64_t)cfg->run.world_seed : own_seed(cfg, job);
}

int pretrain_trunk_file(const oo_config *cfg, int m, char *out, size_t cap) {
  lm_job job;
  trunk_job(cfg, m, &job);
  return lm_job_file(&job, out, cap);
}

int pretrain_trunk_path(const oo_run *run, int m, char *out, size_t cap) {
  char file[80];
  CHECK(pretrain_trunk_file(&run->cfg, m, file, sizeof file));
  return run_world_path(run, file, out, cap);
}

/* Collective on the world. The trunks of members 1..k-1 not up to date (stamped with the stage's
 * hash) are trained, each data-parallel on its member's ranks, the members' ranks side by side;
 * a rank that hosts several members trains theirs one after the other. */
int stage_trunks(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  if (!pretrain_trunks_wanted(cfg)) {
    LOG_INFO("trunks: rm.diversity has no \"pretrain\" (members share their initial trunk), nothing to do");
    return OO_OK;
  }
  const int K = cfg->rm.k, rank = run->comms.rank;
  const oo_layout *lay = &run->layout;
  int *todo = xcalloc((size_t)K, sizeof(int));
  int n_todo = 0, mine = 0;
  for (int m = 1; m < K; m++) {
    char file[80];
    CHECK(pretrain_trunk_file(cfg, m, file, sizeof file));
    todo[m] = run->force || !run_artifact_current_all(run, file);
    if (!todo[m]) LOG_INFO("trunks: %s is up to date, skipped", file);
    n_todo += todo[m];
    mine |= todo[m] && lay->ranks[rank].is_rm && layout_replica(lay, rank, m) >= 0;
  }
  oo_corpus corpus;
  memset(&corpus, 0, sizeof corpus);
  int rc = OO_OK;
  double t0 = oo_now();
  if (n_todo > 0)
    LOG_INFO("trunks: pretraining %d member trunk%s of %s on the members' ranks (%d steps each)", n_todo,
             n_todo == 1 ? "" : "s", "rm.size", cfg->pretrain.steps);
  if (mine) {
    rc = corpus_load(&corpus, cfg->corpus.path, cfg->corpus.delimiter, cfg->corpus.min_doc_bytes);
    if (!rc) rc = corpus_split(&corpus, cfg->corpus.val_fraction, (uint64_t)cfg->run.world_seed);
    for (int m = 1; m < K && !rc; m++) {
      if (!todo[m] || layout_replica(lay, rank, m) < 0) continue;
      lm_job job;
      trunk_job(cfg, m, &job);
      char path[4400];
      rc = pretrain_trunk_path(run, m, path, sizeof path);
      /* after a stop the next members are still entered, so their replicas learn of it at the
       * first step (train_lm asks its member's ranks) instead of waiting for this rank */
      if (!rc) rc = train_lm(run, &corpus, &job, path, run->stage_hash, run->comms.member_comm[m]);
    }
    corpus_free(&corpus);
  }
  xfree(&todo);
  if (rc) oo_mpi_die(rc); /* a trunk failed on this rank while other members' ranks may be in collectives */
  if (oo_stop_requested(run->comms.world)) return OO_OK; /* oo_stopped(): the run ends after this stage */
  if (n_todo > 0) LOG_INFO("trunks: %d trunk%s pretrained in %.1f s", n_todo, n_todo == 1 ? "" : "s", oo_now() - t0);
  return OO_OK;
}
