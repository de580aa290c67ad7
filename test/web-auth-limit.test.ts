// Failed sign-in limiting over real HTTP: wrong tokens per client address on the login form, the
// UI API and GET /api/v1/graph (one shared count), 429 with Retry-After once over the limit, the
// right token refused too while blocked (no oracle), sessions unaffected, and the window sliding
// with an injected clock. Plus the limiter's own rules.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FailedAuthLimiter, MAX_TRACKED_ADDRESSES, clientKey } from '../mapper/api/auth-limiter.js';
import type { GraphStore } from '../mapper/store/index.js';
import { createWebRouter } from '../web/server/index.js';
import { openTempStore, seedBoutique } from './browser/harness.js';
import { createInProcessMapper } from './helpers/in-process-mapper.js';

const TOKEN = 'limit-token-0123456789';
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

describe('FailedAuthLimiter', () => {
  it('blocks after maxFailures within the window and slides', () => {
    const l = new FailedAuthLimiter({ maxFailures: 3, windowMs: 60_000 });
    l.fail('a', 0);
    l.fail('a', 10_000);
    expect(l.check('a', 10_000)).toEqual({ blocked: false });
    l.fail('a', 20_000);
    expect(l.check('a', 20_000)).toEqual({ blocked: true, retryAfterSeconds: 40 });
    expect(l.check('b', 20_000)).toEqual({ blocked: false });
    // The first failure leaves the window at 60 s: two remain, below the limit.
    expect(l.check('a', 60_000)).toEqual({ blocked: false });
    l.fail('a', 61_000);
    expect(l.check('a', 61_000)).toEqual({ blocked: true, retryAfterSeconds: 9 });
    expect(l.check('a', 200_000)).toEqual({ blocked: false });
    expect(l.stats().tracked).toBe(1 - 1); // forgotten once every failure aged out
  });

  it('stays bounded in memory', () => {
    const l = new FailedAuthLimiter({ maxFailures: 1 });
    for (let i = 0; i <= MAX_TRACKED_ADDRESSES; i++) l.fail(`k${i}`, 0);
    expect(l.stats()).toEqual({ tracked: MAX_TRACKED_ADDRESSES, evicted: 1 });
    expect(l.check('k0', 0)).toEqual({ blocked: false });
    expect(l.check(`k${MAX_TRACKED_ADDRESSES}`, 0).blocked).toBe(true);
  });

  it('keys IPv4 as is, unwraps IPv4-mapped IPv6, and counts IPv6 per /64', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('refuses nonsense limits', () => {
    expect(() => new FailedAuthLimiter({ maxFailures: 0 })).toThrow(/maxFailures/);
    expect(() => new FailedAuthLimiter({ windowMs: 0 })).toThrow(/windowMs/);
  });
});

describe('over real HTTP', () => {
  let store: GraphStore;
  let dir: string;
  let server: Server;
  let base: string;
  let now = T0;
  let limiter: FailedAuthLimiter;

  beforeAll(async () => {
    ({ store, dir } = openTempStore());
    seedBoutique(store, T0);
    limiter = new FailedAuthLimiter({ maxFailures: 3, windowMs: 60_000 });
    const web = createWebRouter({
      store,
      auth: { token: TOKEN },
      now: () => now,
      intents: null,
      report: null,
      authLimiter: limiter,
    });
    const { app: mapperApp } = createInProcessMapper({
      store,
      token: TOKEN,
      now: () => now,
      authLimiter: limiter,
      extraRouters: [{ path: '/', router: web, serveCached: web.serveCached }],
    });
    server = createServer((req, res) => {
      if (!mapperApp.serveCached(req, res)) void mapperApp.app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    now += 10 * 60_000; // a fresh window for each test
  });

  const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
  const login = (token: string): Promise<Response> =>
    fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, next: '/' }).toString(),
    });

  it('answers 429 with Retry-After after 3 wrong tokens on the login form, even to the right token', async () => {
    // A session obtained before the attack keeps working throughout.
    const ok = await login(TOKEN);
    expect(ok.status).toBe(303);
    const session = (ok.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    for (let i = 0; i < 3; i++) expect((await login(`wrong-token-${i}-xxxx`)).status).toBe(401);
    const blocked = await login(TOKEN);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(await blocked.text()).toContain('Too many failed sign-ins');
    const api = await fetch(`${base}/ui/api/graph`, { headers: bearer(TOKEN) });
    expect(api.status).toBe(429);
    expect(api.headers.get('retry-after')).toBe('60');
    expect(((await api.json()) as { code: string }).code).toBe('too-many-attempts');
    expect((await fetch(`${base}/api/v1/graph?namespace=shop`, { headers: bearer(TOKEN) })).status).toBe(429);
    expect((await fetch(`${base}/ui/api/graph`, { headers: { Cookie: session } })).status).toBe(200);
    expect((await fetch(`${base}/`, { headers: { Cookie: session }, redirect: 'manual' })).status).not.toBe(
      429,
    );
    // 30 s later the first failure is still in the window; 60 s after it, the address may try again.
    now += 30_000;
    const later = await fetch(`${base}/ui/api/graph`, { headers: bearer(TOKEN) });
    expect(later.status).toBe(429);
    expect(later.headers.get('retry-after')).toBe('30');
    now += 30_000;
    expect((await fetch(`${base}/ui/api/graph`, { headers: bearer(TOKEN) })).status).toBe(200);
  });

  it('counts wrong bearer tokens on the UI API and /api/v1/graph together, not missing ones or stale sessions', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/ui/api/graph`)).status).toBe(401);
    for (let i = 0; i < 5; i++)
      expect(
        (await fetch(`${base}/ui/api/graph`, { headers: { Cookie: 'intentmap_session=expired-or-unknown' } }))
          .status,
      ).toBe(401);
    expect((await fetch(`${base}/ui/api/graph?ns=shop`, { headers: bearer(TOKEN) })).status).toBe(200);
    expect((await fetch(`${base}/ui/api/graph`, { headers: bearer('wrong-token-aaaa') })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/graph`, { headers: bearer('wrong-token-bbbb') })).status).toBe(401);
    expect((await fetch(`${base}/ui/api/graph`, { headers: bearer('wrong-token-cccc') })).status).toBe(401);
    // Blocked now, also for a cached view the fast path could answer.
    const r = await fetch(`${base}/ui/api/graph?ns=shop`, { headers: bearer(TOKEN) });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(`${base}/api/v1/graph`, { headers: bearer('wrong-token-dddd') })).status).toBe(429);
  });
});
