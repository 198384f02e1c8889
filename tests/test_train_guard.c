/* test_train_guard: train_guard_check passes finite values; a non-finite loss or gradient norm
 * stops with the stage, step and rank named (and which value), or, within run.skip_nonfinite,
 * is skipped and counted, and the batch after the allowed ones stops again. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "testing.h"
#include "train_step.h"

int main(void) {
  train_guard g = {0, 0};
  int skip = -1;
  EXPECT_OK(train_guard_check(&g, "pretrain d32L1H2", 1, 0, 3.5, 0.7, 0, &skip));
  EXPECT(skip == 0 && g.skipped == 0);
  EXPECT(train_guard_check(&g, "pretrain d32L1H2", 17, 1, NAN, 0.7, 0, &skip) != 0);
  const char *m = oo_error_message();
  printf("%s\n", m);
  EXPECT(strstr(m, "pretrain d32L1H2: step 17") && strstr(m, "loss") && strstr(m, "rank 1"));
  oo_error_clear();
  EXPECT(train_guard_check(&g, "rm member 2", 5, 3, 0.69, INFINITY, 0, &skip) != 0);
  m = oo_error_message();
  printf("%s\n", m);
  EXPECT(strstr(m, "rm member 2: step 5") && strstr(m, "gradient norm is not finite") && strstr(m, "rank 3"));
  oo_error_clear();
  /* run.skip_nonfinite = 2: two bad batches are skipped and counted, finite ones pass, the third stops */
  train_guard s = {2, 0};
  EXPECT_OK(train_guard_check(&s, "ppo mean", 1, 0, NAN, 1.0, 1, &skip));
  EXPECT(skip == 1 && s.skipped == 1);
  EXPECT_OK(train_guard_check(&s, "ppo mean", 2, 0, 0.5, 1.0, 1, &skip));
  EXPECT(skip == 0 && s.skipped == 1);
  EXPECT_OK(train_guard_check(&s, "ppo mean", 3, 0, 0.5, -INFINITY, 1, &skip));
  EXPECT(skip == 1 && s.skipped == 2);
  EXPECT(train_guard_check(&s, "ppo mean", 4, 0, NAN, NAN, 1, &skip) != 0);
  m = oo_error_message();
  printf("%s\n", m);
  EXPECT(skip == 0 && s.skipped == 2 && strstr(m, "ppo mean: step 4") && strstr(m, "after the allowed skips"));
  return TEST_SUMMARY();
}
