// A before/after check for changes to the aggregation (sniffer/aggregate.ts) and its offline
// writer: prints, one JSON line each, the MD5 and line count of what `sniff --pcap F --format
// aggregate` writes for every capture under test/fixtures/captures (with the default options,
// with --udp-flows, and with --report-interval 100ms, which closes many more intervals) and for
// the synthetic decode-bench capture (bench/sniffer/synthetic-capture.ts). Run it on the code
// before and after a change and compare the two outputs: they must be identical.
// Usage: node dist/bench/sniffer/aggregate-digest.js [--packets N] [--skip-synthetic] > digest.ndjson
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { aggregateCaptureFile } from '../../sniffer/offline.js';
import { repoPath } from '../../test/lab/bundle.js';
import { writeSyntheticCapture } from './synthetic-capture.js';

/** The CLI's default --report-interval. */
const DEFAULT_INTERVAL_MS = 5_000;

/** The option sets each capture is aggregated with. */
const VARIANTS = [
  { name: 'default', udpFlows: false, intervalMs: DEFAULT_INTERVAL_MS },
  { name: 'udp-flows', udpFlows: true, intervalMs: DEFAULT_INTERVAL_MS },
  { name: 'interval-100ms', udpFlows: false, intervalMs: 100 },
] as const;

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Every pcap and pcapng file under `dir`, sorted. */
function findCaptures(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findCaptures(path));
    else if (/\.pcap(ng)?$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** MD5 and line count of the aggregated output of one capture, or the error it ended with. */
async function digest(
  file: string,
  variant: (typeof VARIANTS)[number],
): Promise<{ md5: string; lines: number } | { error: string }> {
  const hash = createHash('md5');
  let lines = 0;
  try {
    await aggregateCaptureFile({
      file,
      intervalMs: variant.intervalMs,
      udpFlows: variant.udpFlows,
      output: {
        closed: false,
        releasesChunks: true,
        write(chunk) {
          hash.update(chunk);
          for (const byte of chunk) if (byte === 0x0a) lines++;
        },
      },
    });
  } catch (err) {
    return { error: (err as Error).message };
  }
  return { md5: hash.digest('hex'), lines };
}

async function main(): Promise<void> {
  const root = repoPath('test/fixtures/captures');
  for (const file of findCaptures(root)) {
    for (const variant of VARIANTS) {
      const d = await digest(file, variant);
      console.log(JSON.stringify({ capture: relative(root, file), variant: variant.name, ...d }));
    }
  }
  if (process.argv.includes('--skip-synthetic')) return;
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-aggregate-digest-'));
  try {
    const file = join(dir, 'dns-tcp.pcap');
    const packets = writeSyntheticCapture(file, argValue('--packets', 2_000_000));
    const d = await digest(file, VARIANTS[0]);
    console.log(JSON.stringify({ capture: `synthetic ${packets} packets`, variant: 'default', ...d }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
