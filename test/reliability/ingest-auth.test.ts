// The ingest API's refusals, once more against the real `intentmap mapper` process started with
// `--token-file` and `--node-tokens-file` (test/mapper-ingest.test.ts covers each refusal on the
// in-process app): the flags reach the API, and nothing refused is applied.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectStore,
  makeBatch,
  postReport,
  startMapperProcess,
  stopProcess,
  type MapperProcess,
} from '../../bench/load/harness.js';

const SHARED = 'shared-token-0123456789abcdef0123';
const NODE_A = 'node-a-token-0123456789abcdef0123';
let dir: string;
let m: MapperProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-auth-'));
  writeFileSync(join(dir, 'token'), `${SHARED}\n`);
  writeFileSync(join(dir, 'node-tokens'), `node-a ${NODE_A}\n`);
  mkdirSync(join(dir, 'snapshot'));
  writeFileSync(
    join(dir, 'snapshot', 'ns.yaml'),
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
  );
  m = await startMapperProcess({
    db: join(dir, 'auth.db'),
    tokenFile: join(dir, 'token'),
    snapshot: join(dir, 'snapshot'),
    extra: ['--node-tokens-file', join(dir, 'node-tokens')],
  });
});

afterAll(async () => {
  await stopProcess(m);
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest refusals through the real process', () => {
  it('refuses missing and wrong tokens, a node token reporting as another node, oversized, nested and mistyped bodies; applies only the valid ones', async () => {
    const now = Date.now();
    const b = (reporter: string, seq: number): ReturnType<typeof makeBatch> =>
      makeBatch(reporter, seq, 5, now);
    expect((await postReport(m.url, null, b('node-a', 1).batch)).json).toMatchObject({
      code: 'missing-token',
    });
    expect((await postReport(m.url, 'x'.repeat(32), b('node-a', 1).batch)).status).toBe(401);
    const stolen = await postReport(m.url, NODE_A, b('node-b', 1).batch);
    expect(stolen.status).toBe(403);
    expect(stolen.json).toMatchObject({ code: 'reporter-mismatch' });
    const big = await postReport(m.url, NODE_A, `{"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`);
    expect(big.status).toBe(413);
    const deep = await postReport(m.url, NODE_A, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(deep.json).toMatchObject({ code: 'json-too-deep' });
    const typed = await postReport(m.url, NODE_A, {
      ...b('node-a', 1).batch,
      sequence: '1',
      connections: {},
    });
    expect(typed.status).toBe(422);
    const text = await postReport(m.url, NODE_A, JSON.stringify(b('node-a', 1).batch), {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);

    const ok = b('node-a', 1);
    expect((await postReport(m.url, NODE_A, ok.batch)).status).toBe(201);
    expect((await postReport(m.url, NODE_A, ok.batch)).json).toMatchObject({ applied: false }); // replayed
    const shared = b('node-b', 1);
    expect((await postReport(m.url, SHARED, shared.batch)).status).toBe(201); // the shared token may report as any node
    await stopProcess(m);
    const store = inspectStore(join(dir, 'auth.db'));
    expect(store.batches).toEqual(
      new Map([
        ['node-a', [1]],
        ['node-b', [1]],
      ]),
    );
    expect(store.edgeCountSum).toBe(ok.total + shared.total);
  });
});
