/**
 * Data-parallel training over worker threads (STACK.md: the wasm matmul is single-threaded, but two
 * wasm instances in two worker_threads each run at full speed).
 *
 * With `workers` = N, replica 0 is the caller's model on the main thread and replicas 1..N-1 live in
 * worker threads, each with its own backend instance and a copy of the model. A micro-batch is cut
 * into N contiguous row shards; every replica computes the masked mean loss of its shard and its
 * gradients; the main thread combines them weighted by each shard's share of the target tokens:
 *   loss = sum_i (c_i / C) * loss_i,  grad = sum_i (c_i / C) * grad_i,
 * which is the single-replica loss sum(nll * w) / C and its gradient, up to float rounding. The
 * optimizer runs once, on the main thread; before each micro-batch the trainable weights (all
 * weights on the first call) are posted to the workers, so the replicas always see the main model.
 *
 * Sharding and the order of the sums depend only on N, so runs with a fixed worker count are
 * deterministic and resume exactly. Hooks that are functions cannot be sent to a worker: a
 * micro-batch with extra hooks (tests' fault injection, probes) runs whole on the main thread.
 * Training knockouts are sent as their specs and compiled in each worker.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { NamedHook } from '../hooks/types.js';
import type { KnockoutSpec } from '../interventions/spec.js';
import type { ModelConfig } from '../model/config.js';
import type { VLModel } from '../model/model.js';
import { UserError } from '../util/errors.js';
import type { Grads, TrainableParam } from './optimizer.js';
import { lossAndGrads, type StepBatch } from './step.js';
import { shardBatch, shardWeights } from './shard.js';

/** Computes the loss and gradients of one micro-batch; the trainer calls this instead of lossAndGrads. */
export interface StepRunner {
  /** Number of replicas (1 = the main thread alone). */
  readonly workers: number;
  /**
   * Mean masked loss of `sb` and the gradients of the trainable parameters (the caller owns both).
   * `knockout` indexes the knockout specs given at creation (null = none).
   */
  lossAndGrads(sb: StepBatch, knockout: number | null, extraHooks?: readonly NamedHook[]): Promise<{ loss: tf.Scalar; grads: Grads }>;
  /** Stops the workers. */
  dispose(): Promise<void>;
}

export interface StepRunnerOptions {
  /** Replicas including the main thread; default os.availableParallelism(). */
  workers?: number;
  model: VLModel;
  params: readonly TrainableParam[];
  /** Training knockouts (compiled here with compileTrainingKnockouts; their hooks, same order). */
  knockouts?: readonly KnockoutSpec[];
  knockoutHooks?: readonly NamedHook[][];
}

/** Messages between the main thread and a worker (parallel-worker.ts). */
export interface WorkerInit {
  backend: string;
  config: ModelConfig;
  trainable: string[];
  knockouts: KnockoutSpec[];
}
export type ToWorker =
  | { type: 'weights'; names: string[]; data: Float32Array[] }
  | { type: 'step'; id: number; sb: StepBatch; knockout: number | null }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; grads: Float32Array[] }
  | { type: 'error'; id: number | null; message: string; user: boolean };

/** The default worker count: the cores this process may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * The worker entry: the compiled parallel-worker.js next to this file, or, when running from the
 * TypeScript sources under tsx (tests), a bootstrap that registers tsx in the worker and imports the
 * .ts entry (Node 20 does not apply the parent's --import loader hooks to worker threads).
 */
function newWorker(init: WorkerInit): Worker {
  const js = new URL('./parallel-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: init, stdout: true });
  const ts = new URL('./parallel-worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData: init, stdout: true });
}

class Replica {
  private readonly worker: Worker;
  private pending = new Map<number, { resolve: (m: { loss: number; grads: Float32Array[] }) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  constructor(init: WorkerInit) {
    this.worker = newWorker(init);
    this.worker.stdout.resume(); // the cpu backend's banner: not ours to print
    let onReady!: () => void, onFail!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => { onReady = res; onFail = rej; });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'grads') this.settle(m.id, null, m);
      else {
        const err = m.user ? new UserError(m.message) : new Error(`training worker: ${m.message}`);
        if (m.id === null) { this.fail(err); onFail(err); } else this.settle(m.id, err, null);
      }
    });
    this.worker.on('error', (e) => { this.fail(e); onFail(e); });
    this.worker.on('exit', (code) => {
      const e = new Error(`training worker exited (code ${code})`);
      this.fail(e);
      onFail(e);
    });
  }

  private settle(id: number, err: Error | null, m: { loss: number; grads: Float32Array[] } | null): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(m as { loss: number; grads: Float32Array[] });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(msg, transfer);
  }

  step(id: number, sb: StepBatch, knockout: number | null): Promise<{ loss: number; grads: Float32Array[] }> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'step', id, sb, knockout } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.worker.on('exit', () => {});
    if (!this.failure) this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await this.worker.terminate();
  }
}

/** Maps the active tfjs backend to the name a worker initialises (src/backend). */
function workerBackend(): string | null {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu' ? b : null;
}

/**
 * A step runner with `workers` replicas. One replica (or a backend that is not wasm/cpu, e.g. the
 * native tensorflow backend, which threads by itself) computes in-process with no worker.
 */
export async function createStepRunner(opts: StepRunnerOptions): Promise<StepRunner> {
  const n = opts.workers ?? defaultWorkers();
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--workers must be a whole number of at least 1, got ${n}.`);
  const { model, params } = opts;
  const koHooks = opts.knockoutHooks ?? [];
  const hooksFor = (ko: number | null, extra: readonly NamedHook[]): NamedHook[] => [...(ko !== null ? (koHooks[ko] ?? []) : []), ...extra];
  const backend = workerBackend();
  if (n === 1 || backend === null) {
    return {
      workers: 1,
      lossAndGrads: async (sb, ko, extra = []) => lossAndGrads(model, params, sb, hooksFor(ko, extra)),
      dispose: async () => {},
    };
  }
  const init: WorkerInit = { backend, config: model.config, trainable: params.map((p) => p.name), knockouts: [...(opts.knockouts ?? [])] };
  const replicas = Array.from({ length: n - 1 }, () => new Replica(init));
  try {
    await Promise.all(replicas.map((r) => r.ready));
  } catch (e) {
    await Promise.all(replicas.map((r) => r.close()));
    throw e;
  }
  let nextId = 0;
  let sentAll = false;

  const pushWeights = async (): Promise<void> => {
    const entries: [string, tf.Variable][] = sentAll ? params.map((p) => [p.name, p.variable]) : [...model.namedParameters()];
    const arrays = await Promise.all(entries.map(([, v]) => v.data() as Promise<Float32Array>));
    const names = entries.map(([name]) => name);
    replicas.forEach((r) => {
      const data = arrays.map((a) => new Float32Array(a)); // own copies: the backend may hand out its storage
      r.post({ type: 'weights', names, data }, data.map((d) => d.buffer as ArrayBuffer));
    });
    sentAll = true;
  };

  return {
    workers: n,
    async lossAndGrads(sb, ko, extra = []) {
      if (extra.length > 0) return lossAndGrads(model, params, sb, hooksFor(ko, extra));
      await pushWeights();
      const shards = shardBatch(sb, n);
      const counts = shardWeights(shards);
      const remote = shards.slice(1).map((s, i) => (s ? (replicas[i] as Replica).step(nextId++, s, ko) : null));
      const local = shards[0] ? lossAndGrads(model, params, shards[0], hooksFor(ko, [])) : null;
      let results: ({ loss: number; grads: Float32Array[] } | null)[];
      try {
        results = await Promise.all(remote);
      } catch (e) {
        if (local) { local.loss.dispose(); for (const g of local.grads.values()) g.dispose(); }
        throw e;
      }
      const grads: Grads = new Map();
      params.forEach((p, j) => {
        grads.set(p.name, tf.tidy(() => {
          let acc: tf.Tensor | null = local ? tf.mul(local.grads.get(p.name) as tf.Tensor, counts[0] as number) : null;
          results.forEach((r, i) => {
            if (!r) return;
            const g = tf.mul(tf.tensor(r.grads[j] as Float32Array, p.variable.shape, 'float32'), counts[i + 1] as number);
            acc = acc ? tf.add(acc, g) : g;
          });
          return acc ?? tf.zerosLike(p.variable);
        }));
      });
      const loss = tf.tidy(() => {
        let l: tf.Tensor = local ? tf.mul(local.loss, counts[0] as number) : tf.scalar(0);
        results.forEach((r, i) => { if (r) l = tf.add(l, r.loss * (counts[i + 1] as number)); });
        return l as tf.Scalar;
      });
      const out = { loss, grads };
      if (local) { local.loss.dispose(); for (const g of local.grads.values()) g.dispose(); }
      return out;
    },
    async dispose() {
      await Promise.all(replicas.map((r) => r.close()));
    },
  };
}
