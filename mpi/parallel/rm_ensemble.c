/* rm_ensemble: hosted proxy members and distributed ensemble scoring (see rm_ensemble.h). */
#include "rm_ensemble.h"

#include <math.h>
#include <string.h>

#include "ensemble.h"
#include "laplace.h"

_Static_assert(LAYOUT_GOLD_BLOCK == GOLD_CHUNK,
               "gold blocks must be gold forward chunks for rank-count-independent gold scores");

int rm_ensemble_load(rm_ensemble *e, const char *path, const oo_layout *lay, int rank, int expect_k,
                     int n_ctx, int d_model, int n_layer, int n_head) {
  memset(e, 0, sizeof *e);
  /* the layout's K is in the config's range (layout_build), which sizes the arrays here */
  REQUIRE(expect_k == lay->k, "internal: rm_ensemble_load for %d members, the layout has %d", expect_k, lay->k);
  e->k = expect_k;
  e->chunk = LAYOUT_RM_CHUNK;
  h5_reader r;
  CHECK(h5_open(&r, path));
  long k = 0;
  int rc = h5_attr_read_int(&r, "/", "k", &k);
  if (!rc && k != expect_k)
    rc = oo_error_at(__FILE__, __LINE__,
                     "ensemble '%s' has %ld members but rm.k = %d: rerun the rm stage or set rm.k = %ld", path, k,
                     expect_k, k);
  for (int m = 0; m < expect_k && !rc; m++) {
    if (lay->ranks[rank].is_rm == 0 || layout_replica(lay, rank, m) < 0) continue;
    char group[32];
    snprintf(group, sizeof group, "member_%d", m);
    if (!h5_has(&r, group)) {
      rc = oo_error_at(__FILE__, __LINE__, "ensemble '%s': member %d (group '%s') is missing", path, m, group);
      break;
    }
    gpt *g = &e->models[e->n_local];
    rc = gpt_read(g, &r, group, GPT_REWARD, 0);
    if (rc) break;
    e->member_id[e->n_local++] = m;
    char lgroup[48];
    snprintf(lgroup, sizeof lgroup, "laplace/member_%d/Sigma", m);
    if (h5_has(&r, "laplace") && h5_has(&r, lgroup)) {
      long D = (long)g->d.C + 1, dims[2] = {D, D};
      e->laplace_sigma[e->n_local - 1] = xmalloc(sizeof(double) * (size_t)D * D);
      rc = h5_read_f64(&r, lgroup, 2, dims, e->laplace_sigma[e->n_local - 1]);
      if (rc) break;
      long dm = D - 1;
      snprintf(lgroup, sizeof lgroup, "laplace/member_%d/phi_mean", m);
      e->laplace_mean[e->n_local - 1] = xmalloc(sizeof(double) * (size_t)dm);
      rc = h5_read_f64(&r, lgroup, 1, &dm, e->laplace_mean[e->n_local - 1]);
      if (rc) break;
    }
    if (g->d.T != n_ctx || g->d.C != d_model || g->d.L != n_layer || g->d.NH != n_head)
      rc = oo_error_at(__FILE__, __LINE__,
                       "ensemble '%s': member %d is d_model %d, n_layer %d, n_head %d, n_ctx %d but the config says "
                       "rm.size = d_model %d, n_layer %d, n_head %d and pretrain.n_ctx = %d: rerun the rm stage",
                       path, m, g->d.C, g->d.L, g->d.NH, g->d.T, d_model, n_layer, n_head, n_ctx);
  }
  h5_close(&r);
  if (rc) {
    rm_ensemble_free(e);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

void rm_ensemble_free(rm_ensemble *e) {
  for (int i = 0; i < e->n_local; i++) {
    gpt_free(&e->models[i]);
    xfree(&e->laplace_sigma[i]);
    xfree(&e->laplace_mean[i]);
  }
  e->n_local = 0;
  xfree(&e->sel_tok);
  xfree(&e->sel_len);
  xfree(&e->sel_idx);
  xfree(&e->sel_out);
  xfree(&e->local);
  e->cap_n = e->cap_T = 0;
}

static void reserve(rm_ensemble *e, int n, int T) {
  if (n <= e->cap_n && T <= e->cap_T) return;
  int cn = n > e->cap_n ? n : e->cap_n, cT = T > e->cap_T ? T : e->cap_T;
  xfree(&e->sel_tok);
  xfree(&e->sel_len);
  xfree(&e->sel_idx);
  xfree(&e->sel_out);
  xfree(&e->local);
  if (e->n_local > 0) { /* a rank hosting no member only takes part in ensemble_gather */
    e->sel_tok = xmalloc(sizeof(int) * (size_t)cn * cT);
    e->sel_len = xmalloc(sizeof(int) * (size_t)cn);
    e->sel_idx = xmalloc(sizeof(int) * (size_t)cn);
    e->sel_out = xmalloc_floats((size_t)cn);
  }
  e->local = xmalloc_floats((size_t)cn * e->k + 1); /* + ensemble_gather's scratch entry */
  e->cap_n = cn;
  e->cap_T = cT;
}

int rm_ensemble_score(rm_ensemble *e, const oo_comms *c, const oo_layout *lay, const int *tok, const int *len,
                      int n, int Tmax, float *matrix) {
  const int K = e->k;
  reserve(e, n, Tmax);
  for (size_t i = 0; i < (size_t)n * K; i++) e->local[i] = NAN;
  for (int j = 0; j < e->n_local; j++) {
    int m = e->member_id[j], ns = 0;
    for (int i = 0; i < n; i++) {
      if (!ensemble_scores_sample(lay, c->rank, m, i)) continue;
      memcpy(e->sel_tok + (size_t)ns * Tmax, tok + (size_t)i * Tmax, sizeof(int) * (size_t)Tmax);
      e->sel_len[ns] = len[i];
      e->sel_idx[ns++] = i;
    }
    if (ns == 0) continue;
    gpt *g = &e->models[j];
    gpt_score_last(g, e->sel_tok, e->sel_len, ns, Tmax, e->chunk, e->sel_out);
    for (int s = 0; s < ns; s++)
      e->local[(size_t)e->sel_idx[s] * K + m] = (e->sel_out[s] - g->reward_shift) / g->reward_scale;
  }
  CHECK(ensemble_gather(c, lay, n, e->local));
  memcpy(matrix, e->local, sizeof(float) * (size_t)n * K);
  return OO_OK;
}

int rm_ensemble_laplace_var(rm_ensemble *e, const oo_comms *c, const oo_layout *lay, const int *tok, const int *len,
                            int n, int Tmax, float *out) {
  const int K = e->k;
  for (size_t i = 0; i < (size_t)n * K; i++) out[i] = 0.0f;
  if (c->rm_comm != MPI_COMM_NULL) {
    reserve(e, n, Tmax);
    for (int j = 0; j < e->n_local; j++) {
      int m = e->member_id[j], ns = 0;
      gpt *g = &e->models[j];
      REQUIRE(e->laplace_sigma[j], "rm.laplace: rm.h5 has no laplace/member_%d: rerun the rm stage with rm.laplace = true",
              m);
      for (int i = 0; i < n; i++) {
        if (!ensemble_scores_sample(lay, c->rank, m, i)) continue;
        memcpy(e->sel_tok + (size_t)ns * Tmax, tok + (size_t)i * Tmax, sizeof(int) * (size_t)Tmax);
        e->sel_len[ns] = len[i];
        e->sel_idx[ns++] = i;
      }
      gpt_reserve(g, e->chunk, Tmax);
      const int C = g->d.C;
      const double inv_s2 = 1.0 / ((double)g->reward_scale * g->reward_scale);
      for (int s0 = 0; s0 < ns; s0 += e->chunk) {
        int nb = ns - s0 < e->chunk ? ns - s0 : e->chunk, T = 1;
        for (int s = 0; s < nb; s++) T = e->sel_len[s0 + s] > T ? e->sel_len[s0 + s] : T;
        /* rows of sel_tok are Tmax apart: gpt_forward wants them T apart */
        for (int s = 0; s < nb; s++)
          memmove(e->sel_tok + ((size_t)s0 * Tmax) + (size_t)s * T, e->sel_tok + (size_t)(s0 + s) * Tmax,
                  sizeof(int) * (size_t)T);
        for (int s = 0; s < nb; s++) /* padding past a row's length is never read for its last position */
          for (int t = e->sel_len[s0 + s]; t < T; t++) e->sel_tok[(size_t)s0 * Tmax + (size_t)s * T + t] = 0;
        gpt_forward(g, e->sel_tok + (size_t)s0 * Tmax, nb, T);
        const float *lnf = gpt_final_ln(g);
        for (int s = 0; s < nb; s++) {
          const float *phi = lnf + ((size_t)s * T + e->sel_len[s0 + s] - 1) * C;
          out[(size_t)e->sel_idx[s0 + s] * K + m] = (float)(laplace_variance(e->laplace_sigma[j], phi, e->laplace_mean[j], C + 1) * inv_s2);
        }
      }
    }
  }
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, out, n * K, MPI_FLOAT, MPI_SUM, c->world));
  return OO_OK;
}

int rm_warm_load(gold_model *g, const char *rm_path) {
  memset(g, 0, sizeof *g);
  g->kind = GOLD_CHECKPOINT;
  h5_reader r;
  CHECK(h5_open(&r, rm_path));
  int rc = h5_has(&r, "warm") ? OO_OK
                              : oo_error_at(__FILE__, __LINE__, "'%s' has no group warm but rm.warm = true: rerun "
                                            "the rm stage (overopt run redoes it)", rm_path);
  if (!rc) rc = gpt_read(&g->model, &r, "warm", GPT_REWARD, 0);
  h5_close(&r);
  if (!rc) rc = gold_set_calibration(g, g->model.reward_shift, g->model.reward_scale);
  if (rc) {
    gold_free(g);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

int gold_score_all(gold_model *g, const oo_comms *c, const oo_layout *lay, const int *tok, const int *len, int n,
                   int Tmax, float *out) {
  for (int i = 0; i < n; i++) out[i] = 0.0f;
  int rc = OO_OK;
  if (c->rm_comm != MPI_COMM_NULL && n > 0) {
    if (lay->n_rm == 1) {
      rc = gold_score(g, tok, len, n, Tmax, out); /* every sample is ours: score in place */
    } else {
      int ns = 0;
      for (int i = 0; i < n; i++) ns += layout_gold_scores_sample(lay, c->rank, i);
      if (ns > g->sel_cap_n || Tmax > g->sel_cap_T) { /* grown once to the largest batch */
        int cn = ns > g->sel_cap_n ? ns : g->sel_cap_n, cT = Tmax > g->sel_cap_T ? Tmax : g->sel_cap_T;
        xfree(&g->sel_tok);
        xfree(&g->sel_len);
        xfree(&g->sel_idx);
        xfree(&g->sel_out);
        g->sel_tok = xmalloc(sizeof(int) * (size_t)cn * cT);
        g->sel_len = xmalloc(sizeof(int) * (size_t)cn);
        g->sel_idx = xmalloc(sizeof(int) * (size_t)cn);
        g->sel_out = xmalloc_floats((size_t)cn);
        g->sel_cap_n = cn;
        g->sel_cap_T = cT;
      }
      int s = 0;
      for (int i = 0; i < n; i++) {
        if (!layout_gold_scores_sample(lay, c->rank, i)) continue;
        memcpy(g->sel_tok + (size_t)s * Tmax, tok + (size_t)i * Tmax, sizeof(int) * (size_t)Tmax);
        g->sel_len[s] = len[i];
        g->sel_idx[s++] = i;
      }
      if (ns > 0) rc = gold_score(g, g->sel_tok, g->sel_len, ns, Tmax, g->sel_out);
      if (!rc)
        for (s = 0; s < ns; s++) out[g->sel_idx[s]] = g->sel_out[s];
    }
  }
  /* A failure on one rank must not leave the others in the allreduce. */
  CHECK(oo_agree(c->world, rc, "gold scoring failed on another rank"));
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, out, n, MPI_FLOAT, MPI_SUM, c->world));
  return OO_OK;
}
