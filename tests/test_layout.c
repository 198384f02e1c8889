/* test_layout: the role layout's invariants over many (P, K, rollout_ranks, rm_ranks), checked
 * against the rules in layout.h computed independently here, plus the error messages. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "core/core.h"
#include "layout.h"
#include "testing.h"

static oo_config make_cfg(int k, int rollout, int rm) {
  oo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.rm.k = k;
  cfg.layout.rollout_ranks = rollout;
  cfg.layout.rm_ranks = rm;
  return cfg;
}

static void check_invariants(const oo_layout *lay, int P, int k, int rollout, int rm) {
  int nro = rollout ? rollout : P, nrm = rm ? rm : P;
  EXPECT(lay->n_ranks == P && lay->k == k && lay->n_rollout == nro && lay->n_rm == nrm);
  int ctrl = 0, gold = 0, total_hosted = 0;
  for (int r = 0; r < P; r++) {
    const oo_rank_role *ro = &lay->ranks[r];
    ctrl += ro->is_controller;
    EXPECT(ro->is_controller == (r == 0));
    EXPECT(ro->is_rollout == (r < nro));                  /* first rollout_ranks */
    EXPECT(ro->is_rm == (r >= P - nrm));                  /* last rm_ranks */
    EXPECT(ro->rm_index == (ro->is_rm ? r - (P - nrm) : -1));
    EXPECT(ro->rollout_index == (ro->is_rollout ? r : -1));
    EXPECT(ro->hosts_gold == ro->is_rm);
    gold += ro->hosts_gold;
    int hosted = 0;
    for (int m = 0; m < k; m++) hosted += layout_replica(lay, r, m) >= 0;
    EXPECT(hosted == ro->n_members);
    EXPECT_MSG(ro->is_rm ? hosted >= 1 : hosted == 0, "P=%d k=%d rm=%d rank %d hosts %d", P, k,
               rm, r, hosted);
    total_hosted += hosted;
    /* Balance: members per RM rank differ by at most one. */
    if (ro->is_rm) EXPECT(hosted == (nrm <= k ? (k - ro->rm_index + nrm - 1) / nrm : 1));
  }
  EXPECT(ctrl == 1 && gold == nrm);
  /* Replica sets: member m's replica indices are exactly 0..n_replicas[m]-1, each on one rank;
   * the replica sets partition the RM ranks when nrm >= k. */
  int replica_total = 0;
  for (int m = 0; m < k; m++) {
    int nrep = lay->n_replicas[m];
    EXPECT_MSG(nrep >= 1, "P=%d k=%d rm=%d member %d not hosted", P, k, rm, m);
    EXPECT(nrep == (nrm <= k ? 1 : nrm / k + (m < nrm % k)));
    replica_total += nrep;
    for (int j = 0; j < nrep; j++) {
      int owners = 0;
      for (int r = 0; r < P; r++) owners += layout_replica(lay, r, m) == j;
      EXPECT_MSG(owners == 1, "P=%d k=%d member %d replica %d on %d ranks", P, k, m, j, owners);
      int r = layout_member_rank(lay, m, j);
      EXPECT(r >= 0 && layout_replica(lay, r, m) == j);
    }
    EXPECT(layout_member_rank(lay, m, nrep) == -1);
  }
  EXPECT(replica_total == total_hosted);
  if (nrm >= k) EXPECT(replica_total == nrm); /* disjoint: every RM rank in exactly one set */
  /* Gold scoring: each sample gold-scored by exactly one rank. */
  for (int i = 0; i < 3 * P + 1; i++) {
    int owners = 0;
    for (int r = 0; r < P; r++) owners += layout_gold_scores_sample(lay, r, i);
    EXPECT(owners == 1);
  }
}

int main(void) {
  long live0 = oo_mem_live_blocks();
  int cases = 0;
  for (int P = 1; P <= 12; P++)
    for (int k = 1; k <= 7; k++)
      for (int rollout = 0; rollout <= P; rollout++)
        for (int rm = 0; rm <= P; rm++) {
          oo_config cfg = make_cfg(k, rollout, rm);
          oo_layout lay;
          EXPECT_OK(layout_build(&lay, P, &cfg));
          check_invariants(&lay, P, k, rollout, rm);
          layout_free(&lay);
          cases++;
        }
  printf("%d layouts checked\n", cases);

  /* P = 1: everything on rank 0. */
  {
    oo_config cfg = make_cfg(5, 0, 0);
    oo_layout lay;
    EXPECT_OK(layout_build(&lay, 1, &cfg));
    const oo_rank_role *ro = &lay.ranks[0];
    EXPECT(ro->is_controller && ro->is_rollout && ro->is_rm && ro->hosts_gold);
    EXPECT(ro->n_members == 5);
    for (int m = 0; m < 5; m++) EXPECT(layout_replica(&lay, 0, m) == 0 && lay.n_replicas[m] == 1);
    layout_free(&lay);
  }
  /* Round-robin and replicas, spelled out: P=3 (K=5): rank j hosts m % 3 == j;
   * P=7 (K=5): members 0 and 1 have two replicas (ranks 0,5 and 1,6). */
  {
    oo_config cfg = make_cfg(5, 0, 0);
    oo_layout lay;
    EXPECT_OK(layout_build(&lay, 3, &cfg));
    EXPECT(layout_replica(&lay, 0, 0) == 0 && layout_replica(&lay, 0, 3) == 0);
    EXPECT(layout_replica(&lay, 1, 1) == 0 && layout_replica(&lay, 1, 4) == 0);
    EXPECT(layout_replica(&lay, 2, 2) == 0 && lay.ranks[2].n_members == 1);
    layout_free(&lay);
    EXPECT_OK(layout_build(&lay, 7, &cfg));
    EXPECT(layout_replica(&lay, 5, 0) == 1 && layout_replica(&lay, 6, 1) == 1);
    EXPECT(lay.n_replicas[0] == 2 && lay.n_replicas[1] == 2 && lay.n_replicas[4] == 1);
    char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    layout_print(&lay, f);
    fclose(f);
    printf("%s", buf);
    EXPECT(strstr(buf, "m0(r0/2)") && strstr(buf, "m0(r1/2)") && strstr(buf, " m4\n"));
    EXPECT(strstr(buf, "controller") && strstr(buf, "7 ranks"));
    layout_free(&lay);
  }
  /* Errors name the key and the fix. */
  {
    oo_layout lay;
    oo_config cfg = make_cfg(5, 5, 0);
    EXPECT(layout_build(&lay, 4, &cfg) != 0);
    EXPECT_MSG(strstr(oo_error_message(), "layout.rollout_ranks = 5"), "%s", oo_error_message());
    cfg = make_cfg(5, 0, 9);
    EXPECT(layout_build(&lay, 4, &cfg) != 0);
    EXPECT_MSG(strstr(oo_error_message(), "layout.rm_ranks = 9"), "%s", oo_error_message());
    cfg = make_cfg(5, -1, 0);
    EXPECT(layout_build(&lay, 4, &cfg) != 0);
    cfg = make_cfg(0, 0, 0);
    EXPECT(layout_build(&lay, 4, &cfg) != 0);
    EXPECT_MSG(strstr(oo_error_message(), "rm.k"), "%s", oo_error_message());
  }
  EXPECT(oo_mem_live_blocks() == live0);
  return TEST_SUMMARY();
}
