// Screenshots of the large benchmark graph (default view, one namespace expanded, overlay) into
// test-results/web/, to look at how the explorer reads at 2,000 workloads.
// Run: npm run build && node dist/bench/web/screens.js
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildUi } from '../../web/ui-build.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

async function main(): Promise<void> {
  const out = join(process.cwd(), 'test-results', 'web');
  mkdirSync(out, { recursive: true });
  const assets = mkdtempSync(join(tmpdir(), 'intentmap-screens-'));
  await buildUi({ outDir: assets });
  const script = join(dirname(fileURLToPath(import.meta.url)), 'server-child.js');
  const child = spawn(
    process.execPath,
    [
      script,
      '--namespaces',
      '100',
      '--workloads',
      '2000',
      '--first',
      '200',
      '--edges',
      '10000',
      '--assets',
      assets,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout }).once('line', resolve),
  );
  const { url } = JSON.parse(line) as { url: string };
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const ctx = await browser.newContext({
      viewport: { width: 1600, height: 960 },
      extraHTTPHeaders: { Authorization: 'Bearer bench-token-0123456789abcdef' },
    });
    const page = await ctx.newPage();
    for (const [name, q] of [
      ['10-large-default', ''],
      ['11-large-expanded', 'expand=team-000'],
      ['12-large-namespace', 'ns=team-003'],
      ['13-large-overlay', 'ns=team-003&overlay=1'],
    ] as const) {
      await page.goto(`${url}/${q === '' ? '' : `?${q}`}`);
      await page.waitForSelector('html[data-state="ready"]', { timeout: 60_000 });
      await page.screenshot({ path: join(out, `${name}.png`) });
    }
  } finally {
    await browser.close();
    child.stdin.end();
    rmSync(assets, { recursive: true, force: true });
  }
}

await main();
