/**
 * What a killed atomic write leaves behind (a temporary sibling) is removed by the next atomic write
 * to the same path, unless the process that wrote it still runs (a concurrent writer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic, writeFileAtomicSync } from '../../src/util/fs.js';

test('atomic writes remove stale temporary siblings of dead processes and keep those of live ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-temps-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    assert.ok(deadPid > 0 && deadPid !== process.pid);
    const names = {
      deadFile: `.tmp-a.json-${deadPid}-0123abcd`,
      liveFile: `.tmp-a.json-${process.pid}-89abcdef`,
      otherTarget: `.tmp-ab.json-${deadPid}-0123abcd`,
      deadDir: `.tmp-ck-${deadPid}-feedbeef`,
      deadSync: `.tmp-b.txt-${deadPid}-00000000`,
    };
    writeFileSync(join(dir, names.deadFile), 'half');
    writeFileSync(join(dir, names.liveFile), 'in progress');
    writeFileSync(join(dir, names.otherTarget), 'another file');
    mkdirSync(join(dir, names.deadDir));
    writeFileSync(join(dir, names.deadDir, 'model.safetensors'), 'half');
    writeFileSync(join(dir, names.deadSync), 'half');
    await writeFileAtomic(join(dir, 'a.json'), '{}');
    writeFileAtomicSync(join(dir, 'b.txt'), 'b');
    await writeDirAtomic(join(dir, 'ck'), async (tmp) => writeFileSync(join(tmp, 'x'), 'x'));
    assert.deepEqual(readdirSync(dir).sort(), ['a.json', 'b.txt', 'ck', names.liveFile, names.otherTarget].sort());
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{}');
    assert.deepEqual(readdirSync(join(dir, 'ck')), ['x']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
