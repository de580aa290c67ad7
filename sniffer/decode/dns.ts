// DNS message decoder (RFC 1035 §4.1) for responses: header, questions and the A / AAAA / CNAME
// records of the answer section. Hardened after dns-packet's "make name.decode stricter": every
// length is checked, a compression pointer must point inside the message, at most
// MAX_POINTER_JUMPS pointers are followed (this is what ends a pointer loop), and a name is at
// most 255 bytes in wire form (RFC 1035 §3.1).
//
// Pointers to a later offset are followed. RFC 1035 §4.1.4 says a pointer refers to a "prior
// occurrence" of a name, and dns-packet rejects any other, but the reference decoder does not:
// tshark 4.0 decodes a name through a forward pointer (the query of the corpus capture
// suricata-dns-forward-pointer; the responses pinned in decoders.test.ts) and reports only a
// pointer that loops or leaves the message. So the sniffer reports such a response as tshark
// does; a loop is still cut off by the jump cap.
//
// Name text follows the reference decoder (tshark), lower-cased: labels joined by ".", no
// trailing dot, the root written ".", "." and "\" inside a label left as they are, bytes below
// 0x20 and 0x7f written as \ooo octal, bytes from 0x80 replaced by U+FFFD.
import type { DnsAnswer, DnsQuestion } from '../observation.js';
import { formatDnsType } from './dns-types.js';
import { formatIpv6 } from './ip-text.js';
import { fail, ok, type DecodeResult } from './result.js';

/** A decoded DNS message, reduced to what the sniffer reports. */
export interface DnsMessage {
  readonly id: number;
  readonly isResponse: boolean;
  readonly opcode: number;
  /** The header's 4-bit RCODE (RFC 1035 §4.1.1); EDNS extended bits are not merged. */
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  /** A, AAAA and CNAME records of the answer section, in wire order. */
  readonly answers: readonly DnsAnswer[];
}

/** Why a DNS message could not be decoded. */
export type DnsReason =
  'dns-truncated' | 'dns-bad-pointer' | 'dns-too-many-pointers' | 'dns-name-too-long' | 'dns-bad-label-type';

/** DNS header opcodes (RFC 1035 §4.1.1, RFC 2136 §1). */
export const DNS_OPCODE = { query: 0, iquery: 1, status: 2, notify: 4, update: 5 } as const;

/** Bytes in the fixed DNS header. */
export const DNS_HEADER_BYTES = 12;
/** RFC 1035 §3.1: a name is at most 255 octets in wire form. */
export const MAX_NAME_WIRE_BYTES = 255;
/** More pointers than this in one name is hostile; a real name needs only a few. */
export const MAX_POINTER_JUMPS = 64;
/** Record types the sniffer reports (RFC 1035 §3.2.2, RFC 3596). */
export const TYPE_A = 1;
/** CNAME (RFC 1035 §3.2.2). */
export const TYPE_CNAME = 5;
/** AAAA (RFC 3596). */
export const TYPE_AAAA = 28;

// Name decoding returns the offset after the name in the message (or a negative error code) and
// leaves the text in `nameText`; this keeps the per-name cost to the string itself. The codes and
// limits are shared with the byte-level twin in sniffer/ndjson.ts, which must decide alike.
/** Name decode error: the name runs past the message. */
export const ERR_TRUNCATED = -1;
/** Name decode error: a compression pointer to an offset outside the message. */
export const ERR_BAD_POINTER = -2;
/** Name decode error: more than MAX_POINTER_JUMPS pointers (a pointer loop ends here). */
export const ERR_TOO_MANY_POINTERS = -3;
/** Name decode error: longer than MAX_NAME_WIRE_BYTES. */
export const ERR_TOO_LONG = -4;
/** Name decode error: a reserved label type. */
export const ERR_LABEL_TYPE = -5;
/** The DnsReason of each name decode error, indexed by -code - 1. */
export const ERROR_REASONS: readonly DnsReason[] = [
  'dns-truncated',
  'dns-bad-pointer',
  'dns-too-many-pointers',
  'dns-name-too-long',
  'dns-bad-label-type',
];
let nameText = '';

/**
 * Name text is assembled as bytes here and decoded once (one flat string per name, no per-byte
 * string garbage). Worst case: 255 wire bytes, each written as a 4-byte "\ooo" escape or a
 * 3-byte UTF-8 U+FFFD, plus dots.
 */
const scratch = Buffer.alloc(1024);
/** Names decoded so far in the current message, by start offset, for compression pointers. */
const cacheOffsets: number[] = [];
const cacheTexts: string[] = [];
/** Names remembered per message by start offset, for compression pointers. */
export const MAX_CACHED_NAMES = 16;

/** Writes one label byte as the reference decoder shows it (lower-cased); returns the new length. */
function writeLabelByte(c: number, n: number): number {
  if (c >= 0x41 && c <= 0x5a) {
    scratch[n] = c + 32;
    return n + 1;
  }
  if (c < 0x20 || c === 0x7f) {
    scratch[n] = 0x5c; // backslash, then 3 octal digits
    scratch[n + 1] = 0x30 + (c >> 6);
    scratch[n + 2] = 0x30 + ((c >> 3) & 7);
    scratch[n + 3] = 0x30 + (c & 7);
    return n + 4;
  }
  if (c >= 0x80) {
    scratch[n] = 0xef; // U+FFFD in UTF-8
    scratch[n + 1] = 0xbf;
    scratch[n + 2] = 0xbd;
    return n + 3;
  }
  scratch[n] = c;
  return n + 1;
}

/**
 * Reads the name at `pos` of the message `msg[start, end)`. Returns the offset just after the
 * name's in-place bytes, or a negative ERR_ code; the text is left in `nameText`. The offline
 * ndjson writer has a byte-level twin (`NdjsonWriter.name` in sniffer/ndjson.ts) that must apply
 * the same checks in the same order; decode/fuzz.test.ts compares the two.
 */
function readName(msg: Uint8Array, start: number, end: number, pos: number): number {
  let n = 0; // bytes of text in `scratch`
  let hasHigh = false;
  let wireLength = 1; // the terminating root label
  let jumps = 0;
  let after = -1; // offset after the in-place part, set at the first pointer
  let p = pos;
  for (;;) {
    if (p >= end) return ERR_TRUNCATED;
    const len = msg[p] ?? 0;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= end) return ERR_TRUNCATED;
      const target = start + (((len & 0x3f) << 8) | (msg[p + 1] ?? 0));
      if (after < 0) after = p + 2;
      // Anywhere in the message, earlier or later (as tshark; see the file comment). The jump cap
      // bounds the loop: a pointer cycle fails here after MAX_POINTER_JUMPS jumps.
      if (target >= end) return ERR_BAD_POINTER;
      if (++jumps > MAX_POINTER_JUMPS) return ERR_TOO_MANY_POINTERS;
      if (n === 0) {
        // A whole name that is only a pointer to a name already read: reuse its text.
        const cached = cacheOffsets.indexOf(target);
        if (cached >= 0) {
          nameText = cacheTexts[cached] ?? '';
          return after;
        }
      }
      p = target;
      continue;
    }
    if (kind !== 0) return ERR_LABEL_TYPE; // 0x40 extended (RFC 6891 §5) and 0x80 reserved
    if (len === 0) {
      nameText = n === 0 ? '.' : scratch.toString(hasHigh ? 'utf8' : 'latin1', 0, n);
      if (jumps === 0 && cacheOffsets.length < MAX_CACHED_NAMES) {
        cacheOffsets.push(pos);
        cacheTexts.push(nameText);
      }
      return after < 0 ? p + 1 : after;
    }
    wireLength += len + 1;
    if (wireLength > MAX_NAME_WIRE_BYTES) return ERR_TOO_LONG;
    if (p + 1 + len > end) return ERR_TRUNCATED;
    if (n > 0) scratch[n++] = 0x2e;
    for (let i = p + 1; i <= p + len; i++) {
      const c = msg[i] ?? 0;
      // Fast path for the usual lower-case letters, digits and hyphen.
      if (c > 0x5a && c < 0x7f) scratch[n++] = c;
      else {
        if (c >= 0x80) hasHigh = true;
        n = writeLabelByte(c, n);
      }
    }
    p += len + 1;
  }
}

function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/** Reads the 12-byte header's flags: is the message at `start` a response (QR=1)? Needs 3 bytes. */
export function isDnsResponse(msg: Uint8Array, start: number, end: number): boolean {
  return start + 2 < end && ((msg[start + 2] ?? 0) & 0x80) !== 0;
}

/**
 * Decodes the DNS message in `msg[start, end)`: header, all questions, and the A / AAAA / CNAME
 * records of the answer section. `next` is the offset after the answer section; the authority and
 * additional sections are not read. For UPDATE (opcode 5) the zone section stands in for the
 * question and the answer-count slot holds prerequisites, so no answers are reported (RFC 2136 §2).
 */
export function decodeDnsMessage(
  msg: Uint8Array,
  start: number,
  end: number,
): DecodeResult<DnsMessage, DnsReason> {
  if (start + DNS_HEADER_BYTES > end) return fail('dns-truncated');
  const id = readU16(msg, start);
  const flags = readU16(msg, start + 2);
  const opcode = (flags >> 11) & 0x0f;
  const qdcount = readU16(msg, start + 4);
  const ancount = opcode === DNS_OPCODE.update ? 0 : readU16(msg, start + 6);
  let p = start + DNS_HEADER_BYTES;
  cacheOffsets.length = 0;
  cacheTexts.length = 0;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qdcount; i++) {
    const afterName = readName(msg, start, end, p);
    if (afterName < 0) return fail(ERROR_REASONS[-afterName - 1] ?? 'dns-truncated');
    if (afterName + 4 > end) return fail('dns-truncated');
    questions.push({ name: nameText, type: formatDnsType(readU16(msg, afterName)) });
    p = afterName + 4;
  }
  const answers: DnsAnswer[] = [];
  for (let i = 0; i < ancount; i++) {
    const afterName = readName(msg, start, end, p);
    if (afterName < 0) return fail(ERROR_REASONS[-afterName - 1] ?? 'dns-truncated');
    if (afterName + 10 > end) return fail('dns-truncated');
    const owner = nameText;
    const type = readU16(msg, afterName);
    const ttl =
      (((msg[afterName + 4] ?? 0) << 24) |
        ((msg[afterName + 5] ?? 0) << 16) |
        ((msg[afterName + 6] ?? 0) << 8) |
        (msg[afterName + 7] ?? 0)) >>>
      0;
    const rdlength = readU16(msg, afterName + 8);
    const rdata = afterName + 10;
    const rdataEnd = rdata + rdlength;
    if (rdataEnd > end) return fail('dns-truncated');
    // As the reference decoder does: a non-empty A / AAAA rdata is read as 4 / 16 bytes from its
    // start whatever RDLENGTH says (bytes past a short RDLENGTH belong to the next record), and a
    // CNAME target may run past RDLENGTH; the next record still starts at RDATA + RDLENGTH.
    if (rdlength > 0) {
      if (type === TYPE_A) {
        if (rdata + 4 > end) return fail('dns-truncated');
        answers.push({
          type: 'A',
          name: owner,
          data: `${msg[rdata]}.${msg[rdata + 1]}.${msg[rdata + 2]}.${msg[rdata + 3]}`,
          ttl,
        });
      } else if (type === TYPE_AAAA) {
        if (rdata + 16 > end) return fail('dns-truncated');
        answers.push({ type: 'AAAA', name: owner, data: formatIpv6(msg, rdata), ttl });
      } else if (type === TYPE_CNAME) {
        const afterTarget = readName(msg, start, end, rdata);
        if (afterTarget < 0) return fail(ERROR_REASONS[-afterTarget - 1] ?? 'dns-truncated');
        answers.push({ type: 'CNAME', name: owner, data: nameText, ttl });
      }
    }
    p = rdataEnd;
  }
  return ok({ id, isResponse: (flags & 0x8000) !== 0, opcode, rcode: flags & 0x0f, questions, answers }, p);
}
