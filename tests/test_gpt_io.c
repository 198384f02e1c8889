/* test_gpt_io: model checkpoints (gpt_save/gpt_load/gpt_write/gpt_read).
 * - save -> load reproduces every tensor bitwise, the attributes and the optimizer state;
 *   save -> load -> save gives files with the same contents;
 * - a model in a group ("member_3") reads back from that group;
 * - a file written with raw HDF5 calls the way h5py writes (int64 attributes, variable-length
 *   strings) loads, and so does one with int32/int16 attributes and fixed-length strings;
 * - a wrong shape, a missing dataset, a kind mismatch, a foreign format are refused with
 *   messages naming the file, the dataset and what was expected; failed loads leak nothing. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/gpt.h"
#include "testing.h"

static char dir[256];

static void path_in(char *out, const char *name) { snprintf(out, 512, "%s/%s", dir, name); }

static void random_model(gpt *m, gpt_kind kind, uint64_t seed) {
  gpt_dims d = {.V = GPT_VOCAB, .T = 8, .C = 16, .L = 2, .NH = 2};
  EXPECT_OK(gpt_create(m, d, kind));
  /* every parameter random, so a swapped or misplaced tensor cannot go unnoticed */
  oo_rng r = oo_rng_make(seed, RNG_TEST, 2, 0);
  for (size_t i = 0; i < m->n_params; i++) m->params[i] = oo_rng_normal(&r);
  m->reward_shift = kind == GPT_LM ? 0.0f : 0.375f;
  m->reward_scale = kind == GPT_LM ? 1.0f : 2.5f;
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static int same_model(const gpt *a, const gpt *b) {
  return a->kind == b->kind && !memcmp(&a->d, &b->d, sizeof a->d) && a->n_params == b->n_params &&
         same_floats(a->params, b->params, a->n_params) && a->reward_shift == b->reward_shift &&
         a->reward_scale == b->reward_scale;
}

static int same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    same = ca == cb;
    if (ca == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

static void test_roundtrip(void) {
  char p1[512], p2[512];
  path_in(p1, "a.h5");
  path_in(p2, "b.h5");
  gpt m, l, l2;
  random_model(&m, GPT_LM, 1);
  gpt_alloc_train(&m);
  oo_rng r = oo_rng_make(2, RNG_TEST, 3, 0);
  for (size_t i = 0; i < m.n_params; i++) {
    m.adam_m[i] = oo_rng_normal(&r);
    m.adam_v[i] = oo_rng_uniform(&r);
  }
  m.step = 17;
  EXPECT_OK(gpt_save(&m, p1, "seed = 1;\n", 1));
  EXPECT_OK(gpt_load(&l, p1, GPT_LM));
  EXPECT_MSG(same_model(&m, &l), "save -> load changed the model");
  EXPECT(l.adam_m == NULL); /* gpt_load reads no optimizer state */

  /* optimizer state through gpt_read */
  h5_reader rd;
  EXPECT_OK(h5_open(&rd, p1));
  EXPECT_OK(gpt_read(&l2, &rd, "", -1, 1));
  EXPECT(l2.adam_m && same_floats(l2.adam_m, m.adam_m, m.n_params));
  EXPECT(l2.adam_v && same_floats(l2.adam_v, m.adam_v, m.n_params));
  EXPECT(l2.step == 17);
  char cfg[64] = "";
  EXPECT_OK(h5_attr_read_str(&rd, "/", "config", cfg, sizeof cfg));
  EXPECT(strcmp(cfg, "seed = 1;\n") == 0);
  long v;
  EXPECT_OK(h5_attr_read_int(&rd, "/", "n_layer", &v));
  EXPECT(v == 2);
  char kind[16];
  EXPECT_OK(h5_attr_read_str(&rd, "/", "kind", kind, sizeof kind));
  EXPECT(strcmp(kind, "lm") == 0);
  EXPECT(!h5_has(&rd, "head_w")); /* LM checkpoints carry no scalar head */
  h5_close(&rd);

  /* save -> load -> save: same contents (HDF5 may differ in bytes such as object times) */
  EXPECT_OK(gpt_save(&l2, p2, "seed = 1;\n", 1));
  gpt l3;
  EXPECT_OK(h5_open(&rd, p2));
  EXPECT_OK(gpt_read(&l3, &rd, "", GPT_LM, 1));
  h5_close(&rd);
  EXPECT(same_model(&l3, &m) && same_floats(l3.adam_v, m.adam_v, m.n_params) && l3.step == 17);
  printf("save -> load -> save: files are %s\n", same_file(p1, p2) ? "byte-identical" : "equal in content, not in bytes");
  gpt_free(&m);
  gpt_free(&l);
  gpt_free(&l2);
  gpt_free(&l3);

  /* reward model: head and calibration survive; group "member_3" */
  gpt rm, rl;
  random_model(&rm, GPT_REWARD, 5);
  char p3[512];
  path_in(p3, "ens.h5");
  h5_writer w;
  EXPECT_OK(h5_create(&w, p3));
  EXPECT_OK(gpt_write(&rm, &w, "member_3", 0));
  EXPECT_OK(h5_commit(&w));
  EXPECT_OK(h5_open(&rd, p3));
  EXPECT_OK(gpt_read(&rl, &rd, "member_3", GPT_REWARD, 0));
  EXPECT_MSG(same_model(&rm, &rl), "reward model in group member_3 changed");
  EXPECT(rl.p.head_b[0] == rm.p.head_b[0]);
  gpt_free(&rl);
  EXPECT(gpt_read(&rl, &rd, "member_4", GPT_REWARD, 0) != 0);
  EXPECT(strstr(oo_error_message(), "member_4") != NULL);
  EXPECT(gpt_read(&rl, &rd, "member_3", GPT_REWARD, 1) != 0); /* saved without optimizer */
  EXPECT(strstr(oo_error_message(), "optim") != NULL);
  h5_close(&rd);
  gpt_free(&rm);
}

/* ---- files written with raw HDF5 calls, the way h5py would -------------------------------- */

enum { RAW_OK, RAW_WRONG_SHAPE, RAW_MISSING, RAW_BAD_FORMAT };

static void raw_attr_int(hid_t f, const char *name, long v, hid_t type) {
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
  long long x = v;
  H5Awrite(a, H5T_NATIVE_LLONG, &x);
  H5Aclose(a);
  H5Sclose(s);
}

static void raw_attr_str(hid_t f, const char *name, const char *v, int variable) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (variable) {
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
  } else {
    H5Tset_size(t, strlen(v) + 3); /* space-padded, as some tools write */
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
  }
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  if (variable) {
    H5Awrite(a, t, &v);
  } else {
    char buf[64];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, v, strlen(v));
    H5Awrite(a, t, buf);
  }
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
}

/* Writes m with raw HDF5. h5py_style: int64 attributes, variable-length strings, float64
 * calibration; otherwise int32/int16 attributes, fixed-length strings, float32 calibration. */
static void write_raw(const gpt *m, const char *path, int h5py_style, int mutation) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t it = h5py_style ? H5T_STD_I64LE : H5T_STD_I32BE, small = h5py_style ? H5T_STD_I64LE : H5T_STD_I16LE;
  raw_attr_str(f, "format", mutation == RAW_BAD_FORMAT ? "overopt-gpt-9" : "overopt-gpt-1", h5py_style);
  raw_attr_int(f, "n_layer", m->d.L, small);
  raw_attr_int(f, "n_head", m->d.NH, small);
  raw_attr_int(f, "d_model", m->d.C, it);
  raw_attr_int(f, "n_ctx", m->d.T, it);
  raw_attr_int(f, "vocab_size", m->d.V, it);
  raw_attr_str(f, "kind", m->kind == GPT_LM ? "lm" : m->kind == GPT_REWARD ? "reward" : "value", h5py_style);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t ft = h5py_style ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  double cal[2] = {m->reward_shift, m->reward_scale};
  const char *cal_name[2] = {"reward_shift", "reward_scale"};
  for (int i = 0; i < 2; i++) {
    hid_t a = H5Acreate2(f, cal_name[i], ft, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &cal[i]);
    H5Aclose(a);
  }
  H5Sclose(s);
  const gpt_tensors *t = &m->p;
  const float *ptr[GPT_NUM_TENSORS] = {t->wte,   t->wpe,       t->ln1_w,     t->ln1_b,  t->qkv_w,  t->qkv_b,
                                       t->attproj_w, t->attproj_b, t->ln2_w, t->ln2_b, t->fc_w, t->fc_b,
                                       t->fcproj_w, t->fcproj_b, t->lnf_w, t->lnf_b, t->head_w, t->head_b};
  for (int i = 0; i < GPT_NUM_TENSORS; i++) {
    int rank;
    long dims[3];
    size_t n = gpt_tensor_shape(m->d, m->kind, i, &rank, dims);
    if (n == 0) continue;
    const char *name = gpt_tensor_names[i];
    hsize_t hd[3];
    for (int j = 0; j < rank; j++) hd[j] = (hsize_t)dims[j];
    if (mutation == RAW_WRONG_SHAPE && !strcmp(name, "fc_w")) { /* [L,4C,C] stored as [L,C,4C] */
      hd[1] = (hsize_t)dims[2];
      hd[2] = (hsize_t)dims[1];
    }
    if (!(mutation == RAW_MISSING && !strcmp(name, "lnf_b"))) {
      hid_t sp = H5Screate_simple(rank, hd, NULL);
      hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptr[i]);
      H5Dclose(ds);
      H5Sclose(sp);
    }
  }
  H5Fclose(f);
}

static void expect_load_error(const char *path, int kind, const char *const *needles, int n) {
  gpt l;
  long live = oo_mem_live_blocks();
  int rc = gpt_load(&l, path, kind);
  EXPECT_MSG(rc != 0, "loading '%s' should fail", path);
  if (rc == 0) {
    gpt_free(&l);
    return;
  }
  const char *msg = oo_error_message();
  printf("refused as expected: %.*s\n", (int)strcspn(msg, "\n"), msg);
  for (int i = 0; i < n; i++) EXPECT_MSG(strstr(msg, needles[i]) != NULL, "message lacks '%s': %s", needles[i], msg);
  EXPECT_MSG(oo_mem_live_blocks() == live, "failed load leaked %ld blocks", oo_mem_live_blocks() - live);
  oo_error_clear();
}

static void test_raw_files(void) {
  char p[512];
  gpt m, l;
  random_model(&m, GPT_REWARD, 9);
  path_in(p, "h5py.h5");
  write_raw(&m, p, 1, RAW_OK);
  EXPECT_OK(gpt_load(&l, p, GPT_REWARD));
  EXPECT_MSG(same_model(&m, &l), "h5py-style checkpoint did not load identically");
  gpt_free(&l);

  path_in(p, "narrow.h5");
  write_raw(&m, p, 0, RAW_OK);
  EXPECT_OK(gpt_load(&l, p, -1));
  EXPECT_MSG(same_model(&m, &l), "int32/int16-attribute checkpoint did not load identically");
  gpt_free(&l);

  path_in(p, "shape.h5");
  write_raw(&m, p, 1, RAW_WRONG_SHAPE);
  const char *shape_needles[] = {"shape.h5", "'fc_w'", "[2,16,64]", "expected [2,64,16]", "n_layer=2", "d_model=16"};
  expect_load_error(p, GPT_REWARD, shape_needles, 6);

  path_in(p, "missing.h5");
  write_raw(&m, p, 0, RAW_MISSING);
  const char *missing_needles[] = {"missing.h5", "'lnf_b'", "missing", "[16]"};
  expect_load_error(p, GPT_REWARD, missing_needles, 4);

  path_in(p, "format.h5");
  write_raw(&m, p, 1, RAW_BAD_FORMAT);
  const char *format_needles[] = {"format.h5", "overopt-gpt-9", "overopt-gpt-1"};
  expect_load_error(p, -1, format_needles, 3);

  /* kind mismatch, both ways */
  path_in(p, "h5py.h5");
  const char *kind_needles[] = {"h5py.h5", "expected an lm checkpoint, got kind 'reward'"};
  expect_load_error(p, GPT_LM, kind_needles, 2);
  gpt lm;
  random_model(&lm, GPT_LM, 3);
  path_in(p, "lm.h5");
  EXPECT_OK(gpt_save(&lm, p, NULL, 0));
  const char *kind2_needles[] = {"lm.h5", "expected a reward checkpoint, got kind 'lm'"};
  expect_load_error(p, GPT_REWARD, kind2_needles, 2);

  /* not a file at all */
  path_in(p, "nonexistent.h5");
  const char *none_needles[] = {"nonexistent.h5"};
  expect_load_error(p, -1, none_needles, 1);
  gpt_free(&lm);
  gpt_free(&m);
}

static void test_value_kind(void) {
  char p[512];
  gpt m, l;
  random_model(&m, GPT_VALUE, 4);
  path_in(p, "value.h5");
  EXPECT_OK(gpt_save(&m, p, NULL, 0));
  EXPECT_OK(gpt_load(&l, p, GPT_VALUE));
  EXPECT(same_model(&m, &l));
  gpt_free(&l);
  gpt_free(&m);
}

int main(void) {
  snprintf(dir, sizeof dir, "test_gpt_io_tmp.%d", (int)getpid());
  EXPECT_OK(oo_mkdir_p(dir));
  long live = oo_mem_live_blocks();
  test_roundtrip();
  test_raw_files();
  test_value_kind();
  EXPECT_MSG(oo_mem_live_blocks() == live, "leaked %ld blocks", oo_mem_live_blocks() - live);
  const char *names[] = {"a.h5", "b.h5", "ens.h5", "h5py.h5", "narrow.h5", "shape.h5",
                         "missing.h5", "format.h5", "lm.h5", "value.h5"};
  char p[512];
  for (int i = 0; i < 10; i++) {
    path_in(p, names[i]);
    unlink(p);
  }
  rmdir(dir);
  return TEST_SUMMARY();
}
