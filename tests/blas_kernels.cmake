# blas_kernels: the numerically sensitive unit tests once more under other OpenBLAS kernels
# (issue #10, item 7), so the suite itself checks that no expectation depends on one kernel's
# rounding. Haswell (AVX2) and Sandybridge (AVX) run on every x86-64-v3 CPU and differ from
# the default on AVX-512 machines (SkylakeX / Cooperlake) and from each other. Targets are
# defined in the other area files; $<TARGET_FILE> resolves them whichever file comes first.
foreach(kernel Haswell Sandybridge)
  foreach(t test_fit test_gpt_grad test_gpt_train test_gpt_sample test_bon test_ppo_math test_gold)
    add_test(NAME ${t}_${kernel} COMMAND $<TARGET_FILE:${t}>)
    set_tests_properties(${t}_${kernel} PROPERTIES LABELS "unit;blas_kernel" TIMEOUT 300
                         ENVIRONMENT "${OO_TEST_ENV};OPENBLAS_CORETYPE=${kernel}")
  endforeach()
endforeach()
oo_script_test(NAME blas_fallback SCRIPT blas_fallback.sh LABELS "mpi;blas_kernel" TIMEOUT 180)
