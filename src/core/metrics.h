/* metrics: the machine-readable stream <run dir>/metrics.jsonl, one JSON object per line and per
 * step of a stage: {"time": "2026-...Z", "unix": 1.7e9, "stage": "ppo mean", "step": 12, "kl": 3.1, ...}.
 *
 * "step" is the 0-based index of the optimizer step the values describe (the row of ppo_<tag>.csv).
 * Invariants: only the log's leader writes (the rank that writes run.log); the file opens beside
 * run.log (oo_log_open_file opens it, NULL closes it), is appended to (a resumed run continues
 * the stream) and is flushed after every line, so a reader can follow a running job. Values are
 * doubles; NaN and infinities are written as null. Nothing here touches MPI.
 */
#ifndef OO_METRICS_H
#define OO_METRICS_H

#include <stdio.h>

/* Opens DIR/metrics.jsonl for appending (NULL closes). Called by oo_log_open_file. */
int metrics_open_dir(const char *dir);
/* One line: stage, step and the n pairs keys[i] = vals[i]. No-op when no file is open. */
void metrics_row(const char *stage, long step, const char *const *keys, const double *vals, int n);
/* The same with pairs as arguments, ended by NULL: metrics_emit("rm", 3, "loss", 0.6, "acc", acc, NULL).
 * Every value must be a double (a float promotes; cast integers). */
void metrics_emit(const char *stage, long step, ...);
/* A JSON string literal of s ('"', '\\' and control bytes escaped). */
void oo_json_string(FILE *f, const char *s);

#endif
