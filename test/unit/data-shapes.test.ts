import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { COLOR_HEX, COLORS, POSITIONS, SHAPES, SIZES, sampleScene, sceneProblem, type Scene } from '../../src/data/shapes-scene.js';
import { CAPTION_FAMILIES, SHAPES_VOCAB, captionOf, parseCaption, questionsOf } from '../../src/data/shapes-text.js';
import { buildShapesDataset, generateShapes } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';
import { boxDownsampleRect } from '../../src/data/images.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-shapes-'));

function hexRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// object centres as fractions of the side, written out independently of the generator's table
const CENTRE_FRAC: Record<string, [number, number]> = {
  center: [0.5, 0.5], 'top left': [0.22, 0.22], 'top right': [0.78, 0.22], 'bottom left': [0.22, 0.78], 'bottom right': [0.78, 0.78],
};

test('sampled scenes obey the rules and cover the whole vocabulary', () => {
  const rng = new Rng(5);
  const seen = { shape: new Set<string>(), color: new Set<string>(), size: new Set<string>(), position: new Set<string>(), count: new Set<number>() };
  for (let i = 0; i < 3000; i++) {
    const s = sampleScene(rng, 1 + (i % 3));
    assert.equal(sceneProblem(s), null);
    assert.equal(s.objects.length, 1 + (i % 3));
    seen.count.add(s.objects.length);
    for (const o of s.objects) {
      seen.shape.add(o.shape); seen.color.add(o.color); seen.size.add(o.size); seen.position.add(o.position);
    }
    // canonical order: large before small
    const sizes = s.objects.map((o) => o.size);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => (a === b ? 0 : a === 'large' ? -1 : 1)));
  }
  assert.equal(seen.shape.size, 6);
  assert.equal(seen.color.size, 8);
  assert.equal(seen.size.size, 2);
  assert.equal(seen.position.size, 5);
  assert.equal(SHAPES.length * COLORS.length * SIZES.length * POSITIONS.length, 480);
});

test('sceneProblem rejects shared positions, duplicate (color, shape) and overlapping large objects', () => {
  const o = (shape: string, color: string, size: string, position: string) => ({ shape, color, size, position }) as Scene['objects'][number];
  assert.match(String(sceneProblem({ background: 'black', objects: [o('circle', 'red', 'large', 'center'), o('square', 'red', 'small', 'center')] })), /position/);
  assert.match(String(sceneProblem({ background: 'black', objects: [o('circle', 'red', 'large', 'center'), o('circle', 'red', 'small', 'top left')] })), /colour and shape/);
  assert.match(String(sceneProblem({ background: 'black', objects: [o('circle', 'red', 'large', 'center'), o('square', 'blue', 'large', 'top left')] })), /overlaps/);
  assert.match(String(sceneProblem({ background: 'black', objects: [] })), /1-3/);
});

test('every caption family parses back into the scene slots it carries', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 300; i++) {
    const s = sampleScene(rng, 1 + (i % 3));
    for (const fam of CAPTION_FAMILIES) {
      const p = parseCaption(captionOf(s, fam));
      assert.equal(p.objects.length, s.objects.length, fam);
      s.objects.forEach((obj, k) => {
        const got = p.objects[k]!;
        assert.equal(got.shape, obj.shape);
        assert.equal(got.color, obj.color);
        if (fam !== 'picture') assert.equal(got.size, obj.size);
        if (fam === 'full' || fam === 'counted' || fam === 'position') assert.equal(got.position, obj.position);
        else assert.equal(got.position, undefined);
      });
      if (fam === 'counted') assert.equal(p.count, s.objects.length);
    }
  }
});

test('a hand-written caption parses as expected', () => {
  const p = parseCaption('an image with two shapes a large orange star in the top right and a small white cross in the center');
  assert.deepEqual(p, {
    count: 2,
    objects: [
      { size: 'large', color: 'orange', shape: 'star', position: 'top right' },
      { size: 'small', color: 'white', shape: 'cross', position: 'center' },
    ],
  });
});

test('question answers agree with the scene', () => {
  const rng = new Rng(3);
  let yes = 0, no = 0;
  for (let i = 0; i < 500; i++) {
    const s = sampleScene(rng, 1 + (i % 3));
    for (const q of questionsOf(s, rng)) {
      switch (q.attribute) {
        case 'count':
          assert.equal(q.answer, String(s.objects.length));
          assert.equal(q.answerType, 'number');
          break;
        case 'color': {
          const m = /^what color is the (\w+) in the (.+)\?$/.exec(q.question)!;
          const obj = s.objects.find((o) => o.position === m[2])!;
          assert.equal(obj.shape, m[1]);
          assert.equal(q.answer, obj.color);
          break;
        }
        case 'shape': {
          const m = /^what shape is in the (.+)\?$/.exec(q.question)!;
          assert.equal(q.answer, s.objects.find((o) => o.position === m[1])!.shape);
          break;
        }
        case 'size':
        case 'position': {
          const m = /^(?:what size is|where is) the (\w+) (\w+)\?$/.exec(q.question)!;
          const obj = s.objects.find((o) => o.color === m[1] && o.shape === m[2])!;
          assert.equal(q.answer, q.attribute === 'size' ? obj.size : obj.position);
          break;
        }
        case 'exists': {
          const m = /^is there an? (\w+) (\w+)\?$/.exec(q.question)!;
          const present = s.objects.some((o) => o.color === m[1] && o.shape === m[2]);
          assert.equal(q.answer, present ? 'yes' : 'no');
          assert.equal(q.answerType, 'yes/no');
          if (present) yes++; else no++;
          break;
        }
      }
    }
  }
  assert.ok(yes > 150 && no > 150, `existence answers balanced: ${yes} yes, ${no} no`);
});

test('captions and questions use only the documented vocabulary', async () => {
  const ds = await generateShapes({ n: 60, seed: 2 });
  const vocab = new Set(SHAPES_VOCAB);
  const words = [...ds.captions.map((c) => c.caption), ...ds.questions.map((q) => q.question.replace(/\?$/, '')), ...ds.questions.flatMap((q) => q.answers)]
    .flatMap((t) => t.split(' '));
  for (const w of words) assert.ok(vocab.has(w), `"${w}" is in SHAPES_VOCAB`);
});

/** The palette colour (or black) nearest to an RGB pixel. */
function nearestColour(rgb: number[]): string {
  let best = 'black', bestD = rgb.reduce((s, v) => s + v * v, 0);
  for (const c of COLORS) {
    const d = hexRgb(COLOR_HEX[c]).reduce((s, v, i) => s + (v - rgb[i]!) ** 2, 0);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

test('rendered pixels show each object in its colour at its position, background black elsewhere', async () => {
  for (const size of [32, 64]) {
    const ds = await generateShapes({ n: 40, seed: 9, size });
    for (const im of ds.images) {
      const scene = im.scene as Scene;
      const px = (fx: number, fy: number) => {
        const x = Math.floor(fx * size), y = Math.floor(fy * size);
        return [...im.pixels.subarray((y * size + x) * 3, (y * size + x) * 3 + 3)];
      };
      const used = new Set<string>(scene.objects.map((o) => o.position));
      for (const o of scene.objects) {
        const [fx, fy] = CENTRE_FRAC[o.position]!;
        const got = px(fx, fy);
        assert.equal(nearestColour(got), o.color, `${o.color} ${o.shape} at ${o.position}, ${size}px: ${got}`);
        if (o.size === 'large' && o.shape !== 'star') assert.deepEqual(got, hexRgb(COLOR_HEX[o.color]));
      }
      for (const p of POSITIONS.filter((p) => !used.has(p))) {
        const [fx, fy] = CENTRE_FRAC[p]!;
        assert.deepEqual(px(fx, fy), [0, 0, 0], `empty ${p}`);
      }
      assert.deepEqual(px(0, 0), [0, 0, 0]);
    }
  }
});

test('labels name the main (first) object; --single gives one object per image', async () => {
  const ds = await generateShapes({ n: 50, seed: 4, single: true });
  for (const im of ds.images) {
    const s = im.scene as Scene;
    assert.equal(s.objects.length, 1);
    const main = s.objects[0]!;
    assert.equal(ds.labelFields.label![im.label], `${main.color} ${main.shape}`);
    assert.equal(ds.labelFields.shape![im.labels!.shape!], main.shape);
    assert.equal(ds.labelFields.color![im.labels!.color!], main.color);
    assert.equal(im.labels!.count, 0);
  }
  assert.equal(ds.name, 'shapes-single');
});

test('splits are seeded with exact fractions', async () => {
  const ds = await generateShapes({ n: 200, seed: 1, valFraction: 0.1, testFraction: 0.25 });
  const count = (s: string) => ds.images.filter((im) => im.split === s).length;
  assert.deepEqual([count('train'), count('val'), count('test')], [130, 20, 50]);
});

test('same seed -> byte-identical dataset directory; another seed differs', async () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  await buildShapesDataset(join(a, 'd'), { n: 30, seed: 7 });
  await buildShapesDataset(join(b, 'd'), { n: 30, seed: 7 });
  await buildShapesDataset(join(c, 'd'), { n: 30, seed: 8 });
  const files = readdirSync(join(a, 'd')).sort();
  assert.deepEqual(files, ['annotations.json', 'captions.json', 'dataset.json', 'images.arrow', 'labels.json', 'questions.json']);
  for (const f of files) assert.ok(readFileSync(join(a, 'd', f)).equals(readFileSync(join(b, 'd', f))), `${f} identical`);
  for (const f of ['images.arrow', 'captions.json', 'questions.json']) assert.ok(!readFileSync(join(a, 'd', f)).equals(readFileSync(join(c, 'd', f))), `${f} differs`);
});

test('the written dataset reads back with the same scenes, captions and answers', async () => {
  const dir = join(tmp(), 'd');
  const content = await generateShapes({ n: 25, seed: 3 });
  await buildShapesDataset(dir, { n: 25, seed: 3 });
  const ds = await openDataset(dir);
  assert.equal(ds.length, 25);
  content.images.forEach((im, i) => {
    const got = ds.get(i);
    assert.deepEqual(got.scene, im.scene);
    assert.ok(Buffer.from(got.pixels).equals(Buffer.from(im.pixels)));
    assert.equal(ds.captions(im.id).length, 5);
    for (const q of ds.questions(im.id)) {
      assert.equal(q.answers.length, 10);
      if (q.attribute === 'count') assert.equal(q.answer, String((im.scene as Scene).objects.length));
    }
  });
});

test('boxDownsampleRect averages f x f blocks per channel, rounding half up', () => {
  // 4x2 image, 2 channels; 2x2 blocks -> 2x1
  const src = Uint8Array.from([
    0, 10, 2, 10, 100, 0, 101, 0,
    1, 10, 2, 11, 100, 0, 100, 255,
  ]);
  assert.deepEqual([...boxDownsampleRect(src, 4, 2, 2, 2)], [Math.floor(5 / 4 + 0.5), Math.floor(41 / 4 + 0.5), Math.floor(401 / 4 + 0.5), Math.floor(255 / 4 + 0.5)]);
});
