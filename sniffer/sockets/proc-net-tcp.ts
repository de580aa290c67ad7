// A pure parser for the text of /proc/net/tcp and /proc/net/tcp6 (Linux
// Documentation/networking/proc_net_tcp.rst), and the direction logic that turns a namespace's
// socket table into client → server connections. No I/O here: the fs adapter is scan.ts.
import { formatIpv4, formatIpv6 } from '../decode/ip-text.js';

/** TCP states as /proc prints them (include/net/tcp_states.h), the two this module uses. */
export const TCP_STATE = { established: 0x01, listen: 0x0a } as const;

/** One row of /proc/net/tcp{,6}: addresses in text form, ports as numbers, state as a number. */
export interface ProcTcpSocket {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly state: number;
}

/** Why a row of the file was skipped. */
export type ProcTcpRowError = 'bad-columns' | 'bad-address' | 'bad-port' | 'bad-state';

/** The rows that parsed and the count of rows that did not, by reason. */
export interface ProcTcpParseResult {
  readonly sockets: readonly ProcTcpSocket[];
  readonly errors: Readonly<Partial<Record<ProcTcpRowError, number>>>;
}

/** A client → server TCP connection inferred from one namespace's table; `dport` is the server's listening port. */
export interface ScannedConnection {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** 'inbound' when the local socket is the server side, 'outbound' when it is the client side. */
  readonly direction: 'inbound' | 'outbound';
}

const HEX_RE = /^[0-9A-Fa-f]+$/;
/** Most rows parsed from one file: a guard against a hostile or runaway table. */
const MAX_ROWS = 1_000_000;

/**
 * Decodes a /proc hex address. The kernel prints each 32-bit word of the address with `%08X` of the
 * word as stored in memory read as a host-order integer, so on a little-endian host the 4 bytes of
 * every word appear reversed (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock).
 * IPv4-mapped IPv6 addresses (a dual-stack socket carrying IPv4) are returned as plain IPv4 so they
 * match what the packet decoder reports for the same connection.
 */
export function decodeProcAddress(hex: string, littleEndian = true): string | null {
  if ((hex.length !== 8 && hex.length !== 32) || !HEX_RE.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const byte = parseInt(hex.slice(word * 8 + i * 2, word * 8 + i * 2 + 2), 16);
      bytes[word * 4 + (littleEndian ? 3 - i : i)] = byte;
    }
  }
  if (bytes.length === 4) return formatIpv4(bytes, 0);
  const isMapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return isMapped ? formatIpv4(bytes, 12) : formatIpv6(bytes, 0);
}

function parseEndpoint(
  text: string,
  littleEndian: boolean,
): { address: string; port: number } | ProcTcpRowError {
  const colon = text.indexOf(':');
  if (colon < 0) return 'bad-address';
  const address = decodeProcAddress(text.slice(0, colon), littleEndian);
  if (address === null) return 'bad-address';
  const portHex = text.slice(colon + 1);
  // The port is printed with %04X of the host-order value, so it reads directly.
  if (portHex.length !== 4 || !HEX_RE.test(portHex)) return 'bad-port';
  return { address, port: parseInt(portHex, 16) };
}

/** Parses the whole text of /proc/net/tcp or /proc/net/tcp6 (the header line is skipped). */
export function parseProcNetTcp(text: string, littleEndian = true): ProcTcpParseResult {
  const sockets: ProcTcpSocket[] = [];
  const errors: Partial<Record<ProcTcpRowError, number>> = {};
  const lines = text.split('\n');
  const count = (reason: ProcTcpRowError): void => {
    errors[reason] = (errors[reason] ?? 0) + 1;
  };
  for (let i = 1; i < lines.length && i <= MAX_ROWS; i++) {
    const line = lines[i]?.trim();
    if (!line) continue;
    // "sl local_address rem_address st ..." → columns 1, 2 and 3.
    const cols = line.split(/\s+/, 4);
    const [, local, remote, st] = cols;
    if (local === undefined || remote === undefined || st === undefined) {
      count('bad-columns');
      continue;
    }
    const l = parseEndpoint(local, littleEndian);
    if (typeof l === 'string') {
      count(l);
      continue;
    }
    const r = parseEndpoint(remote, littleEndian);
    if (typeof r === 'string') {
      count(r);
      continue;
    }
    if (st.length !== 2 || !HEX_RE.test(st)) {
      count('bad-state');
      continue;
    }
    sockets.push({
      localAddress: l.address,
      localPort: l.port,
      remoteAddress: r.address,
      remotePort: r.port,
      state: parseInt(st, 16),
    });
  }
  return { sockets, errors };
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Loopback traffic stays inside one pod or node and says nothing about workload-to-workload intents. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Turns the sockets of ONE network namespace (tcp and tcp6 together) into client → server
 * connections. A connection whose local endpoint matches a listening socket of the namespace
 * (same port, and the listener's address is the same or unspecified) is inbound: the remote end is
 * the client. Otherwise it is outbound. Either way `dport` is the server's port, never the
 * client's ephemeral port. Loopback connections are skipped.
 */
export function inferConnections(sockets: readonly ProcTcpSocket[]): ScannedConnection[] {
  const listeners = new Map<number, Set<string>>();
  for (const s of sockets) {
    if (s.state !== TCP_STATE.listen) continue;
    let addrs = listeners.get(s.localPort);
    if (!addrs) listeners.set(s.localPort, (addrs = new Set()));
    addrs.add(s.localAddress);
  }
  const isListening = (address: string, port: number): boolean => {
    const addrs = listeners.get(port);
    if (!addrs) return false;
    // A dual-stack listener on [::] also accepts IPv4 connections.
    return addrs.has(address) || addrs.has('0.0.0.0') || addrs.has('::');
  };
  const out: ScannedConnection[] = [];
  for (const s of sockets) {
    if (s.state !== TCP_STATE.established) continue;
    if (isLoopback(s.localAddress) || isLoopback(s.remoteAddress)) continue;
    if (isUnspecified(s.remoteAddress) || s.localPort === 0 || s.remotePort === 0) continue;
    if (isListening(s.localAddress, s.localPort)) {
      out.push({
        src: s.remoteAddress,
        sport: s.remotePort,
        dst: s.localAddress,
        dport: s.localPort,
        direction: 'inbound',
      });
    } else {
      out.push({
        src: s.localAddress,
        sport: s.localPort,
        dst: s.remoteAddress,
        dport: s.remotePort,
        direction: 'outbound',
      });
    }
  }
  return out;
}
