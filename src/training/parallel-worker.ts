/**
 * Worker-thread entry of data-parallel training (parallel.ts): a replica of the model on its own
 * backend instance. It receives weights and batch shards, and answers with the shard's mean loss and
 * gradients as Float32Arrays (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import { createModel } from '../model/factory.js';
import type { VLModel } from '../model/model.js';
import { UserError } from '../util/errors.js';
import { compileTrainingKnockouts } from './model-setup.js';
import { lossAndGrads } from './step.js';
import type { NamedHook } from '../hooks/types.js';
import type { TrainableParam } from './optimizer.js';
import type { FromWorker, ToWorker, WorkerInit } from './parallel.js';

const port = parentPort;
if (!port) throw new Error('parallel-worker.ts runs only as a worker thread');

function report(id: number | null, e: unknown): void {
  const err = e as Error;
  port!.postMessage({ type: 'error', id, message: String(err?.message ?? e), user: e instanceof UserError } satisfies FromWorker);
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  let model: VLModel;
  let params: TrainableParam[];
  let koHooks: NamedHook[][];
  try {
    await initBackend(init.backend);
    model = createModel(init.config, { seed: 0 });
    const vars = model.namedParameters();
    params = init.trainable.map((name) => {
      const variable = vars.get(name);
      if (!variable) throw new Error(`the replica has no parameter "${name}"`);
      return { name, variable, decay: false };
    });
    koHooks = await compileTrainingKnockouts(init.knockouts, model);
  } catch (e) {
    report(null, e);
    return;
  }
  const vars = model.namedParameters();
  port!.on('message', (m: ToWorker) => {
    if (m.type === 'close') {
      model.dispose();
      port!.close();
      return;
    }
    if (m.type === 'weights') {
      try {
        tf.tidy(() => m.names.forEach((name, i) => {
          const v = vars.get(name) as tf.Variable;
          v.assign(tf.tensor(m.data[i] as Float32Array, v.shape, 'float32'));
        }));
      } catch (e) {
        report(null, e);
      }
      return;
    }
    void (async () => {
      try {
        const hooks = m.knockout !== null ? (koHooks[m.knockout] ?? []) : [];
        const { loss, grads } = lossAndGrads(model, params, m.sb, hooks);
        const lossV = (await loss.data())[0] as number;
        loss.dispose();
        const arrays: Float32Array[] = [];
        for (const p of params) {
          const g = grads.get(p.name) as tf.Tensor;
          arrays.push(((await g.data()) as Float32Array).slice());
        }
        for (const g of grads.values()) g.dispose();
        port!.postMessage({ type: 'grads', id: m.id, loss: lossV, grads: arrays } satisfies FromWorker, arrays.map((a) => a.buffer as ArrayBuffer));
      } catch (e) {
        report(m.id, e);
      }
    })();
  });
  port!.postMessage({ type: 'ready' } satisfies FromWorker);
}

void main();
