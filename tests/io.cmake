# io (HDF5) and data/corpus tests.
oo_unit_test(NAME test_h5io SOURCES test_h5io.c LABELS io)
oo_unit_test(NAME test_corpus SOURCES test_corpus.c LABELS data)
oo_script_test(NAME h5io_h5dump SCRIPT h5io_h5dump.sh LABELS io TIMEOUT 60)
# prefs.h5 through prefs_write and prefs_load, and malformed preference files.
oo_unit_test(NAME test_prefs SOURCES test_prefs.c LABELS data)
