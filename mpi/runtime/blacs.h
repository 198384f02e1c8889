/* blacs: the BLACS C interface and the ScaLAPACK descriptor helpers (libscalapack-openmpi), for
 * the project's ScaLAPACK users (fit_dist.c: PDGELS; laplace.c: PDPOTRF/PDPOTRS). Fortran
 * routines take arguments by reference, hidden character lengths last. */
#ifndef OO_BLACS_H
#define OO_BLACS_H

#include <mpi.h>

void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int context, int what, int *val);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);

#endif
