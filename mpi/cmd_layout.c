/* overopt layout CONFIG [-n P] [--set key=value ...]: prints the rank roles and the placement of
 * ensemble members for P ranks (default: the world size this was started with), without
 * running anything. Runs on rank 0 only (not collective); follows commands.h (returns the exit
 * code, prints its own errors). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "comm.h"
#include "core/core.h"
#include "io/config.h"
#include "layout.h"

/* Parses a positive rank count for -n. */
static int parse_ranks(const char *s, int *P) {
  char *end = NULL;
  long v = s ? strtol(s, &end, 10) : 0;
  REQUIRE(s && *s && end && !*end && v >= 1 && v <= 1000000,
          "layout: -n expects a number of ranks >= 1, got '%s'", s ? s : "(nothing)");
  *P = (int)v;
  return OO_OK;
}

static int layout_run(int argc, char **argv) {
  const char *path = NULL;
  int P = 0;
  oo_config *cfg = xmalloc(sizeof *cfg); /* large (strings): keep it off the stack */
  cfg_defaults(cfg);
  int rc = OO_OK;
  const char **sets = xmalloc((size_t)(argc + 1) * sizeof *sets);
  int n_sets = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--ranks")) {
      CHECK_GOTO(rc, parse_ranks(i + 1 < argc ? argv[i + 1] : NULL, &P), done);
      i++;
    } else if (!strncmp(argv[i], "-n", 2) && argv[i][2]) {
      CHECK_GOTO(rc, parse_ranks(argv[i] + 2, &P), done);
    } else if (!strncmp(argv[i], "--set=", 6)) {
      sets[n_sets++] = argv[i] + 6;
    } else if (!strcmp(argv[i], "--set")) {
      if (i + 1 >= argc) {
        rc = oo_error_at(__FILE__, __LINE__, "layout: --set expects key=value");
        goto done;
      }
      sets[n_sets++] = argv[++i];
    } else if (argv[i][0] == '-') {
      rc = oo_error_at(__FILE__, __LINE__,
                       "layout: unknown option '%s' (usage: overopt layout CONFIG [-n P] "
                       "[--set key=value ...])", argv[i]);
      goto done;
    } else if (!path) {
      path = argv[i];
    } else {
      rc = oo_error_at(__FILE__, __LINE__, "layout: one CONFIG expected, got '%s' and '%s'",
                       path, argv[i]);
      goto done;
    }
  }
  if (!path) {
    rc = oo_error_at(__FILE__, __LINE__,
                     "layout: missing CONFIG (usage: overopt layout CONFIG [-n P] [--set k=v])");
    goto done;
  }
  CHECK_GOTO(rc, cfg_load(cfg, path), done);
  for (int s = 0; s < n_sets; s++) CHECK_GOTO(rc, cfg_set(cfg, sets[s]), done);
  CHECK_GOTO(rc, cfg_validate(cfg, path), done);
  if (!P && MPI_Comm_size(MPI_COMM_WORLD, &P) != MPI_SUCCESS) P = 1;

  oo_layout lay;
  CHECK_GOTO(rc, layout_build(&lay, P, cfg), done);
  printf("layout of %s for %d rank%s (rm.k = %d, layout.rollout_ranks = %d, layout.rm_ranks = "
         "%d; 0 = every rank)\n",
         path, P, P == 1 ? "" : "s", cfg->rm.k, cfg->layout.rollout_ranks, cfg->layout.rm_ranks);
  layout_print(&lay, stdout);
  fflush(stdout);
  layout_free(&lay);
done:
  xfree(&sets);
  xfree(&cfg);
  return rc;
}

int cmd_layout(int argc, char **argv) {
  if (layout_run(argc, argv) == OO_OK) return 0;
  fprintf(stderr, "overopt layout: error: %s\n", oo_error_message());
  return 1;
}
