/* overopt launch LAUNCHER ARGS...: runs the MPI launcher as a child and turns SIGTERM, SIGINT
 * and SIGHUP sent to this process into SIGUSR1 for the launcher, so that stopping the job with
 * `kill`, Ctrl-C or a scheduler's SIGTERM ends it with a checkpoint and exit code 3 (#12).
 *
 * Why: Open MPI 4's mpirun forwards SIGUSR1 to every rank (overopt stops at the next step and
 * every rank returns 3, which mpirun returns) but not SIGTERM: on SIGTERM it sends the ranks
 * SIGTERM itself only after odls_base_sigkill_timeout, SIGKILL as long again later, and exits 1
 * whatever the ranks returned; no MCA parameter changes that exit code.
 *
 * Invariants:
 * - This process is not an MPI process (main.c calls cmd_launch before MPI_Init) and refuses to
 *   run under a launcher.
 * - The launcher runs in its own process group, so a terminal's Ctrl-C reaches only this process,
 *   which forwards it as SIGUSR1; a second SIGTERM/SIGINT/SIGHUP sends the launcher SIGTERM (ends
 *   the job without waiting for the checkpoint). SIGUSR1 is forwarded as it is. SIGHUP is left
 *   alone when it is ignored (nohup).
 * - The exit code is the launcher's (128 + signal when it was killed by one), 127 when it could
 *   not be started.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"

static const oo_option opts[] = {
    {"LAUNCHER...", NULL, OPT_POSITIONAL, NULL, NULL, 1,
     "the launcher and its arguments, e.g. mpirun -n 4 overopt run CONFIG (everything after `launch`)"},
};
const oo_cmd_spec cmd_launch_spec = {
    "launch", "runs mpirun (or srun) so that SIGTERM/SIGINT to it stop the job with a checkpoint and exit code 3",
    "overopt launch mpirun -n 4 overopt run configs/quickstart.cfg", opts, OO_N_OPTS(opts), cmd_launch, 0};

static const char *sig_name(int sig) {
  switch (sig) {
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGHUP: return "SIGHUP";
  case SIGUSR1: return "SIGUSR1";
  default: return "a signal";
  }
}

int cmd_launch(int argc, char **argv) {
  int first = argc > 1 && !strcmp(argv[1], "--") ? 2 : 1;
  if (first >= argc) {
    fprintf(stderr, "overopt launch: error: no launcher given\n");
    opts_print_usage(&cmd_launch_spec, stderr);
    return OO_EXIT_USAGE;
  }
  if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_RANK") || getenv("PMIX_RANK")) {
    fprintf(stderr, "overopt launch: error: this is already an MPI rank: run `overopt launch mpirun -n P overopt ...`"
                    " outside the launcher\n");
    return OO_EXIT_USAGE;
  }
  sigset_t set, old;
  sigemptyset(&set);
  const int forwarded[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
  struct sigaction hup;
  sigaction(SIGHUP, NULL, &hup);
  /* under nohup SIGHUP stays ignored (the child inherits that); SIGINT is forwarded even where a
   * non-interactive shell ignores it for background jobs: blocked, it stays pending for us */
  for (int i = 0; i < (hup.sa_handler == SIG_IGN ? 3 : 4); i++) sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGCHLD);
  /* blocked before the fork: a signal that comes early waits in sigwaitinfo below */
  if (sigprocmask(SIG_BLOCK, &set, &old)) {
    fprintf(stderr, "overopt launch: error: sigprocmask: %s\n", strerror(errno));
    return OO_EXIT_ERROR;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "overopt launch: error: fork: %s\n", strerror(errno));
    return OO_EXIT_ERROR;
  }
  if (pid == 0) {
    setpgid(0, 0); /* a terminal's Ctrl-C reaches only the parent, which forwards it */
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], argv + first);
    fprintf(stderr, "overopt launch: error: cannot run '%s': %s\n", argv[first], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid); /* also here: whichever of the two runs first */
  int status = 0, asked = 0;
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "overopt launch: error: sigwaitinfo: %s\n", strerror(errno));
      kill(pid, SIGTERM);
    }
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) {
      fprintf(stderr, "overopt launch: error: waitpid: %s\n", strerror(errno));
      return OO_EXIT_ERROR;
    }
    if (sig == SIGCHLD || sig < 0) continue;
    if (sig != SIGUSR1 && asked) {
      fprintf(stderr, "overopt launch: %s again: ending the job now (SIGTERM to %s, pid %ld)\n", sig_name(sig),
              argv[first], (long)pid);
      kill(pid, SIGTERM);
      continue;
    }
    fprintf(stderr, "overopt launch: %s: asking the job to checkpoint and stop (SIGUSR1 to %s, pid %ld)%s\n",
            sig_name(sig), argv[first], (long)pid, sig != SIGUSR1 ? "; a second one ends it at once" : "");
    kill(pid, SIGUSR1);
    asked = 1;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : OO_EXIT_ERROR;
  if (asked) fprintf(stderr, "overopt launch: the job exited with %d%s\n", code, code == 3 ? " (stopped: rerun to continue)" : "");
  return code;
}
