// Cluster-sourced strings that attack SQL and HTML, end to end through real processes:
// manifests (--snapshot) name a namespace `o'brien` and a namespace `"; DROP TABLE edges; --`
// holding a pod `<img src=x onerror=alert(1)>`; a batch is ingested over HTTP; the names come back
// verbatim from the graph API (as filters too), the UI API and `intentmap export`, the edges table
// survives, and every HTML the UI serves keeps a CSP without inline script, escaping the names.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  inspectStore,
  postReport,
  startMapperProcess,
  stopProcess,
  type MapperProcess,
} from '../../bench/load/harness.js';

const TOKEN = 'names-token-0123456789abcdef0123';
const QUOTE_NS = "o'brien";
const SQL_NS = '"; DROP TABLE edges; --';
const XSS = '<img src=x onerror=alert(1)>';
const DNS_NAME = `o'brien";--.example`;
let dir: string;
let m: MapperProcess;

const pod = (ns: string, name: string, ip: string, uid: string): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid, labels: { app: SQL_NS, note: XSS } },
    spec: { containers: [{ name: 'c', image: 'x' }] },
    status: { podIP: ip, phase: 'Running', startTime: '2000-01-01T00:00:00Z' },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intentmap-names-'));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const snap = join(dir, 'snapshot');
  mkdirSync(snap);
  writeFileSync(
    join(snap, 'pods.json'),
    `{"apiVersion":"v1","kind":"List","items":[${[
      pod(QUOTE_NS, "o'brien-1", '10.244.0.5', 'u1'),
      pod(SQL_NS, XSS, '10.244.0.6', 'u2'),
      pod('shop', 'web', '10.244.0.7', 'u3'),
    ].join(',')}]}`,
  );
  m = await startMapperProcess({
    db: join(dir, 'names.db'),
    tokenFile: join(dir, 'token'),
    snapshot: snap,
    extra: ['--pod-cidr', '10.244.0.0/16'],
  });
  const now = Date.now();
  const conn = (src: string, dport: number): Record<string, unknown> => ({
    src,
    dst: '10.244.0.7',
    dport,
    protocol: 'TCP',
    source: 'tcp-syn',
    count: 3,
    firstSeen: now - 2000,
    lastSeen: now - 1000,
  });
  const r = await postReport(m.url, TOKEN, {
    version: 1,
    reporter: 'node-a',
    sequence: 1,
    sentAt: now,
    connections: [conn('10.244.0.5', 80), conn('10.244.0.6', 443)],
    dns: [
      {
        client: '10.244.0.5',
        name: DNS_NAME,
        ips: ['10.244.0.7'],
        ttl: 30,
        count: 1,
        firstSeen: now - 3000,
        lastSeen: now - 3000,
      },
    ],
  });
  expect(r.status).toBe(201);
});

afterAll(async () => {
  await stopProcess(m);
  rmSync(dir, { recursive: true, force: true });
});

async function getJson(path: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${m.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

describe('names with quotes and markup', () => {
  it('the graph API returns them verbatim and filters by them (parameterized SQL)', async () => {
    const all = await getJson('/api/v1/graph');
    expect(all.status).toBe(200);
    const text = JSON.stringify(all.body);
    expect(text).toContain(JSON.stringify(QUOTE_NS).slice(1, -1));
    expect(text).toContain(JSON.stringify(SQL_NS).slice(1, -1));
    expect(text).toContain(JSON.stringify(XSS).slice(1, -1));
    // A filter with such a name either matches exactly the one edge (bound as a parameter) or is
    // refused up front as not a Kubernetes name (400 invalid-query); never more, never a SQL error.
    const filtered = async (query: string, expected: number): Promise<void> => {
      const r = await getJson(`/api/v1/graph?${query}`);
      if (r.status === 400) expect(r.body).toMatchObject({ code: 'invalid-query' });
      else {
        expect(r.status).toBe(200);
        expect((r.body as { edges: unknown[] }).edges).toHaveLength(expected);
      }
    };
    for (const ns of [QUOTE_NS, SQL_NS]) await filtered(`namespace=${encodeURIComponent(ns)}`, 1);
    await filtered(`workload=${encodeURIComponent(`${SQL_NS}/${XSS}`)}`, 1);
    await filtered(`workload=${encodeURIComponent("x' OR '1'='1")}`, 0);
    await filtered(`namespace=${encodeURIComponent("x' OR '1'='1")}`, 0);
    expect((await getJson('/api/v1/graph')).status).toBe(200);
  });

  it('the UI API answers JSON with nosniff, and the UI search finds the quoted workload', async () => {
    const g = await getJson('/ui/api/graph');
    expect(g.status).toBe(200);
    expect(g.headers.get('content-type')).toMatch(/^application\/json/);
    expect(g.headers.get('x-content-type-options')).toBe('nosniff');
    expect(JSON.stringify(g.body)).toContain(JSON.stringify(XSS).slice(1, -1));
    const s = await getJson(`/ui/api/suggest?q=${encodeURIComponent("o'b")}`);
    expect(s.status).toBe(200);
    expect(JSON.stringify(s.body)).toContain("o'brien");
  });

  it('every HTML the UI serves has a CSP without inline script and escapes the names', async () => {
    const checked: string[] = [];
    for (const path of ['/ui', '/login', '/ui/api/report.html']) {
      const res = await fetch(`${m.url}${path}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        redirect: 'manual',
      });
      const csp = res.headers.get('content-security-policy') ?? '';
      if (res.status === 200 && /html/.test(res.headers.get('content-type') ?? '')) {
        const html = await res.text();
        checked.push(path);
        expect(csp, path).toContain("script-src 'self'");
        expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
        expect(html, path).not.toContain(XSS);
        expect(html, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>[^<]/);
      } else {
        expect([302, 303, 401, 404], path).toContain(res.status);
        await res.arrayBuffer();
      }
    }
    console.log(`HTML checked for CSP and escaping: ${checked.join(', ')}`);
    expect(checked.length).toBeGreaterThanOrEqual(1);
  });

  it('intentmap export and the store keep them intact; the edges table survives', async () => {
    await stopProcess(m);
    const store = inspectStore(join(dir, 'names.db'));
    expect(store.integrity).toBe('ok');
    expect(store.edges).toBeGreaterThanOrEqual(2);
    const r = spawnSync(
      process.execPath,
      [CLI, 'export', '--db', join(dir, 'names.db'), '--format', 'json'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(JSON.stringify(SQL_NS).slice(1, -1));
    expect(r.stdout).toContain(JSON.stringify(XSS).slice(1, -1));
    expect(r.stdout).toContain(JSON.stringify(DNS_NAME).slice(1, -1));
  });
});
