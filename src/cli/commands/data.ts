/**
 * `narrowgate data <source>`: build datasets (shapes, fashion-mnist, imports of COCO / VQAv2 / image
 * folders) and inspect them. Every subcommand writes one dataset directory under --out.
 */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { createProgress, noProgress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import { UserError } from '../../util/errors.js';
import type { DatasetMeta } from '../../data/dataset.js';
import { buildShapesDataset } from '../../data/shapes.js';
import { openDataset } from '../../data/open.js';
import { QUESTION_ATTRIBUTES, type QuestionAttribute } from '../../data/shapes-text.js';
import { buildFashionMnistDataset, FASHION_MNIST_DIR } from '../../data/fashion-mnist.js';
import { importCoco, importFolder, importVqa, type ImportResult } from '../../data/importers.js';
import { contactSheet, exportImages } from '../../data/export.js';
import { writeFileAtomic } from '../../util/fs.js';

function summary(dir: string, meta: DatasetMeta): string {
  const s = meta.size;
  const splits = Object.entries(meta.counts.splits).map(([k, v]) => `${k} ${v}`).join(', ');
  return (
    `${meta.name}: ${meta.counts.images} images ${s.width}x${s.height}x${s.channels} (${splits}), ` +
    `${meta.counts.captions} captions, ${meta.counts.questions} questions -> ${dir}`
  );
}

/** handler() for an argument type with required fields (yargs fills them from the options). */
interface RawArgs extends GlobalArgs {
  $0?: string;
}
const run = <A extends GlobalArgs>(fn: (a: A) => Promise<void>) => handler<RawArgs>((raw) => fn(raw as A));

const progressOf = (a: GlobalArgs) => (a.quiet || a.json ? noProgress : createProgress);

const outOption = { type: 'string', demandOption: true, describe: 'dataset directory to write (replaced atomically)' } as const;

interface ShapesArgs extends GlobalArgs { out: string; n: number; seed: number; size: number; single: boolean; objects?: string; val: number; test: number; questions?: string }

const shapes: AnyCommand = {
  command: 'shapes',
  describe: 'generate a seeded synthetic shapes dataset (images, captions, questions, labels)',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('out', outOption)
      .option('n', { type: 'number', default: 1000, describe: 'number of images' })
      .option('seed', { type: 'number', default: 0, describe: 'random seed (same seed -> byte-identical dataset)' })
      .option('size', { type: 'number', default: 32, describe: 'image side in pixels (32 or 64 are usual)' })
      .option('single', { type: 'boolean', default: false, describe: 'one object per image (class-pair patching and steering)' })
      .option('objects', { type: 'string', describe: 'objects per image as MIN-MAX, e.g. 1-2 (default 1-3)' })
      .option('val', { type: 'number', default: 0.1, describe: 'fraction of images in the val split' })
      .option('test', { type: 'number', default: 0.1, describe: 'fraction of images in the test split' })
      .option('questions', { type: 'string', describe: `comma-separated question types (default all: ${QUESTION_ATTRIBUTES.join(',')})` })
      .example('$0 data shapes --out data/shapes --n 10000 --seed 0', '10k scenes of 1-3 objects at 32x32')
      .example('$0 data shapes --out data/single --n 2000 --single --size 64', 'single-object images for patching'),
  handler: run<ShapesArgs>(async (a) => {
    let minObjects: number | undefined, maxObjects: number | undefined;
    if (a.objects !== undefined) {
      const m = /^([1-3])-([1-3])$/.exec(a.objects);
      if (!m) throw new UserError(`--objects "${a.objects}" is invalid; expected MIN-MAX with 1 <= MIN <= MAX <= 3, e.g. 1-2.`);
      [minObjects, maxObjects] = [Number(m[1]), Number(m[2])];
    }
    const questionTypes = a.questions?.split(',').map((s) => s.trim()) as QuestionAttribute[] | undefined;
    const meta = await buildShapesDataset(
      a.out,
      { n: a.n, seed: a.seed, size: a.size, single: a.single, minObjects, maxObjects, valFraction: a.val, testFraction: a.test, questionTypes },
      progressOf(a),
    );
    emit(a, { dir: a.out, ...meta }, () => summary(a.out, meta));
  }),
};

interface FashionArgs extends GlobalArgs { out: string; dir: string; split: string; n?: number; seed: number; wordnet: boolean; size?: number; val: number }

const fashion: AnyCommand = {
  command: 'fashion-mnist',
  describe: 'Fashion-MNIST (Debian dataset-fashion-mnist) with template captions and questions',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('out', outOption)
      .option('dir', { type: 'string', default: FASHION_MNIST_DIR, describe: 'folder with the four IDX .gz files' })
      .option('split', { type: 'string', choices: ['train', 'test'], default: 'test', describe: 'which Fashion-MNIST split to read' })
      .option('n', { type: 'number', describe: 'keep the first N images (default all)' })
      .option('seed', { type: 'number', default: 0, describe: 'seed for the template choices and the train/val/test split' })
      .option('wordnet', { type: 'boolean', default: true, describe: 'add WordNet gloss captions when wordnet-base is installed (--no-wordnet: never)' })
      .option('size', { type: 'number', describe: 'resize to SIZE x SIZE (default: 28, as stored)' })
      .option('val', { type: 'number', default: 0, describe: 'fraction of the images moved to a seeded val split' })
      .example('$0 data fashion-mnist --out data/fmnist --split test --n 2000', '2,000 test images with captions and questions'),
  handler: run<FashionArgs>(async (a) => {
    const meta = await buildFashionMnistDataset(a.out, { dir: a.dir, split: a.split as 'train' | 'test', n: a.n, seed: a.seed, wordnet: a.wordnet, size: a.size, valFraction: a.val }, progressOf(a));
    emit(a, { dir: a.out, ...meta }, () => summary(a.out, meta));
  }),
};

function reportImport(a: GlobalArgs & { out: string }, r: ImportResult): void {
  for (const s of r.skipped) log(`skipped ${s.path}: ${s.reason}`);
  emit(a, { dir: a.out, skipped: r.skipped, ...r.meta }, () => summary(a.out, r.meta) + (r.skipped.length ? `\n${r.skipped.length} file(s) skipped (listed above)` : ''));
}

const importFlags = (y: Argv) =>
  globalOptions(y)
    .option('out', outOption)
    .option('images', { type: 'string', demandOption: true, describe: 'folder with the image files' })
    .option('size', { type: 'number', default: 32, describe: 'resize every image to SIZE x SIZE (centre crop)' })
    .option('grey', { type: 'boolean', default: false, describe: 'store one grey channel instead of RGB' })
    .option('strict', { type: 'boolean', default: false, describe: 'fail on the first unreadable image instead of skipping it' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for the train/val/test split (80/10/10)' })
    .option('split', { type: 'string', describe: 'put every image in this split instead (e.g. val)' });

interface ImportArgs extends GlobalArgs { out: string; images: string; size: number; grey: boolean; strict: boolean; seed: number; split?: string; captions?: string; questions?: string; annotations?: string }

const importOpts = (a: ImportArgs) => ({ imagesDir: a.images, size: a.size, channels: (a.grey ? 1 : 3) as 1 | 3, strict: a.strict, seed: a.seed, split: a.split });

const coco: AnyCommand = {
  command: 'import-coco',
  describe: 'import COCO captions (annotations JSON + image folder)',
  builder: (y: Argv) =>
    importFlags(y)
      .option('captions', { type: 'string', demandOption: true, describe: 'COCO captions JSON (e.g. captions_val2014.json)' })
      .example('$0 data import-coco --captions captions_val2014.json --images val2014 --out data/coco --size 64', ''),
  handler: run<ImportArgs>(async (a) => reportImport(a, await importCoco(a.out, { ...importOpts(a), captionsPath: a.captions as string }, progressOf(a)))),
};

const vqa: AnyCommand = {
  command: 'import-vqa',
  describe: 'import VQAv2 (questions JSON + annotations JSON + image folder)',
  builder: (y: Argv) =>
    importFlags(y)
      .option('questions', { type: 'string', demandOption: true, describe: 'VQAv2 questions JSON' })
      .option('annotations', { type: 'string', demandOption: true, describe: 'VQAv2 annotations JSON' })
      .example('$0 data import-vqa --questions q.json --annotations a.json --images val2014 --out data/vqa', ''),
  handler: run<ImportArgs>(async (a) =>
    reportImport(a, await importVqa(a.out, { ...importOpts(a), questionsPath: a.questions as string, annotationsPath: a.annotations as string }, progressOf(a))),
  ),
};

const folder: AnyCommand = {
  command: 'import-folder',
  describe: 'import an image folder with one sub-folder per class',
  builder: (y: Argv) => importFlags(y).example('$0 data import-folder --images photos/ --out data/photos --size 64', 'photos/cat/*.jpg, photos/dog/*.jpg -> classes cat, dog'),
  handler: run<ImportArgs>(async (a) => reportImport(a, await importFolder(a.out, importOpts(a), progressOf(a)))),
};

interface InfoArgs extends GlobalArgs { dir: string }

const info: AnyCommand = {
  command: 'info <dir>',
  describe: 'check a dataset directory and summarise it',
  builder: (y: Argv) => globalOptions(y).positional('dir', { type: 'string', describe: 'dataset directory' }).example('$0 data info data/shapes', ''),
  handler: run<InfoArgs>(async (a) => {
    const ds = await openDataset(a.dir);
    emit(a, { dir: a.dir, ...ds.meta, classes: ds.classes }, () => summary(a.dir, ds.meta) + (ds.classes.length ? `\n${ds.classes.length} classes: ${ds.classes.slice(0, 12).join(', ')}${ds.classes.length > 12 ? ', ...' : ''}` : ''));
  }),
};

interface ExportArgs extends GlobalArgs { dir: string; out: string; byClass: boolean; split?: string }

const exportCmd: AnyCommand = {
  command: 'export <dir>',
  describe: 'write a dataset\'s images as PNG files (flat under their file_name, or one folder per class)',
  builder: (y: Argv) =>
    globalOptions(y)
      .positional('dir', { type: 'string', describe: 'dataset directory' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder to write the PNG files into (replaced atomically)' })
      .option('by-class', { type: 'boolean', default: false, describe: 'one sub-folder per class (the import-folder layout)' })
      .option('split', { type: 'string', describe: 'only this split' })
      .example('$0 data export data/shapes --out data/shapes-png', 'PNGs named as in captions.json, for COCO tools'),
  handler: run<ExportArgs>(async (a) => {
    const n = await exportImages(await openDataset(a.dir), a.out, { byClass: a.byClass, split: a.split });
    emit(a, { dir: a.dir, out: a.out, files: n }, () => `${n} PNG files -> ${a.out}`);
  }),
};

interface PreviewArgs extends GlobalArgs { dir: string; out: string; n: number; cols: number; zoom: number; split?: string }

const preview: AnyCommand = {
  command: 'preview <dir>',
  describe: 'write a PNG contact sheet of the first images of a dataset',
  builder: (y: Argv) =>
    globalOptions(y)
      .positional('dir', { type: 'string', describe: 'dataset directory' })
      .option('out', { type: 'string', demandOption: true, describe: 'PNG file to write' })
      .option('n', { type: 'number', default: 64, describe: 'number of images' })
      .option('cols', { type: 'number', default: 8, describe: 'images per row' })
      .option('zoom', { type: 'number', default: 4, describe: 'pixel magnification' })
      .option('split', { type: 'string', describe: 'only this split' })
      .example('$0 data preview data/shapes --out shapes.png', '64 images, 8 per row, 4x'),
  handler: run<PreviewArgs>(async (a) => {
    const ds = await openDataset(a.dir);
    await writeFileAtomic(a.out, await contactSheet(ds, a.n, a.cols, a.zoom, a.split));
    emit(a, { dir: a.dir, out: a.out }, () => `contact sheet -> ${a.out}`);
  }),
};

export const dataCommand: AnyCommand = {
  command: 'data',
  describe: 'build datasets (shapes, Fashion-MNIST, COCO / VQAv2 / image-folder imports) and inspect them',
  builder: (y: Argv) =>
    y
      .command(shapes)
      .command(fashion)
      .command(coco)
      .command(vqa)
      .command(folder)
      .command(info)
      .command(exportCmd)
      .command(preview)
      .demandCommand(1, 'Name a data command: shapes, fashion-mnist, import-coco, import-vqa, import-folder, info, export or preview.')
      .example('$0 data shapes --out data/shapes --n 10000', ''),
  handler: () => {},
};
