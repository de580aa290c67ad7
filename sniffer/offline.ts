// Offline mode of `intentmap sniff`: decode a pcap/pcapng file and write ndjson observations.
// The same function serves the CLI and the capture tests, so both exercise one code path.
import { readCaptureFile } from './capture/file-source.js';
import type { CaptureStop } from './capture/capture-format.js';
import { formatIpv4, formatIpv6 } from './decode/ip-text.js';
import { createPacketDecoder, type DecoderStats } from './decode/packet-decoder.js';
import { NdjsonWriter } from './ndjson.js';
import { packetTimeToNs, type UdpFlowObservation } from './observation.js';

/** Where ndjson goes. `write` may return a promise to apply backpressure; it owns the chunk. */
export interface OfflineOutput {
  write(chunk: Uint8Array): void | Promise<void>;
  /** True once the reader went away (EPIPE): stop decoding. */
  readonly closed: boolean;
  /**
   * True when `write` is done with a chunk once it returns (or its promise resolves): the chunk
   * is then refilled instead of allocating a new one. Leave it unset when chunks are kept.
   */
  readonly releasesChunks?: boolean;
}

/** Options of `sniffCaptureFile`. */
export interface OfflineOptions {
  readonly file: string;
  readonly output: OfflineOutput;
  /** Also write `udp-flow` lines (merged per src, dst, dport) at the end. */
  readonly udpFlows?: boolean;
  readonly maxTcpStreams?: number;
  readonly onProgress?: (bytesRead: number, fileBytes: number) => void;
}

/** What an offline run did. */
export interface OfflineSummary {
  readonly stats: DecoderStats;
  readonly malformed: number;
  readonly bytesRead: number;
  readonly stop: CaptureStop | null;
  /** True when the output closed early. */
  readonly cancelled: boolean;
}

/** Decodes `options.file` and writes one ndjson line per observation to `options.output`. */
export async function sniffCaptureFile(options: OfflineOptions): Promise<OfflineSummary> {
  const { output } = options;
  const udpFlows = options.udpFlows === true;
  const decoder = createPacketDecoder({
    udpFlows,
    ...(options.maxTcpStreams === undefined ? {} : { maxTcpStreams: options.maxTcpStreams }),
  });
  const flows = new Map<string, { first: UdpFlowObservation; packets: number }>();
  // The writer is the decoder's sink: SYNs and DNS responses are written straight from the packet
  // bytes; udp-flow packets are merged per (src, dst, dport) and written at the end.
  const lines = new NdjsonWriter();
  if (udpFlows) {
    lines.onUdpFlow = (time, frame, ipVersion, srcOffset, sport, dstOffset, dport) => {
      const format = ipVersion === 4 ? formatIpv4 : formatIpv6;
      const src = format(frame, srcOffset);
      const dst = format(frame, dstOffset);
      const key = `${src} ${dst} ${dport}`;
      const flow = flows.get(key);
      if (flow !== undefined) flow.packets++;
      else {
        const first: UdpFlowObservation = {
          type: 'udp-flow',
          ts: packetTimeToNs(time),
          src,
          sport,
          dst,
          dport,
        };
        flows.set(key, { first, packets: 1 });
      }
    };
  }

  const result = await readCaptureFile(
    options.file,
    async (parser) => {
      for (let r = parser.next(); r !== null; r = parser.next())
        decoder.decodeAt(r.linkType, r.buf, r.start, r.end, r, lines);
      if (lines.hasFull) {
        for (const chunk of lines.take(false)) {
          await output.write(chunk);
          if (output.releasesChunks === true) lines.recycle(chunk);
        }
      }
      return !output.closed;
    },
    options.onProgress,
  );
  for (const { first, packets } of flows.values()) lines.write(first, packets);
  for (const chunk of lines.take(true)) if (!output.closed) await output.write(chunk);
  const stats = decoder.stats;
  let malformed = 0;
  for (const n of Object.values(stats.malformed)) malformed += n;
  return {
    stats,
    malformed,
    bytesRead: result.bytesRead,
    stop: result.stop,
    cancelled: result.cancelled || output.closed,
  };
}
