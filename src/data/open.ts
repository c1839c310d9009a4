/**
 * Reading a dataset directory (layout in dataset.ts): `openDataset(dir)` loads every file, validates
 * it, and gives images by index or id (plain Uint8Array pixels, views into one buffer), captions and
 * questions per image, and the class names.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readJson } from '../util/fs.js';
import { decodeImagesArrow } from './arrow-images.js';
import { DATASET_FORMAT, FILES, type DatasetMeta } from './dataset.js';
import { parseCocoCaptions, parseVqaAnnotations, parseVqaQuestions, type CocoCaptionsFile, type VqaAnnotationsFile, type VqaQuestionsFile } from './formats.js';

export interface DatasetImage {
  /** Row index in images.arrow (0..length-1). */
  index: number;
  id: number;
  fileName: string;
  split: string;
  width: number;
  height: number;
  channels: number;
  /** height*width*channels bytes, row-major, interleaved channels (a view: copy before mutating). */
  pixels: Uint8Array;
  /** Class index in `classes` (-1 = none) and its name. */
  label: number;
  labelName: string | null;
  /** Every extra label field (e.g. shape, color) -> index (-1 = none). */
  labels: Record<string, number>;
  /** The structured scene (shapes datasets), parsed from JSON. */
  scene?: unknown;
}

export interface DatasetQuestion {
  questionId: number;
  question: string;
  questionType: string;
  answerType: string;
  /** multiple_choice_answer */
  answer: string;
  /** the 10 answers */
  answers: string[];
  attribute?: string;
}

export interface Dataset {
  dir: string;
  meta: DatasetMeta;
  length: number;
  /** Class names of the default label field ("label"); empty when unlabelled. */
  classes: string[];
  /** Names for every label field. */
  labelFields: Record<string, string[]>;
  get(index: number): DatasetImage;
  byId(id: number): DatasetImage;
  /** Every image's pixels in row order, contiguous (length * height * width * channels bytes). */
  pixels: Uint8Array;
  /** Images in order, optionally only one split. */
  images(split?: string): IterableIterator<DatasetImage>;
  /** Row indices of a split, in order. */
  indices(split: string): number[];
  captions(id: number): string[];
  questions(id: number): DatasetQuestion[];
  /** The standard-format documents as stored. */
  coco: CocoCaptionsFile;
  vqa: { questions: VqaQuestionsFile; annotations: VqaAnnotationsFile };
}

export async function openDataset(dir: string): Promise<Dataset> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`Dataset directory ${dir} does not exist; expected a directory made by "narrowgate data ..." (with ${FILES.join(', ')}).`);
  }
  for (const f of FILES) {
    if (!existsSync(join(dir, f))) throw new UserError(`Dataset directory ${dir} has no ${f}; expected ${FILES.join(', ')} (rebuild it with "narrowgate data ...").`);
  }
  const metaPath = join(dir, 'dataset.json');
  const meta = await readJson<DatasetMeta>(metaPath, 'dataset description');
  if (typeof meta !== 'object' || meta === null || meta.format !== DATASET_FORMAT || typeof meta.version !== 'number') {
    throw new UserError(`${metaPath} is not a narrowgate dataset description; expected {"format": "${DATASET_FORMAT}", "version": 1, ...}.`);
  }
  if (meta.version > 1) throw new UserError(`${metaPath} has format version ${meta.version}; this narrowgate reads version 1.`);
  const arrowPath = join(dir, 'images.arrow');
  const { columns: c } = decodeImagesArrow(new Uint8Array(await readFile(arrowPath)), arrowPath);
  const n = c.ids.length;
  if (n === 0) throw new UserError(`Dataset ${dir} is empty (images.arrow has no rows); expected at least one image.`);
  const coco = parseCocoCaptions(await readJson(join(dir, 'captions.json'), 'COCO captions file'), join(dir, 'captions.json'));
  const vq = parseVqaQuestions(await readJson(join(dir, 'questions.json'), 'VQAv2 questions file'), join(dir, 'questions.json'));
  const va = parseVqaAnnotations(await readJson(join(dir, 'annotations.json'), 'VQAv2 annotations file'), join(dir, 'annotations.json'));
  const labelsPath = join(dir, 'labels.json');
  const labelsDoc = await readJson<{ fields?: Record<string, string[]> }>(labelsPath, 'label names file');
  if (typeof labelsDoc !== 'object' || labelsDoc === null || typeof labelsDoc.fields !== 'object' || labelsDoc.fields === null) {
    throw new UserError(`${labelsPath} is not in the expected format: expected {"default": "label", "fields": {"label": [class names...]}}.`);
  }
  const labelFields = labelsDoc.fields;
  if (meta.counts?.images !== undefined && meta.counts.images !== n) {
    throw new UserError(`${metaPath} says ${meta.counts.images} images but images.arrow has ${n}; the directory is inconsistent (rebuild it).`);
  }

  const per = c.width * c.height * c.channels;
  const rowOf = new Map<number, number>();
  c.ids.forEach((id, i) => rowOf.set(id, i));
  const caps = new Map<number, string[]>();
  for (const a of coco.annotations) caps.set(a.image_id, [...(caps.get(a.image_id) ?? []), a.caption]);
  const annById = new Map(va.annotations.map((a) => [a.question_id, a]));
  const qs = new Map<number, DatasetQuestion[]>();
  for (const q of vq.questions) {
    const a = annById.get(q.question_id);
    if (!a) throw new UserError(`${join(dir, 'annotations.json')} has no annotation for question_id ${q.question_id}; every question needs its answers.`);
    const item: DatasetQuestion = {
      questionId: q.question_id, question: q.question, questionType: a.question_type, answerType: a.answer_type,
      answer: a.multiple_choice_answer, answers: a.answers.map((x) => x.answer),
      ...(typeof a.attribute === 'string' ? { attribute: a.attribute } : {}),
    };
    qs.set(q.image_id, [...(qs.get(q.image_id) ?? []), item]);
  }
  const classes = labelFields.label ?? [];
  const extraNames = Object.keys(c.extra);
  const get = (i: number): DatasetImage => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`image index ${i} out of range 0..${n - 1}`);
    const label = c.labels[i] as number;
    const scene = c.scenes?.[i];
    return {
      index: i, id: c.ids[i] as number, fileName: c.fileNames[i] as string, split: c.splits[i] as string,
      width: c.width, height: c.height, channels: c.channels,
      pixels: c.pixels.subarray(i * per, (i + 1) * per),
      label, labelName: c.labelNames[i] ?? null,
      labels: Object.fromEntries(extraNames.map((k) => [k, (c.extra[k] as Int32Array)[i] as number])),
      ...(scene ? { scene: JSON.parse(scene) as unknown } : {}),
    };
  };
  return {
    dir, meta, length: n, classes, labelFields, get, pixels: c.pixels,
    byId(id) {
      const i = rowOf.get(id);
      if (i === undefined) throw new RangeError(`no image with id ${id}`);
      return get(i);
    },
    *images(split) {
      for (let i = 0; i < n; i++) if (split === undefined || c.splits[i] === split) yield get(i);
    },
    indices(split) {
      const out: number[] = [];
      for (let i = 0; i < n; i++) if (c.splits[i] === split) out.push(i);
      return out;
    },
    captions: (id) => caps.get(id) ?? [],
    questions: (id) => qs.get(id) ?? [],
    coco,
    vqa: { questions: vq, annotations: va },
  };
}
