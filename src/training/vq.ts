/**
 * The image_tokenizer task (recipes/vq-shapes.yaml): fits the image tokenizer of the native models on
 * the training split, either a k-means codebook over patches or a per-patch VQ-VAE (both owned by
 * src/tokenizers), scores it on the validation split (PSNR of decode(encode(x)), codebook usage) and
 * writes out/final: image_tokenizer.json + .safetensors, recipe.resolved.yaml, metrics.jsonl and a
 * model card.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { noProgress } from '../util/progress.js';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { psnr, type ImageTokenizer } from '../tokenizers/image.js';
import { KMeansImageTokenizer } from '../tokenizers/kmeans.js';
import { VqVae } from '../tokenizers/vqvae.js';
import { ensureDataset, pixelBatch } from './data-setup.js';
import { imageTokens, recipeToYaml, type LoadedRecipe } from './recipe.js';
import type { TrainOptions, TrainResult } from './trainer.js';
import { provenanceLines } from './card.js';

/** RUN_DIR/trainer_state.json of an image tokenizer run: what trained it and for how long. */
export interface TokenizerRunState {
  task: 'image_tokenizer';
  step: number;
  commands: string[];
  elapsedS: number;
}

export async function trainImageTokenizer(loaded: LoadedRecipe, opts: TrainOptions): Promise<TrainResult> {
  const r = loaded.recipe;
  const out = opts.out;
  const progress = opts.progress ?? noProgress;
  const finalDir = join(out, 'final');
  if (existsSync(join(finalDir, 'image_tokenizer.json'))) {
    if (opts.resume) return { out, step: r.vq.iterations, status: 'done', finalDir, lastLoss: null, val: null };
    throw new UserError(`Run directory ${out} already holds a trained image tokenizer; pass --resume to keep it or choose another --out.`);
  }
  const ds = await ensureDataset(r, progress);
  const t0 = Date.now();
  const N = imageTokens(r);
  const train = ds.indices('train');
  const val = ds.indices('val');
  if (train.length === 0 || val.length === 0) throw new UserError(`Dataset ${r.data.dir} needs images in both the train and val splits to fit and score an image tokenizer.`);
  const rng = new Rng(r.seed);
  const nFit = Math.min(train.length, Math.ceil(r.vq.sample_patches / N));
  const fitImages = pixelBatch(ds, rng.sample(train.length, nFit).map((i) => train[i] as number));
  const { channels } = ds.meta.size;
  const metrics: Record<string, unknown>[] = [];
  let tok: ImageTokenizer;
  if (r.vq.kind === 'kmeans') {
    const { tokenizer, result } = await KMeansImageTokenizer.fit(fitImages, r.image.patch, { numCodes: r.vq.codebook, iters: r.vq.iterations, seed: r.seed });
    tok = tokenizer;
    metrics.push({ step: result.iterations, split: 'train', mean_sq_dist: result.meanSqDist, images: nFit });
  } else {
    const vq = VqVae.create({ imageSize: r.image.size, channels, patchSize: r.image.patch, numCodes: r.vq.codebook, hidden: r.vq.hidden, latentDim: r.vq.latent_dim, lr: r.optim.lr, seed: r.seed });
    await vq.initCodebookFromData(fitImages, r.seed);
    const bar = progress(`train ${r.name}`, r.vq.iterations, 'step');
    await vq.fit(fitImages, {
      steps: r.vq.iterations, batchSize: r.train.batch_size, seed: r.seed, logEvery: r.train.log_every,
      onLog: (step, loss) => {
        metrics.push({ step, split: 'train', loss });
        bar.tick(r.train.log_every, `loss ${loss.toFixed(5)}`);
      },
    });
    bar.done();
    tok = vq;
  }
  try {
    const valImages = pixelBatch(ds, val);
    const codes = await tok.encode(valImages);
    const recon = await tok.decode(codes);
    const used = new Set(codes).size;
    const score = { step: r.vq.iterations, split: 'val', psnr_db: psnr(valImages, recon), codes_used: used, codebook: r.vq.codebook, images: val.length };
    metrics.push(score);
    const state: TokenizerRunState = { task: 'image_tokenizer', step: r.vq.iterations, commands: opts.command ? [opts.command] : [], elapsedS: (Date.now() - t0) / 1000 };
    await writeFileAtomic(join(out, 'recipe.resolved.yaml'), recipeToYaml(loaded));
    await writeFileAtomic(join(out, 'trainer_state.json'), JSON.stringify(state, null, 1) + '\n');
    const jsonl = metrics.map((m) => JSON.stringify(m) + '\n').join('');
    await writeFileAtomic(join(out, 'metrics.jsonl'), jsonl);
    await writeDirAtomic(finalDir, async (tmp) => {
      await tok.save(tmp);
      await writeFileAtomic(join(tmp, 'recipe.resolved.yaml'), recipeToYaml(loaded));
      await writeFileAtomic(join(tmp, 'metrics.jsonl'), jsonl);
      await writeFileAtomic(join(tmp, 'README.md'), [
        `# ${r.name}`, '', r.description, '',
        `- ${r.vq.kind === 'kmeans' ? 'k-means codebook' : 'VQ-VAE (per-patch MLPs)'}: ${r.vq.codebook} codes over ${r.image.patch}x${r.image.patch}x${channels} patches; ${N} codes per ${r.image.size}x${r.image.size} image`,
        `- fitted on ${nFit} training images of ${r.data.source} (${r.data.dir}, seed ${r.data.seed}); recipe: recipes/${r.name}.yaml`,
        ...provenanceLines(state.commands, state.elapsedS, 'fit and validation scoring, one process'),
        `- validation (${val.length} images): PSNR ${score.psnr_db.toFixed(2)} dB, ${used} of ${r.vq.codebook} codes used`,
        '',
      ].join('\n'));
    });
    return { out, step: r.vq.iterations, status: 'done', finalDir, lastLoss: null, val: null };
  } finally {
    tok.dispose();
  }
}
