// Every capture folder in test/fixtures/captures (discovered at run time) decodes to exactly the
// observations of its expected.ndjson, compared as README.md says; nothing of excluded.ndjson is
// reported; malformed frames are survived. The decoding runs through sniffCaptureFile, the code
// path of `intentmap sniff --pcap`; a few captures also go through the built CLI.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../bench/sniffer/synthetic-capture.js';
import { sniffCaptureFile } from '../sniffer/offline.js';
import {
  compareObservations,
  compareUdpFlows,
  listCaptureCases,
  type CaptureCase,
} from './sniffer-capture-compare.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'mapper', 'cli', 'main.js');
const cases = listCaptureCases();

/** Decodes a capture the way the CLI does and returns its ndjson lines. */
async function decodeLines(file: string, udpFlows: boolean): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  await sniffCaptureFile({ file, udpFlows, output: { closed: false, write: (c) => void chunks.push(c) } });
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

function splitFlows(lines: readonly string[]): { observations: string[]; flows: string[] } {
  const flows = lines.filter((l) => l.startsWith('{"type":"udp-flow"'));
  return { observations: lines.filter((l) => !l.startsWith('{"type":"udp-flow"')), flows };
}

const README_KEYS: Record<string, string> = {
  dns: 'type,ts,client,server,id,qname,qtype,rcode,answers,transport',
  'tcp-syn': 'type,ts,src,sport,dst,dport',
  'tcp-synack': 'type,ts,src,sport,dst,dport',
  'udp-flow': 'type,ts,src,dst,dport,packets',
};

function checkFormat(line: string): void {
  const o = JSON.parse(line) as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => k !== 'questions');
  expect(keys.join(','), line).toBe(README_KEYS[String(o.type)]);
  if (o.ts !== null) expect(o.ts, line).toMatch(/^\d+\.\d{9}$/);
}

describe('capture corpus', () => {
  it('finds capture folders', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  describe.each(cases.map((c) => [c.name, c] as [string, CaptureCase]))('%s', (_name, c) => {
    it('decodes to expected.ndjson (multiset), reports nothing excluded', async () => {
      const { observations, flows } = splitFlows(await decodeLines(c.file, c.udpFlows !== null));
      for (const line of observations) checkFormat(line);
      expect(compareObservations(c, observations)).toEqual({
        missing: [],
        unexpected: [],
        excludedReported: [],
      });
      if (c.udpFlows !== null) {
        expect(compareUdpFlows(c.udpFlows, flows)).toEqual({
          missing: [],
          unexpected: [],
          excludedReported: [],
        });
      }
    });
  });
});

describe('the built CLI', () => {
  let tmp = '';
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'intentmap-sniff-'));
    if (!existsSync(CLI)) {
      // Normally test/global-setup.ts builds dist/; build here when it was skipped.
      await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT }).catch(() => undefined);
    }
  }, 300_000);
  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  const cliCases = [
    'pcapplusplus-many-interfaces',
    'zeek-dns-edns-ecs',
    'ndpi-fuzz-2006-be',
    'pcapplusplus-nanosecs-be',
    'suricata-dns-reversed-tcp',
  ];
  it.each(cliCases)('sniff --pcap %s --format ndjson matches expected.ndjson', async (name) => {
    const c = cases.find((x) => x.name === name);
    if (c === undefined) return; // folder not in this corpus
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, 'sniff', '--pcap', c.file, '--format', 'ndjson'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const lines = stdout.split('\n').filter((l) => l.length > 0);
    expect(compareObservations(c, lines)).toEqual({ missing: [], unexpected: [], excludedReported: [] });
    expect(stderr).toMatch(/sniff: \d+ packets, \d+ observations, \d+ malformed, \d+ fragments, [\d.]+ s/);
  });

  it('stops cleanly on a damaged file, naming the offset', async () => {
    const c = cases.find((x) => x.name === 'pcapplusplus-fuzz-damaged-file');
    if (c === undefined) return;
    const { stderr } = await run(process.execPath, [CLI, 'sniff', '--pcap', c.file]);
    expect(stderr).toMatch(/damaged or cut short at offset \d+ \(record-too-large/);
  });

  it('rejects a file that is not a capture with the file name and offset', async () => {
    const file = join(tmp, 'notes.txt');
    writeFileSync(file, 'hello, this is not a pcap\n');
    const err = await run(process.execPath, [CLI, 'sniff', '--pcap', file]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain(`"${file}" is not a pcap or pcapng file (offset 0`);
  });

  it('exits quietly when the reader goes away (| head)', async () => {
    const file = join(tmp, 'synthetic.pcap');
    writeSyntheticCapture(file, 60_000);
    const child = spawn(process.execPath, [CLI, 'sniff', '--pcap', file, '--format', 'ndjson'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstLine = await new Promise<string>((resolve) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          child.stdout.destroy(); // what `head -1` does: read one line, close the pipe
          resolve(buf.slice(0, nl));
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(JSON.parse(firstLine)).toHaveProperty('type');
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|unexpected|Error/);
  });

  it("the bench's mixed profile: of whole connections, only handshakes and DNS responses are reported", async () => {
    // 32 cycles: 2 of them (0 and 16) add a DNS-over-TCP lookup. Data segments, ACKs, FINs and DNS
    // queries yield nothing; each cycle yields 4 handshake lines and 2 DNS responses.
    const file = join(tmp, 'mixed.pcap');
    const packets = writeSyntheticCapture(file, 32 * 22 + 2 * 6, 'mixed');
    expect(packets).toBe(32 * 22 + 2 * 6);
    const lines = await decodeLines(file, false);
    const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
    const count = (t: string): number => types.filter((x) => x === t).length;
    expect(count('tcp-syn')).toBe(32 * 2 + 2);
    expect(count('tcp-synack')).toBe(32 * 2 + 2);
    expect(count('dns')).toBe(32 * 2 + 2);
    expect(lines).toHaveLength(32 * 6 + 2 * 3);
    const tcpDns = lines.filter((l) => l.includes('"transport":"tcp"'));
    expect(tcpDns.map((l) => (JSON.parse(l) as { qname: string }).qname)).toEqual([
      'tcp-svc0.shop.svc.cluster.local',
      'tcp-svc16.shop.svc.cluster.local',
    ]);
    for (const l of lines) checkFormat(l);
  });

  it('--format aggregate writes the records the live sniffer would report, per interval', async () => {
    // Two cycles of the bench generator: 10 handshakes and 10 DNS responses, 1.35 ms of capture.
    const file = join(tmp, 'two-cycles.pcap');
    writeSyntheticCapture(file, 28);
    const { stdout, stderr } = await run(process.execPath, [
      CLI,
      'sniff',
      '--pcap',
      file,
      '--format',
      'aggregate',
      '--report-interval',
      '1ms',
    ]);
    const records = stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const connections = records.filter((r) => r.type === 'connection');
    const dns = records.filter((r) => r.type === 'dns-resolution');
    // Every SYN is a connection attempt; each SYN-ACK answers a SYN already seen.
    expect(connections.map((c) => `${String(c.src)}>${String(c.dst)}:${String(c.dport)}`)).toContain(
      '10.0.0.1>10.100.0.0:443',
    );
    expect(connections).toHaveLength(10);
    expect(connections.every((c) => c.count === 1 && c.protocol === 'TCP' && c.source === 'tcp-syn')).toBe(
      true,
    );
    expect(dns).toHaveLength(10);
    expect(dns[0]).toEqual({
      type: 'dns-resolution',
      client: '10.0.0.1',
      server: '10.96.0.0',
      name: 'svc0.shop.svc.cluster.local',
      cnames: ['pod0.shop.svc.cluster.local'],
      ips: ['10.100.0.0', '10.100.0.1'],
      ttl: 30,
      count: 1,
      firstSeen: 1_700_000_000_000,
      lastSeen: 1_700_000_000_000,
    });
    // Packets 0-19 fall in the first millisecond of capture time, 20-27 in the second.
    expect(stderr).toMatch(/20 records in 2 intervals \(skipped: synack-after-syn 10\)/);
  });
});
