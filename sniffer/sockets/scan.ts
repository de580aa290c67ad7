// The /proc adapter of the socket scan: finds every network namespace reachable through
// /proc/<pid>/ns/net (deduplicated by the namespace inode), reads /proc/<pid>/net/tcp and tcp6 of
// one process per namespace, and hands the text to the pure parser. It finds connections that were
// established before the sniffer started, and long-lived ones whose SYN it never saw.
import { readdir, readFile, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { inferConnections, parseProcNetTcp, type ScannedConnection } from './proc-net-tcp.js';

/** What one scan found. */
export interface SocketScanResult {
  /** Distinct client → server connections over all namespaces (a connection seen from both ends once). */
  readonly connections: readonly ScannedConnection[];
  /** Network namespaces read. */
  readonly namespaces: number;
  /** Files that could not be read (a process exited mid-scan is normal), and rows that did not parse. */
  readonly errors: number;
}

/** Options of {@link scanSockets}. */
export interface SocketScanOptions {
  /** The proc mount; tests may point it elsewhere. */
  readonly procRoot?: string;
  /** Most namespaces read in one scan (bounds the work on a node with thousands of pods). */
  readonly maxNamespaces?: number;
}

const IS_LE = endianness() === 'LE';

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // The process may have exited, or the namespace has no IPv6: the caller counts it.
    return null;
  }
}

/**
 * Identifies a process's network namespace: the inode of /proc/<pid>/ns/net, or, where reading that
 * link needs ptrace access (without CAP_SYS_PTRACE, for other users' processes), the inode of
 * /proc/<pid>/net/tcp, which is per namespace too and readable without it.
 */
async function namespaceKey(procRoot: string, pid: string): Promise<string> {
  try {
    const st = await stat(join(procRoot, pid, 'ns', 'net'));
    return `ns:${st.dev}:${st.ino}`;
  } catch {
    const st = await stat(join(procRoot, pid, 'net', 'tcp'));
    return `tcp:${st.dev}:${st.ino}`;
  }
}

/** Reads the TCP tables of every reachable network namespace once. */
export async function scanSockets(options: SocketScanOptions = {}): Promise<SocketScanResult> {
  const procRoot = options.procRoot ?? '/proc';
  const maxNamespaces = options.maxNamespaces ?? 4096;
  const entries = await readdir(procRoot);
  const seenNs = new Set<string>();
  const byKey = new Map<string, ScannedConnection>();
  let errors = 0;
  // Our own process first: it stands for the namespace the sniffer runs in (the host's under hostNetwork).
  const pids = ['self', ...entries.filter((e) => /^\d+$/.test(e))];
  for (const pid of pids) {
    if (seenNs.size >= maxNamespaces) break;
    let nsKey: string;
    try {
      nsKey = await namespaceKey(procRoot, pid);
    } catch {
      continue; // exited, or a kernel thread we may not inspect
    }
    if (seenNs.has(nsKey)) continue;
    seenNs.add(nsKey);
    const texts = await Promise.all([
      readOptional(join(procRoot, pid, 'net', 'tcp')),
      readOptional(join(procRoot, pid, 'net', 'tcp6')),
    ]);
    const sockets = [];
    for (const text of texts) {
      if (text === null) {
        errors++;
        continue;
      }
      const parsed = parseProcNetTcp(text, IS_LE);
      sockets.push(...parsed.sockets);
      for (const n of Object.values(parsed.errors)) errors += n ?? 0;
    }
    for (const c of inferConnections(sockets)) {
      // Both ends of a pod-to-pod connection are visible on one node: keep one.
      const key = `${c.src}|${c.sport}|${c.dst}|${c.dport}`;
      const prev = byKey.get(key);
      // Prefer the server's view (inbound): it knows the listening port for certain.
      if (!prev || (prev.direction === 'outbound' && c.direction === 'inbound')) byKey.set(key, c);
    }
  }
  return { connections: [...byKey.values()], namespaces: seenNs.size, errors };
}
