/* metrics: metrics.jsonl beside run.log (see metrics.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/core.h"

#define METRICS_MAX_KEYS 64

static FILE *metrics_file = NULL;

int metrics_open_dir(const char *dir) {
  if (metrics_file) fclose(metrics_file);
  metrics_file = NULL;
  if (!dir) return OO_OK;
  char path[4400];
  CHECK(oo_path_join(path, sizeof path, dir, "metrics.jsonl"));
  metrics_file = fopen(path, "a");
  REQUIRE(metrics_file, "cannot open '%s': %s", path, strerror(errno));
  return OO_OK;
}

void oo_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void metrics_row(const char *stage, long step, const char *const *keys, const double *vals, int n) {
  if (!metrics_file) return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  char stamp[40];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime_r(&tv.tv_sec, &tm));
  fprintf(metrics_file, "{\"time\": \"%s.%03ldZ\", \"unix\": %.3f, \"stage\": ", stamp, (long)tv.tv_usec / 1000,
          tv.tv_sec + tv.tv_usec * 1e-6);
  oo_json_string(metrics_file, stage);
  fprintf(metrics_file, ", \"step\": %ld", step);
  for (int i = 0; i < n; i++) {
    fputs(", ", metrics_file);
    oo_json_string(metrics_file, keys[i]);
    if (isfinite(vals[i])) fprintf(metrics_file, ": %.9g", vals[i]);
    else fputs(": null", metrics_file);
  }
  fputs("}\n", metrics_file);
  fflush(metrics_file);
}

void metrics_emit(const char *stage, long step, ...) {
  if (!metrics_file) return;
  const char *keys[METRICS_MAX_KEYS];
  double vals[METRICS_MAX_KEYS];
  int n = 0;
  va_list ap;
  va_start(ap, step);
  for (const char *k = va_arg(ap, const char *); k && n < METRICS_MAX_KEYS; k = va_arg(ap, const char *)) {
    keys[n] = k;
    vals[n++] = va_arg(ap, double);
  }
  va_end(ap);
  metrics_row(stage, step, keys, vals, n);
}
