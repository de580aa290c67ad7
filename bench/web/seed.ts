// Deterministic graphs for the web benchmarks and tests, written through GraphStore as the mapper
// writes them (ensureIdentity + GraphWriter + flush).
import type { Protocol } from '../../mapper/api/wire.js';
import type { Identity, IdentityKind } from '../../mapper/graph/model.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';

/** A workload identity. */
export function workload(
  namespace: string,
  name: string,
  labels: Record<string, string> = { app: name },
  workloadKind = 'Deployment',
): Identity {
  return { kind: 'workload', cluster: '', namespace, name, workloadKind, labels, attrs: {} };
}

/** A non-namespaced identity (external, unresolved, node). */
export function party(kind: IdentityKind, name: string): Identity {
  return { kind, cluster: '', namespace: '', name, workloadKind: '', labels: {}, attrs: {} };
}

/** One edge to seed. */
export interface SeedEdge {
  readonly client: Identity;
  readonly server: Identity;
  readonly protocol?: Protocol;
  readonly port: number;
  readonly count?: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly dnsNames?: readonly string[];
  readonly clientIp?: string;
  readonly serverIp?: string;
}

/** Writes edges through GraphStore in one transaction. */
export function seedEdges(store: GraphStore, edges: readonly SeedEdge[]): void {
  store.transaction(() => {
    const w = store.createWriter();
    edges.forEach((e, i) => {
      w.addEdge({
        clientId: store.ensureIdentity(e.client),
        serverId: store.ensureIdentity(e.server),
        viaId: 0,
        protocol: e.protocol ?? 'TCP',
        port: e.port,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        count: e.count ?? 1,
        sources: 2,
        clientIp: e.clientIp ?? `10.1.${(i >> 8) & 255}.${i & 255}`,
        serverIp: e.serverIp ?? `10.2.${(i >> 8) & 255}.${i & 255}`,
        dnsNames: e.dnsNames ?? [],
      });
    });
    w.flush();
  });
}

/** Shape of a synthetic cluster graph. */
export interface LargeGraphOptions {
  /** Workloads per namespace, one entry per namespace. */
  readonly namespaceSizes: readonly number[];
  readonly edges: number;
  readonly now: number;
  /** Share of edges whose server is in another namespace (default 0.2). */
  readonly crossNamespaceShare?: number;
}

/** The namespace name of index i. */
export function teamNamespace(i: number): string {
  return `team-${String(i).padStart(3, '0')}`;
}

/** `count` namespaces holding `total` workloads as evenly as possible, the first one holding `first` if given. */
export function namespaceSizes(count: number, total: number, first?: number): number[] {
  const sizes: number[] = [];
  const restCount = first === undefined ? count : count - 1;
  const restTotal = first === undefined ? total : total - first;
  if (first !== undefined) sizes.push(first);
  for (let i = 0; i < restCount; i++)
    sizes.push(Math.floor(restTotal / restCount) + (i < restTotal % restCount ? 1 : 0));
  return sizes;
}

/** Seeds a large deterministic graph (xorshift32, fixed seed): clients uniform over workloads, servers mostly in the client's namespace. */
export function seedLarge(store: GraphStore, o: LargeGraphOptions): { workloads: number; edges: number } {
  let seed = 42;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const byNs: Identity[][] = o.namespaceSizes.map((n, i) =>
    Array.from({ length: n }, (_, w) =>
      workload(teamNamespace(i), `svc-${String(w).padStart(3, '0')}`, {
        app: `svc-${w}`,
        team: teamNamespace(i),
      }),
    ),
  );
  const all = byNs.flatMap((l, ns) => l.map((id) => ({ id, ns })));
  const cross = o.crossNamespaceShare ?? 0.2;
  const ports = [80, 443, 5432, 6379, 8080, 9090, 50051];
  const seen = new Set<string>();
  const edges: SeedEdge[] = [];
  let guard = 0;
  while (edges.length < o.edges && guard++ < o.edges * 20) {
    const c = all[Math.floor(rand() * all.length)]!;
    const serverNs = rand() < cross ? Math.floor(rand() * byNs.length) : c.ns;
    const pool = byNs[serverNs]!;
    const s = pool[Math.floor(rand() * pool.length)]!;
    const port = ports[Math.floor(rand() * ports.length)]!;
    const key = `${c.id.namespace}/${c.id.name}>${s.namespace}/${s.name}:${port}`;
    if (s === c.id || seen.has(key)) continue;
    seen.add(key);
    const first = o.now - Math.floor(rand() * 20 * 86_400_000);
    edges.push({
      client: c.id,
      server: s,
      port,
      count: 1 + Math.floor(rand() * 5000),
      firstSeen: first,
      lastSeen: Math.min(o.now, first + Math.floor(rand() * 10 * 86_400_000)),
    });
  }
  for (let i = 0; i < edges.length; i += 20_000) seedEdges(store, edges.slice(i, i + 20_000));
  return { workloads: all.length, edges: edges.length };
}
