/**
 * `narrowgate patch` (E7): activation patching through [EOI], per layer, on class pairs of the
 * dataset (single-object contrast pairs, or two labels); prints similarity (with its no-patch
 * baseline) and flip accuracy per layer and variant.
 */
import type { Argv } from 'yargs';
import { PATCH_VARIANTS, runPatching, type PatchVariant } from '../../experiments/index.js';
import { emit, handler, type AnyCommand } from '../run.js';
import { commonFrom, experimentOptions, parseLayers, table, type ExperimentArgs } from './analyze.js';

interface PatchArgs extends ExperimentArgs { attribute?: string; pairs?: number; prompt?: string; variants?: string; layers?: string; 'self-donor'?: boolean }

export const patchCommand: AnyCommand = {
  command: 'patch',
  describe: 'E7: patch the [EOI] residual (per layer) or [EOI] attention input (layers l..L-1) from a target image into a base image of another class',
  builder: (y: Argv) =>
    experimentOptions(y)
      .option('attribute', { type: 'string', default: 'shape', describe: 'attribute the pairs differ in (shape, color, size, position) or any label field' })
      .option('pairs', { type: 'number', default: 50, describe: 'at most this many pairs' })
      .option('prompt', { type: 'string', describe: "prompt template ({color}, {shape}, ... of the base image); default the attribute's question, e.g. \"what shape is in the {position}?\"" })
      .option('variants', { type: 'string', default: PATCH_VARIANTS.join(','), describe: `variants: ${PATCH_VARIANTS.join(', ')}` })
      .option('layers', { type: 'string', default: 'all', describe: 'all, or layers like 0,2,5 or 0-3' })
      .option('self-donor', { type: 'boolean', default: false, describe: "control: patch each base with its own activations (similarity must equal the baseline, flips 0)" })
      .example('$0 patch --checkpoint checkpoints/native-shapes --data data/shapes-single --attribute shape --pairs 100 --out runs/e7', 'flip accuracy per layer, both variants')
      .example('$0 patch --checkpoint ck --data data/fmnist --attribute label --prompt "this is a" --variants resid --out runs/e7 --json', 'label pairs, residual variant only'),
  handler: handler<PatchArgs>(async (a) => {
    const o = await commonFrom(a, 'patch');
    const r = await runPatching({
      ...o, attribute: a.attribute, pairs: a.pairs, prompt: a.prompt, layers: parseLayers(a.layers), selfDonor: a['self-donor'],
      variants: (a.variants ?? PATCH_VARIANTS.join(',')).split(',').map((s) => s.trim()) as PatchVariant[],
    });
    emit(a, r.doc, () =>
      `E7 patching on ${r.pairs.length} pairs (${r.settings.attribute}; prompt "${r.settings.prompt}")\n` +
      table(['layer', 'variant', 'similarity', 'baseline', 'flip acc.'], r.records.map((x) => [x.layer, x.variant, x.similarity, x.baseline, x.flipAccuracy])) +
      (a.out ? `\nwrote ${a.out}/results.json and figure data` : ''));
  }),
};
