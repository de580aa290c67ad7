// The sniffer's least privilege, measured on this kernel rather than assumed: the capability set
// the chart gives the sniffer container (uid 0, every capability dropped but CAP_NET_RAW) is run
// with `setpriv --bounding-set`, which leaves a root process exactly those capabilities.
//  - libpcap through `cap` opens a live capture (AF_PACKET socket, BPF filter, promiscuous mode,
//    enlarged ring) with CAP_NET_RAW alone: CAP_NET_ADMIN is not needed;
//  - without CAP_SYS_PTRACE, /proc/<pid>/ns/net of another user's process cannot be followed
//    (ptrace access mode READ, proc(5)), but /proc/<pid>/net/tcp can be read, and its inode tells
//    network namespaces apart (each namespace registers its own /proc/net entries).
// Each test makes its own network namespace (unique prefix) and removes it, even on failure.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../deploy/render.js';

const IS_ROOT = process.getuid?.() === 0;
function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const CAN_RUN = IS_ROOT && hasCommand('ip') && hasCommand('setpriv');
if (!CAN_RUN)
  process.stderr.write('deploy-capabilities: needs root, iproute2 and setpriv (util-linux); skipped\n');

const prefix = `imcap${process.pid % 100000}`;
const namespaces: string[] = [];
const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'intentmap-caps-'));

function addNetns(suffix: string): string {
  const name = `${prefix}${suffix}`;
  execFileSync('ip', ['netns', 'add', name]);
  namespaces.push(name);
  return name;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const ns of namespaces.splice(0)) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a CommonJS script as root with only the given capabilities; returns stdout and the exit code. */
function runWithCaps(
  caps: string,
  script: string,
  scriptArgs: string[],
  netns?: string,
): { stdout: string; code: number } {
  const file = join(tmp, `script-${Math.random().toString(36).slice(2)}.cjs`);
  writeFileSync(file, script);
  const setpriv = ['setpriv', `--bounding-set=${caps}`, '--inh-caps=-all', 'node', file, ...scriptArgs];
  const argv = netns ? ['ip', 'netns', 'exec', netns, ...setpriv] : setpriv;
  try {
    const stdout = execFileSync(argv[0]!, argv.slice(1), {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; status?: number };
    return { stdout: e.stdout ?? '', code: e.status ?? 1 };
  }
}

// Opens a live capture as the sniffer does (sniffer/capture/live.ts: cap with a BPF filter and a
// 32 MiB buffer; cap always asks for promiscuous mode), then reports IFF_PROMISC of the interface
// (argv[3], when capturing on `any`).
const OPEN_CAPTURE = `
const { Cap } = require(${JSON.stringify(join(REPO_ROOT, 'node_modules/cap'))});
const { readFileSync } = require('node:fs');
const c = new Cap();
try {
  const link = c.open(process.argv[2], 'udp src port 53 or (tcp[tcpflags] & tcp-syn != 0)', 32 * 1024 * 1024, Buffer.alloc(65535));
  const flags = parseInt(readFileSync('/sys/class/net/' + (process.argv[3] || process.argv[2]) + '/flags', 'utf8'), 16);
  console.log(JSON.stringify({ opened: true, link, promisc: (flags & 0x100) !== 0 }));
  c.close();
} catch (err) {
  console.log(JSON.stringify({ opened: false, error: err.message }));
}
`;

describe.skipIf(!CAN_RUN)('the sniffer capabilities (uid 0, drop ALL, add NET_RAW)', () => {
  it('a live capture opens in promiscuous mode with CAP_NET_RAW alone, and not without it', () => {
    const ns = addNetns('a');
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);

    const withRaw = runWithCaps('-all,+net_raw', OPEN_CAPTURE, ['v0'], ns);
    expect(JSON.parse(withRaw.stdout)).toEqual({ opened: true, link: 'ETHERNET', promisc: true });
    const anyIface = runWithCaps('-all,+net_raw', OPEN_CAPTURE, ['any', 'v0'], ns);
    expect(JSON.parse(anyIface.stdout)).toMatchObject({ opened: true, link: 'LINKTYPE_LINUX_SLL' });

    const none = runWithCaps('-all', OPEN_CAPTURE, ['v0'], ns);
    expect(JSON.parse(none.stdout)).toMatchObject({
      opened: false,
      error: expect.stringContaining('Operation not permitted') as unknown,
    });
  });

  it('reads another namespace’s /proc/<pid>/net/tcp without CAP_SYS_PTRACE, though not its ns/net link', async () => {
    const ns = addNetns('b');
    // A process of another user (as a pod's usually is) in another network namespace. It says
    // "ready" once it runs under that uid in that namespace (the exec of sleep keeps both).
    const other = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'setpriv',
        '--reuid=1000',
        '--regid=1000',
        '--clear-groups',
        'sh',
        '-c',
        'echo ready; exec sleep 600',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(other);
    await new Promise<void>((resolve, reject) => {
      other.stdout.once('data', () => resolve());
      other.once('exit', (code) => reject(new Error(`the namespace process exited (${code})`)));
    });
    const pid = other.pid!;
    const probe = `
const fs = require('node:fs');
const pid = process.argv[2];
const out = {};
try { fs.statSync('/proc/' + pid + '/ns/net'); out.nsLink = 'ok'; } catch (e) { out.nsLink = e.code; }
try { out.tcpReadable = fs.readFileSync('/proc/' + pid + '/net/tcp', 'utf8').startsWith('  sl'); } catch (e) { out.tcpReadable = e.code; }
out.distinctInode = fs.statSync('/proc/' + pid + '/net/tcp').ino !== fs.statSync('/proc/self/net/tcp').ino;
console.log(JSON.stringify(out));
`;
    const least = runWithCaps('-all,+net_raw', probe, [String(pid)]);
    expect(JSON.parse(least.stdout)).toEqual({ nsLink: 'EACCES', tcpReadable: true, distinctInode: true });
    const withPtrace = runWithCaps('-all,+net_raw,+sys_ptrace', probe, [String(pid)]);
    expect(JSON.parse(withPtrace.stdout)).toEqual({ nsLink: 'ok', tcpReadable: true, distinctInode: true });
  });
});
