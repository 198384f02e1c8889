/* overopt bon-curves RUN_DIR [--uwo-lambda L ...] [--normalize center|zscore]: recomputes the
 * best-of-n curves from the scores stored in RUN_DIR/bon.h5, without sampling or scoring again
 * (any objective or lambda from cached per-member scores, as in Coste et al.'s pipeline).
 *
 * Not collective: main.c runs it on rank 0. Reads proxy, gold and prompt_doc, then rewrites
 * bon.h5 (under a temporary name, renamed on success) with the same raw scores and the same
 * provenance attributes (config_hash, config, overopt_version, stage, world_size) and new curves,
 * and bon.csv, through bon_write (stage_bon.c) so the stage and this command agree. Defaults:
 * the lambdas (dataset uwo_lambda) and normalization (attribute normalize) stored in bon.h5.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "io/config.h"
#include "run.h"

static int usage(const char *why) {
  fprintf(stderr,
          "overopt bon-curves: %s\nusage: overopt bon-curves RUN_DIR [--uwo-lambda L ...] [--normalize center|zscore]\n"
          "  recomputes RUN_DIR/bon.h5's curves and RUN_DIR/bon.csv from the stored scores\n",
          why);
  return 2;
}

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

int cmd_bon_curves(int argc, char **argv) {
  const char *dir = NULL, *normalize = NULL;
  double lambda[CFG_LIST];
  int n_lambda = -1; /* -1: the stored list */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--uwo-lambda") == 0) {
      n_lambda = 0;
      while (i + 1 < argc && argv[i + 1][0] != '-') {
        char *end;
        errno = 0;
        double v = strtod(argv[++i], &end);
        char msg[300];
        snprintf(msg, sizeof msg, "--uwo-lambda: '%.200s' is not a number >= 0", argv[i]);
        if (*end || errno || !isfinite(v) || v < 0) return usage(msg);
        if (n_lambda == CFG_LIST) return usage("--uwo-lambda: at most 16 values");
        lambda[n_lambda++] = v;
      }
      if (n_lambda == 0) return usage("--uwo-lambda needs at least one value");
    } else if (strcmp(argv[i], "--normalize") == 0) {
      if (i + 1 >= argc) return usage("--normalize needs center or zscore");
      normalize = argv[++i];
      if (strcmp(normalize, "center") && strcmp(normalize, "zscore"))
        return usage("--normalize must be center or zscore");
    } else if (argv[i][0] == '-' && argv[i][1]) {
      char msg[300];
      snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[i]);
      return usage(msg);
    } else if (dir) {
      return usage("more than one RUN_DIR given");
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return usage("no RUN_DIR given");
  char h5_path[4400], csv_path[4400];
  if (oo_path_join(h5_path, sizeof h5_path, dir, "bon.h5") || oo_path_join(csv_path, sizeof csv_path, dir, "bon.csv"))
    return usage("RUN_DIR is too long");
  bon_stored b;
  bon_stamp st;
  memset(&b, 0, sizeof b);
  memset(&st, 0, sizeof st);
  int rc = OO_OK;
  if (!oo_file_exists(h5_path))
    rc = oo_error_at(__FILE__, __LINE__, "'%s' does not exist: run `overopt stage bon` first", h5_path);
  if (!rc) rc = read_bon(h5_path, &b, &st);
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
  if (rc) {
    fprintf(stderr, "overopt bon-curves: error: %s\n", oo_error_message());
    oo_error_clear();
    return 1;
  }
  return fflush(stdout) ? 1 : 0;
}
