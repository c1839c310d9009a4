/**
 * `narrowgate data ...` end to end: spawns the CLI (sources through tsx, or the build when the tests
 * run from dist/) and checks exit codes, --json output, files written and the error messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import yargs from 'yargs';
import { dataCommand } from '../../src/cli/commands/data.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = import.meta.url.includes('/dist/test/');
const ROOT = resolve(here, fromDist ? '../../..' : '../..');
const CLI = fromDist ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'narrowgate-data-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('data shapes --json writes the dataset and reports its counts; the same seed gives the same bytes', () => {
  const a = cli('data', 'shapes', '--out', join(tmp, 'a'), '--n', '20', '--seed', '5', '--json');
  assert.equal(a.code, 0, a.stderr);
  const out = JSON.parse(a.stdout);
  assert.equal(out.counts.images, 20);
  assert.equal(out.counts.captions, 100);
  assert.equal(out.counts.questions, 120);
  assert.deepEqual(out.size, { width: 32, height: 32, channels: 3 });
  const b = cli('data', 'shapes', '--out', join(tmp, 'b'), '--n', '20', '--seed', '5', '--quiet');
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^shapes: 20 images 32x32x3/);
  for (const f of ['images.arrow', 'captions.json', 'annotations.json']) assert.ok(readFileSync(join(tmp, 'a', f)).equals(readFileSync(join(tmp, 'b', f))), f);
});

test('data shapes --single --size 64 --objects and data info', () => {
  const r = cli('data', 'shapes', '--out', join(tmp, 's'), '--n', '6', '--single', '--size', '64', '--json', '--questions', 'color,count');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).options.max_objects, 1);
  const info = cli('data', 'info', join(tmp, 's'), '--json');
  assert.equal(info.code, 0, info.stderr);
  const meta = JSON.parse(info.stdout);
  assert.equal(meta.name, 'shapes-single');
  assert.equal(meta.counts.questions, 12);
  assert.equal(meta.classes.length, 48);
  const bad = cli('data', 'shapes', '--out', join(tmp, 'x'), '--objects', '0-5');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^narrowgate: --objects "0-5" is invalid; expected MIN-MAX/);
});

test('bad input exits 1 with one sentence, no stack trace', () => {
  const size = cli('data', 'shapes', '--out', join(tmp, 'x'), '--size', '7');
  assert.equal(size.code, 1);
  assert.match(size.stderr, /^narrowgate: --size 7 is out of range; expected an integer side length from 16 to 256/);
  assert.doesNotMatch(size.stderr, /\n\s+at /);
  const info = cli('data', 'info', join(tmp, 'missing'));
  assert.equal(info.code, 1);
  assert.match(info.stderr, /Dataset directory .*missing does not exist/);
  const fm = cli('data', 'fashion-mnist', '--out', join(tmp, 'fm'), '--dir', join(tmp, 'nothing-here'));
  assert.equal(fm.code, 1);
  assert.match(fm.stderr, /apt-get install dataset-fashion-mnist/);
  assert.ok(!existsSync(join(tmp, 'fm')), 'nothing written on failure');
  const unknown = cli('data', 'bogus');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^narrowgate: Unknown argument: bogus/);
});

test('every data subcommand has --help with an example (parsed in-process)', async () => {
  for (const sub of ['shapes', 'fashion-mnist', 'import-coco', 'import-vqa', 'import-folder', 'info', 'export', 'preview']) {
    const help = await new Promise<string>((res, rej) => {
      yargs()
        .scriptName('narrowgate')
        .command(dataCommand)
        .exitProcess(false)
        .parse(['data', sub, '--help'], (err: Error | undefined, _argv: unknown, output: string) => (err ? rej(err) : res(output)));
    });
    assert.match(help, /Examples:/, sub);
    assert.match(help, /--out|<dir>/, sub);
  }
});

test('fashion-mnist from a generated IDX fixture, and import-folder with --strict', () => {
  const fm = join(tmp, 'fm-files');
  mkdirSync(fm);
  const idx = (dims: number[], data: number[]) => {
    const head = [0, 0, 8, dims.length];
    for (const d of dims) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
    return gzipSync(Buffer.from([...head, ...data]));
  };
  writeFileSync(join(fm, 't10k-images-idx3-ubyte.gz'), idx([3, 28, 28], new Array(3 * 784).fill(9)));
  writeFileSync(join(fm, 't10k-labels-idx1-ubyte.gz'), idx([3], [5, 7, 9]));
  const r = cli('data', 'fashion-mnist', '--dir', fm, '--out', join(tmp, 'fmds'), '--no-wordnet', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.counts.images, 3);
  assert.equal(out.options.wordnet, false);
  const caps = JSON.parse(readFileSync(join(tmp, 'fmds', 'captions.json'), 'utf8')).annotations.map((a: { caption: string }) => a.caption);
  assert.ok(caps.includes('a photo of a sandal') && caps.includes('a photo of a sneaker') && caps.includes('a photo of an ankle boot'));

  const src = join(tmp, 'folder');
  mkdirSync(join(src, 'cls'), { recursive: true });
  writeFileSync(join(src, 'cls', 'zero.png'), '');
  const png = cli('data', 'export', join(tmp, 'a'), '--out', join(tmp, 'exported'), '--json');
  assert.equal(png.code, 0, png.stderr);
  assert.equal(JSON.parse(png.stdout).files, 20);
  writeFileSync(join(src, 'cls', 'ok.png'), readFileSync(join(tmp, 'exported', 'shapes-000000.png')));
  const skip = cli('data', 'import-folder', '--images', src, '--out', join(tmp, 'imp'));
  assert.equal(skip.code, 0, skip.stderr);
  assert.match(skip.stderr, /skipped .*zero\.png: empty file \(0 bytes\)/);
  assert.match(skip.stdout, /1 file\(s\) skipped/);
  const strict = cli('data', 'import-folder', '--images', src, '--out', join(tmp, 'imp2'), '--strict');
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /^narrowgate: Cannot import .*zero\.png: empty file \(0 bytes\)/);
});
