/**
 * `narrowgate steer` (E8): edit the [EOI] vector of an image at layer l with strength alpha, from
 * class a to class b (class means from an activation store or a model run, or a donor image), and
 * print the answer before and after; --sweep runs the images of class a over layers x strengths and
 * prints success rate and side effects.
 */
import type { Argv } from 'yargs';
import { runSteering, runSteeringSweep, type SteerOp } from '../../experiments/index.js';
import { UserError } from '../../util/errors.js';
import { emit, handler, type AnyCommand } from '../run.js';
import { commonFrom, experimentOptions, parseLayers, parseNumbers, table, type ExperimentArgs } from './analyze.js';

interface SteerArgs extends ExperimentArgs {
  attribute?: string; from?: string; to?: string; op?: string; layer?: number; alpha?: number; store?: string; donor?: number; 'donor-image'?: string;
  image?: number; 'image-file'?: string; prompt?: string; 'max-tokens'?: number; sweep?: boolean; layers?: string; alphas?: string; 'side-effects'?: boolean; 'mean-images'?: number;
}

export const steerCommand: AnyCommand = {
  command: 'steer',
  describe: 'E8: steer an image from class a to class b by editing its [EOI] vector; --sweep for success rate and side effects over layers x strengths',
  builder: (y: Argv) =>
    experimentOptions(y, false)
      .option('attribute', { type: 'string', default: 'shape', describe: 'label field edited (shape, color, ...)' })
      .option('from', { type: 'string', demandOption: true, describe: 'class a (a class name of the attribute)' })
      .option('to', { type: 'string', demandOption: true, describe: 'class b' })
      .option('op', { type: 'string', choices: ['add', 'replace', 'interpolate'], default: 'add', describe: 'add alpha (mean_b - mean_a); replace / interpolate towards a donor' })
      .option('layer', { type: 'number', describe: 'layer of the edit (single image)' })
      .option('alpha', { type: 'number', default: 1, describe: 'strength (single image)' })
      .option('store', { type: 'string', describe: 'activation store with [EOI] rows (extract --positions @eoi) for the class means; default: a model run over the dataset' })
      .option('mean-images', { type: 'number', default: 64, describe: 'images per class for class means from a model run' })
      .option('donor', { type: 'number', describe: 'donor image (dataset row) for replace / interpolate' })
      .option('donor-image', { type: 'string', describe: 'donor image file for replace / interpolate' })
      .option('image', { type: 'number', describe: 'the image to steer (dataset row; default the first image of class a)' })
      .option('image-file', { type: 'string', describe: 'the image to steer, from a file' })
      .option('prompt', { type: 'string', describe: "prompt template; default the attribute's question (\"\" for a caption)" })
      .option('max-tokens', { type: 'number', default: 8, describe: 'most tokens to generate' })
      .option('sweep', { type: 'boolean', default: false, describe: 'images of class a over --layers x --alphas' })
      .option('layers', { type: 'string', default: 'all', describe: 'sweep layers: all, or 0,2,5 or 0-3' })
      .option('alphas', { type: 'string', default: '0,1,2,4,8', describe: 'sweep strengths' })
      .option('side-effects', { type: 'boolean', default: true, describe: 'sweep: VQA accuracy on questions about other attributes' })
      .example('$0 steer --checkpoint checkpoints/native-shapes --data data/shapes-single --from circle --to square --layer 2 --alpha 4', 'one image, answer before and after')
      .example('$0 steer --checkpoint ck --data data/shapes-single --from red --to blue --attribute color --sweep --alphas 0,2,4,8 --limit 50 --out runs/e8', 'dose-response over layers x strengths'),
  handler: handler<SteerArgs>(async (a) => {
    const o = await commonFrom(a, 'steer');
    if (!a.from || !a.to) throw new UserError('steer needs --from CLASS and --to CLASS.');
    const src = { attribute: a.attribute ?? 'shape', from: a.from, to: a.to, op: a.op as SteerOp, store: a.store, donor: a.donor, donorImage: a['donor-image'], meanImages: a['mean-images'], prompt: a.prompt, maxNewTokens: a['max-tokens'] };
    if (a.sweep) {
      const r = await runSteeringSweep({ ...o, ...src, layers: parseLayers(a.layers), alphas: parseNumbers(a.alphas ?? '0,1,2,4,8', '--alphas'), sideEffects: a['side-effects'] });
      emit(a, r.doc, () =>
        `E8 sweep on ${r.images} images of ${src.attribute} "${a.from}" -> "${a.to}" (clean: names "${a.to}" ${r.clean.successRate.toFixed(3)}, unrelated accuracy ${r.clean.unrelatedAccuracy?.toFixed(3) ?? '-'}, fluency ${r.clean.fluency?.toFixed(3) ?? '-'})\n` +
        table(['layer', 'alpha', 'success', `names ${a.from}`, 'changed', 'side effect', 'fluency'], r.records.map((x) => [x.layer, x.alpha, x.successRate, x.namesFrom, x.changed, x.sideEffect, x.fluency])) +
        (a.out ? `\nwrote ${a.out}/results.json and figure data` : ''));
      return;
    }
    if (a.layer === undefined) throw new UserError('steer needs --layer L for one image (or --sweep).');
    const r = await runSteering({ ...o, ...src, layer: a.layer, alpha: a.alpha ?? 1, image: a.image, imageFile: a['image-file'] });
    emit(a, { before: r.before, after: r.after, success: r.success, prompt: r.prompt, results: r.doc }, () =>
      [`prompt:  ${r.prompt}`, `before:  ${r.before}`, `after:   ${r.after}`, `names "${a.to}": ${r.success ? 'yes' : 'no'}`, ...(a.out ? [`wrote ${a.out}/results.json`] : [])].join('\n'));
  }),
};
