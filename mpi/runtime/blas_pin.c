/* blas_pin: which config file a command line names, and its run.blas_kernel (see blas_pin.h). */
#include "blas_pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "io/config.h"

/* Options that take a value, across every command (commands.h): their value is no positional. */
static int takes_value(const char *arg) {
  static const char *const opts[] = {"--set", "-n", "--until", "--point", "--config", "--model",
                                     "--prompt", "--text", "--uwo-lambda", NULL};
  for (int i = 0; opts[i]; i++)
    if (!strcmp(arg, opts[i])) return 1;
  return 0;
}

/* The config path of argv (argv[1] the command): the first positional argument of run, check,
 * layout and sweep, the second of stage, the value of --config for bench; NULL otherwise. */
static const char *config_path(int argc, char **argv) {
  static const struct {
    const char *command; /* command name */
    int position;        /* 1-based positional argument that is the config, 0: --config */
  } table[] = {{"run", 1}, {"check", 1}, {"layout", 1}, {"sweep", 1}, {"stage", 2}, {"bench", 0}};
  int cmd = 1;
  while (cmd < argc && (!strcmp(argv[cmd], "--quiet") || !strcmp(argv[cmd], "-q"))) cmd++;
  if (cmd >= argc) return NULL;
  for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
    if (strcmp(argv[cmd], table[t].command)) continue;
    int seen = 0;
    for (int i = cmd + 1; i < argc; i++) {
      if (table[t].position == 0 && !strcmp(argv[i], "--config")) return i + 1 < argc ? argv[i + 1] : NULL;
      if (takes_value(argv[i])) {
        i++;
        continue;
      }
      if (argv[i][0] == '-') continue;
      if (++seen == table[t].position) return argv[i];
    }
    return NULL;
  }
  return NULL;
}

void blas_pin_requested(char *want, size_t cap, const char **source, int argc, char **argv) {
  want[0] = 0;
  *source = "run.blas_kernel";
  const char *path = config_path(argc, argv);
  if (path) {
    oo_config *cfg = xmalloc(sizeof *cfg);
    int rc = cfg_load(cfg, path);
    for (int i = 1; !rc && i + 1 < argc; i++)
      if (!strcmp(argv[i], "--set") && !strncmp(argv[i + 1], "run.blas_kernel=", 16))
        rc = cfg_set(cfg, argv[i + 1]);
    if (!rc) rc = cfg_validate(cfg, path);
    if (!rc) snprintf(want, cap, "%s", cfg->run.blas_kernel);
    xfree(&cfg);
    oo_error_clear(); /* a bad config is the command's to report, with its own context */
    if (want[0] || !rc) return; /* the config decides, also when it leaves the choice to the machine */
  }
  const char *env = getenv("OVEROPT_BLAS_KERNEL");
  if (env && env[0]) {
    snprintf(want, cap, "%s", env);
    *source = "OVEROPT_BLAS_KERNEL";
  }
}
