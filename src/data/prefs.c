/* prefs: the prefs.h5 reader (prefs.h). */
#include "data/prefs.h"

#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "io/h5io.h"
#include "model/gpt.h"

/* ---- prefs.h5 reader ----------------------------------------------------------------------- */

static void dims_text(char *out, size_t cap, int rank, const long *dims) {
  size_t k = (size_t)snprintf(out, cap, "[");
  for (int i = 0; i < rank && k < cap; i++) k += (size_t)snprintf(out + k, cap - k, "%s%ld", i ? ", " : "", dims[i]);
  if (k < cap) snprintf(out + k, cap - k, "]");
}

/* Checks a dataset's shape against want (rank entries), naming the config key behind it. */
static int check_shape(h5_reader *r, const char *name, int rank, const long *want, const char *why) {
  REQUIRE(h5_has(r, name), "%s: dataset '%s' is missing (written by `overopt stage prefs`; rerun it)", r->path,
          name);
  int got_rank = 0;
  long got[H5IO_MAX_RANK];
  CHECK(h5_dims(r, name, &got_rank, got));
  int ok = got_rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = got[i] == want[i];
  if (!ok) {
    char a[128], b[128];
    dims_text(a, sizeof a, got_rank, got);
    dims_text(b, sizeof b, rank, want);
    OO_FAIL("%s: dataset '%s' has shape %s, expected %s for %s: rerun `overopt stage prefs` with this config", r->path,
            name, a, b, why);
  }
  return OO_OK;
}

static int read_int_attr(h5_reader *r, const char *name, long *v) {
  REQUIRE(h5_attr_has(r, "/", name), "%s: attribute '%s' is missing: rerun `overopt stage prefs`", r->path, name);
  CHECK(h5_attr_read_int(r, "/", name, v));
  return OO_OK;
}

static int prefs_read(prefs_data *p, h5_reader *r, const oo_config *cfg) {
  const int prompt_len = cfg->prefs.prompt_len, response_len = cfg->prefs.response_len;
  long n_train = 0, n_test = 0;
  CHECK(read_int_attr(r, "n_train", &n_train));
  CHECK(read_int_attr(r, "n_test", &n_test));
  REQUIRE(n_train == cfg->prefs.n_train && n_test == cfg->prefs.n_test,
          "%s: attributes n_train = %ld, n_test = %ld, but the config has prefs.n_train = %d, prefs.n_test = %d: "
          "rerun `overopt stage prefs`",
          r->path, n_train, n_test, cfg->prefs.n_train, cfg->prefs.n_test);
  const long N = n_train + n_test;
  char why[160];
  snprintf(why, sizeof why, "prefs.n_train + prefs.n_test = %ld, prefs.prompt_len = %d", N, prompt_len);
  CHECK(check_shape(r, "prompt", 2, (long[]){N, prompt_len}, why));
  snprintf(why, sizeof why, "prefs.response_len = %d (and %ld pairs)", response_len, N);
  CHECK(check_shape(r, "resp", 3, (long[]){N, 2, response_len + 1}, why));
  snprintf(why, sizeof why, "%ld pairs (prefs.n_train + prefs.n_test)", N);
  CHECK(check_shape(r, "resp_len", 2, (long[]){N, 2}, why));
  CHECK(check_shape(r, "gold", 2, (long[]){N, 2}, why));
  CHECK(check_shape(r, "label_clean", 1, (long[]){N}, why));
  CHECK(check_shape(r, "label_train", 1, (long[]){N}, why));
  CHECK(check_shape(r, "split", 1, (long[]){N}, why));

  p->n = (int)N;
  p->n_train = (int)n_train;
  p->n_test = (int)n_test;
  p->prompt_len = prompt_len;
  p->response_len = response_len;
  p->seq_T = prompt_len + response_len + 2;
  p->prompt = xmalloc(sizeof(int) * (size_t)N * prompt_len);
  p->resp = xmalloc(sizeof(int) * (size_t)N * 2 * (response_len + 1));
  p->resp_len = xmalloc(sizeof(int) * (size_t)N * 2);
  p->gold = xmalloc(sizeof(float) * (size_t)N * 2);
  p->label_clean = xmalloc(sizeof(int) * (size_t)N);
  p->label_train = xmalloc(sizeof(int) * (size_t)N);
  p->split = xmalloc(sizeof(int) * (size_t)N);
  p->seq = xmalloc(sizeof(int) * (size_t)N * 2 * p->seq_T);
  p->seq_len = xmalloc(sizeof(int) * (size_t)N * 2);
  CHECK(h5_read_i32(r, "prompt", 2, (long[]){N, prompt_len}, p->prompt));
  CHECK(h5_read_i32(r, "resp", 3, (long[]){N, 2, response_len + 1}, p->resp));
  CHECK(h5_read_i32(r, "resp_len", 2, (long[]){N, 2}, p->resp_len));
  CHECK(h5_read_f32(r, "gold", 2, (long[]){N, 2}, p->gold));
  CHECK(h5_read_i32(r, "label_clean", 1, (long[]){N}, p->label_clean));
  CHECK(h5_read_i32(r, "label_train", 1, (long[]){N}, p->label_train));
  CHECK(h5_read_i32(r, "split", 1, (long[]){N}, p->split));

  if (h5_attr_has(r, "/", "noise")) CHECK(h5_attr_read_double(r, "/", "noise", &p->noise));
  if (h5_attr_has(r, "/", "noise_realised")) CHECK(h5_attr_read_double(r, "/", "noise_realised", &p->noise_realised));
  if (h5_attr_has(r, "/", "noise_mode")) CHECK(h5_attr_read_str(r, "/", "noise_mode", p->noise_mode, sizeof p->noise_mode));

  /* Values: the file must be usable as is, so check what a reader relies on. */
  for (long i = 0; i < N; i++) {
    REQUIRE(p->split[i] == (i < n_train ? 0 : 1), "%s: dataset 'split'[%ld] = %d, expected %d (train pairs first)",
            r->path, i, p->split[i], i < n_train ? 0 : 1);
    REQUIRE((p->label_clean[i] == 0 || p->label_clean[i] == 1) && (p->label_train[i] == 0 || p->label_train[i] == 1),
            "%s: pair %ld has label_clean = %d, label_train = %d (labels are 0 or 1)", r->path, i, p->label_clean[i],
            p->label_train[i]);
    for (int j = 0; j < prompt_len; j++)
      REQUIRE(p->prompt[i * prompt_len + j] >= 0 && p->prompt[i * prompt_len + j] <= 255,
              "%s: dataset 'prompt'[%ld, %d] = %d is not a byte", r->path, i, j, p->prompt[i * prompt_len + j]);
    for (int s = 0; s < 2; s++) {
      const int len = p->resp_len[i * 2 + s];
      const int *resp = p->resp + (i * 2 + s) * (response_len + 1);
      REQUIRE(len >= 1 && len <= response_len + 1, "%s: dataset 'resp_len'[%ld, %d] = %d outside 1..%d", r->path, i, s, len,
              response_len + 1);
      for (int t = 0; t <= response_len; t++) {
        int ok = t < len ? (resp[t] >= 0 && resp[t] <= GPT_EOT) : resp[t] == -1;
        REQUIRE(ok, "%s: dataset 'resp'[%ld, %d, %d] = %d (tokens 0..256 before resp_len = %d, -1 after)", r->path,
                i, s, t, resp[t], len);
      }
      int *seq = p->seq + (i * 2 + s) * p->seq_T;
      seq[0] = GPT_EOT;
      memcpy(seq + 1, p->prompt + i * prompt_len, sizeof(int) * (size_t)prompt_len);
      memcpy(seq + 1 + prompt_len, resp, sizeof(int) * (size_t)len);
      for (int t = 1 + prompt_len + len; t < p->seq_T; t++) seq[t] = GPT_EOT;
      p->seq_len[i * 2 + s] = 1 + prompt_len + len;
    }
  }
  return OO_OK;
}

int prefs_load(prefs_data *p, const char *path, const oo_config *cfg) {
  memset(p, 0, sizeof *p);
  REQUIRE(oo_file_exists(path), "preference file '%s' does not exist: run `overopt stage prefs` first", path);
  h5_reader r;
  CHECK(h5_open(&r, path));
  int rc = prefs_read(p, &r, cfg);
  h5_close(&r);
  if (rc) {
    prefs_free(p);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

/* ---- prefs.h5 writer ----------------------------------------------------------------------- */

int prefs_write(const prefs_data *p, h5_writer *w) {
  const long N = p->n, prompt_len = p->prompt_len, response_len = p->response_len;
  CHECK(h5_write_i32(w, "prompt", 2, (long[]){N, prompt_len}, p->prompt));
  CHECK(h5_write_i32(w, "resp", 3, (long[]){N, 2, response_len + 1}, p->resp));
  CHECK(h5_write_i32(w, "resp_len", 2, (long[]){N, 2}, p->resp_len));
  CHECK(h5_write_f32(w, "gold", 2, (long[]){N, 2}, p->gold));
  CHECK(h5_write_i32(w, "label_clean", 1, (long[]){N}, p->label_clean));
  CHECK(h5_write_i32(w, "label_train", 1, (long[]){N}, p->label_train));
  CHECK(h5_write_i32(w, "split", 1, (long[]){N}, p->split));
  CHECK(h5_attr_write_int(w, "/", "n_train", p->n_train));
  CHECK(h5_attr_write_int(w, "/", "n_test", p->n_test));
  CHECK(h5_attr_write_double(w, "/", "noise", p->noise));
  CHECK(h5_attr_write_str(w, "/", "noise_mode", p->noise_mode));
  CHECK(h5_attr_write_double(w, "/", "noise_realised", p->noise_realised));
  return OO_OK;
}

void prefs_free(prefs_data *p) {
  xfree(&p->prompt);
  xfree(&p->resp);
  xfree(&p->resp_len);
  xfree(&p->gold);
  xfree(&p->label_clean);
  xfree(&p->label_train);
  xfree(&p->split);
  xfree(&p->seq);
  xfree(&p->seq_len);
}
