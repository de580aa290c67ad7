// The real `intentmap connectivity` command (dist/, built by the global setup): output formats,
// --explain, and bad manifests reported on stderr while the analysis still runs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePorts, portsEqual } from '../mapper/policy/ports.js';

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, '..', 'dist', 'mapper', 'cli', 'main.js');
const CORPUS = join(import.meta.dirname, 'fixtures', 'conformance', 'netpol');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('intentmap connectivity (CLI)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'intentmap-connectivity-'));
    await writeFile(
      join(dir, 'apps.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
`,
    );
    await writeFile(
      join(dir, 'policies.yaml'),
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: http}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-cidr, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]
`,
    );
    await writeFile(join(dir, 'broken.yaml'), 'kind: NetworkPolicy\nmetadata: {name: [\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('agrees with a corpus case in JSON', async () => {
    const r = await cli([
      'connectivity',
      '--resources',
      join(CORPUS, 'semanticDiff-same-topologies-old2', 'manifests'),
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as { src: string; dst: string; conns: 'All' | string[] }[];
    const want = (
      JSON.parse(
        readFileSync(join(CORPUS, 'semanticDiff-same-topologies-old2', 'expected.json'), 'utf8'),
      ) as {
        expected: { src: string; dst: string; conns: 'All' | string[] }[];
      }
    ).expected;
    expect(got).toHaveLength(want.length);
    for (const w of want) {
      const g = got.find((x) => x.src === w.src && x.dst === w.dst);
      expect(g, `${w.src} => ${w.dst}`).toBeDefined();
      expect(portsEqual(parsePorts(g!.conns)!, parsePorts(w.conns)!), `${w.src} => ${w.dst}`).toBe(true);
    }
  });

  it('reports bad files and policies by file, object and field, and still prints the analysis', async () => {
    const r = await cli(['connectivity', '--resources', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${join(dir, 'broken.yaml')}#1: YAML does not parse`);
    expect(r.stderr).toContain(
      `${join(dir, 'policies.yaml')}#2: NetworkPolicy shop/bad-cidr: spec.ingress[0].from[0].ipBlock.cidr: CIDR mask is missing in "10.0.0.1". Did you mean "10.0.0.1/32"?`,
    );
    expect(r.stderr).toMatch(/note: 1 object\(s\) or file\(s\) skipped/);
    // The valid policy still applies: only db reaches web, on the named port http = TCP 8080.
    expect(r.stdout).toContain('shop/db => shop/web : TCP 8080\n');
    expect(r.stdout).toContain('shop/web => shop/db : All Connections\n');
    expect(r.stdout).toContain('0.0.0.0-255.255.255.255 => shop/db : All Connections\n');
    expect(r.stdout).not.toContain('=> shop/web : All');

    const verbose = await cli(['connectivity', '--resources', dir, '--verbose']);
    expect(verbose.stderr).toContain(
      `${join(dir, 'apps.yaml')}#3: Service shop/web: kind Service is not used here; skipped.`,
    );

    const strict = await cli(['connectivity', '--resources', dir, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('shop/db => shop/web : TCP 8080');
  });

  it('explains in JSON and Markdown', async () => {
    const json = await cli([
      'connectivity',
      '--resources',
      join(dir, 'apps.yaml'),
      '--resources',
      join(dir, 'policies.yaml'),
      '--format',
      'json',
      '--explain',
    ]);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as {
      src: string;
      dst: string;
      conns: unknown;
      why: { ingress: { allowedBy: string[] } };
    }[];
    const dbToWeb = entries.find((e) => e.src === 'shop/db' && e.dst === 'shop/web')!;
    expect(dbToWeb.conns).toEqual(['TCP 8080']);
    expect(dbToWeb.why.ingress.allowedBy).toEqual(['shop/web-from-db ingress[0]']);
    const md = await cli(['connectivity', '--resources', dir, '--format', 'md']);
    expect(md.stdout.split('\n').slice(0, 3)).toEqual([
      '| src | dst | conns |',
      '|---|---|---|',
      '| shop/db | shop/web | TCP 8080 |',
    ]);
  });

  it('fails with a usage error for a bad format and a clear error for a missing path', async () => {
    expect((await cli(['connectivity', '--resources', dir, '--format', 'yaml'])).code).toBe(2);
    const missing = await cli(['connectivity', '--resources', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot be read: ENOENT');
  });
});
