/* overopt bon-curves RUN_DIR [--uwo-lambda L ...] [--softmin-tau T ...] [--normalize center|zscore]
 * [--out NAME]:
 * recomputes the best-of-n curves from the scores stored in RUN_DIR/bon.h5, without sampling or
 * scoring again (any objective, lambda or tau from cached per-member scores, as in Coste et al.'s
 * pipeline).
 *
 * Not collective: main.c runs it on rank 0. Reads proxy, gold and prompt_doc, then writes
 * RUN_DIR/NAME.h5 and NAME.csv (default bon_curves; `--out bon` rewrites bon.h5 and bon.csv, and
 * says so) under a temporary name, renamed on success, with the same raw scores and the same
 * provenance attributes (config_hash, config, overopt_version, stage, world_size) and new curves,
 * and bon.csv, through bon_write (stage_bon.c) so the stage and this command agree. Defaults:
 * the lambdas (dataset uwo_lambda), temperatures (dataset softmin_tau; none in a bon.h5 older
 * than the softmin objective) and normalization (attribute normalize) stored in bon.h5.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "io/config.h"
#include "run.h"

/* Provenance attributes of the old file, written unchanged on the new one. */
typedef struct {
  char *config_hash;     /* root attributes as read (xmalloc'ed) */
  char *config;
  char *version;
  char *stage;
  long world_size;
} bon_stamp;

static int read_stamp(h5_reader *r, bon_stamp *st) {
  CHECK(h5_attr_read_str_alloc(r, "/", "config_hash", &st->config_hash));
  CHECK(h5_attr_read_str_alloc(r, "/", "config", &st->config));
  CHECK(h5_attr_read_str_alloc(r, "/", "overopt_version", &st->version));
  CHECK(h5_attr_read_str_alloc(r, "/", "stage", &st->stage));
  CHECK(h5_attr_read_int(r, "/", "world_size", &st->world_size));
  return OO_OK;
}

static int write_stamp(void *ctx, h5_writer *w) {
  const bon_stamp *st = ctx;
  CHECK(h5_attr_write_str(w, "/", "config_hash", st->config_hash));
  CHECK(h5_attr_write_str(w, "/", "config", st->config));
  CHECK(h5_attr_write_str(w, "/", "overopt_version", st->version));
  CHECK(h5_attr_write_str(w, "/", "stage", st->stage));
  CHECK(h5_attr_write_int(w, "/", "world_size", st->world_size));
  CHECK(h5_attr_write_str(w, "/", "curves_by", "overopt bon-curves " OVEROPT_VERSION));
  CHECK(artifact_stamp_files(w)); /* --out bon: the new bon.csv's hash keeps the run current */
  return OO_OK;
}

typedef struct {
  float *proxy;      /* (n_prompts,N,K) */
  float *gold;       /* (n_prompts,N) */
  float *warm;       /* (n_prompts,N) WARM's scores when bon.h5 has them (rm.warm), else NULL */
  float *laplace_var; /* (n_prompts,N,K) Laplace variances when bon.h5 has them (rm.laplace), else NULL */
  int *prompt_doc;   /* (n_prompts) */
  long dp[H5IO_MAX_RANK], dg[H5IO_MAX_RANK], dd[H5IO_MAX_RANK]; /* their dims */
  double lambda[CFG_LIST]; /* stored uwo lambdas */
  int n_lambda;
  double tau[CFG_LIST];    /* stored softmin temperatures */
  int n_tau;
  char normalize[16]; /* stored normalization */
} bon_stored;

/* A stored 1-D list of at most CFG_LIST doubles; absent gives *n = 0. */
static int read_list(h5_reader *r, const char *path, const char *name, double *v, int *n) {
  *n = 0;
  if (!h5_has(r, name)) return OO_OK;
  int rank;
  long d[H5IO_MAX_RANK];
  CHECK(h5_dims(r, name, &rank, d));
  REQUIRE(rank == 1 && d[0] <= CFG_LIST, "'%s': dataset %s must be 1-D with at most %d values", path, name, CFG_LIST);
  CHECK(h5_read_f64(r, name, 1, d, v));
  *n = (int)d[0];
  return OO_OK;
}

static int read_bon(const char *path, bon_stored *b, bon_stamp *st) {
  h5_reader r;
  CHECK(h5_open(&r, path));
  int rc = h5_read_f32_alloc(&r, "proxy", 3, b->dp, &b->proxy);
  if (!rc) rc = h5_read_f32_alloc(&r, "gold", 2, b->dg, &b->gold);
  if (!rc) rc = h5_read_i32_alloc(&r, "prompt_doc", 1, b->dd, &b->prompt_doc);
  if (!rc && (b->dg[0] != b->dp[0] || b->dg[1] != b->dp[1] || b->dd[0] != b->dp[0]))
    rc = oo_error_at(__FILE__, __LINE__,
                     "'%s': proxy is [%ld,%ld,%ld] but gold is [%ld,%ld] and prompt_doc [%ld]: rerun `overopt stage "
                     "bon`",
                     path, b->dp[0], b->dp[1], b->dp[2], b->dg[0], b->dg[1], b->dd[0]);
  if (!rc && h5_has(&r, "warm")) {
    long dw[H5IO_MAX_RANK];
    rc = h5_read_f32_alloc(&r, "warm", 2, dw, &b->warm);
    if (!rc && (dw[0] != b->dp[0] || dw[1] != b->dp[1]))
      rc = oo_error_at(__FILE__, __LINE__, "'%s': warm is [%ld,%ld] but proxy [%ld,%ld,%ld]: rerun `overopt stage bon`",
                       path, dw[0], dw[1], b->dp[0], b->dp[1], b->dp[2]);
  }
  if (!rc && h5_has(&r, "laplace_var")) {
    long dl[H5IO_MAX_RANK];
    rc = h5_read_f32_alloc(&r, "laplace_var", 3, dl, &b->laplace_var);
    if (!rc && (dl[0] != b->dp[0] || dl[1] != b->dp[1] || dl[2] != b->dp[2]))
      rc = oo_error_at(__FILE__, __LINE__, "'%s': laplace_var is not shaped like proxy: rerun `overopt stage bon`", path);
  }
  if (!rc) rc = read_list(&r, path, "uwo_lambda", b->lambda, &b->n_lambda);
  if (!rc) rc = read_list(&r, path, "softmin_tau", b->tau, &b->n_tau);
  snprintf(b->normalize, sizeof b->normalize, "center");
  if (!rc && h5_attr_has(&r, "/", "normalize"))
    rc = h5_attr_read_str(&r, "/", "normalize", b->normalize, sizeof b->normalize);
  if (!rc) rc = read_stamp(&r, st);
  h5_close(&r);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

static const oo_option opts[] = {
    {"RUN_DIR", NULL, OPT_POSITIONAL, NULL, NULL, 1, "run (or replicate) directory holding bon.h5 from the bon stage"},
    {"--uwo-lambda", NULL, OPT_REPEAT, "L", "the stored list", 0,
     "uwo variance penalty, one curve each (a comma-separated list also works)"},
    {"--softmin-tau", NULL, OPT_REPEAT, "T", "the stored list", 0,
     "soft-minimum temperature (> 0), one curve softmin_<T> each (a comma-separated list also works)"},
    {"--normalize", NULL, OPT_VALUE, "center|zscore", "the stored mode", 0, "per-member normalization of the proxy scores"},
    {"--out", NULL, OPT_VALUE, "NAME", "bon_curves", 0,
     "write RUN_DIR/NAME.h5 and NAME.csv; --out bon rewrites bon.h5 and bon.csv in place"},
};
const oo_cmd_spec cmd_bon_curves_spec = {
    "bon-curves", "recompute best-of-n curves from the stored scores (for any uwo lambda or softmin tau) into a new file",
    "overopt bon-curves runs/quickstart --uwo-lambda 0.1 --uwo-lambda 1 --softmin-tau 0.5,2", opts, OO_N_OPTS(opts), cmd_bon_curves, 0};

/* Values of a repeated number option: each may be a comma-separated list; *n = -1 when it is not
 * given. positive: values must be > 0 (else >= 0). */
static int parse_numbers(const oo_args *a, const char *opt, int positive, double *v, int *n) {
  *n = opt_given(a, opt) ? 0 : -1;
  for (int i = 0; i < opt_given(a, opt); i++) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", opt_item(a, opt, i));
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      char *end;
      errno = 0;
      double x = strtod(tok, &end);
      REQUIRE(!*end && !errno && isfinite(x) && (positive ? x > 0 : x >= 0), "%s: '%s' is not a number %s", opt, tok,
              positive ? "> 0" : ">= 0");
      REQUIRE(*n < CFG_LIST, "%s: at most %d values", opt, CFG_LIST);
      v[(*n)++] = x;
    }
  }
  return OO_OK;
}

/* --uwo-lambda, --softmin-tau and the checks of --normalize and --out. */
static int parse_lists(const oo_args *a, double *lambda, int *n_lambda, double *tau, int *n_tau) {
  CHECK(parse_numbers(a, "--uwo-lambda", 0, lambda, n_lambda));
  CHECK(parse_numbers(a, "--softmin-tau", 1, tau, n_tau));
  const char *norm = opt_value(a, "--normalize");
  REQUIRE(!norm || !strcmp(norm, "center") || !strcmp(norm, "zscore"), "--normalize must be center or zscore");
  const char *out = opt_str(a, "--out");
  REQUIRE(*out && !strchr(out, '/') && strlen(out) < 200, "--out NAME is a file name without '/' or extension");
  return OO_OK;
}

int cmd_bon_curves(int argc, char **argv) {
  oo_args a;
  double lambda[CFG_LIST], tau[CFG_LIST];
  int n_lambda, n_tau;
  if (opts_parse(&cmd_bon_curves_spec, argc, argv, &a) || parse_lists(&a, lambda, &n_lambda, tau, &n_tau))
    return opts_usage_error(&cmd_bon_curves_spec);
  const char *dir = opt_str(&a, "RUN_DIR"), *normalize = opt_value(&a, "--normalize"), *out = opt_str(&a, "--out");
  char h5_in[4400], h5_path[4400], csv_path[4400], name[256];
  if (oo_path_join(h5_in, sizeof h5_in, dir, "bon.h5")) return opts_usage_error(&cmd_bon_curves_spec);
  snprintf(name, sizeof name, "%s.h5", out);
  if (oo_path_join(h5_path, sizeof h5_path, dir, name)) return opts_usage_error(&cmd_bon_curves_spec);
  snprintf(name, sizeof name, "%s.csv", out);
  if (oo_path_join(csv_path, sizeof csv_path, dir, name)) return opts_usage_error(&cmd_bon_curves_spec);
  bon_stored b;
  bon_stamp st;
  memset(&b, 0, sizeof b);
  memset(&st, 0, sizeof st);
  int rc = OO_OK;
  if (!oo_file_exists(h5_in))
    rc = oo_error_at(__FILE__, __LINE__, "'%s' does not exist: run `overopt stage bon` first", h5_in);
  if (!rc) rc = read_bon(h5_in, &b, &st);
  if (!rc) {
    bon_scores s = {b.proxy, b.gold, b.prompt_doc, (int)b.dp[0], (int)b.dp[1], (int)b.dp[2],
                    n_lambda >= 0 ? lambda : b.lambda, n_lambda >= 0 ? n_lambda : b.n_lambda,
                    normalize ? normalize : b.normalize, n_tau >= 0 ? tau : b.tau, n_tau >= 0 ? n_tau : b.n_tau, b.warm, b.laplace_var, NULL, NULL};
    rc = bon_write(&s, h5_path, csv_path, write_stamp, &st);
  }
  xfree(&b.proxy);
  xfree(&b.gold);
  xfree(&b.warm);
  xfree(&b.laplace_var);
  xfree(&b.prompt_doc);
  xfree(&st.config_hash);
  xfree(&st.config);
  xfree(&st.version);
  xfree(&st.stage);
  if (rc) return opts_runtime_error("bon-curves");
  printf("%s %s and %s\n", strcmp(out, "bon") ? "wrote" : "rewrote (--out bon)", h5_path, csv_path);
  return fflush(stdout) ? 1 : 0;
}
