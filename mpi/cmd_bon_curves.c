/* overopt bon-curves RUN_DIR [--uwo-lambda L ...] [--normalize center|zscore] [--out NAME]:
 * recomputes the best-of-n curves from the scores stored in RUN_DIR/bon.h5, without sampling or
 * scoring again (any objective or lambda from cached per-member scores, as in Coste et al.'s
 * pipeline).
 *
 * Not collective: main.c runs it on rank 0. Reads proxy, gold and prompt_doc, then writes
 * RUN_DIR/NAME.h5 and NAME.csv (default bon_curves; `--out bon` rewrites bon.h5 and bon.csv, and
 * says so) under a temporary name, renamed on success, with the same raw scores and the same
 * provenance attributes (config_hash, config, overopt_version, stage, world_size) and new curves,
 * and bon.csv, through bon_write (stage_bon.c) so the stage and this command agree. Defaults:
 * the lambdas (dataset uwo_lambda) and normalization (attribute normalize) stored in bon.h5.
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
  float *proxy;      /* (P,N,K) */
  float *gold;       /* (P,N) */
  int *prompt_doc;   /* (P) */
  long dp[H5IO_MAX_RANK], dg[H5IO_MAX_RANK], dd[H5IO_MAX_RANK]; /* their dims */
  double lambda[CFG_LIST]; /* stored uwo lambdas */
  int n_lambda;
  char normalize[16]; /* stored normalization */
} bon_stored;

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
  if (!rc && h5_has(&r, "uwo_lambda")) {
    int rank;
    long d[H5IO_MAX_RANK];
    rc = h5_dims(&r, "uwo_lambda", &rank, d);
    if (!rc && (rank != 1 || d[0] > CFG_LIST))
      rc = oo_error_at(__FILE__, __LINE__, "'%s': dataset uwo_lambda must be 1-D with at most %d values", path,
                       CFG_LIST);
    if (!rc) rc = h5_read_f64(&r, "uwo_lambda", 1, d, b->lambda);
    if (!rc) b->n_lambda = (int)d[0];
  }
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
    {"--normalize", NULL, OPT_VALUE, "center|zscore", "the stored mode", 0, "per-member normalization of the proxy scores"},
    {"--out", NULL, OPT_VALUE, "NAME", "bon_curves", 0,
     "write RUN_DIR/NAME.h5 and NAME.csv; --out bon rewrites bon.h5 and bon.csv in place"},
};
const oo_cmd_spec cmd_bon_curves_spec = {
    "bon-curves", "recompute best-of-n curves from the stored scores (for any uwo lambda) into a new file",
    "overopt bon-curves runs/quickstart --uwo-lambda 0.1 --uwo-lambda 1", opts, OO_N_OPTS(opts), cmd_bon_curves, 0};

/* Values of --uwo-lambda: each may be a comma-separated list. */
static int parse_lambdas(const oo_args *a, double *lambda, int *n_lambda) {
  *n_lambda = opt_given(a, "--uwo-lambda") ? 0 : -1;
  for (int i = 0; i < opt_given(a, "--uwo-lambda"); i++) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", opt_item(a, "--uwo-lambda", i));
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      char *end;
      errno = 0;
      double v = strtod(tok, &end);
      REQUIRE(!*end && !errno && isfinite(v) && v >= 0, "--uwo-lambda: '%s' is not a number >= 0", tok);
      REQUIRE(*n_lambda < CFG_LIST, "--uwo-lambda: at most %d values", CFG_LIST);
      lambda[(*n_lambda)++] = v;
    }
  }
  const char *norm = opt_value(a, "--normalize");
  REQUIRE(!norm || !strcmp(norm, "center") || !strcmp(norm, "zscore"), "--normalize must be center or zscore");
  const char *out = opt_str(a, "--out");
  REQUIRE(*out && !strchr(out, '/') && strlen(out) < 200, "--out NAME is a file name without '/' or extension");
  return OO_OK;
}

int cmd_bon_curves(int argc, char **argv) {
  oo_args a;
  double lambda[CFG_LIST];
  int n_lambda;
  if (opts_parse(&cmd_bon_curves_spec, argc, argv, &a) || parse_lambdas(&a, lambda, &n_lambda))
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
                    normalize ? normalize : b.normalize};
    rc = bon_write(&s, h5_path, csv_path, write_stamp, &st);
  }
  xfree(&b.proxy);
  xfree(&b.gold);
  xfree(&b.prompt_doc);
  xfree(&st.config_hash);
  xfree(&st.config);
  xfree(&st.version);
  xfree(&st.stage);
  if (rc) return opts_runtime_error("bon-curves");
  printf("%s %s and %s\n", strcmp(out, "bon") ? "wrote" : "rewrote (--out bon)", h5_path, csv_path);
  return fflush(stdout) ? 1 : 0;
}
