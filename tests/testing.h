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
#define TEST_SUMMARY()                                                                        \
  (printf("%d checks, %d failed\n", test_checks, test_failures), test_failures ? 1 : 0)
#endif
