// Persistence of IP-ownership intervals through the graph store: rebuild the in-memory index on
// start, and write what changed after each batch of cluster events. Thin: the store does the SQL.
import type { GraphStore } from '../store/index.js';
import type { Identity } from '../graph/model.js';
import type { ClusterState, OwnershipChange } from './cluster-state.js';

/** Loads every persisted interval into `state` (call before applying live events). Returns how many. */
export function restoreOwnership(store: GraphStore, state: ClusterState): number {
  const identities = new Map<number, Identity>();
  for (const { id, identity } of store.listIdentities()) identities.set(id, identity);
  const rows: OwnershipChange[] = [];
  for (const r of store.listOwnership()) {
    const identity = identities.get(r.identityId);
    if (identity === undefined) continue; // the foreign key makes this impossible; skip defensively
    rows.push({
      ip: r.ip,
      identity,
      podNamespace: r.podNamespace,
      podName: r.podName,
      podUid: r.podUid,
      validFrom: r.validFrom,
      validTo: r.validTo,
    });
  }
  state.restore(rows);
  return rows.length;
}

/** Writes the intervals changed since the last call in one transaction. Returns how many. */
export function persistOwnership(store: GraphStore, state: ClusterState): number {
  const changes = state.drainOwnershipChanges();
  if (changes.length === 0) return 0;
  store.transaction(() => {
    store.recordOwnership(
      changes.map((c) => ({
        ip: c.ip,
        identityId: store.ensureIdentity(c.identity),
        podNamespace: c.podNamespace,
        podName: c.podName,
        podUid: c.podUid,
        validFrom: c.validFrom,
        validTo: c.validTo,
      })),
    );
  });
  return changes.length;
}
