// Decode throughput benchmark of `intentmap sniff --pcap` (issue 3 targets): generates
// deterministic 2,000,000-packet captures into a temp dir (bench/sniffer/synthetic-capture.ts):
// `observations`, DNS responses (UDP and TCP) and TCP SYN/SYN-ACK only, every packet an
// observation (the worst case, what the live sniffer's kernel filter lets through), and `mixed`,
// whole connections with data, ACKs, FINs and DNS queries (what `tcpdump -i any` records on a node,
// about one packet in four an observation). On each file, in the same run, it times:
//   - `node dist/mapper/cli/main.js sniff --pcap F --format ndjson > /dev/null` (the product),
//   - the same with `--format aggregate` (one line per aggregated record; once),
//   - in this process, the same offline path (sniffCaptureFile: read, decode, ndjson bytes)
//     with the bytes counted and dropped instead of written (no process start-up, no write),
//   - in this process, reader + decoder building observation objects (the live and replay path),
//   - `tcpdump -r F -w /dev/null` (the raw libpcap read: the practical limit),
//   - `tshark -r F -T fields -e frame.number` (a full decoder),
// and prints packets/s of each with the ratios against the targets (≥ 0.25× tcpdump, ≥ 20× tshark).
// Usage: node dist/bench/sniffer/decode.js [--packets N] [--runs R] [--profile observations|mixed|both]
//          [--skip-tshark] [--skip-aggregate]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaptureFile } from '../../sniffer/capture/file-source.js';
import { createPacketDecoder } from '../../sniffer/decode/packet-decoder.js';
import { sniffCaptureFile } from '../../sniffer/offline.js';
import { writeSyntheticCapture, type CaptureProfile } from './synthetic-capture.js';

interface Timing {
  readonly wallMs: number;
  /** User + system CPU of the measured process (children via /usr/bin/time), when known. */
  readonly cpuMs: number | null;
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Runs a command with stdout to /dev/null; returns wall time and, via /usr/bin/time, CPU time. */
async function timeCommand(cmd: string, args: readonly string[]): Promise<Timing> {
  const useTime = existsSync('/usr/bin/time');
  const devnull = openSync('/dev/null', 'w');
  const started = performance.now();
  const child = spawn(
    useTime ? '/usr/bin/time' : cmd,
    useTime ? ['-f', '@@cpu %U %S', cmd, ...args] : [...args],
    {
      stdio: ['ignore', devnull, 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallMs = performance.now() - started;
  closeSync(devnull);
  if (code !== 0) throw new Error(`${cmd} exited with ${String(code)}: ${stderr.slice(-500)}`);
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  return { wallMs, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null };
}

/** The offline path of `sniff --pcap` in this process: ndjson bytes made, counted and dropped. */
async function timeOfflineInProcess(file: string): Promise<Timing & { observations: number; bytes: number }> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  const summary = await sniffCaptureFile({
    file,
    output: { closed: false, write: (chunk) => void (bytes += chunk.length) },
  });
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs: performance.now() - started,
    cpuMs: (cpu.user + cpu.system) / 1000,
    observations: summary.stats.observations,
    bytes,
  };
}

/** Reader + decoder building observation objects (`decode()`: the live capture and replay path). */
async function timeObjectsInProcess(file: string): Promise<Timing & { observations: number }> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const decoder = createPacketDecoder();
  await readCaptureFile(file, (parser) => {
    for (let r = parser.next(); r !== null; r = parser.next()) decoder.decode(r.linkType, r.data, r.tsNs);
    return true;
  });
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs: performance.now() - started,
    cpuMs: (cpu.user + cpu.system) / 1000,
    observations: decoder.stats.observations,
  };
}

/** Best (lowest wall time) of `runs` runs: the machine is shared, the minimum is the least disturbed. */
async function best<T extends Timing>(runs: number, f: () => Promise<T>): Promise<T> {
  let result: T | null = null;
  for (let i = 0; i < runs; i++) {
    const t = await f();
    if (result === null || t.wallMs < result.wallMs) result = t;
  }
  return result!;
}

function rate(packets: number, ms: number | null): string {
  return ms === null ? '-' : `${Math.round((packets / ms) * 1000).toLocaleString('en-US')}`;
}

async function main(): Promise<void> {
  const packets = argValue('--packets', 2_000_000);
  const runs = argValue('--runs', 3);
  const skipTshark = process.argv.includes('--skip-tshark');
  const skipAggregate = process.argv.includes('--skip-aggregate');
  const i = process.argv.indexOf('--profile');
  const chosen = i >= 0 ? process.argv[i + 1] : 'both';
  if (chosen !== 'observations' && chosen !== 'mixed' && chosen !== 'both')
    throw new Error(`--profile ${String(chosen)}: use observations, mixed or both`);
  const profiles: CaptureProfile[] = chosen === 'both' ? ['observations', 'mixed'] : [chosen];
  for (const profile of profiles) await benchProfile(profile, packets, runs, skipTshark, skipAggregate);
}

/** Times every tool on one synthetic capture of `profile`. */
async function benchProfile(
  profile: CaptureProfile,
  packets: number,
  runs: number,
  skipTshark: boolean,
  skipAggregate: boolean,
): Promise<void> {
  const cli = join(import.meta.dirname, '..', '..', 'mapper', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-sniffer-'));
  try {
    const file = join(dir, `${profile}.pcap`);
    const written = writeSyntheticCapture(file, packets, profile);
    const mb = statSync(file).size / 1048576;
    console.log(`\n## profile ${profile}: ${written} packets, ${mb.toFixed(0)} MB (${file})`);

    const rows: [string, Timing][] = [];
    const load = (): string =>
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    console.log(`${new Date().toISOString()} load average (1, 5, 15 min) at start: ${load()}`);
    console.log(
      'timing intentmap sniff, the in-process paths, tcpdump' + (skipTshark ? '' : ', tshark') + ' ...',
    );
    rows.push([
      'intentmap sniff --pcap F --format ndjson > /dev/null',
      await best(runs, () =>
        timeCommand(process.execPath, [cli, 'sniff', '--pcap', file, '--format', 'ndjson']),
      ),
    ]);
    // The aggregated output (one line per record the live sniffer would report): once, it is slow
    // on this capture, where nearly every observation is a distinct record.
    if (!skipAggregate)
      rows.push([
        'intentmap sniff --pcap F --format aggregate > /dev/null',
        await timeCommand(process.execPath, [cli, 'sniff', '--pcap', file, '--format', 'aggregate']),
      ]);
    const offline = await best(runs, () => timeOfflineInProcess(file));
    rows.push(['in-process: read + decode + ndjson bytes, not written', offline]);
    const objects = await best(runs, () => timeObjectsInProcess(file));
    rows.push(['in-process: read + decode to objects (live/replay path)', objects]);
    rows.push([
      'tcpdump -r F -w /dev/null',
      await best(runs, () => timeCommand('tcpdump', ['-r', file, '-w', '/dev/null'])),
    ]);
    if (!skipTshark)
      rows.push([
        'tshark -r F -T fields -e frame.number',
        await timeCommand('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number']),
      ]);
    console.log(`load average at end: ${load()}`);
    console.log('\n| tool | wall s | packets/s (wall) | CPU s | packets/s (CPU) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, t] of rows) {
      console.log(
        `| ${name} | ${(t.wallMs / 1000).toFixed(2)} | ${rate(written, t.wallMs)} | ${t.cpuMs === null ? '-' : (t.cpuMs / 1000).toFixed(2)} | ${rate(written, t.cpuMs)} |`,
      );
    }
    const sniff = rows[0]![1];
    const tcpdump = rows.find(([n]) => n.startsWith('tcpdump'))![1];
    const tshark = rows.find(([n]) => n.startsWith('tshark'))?.[1];
    const ratio = (a: number, b: number): string => (b / a).toFixed(3);
    console.log(`\nsniff = intentmap sniff --pcap F --format ndjson`);
    console.log(`sniff / tcpdump (wall): ${ratio(sniff.wallMs, tcpdump.wallMs)}× (target ≥ 0.25×)`);
    if (sniff.cpuMs !== null && tcpdump.cpuMs !== null)
      console.log(`sniff / tcpdump (CPU):  ${ratio(sniff.cpuMs, tcpdump.cpuMs)}×`);
    console.log(`in-process ndjson / tcpdump (wall): ${ratio(offline.wallMs, tcpdump.wallMs)}×`);
    console.log(`in-process objects / tcpdump (wall): ${ratio(objects.wallMs, tcpdump.wallMs)}×`);
    const aggregate = rows.find(([n]) => n.includes('--format aggregate'))?.[1];
    if (aggregate !== undefined) {
      console.log(`sniff --format aggregate / tcpdump (wall): ${ratio(aggregate.wallMs, tcpdump.wallMs)}×`);
      if (tshark !== undefined)
        console.log(`sniff --format aggregate / tshark (wall): ${ratio(aggregate.wallMs, tshark.wallMs)}×`);
    }
    if (tshark !== undefined) {
      console.log(`sniff / tshark (wall):  ${ratio(sniff.wallMs, tshark.wallMs)}× (target ≥ 20×)`);
      if (sniff.cpuMs !== null && tshark.cpuMs !== null)
        console.log(`sniff / tshark (CPU):   ${ratio(sniff.cpuMs, tshark.cpuMs)}×`);
    }
    console.log(
      `observations: ${offline.observations} (objects path: ${objects.observations}); ndjson: ${(offline.bytes / 1048576).toFixed(0)} MB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
