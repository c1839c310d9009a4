/**
 * The report's example images: captions of a shapes image before and after its [EOI] residual is
 * replaced by that of an image of another colour (a patch spec with an image donor, run through
 * generateWithEdit), and, for native models, images generated from captions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { contrastPairs, type ContrastPair } from '../data/pairs.js';
import { openDataset, type Dataset } from '../data/open.js';
import { generateWithEdit } from '../interventions/commands.js';
import { loadPipeline } from '../interventions/pipeline.js';
import { generateImageCodes } from '../model/generate.js';
import type { NativeModel } from '../model/native.js';
import { loadImageTokenizer } from '../tokenizers/image-loader.js';
import { UserError } from '../util/errors.js';
import type { DemoModel } from './models.js';

async function pngOf(im: { width: number; height: number; channels: number; pixels: Uint8Array }): Promise<Buffer> {
  return sharp(Buffer.from(im.pixels), { raw: { width: im.width, height: im.height, channels: im.channels as 1 | 3 } }).png().toBuffer();
}

export interface EditExample {
  imagePngBase64: string;
  captionBefore: string;
  captionAfter: string;
  edit: string;
}

/** Patch layer: the [EOI] residual entering the middle block (where the prototype's patches acted). */
function patchLayer(numLayers: number): number {
  return Math.floor(numLayers / 2);
}

/** Writes a pair's two PNGs and the patch spec (base's [EOI] entering the middle layer <- the donor's) under `work`. */
async function writePairEdit(ds: Dataset, pair: ContrastPair, layer: number, work: string, tag: string) {
  const base = ds.get(pair.base), target = ds.get(pair.target);
  const basePng = await pngOf(base);
  const basePath = join(work, `${tag}-base.png`), donorPath = join(work, `${tag}-donor.png`), path = join(work, `${tag}-edit.json`);
  mkdirSync(work, { recursive: true });
  writeFileSync(basePath, basePng);
  writeFileSync(donorPath, await pngOf(target));
  const spec = { type: 'patch', hook: `blocks.${layer}.hook_resid_pre`, positions: '@eoi', donor: { image: donorPath } };
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return { basePng, basePath, path, spec };
}

async function colourPairs(singleDir: string, n: number, seed: number): Promise<{ ds: Dataset; pairs: ContrastPair[] }> {
  const ds = await openDataset(singleDir);
  const pairs = contrastPairs(ds, { attribute: 'color', n, seed });
  if (pairs.length === 0) throw new UserError(`No colour contrast pairs in ${singleDir}; expected single-object scenes that differ only in colour.`);
  return { ds, pairs };
}

/** Up to `n` colour-contrast pairs from a single-object shapes dataset, captioned without and with the [EOI] patch. */
export async function editExamples(m: DemoModel, singleDir: string, work: string, n: number, seed: number): Promise<EditExample[]> {
  const { ds, pairs } = await colourPairs(singleDir, n, seed);
  const layer = patchLayer(m.numLayers);
  const out: EditExample[] = [];
  for (const [i, pair] of pairs.entries()) {
    const e = await writePairEdit(ds, pair, layer, work, `pair${i}`);
    const r = await generateWithEdit({ checkpoint: m.dir, image: e.basePath, prompt: '', edit: e.path, maxNewTokens: 34 });
    out.push({
      imagePngBase64: e.basePng.toString('base64'),
      captionBefore: r.output,
      captionAfter: r.edited ?? '',
      edit: `[EOI] entering layer ${layer} patched from a ${pair.targetValue} image (this one is ${pair.baseValue})`,
    });
  }
  return out;
}

/** A native model draws images for the first `n` captions of the dataset (greedy image codes, decoded by its image tokenizer). */
export async function generatedImages(m: DemoModel, dataDir: string, n: number): Promise<{ prompt: string; imagePngBase64: string }[]> {
  if (m.family !== 'native') throw new UserError(`Model ${m.name} is an adapter model; only native models generate images.`);
  const ds = await openDataset(dataDir);
  const prompts: string[] = [];
  for (const im of ds.images()) {
    const c = ds.captions(im.id)[0];
    if (c && !prompts.includes(c)) prompts.push(c);
    if (prompts.length >= n) break;
  }
  const p = await loadPipeline(m.dir);
  const it = await loadImageTokenizer(join(m.dir, 'image_tokenizer'));
  try {
    const ids = prompts.map((text) => Array.from(p.processor.generation({ text }).ids));
    const { codes } = await generateImageCodes(p.model as NativeModel, { prompts: ids }, { nCodes: it.gridSize * it.gridSize });
    const imgs = await it.decode(codes.flat());
    const [B, H, W, C] = imgs.shape;
    const out: { prompt: string; imagePngBase64: string }[] = [];
    for (let b = 0; b < B; b++) {
      const px = new Uint8Array(H * W * C);
      for (let i = 0; i < px.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, imgs.data[b * px.length + i] as number)) * 255);
      out.push({ prompt: prompts[b]!, imagePngBase64: (await pngOf({ width: W, height: H, channels: C, pixels: px })).toString('base64') });
    }
    return out;
  } finally {
    it.dispose();
    p.dispose();
  }
}
