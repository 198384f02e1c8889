/* layout: rank roles and member placement (see layout.h for the rules and invariants). */
#include "layout.h"

#include <string.h>

#include "core/core.h"

int layout_build(oo_layout *lay, int P, const oo_config *cfg) {
  memset(lay, 0, sizeof *lay);
  const int K = cfg->rm.k;
  const int nro = cfg->layout.rollout_ranks, nrm = cfg->layout.rm_ranks;
  REQUIRE(P >= 1, "world size must be at least 1, got %d", P);
  /* the config's range of rm.k (the schema's, for a config made in code) */
  REQUIRE(K >= 1 && K <= CFG_MAX_MEMBERS, "rm.k = %d: the ensemble has 1 to %d members", K, CFG_MAX_MEMBERS);
  REQUIRE(nro >= 0 && nro <= P,
          "layout.rollout_ranks = %d does not fit a world of %d rank%s: set it to 0 (every "
          "rank) or 1..%d, or run with more ranks",
          nro, P, P == 1 ? "" : "s", P);
  REQUIRE(nrm >= 0 && nrm <= P,
          "layout.rm_ranks = %d does not fit a world of %d rank%s: set it to 0 (every rank) "
          "or 1..%d, or run with more ranks",
          nrm, P, P == 1 ? "" : "s", P);

  lay->n_ranks = P;
  lay->k = K;
  lay->n_rollout = nro ? nro : P;
  lay->n_rm = nrm ? nrm : P;
  lay->first_rm = P - lay->n_rm;
  lay->ranks = xcalloc((size_t)P, sizeof *lay->ranks);
  lay->replica = xmalloc((size_t)P * (size_t)K * sizeof *lay->replica);
  lay->n_replicas = xcalloc((size_t)K, sizeof *lay->n_replicas);
  for (size_t i = 0; i < (size_t)P * (size_t)K; i++) lay->replica[i] = -1;

  for (int r = 0; r < P; r++) {
    oo_rank_role *ro = &lay->ranks[r];
    ro->is_controller = r == 0;
    ro->is_rollout = r < lay->n_rollout;
    ro->rollout_index = ro->is_rollout ? r : -1;
    ro->is_rm = r >= lay->first_rm;
    ro->hosts_gold = ro->is_rm;
    ro->rm_index = ro->is_rm ? r - lay->first_rm : -1;
    if (!ro->is_rm) continue;
    int j = ro->rm_index;
    if (lay->n_rm <= K) { /* several members per rank, round-robin, one replica each */
      for (int m = j; m < K; m += lay->n_rm) {
        lay->replica[(size_t)r * K + m] = 0;
        lay->n_replicas[m] = 1;
        ro->n_members++;
      }
    } else { /* one member per rank, replicated */
      int m = j % K;
      lay->replica[(size_t)r * K + m] = j / K;
      lay->n_replicas[m]++;
      ro->n_members = 1;
    }
  }
  return OO_OK;
}

void layout_free(oo_layout *lay) {
  xfree(&lay->ranks);
  xfree(&lay->replica);
  xfree(&lay->n_replicas);
  memset(lay, 0, sizeof *lay);
}

int layout_replica(const oo_layout *lay, int rank, int member) {
  if (rank < 0 || rank >= lay->n_ranks || member < 0 || member >= lay->k) return -1;
  return lay->replica[(size_t)rank * lay->k + member];
}

int layout_member_rank(const oo_layout *lay, int member, int replica) {
  for (int r = lay->first_rm; r < lay->n_ranks; r++)
    if (lay->replica[(size_t)r * lay->k + member] == replica) return r;
  return -1;
}

int layout_gold_scores_sample(const oo_layout *lay, int rank, int sample) {
  if (rank < 0 || rank >= lay->n_ranks || !lay->ranks[rank].hosts_gold) return 0;
  return (sample / LAYOUT_GOLD_BLOCK) % lay->n_rm == lay->ranks[rank].rm_index;
}

/* "rank 3" or "ranks 0-3". */
static void rank_range(char *out, size_t cap, int lo, int hi) {
  if (lo == hi)
    snprintf(out, cap, "rank %d", lo);
  else
    snprintf(out, cap, "ranks %d-%d", lo, hi);
}

void layout_print(const oo_layout *lay, FILE *out) {
  fprintf(out, "%6s  %-26s %s\n", "rank", "roles", "members (m<i>(r<replica>/<replicas>))");
  for (int r = 0; r < lay->n_ranks; r++) {
    const oo_rank_role *ro = &lay->ranks[r];
    char roles[64] = "";
    if (ro->is_controller) strcat(roles, "controller ");
    if (ro->is_rollout) strcat(roles, "rollout ");
    if (ro->is_rm) strcat(roles, "rm gold ");
    if (!roles[0]) strcat(roles, "-");
    roles[strlen(roles) - (roles[strlen(roles) - 1] == ' ')] = 0; /* no trailing space */
    fprintf(out, "%6d  %-26s", r, roles);
    for (int m = 0; m < lay->k; m++) {
      int rep = lay->replica[(size_t)r * lay->k + m];
      if (rep < 0) continue;
      if (lay->n_replicas[m] > 1)
        fprintf(out, " m%d(r%d/%d)", m, rep, lay->n_replicas[m]);
      else
        fprintf(out, " m%d", m);
    }
    if (!ro->is_rm) fprintf(out, " -");
    fputc('\n', out);
  }
  int min_rep = lay->n_replicas[0], max_rep = lay->n_replicas[0];
  for (int m = 1; m < lay->k; m++) {
    if (lay->n_replicas[m] < min_rep) min_rep = lay->n_replicas[m];
    if (lay->n_replicas[m] > max_rep) max_rep = lay->n_replicas[m];
  }
  char ro_ranks[48], rm_ranks[48], reps[48];
  rank_range(ro_ranks, sizeof ro_ranks, 0, lay->n_rollout - 1);
  rank_range(rm_ranks, sizeof rm_ranks, lay->first_rm, lay->n_ranks - 1);
  if (min_rep == max_rep)
    snprintf(reps, sizeof reps, "%d", min_rep);
  else
    snprintf(reps, sizeof reps, "%d-%d", min_rep, max_rep);
  int per_rank = (lay->k + lay->n_rm - 1) / lay->n_rm;
  fprintf(out,
          "%d rank%s: %d rollout (%s), %d RM with gold (%s), %d member%s, %s replica%s per "
          "member, up to %d member%s per RM rank\n",
          lay->n_ranks, lay->n_ranks == 1 ? "" : "s", lay->n_rollout, ro_ranks, lay->n_rm,
          rm_ranks, lay->k, lay->k == 1 ? "" : "s", reps, max_rep == 1 ? "" : "s", per_rank,
          per_rank == 1 ? "" : "s");
}
