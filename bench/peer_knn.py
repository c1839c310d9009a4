"""numpy peer of the neighbourhood-overlap benchmark (bench/analysis-bench.ts): exact brute-force
k nearest neighbours (Euclidean, self excluded) of every point, in 1000-query blocks of one BLAS
matmul each plus argpartition, then the class-balanced neighbourhood overlap with the labels
(E4: per point the fraction of its k neighbours with its own label, averaged per class, then over
classes). Writes the neighbour indices (int32, n x k, nearest first) for narrowgate's recall.
Usage: peer_knn.py job.json -> one JSON line on stdout (seconds exclude reading the input).
"""
import json
import os
import sys
import time

import numpy as np

job = json.load(open(sys.argv[1]))
n, d, k = job["n"], job["d"], job["k"]
x = np.fromfile(job["x"], dtype=np.float32).reshape(n, d)
labels = np.fromfile(job["labels"], dtype=np.int32)

t0 = time.perf_counter()
sq = np.einsum("ij,ij->i", x, x)
out = np.empty((n, k), dtype=np.int32)
block = 1000
for s in range(0, n, block):
    q = x[s : s + block]
    dist = sq[s : s + block, None] - 2.0 * (q @ x.T) + sq[None, :]
    rows = np.arange(q.shape[0])
    dist[rows, s + rows] = np.inf
    part = np.argpartition(dist, k, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(dist, part, 1), axis=1, kind="stable")
    out[s : s + block] = np.take_along_axis(part, order, 1)
same = (labels[out] == labels[:, None]).mean(1)
classes = np.unique(labels)
overlap = float(np.mean([same[labels == c].mean() for c in classes]))
elapsed = time.perf_counter() - t0
out.tofile(job["out"])
print(json.dumps({"s": elapsed, "overlap": overlap, "numpy": np.__version__, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}))
