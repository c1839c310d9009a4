import { randomBytes } from 'node:crypto';
import { promises as fsp, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/** A sibling temporary name for `path`: same directory (so rename is atomic), hidden, unique. */
export function tempSibling(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Removes the temporary siblings of `path` (tempSibling names) whose writing process no longer runs:
 * what a killed write left behind. Siblings of live processes (a concurrent writer) are kept. Every
 * atomic write to `path` calls it first, so a crash leaves litter only until the next write there.
 */
export function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  const prefix = `.tmp-${basename(path)}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length)) : null;
    if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes `data` to a temporary sibling, fsyncs it and renames it over `path`: readers never see half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  removeStaleTemps(path);
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, path);
}

/** Synchronous twin of writeFileAtomic, for small files written at exit or in sync code paths. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  removeStaleTemps(path);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Builds a directory under a temporary sibling name with `fill`, then swaps it into place: an existing
 * `dir` is replaced only once the new one is complete (the old one is removed after the rename).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  removeStaleTemps(dir);
  await fsp.mkdir(dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(dir)) {
    const old = tempSibling(dir);
    await fsp.rename(dir, old);
    await fsp.rename(tmp, dir);
    await fsp.rm(old, { recursive: true, force: true });
  } else {
    await fsp.rename(tmp, dir);
  }
}

export async function readJson<T = unknown>(path: string, what = 'JSON file'): Promise<T> {
  const { UserError } = await import('./errors.js');
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch {
    throw new UserError(`Cannot read ${what} ${path}: the file does not exist or is not readable.`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${what} ${path} is not valid JSON (${(e as Error).message}); expected a JSON document.`);
  }
}
