/* gpt_io: model checkpoints in HDF5 (DESIGN.md "Checkpoint (HDF5)", docs/formats.md
 * "Model checkpoints").
 *
 * A model lives in one group ("" = the file root): attributes format = "overopt-gpt-1",
 * n_layer, n_head, d_model, n_ctx, vocab_size, kind ("lm" | "reward" | "value" | "lm_value"),
 * reward_shift, reward_scale, and one float32 dataset per tensor of gpt_tensor_names with the
 * shapes of gpt_tensor_shape. Optimizer state is the subgroup "optim" (adam_m, adam_v flat
 * (n_params), attribute step). Reading trusts nothing: every attribute is range-checked and
 * every dataset's shape compared before any data is read, and each message names the file,
 * the group and what to expect. Files written by h5py (int64 attributes, variable-length
 * strings) read the same as ours.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/gpt.h"

#define GPT_FORMAT "overopt-gpt-1"

static const char *const kind_names[] = {"lm", "reward", "value", "lm_value"};

/* Pointer to tensor i (gpt_tensor_names order) of a tensor view. */
static float *tensor_ptr(const gpt_tensors *t, int i) {
  switch (i) {
  case 0: return t->wte;
  case 1: return t->wpe;
  case 2: return t->ln1_w;
  case 3: return t->ln1_b;
  case 4: return t->qkv_w;
  case 5: return t->qkv_b;
  case 6: return t->attproj_w;
  case 7: return t->attproj_b;
  case 8: return t->ln2_w;
  case 9: return t->ln2_b;
  case 10: return t->fc_w;
  case 11: return t->fc_b;
  case 12: return t->fcproj_w;
  case 13: return t->fcproj_b;
  case 14: return t->lnf_w;
  case 15: return t->lnf_b;
  case 16: return t->head_w;
  case 17: return t->head_b;
  default: return NULL;
  }
}

/* "group/name", or "name" for the root group. */
static int object_path(char *out, size_t cap, const char *group, const char *name) {
  int n = (group && group[0]) ? snprintf(out, cap, "%s/%s", group, name) : snprintf(out, cap, "%s", name);
  REQUIRE(n >= 0 && (size_t)n < cap, "checkpoint object name too long: '%s/%s'", group, name);
  return OO_OK;
}

static const char *attr_obj(const char *group) { return (group && group[0]) ? group : "/"; }

/* " group 'g'" for messages, "" for the root. */
static const char *group_desc(char *buf, size_t cap, const char *group) {
  if (group && group[0])
    snprintf(buf, cap, " group '%s'", group);
  else
    buf[0] = 0;
  return buf;
}

static const char *shape_text(char *buf, size_t cap, int rank, const long *dims) {
  size_t o = 0;
  buf[0] = 0;
  o += (size_t)snprintf(buf + o, cap - o, "[");
  for (int i = 0; i < rank && o < cap; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%s%ld", i ? "," : "", dims[i]);
  if (o < cap) snprintf(buf + o, cap - o, "]");
  return buf;
}

int gpt_write(const gpt *m, h5_writer *w, const char *group, int with_optim) {
  char name[1100];
  const char *obj = attr_obj(group);
  if (group && group[0]) CHECK(h5_group(w, group));
  REQUIRE(m->kind >= GPT_LM && m->kind <= GPT_LM_VALUE, "gpt_write: invalid model kind %d", (int)m->kind);
  CHECK(h5_attr_write_str(w, obj, "format", GPT_FORMAT));
  CHECK(h5_attr_write_int(w, obj, "n_layer", m->d.L));
  CHECK(h5_attr_write_int(w, obj, "n_head", m->d.NH));
  CHECK(h5_attr_write_int(w, obj, "d_model", m->d.C));
  CHECK(h5_attr_write_int(w, obj, "n_ctx", m->d.T));
  CHECK(h5_attr_write_int(w, obj, "vocab_size", m->d.V));
  CHECK(h5_attr_write_str(w, obj, "kind", kind_names[m->kind]));
  CHECK(h5_attr_write_double(w, obj, "reward_shift", m->reward_shift));
  CHECK(h5_attr_write_double(w, obj, "reward_scale", m->reward_scale));
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    if (gpt_tensor_shape(m->d, m->kind, i, &rank, dims) == 0) continue;
    CHECK(object_path(name, sizeof name, group, gpt_tensor_names[i]));
    CHECK(h5_write_f32(w, name, rank, dims, tensor_ptr(&m->p, i)));
  }
  if (with_optim) {
    REQUIRE(m->adam_m && m->adam_v,
            "gpt_write: optimizer state requested but the model has none (call gpt_alloc_train)");
    char og[1100];
    CHECK(object_path(og, sizeof og, group, "optim"));
    CHECK(h5_group(w, og));
    long n = (long)m->n_params;
    CHECK(object_path(name, sizeof name, og, "adam_m"));
    CHECK(h5_write_f32(w, name, 1, &n, m->adam_m));
    CHECK(object_path(name, sizeof name, og, "adam_v"));
    CHECK(h5_write_f32(w, name, 1, &n, m->adam_v));
    CHECK(h5_attr_write_int(w, og, "step", m->step));
  }
  return OO_OK;
}

/* Reads an integer attribute and checks it lies in [lo, hi]. */
static int read_dim_attr(h5_reader *r, const char *group, const char *name, long lo, long hi, int *out) {
  char gd[1100];
  const char *obj = attr_obj(group);
  REQUIRE(h5_attr_has(r, obj, name), "checkpoint '%s'%s: attribute '%s' is missing (not an overopt model?)",
          r->path, group_desc(gd, sizeof gd, group), name);
  long v;
  CHECK(h5_attr_read_int(r, obj, name, &v));
  REQUIRE(v >= lo && v <= hi, "checkpoint '%s'%s: attribute %s = %ld is out of range [%ld, %ld]", r->path,
          group_desc(gd, sizeof gd, group), name, v, lo, hi);
  *out = (int)v;
  return OO_OK;
}

/* Header of a model group: dims and kind, all validated. */
static int read_header(h5_reader *r, const char *group, gpt_dims *d, gpt_kind *kind) {
  char gd[1100];
  const char *obj = attr_obj(group);
  group_desc(gd, sizeof gd, group);
  REQUIRE(h5_has(r, obj), "checkpoint '%s': group '%s' is missing", r->path, group);
  REQUIRE(h5_attr_has(r, obj, "format"),
          "checkpoint '%s'%s: attribute 'format' is missing: not an overopt model checkpoint "
          "(expected format '%s')",
          r->path, gd, GPT_FORMAT);
  char *s = NULL;
  CHECK(h5_attr_read_str_alloc(r, obj, "format", &s));
  int format_ok = strcmp(s, GPT_FORMAT) == 0;
  if (!format_ok) {
    int rc = oo_error_at(__FILE__, __LINE__,
                         "checkpoint '%s'%s: format '%s' is not supported (this build reads '%s')",
                         r->path, gd, s, GPT_FORMAT);
    xfree(&s);
    return rc;
  }
  xfree(&s);
  CHECK(read_dim_attr(r, group, "n_layer", 1, 1024, &d->L));
  CHECK(read_dim_attr(r, group, "n_head", 1, 1024, &d->NH));
  CHECK(read_dim_attr(r, group, "d_model", 1, 65536, &d->C));
  CHECK(read_dim_attr(r, group, "n_ctx", 1, 1 << 20, &d->T));
  CHECK(read_dim_attr(r, group, "vocab_size", 1, 1 << 30, &d->V));
  REQUIRE(d->V == GPT_VOCAB, "checkpoint '%s'%s: vocab_size = %d, expected %d (bytes and end-of-text)",
          r->path, gd, d->V, GPT_VOCAB);
  REQUIRE(d->C % d->NH == 0, "checkpoint '%s'%s: d_model = %d is not a multiple of n_head = %d", r->path,
          gd, d->C, d->NH);
  REQUIRE(h5_attr_has(r, obj, "kind"), "checkpoint '%s'%s: attribute 'kind' is missing (lm, reward, value or lm_value)",
          r->path, gd);
  CHECK(h5_attr_read_str_alloc(r, obj, "kind", &s));
  int k = -1;
  for (int i = 0; i < 4; i++)
    if (strcmp(s, kind_names[i]) == 0) k = i;
  if (k < 0) {
    int rc = oo_error_at(__FILE__, __LINE__,
                         "checkpoint '%s'%s: kind '%s' is not one of lm, reward, value, lm_value", r->path, gd, s);
    xfree(&s);
    return rc;
  }
  xfree(&s);
  *kind = (gpt_kind)k;
  return OO_OK;
}

/* Reads an optional floating attribute (default if absent) and checks it is finite. */
static int read_calibration(h5_reader *r, const char *group, const char *name, double dflt, float *out) {
  char gd[1100];
  const char *obj = attr_obj(group);
  double v = dflt;
  if (h5_attr_has(r, obj, name)) CHECK(h5_attr_read_double(r, obj, name, &v));
  REQUIRE(isfinite(v), "checkpoint '%s'%s: attribute %s = %g is not finite", r->path,
          group_desc(gd, sizeof gd, group), name, v);
  *out = (float)v;
  return OO_OK;
}

/* Checks dataset `name` exists with exactly the expected shape (no allocation, no read). */
static int check_tensor(h5_reader *r, const char *group, const char *name, int rank, const long *dims, gpt_dims d) {
  char path[1100], gd[1100], want[96], got[96];
  CHECK(object_path(path, sizeof path, group, name));
  group_desc(gd, sizeof gd, group);
  REQUIRE(h5_has(r, path),
          "checkpoint '%s'%s: dataset '%s' is missing (expected shape %s for n_layer=%d n_head=%d "
          "d_model=%d n_ctx=%d)",
          r->path, gd, name, shape_text(want, sizeof want, rank, dims), d.L, d.NH, d.C, d.T);
  int frank;
  long fdims[H5IO_MAX_RANK];
  CHECK(h5_dims(r, path, &frank, fdims));
  int same = frank == rank;
  for (int i = 0; same && i < rank; i++) same = fdims[i] == dims[i];
  REQUIRE(same, "checkpoint '%s'%s: dataset '%s' has shape %s, expected %s for n_layer=%d n_head=%d d_model=%d "
          "n_ctx=%d",
          r->path, gd, name, shape_text(got, sizeof got, frank, fdims), shape_text(want, sizeof want, rank, dims),
          d.L, d.NH, d.C, d.T);
  return OO_OK;
}

/* check_tensor, then reads it (h5io refuses NaN/inf, naming the file and dataset). */
static int read_tensor(h5_reader *r, const char *group, const char *name, int rank, const long *dims,
                       float *out, gpt_dims d) {
  char path[1100];
  CHECK(check_tensor(r, group, name, rank, dims, d));
  CHECK(object_path(path, sizeof path, group, name));
  CHECK(h5_read_f32(r, path, rank, dims, out));
  return OO_OK;
}

/* Before anything is allocated (#12): the header's dims must describe a model that fits this
 * machine's memory (a damaged header once claimed 200 TB and ended in an out-of-memory abort),
 * and every tensor in the file must have the shape the header implies. */
static int check_before_alloc(h5_reader *r, const char *group, gpt_dims d, gpt_kind kind, int with_optim) {
  char gd[1100], need[32], lim[32];
  group_desc(gd, sizeof gd, group);
  double n = 0;
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    n += (double)gpt_tensor_shape(d, kind, i, &rank, dims);
  }
  double bytes = n * sizeof(float) * (with_optim ? 4 : 1), limit = oo_mem_limit();
  oo_bytes_text(bytes, need, sizeof need);
  oo_bytes_text(limit, lim, sizeof lim);
  REQUIRE(bytes <= limit,
          "checkpoint '%s'%s: attributes n_layer = %d, d_model = %d, n_ctx = %d describe %.3g parameters (%s%s), more "
          "than the memory limit of %s (physical memory, or OVEROPT_MEM_LIMIT): the header is damaged or the model is "
          "too large for this machine",
          r->path, gd, d.L, d.C, d.T, n, need, with_optim ? " with optimizer state" : "", lim);
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    if (gpt_tensor_shape(d, kind, i, &rank, dims) == 0) continue;
    CHECK(check_tensor(r, group, gpt_tensor_names[i], rank, dims, d));
  }
  return OO_OK;
}

static int read_body(gpt *m, h5_reader *r, const char *group, int with_optim) {
  char gd[1100];
  group_desc(gd, sizeof gd, group);
  CHECK(read_calibration(r, group, "reward_shift", 0.0, &m->reward_shift));
  CHECK(read_calibration(r, group, "reward_scale", 1.0, &m->reward_scale));
  REQUIRE(m->reward_scale > 0.0f, "checkpoint '%s'%s: reward_scale = %g must be > 0", r->path, gd,
          (double)m->reward_scale);
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    if (gpt_tensor_shape(m->d, m->kind, i, &rank, dims) == 0) continue;
    CHECK(read_tensor(r, group, gpt_tensor_names[i], rank, dims, tensor_ptr(&m->p, i), m->d));
  }
  if (with_optim) {
    char og[1100];
    CHECK(object_path(og, sizeof og, group, "optim"));
    REQUIRE(h5_has(r, og),
            "checkpoint '%s'%s: group 'optim' (optimizer state) is missing: the file was saved without "
            "it, so training cannot resume from it",
            r->path, gd);
    gpt_alloc_train(m);
    long n = (long)m->n_params;
    CHECK(read_tensor(r, og, "adam_m", 1, &n, m->adam_m, m->d));
    CHECK(read_tensor(r, og, "adam_v", 1, &n, m->adam_v, m->d));
    long step;
    REQUIRE(h5_attr_has(r, og, "step"), "checkpoint '%s'%s: attribute 'step' of group 'optim' is missing",
            r->path, gd);
    CHECK(h5_attr_read_int(r, og, "step", &step));
    REQUIRE(step >= 0, "checkpoint '%s'%s: optim step = %ld is negative", r->path, gd, step);
    m->step = step;
  }
  return OO_OK;
}

int gpt_read(gpt *m, h5_reader *r, const char *group, int expect_kind, int with_optim) {
  memset(m, 0, sizeof *m);
  gpt_dims d = {0};
  gpt_kind kind = GPT_LM;
  CHECK(read_header(r, group, &d, &kind));
  if (expect_kind >= 0 && (int)kind != expect_kind) {
    char gd[1100];
    const char *want = expect_kind <= GPT_LM_VALUE ? kind_names[expect_kind] : "?";
    OO_FAIL("checkpoint '%s'%s: expected a%s %s checkpoint, got kind '%s'", r->path,
            group_desc(gd, sizeof gd, group), expect_kind == GPT_LM ? "n" : "", want, kind_names[kind]);
  }
  CHECK(check_before_alloc(r, group, d, kind, with_optim));
  CHECK(gpt_create(m, d, kind));
  int rc = read_body(m, r, group, with_optim);
  if (rc) {
    gpt_free(m);
    memset(m, 0, sizeof *m);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

int gpt_save(const gpt *m, const char *path, const char *config_text, int with_optim) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  int rc;
  CHECK_GOTO(rc, gpt_write(m, &w, "", with_optim), fail);
  if (config_text) CHECK_GOTO(rc, h5_attr_write_str(&w, "/", "config", config_text), fail);
  CHECK_GOTO(rc, h5_commit(&w), fail);
  return OO_OK;
fail:
  h5_discard(&w);
  return rc;
}

int gpt_load(gpt *m, const char *path, int expect_kind) {
  h5_reader r;
  CHECK(h5_open(&r, path));
  int rc = gpt_read(m, &r, "", expect_kind, 0);
  h5_close(&r);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}
