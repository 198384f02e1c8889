/* test_ppo_step: the distributed PPO step (mpi/parallel/ppo_step.c) with tiny random models built in
 * memory. Run under mpirun with NP ranks, it runs the same 3 steps (+ an evaluation before and
 * after) on sub-worlds of 1, 2 and 4 ranks (those <= NP) and with different role layouts
 * (every role everywhere; rollout and RM ranks disjoint), for both ppo.value = model and
 * ppo.value = head, and checks on rank 0:
 * - every layout gives the metrics of the 1-rank run to 1e-4 relative (plus an absolute floor
 *   of 1e-5 for quantities that are 0 at step 0, such as the KL and the clip fraction). The
 *   rollouts are bit-identical by construction (counter-based streams); what differs is float
 *   summation order (gradient allreduce, batch composition of the forwards).
 * - the same layout run twice gives bit-identical metrics;
 * - step 0's KL is exactly 0 (policy == reference), and the KL grows once the policy learns;
 * - no memory is leaked per step (live block count after step 1 == after step 3);
 * - both value modes see the same step-0 rollouts (same policy, values 0 from a zero head), and
 *   then differ (the value loss now moves the policy's trunk).
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "comm.h"
#include "core/core.h"
#include "io/config.h"
#include "layout.h"
#include "ppo_step.h"
#include "testing.h"

#define STEPS 3
enum { M_K1, M_K2, M_K3, M_PROXY, M_GOLD, M_VAR, M_ENT, M_PLOSS, M_CLIP, M_VF, M_AKL, N_M };
static const char *const m_names[N_M] = {"kl_k1", "kl_k2", "kl_k3", "proxy", "gold", "ens_var",
                                         "entropy", "policy_loss", "clipfrac", "vf_loss", "approx_kl"};
enum { E_K1, E_PROXY, E_GOLD, N_E };

typedef struct {
  double step[STEPS][N_M]; /* per-step metrics */
  double eval[2][N_E];     /* eval before and after */
  long live_after1;        /* live blocks after step 1 */
  long live_after3;        /* live blocks after step 3 */
} result;

static void tiny_config(oo_config *cfg) {
  cfg_defaults(cfg);
  cfg->run.seed = 11;
  cfg->pretrain.n_ctx = 24;
  cfg->prefs.prompt_len = 6;
  cfg->prefs.response_len = 8;
  cfg->rm.k = 3;
  cfg->rm.size = (cfg_size){16, 1, 2};
  snprintf(cfg->gold.kind, sizeof cfg->gold.kind, "random");
  cfg->gold.size = (cfg_size){16, 1, 2};
  cfg->ppo.batch = 8;
  cfg->ppo.minibatch = 4;
  cfg->ppo.epochs = 2;
  cfg->ppo.clip = 0.2;
  cfg->ppo.vf_clip = 0.2;
  cfg->ppo.temperature = 1.0;
  cfg->ppo.reward_clip = 10.0;
}

/* Runs STEPS steps on the first S world ranks with the given role counts (0 = every rank).
 * Collective on MPI_COMM_WORLD; ranks >= S only take part in the split. */
static int run_layout(int S, int rollout_ranks, int rm_ranks, const char *value_mode, result *res) {
  int wrank;
  MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
  MPI_Comm sub;
  MPI_Comm_split(MPI_COMM_WORLD, wrank < S ? 0 : MPI_UNDEFINED, wrank, &sub);
  if (sub == MPI_COMM_NULL) return OO_OK;
  oo_config cfg;
  tiny_config(&cfg);
  cfg.layout.rollout_ranks = rollout_ranks;
  cfg.layout.rm_ranks = rm_ranks;
  snprintf(cfg.ppo.value, sizeof cfg.ppo.value, "%s", value_mode);
  const int head = !strcmp(value_mode, "head");
  oo_layout lay;
  oo_comms comms;
  CHECK(layout_build(&lay, S, &cfg));
  CHECK(comm_build(&comms, sub, &lay));
  const oo_rank_role *me = &lay.ranks[comms.rank];
  const int prompt_len = cfg.prefs.prompt_len, K = cfg.rm.k;
  gpt_dims d = {GPT_VOCAB, cfg.pretrain.n_ctx, 16, 1, 2};

  /* pi_init: a random LM with a peaked enough distribution that PPO can move it */
  gpt ref, policy, value;
  memset(&ref, 0, sizeof ref);
  memset(&policy, 0, sizeof policy);
  memset(&value, 0, sizeof value);
  if (me->is_rollout) {
    CHECK(gpt_create(&ref, d, GPT_LM));
    gpt_init_weights(&ref, 4242, 0.3f, 0.0f);
    CHECK(gpt_create(&policy, d, head ? GPT_LM_VALUE : GPT_LM));
    CHECK(gpt_copy_trunk(&policy, &ref)); /* a value head starts at zero */
    if (!head) {
      CHECK(gpt_create(&value, d, GPT_VALUE));
      CHECK(gpt_copy_trunk(&value, &ref));
    }
  }
  rm_ensemble ens;
  memset(&ens, 0, sizeof ens);
  ens.k = K;
  ens.chunk = 32;
  if (me->is_rm)
    for (int m = 0; m < K; m++) {
      if (layout_replica(&lay, comms.rank, m) < 0) continue;
      gpt *g = &ens.models[ens.n_local];
      CHECK(gpt_create(g, d, GPT_REWARD));
      gpt_init_weights(g, 1000 + (uint64_t)m, 0.2f, 0.5f);
      ens.member_id[ens.n_local++] = m;
    }
  gold_model gold;
  memset(&gold, 0, sizeof gold);
  if (me->is_rm) CHECK(gold_build(&gold, &cfg, NULL));

  /* prompts: [EOT, prompt_len lowercase letters] */
  const int n_train = 12, n_eval = 4;
  int train[12 * 7], evalp[4 * 7];
  oo_rng pr = oo_rng_make(5, RNG_TEST, 0, 0);
  for (int i = 0; i < n_train + n_eval; i++) {
    int *p = i < n_train ? train + i * (prompt_len + 1) : evalp + (i - n_train) * (prompt_len + 1);
    p[0] = GPT_EOT;
    for (int t = 1; t <= prompt_len; t++) p[t] = 'a' + (int)oo_rng_below(&pr, 26);
  }

  ppo_ctx x;
  memset(&x, 0, sizeof x);
  x.cfg = &cfg;
  x.comms = &comms;
  x.lay = &lay;
  x.obj = (obj_spec){.kind = OBJ_UWO, .lambda = 0.1};
  x.use_gold = 0;
  x.policy = me->is_rollout ? &policy : NULL;
  x.ref = me->is_rollout ? &ref : NULL;
  x.value = me->is_rollout && !head ? &value : NULL;
  x.ens = &ens;
  x.gold = &gold;
  x.train_prompts = train;
  x.n_train = n_train;
  x.eval_prompts = evalp;
  x.n_eval = n_eval;
  CHECK(ppo_ctx_init(&x));

  ppo_eval_metrics ev;
  CHECK(ppo_eval(&x, &ev));
  if (comms.rank == 0) {
    res->eval[0][E_K1] = ev.kl_k1;
    res->eval[0][E_PROXY] = ev.proxy;
    res->eval[0][E_GOLD] = ev.gold;
  }
  for (int s = 0; s < STEPS; s++) {
    ppo_cmd cmd = {s, 0.0, 0.0, 0};
    if (comms.rank == 0) {
      cmd.lr = 3e-3;
      cmd.beta = 0.05;
    }
    CHECK(ppo_bcast_cmd(&x, &cmd));
    ppo_metrics m;
    CHECK(ppo_step(&x, &cmd, &m));
    if (comms.rank == 0) {
      double v[N_M] = {m.kl_k1, m.kl_k2, m.kl_k3, m.proxy,       m.gold,     m.ens_var,
                       m.entropy, m.policy_loss, m.clipfrac, m.vf_loss, m.approx_kl};
      memcpy(res->step[s], v, sizeof v);
    }
    if (s == 0) res->live_after1 = oo_mem_live_blocks();
  }
  res->live_after3 = oo_mem_live_blocks();
  CHECK(ppo_eval(&x, &ev));
  if (comms.rank == 0) {
    res->eval[1][E_K1] = ev.kl_k1;
    res->eval[1][E_PROXY] = ev.proxy;
    res->eval[1][E_GOLD] = ev.gold;
    printf("  sample after %d steps: %s (gold %.3f)\n", STEPS, ev.samples[0], ev.sample_gold[0]);
  }
  ppo_ctx_free(&x);
  gpt_free(&ref);
  gpt_free(&policy);
  gpt_free(&value);
  rm_ensemble_free(&ens);
  if (me->is_rm) gold_free(&gold);
  comm_free(&comms);
  layout_free(&lay);
  MPI_Comm_free(&sub);
  return OO_OK;
}

static int close_enough(double a, double b) {
  if (isnan(a) || isnan(b)) return 0;
  double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= 1e-4 * scale + 1e-5;
}

static void compare(const char *what, const result *a, const result *b) {
  double worst = 0;
  for (int s = 0; s < STEPS; s++)
    for (int k = 0; k < N_M; k++) {
      double x = a->step[s][k], y = b->step[s][k];
      double scale = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
      double rel = fabs(x - y) / (scale > 1e-1 ? scale : 1e-1);
      if (rel > worst) worst = rel;
      EXPECT_MSG(close_enough(x, y), "%s: step %d %s = %.9g vs %.9g (1 rank)", what, s, m_names[k], y, x);
    }
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < N_E; k++)
      EXPECT_MSG(close_enough(a->eval[i][k], b->eval[i][k]), "%s: eval %d metric %d = %.9g vs %.9g", what, i, k,
                 b->eval[i][k], a->eval[i][k]);
  printf("%-36s largest relative difference to 1 rank %.3g\n", what, worst);
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  struct {
    int S, roll, rm;
    const char *name;
  } layouts[] = {
      {1, 0, 0, "1 rank"},
      {2, 0, 0, "2 ranks, every role"},
      {2, 1, 1, "2 ranks, rollout 1 + RM 1"},
      {4, 0, 0, "4 ranks, every role"},
      {4, 2, 2, "4 ranks, rollout 2 + RM 2"},
      {4, 1, 3, "4 ranks, rollout 1 + RM 3"},
  };
  const int nl = (int)(sizeof layouts / sizeof layouts[0]);
  static const char *const modes[2] = {"model", "head"};
  result base_of[2];
  for (int mi = 0; mi < 2; mi++) {
    const char *mode = modes[mi];
    if (rank == 0) printf("-- ppo.value = %s\n", mode);
    result base, again, r;
    memset(&base, 0, sizeof base);
    memset(&again, 0, sizeof again);
    if (run_layout(1, 0, 0, mode, &base)) oo_mpi_die(1);
    /* the largest layout this world allows, twice: bit-identical */
    int big = size >= 4 ? 4 : size >= 2 ? 2 : 1;
    result first;
    memset(&first, 0, sizeof first);
    if (run_layout(big, 0, 0, mode, &first)) oo_mpi_die(1);
    if (run_layout(big, 0, 0, mode, &again)) oo_mpi_die(1);
    if (rank == 0) {
      EXPECT_MSG(memcmp(first.step, again.step, sizeof first.step) == 0 &&
                     memcmp(first.eval, again.eval, sizeof first.eval) == 0,
                 "%s: the same layout (%d ranks) twice gave different metrics", mode, big);
      printf("same layout (%d ranks) twice: %s\n", big,
             memcmp(first.step, again.step, sizeof first.step) ? "DIFFERENT" : "bit-identical");
      for (int s = 0; s < STEPS; s++)
        printf("step %d: kl_k1 %.6f proxy %.6f gold %.6f entropy %.4f policy_loss %.6f clipfrac %.4f vf_loss %.6f\n",
               s, base.step[s][M_K1], base.step[s][M_PROXY], base.step[s][M_GOLD], base.step[s][M_ENT],
               base.step[s][M_PLOSS], base.step[s][M_CLIP], base.step[s][M_VF]);
      EXPECT_MSG(base.step[0][M_K1] == 0.0 && base.eval[0][E_K1] == 0.0,
                 "%s: KL at step 0 must be exactly 0 (policy == reference): %.3g, eval %.3g", mode, base.step[0][M_K1],
                 base.eval[0][E_K1]);
      EXPECT_MSG(base.step[2][M_K3] > 1e-3 && base.eval[1][E_K1] != 0.0,
                 "%s: the policy did not move: k3 at step 2 = %.3g, eval k1 after = %.3g", mode, base.step[2][M_K3],
                 base.eval[1][E_K1]);
      EXPECT_MSG(base.live_after1 == base.live_after3,
                 "%s: live blocks grew from %ld after step 1 to %ld after step 3", mode, base.live_after1,
                 base.live_after3);
    }
    for (int i = 1; i < nl; i++) {
      if (layouts[i].S > size) continue;
      memset(&r, 0, sizeof r);
      if (run_layout(layouts[i].S, layouts[i].roll, layouts[i].rm, mode, &r)) oo_mpi_die(1);
      if (rank == 0) compare(layouts[i].name, &base, &r);
    }
    base_of[mi] = base;
  }
  if (rank == 0) {
    const int same0[] = {M_K1, M_PROXY, M_GOLD, M_VAR, M_ENT};
    for (size_t k = 0; k < sizeof same0 / sizeof same0[0]; k++)
      EXPECT_MSG(base_of[0].step[0][same0[k]] == base_of[1].step[0][same0[k]],
                 "step 0 %s differs between value model (%.9g) and head (%.9g)", m_names[same0[k]],
                 base_of[0].step[0][same0[k]], base_of[1].step[0][same0[k]]);
    EXPECT_MSG(base_of[0].step[2][M_PROXY] != base_of[1].step[2][M_PROXY],
               "step 2: value head and value model gave the same proxy %.9g (the head did not reach the trunk?)",
               base_of[0].step[2][M_PROXY]);
    printf("value model vs head: step 0 rollouts identical; step 2 proxy %.6f vs %.6f\n",
           base_of[0].step[2][M_PROXY], base_of[1].step[2][M_PROXY]);
  }
  int rc = rank == 0 ? TEST_SUMMARY() : 0;
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return rc;
}
