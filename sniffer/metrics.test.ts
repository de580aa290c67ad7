import { afterEach, describe, expect, it } from 'vitest';
import { createSnifferMetrics, startMetricsServer, type MetricsServer } from './metrics.js';

let server: MetricsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('metrics endpoint', () => {
  it('serves /metrics, /healthz and /readyz on its own registry', async () => {
    const metrics = createSnifferMetrics();
    let ready = false;
    let scrapes = 0;
    server = await startMetricsServer(
      { host: '127.0.0.1', port: 0 },
      metrics.registry,
      () => ready,
      () => {
        scrapes++;
        metrics.packetsSeen.inc(3);
      },
    );
    const base = `http://127.0.0.1:${server.port}`;
    metrics.packetsMalformed.inc({ reason: 'dns-bad-pointer' });
    metrics.batchesDropped.inc(2);
    metrics.spoolBytes.set(1234);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(scrapes).toBe(1);
    expect(text).toMatch(/^intentmap_sniffer_packets_seen_total 3$/m);
    expect(text).toMatch(/^intentmap_sniffer_packets_malformed_total\{reason="dns-bad-pointer"\} 1$/m);
    expect(text).toMatch(/^intentmap_sniffer_batches_dropped_total 2$/m);
    expect(text).toMatch(/^intentmap_sniffer_spool_bytes 1234$/m);
    expect(text).toMatch(/^intentmap_sniffer_process_resident_memory_bytes \d+/m);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('keeps registries separate per sniffer instance', () => {
    const a = createSnifferMetrics();
    const b = createSnifferMetrics();
    a.packetsSeen.inc();
    expect(a.registry).not.toBe(b.registry);
  });
});
