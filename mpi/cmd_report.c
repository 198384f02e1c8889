/* overopt report DIR: plots and report.md of a run or sweep directory (src/report). Not
 * collective: main.c runs it on rank 0. Prints its own errors; returns the exit code. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "report/report.h"

static int usage(const char *why) {
  fprintf(stderr,
          "overopt report: %s\nusage: overopt report DIR\n"
          "  DIR is a run directory (bon.csv, ppo_<tag>.csv, fits.csv, rm_members.csv, winrates.csv)\n"
          "  or a sweep directory (sweep.csv); writes DIR/report/*.png and DIR/report/report.md\n",
          why);
  return 2;
}

int cmd_report(int argc, char **argv) {
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1]) {
      char msg[300];
      snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[i]);
      return usage(msg);
    }
    if (dir) return usage("more than one DIR given");
    dir = argv[i];
  }
  if (!dir) return usage("no DIR given");
  char md[4608];
  if (report_write(dir, md, sizeof md)) {
    fprintf(stderr, "overopt report: error: %s\n", oo_error_message());
    oo_error_clear(); /* printed here; main must not print it again */
    return 1;
  }
  printf("report: %s\n", md);
  return fflush(stdout) ? 1 : 0;
}
