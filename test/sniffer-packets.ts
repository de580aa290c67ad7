// Hand-made packet bytes for the sniffer's unit and property tests.

/** Bytes from a hex string (spaces allowed). */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Concatenates byte arrays and numbers (single bytes). */
export function bytes(...parts: (Uint8Array | number[] | number)[]): Uint8Array {
  const flat: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') flat.push(p);
    else flat.push(...p);
  }
  return Uint8Array.from(flat);
}

/** Big-endian 16-bit. */
export function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

/** Big-endian 32-bit. */
export function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A DNS name in wire form (no compression). */
export function dnsName(name: string): number[] {
  const out: number[] = [];
  if (name !== '.') {
    for (const label of name.split('.')) {
      out.push(label.length);
      for (let i = 0; i < label.length; i++) out.push(label.charCodeAt(i));
    }
  }
  out.push(0);
  return out;
}

/** A DNS header. */
export function dnsHeader(id: number, flags: number, qd: number, an: number, ns = 0, ar = 0): number[] {
  return [...be16(id), ...be16(flags), ...be16(qd), ...be16(an), ...be16(ns), ...be16(ar)];
}

/** A DNS response: one question, then the given answer RR bytes. */
export function dnsResponse(qname: string, qtype: number, answers: number[][], flags = 0x8180): Uint8Array {
  return bytes(
    dnsHeader(0x1234, flags, 1, answers.length),
    dnsName(qname),
    be16(qtype),
    be16(1),
    ...answers.map((a) => a),
  );
}

/** An answer RR with a raw owner name (already encoded) and rdata. */
export function rr(owner: number[], type: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...be16(type), ...be16(1), ...be32(ttl), ...be16(rdata.length), ...rdata];
}

/** An IPv4 header (no options) around `payload`. */
export function ipv4(
  src: number[],
  dst: number[],
  protocol: number,
  payload: Uint8Array,
  flagsFragment = 0,
): Uint8Array {
  return bytes(
    0x45,
    0,
    be16(20 + payload.length),
    be16(1),
    be16(flagsFragment),
    64,
    protocol,
    0,
    0,
    src,
    dst,
    payload,
  );
}

/** An IPv6 header around `payload` (next header given). */
export function ipv6(src: Uint8Array, dst: Uint8Array, nextHeader: number, payload: Uint8Array): Uint8Array {
  return bytes(0x60, 0, 0, 0, be16(payload.length), nextHeader, 64, src, dst, payload);
}

/** A UDP header around `payload`. */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return bytes(be16(sport), be16(dport), be16(8 + payload.length), 0, 0, payload);
}

/** A 20-byte TCP header around `payload`. */
export function tcp(
  sport: number,
  dport: number,
  seq: number,
  flags: number,
  payload: Uint8Array = new Uint8Array(0),
  ack = 0,
): Uint8Array {
  return bytes(be16(sport), be16(dport), be32(seq), be32(ack), 0x50, flags, be16(65535), 0, 0, 0, 0, payload);
}

/** An Ethernet II header before `payload`. */
export function ethernet(ethertype: number, payload: Uint8Array, vlanTags: number[] = []): Uint8Array {
  const tags = vlanTags.flatMap((tpid) => [...be16(tpid), 0x20, 0x05]);
  return bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], tags, be16(ethertype), payload);
}

/** Prefixes a DNS message with its 2-byte TCP length (RFC 1035 §4.2.2). */
export function tcpFramed(msg: Uint8Array): Uint8Array {
  return bytes(be16(msg.length), msg);
}
