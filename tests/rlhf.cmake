# rlhf and fit: reward-model, best-of-n and PPO math; functional-form fits (serial and ScaLAPACK).
oo_unit_test(NAME test_bon SOURCES test_bon.c)
oo_unit_test(NAME test_ppo_math SOURCES test_ppo_math.c)
oo_unit_test(NAME test_fit SOURCES test_fit.c)
oo_unit_test(NAME test_fit_mpi SOURCES test_fit_mpi.c NP 1)
oo_unit_test(NAME test_fit_mpi SOURCES test_fit_mpi.c NP 2)
oo_unit_test(NAME test_fit_mpi SOURCES test_fit_mpi.c NP 4)
