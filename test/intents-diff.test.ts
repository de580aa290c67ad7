// `intentmap diff`: missing, unused and unknown intents against the boutique store; Markdown for a
// pull-request comment; the real CLI with --fail-on-drift.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFromIdentities } from '../mapper/intents/cluster.js';
import { diffIntents, renderDrift } from '../mapper/intents/diff.js';
import type { ClientIntents } from '../mapper/intents/model.js';
import { renderClientIntentsYaml } from '../mapper/intents/render.js';
import { suggestIntents } from '../mapper/intents/suggest.js';
import type { GraphEdge } from '../mapper/graph/model.js';
import { buildBoutiqueStore } from './fixtures/boutique/boutique.js';

const run = promisify(execFile);
const NOW = Date.parse('2026-01-15T12:00:00Z');
const DAY = 86_400_000;
const CLI = join(process.cwd(), 'dist/mapper/cli/main.js');
let dir: string;
let db: string;
let edges: GraphEdge[];
let cluster: ReturnType<typeof clusterFromIdentities>;
let declared: ClientIntents[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-diff-'));
  db = join(dir, 'boutique.db');
  const store = buildBoutiqueStore(db, { now: NOW });
  edges = store.queryEdges();
  cluster = clusterFromIdentities(store.listIdentities().map((r) => r.identity));
  store.db.close();
  // Declared: the suggestion without frontend → cartservice, plus frontend → emailservice (never
  // seen), a target that does not exist, a client that does not exist, and redis-cart on 6380.
  declared = suggestIntents(edges).intents.map((ci) => {
    if (ci.name === 'frontend') {
      return {
        ...ci,
        targets: [
          ...ci.targets.filter((t) => t.type === 'internet' || t.name !== 'cartservice'),
          { type: 'kubernetes' as const, name: 'emailservice', ports: [] },
          { type: 'kubernetes' as const, name: 'loyaltyservice', kind: 'Deployment', ports: [] },
        ],
      };
    }
    if (ci.name === 'cartservice')
      return {
        ...ci,
        targets: [
          {
            type: 'kubernetes' as const,
            name: 'redis-cart',
            ports: [
              { protocol: 'TCP' as const, port: 6379 },
              { protocol: 'TCP' as const, port: 6380 },
            ],
          },
        ],
      };
    return ci;
  });
  declared.push({
    name: 'ghost',
    namespace: 'boutique',
    workload: { name: 'ghost', kind: 'Deployment' },
    targets: [{ type: 'kubernetes', name: 'cartservice', ports: [] }],
    infrastructure: [],
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('diffIntents', () => {
  it('finds missing, unused and unknown intents', () => {
    const d = diffIntents(declared, edges, cluster, { since: NOW - 14 * DAY, until: NOW });
    expect(d.missing).toEqual([
      {
        client: 'boutique/frontend',
        target: 'boutique/cartservice',
        port: 'TCP/7070',
        count: 100,
        lastSeen: '2026-01-15T11:00:00.000Z',
        reason: 'target not declared',
      },
    ]);
    expect(d.unused.map((u) => `${u.client} -> ${u.target} ${u.ports.join(',')}`)).toEqual([
      'boutique/cartservice -> redis-cart TCP/6380',
      'boutique/frontend -> emailservice ',
    ]);
    expect(d.unknown.map((u) => `${u.client} -> ${u.target}: ${u.reason}`)).toEqual([
      'boutique/frontend -> loyaltyservice: Deployment boutique/loyaltyservice does not exist',
      'boutique/ghost -> cartservice: client workload not found',
    ]);
    const md = renderDrift(d, 'md');
    expect(md).toContain('### ⛔ Missing: observed, not declared (enforcement would block these)');
    expect(md).toContain('| `boutique/frontend` | `boutique/cartservice` | TCP/7070 | 100 |');
    expect(md).toContain('### 🧹 Unused');
    expect(md).toContain('### ❓ Unknown');
  });

  it('with a window that saw nothing, every declared target is unused', () => {
    const d = diffIntents(declared, edges, cluster, { since: NOW + DAY, until: NOW + 2 * DAY });
    expect(d.missing).toEqual([]);
    expect(d.unused.length).toBeGreaterThan(10);
  });
});

describe('intentmap diff (real CLI)', () => {
  it('text, md, json and --fail-on-drift', async () => {
    const intentsDir = join(dir, 'intents');
    mkdirSync(intentsDir);
    writeFileSync(join(intentsDir, 'boutique.yaml'), renderClientIntentsYaml(declared));
    // The same store, intents and clock each time; only the output flags differ.
    const now = '2026-01-15T12:00:00Z';
    const diff = (...flags: string[]): Promise<{ stdout: string; stderr: string }> =>
      run('node', [CLI, 'diff', '--db', db, '--intents', intentsDir, '--now', now, ...flags]);
    const text = await diff();
    expect(text.stdout).toContain('missing (1): observed but not declared');
    expect(text.stdout).toContain('boutique/frontend -> boutique/cartservice TCP/7070');
    const json = await diff('--format', 'json');
    expect((JSON.parse(json.stdout) as { unknown: unknown[] }).unknown).toHaveLength(2);
    const md = await diff('--format', 'md', '--fail-on-drift').catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect('code' in md ? md.code : 0).toBe(1);
    expect(md.stdout).toContain('## intentmap: intents drift');
    expect(md.stderr).toContain('drift: 1 missing and 2 unknown');
  });
});
