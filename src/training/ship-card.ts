/**
 * The README.md of a shipped checkpoint: the training card (final/README.md, with its commands and
 * wall time) followed by the shipped files, the held-out evaluation beside its chance levels, sample
 * outputs and the exact commands. Every number comes from the eval.json document it is written with.
 */
import { formatWallTime } from './card.js';
import type { HeldOut, MetricRow } from './ship-eval.js';

export interface ShipDoc {
  name: string;
  task: 'vlm' | 'image_tokenizer';
  family: string | null;
  /** The run directory it was shipped from, and where it went. */
  run: string;
  checkpoint: string;
  recipe: string;
  suite: string | null;
  weights: { file: string; dtype: 'F32' | 'F16'; bytes: number; sha256: string } | null;
  backend: string;
  held_out: HeldOut;
  commands: { train: string[]; ship: string | null };
  wall_time_s: { train: number; ship_eval: number };
}

/** A table cell's number: integers as they are, fractions to 4 decimals. */
export const cell = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(4));
const esc = (s: string | null): string => (s === null ? '-' : s.replace(/\|/g, '\\|'));

function metricTable(rows: readonly MetricRow[]): string[] {
  return ['| task | metric | model | chance | n |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.task} | ${r.metric} | ${cell(r.value)} | ${cell(r.chance)} | ${cell(r.n)} |`)];
}

function heldOutSection(d: ShipDoc): string[] {
  const h = d.held_out;
  const intro = d.task === 'vlm'
    ? `Suite ${d.suite ?? '(inline)'} on the first ${h.n_images} images of the "${h.split}" split of ${h.dataset} (never trained on), greedy decoding, no intervention, on the shipped weights (${d.weights?.dtype ?? 'F32'}), backend ${d.backend}. Captioning attribute.* / object_count read the generated caption back with the scene templates; VQA attribute.* is the accuracy per question type (official VQA accuracy); classification is scored by the suite's method (next-token: argmax over the class names' first tokens).`
    : `Reconstruction decode(encode(x)) of every image of the validation and test splits of ${h.dataset} by the shipped tokenizer; PSNR in dB on the [0, 1] scale.`;
  const chance = Object.entries(h.chance).map(([task, c]) => `- ${task}: ${c.how}${c.majority ? `; the most frequent training class ("${c.majority.label}") is ${cell(c.majority.rate)} of the evaluated images` : ''}`);
  const primary = new Set(['CIDEr-D', 'accuracy', 'object_count', 'psnr_db']);
  const head = h.rows.filter((r) => primary.has(r.metric)).map((r) => `- ${r.task} ${r.metric}: **${cell(r.value)}** (chance ${cell(r.chance)})`);
  return ['## Held-out evaluation', '', intro, '', ...head, '', 'Every metric:', '', ...metricTable(h.rows), '', 'Chance levels (computed from the data, the same metric as the model):', '', ...chance, ''];
}

function samplesSection(d: ShipDoc): string[] {
  const s = d.held_out.samples;
  if (s.length === 0) return [];
  const out = ['## Sample outputs', ''];
  if (d.task === 'vlm') {
    out.push('| image | reference caption | generated caption | question | answer | model\'s answer |', '|---|---|---|---|---|---|');
    for (const x of s) out.push(`| ![${x.image_id}](${x.image}) ${x.image_id} | ${esc(x.reference)} | ${esc(x.generated)} | ${esc(x.question)} | ${esc(x.answer)} | ${esc(x.predicted)} |`);
  } else {
    out.push('| test image | original, reconstruction |', '|---|---|');
    for (const x of s) out.push(`| ${x.image_id} | ![${x.image_id}](${x.image}) |`);
  }
  out.push('');
  if (d.held_out.generated.length) {
    out.push('### Images drawn from held-out captions', '', '| caption | drawn by the model | the held-out image |', '|---|---|---|');
    for (const g of d.held_out.generated) out.push(`| ${esc(g.caption)} | ![drawn](${g.image}) | ![original](${g.original}) |`);
    out.push('');
  }
  return out;
}

export function shipCard(trainingCard: string, d: ShipDoc): string {
  const files = d.weights
    ? [`- ${d.weights.file}: ${d.weights.dtype} weights, ${d.weights.bytes.toLocaleString('en-US')} bytes, sha256 ${d.weights.sha256}${d.weights.dtype === 'F16' ? ' (rounded from the trained F32 weights; they load as float32; every number below is of these weights)' : ''}`]
    : [];
  return [
    trainingCard.trimEnd(),
    '',
    '## Shipped',
    '',
    `- from run ${d.run} (final/) into ${d.checkpoint}`,
    ...files,
    '- eval.json: everything in the sections below, machine-readable; samples/: the PNGs they show; metrics.jsonl: the training log; recipe.resolved.yaml: the recipe',
    '',
    ...heldOutSection(d),
    ...samplesSection(d),
    '## Commands',
    '',
    '```',
    ...(d.commands.train.length ? d.commands.train : ['(training command not recorded)']),
    ...(d.commands.ship ? [d.commands.ship] : []),
    '```',
    '',
    `- wall time on this machine: training ${formatWallTime(d.wall_time_s.train)}${d.commands.train.length > 1 ? ` over ${d.commands.train.length} invocations` : ''}; held-out evaluation while shipping ${formatWallTime(d.wall_time_s.ship_eval)}`,
    '',
  ].join('\n');
}
