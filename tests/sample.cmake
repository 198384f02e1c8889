# Sampling (gpt_sample.c), checkpoints (gpt_io.c) and the user tools (mpi/commands/cmd_tools.c).
oo_unit_test(NAME test_gpt_sample SOURCES test_gpt_sample.c LABELS model)
oo_unit_test(NAME test_gpt_io SOURCES test_gpt_io.c LABELS model)

# tools_cli.sh runs `overopt sample/logprob/score` on fixtures written by tools_ckpt.
add_executable(tools_ckpt tools_ckpt.c)
target_link_libraries(tools_ckpt PRIVATE oo_mpi)
add_test(NAME tools_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools_cli.sh $<TARGET_FILE:overopt> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/scratch/tools_cli $<TARGET_FILE:tools_ckpt>)
set_tests_properties(tools_cli PROPERTIES LABELS "script;tools" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 120)

# kv_blas_free.sh: the KV-cache path's bits under two OpenBLAS kernels (test_gpt_sample --dump).
add_test(NAME kv_blas_free
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/kv_blas_free.sh $<TARGET_FILE:overopt> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/scratch/kv_blas_free $<TARGET_FILE:test_gpt_sample>)
set_tests_properties(kv_blas_free PROPERTIES LABELS "script;model;blas_kernel" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 120)
