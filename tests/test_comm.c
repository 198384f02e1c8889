/* test_comm: the role communicators match the layout for several configs on 2 or 4 ranks:
 * sizes, ranks, and membership (checked by an allreduce over each communicator); a failed MPI
 * call is reported with its rank and communicator name (a broadcast from a root outside the
 * communicator, which MPI rejects with MPI_ERR_ROOT); oo_agree: one failing rank keeps its
 * message, the others get theirs, all return non-zero. */
#include <string.h>

#include "comm.h"
#include "core/core.h"
#include "layout.h"
#include "testing.h"

/* Sum of world ranks over comm, or -1 where comm is null. */
static long rank_sum(MPI_Comm comm, int world_rank) {
  if (comm == MPI_COMM_NULL) return -1;
  long mine = world_rank, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, comm);
  return sum;
}

static void check(int P, int rank, int k, int rollout, int rm) {
  oo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.rm.k = k;
  cfg.layout.rollout_ranks = rollout;
  cfg.layout.rm_ranks = rm;
  oo_layout lay;
  oo_comms c;
  EXPECT_OK(layout_build(&lay, P, &cfg));
  EXPECT_OK(comm_build(&c, MPI_COMM_WORLD, &lay));
  const oo_rank_role *ro = &lay.ranks[rank];
  EXPECT(c.rank == rank && c.size == P && c.k == k);
  int sz = -1, rk = -1;
  /* rm_comm */
  EXPECT((c.rm_comm != MPI_COMM_NULL) == ro->is_rm);
  if (c.rm_comm != MPI_COMM_NULL) {
    MPI_Comm_size(c.rm_comm, &sz);
    MPI_Comm_rank(c.rm_comm, &rk);
    EXPECT(sz == lay.n_rm && rk == ro->rm_index && c.rm_rank == rk);
    long expect = 0;
    for (int r = lay.first_rm; r < P; r++) expect += r;
    EXPECT(rank_sum(c.rm_comm, rank) == expect);
  }
  EXPECT(c.rm_size == lay.n_rm);
  /* policy_comm */
  EXPECT((c.policy_comm != MPI_COMM_NULL) == ro->is_rollout);
  if (c.policy_comm != MPI_COMM_NULL) {
    MPI_Comm_size(c.policy_comm, &sz);
    MPI_Comm_rank(c.policy_comm, &rk);
    EXPECT(sz == lay.n_rollout && rk == ro->rollout_index && c.policy_rank == rk);
    EXPECT(rank_sum(c.policy_comm, rank) == (long)lay.n_rollout * (lay.n_rollout - 1) / 2);
  }
  /* member_comm[m]: the ranks hosting m, ordered by replica index */
  for (int m = 0; m < k; m++) {
    int rep = layout_replica(&lay, rank, m);
    EXPECT((c.member_comm[m] != MPI_COMM_NULL) == (rep >= 0));
    EXPECT(c.member_rank[m] == rep && c.member_size[m] == lay.n_replicas[m]);
    if (c.member_comm[m] == MPI_COMM_NULL) continue;
    MPI_Comm_size(c.member_comm[m], &sz);
    MPI_Comm_rank(c.member_comm[m], &rk);
    EXPECT_MSG(sz == lay.n_replicas[m] && rk == rep, "P=%d k=%d rm=%d member %d: size %d rank %d",
               P, k, rm, m, sz, rk);
    long expect = 0;
    for (int j = 0; j < lay.n_replicas[m]; j++) expect += layout_member_rank(&lay, m, j);
    EXPECT(rank_sum(c.member_comm[m], rank) == expect);
  }
  comm_free(&c);
  EXPECT(c.rm_comm == MPI_COMM_NULL && c.member_comm == NULL);
  layout_free(&lay);
}

int main(int argc, char **argv) {
  if (oo_mpi_init(&argc, &argv)) oo_mpi_die(1);
  int P = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long live0 = oo_mem_live_blocks();
  for (int k = 1; k <= 6; k++)
    for (int rollout = 0; rollout <= P; rollout++)
      for (int rm = 0; rm <= P; rm++) check(P, rank, k, rollout, rm);
  EXPECT(oo_mem_live_blocks() == live0);
  /* A layout for another world size is refused on every rank alike. */
  {
    oo_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rm.k = 3;
    oo_layout lay;
    oo_comms c;
    EXPECT_OK(layout_build(&lay, P + 1, &cfg));
    EXPECT(comm_build(&c, MPI_COMM_WORLD, &lay) != 0);
    EXPECT(strstr(oo_error_message(), "layout was built for") != NULL);
    layout_free(&lay);
  }
  /* CHECK_MPI's report: the call, this rank, the communicator comm_build named. */
  {
    oo_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rm.k = 2;
    oo_layout lay;
    oo_comms c;
    EXPECT_OK(layout_build(&lay, P, &cfg));
    EXPECT_OK(comm_build(&c, MPI_COMM_WORLD, &lay));
    int x = 0;
    int mpi = MPI_Bcast(&x, 1, MPI_INT, P + 3, c.world); /* root out of range: MPI_ERR_ROOT, returned */
    EXPECT(mpi != MPI_SUCCESS);
    EXPECT(oo_mpi_status(mpi, __FILE__, __LINE__, "MPI_Bcast(from a bad root)") != 0);
    char want[64];
    snprintf(want, sizeof want, "failed on rank %d (communicator world)", rank);
    EXPECT_MSG(strstr(oo_error_message(), want) != NULL, "message '%s' lacks '%s'", oo_error_message(), want);
    if (c.rm_comm != MPI_COMM_NULL) {
      mpi = MPI_Bcast(&x, 1, MPI_INT, P + 3, c.rm_comm);
      EXPECT(oo_mpi_status(mpi, __FILE__, __LINE__, "MPI_Bcast(from a bad root)") != 0);
      EXPECT_MSG(strstr(oo_error_message(), "(communicator rm_comm)") != NULL, "message '%s'", oo_error_message());
    }
    /* oo_agree: the last rank fails; it keeps its message, the others record theirs */
    int rc = rank == P - 1 ? oo_error_at(__FILE__, __LINE__, "the last rank failed here") : OO_OK;
    rc = oo_agree(c.world, rc, "failed on another rank");
    EXPECT(rc != OO_OK);
    EXPECT(strstr(oo_error_message(), rank == P - 1 ? "the last rank failed here" : "failed on another rank") != NULL);
    EXPECT(oo_agree(c.world, OO_OK, "unused") == OO_OK);
    comm_free(&c);
    layout_free(&lay);
  }
  int fails = test_failures, all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("test_comm on %d ranks: %d failures over all ranks\n", P, all);
  int rc = TEST_SUMMARY();
  MPI_Finalize();
  return all ? 1 : rc;
}
