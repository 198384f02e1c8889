/* sweep: `overopt sweep CONFIG [--set k=v ...] [--point I] [--slurm] [--dry-run]` (see sweep.h).
 *
 * Points are the cartesian product of the sweep axes, first axis slowest: point i has axis a's
 * value number (i / stride_a) % n_a with stride_a the product of the later axes' counts.
 * Point i runs as an ordinary run with run.out_dir = out_dir/<name>, run.name = point_<i>; the
 * other points are its share directories. Without --point every point runs in order, then the
 * sweep is fitted (fit_sweep_dir) and reported. --slurm writes out_dir/<name>/sweep.cfg (the
 * resolved base config, --set included), out_dir/<name>/sweep.sbatch (slurm/sweep.sbatch with
 * the array range, slurm.* keys and absolute paths filled in) and report.sbatch (fit and report),
 * submits the array and then the report job with --dependency=afterok on it. --dry-run writes
 * nothing: it prints the points and, with --slurm, the files it would write.
 */
#define _DEFAULT_SOURCE /* realpath, strtok_r */
#include "sweep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm.h"
#include "core/atomic_file.h"
#include "core/core.h"
#include "core/machine.h"
#include "report/report.h"
#include "commands.h"
#include "postprocess.h"
#include "run.h"

/* ---- arguments ------------------------------------------------------------------------------ */

typedef struct {
  const char *config;  /* CONFIG */
  char *sets[64];      /* --set values */
  int n_sets;          /* count */
  int point;           /* --point I, -1 = every point */
  int slurm;           /* --slurm */
  int dry_run;         /* --dry-run */
} sweep_args;

static const oo_option opts[] = {
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 1, "libconfig file with sweep.axes"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key of every point"},
    {"--point", NULL, OPT_VALUE, "I", "every point", 0, "run point I only (0 .. points - 1), as a Slurm array task does"},
    {"--slurm", NULL, OPT_FLAG, NULL, NULL, 0,
     "submit the points as a Slurm job array, then the fit and report job after it (afterok)"},
    {"--dry-run", NULL, OPT_FLAG, NULL, NULL, 0, "print the points (and with --slurm the job scripts) and write nothing"},
};
const oo_cmd_spec cmd_sweep_spec = {
    "sweep", "run every point of a config's sweep axes (or one point, or submit them to Slurm)",
    "overopt sweep configs/sweep-rm-size.cfg --slurm --dry-run", opts, OO_N_OPTS(opts), cmd_sweep, 1};

static int parse_args(int argc, char **argv, sweep_args *a) {
  memset(a, 0, sizeof *a);
  a->point = -1;
  oo_args o;
  CHECK(opts_parse(&cmd_sweep_spec, argc, argv, &o));
  a->config = opt_str(&o, "CONFIG");
  for (int i = 0; i < opt_given(&o, "--set"); i++) {
    REQUIRE(a->n_sets < 60, "too many --set options (60 at most)");
    a->sets[a->n_sets++] = (char *)opt_item(&o, "--set", i);
  }
  long p = -1;
  CHECK(opt_long(&o, "--point", 0, INT_MAX - 1, &p));
  a->point = (int)p;
  a->slurm = opt_given(&o, "--slurm");
  a->dry_run = opt_given(&o, "--dry-run");
  REQUIRE(!(a->slurm && a->point >= 0), "--slurm submits every point as a job array: leave out --point");
  return OO_OK;
}

static int load_base(oo_config *cfg, const sweep_args *a) {
  CHECK(cfg_load(cfg, a->config));
  for (int i = 0; i < a->n_sets; i++) CHECK(cfg_set(cfg, a->sets[i]));
  CHECK(cfg_validate(cfg, a->config));
  REQUIRE(cfg->sweep.n_axes > 0,
          "%s has no sweep axes: add sweep = { axes = ( { key = \"rm.size.d_model\"; values = [32, 64]; } ); }; "
          "(or use `overopt run` for a single run)", a->config);
  REQUIRE(a->point < cfg_sweep_points(cfg), "--point %d is out of range: the sweep of %s has %d points (0 .. %d)",
          a->point, a->config, cfg_sweep_points(cfg), cfg_sweep_points(cfg) - 1);
  return OO_OK;
}

/* ---- listing and Slurm (rank 0) --------------------------------------------------------------- */

static void print_points(const oo_config *cfg, const char *sweep_dir) {
  int n = cfg_sweep_points(cfg);
  printf("sweep '%s': %d point%s in %s\n", cfg->run.name, n, n == 1 ? "" : "s", sweep_dir);
  for (int i = 0; i < n; i++) {
    char sets[CFG_MAX_AXES][160];
    int na = cfg_sweep_point_sets(cfg, i, sets, CFG_MAX_AXES);
    printf("  %d:", i);
    for (int a = 0; a < na; a++) printf(" %s", sets[a]);
    printf("  -> %s/point_%d\n", sweep_dir, i);
  }
}

/* The sbatch template: $OVEROPT_SWEEP_TEMPLATE, else slurm/sweep.sbatch in the installed or build
 * tree's share/overopt (oo_share_path: found relative to the binary, no source path compiled in). */
static int find_template(char *out, size_t cap) {
  const char *env = getenv("OVEROPT_SWEEP_TEMPLATE");
  if (env && *env) {
    REQUIRE(oo_file_exists(env), "OVEROPT_SWEEP_TEMPLATE='%s' does not exist", env);
    snprintf(out, cap, "%s", env);
    return OO_OK;
  }
  if (oo_share_path(out, cap, "slurm/sweep.sbatch") == OO_OK) return OO_OK;
  char why[1024]; /* a copy: oo_error_at formats into the buffer oo_error_message returns */
  snprintf(why, sizeof why, "%s", oo_error_message());
  OO_FAIL("%s: set OVEROPT_SWEEP_TEMPLATE=/path/to/sweep.sbatch", why);
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Quotes s for bash in single quotes ('\'' for a quote). */
static void sh_quote(FILE *out, const char *s) {
  fputc('\'', out);
  for (; *s; s++) {
    if (*s == '\'') fputs("'\\''", out);
    else fputc(*s, out);
  }
  fputc('\'', out);
}

/* The #SBATCH lines the slurm.* keys add after the template's last #SBATCH line: partition,
 * account, nodes and tasks per node (each only when set), --chdir (the current directory, against
 * which relative paths in the config resolve) and the slurm.extra lines. */
static void slurm_lines(FILE *out, const oo_config *cfg, const char *cwd) {
  if (cfg->slurm.partition[0]) fprintf(out, "#SBATCH --partition=%s\n", cfg->slurm.partition);
  if (cfg->slurm.account[0]) fprintf(out, "#SBATCH --account=%s\n", cfg->slurm.account);
  if (cfg->slurm.nodes > 0) fprintf(out, "#SBATCH --nodes=%d\n", cfg->slurm.nodes);
  if (cfg->slurm.ntasks_per_node > 0) fprintf(out, "#SBATCH --ntasks-per-node=%d\n", cfg->slurm.ntasks_per_node);
  fprintf(out, "#SBATCH --chdir=%s\n", cwd);
  char extra[CFG_STR];
  snprintf(extra, sizeof extra, "%s", cfg->slurm.extra);
  for (char *save = NULL, *tok = strtok_r(extra, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    while (*tok == ' ') tok++;
    if (!*tok) continue;
    fprintf(out, "%s%s\n", starts(tok, "#SBATCH") ? "" : "#SBATCH ", tok);
  }
}

/* Writes the job script from the template to out. Lines replaced: the #SBATCH job-name, time,
 * ntasks, array and output lines, CONFIG=, OVEROPT=, LAUNCHER= (slurm.launcher) and SETUP=
 * (slurm.setup, when set); slurm_lines follow the last #SBATCH line. */
static int write_sbatch(const oo_config *cfg, const char *tmpl, FILE *out, const char *abs_dir, const char *abs_cfg,
                        int n_points) {
  FILE *in = fopen(tmpl, "r");
  REQUIRE(in, "cannot read the sbatch template '%s': %s", tmpl, strerror(errno));
  char *lines[512];
  int n = 0;
  char buf[2048];
  while (n < 512 && fgets(buf, sizeof buf, in)) lines[n++] = xstrdup(buf);
  fclose(in);
  int last_sbatch = -1;
  for (int i = 0; i < n; i++)
    if (starts(lines[i], "#SBATCH")) last_sbatch = i;
  char exe[PATH_MAX], cwd[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  int rc = OO_OK;
  if (len <= 0) rc = oo_error_at(__FILE__, __LINE__, "cannot read /proc/self/exe: %s", strerror(errno));
  else exe[len] = 0;
  if (!rc && !getcwd(cwd, sizeof cwd)) rc = oo_error_at(__FILE__, __LINE__, "getcwd failed: %s", strerror(errno));
  int found = 0; /* bits: time, ntasks, array, output, CONFIG, OVEROPT, LAUNCHER */
  for (int i = 0; i < n && !rc; i++) {
    const char *l = lines[i];
    if (i == 1) fprintf(out, "# Generated by `overopt sweep --slurm` from %s: %d points.\n", tmpl, n_points);
    if (starts(l, "#SBATCH --job-name=")) {
      fprintf(out, "#SBATCH --job-name=overopt-%s\n", cfg->run.name);
    } else if (starts(l, "#SBATCH --partition=") || starts(l, "#SBATCH --account=")) {
      /* from the config only (slurm_lines) */
    } else if (starts(l, "#SBATCH --time=")) {
      fprintf(out, "#SBATCH --time=%s\n", cfg->slurm.time), found |= 1;
    } else if (starts(l, "#SBATCH --ntasks=")) {
      fprintf(out, "#SBATCH --ntasks=%d\n", cfg->slurm.ntasks), found |= 2;
    } else if (starts(l, "#SBATCH --array=")) {
      fprintf(out, "#SBATCH --array=0-%d\n", n_points - 1), found |= 4;
    } else if (starts(l, "#SBATCH --output=")) {
      fprintf(out, "#SBATCH --output=%s/slurm_%%A_%%a.out\n", abs_dir), found |= 8;
    } else if (starts(l, "CONFIG=")) {
      fprintf(out, "CONFIG=${1:-%s}\n", abs_cfg), found |= 16;
    } else if (starts(l, "OVEROPT=")) {
      fprintf(out, "OVEROPT=${OVEROPT:-%s}\n", exe), found |= 32;
    } else if (starts(l, "LAUNCHER=")) {
      fputs("LAUNCHER=${OVEROPT_LAUNCHER:-", out);
      sh_quote(out, cfg->slurm.launcher);
      fputs("}   # word-split when used\n", out), found |= 64;
    } else if (starts(l, "SETUP=") && cfg->slurm.setup[0]) {
      fputs("SETUP=${OVEROPT_SETUP:-", out);
      sh_quote(out, cfg->slurm.setup);
      fputs("}\n", out);
    } else {
      fputs(l, out);
    }
    if (i == last_sbatch) slurm_lines(out, cfg, cwd);
  }
  for (int i = 0; i < n; i++) xfree(&lines[i]);
  if (!rc && found != 127)
    rc = oo_error_at(__FILE__, __LINE__, "the sbatch template '%s' lacks one of the lines '#SBATCH --time=', "
                     "'--ntasks=', '--array=', '--output=', 'CONFIG=', 'OVEROPT=', 'LAUNCHER=' (found mask %d of 127)",
                     tmpl, found);
  return rc;
}

/* The fit-and-report job that runs after the array (afterok): `overopt fit DIR` on the sweep's
 * ranks, then `overopt report DIR`, with the same account, partition, set-up and launcher. */
static void write_report_job(const oo_config *cfg, FILE *out, const char *abs_dir) {
  char exe[PATH_MAX] = "overopt", cwd[PATH_MAX] = ".";
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) exe[len] = 0;
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
  fprintf(out, "#!/bin/bash\n# Generated by `overopt sweep --slurm`: fits and reports the sweep %s once every array task\n"
               "# has finished (submitted with --dependency=afterok:<array job>).\n", cfg->run.name);
  fprintf(out, "#SBATCH --job-name=overopt-%s-report\n#SBATCH --time=%s\n#SBATCH --ntasks=%d\n#SBATCH --cpus-per-task=1\n"
               "#SBATCH --output=%s/slurm_report_%%j.out\n", cfg->run.name, cfg->slurm.time, cfg->slurm.ntasks, abs_dir);
  oo_config one = *cfg; /* nodes and tasks per node would contradict --ntasks of a small job: leave them out */
  one.slurm.nodes = 0, one.slurm.ntasks_per_node = 0;
  slurm_lines(out, &one, cwd);
  fprintf(out, "\nexport OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1\nOVEROPT=${OVEROPT:-%s}\n",
          exe);
  fputs("LAUNCHER=${OVEROPT_LAUNCHER:-", out);
  sh_quote(out, cfg->slurm.launcher);
  fputs("}\nSETUP=${OVEROPT_SETUP:-", out);
  sh_quote(out, cfg->slurm.setup);
  fputs("}\nif [[ -n $SETUP ]]; then source \"$SETUP\" || exit 1; fi\nDIR=", out);
  sh_quote(out, abs_dir);
  fputs("\necho \"report job ${SLURM_JOB_ID:-?}: fit and report of $DIR, $(date -Is)\"\n"
        "$LAUNCHER -n \"${SLURM_NTASKS:-1}\" \"$OVEROPT\" fit \"$DIR\" && \"$OVEROPT\" report \"$DIR\"\n"
        "RC=$?\necho \"report job: exited with $RC at $(date -Is)\"\nexit $RC\n", out);
}

/* 1 for the variables an MPI launcher or MPI_Init puts into the environment (Open MPI's singleton
 * init adds OMPI_MCA_ess=singleton, PMIX_SERVER_URI*, ...): inherited by the batch job, they make
 * its mpirun believe it runs inside this process's MPI job, and it exits 1 without a word. */
static int launcher_var(const char *e) {
  static const char *const drop[] = {"PMIX_", "ORTE_", "OMPI_COMM_WORLD_", "OMPI_UNIVERSE_SIZE", "OMPI_APP_CTX_",
                                     "OMPI_ARGV", "OMPI_COMMAND", "OMPI_FIRST_RANKS", "OMPI_NUM_APP_CTX",
                                     "OMPI_FILE_LOCATION", "OMPI_MCA_ess", "OMPI_MCA_orte_", "OMPI_MCA_pmix",
                                     "OMPI_MCA_initial_wdir", "OMPI_MCA_shmem_RUNTIME_QUERY_hint",
                                     "OMPI_MCA_mpi_yield_when_idle", "HFI_NO_BACKTRACE", "IPATH_NO_BACKTRACE",
                                     NULL};
  for (int i = 0; drop[i]; i++)
    if (starts(e, drop[i])) return 1;
  return 0;
}

/* Submits script with `sbatch --parsable` (without the MPI launcher's variables, see above); the
 * job id goes to id. */
static int submit(const char *script, const char *dependency, char *id, size_t cap) {
  extern char **environ;
  int n_env = 0;
  while (environ[n_env]) n_env++;
  char **env = xcalloc((size_t)n_env + 1, sizeof *env);
  for (int i = 0, k = 0; i < n_env; i++)
    if (!launcher_var(environ[i])) env[k++] = environ[i];
  int fd[2];
  REQUIRE(pipe(fd) == 0, "pipe failed: %s", strerror(errno));
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    dup2(fd[1], 2);
    close(fd[0]);
    close(fd[1]);
    char dep[256];
    snprintf(dep, sizeof dep, "--dependency=%s", dependency ? dependency : "");
    char *const plain[] = {"sbatch", "--parsable", (char *)script, NULL};
    char *const after[] = {"sbatch", "--parsable", dep, (char *)script, NULL};
    char *const *args = dependency ? after : plain;
    environ = env;
    execvp("sbatch", (char *const *)args);
    fprintf(stderr, "cannot run sbatch: %s", strerror(errno));
    _exit(127);
  }
  close(fd[1]);
  xfree(&env);
  if (pid < 0) {
    close(fd[0]);
    OO_FAIL("fork failed: %s", strerror(errno));
  }
  char out[1024] = "";
  size_t n = 0;
  ssize_t r;
  while (n < sizeof out - 1 && (r = read(fd[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
  out[n] = 0;
  close(fd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
  REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "sbatch failed (status %d): %s (is Slurm installed and SLURM_CONF set? `sbatch %s` by hand shows the same)",
          WIFEXITED(st) ? WEXITSTATUS(st) : -1, out[0] ? out : "no output", script);
  char *semi = strchr(out, ';'); /* "id;cluster" on multi-cluster setups */
  if (semi) *semi = 0;
  REQUIRE(out[0] >= '0' && out[0] <= '9', "sbatch printed '%s', not a job id", out);
  REQUIRE(strlen(out) < cap, "sbatch printed a job id longer than %zu characters: '%s'", cap - 1, out);
  memcpy(id, out, strlen(out) + 1);
  return OO_OK;
}

/* Writes one generated file (through a temporary name) with writer(ctx-like arguments) or, on a dry
 * run, prints it to stdout under a header naming the path it would have. */
typedef struct {
  const oo_config *cfg;  /* resolved base config */
  const char *tmpl;      /* sweep.sbatch template */
  const char *abs_dir;   /* absolute sweep directory */
  const char *cfg_path;  /* absolute sweep.cfg */
  const sweep_args *a;   /* command line */
  int n_points;          /* array size */
} slurm_files;

static int emit(const slurm_files *sf, int which, FILE *out) {
  if (which == 0) {
    fprintf(out, "# resolved from %s by overopt sweep --slurm (%s)\n", sf->a->config, OVEROPT_VERSION);
    return cfg_write(sf->cfg, out);
  }
  if (which == 1) return write_sbatch(sf->cfg, sf->tmpl, out, sf->abs_dir, sf->cfg_path, sf->n_points);
  write_report_job(sf->cfg, out, sf->abs_dir);
  return OO_OK;
}

static int emit_file(const slurm_files *sf, int which, const char *path, int dry_run) {
  if (dry_run) {
    printf("---- %s (dry run: not written)\n", path);
    CHECK(emit(sf, which, stdout));
    return fflush(stdout) ? oo_error_at(__FILE__, __LINE__, "cannot write to stdout") : OO_OK;
  }
  char tmp[PATH_MAX + 64];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  REQUIRE(f, "cannot write '%s': %s", tmp, strerror(errno));
  int rc = emit(sf, which, f);
  int bad = ferror(f);
  bad |= fclose(f);
  if (!rc && bad) rc = oo_error_at(__FILE__, __LINE__, "cannot write '%s' (disk full?)", tmp);
  if (!rc && rename(tmp, path)) rc = oo_error_at(__FILE__, __LINE__, "cannot rename '%s': %s", tmp, strerror(errno));
  if (rc) unlink(tmp);
  return rc;
}

/* --slurm: writes sweep.cfg, sweep.sbatch (the array) and report.sbatch (fit and report) into the
 * sweep directory and submits the array, then the report job with --dependency=afterok on it.
 * --dry-run writes and submits nothing: it prints the files it would write. */
static int slurm_rank0(const oo_config *cfg, const sweep_args *a, const char *sweep_dir) {
  int n = cfg_sweep_points(cfg);
  char abs_dir[PATH_MAX], cfg_path[PATH_MAX + 32], script[PATH_MAX + 32], report[PATH_MAX + 32], tmpl[PATH_MAX];
  if (sweep_dir[0] == '/') {
    snprintf(abs_dir, sizeof abs_dir, "%s", sweep_dir);
  } else {
    char cwd[PATH_MAX];
    REQUIRE(getcwd(cwd, sizeof cwd), "getcwd failed: %s", strerror(errno));
    REQUIRE(snprintf(abs_dir, sizeof abs_dir, "%s/%s", cwd, sweep_dir) < (int)sizeof abs_dir, "sweep path too long");
  }
  if (!a->dry_run) {
    CHECK(oo_mkdir_p(abs_dir));
    REQUIRE(realpath(sweep_dir, abs_dir), "cannot resolve '%s': %s", sweep_dir, strerror(errno));
  }
  snprintf(cfg_path, sizeof cfg_path, "%s/sweep.cfg", abs_dir);
  snprintf(script, sizeof script, "%s/sweep.sbatch", abs_dir);
  snprintf(report, sizeof report, "%s/report.sbatch", abs_dir);
  CHECK(find_template(tmpl, sizeof tmpl));
  const slurm_files sf = {cfg, tmpl, abs_dir, cfg_path, a, n};
  /* The resolved base config (with --set applied) is what every array task reads. */
  CHECK(emit_file(&sf, 0, cfg_path, a->dry_run));
  CHECK(emit_file(&sf, 1, script, a->dry_run));
  CHECK(emit_file(&sf, 2, report, a->dry_run));
  if (a->dry_run) {
    printf("dry run: nothing written or submitted; would run: A=$(sbatch --parsable %s) && "
           "sbatch --parsable --dependency=afterok:$A %s\n", script, report);
    return fflush(stdout) ? oo_error_at(__FILE__, __LINE__, "cannot write to stdout") : OO_OK;
  }
  printf("config: %s\nsbatch: %s\nreport sbatch: %s\n", cfg_path, script, report);
  char id[128], rid[128], dep[160];
  CHECK(submit(script, NULL, id, sizeof id));
  printf("submitted job array %s: points 0-%d, logs %s/slurm_%s_<point>.out\n", id, n - 1, abs_dir, id);
  printf("job: %s\n", id);
  fflush(stdout);
  snprintf(dep, sizeof dep, "afterok:%s", id);
  CHECK(submit(report, dep, rid, sizeof rid));
  printf("submitted fit and report job %s (--dependency=%s): %s/report/report.md when the array succeeds\n", rid, dep,
         abs_dir);
  printf("report job: %s\n", rid);
  return fflush(stdout) ? oo_error_at(__FILE__, __LINE__, "cannot write to stdout") : OO_OK;
}

/* ---- running points (collective) ---------------------------------------------------------------- */

/* Share directories of point i: the other points, nearest index first, at most 8. */
static void set_shares(oo_run *run, const char *sweep_dir, int i, int n) {
  run->n_share = 0;
  int cap = (int)(sizeof run->share / sizeof run->share[0]);
  for (int dist = 1; dist < n && run->n_share < cap; dist++)
    for (int s = -1; s <= 1 && run->n_share < cap; s += 2) {
      int j = i + s * dist;
      if (j < 0 || j >= n) continue;
      snprintf(run->share[run->n_share++], sizeof run->share[0], "%s/point_%d", sweep_dir, j);
    }
}

/* Runs point i through every stage (and its fit and report). Collective on MPI_COMM_WORLD. */
static int run_point(const oo_config *cfg, const sweep_args *a, const char *sweep_dir, int i) {
  char axis[CFG_MAX_AXES][160], dirset[CFG_STR * 2 + 32], nameset[64];
  int na = cfg_sweep_point_sets(cfg, i, axis, CFG_MAX_AXES);
  char *sets[64 + CFG_MAX_AXES + 2];
  int ns = 0;
  for (int k = 0; k < a->n_sets; k++) sets[ns++] = a->sets[k];
  for (int k = 0; k < na; k++) sets[ns++] = axis[k];
  snprintf(dirset, sizeof dirset, "run.out_dir=%s", sweep_dir);
  snprintf(nameset, sizeof nameset, "run.name=point_%d", i);
  sets[ns++] = dirset;
  sets[ns++] = nameset;
  LOG_INFO("==== sweep '%s' point %d of %d:%s%s%s%s%s%s", cfg->run.name, i, cfg_sweep_points(cfg), na > 0 ? " " : "",
           na > 0 ? axis[0] : "", na > 1 ? " " : "", na > 1 ? axis[1] : "", na > 2 ? " " : "", na > 2 ? "..." : "");
  oo_run *run = xcalloc(1, sizeof *run);
  int rc = run_setup(run, MPI_COMM_WORLD, a->config, ns, sets);
  if (rc) {
    if (oo_log_rank() == 0) fprintf(stderr, "error: %s\n", oo_error_message());
    xfree(&run);
    return -1;
  }
  set_shares(run, sweep_dir, i, cfg_sweep_points(cfg));
  LOG_INFO("overopt %s: sweep point %d on %d rank%s -> %s", OVEROPT_VERSION, i, run->comms.size,
           run->comms.size == 1 ? "" : "s", run->dir);
  const char *fallback = oo_blas_fallback_note();
  if (fallback) LOG_INFO("%s", fallback);
  rc = run_pipeline(run, 0, NULL, NULL);
  run_teardown(run);
  xfree(&run);
  return rc;
}

int cmd_sweep(int argc, char **argv) {
  int rank;
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  sweep_args a;
  if (parse_args(argc, argv, &a)) { /* every rank sees the same arguments */
    if (rank == 0) opts_usage_error(&cmd_sweep_spec);
    return -OO_EXIT_USAGE;
  }
  oo_config *cfg = xcalloc(1, sizeof *cfg);
  int rc = oo_agree(MPI_COMM_WORLD, rank == 0 ? load_base(cfg, &a) : OO_OK, "rank 0 could not load the sweep");
  if (rc) {
    if (rank == 0) fprintf(stderr, "error: %s\n", oo_error_message());
    xfree(&cfg);
    return -1;
  }
  CHECK_MPI(MPI_Bcast(cfg, (int)sizeof *cfg, MPI_BYTE, 0, MPI_COMM_WORLD));
  char sweep_dir[CFG_STR * 2 + 2];
  snprintf(sweep_dir, sizeof sweep_dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
  int n = cfg_sweep_points(cfg);

  if (a.slurm || a.dry_run) { /* rank 0 alone; the others wait for its status */
    if (rank == 0) {
      print_points(cfg, sweep_dir);
      rc = a.slurm ? slurm_rank0(cfg, &a, sweep_dir) : OO_OK;
      if (rc) fprintf(stderr, "error: %s\n", oo_error_message());
      fflush(stdout);
    }
    rc = oo_agree(MPI_COMM_WORLD, rc, "rank 0 could not write the sweep's job scripts");
    xfree(&cfg);
    return rc ? -1 : 0;
  }

  oo_signals_install();
  int first = a.point >= 0 ? a.point : 0, last = a.point >= 0 ? a.point : n - 1;
  for (int i = first; i <= last && !rc && !oo_stopped(); i++) rc = run_point(cfg, &a, sweep_dir, i);
  if (rc || oo_stopped()) {
    xfree(&cfg);
    return rc ? rc : -OO_EXIT_STOPPED;
  }
  if (a.point < 0) {
    rc = fit_sweep_dir(sweep_dir, MPI_COMM_WORLD);
    if (rc) {
      if (rank == 0) fprintf(stderr, "error: %s\n", oo_error_message());
      xfree(&cfg);
      return -1;
    }
    if (rank == 0) {
      char md[4608];
      rc = report_write(sweep_dir, md, sizeof md);
      if (!rc) printf("report: %s\n", md);
    }
    rc = oo_agree(MPI_COMM_WORLD, rc, "rank 0 could not write the sweep's report");
    if (rc) {
      if (rank == 0) fprintf(stderr, "error: %s\n", oo_error_message());
      rc = -1;
    }
  } else if (rank == 0) {
    printf("point %d done: %s/point_%d (after every point: overopt fit %s && overopt report %s)\n", a.point,
           sweep_dir, a.point, sweep_dir, sweep_dir);
  }
  xfree(&cfg);
  return rc;
}
