/* machine: what this process computes on, for provenance and `overopt bench`, and the pinning
 * of OpenBLAS's kernel (run.blas_kernel, issue #10).
 *
 * OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernel once, when the library loads, from
 * the CPU or from the environment variable OPENBLAS_CORETYPE. So a pin can only take effect in
 * a new process image: oo_blas_kernel_pin sets the variable and re-executes the program
 * (/proc/self/exe, same argv) before MPI_Init; under mpirun every rank does so on its own and
 * keeps its PMIx environment. Nothing here touches MPI.
 */
#ifndef OO_CORE_MACHINE_H
#define OO_CORE_MACHINE_H

/* OpenBLAS x86-64 kernel names accepted by run.blas_kernel and OVEROPT_BLAS_KERNEL: those
 * Debian 12's libopenblas0-pthread (0.3.21) reports back as themselves when forced. */
#define OO_BLAS_KERNELS                                                                         \
  "Prescott|Core2|Penryn|Dunnington|Nehalem|Atom|Sandybridge|Haswell|SkylakeX|Cooperlake|"      \
  "Opteron|Barcelona|Bobcat|Bulldozer|Piledriver|Steamroller|Excavator|Zen"

/* "AMD EPYC (AuthenticAMD family 25 model 17)": /proc/cpuinfo's model name, vendor, family and
 * model (a VM may hide the model name, not the numbers); "unknown CPU" without /proc. */
const char *oo_cpu_model(void);
/* The OpenBLAS kernel in use (openblas_get_corename), e.g. "Haswell". */
const char *oo_blas_kernel(void);
/* Which clone of the project's hot kernels this CPU runs (src/model/kernels.h KERN_HOT):
 * "x86-64-v3", "baseline x86-64", or "native" in an OVEROPT_NATIVE build. */
const char *oo_kernel_target(void);

/* 1 when the CPU and OS support x86-64-v4's AVX-512 (F, CD, BW, DQ, VL): the KV-cache product's
 * wide panels (kernels.h kern_panel_width). */
int oo_cpu_has_avx512(void);
/* 1 when name is one of OO_BLAS_KERNELS. */
int oo_blas_kernel_known(const char *name);
/* Makes OpenBLAS run kernel `want` (one of OO_BLAS_KERNELS; "" leaves the machine's choice,
 * unless the fallback guard below widens it, recording OpenBLAS's kernel in OVEROPT_BLAS_FALLBACK):
 * when OPENBLAS_CORETYPE differs it sets it and re-executes this program with argv, once (an
 * environment marker stops a loop). Returns only when no re-execution was needed or possible;
 * then call oo_blas_kernel_require. Call before MPI_Init and before any thread starts. */
void oo_blas_kernel_pin(const char *want, char **argv);
/* The fallback guard (run.blas_kernel = "", the machine's own choice). OpenBLAS 0.3.21 picks its
 * kernel from the CPU's family and model numbers; a CPU newer than the library (seen: an Intel
 * Xeon, family 6 model 207, in a VM) gets the generic Prescott kernel, SSE3 only, about 3.5x
 * slower than the AVX-512 one the CPU runs. oo_blas_kernel_widest names the kernel of the widest
 * vectors this CPU and its OS support: "Cooperlake" (AVX-512 with BF16), "SkylakeX" (AVX-512
 * F/CD/BW/DQ/VL), "Haswell" (AVX2 + FMA), "Sandybridge" (AVX), or "" (SSE only).
 * oo_blas_kernel_width ranks a kernel by the vectors of its code: 1 SSE, 2 AVX, 3 AVX2 + FMA,
 * 4 AVX-512; 0 for a name not in OO_BLAS_KERNELS. oo_blas_kernel_upgrade returns `widest` when
 * it is wider than `chosen`, else NULL: Zen (AVX2) on an AVX2 CPU stays, Prescott on an AVX-512
 * CPU becomes SkylakeX or Cooperlake. */
const char *oo_blas_kernel_widest(void);
int oo_blas_kernel_width(const char *name);
const char *oo_blas_kernel_upgrade(const char *chosen, const char *widest);
/* In a process the guard re-executed: the kernel OpenBLAS had chosen (the environment variable
 * OVEROPT_BLAS_FALLBACK, set before the re-execution), when the kernel now in use is the one
 * OPENBLAS_CORETYPE names and another; NULL otherwise. For logs and provenance. */
const char *oo_blas_kernel_fallback(void);
/* The line a run prints (rank 0, with its start) when the guard switched: "OpenBLAS chose its
 * Prescott kernel for this CPU (...), which it does not know; running Cooperlake, ...", or NULL.
 * Not a warning on every command: tools' stderr stays theirs, and --version, bench and
 * provenance.txt name both kernels. */
const char *oo_blas_fallback_note(void);
/* Fails, naming `key` (e.g. "run.blas_kernel"), when want is set and the kernel in use is
 * another (the CPU lacks its instructions, or the library could not be switched). */
int oo_blas_kernel_require(const char *want, const char *key);

#endif
