// The web UI's HTTP API over real HTTP: express on 127.0.0.1:0, fetch, a real SQLite store filled
// through GraphStore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViewDiff, ViewGraph } from '../web/shared/view.js';
import { createWebRouter, isLoopbackHost } from '../web/server/index.js';
import type { EdgeDetail, NodeDetail } from '../web/server/service.js';
import { buildUi } from '../web/ui-build.js';
import {
  openTempStore,
  party,
  seedBoutique,
  seedEdges,
  startWebServer,
  workload,
  XSS_NAME,
  type WebTestServer,
} from './browser/harness.js';

const TOKEN = 'test-token-0123456789';
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const auth = { Authorization: `Bearer ${TOKEN}` };

let assetsDir: string;
let srv: WebTestServer;
let notify: () => void = () => undefined;

beforeAll(async () => {
  assetsDir = mkdtempSync(join(tmpdir(), 'intentmap-ui-'));
  await buildUi({ outDir: assetsDir, minify: false });
  srv = await startWebServer({
    now: () => NOW,
    assetsDir,
    intents: null,
    report: null,
    seed: (s) => seedBoutique(s, NOW),
    live: {
      pollIntervalMs: 3_600_000,
      subscribe: (fn) => {
        notify = fn;
        return () => (notify = () => undefined);
      },
    },
  });
});

afterAll(async () => {
  await srv.close();
  rmSync(assetsDir, { recursive: true, force: true });
});

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${srv.url}${path}`, { headers: auth });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

describe('access control', () => {
  it('refuses the API without a token and names the fix', async () => {
    const res = await fetch(`${srv.url}/ui/api/graph`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'missing-token' });
  });

  it('refuses a wrong bearer token', async () => {
    const res = await fetch(`${srv.url}/ui/api/graph`, {
      headers: { Authorization: 'Bearer wrong-token-000000' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'invalid-token' });
  });

  it('redirects the page to the login form, keeping the view in `next`', async () => {
    const res = await fetch(`${srv.url}/?ns=shop`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2F%3Fns%3Dshop');
  });

  it('logs in with the token into an HttpOnly SameSite=Strict session, and logs out', async () => {
    const bad = await fetch(`${srv.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'nope', next: '/' }),
      redirect: 'manual',
    });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('That token is not valid');

    const ok = await fetch(`${srv.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '/?ns=shop' }),
      redirect: 'manual',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/?ns=shop');
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^intentmap_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    const session = cookie.split(';')[0]!;
    expect((await fetch(`${srv.url}/ui/api/graph`, { headers: { Cookie: session } })).status).toBe(200);
    const page = await fetch(`${srv.url}/`, { headers: { Cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/assets/app.js"></script>');

    const out = await fetch(`${srv.url}/logout`, {
      method: 'POST',
      headers: { Cookie: session },
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect((await fetch(`${srv.url}/ui/api/graph`, { headers: { Cookie: session } })).status).toBe(401);
  });

  it('refuses an open redirect after login and a cross-site login post', async () => {
    const res = await fetch(`${srv.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }),
      redirect: 'manual',
    });
    expect(res.headers.get('location')).toBe('/');
    const xs = await fetch(`${srv.url}/login`, {
      method: 'POST',
      headers: { Origin: 'http://evil.example' },
      body: new URLSearchParams({ token: TOKEN }),
      redirect: 'manual',
    });
    expect(xs.status).toBe(403);
  });

  it('sends a strict CSP and the usual security headers', async () => {
    const res = await fetch(`${srv.url}/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)/);
  });

  it('is never open without consent: no token and no allowAnonymous throws', () => {
    const { store, dir } = openTempStore();
    try {
      expect(() => createWebRouter({ store, auth: { token: null }, now: () => NOW })).toThrow(
        /needs a token/,
      );
      expect(() =>
        createWebRouter({ store, auth: { token: null, allowAnonymous: true }, now: () => NOW }),
      ).not.toThrow();
    } finally {
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
  });

  it('serves the built assets without a session (they hold no cluster data)', async () => {
    const js = await fetch(`${srv.url}/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${srv.url}/assets/app.css`)).status).toBe(200);
  });
});

describe('graph view', () => {
  it('draws workloads, external and unresolved parties, and aggregated directed edges', async () => {
    const g = await getJson<ViewGraph>('/ui/api/graph');
    expect(g.meta.storedEdges).toBe(21);
    expect(g.meta.matchedEdges).toBe(21);
    expect(g.meta.overBudget).toBe(false);
    const kinds = new Map(g.nodes.map((n) => [n.name, n.kind]));
    expect(kinds.get('frontend')).toBe('workload');
    expect(kinds.get('198.51.100.7')).toBe('external');
    expect(kinds.get('10.0.9.9')).toBe('unresolved');
    expect(kinds.get(XSS_NAME)).toBe('workload');
    const e = g.edges.find(
      (x) => x.id === 'workload:/shop/Deployment/frontend>workload:/shop/Deployment/cartservice',
    );
    expect(e).toMatchObject({ ports: ['TCP/7070'], count: 400, edges: 1 });
    // Same data, same answer (stable order, stable ids).
    expect(await getJson<ViewGraph>('/ui/api/graph')).toEqual(g);
  });

  it('filters by namespace, protocol, port, external-only and search', async () => {
    const mon = await getJson<ViewGraph>('/ui/api/graph?ns=monitoring');
    expect(mon.meta.matchedEdges).toBe(2);
    const udp = await getJson<ViewGraph>('/ui/api/graph?proto=UDP');
    expect(udp.edges.map((e) => e.ports)).toEqual([['UDP/53']]);
    const redis = await getJson<ViewGraph>('/ui/api/graph?port=6379');
    expect(redis.nodes.map((n) => n.name).sort()).toEqual(['cartservice', 'redis-cart']);
    const ext = await getJson<ViewGraph>('/ui/api/graph?ext=1');
    expect(ext.edges).toHaveLength(1);
    expect(ext.edges[0]!.target).toBe('external:///198.51.100.7');
    const q = await getJson<ViewGraph>('/ui/api/graph?q=checkout');
    expect(q.meta.matchedEdges).toBe(7);
    const win = await getJson<ViewGraph>('/ui/api/graph?window=15m');
    expect(win.meta.matchedEdges).toBe(3); // prometheus ×2 (5 min ago), coredns (1 min ago)
  });

  it('answers gzip-compressed with an ETag, and 304 when the view is unchanged', async () => {
    const res = await fetch(`${srv.url}/ui/api/graph?ns=shop`, {
      headers: { ...auth, 'Accept-Encoding': 'gzip' },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(((await res.json()) as ViewGraph).meta.matchedEdges).toBeGreaterThan(0);
    const again = await fetch(`${srv.url}/ui/api/graph?ns=shop`, {
      headers: { ...auth, 'If-None-Match': etag },
    });
    expect(again.status).toBe(304);
  });

  it('collapses namespaces above the node budget and expands on demand', async () => {
    const g = await getJson<ViewGraph>('/ui/api/graph?budget=5');
    expect(g.meta.overBudget).toBe(true);
    const shop = g.nodes.find((n) => n.id === 'ns:shop');
    expect(shop).toMatchObject({ kind: 'namespace', members: 11 });
    expect(g.edges.find((e) => e.id === 'ns:shop>ns:shop')?.edges).toBe(15);
    const x = await getJson<ViewGraph>('/ui/api/graph?budget=5&expand=shop');
    expect(x.nodes.some((n) => n.id === 'workload:/shop/Deployment/frontend')).toBe(true);
    expect(x.nodes.some((n) => n.id === 'ns:monitoring')).toBe(true);
    const c = await getJson<ViewGraph>('/ui/api/graph?collapse=shop');
    expect(c.nodes.some((n) => n.id === 'ns:shop')).toBe(true);
    expect(c.meta.overBudget).toBe(false);
  });

  it('answers a bad filter with 400 invalid-query naming the value and the fix', async () => {
    const res = await fetch(`${srv.url}/ui/api/graph?window=2y`, { headers: auth });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('invalid-query');
    expect(body.message).toContain('"2y"');
    expect(body.message).toContain('15m');
    expect((await fetch(`${srv.url}/ui/api/graph?port=70000`, { headers: auth })).status).toBe(400);
  });

  it('suggests workloads for type-ahead, name-prefix matches first', async () => {
    const s = await getJson<{ namespaces: string[]; workloads: { name: string }[] }>(
      '/ui/api/suggest?q=cart',
    );
    expect(s.workloads.map((w) => w.name)).toEqual(['cartservice', 'redis-cart']);
    expect(s.namespaces).toEqual(['evil', 'kube-system', 'monitoring', 'shop']);
  });
});

describe('inspect', () => {
  it('shows a node with labels, clients and servers with times and counts, and says intents are unavailable', async () => {
    const d = await getJson<NodeDetail>(
      `/ui/api/node?id=${encodeURIComponent('workload:/shop/Deployment/frontend')}`,
    );
    if (d.type !== 'identity') throw new Error('expected an identity');
    expect(d.labels).toEqual({ app: 'frontend' });
    expect(d.servers.map((s) => `${s.peer.name}:${s.port}`)).toContain('cartservice:7070');
    const xss = d.clients.find((c) => c.peer.name === XSS_NAME);
    expect(xss).toMatchObject({ count: 7, protocol: 'TCP', port: 8080, firstSeen: NOW - 3 * 3_600_000 });
    expect(d.intents).toMatchObject({ available: false });
    expect(d.verdict).toMatchObject({ available: false });
  });

  it('shows a collapsed namespace with its members', async () => {
    const d = await getJson<NodeDetail>('/ui/api/node?id=ns:monitoring');
    expect(d).toMatchObject({ type: 'group', group: 'monitoring', edgesOut: 2, edgesIn: 0 });
  });

  it('shows an edge with its observations and DNS names', async () => {
    const d = await getJson<EdgeDetail>(
      `/ui/api/edge?source=${encodeURIComponent('workload:/shop/Deployment/paymentservice')}&target=${encodeURIComponent('external:///198.51.100.7')}`,
    );
    expect(d.edges).toHaveLength(1);
    expect(d.edges[0]).toMatchObject({
      port: 443,
      count: 35,
      dnsNames: ['api.payments.example'],
      sources: ['tcp-syn'],
    });
    expect(d.edges[0]!.endpoints).toHaveLength(1);
    expect(d.edges[0]!.policies).toMatchObject({ available: false });
  });

  it('answers an unknown node with 404 not-found, and exports without providers with 404', async () => {
    const res = await fetch(`${srv.url}/ui/api/node?id=nope`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not-found' });
    expect((await fetch(`${srv.url}/ui/api/intents.yaml`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${srv.url}/ui/api/report.html`, { headers: auth })).status).toBe(404);
  });
});

describe('live', () => {
  it('streams a diff when new edges are stored, not the whole graph', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${srv.url}/ui/api/events?ns=shop`, { headers: auth, signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const nextEvent = async (): Promise<{ event: string; data: string }> => {
      for (;;) {
        const end = buf.indexOf('\n\n');
        if (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
          if (event !== undefined) return { event, data };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += decoder.decode(value, { stream: true });
      }
    };
    expect((await nextEvent()).event).toBe('hello');
    seedEdges(srv.store, [
      {
        client: workload('shop', 'frontend'),
        server: workload('shop', 'newservice'),
        port: 8443,
        count: 2,
        firstSeen: NOW - 1000,
        lastSeen: NOW,
      },
    ]);
    notify();
    const ev = await nextEvent();
    expect(ev.event).toBe('diff');
    const diff = JSON.parse(ev.data) as ViewDiff;
    expect(diff.addedNodes.map((n) => n.name)).toEqual(['newservice']);
    expect(diff.addedEdges.map((e) => e.ports)).toEqual([['TCP/8443']]);
    expect(diff.removedNodes).toEqual([]);
    expect(diff.updatedNodes).toEqual([]);
    expect(diff.meta.storedEdges).toBe(22);
    ctrl.abort();
    await reader.cancel().catch(() => undefined);
  });
});

describe('empty store', () => {
  it('reports zero stored edges so the UI shows how to start a sniffer', async () => {
    const empty = await startWebServer({ assetsDir, now: () => NOW });
    try {
      const res = await fetch(`${empty.url}/ui/api/graph`, { headers: auth });
      const g = (await res.json()) as ViewGraph;
      expect(g.meta.storedEdges).toBe(0);
      expect(g.nodes).toEqual([]);
      const page = await fetch(`${empty.url}/`, { headers: auth });
      expect(await page.text()).toContain('intentmap sniff --iface eth0 --mapper');
    } finally {
      await empty.close();
    }
  });

  it('keeps party() and workload() identities distinct', () => {
    expect(party('external', '1.2.3.4').kind).toBe('external');
  });
});

describe('default providers (mapper/intents and mapper/report over the store)', () => {
  it('serves suggested intents, verdicts, and the HTML report', async () => {
    const real = await startWebServer({ assetsDir, now: () => NOW, seed: (s) => seedBoutique(s, NOW) });
    try {
      const get = async (path: string): Promise<Response> => fetch(`${real.url}${path}`, { headers: auth });
      const g = (await (await get('/ui/api/graph')).json()) as ViewGraph;
      expect(g.meta.verdicts).toBe(true);
      expect(g.meta.verdictsIncluded).toBe(false); // no report is built until a view asks for verdicts
      expect(g.meta.intents).toBe(true);
      const o = (await (await get('/ui/api/graph?overlay=1')).json()) as ViewGraph;
      expect(o.meta.verdictsIncluded).toBe(true);
      expect(o.nodes.find((n) => n.name === 'frontend')?.verdict).toBe('not-enough-evidence');
      const d = (await (
        await get(`/ui/api/node?id=${encodeURIComponent('workload:/shop/Deployment/frontend')}`)
      ).json()) as NodeDetail;
      if (d.type !== 'identity') throw new Error('expected an identity');
      expect(d.intents.available).toBe(true);
      const yaml = d.intents.available ? d.intents.yaml : '';
      expect(yaml).toContain('kind: ClientIntents');
      expect(yaml).toContain('apiVersion: k8s.otterize.com/v2beta1');
      expect(yaml).toContain('cartservice');
      expect(d.verdict.available).toBe(true);
      // An unresolved source and a client first seen 3 h ago (inside the quiet period) reached frontend.
      expect(d.verdict).toMatchObject({ value: 'not-enough-evidence' });
      const all = await get('/ui/api/intents.yaml?ns=shop');
      expect(all.status).toBe(200);
      expect(all.headers.get('content-disposition')).toBe('attachment; filename="intents.yaml"');
      const text = await all.text();
      expect(text.split(/^---$/m).length).toBeGreaterThan(3);
      const report = await get('/ui/api/report.html');
      expect(report.status).toBe(200);
      expect(report.headers.get('content-type')).toContain('text/html');
      expect(await report.text()).toContain('shop/frontend');
    } finally {
      await real.close();
    }
  });
});
