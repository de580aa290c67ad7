// The ndjson output of `intentmap sniff --format ndjson`: one JSON object per observation, keys in
// the order of test/fixtures/captures/README.md, `ts` as epoch seconds with exactly 9 fractional
// digits (tshark's frame.time_epoch at nanosecond resolution) or null. Hand-built rather than
// JSON.stringify: it is the hot path of the offline mode and the key order is part of the contract.
import { formatIpv6 } from './decode/ip-text.js';
import type { DnsAnswer, DnsQuestion, Observation, TimestampNs } from './observation.js';

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

/** Node's Buffer has a fast latin1 writer that the type definitions do not list. */
interface Latin1Writable {
  latin1Write(s: string, offset: number): number;
}
/** Strings longer than this are copied by the native writer; shorter ones by a loop. */
const ASCII_NATIVE_MIN = 24;

/** Output chunk size of NdjsonWriter. */
const WRITER_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes observations as ndjson bytes straight into fixed-size buffers, without building a string
 * per line: the offline mode's hot path. A line may span two chunks; chunks are taken in order.
 * The bytes are identical to `formatObservation(obs) + "\n"`.
 */
/** The constant parts of ndjson lines, as bytes (copied with a typed-array loop, not from strings). */
const ENCODER = new TextEncoder();
const K0 = ENCODER.encode('{"type":"dns","ts":');
const K1 = ENCODER.encode(',"client":"');
const K2 = ENCODER.encode('","server":"');
const K3 = ENCODER.encode('","id":');
const K4 = ENCODER.encode(',"qname":');
const K5 = ENCODER.encode('null');
const K6 = ENCODER.encode(',"qtype":');
const K7 = ENCODER.encode(',"rcode":');
const K8 = ENCODER.encode(',"answers":[');
const K9 = ENCODER.encode('","name":');
const K10 = ENCODER.encode(',"data":');
const K11 = ENCODER.encode(',"ttl":');
const K12 = ENCODER.encode('}');
const K13 = ENCODER.encode(',"questions":[');
const K14 = ENCODER.encode(',"type":');
const K15 = ENCODER.encode(']');
const K16 = ENCODER.encode('}\n');
const K17 = ENCODER.encode(',"src":"');
const K18 = ENCODER.encode('","sport":');
const K19 = ENCODER.encode(',"dst":"');
const K20 = ENCODER.encode('","dport":');
const K21 = ENCODER.encode('{"type":"udp-flow","ts":');
const K22 = ENCODER.encode('","dst":"');
const K23 = ENCODER.encode(',"packets":');
const K24 = ENCODER.encode('{"type":"');
const K25 = ENCODER.encode(',{"type":"');
const K26 = ENCODER.encode('],"transport":"udp"');
const K27 = ENCODER.encode('],"transport":"tcp"');
const K28 = ENCODER.encode('{"name":');
const K29 = ENCODER.encode(',{"name":');
const K30 = ENCODER.encode('{"type":"tcp-syn","ts":');
const K31 = ENCODER.encode('{"type":"tcp-synack","ts":');
const SRC_KEY = ENCODER.encode(',"src":"');
const SPORT_KEY = ENCODER.encode('","sport":');
const DST_KEY = ENCODER.encode(',"dst":"');
const DPORT_KEY = ENCODER.encode('","dport":');
const LINE_END = ENCODER.encode('}\n');

export class NdjsonWriter {
  private buf = Buffer.alloc(WRITER_CHUNK_BYTES);
  private used = 0;
  private readonly full: Uint8Array[] = [];

  /** True when a full chunk is waiting to be taken. */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /** Takes the completed chunks, and the partial one too when `all`. Each is a fresh buffer. */
  take(all: boolean): Uint8Array[] {
    if (all && this.used > 0) this.rotate(0);
    return this.full.splice(0, this.full.length);
  }

  /** Appends one observation line. */
  write(obs: Observation, udpFlowPackets = 1): void {
    switch (obs.type) {
      case 'dns': {
        this.bytes(K0);
        this.timestamp(obs.ts);
        this.bytes(K1);
        this.ascii(obs.client);
        this.bytes(K2);
        this.ascii(obs.server);
        this.bytes(K3);
        this.uint(obs.id);
        this.bytes(K4);
        if (obs.qname === null) this.bytes(K5);
        else this.string(obs.qname);
        this.bytes(K6);
        if (obs.qtype === null) this.bytes(K5);
        else this.string(obs.qtype);
        this.bytes(K7);
        this.uint(obs.rcode);
        this.bytes(K8);
        const answers = obs.answers;
        for (let i = 0; i < answers.length; i++) {
          const a = answers[i];
          if (a === undefined) continue;
          this.bytes(i === 0 ? K24 : K25);
          this.ascii(a.type);
          this.bytes(K9);
          this.string(a.name);
          this.bytes(K10);
          this.string(a.data);
          this.bytes(K11);
          this.uint(a.ttl);
          this.bytes(K12);
        }
        this.bytes(obs.transport === 'udp' ? K26 : K27);
        const questions = obs.questions;
        if (questions !== undefined) {
          this.bytes(K13);
          for (let i = 0; i < questions.length; i++) {
            const q = questions[i];
            if (q === undefined) continue;
            this.bytes(i === 0 ? K28 : K29);
            this.string(q.name);
            this.bytes(K14);
            this.string(q.type);
            this.bytes(K12);
          }
          this.bytes(K15);
        }
        this.bytes(K16);
        return;
      }
      case 'tcp-syn':
      case 'tcp-synack':
        this.bytes(obs.type === 'tcp-syn' ? K30 : K31);
        this.timestamp(obs.ts);
        this.bytes(K17);
        this.ascii(obs.src);
        this.bytes(K18);
        this.uint(obs.sport);
        this.bytes(K19);
        this.ascii(obs.dst);
        this.bytes(K20);
        this.uint(obs.dport);
        this.bytes(K16);
        return;
      case 'udp-flow':
        this.bytes(K21);
        this.timestamp(obs.ts);
        this.bytes(K17);
        this.ascii(obs.src);
        this.bytes(K22);
        this.ascii(obs.dst);
        this.bytes(K20);
        this.uint(obs.dport);
        this.bytes(K23);
        this.uint(udpFlowPackets);
        this.bytes(K16);
        return;
    }
  }

  /**
   * Writes a `tcp-syn` / `tcp-synack` line straight from the frame's address bytes (the
   * ObservationSink shape of the packet decoder): no observation object, no address strings.
   */
  tcpSyn(
    isAck: boolean,
    ts: TimestampNs,
    frame: Uint8Array,
    ipVersion: 4 | 6,
    srcOffset: number,
    sport: number,
    dstOffset: number,
    dport: number,
  ): void {
    this.bytes(isAck ? K31 : K30);
    this.timestamp(ts);
    this.bytes(SRC_KEY);
    this.address(frame, ipVersion, srcOffset);
    this.bytes(SPORT_KEY);
    this.uint(sport);
    this.bytes(DST_KEY);
    this.address(frame, ipVersion, dstOffset);
    this.bytes(DPORT_KEY);
    this.uint(dport);
    this.bytes(LINE_END);
  }

  private address(frame: Uint8Array, ipVersion: 4 | 6, offset: number): void {
    if (ipVersion === 6) {
      this.ascii(formatIpv6(frame, offset));
      return;
    }
    for (let i = 0; i < 4; i++) {
      if (i > 0) {
        if (this.used + 1 > this.buf.length) this.rotate(1);
        this.buf[this.used++] = 0x2e;
      }
      this.uint(frame[offset + i] ?? 0);
    }
  }

  private timestamp(ts: TimestampNs): void {
    if (ts === null || ts < 1_000_000_000n) {
      this.ascii(formatTimestamp(ts));
      return;
    }
    // "<seconds>.<9 digits>" straight from the decimal digits of the nanoseconds.
    const digits = ts.toString();
    const n = digits.length;
    if (this.used + n + 3 > this.buf.length) this.rotate(n + 3);
    const buf = this.buf;
    let u = this.used;
    buf[u++] = 0x22;
    for (let i = 0; i < n; i++) {
      if (i === n - 9) buf[u++] = 0x2e;
      buf[u++] = digits.charCodeAt(i);
    }
    buf[u++] = 0x22;
    this.used = u;
  }

  /** Writes a non-negative integer (ports, ids, TTLs: below 2^32) in decimal. */
  private uint(v: number): void {
    if (this.used + 10 > this.buf.length) this.rotate(10);
    const buf = this.buf;
    if (v < 10) {
      buf[this.used++] = 0x30 + v;
      return;
    }
    let digits = 1;
    for (let p = 10; p <= v && digits < 10; p *= 10) digits++;
    let u = this.used + digits;
    this.used = u;
    for (let x = v; digits > 0; digits--) {
      const q = Math.floor(x / 10);
      buf[--u] = 0x30 + (x - q * 10);
      x = q;
    }
  }

  /** Copies constant bytes. */
  private bytes(k: Uint8Array): void {
    const n = k.length;
    if (this.used + n > this.buf.length) this.rotate(n);
    const buf = this.buf;
    let u = this.used;
    for (let i = 0; i < n; i++) buf[u++] = k[i] ?? 0;
    this.used = u;
  }

  /** Copies a string known to be ASCII (addresses, numbers, constants). */
  private ascii(s: string): void {
    const n = s.length;
    if (this.used + n > this.buf.length) this.rotate(n);
    if (n > ASCII_NATIVE_MIN) {
      this.used += (this.buf as unknown as Latin1Writable).latin1Write(s, this.used);
      return;
    }
    const buf = this.buf;
    let u = this.used;
    for (let i = 0; i < n; i++) buf[u++] = s.charCodeAt(i);
    this.used = u;
  }

  /** Writes a JSON string literal of an arbitrary string (names may hold any byte's text). */
  private string(s: string): void {
    const n = s.length;
    if (this.used + n + 2 > this.buf.length) this.rotate(n + 2);
    const buf = this.buf;
    let u = this.used;
    buf[u++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        // Rare: escapes or non-ASCII; let JSON.stringify and UTF-8 encoding handle the whole string.
        const text = jsonString(s);
        const max = text.length * 3;
        if (this.used + max > this.buf.length) this.rotate(max);
        this.used += this.buf.write(text, this.used);
        return;
      }
      buf[u++] = c;
    }
    buf[u++] = 0x22;
    this.used = u;
  }

  /** Moves the current buffer to the completed list and starts one with room for `need` bytes. */
  private rotate(need: number): void {
    if (this.used > 0) this.full.push(this.buf.subarray(0, this.used));
    this.buf = Buffer.alloc(Math.max(WRITER_CHUNK_BYTES, need));
    this.used = 0;
  }
}
