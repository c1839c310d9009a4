/**
 * The narrowgate binary as a user runs it, for the reliability tests: the compiled CLI when the tests
 * run from dist/, the TypeScript sources through tsx otherwise. Also the checks every bad-input case
 * shares (exit code, one sentence naming the input, no stack trace) and directory snapshots to prove
 * that nothing existing was touched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = import.meta.url.includes('/dist/test/');
export const REPO_ROOT = resolve(here, fromDist ? '../../..' : '../..');
const CLI = fromDist ? [join(REPO_ROOT, 'dist/src/cli/main.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')];

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const ENV = { ...process.env, NARROWGATE_BACKEND: 'cpu' };

/** Runs `narrowgate ...args` to completion (cpu backend, repository root as cwd). */
export function cli(args: readonly string[], timeoutMs = 180_000): CliRun {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: ENV, timeout: timeoutMs });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test process (several cases can run side by side). */
export function cliAsync(args: readonly string[], timeoutMs = 180_000): Promise<CliRun> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env: ENV, timeout: timeoutMs });
    let stdout = '', stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

/** Starts `narrowgate ...args` and hands over the process (to kill it). */
export function startCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The error policy for bad input: exit code 1, stderr is exactly one line "narrowgate: <one sentence>",
 * no stack trace, no "internal error", and the sentence names every string in `names`.
 */
export function assertUserError(r: CliRun, names: readonly (string | RegExp)[], what: string): string {
  const ctx = `${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`;
  assert.equal(r.code, 1, ctx);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `${ctx}: expected one line on stderr`);
  const line = lines[0]!;
  assert.match(line, /^narrowgate: \S/, ctx);
  assert.doesNotMatch(line, /internal error|\n\s+at |Error:|TypeError|undefined|\[object Object\]/, ctx);
  const msg = line.slice('narrowgate: '.length);
  assert.match(msg, /[.?!)]$/, `${ctx}: the sentence should end with a full stop`);
  // one sentence: no sentence end followed by a new capitalised sentence (abbreviations like "e.g." are lower case)
  assert.doesNotMatch(msg.replace(/"[^"]*"/g, '""'), /[.!?]\s+[A-Z]/, `${ctx}: expected one sentence`);
  for (const n of names) {
    if (typeof n === 'string') assert.ok(msg.includes(n), `${ctx}: the message should name ${n}`);
    else assert.match(msg, n, ctx);
  }
  return msg;
}

/** Every file under `dir` (recursively) with its sha256; hidden temp files included. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out.set(relative(dir, p) + '/', 'dir');
        walk(p);
      } else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Asserts that two snapshots are equal, naming the first difference. */
export function assertSameTree(before: Map<string, string>, after: Map<string, string>, what: string): void {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k));
  assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] }, `${what}: files changed`);
}
