oo_unit_test(NAME test_core SOURCES test_core.c)
oo_unit_test(NAME test_atomic_file SOURCES test_atomic_file.c)
oo_unit_test(NAME test_train_guard SOURCES test_train_guard.c LIB oo_mpi)
# The gradient allreduce of every training stage against the scaled sum computed directly.
oo_unit_test(NAME test_allreduce SOURCES test_allreduce.c NP 2)
oo_unit_test(NAME test_allreduce SOURCES test_allreduce.c NP 4)
