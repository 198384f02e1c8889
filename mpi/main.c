/* overopt: command-line entry point (placeholder until the foundation lands). */
#include <stdio.h>
#include <mpi.h>
#include "core/core.h"
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  printf("overopt %s\n", OVEROPT_VERSION);
  MPI_Finalize();
  return 0;
}
