// A deterministic synthetic capture for the decode benchmark and tests: an Ethernet, little-endian
// microsecond pcap mixing DNS responses over UDP (A with a CNAME chain, AAAA over IPv6), DNS over
// TCP (handshake, a response split across two segments, then two responses in one segment), and
// TCP SYN / SYN-ACK to other services (IPv4 and IPv6). Each 14-packet cycle
// yields 15 observations: 5 DNS responses (2 UDP, 3 TCP) and 5 handshakes (SYN + SYN-ACK). That is
// the worst case for the decoder: every packet yields an observation, as in a capture made with
// the live sniffer's kernel filter.
// The `mixed` profile is what `tcpdump -i any` on a node records instead: whole connections, with
// their data segments, ACKs and FINs, and DNS queries beside the responses (see mixedCyclePackets).
import { closeSync, openSync, writeSync } from 'node:fs';

/** Which traffic a synthetic capture holds: only observations, or whole connections. */
export type CaptureProfile = 'observations' | 'mixed';

/** Packets per cycle of the generator. */
export const PACKETS_PER_CYCLE = 14;
/** Observations per cycle (the DNS/TCP segment that only starts a message yields none). */
export const OBSERVATIONS_PER_CYCLE = 15;

function u16(b: number[], v: number): void {
  b.push((v >> 8) & 0xff, v & 0xff);
}
function u32(b: number[], v: number): void {
  b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
function name(b: number[], text: string): void {
  for (const label of text.split('.')) {
    b.push(label.length);
    for (let i = 0; i < label.length; i++) b.push(label.charCodeAt(i));
  }
  b.push(0);
}

/** A DNS response for `qname`: CNAME to `target`, then two A records (or one AAAA when ipv6). */
function dnsResponse(id: number, qname: string, target: string, v4: number, ipv6: boolean): number[] {
  const b: number[] = [];
  u16(b, id);
  u16(b, 0x8180);
  u16(b, 1);
  u16(b, ipv6 ? 2 : 3);
  u16(b, 0);
  u16(b, 0);
  name(b, qname);
  u16(b, ipv6 ? 28 : 1);
  u16(b, 1);
  // CNAME: owner is a pointer to the question name (offset 12).
  b.push(0xc0, 12);
  u16(b, 5);
  u16(b, 1);
  u32(b, 30);
  const cname: number[] = [];
  name(cname, target);
  u16(b, cname.length);
  const targetOffset = b.length;
  b.push(...cname);
  for (let i = 0; i < (ipv6 ? 1 : 2); i++) {
    b.push(0xc0 | (targetOffset >> 8), targetOffset & 0xff);
    u16(b, ipv6 ? 28 : 1);
    u16(b, 1);
    u32(b, 300);
    if (ipv6) {
      u16(b, 16);
      b.push(
        0xfd,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        (v4 >>> 24) & 0xff,
        (v4 >>> 16) & 0xff,
        (v4 >>> 8) & 0xff,
        (v4 + i) & 0xff,
      );
    } else {
      u16(b, 4);
      u32(b, (v4 + i) >>> 0);
    }
  }
  return b;
}

function checksum16(b: number[], start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet + IPv4 (or IPv6) + transport header + payload. */
function frame(ipv6: boolean, src: number, dst: number, proto: 6 | 17, transport: number[]): number[] {
  const b: number[] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  u16(b, ipv6 ? 0x86dd : 0x0800);
  if (ipv6) {
    u32(b, 0x60000000);
    u16(b, transport.length);
    b.push(proto, 64);
    b.push(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    u32(b, src);
    b.push(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    u32(b, dst);
  } else {
    const ipStart = b.length;
    b.push(0x45, 0);
    u16(b, 20 + transport.length);
    u32(b, 0x00004000); // id 0, DF set, offset 0
    b.push(64, proto, 0, 0);
    u32(b, src);
    u32(b, dst);
    const sum = checksum16(b, ipStart, ipStart + 20);
    b[ipStart + 10] = sum >> 8;
    b[ipStart + 11] = sum & 0xff;
  }
  b.push(...transport);
  return b;
}

function udp(sport: number, dport: number, payload: number[]): number[] {
  const b: number[] = [];
  u16(b, sport);
  u16(b, dport);
  u16(b, 8 + payload.length);
  u16(b, 0);
  b.push(...payload);
  return b;
}

function tcp(
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload: number[],
): number[] {
  const b: number[] = [];
  u16(b, sport);
  u16(b, dport);
  u32(b, seq >>> 0);
  u32(b, ack >>> 0);
  b.push(0x50, flags);
  u16(b, 65535);
  u16(b, 0);
  u16(b, 0);
  b.push(...payload);
  return b;
}

/** The hosts, ports, names and client sequence number of cycle `i`, shared by both profiles. */
function cycleParties(i: number): {
  client: number;
  server: number;
  service: number;
  port: number;
  qname: string;
  target: string;
  seq: number;
} {
  return {
    client: (0x0a000000 + ((i * 7919) % 0xfffff) + 1) >>> 0, // 10.x.y.z
    server: (0x0a600000 + (i % 97)) >>> 0, // 10.96.0.x: the DNS servers
    service: (0x0a640000 + ((i * 31) % 65000)) >>> 0, // 10.100.x.y: what the names resolve to
    port: 1024 + (i % 60000),
    qname: `svc${i % 1000}.shop.svc.cluster.local`,
    target: `pod${i % 5000}.shop.svc.cluster.local`,
    seq: (i * 2654435761) >>> 0,
  };
}

/** The packets of cycle `i` (deterministic in `i`). */
export function cyclePackets(i: number): number[][] {
  const { client, server, service, port, qname, target, seq } = cycleParties(i);
  const r1 = dnsResponse(i & 0xffff, qname, target, service, false);
  const r2 = dnsResponse((i + 1) & 0xffff, `v6-${qname}`, target, service, true);
  const r3 = dnsResponse((i + 2) & 0xffff, `tcp-${qname}`, target, service, false);
  const framed3 = [(r3.length >> 8) & 0xff, r3.length & 0xff, ...r3];
  const cut = 7; // splits the message inside the question name
  const both = [...framed3.slice(cut)];
  const r4 = dnsResponse((i + 3) & 0xffff, `tcp2-${qname}`, target, service, false);
  const r5 = dnsResponse((i + 4) & 0xffff, `tcp3-${qname}`, target, service, false);
  both.push(
    (r4.length >> 8) & 0xff,
    r4.length & 0xff,
    ...r4,
    (r5.length >> 8) & 0xff,
    r5.length & 0xff,
    ...r5,
  );
  return [
    frame(false, server, client, 17, udp(53, port, r1)),
    frame(true, server, client, 17, udp(53, port + 1, r2)),
    frame(false, client, service, 6, tcp(port, 443, seq, 0, 0x02, [])),
    frame(false, service, client, 6, tcp(443, port, seq ^ 0x5555, seq + 1, 0x12, [])),
    frame(false, client, server, 6, tcp(port + 2, 53, seq, 0, 0x02, [])),
    frame(false, server, client, 6, tcp(53, port + 2, seq ^ 0xaaaa, seq + 1, 0x12, [])),
    frame(
      false,
      server,
      client,
      6,
      tcp(53, port + 2, (seq ^ 0xaaaa) + 1, seq + 1, 0x18, framed3.slice(0, cut)),
    ),
    frame(false, server, client, 6, tcp(53, port + 2, (seq ^ 0xaaaa) + 1 + cut, seq + 1, 0x18, both)),
    frame(false, client, service, 6, tcp(port + 3, 8080, seq + 7, 0, 0x02, [])),
    frame(false, service, client, 6, tcp(8080, port + 3, seq + 9, seq + 8, 0x12, [])),
    frame(false, client, service + 1, 6, tcp(port + 4, 5432, seq + 11, 0, 0x02, [])),
    frame(false, service + 1, client, 6, tcp(5432, port + 4, seq + 13, seq + 12, 0x12, [])),
    frame(true, client, service + 2, 6, tcp(port + 5, 6379, seq + 17, 0, 0x02, [])),
    frame(true, service + 2, client, 6, tcp(6379, port + 5, seq + 19, seq + 18, 0x12, [])),
  ];
}

/** `n` bytes of HTTP-like filler (the decoder never reads TCP payloads off port 53). */
function filler(n: number, seed: number): number[] {
  const text = `GET /api/v1/items/${seed} HTTP/1.1\r\nHost: svc.shop.svc.cluster.local\r\n`;
  const b: number[] = [];
  for (let i = 0; i < n; i++) b.push(text.charCodeAt(i % text.length));
  return b;
}

/** A DNS query for `qname` (QR clear): on the wire beside every response, skipped by the decoder. */
function dnsQuery(id: number, qname: string, ipv6: boolean): number[] {
  const b: number[] = [];
  u16(b, id);
  u16(b, 0x0100);
  u16(b, 1);
  u16(b, 0);
  u16(b, 0);
  u16(b, 0);
  name(b, qname);
  u16(b, ipv6 ? 28 : 1);
  u16(b, 1);
  return b;
}

/**
 * The packets of cycle `i` of the `mixed` profile (deterministic in `i`): DNS queries and their
 * responses over UDP (an A record over IPv4, an AAAA record over IPv6); an IPv4 connection to port
 * 443 (handshake, a 300-byte request, two 1,448-byte response segments, ACKs, FINs: 10 packets);
 * an IPv6 connection to port 6379 (8 packets); and every 16th cycle a DNS-over-TCP lookup
 * (handshake, query, response, FINs: 6 packets). 22 packets and 6 observations a cycle (28 and 9
 * every 16th): about one packet in four yields an observation.
 */
export function mixedCyclePackets(i: number): number[][] {
  const { client, server, service, port, qname, target, seq } = cycleParties(i);
  const sseq = (seq ^ 0x5555) >>> 0;
  const request = filler(300, i);
  const big = filler(1448, i + 1);
  const packets = [
    frame(false, client, server, 17, udp(port, 53, dnsQuery(i & 0xffff, qname, false))),
    frame(false, server, client, 17, udp(53, port, dnsResponse(i & 0xffff, qname, target, service, false))),
    // IPv4 to 443: handshake, request, two response segments, ACKs, FIN exchange.
    frame(false, client, service, 6, tcp(port, 443, seq, 0, 0x02, [])),
    frame(false, service, client, 6, tcp(443, port, sseq, seq + 1, 0x12, [])),
    frame(false, client, service, 6, tcp(port, 443, seq + 1, sseq + 1, 0x10, [])),
    frame(false, client, service, 6, tcp(port, 443, seq + 1, sseq + 1, 0x18, request)),
    frame(false, service, client, 6, tcp(443, port, sseq + 1, seq + 301, 0x10, big)),
    frame(false, service, client, 6, tcp(443, port, sseq + 1449, seq + 301, 0x18, big)),
    frame(false, client, service, 6, tcp(port, 443, seq + 301, sseq + 2897, 0x10, [])),
    frame(false, client, service, 6, tcp(port, 443, seq + 301, sseq + 2897, 0x11, [])),
    frame(false, service, client, 6, tcp(443, port, sseq + 2897, seq + 302, 0x11, [])),
    frame(false, client, service, 6, tcp(port, 443, seq + 302, sseq + 2898, 0x10, [])),
    // IPv6 to 6379: handshake, a command and its reply, FIN exchange.
    frame(true, client, service + 2, 6, tcp(port + 1, 6379, seq, 0, 0x02, [])),
    frame(true, service + 2, client, 6, tcp(6379, port + 1, sseq, seq + 1, 0x12, [])),
    frame(true, client, service + 2, 6, tcp(port + 1, 6379, seq + 1, sseq + 1, 0x18, filler(120, i))),
    frame(true, service + 2, client, 6, tcp(6379, port + 1, sseq + 1, seq + 121, 0x18, filler(600, i))),
    frame(true, client, service + 2, 6, tcp(port + 1, 6379, seq + 121, sseq + 601, 0x10, [])),
    frame(true, client, service + 2, 6, tcp(port + 1, 6379, seq + 121, sseq + 601, 0x11, [])),
    frame(true, service + 2, client, 6, tcp(6379, port + 1, sseq + 601, seq + 122, 0x11, [])),
    frame(true, client, service + 2, 6, tcp(port + 1, 6379, seq + 122, sseq + 602, 0x10, [])),
  ];
  const q6 = `v6-${qname}`;
  packets.push(
    frame(true, client, server, 17, udp(port + 2, 53, dnsQuery((i + 1) & 0xffff, q6, true))),
    frame(
      true,
      server,
      client,
      17,
      udp(53, port + 2, dnsResponse((i + 1) & 0xffff, q6, target, service, true)),
    ),
  );
  if (i % 16 === 0) {
    const r = dnsResponse((i + 2) & 0xffff, `tcp-${qname}`, target, service, false);
    const q = dnsQuery((i + 2) & 0xffff, `tcp-${qname}`, false);
    packets.push(
      frame(false, client, server, 6, tcp(port + 3, 53, seq, 0, 0x02, [])),
      frame(false, server, client, 6, tcp(53, port + 3, sseq, seq + 1, 0x12, [])),
      frame(
        false,
        client,
        server,
        6,
        tcp(port + 3, 53, seq + 1, sseq + 1, 0x18, [q.length >> 8, q.length & 0xff, ...q]),
      ),
      frame(
        false,
        server,
        client,
        6,
        tcp(53, port + 3, sseq + 1, seq + 3 + q.length, 0x18, [r.length >> 8, r.length & 0xff, ...r]),
      ),
      frame(false, client, server, 6, tcp(port + 3, 53, seq + 3 + q.length, sseq + 3 + r.length, 0x11, [])),
      frame(false, server, client, 6, tcp(53, port + 3, sseq + 3 + r.length, seq + 4 + q.length, 0x11, [])),
    );
  }
  return packets;
}

/**
 * Writes a pcap with `packets` packets (rounded up to whole cycles) of `profile` to `path`; returns
 * the packet count.
 */
export function writeSyntheticCapture(
  path: string,
  packets: number,
  profile: CaptureProfile = 'observations',
): number {
  const cycle = profile === 'mixed' ? mixedCyclePackets : cyclePackets;
  const fd = openSync(path, 'w');
  try {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(262144, 16);
    header.writeUInt32LE(1, 20);
    writeSync(fd, header);
    const out = Buffer.alloc(4 * 1024 * 1024);
    let used = 0;
    let written = 0;
    const baseSeconds = 1_700_000_000;
    for (let i = 0; written < packets; i++) {
      for (const p of cycle(i)) {
        if (used + 16 + p.length > out.length) {
          writeSync(fd, out, 0, used);
          used = 0;
        }
        const usec = written * 50; // 20,000 packets per second of capture time
        out.writeUInt32LE(baseSeconds + Math.floor(usec / 1_000_000), used);
        out.writeUInt32LE(usec % 1_000_000, used + 4);
        out.writeUInt32LE(p.length, used + 8);
        out.writeUInt32LE(p.length, used + 12);
        out.set(p, used + 16);
        used += 16 + p.length;
        written++;
      }
    }
    writeSync(fd, out, 0, used);
    return written;
  } finally {
    closeSync(fd);
  }
}
