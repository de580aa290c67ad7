// The ndjson output of `intentmap sniff --format ndjson`: one JSON object per observation, keys in
// the order of test/fixtures/captures/README.md, `ts` as epoch seconds with exactly 9 fractional
// digits (tshark's frame.time_epoch at nanosecond resolution) or null. Hand-built rather than
// JSON.stringify: it is the hot path of the offline mode and the key order is part of the contract.
import {
  decodeDnsMessage,
  DNS_OPCODE,
  ERR_BAD_POINTER,
  ERR_LABEL_TYPE,
  ERR_TOO_LONG,
  ERR_TOO_MANY_POINTERS,
  ERR_TRUNCATED,
  ERROR_REASONS,
  MAX_CACHED_NAMES,
  MAX_NAME_WIRE_BYTES,
  MAX_POINTER_JUMPS,
  TYPE_A,
  TYPE_AAAA,
  TYPE_CNAME,
  type DnsReason,
} from './decode/dns.js';
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
/** Recycled chunks kept for reuse. */
const MAX_SPARE_CHUNKS = 4;

// Output is written through a DataView, 8 bytes per store where it can: constants are held as
// little-endian 64-bit words and written whole, numbers come from tables of packed digits. A
// store may write up to 7 bytes past the end of what it means to write; they are overwritten
// by what follows, or lie past `used` (every reservation keeps STORE_SLACK bytes spare).
// The 64-bit words are float64 values: a double round-trips its 8 bytes exactly unless they are
// a NaN pattern (exponent bits all ones: byte 7 0x7f or 0xff and byte 6 from 0xf0), and no text
// written this way has such bytes (it is ASCII, plus EF BF BD for U+FFFD).

/** A constant part of a line: its bytes packed into little-endian 64-bit words, and its length. */
interface Piece {
  readonly w: Float64Array;
  readonly n: number;
}

/** Bytes a 64-bit store may write past the intended end. */
const STORE_SLACK = 8;
const ENCODER = new TextEncoder();

function piece(text: string): Piece {
  const bytes = ENCODER.encode(text);
  const padded = new DataView(new ArrayBuffer(Math.ceil(bytes.length / 8) * 8));
  bytes.forEach((b, i) => padded.setUint8(i, b));
  const w = new Float64Array(padded.byteLength / 8);
  for (let i = 0; i < w.length; i++) {
    w[i] = padded.getFloat64(i * 8, true);
    // The round trip above is exact only for non-NaN words (see the comment above `Piece`).
    if (Number.isNaN(w[i]))
      throw new Error(`ndjson: ${JSON.stringify(text)} cannot be packed as float64 words`);
  }
  return { w, n: bytes.length };
}

/** The first 4 bytes of `text` as a little-endian 32-bit word. */
function word32(text: string): number {
  const bytes = ENCODER.encode(text);
  let w = 0;
  for (let i = 0; i < 4 && i < bytes.length; i++) w |= (bytes[i] ?? 0) << (i * 8);
  return w;
}

/** The starts of the lines up to the timestamp, by HEAD_ index. */
const HEAD_TEXTS = ['{"type":"tcp-syn","ts":', '{"type":"tcp-synack","ts":', '{"type":"dns","ts":'] as const;
const HEADS = HEAD_TEXTS.map(piece);
const HEAD_SYN = 0;
const HEAD_SYNACK = 1;
const HEAD_DNS = 2;
/** 64-bit words per cached head (a head, a quote, up to 20 digits of seconds and a dot fit). */
const HEAD_WORDS = 8;
const SRC_KEY = piece(',"src":"');
const SPORT_KEY = piece('","sport":');
const DST_KEY = piece(',"dst":"');
const DPORT_KEY = piece('","dport":');
const LINE_END = piece('}\n');
const CLIENT_KEY = piece(',"client":"');
const SERVER_KEY = piece('","server":"');
const ID_KEY = piece('","id":');
const QNAME_KEY = piece(',"qname":"');
const QNAME_NULL = piece(',"qname":null,"qtype":null,"rcode":');
const QTYPE_KEY = piece('","qtype":"');
const RCODE_KEY = piece('","rcode":');
const ANSWERS_KEY = piece(',"answers":[');
const ANSWER_A = piece('{"type":"A","name":"');
const ANSWER_A_NEXT = piece(',{"type":"A","name":"');
const ANSWER_AAAA = piece('{"type":"AAAA","name":"');
const ANSWER_AAAA_NEXT = piece(',{"type":"AAAA","name":"');
const ANSWER_CNAME = piece('{"type":"CNAME","name":"');
const ANSWER_CNAME_NEXT = piece(',{"type":"CNAME","name":"');
const DATA_KEY = piece('","data":"');
const TTL_KEY = piece('","ttl":');
const DNS_END_UDP = piece('],"transport":"udp"}\n');
const DNS_END_TCP = piece('],"transport":"tcp"}\n');
const NULL_TEXT = piece('null');
const FFFF_PREFIX = piece('::ffff:');

/** The JSON string content of the mnemonics of DNS types 0-255, by type (see `typeText`). */
const COMMON_TYPE_TEXTS: readonly Piece[] = Array.from({ length: 256 }, (_, type) =>
  piece(jsonString(formatDnsType(type)).slice(1, -1)),
);

/** Room for everything of a SYN line or a DNS line's fixed part (two IPv6 texts, numbers, keys). */
const FIXED_LINE_BYTES = 256;
/**
 * Most bytes a DNS name takes as JSON string content: 255 wire bytes, each at most 5 bytes
 * (`\\ooo`), plus dots; rounded up.
 */
const MAX_NAME_TEXT_BYTES = 1400;
const HEX = ENCODER.encode('0123456789abcdef');
/** Label bytes written as one byte (lower-cased), by value; 0 for those that need escaping. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) {
  if (c !== 0x22 && c !== 0x5c) PLAIN[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** For 0-999: the decimal digits packed LE (DEC), their count (DEC_LEN), the digits and a dot (DEC_DOT), and 3 zero-padded digits (PAD3). */
const DEC = new Int32Array(1000);
const DEC_DOT = new Int32Array(1000);
const DEC_LEN = new Uint8Array(1000);
const PAD3 = new Int32Array(1000);
for (let v = 0; v < 1000; v++) {
  const text = String(v);
  DEC[v] = word32(text);
  DEC_DOT[v] = word32(text + '.');
  DEC_LEN[v] = text.length;
  PAD3[v] = word32(text.padStart(3, '0'));
}

function put(dv: DataView, u: number, k: Piece): number {
  const w = k.w;
  for (let i = 0; i < w.length; i++) dv.setFloat64(u + i * 8, w[i] ?? 0, true);
  return u + k.n;
}

/** Writes a non-negative integer below 2^53 in decimal. */
function putUint(dv: DataView, u: number, v: number): number {
  if (v < 1000) {
    dv.setInt32(u, DEC[v] ?? 0, true);
    return u + (DEC_LEN[v] ?? 0);
  }
  if (v < 1_000_000) {
    const hi = (v / 1000) | 0; // int32 division (cheaper than Math.floor of a double), exact here
    dv.setInt32(u, DEC[hi] ?? 0, true);
    u += DEC_LEN[hi] ?? 0;
    dv.setInt32(u, PAD3[v - hi * 1000] ?? 0, true);
    return u + 3;
  }
  let digits = 1;
  for (let p = 10; p <= v; p *= 10) digits++;
  let o = u + digits;
  for (let x = v; o > u;) {
    const q = Math.floor(x / 10);
    dv.setUint8(--o, 0x30 + (x - q * 10));
    x = q;
  }
  return u + digits;
}

/** Writes the 4 bytes at `o` of `b` as dotted-quad text. */
function putIpv4(dv: DataView, u: number, b: Uint8Array, o: number): number {
  const b0 = b[o] ?? 0;
  const b1 = b[o + 1] ?? 0;
  const b2 = b[o + 2] ?? 0;
  const b3 = b[o + 3] ?? 0;
  dv.setInt32(u, DEC_DOT[b0] ?? 0, true);
  u += (DEC_LEN[b0] ?? 0) + 1;
  dv.setInt32(u, DEC_DOT[b1] ?? 0, true);
  u += (DEC_LEN[b1] ?? 0) + 1;
  dv.setInt32(u, DEC_DOT[b2] ?? 0, true);
  u += (DEC_LEN[b2] ?? 0) + 1;
  dv.setInt32(u, DEC[b3] ?? 0, true);
  return u + (DEC_LEN[b3] ?? 0);
}

/** Writes the 16 bytes at `o` of `b` as RFC 5952 text, exactly as `formatIpv6` does. */
function putIpv6(dv: DataView, u: number, b: Uint8Array, o: number): number {
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
    u = put(dv, u, FFFF_PREFIX);
    return putIpv4(dv, u, b, o + 12);
  }
  let afterColon = true; // at the start, or just after "::": no separator needed
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      dv.setUint8(u++, 0x3a);
      dv.setUint8(u++, 0x3a);
      g += bestLen - 1;
      afterColon = true;
      continue;
    }
    if (!afterColon) dv.setUint8(u++, 0x3a);
    afterColon = false;
    const v = ((b[o + g * 2] ?? 0) << 8) | (b[o + g * 2 + 1] ?? 0);
    if (v >= 0x1000) dv.setUint8(u++, HEX[v >> 12] ?? 0);
    if (v >= 0x100) dv.setUint8(u++, HEX[(v >> 8) & 15] ?? 0);
    if (v >= 0x10) dv.setUint8(u++, HEX[(v >> 4) & 15] ?? 0);
    dv.setUint8(u++, HEX[v & 15] ?? 0);
  }
  return u;
}

function putAddress(dv: DataView, u: number, b: Uint8Array, ipVersion: 4 | 6, o: number): number {
  return ipVersion === 4 ? putIpv4(dv, u, b, o) : putIpv6(dv, u, b, o);
}

function readU16(b: Uint8Array, o: number): number {
  // No `?? 0`: a read past the end gives undefined, which `<<` and `|` take as 0 all the same,
  // and without it the function is small enough that V8 always inlines it (it did not in `dns`).
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * Writes the labels `msg[from, to)` (length bytes and their labels, no pointer, all checked) at
 * `n` of `out` as JSON string content (the text rules of `NdjsonWriter.name`), joined by dots;
 * returns the position after.
 */
function writeLabelText(out: Uint8Array, n: number, msg: Uint8Array, from: number, to: number): number {
  // One loop over the whole run, a length byte becoming a dot: about a third cheaper than a
  // loop per label for names of short labels.
  let next = from + 1 + (msg[from] ?? 0);
  for (let i = from + 1; i < to; i++) {
    const c = msg[i] ?? 0;
    if (i === next) {
      next = i + 1 + c;
      out[n++] = 0x2e;
      continue;
    }
    const plain = PLAIN[c] ?? 0;
    if (plain !== 0) out[n++] = plain;
    else if (c === 0x22 || c === 0x5c) {
      out[n++] = 0x5c;
      out[n++] = c;
    } else if (c < 0x20 || c === 0x7f) {
      out[n++] = 0x5c; // JSON-escaped backslash, then 3 octal digits
      out[n++] = 0x5c;
      out[n++] = 0x30 + (c >> 6);
      out[n++] = 0x30 + ((c >> 3) & 7);
      out[n++] = 0x30 + (c & 7);
    } else {
      out[n++] = 0xef; // U+FFFD in UTF-8 (bytes from 0x80)
      out[n++] = 0xbf;
      out[n++] = 0xbd;
    }
  }
  return n;
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
  private buf: Buffer = Buffer.alloc(WRITER_CHUNK_BYTES);
  private dv: DataView = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private used = 0;
  /** Where the line being written starts. */
  private lineStart = 0;
  private readonly full: Uint8Array[] = [];
  /** Chunks given back by `recycle`. */
  private readonly spare: Buffer[] = [];
  /** The seconds most recently written (they change about once per second of capture). */
  private lastSec = -1;
  /** Each line head followed by `"<lastSec>.`, as packed words (HEAD_WORDS per head), and lengths. */
  private readonly headWords = new Float64Array(HEAD_TEXTS.length * HEAD_WORDS);
  private readonly headLength = new Int32Array(HEAD_TEXTS.length);
  /** JSON string content of DNS names decoded in the current message (see `name`). */
  private readonly arena = new Uint8Array(
    MAX_CACHED_NAMES * MAX_NAME_TEXT_BYTES + 2 * MAX_NAME_TEXT_BYTES + STORE_SLACK,
  );
  private readonly arenaView = new DataView(this.arena.buffer);
  private arenaUsed = 0;
  private readonly cacheOffsets = new Int32Array(MAX_CACHED_NAMES);
  private readonly cachePos = new Int32Array(MAX_CACHED_NAMES);
  private readonly cacheLen = new Int32Array(MAX_CACHED_NAMES);
  private cacheCount = 0;
  /** Arena position and length of the name `name` read last. */
  private namePos = 0;
  private nameLen = 0;
  /** DNS type mnemonics as bytes, by type number. */
  private readonly typeBytes = new Map<number, Piece>();

  /** Receives udp-flow packets instead of writing them (see the class comment). */
  onUdpFlow: ObservationSink['udpFlow'] | null = null;

  /** True when a full chunk is waiting to be taken. */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /**
   * Takes the completed chunks, and the partial one too when `all`. Each is a buffer of its own
   * (until it is given back with `recycle`).
   */
  take(all: boolean): Uint8Array[] {
    if (all && this.used > 0) {
      this.full.push(this.buf.subarray(0, this.used));
      this.buf = this.newChunk(WRITER_CHUNK_BYTES);
      this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
      this.used = 0;
      this.lineStart = 0;
    }
    return this.full.splice(0, this.full.length);
  }

  /** Gives back a chunk from `take` that the caller is done with, to be refilled. */
  recycle(chunk: Uint8Array): void {
    const memory = chunk.buffer;
    if (
      memory instanceof ArrayBuffer &&
      memory.byteLength === WRITER_CHUNK_BYTES &&
      chunk.byteOffset === 0 &&
      this.spare.length < MAX_SPARE_CHUNKS
    )
      this.spare.push(Buffer.from(memory));
  }

  /** A chunk of `bytes`: a recycled one when the size allows, else a fresh (zeroed) one. */
  private newChunk(bytes: number): Buffer {
    return (bytes === WRITER_CHUNK_BYTES ? this.spare.pop() : undefined) ?? Buffer.alloc(bytes);
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
    const dv = this.dv;
    let u = this.putHeadTime(dv, this.used, isAck ? HEAD_SYNACK : HEAD_SYN, time);
    u = put(dv, u, SRC_KEY);
    u = putAddress(dv, u, frame, ipVersion, srcOffset);
    u = put(dv, u, SPORT_KEY);
    u = putUint(dv, u, sport);
    u = put(dv, u, DST_KEY);
    u = putAddress(dv, u, frame, ipVersion, dstOffset);
    u = put(dv, u, DPORT_KEY);
    u = putUint(dv, u, dport);
    this.used = put(dv, u, LINE_END);
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
    const dv = this.dv;
    let u = this.dnsHead(
      dv,
      this.used,
      time,
      frame,
      ipVersion,
      clientOffset,
      serverOffset,
      readU16(msg, start),
    );
    let p = start + 12;
    if (qdcount === 1) {
      const afterName = this.name(msg, start, end, p);
      if (afterName < 0) return this.abandon(afterName);
      if (afterName + 4 > end) return this.abandon(ERR_TRUNCATED);
      u = put(dv, u, QNAME_KEY);
      u = this.putName(dv, u);
      u = put(dv, u, QTYPE_KEY);
      u = put(dv, u, this.typeText(readU16(msg, afterName)));
      u = put(dv, u, RCODE_KEY);
      p = afterName + 4;
    } else u = put(dv, u, QNAME_NULL);
    u = putUint(dv, u, flags & 0x0f);
    u = put(dv, u, ANSWERS_KEY);
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
        const err = this.answer(type, written === 0, msg, start, end, rdata, ttl);
        if (err < 0) return this.abandon(err);
        written++;
      }
      p = rdataEnd;
    }
    this.reserve(DNS_END_UDP.n);
    this.used = put(this.dv, this.used, transport === 'udp' ? DNS_END_UDP : DNS_END_TCP);
    return null;
  }

  /** Writes a DNS line up to its id (a method of its own so that its small helpers are inlined). */
  private dnsHead(
    dv: DataView,
    u: number,
    time: PacketTime,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    clientOffset: number,
    serverOffset: number,
    id: number,
  ): number {
    u = this.putHeadTime(dv, u, HEAD_DNS, time);
    u = put(dv, u, CLIENT_KEY);
    u = putAddress(dv, u, frame, ipVersion, clientOffset);
    u = put(dv, u, SERVER_KEY);
    u = putAddress(dv, u, frame, ipVersion, serverOffset);
    u = put(dv, u, ID_KEY);
    return putUint(dv, u, id);
  }

  /**
   * Writes one answer object, its owner being the name read last; 0, or an ERR_ code when the
   * CNAME target is malformed. (A method of its own so that its small helpers are inlined.)
   */
  private answer(
    type: number,
    first: boolean,
    msg: Uint8Array,
    start: number,
    end: number,
    rdata: number,
    ttl: number,
  ): number {
    this.reserve(FIXED_LINE_BYTES + 2 * MAX_NAME_TEXT_BYTES);
    const dv = this.dv;
    let u = this.used;
    if (type === TYPE_A) u = put(dv, u, first ? ANSWER_A : ANSWER_A_NEXT);
    else if (type === TYPE_AAAA) u = put(dv, u, first ? ANSWER_AAAA : ANSWER_AAAA_NEXT);
    else u = put(dv, u, first ? ANSWER_CNAME : ANSWER_CNAME_NEXT);
    u = this.putName(dv, u);
    u = put(dv, u, DATA_KEY);
    if (type === TYPE_A) u = putIpv4(dv, u, msg, rdata);
    else if (type === TYPE_AAAA) u = putIpv6(dv, u, msg, rdata);
    else {
      const afterTarget = this.name(msg, start, end, rdata);
      if (afterTarget < 0) return afterTarget;
      u = this.putName(dv, u);
    }
    u = put(dv, u, TTL_KEY);
    u = putUint(dv, u, ttl);
    dv.setUint8(u++, 0x7d);
    this.used = u;
    return 0;
  }

  /** Drops the line being written; returns the reason for an ERR_ code. */
  private abandon(err: number): DnsReason {
    this.used = this.lineStart;
    return ERROR_REASONS[-err - 1] ?? 'dns-truncated';
  }

  /** Copies the name read last (JSON string content, from the arena). */
  private putName(dv: DataView, u: number): number {
    const arena = this.arenaView;
    const from = this.namePos;
    const n = this.nameLen;
    // Whole words: up to 7 bytes past the name are read (the arena has slack) and written.
    for (let i = 0; i < n; i += 8) dv.setFloat64(u + i, arena.getFloat64(from + i, true), true);
    return u + n;
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
    let p = pos;
    for (;;) {
      // The labels from p up to a pointer or the end of the name are checked first, then turned
      // into text as one run (the checks come in readName's order; the text cannot fail).
      const run = p;
      let len = 0;
      for (;;) {
        if (p >= end) return ERR_TRUNCATED;
        len = msg[p] ?? 0;
        if (len === 0 || (len & 0xc0) !== 0) break;
        wireLength += len + 1;
        if (wireLength > MAX_NAME_WIRE_BYTES) return ERR_TOO_LONG;
        if (p + 1 + len > end) return ERR_TRUNCATED;
        p += len + 1;
      }
      if (p > run) {
        if (n > base) arena[n++] = 0x2e;
        n = writeLabelText(arena, n, msg, run, p);
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= end) return ERR_TRUNCATED;
        const target = start + (((len & 0x3f) << 8) | (msg[p + 1] ?? 0));
        if (after < 0) after = p + 2;
        // Earlier or later in the message, as readName (tshark follows forward pointers); the
        // jump cap ends a pointer loop.
        if (target >= end) return ERR_BAD_POINTER;
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
        p = target;
        continue;
      }
      if (kind !== 0) return ERR_LABEL_TYPE; // 0x40 extended (RFC 6891 §5) and 0x80 reserved
      // len === 0: the end of the name
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
  }

  /** The JSON string content of a DNS type's mnemonic (cached per type). */
  private typeText(type: number): Piece {
    // An array lookup for the usual types: cheaper than the Map, which holds the rest.
    if (type < COMMON_TYPE_TEXTS.length) return COMMON_TYPE_TEXTS[type] ?? NULL_TEXT;
    let text = this.typeBytes.get(type);
    if (text === undefined) {
      text = piece(jsonString(formatDnsType(type)).slice(1, -1));
      this.typeBytes.set(type, text);
    }
    return text;
  }

  /**
   * Writes the line head `head` (HEAD_ index) and the timestamp: `"<seconds>.<9 digits>"` or null
   * (as formatTimestamp). The head and the seconds are copied as one run of cached words.
   */
  private putHeadTime(dv: DataView, u: number, head: number, time: PacketTime): number {
    const sec = time.sec;
    if (!time.hasTime || sec < 0 || sec >= 1e20) {
      u = put(dv, u, HEADS[head] ?? NULL_TEXT);
      if (!time.hasTime) return put(dv, u, NULL_TEXT);
      const text = formatTimestamp(packetTimeToNs(time));
      for (let i = 0; i < text.length; i++) dv.setUint8(u++, text.charCodeAt(i));
      return u;
    }
    const words = this.headWords;
    if (sec !== this.lastSec) {
      this.lastSec = sec;
      for (let h = 0; h < HEAD_TEXTS.length; h++) {
        const p = piece(`${HEAD_TEXTS[h] ?? ''}"${sec.toFixed(0)}.`);
        words.set(p.w, h * HEAD_WORDS);
        this.headLength[h] = p.n;
      }
    }
    const n = this.headLength[head] ?? 0;
    const from = head * HEAD_WORDS;
    for (let i = 0; i < n; i += 8) dv.setFloat64(u + i, words[from + (i >> 3)] ?? 0, true);
    u += n;
    // Nine fraction digits, zero-padded, as three groups of three. `nsec` is below 1e9, so
    // `(x / d) | 0` is floor division in int32 (cheaper than Math.floor of a double).
    const nsec = time.nsec;
    const a = (nsec / 1_000_000) | 0;
    const rest = nsec - a * 1_000_000;
    const b = (rest / 1000) | 0;
    dv.setInt32(u, PAD3[a] ?? 0, true);
    dv.setInt32(u + 3, PAD3[b] ?? 0, true);
    dv.setInt32(u + 6, PAD3[rest - b * 1000] ?? 0, true);
    dv.setUint8(u + 9, 0x22);
    return u + 10;
  }

  /**
   * Makes room for `need` more bytes of the current line. When the chunk is full, the line
   * written so far moves to a fresh chunk (large enough for it), so lines never span chunks.
   */
  private reserve(need: number): void {
    if (this.used + need + STORE_SLACK <= this.buf.length) return;
    const lineBytes = this.used - this.lineStart;
    const next = this.newChunk(Math.max(WRITER_CHUNK_BYTES, 2 * (lineBytes + need + STORE_SLACK)));
    next.set(this.buf.subarray(this.lineStart, this.used), 0);
    if (this.lineStart > 0) this.full.push(this.buf.subarray(0, this.lineStart));
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
    this.used = lineBytes;
    this.lineStart = 0;
  }
}
