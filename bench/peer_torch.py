"""PyTorch peer of narrowgate's model benchmarks (bench/run.ts): the same decoder (pre-RMSNorm,
rotary attention with a causal mask, SwiGLU MLP, untied unembedding), the same shapes and the same
work: a training step (cross-entropy, backward, AdamW), a forward pass keeping every residual stream,
greedy generation with a KV cache, and activation extraction to an Arrow file (pyarrow when present,
else raw float32 bytes, reported as such).

Run with Debian's python3-torch + libopenblas0-pthread, OPENBLAS_NUM_THREADS=1 and
torch.set_num_threads(threads) (STACK.md). Usage: peer_torch.py job.json -> one JSON line on stdout.
"""
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
torch.manual_seed(0)
S = job["shape"]
V, D, L, H, FF, T, B = S["vocab"], S["dModel"], S["nLayers"], S["nHeads"], S["dMlp"], S["seq"], S["batch"]
Dh = D // H
EPS = 1e-5


def rms(x, w):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS) * w


def rope_tables(n, offset=0):
    inv = 1.0 / (10000.0 ** (torch.arange(0, Dh, 2, dtype=torch.float32) / Dh))
    pos = torch.arange(offset, offset + n, dtype=torch.float32)
    ang = torch.outer(pos, inv)
    ang = torch.cat([ang, ang], -1)
    return ang.cos()[None, None], ang.sin()[None, None]  # [1, 1, n, Dh]


def rot(x, cos, sin):
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        p = lambda *shape, std=0.02: torch.nn.Parameter(torch.randn(*shape) * std)
        self.embed = p(V, D)
        self.blocks = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.ln1, m.ln2 = torch.nn.Parameter(torch.ones(D)), torch.nn.Parameter(torch.ones(D))
            m.wq, m.wk, m.wv = p(D, D), p(D, D), p(D, D)
            m.wo = p(D, D, std=0.02 / math.sqrt(2 * L))
            m.wg, m.wi = p(D, FF), p(D, FF)
            m.wout = p(FF, D, std=0.02 / math.sqrt(2 * L))
            self.blocks.append(m)
        self.lnf = torch.nn.Parameter(torch.ones(D))
        self.unembed = p(D, V)

    def forward(self, ids, resid=None, cache=None, offset=0):
        b, t = ids.shape
        x = self.embed[ids]
        cos, sin = rope_tables(t, offset)
        causal = None
        if t > 1:
            causal = torch.full((t, offset + t), float("-inf")).triu(offset + 1)
        for l, m in enumerate(self.blocks):
            if resid is not None:
                resid.append(x)
            h = rms(x, m.ln1)
            q = rot((h @ m.wq).view(b, t, H, Dh).transpose(1, 2), cos, sin)
            k = rot((h @ m.wk).view(b, t, H, Dh).transpose(1, 2), cos, sin)
            v = (h @ m.wv).view(b, t, H, Dh).transpose(1, 2)
            if cache is not None:
                if l < len(cache):
                    k = torch.cat([cache[l][0], k], 2)
                    v = torch.cat([cache[l][1], v], 2)
                    cache[l] = (k, v)
                else:
                    cache.append((k, v))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(Dh)
            if causal is not None:
                s = s + causal
            z = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
            x = x + z @ m.wo
            if resid is not None:
                resid.append(x)
            h = rms(x, m.ln2)
            x = x + (F.silu(h @ m.wg) * (h @ m.wi)) @ m.wout
            if resid is not None:
                resid.append(x)
        return rms(x, self.lnf) @ self.unembed


def timed(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def rows(n, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(5, V, (n, length), generator=g)


out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
# Debian's torch calls the system libblas.so.3: OpenBLAS when libopenblas0-pthread is installed
out["blas"] = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
model = Model()
W, R = job["warmup"], job["reps"]

# 1. training step
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
batches = [rows(B, T, 100 + i) for i in range(3)]
it = [0]


def train_step():
    ids = batches[it[0] % 3]
    it[0] += 1
    logits = model(ids)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


med, runs = timed(train_step, W, R)
out["train"] = {"stepS": med, "tokPerS": B * T / med, "runs": runs}

# 2. forward with every residual stream kept
ids = rows(B, T, 7)


def fwd():
    resid = []
    with torch.no_grad():
        model(ids, resid=resid)
    fwd.cached = len(resid)


med, runs = timed(fwd, W, R)
out["forward"] = {"s": med, "tokPerS": B * T / med, "cached": fwd.cached}

# 3. greedy generation with a KV cache
G = job["gen"]
prompts = rows(B, G["prompt"], 11)


def gen():
    cache = []
    with torch.no_grad():
        logits = model(prompts, cache=cache)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        for step in range(G["newTokens"] - 1):
            logits = model(nxt, cache=cache, offset=G["prompt"] + step)
            nxt = logits[:, -1].argmax(-1, keepdim=True)


med, runs = timed(gen, min(W, 1), max(1, math.ceil(R / 2)))
out["generate"] = {"s": med, "tokPerS": B * G["newTokens"] / med}

# 6. extraction of resid_post at every layer and position to a file
N = job["extractExamples"]
ex = rows(N, T, 13)
try:
    import pyarrow as pa
    import pyarrow.ipc as ipc
except ImportError:
    pa = None
tmpdir = tempfile.mkdtemp()


def extract():
    path = os.path.join(tmpdir, "acts.arrow" if pa else "acts.f32")
    total = 0
    with torch.no_grad():
        if pa:
            schema = pa.schema([("example", pa.int32()), ("position", pa.int32()), ("layer", pa.int16()), ("values", pa.list_(pa.float32(), D))])
            sink = pa.OSFile(path, "wb")
            writer = ipc.new_file(sink, schema)
        else:
            f = open(path, "wb")
        for s in range(0, N, B):
            resid = []
            model(ex[s : s + B], resid=resid)
            n = min(B, N - s)
            for l in range(L):
                post = resid[3 * l + 2].reshape(-1).numpy()
                total += post.size * 4
                if pa:
                    ex_col = pa.array(torch.arange(s, s + n).repeat_interleave(T).numpy().astype("int32"))
                    pos_col = pa.array(torch.arange(T).repeat(n).numpy().astype("int32"))
                    layer_col = pa.array([l] * (n * T), pa.int16())
                    vals = pa.FixedSizeListArray.from_arrays(pa.array(post), D)
                    writer.write_batch(pa.record_batch([ex_col, pos_col, layer_col, vals], schema=schema))
                else:
                    f.write(post.tobytes())
        if pa:
            writer.close()
            sink.close()
        else:
            f.close()
    extract.mb = total / 2**20
    os.remove(path)


med, runs = timed(extract, min(W, 1), max(1, math.ceil(R / 2)))
out["extract"] = {"s": med, "mbPerS": extract.mb / med, "mb": extract.mb, "format": "arrow (pyarrow %s)" % pa.__version__ if pa else "raw float32 (pyarrow not installed)"}
print(json.dumps(out))
