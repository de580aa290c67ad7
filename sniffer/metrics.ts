// The sniffer's self-metrics (prom-client, on its own Registry so nothing global leaks in) and the
// small HTTP endpoint that serves them with /healthz and /readyz.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** Every metric the sniffer exports. Names are stable: dashboards and RELIABILITY.md use them. */
export interface SnifferMetrics {
  readonly registry: Registry;
  readonly packetsSeen: Counter;
  readonly packetsDecoded: Counter;
  readonly packetsMalformed: Counter<'reason'>;
  readonly kernelDrops: Counter;
  readonly kernelDropsAvailable: Gauge;
  readonly observations: Counter<'type'>;
  readonly aggregateSkipped: Counter<'reason'>;
  readonly batchesSent: Counter;
  readonly batchesDuplicate: Counter;
  readonly batchesRetried: Counter;
  readonly batchesSpooled: Counter;
  readonly batchesDropped: Counter;
  readonly batchesDeadLettered: Counter;
  readonly spoolBytes: Gauge;
  readonly spoolWriteErrors: Counter;
  readonly spoolBatches: Gauge;
  readonly socketScanConnections: Counter;
  readonly socketScanNamespaces: Gauge;
  readonly socketScanErrors: Counter;
  readonly socketScans: Counter;
}

/** Creates the metrics on a fresh Registry. */
export function createSnifferMetrics(): SnifferMetrics {
  const registry = new Registry();
  // Process metrics (RSS, heap, GC, event-loop lag, open fds): what a soak test watches for leaks.
  collectDefaultMetrics({ register: registry, prefix: 'intentmap_sniffer_' });
  const p = 'intentmap_sniffer_';
  const counter = <L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ): Counter<L> => new Counter<L>({ name: p + name, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string): Gauge =>
    new Gauge({ name: p + name, help, registers: [registry] });
  return {
    registry,
    packetsSeen: counter('packets_seen_total', 'Packets delivered by libpcap (after the kernel filter).'),
    packetsDecoded: counter('packets_decoded_total', 'Packets decoded without error.'),
    packetsMalformed: counter('packets_malformed_total', 'Packets skipped as malformed, by reason.', [
      'reason',
    ]),
    kernelDrops: counter(
      'kernel_drops_total',
      'Packets the kernel dropped because the capture ring was full.',
    ),
    kernelDropsAvailable: gauge('kernel_drops_available', '1 when kernel drop counts can be read, else 0.'),
    observations: counter('observations_total', 'Observations produced by the decoder, by type.', ['type']),
    aggregateSkipped: counter(
      'aggregate_skipped_total',
      'Observations that did not become a record (retransmissions, caps, no address), by reason.',
      ['reason'],
    ),
    batchesSent: counter('batches_sent_total', 'Batches the mapper acknowledged (2xx), duplicates included.'),
    batchesDuplicate: counter(
      'batches_duplicate_total',
      'Batches the mapper acknowledged as already applied.',
    ),
    batchesRetried: counter('batches_retried_total', 'Failed delivery attempts that will be retried.'),
    batchesSpooled: counter(
      'batches_spooled_total',
      'Batches that had to wait in the spool because the mapper failed.',
    ),
    batchesDropped: counter('batches_dropped_total', 'Oldest batches deleted because the spool was full.'),
    batchesDeadLettered: counter(
      'batches_dead_lettered_total',
      'Batches the mapper refused as invalid (4xx).',
    ),
    spoolBytes: gauge('spool_bytes', 'Bytes of batches waiting in the spool.'),
    spoolWriteErrors: counter(
      'spool_write_errors_total',
      'Batches that could not be written to the spool (disk full, read-only); their records were dropped.',
    ),
    spoolBatches: gauge('spool_batches', 'Batches waiting in the spool.'),
    socketScanConnections: counter(
      'socket_scan_connections_total',
      'Established connections found by the /proc socket scan (each counted once per scan).',
    ),
    socketScanNamespaces: gauge('socket_scan_namespaces', 'Network namespaces read by the last socket scan.'),
    socketScanErrors: counter('socket_scan_errors_total', 'Unreadable /proc files or unparsable rows.'),
    socketScans: counter('socket_scans_total', 'Socket scans completed.'),
  };
}

/** The metrics endpoint. */
export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz (the process is alive) and /readyz (`isReady()`: capture open). */
export async function startMetricsServer(
  listen: { readonly host: string; readonly port: number },
  registry: Registry,
  isReady: () => boolean,
  beforeScrape?: () => void,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      beforeScrape?.();
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const ready = isReady();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
