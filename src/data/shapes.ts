/**
 * The shapes dataset: seeded scenes (shapes-scene.ts) rendered with sharp, 5 template captions and one
 * question per attribute per image (shapes-text.ts), class labels of the main object, and seeded
 * train/val/test splits. Same options -> byte-identical directory.
 *
 * Three independent seeded streams (scenes, questions, splits) so that changing e.g. the split
 * fractions leaves the images and questions unchanged.
 * Labels: label = "color shape" of the main object (48 classes, color-major); extra fields shape, color,
 * size, position (of the main object) and count (number of objects: "1".."3").
 * Image ids are 0..n-1 (= row index); question ids are image_id * 10 + k.
 */
import { Rng } from '../util/rng.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { assignSplits, writeDataset, type DatasetContent, type DatasetMeta, type ImageRow, type QuestionRow } from './dataset.js';
import { renderSvgTiles } from './images.js';
import { COLORS, PAIR_NAMES, POSITIONS, SHAPES, SIZES, pairLabel, sampleScene, sceneSvgBody, type Scene } from './shapes-scene.js';
import { CAPTION_FAMILIES, QUESTION_ATTRIBUTES, captionOf, questionsOf, type QuestionAttribute } from './shapes-text.js';

export interface ShapesOptions {
  n: number;
  seed: number;
  /** Image side in pixels (default 32). */
  size?: number;
  /** Objects per image (default 1..3); `single` forces 1. */
  minObjects?: number;
  maxObjects?: number;
  single?: boolean;
  valFraction?: number;
  testFraction?: number;
  /** Question attributes (default all six). */
  questionTypes?: readonly QuestionAttribute[];
  /** Rasterise at size * supersample and box-average down (default 1: librsvg's own exact-coverage antialiasing). */
  supersample?: number;
}

const SHEET = 256;

function resolve(o: ShapesOptions): Required<ShapesOptions> {
  const r = {
    n: o.n, seed: o.seed, size: o.size ?? 32,
    minObjects: o.single ? 1 : (o.minObjects ?? 1), maxObjects: o.single ? 1 : (o.maxObjects ?? 3), single: Boolean(o.single),
    valFraction: o.valFraction ?? 0.1, testFraction: o.testFraction ?? 0.1,
    questionTypes: o.questionTypes ?? QUESTION_ATTRIBUTES, supersample: o.supersample ?? 1,
  };
  if (!Number.isInteger(r.n) || r.n < 1) throw new UserError(`--n ${o.n} is not a positive integer; expected the number of images, e.g. --n 1000.`);
  if (!Number.isInteger(r.seed)) throw new UserError(`--seed ${o.seed} is not an integer; expected e.g. --seed 0.`);
  if (!Number.isInteger(r.size) || r.size < 16 || r.size > 256) throw new UserError(`--size ${o.size} is out of range; expected an integer side length from 16 to 256 (32 or 64 are usual).`);
  if (!Number.isInteger(r.minObjects) || !Number.isInteger(r.maxObjects) || r.minObjects < 1 || r.maxObjects > 3 || r.minObjects > r.maxObjects) {
    throw new UserError(`objects per image ${r.minObjects}..${r.maxObjects} is invalid; expected 1 <= min <= max <= 3.`);
  }
  if (!(r.valFraction >= 0 && r.testFraction >= 0 && r.valFraction + r.testFraction < 1)) {
    throw new UserError(`split fractions val ${r.valFraction} and test ${r.testFraction} are invalid; expected non-negative fractions summing to less than 1.`);
  }
  for (const q of r.questionTypes) {
    if (!(QUESTION_ATTRIBUTES as readonly string[]).includes(q)) throw new UserError(`question type "${q}" is unknown; expected some of ${QUESTION_ATTRIBUTES.join(', ')}.`);
  }
  if (![1, 2, 4, 8].includes(r.supersample)) throw new UserError(`supersample ${r.supersample} is invalid; expected 1, 2, 4 or 8.`);
  return r;
}

export function sceneLabels(scene: Scene): { label: number; labels: Record<string, number> } {
  const main = scene.objects[0];
  if (!main) throw new Error('sceneLabels: empty scene');
  return {
    label: pairLabel(main.color, main.shape),
    labels: {
      shape: SHAPES.indexOf(main.shape), color: COLORS.indexOf(main.color), size: SIZES.indexOf(main.size),
      position: POSITIONS.indexOf(main.position), count: scene.objects.length - 1,
    },
  };
}

/** Builds the shapes dataset in memory. */
export async function generateShapes(options: ShapesOptions, progress: ProgressFactory = noProgress): Promise<DatasetContent> {
  const o = resolve(options);
  const sceneRng = new Rng(o.seed);
  const questionRng = new Rng(o.seed ^ 0x5f3759df);
  const splits = assignSplits(o.n, new Rng(o.seed ^ 0x2545f491), o.valFraction, o.testFraction);
  const scenes: Scene[] = [];
  for (let i = 0; i < o.n; i++) scenes.push(sampleScene(sceneRng, o.minObjects + sceneRng.int(o.maxObjects - o.minObjects + 1)));

  const bar = progress('render shapes', o.n, 'img');
  const pixels: Uint8Array[] = [];
  // sheets of SHEET tiles per sharp call, two sheets in flight (libvips uses its own threads)
  const starts = Array.from({ length: Math.ceil(o.n / SHEET) }, (_, k) => k * SHEET);
  for (let k = 0; k < starts.length; k += 2) {
    const sheets = await Promise.all(
      starts.slice(k, k + 2).map((s) => renderSvgTiles(scenes.slice(s, s + SHEET).map((sc) => sceneSvgBody(sc, o.size)), o.size, o.supersample)),
    );
    for (const tiles of sheets) {
      pixels.push(...tiles);
      bar.tick(tiles.length);
    }
  }
  bar.done();

  const images: ImageRow[] = [];
  const captions: DatasetContent['captions'] = [];
  const questions: QuestionRow[] = [];
  scenes.forEach((scene, id) => {
    images.push({ id, fileName: `shapes-${String(id).padStart(6, '0')}.png`, split: splits[id] as string, ...sceneLabels(scene), pixels: pixels[id] as Uint8Array, scene });
    for (const f of CAPTION_FAMILIES) captions.push({ imageId: id, caption: captionOf(scene, f) });
    questionsOf(scene, questionRng, o.questionTypes).forEach((q, k) => {
      questions.push({
        questionId: id * 10 + k, imageId: id, question: q.question, questionType: q.questionType,
        answerType: q.answerType, answers: [q.answer], attribute: q.attribute,
      });
    });
  });
  return {
    name: o.single ? 'shapes-single' : 'shapes',
    source: 'narrowgate shapes generator',
    seed: o.seed,
    width: o.size, height: o.size, channels: 3,
    labelFields: { label: PAIR_NAMES, shape: [...SHAPES], color: [...COLORS], size: [...SIZES], position: [...POSITIONS], count: ['1', '2', '3'] },
    images, captions, questions,
    options: {
      n: o.n, size: o.size, min_objects: o.minObjects, max_objects: o.maxObjects, single: o.single,
      val_fraction: o.valFraction, test_fraction: o.testFraction, question_types: [...o.questionTypes], supersample: o.supersample,
      background: 'black', caption_families: [...CAPTION_FAMILIES],
    },
  };
}

/** Generates the shapes dataset and writes it to `dir`. */
export async function buildShapesDataset(dir: string, options: ShapesOptions, progress: ProgressFactory = noProgress): Promise<DatasetMeta> {
  return writeDataset(dir, await generateShapes(options, progress));
}
