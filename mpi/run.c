/* run: `overopt run CONFIG` and `overopt stage NAME CONFIG` (see run.h). */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "core/core.h"
#include "core/machine.h"
#include "sweep.h"

/* ---- the stage table ---------------------------------------------------------------------- */

#define DEP_PRETRAIN "run.seed", "corpus.", "pretrain."
#define DEP_GOLD DEP_PRETRAIN, "gold.", "prefs.prompt_len", "prefs.response_len", "prefs.temperature", "prefs.top_p"
#define DEP_PREFS DEP_GOLD, "prefs."
#define DEP_RM DEP_PREFS, "rm."

static const char *const dep_pretrain[] = {DEP_PRETRAIN, "rm.size.", "gold.", NULL};
static const char *const dep_gold[] = {DEP_GOLD, NULL};
static const char *const dep_prefs[] = {DEP_PREFS, NULL};
static const char *const dep_rm[] = {DEP_RM, NULL};
static const char *const dep_bon[] = {DEP_RM, "bon.", NULL};
static const char *const dep_ppo[] = {DEP_RM, "ppo.", NULL};

static int one_artifact(char names[][256], int cap, const char *name) {
  if (cap < 1) return 0;
  snprintf(names[0], 256, "%s", name);
  return 1;
}
static int art_none(const oo_run *run, char names[][256], int cap) {
  (void)run, (void)names, (void)cap;
  return 0;
}
static int art_gold(const oo_run *run, char names[][256], int cap) {
  (void)run;
  return one_artifact(names, cap, "gold.h5");
}
static int art_prefs(const oo_run *run, char names[][256], int cap) {
  (void)run;
  return one_artifact(names, cap, "prefs.h5");
}
static int art_rm(const oo_run *run, char names[][256], int cap) {
  (void)run;
  return one_artifact(names, cap, "rm.h5");
}
static int art_bon(const oo_run *run, char names[][256], int cap) {
  (void)run;
  return one_artifact(names, cap, "bon.h5");
}

/* fit and report: the last steps of `overopt run`. They read the CSV files of the run directory,
 * not the config, so each skips itself when the hash of its input files is unchanged. */
static const char *const dep_fit[] = {DEP_RM, "bon.", "ppo.", NULL};

/* --force: forget the recorded input hash (fits.h5, report/inputs_hash.txt) so the step reruns. */
static void forget_stamp(const oo_run *run, const char *name) {
  char path[4400];
  if (run->force && run->comms.rank == 0 && run_path(run, name, path, sizeof path) == OO_OK) unlink(path);
  MPI_Barrier(run->comms.world);
}

static int stage_fit(oo_run *run) {
  forget_stamp(run, "fits.h5");
  int skipped = 0;
  CHECK(fit_run_dir_changed(run->dir, run->comms.world, &skipped));
  if (skipped) LOG_INFO("fit: fits.h5 is up to date with bon.csv and ppo_<tag>.csv (or there are no curves), skipped");
  return OO_OK;
}

static int stage_report(oo_run *run) {
  forget_stamp(run, "report/inputs_hash.txt");
  int rc = OO_OK, skipped = 0;
  char md[4400];
  if (run->comms.rank == 0) {
    rc = report_run_dir_changed(run->dir, &skipped, md, sizeof md);
    if (!rc && skipped) LOG_INFO("report: %s is up to date with its inputs, skipped", md);
  }
  return rc; /* an error on rank 0 aborts the job with its message (run_main) */
}

static const oo_stage stages[] = {
    {"pretrain", dep_pretrain, art_none, stage_pretrain}, /* skips per LM file itself */
    {"gold", dep_gold, art_gold, stage_gold},
    {"prefs", dep_prefs, art_prefs, stage_prefs},
    {"rm", dep_rm, art_rm, stage_rm},
    {"bon", dep_bon, art_bon, stage_bon},
    {"ppo", dep_ppo, art_none, stage_ppo}, /* skips per objective file itself */
    {"fit", dep_fit, art_none, stage_fit},       /* skips itself (inputs hash in fits.h5) */
    {"report", dep_fit, art_none, stage_report}, /* skips itself (report/inputs_hash.txt) */
};

const oo_stage *run_stages(int *n) {
  *n = (int)(sizeof stages / sizeof stages[0]);
  return stages;
}

/* ---- artifacts ------------------------------------------------------------------------------ */

int run_path(const oo_run *run, const char *name, char *out, size_t cap) {
  return oo_path_join(out, cap, run->dir, name);
}

int run_stamp(const oo_run *run, h5_writer *w) {
  CHECK(h5_attr_write_str(w, "/", "config_hash", run->stage_hash));
  char *text = cfg_to_string(&run->cfg);
  int rc = h5_attr_write_str(w, "/", "config", text);
  xfree(&text);
  CHECK(rc);
  CHECK(h5_attr_write_str(w, "/", "overopt_version", OVEROPT_VERSION));
  CHECK(h5_attr_write_str(w, "/", "stage", run->stage ? run->stage : ""));
  CHECK(h5_attr_write_int(w, "/", "world_size", run->comms.size));
  return OO_OK;
}

static int hash_matches(const char *path, const char *hash) {
  if (!oo_file_exists(path)) return 0;
  h5_reader r;
  if (h5_open(&r, path) != OO_OK) {
    oo_error_clear();
    return 0;
  }
  char got[64] = "";
  int ok = h5_attr_has(&r, "/", "config_hash") &&
           h5_attr_read_str(&r, "/", "config_hash", got, sizeof got) == OO_OK && strcmp(got, hash) == 0;
  h5_close(&r);
  oo_error_clear();
  return ok;
}

/* A reused X.h5 brings its X.csv (bon.csv, ppo_<tag>.csv: the curves fit and report read) when the
 * other directory has one. */
static void link_sibling_csv(const char *path, const char *other) {
  size_t lp = strlen(path), lo = strlen(other);
  if (lp < 3 || lo < 3 || strcmp(path + lp - 3, ".h5") != 0 || strcmp(other + lo - 3, ".h5") != 0) return;
  char csv[4400], other_csv[4400];
  snprintf(csv, sizeof csv, "%.*s.csv", (int)(lp - 3), path);
  snprintf(other_csv, sizeof other_csv, "%.*s.csv", (int)(lo - 3), other);
  if (!oo_file_exists(other_csv)) return;
  unlink(csv);
  if (link(other_csv, csv) != 0 && symlink(other_csv, csv) != 0)
    LOG_WARN("%s: cannot link %s to %s: %s", csv, other_csv, csv, strerror(errno));
}

int run_artifact_current(const oo_run *run, const char *name) {
  char path[4400];
  if (run_path(run, name, path, sizeof path)) return 0;
  if (hash_matches(path, run->stage_hash)) return 1;
  for (int i = 0; i < run->n_share; i++) {
    char other[4400];
    if (oo_path_join(other, sizeof other, run->share[i], name)) continue;
    if (!hash_matches(other, run->stage_hash)) continue;
    unlink(path);
    if (link(other, path) == 0 || symlink(other, path) == 0) {
      LOG_INFO("%s: reusing %s", run->stage, other);
      link_sibling_csv(path, other);
      return 1;
    }
  }
  return 0;
}

int run_artifact_current_all(const oo_run *run, const char *name) {
  int cur = run->comms.rank == 0 ? run_artifact_current(run, name) : 0;
  MPI_Bcast(&cur, 1, MPI_INT, 0, run->comms.world);
  return cur;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static int write_provenance(const oo_run *run, const char *config_path) {
  char path[4400];
  CHECK(run_path(run, "config.cfg", path, sizeof path));
  FILE *f = fopen(path, "w");
  REQUIRE(f, "cannot write '%s': %s", path, strerror(errno));
  fprintf(f, "# resolved from %s by overopt %s\n", config_path, OVEROPT_VERSION);
  int rc = cfg_write(&run->cfg, f);
  fclose(f);
  CHECK(rc);
  CHECK(run_path(run, "provenance.txt", path, sizeof path));
  f = fopen(path, "a");
  REQUIRE(f, "cannot write '%s': %s", path, strerror(errno));
  time_t now = time(NULL);
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  fprintf(f, "---- %s", ctime(&now));
  fprintf(f, "overopt %s, config %s, host %s, world size %d, seed %d\n", OVEROPT_VERSION, config_path, host,
          run->comms.size, run->cfg.run.seed);
  fprintf(f, "cpu %s, BLAS kernel %s (run.blas_kernel \"%s\"), project kernels %s\n", oo_cpu_model(), oo_blas_kernel(),
          run->cfg.run.blas_kernel, oo_kernel_target());
  const char *job = getenv("SLURM_JOB_ID");
  if (job) fprintf(f, "slurm job %s (restart %s)\n", job, getenv("SLURM_RESTART_COUNT") ? getenv("SLURM_RESTART_COUNT") : "0");
  layout_print(&run->layout, f);
  fclose(f);
  return OO_OK;
}

static int setup_rank0(oo_run *run, const char *config_path, int n_sets, char **sets) {
  cfg_defaults(&run->cfg);
  CHECK(cfg_load(&run->cfg, config_path));
  for (int i = 0; i < n_sets; i++) CHECK(cfg_set(&run->cfg, sets[i]));
  CHECK(cfg_validate(&run->cfg, config_path));
  return OO_OK;
}

int run_setup(oo_run *run, MPI_Comm world, const char *config_path, int n_sets, char **sets) {
  int rank, size;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  memset(run, 0, sizeof *run);
  int rc = rank == 0 ? setup_rank0(run, config_path, n_sets, sets) : OO_OK;
  MPI_Bcast(&rc, 1, MPI_INT, 0, world);
  if (rc) return rc; /* every rank returns; rank 0 holds the message */
  MPI_Bcast(&run->cfg, (int)sizeof run->cfg, MPI_BYTE, 0, world);
  CHECK(layout_build(&run->layout, size, &run->cfg));
  CHECK(comm_build(&run->comms, world, &run->layout));
  int n = snprintf(run->dir, sizeof run->dir, "%s/%s", run->cfg.run.out_dir, run->cfg.run.name);
  REQUIRE(n > 0 && (size_t)n < sizeof run->dir, "run directory name too long (run.out_dir, run.name)");
  rc = OO_OK;
  if (rank == 0) {
    rc = oo_mkdir_p(run->dir);
    if (!rc) rc = write_provenance(run, config_path);
    if (!rc) {
      char log[4400];
      run_path(run, "run.log", log, sizeof log);
      rc = oo_log_open_file(log);
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, world);
  if (rc) return rank == 0 ? rc : oo_error_at(__FILE__, __LINE__, "rank 0 could not set up the run directory");
  return OO_OK;
}

void run_teardown(oo_run *run) {
  oo_log_open_file(NULL);
  comm_free(&run->comms);
  layout_free(&run->layout);
}

/* ---- driver ------------------------------------------------------------------------------ */

int run_stage(oo_run *run, const oo_stage *st, int force) {
  run->force = force; /* stages that skip per file (pretrain, ppo) read it */
  run->stage = st->name;
  uint64_t h = cfg_hash(&run->cfg, st->depends);
  snprintf(run->stage_hash, sizeof run->stage_hash, "%016llx", (unsigned long long)h);
  char names[16][256];
  int n = st->artifacts(run, names, 16);
  if (!force && n > 0) {
    int current = 1;
    for (int i = 0; i < n && current; i++) current = run_artifact_current_all(run, names[i]);
    if (current) {
      LOG_INFO("== %s: up to date (config hash %s), skipped", st->name, run->stage_hash);
      return OO_OK;
    }
  }
  LOG_INFO("== %s", st->name);
  double t0 = oo_now();
  int rc = st->fn(run);
  if (rc == OO_STOPPED) {
    LOG_INFO("== %s: stopped on request after %.1f s; rerun the same command to continue", st->name,
             oo_now() - t0);
    return rc;
  }
  CHECK(rc);
  LOG_INFO("== %s: done in %.1f s", st->name, oo_now() - t0);
  return OO_OK;
}

int run_pipeline(oo_run *run, int force, const char *only, const char *until) {
  int n, rc = OO_OK;
  const oo_stage *st = run_stages(&n);
  for (int i = 0; i < n && !rc; i++) {
    if (only && strcmp(st[i].name, only) != 0) continue;
    rc = run_stage(run, &st[i], force || only != NULL);
    if (until && strcmp(st[i].name, until) == 0) break;
  }
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

static int parse_run_args(int argc, char **argv, int want_stage, run_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--set") == 0) {
      REQUIRE(i + 1 < argc, "--set needs section.key=value");
      REQUIRE(a->n_sets < 64, "too many --set options (64 at most)");
      a->sets[a->n_sets++] = argv[++i];
    } else if (strncmp(argv[i], "--set=", 6) == 0) {
      REQUIRE(a->n_sets < 64, "too many --set options (64 at most)");
      a->sets[a->n_sets++] = argv[i] + 6;
    } else if (strcmp(argv[i], "--force") == 0) {
      a->force = 1;
    } else if (strcmp(argv[i], "--until") == 0) {
      REQUIRE(i + 1 < argc, "--until needs a stage name");
      a->until = argv[++i];
    } else if (argv[i][0] == '-') {
      OO_FAIL("%s: unknown option '%s' (see overopt %s --help)", argv[0], argv[i], argv[0]);
    } else if (want_stage && !a->stage) {
      a->stage = argv[i];
    } else if (!a->config) {
      a->config = argv[i];
    } else {
      OO_FAIL("%s: unexpected argument '%s'", argv[0], argv[i]);
    }
  }
  if (want_stage) REQUIRE(a->stage, "usage: overopt stage NAME CONFIG [--set key=value ...]");
  REQUIRE(a->config, "usage: overopt %s %sCONFIG [--set key=value ...]", argv[0], want_stage ? "NAME " : "");
  return OO_OK;
}

static const oo_stage *find_stage(const char *name) {
  int n;
  const oo_stage *st = run_stages(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(st[i].name, name) == 0) return &st[i];
  return NULL;
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
    if (oo_log_rank() == 0) fprintf(stderr, "error: %s\n", oo_error_message());
    return -2;
  }
  oo_run *run = xcalloc(1, sizeof *run);
  int rc = run_setup(run, MPI_COMM_WORLD, a.config, a.n_sets, a.sets);
  if (rc) { /* every rank returns alike; rank 0 holds the message */
    if (oo_log_rank() == 0) fprintf(stderr, "error: %s\n", oo_error_message());
    xfree(&run);
    return -1;
  }
  oo_signals_install();
  LOG_INFO("overopt %s: run '%s' on %d rank%s -> %s", OVEROPT_VERSION, run->cfg.run.name, run->comms.size,
           run->comms.size == 1 ? "" : "s", run->dir);
  rc = run_pipeline(run, a.force, a.stage, a.until);
  if (!rc) {
    char report[4400];
    run_path(run, "report/report.md", report, sizeof report);
    if (!a.stage && oo_file_exists(report)) LOG_INFO("report: %s", report);
  }
  run_teardown(run);
  xfree(&run);
  return rc == OO_STOPPED ? -OO_EXIT_STOPPED : rc;
}

/* Collective commands: > 0 aborts the job with the recorded error (main.c); < 0 is an exit code
 * every rank agrees on (argument and config errors, a clean stop). */
int cmd_run(int argc, char **argv) { return run_main(argc, argv, 0); }
int cmd_stage(int argc, char **argv) { return run_main(argc, argv, 1); }
