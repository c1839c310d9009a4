/**
 * A small hand-made results document for the report tests: a "native" model whose captioning
 * collapses under [EOI] knockout (0.52 -> 0.03) and an "adapter" model where it barely moves
 * (0.52 -> 0.49), plus a fine-tune of the native model. Every experiment section is filled in.
 */
import sharp from 'sharp';
import type { ResultsDoc, ModelResults } from '../../src/report/results.js';

export async function tinyPngBase64(rgb: [number, number, number]): Promise<string> {
  const buf = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
  return buf.toString('base64');
}

function model(name: string, family: 'native' | 'adapter', eoiCaption: number, gate: boolean, png: string): ModelResults {
  const L = 4;
  const layers = [0, 1, 2, 3];
  const depth = (l: number) => l / (L - 1);
  return {
    name,
    family,
    checkpointHash: `sha256:${name}`,
    recipe: `recipes/${name}.yaml`,
    numLayers: L,
    e1: { records: layers.map((l) => ({ layer: l, depth: depth(l), median: gate ? 0.02 : 0.1 + 0.1 * l, q25: gate ? -0.01 : 0.05 + 0.1 * l, q75: gate ? 0.05 : 0.15 + 0.1 * l })) },
    e2: { records: layers.map((l) => ({ layer: l, depth: depth(l), homogeneity: gate ? 0.98 : 0.95 - 0.2 * l, id: 8 + l, nClusters: 3 + l })) },
    e3: {
      records: layers.flatMap((l) => [
        { layer: l, label: '[EOI]', share: gate ? 0.7 : 0.05 },
        { layer: l, label: 'last image', share: 0.1 },
        { layer: l, label: 'pos 3', share: 0.05 },
        { layer: l, label: 'internal image', share: gate ? 0.15 : 0.8 },
      ]),
    },
    e4: {
      chance: 0.1,
      k: 30,
      records: layers.flatMap((l) => [
        { layer: l, positionKind: '[EOI]', overlap: gate ? 0.2 + 0.2 * l : 0.12, recall: 0.97 },
        { layer: l, positionKind: 'mean image', overlap: gate ? 0.11 : 0.3 + 0.1 * l, recall: 0.99 },
      ]),
    },
    e5: {
      mode: 'zero',
      records: [0, 1, 2, 3, 4].flatMap((w) => [
        { window: w, edgeSet: '[EOI]', overlap: gate ? 0.8 - 0.17 * w : 0.8 },
        { window: w, edgeSet: 'image->text', overlap: 0.8 - 0.15 * w, specs: [{ kind: 'knockout', queries: '@all-text', keys: '@all-image', layers: [3], mode: 'zero' }] },
      ]),
    },
    e6: {
      rows: [
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'none', mode: 'zero', value: 0.52 },
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'eoi', mode: 'zero', value: eoiCaption, specs: [{ kind: 'knockout', queries: '@all', keys: '@eoi', mode: 'zero' }] },
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'eoi', mode: 'renormalize', value: eoiCaption * 0.9 },
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'random-image:10', mode: 'zero', value: 0.5, spread: 0.02, repetitions: 3 },
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'image-to-text', mode: 'zero', value: gate ? 0.4 : 0.02 },
        { task: 'vqa', taskType: 'vqa', metric: 'accuracy', condition: 'none', mode: 'zero', value: 0.6 },
        { task: 'vqa', taskType: 'vqa', metric: 'accuracy', condition: 'eoi', mode: 'zero', value: gate ? 0.3 : 0.6 },
      ],
    },
    e7: {
      pairs: 20,
      records: layers.map((l) => ({ layer: l, variant: 'resid', similarity: gate ? 0.3 + 0.15 * l : 0.2, baseline: 0.2, flipAccuracy: gate ? 0.25 * l : 0.0 })),
    },
    e8: {
      edit: 'add alpha * (mean_b - mean_a) at [EOI] (red -> blue)',
      records: [1, 2].flatMap((l) => [0, 1, 2, 4].map((alpha) => ({ layer: l, alpha, successRate: gate ? Math.min(1, 0.2 * alpha * l) : 0, sideEffect: 0.01 }))),
      robustness: [{ task: 'vqa', metric: 'accuracy', clean: 0.6, edited: gate ? 0.5 : 0.6 }],
      examples: [{ imagePngBase64: png, captionBefore: 'a small red circle', captionAfter: gate ? 'a small blue circle' : 'a small red circle', edit: 'red -> blue at layer 2, alpha 2' }],
    },
    generated: family === 'native' ? [{ prompt: 'a large blue square', imagePngBase64: png }] : undefined,
  };
}

export async function sampleDoc(): Promise<ResultsDoc> {
  const png = await tinyPngBase64([200, 30, 30]);
  const tuned = model('native-distribute', 'native', 0.5, false, png);
  tuned.finetune = { of: 'native', kind: 'distribute', steps: 300 };
  delete tuned.e7;
  return {
    format: 'narrowgate-results',
    version: 1,
    createdAt: '2026-11-21T20:00:00.000Z',
    run: { command: 'test', quick: true },
    data: [{ name: 'shapes (held out)', images: 64, classes: 10 }],
    models: [model('native', 'native', 0.03, true, png), model('adapter', 'adapter', 0.49, false, png), tuned],
  };
}

/** Every URL-like reference a self-contained page must not have. */
export function externalRefs(html: string): string[] {
  const found = [...html.matchAll(/https?:\/\/|\/\/cdn/gi)].map((m) => m[0]);
  // Every src= / href= / url( must be a data: URI or a #fragment.
  for (const m of html.matchAll(/(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^)"']*)/gi)) {
    const ref = m[1] ?? m[2] ?? '';
    if (!ref.startsWith('data:') && !ref.startsWith('#')) found.push(ref);
  }
  return found;
}
