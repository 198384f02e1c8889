/* run: the driver of `overopt run` and `overopt stage`: the run directory, provenance, and the
 * ordered stages with hash-based skipping, for the world and for each replicate.
 *
 * Invariants:
 * - Every rank holds the same resolved config (loaded on rank 0, validated, broadcast).
 * - One stage table (run.c) declares every stage's scope (world, replicate or run), the config
 *   keys it depends on and its artifacts (artifact.h). World stages run once on every rank;
 *   replicate stages run for replicate i = 0..R-1 with run.seed + i, in the replicate's
 *   directory, on a group of ranks (replicates run side by side when there are enough ranks);
 *   run stages (summary, report) run last, over every replicate.
 * - A stage's artifact records the hash of the config keys the stage depends on (its own and
 *   every upstream stage's) as root attribute "config_hash"; `run` skips a stage whose
 *   artifacts all exist with the matching hash, so a rerun redoes only what changed. The
 *   replicate count is in no hash: raising R keeps replicates 0..R-1 and adds the new ones.
 * - The stage hash also covers the content of the stage's inputs (the corpus, gold.checkpoint,
 *   the upstream artifacts it reads: artifact.h), and an artifact is current only with every
 *   file it consists of intact.
 * - Artifacts are written by rank 0 through h5io (temporary name, renamed on success); the run
 *   directory is locked against a second run for the duration (artifact.h).
 * - A stop request (SIGTERM/SIGUSR1) is a flag, not an error: stages ask oo_stop_requested (the
 *   one collective question, comm.h) at step boundaries; a stage that stops saves what is needed
 *   to continue and returns OO_OK with oo_stopped(); the driver then runs no further stage and
 *   `run` exits with OO_EXIT_STOPPED.
 */
#ifndef OO_RUN_H
#define OO_RUN_H

#include <mpi.h>
#include <stdint.h>

#include "artifact.h"
#include "comm.h"
#include "io/config.h"
#include "io/h5io.h"
#include "layout.h"

#define OO_EXIT_STOPPED 3 /* process exit code after a clean stop: resubmit to continue */

typedef struct oo_run {
  oo_config cfg;            /* resolved config, identical on every rank (run.seed: this replicate's) */
  oo_layout layout;         /* roles of the ranks */
  oo_comms comms;           /* world, rm_comm, policy_comm, member_comm */
  char dir[4096];           /* this replicate's directory: world_dir, or world_dir/rep<i> when R >= 2 */
  char world_dir[4096];     /* run directory out_dir/name: world and run artifacts */
  char rep_rel[32];         /* dir relative to world_dir with a trailing '/', "" when the same */
  int replicate;            /* replicate index i, -1 for the world */
  art_scope scope;          /* scope of the stage being run */
  char share[8][4096];      /* other run directories whose up-to-date artifacts may be reused */
  char config_path[4096];   /* the config file the run was set up from (for provenance) */
  int n_share;              /* entries in share */
  const char *stage;        /* name of the stage being run */
  char stage_hash[32];      /* hex hash of the keys the current stage depends on */
  int quiet;                /* --quiet */
  int force;                /* rerun the current stage's work even if its artifacts are up to date */
  uint64_t inputs_hash;     /* content fingerprint of the current stage's inputs (in stage_hash) */
  int lock_fd;              /* rank 0 of the world: the run directory's lock, -1 elsewhere */
} oo_run;

/* One stage: its name, its artifacts (file names under the run directory, NULL-terminated; a
 * name may contain one %s for each of several objectives and is then resolved by the stage),
 * the config prefixes it depends on (cumulative), and the function. */
typedef struct {
  const char *name;               /* pretrain, trunks, gold, bon_samples, prefs, rm, bon, ppo, fit, summary, report */
  art_scope scope;                /* world, replicate or run */
  const char *const *depends;     /* config key prefixes, NULL-terminated */
  int (*artifacts)(const oo_run *run, char names[][256], int cap); /* artifact file names */
  int (*inputs)(const oo_run *run, char paths[][4400], int cap);  /* files it reads besides the corpus */
  int (*fn)(oo_run *run);         /* collective on run->comms.world */
} oo_stage;

/* Loads, validates and broadcasts the config (collective on world); errors on rank 0 are
 * reported and every rank returns the same non-zero status. */
int run_setup(oo_run *run, MPI_Comm world, const char *config_path, int n_sets, char **sets);
void run_teardown(oo_run *run);

/* Groups of ranks that run replicates side by side for a world of `size` ranks. */
int run_replicate_groups(const oo_config *cfg, int size);

/* Stage table and driver. */
const oo_stage *run_stages(int *n);
int run_stage(oo_run *run, const oo_stage *st, int force);
/* Runs the stages of a set-up run in order: every one, or only `only` (forced), stopping after
 * `until` (either may be NULL); force reruns up-to-date stages. Collective on run->comms.world;
 * returns OO_OK (with oo_stopped() after a stop request) or an error. (Used by `overopt run`/`stage` and by each sweep point.) */
int run_pipeline(oo_run *run, int force, const char *only, const char *until);

int cmd_run(int argc, char **argv);
int cmd_stage(int argc, char **argv);

/* Path of the pretrained LM of a size in the run directory (stage_pretrain.c). */
int pretrain_lm_path(const oo_run *run, const cfg_size *size, char *out, size_t cap);
/* rm.diversity pretrain (issue #15): 1 if each member fine-tunes its own trunk. Member m's trunk
 * file (lm_<rm size>.h5 for m = 0, lm_<rm size>_trunk<m>.h5 otherwise) and its path. */
int pretrain_trunks_wanted(const oo_config *cfg);
int pretrain_trunk_file(const oo_config *cfg, int m, char *out, size_t cap);
int pretrain_trunk_path(const oo_run *run, int m, char *out, size_t cap);
/* gold.kind teacher: the teacher's own LM, lm_teacher_<gold size>.h5 (never π_init's file), and
 * its path. */
int pretrain_teacher_file(const oo_config *cfg, char *out, size_t cap);
int pretrain_teacher_path(const oo_run *run, char *out, size_t cap);

/* Best-of-n outputs (stage_bon.c), shared by the bon stage and `overopt bon-curves`. */
typedef struct {
  const float *proxy;        /* (n_prompts,N,K) member scores, as calibrated by the rm stage */
  const float *gold;         /* (n_prompts,N) gold scores, as calibrated by the gold stage */
  const int *prompt_doc;     /* (n_prompts) corpus document of each prompt */
  int n_prompts, N, K;       /* prompts, samples per prompt, members */
  const double *uwo_lambda;  /* (n_uwo_lambda) one uwo curve each */
  int n_uwo_lambda;          /* count */
  const char *normalize;     /* center | zscore: member normalization on these samples */
  const double *softmin_tau; /* (n_softmin_tau) one softmin curve each */
  int n_softmin_tau;         /* count */
  const float *warm;         /* (n_prompts,N) WARM's scores (rm.warm), or NULL: curve warm */
  const float *laplace_var;  /* (n_prompts,N,K) members' Laplace predictive variances (rm.laplace), or NULL:
                                curves laplace_uwo_<lambda>, ens_laplace_<lambda> */
  const char *uncertainty_csv; /* write uncertainty.csv (Spearman of each uncertainty with the error) here, or NULL */
  const char *residual_csv;    /* write residual_corr.csv (members' residual correlations) here, or NULL */
} bon_scores;
/* Rank 0 only: curves of single, mean, wco, uwo_<lambda> and softmin_<tau> on the default n grid, written to
 * h5_path (raw scores, curves, normalization; stamp(ctx, w) adds the provenance attributes) and
 * csv_path (report.h's bon.csv), each under a temporary name then renamed; logs a summary line
 * per objective. */
int bon_write(const bon_scores *s, const char *h5_path, const char *csv_path,
              int (*stamp)(void *ctx, h5_writer *w), void *ctx);

/* Stages (mpi/stage_*.c). */
int stage_pretrain(oo_run *run);
int stage_trunks(oo_run *run);
int stage_gold(oo_run *run);
int stage_prefs(oo_run *run);
int stage_rm(oo_run *run);
int stage_bon_samples(oo_run *run);
int stage_bon(oo_run *run);
int stage_ppo(oo_run *run);

#endif
