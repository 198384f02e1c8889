/* options: parsing and help from a command's option table (see options.h). */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static int find_opt(const oo_cmd_spec *s, const char *name) {
  for (int i = 0; i < s->n_opts; i++)
    if (!strcmp(s->opts[i].name, name) || (s->opts[i].alias && !strcmp(s->opts[i].alias, name))) return i;
  return -1;
}

static int index_of(const oo_args *a, const char *name) {
  int i = find_opt(a->spec, name);
  if (i < 0) OO_FATAL("command %s has no option %s in its table", a->spec->name, name);
  return i;
}

static int add_value(const oo_cmd_spec *s, oo_args *a, int i, const char *v) {
  const oo_option *o = &s->opts[i];
  if (o->kind != OPT_REPEAT) {
    a->value[i][0] = v; /* the last one wins */
    a->count[i]++;
    return OO_OK;
  }
  REQUIRE(a->count[i] < OO_MAX_REPEAT, "%s given more than %d times", o->name, OO_MAX_REPEAT);
  a->value[i][a->count[i]++] = v;
  return OO_OK;
}

static int unknown_option(const oo_cmd_spec *s, const char *arg) {
  const char *names[2 * OO_MAX_OPTS];
  int n = 0;
  for (int i = 0; i < s->n_opts; i++)
    if (s->opts[i].kind != OPT_POSITIONAL) {
      names[n++] = s->opts[i].name;
      if (s->opts[i].alias) names[n++] = s->opts[i].alias;
    }
  char flag[128];
  snprintf(flag, sizeof flag, "%.*s", (int)strcspn(arg, "="), arg);
  const char *near = oo_nearest_name(flag, names, n);
  if (near) OO_FAIL("unknown option '%s' (did you mean '%s'?)", flag, near);
  OO_FAIL("unknown option '%s'", flag);
}

int opts_parse(const oo_cmd_spec *s, int argc, char **argv, oo_args *a) {
  memset(a, 0, sizeof *a);
  a->spec = s;
  if (s->n_opts > OO_MAX_OPTS) OO_FATAL("command %s has %d options (at most %d)", s->name, s->n_opts, OO_MAX_OPTS);
  int next_pos = 0; /* index into the table of the next positional to fill */
  for (int k = 1; k < argc; k++) {
    const char *arg = argv[k];
    if (arg[0] == '-' && arg[1]) {
      char flag[128];
      const char *eq = strchr(arg, '=');
      size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
      if (len >= sizeof flag) return unknown_option(s, arg);
      memcpy(flag, arg, len), flag[len] = 0;
      int i = find_opt(s, flag);
      if (i < 0 || s->opts[i].kind == OPT_POSITIONAL) return unknown_option(s, arg);
      if (s->opts[i].kind == OPT_FLAG) {
        REQUIRE(!eq, "%s takes no value (got '%s')", s->opts[i].name, arg);
        CHECK(add_value(s, a, i, "1"));
        continue;
      }
      const char *v = eq ? eq + 1 : NULL;
      if (!v) {
        REQUIRE(k + 1 < argc, "%s expects a value (%s %s)", flag, s->opts[i].name, s->opts[i].metavar);
        v = argv[++k];
      }
      CHECK(add_value(s, a, i, v));
      continue;
    }
    while (next_pos < s->n_opts && (s->opts[next_pos].kind != OPT_POSITIONAL || a->count[next_pos])) next_pos++;
    REQUIRE(next_pos < s->n_opts, "unexpected argument '%s'", arg);
    CHECK(add_value(s, a, next_pos, arg));
  }
  for (int i = 0; i < s->n_opts; i++) {
    const oo_option *o = &s->opts[i];
    if (!o->required || a->count[i]) continue;
    if (o->kind == OPT_POSITIONAL) OO_FAIL("missing %s", o->name);
    OO_FAIL("%s %s is required", o->name, o->metavar ? o->metavar : "");
  }
  return OO_OK;
}

int opt_given(const oo_args *a, const char *name) { return a->count[index_of(a, name)]; }

const char *opt_str(const oo_args *a, const char *name) {
  int i = index_of(a, name);
  return a->count[i] ? a->value[i][a->spec->opts[i].kind == OPT_REPEAT ? a->count[i] - 1 : 0] : a->spec->opts[i].def;
}

const char *opt_value(const oo_args *a, const char *name) { return opt_given(a, name) ? opt_str(a, name) : NULL; }

const char *opt_item(const oo_args *a, const char *name, int k) {
  int i = index_of(a, name);
  return k >= 0 && k < a->count[i] ? a->value[i][k] : NULL;
}

/* A default that is prose ("the world size") is for help only: the caller's value stands. */
static int prose_default(const oo_args *a, const char *name, const char *s) {
  return !s || (!opt_given(a, name) && !strchr("0123456789+-.", s[0]));
}

int opt_long(const oo_args *a, const char *name, long lo, long hi, long *out) {
  const char *s = opt_str(a, name);
  if (prose_default(a, name, s)) return OO_OK;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  REQUIRE(*s && end && !*end && !errno && v >= lo && v <= hi, "%s expects an integer in [%ld, %ld], got '%s'", name, lo, hi, s);
  *out = v;
  return OO_OK;
}

int opt_double(const oo_args *a, const char *name, double lo, double hi, double *out) {
  const char *s = opt_str(a, name);
  if (prose_default(a, name, s)) return OO_OK;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  REQUIRE(*s && end && !*end && !errno && isfinite(v) && v >= lo && v <= hi,
          "%s expects a number in [%g, %g], got '%s'", name, lo, hi, s);
  *out = v;
  return OO_OK;
}

/* ---- help ------------------------------------------------------------------------------------ */

/* "--model FILE", "-n, --samples N", "CONFIG" into buf. */
static void option_form(const oo_option *o, char *buf, size_t cap) {
  if (o->kind == OPT_POSITIONAL) {
    snprintf(buf, cap, "%s", o->name);
    return;
  }
  snprintf(buf, cap, "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
           o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

void opts_print_usage(const oo_cmd_spec *s, FILE *out) {
  fprintf(out, "overopt %s", s->name);
  for (int i = 0; i < s->n_opts; i++) {
    const oo_option *o = &s->opts[i];
    const char *open = o->required ? "" : "[", *close = o->required ? "" : "]";
    if (o->kind == OPT_POSITIONAL) fprintf(out, " %s%s%s", open, o->name, close);
    else if (o->kind == OPT_FLAG) fprintf(out, " %s%s%s", open, o->name, close);
    else fprintf(out, " %s%s %s%s%s", open, o->name, o->metavar, o->kind == OPT_REPEAT ? " ..." : "", close);
  }
  fputc('\n', out);
}

static const char exit_codes[] =
    "exit codes: 0 ok, 1 runtime error, 2 usage error, 3 stopped on a signal (rerun to continue)";

void opts_print_help(const oo_cmd_spec *s, FILE *out) {
  fputs("usage: ", out);
  opts_print_usage(s, out);
  fprintf(out, "  %s\n\n", s->summary);
  for (int i = 0; i < s->n_opts; i++) {
    const oo_option *o = &s->opts[i];
    char form[128];
    option_form(o, form, sizeof form);
    fprintf(out, "  %-24s %s", form, o->help);
    if (o->required) fputs(" (required)", out);
    else if (o->def) fprintf(out, " (default: %s)", o->def);
    if (o->kind == OPT_REPEAT) fputs(" (repeatable)", out);
    fputc('\n', out);
  }
  fprintf(out, "  %-24s %s\n  %-24s %s\n", "--quiet, -q", "warnings and errors only (any command)", "--debug",
          "errors name the source location and call trace (any command)");
  fprintf(out, "\nexample:\n  %s\n%s\n", s->example, exit_codes);
}

/* Markdown cells must not contain '|'. */
static void md_cell(FILE *out, const char *s) {
  for (; s && *s; s++) {
    if (*s == '|') fputs("\\|", out);
    else fputc(*s, out);
  }
}

void opts_print_markdown(const oo_cmd_spec *const *specs, int n, FILE *out) {
  fprintf(out, "Every command takes `--help`, `--quiet` (`-q`) and `--debug` (errors with source locations); "
               "options are written `--opt value` or `--opt=value`. Exit codes, the same for every command: 0 ok, "
               "1 runtime error, 2 usage error, 3 stopped on a signal (rerun to continue).\n");
  for (int c = 0; c < n; c++) {
    const oo_cmd_spec *s = specs[c];
    fprintf(out, "\n### `overopt %s`\n\n%s.\n\n```\nusage:   ", s->name, s->summary);
    opts_print_usage(s, out);
    fprintf(out, "example: %s\n```\n\n| option | default | description |\n|---|---|---|\n", s->example);
    for (int i = 0; i < s->n_opts; i++) {
      const oo_option *o = &s->opts[i];
      char form[128];
      option_form(o, form, sizeof form);
      fputs("| `", out);
      md_cell(out, form);
      fputs("` | ", out);
      if (o->required) fputs("required", out);
      else if (o->def) fprintf(out, "`%s`", o->def), md_cell(out, ""); /* defaults hold no '|' */
      fputs(" | ", out);
      md_cell(out, o->help);
      if (o->kind == OPT_REPEAT) fputs(" (repeatable)", out);
      fputs(" |\n", out);
    }
  }
}

int opts_usage_error(const oo_cmd_spec *s) {
  fprintf(stderr, "overopt %s: error: %s\nusage: ", s->name, oo_error_message());
  opts_print_usage(s, stderr);
  fprintf(stderr, "(overopt %s --help lists every option)\n", s->name);
  oo_error_clear();
  return OO_EXIT_USAGE;
}

int opts_runtime_error(const char *name) {
  fflush(stdout);
  fprintf(stderr, "overopt %s: error: %s\n", name, oo_error_message());
  oo_error_clear();
  return OO_EXIT_ERROR;
}
