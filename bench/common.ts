/**
 * Shared pieces of the benchmark: the measured config, timing, the repository root, and running a
 * Python peer (PyTorch / numpy / plain Python) on a JSON job, whose last stdout line is its JSON result.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The decoder both sides measure (issue 9): d_model 128, 4 layers, 4 heads, MLP 512, vocab 1024, seq 96, batch 16. */
export interface ModelShape {
  vocab: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  dMlp: number;
  seq: number;
  batch: number;
}

export const FULL_SHAPE: ModelShape = { vocab: 1024, dModel: 128, nLayers: 4, nHeads: 4, dMlp: 512, seq: 96, batch: 16 };
export const QUICK_SHAPE: ModelShape = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dMlp: 64, seq: 24, batch: 4 };

export interface BenchSettings {
  quick: boolean;
  shape: ModelShape;
  /** Timed repetitions after the warm-up ones. */
  reps: number;
  warmup: number;
  workers: number;
  python: string;
  /** Temporary directory for data shared with the peers. */
  tmp: string;
}

/** The repository root (holds package.json), from dist/bench/*.js or bench/*.ts. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the repository root (package.json)');
    dir = up;
  }
  return dir;
}

export function now(): number {
  return performance.now() / 1000;
}

/** Median of timings. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs `fn` warmup + reps times; returns the median seconds of the timed runs. */
export async function timeIt(fn: () => Promise<void> | void, warmup: number, reps: number): Promise<{ median: number; runs: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    await fn();
    runs.push(now() - t0);
  }
  return { median: median(runs), runs };
}

export type PeerResult = Record<string, unknown> & { ok: boolean; error?: string };

/** Whether the Python has torch (and numpy); an install hint otherwise. */
export function checkPython(python: string): { torch: boolean; numpy: boolean; pyarrow: boolean; version: string; hint: string | null } {
  const r = spawnSync(python, ['-c', [
    'import json, importlib.util as u',
    'out = {"numpy": u.find_spec("numpy") is not None, "torch": u.find_spec("torch") is not None, "pyarrow": u.find_spec("pyarrow") is not None}',
    'import sys; out["version"] = sys.version.split()[0]',
    'print(json.dumps(out))',
  ].join('\n')], { encoding: 'utf8' });
  if (r.status !== 0) return { torch: false, numpy: false, pyarrow: false, version: '', hint: `${python} did not run (${(r.error?.message ?? r.stderr).trim()}); set NARROWGATE_BENCH_PYTHON to a Python 3.` };
  const o = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { torch: boolean; numpy: boolean; pyarrow: boolean; version: string };
  const hint = o.torch ? null : 'PyTorch is missing: `sudo apt-get install -y python3-torch libopenblas0-pthread` (Debian), then run the bench with /usr/bin/python3.';
  return { ...o, hint };
}

/**
 * Runs bench/<script> with the job file; the environment makes the peer fair on 2 cores (STACK.md):
 * OpenBLAS single-threaded, torch with `threads` intra-op threads (set in the script).
 */
export function runPeer(s: BenchSettings, script: string, jobPath: string, timeoutS = 900, env: Record<string, string> = {}): PeerResult {
  const path = join(repoRoot(), 'bench', script);
  const r = spawnSync(s.python, [path, jobPath], {
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', ...env },
  });
  if (r.status !== 0) return { ok: false, error: `${script} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ok: true, ...(JSON.parse(last) as Record<string, unknown>) };
  } catch {
    return { ok: false, error: `${script} printed no JSON result: ${last.slice(0, 200)}` };
  }
}

/** A seeded xorshift generator for bench data (independent of the library's Rng). */
export function xorshift(seed: number): () => number {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform source. */
export function gaussian(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}
