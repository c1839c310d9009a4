/**
 * An independent plain-JS (float64) forward pass of the decoder, written from the architecture's
 * equations (not from src/): RMSNorm, q/k/v (+bias), per-head LayerNorm QK-norm, rotate-half rotary,
 * causal softmax attention with grouped kv heads, SwiGLU, final norm, unembedding. Batch of one
 * sequence. `knock(layer, head, q, k)` marks attention edges to knock out: mode 'zero' zeroes the
 * post-softmax probability (no renormalisation), 'renormalize' removes the edge before the softmax.
 */
import type { DecoderConfig } from '../../src/model/config.js';

export type Weights = Map<string, { shape: number[]; data: Float64Array }>;

export interface RefOptions {
  knock?: (layer: number, head: number, q: number, k: number) => boolean;
  mode?: 'zero' | 'renormalize';
  /** Replace the token embeddings (for spliced inputs). */
  embeds?: number[][];
  /** Parameter-name prefix of the blocks and final norm ('' = decoder, 'vision.' = the ViT). */
  prefix?: string;
  /** Default true; false = bidirectional. */
  causal?: boolean;
  /** Default true; false = no rotary (the ViT). */
  rope?: boolean;
}

export interface RefOutput {
  logits: number[][];
  /** Output of the final norm, [T][D]. */
  hidden: number[][];
  /** patterns[layer][head][q][k] */
  patterns: number[][][][];
}

function W(w: Weights, name: string) {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

/** x [n] @ M [n, m] (row-major) */
function vecMat(x: number[], M: { shape: number[]; data: Float64Array }): number[] {
  const [n, m] = M.shape as [number, number];
  const out = new Array<number>(m).fill(0);
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    for (let j = 0; j < m; j++) out[j] = (out[j] as number) + xi * (M.data[i * m + j] as number);
  }
  return out;
}

function rms(x: number[], g: Float64Array, eps: number): number[] {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  const r = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * r * (g[i] as number));
}

function addVec(a: number[], b: Float64Array | number[]): number[] {
  return a.map((v, i) => v + (b[i] as number));
}

function rope(x: number[], pos: number, theta: number): number[] {
  const d = x.length, half = d / 2;
  const out = new Array<number>(d);
  for (let i = 0; i < half; i++) {
    const a = pos * Math.pow(theta, (-2 * i) / d);
    const c = Math.cos(a), s = Math.sin(a);
    const x1 = x[i] as number, x2 = x[i + half] as number;
    out[i] = x1 * c - x2 * s;
    out[i + half] = x2 * c + x1 * s;
  }
  return out;
}

function headNorm(x: number[], w: Float64Array, b: Float64Array, head: number, eps: number): number[] {
  const d = x.length;
  const mu = x.reduce((s, v) => s + v, 0) / d;
  const v = x.reduce((s, t) => s + (t - mu) * (t - mu), 0) / d;
  return x.map((t, j) => ((t - mu) / Math.sqrt(v + eps)) * (w[head * d + j] as number) + (b[head * d + j] as number));
}

export function referenceForward(c: DecoderConfig, w: Weights, ids: number[], o: RefOptions = {}): RefOutput {
  const pre = o.prefix ?? '';
  const causal = o.causal ?? true;
  const useRope = o.rope ?? true;
  const T = o.embeds ? o.embeds.length : ids.length, D = c.dModel, H = c.nHeads, K = c.nKvHeads, Dh = c.headDim;
  const E = o.embeds ? null : W(w, 'embed.W_E');
  let xs: number[][] = o.embeds ?? ids.map((id) => Array.from(E!.data.subarray(id * D, (id + 1) * D)));
  const patterns: number[][][][] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = (n: string) => W(w, `${pre}blocks.${l}.${n}`);
    const split = (v: number[], heads: number) => Array.from({ length: heads }, (_, h) => v.slice(h * Dh, (h + 1) * Dh));
    const qs: number[][][] = [], ks: number[][][] = [], vs: number[][][] = [];
    const attnIn = c.normPlacement === 'pre' ? xs.map((x) => rms(x, p('ln1.w').data, c.rmsNormEps)) : xs;
    attnIn.forEach((h, t) => {
      let q = vecMat(h, p('attn.W_Q')), k = vecMat(h, p('attn.W_K')), v = vecMat(h, p('attn.W_V'));
      if (c.qkvBias) {
        q = addVec(q, p('attn.b_Q').data);
        k = addVec(k, p('attn.b_K').data);
        v = addVec(v, p('attn.b_V').data);
      }
      let qh = split(q, H), kh = split(k, K);
      if (c.qkNorm) {
        qh = qh.map((x, h) => headNorm(x, p('attn.q_norm.w').data, p('attn.q_norm.b').data, h, c.qkNormEps));
        kh = kh.map((x, h) => headNorm(x, p('attn.k_norm.w').data, p('attn.k_norm.b').data, h, c.qkNormEps));
      }
      qs.push(useRope ? qh.map((x) => rope(x, t, c.ropeTheta)) : qh);
      ks.push(useRope ? kh.map((x) => rope(x, t, c.ropeTheta)) : kh);
      vs.push(split(v, K));
    });
    const layerPat: number[][][] = [];
    const z: number[][] = Array.from({ length: T }, () => new Array<number>(H * Dh).fill(0));
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / K));
      const pat: number[][] = [];
      for (let t = 0; t < T; t++) {
        const sc: number[] = [];
        const last = causal ? t : T - 1;
        for (let s = 0; s <= last; s++) {
          let dot = 0;
          for (let j = 0; j < Dh; j++) dot += (qs[t]![h]![j] as number) * (ks[s]![kvh]![j] as number);
          const knocked = o.knock?.(l, h, t, s) ?? false;
          sc.push(knocked && o.mode === 'renormalize' ? -Infinity : dot / Math.sqrt(Dh));
        }
        const m = Math.max(...sc);
        const e = sc.map((v) => Math.exp(v - m));
        const sum = e.reduce((a, b) => a + b, 0);
        const row = new Array<number>(T).fill(0);
        for (let s = 0; s <= last; s++) {
          row[s] = (e[s] as number) / sum;
          if (o.mode !== 'renormalize' && o.knock?.(l, h, t, s)) row[s] = 0;
        }
        pat.push(row);
        for (let s = 0; s <= last; s++) for (let j = 0; j < Dh; j++) z[t]![h * Dh + j] = (z[t]![h * Dh + j] as number) + (row[s] as number) * (vs[s]![kvh]![j] as number);
      }
      layerPat.push(pat);
    }
    patterns.push(layerPat);
    let attnOut = z.map((zt) => vecMat(zt, p('attn.W_O')));
    if (c.normPlacement === 'swin') attnOut = attnOut.map((a) => rms(a, p('ln1.w').data, c.rmsNormEps));
    const mid = xs.map((x, t) => addVec(x, attnOut[t] as number[]));
    const mlp = (x: number[]) => {
      const g = vecMat(x, p('mlp.W_gate')), u = vecMat(x, p('mlp.W_in'));
      return vecMat(g.map((a, i) => (a / (1 + Math.exp(-a))) * (u[i] as number)), p('mlp.W_out'));
    };
    xs = mid.map((x) => {
      const out = c.normPlacement === 'pre' ? mlp(rms(x, p('ln2.w').data, c.rmsNormEps)) : rms(mlp(x), p('ln2.w').data, c.rmsNormEps);
      return addVec(x, out);
    });
  }
  const hidden = xs.map((x) => rms(x, W(w, `${pre}ln_final.w`).data, c.rmsNormEps));
  if (pre) return { logits: [], hidden, patterns };
  const U = c.tieEmbeddings ? null : W(w, 'unembed.W_U');
  const Emb = W(w, 'embed.W_E');
  const logits = hidden.map((h) => {
    if (U) return vecMat(h, U);
    const V = c.vocabSize;
    return Array.from({ length: V }, (_, v) => h.reduce((s, hv, j) => s + hv * (Emb.data[v * D + j] as number), 0));
  });
  return { logits, hidden, patterns };
}
