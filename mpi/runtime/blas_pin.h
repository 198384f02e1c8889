/* blas_pin: the OpenBLAS kernel a command line asks for, found before MPI_Init so that
 * oo_blas_kernel_pin (core/machine.h) can re-execute the program with OPENBLAS_CORETYPE set.
 * A command given a config takes run.blas_kernel from it (and its --set overrides) alone, so
 * a run does not depend on the shell it was started from; a command without a config (bench,
 * the checkpoint tools, --version) takes the environment variable OVEROPT_BLAS_KERNEL. */
#ifndef OO_MPI_BLAS_PIN_H
#define OO_MPI_BLAS_PIN_H

#include <stddef.h>

/* Writes the requested kernel to want ("" for the machine's own choice) and the name of the
 * setting it came from to *source ("run.blas_kernel" or "OVEROPT_BLAS_KERNEL"). A config that
 * does not load gives "": the command itself reports the error later. Single process, no MPI. */
void blas_pin_requested(char *want, size_t cap, const char **source, int argc, char **argv);

#endif
