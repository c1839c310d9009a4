/**
 * The narrowgate dataset: one directory, written atomically, readable with standard tools.
 *
 *   DIR/dataset.json     {format: "narrowgate-dataset", version: 1, name, source, seed, size: {width,
 *                        height, channels}, counts: {images, captions, questions, splits: {train, ...}},
 *                        label_fields, options}  (no timestamps: same inputs -> byte-identical files)
 *   DIR/images.arrow     Arrow IPC file, one row per image, in image order:
 *                          image_id int32, file_name utf8, split dictionary<int8, utf8>
 *                          (train | val | test | ...), label int32 (-1 = none), label_name utf8 (null
 *                          when none), one int32 column per extra label field (e.g. shape, color; -1 =
 *                          none), width/height/channels int32, scene utf8 (JSON of the structured scene;
 *                          shapes datasets only), pixels FixedSizeList<uint8>[height*width*channels]
 *                          (row-major, interleaved channels: RGB or grey).
 *                        Schema metadata: "narrowgate.dataset" = the dataset.json text, width, height,
 *                        channels.
 *   DIR/captions.json    COCO captions: {info, licenses, images: [{id, file_name, width, height, split}],
 *                        annotations: [{id, image_id, caption}]}
 *   DIR/questions.json   VQAv2 questions: {info, task_type, data_type, data_subtype, license,
 *                        questions: [{image_id, question, question_id}]}
 *   DIR/annotations.json VQAv2 annotations: {..., annotations: [{question_id, image_id, question_type,
 *                        answer_type, multiple_choice_answer, answers: [{answer, answer_confidence,
 *                        answer_id}] x 10, attribute?}]}
 *   DIR/labels.json      {default: "label", fields: {label: [class names...], shape: [...], ...}}: the
 *                        names of every label field's values (index = the int32 in images.arrow).
 *
 * All five files are always present (a dataset without captions has an empty annotations list).
 * COCO image ids, VQA image ids and images.arrow image_id are the same numbers.
 */
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { encodeImagesArrow } from './arrow-images.js';
import { majorityAnswer, tenAnswers, type CocoCaptionsFile, type VqaAnnotationsFile, type VqaQuestionsFile } from './formats.js';

export const DATASET_FORMAT = 'narrowgate-dataset';
export const DATASET_VERSION = 1;
export const FILES = ['dataset.json', 'images.arrow', 'captions.json', 'questions.json', 'annotations.json', 'labels.json'] as const;

export interface ImageRow {
  id: number;
  fileName: string;
  split: string;
  /** Index into labelFields.label, or -1. */
  label: number;
  /** Extra label fields (keys of labelFields other than "label"); missing = -1. */
  labels?: Record<string, number>;
  pixels: Uint8Array;
  /** Structured annotation stored as JSON (the shapes scene). */
  scene?: unknown;
}

export interface CaptionRow {
  imageId: number;
  caption: string;
}

export interface QuestionRow {
  questionId: number;
  imageId: number;
  question: string;
  questionType: string;
  answerType: string;
  /** The human answers (10 in VQAv2; fewer are cycled to 10 when written). */
  answers: string[];
  /** Our question category (shapes: color, shape, size, position, count, exists). */
  attribute?: string;
}

export interface DatasetContent {
  name: string;
  source: string;
  seed: number | null;
  width: number;
  height: number;
  channels: number;
  /** "label" first; each field lists the names of its values. Empty object = unlabelled. */
  labelFields: Record<string, string[]>;
  images: ImageRow[];
  captions: CaptionRow[];
  questions: QuestionRow[];
  /** Recorded in dataset.json: generator options, enrichment used, files skipped... */
  options: Record<string, unknown>;
}

export interface DatasetMeta {
  format: string;
  version: number;
  name: string;
  source: string;
  seed: number | null;
  size: { width: number; height: number; channels: number };
  counts: { images: number; captions: number; questions: number; splits: Record<string, number> };
  label_fields: string[];
  options: Record<string, unknown>;
}

export function metaOf(c: DatasetContent): DatasetMeta {
  const splits: Record<string, number> = {};
  for (const im of c.images) splits[im.split] = (splits[im.split] ?? 0) + 1;
  return {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    name: c.name,
    source: c.source,
    seed: c.seed,
    size: { width: c.width, height: c.height, channels: c.channels },
    counts: { images: c.images.length, captions: c.captions.length, questions: c.questions.length, splits: Object.fromEntries(Object.entries(splits).sort()) },
    label_fields: Object.keys(c.labelFields),
    options: c.options,
  };
}

function cocoOf(c: DatasetContent): CocoCaptionsFile {
  return {
    info: { description: `narrowgate ${c.name} captions`, source: c.source },
    licenses: [],
    images: c.images.map((im) => ({ id: im.id, file_name: im.fileName, width: c.width, height: c.height, split: im.split })),
    annotations: c.captions.map((a, i) => ({ id: i + 1, image_id: a.imageId, caption: a.caption })),
  };
}

function vqaOf(c: DatasetContent): [VqaQuestionsFile, VqaAnnotationsFile] {
  const info = { description: `narrowgate ${c.name} questions`, source: c.source };
  const license = {};
  return [
    { info, task_type: 'Open-Ended', data_type: c.source, data_subtype: c.name, license, questions: c.questions.map((q) => ({ image_id: q.imageId, question: q.question, question_id: q.questionId })) },
    {
      info, data_type: c.source, data_subtype: c.name, license,
      annotations: c.questions.map((q) => ({
        question_id: q.questionId, image_id: q.imageId, question_type: q.questionType, answer_type: q.answerType,
        multiple_choice_answer: majorityAnswer(q.answers), answers: tenAnswers(q.answers),
        ...(q.attribute ? { attribute: q.attribute } : {}),
      })),
    },
  ];
}

/** Checks the content's invariants (sizes, label ranges, ids); throws an Error naming the first problem. */
export function checkContent(c: DatasetContent): void {
  const per = c.width * c.height * c.channels;
  const ids = new Set<number>();
  const fields = Object.keys(c.labelFields);
  for (const im of c.images) {
    if (im.pixels.length !== per) throw new Error(`image ${im.id}: ${im.pixels.length} bytes, expected ${per}`);
    if (ids.has(im.id)) throw new Error(`duplicate image id ${im.id}`);
    ids.add(im.id);
    const names = c.labelFields.label;
    if (im.label !== -1 && (!names || im.label < 0 || im.label >= names.length)) throw new Error(`image ${im.id}: label ${im.label} out of range`);
    for (const [k, v] of Object.entries(im.labels ?? {})) {
      if (!fields.includes(k) || k === 'label') throw new Error(`image ${im.id}: unknown label field ${k}`);
      if (v !== -1 && (v < 0 || v >= (c.labelFields[k] as string[]).length)) throw new Error(`image ${im.id}: ${k} ${v} out of range`);
    }
  }
  for (const a of c.captions) if (!ids.has(a.imageId)) throw new Error(`caption for unknown image ${a.imageId}`);
  for (const q of c.questions) if (!ids.has(q.imageId)) throw new Error(`question ${q.questionId} for unknown image ${q.imageId}`);
}

function json(x: unknown): string {
  return JSON.stringify(x) + '\n';
}

/** Writes `content` as a dataset directory at `dir` (atomically: built aside, then renamed into place). */
export async function writeDataset(dir: string, content: DatasetContent): Promise<DatasetMeta> {
  checkContent(content);
  const meta = metaOf(content);
  const c = content;
  const n = c.images.length, per = c.width * c.height * c.channels;
  const pixels = new Uint8Array(n * per);
  c.images.forEach((im, i) => pixels.set(im.pixels, i * per));
  const extraFields = Object.keys(c.labelFields).filter((k) => k !== 'label');
  const labelNames = c.labelFields.label ?? [];
  const arrow = encodeImagesArrow(
    {
      width: c.width, height: c.height, channels: c.channels,
      ids: Int32Array.from(c.images, (im) => im.id),
      fileNames: c.images.map((im) => im.fileName),
      splits: c.images.map((im) => im.split),
      labels: Int32Array.from(c.images, (im) => im.label),
      labelNames: c.images.map((im) => (im.label >= 0 ? (labelNames[im.label] ?? null) : null)),
      extra: Object.fromEntries(extraFields.map((k) => [k, Int32Array.from(c.images, (im) => im.labels?.[k] ?? -1)])),
      scenes: c.images.some((im) => im.scene !== undefined) ? c.images.map((im) => (im.scene === undefined ? null : JSON.stringify(im.scene))) : undefined,
      pixels,
    },
    { 'narrowgate.dataset': JSON.stringify(meta), width: String(c.width), height: String(c.height), channels: String(c.channels) },
  );
  const [questions, annotations] = vqaOf(c);
  await writeDirAtomic(dir, async (tmp) => {
    await writeFileAtomic(join(tmp, 'images.arrow'), arrow);
    await writeFileAtomic(join(tmp, 'captions.json'), json(cocoOf(c)));
    await writeFileAtomic(join(tmp, 'questions.json'), json(questions));
    await writeFileAtomic(join(tmp, 'annotations.json'), json(annotations));
    await writeFileAtomic(join(tmp, 'labels.json'), json({ default: 'label', fields: c.labelFields }));
    await writeFileAtomic(join(tmp, 'dataset.json'), JSON.stringify(meta, null, 2) + '\n');
  });
  return meta;
}

/** Splits `n` items into train/val/test by seeded shuffle with exact counts (val and test rounded down). */
export function assignSplits(n: number, rng: { shuffle<T>(a: T[]): T[] }, val = 0.1, test = 0.1): string[] {
  const nv = Math.floor(n * val), nt = Math.floor(n * test);
  const out = Array.from({ length: n }, (_, i) => (i < nv ? 'val' : i < nv + nt ? 'test' : 'train'));
  return rng.shuffle(out);
}
