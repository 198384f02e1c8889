/* watchdog: a lost rank, a vanished launcher or a stalled collective ends the job loudly, with
 * a message naming the rank, the stage and the MPI operation (#12, item 6).
 *
 * How: every rank starts one thread (oo_watchdog_start) that wakes every 100 ms and never calls
 * MPI, so MPI_THREAD_FUNNELED suffices (oo_mpi_init asks for it; with less the watchdog is off,
 * with a warning). The MPI operations the program uses are wrapped through the standard
 * profiling interface (PMPI_*): each records "in <operation> since <time>" for the thread to read.
 * The thread ends the process with _exit(1) after writing its message to stderr; mpirun then
 * ends the other ranks ("exited with non-zero status").
 * - Launcher gone (jobs of two or more ranks): getppid() changed (mpirun or orted was killed):
 *   the rank stops at once, so no rank runs on into further stages after mpirun's death. A
 *   single rank may be a singleton started from a shell that may end (nohup): not checked.
 * - Lost rank: the lowest rank on each host (its leader; rank 0 on rank 0's host) watches every
 *   rank on that host, the others watch their leader: a process that has ended or is a zombie.
 *   So a rank that dies on any host is named by a rank of its host within 0.1 s. A host lost
 *   whole (power, network: no rank there can report) is found by the timeout below, or by
 *   mpirun when its connection to that host's daemon fails. A heartbeat would not find it
 *   sooner: this thread cannot call MPI while the main thread waits in a collective
 *   (MPI_THREAD_FUNNELED), and a file heartbeat needs a shared file system with coherent times.
 * - Stall (every rank): one MPI operation has waited longer than run.watchdog_s (default 60 s;
 *   0 turns the check off). Each host's leader adds the state of the ranks on its host (running,
 *   stopped), so a stopped rank is named on whichever host it runs.
 */
#ifndef OO_WATCHDOG_H
#define OO_WATCHDOG_H

#include <mpi.h>

/* Collective on world: gathers every rank's host and pid, then starts the thread. Calling it
 * again only updates the timeout. timeout_s <= 0: no stall check (the other checks stay). */
int oo_watchdog_start(MPI_Comm world, double timeout_s);
/* Names the stage being run, for the messages (a string with static storage). */
void oo_watchdog_stage(const char *stage);

#endif
