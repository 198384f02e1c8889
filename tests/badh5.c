/* badh5: writes a damaged copy of a good HDF5 file, for the bad-input suite (tests/badinput.sh).
 * Uses the HDF5 API directly (not overopt's h5io, which refuses to write such files).
 *
 *   badh5 IN OUT OP OBJECT [VALUE]
 *
 * copies IN to OUT, then applies OP to OBJECT in OUT:
 *   nan | inf | neginf DATASET     sets the dataset's middle element (read as float) to NaN/+inf/-inf
 *   delete NAME                    unlinks a dataset, group or (NAME = obj@attr) an attribute
 *   reshape DATASET                replaces it by a float32 dataset of shape [n + 1] (wrong rank and size)
 *   retype DATASET                 replaces it by an int32 dataset of the same shape (wrong type)
 *   tostring DATASET               replaces it by a string dataset of one element (wrong type)
 *   togroup DATASET                replaces it by an empty group (not a dataset)
 *   huge DATASET                   replaces it by a chunked float32 dataset of shape [2^40] with no
 *                                  chunk written (a header claiming 4 TB, a file of a few kB)
 *   int OBJ@ATTR VALUE             (re)writes an int64 attribute
 *   double OBJ@ATTR VALUE          (re)writes a float64 attribute ("nan", "inf" accepted)
 *   string OBJ@ATTR VALUE          (re)writes a string attribute
 *   set_i32 DATASET VALUE          sets the dataset's first element (read as int32) to VALUE
 * Exit status 0 on success, 1 with a message otherwise.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *name) {
  fprintf(stderr, "badh5: %s '%s' failed\n", what, name);
  return 1;
}

static int copy_file(const char *in, const char *out) {
  FILE *a = fopen(in, "rb"), *b = a ? fopen(out, "wb") : NULL;
  if (!a || !b) {
    if (a) fclose(a);
    return fail("copy", in);
  }
  char buf[65536];
  size_t n;
  int bad = 0;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0) bad |= fwrite(buf, 1, n, b) != n;
  bad |= ferror(a);
  fclose(a);
  bad |= fclose(b) != 0;
  return bad ? fail("copy", in) : 0;
}

/* Number of elements and shape of a dataset. */
static hssize_t extent(hid_t ds, int *rank, hsize_t dims[8]) {
  hid_t sp = H5Dget_space(ds);
  *rank = H5Sget_simple_extent_ndims(sp);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  return n;
}

static int poison(hid_t f, const char *name, float value) {
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return fail("open dataset", name);
  int rank;
  hsize_t dims[8];
  hssize_t n = extent(ds, &rank, dims);
  float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  int rc = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
  if (!rc && n > 0) {
    x[n / 2] = value;
    rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
  }
  free(x);
  H5Dclose(ds);
  return rc ? fail("poison", name) : 0;
}

static int set_i32(hid_t f, const char *name, int value) {
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return fail("open dataset", name);
  int rank;
  hsize_t dims[8];
  hssize_t n = extent(ds, &rank, dims);
  int *x = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  int rc = H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
  if (!rc && n > 0) {
    x[0] = value;
    rc = H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
  }
  free(x);
  H5Dclose(ds);
  return rc ? fail("set_i32", name) : 0;
}

/* Replaces dataset `name` by a new object made by op. */
static int replace(hid_t f, const char *name, const char *op) {
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return fail("open dataset", name);
  int rank;
  hsize_t dims[8];
  hssize_t n = extent(ds, &rank, dims);
  H5Dclose(ds);
  if (H5Ldelete(f, name, H5P_DEFAULT) < 0) return fail("delete", name);
  hid_t obj = -1;
  if (!strcmp(op, "togroup")) {
    obj = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (obj >= 0) H5Gclose(obj);
    return obj < 0 ? fail("create group", name) : 0;
  }
  hid_t sp, type = H5T_NATIVE_FLOAT, dcpl = H5P_DEFAULT, str = -1;
  if (!strcmp(op, "reshape")) {
    hsize_t d = (hsize_t)n + 1;
    sp = H5Screate_simple(1, &d, NULL);
  } else if (!strcmp(op, "retype")) {
    sp = H5Screate_simple(rank, dims, NULL);
    type = H5T_NATIVE_INT;
  } else if (!strcmp(op, "tostring")) {
    hsize_t d = 1;
    sp = H5Screate_simple(1, &d, NULL);
    str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 8);
    type = str;
  } else { /* huge */
    hsize_t d = (hsize_t)1 << 40, chunk = 1024;
    sp = H5Screate_simple(1, &d, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
  }
  obj = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  int rc = obj < 0;
  if (!rc && strcmp(op, "huge")) { /* write zeros (or a short string) so the data exist */
    hssize_t m = H5Sget_simple_extent_npoints(sp);
    void *z = calloc((size_t)(m > 0 ? m : 1), 8);
    rc = H5Dwrite(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, z) < 0;
    free(z);
  }
  if (obj >= 0) H5Dclose(obj);
  if (str >= 0) H5Tclose(str);
  if (dcpl != H5P_DEFAULT) H5Pclose(dcpl);
  H5Sclose(sp);
  return rc ? fail(op, name) : 0;
}

static int write_attr(hid_t f, const char *spec, const char *kind, const char *value) {
  char obj[512];
  const char *at = strchr(spec, '@');
  if (!at || (size_t)(at - spec) >= sizeof obj) return fail("parse OBJ@ATTR", spec);
  snprintf(obj, sizeof obj, "%.*s", (int)(at - spec), spec);
  const char *name = at + 1;
  if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0) H5Adelete_by_name(f, obj, name, H5P_DEFAULT);
  if (!strcmp(kind, "delete")) return 0;
  hid_t sp = H5Screate(H5S_SCALAR), type;
  long long iv = 0;
  double dv = 0;
  const void *buf;
  if (!strcmp(kind, "int")) {
    iv = strtoll(value, NULL, 10);
    type = H5Tcopy(H5T_NATIVE_LLONG);
    buf = &iv;
  } else if (!strcmp(kind, "double")) {
    dv = !strcmp(value, "nan") ? NAN : !strcmp(value, "inf") ? INFINITY : !strcmp(value, "-inf") ? -INFINITY
                                                                                                    : strtod(value, NULL);
    type = H5Tcopy(H5T_NATIVE_DOUBLE);
    buf = &dv;
  } else {
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    buf = value;
  }
  hid_t a = H5Acreate_by_name(f, obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a < 0 || H5Awrite(a, type, buf) < 0;
  if (a >= 0) H5Aclose(a);
  H5Tclose(type);
  H5Sclose(sp);
  return rc ? fail("write attribute", spec) : 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: badh5 IN OUT OP OBJECT [VALUE] (see the comment in tests/badh5.c)\n");
    return 1;
  }
  const char *in = argv[1], *out = argv[2], *op = argv[3], *name = argv[4], *value = argc > 5 ? argv[5] : "";
  if (copy_file(in, out)) return 1;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(out, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return fail("open", out);
  int rc;
  if (!strcmp(op, "nan")) rc = poison(f, name, NAN);
  else if (!strcmp(op, "inf")) rc = poison(f, name, INFINITY);
  else if (!strcmp(op, "neginf")) rc = poison(f, name, -INFINITY);
  else if (!strcmp(op, "delete") && strchr(name, '@')) rc = write_attr(f, name, "delete", "");
  else if (!strcmp(op, "delete")) rc = H5Ldelete(f, name, H5P_DEFAULT) < 0 ? fail("delete", name) : 0;
  else if (!strcmp(op, "reshape") || !strcmp(op, "retype") || !strcmp(op, "tostring") || !strcmp(op, "togroup") ||
           !strcmp(op, "huge"))
    rc = replace(f, name, op);
  else if (!strcmp(op, "int") || !strcmp(op, "double") || !strcmp(op, "string")) rc = write_attr(f, name, op, value);
  else if (!strcmp(op, "set_i32")) rc = set_i32(f, name, atoi(value));
  else rc = fail("unknown operation", op);
  if (H5Fclose(f) < 0) rc = fail("close", out);
  return rc;
}
