// The explorer in real Chromium (Debian's /usr/bin/chromium driven by playwright-core): load,
// filter, inspect, the verdict overlay, exports, live diffs, the XSS pod name, the empty state,
// and zero CSP violations. Screenshots go to test-results/web/ (gitignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../web/ui-build.js';
import {
  seedBoutique,
  seedEdges,
  startWebServer,
  workload,
  XSS_NAME,
  type WebTestServer,
} from './harness.js';
import { suggestedIntentsProvider } from '../../web/server/adapters.js';
import { tableReport } from './providers.js';

const TOKEN = 'browser-token-0123456789';
const NOW = Date.now();
const SHOTS = join(process.cwd(), 'test-results', 'web');
/** Chromium flags for a closed network, as root (see the machine notes). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let assetsDir: string;
let srv: WebTestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let notify: () => void = () => undefined;
const dialogs: string[] = [];
const cspViolations: string[] = [];
const consoleErrors: string[] = [];

const nodeSel = (id: string): string => `#graph g.node[data-id="${id.replace(/"/g, '\\"')}"]`;
const FRONTEND = 'workload:/shop/Deployment/frontend';
const XSS_ID = `workload:/evil/Deployment/${XSS_NAME}`;

async function watch(p: Page): Promise<void> {
  p.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  p.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Refused to load: CSP violation ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function ready(p: Page): Promise<void> {
  await p.waitForSelector('html[data-state="ready"]');
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  assetsDir = mkdtempSync(join(tmpdir(), 'intentmap-ui-'));
  await buildUi({ outDir: assetsDir });
  srv = await startWebServer({
    auth: { token: TOKEN },
    now: () => NOW,
    assetsDir,
    seed: (s) => seedBoutique(s, NOW),
    intents: suggestedIntentsProvider(),
    report: tableReport(
      {
        cartservice: 'safe',
        productcatalogservice: 'safe',
        frontend: 'would-block',
        'redis-cart': 'enforced',
        currencyservice: 'not-enough-evidence',
      },
      [XSS_NAME, '10.0.9.9'],
    ),
    live: {
      pollIntervalMs: 3_600_000,
      subscribe: (fn) => {
        notify = fn;
        return () => (notify = () => undefined);
      },
    },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  context = await browser.newContext({ viewport: { width: 1600, height: 960 }, acceptDownloads: true });
  page = await context.newPage();
  await watch(page);
});

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  rmSync(assetsDir, { recursive: true, force: true });
});

describe('web explorer in Chromium', () => {
  it('signs in through the login page and loads the graph', async () => {
    await page.goto(`${srv.url}/`);
    await page.waitForSelector('form[action="/login"]');
    await page.screenshot({ path: join(SHOTS, '01-login.png') });
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(`${srv.url}/`), page.click('button[type="submit"]')]);
    await ready(page);
    expect(await page.locator('#graph g.node').count()).toBe(16);
    expect(await page.locator('#graph path.edge').count()).toBe(21);
    expect(await page.locator('#graph g.group').count()).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.locator('#live').getAttribute('class')).toBe('live on');
    await page.screenshot({ path: join(SHOTS, '02-graph.png') });
  });

  it('draws the same picture after a reload (stable layout)', async () => {
    const positions = async (): Promise<string[]> =>
      page
        .locator('#graph g.node')
        .evaluateAll((els) =>
          els.map((e) => `${e.getAttribute('data-id')}@${e.getAttribute('transform')}`).sort(),
        );
    const before = await positions();
    await page.reload();
    await ready(page);
    expect(await positions()).toEqual(before);
  });

  it('shows the XSS-named pod literally, runs nothing, and keeps it literal in the inspector', async () => {
    const label = page.locator(`${nodeSel(XSS_ID)} text.label`);
    expect(await label.textContent()).toBe('<img src=x onerror=al…');
    expect(await page.locator(`${nodeSel(XSS_ID)} title`).textContent()).toContain(XSS_NAME);
    await page.locator(nodeSel(XSS_ID)).click();
    await expect.poll(() => page.locator('#inspector h2.title').textContent()).toBe(XSS_NAME);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: join(SHOTS, '03-xss-pod.png') });
  });

  it('filters by namespace and keeps the view in the URL', async () => {
    await page.selectOption('#f-ns', 'monitoring');
    await expect.poll(() => page.url()).toContain('ns=monitoring');
    await ready(page);
    await expect.poll(() => page.locator('#graph g.node').count()).toBe(3);
    const names = await page.locator('#graph g.node text.label').allTextContents();
    expect(names.sort()).toEqual(['cartservice', 'frontend', 'prometheus']);
    // A shared link restores the same view.
    const shared = await context.newPage();
    await watch(shared);
    await shared.goto(page.url());
    await ready(shared);
    expect(await shared.locator('#graph g.node').count()).toBe(3);
    expect(await shared.locator('#f-ns').inputValue()).toBe('monitoring');
    await shared.close();
    await page.click('#f-reset');
    await ready(page);
    await expect.poll(() => page.locator('#graph g.node').count()).toBe(16);
  });

  it('offers type-ahead workload search and filters by it', async () => {
    await page.fill('#f-q', 'check');
    await expect
      .poll(() =>
        page.locator('#f-q-list option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
      )
      .toContain('shop/checkoutservice');
    await page.fill('#f-q', 'shop/checkoutservice');
    await page.press('#f-q', 'Enter');
    await expect.poll(() => page.url()).toContain('q=shop%2Fcheckoutservice');
    await ready(page);
    await expect.poll(() => page.locator('#graph g.node').count()).toBe(8);
    await page.click('#f-reset');
    await ready(page);
  });

  it('inspects a node: identity, labels, flows, suggested intents with copy and download', async () => {
    await page.locator(nodeSel(FRONTEND)).click();
    await expect.poll(() => page.locator('#inspector h2.title').textContent()).toBe('frontend');
    expect(page.url()).toContain(`focus=${encodeURIComponent(FRONTEND)}`);
    const yaml = (await page.locator('#intents-yaml').textContent()) ?? '';
    expect(yaml).toContain('kind: ClientIntents');
    expect(yaml).toContain('name: cartservice');
    await expect.poll(() => page.locator('#inspector table.flows').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#inspector .label-chip').allTextContents()).toEqual(['app=frontend']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-intents')]);
    expect(download.suggestedFilename()).toBe('shop-frontend.intents.yaml');
    expect(readFileSync(await download.path(), 'utf8')).toBe(yaml);
    await page.screenshot({ path: join(SHOTS, '04-inspect-node.png') });
  });

  it('inspects an edge: observations, DNS names and deciding policies', async () => {
    await page
      .locator(
        `#graph path.edge[data-id="workload:/shop/Deployment/paymentservice>external:///198.51.100.7"]`,
      )
      .dispatchEvent('click');
    await expect.poll(() => page.locator('#inspector .edge-card').count()).toBe(1);
    const card = (await page.locator('#inspector .edge-card').textContent()) ?? '';
    expect(card).toContain('api.payments.example');
    expect(card).toContain('TCP/443');
    await page.screenshot({ path: join(SHOTS, '05-inspect-edge.png') });
  });

  it('toggles the verdict overlay: servers coloured, blocked edges red, a legend', async () => {
    await page.check('#overlay');
    await expect.poll(() => page.locator('#graph').getAttribute('class')).toContain('overlay');
    expect(page.url()).toContain('overlay=1');
    expect(await page.locator(`${nodeSel(FRONTEND)}`).getAttribute('class')).toContain('verdict-would-block');
    const blocked = page.locator('#graph path.edge.blocked');
    expect(await blocked.count()).toBe(2);
    const stroke = await blocked.first().evaluate((e) => getComputedStyle(e).stroke);
    expect(stroke).toBe('rgb(220, 38, 38)');
    expect(await page.locator('#legend').textContent()).toContain('would block');
    await page.screenshot({ path: join(SHOTS, '06-verdict-overlay.png') });
  });

  it('exports the graph as SVG and PNG', async () => {
    await page.click('#export-menu summary');
    const [svgDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
    expect(svgDl.suggestedFilename()).toMatch(/^intentmap-graph-.*\.svg$/);
    const svg = readFileSync(await svgDl.path(), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('frontend');
    expect(svg).toContain('&lt;img src=x onerror=al');
    expect(svg).not.toContain('<img');
    expect(svg).toContain('<style>');
    await page.click('#export-menu summary');
    const [pngDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    const png = readFileSync(await pngDl.path());
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeGreaterThan(10_000);
  });

  it('exports the intents of the current filter as a zip, one file per client, next to the YAML', async () => {
    await page.click('#export-menu summary');
    const link = page.locator('#export-intents-zip');
    expect(await link.getAttribute('href')).toBe(
      (await page.locator('#export-intents').getAttribute('href'))?.replace('intents.yaml', 'intents.zip'),
    );
    const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(dl.suggestedFilename()).toBe('intents.zip');
    const file = join(SHOTS, 'intents.zip');
    await dl.saveAs(file);
    expect(execFileSync('unzip', ['-t', file], { encoding: 'utf8' })).toContain('No errors detected');
    const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toContain('shop/Deployment-frontend.yaml');
    expect(
      execFileSync('unzip', ['-p', file, 'shop/Deployment-frontend.yaml'], { encoding: 'utf8' }),
    ).toContain('kind: ClientIntents');
  });

  it('applies live diffs: a new edge appears without a reload, existing elements are kept', async () => {
    await page.locator(nodeSel(FRONTEND)).evaluate((e) => ((e as unknown as { __mark: number }).__mark = 42));
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
    await page.waitForSelector(nodeSel('workload:/shop/Deployment/newservice'));
    expect(
      await page.locator(nodeSel(FRONTEND)).evaluate((e) => (e as unknown as { __mark?: number }).__mark),
    ).toBe(42);
    expect(await page.locator('#graph path.edge.fresh').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, '07-live.png') });
  });

  it('collapses a namespace over the budget and expands it on demand', async () => {
    await page.goto(`${srv.url}/?collapse=shop`);
    await ready(page);
    expect(await page.locator(nodeSel('ns:shop')).count()).toBe(1);
    await page.locator(nodeSel('ns:shop')).click();
    await page.click('#expand-group');
    await expect.poll(() => page.locator(nodeSel(FRONTEND)).count()).toBe(1);
    expect(page.url()).toContain('expand=shop');
    await ready(page);
    await page.screenshot({ path: join(SHOTS, '09-expanded.png') });
  });

  it('shows a helpful empty state on an empty database', async () => {
    const empty = await startWebServer({ auth: { token: TOKEN }, assetsDir, now: () => NOW });
    const ctx = await browser.newContext({
      viewport: { width: 1400, height: 860 },
      extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` },
    });
    try {
      const p = await ctx.newPage();
      await watch(p);
      await p.goto(`${empty.url}/`);
      await ready(p);
      expect(await p.locator('#empty-state').isVisible()).toBe(true);
      expect(await p.locator('#empty-state').textContent()).toContain(
        'intentmap sniff --iface eth0 --mapper',
      );
      await p.screenshot({ path: join(SHOTS, '08-empty.png') });
    } finally {
      await ctx.close();
      await empty.close();
    }
  });

  it('had no CSP violations, no dialogs and no console errors', () => {
    expect(cspViolations).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
