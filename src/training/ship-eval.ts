/**
 * The held-out evaluation of `narrowgate ship` (ship.ts), run on the files that ship:
 *
 *   vlm              the suite's tasks on its split (test) of the recipe's dataset, clean, greedy;
 *                    every metric beside its chance level (ship-chance.ts); sample outputs (the input
 *                    image as a PNG, the reference and generated caption, a question with the true and
 *                    the generated answer); native models also draw images from those captions
 *                    (greedy image codes decoded by the image tokenizer to PNG)
 *   image_tokenizer  PSNR of decode(encode(x)) and codes used on the validation and test splits,
 *                    beside the PSNR of painting every pixel the mean training colour; sample
 *                    reconstructions (original | reconstruction PNGs)
 */
import { join } from 'node:path';
import { openDataset, type Dataset, type DatasetImage } from '../data/open.js';
import { encodePng, tileImages, type RawImage } from '../data/images.js';
import { runSuite, suiteImages } from '../eval/suite.js';
import type { Suite } from '../eval/suite-schema.js';
import type { CaptionResult, VqaResult } from '../metrics/index.js';
import { generateImageCodes } from '../model/generate.js';
import type { NativeModel } from '../model/native.js';
import { loadPipeline } from '../interventions/pipeline.js';
import { loadImageTokenizer } from '../tokenizers/image-loader.js';
import { psnr, toUint8, type ImageTokenizer } from '../tokenizers/image.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ProgressFactory } from '../util/progress.js';
import { pixelBatch } from './data-setup.js';
import { chanceLevels } from './ship-chance.js';

export interface MetricRow {
  task: string;
  type: string;
  metric: string;
  value: number;
  /** The chance level under the same metric (null: none defined, e.g. codes used). */
  chance: number | null;
  /** Items the value is over. */
  n: number | null;
}

export interface Sample {
  image_id: number;
  /** PNG path relative to the checkpoint. */
  image: string;
  reference: string | null;
  generated: string | null;
  question: string | null;
  answer: string | null;
  predicted: string | null;
}

export interface GeneratedImage {
  caption: string;
  image: string;
  /** The held-out image the caption describes. */
  original: string;
}

export interface HeldOut {
  dataset: string;
  split: string;
  n_images: number;
  rows: MetricRow[];
  /** task -> how its chance level was obtained (and the majority class for classification). */
  chance: Record<string, { how: string; majority?: { label: string; rate: number } }>;
  samples: Sample[];
  generated: GeneratedImage[];
}

const png = (w: number, h: number, c: number, pixels: Uint8Array): RawImage => ({ width: w, height: h, channels: c, pixels });

async function writeImage(dir: string, rel: string, img: RawImage): Promise<string> {
  await writeFileAtomic(join(dir, rel), await encodePng(img));
  return rel;
}

const imageOf = (im: DatasetImage): RawImage => png(im.width, im.height, im.channels, im.pixels);

/** Images drawn by a native checkpoint from captions (greedy codes, decoded by its image tokenizer). */
async function drawFromCaptions(checkpoint: string, captions: string[]): Promise<RawImage[]> {
  if (captions.length === 0) return [];
  const p = await loadPipeline(checkpoint);
  let it: ImageTokenizer | null = null;
  try {
    it = await loadImageTokenizer(join(checkpoint, 'image_tokenizer'));
    const ids = captions.map((text) => Array.from(p.processor.generation({ text }).ids));
    const { codes } = await generateImageCodes(p.model as NativeModel, { prompts: ids }, { nCodes: it.gridSize * it.gridSize });
    const { data, shape } = toUint8(await it.decode(codes.flat()));
    const [B, H, W, C] = shape;
    return Array.from({ length: B }, (_, b) => png(W, H, C, (data as Uint8Array).slice(b * H * W * C, (b + 1) * H * W * C)));
  } finally {
    it?.dispose();
    p.dispose();
  }
}

/** Evaluates the (vision-)language model checkpoint in `dir` and writes its sample PNGs under dir/samples. */
export async function evaluateVlm(dir: string, o: { suite: string | Suite; dataset: string; family: string; samples: number; drawn: number; progress?: ProgressFactory }): Promise<HeldOut> {
  const res = await runSuite({ checkpoint: dir, suite: o.suite, data: o.dataset, conditions: ['none'], ...(o.progress ? { progress: o.progress } : {}) });
  const ds = await openDataset(o.dataset);
  const images = suiteImages(ds, res.suite);
  const chance = chanceLevels(ds, res.suite, images);
  const run = res.runs.find((r) => r.condition === 'none')!;
  const rows: MetricRow[] = [];
  for (const [name, t] of Object.entries(run.tasks)) {
    for (const [metric, value] of Object.entries(t.metrics)) rows.push({ task: name, type: t.type, metric, value, chance: chance[name]?.metrics[metric] ?? null, n: t.counts[metric] ?? (t.type === 'vqa' && metric !== 'accuracy' ? null : t.predictions.length) });
  }
  const capTask = Object.values(run.tasks).find((t) => t.type === 'captioning');
  const vqaTask = Object.values(run.tasks).find((t) => t.type === 'vqa');
  const caption = new Map((capTask?.predictions as CaptionResult[] | undefined ?? []).map((p) => [p.image_id, p.caption]));
  const answer = new Map((vqaTask?.predictions as VqaResult[] | undefined ?? []).map((p) => [p.question_id, p.answer]));
  const samples: Sample[] = [];
  for (const im of images.slice(0, o.samples)) {
    const q = ds.questions(im.id).find((x) => answer.has(x.questionId)) ?? null;
    samples.push({
      image_id: im.id, image: await writeImage(dir, `samples/image-${im.id}.png`, imageOf(im)),
      reference: ds.captions(im.id)[0] ?? null, generated: caption.get(im.id) ?? null,
      question: q?.question ?? null, answer: q?.answer ?? null, predicted: q ? (answer.get(q.questionId) ?? null) : null,
    });
  }
  const generated: GeneratedImage[] = [];
  if (o.family === 'native') {
    const withCaption = samples.filter((s) => s.reference !== null).slice(0, o.drawn);
    const drawn = await drawFromCaptions(dir, withCaption.map((s) => s.reference!));
    for (const [k, s] of withCaption.entries()) generated.push({ caption: s.reference!, image: await writeImage(dir, `samples/generated-${s.image_id}.png`, drawn[k]!), original: s.image });
  }
  const chanceDoc = Object.fromEntries(Object.entries(chance).map(([k, c]) => [k, { how: c.how, ...(c.majority ? { majority: c.majority } : {}) }]));
  return { dataset: o.dataset, split: res.split, n_images: res.nImages, rows, chance: chanceDoc, samples, generated };
}

function reconstruction(tok: ImageTokenizer, ds: Dataset, rows: number[]) {
  const x = pixelBatch(ds, rows);
  return tok.encode(x).then(async (codes) => ({ x, codes, recon: await tok.decode(codes) }));
}

/** Evaluates the image tokenizer in `dir` (PSNR, codes used) and writes sample reconstructions. */
export async function evaluateTokenizer(dir: string, o: { dataset: string; samples: number }): Promise<HeldOut> {
  const ds = await openDataset(o.dataset);
  const tok = await loadImageTokenizer(dir);
  try {
    const { width: W, height: H, channels: C } = ds.meta.size;
    const mean = new Float64Array(C);
    const train = ds.indices('train');
    for (const i of train) ds.get(i).pixels.forEach((v, k) => (mean[k % C]! += v / 255));
    for (let c = 0; c < C; c++) mean[c]! /= train.length * W * H;
    const rows: MetricRow[] = [];
    let samples: Sample[] = [];
    for (const split of ['val', 'test']) {
      const idx = ds.indices(split);
      if (idx.length === 0) continue;
      const { x, codes, recon } = await reconstruction(tok, ds, idx);
      const flat = { data: Float32Array.from({ length: x.data.length }, (_, k) => mean[k % C]!), shape: x.shape };
      rows.push({ task: `reconstruction (${split})`, type: 'image_tokenizer', metric: 'psnr_db', value: psnr(x, recon), chance: psnr(x, flat), n: idx.length });
      rows.push({ task: `reconstruction (${split})`, type: 'image_tokenizer', metric: 'codes_used', value: new Set(codes).size, chance: null, n: tok.numCodes });
      if (split === 'test') {
        const r8 = toUint8(recon).data as Uint8Array;
        const per = W * H * C;
        samples = [];
        for (const [k, i] of idx.slice(0, o.samples).entries()) {
          const im = ds.get(i);
          const pair = tileImages([imageOf(im), png(W, H, C, r8.slice(k * per, (k + 1) * per))], 2);
          samples.push({ image_id: im.id, image: await writeImage(dir, `samples/reconstruction-${im.id}.png`, pair), reference: ds.captions(im.id)[0] ?? null, generated: null, question: null, answer: null, predicted: null });
        }
      }
    }
    const how = `every pixel the mean training colour (${[...mean].map((v) => v.toFixed(3)).join(', ')})`;
    return { dataset: o.dataset, split: 'val, test', n_images: ds.indices('test').length, rows, chance: { reconstruction: { how } }, samples, generated: [] };
  } finally {
    tok.dispose();
  }
}
