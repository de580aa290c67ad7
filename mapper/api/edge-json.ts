// The JSON shape of an edge, shared by `GET /api/v1/graph` and `intentmap export --format json`.
// Parties are named by identity, never by IP, except external and unresolved addresses:
//   workload   {"namespace":"shop","name":"cartservice","kind":"Deployment"}
//   service    {"service":"shop/cartservice"}          (a Service with no known backend)
//   node       {"node":"worker-1"}                      (host-network traffic)
//   external   {"external":{"ip":"1.2.3.4","dnsNames":["api.stripe.com"]}}
//   unresolved {"unresolved":{"ip":"10.244.1.9"}}       (in a pod/service CIDR, owner unknown)
// A non-empty cluster name is added as "cluster" on workload parties.
import { isIP } from 'node:net';
import type { GraphEdge, Identity } from '../graph/model.js';

/** A party of an edge, as JSON. */
export type PartyJson =
  | { readonly namespace: string; readonly name: string; readonly kind: string; readonly cluster?: string }
  | { readonly service: string }
  | { readonly node: string }
  | {
      readonly external: {
        readonly ip?: string;
        readonly name?: string;
        readonly dnsNames: readonly string[];
      };
    }
  | { readonly unresolved: { readonly ip: string } };

/** An edge, as JSON. */
export interface EdgeJson {
  readonly client: PartyJson;
  readonly server: PartyJson;
  readonly via: { readonly service: string } | null;
  readonly protocol: string;
  readonly port: number;
  readonly dnsNames: readonly string[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly sources: readonly string[];
}

/** Converts an identity to its JSON party; `dnsNames` are those the edge carries (for externals). */
export function identityToJson(i: Identity, dnsNames: readonly string[]): PartyJson {
  switch (i.kind) {
    case 'workload':
      return i.cluster === ''
        ? { namespace: i.namespace, name: i.name, kind: i.workloadKind }
        : { namespace: i.namespace, name: i.name, kind: i.workloadKind, cluster: i.cluster };
    case 'service':
      return { service: `${i.namespace}/${i.name}` };
    case 'node':
      return { node: i.name };
    case 'external':
      return {
        external:
          isIP(i.name) !== 0
            ? { ip: i.name, dnsNames: [...dnsNames] }
            : { name: i.name, dnsNames: [...dnsNames] },
      };
    case 'unresolved':
      return { unresolved: { ip: i.name } };
  }
}

/** Converts a graph edge to its JSON shape (ISO timestamps). */
export function edgeToJson(e: GraphEdge): EdgeJson {
  return {
    client: identityToJson(e.client, []),
    server: identityToJson(e.server, e.dnsNames),
    via: e.via === null ? null : { service: `${e.via.namespace}/${e.via.name}` },
    protocol: e.protocol,
    port: e.port,
    dnsNames: [...e.dnsNames],
    firstSeen: new Date(e.firstSeen).toISOString(),
    lastSeen: new Date(e.lastSeen).toISOString(),
    count: e.count,
    sources: [...e.sources],
  };
}

function partyKey(i: Identity): string {
  return `${i.kind}\u0000${i.cluster}\u0000${i.namespace}\u0000${i.name}\u0000${i.workloadKind}`;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Orders edges deterministically: client, server, protocol, port, via. */
export function compareEdges(a: GraphEdge, b: GraphEdge): number {
  return (
    cmp(partyKey(a.client), partyKey(b.client)) ||
    cmp(partyKey(a.server), partyKey(b.server)) ||
    cmp(a.protocol, b.protocol) ||
    a.port - b.port ||
    cmp(a.via === null ? '' : partyKey(a.via), b.via === null ? '' : partyKey(b.via))
  );
}
