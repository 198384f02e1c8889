/* h5io: named datasets and attributes in HDF5 files (see h5io.h and docs/formats.md).
 *
 * Invariants:
 * - HDF5's automatic error printing is off (h5_quiet, called by every entry point); failures
 *   become our own messages, naming the file and the object, with HDF5's innermost error
 *   description appended where it helps.
 * - Writers use the default (sec2, serial) driver even though the library is the parallel
 *   build: one process writes. Files are opened with H5F_CLOSE_STRONG, so closing a file also
 *   closes anything an error path left open.
 * - A writer writes "<path>.tmp.<pid>" and renames it on h5_commit; h5_discard unlinks it.
 * - Datasets are written little-endian (float32, float64, int32); integer attributes as int64,
 *   floating attributes as float64, strings as fixed-length UTF-8 of their exact length.
 */
#define _POSIX_C_SOURCE 200809L
#include "io/h5io.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <limits.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "io/h5_catalog.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static void h5_quiet(void) {
  static int done = 0;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
  }
}

/* Innermost description on HDF5's error stack (where the failure was detected). */
typedef struct {
  char text[512]; /* description of the innermost entry */
  int found;      /* 1 once an entry is taken */
} h5_stack_text;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  h5_stack_text *s = data;
  if (!s->found && e && e->desc) {
    snprintf(s->text, sizeof s->text, "%s", e->desc);
    s->found = 1;
  }
  return 0;
}

static const char *h5_reason(h5_stack_text *s) {
  s->found = 0;
  s->text[0] = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, s);
  H5Eclear2(H5E_DEFAULT);
  if (!s->found) snprintf(s->text, sizeof s->text, "no detail from the HDF5 library");
  return s->text;
}

/* "[4,384,96]"; entries of -1 print as '*'. */
static const char *shape_str(char *buf, size_t cap, int rank, const long *dims) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, cap - n, "[");
  for (int i = 0; i < rank && n < cap; i++) {
    if (dims[i] < 0)
      n += (size_t)snprintf(buf + n, cap - n, "%s*", i ? "," : "");
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s%ld", i ? "," : "", dims[i]);
  }
  if (n < cap) snprintf(buf + n, cap - n, "]");
  return buf;
}

/* Human name of an HDF5 type: "int32", "uint8", "float64", "string", ... */
static const char *type_str(hid_t t, char *buf, size_t cap) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  switch (c) {
  case H5T_INTEGER:
    snprintf(buf, cap, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", 8 * sz);
    break;
  case H5T_FLOAT: snprintf(buf, cap, "float%zu", 8 * sz); break;
  case H5T_STRING: snprintf(buf, cap, "string"); break;
  case H5T_COMPOUND: snprintf(buf, cap, "compound"); break;
  case H5T_ENUM: snprintf(buf, cap, "enum"); break;
  case H5T_ARRAY: snprintf(buf, cap, "array"); break;
  case H5T_VLEN: snprintf(buf, cap, "vlen"); break;
  default: snprintf(buf, cap, "an unsupported type (class %d)", (int)c); break;
  }
  return buf;
}

/* 1 if every component of name ("a/b/c", optionally with a leading '/') exists as a link
 * resolving to an object; H5Lexists alone fails when a parent group is missing. */
static int path_exists(hid_t file, const char *name) {
  if (!name || !name[0]) return 0;
  if (strcmp(name, "/") == 0) return 1;
  char buf[1024];
  if (strlen(name) >= sizeof buf) return 0;
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == 0) {
      char saved = *p;
      *p = 0;
      htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
      if (e > 0) e = H5Oexists_by_name(file, buf, H5P_DEFAULT);
      *p = saved;
      if (e <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
      }
      if (saved == 0) break;
    }
  }
  return 1;
}

static int check_name(const char *path, const char *name) {
  REQUIRE(name && name[0], "file '%s': empty object name", path);
  REQUIRE(strlen(name) < 1024, "file '%s': object name too long (%zu bytes, max 1023)", path,
          strlen(name));
  return OO_OK;
}

/* File access: closing the file closes every object still open in it; file locks are used
 * but a file system without flock (some NFS and Lustre mounts) is not an error. */
static hid_t fapl_strong(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) {
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 1, 1);
#endif
  }
  return fapl;
}

/* ---- writing ---------------------------------------------------------------------------- */

/* Creation property lists that record no object times, so that the same content gives the same
 * bytes: artifacts are fingerprinted by their bytes (mpi/pipeline/artifact.h, #12). cls is
 * H5P_FILE_CREATE (the root group), H5P_GROUP_CREATE or H5P_DATASET_CREATE. */
static hid_t no_times(hid_t cls) {
  hid_t pl = H5Pcreate(cls);
  if (pl >= 0) H5Pset_obj_track_times(pl, 0);
  return pl;
}

/* Creates the missing groups above name ("a/b/c": a and a/b) without object times. */
static void make_parents(hid_t file, const char *name) {
  char buf[1024];
  if (strlen(name) >= sizeof buf) return;
  snprintf(buf, sizeof buf, "%s", name);
  hid_t gcpl = no_times(H5P_GROUP_CREATE);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) {
      hid_t g = H5Gcreate2(file, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
      if (g >= 0) H5Gclose(g); /* a failure shows when the object itself is created */
    }
    *p = '/';
  }
  if (gcpl >= 0) H5Pclose(gcpl);
}

int h5_create(h5_writer *w, const char *path) {
  h5_quiet();
  w->file = -1;
  w->path[0] = w->tmp_path[0] = 0;
  REQUIRE(path && path[0], "h5_create: empty path");
  REQUIRE(strlen(path) < sizeof w->path, "path too long: '%s'", path);
  snprintf(w->path, sizeof w->path, "%s", path);
  snprintf(w->tmp_path, sizeof w->tmp_path, "%s.tmp.%ld", path, (long)getpid());
  hid_t fapl = fapl_strong(), fcpl = no_times(H5P_FILE_CREATE);
  hid_t f = H5Fcreate(w->tmp_path, H5F_ACC_TRUNC, fcpl, fapl);
  int err = errno;
  if (fcpl >= 0) H5Pclose(fcpl);
  h5_stack_text s; /* taken before the next HDF5 call clears the stack */
  if (f < 0) h5_reason(&s);
  H5Pclose(fapl);
  if (f < 0) {
    unlink(w->tmp_path); /* H5Fcreate may have created it before failing (a full disk, #12) */
    w->tmp_path[0] = 0;
    OO_FAIL("cannot create file '%s' (writing it as '%s.tmp.%ld'): %s (%s); check that the "
            "directory exists and is writable",
            path, path, (long)getpid(), strerror(err), s.text);
  }
  w->file = f;
  return OO_OK;
}

int h5_commit(h5_writer *w) {
  h5_quiet();
  REQUIRE(w->file >= 0 && w->tmp_path[0], "file '%s': h5_commit without an open writer", w->path);
  herr_t st = H5Fclose(w->file);
  w->file = -1;
  if (st < 0) {
    h5_stack_text s;
    h5_reason(&s);
    unlink(w->tmp_path);
    w->tmp_path[0] = 0;
    OO_FAIL("file '%s': closing the temporary file failed (disk full?): %s", w->path, s.text);
  }
  /* Make the data durable before the rename publishes it. */
  int fd = open(w->tmp_path, O_RDONLY);
  int synced = fd >= 0 && fsync(fd) == 0;
  int serr = errno;
  if (fd >= 0) close(fd);
  if (!synced) {
    unlink(w->tmp_path);
    w->tmp_path[0] = 0;
    OO_FAIL("file '%s': cannot sync the temporary file to disk: %s", w->path, strerror(serr));
  }
  if (rename(w->tmp_path, w->path) != 0) {
    int err = errno;
    unlink(w->tmp_path);
    w->tmp_path[0] = 0;
    OO_FAIL("file '%s': cannot rename the temporary file into place: %s", w->path, strerror(err));
  }
  w->tmp_path[0] = 0;
  return OO_OK;
}

void h5_discard(h5_writer *w) {
  h5_quiet();
  if (w->file >= 0) {
    H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
  }
  w->file = -1;
  if (w->tmp_path[0]) unlink(w->tmp_path);
  w->tmp_path[0] = 0;
}

static int write_dataset(h5_writer *w, const char *name, int rank, const long *dims,
                         hid_t filetype, hid_t memtype, const void *data) {
  h5_quiet();
  REQUIRE(w->file >= 0, "file '%s': writing dataset '%s' after the file was closed", w->path,
          name ? name : "");
  CHECK(check_name(w->path, name));
  REQUIRE(rank >= 0 && rank <= H5IO_MAX_RANK, "file '%s': dataset '%s' has rank %d (0..%d)",
          w->path, name, rank, H5IO_MAX_RANK);
  hsize_t hd[H5IO_MAX_RANK + 1];
  size_t count = 1;
  for (int i = 0; i < rank; i++) {
    REQUIRE(dims[i] >= 0, "file '%s': dataset '%s' has negative extent %ld in dimension %d",
            w->path, name, dims[i], i);
    hd[i] = (hsize_t)dims[i];
    count *= (size_t)dims[i];
  }
  REQUIRE(!path_exists(w->file, name), "file '%s': dataset '%s' is written twice", w->path, name);
  REQUIRE(count == 0 || data, "file '%s': dataset '%s': NULL data", w->path, name);
  hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
  make_parents(w->file, name);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = no_times(H5P_DATASET_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t ds = H5Dcreate2(w->file, name, filetype, space, lcpl, dcpl, H5P_DEFAULT);
  if (dcpl >= 0) H5Pclose(dcpl);
  herr_t st = ds < 0 ? -1 : 0;
  if (ds >= 0 && count > 0) st = H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  h5_stack_text s;
  if (st < 0) h5_reason(&s);
  if (ds >= 0) H5Dclose(ds);
  H5Pclose(lcpl);
  H5Sclose(space);
  if (st < 0) {
    char shp[256];
    OO_FAIL("file '%s': cannot write dataset '%s' of shape %s: %s", w->path, name,
            shape_str(shp, sizeof shp, rank, dims), s.text);
  }
  /* Every artifact dataset describes itself (#14); names outside the catalogue (tests, user
   * files) get no attributes, and the test artifact_attrs fails on an artifact that has none. */
  const h5_catalog_entry *e = h5_catalog_find(w->path, name);
  if (e) {
    CHECK(h5_attr_write_str(w, name, "units", e->units));
    CHECK(h5_attr_write_str(w, name, "description", e->description));
  }
  return OO_OK;
}

int h5_write_f32(h5_writer *w, const char *name, int rank, const long *dims, const float *data) {
  size_t count = 1; /* tensors and scores entering a file are finite, as readers require (#12) */
  for (int i = 0; i < rank && data; i++) count *= dims[i] > 0 ? (size_t)dims[i] : 0;
  size_t bad = 0, first = 0;
  for (size_t i = 0; data && i < count; i++)
    if (!isfinite(data[i]) && !bad++) first = i;
  REQUIRE(!bad, "file '%s': refusing to write dataset '%s' with %zu non-finite value%s (the first at flat index %zu, "
          "%g): the computation that produced it diverged", w->path, name, bad, bad == 1 ? "" : "s", first,
          (double)data[first]);
  return write_dataset(w, name, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data);
}
int h5_write_f64(h5_writer *w, const char *name, int rank, const long *dims, const double *data) {
  return write_dataset(w, name, rank, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data);
}
int h5_write_i32(h5_writer *w, const char *name, int rank, const long *dims, const int *data) {
  return write_dataset(w, name, rank, dims, H5T_STD_I32LE, H5T_NATIVE_INT, data);
}

int h5_write_str(h5_writer *w, const char *name, long n, const char *base, size_t stride) {
  REQUIRE(n >= 0, "file '%s': string dataset '%s' with %ld entries", w->path, name ? name : "", n);
  size_t width = 1; /* HDF5 has no zero-size strings */
  for (long i = 0; i < n; i++) {
    size_t len = strlen(base + (size_t)i * stride);
    if (len > width) width = len;
  }
  char *buf = xcalloc((size_t)(n ? n : 1) * width, 1);
  for (long i = 0; i < n; i++) {
    const char *str = base + (size_t)i * stride;
    memcpy(buf + (size_t)i * width, str, strlen(str));
  }
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, width);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H5Tset_cset(t, H5T_CSET_UTF8);
  int rc = write_dataset(w, name, 1, &n, t, t, buf);
  H5Tclose(t);
  xfree(&buf);
  return rc;
}

int h5_group(h5_writer *w, const char *name) {
  h5_quiet();
  REQUIRE(w->file >= 0, "file '%s': creating group '%s' after the file was closed", w->path,
          name ? name : "");
  CHECK(check_name(w->path, name));
  if (path_exists(w->file, name)) {
    H5O_info_t info;
    REQUIRE(H5Oget_info_by_name(w->file, name, &info, H5P_DEFAULT) >= 0 &&
                info.type == H5O_TYPE_GROUP,
            "file '%s': '%s' exists and is not a group", w->path, name);
    return OO_OK;
  }
  make_parents(w->file, name);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), gcpl = no_times(H5P_GROUP_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(w->file, name, lcpl, gcpl, H5P_DEFAULT);
  if (gcpl >= 0) H5Pclose(gcpl);
  h5_stack_text s;
  if (g < 0) h5_reason(&s);
  H5Pclose(lcpl);
  REQUIRE(g >= 0, "file '%s': cannot create group '%s': %s", w->path, name, s.text);
  H5Gclose(g);
  return OO_OK;
}

/* Writes one scalar attribute, replacing an existing one of the same name. */
static int write_attr(h5_writer *w, const char *obj, const char *name, hid_t filetype,
                      hid_t memtype, const void *value) {
  h5_quiet();
  REQUIRE(w->file >= 0, "file '%s': writing attribute '%s' after the file was closed", w->path,
          name ? name : "");
  CHECK(check_name(w->path, obj));
  CHECK(check_name(w->path, name));
  REQUIRE(path_exists(w->file, obj),
          "file '%s': cannot write attribute '%s' on '%s': no such object (write the dataset or "
          "call h5_group first)",
          w->path, name, obj);
  if (H5Aexists_by_name(w->file, obj, name, H5P_DEFAULT) > 0)
    H5Adelete_by_name(w->file, obj, name, H5P_DEFAULT);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate_by_name(w->file, obj, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT);
  herr_t st = a < 0 ? -1 : H5Awrite(a, memtype, value);
  h5_stack_text s;
  if (st < 0) h5_reason(&s);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  REQUIRE(st >= 0, "file '%s': cannot write attribute '%s' on '%s': %s", w->path, name, obj,
          s.text);
  return OO_OK;
}

int h5_attr_write_int(h5_writer *w, const char *obj, const char *name, long value) {
  int64_t v = value;
  return write_attr(w, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int h5_attr_write_double(h5_writer *w, const char *obj, const char *name, double value) {
  return write_attr(w, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int h5_attr_write_str(h5_writer *w, const char *obj, const char *name, const char *value) {
  if (!value) value = "";
  size_t len = strlen(value);
  /* Fixed length, exactly the string's bytes (null-padded); HDF5 has no zero-size strings, so
   * "" is one NUL byte, which reads back as "". */
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, len ? len : 1);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H5Tset_cset(t, H5T_CSET_UTF8);
  int rc = write_attr(w, obj, name, t, t, len ? value : "\0");
  H5Tclose(t);
  return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

int h5_open(h5_reader *r, const char *path) {
  h5_quiet();
  r->file = -1;
  r->path[0] = 0;
  REQUIRE(path && path[0], "h5_open: empty path");
  REQUIRE(strlen(path) < sizeof r->path, "path too long: '%s'", path);
  snprintf(r->path, sizeof r->path, "%s", path);
  struct stat st;
  if (stat(path, &st) != 0)
    OO_FAIL("file '%s' cannot be opened: %s", path, strerror(errno));
  REQUIRE(S_ISREG(st.st_mode), "file '%s' is not a regular file", path);
  REQUIRE(access(path, R_OK) == 0, "file '%s' is not readable: %s", path, strerror(errno));
  htri_t is = H5Fis_hdf5(path);
  if (is <= 0) {
    h5_stack_text s;
    OO_FAIL("file '%s' is not an HDF5 file (or is truncated): %s (%lld bytes)", path,
            is == 0 ? "no HDF5 signature found" : h5_reason(&s), (long long)st.st_size);
  }
  hid_t fapl = fapl_strong();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  h5_stack_text s; /* taken before the next HDF5 call clears the stack */
  if (f < 0) h5_reason(&s);
  H5Pclose(fapl);
  if (f < 0) {
    OO_FAIL("file '%s' is not an HDF5 file (or is truncated): %s (%lld bytes); rewrite it by "
            "rerunning the stage that produced it",
            path, s.text, (long long)st.st_size);
  }
  r->file = f;
  return OO_OK;
}

void h5_close(h5_reader *r) {
  if (r->file >= 0) {
    H5Fclose(r->file);
    H5Eclear2(H5E_DEFAULT);
  }
  r->file = -1;
}

int h5_has(h5_reader *r, const char *name) {
  h5_quiet();
  if (r->file < 0) return 0;
  return path_exists(r->file, name);
}

/* Opens dataset `name`, failing with "is missing" or "is not a dataset". */
static int open_dataset(h5_reader *r, const char *name, hid_t *ds) {
  h5_quiet();
  *ds = -1;
  REQUIRE(r->file >= 0, "file '%s': reading dataset '%s' from a closed file", r->path,
          name ? name : "");
  CHECK(check_name(r->path, name));
  REQUIRE(path_exists(r->file, name), "file '%s': dataset '%s' is missing", r->path, name);
  H5O_info_t info;
  REQUIRE(H5Oget_info_by_name(r->file, name, &info, H5P_DEFAULT) >= 0 &&
              info.type == H5O_TYPE_DATASET,
          "file '%s': '%s' is not a dataset", r->path, name);
  hid_t d = H5Dopen2(r->file, name, H5P_DEFAULT);
  if (d < 0) {
    h5_stack_text s;
    OO_FAIL("file '%s': cannot open dataset '%s': %s", r->path, name, h5_reason(&s));
  }
  *ds = d;
  return OO_OK;
}

static int dataset_dims(h5_reader *r, const char *name, hid_t ds, int *rank, long *dims) {
  hid_t space = H5Dget_space(ds);
  int rk = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (rk < 0 || rk > H5IO_MAX_RANK) {
    if (space >= 0) H5Sclose(space);
    OO_FAIL("file '%s': dataset '%s' has an unsupported dataspace (rank %d, max %d)", r->path,
            name, rk, H5IO_MAX_RANK);
  }
  hsize_t hd[H5IO_MAX_RANK];
  H5Sget_simple_extent_dims(space, hd, NULL);
  H5Sclose(space);
  for (int i = 0; i < rk; i++) dims[i] = (long)hd[i];
  *rank = rk;
  return OO_OK;
}

int h5_dims(h5_reader *r, const char *name, int *rank, long dims[H5IO_MAX_RANK]) {
  hid_t ds;
  CHECK(open_dataset(r, name, &ds));
  int rc = dataset_dims(r, name, ds, rank, dims);
  H5Dclose(ds);
  return rc;
}

enum { WANT_F32, WANT_F64, WANT_I32 };
static const char *want_name[] = {"float32", "float64", "int32"};

/* Accepts the stored type if converting it to the wanted type is exact: float32 <- float32;
 * float64 <- float32/float64; int32 <- signed or unsigned integers narrower than 32 bits and
 * int32 itself. Byte order does not matter (HDF5 converts). */
static int type_ok(hid_t t, int want) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  switch (want) {
  case WANT_F32: return c == H5T_FLOAT && sz == 4;
  case WANT_F64: return c == H5T_FLOAT && (sz == 4 || sz == 8);
  default:
    return c == H5T_INTEGER && (sz < 4 || (sz == 4 && H5Tget_sign(t) == H5T_SGN_2));
  }
}

/* float32 datasets are tensors (weights, scores, gold values): a NaN or inf in one is an
 * error naming the file, the dataset and the first bad element (#12). float64 datasets are
 * tables whose missing entries are NaN by design (PPO curves between evaluations): not checked
 * here. */
static int check_finite(h5_reader *r, const char *name, const float *x, size_t count) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < count; i++)
    if (!isfinite(x[i]) && !bad++) first = i;
  REQUIRE(!bad, "file '%s': dataset '%s' holds %zu non-finite value%s (NaN or inf; the first at flat index %zu, "
          "%g) of %zu: the file is damaged or the run that wrote it diverged; delete it and rerun the stage that "
          "produced it", r->path, name, bad, bad == 1 ? "" : "s", first, (double)x[first], count);
  return OO_OK;
}

/* Before a read allocates or fills memory by a shape taken from the file (#12): unfiltered
 * data cannot be larger in memory than on disk, so a shape claiming more than the stored bytes
 * is a damaged header or a truncated file; and what a read allocates must fit the memory limit. */
static int check_storage(h5_reader *r, const char *name, hid_t ds, int rk, const long *dims, size_t file_esz,
                         size_t mem_esz, int allocates) {
  double count = 1;
  for (int i = 0; i < rk; i++) count *= (double)dims[i];
  if (count == 0) return OO_OK;
  double need = count * (double)file_esz;
  char s1[256], a[32], b[32];
  hid_t dcpl = H5Dget_create_plist(ds);
  int nfilters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
  if (dcpl >= 0) H5Pclose(dcpl);
  double stored = (double)H5Dget_storage_size(ds);
  oo_bytes_text(need, a, sizeof a);
  oo_bytes_text(stored, b, sizeof b);
  REQUIRE(nfilters > 0 || stored >= need,
          "file '%s': dataset '%s' has shape %s (%s) but stores only %s: the file is truncated or damaged; delete it "
          "and rerun the stage that produced it", r->path, name, shape_str(s1, sizeof s1, rk, dims), a, b);
  double limit = oo_mem_limit();
  need = count * (double)mem_esz;
  oo_bytes_text(need, a, sizeof a);
  oo_bytes_text(limit, b, sizeof b);
  REQUIRE(!allocates || need <= limit,
          "file '%s': dataset '%s' has shape %s (%s), more than the memory limit of %s (physical memory, or "
          "OVEROPT_MEM_LIMIT)", r->path, name, shape_str(s1, sizeof s1, rk, dims), a, b);
  return OO_OK;
}

/* Opens, checks type and shape (expect entries of -1 accept any extent; expect NULL accepts
 * any shape of the given rank), reports the actual dims and reads into out (or, if out is
 * NULL, allocates a buffer with xmalloc). */
static int read_dataset(h5_reader *r, const char *name, int rank, const long *expect,
                        long *dims_out, int want, void *out, void **alloc_out) {
  hid_t ds;
  CHECK(open_dataset(r, name, &ds));
  int rc = OO_OK;
  hid_t t = H5Dget_type(ds);
  char tbuf[64], s1[256], s2[256];
  if (t < 0 || !type_ok(t, want)) {
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': dataset '%s' has type %s, expected %s",
                     r->path, name, t < 0 ? "unknown" : type_str(t, tbuf, sizeof tbuf),
                     want_name[want]);
    goto done;
  }
  int rk;
  long dims[H5IO_MAX_RANK];
  CHECK_GOTO(rc, dataset_dims(r, name, ds, &rk, dims), done);
  int match = rk == rank;
  for (int i = 0; match && expect && i < rank; i++)
    if (expect[i] >= 0 && expect[i] != dims[i]) match = 0;
  if (!match) {
    if (expect)
      rc = oo_error_at(__FILE__, __LINE__, "file '%s': dataset '%s' has shape %s, expected %s",
                       r->path, name, shape_str(s1, sizeof s1, rk, dims),
                       shape_str(s2, sizeof s2, rank, expect));
    else
      rc = oo_error_at(__FILE__, __LINE__,
                       "file '%s': dataset '%s' has shape %s (rank %d), expected rank %d",
                       r->path, name, shape_str(s1, sizeof s1, rk, dims), rk, rank);
    goto done;
  }
  size_t count = 1;
  for (int i = 0; i < rk; i++) count *= (size_t)dims[i];
  if (dims_out)
    for (int i = 0; i < rk; i++) dims_out[i] = dims[i];
  hid_t mem = want == WANT_F32 ? H5T_NATIVE_FLOAT : want == WANT_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT;
  size_t esz = want == WANT_F64 ? sizeof(double) : 4;
  CHECK_GOTO(rc, check_storage(r, name, ds, rk, dims, H5Tget_size(t), esz, alloc_out != NULL), done);
  if (alloc_out) {
    *alloc_out = want == WANT_I32 ? xmalloc(count * esz) : (void *)xmalloc_floats(count * esz / 4);
    out = *alloc_out;
  }
  if (count > 0 && H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
    h5_stack_text s;
    rc = oo_error_at(__FILE__, __LINE__,
                     "file '%s': reading dataset '%s' failed (file damaged or truncated?): %s",
                     r->path, name, h5_reason(&s));
  } else if (want == WANT_F32) {
    rc = check_finite(r, name, (const float *)out, count);
  }
  if (rc && alloc_out) xfree(alloc_out);
done:
  if (t >= 0) H5Tclose(t);
  H5Dclose(ds);
  return rc;
}

int h5_read_f32(h5_reader *r, const char *name, int rank, const long *dims, float *out) {
  return read_dataset(r, name, rank, dims, NULL, WANT_F32, out, NULL);
}
int h5_read_f64(h5_reader *r, const char *name, int rank, const long *dims, double *out) {
  return read_dataset(r, name, rank, dims, NULL, WANT_F64, out, NULL);
}
int h5_read_i32(h5_reader *r, const char *name, int rank, const long *dims, int *out) {
  return read_dataset(r, name, rank, dims, NULL, WANT_I32, out, NULL);
}
int h5_read_f32_alloc(h5_reader *r, const char *name, int rank, long dims[H5IO_MAX_RANK],
                      float **out) {
  *out = NULL;
  return read_dataset(r, name, rank, NULL, dims, WANT_F32, NULL, (void **)out);
}
int h5_read_i32_alloc(h5_reader *r, const char *name, int rank, long dims[H5IO_MAX_RANK],
                      int **out) {
  *out = NULL;
  return read_dataset(r, name, rank, NULL, dims, WANT_I32, NULL, (void **)out);
}

int h5_read_str_alloc(h5_reader *r, const char *name, long *n, char **out, size_t *stride) {
  *out = NULL;
  *n = 0;
  *stride = 0;
  hid_t ds;
  CHECK(open_dataset(r, name, &ds));
  int rk = 0, rc = OO_OK;
  long dims[H5IO_MAX_RANK];
  hid_t t = H5Dget_type(ds), mem = -1;
  char tbuf[64], shp[256];
  CHECK_GOTO(rc, dataset_dims(r, name, ds, &rk, dims), done);
  if (rk != 1 || H5Tget_class(t) != H5T_STRING) {
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': dataset '%s' has type %s and shape %s, expected a 1-D string dataset",
                     r->path, name, type_str(t, tbuf, sizeof tbuf), shape_str(shp, sizeof shp, rk, dims));
    goto done;
  }
  herr_t st;
  if (H5Tis_variable_str(t) > 0) {
    /* Variable length (what h5py writes for str): HDF5 allocates, we copy and free. */
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(t));
    char **v = xcalloc((size_t)(dims[0] ? dims[0] : 1), sizeof *v);
    st = H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    size_t width = 1;
    for (long i = 0; st >= 0 && i < dims[0]; i++)
      if (v[i] && strlen(v[i]) + 1 > width) width = strlen(v[i]) + 1;
    if (st >= 0) {
      *out = xcalloc((size_t)(dims[0] ? dims[0] : 1) * width, 1);
      for (long i = 0; i < dims[0]; i++)
        if (v[i]) memcpy(*out + (size_t)i * width, v[i], strlen(v[i]));
      *stride = width;
      hid_t space = H5Dget_space(ds);
      H5Dvlen_reclaim(mem, space, H5P_DEFAULT, v);
      H5Sclose(space);
    }
    xfree(&v);
  } else {
    /* Fixed length: one more byte per entry for the terminating NUL. */
    size_t sz = H5Tget_size(t);
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, sz);
    H5Tset_strpad(mem, H5T_STR_NULLPAD);
    H5Tset_cset(mem, H5Tget_cset(t)); /* HDF5 converts no character set into another */
    char *raw = xcalloc((size_t)(dims[0] ? dims[0] : 1) * sz, 1);
    st = H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
    if (st >= 0) {
      *out = xcalloc((size_t)(dims[0] ? dims[0] : 1) * (sz + 1), 1);
      for (long i = 0; i < dims[0]; i++) memcpy(*out + (size_t)i * (sz + 1), raw + (size_t)i * sz, sz);
      *stride = sz + 1;
    }
    xfree(&raw);
  }
  if (st < 0) {
    h5_stack_text why;
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': cannot read string dataset '%s': %s", r->path, name,
                     h5_reason(&why));
    goto done;
  }
  *n = dims[0];
done:
  if (mem >= 0) H5Tclose(mem);
  H5Tclose(t);
  H5Dclose(ds);
  return rc;
}

/* ---- attributes --------------------------------------------------------------------------- */

int h5_attr_has(h5_reader *r, const char *obj, const char *name) {
  h5_quiet();
  if (r->file < 0 || !name || !name[0] || !path_exists(r->file, obj)) return 0;
  htri_t e = H5Aexists_by_name(r->file, obj, name, H5P_DEFAULT);
  if (e < 0) H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

/* Opens attribute obj@name holding exactly one element; returns its file type in *type. */
static int open_attr(h5_reader *r, const char *obj, const char *name, hid_t *attr, hid_t *type) {
  h5_quiet();
  *attr = *type = -1;
  REQUIRE(r->file >= 0, "file '%s': reading attribute '%s' from a closed file", r->path,
          name ? name : "");
  CHECK(check_name(r->path, obj));
  CHECK(check_name(r->path, name));
  REQUIRE(path_exists(r->file, obj), "file '%s': object '%s' (holding attribute '%s') is missing",
          r->path, obj, name);
  REQUIRE(H5Aexists_by_name(r->file, obj, name, H5P_DEFAULT) > 0,
          "file '%s': attribute '%s' on '%s' is missing", r->path, name, obj);
  hid_t a = H5Aopen_by_name(r->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) {
    h5_stack_text s;
    OO_FAIL("file '%s': cannot open attribute '%s' on '%s': %s", r->path, name, obj,
            h5_reason(&s));
  }
  hid_t space = H5Aget_space(a);
  hssize_t npts = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (space >= 0) H5Sclose(space);
  if (npts != 1) {
    H5Aclose(a);
    OO_FAIL("file '%s': attribute '%s' on '%s' holds %lld values, expected one", r->path, name,
            obj, (long long)npts);
  }
  *attr = a;
  *type = H5Aget_type(a);
  return OO_OK;
}

static int read_attr_number(h5_reader *r, const char *obj, const char *name, int want_int,
                            long *lv, double *dv) {
  hid_t a, t;
  CHECK(open_attr(r, obj, name, &a, &t));
  H5T_class_t c = H5Tget_class(t);
  char tbuf[64];
  int rc = OO_OK;
  herr_t st = 0;
  if (c == H5T_INTEGER && want_int) {
    /* Unsigned 64-bit values above LONG_MAX would clip: refuse them explicitly. */
    if (H5Tget_sign(t) == H5T_SGN_NONE && H5Tget_size(t) >= sizeof(long)) {
      unsigned long long u = 0;
      st = H5Aread(a, H5T_NATIVE_ULLONG, &u);
      if (st >= 0 && u > (unsigned long long)LONG_MAX)
        rc = oo_error_at(__FILE__, __LINE__,
                         "file '%s': attribute '%s' on '%s' = %llu does not fit in a long",
                         r->path, name, obj, u);
      *lv = (long)u;
    } else {
      st = H5Aread(a, H5T_NATIVE_LONG, lv);
    }
  } else if ((c == H5T_INTEGER || c == H5T_FLOAT) && !want_int) {
    st = H5Aread(a, H5T_NATIVE_DOUBLE, dv);
  } else {
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': attribute '%s' on '%s' has type %s, expected %s",
                     r->path, name, obj, type_str(t, tbuf, sizeof tbuf),
                     want_int ? "an integer" : "a number");
  }
  if (st < 0) {
    h5_stack_text s;
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': reading attribute '%s' on '%s' failed: %s",
                     r->path, name, obj, h5_reason(&s));
  }
  H5Tclose(t);
  H5Aclose(a);
  return rc;
}

int h5_attr_read_int(h5_reader *r, const char *obj, const char *name, long *value) {
  double unused;
  return read_attr_number(r, obj, name, 1, value, &unused);
}

int h5_attr_read_double(h5_reader *r, const char *obj, const char *name, double *value) {
  long unused;
  CHECK(read_attr_number(r, obj, name, 0, &unused, value));
  REQUIRE(isfinite(*value), "file '%s': attribute '%s' on '%s' = %g is not finite: the file is damaged or the run "
          "that wrote it diverged; delete it and rerun the stage that produced it", r->path, name, obj, *value);
  return OO_OK;
}

int h5_attr_read_str_alloc(h5_reader *r, const char *obj, const char *name, char **out) {
  *out = NULL;
  hid_t a, t;
  CHECK(open_attr(r, obj, name, &a, &t));
  int rc = OO_OK;
  char tbuf[64];
  if (H5Tget_class(t) != H5T_STRING) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "file '%s': attribute '%s' on '%s' has type %s, expected a string", r->path,
                     name, obj, type_str(t, tbuf, sizeof tbuf));
    goto done;
  }
  htri_t var = H5Tis_variable_str(t);
  herr_t st;
  h5_stack_text why; /* taken right after a failed read, before another call clears it */
  if (var > 0) {
    /* Variable length (what h5py writes for str): HDF5 allocates, we copy and free. */
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(t));
    char *s = NULL;
    st = H5Aread(a, mem, &s);
    if (st < 0) h5_reason(&why);
    if (st >= 0) {
      *out = xstrdup(s ? s : "");
      if (s) H5free_memory(s);
    }
    H5Tclose(mem);
  } else {
    /* Fixed length: read the raw bytes, end at the first NUL, trim space padding. */
    size_t sz = H5Tget_size(t);
    char *s = xmalloc(sz + 1);
    st = H5Aread(a, t, s);
    if (st < 0) h5_reason(&why);
    s[sz] = 0;
    if (st >= 0 && H5Tget_strpad(t) == H5T_STR_SPACEPAD) {
      size_t n = strlen(s);
      while (n > 0 && s[n - 1] == ' ') s[--n] = 0;
    }
    if (st >= 0)
      *out = s;
    else
      xfree(&s);
  }
  if (st < 0)
    rc = oo_error_at(__FILE__, __LINE__, "file '%s': reading attribute '%s' on '%s' failed: %s",
                     r->path, name, obj, why.text);
done:
  H5Tclose(t);
  H5Aclose(a);
  return rc;
}

int h5_attr_read_str(h5_reader *r, const char *obj, const char *name, char *out, size_t cap) {
  char *s;
  CHECK(h5_attr_read_str_alloc(r, obj, name, &s));
  size_t n = strlen(s);
  if (n + 1 > cap) {
    xfree(&s);
    OO_FAIL("file '%s': attribute '%s' on '%s' is %zu bytes long, longer than the %zu-byte "
            "buffer",
            r->path, name, obj, n, cap ? cap - 1 : 0);
  }
  memcpy(out, s, n + 1);
  xfree(&s);
  return OO_OK;
}
