/* config: the run configuration, read from a libconfig file on rank 0, validated against one
 * schema (types, defaults, ranges, documentation per key), overridden with --set, echoed and
 * broadcast as plain bytes (the struct holds no pointers).
 *
 * The schema table in config.c is the single source of truth: validation, defaults, the
 * echoed resolved config (cfg_write) and the README's config reference (cfg_reference) all
 * come from it. A field here without a schema entry is a bug.
 */
#ifndef OO_CONFIG_H
#define OO_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CFG_STR 256     /* capacity of string values */
#define CFG_LIST 16     /* capacity of list values */
#define CFG_MAX_AXES 6  /* sweep axes */
#define CFG_MAX_VALUES 8 /* values per sweep axis */
#define CFG_MAX_MEMBERS 64 /* rm.k's upper limit, the one range of the ensemble size: the schema checks
                            * it, layout_build checks a config made in code, code sizes by it */

typedef struct {
  int d_model; /* channels C */
  int n_layer; /* layers L */
  int n_head;  /* heads NH */
} cfg_size;

typedef struct {
  char key[64];                         /* a config key, e.g. "rm.size.d_model" */
  int n_values;                         /* number of values */
  char values[CFG_MAX_VALUES][64];      /* values as text, validated like --set */
} cfg_axis;

typedef struct {
  struct {
    char name[CFG_STR];    /* run name: output goes to out_dir/name */
    char out_dir[CFG_STR]; /* parent directory of runs */
    int world_seed;        /* seed of the world: corpus split, pi_init, gold, evaluation samples */
    int seed;              /* seed of replicate 0; replicate i uses seed + i */
    int replicates;        /* replicates R of the experiment in one run */
    int threads;           /* BLAS threads per rank */
    char blas_kernel[16];  /* OpenBLAS kernel (OPENBLAS_CORETYPE), "" = the machine's choice */
    int watchdog_s;        /* an MPI operation waiting longer ends the job (mpi/runtime/watchdog.h), 0 = never */
    int skip_nonfinite;    /* training batches with a non-finite loss or gradient skipped before stopping */
  } run;
  struct {
    char path[CFG_STR];      /* corpus file or directory */
    char delimiter[16];      /* "percent" (fortune files) or "blank" (blank lines) */
    double val_fraction;     /* documents held out for validation */
    int min_doc_bytes;       /* documents shorter are dropped */
  } corpus;
  struct {
    int n_ctx;          /* context length T of every model */
    cfg_size policy;    /* the policy's (pi_init's) size */
    int steps;          /* optimizer steps per LM */
    int batch;          /* sequences per step (global, split over ranks) */
    double lr;          /* peak learning rate */
    int warmup;         /* warm-up steps */
    double weight_decay;
    double grad_clip;   /* global-norm clip, 0 = off */
    int eval_every;     /* validation every N steps */
  } pretrain;
  struct {
    char kind[16];          /* random | teacher | checkpoint */
    cfg_size size;          /* gold RM size (random) or teacher LM size */
    double init_scale;      /* random: std of the initialization */
    char checkpoint[CFG_STR]; /* checkpoint: path of a reward checkpoint */
    int teacher_steps;      /* teacher: pretraining steps for the teacher LM */
    int calib_prompts;      /* prompts whose pi_init responses calibrate the gold */
  } gold;
  struct {
    int prompt_len;       /* prompt bytes (prefix of a corpus document) */
    int response_len;     /* maximum response bytes */
    int n_train;          /* training pairs */
    int n_test;           /* test pairs (clean labels) */
    double temperature;   /* sampling temperature */
    double top_p;         /* nucleus sampling */
    double noise;         /* label noise epsilon in [0, 0.5] */
    char noise_mode[16];  /* exact | bernoulli */
  } prefs;
  struct {
    int k;                /* ensemble members */
    cfg_size size;        /* proxy RM size */
    int epochs;           /* passes over the training pairs */
    int batch;            /* pairs per step */
    double lr;
    double weight_decay;
    int warmup;
    char init[16];        /* pretrained | scratch */
    char normalize[16];   /* center | zscore (on pi_init responses) */
    char diversity[CFG_LIST][16]; /* what makes members differ: finetune (seeds), bootstrap (resampled pairs) */
    int n_diversity;
    int warm;             /* 1: also the members' weight average (WARM) as rm.h5 group warm */
    int laplace;          /* 1: last-layer Laplace posterior of each member (rm.h5 laplace/) */
    int laplace_scalapack_min; /* ScaLAPACK from this many head parameters (C+1) on */
  } rm;
  struct {
    int n_prompts;           /* evaluation prompts */
    int n_samples;           /* N samples per prompt */
    double uwo_lambda[CFG_LIST]; /* uwo lambdas */
    int n_uwo_lambda;
    double softmin_tau[CFG_LIST]; /* softmin temperatures */
    int n_softmin_tau;
    double top_p;
  } bon;
  struct {
    char objectives[CFG_LIST][16]; /* single .. softmin, warm, laplace_uwo, ens_laplace, run one after another */
    int n_objectives;
    double betas[CFG_LIST];   /* KL coefficients, one run each */
    int n_betas;
    double uwo_lambda;
    double softmin_tau;       /* temperature of 'softmin' */
    int member;               /* the member optimized by 'single' */
    char kl_mode[16];         /* fixed | adaptive */
    double kl_target;         /* adaptive: target KL (nats per response) */
    int kl_horizon;           /* adaptive: horizon in steps */
    char kl_estimator[8];     /* k1 | k2 | k3: the one on the curves */
    int steps;
    int batch;                /* rollouts per step (global) */
    int minibatch;            /* rollouts per minibatch (global) */
    int epochs;               /* PPO epochs per rollout batch */
    double lr;
    double lr_final;          /* cosine decays to this */
    int warmup;
    double clip;              /* surrogate clip */
    double vf_clip;           /* value clip */
    double vf_coef;
    char value[8];            /* head | model: value head on the policy's trunk, or a separate model */
    double gae_lambda;
    double reward_clip;       /* |objective| clipped to this, 0 = off */
    double temperature;       /* rollout temperature */
    int eval_every;
    int n_eval_prompts;
    char reward[16];          /* proxy | gold: what PPO optimizes (gold = sanity check) */
  } ppo;
  struct {
    int rollout_ranks;   /* 0 = every rank */
    int rm_ranks;        /* 0 = every rank */
    int replicate_groups; /* groups of ranks running replicates side by side, 0 = automatic */
  } layout;
  struct {
    cfg_axis axes[CFG_MAX_AXES];
    int n_axes;
  } sweep;
  struct {
    char partition[64];
    char account[64];    /* --account, "" = the user's default */
    char time[32];       /* e.g. "01:00:00" */
    int ntasks;
    int nodes;           /* --nodes, 0 = unset */
    int ntasks_per_node; /* --ntasks-per-node, 0 = unset */
    char setup[CFG_STR]; /* script sourced before launching (module loads, environment) */
    char launcher[CFG_STR]; /* "mpirun", "srun --mpi=pmix", ...: word-split in the job script */
    char extra[CFG_STR]; /* extra #SBATCH lines, ';'-separated */
  } slurm;
} oo_config;

/* Fills cfg with the schema's defaults. */
void cfg_defaults(oo_config *cfg);
/* Reads and validates a libconfig file over the defaults. Errors name file, line, key, the
 * accepted values and, for unknown keys, the nearest known key. */
int cfg_load(oo_config *cfg, const char *path);
/* Applies one "section.key=value" override with the same validation. */
int cfg_set(oo_config *cfg, const char *assignment);
/* Cross-key checks (for example n_head divides d_model). */
int cfg_validate(const oo_config *cfg, const char *path);
/* Writes the resolved config in libconfig syntax (loadable again). */
int cfg_write(const oo_config *cfg, FILE *out);
/* The resolved config as JSON, one object per section, driven by the schema (config.json of a
 * run): numbers as numbers, strings and enums as strings, sweep axes as [{"key", "values"}]. */
int cfg_write_json(const oo_config *cfg, FILE *out);
/* The resolved config as one string (for HDF5 attributes); caller frees with xfree. */
char *cfg_to_string(const oo_config *cfg);
/* Markdown table of every key: type, default, range, documentation. */
int cfg_reference(FILE *out);
/* Hash of the keys whose names start with any of the given prefixes (NULL-terminated),
 * e.g. {"corpus.", "pretrain.", NULL}: a stage's artifact records it to decide skipping. */
uint64_t cfg_hash(const oo_config *cfg, const char *const *prefixes);
/* Model size name used in file names, e.g. "d128L4H4". */
void cfg_size_name(const cfg_size *s, char *out, int cap);

/* Sweep axes: the number of points (product of the axes' value counts; 0 without axes), and the
 * --set assignments of point i ("key=value", one per axis, first axis slowest) into sets[a];
 * returns the number of axes. */
int cfg_sweep_points(const oo_config *cfg);
int cfg_sweep_point_sets(const oo_config *cfg, int i, char sets[][160], int cap);

#endif
