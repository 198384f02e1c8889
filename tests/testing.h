/* testing: tiny assertion macros for test executables. A failed expectation prints where and
 * why and makes the test exit non-zero; TEST_SUMMARY() returns the exit code. */
#ifndef OO_TESTING_H
#define OO_TESTING_H
#include <math.h>
#include <stdio.h>

static int test_failures = 0;
static int test_checks = 0;

#define EXPECT(cond)                                                                          \
  do {                                                                                        \
    test_checks++;                                                                            \
    if (!(cond)) {                                                                            \
      test_failures++;                                                                        \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                         \
  } while (0)
#define EXPECT_MSG(cond, ...)                                                                 \
  do {                                                                                        \
    test_checks++;                                                                            \
    if (!(cond)) {                                                                            \
      test_failures++;                                                                        \
      fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond);                      \
      fprintf(stderr, __VA_ARGS__);                                                           \
      fprintf(stderr, "\n");                                                                  \
    }                                                                                         \
  } while (0)
#define EXPECT_NEAR(a, b, tol)                                                                \
  do {                                                                                        \
    double ea_ = (double)(a), eb_ = (double)(b);                                              \
    test_checks++;                                                                            \
    if (!(fabs(ea_ - eb_) <= (tol))) {                                                        \
      test_failures++;                                                                        \
      fprintf(stderr, "%s:%d: FAILED: %s = %.9g, expected %s = %.9g (tol %g)\n", __FILE__,    \
              __LINE__, #a, ea_, #b, eb_, (double)(tol));                                     \
    }                                                                                         \
  } while (0)
#define EXPECT_OK(call)                                                                       \
  do {                                                                                        \
    test_checks++;                                                                            \
    if ((call) != 0) {                                                                        \
      test_failures++;                                                                        \
      fprintf(stderr, "%s:%d: FAILED: %s: %s\n", __FILE__, __LINE__, #call,                   \
              oo_error_message());                                                            \
    }                                                                                         \
  } while (0)
/* Tolerance for comparing two float32 forward passes of one GPT (C channels, L layers, T
 * positions) that differ only in the order of their sums: another BLAS kernel
 * (OPENBLAS_CORETYPE), another batch or chunk composition, the KV cache against a full forward.
 * Derivation: a float32 dot product of length K, summed in any order, is within
 * gamma_K sum_i |x_i y_i| of the exact value, gamma_K = K u / (1 - K u), u = 2^-24 (Higham,
 * Accuracy and Stability of Numerical Algorithms, eq. 3.5), so two orders differ by at most
 * 2 gamma_K sum |x y|. A forward pass chains 6 products per layer (qkv, Q K^T, P V, projection,
 * fc, fc projection) plus the head, depth 6L + 1, of inner length at most K = max(4C, T);
 * LayerNorm keeps their inputs O(1), so relative errors add up to (6L + 1) 2 gamma_K, times
 * `scale`, the magnitude of the compared output (at least 1). First order: it ignores the
 * amplification by LayerNorm's 1/std and the softmax, O(1) for the small random test models. */
static inline double tol_gpt_forward(int C, int L, int T, double scale) {
  const double K = 4.0 * C > T ? 4.0 * C : T, u = 0x1p-24, gamma = K * u / (1.0 - K * u);
  return (6.0 * L + 1.0) * 2.0 * gamma * (scale > 1.0 ? scale : 1.0);
}

#define TEST_SUMMARY()                                                                        \
  (printf("%d checks, %d failed\n", test_checks, test_failures), test_failures ? 1 : 0)
#endif
