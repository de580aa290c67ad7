// DNS over TCP from real sockets, reordered: in a lab of network namespaces, a DNS server sends a
// 60-record response in 5 TCP segments (test/lab/dns-tcp-paced-server.mjs), tcpdump captures the
// exchange on the bridge, and the test rewrites the capture with the response's segments in
// another order (the kernel has no netem here to reorder them on the wire). The sniffer's offline
// path must report the response the client received, once, from the original capture and from
// each reordering; tshark with `-o tcp.reassemble_out_of_order:TRUE` must agree, frame for frame.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCaptureBytes } from '../sniffer/capture/file-source.js';
import { sniffCaptureFile } from '../sniffer/offline.js';
import { HAS_TSHARK, tsharkDnsResponses } from './helpers/tshark.js';
import { repoPath } from './lab/bundle.js';
import { createLab, labUnavailableReason, waitForLine, type Lab } from './lab/netns.js';

const NAME = 'big.reorder.example';
const RECORDS = 60;
const unavailable =
  labUnavailableReason() ??
  (spawnSync('tcpdump', ['--version']).status === 0 ? null : 'tcpdump is not installed');
if (unavailable) console.warn(`skipping the DNS-over-TCP reorder lab test: ${unavailable}`);

/** One record of a pcap file: its 16-byte header and its bytes. */
interface PcapRecord {
  readonly header: Buffer;
  readonly data: Buffer;
}

/** Splits a little-endian pcap (what tcpdump writes here) into its global header and records. */
function splitPcap(file: Buffer): { head: Buffer; records: PcapRecord[] } {
  const records: PcapRecord[] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const caplen = file.readUInt32LE(at + 8);
    records.push({ header: file.subarray(at, at + 16), data: file.subarray(at + 16, at + 16 + caplen) });
    at += 16 + caplen;
  }
  return { head: file.subarray(0, 24), records };
}

/** True for an Ethernet/IPv4/TCP frame from port 53 with payload (a response segment). */
function isResponseSegment(frame: Buffer): boolean {
  if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return false;
  const ihl = ((frame[14] ?? 0) & 0x0f) * 4;
  const tcp = 14 + ihl;
  const payload = frame.readUInt16BE(16) - ihl - ((frame[tcp + 12] ?? 0) >> 4) * 4;
  return frame.readUInt16BE(tcp) === 53 && payload > 0;
}

/**
 * The capture with the response segments moved: slot k (in capture order) gets segment
 * `order[k]`. Every other record, and every timestamp, stays where it was.
 */
function reorder(file: Buffer, order: readonly number[]): Buffer {
  const { head, records } = splitPcap(file);
  const slots = records.flatMap((r, i) => (isResponseSegment(r.data) ? [i] : []));
  const out = [...records];
  order.forEach((from, k) => {
    const slot = slots[k];
    const source = records[slots[from] ?? -1];
    if (slot === undefined || source === undefined) throw new Error(`no response segment ${from}`);
    const header = Buffer.from(records[slot]?.header ?? source.header);
    header.writeUInt32LE(source.data.length, 8);
    header.writeUInt32LE(source.data.length, 12);
    out[slot] = { header, data: source.data };
  });
  return Buffer.concat([head, ...out.flatMap((r) => [r.header, r.data])]);
}

/** `frame:id:qname:addresses` of each DNS response the sniffer reports, and its decoder stats. */
async function sniff(file: string): Promise<{ lines: string[]; outOfOrder: number }> {
  const chunks: Uint8Array[] = [];
  const summary = await sniffCaptureFile({
    file,
    output: { closed: false, write: (c) => void chunks.push(c) },
  });
  const times = parseCaptureBytes(new Uint8Array(await readFile(file))).records.map((r) => r.tsNs);
  const lines: string[] = [];
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
    if (!line.startsWith('{"type":"dns"')) continue;
    const o = JSON.parse(line) as { ts: string; id: number; qname: string; answers: { data: string }[] };
    const ns = BigInt(o.ts.replace('.', ''));
    const frame = times.findIndex((t) => t === ns) + 1;
    lines.push(`${frame}:${o.id}:${o.qname}:${o.answers.map((a) => a.data).join(',')}`);
  }
  return { lines, outOfOrder: summary.stats.tcpOutOfOrder };
}

/** The same for tshark with out-of-order reassembly (frame numbers from 1). */
async function tshark(file: string): Promise<string[]> {
  const lines = await tsharkDnsResponses(file, {
    outOfOrder: true,
    fields: ['frame.number', 'dns.id', 'dns.qry.name', 'dns.a'],
    format: ['aggregator=,'],
  });
  return lines.map((l) => {
    const [frame = '', id = '', name = '', a = ''] = l.split('\t');
    return `${frame}:${parseInt(id, 16)}:${name}:${a}`;
  });
}

describe.skipIf(unavailable !== null)('DNS over TCP from a lab capture, segments reordered', () => {
  let lab: Lab | null = null;
  let dir = '';
  let original = Buffer.alloc(0);
  let expectedLine = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'intentmap-reorder-'));
    const capture = join(dir, 'capture.pcap');
    lab = createLab();
    const dns = lab.addPod('dns', 2);
    const client = lab.addPod('client', 3);
    const tcpdump: ChildProcess = lab.spawn(lab.nodeNs, 'tcpdump', [
      '-i',
      lab.bridge,
      '-n',
      '-U',
      '-l',
      '--print',
      '-s',
      '0',
      '-w',
      capture,
      'tcp port 53',
    ]);
    await waitForLine(tcpdump, 'stderr', /listening on/);
    const server = lab.spawn(dns.ns, process.execPath, [
      repoPath('test/lab/dns-tcp-paced-server.mjs'),
      NAME,
      String(RECORDS),
      '5',
      '20',
    ]);
    await waitForLine(server, 'stdout', /listening/);
    // The server's FIN, printed after it is written (-U), is the last packet the test needs.
    const serverFin = waitForLine(
      tcpdump,
      'stdout',
      new RegExp(`${dns.ipv4.replace(/\./g, '\\.')}\\.53 > .*Flags \\[F`),
    );
    const r = await lab.run(client.ns, process.execPath, [
      repoPath('test/lab/dns-client.mjs'),
      dns.ipv4,
      NAME,
      'A',
      'tcp',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { answers: { data: string }[] };
    expect(answer.answers).toHaveLength(RECORDS);
    await serverFin;
    tcpdump.kill('SIGINT');
    await once(tcpdump, 'exit');
    original = await readFile(capture);
    const id = (await sniff(capture)).lines[0]?.split(':')[1] ?? '';
    expectedLine = `${id}:${NAME}:${answer.answers.map((a) => a.data).join(',')}`;
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('captured the response in 5 segments, and the sniffer reports what the client received', async () => {
    const { records } = splitPcap(original);
    expect(records.filter((r) => isResponseSegment(r.data))).toHaveLength(5);
    const file = join(dir, 'in-order.pcap');
    await writeFile(file, original);
    const ours = await sniff(file);
    expect(ours.outOfOrder).toBe(0);
    expect(ours.lines.map((l) => l.slice(l.indexOf(':') + 1))).toEqual([expectedLine]);
    if (HAS_TSHARK) expect(await tshark(file)).toEqual(ours.lines);
  });

  it.each([
    ['reversed', [4, 3, 2, 1, 0]],
    ['last first (5-1-2-3-4)', [4, 0, 1, 2, 3]],
    ['3-1-2 then 4-5', [2, 0, 1, 3, 4]],
    ['a retransmission of segment 2 in place of segment 4', [0, 1, 2, 1, 4]],
  ])('%s: the same response, at the frame that completes it', async (name, order) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.pcap`);
    await writeFile(file, reorder(original, order));
    const ours = await sniff(file);
    if (name.startsWith('a retransmission')) {
      // Segment 4 never arrives: nothing is reported, and the hole is still open at the end.
      expect(ours.lines).toEqual([]);
    } else {
      expect(ours.outOfOrder).toBeGreaterThan(0);
      expect(ours.lines.map((l) => l.slice(l.indexOf(':') + 1))).toEqual([expectedLine]);
    }
    if (HAS_TSHARK) expect(await tshark(file)).toEqual(ours.lines);
  });
});
