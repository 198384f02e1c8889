/* test_kern_expf: the kernels' exp approximation (kern_expf, src/model/kernels.h) against exp in
 * double, densely over its documented range [-87, 88]: a uniform grid of 2^25 points plus every
 * float within 64 ulps of each point where the Cody-Waite reduction switches n (x = (k + 1/2) ln2,
 * where |r| is largest) and around 0. The largest relative error must stay below the bound the
 * header documents (2.4e-7; every float in the range gives at most 2.31e-7, measured once
 * exhaustively, too slow for a unit test under the sanitizers); the test prints it, and libm's
 * expf's for comparison. Also: exact at 0, clamped (finite, positive) outside the range, NaN
 * propagates, and monotone on the grid. v8_expf and v8_expf4, its 8- and 4 x 8-lane forms, must
 * give kern_expf's bits on the grid and at the special values, compiled for the baseline and
 * (where the CPU has it) for x86-64-v3 as the kernels' clones are. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/kernels.h"
#include "testing.h"

#define DOC_BOUND 2.4e-7 /* "relative error < 2.4e-7 on [-87, 88]" (kernels.h) */

static double worst = 0, worst_x = 0, worst_libm = 0;
static long n_checked = 0;

static void check(float x) {
  const double want = exp((double)x);
  const double e = fabs((double)kern_expf(x) - want) / want;
  const double el = fabs((double)expf(x) - want) / want;
  if (e > worst) {
    worst = e;
    worst_x = x;
  }
  if (el > worst_libm) worst_libm = el;
  n_checked++;
}

/* Every float within k ulps of x (inside the range). */
static void check_around(float x, int k) {
  float lo = x, hi = x;
  for (int i = 0; i < k; i++) {
    lo = nextafterf(lo, -INFINITY);
    hi = nextafterf(hi, INFINITY);
  }
  for (float y = lo; y <= hi; y = nextafterf(y, INFINITY))
    if (y >= -87.0f && y <= 88.0f) check(y);
}

/* Lanes of v8_expf and v8_expf4 that differ from kern_expf, over the grid and the special values. */
#define V8_EXPF_MISMATCHES(name)                                                                          \
  static long name(long grid) {                                                                           \
    static const float special[8] = {0.0f, -0.0f, -200.0f, 200.0f, -INFINITY, INFINITY, NAN, -87.5f};     \
    long bad = 0;                                                                                         \
    for (long i = -1; i <= grid; i += 8) {                                                                \
      v8f x;                                                                                              \
      for (int l = 0; l < 8; l++)                                                                         \
        x[l] = i < 0 ? special[l] : (float)(-90.0 + 181.0 * (double)(i + l) / (double)grid);              \
      const v8f y = v8_expf(x);                                                                           \
      v8f x4[4] = {x, x * 0.5f, x - 1.0f, -x}, y4[4];                                                     \
      v8_expf4(y4, x4);                                                                                   \
      for (int l = 0; l < 8; l++) {                                                                       \
        const float want = kern_expf(x[l]), got = y[l];                                                   \
        bad += memcmp(&want, &got, sizeof want) != 0;                                                     \
        for (int k = 0; k < 4; k++) {                                                                     \
          const float w4 = kern_expf(x4[k][l]), g4 = y4[k][l];                                            \
          bad += memcmp(&w4, &g4, sizeof w4) != 0;                                                        \
        }                                                                                                 \
      }                                                                                                   \
    }                                                                                                     \
    return bad;                                                                                           \
  }
V8_EXPF_MISMATCHES(v8_mismatches_base)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target("arch=x86-64-v3"))) V8_EXPF_MISMATCHES(v8_mismatches_v3)
#endif

int main(void) {
  const long grid = 1L << 25;
  float prev = 0.0f;
  long not_monotone = 0;
  for (long i = 0; i <= grid; i++) {
    float x = (float)(-87.0 + 175.0 * (double)i / (double)grid);
    check(x);
    float y = kern_expf(x);
    if (i > 0 && y < prev) not_monotone++;
    prev = y;
  }
  const double ln2 = 0.69314718055994530942;
  for (int k = -126; k <= 127; k++) check_around((float)((k + 0.5) * ln2), 64);
  check_around(0.0f, 4096);
  check_around(-87.0f, 64);
  check_around(88.0f, 64);
  printf("kern_expf: max relative error %.3g at x = %.9g over %ld points in [-87, 88] (bound %.2g); "
         "libm expf %.3g\n", worst, worst_x, n_checked, DOC_BOUND, worst_libm);
  EXPECT_MSG(worst < DOC_BOUND, "max relative error %.3g at x = %.9g exceeds the documented %.2g", worst, worst_x,
             DOC_BOUND);
  EXPECT_MSG(not_monotone == 0, "%ld grid steps where kern_expf decreases", not_monotone);

  EXPECT(kern_expf(0.0f) == 1.0f);
  EXPECT(kern_expf(-200.0f) == kern_expf(-87.0f) && kern_expf(-87.0f) > 0.0f);
  EXPECT(kern_expf(-INFINITY) == kern_expf(-87.0f));
  EXPECT(kern_expf(200.0f) == kern_expf(88.0f) && isfinite(kern_expf(88.0f)));
  EXPECT(kern_expf(INFINITY) == kern_expf(88.0f));
  EXPECT(isnan(kern_expf(NAN)));

  const long vgrid = 1L << 22;
  EXPECT_MSG(v8_mismatches_base(vgrid) == 0, "v8_expf differs from kern_expf (baseline build)");
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    EXPECT_MSG(v8_mismatches_v3(vgrid) == 0, "v8_expf differs from kern_expf (x86-64-v3 build)");
  else
    printf("v8_expf: x86-64-v3 check skipped (this CPU lacks AVX2/FMA)\n");
#endif
  return TEST_SUMMARY();
}
