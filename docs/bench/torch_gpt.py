#!/usr/bin/python3
"""PyTorch reference for `overopt bench`: the same byte-level GPT in PyTorch, one thread.

Architecture (DESIGN.md "Model", src/model/gpt.h): vocab 257, learned positions, pre-LN
(eps 1e-5), causal multi-head attention with a fused qkv Linear(C,3C) and an output proj
Linear(C,C), GELU (tanh) MLP of width 4C, final LayerNorm, LM head tied to the token
embedding. AdamW betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on matrices and embeddings
(not on LayerNorm or biases), gradient clipping at 1.0 (as overopt's bench step does).

Measured per shape, each the best of several repetitions after a warm-up, in CPU seconds of
the calling thread (time.thread_time = CLOCK_THREAD_CPUTIME_ID, the clock `overopt bench`
uses): with torch.set_num_threads(1) and one OpenBLAS thread every kernel runs in the calling
thread, and CPU time is immune to the other processes of a shared machine. The process CPU
time (time.process_time) of the same best repetition is printed too (proc_ms) as a check
that no work escaped to another thread:
- training step: zero_grad, forward on random tokens (B,T), cross-entropy, backward, clip,
  AdamW step; tokens/s = B*T / time;
- KV-cache sampling: batch 64, a 1-token prompt (end-of-text), T-1 new tokens each (up to
  the context), preallocated per-layer key/value buffers, torch.inference_mode, multinomial
  sampling at temperature 1; tokens/s = 64 * (T-1) / time.

Output: one line per measurement, machine-readable:
  TORCH shape=C256_L6_NH8_T256_B8 train_tok_s=1234.5 train_ms=...
  TORCH shape=C256_L6_NH8_T256_B8 sample_tok_s=1234.5 sample_ms=... batch=64 new=255
Usage: /usr/bin/python3 docs/bench/torch_gpt.py [--reps N] [--quick] [--shape 256|128]
"""
import argparse
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

VOCAB = 257
EOT = 256


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)

    def attn_full(self, x):
        B, T, C = x.shape
        NH, hs = self.NH, C // self.NH
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, NH, hs).transpose(1, 2)
        k = k.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        # One fused op for scale, causal mask (additive -inf bias) and Q K^T: a separate
        # multiply and masked_fill over the (B,NH,T,T) scores cost more than the matmul.
        att = torch.baddbmm(self.causal_bias(T), q.reshape(B * NH, T, hs), k.reshape(B * NH, T, hs).transpose(1, 2),
                            beta=1.0, alpha=1.0 / math.sqrt(hs))
        att = F.softmax(att, dim=-1)
        y = torch.bmm(att, v.reshape(B * NH, T, hs)).view(B, NH, T, hs).transpose(1, 2).reshape(B, T, C)
        return self.proj(y)

    def causal_bias(self, T):
        """(T,T) additive mask: 0 on and below the diagonal, -inf above; cached per T."""
        if getattr(self, "_bias_T", None) != T:
            self._bias = torch.full((T, T), float("-inf")).triu(1)
            self._bias_T = T
        return self._bias

    def forward(self, x):
        x = x + self.attn_full(self.ln1(x))
        x = x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x

    def prefill(self, x, kcache, vcache):
        """The prompt's positions at once: x (B,Tp,C); fills caches [:, :, :Tp]."""
        B, T, C = x.shape
        NH, hs = self.NH, C // self.NH
        h = self.ln1(x)
        q, k, v = self.qkv(h).split(C, dim=2)
        q, k, v = (z.view(B, T, NH, hs).transpose(1, 2) for z in (q, k, v))
        kcache[:, :, :T, :] = k
        vcache[:, :, :T, :] = v
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs)) + self.causal_bias(T)
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    def step(self, x, kcache, vcache, t):
        """One position per sequence: x (B,1,C); caches (B,NH,Tmax,hs) filled up to t."""
        B, _, C = x.shape
        NH, hs = self.NH, C // self.NH
        h = self.ln1(x)
        q, k, v = self.qkv(h).split(C, dim=2)
        q = q.view(B, 1, NH, hs).transpose(1, 2)  # (B,NH,1,hs)
        kcache[:, :, t : t + 1, :] = k.view(B, 1, NH, hs).transpose(1, 2)
        vcache[:, :, t : t + 1, :] = v.view(B, 1, NH, hs).transpose(1, 2)
        K = kcache[:, :, : t + 1, :]
        V = vcache[:, :, : t + 1, :]
        att = (q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B,NH,1,t+1)
        att = F.softmax(att, dim=-1)
        y = (att @ V).transpose(1, 2).reshape(B, 1, C)
        x = x + self.proj(y)
        x = x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, C, L, NH, T, head=None):
        super().__init__()
        self.head = head  # None: LM only; "value": LM + scalar value head; "reward": scalar head only
        self.C, self.L, self.NH, self.T = C, L, NH, T
        self.wte = nn.Embedding(VOCAB, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.lnf = nn.LayerNorm(C, eps=1e-5)
        # GPT-2 init as in gpt_init_weights: N(0, 0.02), residual projections / sqrt(2L).
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln" in name:
                nn.init.ones_(p)
            else:
                std = 0.02 / math.sqrt(2 * L) if ("proj" in name) else 0.02
                nn.init.normal_(p, 0.0, std)

        if head is not None:
            self.vhead = nn.Linear(C, 1)
            nn.init.normal_(self.vhead.weight, 0.0, 0.02)
            nn.init.zeros_(self.vhead.bias)

    def trunk(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        return self.lnf(x)

    def forward(self, idx):
        return self.trunk(idx) @ self.wte.weight.t()  # tied LM head, (B,T,V)

    def reward(self, idx, last):
        """Scalar reward of each sequence: the head on the final hidden state at index last (B,)."""
        h = self.trunk(idx)
        return self.vhead(h[torch.arange(idx.shape[0]), last]).squeeze(-1)

    def lm_value(self, idx):
        """(logits (B,T,V), values (B,T)) through one trunk pass: the policy with a value head."""
        h = self.trunk(idx)
        return h @ self.wte.weight.t(), self.vhead(h).squeeze(-1)

    @torch.inference_mode()
    def generate_from(self, prompt, B, max_new, gen):
        """B continuations of max_new tokens after prompt (P,Tp) with P = 1 or B: a shared prompt
        is fed once and its keys/values copied to every row (as gpt_generate does)."""
        NH, hs = self.NH, self.C // self.NH
        P, Tp = prompt.shape
        Tmax = Tp + max_new
        kc = [torch.empty(P, NH, Tmax, hs) for _ in range(self.L)]
        vc = [torch.empty(P, NH, Tmax, hs) for _ in range(self.L)]
        x = self.wte(prompt) + self.wpe(torch.arange(Tp))
        for l, b in enumerate(self.blocks):
            x = b.prefill(x, kc[l], vc[l])
        if P != B:
            kc = [k.expand(B, -1, -1, -1).contiguous() for k in kc]
            vc = [v.expand(B, -1, -1, -1).contiguous() for v in vc]
            x = x.expand(B, -1, -1)
        logits = self.lnf(x[:, -1, :]) @ self.wte.weight.t()
        out = torch.empty(B, max_new, dtype=torch.long)
        for t in range(max_new):
            tok = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=gen)  # (B,1)
            out[:, t] = tok[:, 0]
            if t == max_new - 1:
                break
            x = self.wte(tok) + self.wpe.weight[Tp + t]
            for l, b in enumerate(self.blocks):
                x = b.step(x, kc[l], vc[l], Tp + t)
            logits = self.lnf(x)[:, 0, :] @ self.wte.weight.t()
        return out

    @torch.inference_mode()
    def generate(self, B, max_new, gen):
        NH, hs = self.NH, self.C // self.NH
        Tmax = max_new  # positions fed: the prompt token and every generated one but the last
        kc = [torch.empty(B, NH, Tmax, hs) for _ in range(self.L)]
        vc = [torch.empty(B, NH, Tmax, hs) for _ in range(self.L)]
        tok = torch.full((B, 1), EOT, dtype=torch.long)
        out = torch.empty(B, max_new, dtype=torch.long)
        for t in range(max_new):
            x = self.wte(tok) + self.wpe.weight[t]
            for l, b in enumerate(self.blocks):
                x = b.step(x, kc[l], vc[l], t)
            x = self.lnf(x)
            logits = x[:, 0, :] @ self.wte.weight.t()  # (B,V)
            probs = F.softmax(logits, dim=-1)
            tok = torch.multinomial(probs, 1, generator=gen)  # (B,1)
            out[:, t] = tok[:, 0]
        return out


def make_optimizer(model):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if (name.endswith("bias") or ".ln" in name or name.startswith("ln")) else decay).append(p)
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, foreach=False)
    except TypeError:
        return torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.95), eps=1e-8)


def bench_shape(C, L, NH, T, B, BS, reps, sample_reps, max_new):
    name = f"C{C}_L{L}_NH{NH}_T{T}_B{B}"
    torch.manual_seed(1)
    model = GPT(C, L, NH, T)
    opt = make_optimizer(model)
    g = torch.Generator().manual_seed(2)
    tok = torch.randint(0, 256, (B, T), generator=g)
    tok[:, 0] = EOT
    tgt = torch.randint(0, 256, (B, T), generator=g)

    best, best_p = float("inf"), 0.0
    for rep in range(reps + 1):  # rep 0 is the warm-up
        t0, p0 = time.thread_time(), time.process_time()
        opt.zero_grad(set_to_none=False)
        logits = model(tok)
        loss = F.cross_entropy(logits.view(-1, VOCAB), tgt.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t, p = time.thread_time() - t0, time.process_time() - p0
        if rep > 0 and t < best:
            best, best_p = t, p
    print(f"TORCH shape={name} train_tok_s={B * T / best:.1f} train_ms={best * 1e3:.1f} "
          f"proc_ms={best_p * 1e3:.1f} loss={loss.item():.4f}", flush=True)
    del opt

    model.eval()
    new = max_new if 0 < max_new < T else T - 1
    gen = torch.Generator().manual_seed(4)
    best, best_p = float("inf"), 0.0
    for rep in range(sample_reps + 1):
        t0, p0 = time.thread_time(), time.process_time()
        out = model.generate(BS, new, gen)
        t, p = time.thread_time() - t0, time.process_time() - p0
        if rep > 0 and t < best:
            best, best_p = t, p
    assert out.shape == (BS, new)
    print(f"TORCH shape={name} sample_tok_s={BS * new / best:.1f} sample_ms={best * 1e3:.1f} "
          f"proc_ms={best_p * 1e3:.1f} batch={BS} new={new}", flush=True)

    # reward scoring: a reward model's forward over B full-length sequences (overopt bench's row)
    torch.manual_seed(5)
    rm = GPT(C, L, NH, T, head="reward").eval()
    last = torch.full((B,), T - 1, dtype=torch.long)
    best, best_p = float("inf"), 0.0
    for rep in range(reps + 1):
        t0, p0 = time.thread_time(), time.process_time()
        with torch.inference_mode():
            r = rm.reward(tok, last)
        t, p = time.thread_time() - t0, time.process_time() - p0
        if rep > 0 and t < best:
            best, best_p = t, p
    assert r.shape == (B,)
    print(f"TORCH shape={name} score_seq_s={B / best:.1f} score_ms={best * 1e3:.1f} "
          f"proc_ms={best_p * 1e3:.1f}", flush=True)


# The quickstart's sizes (configs/quickstart.cfg), as overopt bench's composite rows use them.
QS = dict(C=128, L=4, NH=4, T=96, K=5, RC=64, RL=2, RNH=4, GC=128, GL=4, GNH=4, P=32, R=40,
          batch=32, minibatch=8, epochs=2, lr=3e-4, vf_coef=0.1, clip=0.2, vf_clip=0.2, lam=0.95)


def rlhf_world():
    q = QS
    torch.manual_seed(7)
    ref = GPT(q["C"], q["L"], q["NH"], q["T"]).eval()
    policy = GPT(q["C"], q["L"], q["NH"], q["T"], head="value")
    policy.load_state_dict({**policy.state_dict(), **ref.state_dict()})
    members = [GPT(q["RC"], q["RL"], q["RNH"], q["T"], head="reward").eval() for _ in range(q["K"])]
    gold = GPT(q["GC"], q["GL"], q["GNH"], q["T"], head="reward").eval()
    return ref, policy, members, gold


@torch.inference_mode()
def score_all(members, gold, seq, last):
    m = torch.stack([rm.reward(seq, last) for rm in members], dim=1)  # (n, K)
    return m, m.mean(1), m.var(1, unbiased=False), m.min(1).values, gold.reward(seq, last)


def ppo_step(ref, policy, members, gold, opt, prompts, gen):
    """One PPO step as overopt's ppo_step (value head, objective single, beta 0): generate,
    score, teacher-force policy/value/reference, GAE (gamma 1), whitened advantages, then
    epochs x minibatches of the clipped policy loss + vf_coef x clipped value loss through one
    backward, clip 1.0, AdamW. Returns the (generate, score, update) split in thread seconds."""
    q = QS
    n, Tp, R = q["batch"], q["P"] + 1, q["R"]
    t0 = time.thread_time()
    resp = policy.generate_from(prompts, n, R + 1, gen)  # (n, R+1)
    seq = torch.cat([prompts, resp], dim=1)  # (n, Tp+R+1)
    last = torch.full((n,), seq.shape[1] - 1, dtype=torch.long)
    t1 = time.thread_time()
    matrix, _, _, _, _ = score_all(members, gold, seq, last)
    score = matrix[:, 0]
    t2 = time.thread_time()
    pos = torch.arange(Tp - 1, Tp - 1 + R + 1)  # logits predicting each response token
    tgt = seq[:, Tp:]
    with torch.inference_mode():
        logits, values = policy.lm_value(seq)
        old_lp = F.log_softmax(logits[:, pos], -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
        old_v = values[:, pos]
        ref_lp = F.log_softmax(ref(seq)[:, pos], -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
        rew = torch.zeros_like(old_lp)
        rew[:, -1] = score  # beta = 0: the KL term is computed (reported) but weighs nothing
        kl = (old_lp - ref_lp).sum(1).mean()
        adv = torch.zeros_like(rew)
        last_gae = torch.zeros(n)
        for t in reversed(range(rew.shape[1])):
            nxt = old_v[:, t + 1] if t + 1 < rew.shape[1] else torch.zeros(n)
            delta = rew[:, t] + nxt - old_v[:, t]
            last_gae = delta + q["lam"] * last_gae
            adv[:, t] = last_gae
        ret = adv + old_v
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    old_lp, old_v, adv, ret = (z.clone() for z in (old_lp, old_v, adv, ret))
    mb = q["minibatch"]
    for epoch in range(q["epochs"]):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, mb):
            i = order[s:s + mb]
            logits, values = policy.lm_value(seq[i])
            lp = F.log_softmax(logits[:, pos], -1).gather(-1, tgt[i].unsqueeze(-1)).squeeze(-1)
            ratio = torch.exp(lp - old_lp[i])
            pg = torch.max(-adv[i] * ratio, -adv[i] * ratio.clamp(1 - q["clip"], 1 + q["clip"])).mean()
            v = values[:, pos]
            vc = old_v[i] + (v - old_v[i]).clamp(-q["vf_clip"], q["vf_clip"])
            vf = 0.5 * torch.max((v - ret[i]) ** 2, (vc - ret[i]) ** 2).mean()
            loss = pg + q["vf_coef"] * vf
            opt.zero_grad(set_to_none=False)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
    t3 = time.thread_time()
    return t1 - t0, t2 - t1, t3 - t2, float(kl)


def bench_rlhf(reps):
    q = QS
    ref, policy, members, gold = rlhf_world()
    opt = torch.optim.AdamW(policy.parameters(), lr=q["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    gen = torch.Generator().manual_seed(11)
    prompts = torch.randint(97, 123, (q["batch"], q["P"] + 1), generator=gen)
    prompts[:, 0] = EOT
    best, split = float("inf"), None
    for rep in range(reps + 1):
        g, sc, u, _ = ppo_step(ref, policy, members, gold, opt, prompts, gen)
        if rep > 0 and g + sc + u < best:
            best, split = g + sc + u, (g, sc, u)
    print(f"TORCH rlhf=ppo_step ppo_ms={best * 1e3:.1f} generate_ms={split[0] * 1e3:.1f} "
          f"score_ms={split[1] * 1e3:.1f} update_ms={split[2] * 1e3:.1f} batch={q['batch']} "
          f"minibatch={q['minibatch']} epochs={q['epochs']}", flush=True)

    n = 256  # overopt's BENCH_BON_ROUND: the samples one rank generates per round
    prompt = prompts[:1]
    best, split = float("inf"), None
    for rep in range(reps + 1):
        t0 = time.thread_time()
        resp = ref.generate_from(prompt, n, q["R"] + 1, gen)
        t1 = time.thread_time()
        seq = torch.cat([prompt.expand(n, -1), resp], dim=1)
        last = torch.full((n,), seq.shape[1] - 1, dtype=torch.long)
        score_all(members, gold, seq, last)
        t2 = time.thread_time()
        if rep > 0 and t2 - t0 < best:
            best, split = t2 - t0, (t1 - t0, t2 - t1)
    print(f"TORCH rlhf=bon_round bon_ms={best * 1e3:.1f} samples_s={n / best:.1f} "
          f"generate_ms={split[0] * 1e3:.1f} score_ms={split[1] * 1e3:.1f} samples={n}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=8,
                    help="training and scoring repetitions after the warm-up (best kept; overopt bench uses 8)")
    ap.add_argument("--sample-reps", type=int, default=2, help="sampling repetitions after the warm-up")
    ap.add_argument("--quick", action="store_true", help="1 rep, 32 new tokens (a smoke test)")
    ap.add_argument("--shape", choices=["256", "128", "both"], default="both")
    ap.add_argument("--no-rlhf", action="store_true", help="skip the PPO-step and best-of-n-round rows")
    a = ap.parse_args()
    reps, sreps, max_new = (1, 1, 32) if a.quick else (a.reps, a.sample_reps, 0)
    print(f"TORCH version={torch.__version__} threads={torch.get_num_threads()} "
          f"clock=thread_time reps={reps} sample_reps={sreps}", flush=True)
    shapes = {"256": (256, 6, 8, 256, 8), "128": (128, 4, 4, 128, 16)}
    for key in (["256", "128"] if a.shape == "both" else [a.shape]):
        C, L, NH, T, B = shapes[key]
        bench_shape(C, L, NH, T, B, 64, reps, sreps, max_new)
    if not a.no_rlhf:
        bench_rlhf(1 if a.quick else 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
