// IP addresses and CIDR blocks as integer ranges (bigint, so IPv4 and IPv6 share one code path).
// Parsing is strict: dotted-quad IPv4 without leading zeros, RFC 4291 §2.2 text forms for IPv6.

/** An IP family. */
export type IpFamily = 4 | 6;

/** A parsed address. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** An inclusive range of addresses of one family. */
export interface IpRange {
  readonly family: IpFamily;
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A CIDR parse result; `reason` is a sentence for the user. */
export type CidrResult =
  { readonly ok: true; readonly value: IpRange } | { readonly ok: false; readonly reason: string };

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 in the last 32 bits (RFC 4291 §2.2 form 3).
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (left === undefined || right === undefined) return undefined;
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tailV4 !== undefined) v = (v & ~V4_MAX) | tailV4;
  return v;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Parses a CIDR such as `10.0.0.0/8` or `2001:db8::/32` into the range it covers (host bits are masked off). */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = parseIp(text);
    if (ip !== undefined) {
      const full = ip.family === 4 ? 32 : 128;
      return { ok: false, reason: `CIDR mask is missing in "${text}". Did you mean "${text}/${full}"?` };
    }
    return {
      ok: false,
      reason: `"${text}" is not a CIDR. Use an address and a prefix length, such as "10.0.0.0/8".`,
    };
  }
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined) {
    return { ok: false, reason: `"${text}" is not a CIDR: "${text.slice(0, slash)}" is not an IP address.` };
  }
  const bits = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, reason: `"${text}" is not a CIDR: the prefix length must be 0-${bits}.` };
  }
  const hostBits = BigInt(bits - Number(prefixText));
  const max = ip.family === 4 ? V4_MAX : V6_MAX;
  const hostMask = (1n << hostBits) - 1n;
  const lo = ip.value & (max ^ hostMask);
  return { ok: true, value: { family: ip.family, lo, hi: lo | hostMask } };
}

/** True when `ip` lies in `range` (same family). */
export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  return range.family === ip.family && ip.value >= range.lo && ip.value <= range.hi;
}

/** True when `inner` lies entirely inside `outer`. */
export function rangeWithin(inner: IpRange, outer: IpRange): boolean {
  return inner.family === outer.family && inner.lo >= outer.lo && inner.hi <= outer.hi;
}

/** Formats an IPv4 value as a dotted quad. */
export function formatIpv4(value: bigint): string {
  const n = Number(value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Formats an address (IPv6 in the RFC 5952 compressed form). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return formatIpv4(ip.value);
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (length ≥ 2) becomes "::" (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The highest IPv4 address as a value. */
export const IPV4_MAX = V4_MAX;

/** `range` minus every range of `holes` (same family), as sorted, disjoint, non-adjacent pieces. */
export function subtractRanges(range: IpRange, holes: readonly IpRange[]): IpRange[] {
  const sorted = holes
    .filter((h) => h.family === range.family)
    .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: IpRange[] = [];
  let next = range.lo;
  for (const h of sorted) {
    if (h.hi < next || h.lo > range.hi) continue;
    if (h.lo > next) out.push({ family: range.family, lo: next, hi: h.lo - 1n });
    if (h.hi + 1n > next) next = h.hi + 1n;
  }
  if (next <= range.hi) out.push({ family: range.family, lo: next, hi: range.hi });
  return out;
}

/** A union of ranges of both families, for membership tests by binary search. */
export interface IpSet {
  readonly v4: readonly IpRange[];
  readonly v6: readonly IpRange[];
}

/** Builds the union of `ranges` (sorted and merged per family). */
export function buildIpSet(ranges: readonly IpRange[]): IpSet {
  const merge = (family: IpFamily): IpRange[] => {
    const list = ranges
      .filter((r) => r.family === family)
      .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const out: IpRange[] = [];
    for (const r of list) {
      const last = out[out.length - 1];
      if (last && r.lo <= last.hi + 1n) {
        if (r.hi > last.hi) out[out.length - 1] = { family, lo: last.lo, hi: r.hi };
      } else out.push(r);
    }
    return out;
  };
  return { v4: merge(4), v6: merge(6) };
}

/** True when `ip` is in the set (binary search). */
export function ipSetHas(set: IpSet, ip: IpAddress): boolean {
  const list = ip.family === 4 ? set.v4 : set.v6;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = list[mid]!;
    if (ip.value < r.lo) hi = mid - 1;
    else if (ip.value > r.hi) lo = mid + 1;
    else return true;
  }
  return false;
}
