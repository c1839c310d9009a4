/**
 * Crash safety: `narrowgate train` and `narrowgate extract` killed with SIGKILL at seeded random
 * moments. After every kill no file at a final name is incomplete (safetensors, JSON, JSONL, YAML and
 * Arrow files all parse; latest.json points at a complete checkpoint), at most one checkpoint interval
 * is lost, `train --resume` continues, and the final weights and logged losses equal an uninterrupted
 * run's, byte for byte, on the same (cpu) backend. A killed extraction leaves either nothing or the
 * complete store at the output name, and a rerun writes the same rows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import YAML from 'yaml';
import { readSafetensors } from '../../src/model/safetensors.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openStore } from '../../src/store/index.js';
import { Rng } from '../../src/util/rng.js';
import { cliAsync, startCli } from '../helpers/cli.js';
import { evalFixture, type EvalFixture } from '../helpers/eval-tiny.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => w?.cleanup());

const STEPS = 48;
const EVERY = 4;

function trainArgs(out: string): string[] {
  const sets = [...tinySets(w, STEPS), `train.ckpt_every=${EVERY}`, `train.val_every=${STEPS / 2}`, 'train.keep_checkpoints=2', 'train.batch_size=2'];
  return ['train', 'recipes/native-shapes.yaml', '--out', out, '--resume', '--quiet', ...sets.flatMap((s) => ['--set', s])];
}

const isTemp = (rel: string) => rel.split('/').some((p) => p.startsWith('.tmp-'));

/** Every file at a final name under `dir` is complete; returns the relative paths checked. */
async function assertComplete(dir: string): Promise<string[]> {
  const seen: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of readdirSync(d)) {
      const r = rel ? `${rel}/${name}` : name;
      if (isTemp(r)) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        await walk(p, r);
        continue;
      }
      seen.push(r);
      const text = () => readFileSync(p, 'utf8');
      if (name.endsWith('.safetensors')) await readSafetensors(p);
      else if (name.endsWith('.jsonl')) text().split('\n').filter((l) => l !== '').forEach((l, i) => assert.doesNotThrow(() => JSON.parse(l), `${r} line ${i + 1}`));
      else if (name.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(text()), r);
      else if (name.endsWith('.yaml')) assert.doesNotThrow(() => YAML.parse(text()), r);
      else if (name.endsWith('.arrow')) await openStore(p);
    }
  };
  await walk(dir, '');
  return seen;
}

function trainLosses(out: string): { step: number; loss: number }[] {
  const p = join(out, 'metrics.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { step: number; split: string; loss: number })
    .filter((m) => m.split === 'train').map((m) => ({ step: m.step, loss: m.loss }));
}

function latestStep(out: string): number {
  const p = join(out, 'latest.json');
  if (!existsSync(p)) return 0;
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { step: number }).step;
  } catch {
    return 0; // mid-rename reads are not possible (rename is atomic), but be lenient while polling
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout?.resume();
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stderr })));
}

/** Any temporary (not yet renamed) file or directory under the run directory or its checkpoints/. */
function tempsUnder(out: string): string[] {
  return [out, join(out, 'checkpoints')].filter((d) => existsSync(d)).flatMap((d) => {
    try {
      return readdirSync(d).filter((n) => n.startsWith('.tmp-'));
    } catch {
      return [];
    }
  });
}

test('train: SIGKILL at random moments and mid-checkpoint, resume, same final weights and losses as an uninterrupted run', async (t) => {
  const ref = join(w.root, 'crash-ref');
  const r0 = await cliAsync(trainArgs(ref));
  assert.equal(r0.code, 0, r0.stderr);
  const refLosses = trainLosses(ref);
  assert.equal(refLosses.length, STEPS);
  // the wall time of one checkpoint interval, from the reference run's own clock
  const elapsed = readFileSync(join(ref, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { split: string; elapsed_s?: number })
    .filter((m) => m.split === 'train').map((m) => m.elapsed_s ?? 0);
  const intervalMs = ((elapsed.at(-1)! - elapsed[0]!) / (STEPS - 1)) * EVERY * 1000;

  const out = join(w.root, 'crash-run');
  const rng = new Rng(20261121);
  let kills = 0, midWrite = 0, tempsBefore = 0;
  for (let round = 0; round < 8 && kills < 4; round++) {
    // even rounds: a random moment within a checkpoint interval; odd rounds: while a checkpoint is being written
    const mode = round % 2 === 0 ? 'random' : 'mid-write';
    const before = latestStep(out);
    const target = Math.min(STEPS - 3 * EVERY, before + EVERY * (1 + rng.int(2)));
    const child = startCli(trainArgs(out));
    const done = exited(child);
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished && latestStep(out) < target) await sleep(5);
    if (mode === 'random') await sleep(rng.int(Math.max(1, Math.round(intervalMs))));
    else {
      const stale = new Set(tempsUnder(out)); // leftovers of earlier kills
      while (!finished && tempsUnder(out).every((n) => stale.has(n))) await new Promise((r) => setImmediate(r));
    }
    if (!finished) child.kill('SIGKILL');
    const end = await done;
    if (end.signal !== 'SIGKILL') {
      assert.equal(end.code, 0, end.stderr);
      break;
    }
    kills++;
    const files = await assertComplete(out);
    const temps = tempsUnder(out);
    if (mode === 'mid-write' && temps.length > tempsBefore) midWrite++;
    tempsBefore = temps.length;
    t.diagnostic(`kill ${kills} (${mode}): after checkpoint ${target}, latest.json at ${latestStep(out)}, temporary leftovers: ${temps.join(', ') || 'none'}`);
    assert.ok(files.includes('latest.json'), 'latest.json is written after the first checkpoint');
    const at = latestStep(out);
    assert.ok(at >= target, `latest.json at step ${at}, killed after step ${target}`);
    const ck = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as { dir: string };
    await loadCheckpoint(join(out, ck.dir));
    assert.ok(existsSync(join(out, ck.dir, 'trainer_state.json')) && existsSync(join(out, ck.dir, 'optimizer.safetensors')));
    // at most one checkpoint interval of logged progress is lost
    const logged = Math.max(0, ...trainLosses(out).map((l) => l.step));
    assert.ok(logged - at <= EVERY, `logged step ${logged}, checkpoint ${at}: more than one interval (${EVERY}) lost`);
    assert.equal(existsSync(join(out, 'final')), false);
  }
  assert.ok(kills >= 3, `only ${kills} kills landed`);
  assert.ok(midWrite >= 1, 'no kill landed while a checkpoint was being written');
  const last = await cliAsync(trainArgs(out));
  assert.equal(last.code, 0, last.stderr);
  await assertComplete(out);
  assert.deepEqual(tempsUnder(out), [], 'the resumed run removes what the killed ones left half-written');
  assert.deepEqual(trainLosses(out), refLosses, 'the resumed run logs the same losses');
  for (const f of ['final/model.safetensors', `checkpoints/step-${String(STEPS).padStart(8, '0')}/optimizer.safetensors`]) {
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(ref, f))), `${f} differs from the uninterrupted run`);
  }
});

test('extract: SIGKILL mid-run leaves nothing or a complete store at the output name; a rerun writes the same rows', async (t) => {
  const f: EvalFixture = await evalFixture(4);
  try {
    const data = join(f.root, 'big');
    await buildShapesDataset(data, { n: 160, seed: 4, size: 16, supersample: 1, maxObjects: 3 });
    const args = (out: string, extra: string[] = []) =>
      ['extract', '--checkpoint', f.native, '--data', data, '--positions', '@all', '--hooks', 'resid_pre,resid_post,attn_out,mlp_out', '--batch-size', '4', '--out', out, '--quiet', ...extra];
    const ref = await cliAsync(args(join(f.root, 'ref.arrow')));
    assert.equal(ref.code, 0, ref.stderr);
    const want = await openStore(join(f.root, 'ref.arrow'));
    const rng = new Rng(7);
    mkdirSync(join(f.root, 'kills'));
    let killedMid = 0;
    for (let i = 0; i < 3; i++) {
      const sharded = i % 2 === 1;
      const dir = join(f.root, 'kills', `round-${i}`);
      mkdirSync(dir);
      const out = join(dir, sharded ? 'store' : 'store.arrow');
      const child = startCli(args(out, sharded ? ['--shard-rows', '500'] : []));
      const done = exited(child);
      let finished = false;
      void done.then(() => (finished = true));
      // wait for the temporary output to appear, then kill at a random moment early in the writing
      // (40 batches follow: far longer than 20 ms on any machine)
      while (!finished && !readdirSync(dir).some((n) => n.startsWith('.tmp-'))) await sleep(1);
      await sleep(rng.int(20));
      child.kill('SIGKILL');
      const end = await done;
      if (end.signal === 'SIGKILL' && !existsSync(out) && readdirSync(dir).some((n) => n.startsWith('.tmp-'))) killedMid++;
      t.diagnostic(`extract kill ${i}: ${end.signal ?? `exit ${end.code}`}, output ${existsSync(out) ? 'complete' : 'absent'}, in ${dir}: ${readdirSync(dir).join(', ')}`);
      if (existsSync(out)) {
        const s = await openStore(out);
        assert.equal(s.numRows, want.numRows, `${out} exists but is incomplete`);
      }
      await assertComplete(join(f.root, 'kills'));
      // the rerun after the kill completes and holds the same rows
      const again = await cliAsync(args(out, sharded ? ['--shard-rows', '500'] : []));
      assert.equal(again.code, 0, again.stderr);
      const s = await openStore(out);
      assert.equal(s.numRows, want.numRows);
      assert.deepEqual(readdirSync(dir), [basename(out)], 'the rerun removes what the killed extraction left half-written');
      const hook = want.hooks()[0]!;
      const a = await want.slice(hook, 0, 'image');
      const b = await s.slice(hook, 0, 'image');
      assert.deepEqual(Array.from(b.values), Array.from(a.values));
    }
    assert.ok(killedMid >= 2, `only ${killedMid} kills landed while the store was being written`);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});
