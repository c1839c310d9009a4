/**
 * `narrowgate analyze <experiment>`: modality-gap (E1 + E2), attention (E3), overlap (E4),
 * progressive-knockout (E5). Each subcommand parses its flags, calls one runner of src/experiments
 * (which writes OUT/results.json and OUT/figure-*.json) and prints a short table.
 */
import type { Argv } from 'yargs';
import { initBackend } from '../../backend/index.js';
import { runAttentionFlow, runModalityGap, runOverlap, runProgressiveKnockout, EDGE_SETS, type CommonOptions, type EdgeSet } from '../../experiments/index.js';
import { UserError } from '../../util/errors.js';
import { createProgress, noProgress } from '../../util/progress.js';
import { emit, globalOptions, handler, type AnyCommand, type GlobalArgs } from '../run.js';

export interface ExperimentArgs extends GlobalArgs {
  checkpoint?: string;
  data?: string;
  split?: string;
  limit?: number;
  seed?: number;
  'batch-size'?: number;
  name?: string;
  out?: string;
  edit?: string;
}

/** The options every experiment command takes. */
export function experimentOptions(y: Argv, outRequired = true) {
  return globalOptions(y)
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint directory (narrowgate checkpoint or Hugging Face folder)' })
    .option('data', { type: 'string', demandOption: true, describe: 'dataset directory (made by narrowgate data ...)' })
    .option('out', { type: 'string', demandOption: outRequired, describe: 'output directory: results.json (report format) and figure-*.json' })
    .option('split', { type: 'string', describe: 'only this split (train, val, test); default all images' })
    .option('limit', { type: 'number', describe: 'at most this many images' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for random positions, pairs and HNSW' })
    .option('batch-size', { type: 'number', default: 8, describe: 'examples per forward pass' })
    .option('name', { type: 'string', describe: 'model name in results.json (default: the checkpoint folder name)' })
    .option('edit', { type: 'string', describe: 'intervention spec JSON active in every run (e.g. a knockout that makes a known gate); recorded in results.json' });
}

/** Checks the common flags, initialises the backend, and returns the runner options. */
export async function commonFrom(a: ExperimentArgs, command: string): Promise<CommonOptions> {
  if (!a.checkpoint || !a.data) throw new UserError(`${command} needs --checkpoint DIR and --data DIR.`);
  for (const [flag, v] of [['--limit', a.limit], ['--batch-size', a['batch-size']]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UserError(`${flag} ${v} is invalid; expected a positive integer.`);
  }
  await initBackend(a.backend);
  return { checkpoint: a.checkpoint, data: a.data, split: a.split, limit: a.limit, seed: a.seed, batchSize: a['batch-size'], name: a.name, out: a.out, edit: a.edit, progress: a.quiet || a.json ? noProgress : createProgress };
}

/** "all", or layers like 0,2,5 or 0-3. */
export function parseLayers(text: string | undefined, flag = '--layers'): 'all' | number[] {
  if (text === undefined || text.trim() === 'all') return 'all';
  const out: number[] = [];
  for (const p of text.split(',').map((s) => s.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(p);
    if (range) for (let l = Number(range[1]); l <= Number(range[2]); l++) out.push(l);
    else if (/^\d+$/.test(p)) out.push(Number(p));
    else throw new UserError(`${flag} "${text}" is invalid; expected all, or a list like 0,2,5 or 0-3.`);
  }
  return out;
}

/** A comma-separated list of numbers. */
export function parseNumbers(text: string, flag: string, integer = false): number[] {
  const out = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (out.length === 0 || out.some((x) => !Number.isFinite(x) || (integer && !Number.isInteger(x)))) throw new UserError(`${flag} "${text}" is invalid; expected a comma-separated list of ${integer ? 'integers' : 'numbers'}.`);
  return out;
}

/** A plain text table (right-aligned columns). */
export function table(head: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => (v === null ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const all = [head, ...rows.map((r) => r.map(cell))];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (c ?? '').padStart(w[i]!)).join('  ')).join('\n');
}

const wrote = (out?: string) => (out ? `\nwrote ${out}/results.json and figure data` : '');

interface GapArgs extends ExperimentArgs { hook?: string; k?: number; z?: number; 'skip-clusters'?: boolean }

const modalityGapCommand: AnyCommand = {
  command: 'modality-gap',
  describe: 'E1 + E2: cross-modal cosine median/IQR per layer, and homogeneity of ADP clusters (Gride/TwoNN ID, kNN density)',
  builder: (y: Argv) =>
    experimentOptions(y)
      .option('hook', { type: 'string', default: 'resid_post', describe: 'block hook: resid_post, resid_pre, resid_mid, attn_out, mlp_out, ln1.normalized, ln2.normalized' })
      .option('k', { type: 'number', default: 16, describe: 'ADP neighbourhood' })
      .option('z', { type: 'number', default: 1.65, describe: 'ADP merging threshold Z' })
      .option('skip-clusters', { type: 'boolean', default: false, describe: 'E1 only (no ADP)' })
      .example('$0 analyze modality-gap --checkpoint checkpoints/native-shapes --data data/shapes --split test --limit 1000 --out runs/e1', 'E1 and E2 on 1000 test images'),
  handler: handler<GapArgs>(async (a) => {
    const r = await runModalityGap({ ...(await commonFrom(a, 'analyze modality-gap')), hook: a.hook, k: a.k, Z: a.z, skipClusters: a['skip-clusters'] });
    emit(a, r.doc, () =>
      `E1/E2 on ${r.n} items (image vectors ${r.imageOrder})\n` +
      table(['layer', 'depth', 'median', 'q25', 'q75', 'homog.', 'clusters', 'ID', 'TwoNN'], r.layers.map((x) => [x.layer, x.depth, x.median, x.q25, x.q75, x.homogeneity, x.nClusters, x.id, x.twoNN])) + wrote(a.out));
  }),
};

interface AttnArgs extends ExperimentArgs { prompt?: string; 'with-caption'?: boolean; threshold?: number }

const attentionCommand: AnyCommand = {
  command: 'attention',
  describe: 'E3: per-layer share of text->image attention per image position and [EOI] (ratio of means), positions above 1 % singled out',
  builder: (y: Argv) =>
    experimentOptions(y)
      .option('prompt', { type: 'string', describe: 'text after the image' })
      .option('with-caption', { type: 'boolean', default: true, describe: 'append a caption (teacher-forced queries after [EOI])' })
      .option('threshold', { type: 'number', default: 0.01, describe: 'single positions above this share are reported on their own' })
      .example('$0 analyze attention --checkpoint checkpoints/native-shapes --data data/shapes --limit 200 --out runs/e3', 'stacked shares per layer'),
  handler: handler<AttnArgs>(async (a) => {
    const r = await runAttentionFlow({ ...(await commonFrom(a, 'analyze attention')), prompt: a.prompt, withCaption: a['with-caption'], threshold: a.threshold });
    const s = r.stack;
    // at most SHOWN single positions as columns (the largest); the others above the threshold are summed
    const SHOWN = 6;
    const peak = s.outliers.map((j, t) => ({ j, t, max: Math.max(...s.outlierShares.map((row) => row[t]!)) })).sort((x, y) => y.max - x.max);
    const shown = peak.slice(0, SHOWN).sort((x, y) => x.j - y.j);
    const rest = peak.slice(SHOWN);
    const head = ['layer', '[EOI]', 'last image', ...shown.map((x) => `pos ${x.j}`), ...(rest.length ? [`${rest.length} more >${s.threshold}`] : []), 'internal'];
    emit(a, r.doc, () =>
      `E3 shares (${r.flow.examples} examples; * layer 0: [EOI] carries no image information)\n` +
      table(head, s.eoi.map((_, l) => [`${l}${l === 0 ? '*' : ''}`, s.eoi[l]!, s.lastImage[l]!, ...shown.map((x) => s.outlierShares[l]![x.t]!), ...(rest.length ? [rest.reduce((acc, x) => acc + s.outlierShares[l]![x.t]!, 0)] : []), s.internal[l]!])) + wrote(a.out));
  }),
};

interface OverlapArgs extends ExperimentArgs {
  hook?: string; 'label-field'?: string; k?: number; exact?: boolean; layers?: string; 'image-offsets'?: string; 'from-attention'?: string; prompt?: string; store?: string; 'index-dir'?: string; ef?: number; 'recall-sample'?: number;
}

const overlapCommand: AnyCommand = {
  command: 'overlap',
  describe: 'E4: neighbourhood overlap chi^{l,gt} with the labels per layer and position kind (HNSW with recall, or --exact)',
  builder: (y: Argv) =>
    experimentOptions(y)
      .option('hook', { type: 'string', default: 'resid_post', describe: 'block hook: resid_post, resid_pre, resid_mid, attn_out, mlp_out, ln1.normalized, ln2.normalized' })
      .option('label-field', { type: 'string', describe: 'dataset label field (default shape when present, else label)' })
      .option('k', { type: 'number', default: 30, describe: 'neighbours' })
      .option('exact', { type: 'boolean', default: false, describe: 'exact kNN instead of HNSW' })
      .option('layers', { type: 'string', default: 'all', describe: 'all, or layers like 0,2,5 or 0-3' })
      .option('image-offsets', { type: 'string', describe: 'image positions singled out by E3 (offsets in the image span), e.g. 5,12' })
      .option('from-attention', { type: 'string', describe: 'also the positions E3 singled out: an analyze attention --out directory' })
      .option('prompt', { type: 'string', describe: 'text after the image' })
      .option('store', { type: 'string', describe: 'read vectors from this activation store (extract --positions @eoi,@all-image) instead of running the model' })
      .option('index-dir', { type: 'string', describe: 'where HNSW indexes are saved and reused (default STORE.hnsw, else OUT/hnsw)' })
      .option('ef', { type: 'number', describe: 'HNSW search ef (default max(100, k+1))' })
      .option('recall-sample', { type: 'number', default: 500, describe: 'rows for the recall@k estimate' })
      .example('$0 analyze overlap --checkpoint checkpoints/native-shapes --data data/shapes --limit 2000 --out runs/e4', '[EOI], last image, mean image; HNSW with recall')
      .example('$0 analyze overlap --checkpoint ck --data data/shapes --store acts.arrow --exact --out runs/e4', 'from an activation store, exact neighbours'),
  handler: handler<OverlapArgs>(async (a) => {
    const r = await runOverlap({
      ...(await commonFrom(a, 'analyze overlap')), hook: a.hook, labelField: a['label-field'], k: a.k, exact: a.exact, layers: parseLayers(a.layers),
      imageOffsets: a['image-offsets'] ? parseNumbers(a['image-offsets'], '--image-offsets', true) : undefined, fromAttention: a['from-attention'], prompt: a.prompt, store: a.store, indexDir: a['index-dir'], ef: a.ef, recallSample: a['recall-sample'],
    });
    const kinds = [...new Set(r.records.map((x) => x.positionKind))];
    const layers = [...new Set(r.records.map((x) => x.layer))];
    const v = (l: number, k: string) => { const x = r.records.find((y) => y.layer === l && y.positionKind === k)!; return `${x.overlap.toFixed(3)}${x.recall !== null ? ` (r ${x.recall.toFixed(2)})` : ''}`; };
    emit(a, r.doc, () => `E4 overlap, k = ${r.k}, chance ${r.chance.toFixed(3)} (${r.classes} classes; r = recall@k)\n` + table(['layer', ...kinds], layers.map((l) => [l, ...kinds.map((k) => v(l, k))])) + wrote(a.out));
  }),
};

interface ProgArgs extends ExperimentArgs { 'edge-sets'?: string; step?: number; mode?: string; 'label-field'?: string; k?: number; exact?: boolean; prompt?: string }

const progressiveCommand: AnyCommand = {
  command: 'progressive-knockout',
  describe: 'E5: knock out [EOI] or image->text edges in the last w layers; overlap of the final-layer vector at the last prompt position',
  builder: (y: Argv) =>
    experimentOptions(y)
      .option('edge-sets', { type: 'string', default: 'eoi,image-to-text', describe: `edge sets: ${Object.keys(EDGE_SETS).join(', ')}` })
      .option('step', { type: 'number', default: 1, describe: 'window step (the full depth is always included)' })
      .option('mode', { type: 'string', choices: ['zero', 'renormalize'], default: 'zero', describe: 'zero: post-softmax zeroing (paper); renormalize: hard block before the softmax' })
      .option('label-field', { type: 'string', describe: 'dataset label field (default shape when present, else label)' })
      .option('k', { type: 'number', default: 30, describe: 'neighbours' })
      .option('exact', { type: 'boolean', default: false, describe: 'exact kNN instead of HNSW' })
      .option('prompt', { type: 'string', describe: 'prompt after the image; its last token is read (default "a picture of a")' })
      .example('$0 analyze progressive-knockout --checkpoint checkpoints/native-shapes --data data/shapes --limit 1000 --mode renormalize --out runs/e5', 'both edge sets, every window'),
  handler: handler<ProgArgs>(async (a) => {
    if (a.step !== undefined && !(Number.isInteger(a.step) && a.step >= 1)) throw new UserError(`--step ${a.step} is invalid; expected a positive integer.`);
    const r = await runProgressiveKnockout({
      ...(await commonFrom(a, 'analyze progressive-knockout')), edgeSets: (a['edge-sets'] ?? 'eoi,image-to-text').split(',').map((s) => s.trim()) as EdgeSet[],
      step: a.step, mode: a.mode as 'zero' | 'renormalize', labelField: a['label-field'], k: a.k, exact: a.exact, prompt: a.prompt,
    });
    const sets = Object.keys(r.curves);
    const ws = [...new Set(r.records.map((x) => x.window))];
    emit(a, r.doc, () => `E5 (${r.mode}), chance ${r.chance.toFixed(3)}\n` + table(['w', ...sets], ws.map((w) => [w, ...sets.map((s) => r.records.find((x) => x.window === w && x.edgeSet === s)?.overlap ?? null)])) + wrote(a.out));
  }),
};

const SUBCOMMANDS: AnyCommand[] = [modalityGapCommand, attentionCommand, overlapCommand, progressiveCommand];

export const analyzeCommand: AnyCommand = {
  command: 'analyze <experiment>',
  describe: 'geometry and attention analyses: modality-gap (E1+E2), attention (E3), overlap (E4), progressive-knockout (E5)',
  builder: (y: Argv) => {
    let cli = y;
    for (const c of SUBCOMMANDS) cli = cli.command(c);
    return cli
      .demandCommand(1, 'Name an analysis; see narrowgate analyze --help.')
      .example('$0 analyze modality-gap --checkpoint ck --data data/shapes --out runs/e1', 'E1 + E2')
      .example('$0 analyze attention --checkpoint ck --data data/shapes --out runs/e3 --json', 'E3 as JSON');
  },
  handler: () => {},
};
