// The mapper's HTTP app assembled in process the way `intentmap mapper` assembles it (ingest with
// an address resolver, token auth, metrics, a silent logger), for tests and benchmarks that talk to
// it over real HTTP without spawning the CLI. Callers override any option.
import { pino } from 'pino';
import { createMapperApp, type MapperApp, type MapperAppOptions } from '../../mapper/api/app.js';
import { createAuthenticator } from '../../mapper/api/auth.js';
import { createAddressResolver } from '../../mapper/ingest/address-resolver.js';
import { createIngestService } from '../../mapper/ingest/ingest-service.js';
import { createMetrics, type MapperMetrics } from '../../mapper/metrics.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';

/** What an in-process mapper needs; everything else has the CLI's defaults. */
export interface InProcessMapperOptions extends Partial<MapperAppOptions> {
  readonly store: GraphStore;
  /** The shared bearer token. */
  readonly token: string;
  readonly now: () => number;
  /** Per-node tokens (node name → token). */
  readonly nodeTokens?: ReadonlyMap<string, string>;
  /** Pod CIDRs of the address resolver (default 10.244.0.0/16). */
  readonly podCidrs?: readonly string[];
}

/** Creates the mapper app over `store`; returns it with its metrics. */
export function createInProcessMapper(options: InProcessMapperOptions): {
  app: MapperApp;
  metrics: MapperMetrics;
} {
  const { store, token, now, nodeTokens, podCidrs, ...over } = options;
  const metrics = over.metrics ?? createMetrics({ dbFile: store.db.name, rowCounts: () => store.counts() });
  const app = createMapperApp({
    store,
    ingest: createIngestService({
      store,
      resolve: createAddressResolver({ podCidrs: [...(podCidrs ?? ['10.244.0.0/16'])] }),
      now,
      metrics,
    }),
    auth: createAuthenticator({ sharedToken: token, nodeTokens: new Map(nodeTokens ?? []) }),
    metrics,
    logger: pino({ level: 'silent' }),
    now,
    readiness: () => ({}),
    ...over,
  });
  return { app, metrics };
}
