/**
 * Importers for the formats users bring: COCO captions (JSON + image folder), VQAv2 (questions +
 * annotations JSON + image folder) and an image folder with one sub-folder per class. Images are
 * decoded and resized with sharp (centre crop to a square, then SIZE x SIZE). A zero-byte, unreadable
 * or unsupported file is skipped and listed in the result (path and reason), or fails the import with
 * `strict`. Splits: an image entry's own "split" field when it has one (COCO files written by
 * narrowgate do), else `split` for all images when given, else seeded train/val/test (80/10/10).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { readJson } from '../util/fs.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { assignSplits, writeDataset, type DatasetContent, type DatasetMeta, type ImageRow } from './dataset.js';
import { parseCocoCaptions, parseVqaAnnotations, parseVqaQuestions } from './formats.js';
import { decodeResize } from './images.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp'];

export interface ImportOptions {
  imagesDir: string;
  /** Output side length (default 32). */
  size?: number;
  /** 3 = RGB (default), 1 = grey. */
  channels?: 1 | 3;
  /** Fail on the first unreadable image instead of skipping it. */
  strict?: boolean;
  seed?: number;
  /** Put every image in this split (instead of seeded train/val/test). */
  split?: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ImportResult {
  meta: DatasetMeta;
  skipped: SkippedFile[];
}

interface Candidate {
  id: number;
  path: string;
  fileName: string;
  split?: string;
  label?: number;
}

const CHUNK = 32;

function checkOptions(o: ImportOptions): { size: number; channels: 1 | 3 } {
  const size = o.size ?? 32, channels = o.channels ?? 3;
  if (!Number.isInteger(size) || size < 4 || size > 1024) throw new UserError(`--size ${o.size} is invalid; expected an integer side length from 4 to 1024.`);
  if (!existsSync(o.imagesDir) || !statSync(o.imagesDir).isDirectory()) throw new UserError(`Image folder ${o.imagesDir} does not exist; expected a directory of image files.`);
  return { size, channels };
}

async function decodeOne(c: Candidate, size: number, channels: 1 | 3): Promise<Uint8Array | SkippedFile> {
  const ext = extname(c.path).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) return { path: c.path, reason: `unsupported file type "${ext || '(none)'}"` };
  let buf: Buffer;
  try {
    buf = await readFile(c.path);
  } catch {
    return { path: c.path, reason: 'file not found or not readable' };
  }
  if (buf.length === 0) return { path: c.path, reason: 'empty file (0 bytes)' };
  try {
    return (await decodeResize(buf, size, channels)).pixels;
  } catch (e) {
    return { path: c.path, reason: `not a readable image (${(e as Error).message.split('\n')[0]})` };
  }
}

/** Decodes candidates in chunks; returns the rows kept and the files skipped (or throws under strict). */
async function loadImages(cands: Candidate[], o: ImportOptions, size: number, channels: 1 | 3, progress: ProgressFactory) {
  const rows: ImageRow[] = [];
  const skipped: SkippedFile[] = [];
  const splits = assignSplits(cands.length, new Rng(o.seed ?? 0));
  const bar = progress('import images', cands.length, 'img');
  for (let s = 0; s < cands.length; s += CHUNK) {
    const chunk = cands.slice(s, s + CHUNK);
    const out = await Promise.all(chunk.map((c) => decodeOne(c, size, channels)));
    out.forEach((r, k) => {
      const c = chunk[k] as Candidate;
      if (r instanceof Uint8Array) {
        rows.push({ id: c.id, fileName: c.fileName, split: c.split ?? o.split ?? (splits[s + k] as string), label: c.label ?? -1, pixels: r });
      } else if (o.strict) {
        throw new UserError(`Cannot import ${r.path}: ${r.reason}; expected a readable ${IMAGE_EXTENSIONS.join('/')} image (leave out --strict to skip such files).`);
      } else skipped.push(r);
    });
    bar.tick(chunk.length);
  }
  bar.done();
  if (rows.length === 0) throw new UserError(`No readable image among the ${cands.length} file(s) from ${o.imagesDir}; expected at least one PNG/JPEG/WebP image.`);
  return { rows, skipped };
}

function base(name: string, source: string, o: ImportOptions, size: number, channels: 1 | 3): Omit<DatasetContent, 'images' | 'captions' | 'questions' | 'labelFields'> {
  return { name, source, seed: o.seed ?? 0, width: size, height: size, channels, options: { images_dir: o.imagesDir, size, channels, strict: Boolean(o.strict), split: o.split ?? null } };
}

/** COCO captions: `captionsPath` (images + annotations) and the image files under `imagesDir`. */
export async function importCoco(out: string, o: ImportOptions & { captionsPath: string }, progress: ProgressFactory = noProgress): Promise<ImportResult> {
  const { size, channels } = checkOptions(o);
  const coco = parseCocoCaptions(await readJson(o.captionsPath, 'COCO captions file'), o.captionsPath);
  const cands = coco.images.map((im) => ({ id: im.id, path: join(o.imagesDir, im.file_name), fileName: im.file_name, split: typeof im.split === 'string' ? im.split : undefined }));
  const { rows, skipped } = await loadImages(cands, o, size, channels, progress);
  const kept = new Set(rows.map((r) => r.id));
  const content: DatasetContent = {
    ...base('coco-captions', `COCO captions ${o.captionsPath}`, o, size, channels),
    labelFields: {},
    images: rows,
    captions: coco.annotations.filter((a) => kept.has(a.image_id)).map((a) => ({ imageId: a.image_id, caption: a.caption })),
    questions: [],
  };
  content.options.skipped = skipped.length;
  return { meta: await writeDataset(out, content), skipped };
}

/** Maps image ids to files by the number at the end of the file name (COCO_val2014_000000000042.jpg -> 42). */
async function filesById(dir: string): Promise<Map<number, string>> {
  const map = new Map<number, string>();
  for (const f of (await readdir(dir)).sort()) {
    const m = /(\d+)\.[A-Za-z0-9]+$/.exec(f);
    if (!m) continue;
    const id = Number(m[1]);
    if (map.has(id)) throw new UserError(`Image folder ${dir} has two files for image id ${id} (${map.get(id)} and ${f}); expected one file per id.`);
    map.set(id, f);
  }
  return map;
}

/** VQAv2: questions + annotations JSON; image files found by the image id at the end of their names. */
export async function importVqa(
  out: string,
  o: ImportOptions & { questionsPath: string; annotationsPath: string },
  progress: ProgressFactory = noProgress,
): Promise<ImportResult> {
  const { size, channels } = checkOptions(o);
  const qf = parseVqaQuestions(await readJson(o.questionsPath, 'VQAv2 questions file'), o.questionsPath);
  const af = parseVqaAnnotations(await readJson(o.annotationsPath, 'VQAv2 annotations file'), o.annotationsPath);
  const ann = new Map(af.annotations.map((a) => [a.question_id, a]));
  for (const q of qf.questions) {
    if (!ann.has(q.question_id)) throw new UserError(`${o.annotationsPath} has no annotation for question_id ${q.question_id} of ${o.questionsPath}; expected the matching annotations file.`);
  }
  const files = await filesById(o.imagesDir);
  const imageIds = [...new Set(qf.questions.map((q) => q.image_id))];
  const missing: SkippedFile[] = [];
  const cands: Candidate[] = [];
  for (const id of imageIds) {
    const f = files.get(id);
    if (f) cands.push({ id, path: join(o.imagesDir, f), fileName: f });
    else if (o.strict) throw new UserError(`No image file for image_id ${id} in ${o.imagesDir}; expected a file whose name ends in the id (e.g. COCO_val2014_${String(id).padStart(12, '0')}.jpg).`);
    else missing.push({ path: join(o.imagesDir, `*${id}.*`), reason: `no image file for image_id ${id}` });
  }
  if (cands.length === 0) throw new UserError(`No image file in ${o.imagesDir} matches the image ids of ${o.questionsPath}; expected names ending in the id.`);
  const { rows, skipped } = await loadImages(cands, o, size, channels, progress);
  const kept = new Set(rows.map((r) => r.id));
  const content: DatasetContent = {
    ...base('vqa', `VQAv2 ${o.questionsPath}`, o, size, channels),
    labelFields: {},
    images: rows,
    captions: [],
    questions: qf.questions
      .filter((q) => kept.has(q.image_id))
      .map((q) => {
        const a = ann.get(q.question_id)!;
        return {
          questionId: q.question_id, imageId: q.image_id, question: q.question, questionType: a.question_type, answerType: a.answer_type,
          answers: a.answers.map((x) => x.answer), ...(typeof a.attribute === 'string' ? { attribute: a.attribute } : {}),
        };
      }),
  };
  const allSkipped = [...missing, ...skipped];
  content.options.skipped = allSkipped.length;
  return { meta: await writeDataset(out, content), skipped: allSkipped };
}

/** An image folder with one sub-folder per class (sorted names = class indices); hidden files are ignored. */
export async function importFolder(out: string, o: ImportOptions, progress: ProgressFactory = noProgress): Promise<ImportResult> {
  const { size, channels } = checkOptions(o);
  const entries = (await readdir(o.imagesDir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const classes = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (classes.length === 0) throw new UserError(`Image folder ${o.imagesDir} has no sub-folders; expected one sub-folder per class (e.g. cat/, dog/) holding the images.`);
  const pre: SkippedFile[] = entries.filter((e) => !e.isDirectory()).map((e) => ({ path: join(o.imagesDir, e.name), reason: 'not inside a class sub-folder' }));
  if (o.strict && pre[0]) throw new UserError(`Cannot import ${pre[0].path}: ${pre[0].reason}; expected only class sub-folders in ${o.imagesDir}.`);
  const cands: Candidate[] = [];
  for (const [label, cls] of classes.entries()) {
    const files = (await readdir(join(o.imagesDir, cls), { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    for (const f of files) cands.push({ id: cands.length, path: join(o.imagesDir, cls, f), fileName: `${cls}/${f}`, label });
  }
  const { rows, skipped } = await loadImages(cands, o, size, channels, progress);
  const content: DatasetContent = {
    ...base('image-folder', `image folder ${o.imagesDir}`, o, size, channels),
    labelFields: { label: classes },
    images: rows,
    captions: [],
    questions: [],
  };
  const allSkipped = [...pre, ...skipped];
  content.options.skipped = allSkipped.length;
  return { meta: await writeDataset(out, content), skipped: allSkipped };
}
