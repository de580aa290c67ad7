// The ndjson output of `intentmap sniff --format ndjson`: one JSON object per observation, keys in
// the order of test/fixtures/captures/README.md, `ts` as epoch seconds with exactly 9 fractional
// digits (tshark's frame.time_epoch at nanosecond resolution) or null. Hand-built rather than
// JSON.stringify: it is the hot path of the offline mode and the key order is part of the contract.
import { decodeDnsMessage, DNS_OPCODE, type DnsReason } from './decode/dns.js';
import { formatDnsType } from './decode/dns-types.js';
import { formatIpv4, formatIpv6 } from './decode/ip-text.js';
import { toDnsObservation, type ObservationSink } from './decode/packet-decoder.js';
import {
  packetTimeToNs,
  type DnsAnswer,
  type DnsQuestion,
  type Observation,
  type PacketTime,
  type TimestampNs,
} from './observation.js';

/** Formats nanoseconds since the epoch as `"<seconds>.<9 digits>"` (JSON string) or `null`. */
export function formatTimestamp(ts: TimestampNs): string {
  if (ts === null) return 'null';
  let digits = (ts < 0n ? -ts : ts).toString();
  if (digits.length < 10) digits = digits.padStart(10, '0');
  const cut = digits.length - 9;
  return `"${ts < 0n ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}"`;
}

/** A JSON string literal; the common case (no quote, backslash or control byte) skips JSON.stringify. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function nullableString(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}

function formatAnswers(answers: readonly DnsAnswer[]): string {
  let text = '[';
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (a === undefined) continue;
    if (i > 0) text += ',';
    text += `{"type":"${a.type}","name":${jsonString(a.name)},"data":${jsonString(a.data)},"ttl":${a.ttl}}`;
  }
  return text + ']';
}

function formatQuestions(questions: readonly DnsQuestion[]): string {
  let text = '[';
  for (let i = 0; i < questions.length; i++) {
    const q = questions[i];
    if (q === undefined) continue;
    if (i > 0) text += ',';
    text += `{"name":${jsonString(q.name)},"type":${jsonString(q.type)}}`;
  }
  return text + ']';
}

/** One observation as a JSON line (without the newline). udp-flow lines carry a packet count. */
export function formatObservation(obs: Observation, udpFlowPackets = 1): string {
  switch (obs.type) {
    case 'dns':
      return (
        `{"type":"dns","ts":${formatTimestamp(obs.ts)},"client":"${obs.client}","server":"${obs.server}","id":${obs.id},` +
        `"qname":${nullableString(obs.qname)},"qtype":${nullableString(obs.qtype)},"rcode":${obs.rcode},` +
        `"answers":${formatAnswers(obs.answers)},"transport":"${obs.transport}"` +
        (obs.questions === undefined ? '}' : `,"questions":${formatQuestions(obs.questions)}}`)
      );
    case 'tcp-syn':
    case 'tcp-synack':
      return `{"type":"${obs.type}","ts":${formatTimestamp(obs.ts)},"src":"${obs.src}","sport":${obs.sport},"dst":"${obs.dst}","dport":${obs.dport}}`;
    case 'udp-flow':
      return `{"type":"udp-flow","ts":${formatTimestamp(obs.ts)},"src":"${obs.src}","dst":"${obs.dst}","dport":${obs.dport},"packets":${udpFlowPackets}}`;
  }
}

/** Output chunk size of NdjsonWriter. */
const WRITER_CHUNK_BYTES = 1024 * 1024;

// The constant parts of the lines, as bytes.
const ENCODER = new TextEncoder();
const bytesOf = (s: string): Uint8Array => ENCODER.encode(s);
const SYN_HEAD = bytesOf('{"type":"tcp-syn","ts":');
const SYNACK_HEAD = bytesOf('{"type":"tcp-synack","ts":');
const SRC_KEY = bytesOf(',"src":"');
const SPORT_KEY = bytesOf('","sport":');
const DST_KEY = bytesOf(',"dst":"');
const DPORT_KEY = bytesOf('","dport":');
const LINE_END = bytesOf('}\n');
const DNS_HEAD = bytesOf('{"type":"dns","ts":');
const CLIENT_KEY = bytesOf(',"client":"');
const SERVER_KEY = bytesOf('","server":"');
const ID_KEY = bytesOf('","id":');
const QNAME_KEY = bytesOf(',"qname":"');
const QNAME_NULL = bytesOf(',"qname":null,"qtype":null');
const QTYPE_KEY = bytesOf('","qtype":"');
const RCODE_KEY = bytesOf('","rcode":');
const RCODE_KEY_AFTER_NULL = bytesOf(',"rcode":');
const ANSWERS_KEY = bytesOf(',"answers":[');
const ANSWER_A = bytesOf('{"type":"A","name":"');
const ANSWER_AAAA = bytesOf('{"type":"AAAA","name":"');
const ANSWER_CNAME = bytesOf('{"type":"CNAME","name":"');
const DATA_KEY = bytesOf('","data":"');
const TTL_KEY = bytesOf('","ttl":');
const DNS_END_UDP = bytesOf('],"transport":"udp"}\n');
const DNS_END_TCP = bytesOf('],"transport":"tcp"}\n');
const NULL_TEXT = bytesOf('null');

/** Room for everything of a SYN line or a DNS line's fixed part (two IPv6 texts, numbers, keys). */
const FIXED_LINE_BYTES = 256;
/**
 * Most bytes a DNS name takes as JSON string content: 255 wire bytes, each at most 5 bytes
 * (`\\ooo`), plus dots; rounded up.
 */
const MAX_NAME_TEXT_BYTES = 1400;
/** RFC 1035 §3.1: a name is at most 255 octets in wire form (as in decode/dns.ts). */
const MAX_NAME_WIRE_BYTES = 255;
/** Pointer jumps followed in one name before it is called hostile (as in decode/dns.ts). */
const MAX_POINTER_JUMPS = 64;
/** Names remembered per message by start offset, for compression pointers (as in decode/dns.ts). */
const MAX_CACHED_NAMES = 16;
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const ERR_TRUNCATED = -1;
const ERR_BAD_POINTER = -2;
const ERR_TOO_MANY_POINTERS = -3;
const ERR_TOO_LONG = -4;
const ERR_LABEL_TYPE = -5;
const ERROR_REASONS: readonly DnsReason[] = [
  'dns-truncated',
  'dns-bad-pointer',
  'dns-too-many-pointers',
  'dns-name-too-long',
  'dns-bad-label-type',
];
const HEX = bytesOf('0123456789abcdef');

function put(buf: Uint8Array, u: number, k: Uint8Array): number {
  const n = k.length;
  for (let i = 0; i < n; i++) buf[u + i] = k[i] ?? 0;
  return u + n;
}

/** Writes a non-negative integer below 2^53 in decimal. */
function putUint(buf: Uint8Array, u: number, v: number): number {
  if (v < 10) {
    buf[u] = 0x30 + v;
    return u + 1;
  }
  let digits = 1;
  for (let p = 10; p <= v; p *= 10) digits++;
  let o = u + digits;
  for (let x = v; o > u;) {
    const q = Math.floor(x / 10);
    buf[--o] = 0x30 + (x - q * 10);
    x = q;
  }
  return u + digits;
}

/** Writes the 4 bytes at `o` of `b` as dotted-quad text. */
function putIpv4(buf: Uint8Array, u: number, b: Uint8Array, o: number): number {
  u = putUint(buf, u, b[o] ?? 0);
  buf[u++] = 0x2e;
  u = putUint(buf, u, b[o + 1] ?? 0);
  buf[u++] = 0x2e;
  u = putUint(buf, u, b[o + 2] ?? 0);
  buf[u++] = 0x2e;
  return putUint(buf, u, b[o + 3] ?? 0);
}

/** Writes the 16 bytes at `o` of `b` as RFC 5952 text, exactly as `formatIpv6` does. */
function putIpv6(buf: Uint8Array, u: number, b: Uint8Array, o: number): number {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    if (b[o + g * 2] === 0 && b[o + g * 2 + 1] === 0) {
      if (runStart < 0) runStart = g;
      if (g - runStart + 1 > bestLen) {
        bestLen = g - runStart + 1;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  if (bestLen < 2) bestStart = -1;
  if (bestStart === 0 && bestLen === 5 && b[o + 10] === 0xff && b[o + 11] === 0xff) {
    // ::ffff:a.b.c.d (RFC 5952 §5)
    u = put(buf, u, FFFF_PREFIX);
    return putIpv4(buf, u, b, o + 12);
  }
  let afterColon = true; // at the start, or just after "::": no separator needed
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      buf[u++] = 0x3a;
      buf[u++] = 0x3a;
      g += bestLen - 1;
      afterColon = true;
      continue;
    }
    if (!afterColon) buf[u++] = 0x3a;
    afterColon = false;
    const v = ((b[o + g * 2] ?? 0) << 8) | (b[o + g * 2 + 1] ?? 0);
    if (v >= 0x1000) buf[u++] = HEX[v >> 12] ?? 0;
    if (v >= 0x100) buf[u++] = HEX[(v >> 8) & 15] ?? 0;
    if (v >= 0x10) buf[u++] = HEX[(v >> 4) & 15] ?? 0;
    buf[u++] = HEX[v & 15] ?? 0;
  }
  return u;
}
const FFFF_PREFIX = bytesOf('::ffff:');

function putAddress(buf: Uint8Array, u: number, b: Uint8Array, ipVersion: 4 | 6, o: number): number {
  return ipVersion === 4 ? putIpv4(buf, u, b, o) : putIpv6(buf, u, b, o);
}

function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/**
 * Writes observations as ndjson bytes straight into fixed-size buffers, without building a string
 * per line: the offline mode's hot path. A line never spans two chunks (a chunk is grown for a
 * line larger than it), so a line being written can be abandoned. It is an ObservationSink: SYNs
 * and DNS responses are written from the frame and message bytes, without observation objects;
 * the bytes equal `formatObservation(obs) + "\n"` of the objects the decoder would build (the
 * differential fuzz test in decode/fuzz.test.ts checks it). `udp-flow` packets are handed to
 * `onUdpFlow` (the offline mode merges them per flow) or, without it, written as lines.
 */
export class NdjsonWriter implements ObservationSink {
  private buf = Buffer.alloc(WRITER_CHUNK_BYTES);
  private used = 0;
  /** Where the line being written starts. */
  private lineStart = 0;
  private readonly full: Uint8Array[] = [];
  /** The seconds most recently written, and their digits (cached: they change once per second). */
  private lastSec = -1;
  private readonly secDigits = new Uint8Array(24);
  private secDigitCount = 0;
  /** JSON string content of DNS names decoded in the current message (see `name`). */
  private readonly arena = new Uint8Array(MAX_CACHED_NAMES * MAX_NAME_TEXT_BYTES + 2 * MAX_NAME_TEXT_BYTES);
  private arenaUsed = 0;
  private readonly cacheOffsets = new Int32Array(MAX_CACHED_NAMES);
  private readonly cachePos = new Int32Array(MAX_CACHED_NAMES);
  private readonly cacheLen = new Int32Array(MAX_CACHED_NAMES);
  private cacheCount = 0;
  /** Arena position and length of the name `name` read last. */
  private namePos = 0;
  private nameLen = 0;
  /** DNS type mnemonics as bytes, by type number. */
  private readonly typeBytes = new Map<number, Uint8Array>();

  /** Receives udp-flow packets instead of writing them (see the class comment). */
  onUdpFlow: ObservationSink['udpFlow'] | null = null;

  /** True when a full chunk is waiting to be taken. */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /** Takes the completed chunks, and the partial one too when `all`. Each is a fresh buffer. */
  take(all: boolean): Uint8Array[] {
    if (all && this.used > 0) {
      this.full.push(this.buf.subarray(0, this.used));
      this.buf = Buffer.alloc(WRITER_CHUNK_BYTES);
      this.used = 0;
      this.lineStart = 0;
    }
    return this.full.splice(0, this.full.length);
  }

  /** Appends one observation line (the object path: udp-flow lines, and tests). */
  write(obs: Observation, udpFlowPackets = 1): void {
    const text = formatObservation(obs, udpFlowPackets) + '\n';
    this.lineStart = this.used;
    this.reserve(text.length * 3);
    this.used += this.buf.write(text, this.used);
  }

  /** ObservationSink: a `tcp-syn` / `tcp-synack` line from the frame's address bytes. */
  tcpSyn(
    isAck: boolean,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void {
    this.lineStart = this.used;
    this.reserve(FIXED_LINE_BYTES);
    const buf = this.buf;
    let u = put(buf, this.used, isAck ? SYNACK_HEAD : SYN_HEAD);
    u = this.putTime(buf, u, time);
    u = put(buf, u, SRC_KEY);
    u = putAddress(buf, u, frame, ipVersion, srcOffset);
    u = put(buf, u, SPORT_KEY);
    u = putUint(buf, u, sport);
    u = put(buf, u, DST_KEY);
    u = putAddress(buf, u, frame, ipVersion, dstOffset);
    u = put(buf, u, DPORT_KEY);
    u = putUint(buf, u, dport);
    this.used = put(buf, u, LINE_END);
  }

  /** ObservationSink: udp-flow packets go to `onUdpFlow`, or are written one line each. */
  udpFlow(
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void {
    if (this.onUdpFlow !== null) {
      this.onUdpFlow(time, frame, ipVersion, srcOffset, sport, dstOffset, dport);
      return;
    }
    const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
    this.write({
      type: 'udp-flow',
      ts: packetTimeToNs(time),
      src: format(frame, srcOffset),
      sport,
      dst: format(frame, dstOffset),
      dport,
    });
  }

  /**
   * ObservationSink: decodes the DNS response `msg[start, end)` as `decodeDnsMessage` does
   * (same checks in the same order, so the same malformed reason) and writes its line straight
   * from the message bytes; on a malformed message the partial line is abandoned. Messages with
   * more than one question (rare: their `questions` key comes after the answers) take the object
   * path.
   */
  dns(
    msg: Uint8Array,
    start: number,
    end: number,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    clientOffset: number,
    serverOffset: number,
    transport: 'udp' | 'tcp',
  ): DnsReason | null {
    if (start + 12 > end) return 'dns-truncated';
    const qdcount = readU16(msg, start + 4);
    if (qdcount > 1) {
      const r = decodeDnsMessage(msg, start, end);
      if (!r.ok) return r.reason;
      const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
      this.write(
        toDnsObservation(
          r.value,
          packetTimeToNs(time),
          format(frame, clientOffset),
          format(frame, serverOffset),
          transport,
        ),
      );
      return null;
    }
    const flags = readU16(msg, start + 2);
    const ancount = ((flags >> 11) & 0x0f) === DNS_OPCODE.update ? 0 : readU16(msg, start + 6);
    this.lineStart = this.used;
    this.cacheCount = 0;
    this.arenaUsed = 0;
    this.reserve(FIXED_LINE_BYTES + MAX_NAME_TEXT_BYTES);
    let buf = this.buf;
    let u = put(buf, this.used, DNS_HEAD);
    u = this.putTime(buf, u, time);
    u = put(buf, u, CLIENT_KEY);
    u = putAddress(buf, u, frame, ipVersion, clientOffset);
    u = put(buf, u, SERVER_KEY);
    u = putAddress(buf, u, frame, ipVersion, serverOffset);
    u = put(buf, u, ID_KEY);
    u = putUint(buf, u, readU16(msg, start));
    let p = start + 12;
    if (qdcount === 1) {
      const afterName = this.name(msg, start, end, p);
      if (afterName < 0) return this.abandon(afterName);
      if (afterName + 4 > end) return this.abandon(ERR_TRUNCATED);
      u = put(buf, u, QNAME_KEY);
      u = this.putName(buf, u);
      u = put(buf, u, QTYPE_KEY);
      u = put(buf, u, this.typeText(readU16(msg, afterName)));
      u = put(buf, u, RCODE_KEY);
      p = afterName + 4;
    } else {
      u = put(buf, u, QNAME_NULL);
      u = put(buf, u, RCODE_KEY_AFTER_NULL);
    }
    u = putUint(buf, u, flags & 0x0f);
    u = put(buf, u, ANSWERS_KEY);
    this.used = u;
    let written = 0;
    for (let i = 0; i < ancount; i++) {
      const afterName = this.name(msg, start, end, p);
      if (afterName < 0) return this.abandon(afterName);
      if (afterName + 10 > end) return this.abandon(ERR_TRUNCATED);
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
      if (rdataEnd > end) return this.abandon(ERR_TRUNCATED);
      // As decodeDnsMessage (and the reference decoder): a non-empty A / AAAA rdata is read as
      // 4 / 16 bytes whatever RDLENGTH says; a CNAME target may run past RDLENGTH.
      if (rdlength > 0 && (type === TYPE_A || type === TYPE_AAAA || type === TYPE_CNAME)) {
        if (type === TYPE_A && rdata + 4 > end) return this.abandon(ERR_TRUNCATED);
        if (type === TYPE_AAAA && rdata + 16 > end) return this.abandon(ERR_TRUNCATED);
        this.reserve(FIXED_LINE_BYTES + 2 * MAX_NAME_TEXT_BYTES);
        buf = this.buf;
        u = this.used;
        if (written > 0) buf[u++] = 0x2c;
        u = put(buf, u, type === TYPE_A ? ANSWER_A : type === TYPE_AAAA ? ANSWER_AAAA : ANSWER_CNAME);
        u = this.putName(buf, u);
        u = put(buf, u, DATA_KEY);
        if (type === TYPE_A) u = putIpv4(buf, u, msg, rdata);
        else if (type === TYPE_AAAA) u = putIpv6(buf, u, msg, rdata);
        else {
          const afterTarget = this.name(msg, start, end, rdata);
          if (afterTarget < 0) return this.abandon(afterTarget);
          u = this.putName(buf, u);
        }
        u = put(buf, u, TTL_KEY);
        u = putUint(buf, u, ttl);
        buf[u++] = 0x7d;
        this.used = u;
        written++;
      }
      p = rdataEnd;
    }
    this.reserve(DNS_END_UDP.length);
    this.used = put(this.buf, this.used, transport === 'udp' ? DNS_END_UDP : DNS_END_TCP);
    return null;
  }

  /** Drops the line being written; returns the reason for an ERR_ code. */
  private abandon(err: number): DnsReason {
    this.used = this.lineStart;
    return ERROR_REASONS[-err - 1] ?? 'dns-truncated';
  }

  /** Copies the name read last (JSON string content, from the arena). */
  private putName(buf: Uint8Array, u: number): number {
    const arena = this.arena;
    const end = this.namePos + this.nameLen;
    for (let i = this.namePos; i < end; i++) buf[u++] = arena[i] ?? 0;
    return u;
  }

  /**
   * Reads the name at `pos` of the message `msg[start, end)` as decode/dns.ts `readName` does,
   * leaving its text, lower-cased and already escaped as JSON string content, in the arena
   * (`namePos`, `nameLen`). Returns the offset after the name's in-place bytes, or an ERR_ code.
   * Text rules (tshark's): labels joined by ".", the root written ".", bytes below 0x20 and 0x7f
   * as \ooo octal (its backslash escaped for JSON: `\\ooo`), bytes from 0x80 as U+FFFD in UTF-8,
   * `"` and `\` escaped for JSON.
   */
  private name(msg: Uint8Array, start: number, end: number, pos: number): number {
    const arena = this.arena;
    const base = this.arenaUsed;
    let n = base;
    let wireLength = 1;
    let jumps = 0;
    let after = -1;
    let segmentStart = pos;
    let p = pos;
    for (;;) {
      if (p >= end) return ERR_TRUNCATED;
      const len = msg[p] ?? 0;
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= end) return ERR_TRUNCATED;
        const target = start + (((len & 0x3f) << 8) | (msg[p + 1] ?? 0));
        if (after < 0) after = p + 2;
        // Backwards only (RFC 1035 §4.1.4): every jump strictly decreases.
        if (target >= segmentStart) return ERR_BAD_POINTER;
        if (++jumps > MAX_POINTER_JUMPS) return ERR_TOO_MANY_POINTERS;
        if (n === base) {
          // A whole name that is only a pointer to a name already read: reuse its text.
          for (let c = 0; c < this.cacheCount; c++) {
            if (this.cacheOffsets[c] === target) {
              this.namePos = this.cachePos[c] ?? 0;
              this.nameLen = this.cacheLen[c] ?? 0;
              return after;
            }
          }
        }
        segmentStart = target;
        p = target;
        continue;
      }
      if (kind !== 0) return ERR_LABEL_TYPE; // 0x40 extended (RFC 6891 §5) and 0x80 reserved
      if (len === 0) {
        if (n === base) arena[n++] = 0x2e; // the root
        this.namePos = base;
        this.nameLen = n - base;
        // Names read from their own start are kept for later pointers (the text of a name read
        // from one offset is always the same); the arena holds up to MAX_CACHED_NAMES of them.
        if (this.cacheCount < MAX_CACHED_NAMES) {
          const c = this.cacheCount++;
          this.cacheOffsets[c] = pos;
          this.cachePos[c] = base;
          this.cacheLen[c] = n - base;
          this.arenaUsed = n;
        }
        return after < 0 ? p + 1 : after;
      }
      wireLength += len + 1;
      if (wireLength > MAX_NAME_WIRE_BYTES) return ERR_TOO_LONG;
      if (p + 1 + len > end) return ERR_TRUNCATED;
      if (n > base) arena[n++] = 0x2e;
      for (let i = p + 1; i <= p + len; i++) {
        const c = msg[i] ?? 0;
        if (c > 0x5c && c < 0x7f)
          arena[n++] = c; // lower-case letters, digits above, most of ASCII
        else if (c >= 0x41 && c <= 0x5a) arena[n++] = c + 32;
        else if (c === 0x22 || c === 0x5c) {
          arena[n++] = 0x5c;
          arena[n++] = c;
        } else if (c < 0x20 || c === 0x7f) {
          arena[n++] = 0x5c; // JSON-escaped backslash, then 3 octal digits
          arena[n++] = 0x5c;
          arena[n++] = 0x30 + (c >> 6);
          arena[n++] = 0x30 + ((c >> 3) & 7);
          arena[n++] = 0x30 + (c & 7);
        } else if (c >= 0x80) {
          arena[n++] = 0xef; // U+FFFD in UTF-8
          arena[n++] = 0xbf;
          arena[n++] = 0xbd;
        } else arena[n++] = c;
      }
      p += len + 1;
    }
  }

  /** The JSON string content of a DNS type's mnemonic (cached per type). */
  private typeText(type: number): Uint8Array {
    let text = this.typeBytes.get(type);
    if (text === undefined) {
      const json = jsonString(formatDnsType(type));
      text = bytesOf(json.slice(1, -1));
      this.typeBytes.set(type, text);
    }
    return text;
  }

  /** Writes `"<seconds>.<9 digits>"` or null (as formatTimestamp). */
  private putTime(buf: Uint8Array, u: number, time: PacketTime): number {
    if (!time.hasTime) return put(buf, u, NULL_TEXT);
    const sec = time.sec;
    if (sec < 0 || sec > Number.MAX_SAFE_INTEGER) {
      const text = formatTimestamp(packetTimeToNs(time));
      for (let i = 0; i < text.length; i++) buf[u++] = text.charCodeAt(i);
      return u;
    }
    if (sec !== this.lastSec) {
      this.lastSec = sec;
      this.secDigitCount = putUint(this.secDigits, 0, sec);
    }
    buf[u++] = 0x22;
    const digits = this.secDigits;
    for (let i = 0; i < this.secDigitCount; i++) buf[u++] = digits[i] ?? 0;
    buf[u++] = 0x2e;
    // Nine fraction digits, zero-padded.
    let x = time.nsec;
    for (let o = u + 8; o >= u; o--) {
      const q = Math.floor(x / 10);
      buf[o] = 0x30 + (x - q * 10);
      x = q;
    }
    u += 9;
    buf[u++] = 0x22;
    return u;
  }

  /**
   * Makes room for `need` more bytes of the current line. When the chunk is full, the line
   * written so far moves to a fresh chunk (large enough for it), so lines never span chunks.
   */
  private reserve(need: number): void {
    if (this.used + need <= this.buf.length) return;
    const lineBytes = this.used - this.lineStart;
    const next = Buffer.alloc(Math.max(WRITER_CHUNK_BYTES, 2 * (lineBytes + need)));
    next.set(this.buf.subarray(this.lineStart, this.used), 0);
    if (this.lineStart > 0) this.full.push(this.buf.subarray(0, this.lineStart));
    this.buf = next;
    this.used = lineBytes;
    this.lineStart = 0;
  }
}
