// Live capture through libpcap with the `cap` binding. The kernel BPF filter lets only the packets
// the sniffer needs reach JavaScript; every packet is handed to `onPacket` synchronously, because
// `cap` copies each packet into ONE reused buffer: the callee must decode at once and copy what it
// keeps.
//
// What `cap` 0.2.1 does and does not give (node_modules/cap/src/binding.cc):
// - it opens with snaplen 65535, promiscuous mode and `pcap_set_buffer_size(bufSize)`;
// - when it is loaded, it looks up pcap_set_immediate_mode with dlopen("libpcap.so") (the
//   libpcap-dev symlink) and, if found, turns immediate mode on at every open. In immediate mode
//   libpcap uses a TPACKET_V2 ring of fixed-size frames sized for the snaplen (65535 + headers on
//   interfaces with offloads; libpcap pcap-linux.c create_ring): a 32 MiB buffer gives ~509 frames,
//   each in its own 128 KiB block (the block is the frame size rounded up to pages times a power of
//   two), so the ring is 64 MiB of RSS and holds ~13 ms of 40,000 packets/s. Without immediate mode
//   libpcap uses TPACKET_V3, whose blocks pack packets back to back (~150 bytes per SYN), so the
//   same ring holds ~200,000 packets; blocks are handed over when full or after cap's 1000 ms
//   timeout, a delay the 5 s batches do not notice. The sniffer decides itself instead of leaving
//   it to whether libpcap-dev happens to be installed: the packet-stats addon below is built with
//   SONAME "libpcap.so" and loaded BEFORE `cap`, so cap's dlopen("libpcap.so") returns the addon
//   (glibc returns an already-loaded object with that soname), and the addon's
//   pcap_set_immediate_mode forwards to libpcap's only when `immediateMode` is asked for. The
//   default is OFF, measured (BENCHMARKS.md, bench/sniffer/live): at 10,000-20,000 connections/s
//   the immediate-mode ring drops SYNs whenever the process is descheduled for more than ~13 ms,
//   and a ring large enough to ride that out costs twice the requested size in RSS;
// - the 'packet' event carries only the length and a truncation flag, NOT the capture timestamp:
//   the sniffer stamps packets with the wall clock when it handles them (at most the block timeout
//   late; the wire carries milliseconds, and aggregation is per 5 s interval);
// - it does not bind pcap_stats(), so kernel drop counts are not available through it. The sniffer
//   reads them itself: it finds the capture's AF_PACKET socket among its fds (the one `open` added,
//   cross-checked with /proc/net/packet) and calls getsockopt(PACKET_STATISTICS) through the same
//   tiny optional N-API addon (native/packet-stats.c). Without the built addon, kernelStats() is
//   null, the metric says so, and immediate mode is whatever `cap` found (ringMode 'unknown').
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Link-layer header type numbers (https://www.tcpdump.org/linktypes.html) for the names `cap` returns. */
export const LINKTYPE = {
  null: 0,
  ethernet: 1,
  raw: 101,
  ieee80211Radio: 127,
  linuxSll: 113,
  linuxSll2: 276,
} as const;

/** Options of {@link buildCaptureFilter}. */
export interface CaptureFilterOptions {
  /** Also pass UDP packets so the decoder can report the first packet of each UDP flow. */
  readonly udpFlows?: boolean;
  /**
   * Add the 802.1Q/QinQ alternatives. Only for link types with an Ethernet header: libpcap refuses
   * `vlan` on Linux cooked captures ("no VLAN support for Linux cooked v1"), which is what `any`
   * gives, and there the kernel has already moved the tag out of the packet. Default true.
   */
  readonly vlan?: boolean;
}

/**
 * Whether `iface` has an Ethernet link-layer header (ARPHRD_ETHER 1, or loopback 772, which libpcap
 * also presents as Ethernet), from /sys/class/net/<iface>/type. `any` and unknown names: false.
 */
export function isEthernetInterface(iface: string): boolean {
  if (iface === 'any' || !/^[\w.@:-]{1,15}$/.test(iface)) return false;
  try {
    const type = readFileSync(`/sys/class/net/${iface}/type`, 'utf8').trim();
    return type === '1' || type === '772';
  } catch {
    return false;
  }
}

/**
 * The kernel filter (pcap-filter(7) syntax). It passes:
 * - DNS responses over UDP: from port 53, or to port 53 with the QR bit set (not the queries);
 *   and TCP port 53 in both directions, because reassembling a response over TCP needs the whole
 *   server stream;
 * - TCP segments with SYN set (SYN and SYN-ACK). IPv4 uses `tcp[tcpflags]`, which libpcap compiles
 *   with the IP header length and a fragment-offset check. libpcap refuses `tcp[...]` over IPv6
 *   ("expression rejects all packets"), so IPv6 reads the flags byte directly: next header 6 (TCP)
 *   right after the fixed 40-byte header, flags at TCP offset 13 → `ip6[40+13]`. A SYN behind one
 *   Fragment, Hop-by-Hop, Routing or Destination Options header is matched too; behind a chain of
 *   several it is not (classic BPF has no loops to walk the chain; SYNs carry none in practice);
 * - optionally every UDP packet (the decoder keeps only the first of each flow);
 * - the same behind one 802.1Q tag or two (QinQ): `vlan` shifts the offsets of what follows it,
 *   so the tagged alternatives come last.
 */
export function buildCaptureFilter(options: CaptureFilterOptions = {}): string {
  const parts = [
    'tcp[tcpflags] & tcp-syn != 0',
    '(ip6[6] = 6 and ip6[53] & 0x02 != 0)',
    // Behind a Fragment header (RFC 8200 §4.5, 8 bytes) that starts at offset 0: an atomic or first
    // fragment, TCP flags at 40 + 8 + 13.
    '(ip6[6] = 44 and ip6[40] = 6 and ip6[42:2] & 0xfff8 = 0 and ip6[61] & 0x02 != 0)',
    // Behind one Hop-by-Hop (0), Routing (43) or Destination Options (60) header, whose length is
    // (ip6[41] + 1) * 8 bytes (RFC 8200 §4.3-4.6): TCP flags at 40 + that + 13.
    '((ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 60) and ip6[40] = 6 and ip6[(ip6[41] + 1) * 8 + 53] & 0x02 != 0)',
    'udp src port 53',
    // A response sent TO port 53 (QR bit set, RFC 1035 §4.1.1: byte 2 of the DNS header, after
    // the 8-byte UDP header); queries to port 53 stay in the kernel. IPv6 again by fixed offsets.
    '(udp dst port 53 and udp[10] & 0x80 != 0)',
    '(ip6[6] = 17 and ip6[42:2] = 53 and ip6[50] & 0x80 != 0)',
    'tcp port 53',
  ];
  if (options.udpFlows) parts.push('udp');
  const base = parts.join(' or ');
  if (options.vlan === false) return base;
  // Each `vlan` keyword moves the offsets of everything after it by 4 bytes (pcap-filter(7)), so
  // the third alternative, after two `vlan`s, reads behind a QinQ (802.1ad) double tag.
  return `(${base}) or (vlan and (${base})) or (vlan and (${base}))`;
}

/** Kernel counters of the capture socket, when they can be read. */
export interface KernelCaptureStats {
  readonly received: number;
  readonly dropped: number;
}

/** How libpcap's kernel ring delivers packets; see {@link LiveCapture.ringMode}. */
export type RingMode = 'buffered' | 'immediate' | 'unknown';

/** An open live capture. */
export interface LiveCapture {
  /** The link type number of the interface (LINKTYPE_*). */
  readonly linkType: number;
  /**
   * 'buffered': TPACKET_V3, immediate mode off; 'immediate': libpcap immediate mode (TPACKET_V2);
   * 'unknown': the packet-stats addon is not loaded, so `cap` decided alone.
   */
  readonly ringMode: RingMode;
  /** Kernel receive/drop counters since open; null when the packet-stats addon is not available. */
  kernelStats(): KernelCaptureStats | null;
  /** Stops capturing; idempotent. */
  close(): void;
}

/** Options of {@link openLiveCapture}. */
export interface LiveCaptureOptions {
  /** Interface name, or `any` for every interface (Linux cooked capture). */
  readonly iface: string;
  readonly filter: string;
  /** Kernel ring size in bytes; larger absorbs longer bursts before the kernel drops. */
  readonly bufferBytes: number;
  /** Called synchronously for each packet; `frame` is only valid during the call. */
  readonly onPacket: (linkType: number, frame: Uint8Array, tsNs: bigint, truncated: boolean) => void;
  /** Called when `onPacket` throws (it should not): the packet is skipped and counted by the caller. */
  readonly onHandlerError?: (err: unknown) => void;
  /** Path of the built packet-stats addon; by default native/packet-stats.node beside this module. */
  readonly packetStatsAddon?: string;
  /**
   * libpcap immediate mode (TPACKET_V2, packets delivered one by one at once) instead of the
   * buffered TPACKET_V3 ring. Default false; only honoured when the packet-stats addon is loaded.
   */
  readonly immediateMode?: boolean;
}

interface PacketStatsAddon {
  readPacketStats(fd: number): [packets: number, drops: number];
  /** Absent from addons built before it existed. */
  setImmediateMode?(on: boolean): void;
  immediateModeState?(): 'on' | 'off' | 'failed' | 'unavailable';
  /** The ring block retire timeout of the next buffered capture (ms); absent from older builds. */
  setBlockTimeout?(ms: number): void;
}

/**
 * Ring block retire timeout of the buffered capture (cap's own is 1000 ms). Observations carry the
 * time they are handled (cap gives no packet timestamps), so this bounds how late a flow is
 * stamped: late enough, a flow made just before its pod was deleted would be attributed to the
 * next pod that holds the IP. High rates fill blocks long before it; see packet-stats.c.
 */
export const BUFFERED_BLOCK_TIMEOUT_MS = 100;

/** Whether `cap` has been loaded in this process (its load-time dlopen decides immediate mode). */
let capLoaded = false;
/** Whether the addon was loaded before `cap`, so that the addon decides immediate mode. */
let addonBeforeCap = false;

/** Loads the optional packet-stats addon; null when it is not built (kernel drops then stay unknown). */
export function loadPacketStatsAddon(path?: string): PacketStatsAddon | null {
  const candidate = path ?? fileURLToPath(new URL('./native/packet-stats.node', import.meta.url));
  if (!existsSync(candidate)) return null;
  const require = createRequire(import.meta.url);
  const addon = require(candidate) as PacketStatsAddon;
  if (!capLoaded) addonBeforeCap = true;
  return addon;
}

/** What the last open got, as the addon saw cap's call (see the top of this file). */
function ringModeAfterOpen(addon: PacketStatsAddon | null): RingMode {
  if (!addon || !addonBeforeCap) return 'unknown';
  // An addon without the state function has no pcap_set_immediate_mode either: always buffered.
  const state = addon.immediateModeState?.() ?? 'off';
  if (state === 'on') return 'immediate';
  if (state === 'off') return 'buffered';
  // 'failed' or 'unavailable': asked for, but libpcap's function was not found or refused, so
  // libpcap kept its default, buffered ring.
  return 'buffered';
}

function loadCap(): CapModule {
  const require = createRequire(import.meta.url);
  capLoaded = true;
  return require('cap') as CapModule;
}

/** Socket inodes of this process's open fds: fd → inode. */
function socketFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${name}`));
      if (m?.[1]) out.set(Number(name), m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Inodes of the AF_PACKET sockets of this network namespace (/proc/net/packet, last column). */
function packetSocketInodes(): Set<string> {
  const lines = readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1);
  return new Set(lines.map((l) => l.trim().split(/\s+/).at(-1) ?? ''));
}

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}

interface CapModule {
  readonly Cap: (new () => CapInstance) & {
    deviceList(): readonly { readonly name: string }[];
  };
}

/** Translates the link-type name `cap` returns into its number. */
export function linkTypeFromCapName(name: string): number | null {
  switch (name) {
    case 'ETHERNET':
      return LINKTYPE.ethernet;
    case 'LINKTYPE_LINUX_SLL':
      return LINKTYPE.linuxSll;
    case 'RAW':
      return LINKTYPE.raw;
    case 'NULL':
      return LINKTYPE.null;
    case 'IEEE802_11_RADIO':
      return LINKTYPE.ieee80211Radio;
    default: {
      // "Unknown linktype 276": DLT and LINKTYPE numbers agree for the types cap does not name.
      const m = /^Unknown linktype (\d+)$/.exec(name);
      return m ? Number(m[1]) : null;
    }
  }
}

/** Lists capture devices (for error messages). */
export function listCaptureDevices(): string[] {
  return loadCap()
    .Cap.deviceList()
    .map((d) => d.name);
}

/** Opens a live capture; it runs until `signal` aborts or `close()` is called. Throws when the device cannot be opened. */
export function openLiveCapture(options: LiveCaptureOptions, signal: AbortSignal): LiveCapture {
  // The addon first (see the top of this file), then cap, lazily so that commands that never
  // capture do not load native code.
  const addon = process.platform === 'linux' ? loadPacketStatsAddon(options.packetStatsAddon) : null;
  const { Cap } = loadCap();
  const cap = new Cap();
  // One packet at most: cap truncates to this buffer and snaplen is 65535.
  const buffer = Buffer.alloc(65535);
  const fdsBefore = addon ? socketFds() : new Map<number, string>();
  const wantImmediate = options.immediateMode === true;
  if (wantImmediate && addon && !addon.setImmediateMode) {
    throw new Error(
      'immediate mode needs a packet-stats addon built from the current sniffer/capture/native/packet-stats.c: rebuild it',
    );
  }
  addon?.setImmediateMode?.(wantImmediate);
  addon?.setBlockTimeout?.(BUFFERED_BLOCK_TIMEOUT_MS);
  const linkName = cap.open(options.iface, options.filter, options.bufferBytes, buffer);
  let statsFd: number | null = null;
  if (addon) {
    const packetInodes = packetSocketInodes();
    for (const [fd, inode] of socketFds()) {
      if (!fdsBefore.has(fd) && packetInodes.has(inode)) statsFd = fd;
    }
    // Counters accumulated since open; the first read also clears what the kernel counted
    // between socket creation and the filter being set.
    if (statsFd !== null) addon.readPacketStats(statsFd);
  }
  const totals = { received: 0, dropped: 0 };
  const linkType = linkTypeFromCapName(linkName);
  if (linkType === null) {
    cap.close();
    throw new Error(`interface ${options.iface} has an unsupported link type (${linkName})`);
  }
  const { onPacket, onHandlerError } = options;
  cap.on('packet', (nbytes, truncated) => {
    const tsNs = BigInt(Date.now()) * 1_000_000n;
    try {
      onPacket(linkType, buffer.subarray(0, nbytes), tsNs, truncated);
    } catch (err) {
      onHandlerError?.(err);
    }
  });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    signal.removeEventListener('abort', close);
    cap.removeAllListeners('packet');
    cap.close();
  };
  if (signal.aborted) close();
  else signal.addEventListener('abort', close, { once: true });
  const kernelStats = (): KernelCaptureStats | null => {
    if (!addon || statsFd === null || closed) return statsFd === null ? null : { ...totals };
    const [packets, drops] = addon.readPacketStats(statsFd);
    totals.received += packets;
    totals.dropped += drops;
    return { ...totals };
  };
  return { linkType, ringMode: ringModeAfterOpen(addon), kernelStats, close };
}
