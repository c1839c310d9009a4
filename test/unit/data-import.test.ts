import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/util/errors.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';
import { exportImages, contactSheet } from '../../src/data/export.js';
import { importCoco, importFolder, importVqa } from '../../src/data/importers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-import-'));

function userError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, pattern);
    return true;
  };
}

/** A solid-colour PNG of w x h. */
async function solidPng(path: string, w: number, h: number, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path);
}

async function shapesWithPngs(n: number) {
  const root = tmp();
  const dir = join(root, 'ds');
  await buildShapesDataset(dir, { n, seed: 12 });
  const ds = await openDataset(dir);
  const pngs = join(root, 'png');
  assert.equal(await exportImages(ds, pngs), n);
  return { root, dir, ds, pngs };
}

test('COCO round-trip: export PNGs, import captions.json + folder, same pixels, captions and splits', async () => {
  const { root, dir, ds, pngs } = await shapesWithPngs(12);
  const out = join(root, 'coco');
  const r = await importCoco(out, { captionsPath: join(dir, 'captions.json'), imagesDir: pngs, size: 32 });
  assert.deepEqual(r.skipped, []);
  const back = await openDataset(out);
  assert.equal(back.length, 12);
  for (const im of ds.images()) {
    const got = back.byId(im.id);
    assert.ok(Buffer.from(got.pixels).equals(Buffer.from(im.pixels)), `pixels of ${im.id}`);
    assert.equal(got.split, im.split);
    assert.deepEqual(back.captions(im.id), ds.captions(im.id));
  }
  assert.deepEqual(back.classes, []);
});

test('VQAv2 round-trip: questions + annotations + folder give back questions and the 10 answers', async () => {
  const { root, dir, ds, pngs } = await shapesWithPngs(8);
  const out = join(root, 'vqa');
  const r = await importVqa(out, { questionsPath: join(dir, 'questions.json'), annotationsPath: join(dir, 'annotations.json'), imagesDir: pngs, size: 32 });
  assert.deepEqual(r.skipped, []);
  const back = await openDataset(out);
  for (const im of ds.images()) {
    assert.deepEqual(back.questions(im.id), ds.questions(im.id));
    assert.ok(Buffer.from(back.byId(im.id).pixels).equals(Buffer.from(im.pixels)));
  }
  assert.equal(back.meta.counts.questions, 8 * 6);
});

test('image folder: classes from sub-folders, images resized, bad files reported and skipped', async () => {
  const root = tmp();
  const src = join(root, 'photos');
  mkdirSync(join(src, 'dog'), { recursive: true });
  mkdirSync(join(src, 'cat'), { recursive: true });
  await solidPng(join(src, 'cat', 'a.png'), 40, 20, [255, 0, 0]);
  await sharp({ create: { width: 50, height: 50, channels: 3, background: { r: 0, g: 0, b: 255 } } }).jpeg().toFile(join(src, 'dog', 'b.jpg'));
  writeFileSync(join(src, 'dog', 'empty.png'), '');
  writeFileSync(join(src, 'dog', 'text.png'), 'this is not an image');
  writeFileSync(join(src, 'cat', 'notes.txt'), 'hello');
  writeFileSync(join(src, 'cat', '.DS_Store'), 'x');
  writeFileSync(join(src, 'stray.png'), 'x');
  const out = join(root, 'ds');
  const r = await importFolder(out, { imagesDir: src, size: 16, split: 'train' });
  const reasons = Object.fromEntries(r.skipped.map((s) => [s.path.slice(src.length + 1), s.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['cat/notes.txt', 'dog/empty.png', 'dog/text.png', 'stray.png']);
  assert.match(reasons['dog/empty.png']!, /empty file \(0 bytes\)/);
  assert.match(reasons['dog/text.png']!, /not a readable image/);
  assert.match(reasons['cat/notes.txt']!, /unsupported file type "\.txt"/);
  assert.match(reasons['stray.png']!, /not inside a class sub-folder/);
  const ds = await openDataset(out);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.equal(ds.length, 2);
  assert.equal(ds.meta.options.skipped, 4);
  const cat = [...ds.images()].find((im) => im.labelName === 'cat')!;
  assert.equal(cat.width, 16);
  assert.deepEqual([...cat.pixels.subarray(0, 3)], [255, 0, 0]); // a solid image stays solid after crop + resize
  const dog = [...ds.images()].find((im) => im.labelName === 'dog')!;
  const [r0, g0, b0] = dog.pixels;
  assert.ok(r0! < 10 && g0! < 10 && b0! > 240, `JPEG blue stays blue: ${[r0, g0, b0]}`);
  // --strict fails on the first bad file, naming it
  await assert.rejects(importFolder(join(root, 'strict'), { imagesDir: src, size: 16, strict: true }), userError(/Cannot import .*stray\.png: not inside a class sub-folder/));
  const clean = join(root, 'clean');
  mkdirSync(join(clean, 'cat'), { recursive: true });
  writeFileSync(join(clean, 'cat', 'bad.png'), 'nope');
  await assert.rejects(importFolder(join(root, 's2'), { imagesDir: clean, strict: true }), userError(/Cannot import .*bad\.png: not a readable image.*leave out --strict/));
  await assert.rejects(importFolder(join(root, 's3'), { imagesDir: clean }), userError(/No readable image among the 1 file/));
});

test('grey import and by-class export: folder -> dataset -> folder keeps classes', async () => {
  const root = tmp();
  const src = join(root, 'src');
  for (const [cls, v] of [['light', 200], ['dark', 30]] as const) {
    mkdirSync(join(src, cls), { recursive: true });
    for (let i = 0; i < 3; i++) await solidPng(join(src, cls, `${i}.png`), 8, 8, [v, v, v]);
  }
  await importFolder(join(root, 'ds'), { imagesDir: src, size: 8, channels: 1 });
  const ds = await openDataset(join(root, 'ds'));
  assert.equal(ds.meta.size.channels, 1);
  for (const im of ds.images()) assert.equal(im.pixels[0], im.labelName === 'light' ? 200 : 30);
  assert.equal(await exportImages(ds, join(root, 'out'), { byClass: true }), 6);
  assert.deepEqual(readdirSync(join(root, 'out')).sort(), ['dark', 'light']);
  const meta = await sharp(readFileSync(join(root, 'out', 'dark', '0.png'))).metadata();
  assert.equal(meta.width, 8);
  const sheet = await sharp(await contactSheet(ds, 4, 2, 3)).metadata();
  assert.deepEqual([sheet.width, sheet.height], [2 * 8 * 3, 2 * 8 * 3]);
});

test('importer input errors: malformed JSON, wrong format, missing folder, missing images', async () => {
  const root = tmp();
  const imgs = join(root, 'imgs');
  mkdirSync(imgs);
  await solidPng(join(imgs, 'COCO_val2014_000000000007.png'), 10, 10, [1, 2, 3]);
  const bad = join(root, 'bad.json');
  writeFileSync(bad, '{"images": [');
  await assert.rejects(importCoco(join(root, 'o'), { captionsPath: bad, imagesDir: imgs }), userError(/bad\.json is not valid JSON/));
  writeFileSync(bad, JSON.stringify({ images: [{ id: 1, file_name: 'x.png' }], annotations: [{ image_id: 2, caption: 'a' }] }));
  await assert.rejects(importCoco(join(root, 'o'), { captionsPath: bad, imagesDir: imgs }), userError(/annotations\[0\]\.image_id 2 names no entry of images/));
  writeFileSync(bad, JSON.stringify({ images: [{ id: 1, file_name: 'x.png' }], annotations: [] }));
  await assert.rejects(importCoco(join(root, 'o'), { captionsPath: bad, imagesDir: join(root, 'nope') }), userError(/Image folder .*nope does not exist/));
  // a COCO image whose file is missing is skipped with its path; none left -> error
  await assert.rejects(importCoco(join(root, 'o'), { captionsPath: bad, imagesDir: imgs }), userError(/No readable image/));
  const q = join(root, 'q.json'), a = join(root, 'a.json');
  writeFileSync(q, JSON.stringify({ questions: [{ image_id: 7, question: 'what?', question_id: 70 }, { image_id: 8, question: 'why?', question_id: 80 }] }));
  writeFileSync(a, JSON.stringify({ annotations: [{ question_id: 70, image_id: 7, answers: [{ answer: 'red' }] }] }));
  await assert.rejects(importVqa(join(root, 'o'), { questionsPath: q, annotationsPath: a, imagesDir: imgs }), userError(/no annotation for question_id 80/));
  writeFileSync(a, JSON.stringify({ annotations: [{ question_id: 70, image_id: 7, answers: [{ answer: 'red' }] }, { question_id: 80, image_id: 8, answers: [{ answer: 'no' }] }] }));
  const r = await importVqa(join(root, 'o'), { questionsPath: q, annotationsPath: a, imagesDir: imgs });
  assert.deepEqual(r.skipped.map((s) => s.reason), ['no image file for image_id 8']);
  const ds = await openDataset(join(root, 'o'));
  assert.deepEqual(ds.questions(7)[0]!.answers, new Array(10).fill('red'));
  await assert.rejects(importVqa(join(root, 'o2'), { questionsPath: q, annotationsPath: a, imagesDir: imgs, strict: true }), userError(/No image file for image_id 8/));
});
