/* atomic_file: write a text or CSV file so that readers see either the old file or the whole
 * new one, never a part, and every write error (a full disk included) is reported.
 *
 * Usage (single process; not collective):
 *
 *   atomic_file af;
 *   CHECK(atomic_open(&af, "runs/x/fits.csv"));   // creates runs/x/fits.csv.tmp.<pid>
 *   fprintf(af.f, "...");                         // write through af.f as with any FILE *
 *   CHECK(atomic_commit(&af));                    // fflush + fsync + fclose, all checked, then
 *                                                 // rename onto the path and fsync the directory
 *
 * or, when the content is already in memory: CHECK(atomic_write(path, text, n)).
 *
 * Invariants:
 * - On every error return from atomic_open/atomic_commit/atomic_write the temporary is removed
 *   and the destination is untouched (the old file, or none); the message names the path and
 *   the failing call with strerror (e.g. "No space left on device").
 * - A caller that gives up between open and commit calls atomic_abort(&af), which closes and
 *   removes the temporary. atomic_abort is safe on a committed, aborted or zeroed struct, so a
 *   cleanup label may call it unconditionally.
 * - The temporary is "<path>.tmp.<pid>" in the destination's directory (rename is atomic only
 *   within one file system); two processes never share one.
 */
#ifndef OO_ATOMIC_FILE_H
#define OO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
  FILE *f;        /* the temporary, open for writing; NULL once committed or aborted */
  char path[4096]; /* the destination */
  char tmp[4200];  /* the temporary: path.tmp.<pid> */
} atomic_file;

/* Creates the temporary for path (mode "w"). On error af->f is NULL and nothing is left. */
int atomic_open(atomic_file *af, const char *path);
/* Checks the stream's error flag, flushes, fsyncs, closes and renames the temporary onto the
 * destination. The struct is spent afterwards, whether it succeeded or not. */
int atomic_commit(atomic_file *af);
/* Closes and removes the temporary (no error: used on paths that already failed). */
void atomic_abort(atomic_file *af);
/* atomic_open + fwrite(data, n) + atomic_commit. */
int atomic_write(const char *path, const void *data, size_t n);

#endif
