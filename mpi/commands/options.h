/* options: one table per command, from which the command's parsing, its --help text and the
 * README's command reference (`overopt help --markdown`) are all generated (issue #14).
 *
 * Invariants:
 * - An option is written `--name value`, `--name=value`, or with its short alias `-n value`;
 *   a flag takes no value; a repeatable option may be given several times (--set a=1 --set b=2).
 * - Positional arguments are matched in table order; a lone `-` is a value, not an option.
 * - Parsing is a pure function of argv: every rank of a collective command parses alike.
 * - Exit codes are the same for every command: 0 ok, 1 runtime error, 2 usage, 3 stopped.
 */
#ifndef OO_OPTIONS_H
#define OO_OPTIONS_H

#include <stdio.h>

#define OO_EXIT_OK 0
#define OO_EXIT_ERROR 1 /* a runtime error: a file, the config, a failed stage */
#define OO_EXIT_USAGE 2 /* the command line is wrong: unknown option, missing or bad argument */
/* 3 is OO_EXIT_STOPPED (run.h): stopped on a signal with a checkpoint; rerun to continue */

#define OO_MAX_OPTS 24   /* options per command */
#define OO_MAX_REPEAT 64 /* values of one repeatable option */

typedef enum {
  OPT_FLAG,       /* --force: no value */
  OPT_VALUE,      /* --model FILE: one value (the last one given wins) */
  OPT_REPEAT,     /* --set K=V: any number of values */
  OPT_POSITIONAL, /* CONFIG: a bare argument, in table order */
} oo_opt_kind;

typedef struct {
  const char *name;    /* "--model", or a positional's placeholder "CONFIG" */
  const char *alias;   /* short form "-n", or NULL */
  oo_opt_kind kind;    /* see above */
  const char *metavar; /* the value's placeholder in help ("FILE"); NULL for flags and positionals */
  const char *def;     /* the default as help shows it; NULL: none */
  int required;        /* 1: the command fails with a usage error without it */
  const char *help;    /* one line */
} oo_option;

typedef struct {
  const char *name;                  /* as typed: overopt NAME ... */
  const char *summary;               /* one line for overopt --help */
  const char *example;               /* a complete example command line */
  const oo_option *opts;             /* the option table */
  int n_opts;                        /* its length */
  int (*run)(int argc, char **argv); /* the command (commands.h convention) */
  int collective;                    /* 1: every rank runs it and a failure aborts the job;
                                        0: rank 0 runs it, exit code broadcast */
} oo_cmd_spec;

#define OO_N_OPTS(table) ((int)(sizeof table / sizeof table[0]))

/* The parsed command line of one command. */
typedef struct {
  const oo_cmd_spec *spec;                       /* the table parsed against */
  int count[OO_MAX_OPTS];                        /* times option i was given */
  const char *value[OO_MAX_OPTS][OO_MAX_REPEAT]; /* its values in order (flags: "1") */
} oo_args;

/* Parses argv[1..argc) (argv[0] is the command name) against spec. On a usage error records a
 * message naming the command, the option and the nearest known option, and returns OO_ERR. */
int opts_parse(const oo_cmd_spec *spec, int argc, char **argv, oo_args *a);

/* Lookups by the option's name (or a positional's placeholder); a name not in the table is a
 * programming error (fatal). */
int opt_given(const oo_args *a, const char *name);              /* times given (flags: 0 or 1) */
const char *opt_str(const oo_args *a, const char *name);        /* last value, else the default, else NULL */
const char *opt_value(const oo_args *a, const char *name);      /* last value given, else NULL (prose defaults) */
const char *opt_item(const oo_args *a, const char *name, int i); /* i-th value of a repeatable option */
/* Integer / number value (or numeric default) in [lo, hi]; a usage error names the option. With
 * no value and no numeric default (none, or prose such as "the world size") *out is left as it is. */
int opt_long(const oo_args *a, const char *name, long lo, long hi, long *out);
int opt_double(const oo_args *a, const char *name, double lo, double hi, double *out);

/* `overopt NAME --help`: usage line, summary, every option with its default, an example, and the
 * exit codes. */
void opts_print_help(const oo_cmd_spec *spec, FILE *out);
/* The README's command reference: one section per command, in markdown. */
void opts_print_markdown(const oo_cmd_spec *const *specs, int n, FILE *out);
/* The usage line alone: "overopt NAME CONFIG [--set K=V ...] [--force]". */
void opts_print_usage(const oo_cmd_spec *spec, FILE *out);

/* A usage error of a command (prints "overopt NAME: error: MSG" and the usage line); returns 2. */
int opts_usage_error(const oo_cmd_spec *spec);
/* A runtime error (prints "overopt NAME: error: MSG" with the current error); returns 1. */
int opts_runtime_error(const char *name);

#endif
