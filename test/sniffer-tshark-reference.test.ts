// The sniffer against the reference decoder on hand-made captures of what the corpus lacks: a
// DNS-over-TCP response whose segments arrive out of order, retransmitted, overlapping or lost
// (RFC 7766; captures on `any`), and DNS names with forward compression pointers. Each case is
// written to one pcap file (real Ethernet/IPv4/TCP/UDP bytes, each case on its own client port and
// second range) and decoded by `sniffCaptureFile`, the code path of `intentmap sniff --pcap`.
// What tshark 4.0.17 prints for each case is pinned below; when tshark is installed, the test also
// runs it (`-o tcp.reassemble_out_of_order:TRUE`, the corpus's other options) and checks the pins.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffCaptureFile } from '../sniffer/offline.js';
import { HAS_TSHARK, tsharkDnsResponses } from './helpers/tshark.js';
import { forwardChain, forwardPointerCases } from './sniffer-dns-cases.js';
import {
  be16,
  bytes,
  dnsHeader,
  dnsResponse,
  ethernet,
  ipv4,
  rr,
  tcp,
  tcpFramed,
  udp,
} from './sniffer-packets.js';

const CLIENT = [10, 0, 0, 5];
const SERVER = [10, 96, 0, 10];
const ACK_PSH = 0x18;
const SYN_ACK = 0x12;
const FIN_ACK_PSH = 0x19;
const BASE_SECONDS = 1_700_000_000;

/** One crafted situation: its frames (in capture order) and what each side reports. */
interface ReferenceCase {
  readonly name: string;
  /** Builds the frames for client port `port`. */
  readonly frames: (port: number) => Uint8Array[];
  /**
   * The DNS responses reported, one `frame:id:qname:addresses` string each (frame numbers within
   * the case, from 0), for the sniffer and for tshark with out-of-order reassembly.
   */
  readonly expected: readonly string[];
  /** What tshark reports instead, where the sniffer differs on purpose (the reason is in `name`). */
  readonly tshark?: readonly string[];
  /** What tshark reports without out-of-order reassembly (its default), where that differs. */
  readonly tsharkInOrder?: readonly string[];
}

function named(id: number, name: string): Uint8Array {
  const m = dnsResponse(name, 1, [rr([0xc0, 12], 1, 30, [10, 1, 0, id])]);
  m[0] = id >> 8;
  m[1] = id & 0xff;
  return m;
}

const ISN = 1000;
const S = ISN + 1;
const A = tcpFramed(named(1, 'one.example'));
const B = tcpFramed(named(2, 'two.example'));
const L = A.length;
/** Stream offset of the "n" in "one" (2-byte prefix, header, length byte, "o"). */
const N = 16;
const ONE = 'dns:1:one.example:10.1.0.1';

function server(port: number, seq: number, payload: Uint8Array, flags = ACK_PSH): Uint8Array {
  return ethernet(0x0800, ipv4(SERVER, CLIENT, 6, tcp(53, port, seq, flags, payload, 1)));
}

function handshake(port: number): Uint8Array[] {
  return [
    ethernet(0x0800, ipv4(CLIENT, SERVER, 6, tcp(port, 53, 500, 0x02))),
    server(port, ISN, new Uint8Array(0), SYN_ACK),
  ];
}

function withX(framed: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(framed);
  copy[at] = 0x78;
  return copy;
}

function udpResponse(port: number, msg: Uint8Array): Uint8Array {
  return ethernet(0x0800, ipv4(SERVER, CLIENT, 17, udp(53, port, msg)));
}

const X = withX(A, N);
const cases: ReferenceCase[] = [
  {
    name: 'a response in 3 segments delivered 3-1-2',
    frames: (p) => [
      ...handshake(p),
      server(p, S + 25, A.subarray(25)),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 10, A.subarray(10, 25)),
    ],
    expected: [`4:${ONE}`],
  },
  {
    name: 'a retransmitted segment',
    frames: (p) => [
      ...handshake(p),
      server(p, S, A.subarray(0, 10)),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 10, A.subarray(10, 25)),
      server(p, S + 25, A.subarray(25)),
    ],
    expected: [`5:${ONE}`],
  },
  {
    name: 'a retransmitted out-of-order segment',
    frames: (p) => [
      ...handshake(p),
      server(p, S + 10, A.subarray(10)),
      server(p, S + 10, A.subarray(10)),
      server(p, S, A.subarray(0, 10)),
    ],
    expected: [`4:${ONE}`],
  },
  {
    name: 'an overlapping segment',
    frames: (p) => [
      ...handshake(p),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 5, A.subarray(5, 30)),
      server(p, S + 25, A.subarray(25)),
    ],
    expected: [`4:${ONE}`],
  },
  {
    name: 'an overlap with other bytes: consumed bytes are final, the rest is used',
    frames: (p) => [
      ...handshake(p),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 5, withX(X, 7).subarray(5)),
    ],
    expected: ['3:dns:1:oxe.example:10.1.0.1'],
  },
  {
    name: 'queued segments overlapping with other bytes: the lower sequence number wins',
    frames: (p) => [
      ...handshake(p),
      server(p, S + 14, A.subarray(14)),
      server(p, S + 10, X.subarray(10, 20)),
      server(p, S, A.subarray(0, 10)),
    ],
    expected: ['4:dns:1:oxe.example:10.1.0.1'],
  },
  {
    name: 'queued segments at one sequence number with other bytes: the first to arrive wins',
    frames: (p) => [
      ...handshake(p),
      server(p, S + 10, X.subarray(10)),
      server(p, S + 10, A.subarray(10)),
      server(p, S, A.subarray(0, 10)),
    ],
    expected: ['4:dns:1:oxe.example:10.1.0.1'],
  },
  {
    name: "two responses in one stream, the second's segments first",
    frames: (p) => {
      const ab = bytes(A, B);
      return [
        ...handshake(p),
        server(p, S + L + 12, ab.subarray(L + 12)),
        server(p, S + L, ab.subarray(L, L + 12)),
        server(p, S + 20, ab.subarray(20, L)),
        server(p, S, ab.subarray(0, 20)),
      ];
    },
    expected: [`5:${ONE}`, '5:dns:2:two.example:10.1.0.2'],
  },
  {
    name: 'a FIN before the missing segment',
    frames: (p) => [
      ...handshake(p),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 25, A.subarray(25), FIN_ACK_PSH),
      server(p, S + 10, A.subarray(10, 25)),
    ],
    expected: [`4:${ONE}`],
  },
  {
    name: 'a gap that never fills, then FIN',
    frames: (p) => [
      ...handshake(p),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 25, A.subarray(25)),
      server(p, S + L, new Uint8Array(0), 0x11),
    ],
    expected: [],
  },
  {
    // tshark without out-of-order reassembly (its default, and how the corpus was made) reports
    // the second response at once; with it (the reference for this case), never, like the sniffer,
    // which gives up the hole only when its window fills (tcp-dns-streams.test.ts).
    name: 'a gap inside one response, then a whole response at the next message boundary',
    frames: (p) => [...handshake(p), server(p, S, A.subarray(0, 10)), server(p, S + L, B)],
    expected: [],
    tsharkInOrder: ['3:dns:2:two.example:10.1.0.2'],
  },
  {
    name: 'no handshake, segments 3-1-2: those before the first one seen are old',
    frames: (p) => [
      server(p, S + 25, A.subarray(25)),
      server(p, S, A.subarray(0, 10)),
      server(p, S + 10, A.subarray(10, 25)),
    ],
    expected: [],
  },
  ...forwardPointerCases().map(([msg, value], k): ReferenceCase => ({
    name: `forward pointer ${k + 1}: ${value.questions?.[0]?.name ?? ''}`,
    frames: (p) => [udpResponse(p, msg)],
    expected: [
      `0:dns:1:${value.questions?.[0]?.name ?? ''}:${(value.answers ?? [])
        .filter((a) => a.type === 'A')
        .map((a) => a.data)
        .join(',')}`,
    ],
  })),
  {
    name: 'a chain of 20 forward pointers',
    frames: (p) => [udpResponse(p, forwardChain(20))],
    expected: ['0:dns:1:deep.example:'],
  },
  {
    // tshark's bound on pointers is the message size; the sniffer's is MAX_POINTER_JUMPS (64).
    name: 'a chain of 70 forward pointers: past the jump cap (tshark has none)',
    frames: (p) => [udpResponse(p, forwardChain(70))],
    expected: [],
    tshark: ['0:dns:1:deep.example:'],
  },
  {
    // tshark prints "<Name contains a pointer that loops>" (left out, as the corpus does).
    name: 'a pointer to itself, and a loop of two',
    frames: (p) => [
      udpResponse(p, bytes(dnsHeader(1, 0x8180, 1, 0), [0xc0, 12], be16(1), be16(1))),
      udpResponse(p, bytes(dnsHeader(1, 0x8180, 1, 0), [1, 0x61, 0xc0, 16, 0xc0, 12], be16(1), be16(1))),
    ],
    expected: [],
  },
  {
    // tshark: "Malformed Packet".
    name: 'a pointer past the end of the message',
    frames: (p) => [udpResponse(p, bytes(dnsHeader(1, 0x8180, 1, 0), [0xc0, 0xff], be16(1), be16(1)))],
    expected: [],
  },
];

/** Seconds of capture time of frame `i` of case `k` (each case has its own 100 s range). */
function seconds(k: number, i: number): number {
  return BASE_SECONDS + k * 100 + i;
}

/** Writes all cases to one pcap (Ethernet, microseconds), case `k` on client port 40000 + k. */
function writeCases(file: string): void {
  const records: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  records.push(header);
  cases.forEach((c, k) => {
    c.frames(40000 + k).forEach((frame, i) => {
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(seconds(k, i), 0);
      rec.writeUInt32LE(frame.length, 8);
      rec.writeUInt32LE(frame.length, 12);
      records.push(rec, Buffer.from(frame));
    });
  });
  writeFileSync(file, Buffer.concat(records));
}

/** Sorts `frame:dns:id:qname:addresses` strings into their cases by the frame time. */
function byCase(entries: { sec: number; text: string }[]): string[][] {
  const out = cases.map((): string[] => []);
  for (const e of entries) {
    const k = Math.floor((e.sec - BASE_SECONDS) / 100);
    out[k]?.push(`${e.sec - seconds(k, 0)}:${e.text}`);
  }
  return out;
}

/** The sniffer's DNS observations of the file, by case. */
async function sniff(file: string): Promise<string[][]> {
  const chunks: Uint8Array[] = [];
  await sniffCaptureFile({ file, output: { closed: false, write: (c) => void chunks.push(c) } });
  const entries: { sec: number; text: string }[] = [];
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
    if (!line.startsWith('{"type":"dns"')) continue;
    const o = JSON.parse(line) as {
      ts: string;
      id: number;
      qname: string;
      answers: { type: string; data: string }[];
    };
    const a = o.answers.filter((x) => x.type === 'A').map((x) => x.data);
    entries.push({ sec: Math.floor(Number(o.ts)), text: `dns:${o.id}:${o.qname}:${a.join(',')}` });
  }
  return byCase(entries);
}

/**
 * tshark's DNS responses of the file, by case: one entry per message, as the corpus was made
 * (make-expected.mjs): names it cannot decode (`<...>`) and malformed frames are left out.
 */
async function tshark(file: string, outOfOrder: boolean): Promise<string[][]> {
  const lines = await tsharkDnsResponses(file, {
    outOfOrder,
    fields: ['frame.time_epoch', 'dns.id', 'dns.qry.name', 'dns.a'],
    format: ['occurrence=a', 'aggregator=;'],
  });
  const entries: { sec: number; text: string }[] = [];
  for (const line of lines) {
    const [ts = '', ids = '', names = '', addresses = ''] = line.split('\t');
    // Several messages in one frame: one value each (every case has one A answer per message,
    // or none at all).
    const idList = ids.split(';');
    const nameList = names.split(';');
    const aList = addresses === '' ? [] : addresses.split(';');
    idList.forEach((id, m) => {
      const name = nameList[m] ?? '';
      if (name.startsWith('<')) return;
      const a = aList.length === idList.length ? (aList[m] ?? '') : aList.join(',');
      entries.push({
        sec: Math.floor(Number(ts)),
        text: `dns:${parseInt(id, 16)}:${name.toLowerCase()}:${a}`,
      });
    });
  }
  return byCase(entries);
}

describe('DNS over TCP out of order, and forward pointers, against tshark', () => {
  let dir = '';
  let file = '';
  let ours: string[][] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intentmap-tshark-ref-'));
    file = join(dir, 'cases.pcap');
    writeCases(file);
    ours = await sniff(file);
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it.each(cases.map((c, k) => [c.name, k] as const))('%s: the sniffer', (_name, k) => {
    expect(ours[k]).toEqual(cases[k]?.expected);
  });

  describe.skipIf(!HAS_TSHARK)('tshark 4.0 (installed)', () => {
    let reordered: string[][] = [];
    let inOrder: string[][] = [];
    beforeAll(async () => {
      [reordered, inOrder] = await Promise.all([tshark(file, true), tshark(file, false)]);
    }, 60_000);

    it.each(cases.map((c, k) => [c.name, k] as const))(
      '%s: tshark -o tcp.reassemble_out_of_order:TRUE',
      (_name, k) => {
        const c = cases[k];
        expect(reordered[k]).toEqual(c?.tshark ?? c?.expected);
      },
    );

    it('tshark without out-of-order reassembly (its default) reports what is pinned', () => {
      cases.forEach((c, k) => {
        if (c.tsharkInOrder !== undefined) expect(inOrder[k], c.name).toEqual(c.tsharkInOrder);
      });
    });
  });
});
