// IP text normalization and CIDR membership, for classifying addresses nothing known owns.
// Pure. IPv6 is compared as bigint; IPv4 as a 32-bit unsigned number.
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed CIDR block. */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly bits: number;
}

/** A CIDR parse result; `reason` is a sentence that names the bad value and a fix. */
export type CidrResult =
  { readonly ok: true; readonly value: Cidr } | { readonly ok: false; readonly reason: string };

function v4ToBig(ip: string): bigint {
  let n = 0n;
  for (const part of ip.split('.')) n = (n << 8n) | BigInt(Number(part));
  return n;
}

function v6ToBig(ip: string): bigint {
  // RFC 4291 §2.2: at most one '::'; an embedded dotted quad fills the last 32 bits.
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = Number(v4ToBig(tail));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined ? [] : rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...r];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

/** Parses `10.0.0.0/8` or `fd00::/48`; host bits are masked off. */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const full = isIPv6(text) ? 128 : 32;
    return { ok: false, reason: `CIDR mask is missing in "${text}". Did you mean "${text}/${full}"?` };
  }
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0)
    return { ok: false, reason: `"${addr}" in CIDR "${text}" is not an IPv4 or IPv6 address.` };
  const max = family === 4 ? 32 : 128;
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max))
    return { ok: false, reason: `CIDR mask "/${bitsText}" in "${text}" must be between /0 and /${max}.` };
  const value = family === 4 ? v4ToBig(addr) : v6ToBig(addr);
  const shift = BigInt(max - bits);
  return { ok: true, value: { text, family, base: (value >> shift) << shift, bits } };
}

/** Whether `ip` (already normalized) lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const v4 = !ip.includes(':');
  if ((cidr.family === 4) !== v4) return false;
  const max = v4 ? 32 : 128;
  const value = v4 ? v4ToBig(ip) : v6ToBig(ip);
  const shift = BigInt(max - cidr.bits);
  return (value >> shift) << shift === cidr.base;
}

const normalizedV6 = new Map<string, string>();
const NORMALIZE_CACHE_MAX = 65_536;

/**
 * Canonical text of an IP so that map lookups match: IPv4 unchanged; IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`) becomes IPv4; other IPv6 gets the RFC 5952 form (lower case, `::` compression).
 * Returns the input unchanged when it is not an IP (callers validated it already).
 */
export function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  const cached = normalizedV6.get(ip);
  if (cached !== undefined) return cached;
  let out = ip;
  if (isIPv6(ip)) {
    const lower = ip.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped?.[1] !== undefined) out = mapped[1];
    else {
      // The WHATWG URL parser serializes IPv6 hosts in RFC 5952 canonical form.
      out = new URL(`http://[${lower}]/`).hostname.slice(1, -1);
    }
  }
  if (normalizedV6.size >= NORMALIZE_CACHE_MAX) normalizedV6.clear();
  normalizedV6.set(ip, out);
  return out;
}
