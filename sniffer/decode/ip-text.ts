// Text forms of IP addresses read straight from packet bytes, without intermediate arrays.
// IPv6 follows RFC 5952 (§4: lower case, no leading zeros, the longest run of two or more zero
// groups becomes "::", leftmost on a tie, a single zero group is never compressed) and writes
// IPv4-mapped addresses (::ffff:0:0/96, RFC 4291 §2.5.5.2) in mixed notation as RFC 5952 §5 asks.
// Deprecated IPv4-compatible addresses (::a.b.c.d) are written in plain hex (::102:304), as the
// reference output does.

/** Formats the 4 bytes at `offset` as dotted-quad IPv4 text. The caller has checked the length. */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Formats the 16 bytes at `offset` as RFC 5952 IPv6 text. The caller has checked the length. */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  // Find the longest run of zero groups (length >= 2), leftmost on a tie.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const o = offset + g * 2;
    const isZero = bytes[o] === 0 && bytes[o + 1] === 0;
    if (isZero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped ::ffff:a.b.c.d (first 80 bits zero, then 0xffff).
  if (bestStart === 0 && bestLen === 5 && bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += '::';
      g += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    const o = offset + g * 2;
    text += (((bytes[o] ?? 0) << 8) | (bytes[o + 1] ?? 0)).toString(16);
  }
  return text;
}
