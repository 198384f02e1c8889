/* run: `overopt run CONFIG` and `overopt stage NAME CONFIG` (see run.h). */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "provenance.h"
#include "core/atomic_file.h"
#include "core/core.h"
#include "core/machine.h"
#include "model/kernels.h"
#include "mem_budget.h"
#include "stats/summary.h"
#include "postprocess.h"
#include "watchdog.h"

/* ---- the stage table ---------------------------------------------------------------------- */

/* Config keys each stage depends on, cumulative along the pipeline. The world depends on the
 * world seed only; a replicate's stages add run.seed (replicate i's seed is run.seed + i). */
#define DEP_PRETRAIN "run.world_seed", "corpus.", "pretrain."
#define DEP_GOLD DEP_PRETRAIN, "gold.", "prefs.prompt_len", "prefs.response_len", "prefs.temperature", "prefs.top_p"
#define DEP_PREFS DEP_GOLD, "run.seed", "prefs."
#define DEP_RM DEP_PREFS, "rm."

static const char *const dep_pretrain[] = {DEP_PRETRAIN, "rm.size.", "gold.", NULL};
/* a member's own trunk is pretrained like the base LM of rm.size, from its own seed; rm.k only
 * adds or drops files (each checked against this hash) */
static const char *const dep_trunks[] = {DEP_PRETRAIN, "rm.size.", NULL};
static const char *const dep_gold[] = {DEP_GOLD, NULL};
static const char *const dep_bon_samples[] = {DEP_GOLD, "bon.n_prompts", "bon.n_samples", "bon.top_p", NULL};
static const char *const dep_prefs[] = {DEP_PREFS, NULL};
static const char *const dep_rm[] = {DEP_RM, NULL};
static const char *const dep_bon[] = {DEP_RM, "bon.", NULL};
static const char *const dep_ppo[] = {DEP_RM, "ppo.", NULL};
/* fit, summary and report read the CSV files of the run, not the config: each skips itself when
 * the hash of its input files is unchanged. */
static const char *const dep_fit[] = {DEP_RM, "bon.", "ppo.", NULL};

static int one_artifact(char names[][256], int cap, const char *name) {
  if (cap < 1) return 0;
  snprintf(names[0], 256, "%s", name);
  return 1;
}
static int art_none(const oo_run *run, char names[][256], int cap) {
  (void)run, (void)names, (void)cap;
  return 0;
}
#define ONE_ARTIFACT(fn, file)                                        \
  static int fn(const oo_run *run, char names[][256], int cap) {      \
    (void)run;                                                        \
    return one_artifact(names, cap, file);                            \
  }
ONE_ARTIFACT(art_gold, "gold.h5")
ONE_ARTIFACT(art_bon_samples, "bon_samples.h5")
ONE_ARTIFACT(art_prefs, "prefs.h5")
ONE_ARTIFACT(art_rm, "rm.h5")
ONE_ARTIFACT(art_bon, "bon.h5")
#undef ONE_ARTIFACT

/* lm_<rm size>_trunk<m>.h5 for m = 1 .. k-1 with rm.diversity pretrain, else none. */
static int art_trunks(const oo_run *run, char names[][256], int cap) {
  int n = 0;
  if (!pretrain_trunks_wanted(&run->cfg)) return 0;
  for (int m = 1; m < run->cfg.rm.k && n < cap; m++)
    if (pretrain_trunk_file(&run->cfg, m, names[n], 256) == OO_OK) n++;
    else oo_error_clear();
  return n;
}

/* Inputs of each stage besides the corpus (artifact_inputs_hash): the files it reads. */
static int in_none(const oo_run *run, char paths[][4400], int cap) {
  (void)run, (void)paths, (void)cap;
  return 0;
}
/* Adds the file `name` of scope (or the pretrained LM of `size` when name is NULL) to paths; a
 * path too long is left out (the stage that opens it names it). */
static void add_input(const oo_run *run, art_scope scope, const char *name, const cfg_size *size, char paths[][4400],
                      int *n, int cap) {
  if (*n >= cap) return;
  int rc = name ? artifact_path(run, scope, name, paths[*n], 4400) : pretrain_lm_path(run, size, paths[*n], 4400);
  if (rc) oo_error_clear();
  else (*n)++;
}
static int in_gold(const oo_run *run, char paths[][4400], int cap) {
  int n = 0;
  add_input(run, ART_WORLD, NULL, &run->cfg.pretrain.policy, paths, &n, cap);
  char teacher[80];
  if (!strcmp(run->cfg.gold.kind, "teacher") && !pretrain_teacher_file(&run->cfg, teacher, sizeof teacher))
    add_input(run, ART_WORLD, teacher, NULL, paths, &n, cap);
  if (!strcmp(run->cfg.gold.kind, "checkpoint") && n < cap) snprintf(paths[n++], 4400, "%s", run->cfg.gold.checkpoint);
  return n;
}
static int in_policy_gold(const oo_run *run, char paths[][4400], int cap) { /* bon_samples, prefs */
  int n = 0;
  add_input(run, ART_WORLD, NULL, &run->cfg.pretrain.policy, paths, &n, cap);
  add_input(run, ART_WORLD, "gold.h5", NULL, paths, &n, cap);
  return n;
}
static int in_rm(const oo_run *run, char paths[][4400], int cap) {
  int n = 0;
  add_input(run, ART_REPLICATE, "prefs.h5", NULL, paths, &n, cap);
  add_input(run, ART_WORLD, NULL, &run->cfg.rm.size, paths, &n, cap);
  char names[16][256]; /* the members' own trunks, as many as the cap leaves (the config hash covers the rest) */
  int nt = art_trunks(run, names, 16);
  for (int i = 0; i < nt; i++) add_input(run, ART_WORLD, names[i], NULL, paths, &n, cap);
  return n;
}
static int in_bon(const oo_run *run, char paths[][4400], int cap) {
  int n = 0;
  add_input(run, ART_WORLD, "bon_samples.h5", NULL, paths, &n, cap);
  add_input(run, ART_WORLD, "gold.h5", NULL, paths, &n, cap);
  add_input(run, ART_REPLICATE, "rm.h5", NULL, paths, &n, cap);
  return n;
}
static int in_ppo(const oo_run *run, char paths[][4400], int cap) {
  int n = in_policy_gold(run, paths, cap);
  add_input(run, ART_REPLICATE, "rm.h5", NULL, paths, &n, cap);
  return n;
}

/* --force: forget the recorded input hash (fits.h5, report/inputs_hash.txt) so the step reruns. */
static int forget_stamp(const oo_run *run, art_scope scope, const char *name) {
  char path[4400];
  if (run->force && run->comms.rank == 0 && artifact_path(run, scope, name, path, sizeof path) == OO_OK) unlink(path);
  CHECK_MPI(MPI_Barrier(run->comms.world));
  return OO_OK;
}

static int stage_fit(oo_run *run) {
  CHECK(forget_stamp(run, ART_REPLICATE, "fits.h5"));
  int skipped = 0;
  CHECK(fit_run_dir_changed(run->dir, run->comms.world, &skipped));
  if (skipped) LOG_INFO("fit: fits.h5 is up to date with bon.csv and ppo_<tag>.csv (or there are no curves), skipped");
  return OO_OK;
}

static int stage_summary(oo_run *run) {
  if (run->cfg.run.replicates < 2) {
    LOG_INFO("summary: one replicate, nothing to summarize (set run.replicates >= 2 for intervals)");
    return OO_OK;
  }
  int rc = run->comms.rank == 0 ? summary_write(run->world_dir, run->cfg.run.replicates) : OO_OK;
  return oo_agree(run->comms.world, rc, "rank 0 could not write the summary of the replicates");
}

static int stage_report(oo_run *run) {
  CHECK(forget_stamp(run, ART_RUN, "report/inputs_hash.txt"));
  int rc = OO_OK, skipped = 0;
  char md[4400];
  if (run->comms.rank == 0) {
    rc = report_run_dir_changed(run->world_dir, &skipped, md, sizeof md);
    if (!rc && skipped) LOG_INFO("report: %s is up to date with its inputs, skipped", md);
  }
  return rc; /* an error on rank 0 aborts the job with its message (run_main) */
}

static const oo_stage stages[] = {
    {"pretrain", ART_WORLD, dep_pretrain, art_none, in_none, stage_pretrain}, /* skips per LM file itself */
    {"trunks", ART_WORLD, dep_trunks, art_trunks, in_none, stage_trunks},
    {"gold", ART_WORLD, dep_gold, art_gold, in_gold, stage_gold},
    {"bon_samples", ART_WORLD, dep_bon_samples, art_bon_samples, in_policy_gold, stage_bon_samples},
    {"prefs", ART_REPLICATE, dep_prefs, art_prefs, in_policy_gold, stage_prefs},
    {"rm", ART_REPLICATE, dep_rm, art_rm, in_rm, stage_rm},
    {"bon", ART_REPLICATE, dep_bon, art_bon, in_bon, stage_bon},
    {"ppo", ART_REPLICATE, dep_ppo, art_none, in_ppo, stage_ppo}, /* skips per objective file itself */
    {"fit", ART_REPLICATE, dep_fit, art_none, in_none, stage_fit}, /* skips itself (inputs hash in fits.h5) */
    {"summary", ART_RUN, dep_fit, art_none, in_none, stage_summary},
    {"report", ART_RUN, dep_fit, art_none, in_none, stage_report}, /* skips itself (report/inputs_hash.txt) */
};

const oo_stage *run_stages(int *n) {
  *n = (int)(sizeof stages / sizeof stages[0]);
  return stages;
}

/* ---- set-up ------------------------------------------------------------------------------- */

/* Writes the resolved config to DIR/config.cfg through a temporary file (checked, renamed). */
static int write_config(const oo_run *run, const char *dir, const char *config_path) {
  char path[4400];
  CHECK(oo_path_join(path, sizeof path, dir, "config.cfg"));
  atomic_file af;
  CHECK(atomic_open(&af, path));
  fprintf(af.f, "# resolved from %s by overopt %s", config_path, OVEROPT_VERSION);
  if (run->replicate >= 0 && run->cfg.run.replicates > 1)
    fprintf(af.f, " (replicate %d of %d: run.seed = %d)", run->replicate, run->cfg.run.replicates, run->cfg.run.seed);
  fprintf(af.f, "\n");
  if (cfg_write(&run->cfg, af.f)) {
    atomic_abort(&af);
    return oo_error_trace(OO_ERR, __FILE__, __LINE__);
  }
  CHECK(atomic_commit(&af));
  return provenance_config_json(&run->cfg, dir);
}

static int write_provenance(const oo_run *run, const char *config_path) {
  CHECK(write_config(run, run->dir, config_path));
  char path[4400];
  CHECK(run_path(run, "provenance.txt", path, sizeof path));
  FILE *f = fopen(path, "a");
  REQUIRE(f, "cannot write '%s': %s", path, strerror(errno));
  time_t now = time(NULL);
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  fprintf(f, "---- %s", ctime(&now));
  fprintf(f, "overopt %s, config %s, host %s, world size %d, world seed %d, seed %d, replicates %d\n",
          OVEROPT_VERSION, config_path, host, run->comms.size, run->cfg.run.world_seed, run->cfg.run.seed,
          run->cfg.run.replicates);
  const char *was = oo_blas_kernel_fallback(); /* the kernel OpenBLAS chose, where the guard switched */
  fprintf(f, "cpu %s, BLAS kernel %s (run.blas_kernel \"%s\"%s%s), project kernels %s\n", oo_cpu_model(),
          oo_blas_kernel(), run->cfg.run.blas_kernel, was ? "; OpenBLAS had chosen " : "", was ? was : "",
          kern_describe());
  const char *job = getenv("SLURM_JOB_ID");
  if (job) fprintf(f, "slurm job %s (restart %s)\n", job, getenv("SLURM_RESTART_COUNT") ? getenv("SLURM_RESTART_COUNT") : "0");
  layout_print(&run->layout, f);
  int bad = ferror(f) != 0;
  bad |= fclose(f) != 0;
  REQUIRE(!bad, "cannot write '%s': %s", path, strerror(errno));
  return OO_OK;
}

static int setup_rank0(oo_run *run, const char *config_path, int n_sets, char **sets, int world_size) {
  cfg_defaults(&run->cfg);
  CHECK(cfg_load(&run->cfg, config_path));
  for (int i = 0; i < n_sets; i++) CHECK(cfg_set(&run->cfg, sets[i]));
  CHECK(cfg_validate(&run->cfg, config_path));
  mem_budget budget; /* refuse before any stage allocates by a config value (#12) */
  mem_budget_estimate(&run->cfg, world_size, &budget);
  CHECK(mem_budget_check(&budget, oo_mem_limit()));
  return OO_OK;
}

int run_setup(oo_run *run, MPI_Comm world, const char *config_path, int n_sets, char **sets) {
  int rank, size;
  CHECK_MPI(MPI_Comm_rank(world, &rank));
  CHECK_MPI(MPI_Comm_size(world, &size));
  memset(run, 0, sizeof *run);
  run->lock_fd = -1;
  int rc = rank == 0 ? setup_rank0(run, config_path, n_sets, sets, size) : OO_OK;
  /* every rank returns; rank 0 holds the message and prints it */
  CHECK(oo_agree(world, rc, "rank 0 could not load the configuration"));
  CHECK_MPI(MPI_Bcast(&run->cfg, (int)sizeof run->cfg, MPI_BYTE, 0, world));
  CHECK(layout_build(&run->layout, size, &run->cfg));
  /* before any stage runs: every rank sees the same config and size, so all fail alike */
  const int groups = run_replicate_groups(&run->cfg, size);
  REQUIRE(size % groups == 0, "layout.replicate_groups = %d does not divide the %d ranks of the job: use a divisor "
          "of the rank count, or 0 (automatic)", groups, size);
  CHECK(comm_build(&run->comms, world, &run->layout));
  int n = snprintf(run->dir, sizeof run->dir, "%s/%s", run->cfg.run.out_dir, run->cfg.run.name);
  REQUIRE(n > 0 && (size_t)n < sizeof run->dir, "run directory name too long (run.out_dir, run.name)");
  memcpy(run->world_dir, run->dir, sizeof run->dir);
  run->replicate = -1;
  run->scope = ART_WORLD;
  snprintf(run->config_path, sizeof run->config_path, "%s", config_path);
  rc = OO_OK;
  if (rank == 0) {
    rc = oo_mkdir_p(run->dir);
    if (!rc) rc = artifact_lock_dir(run->dir, &run->lock_fd); /* before anything is written (#12) */
    if (!rc) rc = artifact_remove_temporaries(run->dir);
    if (!rc) rc = write_provenance(run, config_path);
    if (!rc) {
      char log[4400];
      run_path(run, "run.log", log, sizeof log);
      rc = oo_log_open_file(log);
    }
  }
  rc = oo_agree(world, rc, "rank 0 could not set up the run directory");
  if (rc) {
    artifact_unlock_dir(&run->lock_fd);
    return rc;
  }
  CHECK(oo_watchdog_start(run->comms.world, run->cfg.run.watchdog_s));
  return provenance_begin(run);
}

void run_teardown(oo_run *run) {
  artifact_unlock_dir(&run->lock_fd);
  oo_log_open_file(NULL);
  comm_free(&run->comms);
  layout_free(&run->layout);
}

/* ---- replicates --------------------------------------------------------------------------- */

/* Groups of ranks that run replicates side by side: G divides the world size and minimizes the
 * rounds times the group count, ceil(R/G)*G (the wall time if every stage scaled perfectly with
 * ranks), preferring more groups on ties (less communication). layout.replicate_groups overrides;
 * an explicit rank layout (layout.rollout_ranks or rm_ranks) keeps one group. */
int run_replicate_groups(const oo_config *cfg, int size) {
  const int R = cfg->run.replicates;
  if (cfg->layout.replicate_groups > 0) return cfg->layout.replicate_groups;
  if (cfg->layout.rollout_ranks > 0 || cfg->layout.rm_ranks > 0) return 1;
  int best = 1;
  long best_cost = (long)R;
  for (int g = 2; g <= size && g <= R; g++) {
    if (size % g) continue;
    long cost = (long)((R + g - 1) / g) * g;
    if (cost <= best_cost) best = g, best_cost = cost;
  }
  return best;
}

/* Collective on group: the run of replicate i on the ranks of group, in world_dir/rep<i> (R >= 2)
 * or world_dir itself (R = 1). */
static int replicate_setup(oo_run *rep, const oo_run *world, MPI_Comm group, int i) {
  int rank, size;
  CHECK_MPI(MPI_Comm_rank(group, &rank));
  CHECK_MPI(MPI_Comm_size(group, &size));
  memset(rep, 0, sizeof *rep);
  rep->cfg = world->cfg;
  rep->cfg.run.seed = world->cfg.run.seed + i;
  rep->replicate = i;
  rep->scope = ART_REPLICATE;
  rep->quiet = world->quiet;
  memcpy(rep->world_dir, world->world_dir, sizeof rep->world_dir);
  memcpy(rep->share, world->share, sizeof rep->share);
  rep->n_share = world->n_share;
  memcpy(rep->config_path, world->config_path, sizeof rep->config_path);
  if (world->cfg.run.replicates > 1) {
    char name[24];
    snprintf(name, sizeof name, "rep%d", i);
    snprintf(rep->rep_rel, sizeof rep->rep_rel, "%s/", name);
    CHECK(oo_path_join(rep->dir, sizeof rep->dir, world->world_dir, name));
  } else {
    memcpy(rep->dir, world->world_dir, sizeof rep->dir);
  }
  /* every rank of the group builds the same layout or fails alike (same config, same size) */
  CHECK(layout_build(&rep->layout, size, &rep->cfg));
  CHECK(comm_build(&rep->comms, group, &rep->layout));
  int rc = OO_OK;
  rep->lock_fd = -1; /* the world's lock covers rep<i>/ */
  if (rank == 0 && world->cfg.run.replicates > 1) {
    rc = oo_mkdir_p(rep->dir);
    if (!rc) rc = artifact_remove_temporaries(rep->dir);
    if (!rc) rc = write_config(rep, rep->dir, world->config_path);
    if (!rc) {
      char log[4400];
      run_path(rep, "run.log", log, sizeof log);
      rc = oo_log_open_file(log);
    }
  }
  char others[64];
  snprintf(others, sizeof others, "could not set up replicate %d's directory", i);
  return oo_agree(group, rc, others);
}

static void replicate_teardown(oo_run *rep) {
  comm_free(&rep->comms);
  layout_free(&rep->layout);
}

/* ---- driver ------------------------------------------------------------------------------ */

int run_stage(oo_run *run, const oo_stage *st, int force) {
  run->force = force; /* stages that skip per file (pretrain, ppo) read it */
  run->stage = st->name;
  run->scope = st->scope;
  oo_watchdog_stage(st->name);
  uint64_t h = cfg_hash(&run->cfg, st->depends);
  char (*inputs)[4400] = xmalloc(8 * sizeof *inputs);
  const char *in[8];
  int n_in = st->inputs(run, inputs, 8);
  for (int i = 0; i < n_in; i++) in[i] = inputs[i];
  int rc_in = artifact_inputs_hash(run, in, n_in, &run->inputs_hash);
  xfree(&inputs);
  CHECK(rc_in);
  h = oo_hash_bytes(&run->inputs_hash, sizeof run->inputs_hash, h);
  snprintf(run->stage_hash, sizeof run->stage_hash, "%016llx", (unsigned long long)h);
  char names[16][256];
  int n = st->artifacts(run, names, 16);
  char where[48] = "";
  if (st->scope == ART_REPLICATE && run->cfg.run.replicates > 1) snprintf(where, sizeof where, " (replicate %d)", run->replicate);
  if (!force && n > 0) {
    int current = 1;
    for (int i = 0; i < n && current; i++) current = run_artifact_current_all(run, names[i]);
    if (current) {
      LOG_INFO("== %s%s: up to date (config hash %s), skipped", st->name, where, run->stage_hash);
      provenance_stage(run, st->name, time(NULL), "up to date");
      return OO_OK;
    }
  }
  if (oo_stop_requested(run->comms.world)) { /* between stages too, e.g. a request during set-up */
    LOG_INFO("== %s%s: stopped on request before it began; rerun the same command to continue", st->name, where);
    return OO_OK;
  }
  LOG_INFO("== %s%s", st->name, where);
  double t0 = oo_now();
  time_t wall0 = time(NULL);
  int rc = st->fn(run);
  provenance_stage(run, st->name, wall0, rc ? "failed" : oo_stopped() ? "stopped" : "done");
  if (!rc && oo_stopped()) {
    LOG_INFO("== %s%s: stopped on request after %.1f s; rerun the same command to continue", st->name, where,
             oo_now() - t0);
    return OO_OK;
  }
  CHECK(rc);
  LOG_INFO("== %s%s: done in %.1f s", st->name, where, oo_now() - t0);
  return OO_OK;
}

/* Runs the stages of one scope that the selection asks for, in table order; *past_until is set
 * once `until` has run. */
static int run_scope(oo_run *run, art_scope scope, int force, const char *only, const char *until, int *past_until) {
  int n;
  const oo_stage *st = run_stages(&n);
  for (int i = 0; i < n; i++) {
    if (st[i].scope != scope) continue;
    if (*past_until) break;
    if (!only || !strcmp(st[i].name, only)) {
      int rc = run_stage(run, &st[i], force || only != NULL);
      if (rc || oo_stopped()) return rc;
    }
    if (until && !strcmp(st[i].name, until)) *past_until = 1;
  }
  return OO_OK;
}

/* Every replicate's stages; collective on world->comms.world. Replicates are dealt to groups of
 * ranks round-robin; a group that stops or fails ends its own loop (an error then aborts the job
 * from run_main), and every rank agrees on a stop. */
static int run_replicates(oo_run *world, int force, const char *only, const char *until, int *past_until) {
  const int R = world->cfg.run.replicates, size = world->comms.size, rank = world->comms.rank;
  const int G = run_replicate_groups(&world->cfg, size); /* checked by run_setup */
  const int color = rank / (size / G);
  MPI_Comm group;
  CHECK_MPI(MPI_Comm_split(world->comms.world, color, rank, &group));
  int group_rank;
  CHECK_MPI(MPI_Comm_rank(group, &group_rank));
  if (R > 1) {
    LOG_INFO("replicates: %d (run.seed %d .. %d) on %d group%s of %d rank%s", R, world->cfg.run.seed,
             world->cfg.run.seed + R - 1, G, G == 1 ? "" : "s", size / G, size / G == 1 ? "" : "s");
    /* The automatic choice depends on R (10 replicates on 2 ranks: 2 groups; 3 or 5: 1), and PPO's
     * updates and multi-replica members round differently on another group size (DESIGN.md,
     * "Rank-count independence"): say so, since a fresh run with more replicates then does not
     * reproduce the bits of the ones a smaller run made. */
    const int automatic = world->cfg.layout.replicate_groups == 0 && !world->cfg.layout.rollout_ranks &&
                          !world->cfg.layout.rm_ranks; /* an explicit rank layout keeps one group */
    if (automatic && size > 1)
      LOG_INFO("replicates: layout.replicate_groups = 0 chose %d for R = %d; PPO's bits depend on the group "
               "size, so set layout.replicate_groups = %d to keep this layout when R changes",
               G, R, G);
    /* each group's rank 0 leads its own log (rep<i>/run.log); only group 0 also prints */
    oo_log_set_leader(group_rank == 0);
  }
  const int level = oo_log_level();
  if (R > 1 && color != 0 && level > OO_LOG_WARN) oo_log_set_level(OO_LOG_WARN);
  int rc = OO_OK, until_here = 0;
  double t0 = oo_now();
  for (int i = color; i < R && !rc && !oo_stopped(); i += G) {
    oo_run *rep = xcalloc(1, sizeof *rep);
    rc = replicate_setup(rep, world, group, i);
    if (!rc) {
      until_here = 0;
      rc = run_scope(rep, ART_REPLICATE, force, only, until, &until_here);
      replicate_teardown(rep);
    }
    xfree(&rep);
    if (rc && G > 1) oo_mpi_die(rc); /* one group's error ends the job */
  }
  oo_log_set_level(level);
  if (R > 1) {
    oo_log_set_leader(-1);
    char log[4400];
    if (rank == 0 && run_path(world, "run.log", log, sizeof log) == OO_OK) oo_log_open_file(log);
  }
  CHECK_MPI(MPI_Comm_free(&group));
  if (rc) return rc; /* G = 1: every rank has it */
  *past_until |= until_here;
  if (oo_stop_requested(world->comms.world)) return OO_OK; /* a group that stopped stops every group */
  if (R > 1) LOG_INFO("replicates: %d done in %.1f s", R, oo_now() - t0);
  return OO_OK;
}

static const oo_stage *find_stage(const char *name) {
  int n;
  const oo_stage *st = run_stages(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(st[i].name, name) == 0) return &st[i];
  return NULL;
}

int run_pipeline(oo_run *run, int force, const char *only, const char *until) {
  int past_until = 0;
  const oo_stage *one = only ? find_stage(only) : NULL;
  int rc = run_scope(run, ART_WORLD, force, only, until, &past_until);
  if (!rc && !oo_stopped() && !past_until && (!one || one->scope == ART_REPLICATE))
    rc = run_replicates(run, force, only, until, &past_until);
  if (!rc && !oo_stopped() && !past_until) rc = run_scope(run, ART_RUN, force, only, until, &past_until);
  return rc;
}

typedef struct {
  const char *config;   /* CONFIG */
  char *sets[64];       /* --set values */
  int n_sets;           /* count */
  int force;            /* --force */
  const char *stage;    /* stage NAME for `overopt stage` */
  const char *until;    /* --until NAME */
} run_args;

static const oo_option run_opts[] = {
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 1, "libconfig file (configs/quickstart.cfg is the default experiment)"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key, e.g. run.seed=2"},
    {"--force", NULL, OPT_FLAG, NULL, NULL, 0, "rerun every stage even if its artifacts are up to date"},
    {"--until", NULL, OPT_VALUE, "STAGE", "report (every stage)", 0, "stop after this stage"},
};
static const oo_option stage_opts[] = {
    {"NAME", NULL, OPT_POSITIONAL, NULL, NULL, 1, "pretrain, trunks, gold, bon_samples, prefs, rm, bon, ppo, fit, summary or report"},
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 1, "libconfig file"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key, e.g. ppo.steps=10"},
};
const oo_cmd_spec cmd_run_spec = {
    "run", "run every stage into run.out_dir/run.name, skipping those whose artifacts are up to date",
    "mpirun -n 2 overopt run configs/quickstart.cfg --set run.seed=2", run_opts, OO_N_OPTS(run_opts), cmd_run, 1};
const oo_cmd_spec cmd_stage_spec = {"stage", "run one stage, even if it is up to date",
                                    "mpirun -n 2 overopt stage rm configs/quickstart.cfg --set rm.k=3", stage_opts,
                                    OO_N_OPTS(stage_opts), cmd_stage, 1};

static int parse_run_args(int argc, char **argv, int want_stage, run_args *a) {
  memset(a, 0, sizeof *a);
  oo_args o;
  CHECK(opts_parse(want_stage ? &cmd_stage_spec : &cmd_run_spec, argc, argv, &o));
  a->config = opt_str(&o, "CONFIG");
  for (int i = 0; i < opt_given(&o, "--set"); i++) a->sets[a->n_sets++] = (char *)opt_item(&o, "--set", i);
  if (want_stage) a->stage = opt_str(&o, "NAME");
  else a->force = opt_given(&o, "--force"), a->until = opt_given(&o, "--until") ? opt_str(&o, "--until") : NULL;
  return OO_OK;
}

static int stage_names_error(const char *what, const char *name) {
  int n;
  const oo_stage *st = run_stages(&n);
  char list[512] = "";
  for (int i = 0; i < n; i++) {
    strncat(list, st[i].name, sizeof list - strlen(list) - 2);
    if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
  }
  OO_FAIL("%s: unknown stage '%s'; stages are: %s", what, name, list);
}

static int run_main(int argc, char **argv, int want_stage) {
  run_args a;
  int bad = parse_run_args(argc, argv, want_stage, &a);
  if (!bad && a.stage && !find_stage(a.stage)) bad = stage_names_error("stage", a.stage);
  if (!bad && a.until && !find_stage(a.until)) bad = stage_names_error("--until", a.until);
  if (bad) { /* seen by every rank alike */
    if (oo_log_rank() == 0) opts_usage_error(want_stage ? &cmd_stage_spec : &cmd_run_spec);
    return -OO_EXIT_USAGE;
  }
  oo_signals_install(); /* before set-up: a request during it stops the run at its first step */
  oo_run *run = xcalloc(1, sizeof *run);
  int rc = run_setup(run, MPI_COMM_WORLD, a.config, a.n_sets, a.sets);
  if (rc) { /* every rank returns alike; rank 0 holds the message */
    if (oo_log_rank() == 0) fprintf(stderr, "error: %s\n", oo_error_message());
    xfree(&run);
    return -1;
  }
  LOG_INFO("overopt %s: run '%s' on %d rank%s -> %s", OVEROPT_VERSION, run->cfg.run.name, run->comms.size,
           run->comms.size == 1 ? "" : "s", run->dir);
  const char *fallback = oo_blas_fallback_note();
  if (fallback) LOG_INFO("%s", fallback);
  rc = run_pipeline(run, a.force, a.stage, a.until);
  if (!rc && !oo_stopped()) {
    char report[4400];
    run_path(run, "report/report.md", report, sizeof report);
    if (!a.stage && oo_file_exists(report)) LOG_INFO("report: %s", report);
  }
  run_teardown(run);
  xfree(&run);
  return !rc && oo_stopped() ? -OO_EXIT_STOPPED : rc;
}

/* Collective commands: > 0 aborts the job with the recorded error (main.c); < 0 is an exit code
 * every rank agrees on (argument and config errors, a clean stop). */
int cmd_run(int argc, char **argv) { return run_main(argc, argv, 0); }
int cmd_stage(int argc, char **argv) { return run_main(argc, argv, 1); }
