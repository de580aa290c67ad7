// Unit tests of the layer decoders on hand-made bytes: one per malformed reason, plus the formats
// and rules of test/fixtures/captures/README.md.
import { describe, expect, it } from 'vitest';
import {
  be16,
  bytes,
  dnsHeader,
  dnsName,
  dnsResponse,
  ethernet,
  hex,
  ipv4,
  ipv6,
  rr,
  tcp,
  tcpFramed,
  udp,
} from '../../test/sniffer-packets.js';
import type { DnsObservation } from '../observation.js';
import { forwardChain, forwardPointerCases } from '../../test/sniffer-dns-cases.js';
import { decodeDnsMessage } from './dns.js';
import { formatDnsType } from './dns-types.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import { formatIpv6 } from './ip-text.js';
import { decodeLink, LINKTYPE } from './link.js';
import {
  createPacketDecoder,
  MALFORMED_REASONS,
  type MalformedReason,
  type PacketDecoderOptions,
} from './packet-decoder.js';
import { decodeTcp, decodeUdp } from './transport.js';

const CLIENT = [10, 0, 0, 5];
const SERVER = [10, 96, 0, 10];
const A_RESPONSE = dnsResponse('Example.COM', 1, [rr([0xc0, 12], 1, 30, [1, 2, 3, 4])]);

/** Decodes one Ethernet frame with a fresh decoder; returns observations and the malformed counters. */
function decodeEthernet(frame: Uint8Array) {
  const d = createPacketDecoder();
  const observations = d.decode(LINKTYPE.ethernet, frame, 1_700_000_000_123_456_000n);
  return { observations, stats: d.stats };
}

function malformedOf(
  frames: Uint8Array | Uint8Array[],
  linkType: number = LINKTYPE.ethernet,
  options: PacketDecoderOptions = {},
): MalformedReason[] {
  const d = createPacketDecoder(options);
  for (const frame of Array.isArray(frames) ? frames : [frames]) d.decode(linkType, frame, 0n);
  return MALFORMED_REASONS.filter((r) => d.stats.malformed[r] > 0);
}

/** A DNS-over-TCP segment from the server (port 53) to client port `port`. */
function tcpDns(seq: number, payload: Uint8Array, port = 40000, flags = 0x18): Uint8Array {
  return ethernet(0x0800, ipv4(SERVER, CLIENT, 6, tcp(53, port, seq, flags, payload)));
}

function udpDns(msg: Uint8Array): Uint8Array {
  return ethernet(0x0800, ipv4(SERVER, CLIENT, 17, udp(53, 40000, msg)));
}

describe('malformed reasons (one test each)', () => {
  const framed = tcpFramed(A_RESPONSE);
  const cases: [MalformedReason, Uint8Array | Uint8Array[], number?, PacketDecoderOptions?][] = [
    ['link-truncated', hex('020000000001 0200000000'), LINKTYPE.ethernet],
    ['ip-truncated', ethernet(0x0800, hex('4500001c0001')), undefined],
    [
      'ip-bad-version',
      ethernet(
        0x0800,
        ipv4(SERVER, CLIENT, 17, udp(53, 1, A_RESPONSE)).map((b, i) => (i === 0 ? 0x55 : b)),
      ),
      undefined,
    ],
    [
      'ip-bad-header-length',
      ethernet(
        0x0800,
        ipv4(SERVER, CLIENT, 17, udp(53, 1, A_RESPONSE)).map((b, i) => (i === 0 ? 0x44 : b)),
      ),
      undefined,
    ],
    [
      'ip-bad-total-length',
      ethernet(
        0x0800,
        ipv4(SERVER, CLIENT, 17, udp(53, 1, A_RESPONSE)).map((b, i) => (i === 2 ? 0 : i === 3 ? 10 : b)),
      ),
      undefined,
    ],
    [
      'ipv6-extension-truncated',
      ethernet(0x86dd, ipv6(new Uint8Array(16), new Uint8Array(16), 0, hex('1100'))),
      undefined,
    ],
    [
      'ipv6-too-many-extensions',
      ethernet(
        0x86dd,
        ipv6(
          new Uint8Array(16),
          new Uint8Array(16),
          60,
          bytes(...Array.from({ length: 20 }, () => [60, 0, 0, 0, 0, 0, 0, 0])),
        ),
      ),
      undefined,
    ],
    ['tcp-truncated', ethernet(0x0800, ipv4(CLIENT, SERVER, 6, hex('9c400050'))), undefined],
    [
      'tcp-bad-data-offset',
      ethernet(
        0x0800,
        ipv4(
          CLIENT,
          SERVER,
          6,
          tcp(40000, 80, 1, 0x02).map((b, i) => (i === 12 ? 0x40 : b)),
        ),
      ),
      undefined,
    ],
    ['udp-truncated', ethernet(0x0800, ipv4(SERVER, CLIENT, 17, hex('0035'))), undefined],
    [
      'udp-bad-length',
      ethernet(
        0x0800,
        ipv4(
          SERVER,
          CLIENT,
          17,
          udp(53, 1, A_RESPONSE).map((b, i) => (i === 4 ? 0 : i === 5 ? 4 : b)),
        ),
      ),
      undefined,
    ],
    ['dns-truncated', udpDns(A_RESPONSE.subarray(0, A_RESPONSE.length - 2)), undefined],
    // The question name points past the end of the 18-byte message (tshark: malformed).
    ['dns-bad-pointer', udpDns(bytes(dnsHeader(1, 0x8180, 1, 0), [0xc0, 18], be16(1), be16(1))), undefined],
    ['dns-too-many-pointers', udpDns(pointerChain(70)), undefined],
    [
      'dns-name-too-long',
      udpDns(
        bytes(
          dnsHeader(1, 0x8180, 1, 0),
          dnsName(Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')),
          be16(1),
          be16(1),
        ),
      ),
      undefined,
    ],
    [
      'dns-bad-label-type',
      udpDns(bytes(dnsHeader(1, 0x8180, 1, 0), [0x41, 0x61, 0], be16(1), be16(1))),
      undefined,
    ],
    // Bytes 5-9 of a response never arrive; the segment after the hole outgrows a 20-byte window.
    [
      'tcp-dns-gap',
      [tcpDns(1, framed.subarray(0, 5)), tcpDns(11, framed.subarray(10))],
      undefined,
      { tcpWindowBytes: 20 },
    ],
    // A stream holding half a response is evicted by another one (cap of 1 stream).
    [
      'tcp-dns-evicted',
      [tcpDns(1, framed.subarray(0, 5)), tcpDns(1, framed.subarray(0, 5), 40001)],
      undefined,
      { maxTcpStreams: 1 },
    ],
  ];

  it('covers every reason', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual([...MALFORMED_REASONS].sort());
  });

  it.each(cases)('%s', (reason, frame, linkType, options) => {
    expect(malformedOf(frame, linkType, options)).toEqual([reason]);
  });
});

/** A response whose answer owner is a chain of `n` backward pointers (each pointing at the previous). */
function pointerChain(n: number): Uint8Array {
  const question = bytes(dnsName('a'), be16(1), be16(1)); // at offset 12
  const chainStart = 12 + question.length + 12; // RR header before the TXT rdata: c0 0c + 10 bytes
  const rdata: number[] = [];
  for (let k = 0; k < n; k++) {
    const target = k === 0 ? 12 : chainStart + (k - 1) * 2;
    rdata.push(0xc0 | (target >> 8), target & 0xff);
  }
  const last = chainStart + (n - 1) * 2;
  return bytes(
    dnsHeader(1, 0x8180, 1, 2),
    question,
    rr([0xc0, 12], 16, 1, rdata),
    rr([0xc0 | (last >> 8), last & 0xff], 1, 1, [1, 2, 3, 4]),
  );
}

describe('link layers', () => {
  const ip = ipv4(CLIENT, SERVER, 6, tcp(40000, 80, 1, 0x02));
  it('skips any number of 802.1Q / 802.1ad tags', () => {
    const r = decodeLink(LINKTYPE.ethernet, ethernet(0x0800, ip, [0x88a8, 0x8100, 0x8100]));
    expect(r).toEqual({ ok: true, value: 0x0800, next: 26 });
  });
  it('reads Linux SLL (protocol last) and SLL2 (protocol first)', () => {
    const sll = bytes(hex('0000 0001 0006 020000000001 0000'), be16(0x0800), ip);
    expect(decodeLink(LINKTYPE.linuxSll, sll)).toEqual({ ok: true, value: 0x0800, next: 16 });
    const sll2 = bytes(be16(0x86dd), hex('0000 00000002 0001 00 06 020000000001 0000'), ip);
    expect(decodeLink(LINKTYPE.linuxSll2, sll2)).toEqual({ ok: true, value: 0x86dd, next: 20 });
  });
  it('reads raw IP by version nibble, and LINKTYPE_IPV4 / IPV6', () => {
    expect(decodeLink(LINKTYPE.raw, ip)).toEqual({ ok: true, value: 0x0800, next: 0 });
    expect(decodeLink(LINKTYPE.ipv6, ip)).toEqual({ ok: true, value: 0x86dd, next: 0 });
  });
  it.each([
    ['NULL little-endian AF_INET', LINKTYPE.null, '02000000', 0x0800],
    ['NULL big-endian AF_INET', LINKTYPE.null, '00000002', 0x0800],
    ['NULL AF_INET6 24 (BSD)', LINKTYPE.null, '18000000', 0x86dd],
    ['NULL AF_INET6 28 (FreeBSD)', LINKTYPE.null, '1c000000', 0x86dd],
    ['NULL AF_INET6 30 (Darwin)', LINKTYPE.null, '1e000000', 0x86dd],
    ['NULL with an Ethertype in the upper half', LINKTYPE.null, '0f000800', 0x0800],
    ['LOOP is big-endian', LINKTYPE.loop, '0000001e', 0x86dd],
    ['LOOP little-endian is not decoded (as tshark)', LINKTYPE.loop, '1e000000', 0],
    ['LOOP has no Ethertype form (as tshark)', LINKTYPE.loop, '000086dd', 0],
    ['NULL Ethertype in the lower half only via the zero half', LINKTYPE.null, '000086dd', 0x86dd],
    ['NULL byte-swapped Ethertype is not IP', LINKTYPE.null, '86dd0000', 0xdd86],
    ['NULL unknown family', LINKTYPE.null, '07000000', 0],
  ])('%s', (_name, linkType, header, ethertype) => {
    expect(decodeLink(linkType, bytes(hex(header), ip))).toEqual({ ok: true, value: ethertype, next: 4 });
  });
  it('reports unknown link types as unsupported, and the decoder ignores them', () => {
    expect(decodeLink(147, ip)).toEqual({ ok: false, reason: 'link-unsupported-type' });
    const d = createPacketDecoder();
    d.decode(147, ip, null);
    expect(d.stats.ignored).toBe(1);
  });
});

describe('IP', () => {
  it('trims Ethernet padding to the IPv4 total length and allows a short capture', () => {
    const packet = ipv4(CLIENT, SERVER, 6, tcp(1, 2, 3, 0x02));
    const padded = bytes(packet, new Uint8Array(10));
    const r = decodeIpv4(padded, 0);
    expect(r.ok && r.value.payloadEnd).toBe(packet.length);
    const cut = decodeIpv4(packet.subarray(0, 30), 0);
    expect(cut.ok && cut.value.payloadEnd).toBe(30);
  });
  it('marks IPv4 fragments (MF or offset) and counts them', () => {
    for (const ff of [0x2000, 0x0001]) {
      const { observations, stats } = decodeEthernet(
        ethernet(0x0800, ipv4(CLIENT, SERVER, 6, tcp(1, 2, 3, 0x02), ff)),
      );
      expect(observations).toEqual([]);
      expect(stats.fragments).toBe(1);
    }
  });
  it('reports the last source-route hop as the destination (as Wireshark does)', () => {
    const lsrr = bytes(
      0x48,
      0,
      be16(52),
      be16(1),
      0,
      0,
      64,
      6,
      0,
      0,
      [9, 10, 11, 12],
      [13, 14, 15, 16],
      [0x83, 11, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0],
      tcp(20, 80, 0, 0x02),
    );
    const { observations } = decodeEthernet(ethernet(0x0800, lsrr));
    expect(observations).toMatchObject([{ type: 'tcp-syn', src: '9.10.11.12', dst: '5.6.7.8' }]);
  });
  it('walks IPv6 hop-by-hop, routing and destination options, and accepts atomic fragments', () => {
    const syn = tcp(40000, 443, 7, 0x02);
    const chain = bytes(
      [43, 0, 0, 0, 0, 0, 0, 0],
      [60, 0, 0, 0, 0, 0, 0, 0],
      [44, 0, 0, 0, 0, 0, 0, 0],
      [6, 0, 0, 0, 0, 0, 0, 1],
      syn,
    );
    const r = decodeIpv6(ipv6(new Uint8Array(16), new Uint8Array(16), 0, chain), 0);
    expect(r.ok && r.value).toMatchObject({ protocol: 6, isFragment: false });
    expect(r.ok && r.next).toBe(40 + 32);
    const real = bytes([6, 0, 0, 1, 0, 0, 0, 1], syn); // M=1
    const f = decodeIpv6(ipv6(new Uint8Array(16), new Uint8Array(16), 44, real), 0);
    expect(f.ok && f.value.isFragment).toBe(true);
  });
});

describe('IPv6 text (RFC 5952)', () => {
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['00000000000000000000000001020304', '::102:304'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['20010DB8AAAA00000000BBBB00000000', '2001:db8:aaaa::bbbb:0:0'],
  ])('%s → %s', (h, text) => {
    expect(formatIpv6(hex(h), 0)).toBe(text);
  });
});

describe('TCP and UDP', () => {
  it('reports SYN and SYN-ACK whatever the other flags, with the client ISN (SYN seq, SYN-ACK ack - 1)', () => {
    for (const [flags, type, clientIsn] of [
      [0x02, 'tcp-syn', 1],
      [0x12, 'tcp-synack', 0xfffffffe],
      [0xcb, 'tcp-syn', 1],
      [0x03, 'tcp-syn', 1],
    ] as const) {
      const { observations } = decodeEthernet(
        ethernet(0x0800, ipv4(CLIENT, SERVER, 6, tcp(40000, 80, 1, flags, undefined, 0xffffffff))),
      );
      expect(observations).toEqual([
        {
          type,
          ts: 1_700_000_000_123_456_000n,
          src: '10.0.0.5',
          sport: 40000,
          dst: '10.96.0.10',
          dport: 80,
          clientIsn,
        },
      ]);
    }
    // ack 0 of a SYN-ACK wraps: the client's ISN was 2^32 - 1.
    const { observations } = decodeEthernet(
      ethernet(0x0800, ipv4(CLIENT, SERVER, 6, tcp(40000, 80, 1, 0x12, undefined, 0))),
    );
    expect(observations[0]).toMatchObject({ type: 'tcp-synack', clientIsn: 0xffffffff });
  });
  it('keeps a SYN whose IP total length exceeds the captured bytes when the TCP header is whole', () => {
    const packet = ipv4(CLIENT, SERVER, 6, tcp(40000, 80, 1, 0x02, new Uint8Array(100)));
    const { observations } = decodeEthernet(ethernet(0x0800, packet.subarray(0, 40)));
    expect(observations).toHaveLength(1);
  });
  it('bounds the UDP payload by the UDP length and by the IP payload', () => {
    const u = decodeUdp(bytes(udp(53, 1, new Uint8Array(10)), new Uint8Array(4)), 0, 22);
    expect(u.ok && u.value.payloadEnd).toBe(18);
    const t = decodeTcp(tcp(1, 2, 0xfffffffe, 0x10), 0, 20);
    expect(t.ok && t.value.seq).toBe(0xfffffffe);
  });
});

describe('DNS', () => {
  function decode(msg: Uint8Array) {
    const r = decodeDnsMessage(msg, 0, msg.length);
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  }
  it('decodes question, rcode and A/AAAA/CNAME answers in wire order, lower-cased', () => {
    const target = dnsName('Pod.Example.com');
    const msg = dnsResponse(
      'WWW.example.com',
      1,
      [
        rr([0xc0, 12], 5, 60, target),
        rr([0xc0, 12 + 17 + 4 + 12], 1, 0xffffffff, [10, 0, 0, 1]),
        rr([0xc0, 12], 16, 60, [3, 0x61, 0x62, 0x63]),
        rr([0xc0, 12 + 17 + 4 + 12], 28, 5, [...hex('20010db8000000000000000000000001')]),
      ],
      0x8183,
    );
    const m = decode(msg);
    expect(m.rcode).toBe(3);
    expect(m.questions).toEqual([{ name: 'www.example.com', type: 'A' }]);
    expect(m.answers).toEqual([
      { type: 'CNAME', name: 'www.example.com', data: 'pod.example.com', ttl: 60 },
      { type: 'A', name: 'pod.example.com', data: '10.0.0.1', ttl: 4294967295 },
      { type: 'AAAA', name: 'pod.example.com', data: '2001:db8::1', ttl: 5 },
    ]);
  });
  it('writes names as tshark does: root ".", \\ooo for control bytes, U+FFFD for high bytes, "." kept', () => {
    const msg = bytes(
      dnsHeader(1, 0x8180, 2, 0),
      [3, 0x61, 0x2e, 0x01, 2, 0xff, 0x5c, 0],
      be16(1),
      be16(1),
      [0],
      be16(2),
      be16(1),
    );
    const m = decode(msg);
    expect(m.questions).toEqual([
      { name: 'a.\\001.\ufffd\\', type: 'A' },
      { name: '.', type: 'NS' },
    ]);
  });
  it('reads A / AAAA rdata as 4 / 16 bytes whatever RDLENGTH says, as tshark does', () => {
    const a2 = rr([0xc0, 12], 1, 30, [5, 6, 7, 8]);
    const short = bytes(
      dnsHeader(1, 0x8180, 1, 2),
      dnsName('x.com'),
      be16(1),
      be16(1),
      rr([0xc0, 12], 1, 30, [1, 2]),
      a2,
    );
    expect(decode(short).answers.map((a) => a.data)).toEqual(['1.2.192.12', '5.6.7.8']);
    const long = dnsResponse('x.com', 28, [
      rr(
        [0xc0, 12],
        28,
        30,
        Array.from({ length: 17 }, (_, i) => i),
      ),
    ]);
    expect(decode(long).answers.map((a) => a.data)).toEqual(['1:203:405:607:809:a0b:c0d:e0f']);
    const empty = dnsResponse('x.com', 1, [rr([0xc0, 12], 1, 30, []), rr([0xc0, 12], 5, 30, [])]);
    expect(decode(empty).answers).toEqual([]);
    // A CNAME target running past RDLENGTH is still read; the next record starts at RDLENGTH.
    const cname = dnsResponse('x.com', 1, [
      rr([0xc0, 12], 5, 30, dnsName('tgt.com')).map((b, i) => (i === 11 ? 4 : b)),
    ]);
    expect(decode(cname).answers).toEqual([{ type: 'CNAME', name: 'x.com', data: 'tgt.com', ttl: 30 }]);
  });

  it('uses the header RCODE only, and reports QDCOUNT=0 and UPDATE responses', () => {
    const badvers = bytes(dnsHeader(1, 0x8180, 0, 0));
    expect(decode(badvers)).toMatchObject({ rcode: 0, questions: [], answers: [] });
    const update = bytes(
      dnsHeader(2, 0xa805, 1, 1),
      dnsName('zone.example'),
      be16(6),
      be16(1),
      rr([0xc0, 12], 1, 0, [1, 1, 1, 1]),
    );
    expect(decode(update)).toMatchObject({
      opcode: 5,
      rcode: 5,
      questions: [{ name: 'zone.example', type: 'SOA' }],
      answers: [],
    });
  });
  it('names types by the IANA registry, TYPE<n> otherwise', () => {
    expect([1, 28, 64, 65, 255, 257, 256, 65280, 0].map(formatDnsType)).toEqual([
      'A',
      'AAAA',
      'SVCB',
      'HTTPS',
      'ANY',
      'CAA',
      'URI',
      'TYPE65280',
      'TYPE0',
    ]);
  });
  it('follows chains of backward pointers (up to the cap)', () => {
    const m = decode(pointerChain(60));
    expect(m.answers).toEqual([{ type: 'A', name: 'a', data: '1.2.3.4', ttl: 1 }]);
  });
  // Forward pointers: what tshark 4.0.17 prints for these exact messages is in the comments (and
  // test/sniffer-tshark-reference.test.ts runs tshark on them when it is installed). RFC 1035
  // §4.1.4 speaks of a "prior occurrence" and dns-packet 5.6 throws "bad pointer", but the
  // reference decoder follows them, so the sniffer does too, inside the same jump cap.
  it('follows forward pointers as tshark does (question, CNAME target, suffix after labels)', () => {
    for (const [msg, expected] of forwardPointerCases())
      expect(decode(msg), String(msg)).toMatchObject(expected);
  });
  it('ends pointer loops at the jump cap, and rejects a pointer out of the message', () => {
    // tshark: "<Name contains a pointer that loops>" (self, and a -> b -> a), and "Malformed
    // Packet" for the pointer past the end: responses it does not report either.
    const self = bytes(dnsHeader(1, 0x8180, 1, 0), [0xc0, 12], be16(1), be16(1));
    const mutual = bytes(dnsHeader(1, 0x8180, 1, 0), [1, 0x61, 0xc0, 16, 0xc0, 12], be16(1), be16(1));
    const past = bytes(dnsHeader(1, 0x8180, 1, 0), [0xc0, 0xff], be16(1), be16(1));
    expect(decodeDnsMessage(self, 0, self.length)).toEqual({ ok: false, reason: 'dns-too-many-pointers' });
    expect(decodeDnsMessage(mutual, 0, mutual.length)).toEqual({
      ok: false,
      reason: 'dns-too-many-pointers',
    });
    expect(decodeDnsMessage(past, 0, past.length)).toEqual({ ok: false, reason: 'dns-bad-pointer' });
    // A forward chain of 20 jumps is followed; 70 exceeds MAX_POINTER_JUMPS (64). tshark, whose
    // bound is the message size, prints "deep.example" for both: the cap is stricter on purpose.
    expect(decode(forwardChain(20)).questions).toEqual([{ name: 'deep.example', type: 'A' }]);
    const long = forwardChain(70);
    expect(decodeDnsMessage(long, 0, long.length)).toEqual({ ok: false, reason: 'dns-too-many-pointers' });
  });
  it('reports DNS only for responses on port 53, either side, with questions when QDCOUNT > 1', () => {
    const two = bytes(
      dnsHeader(7, 0x8100, 2, 0),
      dnsName('a.b'),
      be16(1),
      be16(1),
      dnsName('c.d'),
      be16(28),
      be16(1),
    );
    const toPort53 = ethernet(0x0800, ipv4(SERVER, CLIENT, 17, udp(40000, 53, two)));
    const { observations } = decodeEthernet(toPort53);
    const obs = observations[0] as DnsObservation;
    expect(obs).toMatchObject({
      type: 'dns',
      client: '10.0.0.5',
      server: '10.96.0.10',
      id: 7,
      qname: 'a.b',
      qtype: 'A',
      transport: 'udp',
    });
    expect(obs.questions).toEqual([
      { name: 'a.b', type: 'A' },
      { name: 'c.d', type: 'AAAA' },
    ]);
    const other = decodeEthernet(ethernet(0x0800, ipv4(SERVER, CLIENT, 17, udp(8053, 40000, two))));
    expect(other.observations).toEqual([]);
    const query = decodeEthernet(
      ethernet(0x0800, ipv4(CLIENT, SERVER, 17, udp(40000, 53, bytes(dnsHeader(7, 0x0100, 0, 0))))),
    );
    expect(query.observations).toEqual([]);
  });
  it('reports UDP flows per packet when asked', () => {
    const d = createPacketDecoder({ udpFlows: true });
    const obs = d.decode(LINKTYPE.raw, ipv4(CLIENT, SERVER, 17, udp(5000, 6000, new Uint8Array(4))), null);
    expect(obs).toEqual([
      { type: 'udp-flow', ts: null, src: '10.0.0.5', sport: 5000, dst: '10.96.0.10', dport: 6000 },
    ]);
  });
  it("does not keep a reference to the caller's frame", () => {
    const frame = udpDns(A_RESPONSE);
    const d = createPacketDecoder();
    const [obs] = d.decode(LINKTYPE.ethernet, frame, 1n) as DnsObservation[];
    frame.fill(0);
    expect(obs).toMatchObject({ qname: 'example.com', answers: [{ data: '1.2.3.4' }] });
  });
  it('counts packets, decoded frames and observations', () => {
    const { stats } = decodeEthernet(udpDns(A_RESPONSE));
    expect(stats).toMatchObject({ packets: 1, decoded: 1, observations: 1, fragments: 0, ignored: 0 });
  });
});
