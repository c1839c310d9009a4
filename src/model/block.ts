/**
 * One transformer block (decoder layer; the ViT reuses it). Masking and rotary come from the call's
 * ForwardState: the decoder builds a causal mask with rotary tables, the ViT a bidirectional one without.
 *   pre  (Llama):           x += attn(ln1(x));  x += mlp(ln2(x))
 *   swin (Chameleon-30B):   x += ln1(attn(x));  x += ln2(mlp(x))
 * Local weight names: ln1.w [D], attn.* (attention.ts), ln2.w [D], mlp.* (mlp.ts). Full names are
 * `${prefix}.${local}`, e.g. "blocks.0.attn.W_Q".
 *
 * Layer-by-layer execution: forward() takes an optional WeightSet (local name -> tensor). A block
 * built with `external: true` owns no variables and must be given its weights on every call (e.g.
 * uploaded from JS memory for that layer only, then disposed): that is how a model too large for
 * the backend runs.
 */
import * as tf from '@tensorflow/tfjs';
import { attention, attentionParamSpecs, ATTENTION_HOOKS, type AttentionHooks } from './attention.js';
import type { DecoderConfig } from './config.js';
import { hookPoints, joinPath, type HookPoint } from './hookpoint.js';
import { mlpParamSpecs, swiglu } from './mlp.js';
import { rmsNorm } from './norms.js';
import { createVariables, req, weightSet, type ParamSpec, type WeightSet } from './params.js';
import type { ForwardState } from './state.js';
import type { Rng } from '../util/rng.js';

/** Parameter specs of one block, local names, in a stable order. */
export function blockParamSpecs(c: DecoderConfig): ParamSpec[] {
  return [
    { name: 'ln1.w', shape: [c.dModel], init: 'ones' },
    ...attentionParamSpecs(c),
    { name: 'ln2.w', shape: [c.dModel], init: 'ones' },
    ...mlpParamSpecs(c),
  ];
}

/** Hook points of a block in forward order (pre-norm placement), local names. */
const BLOCK_HOOKS_BEFORE_ATTN = { resid_pre: 'hook_resid_pre', ln1: 'ln1.hook_normalized' } as const;
const BLOCK_HOOKS_AFTER_ATTN = {
  attn_out: 'hook_attn_out',
  resid_mid: 'hook_resid_mid',
  ln2: 'ln2.hook_normalized',
  mlp_out: 'hook_mlp_out',
  resid_post: 'hook_resid_post',
} as const;

export interface BlockOptions {
  prefix: string;
  layer: number;
  /** No variables: weights are passed to every forward call. */
  external?: boolean;
  rng: Rng;
}

export class Block {
  readonly prefix: string;
  readonly layer: number;
  readonly specs: ParamSpec[];
  private vars: Map<string, tf.Variable> | null;
  private readonly pre: Record<keyof typeof BLOCK_HOOKS_BEFORE_ATTN, HookPoint>;
  private readonly attnHooks: AttentionHooks;
  private readonly post: Record<keyof typeof BLOCK_HOOKS_AFTER_ATTN, HookPoint>;

  constructor(readonly cfg: DecoderConfig, o: BlockOptions) {
    this.prefix = o.prefix;
    this.layer = o.layer;
    this.specs = blockParamSpecs(cfg);
    this.vars = o.external ? null : createVariables(this.specs, o.rng);
    this.pre = hookPoints(o.prefix, o.layer, BLOCK_HOOKS_BEFORE_ATTN);
    this.attnHooks = hookPoints(o.prefix, o.layer, ATTENTION_HOOKS);
    this.post = hookPoints(o.prefix, o.layer, BLOCK_HOOKS_AFTER_ATTN);
  }

  /** Hook points in forward order. */
  hookPoints(): HookPoint[] {
    return [...Object.values(this.pre), ...Object.values(this.attnHooks), ...Object.values(this.post)] as HookPoint[];
  }

  /** The block's own weights (local names); throws for an external block. */
  weights(): WeightSet {
    if (!this.vars) throw new Error(`block ${this.prefix} holds no weights (external); pass them to forward()`);
    return weightSet(this.vars);
  }

  get isExternal(): boolean {
    return this.vars === null;
  }

  /** Full parameter names -> variables (empty for an external block). */
  namedParameters(into: Map<string, tf.Variable>): void {
    if (this.vars) for (const [k, v] of this.vars) into.set(joinPath(this.prefix, k), v);
  }

  /** x [B, T, D] -> [B, T, D]; `w` overrides the block's own weights. Call inside tf.tidy. */
  forward(x: tf.Tensor, st: ForwardState, w: WeightSet = this.weights()): tf.Tensor {
    const c = this.cfg;
    const eps = c.rmsNormEps;
    x = this.pre.resid_pre.run(x, st);
    let attnOut: tf.Tensor;
    if (c.normPlacement === 'pre') {
      const h = this.pre.ln1.run(rmsNorm(x, req(w, 'ln1.w'), eps), st);
      attnOut = attention(c, w, h, st, this.attnHooks, this.layer);
    } else {
      const a = attention(c, w, x, st, this.attnHooks, this.layer);
      attnOut = this.pre.ln1.run(rmsNorm(a, req(w, 'ln1.w'), eps), st);
    }
    attnOut = this.post.attn_out.run(attnOut, st);
    const mid = this.post.resid_mid.run(tf.add(x, attnOut), st);
    let mlpOut: tf.Tensor;
    if (c.normPlacement === 'pre') {
      mlpOut = swiglu(w, this.post.ln2.run(rmsNorm(mid, req(w, 'ln2.w'), eps), st));
    } else {
      mlpOut = this.post.ln2.run(rmsNorm(swiglu(w, mid), req(w, 'ln2.w'), eps), st);
    }
    mlpOut = this.post.mlp_out.run(mlpOut, st);
    return this.post.resid_post.run(tf.add(mid, mlpOut), st);
  }

  dispose(): void {
    if (this.vars) for (const v of this.vars.values()) v.dispose();
    this.vars = null;
  }
}
