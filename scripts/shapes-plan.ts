/**
 * The time estimate that scripts/train-shapes.sh prints before it starts: for each recipe of the
 * shapes set, what is left (already shipped, steps done in its run directory) and about how long
 * the rest takes on this machine.
 *
 *   node --import tsx scripts/shapes-plan.ts --runs runs --into checkpoints [--set k=v ...] -- NAME...
 *
 * Seconds per step were measured on this 2-core machine with --workers 2 while other work shared it
 * (load average 7-8, 2026-11-21): native 1.4-2.2 s, ViT adapter 4.3-5.2 s, MobileNetV3 adapter
 * 5.8 s while its feature cache fills (see MOBILENET). The process CPU time of those runs (about
 * 2.9 CPU-s per native step, 3.4 per ViT-adapter step) puts an idle machine at about 0.6x of the
 * total (IDLE_FACTOR); a busier one is slower. The printed totals are a rough guide.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe, type Recipe } from '../src/training/index.js';

const SEC_PER_STEP = { native: 1.8, vit: 4.7 };
const MOBILENET = 3.0; // ~5.8 s/step while most images are new (features computed, 4 per s), ~1.5 s once the 16,000 are cached
const STARTUP_S = 40; // process start, data and image codes, validation batches
const IDLE_FACTOR = 0.6;
const SHIP_S = 45; // held-out evaluation of one model while shipping (measured 34 s for native-shapes size)

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] as string) : def;
}
const runs = arg('--runs', 'runs');
const into = arg('--into', 'checkpoints');
const sets: string[] = [];
process.argv.forEach((a, i) => a === '--set' && sets.push(process.argv[i + 1] as string));
const names = process.argv.slice(process.argv.indexOf('--') + 1);

function rate(r: Recipe): number {
  if (r.model.family === 'native') return SEC_PER_STEP.native;
  return r.vision.encoder === 'vit' ? SEC_PER_STEP.vit : MOBILENET;
}

const fmt = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
let total = 0;
const lines: string[] = [];
for (const name of names) {
  if (existsSync(join(into, name))) {
    lines.push(`  ${name.padEnd(28)} shipped (${join(into, name)} exists): skipped`);
    continue;
  }
  const r = loadRecipe(join('recipes', `${name}.yaml`), sets).recipe;
  const dir = join(runs, name);
  let est: number, what: string;
  if (r.task === 'image_tokenizer') {
    est = existsSync(join(dir, 'final')) ? SHIP_S : 60 + SHIP_S;
    what = `k-means tokenizer${existsSync(join(dir, 'final')) ? ' (trained; ship only)' : ''}`;
  } else {
    const latest = join(dir, 'latest.json');
    const done = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as { step: number }).step : 0;
    const left = Math.max(0, r.train.steps - done);
    est = (left > 0 ? STARTUP_S + left * rate(r) : 0) + SHIP_S;
    what = `${left} of ${r.train.steps} steps left at ~${rate(r)} s/step`;
  }
  total += est;
  lines.push(`  ${name.padEnd(28)} ${what}: ~${fmt(est)}`);
}
process.stdout.write(`Estimate (this 2-core machine, shared; see scripts/shapes-plan.ts for the measured rates):\n${lines.join('\n')}\n  total: ~${fmt(total)} at the measured (shared) rates; ~${fmt(total * IDLE_FACTOR)} on an idle machine\n`);
