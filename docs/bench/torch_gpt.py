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
    def __init__(self, C, L, NH, T):
        super().__init__()
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

    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.blocks:
            x = b(x)
        x = self.lnf(x)
        return x @ self.wte.weight.t()  # tied LM head, (B,T,V)

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=4, help="training repetitions after the warm-up (best kept)")
    ap.add_argument("--sample-reps", type=int, default=2, help="sampling repetitions after the warm-up")
    ap.add_argument("--quick", action="store_true", help="1 rep, 32 new tokens (a smoke test)")
    ap.add_argument("--shape", choices=["256", "128", "both"], default="both")
    a = ap.parse_args()
    reps, sreps, max_new = (1, 1, 32) if a.quick else (a.reps, a.sample_reps, 0)
    print(f"TORCH version={torch.__version__} threads={torch.get_num_threads()} "
          f"clock=thread_time reps={reps} sample_reps={sreps}", flush=True)
    shapes = {"256": (256, 6, 8, 256, 8), "128": (128, 4, 4, 128, 16)}
    for key in (["256", "128"] if a.shape == "both" else [a.shape]):
        C, L, NH, T, B = shapes[key]
        bench_shape(C, L, NH, T, B, 64, reps, sreps, max_new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
