import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/util/errors.js';
import { parseIdx, readIdx } from '../../src/data/idx.js';
import { buildFashionMnistDataset, fashionMnistContent, readFashionMnist } from '../../src/data/fashion-mnist.js';
import { cleanGloss, nounSenses } from '../../src/data/wordnet.js';
import { openDataset } from '../../src/data/open.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-fmnist-'));

/** An IDX file written byte by byte: 0 0 0x08 ndims, big-endian uint32 dims, data. */
function idxBytes(dims: number[], data: number[]): Buffer {
  const head = [0, 0, 0x08, dims.length];
  for (const d of dims) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Buffer.from([...head, ...data]);
}

const SIDE = 28;
// 12 images; image i has every pixel = 20 * i (so the reader's row order is visible); labels cycle 0..9
const N = 12;
const LABELS = Array.from({ length: N }, (_, i) => (i * 3) % 10);
function fixtureDir(opts: { labels?: number[]; nLabels?: number } = {}): string {
  const dir = tmp();
  const img = Array.from({ length: N * SIDE * SIDE }, (_, k) => (20 * Math.floor(k / (SIDE * SIDE))) % 256);
  const labels = opts.labels ?? LABELS;
  for (const split of ['train', 't10k']) {
    writeFileSync(join(dir, `${split}-images-idx3-ubyte.gz`), gzipSync(idxBytes([N, SIDE, SIDE], img)));
    writeFileSync(join(dir, `${split}-labels-idx1-ubyte.gz`), gzipSync(idxBytes([opts.nLabels ?? N], labels.slice(0, opts.nLabels ?? N))));
  }
  return dir;
}

function userError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, pattern);
    return true;
  };
}

test('parseIdx reads dims and data of a hand-made file', () => {
  const a = parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6]), 'x.idx');
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
  const big = parseIdx(idxBytes([300], Array.from({ length: 300 }, (_, i) => i % 256)), 'y.idx');
  assert.deepEqual(big.dims, [300]); // a dimension above 255 needs the full big-endian uint32
});

test('IDX errors: bad magic, wrong type, truncated data, trailing bytes, damaged gzip', async () => {
  assert.throws(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 5]), 'a.idx'), userError(/a\.idx does not start with an IDX magic number/));
  assert.throws(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 5]), 'b.idx'), userError(/element type 0xd; expected 0x08/));
  assert.throws(() => parseIdx(idxBytes([2, 3], [1, 2, 3]), 'c.idx'), userError(/c\.idx is truncated: dimensions 2x3 need 6 data bytes, found 3/));
  assert.throws(() => parseIdx(idxBytes([1], [1, 2]), 'd.idx'), userError(/has trailing bytes/));
  assert.throws(() => parseIdx(Buffer.from([0, 0, 8, 2, 0, 0]), 'e.idx'), userError(/truncated inside its header/));
  const dir = tmp();
  const gz = gzipSync(idxBytes([4, SIDE, SIDE], new Array(4 * SIDE * SIDE).fill(7)));
  writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 20));
  await assert.rejects(readIdx(join(dir, 'cut.gz')), userError(/cut\.gz is a damaged or truncated gzip file/));
  writeFileSync(join(dir, 'plain.idx'), idxBytes([2], [9, 8]));
  assert.deepEqual([...(await readIdx(join(dir, 'plain.idx'))).data], [9, 8]);
});

test('readFashionMnist reads images in order with their labels, and checks the pair', async () => {
  const s = await readFashionMnist(fixtureDir(), 'test');
  assert.equal(s.count, N);
  assert.equal(s.side, SIDE);
  for (let i = 0; i < N; i++) assert.equal(s.images[i * SIDE * SIDE + 100], (20 * i) % 256);
  assert.deepEqual([...s.labels], LABELS);
  await assert.rejects(readFashionMnist(fixtureDir({ nLabels: 10 }), 'train'), userError(/holds 12 images but .* holds 10 labels/));
  await assert.rejects(readFashionMnist(fixtureDir({ labels: [...LABELS.slice(0, 11), 12] }), 'train'), userError(/label 12 at position 11 is out of range/));
});

test('missing files: one sentence saying how to install them', async () => {
  await assert.rejects(readFashionMnist(join(tmp(), 'none'), 'train'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^Fashion-MNIST train files are missing from .*train-images-idx3-ubyte\.gz.*apt-get install dataset-fashion-mnist.*--dir\.$/);
    assert.equal(e.message.split('. ').length, 1);
    return true;
  });
});

test('captions and questions agree with the real labels', async () => {
  const c = await fashionMnistContent({ dir: fixtureDir(), split: 'test', wordnet: false });
  const names = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];
  const footwear = new Set(['sandal', 'sneaker', 'ankle boot']);
  assert.equal(c.images.length, N);
  for (const im of c.images) {
    const name = names[im.label]!;
    assert.equal(im.label, LABELS[im.id]);
    const caps = c.captions.filter((x) => x.imageId === im.id).map((x) => x.caption);
    assert.equal(caps.length, 5);
    for (const cap of caps) assert.ok(cap.includes(name), `"${cap}" names ${name}`);
    assert.ok(caps.includes(`a photo of ${name === 'ankle boot' ? 'an' : 'a'} ${name}`));
    const qs = c.questions.filter((q) => q.imageId === im.id);
    const ans = (question: string) => qs.find((q) => q.question === question)?.answers[0];
    assert.equal(ans('what is this?'), name);
    assert.equal(ans('is this footwear?'), footwear.has(name) ? 'yes' : 'no');
    assert.equal(ans('what kind of item is this?'), footwear.has(name) ? 'footwear' : name === 'bag' ? 'accessory' : 'clothing');
    const verify = qs.find((q) => q.questionType === 'is this a')!;
    const asked = /^is this an? (.+)\?$/.exec(verify.question)![1];
    assert.equal(verify.answers[0], asked === name ? 'yes' : 'no');
  }
  assert.equal(c.options.wordnet, false);
});

test('--n, --size and --val; the written dataset opens with class names', async () => {
  const out = join(tmp(), 'fm');
  const meta = await buildFashionMnistDataset(out, { dir: fixtureDir(), split: 'train', n: 10, size: 32, valFraction: 0.2, seed: 1, wordnet: false });
  assert.deepEqual(meta.counts.splits, { train: 8, val: 2 });
  assert.deepEqual(meta.size, { width: 32, height: 32, channels: 1 });
  const ds = await openDataset(out);
  assert.equal(ds.classes[9], 'Ankle boot');
  assert.equal(ds.get(3).labelName, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'][LABELS[3]!]);
  // a constant image stays constant when resized
  assert.ok(ds.get(3).pixels.every((v) => v === 60));
  await assert.rejects(fashionMnistContent({ dir: fixtureDir(), n: 13 }), userError(/--n 13 is invalid; expected 1 to 12/));
});

/** A two-entry WordNet in the real file layout: the synset offset is the byte offset in data.noun. */
function wordnetFixture(): string {
  const dir = tmp();
  const header = '  1 This software and database is being provided\n';
  const rec1 = (off: string) => `${off} 06 n 01 sandal 0 001 @ 04199027 n 0000 | a shoe consisting of a sole fastened by straps to the foot  \n`;
  const rec2 = (off: string) => `${off} 06 n 01 bag 0 000 | a flexible container with a single opening; "he stuffed his laundry into a large bag"  \n`;
  const off1 = String(header.length).padStart(8, '0');
  const off2 = String(header.length + rec1(off1).length).padStart(8, '0');
  writeFileSync(join(dir, 'data.noun'), header + rec1(off1) + rec2(off2));
  writeFileSync(join(dir, 'index.noun'), `${header}bag n 1 0 1 1 ${off2}  \nsandal n 1 1 @ 1 1 ${off1}  \n`);
  return dir;
}

test('WordNet glosses: looked up by lemma and byte offset, cleaned, recorded in dataset.json', async () => {
  const wn = wordnetFixture();
  const [sandal, bag, none] = await nounSenses(['sandal', 'bag', 'trouser'], wn);
  assert.equal(sandal!.gloss, 'a shoe consisting of a sole fastened by straps to the foot');
  assert.equal(bag!.gloss, 'a flexible container with a single opening');
  assert.match(bag!.wnid, /^n\d{8}$/);
  assert.equal(none, null);
  assert.equal(cleanGloss('(usually in the plural) a garment extending from the waist, covering each leg; "x"'), 'a garment extending from the waist covering each leg');
  assert.deepEqual(await nounSenses(['bag'], join(tmp(), 'absent')), [null]);

  const out = join(tmp(), 'fm');
  await buildFashionMnistDataset(out, { dir: fixtureDir(), wordnetDir: wn });
  const meta = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  assert.equal(meta.options.wordnet, true);
  const ds = await openDataset(out);
  const sandalImage = [...ds.images()].find((im) => im.label === 5)!;
  assert.ok(ds.captions(sandalImage.id).includes('a sandal which is a shoe consisting of a sole fastened by straps to the foot'));
  const bootImage = [...ds.images()].find((im) => im.label === 9)!;
  assert.ok(ds.captions(bootImage.id).includes('a small picture of an ankle boot')); // no "boot" in the fixture
});
