// Hostile manifests and intents through the real CLI (mapper/kube/manifests.test.ts covers the
// parser in-process): a billion-laughs YAML bomb, a file over the size cap, a deeply nested
// document, and unknown kinds, given to `intentmap diff --intents DIR` and to
// `intentmap mapper --snapshot DIR`. Each gets a clear message naming the file, the good documents
// beside them are still used, and time and memory stay bounded.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, processStat, startMapperProcess, stopProcess } from '../../bench/load/harness.js';
import { openDatabase } from '../../mapper/store/index.js';

let dir: string;
let tokenFile: string;

/** Billion laughs: 9 levels of 9 aliases (387 M strings if expanded). */
function yamlBomb(): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: lol, namespace: shop}', 'data:'];
  lines.push('  a0: &a0 "lol"');
  for (let i = 1; i <= 9; i++)
    lines.push(`  a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

const VALID_INTENTS = `apiVersion: k8s.otterize.com/v2beta1
kind: ClientIntents
metadata: {name: web, namespace: shop}
spec:
  workload: {name: web, kind: Deployment}
  targets:
    - kubernetes: {name: api, kind: Deployment}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-manifests-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'manifest-token-0123456789abcdef\n');
  const hostile = join(dir, 'hostile');
  mkdirSync(hostile);
  writeFileSync(join(hostile, 'bomb.yaml'), yamlBomb());
  // Over the 32 MiB cap of one manifest file: skipped by its size, never read into memory.
  writeFileSync(join(hostile, 'huge.yaml'), Buffer.alloc(33 * 1024 * 1024, 0x20));
  writeFileSync(join(hostile, 'deep.yaml'), `${'['.repeat(5000)}${']'.repeat(5000)}\n`);
  writeFileSync(
    join(hostile, 'unknown.yaml'),
    'apiVersion: evil.example/v1\nkind: <script>alert(1)</script>\nmetadata: {name: x}\n',
  );
  writeFileSync(join(hostile, 'intents.yaml'), VALID_INTENTS);
  writeFileSync(
    join(hostile, 'pod.yaml'),
    `apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, uid: u1, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.244.0.5, phase: Running}
`,
  );
  openDatabase(join(dir, 'empty.db')).close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('hostile manifests', () => {
  it('intentmap diff --intents: the bomb, the huge file and the deep document are named and skipped; the valid intents are used', () => {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [CLI, 'diff', '--db', join(dir, 'empty.db'), '--intents', join(dir, 'hostile'), '--format', 'json'],
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const seconds = (performance.now() - t0) / 1000;
    expect(r.signal).toBeNull();
    expect([0, 1]).toContain(r.status);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/bomb\.yaml[^\n]*alias/i);
    expect(out).toMatch(/huge\.yaml[^\n]*over the \d+-byte limit/);
    expect(out).toMatch(
      /deep\.yaml#1: YAML nests deeper than 256 levels at line 1, column \d+\. [^\n]*skipped/,
    );
    expect(out).not.toMatch(/call stack/i);
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
    expect(out).toContain('web');
    expect(seconds).toBeLessThan(30);
  });

  it('intentmap mapper --snapshot: starts, reports each bad file, keeps the pod, with bounded memory', async () => {
    const m = await startMapperProcess({
      db: join(dir, 'snap.db'),
      tokenFile,
      snapshot: join(dir, 'hostile'),
    });
    try {
      const rss = processStat(m.child.pid!).rssBytes;
      expect(rss).toBeLessThan(512 * 1024 * 1024);
      const logs = JSON.stringify(m.logs) + m.stderr();
      expect(logs).toMatch(/bomb\.yaml/);
      expect(logs).toMatch(/huge\.yaml/);
      expect(logs).toMatch(/deep\.yaml[^"]*nests deeper than 256 levels/);
      const res = await fetch(`${m.url}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await stopProcess(m);
    }
  });
});
