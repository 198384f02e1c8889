/* stage_rm: trains the k proxy reward models on the gold-labelled preference pairs.
 *
 * Invariants:
 * - Member m starts from the pretrained LM of rm.size (rm.init = pretrained; with rm.diversity
 *   pretrain, member m >= 1 from its own trunk lm_<size>_trunk<m>.h5) or from scratch (trunk
 *   keyed by seed and m), with a fresh scalar head; head initialization keyed
 *   (seed, RNG_INIT, 1000 + m), data order keyed (seed, RNG_DATA, 1000 + m, epoch), and with
 *   rm.diversity bootstrap its own resample of the pairs (seed, RNG_DATA, 2000 + m, 0).
 * - Member m trains on member_comm[m]: replica j of n takes rows [j*b/n, (j+1)*b/n) of each
 *   batch of b pairs and the gradients are summed over member_comm[m], so every replica takes the
 *   same step. A rank hosting several members trains them one after another.
 * - After training each member is shifted (and with rm.normalize = zscore, scaled) so the
 *   pi_init responses of the training pairs score mean 0 (std 1).
 * - rm.h5 (written by rank 0): groups member_<m>; metrics/member_<m> (epochs, 4): train loss,
 *   accuracy on training labels, accuracy on clean test labels, agreement with gold on the
 *   training pairs; test_scores (n_test, 2, k); root attributes k, normalize. rm_members.csv too.
 * - rm.warm = true (rm.init = pretrained, so members share the trunk they start from): group warm,
 *   a reward checkpoint whose parameters are the members' element-wise mean (rm_weight_average,
 *   on rank 0 once every member is there), calibrated like a member on the pi_init responses of
 *   the training pairs; attribute warm_test_acc on it (clean test labels).
 * - rm.laplace = true: after training, member m's replicas compute the GGN of its head over the
 *   pairs it trained on (its bootstrap resample with rm.diversity bootstrap; training labels),
 *   each replica its slice, summed over member_comm[m]; laplace_posterior factors it there
 *   (ScaLAPACK from rm.laplace_scalapack_min on). Group laplace/member_<m>: Sigma (C+1,C+1) raw
 *   units, phi_mean (C) the mean feature of both sides of those pairs (variances are taken
 *   relative to it: laplace.h), attributes alpha, log_ml, log_det, solver, grid_rows, grid_cols.
 * - A stop request ends training within a step on every rank however the members are placed
 *   (notice_poll). Once the world agrees, each started member's replica 0 writes
 *   rm.partial.m<m>.h5 (stage hash; parameters with AdamW state and step, attributes epoch/step of
 *   the next step, skipped_batches; datasets metrics (epochs, 4) so far and sums: loss, accuracy
 *   and pairs of that epoch so far); a finished member writes epoch = rm.epochs. A rerun resumes
 *   each member from its file at that step (the data order is keyed by epoch, so the remaining
 *   batches are the same) and gives files bitwise equal to an uninterrupted run's; rank 0
 *   removes the partial files once rm.h5 is written.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "core/metrics.h"
#include "data/prefs.h"
#include "laplace.h"
#include "model/gpt.h"
#include "rlhf/rlhf.h"
#include "run.h"
#include "train_step.h"


enum { MET_LOSS = 0, MET_TRAIN_ACC, MET_TEST_ACC, MET_GOLD_AGREE, N_MET };

typedef struct {
  const prefs_data *pd;    /* the preference pairs as token sequences */
  int *train;              /* (n_train) pair indices of the training split */
  int *test;               /* (n_test) pair indices of the test split */
  int n_train, n_test;     /* counts */
  int Tmax;                /* padded sequence length */
  int *btok;               /* (2*bcap, Tmax) batch tokens */
  int *blen;               /* (2*bcap) */
  float *dout;             /* (2*bcap, Tmax) gradient of the loss w.r.t. the scalar outputs */
  float *sc, *sr, *dc, *dr;/* (bcap) chosen/rejected scores and their gradients */
  int bcap;                /* batch capacity in pairs */
  int stop_sent;           /* this rank sent its stop notice to every other rank (notice_poll) */
  int stop_noticed;        /* a stop notice from another rank has arrived */
  MPI_Request *stop_req;   /* (P) this rank's notice sends */
} rm_work;

/* Where member m's training stands: the next step is step s of epoch ep (ep = rm.epochs: done),
 * and sums hold epoch ep's loss, accuracy and pair count so far (rm.partial.m<m>.h5). */
typedef struct {
  int ep, s;
  double sums[3];
} rm_progress;

#define RM_STOP_TAG 9000 /* a stop notice; tags 100+m and 300+m collect members */

/* Stop requests with members placed unevenly over the ranks (#12): ranks then train different
 * members for different numbers of steps, so no collective is shared by every rank at each step.
 * A rank that gets a signal sends a notice to every other rank of the world at once; every rank
 * probes for one at each training step and while it waits for the others, takes it as its own
 * request (oo_stop_notice), and the replicas of a member agree at each step over member_comm[m]
 * (oo_stop_requested). So one rank's SIGTERM stops every member within a step, wherever it
 * lands (it once took the other members' whole training, and the watchdog ended the waiting rank
 * after 60 s). notice_drain receives every notice sent, so none is left for a later stage. */
static void notice_poll(rm_work *w, const oo_comms *c) {
  static const int one = 1;
  if (!w->stop_sent && !w->stop_noticed && oo_stop_local()) {
    w->stop_sent = 1;
    for (int q = 0; q < c->size; q++)
      if (q != c->rank) CHECK_MPI_DIE(MPI_Isend(&one, 1, MPI_INT, q, RM_STOP_TAG, c->world, &w->stop_req[q]));
  }
  int flag = 0;
  if (!w->stop_noticed) CHECK_MPI_DIE(MPI_Iprobe(MPI_ANY_SOURCE, RM_STOP_TAG, c->world, &flag, MPI_STATUS_IGNORE));
  if (flag) {
    w->stop_noticed = 1;
    oo_stop_notice();
  }
}

/* Collective on world, after training: the MAX over every rank of buf (n ints), polling for
 * notices (and sending this rank's on a signal) while the others still train; then every notice
 * sent is received. Not a watched operation (watchdog.h): with members placed unevenly a rank may
 * wait here as long as the others train, longer than run.watchdog_s in a healthy run (a blocking
 * MPI_Allreduce here once ended such runs); the ranks still training are watched in their
 * members' collectives. */
static int notice_drain(rm_work *w, const oo_comms *c, int *buf, int n) {
  MPI_Request all;
  CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_INT, MPI_MAX, c->world, &all));
  for (int fin = 0; !fin;) {
    notice_poll(w, c);
    CHECK_MPI(MPI_Test(&all, &fin, MPI_STATUS_IGNORE));
    if (!fin) nanosleep(&(struct timespec){0, 1000000}, NULL); /* 1 ms: leave the core to the ranks training */
  }
  int *sent = xmalloc(sizeof(int) * (size_t)c->size);
  int rc = OO_MPI_RC(MPI_Allgather(&w->stop_sent, 1, MPI_INT, sent, 1, MPI_INT, c->world));
  for (int q = 0, x; q < c->size && !rc; q++)
    if (q != c->rank && sent[q]) rc = OO_MPI_RC(MPI_Recv(&x, 1, MPI_INT, q, RM_STOP_TAG, c->world, MPI_STATUS_IGNORE));
  xfree(&sent);
  for (int q = 0; q < c->size && !rc; q++)
    if (w->stop_sent && q != c->rank) rc = OO_MPI_RC(MPI_Wait(&w->stop_req[q], MPI_STATUS_IGNORE));
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* Packs pairs idx[0..b) as two sequences each into w->btok/w->blen, padded to the longest,
 * whose length is returned: (chosen, rejected) by `labels`, or (side 0, side 1) when labels is
 * NULL. */
static int pack_pairs(rm_work *w, const int *idx, int b, const int *labels) {
  int T = 1;
  for (int j = 0; j < b; j++)
    for (int s = 0; s < 2; s++) {
      int L = prefs_seq_len(w->pd, idx[j], s);
      if (L > T) T = L;
    }
  for (int j = 0; j < b; j++) {
    int p = idx[j], lab = labels ? labels[p] : 0;
    for (int s = 0; s < 2; s++) {
      int side = s == 0 ? lab : 1 - lab;
      int L = prefs_seq_len(w->pd, p, side);
      int *dst = w->btok + (size_t)(2 * j + s) * T;
      memcpy(dst, prefs_seq(w->pd, p, side), sizeof(int) * (size_t)L);
      for (int t = L; t < T; t++) dst[t] = GPT_EOT;
      w->blen[2 * j + s] = L;
    }
  }
  return T;
}

/* Raw scores of both sides of pairs idx[0..b) (side 0 and side 1 of each pair, not chosen). */
static void score_pairs(gpt *m, rm_work *w, const int *idx, int b, float *out0, float *out1) {
  for (int j0 = 0; j0 < b; j0 += w->bcap) {
    int nb = b - j0 < w->bcap ? b - j0 : w->bcap;
    int T = pack_pairs(w, idx + j0, nb, NULL);
    gpt_forward(m, w->btok, 2 * nb, T);
    const float *o = gpt_scalar_out(m);
    for (int j = 0; j < nb; j++) {
      out0[j0 + j] = o[(size_t)(2 * j) * T + w->blen[2 * j] - 1];
      out1[j0 + j] = o[(size_t)(2 * j + 1) * T + w->blen[2 * j + 1] - 1];
    }
  }
}

/* Accuracy of raw scores s0/s1 of pairs idx against labels (label = index of preferred side). */
static double pair_accuracy(const float *s0, const float *s1, const int *idx, int n, const int *labels) {
  if (n == 0) return NAN;
  int ok = 0;
  for (int j = 0; j < n; j++) {
    int lab = labels[idx[j]];
    ok += lab == 0 ? s0[j] > s1[j] : s1[j] > s0[j];
  }
  return (double)ok / n;
}

/* Collective on mc (the member's replicas): evaluates accuracy on a pair set split over
 * replicas; scores (n) for sides 0/1 are assembled on every replica. */
static int eval_pairs(gpt *m, rm_work *w, MPI_Comm mc, const int *idx, int n, float *s0, float *s1) {
  int rr, rn;
  CHECK_MPI(MPI_Comm_rank(mc, &rr));
  CHECK_MPI(MPI_Comm_size(mc, &rn));
  int a = rr * n / rn, b = (rr + 1) * n / rn;
  for (int i = 0; i < n; i++) s0[i] = s1[i] = 0;
  if (b > a) score_pairs(m, w, idx + a, b - a, s0 + a, s1 + a);
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, s0, n, MPI_FLOAT, MPI_SUM, mc));
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, s1, n, MPI_FLOAT, MPI_SUM, mc));
  return OO_OK;
}

/* Collective on mc (member m's replicas): the last-layer Laplace posterior of g's head over the
 * pairs it trained on, pairs[0..n) with their training labels; replica rr of rn takes a slice. */
static int member_laplace(const oo_config *cfg, rm_work *w, gpt *g, const int *pairs, int n, MPI_Comm mc, int rr,
                          int rn, laplace_post *lp) {
  const int C = g->d.C, D = C + 1;
  REQUIRE(C <= LAPLACE_MAX_C, "rm.laplace: d_model %d above %d", C, LAPLACE_MAX_C);
  double *G = xcalloc((size_t)D * D, sizeof(double)), ll = 0;
  float *theta = xmalloc_floats((size_t)D), *fc = xmalloc_floats((size_t)w->bcap * C);
  float *fr = xmalloc_floats((size_t)w->bcap * C);
  double *mean = xcalloc((size_t)C, sizeof(double)); /* sum, then mean, of both sides' features */
  memcpy(theta, g->p.head_w, sizeof(float) * (size_t)C);
  theta[C] = g->p.head_b[0];
  int a = rr * n / rn, b = (rr + 1) * n / rn;
  for (int j0 = a; j0 < b; j0 += w->bcap) {
    int nb = b - j0 < w->bcap ? b - j0 : w->bcap;
    int T = pack_pairs(w, pairs + j0, nb, w->pd->label_train);
    gpt_forward(g, w->btok, 2 * nb, T);
    const float *lnf = gpt_final_ln(g);
    for (int j = 0; j < nb; j++) {
      memcpy(fc + (size_t)j * C, lnf + ((size_t)(2 * j) * T + w->blen[2 * j] - 1) * C, sizeof(float) * (size_t)C);
      memcpy(fr + (size_t)j * C, lnf + ((size_t)(2 * j + 1) * T + w->blen[2 * j + 1] - 1) * C,
             sizeof(float) * (size_t)C);
    }
    laplace_ggn_add(G, &ll, fc, fr, theta, nb, C);
    for (int j = 0; j < nb; j++)
      for (int i = 0; i < C; i++) mean[i] += (double)fc[(size_t)j * C + i] + fr[(size_t)j * C + i];
  }
  /* the GGN summed over the member's ranks */
  int rc = OO_MPI_RC(MPI_Allreduce(MPI_IN_PLACE, G, D * D, MPI_DOUBLE, MPI_SUM, mc));
  if (!rc) rc = OO_MPI_RC(MPI_Allreduce(MPI_IN_PLACE, &ll, 1, MPI_DOUBLE, MPI_SUM, mc));
  if (!rc) rc = OO_MPI_RC(MPI_Allreduce(MPI_IN_PLACE, mean, C, MPI_DOUBLE, MPI_SUM, mc));
  if (!rc) rc = laplace_posterior(lp, G, theta, ll, D, cfg->rm.laplace_scalapack_min, mc);
  if (!rc) {
    for (int i = 0; i < C; i++) mean[i] /= 2.0 * (n > 0 ? n : 1);
    lp->phi_mean = mean;
    mean = NULL;
  }
  xfree(&mean);
  xfree(&G);
  xfree(&theta);
  xfree(&fc);
  xfree(&fr);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* The trunk member m starts from with rm.init = pretrained: the base LM of rm.size, or with
 * rm.diversity pretrain its own (member m >= 1; the trunks stage). */
static int load_trunk(const oo_run *run, int m, gpt *lm) {
  const oo_config *cfg = &run->cfg;
  char lmpath[4400];
  CHECK(pretrain_trunk_path(run, pretrain_trunks_wanted(cfg) ? m : 0, lmpath, sizeof lmpath));
  CHECK(gpt_load(lm, lmpath, GPT_LM));
  REQUIRE(lm->d.C == cfg->rm.size.d_model && lm->d.L == cfg->rm.size.n_layer && lm->d.NH == cfg->rm.size.n_head &&
              lm->d.T == cfg->pretrain.n_ctx,
          "'%s' is d_model %d, n_layer %d, n_head %d, n_ctx %d but rm.size is d_model %d, n_layer %d, n_head %d with "
          "pretrain.n_ctx %d: %s",
          lmpath, lm->d.C, lm->d.L, lm->d.NH, lm->d.T, cfg->rm.size.d_model, cfg->rm.size.n_layer,
          cfg->rm.size.n_head, cfg->pretrain.n_ctx,
          pretrain_trunks_wanted(cfg) && m > 0
              ? "rerun the pretrain and trunks stages (overopt run CONFIG --force --until trunks)"
              : "rerun the pretrain stage (overopt stage pretrain CONFIG --force)");
  return OO_OK;
}

static int partial_path(const oo_run *run, int m, char *out, size_t cap) {
  char name[64];
  snprintf(name, sizeof name, "rm.partial.m%d.h5", m);
  return run_path(run, name, out, cap);
}

/* Member m's replica 0 after a stop: its state to rm.partial.m<m>.h5 (atomic, stage hash). */
static int save_partial(const oo_run *run, int m, const gpt *g, const rm_progress *pr, const double *met, int skipped) {
  char path[4400];
  CHECK(partial_path(run, m, path, sizeof path));
  h5_writer hw;
  CHECK(h5_create(&hw, path));
  long dims[2] = {run->cfg.rm.epochs, N_MET}, three = 3;
  int rc = gpt_write(g, &hw, "", 1);
  if (!rc) rc = h5_write_f64(&hw, "metrics", 2, dims, met);
  if (!rc) rc = h5_write_f64(&hw, "sums", 1, &three, pr->sums);
  if (!rc) rc = h5_attr_write_int(&hw, "/", "member", m);
  if (!rc) rc = h5_attr_write_int(&hw, "/", "epoch", pr->ep);
  if (!rc) rc = h5_attr_write_int(&hw, "/", "step", pr->s);
  if (!rc) rc = h5_attr_write_int(&hw, "/", "skipped_batches", skipped);
  if (!rc) rc = run_stamp(run, &hw);
  if (rc) {
    h5_discard(&hw);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&hw));
  return OO_OK;
}

/* Member m's replica 0: 1 and g (created with its optimizer state), pr, met and *skipped from
 * rm.partial.m<m>.h5 when it matches the stage hash and the member's shape; else 0, with a
 * warning when a file is there. */
static int load_partial(const oo_run *run, int m, int spe, gpt *g, rm_progress *pr, double *met, int *skipped) {
  char path[4400], who[32];
  snprintf(who, sizeof who, "rm member %d", m);
  h5_reader r;
  if (partial_path(run, m, path, sizeof path)) {
    oo_error_clear();
    return 0;
  }
  if (!resume_open(&r, path, run->stage_hash, who, "training from the start")) return 0;
  const char *why = NULL;
  const int E = run->cfg.rm.epochs;
  long mm = -1, ep = -1, s = -1, sk = -1, dims[2] = {E, N_MET}, three = 3;
  gpt tmp;
  memset(&tmp, 0, sizeof tmp);
  rm_progress p;
  if (h5_attr_read_int(&r, "/", "member", &mm) || h5_attr_read_int(&r, "/", "epoch", &ep) ||
      h5_attr_read_int(&r, "/", "step", &s) || h5_attr_read_int(&r, "/", "skipped_batches", &sk) ||
      h5_read_f64(&r, "metrics", 2, dims, met) || h5_read_f64(&r, "sums", 1, &three, p.sums) ||
      gpt_read(&tmp, &r, "", GPT_REWARD, 1))
    why = oo_error_message();
  else if (mm != m || ep < 0 || ep > E || s < 0 || s >= spe || (ep == E && s != 0) || tmp.step != ep * spe + s ||
           memcmp(&tmp.d, &g->d, sizeof g->d) || tmp.n_params != g->n_params)
    why = "its member, step or model shape is not this config's";
  if (why) {
    LOG_WARN("%s: not resuming from '%s' (training from the start): %s", who, path, why);
    memset(met, 0, sizeof(double) * (size_t)E * N_MET);
  } else {
    memcpy(g->params, tmp.params, sizeof(float) * g->n_params);
    memcpy(g->adam_m, tmp.adam_m, sizeof(float) * g->n_params);
    memcpy(g->adam_v, tmp.adam_v, sizeof(float) * g->n_params);
    g->step = tmp.step;
    p.ep = (int)ep, p.s = (int)s;
    *pr = p;
    *skipped = (int)sk;
  }
  gpt_free(&tmp);
  h5_close(&r);
  oo_error_clear();
  return why == NULL;
}

static int train_member(oo_run *run, rm_work *w, int member, const gpt *lm, gpt *g, double *metrics /*(epochs,N_MET)*/,
                        float *test0, float *test1, float *train0, float *train1, laplace_post *lp, train_step_ctx *ts,
                        rm_progress *pr) {
  const oo_config *cfg = &run->cfg;
  MPI_Comm mc = run->comms.member_comm[member];
  int rr = run->comms.member_rank[member], rn = run->comms.member_size[member];
  gpt_dims d = {GPT_VOCAB, cfg->pretrain.n_ctx, cfg->rm.size.d_model, cfg->rm.size.n_layer, cfg->rm.size.n_head};
  CHECK(gpt_create(g, d, GPT_REWARD));
  uint64_t seed = (uint64_t)cfg->run.seed;
  if (strcmp(cfg->rm.init, "pretrained") == 0) {
    CHECK(gpt_copy_trunk(g, lm));
  } else {
    gpt_init_weights(g, oo_hash64(seed ^ (0x5eed0000ULL + (uint64_t)member)), 0.02f, 0.0f);
  }
  oo_rng hr = oo_rng_make(seed, RNG_INIT, 1000 + (uint64_t)member, 0);
  float hstd = 1.0f / sqrtf((float)d.C);
  for (int c = 0; c < d.C; c++) g->p.head_w[c] = hstd * oo_rng_normal(&hr);
  g->p.head_b[0] = 0.0f;
  gpt_alloc_train(g);
  gpt_reserve(g, 2 * w->bcap, w->Tmax);

  int B = cfg->rm.batch, steps_per_epoch = (w->n_train + B - 1) / B;
  long total = (long)steps_per_epoch * cfg->rm.epochs;
  int *order = xmalloc(sizeof(int) * (size_t)(w->n_train > 0 ? w->n_train : 1));
  const int *labels_train = w->pd->label_train, *labels_clean = w->pd->label_clean;
  oo_progress prog;
  char what[64];
  snprintf(what, sizeof what, "rm member %d", member);
  const gpt_optim opt = {(float)cfg->rm.lr, (float)cfg->rm.lr * 0.1f, cfg->rm.warmup, total,
                         (float)cfg->rm.weight_decay, 1.0f};
  train_step_init(ts, what, mc, run->comms.rank, &opt, cfg->run.skip_nonfinite);
  /* a stopped run's state (rm.partial.m<m>.h5), from replica 0 to the member's ranks */
  int resumed = rr == 0 ? load_partial(run, member, steps_per_epoch, g, pr, metrics, &ts->guard.skipped) : 0;
  CHECK_MPI(MPI_Bcast(&resumed, 1, MPI_INT, 0, mc));
  if (resumed) {
    CHECK_MPI(MPI_Bcast(g->params, (int)g->n_params, MPI_FLOAT, 0, mc));
    CHECK_MPI(MPI_Bcast(g->adam_m, (int)g->n_params, MPI_FLOAT, 0, mc));
    CHECK_MPI(MPI_Bcast(g->adam_v, (int)g->n_params, MPI_FLOAT, 0, mc));
    CHECK_MPI(MPI_Bcast(&g->step, 1, MPI_LONG, 0, mc));
    CHECK_MPI(MPI_Bcast(metrics, cfg->rm.epochs * N_MET, MPI_DOUBLE, 0, mc));
    CHECK_MPI(MPI_Bcast(pr->sums, 3, MPI_DOUBLE, 0, mc));
    int at[3] = {pr->ep, pr->s, ts->guard.skipped};
    CHECK_MPI(MPI_Bcast(at, 3, MPI_INT, 0, mc));
    pr->ep = at[0], pr->s = at[1], ts->guard.skipped = at[2];
    if (rr == 0 && pr->ep == cfg->rm.epochs) LOG_INFO("%s: trained before the stop, resuming after its training", what);
    else if (rr == 0) LOG_INFO("%s: resuming at epoch %d step %d of %d", what, pr->ep + 1, pr->s, steps_per_epoch);
  }
  const int ep0 = pr->ep;
  oo_progress_start(&prog, what, total, "pair");
  /* bootstrap: the member trains on n_train pairs drawn with replacement from the training pairs,
   * one draw per member from (seed, RNG_DATA, 2000 + member, 0), the same on every replica */
  int *pairs = w->train;
  int bootstrap = 0;
  for (int i = 0; i < cfg->rm.n_diversity; i++) bootstrap |= !strcmp(cfg->rm.diversity[i], "bootstrap");
  if (bootstrap) {
    pairs = xmalloc(sizeof(int) * (size_t)(w->n_train > 0 ? w->n_train : 1));
    oo_rng br = oo_rng_make(seed, RNG_DATA, 2000 + (uint64_t)member, 0);
    for (int i = 0; i < w->n_train; i++) pairs[i] = w->train[oo_rng_below(&br, (uint64_t)w->n_train)];
  }
  int rc = OO_OK;
  double cpu[2] = {oo_cpu_now(), 0}; /* training, Laplace: the cost of each (issue #15 item 6) */
  for (int ep = ep0; ep < cfg->rm.epochs && !rc; ep++) {
    memcpy(order, pairs, sizeof(int) * (size_t)w->n_train);
    oo_rng dr = oo_rng_make(seed, RNG_DATA, 1000 + (uint64_t)member, (uint64_t)ep);
    oo_rng_shuffle(&dr, order, w->n_train);
    double loss_sum = 0, acc_sum = 0, pairs_sum = 0; /* over the batches not skipped */
    int s0 = 0;
    if (ep == ep0) { /* resumed mid-epoch: its sums so far (0 at a fresh start) */
      s0 = pr->s;
      loss_sum = pr->sums[0], acc_sum = pr->sums[1], pairs_sum = pr->sums[2];
    }
    for (int s = s0; s < steps_per_epoch; s++) {
      notice_poll(w, &run->comms);
      if (oo_stop_requested(mc)) { /* the member's replicas now; the world after training */
        *pr = (rm_progress){ep, s, {loss_sum, acc_sum, pairs_sum}};
        break;
      }
      int p0 = s * B, bsz = (p0 + B <= w->n_train ? B : w->n_train - p0);
      int a = rr * bsz / rn, b = (rr + 1) * bsz / rn, nb = b - a;
      gpt_zero_grad(g);
      double part[2] = {0, 0};
      if (nb > 0) {
        int T = pack_pairs(w, order + p0 + a, nb, labels_train);
        gpt_forward(g, w->btok, 2 * nb, T);
        const float *o = gpt_scalar_out(g);
        for (int j = 0; j < nb; j++) {
          w->sc[j] = o[(size_t)(2 * j) * T + w->blen[2 * j] - 1];
          w->sr[j] = o[(size_t)(2 * j + 1) * T + w->blen[2 * j + 1] - 1];
        }
        double acc = 0;
        double loss = rm_bt_loss(w->dc, w->dr, &acc, w->sc, w->sr, nb);
        memset(w->dout, 0, sizeof(float) * (size_t)2 * nb * T);
        for (int j = 0; j < nb; j++) {
          w->dout[(size_t)(2 * j) * T + w->blen[2 * j] - 1] = w->dc[j];
          w->dout[(size_t)(2 * j + 1) * T + w->blen[2 * j + 1] - 1] = w->dr[j];
        }
        gpt_backward(g, w->dout);
        part[0] = loss * nb;
        part[1] = acc * nb;
      }
      /* rm_bt_loss differentiates the mean over this replica's nb pairs: scale to the batch mean. */
      long step = (long)ep * steps_per_epoch + s;
      const float lr = gpt_optim_lr(&opt, step);
      rc = train_step(ts, (gpt *[]){g}, 1, (float)nb / (float)bsz, part, 2, bsz, step + 1, lr);
      if (rc) break; /* alike on the member's ranks */
      if (!ts->skipped_last) { /* a skipped batch's pairs count in neither the loss nor the accuracy */
        loss_sum += part[0];
        acc_sum += part[1];
        pairs_sum += bsz;
      }
      if (rr == 0) {
        char extra[96];
        snprintf(extra, sizeof extra, "epoch %d loss %.4f acc %.3f", ep + 1, loss_sum / pairs_sum, acc_sum / pairs_sum);
        oo_progress_update(&prog, step + 1, (double)(step + 1) * B, extra);
        metrics_emit(prog.what, step, "epoch", (double)(ep + 1), "loss", loss_sum / pairs_sum, "acc",
                     acc_sum / pairs_sum, "lr", ts->skipped_last ? 0.0 : (double)lr, "skipped_batches",
                     (double)ts->guard.skipped, NULL);
      }
    }
    if (rc || oo_stopped()) break;
    rc = eval_pairs(g, w, mc, w->test, w->n_test, test0, test1);
    if (!rc) rc = eval_pairs(g, w, mc, w->train, w->n_train, train0, train1);
    if (rc) break;
    double *met = metrics + (size_t)ep * N_MET;
    if (pairs_sum == 0) {
      rc = oo_error_at(__FILE__, __LINE__, "%s: every batch of epoch %d had a non-finite loss or gradient and was "
                       "skipped (run.skip_nonfinite = %d): lower rm.lr or check prefs.h5, then rerun the stage", what,
                       ep + 1, cfg->run.skip_nonfinite);
      break;
    }
    met[MET_LOSS] = loss_sum / pairs_sum; /* pairs_sum = n_train unless a batch was skipped */
    met[MET_TRAIN_ACC] = pair_accuracy(train0, train1, w->train, w->n_train, labels_train);
    met[MET_TEST_ACC] = pair_accuracy(test0, test1, w->test, w->n_test, labels_clean);
    met[MET_GOLD_AGREE] = pair_accuracy(train0, train1, w->train, w->n_train, labels_clean);
  }
  xfree(&order);
  if (!rc && ep0 == cfg->rm.epochs) { /* no step to agree a stop at: the replicas agree here */
    notice_poll(w, &run->comms);
    oo_stop_requested(mc);
  }
  if (!rc && !oo_stopped()) *pr = (rm_progress){cfg->rm.epochs, 0, {0, 0, 0}};
  /* resumed finished (a member done before the stop): the scores the last epoch left */
  if (!rc && !oo_stopped() && ep0 == cfg->rm.epochs) {
    rc = eval_pairs(g, w, mc, w->test, w->n_test, test0, test1);
    if (!rc) rc = eval_pairs(g, w, mc, w->train, w->n_train, train0, train1);
  }
  cpu[0] = oo_cpu_now() - cpu[0];
  if (!rc && !oo_stopped() && cfg->rm.laplace) {
    cpu[1] = oo_cpu_now();
    rc = member_laplace(cfg, w, g, pairs, w->n_train, mc, rr, rn, lp);
    cpu[1] = oo_cpu_now() - cpu[1];
    if (!rc && rr == 0)
      LOG_INFO("rm member %d: Laplace posterior of the head (D = %d, %s on %d x %d): alpha %g, log ML %.3f%s", member,
               lp->D, lp->scalapack ? "ScaLAPACK" : "LAPACK", lp->grid_rows, lp->grid_cols, lp->alpha, lp->log_ml,
               lp->alpha <= 1.0001e-4 || lp->alpha >= 0.9999e4 ? " (at the edge of the alpha grid)" : "");
  }
  if (pairs != w->train) xfree(&pairs);
  CHECK(rc);
  if (oo_stopped()) return OO_OK; /* nothing more for this member: stage_rm saves *pr and g */
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cpu, 2, MPI_DOUBLE, MPI_SUM, mc)); /* over the member's replicas */
  if (rr == 0)
    LOG_INFO("rm member %d: CPU time over its %d rank%s: training %.3f s, Laplace posterior %.3f s", member, rn,
             rn == 1 ? "" : "s", cpu[0], cpu[1]);
  /* Calibration on the pi_init responses of the training pairs (both sides). */
  float *all = xmalloc_floats((size_t)2 * (w->n_train > 0 ? w->n_train : 1));
  memcpy(all, train0, sizeof(float) * (size_t)w->n_train);
  memcpy(all + w->n_train, train1, sizeof(float) * (size_t)w->n_train);
  double mean, sd;
  calib_mean_std(&mean, &sd, all, 2L * w->n_train);
  xfree(&all);
  g->reward_shift = (float)mean;
  g->reward_scale = strcmp(cfg->rm.normalize, "zscore") == 0 && sd > 0 ? (float)sd : 1.0f;
  return OO_OK;
}

/* Sends member m's parameters, calibration and metrics from its replica 0 to world rank 0. */
/* Sends member m's parameters, calibration, metrics and its column of test_scores (n_test,2,K)
 * from its replica 0 to world rank 0 (point to point; a no-op when that replica is rank 0). */
static int collect_member(oo_run *run, int m, gpt *g, int hosted, double *metrics, int n_met, float *test_scores,
                          int n_test, int K) {
  int src = layout_member_rank(&run->layout, m, 0);
  const oo_comms *c = &run->comms;
  if (src == 0 || (c->rank != src && c->rank != 0)) return OO_OK;
  REQUIRE(c->rank != src || hosted, "internal: member %d not hosted on its replica-0 rank %d", m, src);
  int tag = 100 + m;
  MPI_Datatype column; /* test_scores[.., .., m]: 2*n_test floats K apart */
  CHECK_MPI(MPI_Type_vector(2 * n_test, 1, K, MPI_FLOAT, &column));
  CHECK_MPI(MPI_Type_commit(&column));
  int rc = OO_OK;
  if (c->rank == src) {
    float cal[2] = {g->reward_shift, g->reward_scale};
    CHECK_MPI_GOTO(rc, MPI_Send(g->params, (int)g->n_params, MPI_FLOAT, 0, tag, c->world), done);
    CHECK_MPI_GOTO(rc, MPI_Send(cal, 2, MPI_FLOAT, 0, tag, c->world), done);
    CHECK_MPI_GOTO(rc, MPI_Send(metrics, n_met, MPI_DOUBLE, 0, tag, c->world), done);
    CHECK_MPI_GOTO(rc, MPI_Send(test_scores + m, 1, column, 0, tag, c->world), done);
  } else {
    float cal[2];
    CHECK_MPI_GOTO(rc, MPI_Recv(g->params, (int)g->n_params, MPI_FLOAT, src, tag, c->world, MPI_STATUS_IGNORE), done);
    CHECK_MPI_GOTO(rc, MPI_Recv(cal, 2, MPI_FLOAT, src, tag, c->world, MPI_STATUS_IGNORE), done);
    CHECK_MPI_GOTO(rc, MPI_Recv(metrics, n_met, MPI_DOUBLE, src, tag, c->world, MPI_STATUS_IGNORE), done);
    CHECK_MPI_GOTO(rc, MPI_Recv(test_scores + m, 1, column, src, tag, c->world, MPI_STATUS_IGNORE), done);
    g->reward_shift = cal[0];
    g->reward_scale = cal[1];
  }
done:;
  int rc_free = OO_MPI_RC(MPI_Type_free(&column));
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__); /* the failed call is named */
  return rc_free;
}

/* Rank 0, once it holds every member: WARM, their weight average, calibrated like a member on
 * the pi_init responses of the training pairs (both sides); *test_acc is its clean test accuracy. */
static int make_warm(const oo_config *cfg, rm_work *w, const gpt *members, int K, gpt *warm, double *test_acc) {
  CHECK(gpt_create(warm, members[0].d, GPT_REWARD));
  const float *params[CFG_MAX_MEMBERS]; /* K <= CFG_MAX_MEMBERS: the config's range of rm.k */
  for (int m = 0; m < K; m++) {
    REQUIRE(members[m].n_params == warm->n_params, "rm.warm: member %d has %zu parameters, member 0 %zu", m,
            members[m].n_params, warm->n_params);
    params[m] = members[m].params;
  }
  rm_weight_average(warm->params, params, K, warm->n_params);
  gpt_reserve(warm, 2 * w->bcap, w->Tmax);
  const int n = w->n_train > 0 ? w->n_train : 1, nt = w->n_test > 0 ? w->n_test : 1;
  float *s = xmalloc_floats(2 * (size_t)n), *t = xmalloc_floats(2 * (size_t)nt);
  score_pairs(warm, w, w->train, w->n_train, s, s + w->n_train);
  double mean, sd;
  calib_mean_std(&mean, &sd, s, 2L * w->n_train);
  warm->reward_shift = (float)mean;
  warm->reward_scale = strcmp(cfg->rm.normalize, "zscore") == 0 && sd > 0 ? (float)sd : 1.0f;
  score_pairs(warm, w, w->test, w->n_test, t, t + w->n_test);
  *test_acc = pair_accuracy(t, t + w->n_test, w->test, w->n_test, w->pd->label_clean);
  xfree(&s);
  xfree(&t);
  return OO_OK;
}

/* Sends member m's Laplace posterior from its replica 0 to world rank 0 (a no-op when that is
 * rank 0; D = C + 1 on rank 0, which may not host the member). */
static int collect_laplace(oo_run *run, int m, laplace_post *lp, int D) {
  int src = layout_member_rank(&run->layout, m, 0);
  const oo_comms *c = &run->comms;
  if (src == 0 || (c->rank != src && c->rank != 0)) return OO_OK;
  int tag = 300 + m;
  double meta[6];
  if (c->rank == src) {
    meta[0] = lp->alpha, meta[1] = lp->log_ml, meta[2] = lp->log_det, meta[3] = lp->scalapack;
    meta[4] = lp->grid_rows, meta[5] = lp->grid_cols;
    CHECK_MPI(MPI_Send(meta, 6, MPI_DOUBLE, 0, tag, c->world));
    CHECK_MPI(MPI_Send(lp->Sigma, D * D, MPI_DOUBLE, 0, tag, c->world));
    CHECK_MPI(MPI_Send(lp->phi_mean, D - 1, MPI_DOUBLE, 0, tag, c->world));
  } else {
    laplace_free(lp);
    lp->D = D;
    lp->Sigma = xmalloc(sizeof(double) * (size_t)D * D);
    lp->phi_mean = xmalloc(sizeof(double) * (size_t)(D - 1));
    CHECK_MPI(MPI_Recv(meta, 6, MPI_DOUBLE, src, tag, c->world, MPI_STATUS_IGNORE));
    CHECK_MPI(MPI_Recv(lp->Sigma, D * D, MPI_DOUBLE, src, tag, c->world, MPI_STATUS_IGNORE));
    CHECK_MPI(MPI_Recv(lp->phi_mean, D - 1, MPI_DOUBLE, src, tag, c->world, MPI_STATUS_IGNORE));
    lp->alpha = meta[0], lp->log_ml = meta[1], lp->log_det = meta[2], lp->scalapack = (int)meta[3];
    lp->grid_rows = (int)meta[4], lp->grid_cols = (int)meta[5];
  }
  return OO_OK;
}

static int write_laplace(h5_writer *hw, const laplace_post *lp, int m) {
  char name[64];
  long dims[2] = {lp->D, lp->D};
  snprintf(name, sizeof name, "laplace/member_%d/Sigma", m);
  CHECK(h5_write_f64(hw, name, 2, dims, lp->Sigma));
  long dm = lp->D - 1;
  snprintf(name, sizeof name, "laplace/member_%d/phi_mean", m);
  CHECK(h5_write_f64(hw, name, 1, &dm, lp->phi_mean));
  snprintf(name, sizeof name, "laplace/member_%d", m);
  CHECK(h5_attr_write_double(hw, name, "alpha", lp->alpha));
  CHECK(h5_attr_write_double(hw, name, "log_ml", lp->log_ml));
  CHECK(h5_attr_write_double(hw, name, "log_det", lp->log_det));
  CHECK(h5_attr_write_str(hw, name, "solver", lp->scalapack ? "scalapack" : "lapack"));
  CHECK(h5_attr_write_int(hw, name, "grid_rows", lp->grid_rows));
  CHECK(h5_attr_write_int(hw, name, "grid_cols", lp->grid_cols));
  return OO_OK;
}

static int write_rm(oo_run *run, gpt *members, const gpt *warm, double warm_acc, const laplace_post *lps,
                    const double *metrics, const float *test_scores, const rm_work *w, const int *skipped) {
  const oo_config *cfg = &run->cfg;
  int K = cfg->rm.k, E = cfg->rm.epochs;
  char path[4400];
  /* rm_members.csv first: rm.h5 records its content hash (artifact.h) */
  CHECK(run_path(run, "rm_members.csv", path, sizeof path));
  atomic_file af;
  CHECK(atomic_open(&af, path));
  fprintf(af.f, "member,epoch,train_loss,train_acc,test_acc,gold_agree\n");
  for (int m = 0; m < K; m++)
    for (int e = 0; e < E; e++) {
      const double *x = metrics + ((size_t)m * E + e) * N_MET;
      fprintf(af.f, "%d,%d,%.6f,%.6f,%.6f,%.6f\n", m, e + 1, x[0], x[1], x[2], x[3]);
    }
  CHECK(atomic_commit(&af));
  CHECK(run_path(run, "rm.h5", path, sizeof path));
  h5_writer hw;
  CHECK(h5_create(&hw, path));
  int rc = run_stamp(run, &hw);
  if (!rc) rc = h5_attr_write_int(&hw, "/", "k", K);
  if (!rc) rc = h5_attr_write_str(&hw, "/", "normalize", cfg->rm.normalize);
  for (int m = 0; m < K && !rc; m++) {
    char name[64];
    snprintf(name, sizeof name, "member_%d", m);
    rc = gpt_write(&members[m], &hw, name, 0);
    if (!rc) {
      snprintf(name, sizeof name, "metrics/member_%d", m);
      long dims[2] = {E, N_MET};
      rc = h5_write_f64(&hw, name, 2, dims, metrics + (size_t)m * E * N_MET);
      /* batches skipped by run.skip_nonfinite; absent: none */
      if (!rc && skipped[m] > 0) rc = h5_attr_write_int(&hw, name, "skipped_batches", skipped[m]);
    }
  }
  if (!rc) {
    long dims[3] = {w->n_test, 2, K};
    rc = h5_write_f32(&hw, "test_scores", 3, dims, test_scores);
  }
  if (!rc) rc = h5_attr_write_str(&hw, "metrics", "columns", "train_loss,train_acc,test_acc,gold_agree");
  if (!rc && warm) rc = gpt_write(warm, &hw, "warm", 0);
  for (int m = 0; lps && m < K && !rc; m++) rc = write_laplace(&hw, &lps[m], m);
  if (!rc && warm) rc = h5_attr_write_double(&hw, "warm", "warm_test_acc", warm_acc);
  if (rc) {
    h5_discard(&hw);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&hw));
  return OO_OK;
}

/* Fraction of test pairs on which members disagree about the preferred side (rank 0). */
static void report_disagreement(const float *ts, int n_test, int K) {
  int dis = 0;
  for (int i = 0; i < n_test; i++) {
    int a = 0;
    for (int m = 0; m < K; m++) a += ts[((size_t)i * 2 + 0) * K + m] > ts[((size_t)i * 2 + 1) * K + m];
    dis += a != 0 && a != K;
  }
  LOG_INFO("rm: members disagree on %d of %d test pairs (%.1f%%)", dis, n_test, n_test ? 100.0 * dis / n_test : 0.0);
}

int stage_rm(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *c = &run->comms;
  int K = cfg->rm.k, E = cfg->rm.epochs;
  char path[4400];
  CHECK(run_path(run, "prefs.h5", path, sizeof path));
  prefs_data pd;
  CHECK(prefs_load(&pd, path, cfg));
  rm_work w;
  memset(&w, 0, sizeof w);
  w.pd = &pd;
  w.Tmax = pd.seq_T;
  w.train = xmalloc(sizeof(int) * (size_t)(pd.n + 1));
  w.test = xmalloc(sizeof(int) * (size_t)(pd.n + 1));
  for (int i = 0; i < pd.n; i++) {
    if (pd.split[i] == 0) w.train[w.n_train++] = i;
    else w.test[w.n_test++] = i;
  }
  /* Buffers hold one step's pairs: never more than the training set, however large rm.batch is
   * (rm.batch = 65536 on 40 pairs once allocated 14.7 GB, #12). */
  w.bcap = cfg->rm.batch < w.n_train ? cfg->rm.batch : (w.n_train > 0 ? w.n_train : 1);
  w.btok = xmalloc(sizeof(int) * (size_t)2 * w.bcap * w.Tmax);
  w.blen = xmalloc(sizeof(int) * (size_t)2 * w.bcap);
  w.dout = xmalloc_floats((size_t)2 * w.bcap * w.Tmax);
  w.sc = xmalloc_floats((size_t)w.bcap);
  w.sr = xmalloc_floats((size_t)w.bcap);
  w.dc = xmalloc_floats((size_t)w.bcap);
  w.dr = xmalloc_floats((size_t)w.bcap);
  w.stop_req = xmalloc(sizeof(MPI_Request) * (size_t)c->size);
  gpt lm;
  memset(&lm, 0, sizeof lm);
  int rc = OO_OK;
  int is_rm = run->layout.ranks[c->rank].is_rm;

  gpt *members = xcalloc((size_t)K, sizeof(gpt));
  laplace_post *lps = xcalloc((size_t)K, sizeof(laplace_post)); /* rm.laplace: member m's posterior */
  int *hosted = xcalloc((size_t)K, sizeof(int));
  rm_progress *progress = xcalloc((size_t)K, sizeof(rm_progress)); /* hosted members: where training stands */
  double *metrics = xcalloc((size_t)K * E * N_MET, sizeof(double));
  float *test0 = xmalloc_floats((size_t)w.n_test + 1), *test1 = xmalloc_floats((size_t)w.n_test + 1);
  float *train0 = xmalloc_floats((size_t)w.n_train + 1), *train1 = xmalloc_floats((size_t)w.n_train + 1);
  float *test_scores = xcalloc((size_t)w.n_test * 2 * K + 1, sizeof(float));
  double t0 = oo_now();
  if (!rc)
    LOG_INFO("rm: %d members of %s on %d RM rank(s), %d train pairs (labels %.1f%% flipped), %d test pairs, %d epochs",
             K, "rm.size", run->layout.n_rm, w.n_train, 100.0 * pd.noise_realised, w.n_test, E);
  int *flags = xcalloc((size_t)K + 1, sizeof(int)); /* (K) batches each member skipped, then one spare */
  for (int m = 0; m < K && !rc; m++) {
    if (!is_rm || layout_replica(&run->layout, c->rank, m) < 0) continue;
    hosted[m] = 1;
    train_step_ctx ts;
    memset(&ts, 0, sizeof ts);
    if (strcmp(cfg->rm.init, "pretrained") == 0 && (lm.params == NULL || pretrain_trunks_wanted(cfg))) {
      gpt_free(&lm);
      rc = load_trunk(run, m, &lm);
      if (rc) break;
    }
    rc = train_member(run, &w, m, &lm, &members[m], metrics + (size_t)m * E * N_MET, test0, test1, train0, train1,
                      &lps[m], &ts, &progress[m]);
    flags[m] = ts.guard.skipped;
    /* Stopped: the next members are still entered, so their replicas on other ranks learn of the
     * stop at their first step instead of waiting for this rank; rm.h5 is not written and each
     * started member's state is saved below. */
    if (oo_stopped()) continue;
    /* Every rank keeps its hosted members' test scores: test0/test1 are overwritten by the next
     * member this rank trains, and collect_member sends member m's column from test_scores. */
    if (!rc)
      for (int i = 0; i < w.n_test; i++) {
        test_scores[((size_t)i * 2 + 0) * K + m] = test0[i];
        test_scores[((size_t)i * 2 + 1) * K + m] = test1[i];
      }
  }
  if (rc) oo_mpi_die(rc); /* a member failed on this rank while others may be in collectives */
  /* each member's skip count (its replicas agree) to every rank, then the world agrees on a stop */
  if (notice_drain(&w, c, flags, K)) oo_mpi_die(OO_ERR);
  const int stopped = oo_stop_requested(c->world);
  if (stopped) { /* each member that took a step: its replica 0 saves it for the rerun */
    for (int m = 0; m < K && !rc; m++)
      if (hosted[m] && run->comms.member_rank[m] == 0 && (progress[m].ep > 0 || progress[m].s > 0))
        rc = save_partial(run, m, &members[m], &progress[m], metrics + (size_t)m * E * N_MET, flags[m]);
    rc = oo_agree(c->world, rc, "a member's replica 0 could not write its rm.partial.m<m>.h5");
  }
  for (int m = 0; m < K && !stopped; m++)
    if (flags[m])
      LOG_WARN("rm member %d: %d batch%s with a non-finite loss or gradient skipped (run.skip_nonfinite = %d)", m,
               flags[m], flags[m] == 1 ? "" : "es", cfg->run.skip_nonfinite);
  double t_train = oo_now() - t0;
  double pairs = (double)w.n_train * E * K;
  if (!stopped) LOG_INFO("rm: trained %d members in %.1f s (%.0f pairs/s over the job)", K, t_train, pairs / t_train);
  /* Gather every member to rank 0 and write rm.h5. */
  for (int m = 0; m < K && !rc && !stopped; m++) {
    if (c->rank == 0 && !hosted[m]) {
      gpt_dims d = {GPT_VOCAB, cfg->pretrain.n_ctx, cfg->rm.size.d_model, cfg->rm.size.n_layer, cfg->rm.size.n_head};
      rc = gpt_create(&members[m], d, GPT_REWARD);
      if (rc) break;
    }
    rc = collect_member(run, m, &members[m], hosted[m], metrics + (size_t)m * E * N_MET, E * N_MET, test_scores,
                        w.n_test, K);
    if (!rc && cfg->rm.laplace) rc = collect_laplace(run, m, &lps[m], cfg->rm.size.d_model + 1);
  }
  if (!rc && !stopped && c->rank == 0) {
    for (int m = 0; m < K; m++)
      for (int e = 0; e < E; e++) {
        const double *x = metrics + ((size_t)m * E + e) * N_MET;
        LOG_INFO("rm member %d epoch %d: loss %.4f, train acc %.3f, clean test acc %.3f, gold agreement %.3f", m,
                 e + 1, x[MET_LOSS], x[MET_TRAIN_ACC], x[MET_TEST_ACC], x[MET_GOLD_AGREE]);
      }
    gpt warm;
    memset(&warm, 0, sizeof warm);
    double warm_acc = NAN;
    if (cfg->rm.warm) {
      rc = make_warm(cfg, &w, members, K, &warm, &warm_acc);
      if (!rc) LOG_INFO("rm: WARM (weight average of %d members): clean test accuracy %.3f", K, warm_acc);
    }
    if (!rc) rc = write_rm(run, members, cfg->rm.warm ? &warm : NULL, warm_acc, cfg->rm.laplace ? lps : NULL, metrics,
                           test_scores, &w, flags);
    gpt_free(&warm);
    if (!rc) report_disagreement(test_scores, w.n_test, K);
  }
  rc = oo_agree(c->world, rc, "rank 0 could not write rm.h5");
  for (int m = 0; m < K && !rc && !stopped && c->rank == 0; m++) { /* rm.h5 holds the members now */
    if (partial_path(run, m, path, sizeof path) == OO_OK) unlink(path);
    oo_error_clear();
  }
  for (int m = 0; m < K; m++) gpt_free(&members[m]);
  for (int m = 0; m < K; m++) laplace_free(&lps[m]);
  xfree(&lps);
  gpt_free(&lm);
  xfree(&members);
  xfree(&hosted);
  xfree(&progress);
  xfree(&flags);
  xfree(&metrics);
  xfree(&test0);
  xfree(&test1);
  xfree(&train0);
  xfree(&train1);
  xfree(&test_scores);
  xfree(&w.train);
  xfree(&w.test);
  xfree(&w.btok);
  xfree(&w.blen);
  xfree(&w.dout);
  xfree(&w.sc);
  xfree(&w.sr);
  xfree(&w.dc);
  xfree(&w.dr);
  xfree(&w.stop_req);
  prefs_free(&pd);
  CHECK(rc);
  return OO_OK;
}
