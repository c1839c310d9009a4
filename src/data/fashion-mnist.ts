/**
 * Fashion-MNIST from Debian's dataset-fashion-mnist (four gzipped IDX files, 28x28 grey, 10 classes)
 * with captions and questions from templates over the real labels, optionally enriched with WordNet
 * glosses (wordnet-base). Labels: label = the class (official names), category = clothing / footwear /
 * accessory.
 *
 * Captions (5 per image; {name} is the class's text name, e.g. "t-shirt", "ankle boot"):
 *   "a photo of a {name}", "a grayscale photo of a {name}", "a {name} on a black background",
 *   "a photo of a {name} a kind of {category}", and with WordNet "a {name} which is {gloss}" (e.g. "a
 *   sandal which is a shoe consisting of a sole fastened by straps to the foot"), without it "a small picture of a {name}".
 * Questions (4 per image): "what is this?" -> name; "what kind of item is this?" -> category;
 *   "is this footwear?" -> yes/no; "is this a {name}?" -> yes/no (the true class or a random other
 *   one, seeded 50/50).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { writeDataset, type DatasetContent, type DatasetMeta, type QuestionRow } from './dataset.js';
import { readIdx } from './idx.js';
import { resizeRaw } from './images.js';
import { nounSenses, WORDNET_DIR, type WordNetSense } from './wordnet.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const FASHION_TEXT_NAMES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];
export const FASHION_CATEGORIES = ['clothing', 'footwear', 'accessory'];
/** Category index of each class. */
export const FASHION_CATEGORY_OF = [0, 0, 0, 0, 0, 1, 0, 1, 2, 1];
/** WordNet lemma of each class (its first noun sense is the garment; "ankle boot" is "boot"). */
export const FASHION_WORDNET_LEMMAS = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];

const FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export interface FashionSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  side: number;
}

/** Reads one split's images and labels, checking the IDX headers against each other. */
export async function readFashionMnist(dir: string, split: 'train' | 'test'): Promise<FashionSplit> {
  const [imgFile, lblFile] = FILES[split];
  const imgPath = join(dir, imgFile), lblPath = join(dir, lblFile);
  if (!existsSync(imgPath) || !existsSync(lblPath)) {
    throw new UserError(
      `Fashion-MNIST ${split} files are missing from ${dir} (expected ${imgFile} and ${lblFile}): install them with "apt-get install dataset-fashion-mnist" or pass --dir.`,
    );
  }
  const img = await readIdx(imgPath);
  const lbl = await readIdx(lblPath);
  if (img.dims.length !== 3 || img.dims[1] !== img.dims[2]) throw new UserError(`${imgPath} has dimensions ${img.dims.join('x')}; expected N x side x side images.`);
  if (lbl.dims.length !== 1) throw new UserError(`${lblPath} has dimensions ${lbl.dims.join('x')}; expected a 1-D list of labels.`);
  if (img.dims[0] !== lbl.dims[0]) throw new UserError(`${imgPath} holds ${img.dims[0]} images but ${lblPath} holds ${lbl.dims[0]} labels; expected the same count.`);
  const bad = lbl.data.findIndex((v) => v >= FASHION_CLASSES.length);
  if (bad >= 0) throw new UserError(`${lblPath}: label ${lbl.data[bad]} at position ${bad} is out of range; expected 0-9.`);
  return { images: img.data, labels: lbl.data, count: img.dims[0] as number, side: img.dims[1] as number };
}

export interface FashionOptions {
  dir?: string;
  split?: 'train' | 'test';
  /** Keep the first n images (default all). */
  n?: number;
  seed?: number;
  /** Resize to size x size (default: the files' 28). */
  size?: number;
  /** Fraction of the images moved to a "val" split (seeded; default 0). */
  valFraction?: number;
  /** Use WordNet glosses when wordnet-base is installed (default true). */
  wordnet?: boolean;
  wordnetDir?: string;
}

function a(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

export function fashionCaptions(label: number, sense: WordNetSense | null): string[] {
  const name = FASHION_TEXT_NAMES[label] as string, cat = FASHION_CATEGORIES[FASHION_CATEGORY_OF[label] as number] as string;
  return [
    `a photo of ${a(name)} ${name}`,
    `a grayscale photo of ${a(name)} ${name}`,
    `${a(name)} ${name} on a black background`,
    `a photo of ${a(name)} ${name} a kind of ${cat}`,
    sense?.gloss ? `${a(name)} ${name} which is ${sense.gloss}` : `a small picture of ${a(name)} ${name}`,
  ];
}

export function fashionQuestions(label: number, rng: Rng): Omit<QuestionRow, 'questionId' | 'imageId'>[] {
  const name = FASHION_TEXT_NAMES[label] as string, cat = FASHION_CATEGORY_OF[label] as number;
  const asked = rng.next() < 0.5 ? label : (label + 1 + rng.int(FASHION_CLASSES.length - 1)) % FASHION_CLASSES.length;
  const askedName = FASHION_TEXT_NAMES[asked] as string;
  return [
    { question: 'what is this?', questionType: 'what is this', answerType: 'other', answers: [name], attribute: 'class' },
    { question: 'what kind of item is this?', questionType: 'what kind of', answerType: 'other', answers: [FASHION_CATEGORIES[cat] as string], attribute: 'category' },
    { question: 'is this footwear?', questionType: 'is this', answerType: 'yes/no', answers: [cat === 1 ? 'yes' : 'no'], attribute: 'footwear' },
    { question: `is this ${a(askedName)} ${askedName}?`, questionType: 'is this a', answerType: 'yes/no', answers: [asked === label ? 'yes' : 'no'], attribute: 'verify' },
  ];
}

export async function fashionMnistContent(o: FashionOptions = {}, progress: ProgressFactory = noProgress): Promise<DatasetContent> {
  const dir = o.dir ?? FASHION_MNIST_DIR, split = o.split ?? 'test', seed = o.seed ?? 0, val = o.valFraction ?? 0;
  if (!(val >= 0 && val < 1)) throw new UserError(`--val ${val} is invalid; expected a fraction in [0, 1).`);
  const src = await readFashionMnist(dir, split);
  const n = o.n ?? src.count;
  if (!Number.isInteger(n) || n < 1 || n > src.count) throw new UserError(`--n ${o.n} is invalid; expected 1 to ${src.count} (the ${split} split's size).`);
  const size = o.size ?? src.side;
  if (!Number.isInteger(size) || size < 8 || size > 256) throw new UserError(`--size ${o.size} is invalid; expected an integer from 8 to 256.`);
  const senses = o.wordnet === false ? FASHION_CLASSES.map(() => null) : await nounSenses(FASHION_WORDNET_LEMMAS, o.wordnetDir ?? WORDNET_DIR);
  const useWordnet = senses.some((s) => s !== null);
  const rng = new Rng(seed);
  const nVal = Math.floor(n * val);
  const isVal = new Set(rng.sample(n, nVal));
  const per = src.side * src.side;
  const content: DatasetContent = {
    name: `fashion-mnist-${split}`, source: 'Fashion-MNIST (Debian dataset-fashion-mnist)', seed,
    width: size, height: size, channels: 1,
    labelFields: { label: [...FASHION_CLASSES], category: [...FASHION_CATEGORIES] },
    images: [], captions: [], questions: [],
    options: {
      dir, split, n, size, val_fraction: val, wordnet: useWordnet,
      ...(useWordnet ? { wordnet_senses: senses.map((s) => s && { lemma: s.lemma, wnid: s.wnid, gloss: s.gloss }) } : {}),
      text_names: FASHION_TEXT_NAMES,
    },
  };
  const bar = progress(`fashion-mnist ${split}`, n, 'img');
  for (let s = 0; s < n; s += 256) {
    const ids = Array.from({ length: Math.min(256, n - s) }, (_, k) => s + k);
    const pixels = await Promise.all(
      ids.map((i) => {
        const raw = src.images.slice(i * per, (i + 1) * per);
        return size === src.side ? raw : resizeRaw({ width: src.side, height: src.side, channels: 1, pixels: raw }, size);
      }),
    );
    for (const i of ids) {
      const label = src.labels[i] as number;
      content.images.push({
        id: i, fileName: `${split}-${String(i).padStart(5, '0')}.png`, split: isVal.has(i) ? 'val' : split,
        label, labels: { category: FASHION_CATEGORY_OF[label] as number }, pixels: pixels[i - s] as Uint8Array,
      });
      for (const caption of fashionCaptions(label, senses[label] ?? null)) content.captions.push({ imageId: i, caption });
      fashionQuestions(label, rng).forEach((q, k) => content.questions.push({ ...q, questionId: i * 10 + k, imageId: i }));
    }
    bar.tick(ids.length);
  }
  bar.done();
  return content;
}

/** Reads Fashion-MNIST and writes it as a dataset directory at `out`. */
export async function buildFashionMnistDataset(out: string, o: FashionOptions = {}, progress: ProgressFactory = noProgress): Promise<DatasetMeta> {
  return writeDataset(out, await fashionMnistContent(o, progress));
}
