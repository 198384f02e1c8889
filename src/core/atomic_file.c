/* atomic_file: temporary + fsync + rename, every result checked (see atomic_file.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

int atomic_open(atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  REQUIRE(strlen(path) < sizeof af->path, "path too long: '%.200s...'", path);
  snprintf(af->path, sizeof af->path, "%s", path);
  snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
  af->f = fopen(af->tmp, "w");
  REQUIRE(af->f, "cannot create '%s' (to replace '%s'): %s", af->tmp, path, strerror(errno));
  return OO_OK;
}

void atomic_abort(atomic_file *af) {
  if (!af->f) return;
  fclose(af->f);
  af->f = NULL;
  unlink(af->tmp);
}

/* fsync of the directory holding path, so the rename itself survives a crash. Best effort: some
 * file systems refuse fsync on a directory (EINVAL), which is not a write error. */
static int sync_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = 0;
  else if (slash) *slash = 0;
  else snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY);
  if (fd < 0) return OO_OK;
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  REQUIRE(rc == 0 || err == EINVAL || err == EROFS, "cannot sync directory '%s': %s", dir, strerror(err));
  return OO_OK;
}

int atomic_commit(atomic_file *af) {
  REQUIRE(af->f, "atomic_commit of '%s': the file is not open (already committed or aborted)", af->path);
  FILE *f = af->f;
  af->f = NULL;
  const char *what = NULL;
  int err = 0;
  if (ferror(f)) what = "write", err = EIO;
  else if (fflush(f) != 0) what = "flush", err = errno;
  else if (fsync(fileno(f)) != 0) what = "fsync", err = errno;
  if (fclose(f) != 0 && !what) what = "close", err = errno;
  if (!what && rename(af->tmp, af->path) != 0) what = "rename onto the destination", err = errno;
  if (what) {
    unlink(af->tmp);
    OO_FAIL("cannot write '%s' (%s of '%s' failed: %s); the previous file, if any, is unchanged", af->path, what,
            af->tmp, strerror(err));
  }
  CHECK(sync_dir(af->path));
  return OO_OK;
}

int atomic_write(const char *path, const void *data, size_t n) {
  atomic_file af;
  CHECK(atomic_open(&af, path));
  if (n && fwrite(data, 1, n, af.f) != n) {
    int err = errno;
    atomic_abort(&af);
    OO_FAIL("cannot write '%s': %s", path, strerror(err));
  }
  CHECK(atomic_commit(&af));
  return OO_OK;
}
