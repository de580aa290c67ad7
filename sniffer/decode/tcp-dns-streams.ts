// DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by a 2-byte length. Only the
// server→client direction (source port 53) is reassembled: a response may be split across
// segments, and one segment may carry several messages. The client direction is never needed, so
// gaps in it cannot stall anything. State is bounded: at most one partial message (≤ 65535 bytes)
// per stream and `maxStreams` streams, the least recently used evicted first.

/**
 * Called with each complete DNS message (bytes and bounds), synchronously during the `segment`
 * call of the segment that completes it (whose timestamp and addresses the caller knows).
 */
export type TcpDnsMessageSink = (bytes: Uint8Array, start: number, end: number) => void;

/** Reassembly state of one direction of one connection. */
interface StreamState {
  /** Next expected sequence number (unsigned 32-bit), or -1 before the first byte is seen. */
  nextSeq: number;
  /** Length-prefix bytes seen for the current message: 0, 1 or 2. */
  prefixHave: number;
  prefixFirst: number;
  msgLen: number;
  buf: Uint8Array | null;
  have: number;
  readonly key: string;
  /** Position in the recency order (see `touch`); -1 once the stream is forgotten. */
  order: number;
}

/** Counters a reassembler keeps (merged into the decoder's stats). */
export interface TcpDnsStreamStats {
  /** Streams dropped because `maxStreams` was reached. */
  evicted: number;
  /** Sequence gaps in the server direction: the partial message was dropped. */
  gaps: number;
}

/** Options of the reassembler. */
export interface TcpDnsStreamsOptions {
  readonly maxStreams: number;
}

/** Partial messages up to this size use pooled buffers (most DNS responses are far smaller). */
const SPARE_BUFFER_BYTES = 4096;
const MAX_SPARE_BUFFERS = 64;

/** The default cap on tracked server→client streams (each holds at most one partial message). */
export const DEFAULT_MAX_TCP_STREAMS = 1024;

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
  /** Eviction and gap counters. */
  readonly stats: TcpDnsStreamStats = { evicted: 0, gaps: 0 };

  constructor(options: TcpDnsStreamsOptions) {
    this.maxStreams = Math.max(1, Math.floor(options.maxStreams));
  }

  /** Number of streams currently tracked. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Feeds one server→client segment. `isSyn` resets the stream (the SYN takes one sequence
   * number); `isEnd` (FIN or RST) forgets it after its payload is read.
   */
  segment(
    key: string,
    seq: number,
    isSyn: boolean,
    isEnd: boolean,
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
      st = { nextSeq: -1, prefixHave: 0, prefixFirst: 0, msgLen: 0, buf: null, have: 0, key, order: 0 };
      if (this.streams.size >= this.maxStreams) {
        this.evictOldest();
        this.stats.evicted++;
      }
      this.streams.set(key, st);
      this.touch(st);
    } else if (st !== this.newest) this.touch(st);
    this.newest = st;
    this.newestKey = key;
    if (isSyn) {
      st.nextSeq = (seq + 1) >>> 0;
      st.prefixHave = 0;
      st.have = 0;
      this.release(st);
      seq = st.nextSeq;
    }
    if (start < end) this.payload(st, seq, data, start, end, sink);
    if (isEnd) {
      this.release(st);
      this.streams.delete(key);
      st.order = -1;
      this.newest = null;
    }
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

  /** Forgets the least recently used stream. */
  private evictOldest(): void {
    const queue = this.queue;
    const order = this.queueOrder;
    // Bounded: every step consumes one queue entry.
    while (this.head < queue.length) {
      const st = queue[this.head];
      const o = order[this.head];
      this.head++;
      if (st !== undefined && st.order === o) {
        this.streams.delete(st.key);
        st.order = -1;
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

  private payload(
    st: StreamState,
    seq: number,
    data: Uint8Array,
    start: number,
    end: number,
    sink: TcpDnsMessageSink,
  ): void {
    let s = start;
    if (st.nextSeq < 0) {
      st.nextSeq = seq;
    } else {
      const delta = (seq - st.nextSeq) | 0;
      if (delta > 0) {
        // Bytes are missing: the partial message cannot be completed; resynchronise here.
        this.stats.gaps++;
        st.prefixHave = 0;
        st.have = 0;
        this.release(st);
        st.nextSeq = seq;
      } else if (delta < 0) {
        // Retransmitted or overlapping bytes already consumed.
        if (-delta >= end - s) return;
        s -= delta;
      }
    }
    st.nextSeq = (st.nextSeq + (end - s)) >>> 0;
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
          this.startMessage(st, len);
        } else {
          st.prefixFirst = data[s] ?? 0;
          st.prefixHave = 1;
          s++;
          continue;
        }
      } else if (st.prefixHave === 1) {
        this.startMessage(st, (st.prefixFirst << 8) | (data[s] ?? 0));
        s++;
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

  private startMessage(st: StreamState, len: number): void {
    st.prefixHave = 2;
    st.msgLen = len;
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
