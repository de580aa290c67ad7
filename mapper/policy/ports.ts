// Sets of (protocol, port) as sorted, disjoint, merged inclusive intervals per protocol. Only TCP,
// UDP and SCTP exist, on ports 1-65535 (NetworkPolicyPort.protocol; Kubernetes NetworkPolicy docs).

/** The protocols a NetworkPolicy can name, in the order outputs list them (alphabetical). */
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
/** A NetworkPolicy protocol. */
export type Protocol = (typeof PROTOCOLS)[number];

/** Lowest and highest port. */
export const MIN_PORT = 1;
/** Highest port. */
export const MAX_PORT = 65535;

/** An inclusive port interval. */
export type PortInterval = readonly [lo: number, hi: number];

/** A set of connections: intervals per protocol, sorted, disjoint and merged (adjacent intervals joined). */
export type PortSet = Readonly<Record<Protocol, readonly PortInterval[]>>;

const FULL: readonly PortInterval[] = Object.freeze([Object.freeze([MIN_PORT, MAX_PORT] as const)]);

/** The empty set. */
export const NO_PORTS: PortSet = Object.freeze({ SCTP: [], TCP: [], UDP: [] });
/** Every protocol on every port. */
export const ALL_PORTS: PortSet = Object.freeze({ SCTP: FULL, TCP: FULL, UDP: FULL });

/** True when `p` names a protocol NetworkPolicy knows. */
export function isProtocol(p: unknown): p is Protocol {
  return p === 'TCP' || p === 'UDP' || p === 'SCTP';
}

function normalize(intervals: readonly PortInterval[]): PortInterval[] {
  const sorted = intervals
    .map(([lo, hi]) => [Math.max(lo, MIN_PORT), Math.min(hi, MAX_PORT)] as const)
    .filter(([lo, hi]) => lo <= hi)
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Builds a set from one protocol's intervals. */
export function portSetOf(protocol: Protocol, intervals: readonly PortInterval[]): PortSet {
  return { ...NO_PORTS, [protocol]: normalize(intervals) };
}

/** The union of two sets. */
export function unionPorts(a: PortSet, b: PortSet): PortSet {
  if (a === ALL_PORTS || b === ALL_PORTS) return ALL_PORTS;
  return {
    SCTP: normalize([...a.SCTP, ...b.SCTP]),
    TCP: normalize([...a.TCP, ...b.TCP]),
    UDP: normalize([...a.UDP, ...b.UDP]),
  };
}

function intersectIntervals(a: readonly PortInterval[], b: readonly PortInterval[]): PortInterval[] {
  const out: PortInterval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i]!;
    const [blo, bhi] = b[j]!;
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
    if (ahi < bhi) i++;
    else j++;
  }
  return out;
}

/** The intersection of two sets. */
export function intersectPorts(a: PortSet, b: PortSet): PortSet {
  if (a === ALL_PORTS) return b;
  if (b === ALL_PORTS) return a;
  return {
    SCTP: intersectIntervals(a.SCTP, b.SCTP),
    TCP: intersectIntervals(a.TCP, b.TCP),
    UDP: intersectIntervals(a.UDP, b.UDP),
  };
}

/** True when the set holds nothing. */
export function isEmptyPorts(s: PortSet): boolean {
  return s.SCTP.length === 0 && s.TCP.length === 0 && s.UDP.length === 0;
}

function isFull(list: readonly PortInterval[]): boolean {
  return list.length === 1 && list[0]![0] === MIN_PORT && list[0]![1] === MAX_PORT;
}

/** True when the set holds every protocol on every port. */
export function isAllPorts(s: PortSet): boolean {
  return isFull(s.SCTP) && isFull(s.TCP) && isFull(s.UDP);
}

/** True when both sets hold the same connections. */
export function portsEqual(a: PortSet, b: PortSet): boolean {
  return PROTOCOLS.every((p) => {
    const x = a[p];
    const y = b[p];
    return x.length === y.length && x.every((iv, k) => iv[0] === y[k]![0] && iv[1] === y[k]![1]);
  });
}

/** True when the set holds `port` of `protocol`. */
export function hasPort(s: PortSet, protocol: Protocol, port: number): boolean {
  return s[protocol].some(([lo, hi]) => port >= lo && port <= hi);
}

/** Formats a set as the corpus does: `"All"`, or `["SCTP 7070", "TCP 8080-8081", "UDP 53"]`. */
export function formatPorts(s: PortSet): 'All' | string[] {
  if (isAllPorts(s)) return 'All';
  const out: string[] = [];
  for (const p of PROTOCOLS)
    for (const [lo, hi] of s[p]) out.push(lo === hi ? `${p} ${lo}` : `${p} ${lo}-${hi}`);
  return out;
}

/** Parses the corpus format back into a set (`"All"` or `"PROTO port"` / `"PROTO lo-hi"` entries); undefined if malformed. */
export function parsePorts(conns: 'All' | readonly string[]): PortSet | undefined {
  if (conns === 'All') return ALL_PORTS;
  let set: PortSet = NO_PORTS;
  for (const entry of conns) {
    const m = /^(TCP|UDP|SCTP) (\d+)(?:-(\d+))?$/.exec(entry);
    if (!m) return undefined;
    const lo = Number(m[2]);
    const hi = m[3] === undefined ? lo : Number(m[3]);
    set = unionPorts(set, portSetOf(m[1] as Protocol, [[lo, hi]]));
  }
  return set;
}
