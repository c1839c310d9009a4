/**
 * `npm run bench` (node dist/bench/run.js): narrowgate and its Python peers on identical work, in one
 * process tree and one sitting; prints the side-by-side table and writes RESULTS.md + results.json.
 *
 *   --quick          tiny sizes (harness check; writes into a temporary directory unless --out)
 *   --only a,b       a subset of train, forward, generate, overlap, cider, extract, profile
 *   --workers N      replicas of the data-parallel training (default: os.availableParallelism())
 *   --out DIR        where RESULTS.md and results.json go (default: bench/ for a full run)
 *   --python PATH    the peers' Python (default $NARROWGATE_BENCH_PYTHON, else /usr/bin/python3)
 *   --render         only re-render RESULTS.md from results.json and ANALYSIS.md (no measuring)
 */
import * as tf from '@tensorflow/tfjs';
import { cpus, loadavg, totalmem, availableParallelism, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/index.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { FULL_SHAPE, QUICK_SHAPE, checkPython, repoRoot, runPeer, type BenchSettings } from './common.js';
import { benchExtract, benchForward, benchGenerate, benchTrain, GEN } from './model-bench.js';
import { benchCider, benchOverlap } from './analysis-bench.js';
import { profileTrainStep } from './profile.js';
import { renderConsole, renderMarkdown, type BenchResults } from './report.js';

const ALL = ['train', 'forward', 'generate', 'overlap', 'cider', 'extract', 'profile'] as const;

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    workers: { type: 'string' },
    out: { type: 'string' },
    python: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});
const only = new Set((a.only ?? ALL.join(',')).split(',').map((x) => x.trim()).filter(Boolean));
for (const o of only) if (!(ALL as readonly string[]).includes(o)) throw new Error(`--only: unknown benchmark "${o}"; expected some of ${ALL.join(', ')}`);
const quick = a.quick ?? false;
const root = repoRoot();
const outDir = a.out ?? (quick ? mkdtempSync(join(tmpdir(), 'narrowgate-bench-quick-')) : join(root, 'bench'));
const log = (m: string): void => { process.stderr.write(`[bench] ${m}\n`); };

if (a.render) {
  const dir = a.out ?? join(root, 'bench');
  const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
  const notes = join(root, 'bench', 'ANALYSIS.md');
  await writeFileAtomic(join(dir, 'RESULTS.md'), renderMarkdown(saved, existsSync(notes) && !saved.quick ? readFileSync(notes, 'utf8') : null));
  process.stdout.write(`re-rendered ${join(dir, 'RESULTS.md')}\n`);
  process.exit(0);
}

const backend = await initBackend('wasm');
const set: BenchSettings = {
  quick,
  shape: quick ? QUICK_SHAPE : FULL_SHAPE,
  reps: quick ? 2 : 5,
  warmup: quick ? 1 : 2,
  workers: a.workers ? Number(a.workers) : availableParallelism(),
  python: a.python ?? process.env.NARROWGATE_BENCH_PYTHON ?? '/usr/bin/python3',
  tmp: mkdtempSync(join(tmpdir(), 'narrowgate-bench-')),
};
const py = checkPython(set.python);
if (py.hint) log(py.hint);
const res: BenchResults = {
  date: new Date().toISOString(),
  quick,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memGiB: totalmem() / 2 ** 30, node: process.version, backend: backend.tfName, loadBefore: loadavg(), loadAfter: [] },
  shape: set.shape,
  python: { path: set.python, version: py.version, torch: py.torch, numpy: py.numpy, pyarrow: py.pyarrow, hint: py.hint },
  errors: [],
};

async function step<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  log(`${name} ...`);
  try {
    return await fn();
  } catch (e) {
    res.errors.push(`${name}: ${(e as Error).message}`);
    log(`${name} failed: ${(e as Error).stack ?? e}`);
    return undefined;
  }
}

type TorchOut = { torch: string; blas: unknown; train: { stepS: number; tokPerS: number }; forward: { s: number; tokPerS: number }; generate: { s: number; tokPerS: number }; extract: { s: number; mbPerS: number; format: string } };
const torchPeer: Record<number, TorchOut | null> = {};
if (py.torch && ['train', 'forward', 'generate', 'extract'].some((x) => only.has(x))) {
  for (const threads of [2, 1]) {
    log(`PyTorch peer, ${threads} thread(s) ...`);
    const job = join(set.tmp, `torch-${threads}.json`);
    writeFileSync(job, JSON.stringify({ shape: set.shape, threads, warmup: set.warmup, reps: set.reps, gen: quick ? GEN.quick : GEN.full, extractExamples: quick ? 8 : 128 }));
    const r = runPeer(set, 'peer_torch.py', job);
    if (!r.ok) res.errors.push(`PyTorch peer (${threads} threads): ${r.error}`);
    torchPeer[threads] = r.ok ? (r as unknown as TorchOut) : null;
  }
  res.python.torchVersion = torchPeer[2]?.torch;
  res.python.blas = torchPeer[2]?.blas;
}
/** The faster of the PyTorch runs (1 or 2 threads) for one benchmark, with its thread count. */
function bestPeer<K extends 'forward' | 'generate' | 'extract'>(key: K, speed: (o: TorchOut[K]) => number): (TorchOut[K] & { threads: number }) | null {
  const runs = [2, 1].flatMap((t) => (torchPeer[t] ? [{ ...torchPeer[t]![key], threads: t }] : []));
  return runs.sort((x, y) => speed(y) - speed(x))[0] ?? null;
}

res.train = await step('train', async () => {
  const single = await benchTrain(set, 1);
  const parallel = await benchTrain(set, set.workers);
  const peer = [2, 1].flatMap((t) => (torchPeer[t] ? [{ threads: t, ...torchPeer[t]!.train }] : []));
  return { single, parallel, peer };
});
res.forward = await step('forward', async () => ({ ...(await benchForward(set)), peer: bestPeer('forward', (o) => o.tokPerS) }));
res.generate = await step('generate', async () => ({ ...(await benchGenerate(set)), peer: bestPeer('generate', (o) => o.tokPerS) }));
res.extract = await step('extract', async () => ({ ...(await benchExtract(set)), peer: bestPeer('extract', (o) => o.mbPerS) }));
res.cider = await step('cider', () => benchCider(set));
res.overlap = await step('overlap', async () => {
  const out = [];
  for (const n of quick ? [2000] : [20000, 50000]) {
    log(`overlap n=${n} ...`);
    out.push(await benchOverlap(set, n));
  }
  return out;
});
res.profile = await step('profile', () => profileTrainStep(set));
res.machine.loadAfter = loadavg();

mkdirSync(outDir, { recursive: true });
const analysisPath = join(root, 'bench', 'ANALYSIS.md');
const analysis = existsSync(analysisPath) && !quick ? readFileSync(analysisPath, 'utf8') : null;
await writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(res, null, 2) + '\n');
await writeFileAtomic(join(outDir, 'RESULTS.md'), renderMarkdown(res, analysis));
rmSync(set.tmp, { recursive: true, force: true });
process.stdout.write(`${renderConsole(res)}\n\nload average before ${res.machine.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${res.machine.loadAfter.map((x) => x.toFixed(2)).join(' ')}\nwrote ${join(outDir, 'RESULTS.md')} and results.json\n`);
if (res.errors.length) process.stdout.write(`errors:\n${res.errors.map((e) => `  ${e}`).join('\n')}\n`);
tf.disposeVariables();
