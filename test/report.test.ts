// The safe-to-enforce report over the boutique store: removing one intent names exactly the flows
// that would break; a short window, unresolved sources, a new client in the quiet period and a
// CronJob not due in the window each make the evidence insufficient; comparison with a previous
// report; Markdown and HTML rendering; the real CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterFromIdentities,
  clusterFromManifests,
  mergeClusterViews,
  type ClusterView,
} from '../mapper/intents/cluster.js';
import type { GraphEdge } from '../mapper/graph/model.js';
import type { ClientIntents } from '../mapper/intents/model.js';
import { renderClientIntentsYaml } from '../mapper/intents/render.js';
import { suggestIntents } from '../mapper/intents/suggest.js';
import { loadManifests, parseManifests } from '../mapper/kube/manifests.js';
import { candidateFromIntents, candidateFromSuggested, type Candidate } from '../mapper/report/candidate.js';
import { countRuns, nextRun, parseCron } from '../mapper/report/cron.js';
import { decodeManifestPolicies } from '../mapper/report/policy-engine.js';
import { escapeHtml, renderReportHtml, renderReportMarkdown } from '../mapper/report/render.js';
import {
  buildReport,
  decodeReportJson,
  type ReportInput,
  type ReportJson,
  type ServerEntry,
} from '../mapper/report/report.js';
import { reportForGraph } from '../mapper/report/index.js';
import { GraphStore, openDatabase } from '../mapper/store/index.js';
import type { ReplayEdge } from '../mapper/report/replay.js';
import {
  BOUTIQUE_MANIFESTS,
  buildBoutiqueStore,
  external,
  unresolved,
  workload,
  type BoutiqueOptions,
} from './fixtures/boutique/boutique.js';

const run = promisify(execFile);
const NOW = Date.parse('2026-01-15T12:00:00Z');
const DAY = 86_400_000;
const CLI = join(process.cwd(), 'dist/mapper/cli/main.js');
let dir: string;
let snapshot: Awaited<ReturnType<typeof loadManifests>>;
let counter = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-report-'));
  snapshot = await loadManifests(BOUTIQUE_MANIFESTS);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A built scenario: its store's file, its edges with endpoints and the cluster view. */
interface Scenario {
  readonly edges: ReplayEdge[];
  readonly cluster: ClusterView;
  readonly db: string;
}

/** Every edge of `store` with its endpoints, as the report replays them. */
function replayEdges(store: GraphStore): ReplayEdge[] {
  return store.queryEdges().map((edge) => ({ edge, endpoints: store.edgeEndpoints(edge.id) }));
}

/** A scenario: a real store for the options, its edges and the cluster view (store + snapshot). */
function scenario(options: Omit<BoutiqueOptions, 'now'>, extraManifests = ''): Scenario {
  const db = join(dir, `s${++counter}.db`);
  const store = buildBoutiqueStore(db, { now: NOW, ...options });
  const edges = replayEdges(store);
  const extra = extraManifests !== '' ? parseManifests(extraManifests, 'extra.yaml').objects : [];
  const cluster = mergeClusterViews(
    clusterFromIdentities(store.listIdentities().map((r) => r.identity)),
    clusterFromManifests([...snapshot.objects, ...extra], 'snapshot boutique'),
  );
  store.db.close();
  return { edges, cluster, db };
}

function withoutTarget(intents: readonly ClientIntents[], client: string, target: string): ClientIntents[] {
  return intents.map((ci) =>
    ci.name === client
      ? { ...ci, targets: ci.targets.filter((t) => t.type === 'internet' || t.name !== target) }
      : ci,
  );
}

function verdicts(r: ReportJson): Record<string, string> {
  return Object.fromEntries(r.servers.map((s) => [s.server, s.verdict]));
}

/** A boutique CronJob manifest (one YAML document) running one container on `schedule`. */
function cronJobYaml(name: string, schedule: string, container: string): string {
  return `apiVersion: batch/v1
kind: CronJob
metadata: {name: ${name}, namespace: boutique}
spec:
  schedule: "${schedule}"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: ${name}}}
        spec: {containers: [{name: ${container}, image: x}]}
`;
}

/** Runs the real `intentmap report` CLI with `args`. */
function runReportCli(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run('node', [CLI, 'report', ...args]);
}

/** The report entry of one server (`namespace/name`), if any. */
function serverEntry(r: ReportJson, server: string): ServerEntry | undefined {
  return r.servers.find((s) => s.server === server);
}

/** The plain graph edges of a scenario. */
function graphEdges(s: Scenario): GraphEdge[] {
  return s.edges.map((e) => e.edge);
}

/** The report at NOW (unless `more` says otherwise) with no current policies, for a candidate. */
function reportFor(s: Scenario, candidate: Candidate, more: Partial<ReportInput> = {}): ReportJson {
  return buildReport({ now: NOW, edges: s.edges, cluster: s.cluster, candidate, current: [], ...more });
}

/** The report whose candidate is the suggested intents of the scenario's own edges. */
function reportSuggested(s: Scenario, more: Partial<ReportInput> = {}): ReportJson {
  return reportFor(s, candidateFromSuggested(graphEdges(s), s.cluster), more);
}

/** The report whose candidate is the policies generated from `intents`. */
function reportIntents(
  s: Scenario,
  intents: readonly ClientIntents[],
  options?: Parameters<typeof candidateFromIntents>[4],
): ReportJson {
  return reportFor(s, candidateFromIntents(intents, s.cluster, graphEdges(s), 'test', options));
}

describe('buildReport', () => {
  it('calls every boutique server safe under its own suggested intents after 10 quiet days', () => {
    const r = reportSuggested(scenario({}));
    expect(r.summary.servers['safe-to-enforce']).toBe(10);
    expect(r.summary.edges['would-be-blocked']).toBe(0);
    expect(r.summary.edges['explicitly-allowed']).toBe(15);
    // CoreDNS is infrastructure: no deny-all policy is proposed for it.
    expect(verdicts(r)['kube-system/coredns']).toBe('not-covered');
    expect(r.safeNext).toContain('boutique/redis-cart');
    expect(r.window.sufficient).toBe(true);
  });

  it('removing one intent names exactly the flows that would break, and why', () => {
    const s = scenario({});
    const r = reportIntents(
      s,
      withoutTarget(suggestIntents(graphEdges(s)).intents, 'frontend', 'cartservice'),
    );
    const blocked = r.flows.filter((f) => f.verdict === 'would-be-blocked');
    expect(blocked.map((f) => `${f.client} -> ${f.server} ${f.protocol}/${f.port} x${f.count}`)).toEqual([
      'boutique/frontend -> boutique/cartservice TCP/7070 x100',
    ]);
    const cart = serverEntry(r, 'boutique/cartservice');
    expect(cart?.verdict).toBe('would-block');
    expect(cart?.blockedFlows).toHaveLength(1);
    expect(cart?.blockedFlows[0]?.hint).toBe('no ClientIntents of boutique/frontend lists cartservice');
    expect(cart?.blockedFlows[0]?.why).toContain(
      'isolated by boutique/intentmap-ingress-cartservice and no rule matches',
    );
    expect(cart?.blockedFlows[0]?.lastSeen).toBe('2026-01-15T11:00:00.000Z');
    expect(r.summary.servers['would-block']).toBe(1);
    expect(r.summary.servers['safe-to-enforce']).toBe(9);
    const md = renderReportMarkdown(r);
    expect(md).toContain('### Would block');
    expect(md).toContain(
      '| `boutique/frontend` | TCP/7070 | 100 | 2026-01-15 11:00Z | no ClientIntents of boutique/frontend lists cartservice.',
    );
  });

  it('a declared port missing from the observed-ports annotation is named as such', () => {
    const s = scenario({});
    const intents = suggestIntents(graphEdges(s)).intents.map((ci) =>
      ci.name === 'cartservice'
        ? {
            ...ci,
            targets: ci.targets.map((t) =>
              t.type === 'kubernetes' ? { ...t, ports: [{ protocol: 'TCP' as const, port: 6380 }] } : t,
            ),
          }
        : ci,
    );
    const redis = serverEntry(reportIntents(s, intents), 'boutique/redis-cart');
    expect(redis?.verdict).toBe('would-block');
    expect(redis?.blockedFlows[0]?.hint).toContain('lists redis-cart but not TCP/6379');
  });

  it('a too-short window: not enough evidence for every server', () => {
    const r = reportSuggested(scenario({ observedForMs: 3 * DAY }));
    expect(r.window.sufficient).toBe(false);
    expect(r.summary.servers['not-enough-evidence']).toBe(10);
    expect(r.safeNext).toEqual([]);
    expect(r.servers[0]?.reasons).toContain('observed for 3d, less than the 7d minimum window');
    expect(r.caveats[0]).toContain('shorter than the 7d minimum');
  });

  it('unresolved sources and a new client inside the quiet period', () => {
    const s = scenario({
      extra: [
        {
          client: unresolved('10.0.5.5'),
          server: workload('cartservice'),
          port: 7070,
          firstSeen: NOW - 5 * DAY,
          lastSeen: NOW - DAY,
        },
        {
          client: workload('loadgenerator'),
          server: workload('frontend'),
          port: 8080,
          firstSeen: NOW - DAY,
          lastSeen: NOW - 60_000,
        },
      ],
    });
    const r = reportSuggested(s);
    const v = verdicts(r);
    expect(v['boutique/cartservice']).toBe('not-enough-evidence');
    expect(serverEntry(r, 'boutique/cartservice')?.reasons).toContain(
      '1 unresolved source(s) reached it (10.0.5.5)',
    );
    expect(v['boutique/frontend']).toBe('not-enough-evidence');
    expect(serverEntry(r, 'boutique/frontend')?.reasons[0]).toMatch(
      /^new client boutique\/loadgenerator first seen 2026-01-14T12:00:00.000Z, within the 2d quiet period$/,
    );
    expect(v['boutique/redis-cart']).toBe('safe-to-enforce');
  });

  it('a CronJob whose schedule did not run inside the window; one that did is fine', () => {
    const cron = [
      cronJobYaml('monthly-report', '0 3 1 * *', 'r'),
      cronJobYaml('cleanup', '*/5 * * * *', 'c'),
    ];
    const s = scenario({}, cron.join('---\n'));
    const intents: ClientIntents[] = [
      ...suggestIntents(graphEdges(s)).intents,
      {
        name: 'monthly-report',
        namespace: 'boutique',
        workload: { name: 'monthly-report', kind: 'CronJob' },
        targets: [{ type: 'kubernetes', name: 'emailservice', ports: [] }],
        infrastructure: [],
      },
    ];
    const r = reportIntents(s, intents);
    const email = serverEntry(r, 'boutique/emailservice');
    expect(email?.verdict).toBe('not-enough-evidence');
    expect(email?.reasons).toEqual([
      'CronJob boutique/monthly-report (schedule "0 3 1 * *") was not due to run inside the 10d window',
    ]);
    expect(verdicts(r)['boutique/paymentservice']).toBe('safe-to-enforce');
    expect(r.caveats.join('\n')).not.toContain('cleanup');
  });

  it('already enforced servers, and flows blocked today by the current policies', () => {
    const current = decodeManifestPolicies(
      parseManifests(
        `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: redis-only-checkout, namespace: boutique}
spec:
  podSelector: {matchLabels: {app: redis-cart}}
  ingress: [{from: [{podSelector: {matchLabels: {app: checkoutservice}}}]}]
`,
        'current.yaml',
      ).objects,
    ).policies;
    const r = reportSuggested(scenario({}), { current });
    const redis = serverEntry(r, 'boutique/redis-cart');
    expect(redis?.verdict).toBe('already-enforced');
    expect(redis?.reasons).toEqual([
      'ingress is already isolated by boutique/redis-only-checkout',
      '1 observed flow(s) are blocked by those policies today',
    ]);
    expect(r.summary.edges.blocked).toBe(1);
  });

  it('compares with a previous report', () => {
    const before = reportSuggested(scenario({ observedForMs: 3 * DAY }));
    const full = scenario({});
    const previous = decodeReportJson(JSON.parse(JSON.stringify(before)));
    expect(previous.ok).toBe(true);
    if (!previous.ok) return;
    const after = reportSuggested(full, { now: NOW + DAY, previous: previous.value });
    expect(after.comparison?.becameSafe).toHaveLength(10);
    expect(after.comparison?.sentence).toBe(
      '10 servers became safe since the last report (2026-01-15T12:00:00.000Z).',
    );
    expect(renderReportMarkdown(after)).toContain('> 10 servers became safe since the last report');
    expect(decodeReportJson({ version: 99 })).toMatchObject({ ok: false });
  });

  it('HTML is one self-contained, printable file with every name escaped', () => {
    const s = scenario({
      extra: [
        {
          client: unresolved('<img src=x onerror=alert(1)>'),
          server: workload('adservice'),
          port: 9555,
          firstSeen: NOW - 9 * DAY,
          lastSeen: NOW - DAY,
        },
      ],
    });
    const r = reportSuggested(s);
    const html = renderReportHtml(r);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('@media print');
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml('<img src=x onerror=alert(1)>'));
    expect(html).not.toMatch(/<(link|script)\b|src="http|href="http/);
    expect(renderReportMarkdown(r)).not.toContain('<img');
  });
});

describe('buildReport with egress policies', () => {
  it('external destinations are allowed by declared internet targets and listed when they would be blocked', () => {
    const s = scenario({
      extra: [
        {
          client: workload('paymentservice'),
          server: external('203.0.113.7'),
          port: 443,
          firstSeen: NOW - 9 * DAY,
          lastSeen: NOW - DAY,
          dnsNames: ['api.payments.example'],
        },
      ],
    });
    const suggested = suggestIntents(graphEdges(s)).intents;
    const ok = reportIntents(s, suggested, { egress: true });
    expect(ok.summary.edges['would-be-blocked']).toBe(0);
    expect(ok.flows.find((f) => f.server === '203.0.113.7')?.verdict).toBe('explicitly-allowed');
    const without = suggested.map((ci) => (ci.name === 'paymentservice' ? { ...ci, targets: [] } : ci));
    const bad = reportIntents(s, without, { egress: true });
    expect(bad.otherBlockedFlows.map((f) => `${f.client} -> ${f.server} ${f.protocol}/${f.port}`)).toEqual([
      'boutique/paymentservice -> 203.0.113.7 TCP/443',
    ]);
    expect(bad.otherBlockedFlows[0]?.why).toContain(
      'egress of the source: isolated by boutique/intentmap-egress-paymentservice',
    );
    expect(renderReportMarkdown(bad)).toContain('### Egress flows that would be blocked');
  });
});

describe('host-network sources', () => {
  it('kubelet probes from a node are allowed (a pod cannot block its resident node), with a caveat', () => {
    const node = {
      kind: 'node' as const,
      cluster: '',
      namespace: '',
      name: 'node-1',
      workloadKind: '',
      labels: {},
      attrs: {},
    };
    const s = scenario({
      extra: [
        {
          client: node,
          server: workload('cartservice'),
          port: 7070,
          firstSeen: NOW - 9 * DAY,
          lastSeen: NOW - 60_000,
          clientIp: '192.168.1.10',
        },
      ],
    });
    const r = reportSuggested(s);
    const probe = r.flows.find((f) => f.client === 'node/node-1');
    expect(probe?.verdict).toBe('implicitly-allowed');
    expect(probe?.why).toMatch(/^allowed from the pod's own node only/);
    expect(verdicts(r)['boutique/cartservice']).toBe('safe-to-enforce');
    expect(r.caveats.join('\n')).toContain('1 flow(s) come from host-network sources');
  });
});

describe('reportForGraph (the web UI entry point)', () => {
  it('builds the suggested-intents report from store identities alone', () => {
    const { db } = scenario({});
    const store = new GraphStore(openDatabase(db, { readonly: true }));
    const r = reportForGraph({
      edges: replayEdges(store),
      identities: store.listIdentities().map((x) => x.identity),
      now: NOW,
    });
    store.db.close();
    expect(r.summary.servers['safe-to-enforce']).toBe(10);
    expect(r.summary.edges['would-be-blocked']).toBe(0);
  });
});

describe('cron schedules', () => {
  it('parses fields, names, steps, ranges and macros', () => {
    const p = parseCron('*/15 9-17 * jan-mar mon,fri');
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect([...p.value.minutes]).toEqual([0, 15, 30, 45]);
    expect([...p.value.hours]).toHaveLength(9);
    expect([...p.value.months]).toEqual([1, 2, 3]);
    expect([...p.value.daysOfWeek]).toEqual([1, 5]);
    expect(parseCron('@weekly')).toMatchObject({ ok: true });
    expect(parseCron('0 0 * * 7')).toMatchObject({ ok: true, value: { daysOfWeek: new Set([0]) } });
  });

  it('rejects bad schedules with a reason', () => {
    expect(parseCron('* * * *')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('has 4 fields') as unknown,
    });
    expect(parseCron('61 * * * *')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside 0-59') as unknown,
    });
    expect(parseCron('*/0 * * * *')).toMatchObject({ ok: false });
    expect(parseCron('@sometimes')).toMatchObject({ ok: false });
  });

  it('finds the next run and counts runs in a window (UTC, day-of-month OR day-of-week)', () => {
    const monthly = parseCron('0 3 1 * *');
    if (!monthly.ok) throw new Error('parse');
    expect(nextRun(monthly.value, Date.parse('2026-01-05T00:00:00Z'), NOW)).toBeNull();
    expect(
      nextRun(monthly.value, Date.parse('2026-01-05T00:00:00Z'), Date.parse('2026-03-01T00:00:00Z')),
    ).toBe(Date.parse('2026-02-01T03:00:00Z'));
    const either = parseCron('30 6 13 * fri'); // the 13th or any Friday
    if (!either.ok) throw new Error('parse');
    // 2026-02-13 is a Friday; Fridays of Feb 2026: 6, 13, 20, 27 → 4 runs.
    expect(
      countRuns(either.value, Date.parse('2026-02-01T00:00:00Z'), Date.parse('2026-03-01T00:00:00Z')),
    ).toBe(4);
    const every5 = parseCron('*/5 * * * *');
    if (!every5.ok) throw new Error('parse');
    expect(countRuns(every5.value, 0, 3_600_000)).toBe(12);
  });
});

describe('intentmap report (real CLI)', () => {
  it('--intents with one target removed: JSON, HTML to --out, and --previous', async () => {
    const s = scenario({});
    const { db } = s;
    const intentsDir = join(dir, 'cli-intents');
    mkdirSync(intentsDir, { recursive: true });
    const intents = withoutTarget(suggestIntents(graphEdges(s)).intents, 'frontend', 'cartservice');
    writeFileSync(join(intentsDir, 'all.yaml'), renderClientIntentsYaml(intents));
    const now = '2026-01-15T12:00:00Z';
    const json = await runReportCli([
      '--db',
      db,
      '--snapshot',
      BOUTIQUE_MANIFESTS,
      '--intents',
      intentsDir,
      '--format',
      'json',
      '--now',
      now,
    ]);
    const r = JSON.parse(json.stdout) as ReportJson;
    expect(serverEntry(r, 'boutique/cartservice')?.verdict).toBe('would-block');
    expect(r.summary.servers['safe-to-enforce']).toBe(9);
    const prev = join(dir, 'prev.json');
    writeFileSync(prev, json.stdout);
    const out = join(dir, 'report.html');
    const html = await runReportCli([
      '--db',
      db,
      '--snapshot',
      BOUTIQUE_MANIFESTS,
      '--format',
      'html',
      '--out',
      out,
      '--now',
      now,
      '--previous',
      prev,
    ]);
    expect(html.stderr).toContain('10 safe to enforce');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('1 server became safe since the last report');
    const md = await runReportCli(['--db', db, '--min-window', '30d', '--now', now]);
    expect(md.stdout).toContain('## intentmap: safe-to-enforce report');
    expect(md.stdout).toContain('less than the 30d minimum window');
    const bad = await runReportCli(['--db', db, '--intents', intentsDir, '--policies', intentsDir]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect('code' in bad ? bad.code : 0).toBe(2);
  });
});
