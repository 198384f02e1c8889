/* fake_corename: preloaded by blas_fallback.sh to stand in for a CPU that OpenBLAS does not know.
 * While OPENBLAS_CORETYPE is unset it reports the generic Prescott kernel, as OpenBLAS 0.3.21
 * does on such a CPU (seen: Intel Xeon family 6 model 207); once the variable is set, the real
 * library's answer. Only the name is faked: the library loads and computes as it would. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void) {
  static char generic[] = "Prescott";
  if (!getenv("OPENBLAS_CORETYPE")) return generic;
  char *(*real)(void) = (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
  return real ? real() : generic;
}
