/* Unit tests of io/h5io: round trips, shape/type/missing errors, damaged files, the
 * temporary-name protocol, and attributes written by other tools (h5py-like types).
 * With "--write-sample PATH" it only writes a sample file (used by h5io_h5dump.sh). */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "io/h5_catalog.h"
#include "io/h5io.h"
#include "testing.h"

static char dir[64];

static void path_in(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

/* Writes the sample file: nested datasets of each type and every attribute kind. */
static int write_sample(const char *path) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  float f[6] = {1.5f, -2, 3, 4.25f, 5, -6};
  double d[4] = {0.1, 1e300, -3.5, 4};
  int i32[8] = {1, -2, 3, 2147483647, -2147483647 - 1, 6, 7, 8};
  long df[2] = {2, 3}, dd[1] = {4}, di[3] = {2, 2, 2};
  int rc = OO_OK;
  CHECK_GOTO(rc, h5_write_f32(&w, "model/layer0/w", 2, df, f), fail);
  CHECK_GOTO(rc, h5_write_f64(&w, "curves/mean/gold", 1, dd, d), fail);
  CHECK_GOTO(rc, h5_write_i32(&w, "/ints", 3, di, i32), fail);
  CHECK_GOTO(rc, h5_group(&w, "empty/group"), fail);
  CHECK_GOTO(rc, h5_group(&w, "model"), fail); /* existing group: fine */
  CHECK_GOTO(rc, h5_attr_write_int(&w, "/", "n_layer", 4), fail);
  CHECK_GOTO(rc, h5_attr_write_int(&w, "/", "big", -9000000000L), fail);
  CHECK_GOTO(rc, h5_attr_write_double(&w, "model/layer0/w", "scale", 0.125), fail);
  CHECK_GOTO(rc, h5_attr_write_str(&w, "/", "kind", "lm"), fail);
  CHECK_GOTO(rc, h5_attr_write_str(&w, "model", "empty", ""), fail);
  CHECK_GOTO(rc, h5_attr_write_str(&w, "empty/group", "utf8", "caf\xc3\xa9 \xe2\x88\x91"), fail);
  CHECK_GOTO(rc, h5_attr_write_str(&w, "/", "kind", "reward"), fail); /* overwrite */
  CHECK_GOTO(rc, h5_commit(&w), fail);
  return OO_OK;
fail:
  h5_discard(&w);
  return rc;
}

static void test_round_trip(void) {
  char p[256];
  path_in(p, sizeof p, "rt.h5");
  EXPECT_OK(write_sample(p));
  h5_reader r;
  EXPECT_OK(h5_open(&r, p));
  float f[6];
  long df[2] = {2, 3}, dany[2] = {-1, 3};
  EXPECT_OK(h5_read_f32(&r, "model/layer0/w", 2, df, f));
  EXPECT(f[0] == 1.5f && f[3] == 4.25f && f[5] == -6);
  memset(f, 0, sizeof f);
  EXPECT_OK(h5_read_f32(&r, "/model/layer0/w", 2, dany, f));
  EXPECT(f[1] == -2);
  double d[4];
  long dd[1] = {4};
  EXPECT_OK(h5_read_f64(&r, "curves/mean/gold", 1, dd, d));
  EXPECT(d[0] == 0.1 && d[1] == 1e300 && d[2] == -3.5);
  int i32[8];
  long di[3] = {2, 2, 2};
  EXPECT_OK(h5_read_i32(&r, "ints", 3, di, i32));
  EXPECT(i32[3] == 2147483647 && i32[4] == -2147483647 - 1 && i32[7] == 8);
  /* float32 widens to float64 exactly */
  double d6[6];
  EXPECT_OK(h5_read_f64(&r, "model/layer0/w", 2, df, d6));
  EXPECT(d6[3] == 4.25);
  /* dims and allocating reads */
  int rank = 0;
  long dims[H5IO_MAX_RANK];
  EXPECT_OK(h5_dims(&r, "ints", &rank, dims));
  EXPECT(rank == 3 && dims[0] == 2 && dims[2] == 2);
  float *fa = NULL;
  int *ia = NULL;
  EXPECT_OK(h5_read_f32_alloc(&r, "model/layer0/w", 2, dims, &fa));
  EXPECT(fa && dims[0] == 2 && dims[1] == 3 && fa[5] == -6);
  xfree(&fa);
  EXPECT_OK(h5_read_i32_alloc(&r, "ints", 3, dims, &ia));
  EXPECT(ia && ia[0] == 1 && ia[6] == 7);
  xfree(&ia);
  EXPECT(h5_read_f32_alloc(&r, "model/layer0/w", 3, dims, &fa) != 0 && fa == NULL);
  EXPECT(has(oo_error_message(), "expected rank 3"));
  /* existence */
  EXPECT(h5_has(&r, "model/layer0/w") == 1);
  EXPECT(h5_has(&r, "model") == 1);
  EXPECT(h5_has(&r, "empty/group") == 1);
  EXPECT(h5_has(&r, "model/nothere/w") == 0);
  EXPECT(h5_has(&r, "nothere/deeper") == 0);
  EXPECT(h5_attr_has(&r, "/", "n_layer") == 1);
  EXPECT(h5_attr_has(&r, "/", "n_head") == 0);
  EXPECT(h5_attr_has(&r, "nothere", "x") == 0);
  /* attributes */
  long v = 0;
  double x = 0;
  char s[64];
  EXPECT_OK(h5_attr_read_int(&r, "/", "n_layer", &v));
  EXPECT(v == 4);
  EXPECT_OK(h5_attr_read_int(&r, "/", "big", &v));
  EXPECT(v == -9000000000L);
  EXPECT_OK(h5_attr_read_double(&r, "model/layer0/w", "scale", &x));
  EXPECT(x == 0.125);
  EXPECT_OK(h5_attr_read_double(&r, "/", "n_layer", &x)); /* integers read as double */
  EXPECT(x == 4.0);
  EXPECT(h5_attr_read_int(&r, "model/layer0/w", "scale", &v) != 0);
  EXPECT_MSG(has(oo_error_message(), "has type float64, expected an integer"), "%s", oo_error_message());
  EXPECT_OK(h5_attr_read_str(&r, "/", "kind", s, sizeof s));
  EXPECT_MSG(strcmp(s, "reward") == 0, "got '%s'", s);
  EXPECT_OK(h5_attr_read_str(&r, "model", "empty", s, sizeof s));
  EXPECT(strcmp(s, "") == 0);
  EXPECT_OK(h5_attr_read_str(&r, "empty/group", "utf8", s, sizeof s));
  EXPECT(strcmp(s, "caf\xc3\xa9 \xe2\x88\x91") == 0);
  EXPECT(h5_attr_read_str(&r, "/", "kind", s, 4) != 0); /* "reward" does not fit in 4 bytes */
  EXPECT_MSG(has(oo_error_message(), "attribute 'kind'"), "%s", oo_error_message());
  EXPECT(h5_attr_read_str(&r, "/", "n_layer", s, sizeof s) != 0);
  EXPECT(has(oo_error_message(), "has type int64, expected a string"));
  EXPECT(h5_attr_read_int(&r, "/", "n_head", &v) != 0);
  EXPECT_MSG(has(oo_error_message(), "attribute 'n_head' on '/' is missing"), "%s", oo_error_message());
  h5_close(&r);
  h5_close(&r); /* idempotent */
}

static void test_shape_type_missing(void) {
  char p[256];
  path_in(p, sizeof p, "x.h5");
  h5_writer w;
  EXPECT_OK(h5_create(&w, p));
  long dq[3] = {4, 6, 3}, dn[1] = {5};
  float *q = xcalloc(72, sizeof(float));
  int n[5] = {1, 2, 3, 4, 5};
  double dbl[5] = {1, 2, 3, 4, 5};
  EXPECT_OK(h5_write_f32(&w, "qkv_w", 3, dq, q));
  EXPECT_OK(h5_write_i32(&w, "counts", 1, dn, n));
  EXPECT_OK(h5_write_f64(&w, "dbl", 1, dn, dbl));
  EXPECT(h5_write_f32(&w, "qkv_w", 3, dq, q) != 0); /* written twice */
  EXPECT(has(oo_error_message(), "written twice"));
  EXPECT_OK(h5_commit(&w));
  h5_reader r;
  EXPECT_OK(h5_open(&r, p));
  long want[3] = {4, 6, 2};
  EXPECT(h5_read_f32(&r, "qkv_w", 3, want, q) != 0);
  char expect_msg[400];
  snprintf(expect_msg, sizeof expect_msg,
           "file '%s': dataset 'qkv_w' has shape [4,6,3], expected [4,6,2]", p);
  EXPECT_MSG(has(oo_error_message(), expect_msg), "%s", oo_error_message());
  long want2[2] = {4, 18};
  EXPECT(h5_read_f32(&r, "qkv_w", 2, want2, q) != 0);
  EXPECT_MSG(has(oo_error_message(), "has shape [4,6,3], expected [4,18]"), "%s", oo_error_message());
  long want3[3] = {-1, -1, 2};
  EXPECT(h5_read_f32(&r, "qkv_w", 3, want3, q) != 0);
  EXPECT_MSG(has(oo_error_message(), "expected [*,*,2]"), "%s", oo_error_message());
  /* missing */
  EXPECT(h5_read_f32(&r, "wte", 2, want2, q) != 0);
  snprintf(expect_msg, sizeof expect_msg, "file '%s': dataset 'wte' is missing", p);
  EXPECT_MSG(has(oo_error_message(), expect_msg), "%s", oo_error_message());
  EXPECT(h5_read_f32(&r, "a/b/wte", 2, want2, q) != 0);
  EXPECT(has(oo_error_message(), "dataset 'a/b/wte' is missing"));
  /* wrong type: int32 as float32, float64 as float32, float as int32 */
  float fb[5];
  EXPECT(h5_read_f32(&r, "counts", 1, dn, fb) != 0);
  EXPECT_MSG(has(oo_error_message(), "dataset 'counts' has type int32, expected float32"), "%s",
             oo_error_message());
  EXPECT(h5_read_f32(&r, "dbl", 1, dn, fb) != 0);
  EXPECT(has(oo_error_message(), "has type float64, expected float32"));
  int ib[5];
  EXPECT(h5_read_i32(&r, "dbl", 1, dn, ib) != 0);
  EXPECT(has(oo_error_message(), "has type float64, expected int32"));
  EXPECT_OK(h5_read_i32(&r, "counts", 1, dn, ib));
  EXPECT(ib[4] == 5);
  h5_close(&r);
  xfree(&q);
}

static void copy_prefix(const char *from, const char *to, long n) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  for (long i = 0; i < n; i++) {
    int ch = fgetc(a);
    if (ch == EOF) break;
    fputc(ch, b);
  }
  fclose(a);
  fclose(b);
}

static void test_damaged_files(void) {
  char full[256], half[256], tiny[256], text[256], missing[256];
  path_in(full, sizeof full, "full.h5");
  path_in(half, sizeof half, "half.h5");
  path_in(tiny, sizeof tiny, "tiny.h5");
  path_in(text, sizeof text, "notes.h5");
  path_in(missing, sizeof missing, "missing.h5");
  h5_writer w;
  EXPECT_OK(h5_create(&w, full));
  long d[1] = {20000};
  float *f = xcalloc(20000, sizeof(float));
  EXPECT_OK(h5_write_f32(&w, "big", 1, d, f));
  EXPECT_OK(h5_attr_write_str(&w, "/", "format", "test"));
  EXPECT_OK(h5_commit(&w));
  FILE *fp = fopen(full, "rb");
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fclose(fp);
  copy_prefix(full, half, size / 2);
  copy_prefix(full, tiny, 40);
  h5_reader r;
  char want[400];
  EXPECT(h5_open(&r, half) != 0);
  snprintf(want, sizeof want, "file '%s' is not an HDF5 file (or is truncated)", half);
  EXPECT_MSG(has(oo_error_message(), want), "%s", oo_error_message());
  printf("truncated file message: %s\n", oo_error_message());
  EXPECT(r.file < 0);
  EXPECT(h5_open(&r, tiny) != 0);
  EXPECT_MSG(has(oo_error_message(), "is not an HDF5 file (or is truncated)"), "%s", oo_error_message());
  fp = fopen(text, "w");
  fputs("this is not HDF5\n", fp);
  fclose(fp);
  EXPECT(h5_open(&r, text) != 0);
  snprintf(want, sizeof want, "file '%s' is not an HDF5 file (or is truncated)", text);
  EXPECT_MSG(has(oo_error_message(), want), "%s", oo_error_message());
  EXPECT(h5_open(&r, missing) != 0);
  EXPECT_MSG(has(oo_error_message(), "missing.h5' cannot be opened: No such file"), "%s",
             oo_error_message());
  /* the intact file still reads */
  EXPECT_OK(h5_open(&r, full));
  EXPECT_OK(h5_read_f32(&r, "big", 1, d, f));
  h5_close(&r);
  xfree(&f);
}

static void test_tmp_protocol(void) {
  char p[256], tmp[300];
  path_in(p, sizeof p, "proto.h5");
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
  h5_writer w;
  long d[1] = {3};
  int v[3] = {1, 2, 3};
  EXPECT_OK(h5_create(&w, p));
  EXPECT(strcmp(w.tmp_path, tmp) == 0);
  EXPECT_OK(h5_write_i32(&w, "v", 1, d, v));
  EXPECT(!exists(p) && exists(tmp));
  h5_discard(&w);
  EXPECT(!exists(p) && !exists(tmp));
  h5_discard(&w); /* safe twice */
  EXPECT_OK(h5_create(&w, p));
  EXPECT_OK(h5_write_i32(&w, "v", 1, d, v));
  EXPECT(!exists(p));
  EXPECT_OK(h5_commit(&w));
  EXPECT(exists(p) && !exists(tmp));
  h5_discard(&w); /* after commit: a no-op that keeps the file */
  EXPECT(exists(p));
  /* writing into a directory that does not exist fails with the path named */
  char bad[300];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.h5", dir);
  EXPECT(h5_create(&w, bad) != 0);
  EXPECT_MSG(has(oo_error_message(), "cannot create file") && has(oo_error_message(), "no/such/dir/x.h5"),
             "%s", oo_error_message());
  h5_discard(&w);
  /* attributes on a missing object are refused */
  EXPECT_OK(h5_create(&w, p));
  EXPECT(h5_attr_write_int(&w, "nothere", "x", 1) != 0);
  EXPECT(has(oo_error_message(), "no such object"));
  h5_discard(&w);
  EXPECT(exists(p)); /* the earlier committed file is untouched */
}

/* Attributes and datasets written directly with the HDF5 API, mimicking h5py and others. */
static void test_foreign_types(void) {
  char p[256];
  path_in(p, sizeof p, "foreign.h5");
  hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t sp = H5Screate(H5S_SCALAR);
  struct {
    const char *name;
    hid_t type;
    hid_t mem;
    long long value;
  } ints[] = {{"i8", H5T_STD_I8LE, H5T_NATIVE_LLONG, -100},
              {"u16", H5T_STD_U16LE, H5T_NATIVE_LLONG, 65535},
              {"i64", H5T_STD_I64LE, H5T_NATIVE_LLONG, -123456789012345LL},
              {"u8", H5T_STD_U8LE, H5T_NATIVE_LLONG, 200},
              {"i32be", H5T_STD_I32BE, H5T_NATIVE_LLONG, -77}};
  for (int i = 0; i < 5; i++) {
    hid_t a = H5Acreate2(f, ints[i].name, ints[i].type, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, ints[i].mem, &ints[i].value);
    H5Aclose(a);
  }
  float f32 = 0.75f;
  hid_t a = H5Acreate2(f, "f32", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_FLOAT, &f32);
  H5Aclose(a);
  /* variable-length UTF-8 string, as h5py writes str */
  hid_t vs = H5Tcopy(H5T_C_S1);
  H5Tset_size(vs, H5T_VARIABLE);
  H5Tset_cset(vs, H5T_CSET_UTF8);
  const char *value = "variable length \xc3\xa9";
  a = H5Acreate2(f, "vstr", vs, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, vs, &value);
  H5Aclose(a);
  H5Tclose(vs);
  /* fixed-length strings: null-terminated with slack, and space-padded */
  hid_t fs = H5Tcopy(H5T_C_S1);
  H5Tset_size(fs, 16);
  H5Tset_strpad(fs, H5T_STR_NULLTERM);
  char buf[16] = "short";
  a = H5Acreate2(f, "fstr", fs, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, fs, buf);
  H5Aclose(a);
  H5Tset_strpad(fs, H5T_STR_SPACEPAD);
  memcpy(buf, "spaced          ", 16);
  a = H5Acreate2(f, "sstr", fs, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, fs, buf);
  H5Aclose(a);
  H5Tclose(fs);
  /* a big-endian float dataset and an int16 dataset */
  hsize_t hd[1] = {3};
  hid_t s1 = H5Screate_simple(1, hd, NULL);
  float fv[3] = {1, 2.5f, -3};
  hid_t ds = H5Dcreate2(f, "be", H5T_IEEE_F32BE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, fv);
  H5Dclose(ds);
  short sv[3] = {-5, 6, 7};
  ds = H5Dcreate2(f, "i16", H5T_STD_I16LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_SHORT, H5S_ALL, H5S_ALL, H5P_DEFAULT, sv);
  H5Dclose(ds);
  long long lv[3] = {1, 2, 3};
  ds = H5Dcreate2(f, "i64", H5T_STD_I64LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, lv);
  H5Dclose(ds);
  H5Sclose(s1);
  H5Sclose(sp);
  H5Fclose(f);

  h5_reader r;
  EXPECT_OK(h5_open(&r, p));
  for (int i = 0; i < 5; i++) {
    long v = 0;
    EXPECT_OK(h5_attr_read_int(&r, "/", ints[i].name, &v));
    EXPECT_MSG(v == ints[i].value, "%s: got %ld, wrote %lld", ints[i].name, v, ints[i].value);
  }
  double x = 0;
  EXPECT_OK(h5_attr_read_double(&r, "/", "f32", &x));
  EXPECT(x == 0.75);
  EXPECT_OK(h5_attr_read_double(&r, "/", "i8", &x));
  EXPECT(x == -100);
  char s[64];
  EXPECT_OK(h5_attr_read_str(&r, "/", "vstr", s, sizeof s));
  EXPECT_MSG(strcmp(s, value) == 0, "got '%s'", s);
  char *sa = NULL;
  EXPECT_OK(h5_attr_read_str_alloc(&r, "/", "vstr", &sa));
  EXPECT(sa && strcmp(sa, value) == 0);
  xfree(&sa);
  EXPECT_OK(h5_attr_read_str(&r, "/", "fstr", s, sizeof s));
  EXPECT_MSG(strcmp(s, "short") == 0, "got '%s'", s);
  EXPECT_OK(h5_attr_read_str(&r, "/", "sstr", s, sizeof s));
  EXPECT_MSG(strcmp(s, "spaced") == 0, "got '%s'", s);
  float fr[3];
  long d3[1] = {3};
  EXPECT_OK(h5_read_f32(&r, "be", 1, d3, fr));
  EXPECT(fr[0] == 1 && fr[1] == 2.5f && fr[2] == -3);
  int ir[3];
  EXPECT_OK(h5_read_i32(&r, "i16", 1, d3, ir)); /* narrower integers widen exactly */
  EXPECT(ir[0] == -5 && ir[2] == 7);
  EXPECT(h5_read_i32(&r, "i64", 1, d3, ir) != 0); /* int64 could overflow: refused */
  EXPECT_MSG(has(oo_error_message(), "has type int64, expected int32"), "%s", oo_error_message());
  h5_close(&r);
}

/* String datasets round-trip (fixed length, UTF-8, any length), and the catalogue's units and
 * description land on an artifact's datasets (fits.h5 alpha) but not on unknown names. */
static void test_strings_and_catalogue(void) {
  char p[256];
  path_in(p, sizeof p, "fits.h5");
  char rows[3][16] = {"bon", "", "ppo_beta0.1|\xc3\xa9"};
  double alpha[2] = {1, 2};
  long n2[1] = {2};
  h5_writer w;
  EXPECT_OK(h5_create(&w, p));
  EXPECT_OK(h5_write_str(&w, "names", 3, rows[0], sizeof rows[0]));
  EXPECT_OK(h5_write_f64(&w, "alpha", 1, n2, alpha));
  EXPECT_OK(h5_write_f64(&w, "not_in_catalogue", 1, n2, alpha));
  EXPECT_OK(h5_commit(&w));
  h5_reader r;
  EXPECT_OK(h5_open(&r, p));
  long n = 0;
  size_t stride = 0;
  char *text = NULL;
  EXPECT_OK(h5_read_str_alloc(&r, "names", &n, &text, &stride));
  EXPECT(n == 3 && text && !strcmp(text, "bon") && !strcmp(text + stride, "") && !strcmp(text + 2 * stride, rows[2]));
  xfree(&text);
  char units[64] = "", desc[256] = "";
  EXPECT_OK(h5_attr_read_str(&r, "alpha", "units", units, sizeof units));
  EXPECT_OK(h5_attr_read_str(&r, "alpha", "description", desc, sizeof desc));
  EXPECT(!strcmp(units, h5_catalog_find(p, "alpha")->units) && strstr(desc, "alpha") != NULL);
  EXPECT(!h5_attr_has(&r, "not_in_catalogue", "units") && h5_catalog_find(p, "not_in_catalogue") == NULL);
  /* a numeric dataset is not a string dataset: the error names file and dataset */
  EXPECT(h5_read_str_alloc(&r, "alpha", &n, &text, &stride) != OO_OK && has(oo_error_message(), "'alpha'") && !text);
  h5_close(&r);
  /* leaf patterns match in any group; full paths only where written */
  EXPECT(h5_catalog_find("runs/x/rm.h5", "member_3/qkv_w") && h5_catalog_find("ppo_a.h5", "samples/step_5/text"));
  EXPECT(!strcmp(h5_catalog_find("ppo_a.h5", "samples/step_5/gold")->description, "gold score of each evaluation sample"));
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-sample") == 0) {
    if (write_sample(argv[2])) {
      fprintf(stderr, "%s\n", oo_error_message());
      return 1;
    }
    return 0;
  }
  snprintf(dir, sizeof dir, "/tmp/oo_h5io_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  long live = oo_mem_live_blocks();
  test_round_trip();
  test_shape_type_missing();
  test_damaged_files();
  test_tmp_protocol();
  test_foreign_types();
  test_strings_and_catalogue();
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return TEST_SUMMARY();
}
