import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, tableFromIPC } from 'apache-arrow';
import { UserError } from '../../src/util/errors.js';
import { writeDataset, type DatasetContent } from '../../src/data/dataset.js';
import { openDataset } from '../../src/data/open.js';
import { parseCocoCaptions, parseVqaAnnotations } from '../../src/data/formats.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-format-'));

/** A hand-made dataset: n images of 2x3 grey pixels whose bytes encode the image index. */
function content(n: number): DatasetContent {
  return {
    name: 'tiny', source: 'test', seed: 1, width: 3, height: 2, channels: 1,
    labelFields: { label: ['cat', 'dog'], colour: ['black', 'white', 'grey'] },
    images: Array.from({ length: n }, (_, i) => ({
      id: 100 + i, fileName: `img${i}.png`, split: ['train', 'val', 'test'][i % 3]!, label: i % 2,
      labels: { colour: i % 3 }, pixels: Uint8Array.from({ length: 6 }, (_, k) => (i * 7 + k) % 256),
    })),
    captions: Array.from({ length: n }, (_, i) => ({ imageId: 100 + i, caption: `a ${i % 2 ? 'dog' : 'cat'} number ${i}` })),
    questions: Array.from({ length: Math.min(n, 3) }, (_, i) => ({
      questionId: 1000 + i, imageId: 100 + i, question: 'what is it?', questionType: 'what is',
      answerType: 'other', answers: i === 0 ? ['cat', 'cat', 'kitten'] : ['dog'],
    })),
    options: { note: 'hand made' },
  };
}

test('the JSON files follow COCO captions and VQAv2 field by field', async () => {
  const dir = join(tmp(), 'd');
  await writeDataset(dir, content(4));
  const coco = JSON.parse(readFileSync(join(dir, 'captions.json'), 'utf8'));
  assert.deepEqual(coco.images[1], { id: 101, file_name: 'img1.png', width: 3, height: 2, split: 'val' });
  assert.deepEqual(coco.annotations[3], { id: 4, image_id: 103, caption: 'a dog number 3' });
  assert.deepEqual(coco.licenses, []);
  const q = JSON.parse(readFileSync(join(dir, 'questions.json'), 'utf8'));
  assert.equal(q.task_type, 'Open-Ended');
  assert.deepEqual(q.questions[0], { image_id: 100, question: 'what is it?', question_id: 1000 });
  const a = JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8'));
  const a0 = a.annotations[0];
  assert.equal(a0.question_id, 1000);
  assert.equal(a0.question_type, 'what is');
  assert.equal(a0.answer_type, 'other');
  assert.equal(a0.multiple_choice_answer, 'cat'); // 7 of 10 cycled answers are "cat"
  assert.equal(a0.answers.length, 10);
  assert.deepEqual(a0.answers.map((x: { answer_id: number }) => x.answer_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(a0.answers.slice(0, 4).map((x: { answer: string }) => x.answer), ['cat', 'cat', 'kitten', 'cat']);
  const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'));
  assert.deepEqual(labels, { default: 'label', fields: { label: ['cat', 'dog'], colour: ['black', 'white', 'grey'] } });
  const meta = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8'));
  assert.deepEqual(meta.counts, { images: 4, captions: 4, questions: 3, splits: { test: 1, train: 2, val: 1 } });
  assert.deepEqual(meta.size, { width: 3, height: 2, channels: 1 });
});

test('the files round-trip: the standard parsers and openDataset give back what was written', async () => {
  const dir = join(tmp(), 'd');
  const c = content(5);
  await writeDataset(dir, c);
  const coco = parseCocoCaptions(JSON.parse(readFileSync(join(dir, 'captions.json'), 'utf8')), 'captions.json');
  assert.deepEqual(coco.annotations.map((x) => [x.image_id, x.caption]), c.captions.map((x) => [x.imageId, x.caption]));
  const ann = parseVqaAnnotations(JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8')), 'annotations.json');
  assert.equal(ann.annotations.length, 3);
  const ds = await openDataset(dir);
  assert.equal(ds.length, 5);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  for (const im of c.images) {
    const got = ds.byId(im.id);
    assert.deepEqual([...got.pixels], [...im.pixels]);
    assert.equal(got.split, im.split);
    assert.equal(got.label, im.label);
    assert.equal(got.labelName, ['cat', 'dog'][im.label]);
    assert.deepEqual(got.labels, { colour: im.labels!.colour });
    assert.deepEqual(ds.captions(im.id), [c.captions.find((x) => x.imageId === im.id)!.caption]);
  }
  assert.deepEqual(ds.questions(100)[0]!.answers.slice(0, 3), ['cat', 'cat', 'kitten']);
  assert.equal(ds.questions(100)[0]!.answer, 'cat');
  assert.deepEqual(ds.questions(104), []);
  assert.deepEqual(ds.indices('val'), [1, 4]);
  assert.deepEqual([...ds.images('test')].map((x) => x.id), [102]);
});

test('images.arrow has the documented schema and survives several record batches', async () => {
  const dir = join(tmp(), 'd');
  const n = 9000; // > 2 batches of 4096
  await writeDataset(dir, content(n));
  const t = tableFromIPC(readFileSync(join(dir, 'images.arrow')));
  assert.equal(t.numRows, n);
  assert.ok(t.batches.length >= 3);
  const type = (name: string) => t.schema.fields.find((f) => f.name === name)!.type;
  assert.ok(DataType.isInt(type('image_id')) && type('image_id').bitWidth === 32);
  assert.ok(DataType.isDictionary(type('split')));
  assert.ok(DataType.isFixedSizeList(type('pixels')) && type('pixels').listSize === 6);
  assert.ok(DataType.isInt(type('colour')));
  // every split value is non-null and correct across batch boundaries (one shared dictionary)
  const split = t.getChild('split')!;
  for (const i of [0, 4095, 4096, 4097, 8191, 8192, 8999]) assert.equal(split.get(i), ['train', 'val', 'test'][i % 3]);
  assert.equal(JSON.parse(t.schema.metadata.get('narrowgate.dataset')!).counts.images, n);
  const ds = await openDataset(dir);
  for (const i of [0, 4095, 4096, 8999]) assert.deepEqual([...ds.get(i).pixels], Array.from({ length: 6 }, (_, k) => (i * 7 + k) % 256));
});

async function rejects(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(openDataset(dir), (e: unknown) => {
    assert.ok(e instanceof UserError, `UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('openDataset names the missing or malformed file and what it expects', async () => {
  const root = tmp();
  await rejects(join(root, 'nope'), /does not exist.*expected a directory/);
  const dir = join(root, 'd');
  await writeDataset(dir, content(3));
  writeFileSync(join(dir, 'captions.json'), '{"images": [');
  await rejects(dir, /captions\.json is not valid JSON/);
  await writeDataset(dir, content(3));
  writeFileSync(join(dir, 'questions.json'), '{"data": []}');
  await rejects(dir, /questions\.json is not in the expected format: expected a "questions" array/);
  await writeDataset(dir, content(3));
  writeFileSync(join(dir, 'images.arrow'), 'not arrow at all');
  await rejects(dir, /images\.arrow is not a readable Arrow IPC file/);
  await writeDataset(dir, content(3));
  writeFileSync(join(dir, 'dataset.json'), '{"format": "something-else"}');
  await rejects(dir, /not a narrowgate dataset description/);
  await writeDataset(dir, content(3));
  rmSync(join(dir, 'labels.json'));
  await rejects(dir, /has no labels\.json/);
  await writeDataset(dir, content(0));
  await rejects(dir, /is empty/);
});

test('writeDataset refuses inconsistent content before touching the disk', async () => {
  const c = content(2);
  c.images[1]!.pixels = new Uint8Array(5);
  await assert.rejects(writeDataset(join(tmp(), 'd'), c), /5 bytes, expected 6/);
  const d = content(2);
  d.captions.push({ imageId: 999, caption: 'x' });
  await assert.rejects(writeDataset(join(tmp(), 'd'), d), /unknown image 999/);
});
