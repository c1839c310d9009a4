"""Plain-Python peer of the CIDEr-D benchmark: pycocoevalcap's cider_scorer.py logic re-written
step by step (precook -> document frequency over the reference sets -> counts2vec with
tf * (log N - log max(1, df)) -> clipped cosine per order with the Gaussian length penalty
(sigma 6, lengths = bigram counts) -> mean over orders / #refs * 10 -> numpy mean over images).
Usage: peer_cider.py job.json -> one JSON line on stdout (seconds exclude reading the input).
"""
import json
import math
import sys
import time
from collections import defaultdict

import numpy as np


def precook(s, n=4):
    words = s.split()
    counts = defaultdict(int)
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


class CiderScorer:
    def __init__(self, tests, refss, n=4, sigma=6.0):
        self.n, self.sigma = n, sigma
        self.crefs = [[precook(r, n) for r in refs] for refs in refss]
        self.ctest = [precook(t, n) for t in tests]
        self.document_frequency = defaultdict(float)
        self.ref_len = None

    def compute_doc_freq(self):
        for refs in self.crefs:
            for ngram in set([ngram for ref in refs for (ngram, count) in ref.items()]):
                self.document_frequency[ngram] += 1

    def compute_cider(self):
        def counts2vec(cnts):
            vec = [defaultdict(float) for _ in range(self.n)]
            length = 0
            norm = [0.0 for _ in range(self.n)]
            for (ngram, term_freq) in cnts.items():
                df = np.log(max(1.0, self.document_frequency[ngram]))
                n = len(ngram) - 1
                vec[n][ngram] = float(term_freq) * (self.ref_len - df)
                norm[n] += pow(vec[n][ngram], 2)
                if n == 1:
                    length += term_freq
            norm = [np.sqrt(n) for n in norm]
            return vec, norm, length

        def sim(vec_hyp, vec_ref, norm_hyp, norm_ref, length_hyp, length_ref):
            delta = float(length_hyp - length_ref)
            val = np.array([0.0 for _ in range(self.n)])
            for n in range(self.n):
                for (ngram, count) in vec_hyp[n].items():
                    val[n] += min(vec_hyp[n][ngram], vec_ref[n][ngram]) * vec_ref[n][ngram]
                if (norm_hyp[n] != 0) and (norm_ref[n] != 0):
                    val[n] /= norm_hyp[n] * norm_ref[n]
                assert not math.isnan(val[n])
                val[n] *= np.e ** (-(delta ** 2) / (2 * self.sigma ** 2))
            return val

        self.ref_len = np.log(float(len(self.crefs)))
        scores = []
        for test, refs in zip(self.ctest, self.crefs):
            vec, norm, length = counts2vec(test)
            score = np.array([0.0 for _ in range(self.n)])
            for ref in refs:
                vec_ref, norm_ref, length_ref = counts2vec(ref)
                score += sim(vec, vec_ref, norm, norm_ref, length, length_ref)
            score_avg = np.mean(score)
            score_avg /= len(refs)
            score_avg *= 10.0
            scores.append(score_avg)
        return scores

    def compute_score(self):
        self.compute_doc_freq()
        score = self.compute_cider()
        return np.mean(np.array(score)), np.array(score)


job = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
score, _ = CiderScorer(job["candidates"], job["references"]).compute_score()
elapsed = time.perf_counter() - t0
print(json.dumps({"s": elapsed, "score": float(score)}))
