/* Unit tests of core: errors, random streams, helpers. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "core/core.h"
#include "core/machine.h"
#include "testing.h"

static int inner(int x) {
  REQUIRE(x > 0, "x must be positive, got %d", x);
  return OO_OK;
}
static int outer(int x) {
  CHECK(inner(x));
  return OO_OK;
}

int main(void) {
  /* errors carry the message and a trace */
  EXPECT(outer(1) == OO_OK);
  EXPECT(outer(-2) != OO_OK);
  EXPECT(strstr(oo_error_message(), "x must be positive, got -2") != NULL);
  /* users see the message alone; --debug (oo_error_set_debug) adds the location and the trace */
  EXPECT(!strcmp(oo_error_message(), "x must be positive, got -2"));
  oo_error_set_debug(1);
  EXPECT(strstr(oo_error_message(), "test_core.c:11: x must be positive") != NULL);
  EXPECT(strstr(oo_error_message(), "from test_core.c") != NULL);
  oo_error_set_debug(0);
  /* streams depend only on their key and counter */
  oo_rng a = oo_rng_make(1, RNG_TEST, 2, 3), b = oo_rng_make(1, RNG_TEST, 2, 3), c = oo_rng_make(1, RNG_TEST, 2, 4);
  EXPECT(oo_rng_u64(&a) == oo_rng_u64(&b));
  EXPECT(oo_rng_u64(&a) != oo_rng_u64(&c));
  /* moments of the uniform and normal draws */
  double s = 0, s2 = 0, n1 = 0, n2 = 0;
  oo_rng r = oo_rng_make(7, RNG_TEST, 0, 0);
  int N = 200000;
  for (int i = 0; i < N; i++) {
    double u = oo_rng_uniform(&r), z = oo_rng_normal(&r);
    s += u; s2 += u * u; n1 += z; n2 += z * z;
  }
  EXPECT_NEAR(s / N, 0.5, 0.005);
  EXPECT_NEAR(s2 / N - (s / N) * (s / N), 1.0 / 12, 0.002);
  EXPECT_NEAR(n1 / N, 0.0, 0.01);
  EXPECT_NEAR(n2 / N, 1.0, 0.02);
  /* shuffle is a permutation */
  int idx[100], seen[100] = {0};
  for (int i = 0; i < 100; i++) idx[i] = i;
  oo_rng_shuffle(&r, idx, 100);
  for (int i = 0; i < 100; i++) seen[idx[i]]++;
  for (int i = 0; i < 100; i++) EXPECT(seen[i] == 1);
  /* nearest names */
  const char *names[] = {"n_layer", "n_head", "d_model"};
  EXPECT(oo_nearest_name("n_layr", names, 3) == names[0]);
  EXPECT(oo_nearest_name("zzzzzz", names, 3) == NULL);
  /* the BLAS fallback guard (machine.h): every kernel name is ranked, an upgrade only widens */
  for (const char *c = OO_BLAS_KERNELS; c; c = strchr(c, '|')) {
    char k[32];
    if (*c == '|') c++;
    snprintf(k, sizeof k, "%.*s", (int)strcspn(c, "|"), c);
    EXPECT(oo_blas_kernel_width(k) >= 1 && oo_blas_kernel_width(k) <= 4);
    EXPECT(oo_blas_kernel_upgrade(k, k) == NULL);
    EXPECT(oo_blas_kernel_upgrade(k, "") == NULL && oo_blas_kernel_upgrade("", k) == NULL);
  }
  EXPECT(oo_blas_kernel_width("Haswel") == 0 && oo_blas_kernel_width("") == 0 && oo_blas_kernel_width(NULL) == 0);
  EXPECT(!strcmp(oo_blas_kernel_upgrade("Prescott", "Cooperlake"), "Cooperlake")); /* seen: Xeon model 207 */
  EXPECT(!strcmp(oo_blas_kernel_upgrade("Nehalem", "Haswell"), "Haswell"));
  EXPECT(!strcmp(oo_blas_kernel_upgrade("Sandybridge", "SkylakeX"), "SkylakeX"));
  EXPECT(!strcmp(oo_blas_kernel_upgrade("Zen", "SkylakeX"), "SkylakeX"));
  EXPECT(oo_blas_kernel_upgrade("Zen", "Haswell") == NULL);         /* AMD's own AVX2 kernel stays */
  EXPECT(oo_blas_kernel_upgrade("Cooperlake", "SkylakeX") == NULL); /* never narrower */
  EXPECT(oo_blas_kernel_upgrade("SkylakeX", "Cooperlake") == NULL); /* same vectors: OpenBLAS's choice */
  EXPECT(oo_blas_kernel_upgrade("Haswell", "Sandybridge") == NULL);
  EXPECT(oo_blas_kernel_upgrade("Prescott", "Unknown") == NULL);
  /* the widest kernel this CPU has is one OpenBLAS knows and at least as wide as the one that
   * loaded here (the suite runs with OPENBLAS_CORETYPE unset or naming a kernel the CPU runs) */
  const char *widest = oo_blas_kernel_widest();
  EXPECT(!widest[0] || oo_blas_kernel_known(widest));
  if (widest[0]) EXPECT(oo_blas_kernel_width(widest) >= oo_blas_kernel_width(oo_blas_kernel()));
  long live = oo_mem_live_blocks();
  float *f = xmalloc_floats(1000);
  EXPECT(((uintptr_t)f & 63) == 0);
  xfree(&f);
  EXPECT(f == NULL && oo_mem_live_blocks() == live);
  return TEST_SUMMARY();
}
