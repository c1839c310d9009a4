/**
 * The adapter's projector: a 2-layer MLP from vision features [B, N, dIn] to decoder embeddings
 * [B, N, D] (LLaVA-1.5 style). Parameters: projector.W_1 [dIn, dHidden], projector.b_1,
 * projector.W_2 [dHidden, D], projector.b_2. Hook: projector.hook_out.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ProjectorConfig } from './config.js';
import { HookPoint, type HookRun } from './hookpoint.js';
import { activation, linear } from './ops.js';
import { createVariables } from './params.js';
import type { Rng } from '../util/rng.js';

export class Projector {
  private vars: Map<string, tf.Variable>;
  readonly hookOut = new HookPoint('projector.hook_out', null);

  constructor(readonly cfg: ProjectorConfig, dOut: number, rng: Rng) {
    this.vars = createVariables(
      [
        { name: 'projector.W_1', shape: [cfg.dIn, cfg.dHidden], init: 'normal', std: 1 / Math.sqrt(cfg.dIn) },
        { name: 'projector.b_1', shape: [cfg.dHidden], init: 'zeros' },
        { name: 'projector.W_2', shape: [cfg.dHidden, dOut], init: 'normal', std: 0.02 },
        { name: 'projector.b_2', shape: [dOut], init: 'zeros' },
      ],
      rng,
    );
  }

  private v(name: string): tf.Variable {
    const t = this.vars.get(name);
    if (!t) throw new Error(`projector parameter ${name} is missing (disposed?)`);
    return t;
  }

  /** features [B, N, dIn] -> [B, N, D]. Call inside tf.tidy. */
  forward(features: tf.Tensor, run: HookRun): tf.Tensor {
    const h = activation(this.cfg.activation, linear(features, this.v('projector.W_1'), this.v('projector.b_1')));
    return this.hookOut.run(linear(h, this.v('projector.W_2'), this.v('projector.b_2')), run);
  }

  namedParameters(into: Map<string, tf.Variable>): void {
    for (const [k, v] of this.vars) into.set(k, v);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
