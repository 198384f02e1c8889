/* h5io: named float32/float64/int32 datasets and attributes in HDF5 files.
 *
 * Policy (documented in docs/formats.md): one process writes a file (rank 0, after a gather),
 * through the parallel HDF5 library with the default (serial) driver; readers on every rank
 * open read-only. A file is written under "<path>.tmp.<pid>" and renamed on h5_commit, so a
 * crash never leaves a half-written file under the final name. No object times are recorded,
 * so the same content written twice gives the same bytes (artifacts are fingerprinted by their
 * bytes, mpi/pipeline/artifact.h). Names may contain groups
 * ("curves/mean/gold"): intermediate groups are created on write.
 * Every read checks rank, shape and type and names the file and dataset on error. float32
 * datasets (tensors: weights, scores, gold values) and double attributes must be finite: a NaN
 * or inf is an error naming the file and the dataset or attribute. float64 datasets are tables
 * that mark missing entries with NaN and are not checked. A dataset whose file and name are in
 * the catalogue (h5_catalog.h) gets the string attributes `units` and `description` on write.
 */
#ifndef OO_H5IO_H
#define OO_H5IO_H

#include <stddef.h>
#include <stdint.h>

#define H5IO_MAX_RANK 8

typedef struct {
  int64_t file;          /* hid_t of the open temporary file, -1 if closed */
  char path[4096];       /* final path */
  char tmp_path[4200];   /* temporary path written until h5_commit */
} h5_writer;

typedef struct {
  int64_t file;          /* hid_t, -1 if closed */
  char path[4096];       /* for messages */
} h5_reader;

int h5_create(h5_writer *w, const char *path);
int h5_commit(h5_writer *w);   /* close and rename to the final path */
void h5_discard(h5_writer *w); /* close and delete the temporary file (safe after errors) */

/* dims has `rank` entries. */
int h5_write_f32(h5_writer *w, const char *name, int rank, const long *dims, const float *data);
int h5_write_f64(h5_writer *w, const char *name, int rank, const long *dims, const double *data);
int h5_write_i32(h5_writer *w, const char *name, int rank, const long *dims, const int *data);
/* A 1-D dataset of n fixed-length UTF-8 strings (null-padded to the longest), string i at
 * base + i*stride (NUL-terminated). */
int h5_write_str(h5_writer *w, const char *name, long n, const char *base, size_t stride);
/* Attributes on an object ("/" for the file root, or a group/dataset name). */
int h5_attr_write_int(h5_writer *w, const char *obj, const char *name, long value);
int h5_attr_write_double(h5_writer *w, const char *obj, const char *name, double value);
int h5_attr_write_str(h5_writer *w, const char *obj, const char *name, const char *value);
int h5_group(h5_writer *w, const char *name); /* creates a group (and parents) if missing */

int h5_open(h5_reader *r, const char *path); /* clear error for missing, non-HDF5, truncated */
void h5_close(h5_reader *r);
int h5_has(h5_reader *r, const char *name); /* 1 if the object exists */
/* Shape of a dataset. */
int h5_dims(h5_reader *r, const char *name, int *rank, long dims[H5IO_MAX_RANK]);
/* Reads a dataset whose shape must equal dims (an entry of -1 accepts any extent). */
int h5_read_f32(h5_reader *r, const char *name, int rank, const long *dims, float *out);
int h5_read_f64(h5_reader *r, const char *name, int rank, const long *dims, double *out);
int h5_read_i32(h5_reader *r, const char *name, int rank, const long *dims, int *out);
/* Allocates (xmalloc) and reads a dataset of the given rank, returning its dims. */
int h5_read_f32_alloc(h5_reader *r, const char *name, int rank, long dims[H5IO_MAX_RANK], float **out);
int h5_read_i32_alloc(h5_reader *r, const char *name, int rank, long dims[H5IO_MAX_RANK], int **out);
/* Allocates (xmalloc) and reads a 1-D string dataset (fixed or variable length): *n strings,
 * string i NUL-terminated at *out + i * *stride. */
int h5_read_str_alloc(h5_reader *r, const char *name, long *n, char **out, size_t *stride);
/* Attributes: any integer width, float or double; strings fixed or variable length. */
int h5_attr_has(h5_reader *r, const char *obj, const char *name);
int h5_attr_read_int(h5_reader *r, const char *obj, const char *name, long *value);
int h5_attr_read_double(h5_reader *r, const char *obj, const char *name, double *value);
int h5_attr_read_str(h5_reader *r, const char *obj, const char *name, char *out, size_t cap);
/* Allocates (xmalloc) a string attribute of any length. */
int h5_attr_read_str_alloc(h5_reader *r, const char *obj, const char *name, char **out);

#endif
