/* test_atomic_file: the atomic writer (src/core/atomic_file.h).
 *   test_atomic_file            open/commit/abort semantics in a fresh directory under /tmp
 *   test_atomic_file FULL_DIR   also: in FULL_DIR, a small file system (full_disk.sh mounts a
 *                               64 kB tmpfs), a write larger than the disk must fail naming the
 *                               path and "No space left", leave the old file intact and no
 *                               temporary behind.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "testing.h"

/* Text of a whole (small) file, "" when missing. */
static const char *slurp(const char *path) {
  static char buf[4096];
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return buf;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* Number of entries of dir whose name contains ".tmp". */
static int temporaries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
  if (d) closedir(d);
  return n;
}

static void semantics(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/a.csv", dir);
  EXPECT_OK(atomic_write(path, "x,y\n1,2\n", 8));
  EXPECT(!strcmp(slurp(path), "x,y\n1,2\n"));

  atomic_file af;
  EXPECT_OK(atomic_open(&af, path));
  fprintf(af.f, "replaced\n");
  EXPECT(!strcmp(slurp(path), "x,y\n1,2\n")); /* readers see the old file until commit */
  EXPECT(temporaries(dir) == 1);
  EXPECT_OK(atomic_commit(&af));
  EXPECT(!strcmp(slurp(path), "replaced\n"));
  EXPECT(temporaries(dir) == 0);
  EXPECT(atomic_commit(&af) != 0); /* spent */
  atomic_abort(&af);               /* and safe to abort afterwards */

  EXPECT_OK(atomic_open(&af, path));
  fprintf(af.f, "never seen\n");
  atomic_abort(&af);
  EXPECT(!strcmp(slurp(path), "replaced\n"));
  EXPECT(temporaries(dir) == 0);

  char bad[600];
  snprintf(bad, sizeof bad, "%s/no/such/dir/b.csv", dir);
  EXPECT(atomic_write(bad, "z", 1) != 0);
  EXPECT(strstr(oo_error_message(), "no/such/dir/b.csv") != NULL);
}

static void full_disk(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/full.csv", dir);
  EXPECT_OK(atomic_write(path, "old\n", 4));
  size_t n = (size_t)4 << 20; /* 4 MB: more than the small file system holds */
  char *big = malloc(n);
  memset(big, 'x', n);
  oo_error_clear();
  EXPECT(atomic_write(path, big, n) != 0);
  const char *msg = oo_error_message();
  printf("full disk: %s\n", msg);
  EXPECT(strstr(msg, "full.csv") && strstr(msg, "No space left"));
  EXPECT(!strcmp(slurp(path), "old\n"));
  EXPECT(temporaries(dir) == 0);
  /* the same through the stream interface: the error surfaces at commit */
  atomic_file af;
  EXPECT_OK(atomic_open(&af, path));
  for (size_t i = 0; i < n / 64; i++) fwrite(big, 1, 64, af.f);
  EXPECT(atomic_commit(&af) != 0);
  EXPECT(!strcmp(slurp(path), "old\n"));
  EXPECT(temporaries(dir) == 0);
  free(big);
}

int main(int argc, char **argv) {
  char dir[] = "/tmp/oo_atomic_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  semantics(dir);
  char path[600];
  snprintf(path, sizeof path, "%s/a.csv", dir);
  unlink(path);
  rmdir(dir);
  if (argc > 1) full_disk(argv[1]);
  return TEST_SUMMARY();
}
