/* h5_catalog: units and description of every dataset overopt writes, keyed by file and dataset
 * name (h5_catalog.c). h5io writes them as the attributes `units` and `description`. */
#ifndef OO_H5_CATALOG_H
#define OO_H5_CATALOG_H

typedef struct {
  const char *file;        /* glob on the file's base name ("ppo_*.h5", "*") */
  const char *dataset;     /* glob on the dataset path; without '/' on its last component */
  const char *units;       /* "nats", "gold std", "1", ... */
  const char *description; /* one line: what the values are, shape where it helps */
} h5_catalog_entry;

/* The first entry matching (file_path's base name, dataset), or NULL. */
const h5_catalog_entry *h5_catalog_find(const char *file_path, const char *dataset);
/* The whole table (documentation, tests); *n = entries. */
const h5_catalog_entry *h5_catalog_entries(int *n);

#endif
