// A lab of Linux network namespaces for tests and benchmarks: one "node" namespace holding a
// bridge, and "pods" as namespaces attached to it by veth pairs, with IPv4 and IPv6 addresses.
// Commands run inside with `ip netns exec`. Everything lives in namespaces this lab creates, so no
// traffic reaches the host's networks. Cleanup is robust: `destroy()` kills every process left in
// the lab's namespaces and deletes them; a crashed run's leftovers are swept on the next start
// (names carry the creating pid, so a live concurrent run is never touched).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Prefix of every namespace a lab creates. */
export const LAB_PREFIX = 'imlab';

/** A pod of the lab. */
export interface LabPod {
  readonly name: string;
  /** Namespace name, for `ip netns exec`. */
  readonly ns: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The veth end inside the node namespace (a bridge port). */
  readonly hostVeth: string;
}

/** Options of {@link createLab}. */
export interface LabOptions {
  /** The first three octets of the pods' /24, e.g. "10.77.0". */
  readonly ipv4Prefix?: string;
  /** The pods' /64 prefix, e.g. "fd77::". */
  readonly ipv6Prefix?: string;
}

/** A running lab. */
export interface Lab {
  readonly id: string;
  /** The node namespace (holds the bridge; the sniffer runs here). */
  readonly nodeNs: string;
  /** The bridge inside the node namespace. */
  readonly bridge: string;
  /** The node's own address on the bridge. */
  readonly nodeIpv4: string;
  readonly nodeIpv6: string;
  /** Adds a pod namespace attached to the bridge. Host part of its addresses: `hostId` (2-250). */
  addPod(name: string, hostId: number): LabPod;
  /** Spawns `cmd args` inside namespace `ns`; the child is killed by destroy(). */
  spawn(ns: string, cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs `cmd args` inside `ns` to completion. */
  run(
    ns: string,
    cmd: string,
    args: readonly string[],
    options?: { readonly timeoutMs?: number; readonly input?: string },
  ): Promise<RunResult>;
  /** Kills the lab's processes and deletes its namespaces; idempotent, never throws. */
  destroy(): Promise<void>;
}

/** The outcome of {@link Lab.run}. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ip(args: readonly string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

function listNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process in `ns` with SIGKILL, then deletes the namespace. Never throws. */
export function deleteNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const line of (pids.stdout ?? '').split('\n')) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
}

/**
 * Deletes namespaces left by crashed labs: names `imlab-<pid>-...` whose creating pid is gone.
 * Returns the names deleted.
 */
export function sweepLeftoverLabs(): string[] {
  const swept: string[] = [];
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${LAB_PREFIX}-(\\d+)-`).exec(ns);
    if (!m) continue;
    if (isPidAlive(Number(m[1]))) continue;
    deleteNamespace(ns);
    swept.push(ns);
  }
  return swept;
}

/** Why a lab cannot run here, or null when it can (root, `ip netns` works). */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0)
    return 'creating network namespaces needs root (CI runs the lab tests as root)';
  const probe = `${LAB_PREFIX}-${process.pid}-probe${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `\`ip netns add\` failed: ${(r.stderr || r.error?.message || '').trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

/** Creates a lab: the node namespace with its bridge. Sweeps crashed labs first. */
export function createLab(options: LabOptions = {}): Lab {
  sweepLeftoverLabs();
  const v4 = options.ipv4Prefix ?? '10.77.0';
  const v6 = options.ipv6Prefix ?? 'fd77::';
  const id = `${LAB_PREFIX}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const nodeNs = `${id}-node`;
  const bridge = 'br0';
  const namespaces: string[] = [];
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    const exits: Promise<void>[] = [];
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        exits.push(new Promise<void>((resolve) => child.once('exit', () => resolve())));
        child.kill('SIGKILL');
      }
    }
    await Promise.all(exits);
    // Pods first, then the node (its veth ends vanish with the pods).
    for (const ns of [...namespaces].reverse()) deleteNamespace(ns);
  };

  try {
    ip(['netns', 'add', nodeNs]);
    namespaces.push(nodeNs);
    ip(['-n', nodeNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', nodeNs, 'link', 'add', bridge, 'type', 'bridge']);
    // No STP and no forwarding delay: ports forward as soon as they are up.
    ip(['-n', nodeNs, 'link', 'set', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['-n', nodeNs, 'addr', 'add', `${v4}.1/24`, 'dev', bridge]);
    ip(['-n', nodeNs, 'addr', 'add', `${v6}1/64`, 'dev', bridge, 'nodad']);
    ip(['-n', nodeNs, 'link', 'set', bridge, 'up']);
  } catch (err) {
    for (const ns of namespaces) deleteNamespace(ns);
    throw err;
  }

  let vethIndex = 0;
  return {
    id,
    nodeNs,
    bridge,
    nodeIpv4: `${v4}.1`,
    nodeIpv6: `${v6}1`,
    addPod(name, hostId) {
      if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`pod name "${name}" must be 1-20 of [a-z0-9-]`);
      if (!Number.isInteger(hostId) || hostId < 2 || hostId > 250)
        throw new Error(`hostId ${hostId} must be 2-250`);
      const ns = `${id}-${name}`;
      const hostVeth = `veth${vethIndex++}`;
      ip(['netns', 'add', ns]);
      namespaces.push(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      // Created inside the node namespace, so the names cannot clash with the host's interfaces.
      ip(['-n', nodeNs, 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', nodeNs, 'link', 'set', hostVeth, 'master', bridge, 'up']);
      const ipv4 = `${v4}.${hostId}`;
      const ipv6 = `${v6}${hostId.toString(16)}`;
      ip(['-n', ns, 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
      // nodad: the address is usable at once instead of after duplicate address detection.
      ip(['-n', ns, 'addr', 'add', `${ipv6}/64`, 'dev', 'eth0', 'nodad']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      return { name, ns, ipv4, ipv6, hostVeth };
    },
    spawn(ns, cmd, args, spawnOptions = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...spawnOptions,
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    run(ns, cmd, args, runOptions = {}) {
      return new Promise<RunResult>((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), runOptions.timeoutMs ?? 60_000);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          children.delete(child);
          resolve({ code, signal, stdout, stderr });
        });
        child.stdin.end(runOptions.input ?? '');
      });
    },
    destroy,
  };
}

/**
 * Resolves with the first line of `stream` matching `pattern` (parsed as the match), or rejects
 * when the process exits first or after `timeoutMs` (a failsafe for a broken lab, not a sleep).
 */
export function waitForLine(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpExecArray> {
  const source = child[stream];
  if (!source) return Promise.reject(new Error(`${stream} is not piped`));
  return new Promise((resolve, reject) => {
    let buffered = '';
    let seen = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      source.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        seen = (seen + line + '\n').slice(-4000);
        const m = pattern.exec(line);
        if (m) {
          cleanup();
          resolve(m);
          return;
        }
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (code ${code}) before printing ${pattern}; last output:\n${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; last output:\n${seen}`));
    }, timeoutMs);
    source.on('data', onData);
    child.once('exit', onExit);
  });
}
