/**
 * The recipe schema (zod). Every object is strict: an unknown key is an error. recipes/base.yaml gives
 * every key a value with a reason; a recipe is a short override of it (`extends: base.yaml`).
 * Cross-field rules live in checkRecipe (zod refinements would not survive deepPartial, which is how
 * each file is checked on its own).
 */
import { z } from 'zod';
import { knockoutSchema } from '../interventions/spec.js';

const count = z.number().int().positive();
const natural = z.number().int().min(0);
const share = z.number().min(0);

export const ModelSchema = z
  .object({
    family: z.enum(['native', 'adapter']),
    d_model: count,
    n_layers: count,
    n_heads: count,
    /** Key/value heads (grouped-query attention); null = n_heads. */
    n_kv_heads: count.nullable(),
    d_mlp: count,
    qk_norm: z.boolean(),
    rope_theta: z.number().positive(),
    norm_eps: z.number().positive(),
    max_seq: count,
  })
  .strict();

export const VisionSchema = z
  .object({
    /** vit = a small ViT trained with the model; mobilenetv3 = the frozen pretrained backbone. */
    encoder: z.enum(['vit', 'mobilenetv3']),
    d_model: count,
    n_layers: count,
    n_heads: count,
    d_mlp: count,
  })
  .strict();

export const ImageSchema = z
  .object({
    /** Side of the (square) image in pixels after preprocessing. */
    size: count,
    /** Side of one patch in pixels: (size / patch)^2 image tokens per image. */
    patch: count,
    /** Native models: directory of the trained image tokenizer (the vq recipe's output). */
    tokenizer: z.string().nullable(),
  })
  .strict();

export const MixtureSchema = z
  .object({
    /** image -> caption */
    caption: share,
    /** image -> question -> answer */
    vqa: share,
    /** caption -> image (native models with image loss) */
    text_to_image: share,
    /** text only (captions and question-answer text, for pretraining the language model) */
    text: share,
  })
  .strict();

export const DataSchema = z
  .object({
    source: z.enum(['shapes', 'fashion-mnist']),
    /** Dataset directory (made by "narrowgate data ..."); a missing shapes directory is generated from n and seed. */
    dir: z.string().min(1),
    /** Images to generate when the directory is missing (shapes). */
    n: count,
    /** Seed of the generated data set; the train/val split is fixed by it, not by the training seed. */
    seed: natural,
    mixture: MixtureSchema,
  })
  .strict();

export const LossSchema = z
  .object({
    /** Next-token loss on text tokens (captions, answers, text-only sequences). */
    text: z.boolean(),
    /** Next-token loss on image tokens (native models; off = the no-image-loss control). */
    image: z.boolean(),
  })
  .strict();

export const InitSchema = z
  .object({
    /** Checkpoint directory to initialise from, or null for a fresh seeded initialisation. */
    from: z.string().nullable(),
    /** Parameter groups the init checkpoint may lack (they keep their fresh initialisation). */
    allow_missing: z.array(z.string()),
  })
  .strict();

export const InterventionSchema = z
  .object({
    /** Knockout specs (src/interventions); one is drawn per batch when a batch is intervened on. */
    knockouts: z.array(knockoutSchema),
    /** Probability that a batch is intervened on (1 = every step). */
    probability: z.number().min(0).max(1),
  })
  .strict();

export const OptimSchema = z
  .object({
    lr: z.number().positive(),
    beta1: z.number().min(0).lt(1),
    beta2: z.number().min(0).lt(1),
    eps: z.number().positive(),
    weight_decay: z.number().min(0),
    /** Maximum global gradient norm; null = no clipping. */
    clip: z.number().positive().nullable(),
  })
  .strict();

export const ScheduleSchema = z
  .object({
    warmup: natural,
    min_lr_ratio: z.number().min(0).max(1),
  })
  .strict();

export const TrainSchema = z
  .object({
    steps: count,
    batch_size: count,
    grad_accum: count,
    val_every: count,
    val_batches: count,
    ckpt_every: count,
    log_every: count,
    /** How many step checkpoints to keep besides the final one. */
    keep_checkpoints: count,
  })
  .strict();

export const VqSchema = z
  .object({
    /** kmeans = codebook by k-means on patches; vqvae = a small VQ-VAE. */
    kind: z.enum(['kmeans', 'vqvae']),
    codebook: count,
    /** Patches sampled from the training images to fit the codebook (kmeans). */
    sample_patches: count,
    /** Lloyd iterations (kmeans) or training steps of batch train.batch_size images (vqvae). */
    iterations: count,
    /** VQ-VAE only: hidden width of the per-patch MLPs and the latent dimension. */
    hidden: count,
    latent_dim: count,
  })
  .strict();

export const RecipeSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    /** vlm = train a language / vision-language model; image_tokenizer = fit the image tokenizer. */
    task: z.enum(['vlm', 'image_tokenizer']),
    seed: natural,
    model: ModelSchema,
    vision: VisionSchema,
    image: ImageSchema,
    data: DataSchema,
    loss: LossSchema,
    init: InitSchema,
    /** Parameter groups (or name globs) that receive no updates. */
    freeze: z.array(z.string()),
    intervention: InterventionSchema,
    optim: OptimSchema,
    schedule: ScheduleSchema,
    train: TrainSchema,
    vq: VqSchema,
  })
  .strict();

export type Recipe = z.infer<typeof RecipeSchema>;

/** The schema every single file (and every --set) is checked against: any subset of the keys. */
export const PartialRecipeSchema = RecipeSchema.deepPartial();

/** Minimum image tokens per image (the prototype's finding: fewer starves the model). */
export const MIN_IMAGE_TOKENS = 36;

/** Cross-field rules; returns one message per broken rule, naming the keys. */
export function checkRecipe(r: Recipe): string[] {
  const errs: string[] = [];
  const { size, patch } = r.image;
  if (size % patch !== 0) errs.push(`"image.size" (${size}) must be a multiple of "image.patch" (${patch})`);
  const tokens = Math.floor(size / patch) ** 2;
  if (tokens < MIN_IMAGE_TOKENS) {
    errs.push(`"image.size" / "image.patch" give ${tokens} image tokens; at least ${MIN_IMAGE_TOKENS} are needed`);
  }
  if (r.model.d_model % r.model.n_heads !== 0) errs.push(`"model.d_model" (${r.model.d_model}) must be divisible by "model.n_heads" (${r.model.n_heads})`);
  if (r.model.n_kv_heads !== null && r.model.n_heads % r.model.n_kv_heads !== 0) {
    errs.push(`"model.n_heads" (${r.model.n_heads}) must be divisible by "model.n_kv_heads" (${r.model.n_kv_heads})`);
  }
  if (r.model.family === 'adapter' && r.vision.encoder === 'vit' && r.vision.d_model % r.vision.n_heads !== 0) {
    errs.push(`"vision.d_model" (${r.vision.d_model}) must be divisible by "vision.n_heads" (${r.vision.n_heads})`);
  }
  if (r.task === 'vlm') {
    const m = r.data.mixture;
    if (m.caption + m.vqa + m.text_to_image + m.text <= 0) errs.push('"data.mixture" must give at least one source a positive share');
    if (m.text_to_image > 0 && r.model.family !== 'native') errs.push('"data.mixture.text_to_image" needs "model.family: native" (adapter models do not generate images)');
    if (m.text_to_image > 0 && !r.loss.image) errs.push('"data.mixture.text_to_image" is positive but "loss.image" is false: those sequences would carry no loss');
    if (!r.loss.text && !r.loss.image) errs.push('"loss.text" and "loss.image" are both false: nothing would be trained');
    if (r.model.family === 'native' && r.image.tokenizer === null && m.text < m.caption + m.vqa + m.text_to_image + m.text) {
      errs.push('"image.tokenizer" is null but a native model needs the trained image tokenizer (the vq recipe\'s output directory)');
    }
    if (r.model.max_seq < tokens + 4) errs.push(`"model.max_seq" (${r.model.max_seq}) is too short for ${tokens} image tokens plus <bos> <boi> <eoi> and text`);
  }
  if (r.intervention.probability > 0 && r.intervention.knockouts.length === 0 && r.task === 'vlm') {
    // probability without specs is harmless but almost certainly a mistake in a fine-tune recipe
    errs.push('"intervention.probability" is positive but "intervention.knockouts" is empty');
  }
  r.intervention.knockouts.forEach((k, i) => {
    if (k.mode !== 'renormalize') {
      errs.push(
        `"intervention.knockouts.${i}.mode" is "${String(k.mode)}" (zero is the default when mode is left out) but training-time knockouts must be hard blocks ("renormalize": -inf before the softmax); post-softmax zeroing leaks through the softmax normaliser`,
      );
    }
  });
  return errs;
}
