/* overopt summary DIR [--replicates R]: summary.csv, summary.h5 and fits_summary.csv over the
 * replicates DIR/rep0 .. rep<R-1> (src/stats/summary.h; definitions in docs/statistics.md).
 * Not collective: main.c runs it on rank 0. Prints its own errors; returns the exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "stats/summary.h"

static int usage(const char *why) {
  fprintf(stderr,
          "overopt summary: %s\nusage: overopt summary DIR [--replicates R]\n"
          "  DIR holds the replicates rep0 .. rep<R-1> (each with bon.csv, ppo_<tag>.csv, fits.csv);\n"
          "  R defaults to the number of consecutive rep<i> directories. Writes DIR/summary.csv,\n"
          "  DIR/summary.h5 and DIR/fits_summary.csv (definitions: docs/statistics.md)\n",
          why);
  return 2;
}

int cmd_summary(int argc, char **argv) {
  const char *dir = NULL;
  int R = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--replicates") || !strcmp(argv[i], "-R")) {
      char *end;
      long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
      if (i + 1 >= argc || *end || v < 1 || v > 100000) return usage("--replicates needs an integer >= 1");
      R = (int)v;
      i++;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      char msg[300];
      snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[i]);
      return usage(msg);
    } else if (dir) {
      return usage("more than one DIR given");
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return usage("no DIR given");
  if (R == 0) R = summary_count_replicates(dir);
  if (R == 0) {
    fprintf(stderr, "overopt summary: error: no replicate directory '%s/rep0' (run with run.replicates "
                    ">= 1 first)\n", dir);
    return 1;
  }
  if (summary_write(dir, R)) {
    fprintf(stderr, "overopt summary: error: %s\n", oo_error_message());
    oo_error_clear(); /* printed here; main must not print it again */
    return 1;
  }
  printf("summary: %s/summary.csv (%d replicates)\n", dir, R);
  return fflush(stdout) ? 1 : 0;
}
