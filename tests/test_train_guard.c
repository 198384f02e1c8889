/* test_train_guard: train_check_finite passes finite values and names the stage, step and rank
 * (and which value) otherwise. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "testing.h"
#include "train_guard.h"

int main(void) {
  EXPECT_OK(train_check_finite("pretrain d32L1H2", 1, 0, 3.5, 0.7));
  EXPECT(train_check_finite("pretrain d32L1H2", 17, 1, NAN, 0.7) != 0);
  const char *m = oo_error_message();
  printf("%s\n", m);
  EXPECT(strstr(m, "pretrain d32L1H2: step 17") && strstr(m, "loss") && strstr(m, "rank 1"));
  oo_error_clear();
  EXPECT(train_check_finite("rm member 2", 5, 3, 0.69, INFINITY) != 0);
  m = oo_error_message();
  printf("%s\n", m);
  EXPECT(strstr(m, "rm member 2: step 5") && strstr(m, "gradient norm is not finite") && strstr(m, "rank 3"));
  return TEST_SUMMARY();
}
