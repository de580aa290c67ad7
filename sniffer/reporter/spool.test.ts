import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpool, writeFileAtomic } from './spool.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'intentmap-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openSpool', () => {
  it('starts an empty directory at initialSequence and persists the counter', async () => {
    const spool = await openSpool({ dir, maxBytes: 1000, initialSequence: 42 });
    expect(await spool.nextSequence()).toBe(42);
    expect(await spool.nextSequence()).toBe(43);
    expect((await readFile(join(dir, 'sequence'), 'utf8')).trim()).toBe('44');
    const again = await openSpool({ dir, maxBytes: 1000, initialSequence: 999_999 });
    expect(await again.nextSequence()).toBe(44);
  });

  it('continues after the newest spooled batch even if the counter file is behind', async () => {
    const spool = await openSpool({ dir, maxBytes: 10_000, initialSequence: 1 });
    await spool.write(7, '{"a":1}');
    await writeFile(join(dir, 'sequence'), '3\n');
    const reopened = await openSpool({ dir, maxBytes: 10_000, initialSequence: 1 });
    expect(reopened.list().map((e) => e.sequence)).toEqual([7]);
    expect(await reopened.nextSequence()).toBe(8);
  });

  it('lists batches in sequence order, with their bytes, and removes temp files of a crashed write', async () => {
    const spool = await openSpool({ dir, maxBytes: 10_000, initialSequence: 1 });
    await spool.write(10, 'x'.repeat(10));
    await spool.write(2, 'y'.repeat(5));
    await writeFile(join(dir, '0000000000000011.json.tmp-123'), 'partial');
    const reopened = await openSpool({ dir, maxBytes: 10_000, initialSequence: 1 });
    expect(reopened.list().map((e) => [e.sequence, e.bytes])).toEqual([
      [2, 5],
      [10, 10],
    ]);
    expect(reopened.bytes).toBe(15);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(await reopened.read(reopened.list()[0]!)).toBe('yyyyy');
  });

  it('drops the oldest batches past maxBytes but keeps the newest', async () => {
    const spool = await openSpool({ dir, maxBytes: 25, initialSequence: 1 });
    expect((await spool.write(1, 'a'.repeat(10))).dropped).toEqual([]);
    expect((await spool.write(2, 'b'.repeat(10))).dropped).toEqual([]);
    const r = await spool.write(3, 'c'.repeat(10));
    expect(r.dropped.map((e) => e.sequence)).toEqual([1]);
    expect(spool.list().map((e) => e.sequence)).toEqual([2, 3]);
    const huge = await spool.write(4, 'd'.repeat(100));
    expect(huge.dropped.map((e) => e.sequence)).toEqual([2, 3]);
    expect(spool.list().map((e) => e.sequence)).toEqual([4]);
  });

  it('moves a dead letter aside with its reason', async () => {
    const spool = await openSpool({ dir, maxBytes: 1000, initialSequence: 1 });
    await spool.write(5, '{}');
    await spool.deadLetter(spool.list()[0]!, 'HTTP 422: bad');
    expect(spool.list()).toEqual([]);
    expect((await readdir(join(dir, 'dead'))).sort()).toEqual([
      '0000000000000005.json',
      '0000000000000005.reason.txt',
    ]);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole', async () => {
    const p = join(dir, 'f');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two');
    expect(await readFile(p, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['f']);
  });
});
