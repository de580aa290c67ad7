// DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by a 2-byte length. Only the
// server→client direction (source port 53) is reassembled: a response may be split across
// segments, and one segment may carry several messages. The client direction is never needed, so
// gaps in it cannot stall anything.
//
// Segments are placed by sequence number (RFC 9293 §3.4), as tshark does with
// `tcp.reassemble_out_of_order:TRUE`: a segment that arrives ahead of the next expected byte is
// copied into the stream's out-of-order queue and used once the bytes before it arrive (captures on
// `any`, and multi-queue NICs, deliver segments out of order). The rules, each checked against
// tshark 4.0 in test/sniffer-tshark-reference.test.ts:
// - bytes already consumed are final: a retransmission, or the old part of an overlapping
//   segment, is skipped;
// - queued segments are used in sequence order, the earlier arrival first at an equal sequence
//   number; each adds only the bytes past what is already assembled, so where queued segments
//   overlap with different bytes, the one that starts first wins;
// - a message is delivered when its last byte is in order, during the `segment` call of the
//   segment that completed it (so with that segment's timestamp), in stream order.
//
// State is bounded: `maxStreams` streams (the least recently used evicted first), at most one
// partial message (≤ 65,535 bytes) per stream, and a receive window per stream: queued segments
// must end within `windowBytes` of the next expected byte, at most `maxQueuedSegments` of them,
// holding at most `windowBytes` bytes, and `maxQueuedBytes` across all streams. A segment beyond
// these limits makes the stream give up its oldest hole (counted as a gap): the partial message is
// dropped and assembly resumes where the next message is known to start (the end of the partial
// message, when its length was read) or else at the first queued segment. A hole that never fills
// holds its segments until then, until a new SYN, an RST, or the stream's eviction (counted).

/**
 * Called with each complete DNS message (bytes and bounds), synchronously during the `segment`
 * call of the segment that completes it (whose timestamp and addresses the caller knows).
 */
export type TcpDnsMessageSink = (bytes: Uint8Array, start: number, end: number) => void;

/** Why reassembly lost bytes of a server→client stream (counted with the malformed reasons). */
export type TcpDnsReason = 'tcp-dns-gap' | 'tcp-dns-evicted';

/** Reassembly state of one direction of one connection. */
interface StreamState {
  /** Next expected sequence number (unsigned 32-bit), or -1 before the first byte is seen. */
  nextSeq: number;
  /** The sequence number the stream started at (after the SYN, or its first byte), or -1. */
  firstSeq: number;
  /** Sequence number just past a FIN seen ahead of a hole, or -1. */
  finSeq: number;
  /** Length-prefix bytes seen for the current message: 0, 1 or 2. */
  prefixHave: number;
  prefixFirst: number;
  msgLen: number;
  /** Sequence number just past the current message (valid when prefixHave is 2). */
  msgEndSeq: number;
  buf: Uint8Array | null;
  have: number;
  /** Out-of-order segments, in sequence order (ties in arrival order), or null when none. */
  pending: QueuedSegment[] | null;
  /** Bytes held in `pending`. */
  queuedBytes: number;
  readonly key: string;
  /** Position in the recency order (see `touch`); -1 once the stream is forgotten. */
  order: number;
}

/** A segment that arrived ahead of the next expected byte (its payload copied). */
interface QueuedSegment {
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Counters a reassembler keeps (merged into the decoder's stats). */
export interface TcpDnsStreamStats {
  /** Streams dropped because `maxStreams` was reached. */
  evicted: number;
  /** Of those, streams that held a partial message or queued segments (their bytes are lost). */
  evictedWithData: number;
  /** Holes in the server direction given up: the bytes before the resume point were dropped. */
  gaps: number;
  /** Segments queued because they arrived ahead of the next expected byte. */
  outOfOrder: number;
  /** Bytes held in out-of-order queues now, across all streams. */
  queuedBytes: number;
}

/** Options of the reassembler. */
export interface TcpDnsStreamsOptions {
  readonly maxStreams: number;
  /** Receive window per stream: queued bytes must lie within this many bytes past the next expected one. */
  readonly windowBytes?: number;
  /** Cap on queued segments per stream. */
  readonly maxQueuedSegments?: number;
  /** Cap on queued bytes across all streams. */
  readonly maxQueuedBytes?: number;
}

/** Partial messages up to this size use pooled buffers (most DNS responses are far smaller). */
const SPARE_BUFFER_BYTES = 4096;
const MAX_SPARE_BUFFERS = 64;

/** The default cap on tracked server→client streams (each holds at most one partial message). */
export const DEFAULT_MAX_TCP_STREAMS = 1024;
/** The default receive window per stream: one largest DNS message and its length prefix. */
export const DEFAULT_TCP_WINDOW_BYTES = 65_537;
/** The default cap on out-of-order segments queued per stream (bounds the sorted insert). */
export const DEFAULT_MAX_QUEUED_SEGMENTS = 64;
/** The default cap on out-of-order bytes queued across all streams. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** Signed distance from `b` to `a` in sequence space (RFC 9293 §3.4: modulo 2^32). */
function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** Reassembles DNS messages in the server→client direction of many TCP connections. */
export class TcpDnsStreams {
  private readonly streams = new Map<string, StreamState>();
  /** The most recently used stream: re-inserting it in the LRU order would change nothing. */
  private newest: StreamState | null = null;
  private newestKey = '';
  /** Recency order: streams and their order numbers, oldest first from `head` (see `touch`). */
  private readonly queue: StreamState[] = [];
  private readonly queueOrder: number[] = [];
  private head = 0;
  private orderSeq = 0;
  /** Message buffers of completed messages, reused for the next partial ones. */
  private readonly spare: Uint8Array[] = [];
  private readonly maxStreams: number;
  private readonly windowBytes: number;
  private readonly maxQueuedSegments: number;
  private readonly maxQueuedBytes: number;
  /** Eviction, gap and out-of-order counters. */
  readonly stats: TcpDnsStreamStats = {
    evicted: 0,
    evictedWithData: 0,
    gaps: 0,
    outOfOrder: 0,
    queuedBytes: 0,
  };

  constructor(options: TcpDnsStreamsOptions) {
    this.maxStreams = Math.max(1, Math.floor(options.maxStreams));
    this.windowBytes = Math.max(1, Math.floor(options.windowBytes ?? DEFAULT_TCP_WINDOW_BYTES));
    this.maxQueuedSegments = Math.max(
      1,
      Math.floor(options.maxQueuedSegments ?? DEFAULT_MAX_QUEUED_SEGMENTS),
    );
    this.maxQueuedBytes = Math.max(1, Math.floor(options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES));
  }

  /** Number of streams currently tracked. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Feeds one server→client segment. `isSyn` starts the stream (the SYN takes one sequence
   * number); `isFin` ends it once every byte before the FIN has been assembled; `isRst` forgets it
   * after its payload is read.
   */
  segment(
    key: string,
    seq: number,
    isSyn: boolean,
    isFin: boolean,
    isRst: boolean,
    data: Uint8Array,
    start: number,
    end: number,
    sink: TcpDnsMessageSink,
  ): void {
    // The stream of the previous segment (the usual case: a response's segments arrive together)
    // needs no lookup; `newest` is in the map under `newestKey`.
    let st = this.newest !== null && key === this.newestKey ? this.newest : this.streams.get(key);
    if (st === undefined) {
      if (start >= end && !isSyn) return;
      st = {
        nextSeq: -1,
        firstSeq: -1,
        finSeq: -1,
        prefixHave: 0,
        prefixFirst: 0,
        msgLen: 0,
        msgEndSeq: 0,
        buf: null,
        have: 0,
        pending: null,
        queuedBytes: 0,
        key,
        order: 0,
      };
      if (this.streams.size >= this.maxStreams) this.evictOldest();
      this.streams.set(key, st);
      this.touch(st);
    } else if (st !== this.newest) this.touch(st);
    this.newest = st;
    this.newestKey = key;
    if (isSyn) {
      const first = (seq + 1) >>> 0;
      // A retransmitted SYN-ACK, or one captured after the first bytes it precedes, changes nothing.
      if (first !== st.firstSeq) this.restart(st, first);
      seq = first;
    }
    if (start < end) {
      // The usual case, the next bytes in order with nothing queued, goes straight to `consume`.
      if (seq === st.nextSeq && st.pending === null) this.consume(st, data, start, end, sink);
      else this.accept(st, seq, data, start, end, sink);
    }
    if (isRst) this.forget(st, true);
    else if (isFin) {
      if (st.pending === null) this.forget(st, false);
      else st.finSeq = (seq + (end - start)) >>> 0;
    } else if (st.finSeq >= 0 && st.pending === null) this.forget(st, false);
  }

  /**
   * Marks `st` most recently used. The recency order is a queue of (stream, order) entries with
   * lazy deletion: an entry is live while its stream's `order` still equals it. (Iterating a Map
   * from its oldest entry, as before, rescans the deleted slots at the front on every eviction.)
   */
  private touch(st: StreamState): void {
    st.order = ++this.orderSeq;
    this.queue.push(st);
    this.queueOrder.push(st.order);
    if (this.queue.length > 4 * this.maxStreams + 64) this.compact();
  }

  /** Forgets the least recently used stream (counted; and as lost data when it held some). */
  private evictOldest(): void {
    const queue = this.queue;
    const order = this.queueOrder;
    // Bounded: every step consumes one queue entry.
    while (this.head < queue.length) {
      const st = queue[this.head];
      const o = order[this.head];
      this.head++;
      if (st !== undefined && st.order === o) {
        this.stats.evicted++;
        if (st.pending !== null || st.prefixHave !== 0) {
          this.stats.evictedWithData++;
          this.dropQueue(st);
        }
        st.buf = null; // not pooled: an evicted stream's buffer may be anywhere in its message
        this.streams.delete(st.key);
        st.order = -1;
        if (st === this.newest) this.newest = null;
        break;
      }
    }
    if (this.head > 1024 && this.head * 2 > queue.length) this.compact();
  }

  /** Drops stale and consumed queue entries. */
  private compact(): void {
    let w = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const st = this.queue[i];
      const o = this.queueOrder[i] ?? 0;
      if (st !== undefined && st.order === o) {
        this.queue[w] = st;
        this.queueOrder[w] = o;
        w++;
      }
    }
    this.queue.length = w;
    this.queueOrder.length = w;
    this.head = 0;
  }

  /** Removes a stream at its end (FIN, RST); a hole it was still waiting on counts as a gap. */
  private forget(st: StreamState, countHole: boolean): void {
    if (countHole && st.pending !== null) this.stats.gaps++;
    this.dropQueue(st);
    this.release(st);
    this.streams.delete(st.key);
    st.order = -1;
    if (st === this.newest) this.newest = null;
  }

  /** A SYN that starts a new connection on a known 4-tuple: nothing of the old one carries over. */
  private restart(st: StreamState, first: number): void {
    if (st.pending !== null) this.stats.gaps++;
    this.dropQueue(st);
    st.nextSeq = first;
    st.firstSeq = first;
    st.finSeq = -1;
    st.prefixHave = 0;
    st.have = 0;
    this.release(st);
  }

  /** Places a segment's payload `data[start, end)` starting at sequence number `seq`. */
  private accept(
    st: StreamState,
    seq: number,
    data: Uint8Array,
    start: number,
    end: number,
    sink: TcpDnsMessageSink,
  ): void {
    if (st.nextSeq < 0) {
      // The first byte seen (no handshake captured): assume a message starts here.
      st.nextSeq = seq;
      st.firstSeq = seq;
    }
    const delta = seqDelta(seq, st.nextSeq);
    if (delta > 0) {
      this.enqueue(st, seq, data, start, end, sink);
      return;
    }
    // Bytes before nextSeq were consumed already (a retransmission or an overlap): skip them.
    if (-delta >= end - start) return;
    this.consume(st, data, start - delta, end, sink);
    if (st.pending !== null) this.drain(st, sink);
  }

  /** Queues a segment that starts past the next expected byte, giving up holes while it does not fit. */
  private enqueue(
    st: StreamState,
    seq: number,
    data: Uint8Array,
    start: number,
    end: number,
    sink: TcpDnsMessageSink,
  ): void {
    const length = end - start;
    let pending = st.pending;
    if (pending !== null) {
      // A retransmission of queued bytes (covered by a segment used before it) adds nothing.
      for (const q of pending) {
        const from = seqDelta(seq, q.seq);
        if (from < 0) break;
        if (from + length <= q.data.length) return;
      }
    }
    this.stats.outOfOrder++;
    const segment: QueuedSegment = { seq, data: data.slice(start, end) };
    if (pending === null) pending = st.pending = [segment];
    else {
      // Sorted by sequence number; an equal one goes after those already queued (first wins).
      let i = pending.length;
      while (i > 0 && seqDelta(seq, pending[i - 1]?.seq ?? seq) < 0) i--;
      pending.splice(i, 0, segment);
    }
    st.queuedBytes += length;
    this.stats.queuedBytes += length;
    // Bounded: each hole given up consumes at least the first queued segment (see giveUpHole).
    while (st.pending !== null && !this.fits(st)) this.giveUpHole(st, sink);
  }

  /** True while the queued segments of a stream are within its window and the caps. */
  private fits(st: StreamState): boolean {
    const pending = st.pending;
    if (pending === null) return true;
    if (pending.length > this.maxQueuedSegments) return false;
    if (st.queuedBytes > this.windowBytes || this.stats.queuedBytes > this.maxQueuedBytes) return false;
    // Every queued byte lies within the window past the next expected byte.
    for (const q of pending) if (seqDelta(q.seq, st.nextSeq) + q.data.length > this.windowBytes) return false;
    return true;
  }

  /**
   * Gives up the hole before the first queued segment: the partial message is dropped, and
   * assembly resumes where the next message is known to start (just past the partial message,
   * when its length prefix was read and that is not before the first queued byte) or else at the
   * first queued segment, read as the start of a message.
   */
  private giveUpHole(st: StreamState, sink: TcpDnsMessageSink): void {
    const first = st.pending?.[0];
    if (first === undefined) return;
    this.stats.gaps++;
    let resume = first.seq;
    if (st.prefixHave === 2 && seqDelta(st.msgEndSeq, first.seq) >= 0) resume = st.msgEndSeq;
    st.prefixHave = 0;
    st.have = 0;
    this.release(st);
    st.nextSeq = resume;
    this.drain(st, sink);
  }

  /** Uses queued segments that now start at or before the next expected byte. */
  private drain(st: StreamState, sink: TcpDnsMessageSink): void {
    const pending = st.pending;
    if (pending === null) return;
    let used = 0;
    let freed = 0;
    // Bounded by the number queued; `consume` never touches them.
    while (used < pending.length) {
      const q = pending[used];
      if (q === undefined) break;
      const delta = seqDelta(q.seq, st.nextSeq);
      if (delta > 0) break;
      used++;
      freed += q.data.length;
      if (-delta < q.data.length) this.consume(st, q.data, -delta, q.data.length, sink);
    }
    if (used === 0) return;
    st.queuedBytes -= freed;
    this.stats.queuedBytes -= freed;
    if (used === pending.length) st.pending = null;
    else pending.splice(0, used);
  }

  /** Forgets a stream's queued segments. */
  private dropQueue(st: StreamState): void {
    if (st.pending === null) return;
    this.stats.queuedBytes -= st.queuedBytes;
    st.queuedBytes = 0;
    st.pending = null;
  }

  /** Consumes in-order bytes `data[start, end)`, which begin at `st.nextSeq`. */
  private consume(
    st: StreamState,
    data: Uint8Array,
    start: number,
    end: number,
    sink: TcpDnsMessageSink,
  ): void {
    let s = start;
    const seqAtStart = st.nextSeq;
    st.nextSeq = (seqAtStart + (end - s)) >>> 0;
    // Each iteration consumes at least one byte or completes a message.
    while (s < end) {
      if (st.prefixHave === 0) {
        if (end - s >= 2) {
          const len = ((data[s] ?? 0) << 8) | (data[s + 1] ?? 0);
          s += 2;
          if (end - s >= len) {
            sink(data, s, s + len);
            s += len;
            continue;
          }
          this.startMessage(st, len, (seqAtStart + (s - start) + len) >>> 0);
        } else {
          st.prefixFirst = data[s] ?? 0;
          st.prefixHave = 1;
          s++;
          continue;
        }
      } else if (st.prefixHave === 1) {
        const len = (st.prefixFirst << 8) | (data[s] ?? 0);
        s++;
        this.startMessage(st, len, (seqAtStart + (s - start) + len) >>> 0);
      }
      const buf = st.buf;
      if (buf === null) break; // unreachable: startMessage allocated it
      const n = Math.min(st.msgLen - st.have, end - s);
      if (n > 256) buf.set(data.subarray(s, s + n), st.have);
      else {
        // Short pieces (the usual): a loop beats making a view for `set`.
        const at = st.have - s;
        for (let i = s; i < s + n; i++) buf[at + i] = data[i] ?? 0;
      }
      st.have += n;
      s += n;
      if (st.have === st.msgLen) {
        sink(buf, 0, st.msgLen);
        st.prefixHave = 0;
        st.have = 0;
        this.release(st);
      }
    }
  }

  /** Starts a partial message of `len` bytes that ends just before sequence number `endSeq`. */
  private startMessage(st: StreamState, len: number, endSeq: number): void {
    st.prefixHave = 2;
    st.msgLen = len;
    st.msgEndSeq = endSeq;
    st.have = 0;
    const spare = len <= SPARE_BUFFER_BYTES ? this.spare.pop() : undefined;
    st.buf = spare ?? new Uint8Array(len <= SPARE_BUFFER_BYTES ? SPARE_BUFFER_BYTES : len);
  }

  /** Drops a stream's message buffer, keeping small ones for reuse. */
  private release(st: StreamState): void {
    const buf = st.buf;
    st.buf = null;
    if (buf !== null && buf.length === SPARE_BUFFER_BYTES && this.spare.length < MAX_SPARE_BUFFERS)
      this.spare.push(buf);
  }
}
