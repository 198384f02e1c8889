/* machine: CPU model, OpenBLAS kernel and the kernel pin (see machine.h). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "core/machine.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

/* Set in the re-executed image: the kernel the pin asked for, so a second pass never execs. */
#define PIN_MARKER "OVEROPT_BLAS_KERNEL_PINNED"

/* The value of "key\t: value" in a /proc/cpuinfo line, or NULL. */
static const char *cpuinfo_value(const char *line, const char *key) {
  size_t n = strlen(key);
  if (strncmp(line, key, n) || (line[n] != ' ' && line[n] != '\t' && line[n] != ':')) return NULL;
  const char *colon = strchr(line + n, ':');
  if (!colon) return NULL;
  colon++;
  while (*colon == ' ') colon++;
  return colon;
}

const char *oo_cpu_model(void) {
  static char model[320];
  if (model[0]) return model;
  char name[160] = "", vendor[32] = "", family[16] = "", number[16] = "", line[512];
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0] && name[0]) break; /* the first processor's block is enough */
    const char *v;
    if ((v = cpuinfo_value(line, "model name"))) snprintf(name, sizeof name, "%s", v);
    else if ((v = cpuinfo_value(line, "vendor_id"))) snprintf(vendor, sizeof vendor, "%s", v);
    else if ((v = cpuinfo_value(line, "cpu family"))) snprintf(family, sizeof family, "%s", v);
    else if ((v = cpuinfo_value(line, "model"))) snprintf(number, sizeof number, "%s", v);
  }
  if (f) fclose(f);
  if (name[0])
    snprintf(model, sizeof model, "%s (%s family %s model %s)", name, vendor, family, number);
  else
    snprintf(model, sizeof model, "unknown CPU");
  return model;
}

const char *oo_blas_kernel(void) { return openblas_get_corename(); }

const char *oo_kernel_target(void) {
#if defined(OVEROPT_TARGET_CLONES)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "x86-64-v3"
                                                                         : "baseline x86-64";
#elif defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
  return "native"; /* OVEROPT_NATIVE, or flags that already assume x86-64-v3 */
#else
  return "baseline";
#endif
}

int oo_cpu_has_avx512(void) {
  __builtin_cpu_init(); /* libgcc's checks include the OS's support (XCR0) for the registers */
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/* 1 when name is one of the '|'-separated names of list. */
static int in_list(const char *list, const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (!n) return 0;
  for (const char *c = list; c; c = strchr(c, '|')) {
    if (*c == '|') c++;
    if (!strncmp(c, name, n) && (c[n] == '|' || c[n] == 0)) return 1;
  }
  return 0;
}

int oo_blas_kernel_known(const char *name) { return in_list(OO_BLAS_KERNELS, name); }

const char *oo_blas_kernel_widest(void) {
  if (oo_cpu_has_avx512()) return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return "";
}

int oo_blas_kernel_width(const char *name) {
  static const struct {
    const char *names; /* '|'-separated, as in OO_BLAS_KERNELS */
    int width;
  } classes[] = {{"Prescott|Core2|Penryn|Dunnington|Nehalem|Atom|Opteron|Barcelona|Bobcat", 1},
                 {"Sandybridge|Bulldozer|Piledriver|Steamroller|Excavator", 2},
                 {"Haswell|Zen", 3},
                 {"SkylakeX|Cooperlake", 4}};
  for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++)
    if (in_list(classes[k].names, name)) return classes[k].width;
  return 0;
}

const char *oo_blas_kernel_upgrade(const char *chosen, const char *widest) {
  int have = oo_blas_kernel_width(chosen), can = oo_blas_kernel_width(widest);
  return have > 0 && can > have ? widest : NULL; /* an unknown name: leave OpenBLAS's choice */
}

const char *oo_blas_kernel_fallback(void) {
  const char *was = getenv("OVEROPT_BLAS_FALLBACK"), *forced = getenv("OPENBLAS_CORETYPE"), *now = oo_blas_kernel();
  return was && forced && now && !strcmp(forced, now) && strcmp(was, now) ? was : NULL;
}

const char *oo_blas_fallback_note(void) {
  static char note[512];
  const char *was = oo_blas_kernel_fallback();
  if (!was) return NULL;
  snprintf(note, sizeof note,
           "OpenBLAS chose its %s kernel for this CPU (%s), which it does not know; running %s, the widest this CPU "
           "supports (set run.blas_kernel or OPENBLAS_CORETYPE to choose a kernel yourself)",
           was, oo_cpu_model(), oo_blas_kernel());
  return note;
}

void oo_blas_kernel_pin(const char *want, char **argv) {
  if (!want || !want[0]) { /* the machine's own choice, unless OpenBLAS fell back (the guard) */
    const char *upgrade = getenv("OPENBLAS_CORETYPE") /* the user's to keep */
                              ? NULL
                              : oo_blas_kernel_upgrade(oo_blas_kernel(), oo_blas_kernel_widest());
    if (!upgrade || setenv("OVEROPT_BLAS_FALLBACK", oo_blas_kernel(), 1)) return;
    want = upgrade; /* the re-executed image finds OPENBLAS_CORETYPE set: no second upgrade */
  }
  if (!oo_blas_kernel_known(want)) return; /* unknown: the config check says so */
  const char *now = getenv("OPENBLAS_CORETYPE"), *pinned = getenv(PIN_MARKER);
  if (now && !strcmp(now, want)) return;   /* the library loaded with it already */
  if (pinned && !strcmp(pinned, want)) return; /* exec'd once for it: do not loop */
  if (setenv("OPENBLAS_CORETYPE", want, 1) || setenv(PIN_MARKER, want, 1)) return;
  execv("/proc/self/exe", argv);
  /* exec failed (no /proc): carry on; oo_blas_kernel_require reports the kernel mismatch */
  fprintf(stderr, "overopt: could not re-execute /proc/self/exe to select BLAS kernel %s: %s\n", want,
          strerror(errno));
}

int oo_blas_kernel_require(const char *want, const char *key) {
  if (!want || !want[0]) return OO_OK;
  REQUIRE(oo_blas_kernel_known(want), "%s = \"%s\" is not an OpenBLAS kernel: accepted %s", key, want,
          OO_BLAS_KERNELS);
  const char *got = oo_blas_kernel();
  REQUIRE(got && !strcmp(got, want),
          "%s = \"%s\" but OpenBLAS runs its %s kernel: this CPU (%s) lacks the instructions of %s, or "
          "OPENBLAS_CORETYPE could not be set before the library loaded; choose a kernel this CPU "
          "supports (Haswell runs on every x86-64-v3 CPU) or leave %s empty",
          key, want, got ? got : "(unknown)", oo_cpu_model(), want, key);
  return OO_OK;
}
