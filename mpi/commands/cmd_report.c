/* overopt report DIR: plots and report.md of a run or sweep directory (src/report). Not
 * collective: main.c runs it on rank 0. Prints its own errors; returns the exit code. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "report/report.h"

static const oo_option opts[] = {
    {"DIR", NULL, OPT_POSITIONAL, NULL, NULL, 1,
     "a run directory (bon.csv, ppo_<tag>.csv, fits.csv, ...) or a sweep directory (sweep.csv)"},
};
const oo_cmd_spec cmd_report_spec = {"report", "plots and report.md of a run or sweep directory (DIR/report/)",
                                     "overopt report runs/quickstart", opts, OO_N_OPTS(opts), cmd_report, 0};

int cmd_report(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_report_spec, argc, argv, &a)) return opts_usage_error(&cmd_report_spec);
  const char *dir = opt_str(&a, "DIR");
  char md[4608];
  if (report_write(dir, md, sizeof md)) return opts_runtime_error("report");
  printf("report: %s\n", md);
  return fflush(stdout) ? 1 : 0;
}
