// `intentmap simulate`: replay of the boutique store through policy directories with the real
// evaluator, totals per server and client, and the before/after comparison; the real CLI.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFromIdentities } from '../mapper/intents/cluster.js';
import { parseManifests } from '../mapper/kube/manifests.js';
import { decodeManifestPolicies } from '../mapper/report/policy-engine.js';
import { renderSimulation, simulate, type ReplayEdge } from '../mapper/report/replay.js';
import { BOUTIQUE_MANIFESTS, buildBoutiqueStore } from './fixtures/boutique/boutique.js';

const run = promisify(execFile);
const NOW = Date.parse('2026-01-15T12:00:00Z');
const CLI = join(process.cwd(), 'dist/mapper/cli/main.js');
const GOLDEN = new URL('./fixtures/golden/boutique-networkpolicies.yaml', import.meta.url).pathname;
let dir: string;
let db: string;
let edges: ReplayEdge[];
let cluster: ReturnType<typeof clusterFromIdentities>;

// The golden policies with frontend's rule removed from cartservice's ingress policy.
function withoutFrontendToCart(): string {
  const docs = readFileSync(GOLDEN, 'utf8').split('---\n');
  return docs
    .map((d) =>
      d.includes('name: intentmap-ingress-cartservice')
        ? d.replace(
            / {4}- from:\n(?:(?! {4}- from:)[\s\S])*?app: frontend\n {6}ports:\n {8}- protocol: TCP\n {10}port: 7070\n/,
            '',
          )
        : d,
    )
    .join('---\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-simulate-'));
  db = join(dir, 'boutique.db');
  const store = buildBoutiqueStore(db, { now: NOW });
  edges = store.queryEdges().map((edge) => ({ edge, endpoints: store.edgeEndpoints(edge.id) }));
  cluster = clusterFromIdentities(store.listIdentities().map((r) => r.identity));
  store.db.close();
  mkdirSync(join(dir, 'before'));
  mkdirSync(join(dir, 'after'));
  copyFileSync(GOLDEN, join(dir, 'before', 'policies.yaml'));
  writeFileSync(join(dir, 'after', 'policies.yaml'), withoutFrontendToCart());
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simulate', () => {
  it('replays every edge with the why, and totals per server and client', () => {
    const before = decodeManifestPolicies(
      parseManifests(readFileSync(GOLDEN, 'utf8'), 'golden.yaml').objects,
    ).policies;
    const after = decodeManifestPolicies(
      parseManifests(withoutFrontendToCart(), 'after.yaml').objects,
    ).policies;
    expect(after).toHaveLength(10);
    const r = simulate(edges, before, cluster, after);
    expect(r.totals).toEqual({ edges: 19, allowed: 19, blocked: 0 });
    const cart = r.edges.find(
      (o) => o.edge.client.name === 'frontend' && o.edge.server.name === 'cartservice',
    );
    expect(cart?.why).toBe(
      'allowed: egress of the source: not isolated; ingress of the destination: allowed by boutique/intentmap-ingress-cartservice ingress[1]',
    );
    expect(r.changes?.map((c) => `${c.edge.client.name}>${c.edge.server.name}`)).toEqual([
      'frontend>cartservice',
    ]);
    expect(r.changes?.[0]?.after.why).toBe(
      'denied: egress of the source: not isolated; ingress of the destination: isolated by boutique/intentmap-ingress-cartservice and no rule matches',
    );
    const afterOnly = simulate(edges, after, cluster);
    expect(afterOnly.perServer[0]).toEqual({
      name: 'boutique/cartservice',
      edges: 2,
      allowed: 1,
      blocked: 1,
      blockedConnections: 100,
    });
    expect(afterOnly.perClient.find((t) => t.name === 'boutique/frontend')).toMatchObject({
      edges: 8,
      blocked: 1,
    });
    const md = renderSimulation(afterOnly, 'md');
    expect(md).toContain(
      '| boutique/frontend | boutique/cartservice | TCP/7070 | 100 | denied: egress of the source: not isolated; ingress of the destination: isolated by boutique/intentmap-ingress-cartservice and no rule matches |',
    );
  });
});

describe('intentmap simulate (real CLI)', () => {
  it('table, json and --compare', async () => {
    const table = await run('node', [CLI, 'simulate', '--db', db, '--policies', join(dir, 'before')]);
    expect(table.stdout).toContain('19 edges: 19 allowed, 0 would be blocked.');
    const json = await run('node', [
      CLI,
      'simulate',
      '--db',
      db,
      '--policies',
      join(dir, 'before'),
      '--compare',
      join(dir, 'after'),
      '--format',
      'json',
    ]);
    const r = JSON.parse(json.stdout) as {
      totals: { blocked: number };
      changes: { client: string; server: string; before: string; after: string }[];
    };
    expect(r.totals.blocked).toBe(0);
    expect(r.changes).toEqual([
      expect.objectContaining({
        client: 'boutique/frontend',
        server: 'boutique/cartservice',
        before: 'allowed',
        after: 'would-be-blocked',
      }),
    ]);
    const fail = await run('node', [
      CLI,
      'simulate',
      '--db',
      db,
      '--policies',
      join(dir, 'after'),
      '--fail-on-blocked',
    ]).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect('code' in fail ? fail.code : 0).toBe(1);
    expect(fail.stdout).toContain('would be blocked');
    expect(fail.stderr).toContain('1 observed edge(s) would be blocked');
    // Without --policies, the snapshot's NetworkPolicies (the cluster's current ones) are judged.
    const snap = join(dir, 'snap');
    mkdirSync(snap);
    copyFileSync(join(BOUTIQUE_MANIFESTS, 'boutique.yaml'), join(snap, 'boutique.yaml'));
    copyFileSync(join(dir, 'after', 'policies.yaml'), join(snap, 'policies.yaml'));
    const current = await run('node', [CLI, 'simulate', '--db', db, '--snapshot', snap, '--format', 'md']);
    expect(current.stdout).toContain('**19** observed edges: **18** allowed, **1** would be blocked.');
    const missing = await run('node', [CLI, 'simulate', '--db', db, '--policies', join(dir, 'nope')]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect('code' in missing ? missing.code : 0).toBe(1);
    expect(missing.stderr).toContain('--policies');
  });
});
