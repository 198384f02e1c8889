/* cli_help: walks every command's option table (commands.c) and checks that its --help text lists
 * every option and alias with its default, that the markdown reference has a section for every
 * command, and that the parser accepts both `--opt value` and `--opt=value` for every option that
 * takes a value, refuses an unknown option with a suggestion, and requires required arguments. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"

static char *capture_help(const oo_cmd_spec *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  opts_print_help(s, f);
  fclose(f);
  return buf;
}

int main(void) {
  int n, bad = 0, checked = 0;
  const oo_cmd_spec *const *cmds = oo_commands(&n);
  for (int c = 0; c < n; c++) {
    const oo_cmd_spec *s = cmds[c];
    char *help = capture_help(s);
    if (!strstr(help, s->example) || (strncmp(s->example, "overopt", 7) && !strstr(s->example, " overopt "))) {
      printf("FAILED: %s --help lacks an example that starts with overopt\n", s->name);
      bad = 1;
    }
    if (!strstr(help, "exit codes: 0 ok, 1 runtime error, 2 usage error, 3 stopped")) {
      printf("FAILED: %s --help lacks the exit codes\n", s->name);
      bad = 1;
    }
    for (int i = 0; i < s->n_opts; i++) {
      const oo_option *o = &s->opts[i];
      char want[256];
      checked++;
      if (!strstr(help, o->name) || (o->alias && !strstr(help, o->alias)) || !strstr(help, o->help)) {
        printf("FAILED: %s --help does not list %s%s%s with its description\n", s->name, o->name,
               o->alias ? " / " : "", o->alias ? o->alias : "");
        bad = 1;
      }
      snprintf(want, sizeof want, "(default: %s)", o->def ? o->def : "");
      if (o->def && !o->required && !strstr(help, want)) {
        printf("FAILED: %s --help does not give %s's default '%s'\n", s->name, o->name, o->def);
        bad = 1;
      }
      if (o->kind != OPT_VALUE && o->kind != OPT_REPEAT) continue;
      /* both spellings parse to the same value (required positionals and options filled in) */
      char *argv1[64], *argv2[64], eq[256];
      int a1 = 0, a2 = 0;
      argv1[a1++] = argv2[a2++] = (char *)s->name;
      for (int j = 0; j < s->n_opts; j++)
        if (s->opts[j].required && j != i) {
          if (s->opts[j].kind != OPT_POSITIONAL) argv1[a1++] = argv2[a2++] = (char *)s->opts[j].name;
          argv1[a1++] = argv2[a2++] = "x";
        }
      argv1[a1++] = (char *)o->name, argv1[a1++] = "7";
      snprintf(eq, sizeof eq, "%s=7", o->name);
      argv2[a2++] = eq;
      oo_args p1, p2;
      int r1 = opts_parse(s, a1, argv1, &p1), r2 = opts_parse(s, a2, argv2, &p2);
      if (r1 || r2 || strcmp(opt_str(&p1, o->name), "7") || strcmp(opt_str(&p2, o->name), "7")) {
        printf("FAILED: %s: '%s 7' / '%s' do not both parse to 7 (%s)\n", s->name, o->name, eq, oo_error_message());
        bad = 1;
      }
    }
    /* an unknown option is a usage error that suggests the nearest option */
    for (int i = 0; i < s->n_opts; i++) {
      if (s->opts[i].kind == OPT_POSITIONAL || strlen(s->opts[i].name) < 5) continue;
      char typo[128];
      snprintf(typo, sizeof typo, "%sx", s->opts[i].name);
      char *argv[] = {(char *)s->name, typo};
      oo_args p;
      if (!opts_parse(s, 2, argv, &p) || !strstr(oo_error_message(), "did you mean")) {
        printf("FAILED: %s: '%s' was not refused with a suggestion (%s)\n", s->name, typo, oo_error_message());
        bad = 1;
      }
      break;
    }
    free(help); /* open_memstream's buffer */
  }
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  opts_print_markdown(cmds, n, f);
  fclose(f);
  for (int c = 0; c < n; c++) {
    char want[128];
    snprintf(want, sizeof want, "### `overopt %s`", cmds[c]->name);
    if (!strstr(md, want)) {
      printf("FAILED: the markdown reference lacks %s\n", want);
      bad = 1;
    }
  }
  free(md);
  printf("cli_help: %d commands, %d options checked: %s\n", n, checked, bad ? "FAILED" : "ok");
  return bad;
}
